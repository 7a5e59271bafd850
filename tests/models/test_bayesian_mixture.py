"""BayesianGaussianMixture: scikit-learn's answers from the same start, the bound that picks
the number of components, pruning by the Dirichlet process, every data path, bad input."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import fastgmm
from fastgmm import (
    BayesianGaussianMixture,
    ConvergenceWarning,
    InvalidParameterError,
    NotFittedError,
)
from fastgmm.cli import demo_data

import _references as ref
from _helpers import COVARIANCE_TYPES, fit_quietly

sklearn_mixture = pytest.importorskip("sklearn.mixture")  # a test dependency ([test] extra)

PRIOR_TYPES = ["dirichlet_process", "dirichlet_distribution"]
POSTERIOR = [
    "weights_",
    "means_",
    "covariances_",
    "precisions_cholesky_",
    "precisions_",
    "mean_precision_",
    "degrees_of_freedom_",
]


def start(covariance_type):
    # scikit-learn's 'tied' M-step takes X.T @ X over all rows whatever the responsibilities,
    # so from single points ('random_from_data') it starts elsewhere (user guide, "Differences
    # from scikit-learn");
    # 'random' responsibilities cover every row and give both the same start.
    return "random" if covariance_type == "tied" else "random_from_data"


def assert_same_posterior(ours, theirs, rtol):
    for name in POSTERIOR:
        assert_allclose(getattr(ours, name), getattr(theirs, name), rtol=rtol, err_msg=name)
    for ours_part, theirs_part in zip(
        np.atleast_2d(ours.weight_concentration_), np.atleast_2d(theirs.weight_concentration_)
    ):
        assert_allclose(ours_part, theirs_part, rtol=rtol)
    assert ours.lower_bound_ == pytest.approx(float(np.squeeze(theirs.lower_bound_)), rel=rtol)
    assert_allclose(ours.lower_bounds_, np.ravel(theirs.lower_bounds_), rtol=rtol)
    assert ours.n_iter_ == theirs.n_iter_ and ours.converged_ == theirs.converged_


@pytest.mark.parametrize("prior_type", PRIOR_TYPES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_same_fit_and_predictions_as_sklearn(covariance_type, prior_type):
    X = ref.make_blobs(2000, 3, 3, seed=1)
    options = dict(
        covariance_type=covariance_type,
        weight_concentration_prior_type=prior_type,
        init_params=start(covariance_type),
        random_state=0,
        max_iter=25,
        tol=1e-6,
    )
    ours = fit_quietly(X, 5, estimator=BayesianGaussianMixture, **options)
    theirs = fit_quietly(X, 5, estimator=sklearn_mixture.BayesianGaussianMixture, **options)
    assert_same_posterior(ours, theirs, rtol=1e-8)
    for name in (
        "weight_concentration_prior_",
        "mean_precision_prior_",
        "mean_prior_",
        "degrees_of_freedom_prior_",
        "covariance_prior_",
    ):
        assert_allclose(getattr(ours, name), getattr(theirs, name), rtol=1e-10, err_msg=name)
    assert_allclose(ours.score_samples(X), theirs.score_samples(X), rtol=1e-8)
    assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), rtol=1e-7, atol=1e-12)
    assert_array_equal(ours.predict(X), theirs.predict(X))
    assert ours.score(X) == pytest.approx(theirs.score(X), rel=1e-8)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_explicit_priors_give_sklearns_fit(covariance_type):
    X = ref.make_blobs(1500, 2, 3, seed=5, scale=4.0)
    covariance_prior = {
        "full": np.array([[2.0, 0.3], [0.3, 1.0]]),
        "tied": np.array([[2.0, 0.3], [0.3, 1.0]]),
        "diag": np.array([2.0, 0.5]),
        "spherical": 1.5,
    }[covariance_type]
    options = dict(
        covariance_type=covariance_type,
        init_params=start(covariance_type),
        weight_concentration_prior_type="dirichlet_distribution",
        weight_concentration_prior=0.5,
        mean_precision_prior=0.3,
        mean_prior=[1.0, -1.0],
        degrees_of_freedom_prior=4.5,
        covariance_prior=covariance_prior,
        random_state=2,
        max_iter=20,
        tol=0.0,
    )
    ours = fit_quietly(X, 4, estimator=BayesianGaussianMixture, **options)
    theirs = fit_quietly(X, 4, estimator=sklearn_mixture.BayesianGaussianMixture, **options)
    assert_same_posterior(ours, theirs, rtol=1e-8)


def test_the_full_bound_peaks_at_the_true_number_of_components():
    """The EM tutorial's data: three 2-D Gaussians, 1,000 points (Bishop 10.2.4)."""
    X, _ = demo_data(1000, seed=0)
    bounds = {}
    for n_components in range(1, 8):
        fits = [
            BayesianGaussianMixture(
                n_components,
                weight_concentration_prior_type="dirichlet_distribution",
                n_init=3,
                max_iter=500,
                random_state=seed,
            ).fit(X)
            for seed in range(2)
        ]
        bounds[n_components] = max(model.full_lower_bound_ for model in fits)
    assert max(bounds, key=bounds.get) == 3, bounds
    # scikit-learn's lower_bound_ differs from it by terms that depend on n_components only.
    model = fits[0]
    assert np.isfinite(model.full_lower_bound_) and model.full_lower_bound_ != model.lower_bound_


def test_dirichlet_process_prunes_superfluous_components():
    X, _ = demo_data(1000, seed=0)
    model = BayesianGaussianMixture(10, random_state=0, max_iter=500).fit(X)
    assert np.sum(model.weights_ >= 1e-2) == 3
    assert np.isnan(model.full_lower_bound_)  # defined for the Dirichlet distribution only


def test_float32_is_kept_and_close_to_float64():
    X = ref.make_blobs(3000, 3, 3, seed=2)
    options = dict(init_params="random_from_data", random_state=0, max_iter=20, tol=0.0)
    single = fit_quietly(X.astype(np.float32), 4, estimator=BayesianGaussianMixture, **options)
    double = fit_quietly(X, 4, estimator=BayesianGaussianMixture, **options)
    assert single.means_.dtype == np.float32 and single.covariances_.dtype == np.float32
    assert_allclose(single.means_, double.means_, rtol=1e-4, atol=1e-4)
    assert single.lower_bound_ == pytest.approx(double.lower_bound_, rel=1e-5)


def test_memory_mapped_and_dask_input_fit_as_in_memory(tmp_path):
    X = ref.make_blobs(4000, 3, 3, seed=3)
    np.save(tmp_path / "X.npy", X)
    options = dict(init_params="random_from_data", random_state=0, max_iter=15, tol=0.0)
    in_memory = fit_quietly(X, 4, estimator=BayesianGaussianMixture, **options)
    mapped = fit_quietly(tmp_path / "X.npy", 4, estimator=BayesianGaussianMixture, **options)
    assert_same_posterior(mapped, in_memory, rtol=1e-10)
    da = pytest.importorskip("dask.array")
    import dask

    with dask.config.set(scheduler="synchronous"):
        on_dask = fit_quietly(
            da.from_array(X, chunks=(1000, 3)), 4, estimator=BayesianGaussianMixture, **options
        )
        assert_same_posterior(on_dask, in_memory, rtol=1e-10)
        assert_allclose(
            on_dask.score_samples(da.from_array(X, chunks=(1000, 3))).compute(),
            in_memory.score_samples(X),
            rtol=1e-10,
        )


def test_warm_start_continues_the_posterior():
    X = ref.make_blobs(2000, 2, 3, seed=4)
    options = dict(init_params="random_from_data", random_state=0, tol=0.0)
    once = fit_quietly(X, 3, estimator=BayesianGaussianMixture, max_iter=10, **options)
    twice = BayesianGaussianMixture(3, max_iter=5, warm_start=True, **options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter on purpose
        twice.fit(X).fit(X)
    assert_allclose(twice.means_, once.means_, rtol=1e-10)
    assert twice.lower_bound_ == pytest.approx(once.lower_bound_, rel=1e-10)


def test_sample_weights_enter_the_default_priors():
    X = ref.make_blobs(600, 2, 2, seed=6)
    counts = np.random.default_rng(0).integers(1, 4, size=len(X))
    weighted = fit_quietly(
        X, 2, estimator=BayesianGaussianMixture, sample_weight=counts, random_state=0
    )
    repeated = fit_quietly(
        np.repeat(X, counts, axis=0), 2, estimator=BayesianGaussianMixture, random_state=0
    )
    assert_allclose(weighted.mean_prior_, repeated.mean_prior_, rtol=1e-12)
    assert_allclose(weighted.covariance_prior_, repeated.covariance_prior_, rtol=1e-12)


def test_sample_and_pickle_like_gaussian_mixture():
    import pickle

    X = ref.make_blobs(500, 2, 2, seed=7)
    model = BayesianGaussianMixture(2, random_state=0).fit(X)
    copy = pickle.loads(pickle.dumps(model))
    assert_array_equal(copy.predict(X), model.predict(X))
    points, labels = model.sample(50)
    assert points.shape == (50, 2) and labels.shape == (50,)
    assert "BayesianGaussianMixture" in fastgmm.__all__


@pytest.mark.parametrize(
    "options, error, message",
    [
        (
            dict(weight_concentration_prior_type="dirichlet"),
            InvalidParameterError,
            "weight_concentration_prior_type",
        ),
        (dict(weight_concentration_prior=0.0), InvalidParameterError, "weight_concentration_prior"),
        (dict(mean_precision_prior=-1.0), InvalidParameterError, "mean_precision_prior"),
        (
            dict(degrees_of_freedom_prior=0.5),
            ValueError,
            "The parameter 'degrees_of_freedom_prior' should be greater than 1, but got 0.500",
        ),
        (
            dict(mean_prior=[1.0, 2.0, 3.0]),
            ValueError,
            "The parameter 'means' should have the shape",
        ),
        (
            dict(covariance_prior=np.eye(3)),
            ValueError,
            "The parameter 'full covariance_prior' should have the shape",
        ),
        (
            dict(covariance_prior=-np.eye(2)),
            ValueError,
            "'full precision' should be symmetric, positive-definite",
        ),
        (
            dict(covariance_type="diag", covariance_prior=[1.0, -1.0]),
            ValueError,
            "'diag precision' should be positive",
        ),
        (
            dict(covariance_type="spherical", covariance_prior=0.0),
            InvalidParameterError,
            "covariance_prior",
        ),
    ],
)
def test_bad_priors_are_rejected(options, error, message):
    with pytest.raises(error, match=message):
        BayesianGaussianMixture(2, **options).fit(ref.make_blobs(100, 2, 2))


def test_default_covariance_prior_needs_weights_that_count_rows():
    X = ref.make_blobs(100, 2, 2)
    with pytest.raises(ValueError, match="add up to more than 1"):
        BayesianGaussianMixture(2).fit(X, sample_weight=np.full(100, 0.01))
    given = BayesianGaussianMixture(2, covariance_prior=np.eye(2), random_state=0)
    assert np.isfinite(given.fit(X, sample_weight=np.full(100, 0.01)).lower_bound_)


def test_full_bound_only_where_it_is_exact():
    X = ref.make_blobs(300, 2, 2)
    for covariance_type in ("tied", "diag", "spherical"):
        model = BayesianGaussianMixture(
            2,
            covariance_type=covariance_type,
            random_state=0,
            weight_concentration_prior_type="dirichlet_distribution",
        ).fit(X)
        assert np.isnan(model.full_lower_bound_)


def test_warm_start_with_another_prior_type_is_refused():
    X = ref.make_blobs(300, 2, 2)
    model = BayesianGaussianMixture(2, warm_start=True, random_state=0).fit(X)
    model.set_params(weight_concentration_prior_type="dirichlet_distribution")
    with pytest.raises(ValueError, match="'dirichlet_process' prior"):
        model.fit(X)


def test_methods_before_fit_raise_not_fitted():
    with pytest.raises(NotFittedError):
        BayesianGaussianMixture(2).predict(np.zeros((3, 2)))
