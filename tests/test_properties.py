"""Property-based checks over random small mixtures and shapes (hypothesis)."""

import warnings

import numpy as np
import pytest

from fastgmm import ConvergenceWarning, GaussianMixture

from _helpers import COVARIANCE_TYPES

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

problems = st.tuples(
    st.integers(min_value=30, max_value=400),  # n_samples
    st.integers(min_value=1, max_value=5),  # n_features
    st.integers(min_value=1, max_value=4),  # n_components
    st.sampled_from(COVARIANCE_TYPES),
    st.integers(min_value=0, max_value=2**31 - 1),  # seed
)


def _data(n_samples, n_features, n_components, seed):
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=rng.uniform(0.5, 6.0), size=(n_components, n_features))
    scales = rng.uniform(0.2, 2.0, size=(n_components, 1))
    labels = rng.integers(n_components, size=n_samples)
    return centers[labels] + scales[labels] * rng.normal(size=(n_samples, n_features))


def _unit_start(X, n_components, covariance_type, rng):
    """A start that depends on neither the row order nor the dtype."""
    n_samples, n_features = X.shape
    unit_precisions = {
        "full": np.repeat(np.eye(n_features)[None], n_components, axis=0),
        "tied": np.eye(n_features),
        "diag": np.ones((n_components, n_features)),
        "spherical": np.ones(n_components),
    }
    return dict(
        weights_init=np.full(n_components, 1.0 / n_components),
        means_init=X[rng.choice(n_samples, n_components, replace=False)],
        precisions_init=unit_precisions[covariance_type],
    )


@settings(max_examples=30, deadline=None, derandomize=True)  # no flaky CI
@given(problems)
def test_em_invariants(problem):
    n_samples, n_features, n_components, covariance_type, seed = problem
    X = _data(n_samples, n_features, n_components, seed)
    # Exact EM (reg_covar=0): with reg_covar > 0 the M-step is no longer the
    # maximiser and the likelihood may legitimately dip by O(reg_covar); and
    # no repairs of degenerate components (they may lower it too).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        try:
            model = GaussianMixture(
                n_components,
                covariance_type=covariance_type,
                max_iter=15,
                tol=0.0,
                reg_covar=0.0,
                init_params="random",
                on_degenerate="raise",
                random_state=seed % 1000,
            ).fit(X)
        except ValueError as error:  # a component collapsed: EM is undefined there
            assert "ill-defined empirical covariance" in str(error)
            assume(False)
    bounds = np.asarray(model.lower_bounds_)
    assert np.all(np.isfinite(bounds))
    # EM never decreases the log-likelihood (beyond rounding).
    assert np.all(np.diff(bounds) >= -1e-9 * (1.0 + np.abs(bounds[1:])))
    resp = model.predict_proba(X)
    assert np.all((resp >= 0.0) & (resp <= 1.0))
    np.testing.assert_allclose(resp.sum(axis=1), 1.0, rtol=1e-12)
    assert np.all(np.isfinite(model.score_samples(X)))
    np.testing.assert_allclose(model.weights_.sum(), 1.0, rtol=1e-12)


@settings(max_examples=15, deadline=None, derandomize=True)
@given(problems)
def test_row_order_changes_parameters_only_within_rounding(problem):
    n_samples, n_features, n_components, covariance_type, seed = problem
    X = _data(n_samples, n_features, n_components, seed)
    rng = np.random.default_rng(seed)
    start = _unit_start(X, n_components, covariance_type, rng)
    options = dict(covariance_type=covariance_type, max_iter=5, tol=0.0, reg_covar=1e-3, **start)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = GaussianMixture(n_components, **options).fit(X)
        b = GaussianMixture(n_components, **options).fit(X[rng.permutation(n_samples)])
    np.testing.assert_allclose(a.means_, b.means_, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(a.covariances_, b.covariances_, rtol=1e-7, atol=1e-9)


@settings(max_examples=15, deadline=None, derandomize=True)
@given(problems)
def test_float32_agrees_with_float64(problem):
    n_samples, n_features, n_components, covariance_type, seed = problem
    X = _data(n_samples, n_features, n_components, seed).astype(np.float32)
    start = _unit_start(
        X.astype(np.float64), n_components, covariance_type, np.random.default_rng(seed)
    )
    options = dict(covariance_type=covariance_type, max_iter=3, tol=0.0, reg_covar=1e-3, **start)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        single = GaussianMixture(n_components, **options).fit(X)
        double = GaussianMixture(n_components, **options).fit(X.astype(np.float64))
    # float32 tolerance, relative to the data's scale (means) and variances.
    scale = float(np.abs(X).max()) + 1.0
    np.testing.assert_allclose(single.means_, double.means_, rtol=0, atol=1e-4 * scale)
    np.testing.assert_allclose(
        single.covariances_, double.covariances_, rtol=1e-3, atol=1e-4 * scale**2
    )
    np.testing.assert_allclose(single.lower_bounds_, double.lower_bounds_, rtol=1e-4, atol=1e-4)


@settings(max_examples=20, deadline=None, derandomize=True)
@given(problems, st.integers(0, 3))
def test_finite_output_for_finite_input_even_when_degenerate(problem, damage):
    n_samples, n_features, n_components, covariance_type, seed = problem
    X = _data(n_samples, n_features, n_components, seed)
    if damage & 1:
        X[:, 0] = 3.0  # a constant feature
    if damage & 2:
        X[: n_samples // 2] = X[0]  # half the rows are one point
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = GaussianMixture(
            n_components,
            covariance_type=covariance_type,
            reg_covar=0.0,
            max_iter=20,
            random_state=seed % 1000,
        ).fit(X)
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        assert np.all(np.isfinite(getattr(model, name))), name
    assert np.all(np.isfinite(model.score_samples(X)))
    resp = model.predict_proba(X)
    np.testing.assert_allclose(resp.sum(axis=1), 1.0, rtol=1e-12)
