"""Degenerate components are repaired by default and raise sklearn's error when asked to."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose

from fastgmm import ConvergenceWarning, DegenerateComponentWarning, GaussianMixture
from fastgmm.covariance import COVARIANCE_TYPES
from fastgmm.data.sources import ArraySource
from fastgmm.em.degenerate import VARIANCE_FLOOR, ComponentRepair

import _references as ref
from _helpers import COVARIANCE_TYPES as TYPES


def _degenerate_data():
    rng = np.random.default_rng(0)
    normal = rng.standard_normal((1000, 3))
    return {
        "identical rows": np.ones((200, 3)),
        "K equal to N": rng.standard_normal((5, 2)),
        "constant column": np.c_[rng.standard_normal((300, 2)), np.full(300, 7.0)],
        "500 copies of a point": np.r_[np.tile([[1.0, 2.0, 3.0]], (500, 1)), normal],
        "offset 1e8": normal + 1e8,
        "scaled 1e-8": normal * 1e-8,
        "float32 tiny variance": (1000 + 1e-3 * normal).astype(np.float32),
    }


DATA = _degenerate_data()
# The cases where EM with reg_covar=0 meets a covariance that is not positive
# definite (found with on_degenerate='raise'; each one fails without the repair).
COLLAPSING = {
    ("full", "identical rows"),
    ("full", "K equal to N"),
    ("full", "constant column"),
    ("full", "500 copies of a point"),
    ("tied", "identical rows"),
    ("tied", "constant column"),
    ("diag", "identical rows"),
    ("diag", "constant column"),
    ("diag", "500 copies of a point"),
    ("spherical", "identical rows"),
    ("spherical", "500 copies of a point"),
}


def _n_components(name):
    return DATA[name].shape[0] if name == "K equal to N" else 3


def _fit(X, n_components, **options):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = GaussianMixture(n_components, random_state=0, **options).fit(X)
    degenerate = [w for w in caught if issubclass(w.category, DegenerateComponentWarning)]
    return model, degenerate


def _assert_finite_model(model, X):
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        assert np.all(np.isfinite(getattr(model, name))), name
    assert np.isfinite(model.lower_bound_)
    assert np.all(np.isfinite(model.score_samples(X)))


@pytest.mark.parametrize("covariance_type", TYPES)
@pytest.mark.parametrize("name", list(DATA))
@pytest.mark.parametrize("reg_covar", [1e-6, 0.0])
def test_degenerate_data_fits_by_default(covariance_type, name, reg_covar):
    X = DATA[name]
    model, degenerate = _fit(
        X, _n_components(name), covariance_type=covariance_type, reg_covar=reg_covar
    )
    _assert_finite_model(model, X)
    assert (model.n_degenerate_ > 0) == bool(degenerate)
    if reg_covar == 0.0 and (covariance_type, name) in COLLAPSING:
        assert model.n_degenerate_ > 0
        assert "on_degenerate='raise'" in str(degenerate[0].message)


@pytest.mark.parametrize("covariance_type, name", sorted(COLLAPSING))
def test_strict_option_raises_sklearns_error(covariance_type, name):
    with pytest.raises(ValueError, match="ill-defined empirical covariance"):
        GaussianMixture(
            _n_components(name),
            covariance_type=covariance_type,
            reg_covar=0.0,
            on_degenerate="raise",
            random_state=0,
        ).fit(DATA[name])


@pytest.mark.parametrize("covariance_type", TYPES)
def test_offset_and_scale_do_not_change_the_fit(covariance_type):
    # Centred accumulation: 1e8 + x is fitted as accurately as x, and 1e-8 x as x.
    X = ref.make_blobs(2000, 3, 2, seed=3)
    base, _ = _fit(X, 2, reg_covar=0.0, covariance_type=covariance_type)
    shifted, _ = _fit(
        X + 1e8,
        2,
        reg_covar=0.0,
        means_init=base.means_ + 1e8,
        weights_init=base.weights_,
        precisions_init=base.precisions_,
        covariance_type=covariance_type,
    )
    assert_allclose(shifted.means_ - 1e8, base.means_, atol=1e-6)
    assert_allclose(shifted.covariances_, base.covariances_, rtol=1e-6)
    scaled, _ = _fit(
        X * 1e-8,
        2,
        reg_covar=0.0,
        means_init=base.means_ * 1e-8,
        weights_init=base.weights_,
        precisions_init=base.precisions_ * 1e16,
        covariance_type=covariance_type,
    )
    assert_allclose(scaled.means_, base.means_ * 1e-8, rtol=1e-9)
    assert_allclose(scaled.covariances_, base.covariances_ * 1e-16, rtol=1e-9)


def test_float32_tiny_variance_around_a_large_mean():
    rng = np.random.default_rng(1)
    labels = rng.integers(2, size=4000)
    X = (1000.0 + 1e-2 * labels[:, None] + 1e-3 * rng.standard_normal((4000, 2))).astype(np.float32)
    single, degenerate = _fit(X, 2, reg_covar=0.0)
    double, _ = _fit(X.astype(np.float64), 2, reg_covar=0.0)  # the same numbers, in float64
    assert not degenerate
    order = np.argsort(single.means_[:, 0]), np.argsort(double.means_[:, 0])
    # Means within one float32 spacing at 1000 (they are returned as float32);
    # differences of values near 1000 are exact in float32 (Sterbenz), so the
    # covariances (~1e-6, 1e-12 of the squared mean) still get ~3 digits.
    assert_allclose(
        single.means_[order[0]],
        double.means_[order[1]],
        rtol=0,
        atol=np.spacing(np.float32(1000.0)),
    )
    assert_allclose(
        single.covariances_[order[0]],
        double.covariances_[order[1]],
        rtol=0,
        atol=1e-3 * double.covariances_.max(),
    )


def test_empty_component_is_reseeded():
    X = ref.make_blobs(1500, 2, 3, seed=4)
    means = np.array([X[0], X[1], [1e3, 1e3]])  # the third explains no row
    start = dict(means_init=means, reg_covar=1e-6, max_iter=50)
    strict, _ = _fit(X, 3, on_degenerate="raise", **start)
    assert strict.weights_.min() < 1e-12 and strict.n_degenerate_ == 0
    model, degenerate = _fit(X, 3, **start)
    assert degenerate and model.n_degenerate_ >= 1
    assert model.weights_.min() > 0.05
    assert np.abs(model.means_).max() < np.abs(X).max()
    assert model.lower_bound_ > strict.lower_bound_


@pytest.mark.parametrize("covariance_type", TYPES)
def test_repair_regularises_only_the_failed_covariances(covariance_type):
    X = ref.make_blobs(500, 3, 2, seed=5)
    covariance = COVARIANCE_TYPES[covariance_type]
    _, _, covariances = ref.random_parameters(np.random.default_rng(5), covariance_type, 2, 3)
    broken = covariances.copy()
    if covariance_type == "tied":
        broken[2, 2] = -1.0
    else:
        broken[1] = 0.0
    repair = ComponentRepair(ArraySource(X, covariance, 2), covariance, "reseed")
    mended, factors = repair.factorise(broken)
    assert repair.n_events == 1
    assert np.all(np.isfinite(factors))
    if covariance_type != "tied":
        assert_allclose(mended[0], covariances[0])  # the healthy component is left alone
    # The broken block got floor * 10^j on its diagonal, the smallest that works.
    added = (mended - broken) if covariance_type == "tied" else (mended - broken)[1]
    added = np.diagonal(added) if added.ndim == 2 else np.atleast_1d(added)
    steps = np.log10(added / (VARIANCE_FLOOR * X.var(axis=0).mean()))
    assert_allclose(steps, np.round(steps[0]), atol=1e-9)
    assert steps[0] >= 0
    with pytest.raises(ValueError, match="ill-defined"):
        ComponentRepair(ArraySource(X, covariance, 2), covariance, "raise").factorise(broken)


def test_a_repair_iteration_does_not_count_as_converged():
    X = ref.make_blobs(600, 2, 2, seed=6)
    means = np.array([X[0], [1e3, 1e3]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateComponentWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = GaussianMixture(2, means_init=means, tol=1e9, max_iter=5).fit(X)
    # tol=1e9 would stop after the first iteration, but that one reseeded a component.
    assert model.n_iter_ >= 2 and model.n_degenerate_ >= 1
