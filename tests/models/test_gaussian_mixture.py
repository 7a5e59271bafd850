"""The estimator against scikit-learn (same initial parameters), scipy and the references."""

import pickle
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import fastgmm
from fastgmm import ConvergenceWarning, GaussianMixture, NotFittedError

import _references as ref
from _helpers import COVARIANCE_TYPES, assert_close

sklearn_mixture = pytest.importorskip("sklearn.mixture")  # a test dependency ([test] extra)

# (n_samples, n_features, n_components): D=1 and K=1 included.
# The last shape spans several chunks of the kernels' grid (fastgmm.data.sources.n_chunks_for).
SHAPES = [
    (400, 1, 1),
    (500, 1, 3),
    (800, 2, 3),
    (1000, 5, 4),
    (3000, 3, 2),
    (600, 8, 5),
    (30_000, 3, 3),
]


def fit_both(X, n_components, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning at tol=0: expected
        ours = GaussianMixture(n_components, **options).fit(X)
        theirs = sklearn_mixture.GaussianMixture(n_components, **options).fit(X)
    return ours, theirs


FITTED = ["weights_", "means_", "covariances_", "precisions_cholesky_", "precisions_"]


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "N{}-D{}-K{}".format(*s))
def test_agrees_with_sklearn_from_same_initial_parameters(covariance_type, shape):
    n_samples, n_features, n_components = shape
    X, centers = ref.make_blobs(
        n_samples, n_features, n_components, seed=n_features, return_centers=True
    )
    start = ref.initial_parameters(
        covariance_type, n_components, n_features, seed=1, centers=centers
    )
    options = dict(covariance_type=covariance_type, max_iter=8, tol=0.0, **start)
    ours, theirs = fit_both(X, n_components, **options)
    for name in FITTED:
        assert_close(getattr(ours, name), getattr(theirs, name), rtol=1e-8)
    assert_close(ours.lower_bound_, theirs.lower_bound_, rtol=1e-8)
    assert_close(ours.lower_bounds_, theirs.lower_bounds_, rtol=1e-8)
    assert ours.n_iter_ == theirs.n_iter_ == 8
    assert_close(ours.score_samples(X), theirs.score_samples(X), rtol=1e-8)
    assert_close(ours.predict_proba(X), theirs.predict_proba(X), rtol=1e-8)
    assert_array_equal(ours.predict(X), theirs.predict(X))
    assert ours.score(X) == pytest.approx(theirs.score(X), rel=1e-8)


SAME_START_CASES = [
    (c, i)
    for c in COVARIANCE_TYPES
    for i in ("random", "random_from_data")
    if (c, i) != ("tied", "random_from_data")
]  # see the next test


@pytest.mark.parametrize("covariance_type, init_params", SAME_START_CASES)
def test_same_random_state_gives_sklearns_start(covariance_type, init_params):
    # 'random' and 'random_from_data' draw from the RandomState exactly as sklearn.
    X = ref.make_blobs(700, 3, 3, seed=3)
    ours, theirs = fit_both(
        X,
        3,
        covariance_type=covariance_type,
        max_iter=5,
        tol=0.0,
        init_params=init_params,
        random_state=7,
    )
    for name in FITTED:
        assert_close(getattr(ours, name), getattr(theirs, name), rtol=1e-7)


def test_tied_start_from_single_points_follows_the_responsibilities():
    # Documented difference: sklearn's tied M-step uses X.T @ X of *all* rows, so
    # a start from single points gets a huge covariance there; here the start is
    # the M-step of those responsibilities (zero scatter), i.e. reg_covar * I.
    X = ref.make_blobs(300, 3, 3, seed=3)
    model = GaussianMixture(
        3,
        covariance_type="tied",
        init_params="random_from_data",
        max_iter=0,
        reg_covar=1e-3,
        random_state=0,
    ).fit(X)
    assert_allclose(model.covariances_, 1e-3 * np.eye(3), rtol=1e-12, atol=1e-15)
    picked = np.random.RandomState(0).choice(300, size=3, replace=False)
    assert_allclose(model.means_, X[picked], rtol=1e-13)


def test_converges_like_sklearn_with_default_tol():
    X, centers = ref.make_blobs(2000, 2, 3, seed=5, return_centers=True)
    start = ref.initial_parameters("full", 3, 2, seed=2, centers=centers)
    ours, theirs = fit_both(X, 3, **start)
    assert ours.converged_ and theirs.converged_
    assert ours.n_iter_ == theirs.n_iter_
    assert_close(ours.means_, theirs.means_, rtol=1e-8)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_score_samples_is_a_mixture_of_scipy_logpdfs(covariance_type):
    X = ref.make_blobs(500, 3, 2, seed=2)
    model = GaussianMixture(2, covariance_type=covariance_type, random_state=0).fit(X)
    expected = ref.score_samples(
        X, model.weights_, model.means_, model.covariances_, covariance_type
    )
    assert_allclose(model.score_samples(X), expected, rtol=1e-10)
    assert model.score(X) == pytest.approx(expected.mean(), rel=1e-10)
    resp = model.predict_proba(X)
    assert_allclose(resp.sum(axis=1), 1.0, rtol=1e-12)
    assert_allclose(
        resp,
        ref.responsibilities(X, model.weights_, model.means_, model.covariances_, covariance_type),
        atol=1e-10,
    )


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_fit_predict_equals_fit_then_predict_and_sklearn(covariance_type):
    X, centers = ref.make_blobs(600, 2, 3, seed=4, scale=2.0, return_centers=True)
    start = ref.initial_parameters(covariance_type, 3, 2, seed=5, centers=centers)
    options = dict(covariance_type=covariance_type, max_iter=3, **start)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fastgmm's and sklearn's ConvergenceWarning
        labels = GaussianMixture(3, **options).fit_predict(X)
        assert_array_equal(labels, GaussianMixture(3, **options).fit(X).predict(X))
        assert_array_equal(labels, sklearn_mixture.GaussianMixture(3, **options).fit_predict(X))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_log_likelihood_never_decreases(covariance_type):
    X = ref.make_blobs(1500, 3, 4, seed=6, scale=2.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = GaussianMixture(
            4,
            covariance_type=covariance_type,
            max_iter=40,
            tol=0.0,
            init_params="random",
            random_state=0,
        ).fit(X)
    steps = np.diff(model.lower_bounds_)
    assert len(steps) == 39
    assert np.all(steps >= -1e-12 * np.abs(model.lower_bounds_[1:]))


def test_n_init_keeps_the_best_run():
    X = ref.make_blobs(800, 2, 5, seed=8, scale=3.0)
    options = dict(init_params="random_from_data", max_iter=20, tol=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        best = GaussianMixture(5, n_init=6, random_state=0, **options).fit(X)
        # The same RandomState, consumed init after init, replays each single run.
        rng = np.random.RandomState(0)
        singles = [GaussianMixture(5, random_state=rng, **options).fit(X) for _ in range(6)]
    bounds = [m.lower_bound_ for m in singles]
    assert len(set(np.round(bounds, 10))) > 1, "restarts should differ for this test to bite"
    assert best.lower_bound_ == pytest.approx(max(bounds), rel=1e-12)
    assert_allclose(best.means_, singles[int(np.argmax(bounds))].means_, rtol=1e-12)


def test_warm_start_continues_from_the_previous_fit():
    X = ref.make_blobs(1000, 2, 3, seed=9)
    options = dict(init_params="random_from_data", random_state=0, tol=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        straight = GaussianMixture(3, max_iter=10, **options).fit(X)
        warm = GaussianMixture(3, max_iter=4, warm_start=True, **options)
        warm.fit(X)
        warm.set_params(max_iter=6).fit(X)
    assert warm.n_iter_ == 6
    assert_allclose(warm.means_, straight.means_, rtol=1e-12)
    assert_allclose(warm.covariances_, straight.covariances_, rtol=1e-12)
    assert warm.lower_bound_ == pytest.approx(straight.lower_bound_, rel=1e-12)


def test_warm_start_ignores_n_init_on_refits_and_checks_shapes():
    X = ref.make_blobs(500, 2, 3, seed=9)
    model = GaussianMixture(3, n_init=3, warm_start=True, max_iter=5, tol=0.0, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        first = GaussianMixture(3, n_init=3, max_iter=5, tol=0.0, random_state=0).fit(X)
        model.fit(X)  # the first warm fit uses n_init, like any fit
        assert model.lower_bound_ == first.lower_bound_
        means = model.means_.copy()
        model.fit(X)  # a refit: one run from the previous solution
        assert model.n_iter_ == 5 and not np.array_equal(model.means_, means)
    with pytest.raises(ValueError, match="warm_start"):
        model.set_params(n_components=2).fit(X)
    with pytest.raises(ValueError, match="warm_start"):
        model.set_params(n_components=3).fit(np.hstack([X, X]))
    with pytest.raises(ValueError, match="warm_start"):
        model.set_params(covariance_type="diag").fit(X)


def test_predict_uses_the_fitted_covariance_type():
    X = ref.make_blobs(300, 2, 2, seed=2)
    model = GaussianMixture(2, covariance_type="diag", random_state=0).fit(X)
    expected = model.score_samples(X)
    model.set_params(covariance_type="full")  # not refitted: the diag model still applies
    assert_array_equal(model.score_samples(X), expected)


def test_convergence_warning_when_max_iter_is_reached():
    X = ref.make_blobs(500, 2, 3, seed=1)
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        model = GaussianMixture(3, max_iter=1, tol=0.0, random_state=0).fit(X)
    assert not model.converged_
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        assert GaussianMixture(3, random_state=0).fit(X).converged_


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_sample_matches_the_mixture_moments(covariance_type):
    rng = np.random.default_rng(3)
    n_components, n_features = 3, 2
    weights, means, covariances = ref.random_parameters(
        rng, covariance_type, n_components, n_features
    )
    model = GaussianMixture(
        n_components,
        covariance_type=covariance_type,
        random_state=0,
        max_iter=0,
        weights_init=weights,
        means_init=means,
        precisions_init=ref.precisions(covariances, covariance_type),
    )
    model.fit(ref.make_blobs(50, n_features, n_components))
    X, labels = model.sample(200_000)
    assert X.shape == (200_000, n_features)
    assert_allclose(np.bincount(labels) / len(labels), weights, atol=0.005)
    dense = ref.dense_covariances(covariances, covariance_type, n_components, n_features)
    for k in range(n_components):
        assert_allclose(X[labels == k].mean(axis=0), means[k], atol=0.03)
        assert_allclose(np.cov(X[labels == k].T), dense[k], atol=0.05)
    with pytest.raises(ValueError, match="n_samples"):
        model.sample(0)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_sample_draws_exactly_as_sklearn(covariance_type):
    X = ref.make_blobs(500, 3, 3, seed=6)
    ours = GaussianMixture(3, covariance_type=covariance_type, random_state=4).fit(X)
    theirs = sklearn_mixture.GaussianMixture(3, covariance_type=covariance_type, random_state=4)
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        setattr(theirs, name, getattr(ours, name))
    theirs.n_features_in_ = 3
    X_ours, y_ours = ours.sample(1000)
    X_theirs, y_theirs = theirs.sample(1000)
    assert_array_equal(X_ours, X_theirs)
    assert_array_equal(y_ours, y_theirs)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_bic_and_aic_use_the_parameter_count(covariance_type):
    n_samples, n_features, n_components = 700, 3, 4
    X = ref.make_blobs(n_samples, n_features, n_components, seed=2)
    model = GaussianMixture(n_components, covariance_type=covariance_type, random_state=0).fit(X)
    n_params = ref.n_parameters(covariance_type, n_components, n_features)
    log_likelihood = ref.score_samples(
        X, model.weights_, model.means_, model.covariances_, covariance_type
    ).sum()
    assert model.bic(X) == pytest.approx(
        -2 * log_likelihood + n_params * np.log(n_samples), rel=1e-10
    )
    assert model.aic(X) == pytest.approx(-2 * log_likelihood + 2 * n_params, rel=1e-10)


def test_tutorial_three_gaussians():
    from fastgmm.cli import DEMO_MEANS, demo_data

    X, _ = demo_data(1000, seed=0)
    model = GaussianMixture(3, random_state=0).fit(X)
    order = np.argsort(model.means_[:, 0])
    truth = DEMO_MEANS[np.argsort(DEMO_MEANS[:, 0])]
    assert_allclose(model.means_[order], truth, atol=0.15)
    bounds = [GaussianMixture(k, n_init=2, random_state=0).fit(X).lower_bound_ for k in range(1, 8)]
    gains = np.diff(bounds)
    # Steep up to the true number of components, nearly flat after it.
    assert gains[0] > 0.3 and gains[1] > 0.3
    assert np.all(np.abs(gains[2:]) < 0.05 * gains[1])


def test_float32_stays_float32_and_agrees_with_float64():
    X, centers = ref.make_blobs(3000, 4, 3, seed=11, return_centers=True)
    start = ref.initial_parameters("full", 3, 4, seed=3, centers=centers)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        single = GaussianMixture(3, max_iter=10, tol=0.0, **start).fit(X.astype(np.float32))
        double = GaussianMixture(3, max_iter=10, tol=0.0, **start).fit(X)
    for name in FITTED:
        assert getattr(single, name).dtype == np.float32, name
        assert_close(getattr(single, name), getattr(double, name), rtol=1e-4)
    assert single.score_samples(X.astype(np.float32)).dtype == np.float64
    assert isinstance(single.lower_bound_, float)


def test_integer_and_list_input_become_float64():
    X = np.rint(ref.make_blobs(400, 2, 2, seed=1) * 10).astype(np.int64)
    model = GaussianMixture(2, random_state=0).fit(X)
    assert model.means_.dtype == np.float64
    assert_allclose(GaussianMixture(2, random_state=0).fit(X.tolist()).means_, model.means_)


def test_fit_function_returns_an_immutable_result():
    X = ref.make_blobs(900, 2, 3, seed=12)
    result = fastgmm.fit(X, 3, random_state=0)
    model = GaussianMixture(3, random_state=0).fit(X)
    assert isinstance(result, fastgmm.GaussianMixtureResult)
    assert_allclose(result.means, model.means_)
    assert_allclose(result.covariances, model.covariances_)
    assert_allclose(result.precisions_cholesky, model.precisions_cholesky_)
    assert result.lower_bound == model.lower_bound_
    assert result.lower_bounds == tuple(model.lower_bounds_)
    assert (result.n_iter, result.converged) == (model.n_iter_, model.converged_)
    assert result.log_likelihood == pytest.approx(model.score_samples(X).sum(), rel=1e-12)
    with pytest.raises(ValueError):
        result.means[0, 0] = 1.0
    with pytest.raises(AttributeError):
        result.n_iter = 3


def test_methods_before_fit_raise_not_fitted():
    model = GaussianMixture(2)
    for method in (model.predict, model.predict_proba, model.score_samples, model.score):
        with pytest.raises(NotFittedError, match="not fitted"):
            method(np.zeros((3, 2)))
    with pytest.raises(NotFittedError):
        model.sample(3)
    assert issubclass(NotFittedError, ValueError) and issubclass(NotFittedError, AttributeError)


def test_predict_checks_the_number_of_features():
    model = GaussianMixture(2, random_state=0).fit(ref.make_blobs(100, 3, 2))
    with pytest.raises(ValueError, match="X has 2 features, but GaussianMixture is expecting 3"):
        model.predict(np.zeros((4, 2)))


def test_pickle_round_trip_keeps_the_model():
    X = ref.make_blobs(300, 2, 2, seed=3)
    model = GaussianMixture(2, covariance_type="diag", random_state=0).fit(X)
    clone = pickle.loads(pickle.dumps(model))
    assert_array_equal(clone.score_samples(X), model.score_samples(X))
    assert clone.get_params() == model.get_params()


def test_max_iter_zero_keeps_the_initial_parameters():
    X = ref.make_blobs(300, 2, 2, seed=3)
    start = ref.initial_parameters("full", 2, 2, seed=4)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # none with max_iter=0
        model = GaussianMixture(2, max_iter=0, **start).fit(X)
    assert model.n_iter_ == 0 and not model.converged_
    assert model.lower_bound_ == -np.inf and model.lower_bounds_ == []
    assert_allclose(model.means_, start["means_init"])
    assert_allclose(model.precisions_, start["precisions_init"], rtol=1e-12)
    assert_allclose(model.covariances_, np.linalg.inv(start["precisions_init"]), rtol=1e-12)


def test_verbose_reports_iterations_like_sklearn(capsys):
    X = ref.make_blobs(300, 2, 2, seed=3)
    with pytest.warns(ConvergenceWarning):
        GaussianMixture(2, verbose=2, verbose_interval=1, max_iter=3, tol=0.0, random_state=0).fit(
            X
        )
    out = capsys.readouterr().out
    assert "Initialization 0" in out
    assert out.count("  Iteration ") == 3 and "ll change" in out
    assert "Initialization did not converge. time lapse" in out
    GaussianMixture(2, verbose=0, random_state=0).fit(X)
    assert capsys.readouterr().out == ""


def test_fit_function_takes_data_whose_column_names_an_estimator_refuses():
    # The estimator keeps feature names and refuses names of mixed types (scikit-learn's
    # rule); fastgmm.fit keeps none, so it takes such data as it did before the estimators
    # and the function shared one entrance.
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(ref.make_blobs(200, 2, 2), columns=[0, "a"])
    with pytest.raises(TypeError, match="all input features have string names"):
        GaussianMixture(2, random_state=0).fit(frame)
    result = fastgmm.fit(frame, 2, random_state=0)
    expected = fastgmm.fit(frame.to_numpy(), 2, random_state=0)
    assert_array_equal(result.means, expected.means)


def test_a_warm_start_is_checked_before_the_initial_parameters_and_weights():
    X = ref.make_blobs(200, 2, 2)
    model = GaussianMixture(2, warm_start=True, random_state=0).fit(X)
    wider = np.hstack([X, X[:, :1]])
    with pytest.raises(ValueError, match="warm_start=True continues the previous fit"):
        model.set_params(means_init=np.zeros((2, 2))).fit(wider, sample_weight=np.ones(3))
