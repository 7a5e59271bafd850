"""covariance_type='factor' and 'ppca' in the estimators: one EM iteration against the slow
reference (in memory, memory-mapped and Dask), convergence against scikit-learn's
``FactorAnalysis`` and ``PCA`` with one component, recovery of a known mixture, the lazy
dense attributes, the parameter count, stepwise EM's statistics, and the errors for what
is not supported."""

import copy
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.linalg import subspace_angles
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

import fastgmm
from fastgmm import BayesianGaussianMixture, GaussianMixture
from fastgmm.data import make_source
from fastgmm.em import online
from fastgmm.exceptions import ConvergenceWarning, InvalidParameterError

import _references as ref
from _helpers import assert_close, one_component_factor_analysis

NOISE = {"factor": False, "ppca": True}  # isotropic noise?


def mixture_data(covariance_type, n_samples=600, n_features=9, n_factors=2, seed=0):
    """Rows of a well-separated three-component mixture, and a start near the truth."""
    rng = np.random.default_rng(seed)
    isotropic = NOISE[covariance_type]
    truth = ref.random_factor_parameters(rng, 3, n_features, n_factors, isotropic=isotropic)
    X = ref.sample_factor_mixture(rng, n_samples, *truth)
    start = ref.random_factor_parameters(rng, 3, n_features, n_factors, isotropic=isotropic)
    start = (truth[0], truth[1] + rng.normal(scale=0.3, size=truth[1].shape), *start[2:])
    return X, start


def model_at(start, covariance_type, n_features, **params):
    """A model with the parameters ``start`` (weights, means, loadings, noise), set as a
    fit would set them, to continue from with ``warm_start``."""
    weights, means, loadings, noise = start
    model = GaussianMixture(
        len(weights), covariance_type=covariance_type, n_factors=np.shape(loadings)[1], max_iter=0
    )
    model.fit(np.random.default_rng(1).normal(size=(300, n_features)))  # for the attributes
    model.set_params(**{"reg_covar": 0.0, "max_iter": 100, **params})
    model.weights_, model.means_ = np.array(weights), np.array(means)
    model.loadings_, model.noise_variance_ = np.array(loadings), np.array(noise)
    return model


def one_iteration(X, start, covariance_type):
    model = model_at(start, covariance_type, np.shape(start[1])[1], warm_start=True, max_iter=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X)
    return model


@pytest.mark.parametrize("covariance_type", NOISE)
def test_one_iteration_is_the_references_em_step(covariance_type):
    X, start = mixture_data(covariance_type)
    log_likelihood, expected = ref.factor_em_step(X, *start)
    model = one_iteration(X, start, covariance_type)
    assert model.lower_bound_ == pytest.approx(log_likelihood / len(X), rel=1e-12)
    for got, want in zip(
        (model.weights_, model.means_, model.loadings_, model.noise_variance_), expected
    ):
        assert_close(got, want, rtol=1e-10)
    assert model.noise_variance_.shape == ((3,) if NOISE[covariance_type] else (3, 9))


@pytest.mark.parametrize("covariance_type", NOISE)
def test_memory_mapped_and_dask_data_give_the_in_memory_iteration(covariance_type, tmp_path):
    X, start = mixture_data(covariance_type, n_samples=5000)
    in_memory = one_iteration(X, start, covariance_type)
    path = tmp_path / "X.npy"
    np.save(path, X)
    inputs = [str(path)]
    da = pytest.importorskip("dask.array")
    inputs.append(da.from_array(X, chunks=(2048, 9)))
    for data in inputs:
        model = one_iteration(data, start, covariance_type)
        assert model.lower_bound_ == pytest.approx(in_memory.lower_bound_, rel=1e-12)
        assert_close(model.loadings_, in_memory.loadings_, rtol=1e-10)
        assert_close(model.noise_variance_, in_memory.noise_variance_, rtol=1e-10)
        scores = model.score_samples(data)
        assert_close(np.asarray(scores), in_memory.score_samples(X), rtol=1e-12)


@pytest.mark.parametrize("covariance_type", NOISE)
def test_scores_are_those_of_the_dense_covariances(covariance_type):
    X, start = mixture_data(covariance_type)
    model = model_at(start, covariance_type, 9)
    covariances = ref.factor_covariances(start[2], start[3])
    log_prob = np.stack(
        [
            np.log(w) + multivariate_normal(mu, cov).logpdf(X)
            for w, mu, cov in zip(start[0], start[1], covariances)
        ],
        axis=1,
    )
    assert_close(model.score_samples(X), logsumexp(log_prob, axis=1), rtol=1e-11)
    assert_allclose(
        model.predict_proba(X), np.exp(log_prob - logsumexp(log_prob, axis=1)[:, None]), atol=1e-11
    )
    # The dense attributes, made when read: scikit-learn's 'full' layouts.
    assert_close(model.covariances_, covariances, rtol=1e-12)
    assert_close(model.precisions_, np.linalg.inv(covariances), rtol=1e-8)
    factors = model.precisions_cholesky_
    assert_close(factors @ np.swapaxes(factors, 1, 2), model.precisions_, rtol=1e-8)
    assert np.all(np.tril(factors, -1) == 0.0)


def test_a_refit_with_another_type_drops_the_factor_attributes():
    X, start = mixture_data("factor")
    model = model_at(start, "factor", 9)
    dense = model.covariances_
    assert dense.shape == (3, 9, 9)
    model.set_params(covariance_type="diag").fit(X)
    assert not hasattr(model, "loadings_") and not hasattr(model, "noise_variance_")
    assert model.covariances_.shape == (3, 9)
    model.set_params(covariance_type="ppca").fit(X)
    assert model.covariances_.shape == (3, 9, 9)  # computed anew, not the diag ones
    assert not hasattr(GaussianMixture(), "covariances_")


def test_factor_analysis_with_one_component_reaches_scikit_learns():
    _, X, expected = one_component_factor_analysis()
    model = GaussianMixture(
        covariance_type="factor", n_factors=2, reg_covar=0.0, tol=1e-12, max_iter=20_000
    ).fit(X)
    assert model.converged_
    assert model.score(X) == pytest.approx(expected.score(X), rel=1e-6)
    assert_allclose(model.noise_variance_[0], expected.noise_variance_, rtol=1e-3)
    assert_allclose(model.covariances_[0], expected.get_covariance(), rtol=1e-3, atol=1e-6)


def test_ppca_with_one_component_reaches_the_closed_form_of_scikit_learns_pca():
    # Tipping & Bishop (1999): the maximum-likelihood PPCA is the closed form that
    # scikit-learn's PCA.get_covariance gives, but from the covariance divided by N
    # (scikit-learn divides by N - 1).
    decomposition = pytest.importorskip("sklearn.decomposition")
    rng = np.random.default_rng(3)
    X = ref.sample_factor_mixture(rng, 500, *ref.random_factor_parameters(rng, 1, 6, 2, True))
    pca = decomposition.PCA(n_components=2).fit(X)
    closed_form = pca.get_covariance() * 499 / 500
    expected = multivariate_normal(X.mean(axis=0), closed_form).logpdf(X).mean()
    model = GaussianMixture(covariance_type="ppca", n_factors=2, reg_covar=0.0, tol=1e-12).fit(X)
    assert model.score(X) == pytest.approx(expected, rel=1e-9)
    assert model.noise_variance_[0] == pytest.approx(pca.noise_variance_ * 499 / 500, rel=1e-8)
    assert_allclose(model.covariances_[0], closed_form, rtol=1e-7)


@pytest.mark.parametrize("covariance_type", NOISE)
def test_a_known_mixture_is_recovered_and_beats_full_and_diag_on_held_out_rows(covariance_type):
    rng = np.random.default_rng(4)
    isotropic = NOISE[covariance_type]
    truth = ref.random_factor_parameters(rng, 5, 200, 4, isotropic=isotropic)
    truth[1][:] *= 2.0  # well separated
    X = ref.sample_factor_mixture(rng, 4000, *truth)
    held_out = ref.sample_factor_mixture(rng, 2000, *truth)
    model = GaussianMixture(
        5, covariance_type=covariance_type, n_factors=4, n_init=2, random_state=0
    ).fit(X)
    order = [int(np.argmin(((truth[1] - mu) ** 2).sum(axis=1))) for mu in model.means_]
    assert sorted(order) == list(range(5))
    for k, j in enumerate(order):
        angles = subspace_angles(model.loadings_[k].T, truth[2][j].T)
        assert np.cos(angles).min() > 0.99
    scores = {covariance_type: model.score(held_out)}
    for other, reg_covar in (("full", 1e-2), ("diag", 1e-6)):
        fitted = GaussianMixture(5, covariance_type=other, reg_covar=reg_covar, random_state=0)
        scores[other] = fitted.fit(X).score(held_out)
    assert scores[covariance_type] > max(scores["full"], scores["diag"]), scores


@pytest.mark.parametrize("covariance_type", NOISE)
def test_the_parameter_count_treats_the_loadings_as_defined_up_to_a_rotation(covariance_type):
    X, start = mixture_data(covariance_type, n_factors=3)
    model = model_at(start, covariance_type, 9)
    n_components, n_features, q = 3, 9, 3
    noise = 1 if NOISE[covariance_type] else n_features
    n_parameters = (
        n_components * (n_features * q - q * (q - 1) // 2 + noise)
        + n_components * n_features
        + n_components
        - 1
    )
    log_likelihood = model.score(X) * len(X)
    assert model.bic(X) == pytest.approx(-2 * log_likelihood + n_parameters * np.log(len(X)))
    assert model.aic(X) == pytest.approx(-2 * log_likelihood + 2 * n_parameters)


@pytest.mark.parametrize("covariance_type", NOISE)
def test_float32_fits_in_float32_and_results_do_not_depend_on_threads(covariance_type):
    X, _ = mixture_data(covariance_type, n_samples=3000)
    fits = [
        GaussianMixture(
            3, covariance_type=covariance_type, n_factors=2, random_state=0, n_jobs=n_jobs
        ).fit(X.astype(np.float32))
        for n_jobs in (1, 2)
    ]
    assert fits[0].loadings_.dtype == np.float32 and fits[0].covariances_.dtype == np.float32
    np.testing.assert_array_equal(fits[0].loadings_, fits[1].loadings_)
    np.testing.assert_array_equal(fits[0].noise_variance_, fits[1].noise_variance_)
    float64 = GaussianMixture(3, covariance_type=covariance_type, n_factors=2, random_state=0)
    assert float64.fit(X).score(X) == pytest.approx(fits[0].score(X), rel=1e-4)


def test_samples_have_the_models_moments():
    _, start = mixture_data("factor")
    model = model_at(start, "factor", 9, random_state=0)
    X, labels = model.sample(60_000)
    for k in range(3):
        rows = X[labels == k]
        assert_allclose(rows.mean(axis=0), model.means_[k], atol=0.1)
        covariance = model.covariances_[k]
        assert_allclose(np.cov(rows, rowvar=False), covariance, atol=0.05 * covariance.max())


def test_a_constant_feature_without_reg_covar_is_repaired():
    X, _ = mixture_data("factor")
    X[:, 4] = 1.0
    model = GaussianMixture(3, covariance_type="factor", n_factors=2, reg_covar=0.0)
    # Every iteration mends the feature again, so the fit cannot converge (as for 'diag').
    with pytest.warns(fastgmm.DegenerateComponentWarning), pytest.warns(ConvergenceWarning):
        model.fit(X)
    assert np.all(model.noise_variance_ > 0) and np.isfinite(model.score(X))
    with pytest.raises(ValueError, match="ill-defined empirical covariance"):
        model.set_params(on_degenerate="raise").fit(X)


def test_fit_function_returns_the_factor_arrays_and_the_dense_ones():
    X, _ = mixture_data("ppca")
    result = fastgmm.fit(X, 3, covariance_type="ppca", n_factors=2, random_state=0)
    model = GaussianMixture(3, covariance_type="ppca", n_factors=2, random_state=0).fit(X)
    assert_close(result.loadings, model.loadings_, rtol=1e-12)
    assert_close(result.noise_variance, model.noise_variance_, rtol=1e-12)
    assert_close(result.covariances, model.covariances_, rtol=1e-12)
    assert_close(result.precisions_cholesky, model.precisions_cholesky_, rtol=1e-12)
    assert fastgmm.fit(X, 3, random_state=0).loadings is None


def test_bad_options_are_clear_errors():
    X, _ = mixture_data("factor")
    with pytest.raises(InvalidParameterError, match="needs n_factors"):
        GaussianMixture(covariance_type="factor").fit(X)
    with pytest.raises(InvalidParameterError, match="n_factors"):
        GaussianMixture(covariance_type="ppca", n_factors=0).fit(X)
    with pytest.raises(ValueError, match="n_factors=10 must be at most the number of features, 9"):
        GaussianMixture(covariance_type="factor", n_factors=10).fit(X)
    unsupported = [
        ({"precisions_init": np.ones(3)}, "precisions_init"),
        ({"missing_values": "marginalize"}, "missing_values"),
    ]
    for params, match in unsupported:
        with pytest.raises(NotImplementedError, match=match):
            GaussianMixture(3, covariance_type="factor", n_factors=2, **params).fit(X)
    with pytest.raises(NotImplementedError, match="BayesianGaussianMixture"):
        BayesianGaussianMixture(covariance_type="factor").fit(X)


def test_a_warm_start_with_another_number_of_factors_is_an_error():
    X, _ = mixture_data("factor")
    model = GaussianMixture(3, covariance_type="factor", n_factors=2, warm_start=True).fit(X)
    with pytest.raises(ValueError, match="warm_start"):
        model.set_params(n_factors=3).fit(X)


@pytest.mark.parametrize("covariance_type", NOISE)
def test_scikit_learn_gets_the_full_equivalent_only_when_asked(covariance_type):
    pytest.importorskip("sklearn")
    X, start = mixture_data(covariance_type)
    model = model_at(start, covariance_type, 9)
    result = fastgmm.fit(X, 3, covariance_type=covariance_type, n_factors=2, random_state=0)
    for fitted in (model, result):
        with pytest.raises(ValueError, match="as_full=True"):
            fitted.to_sklearn()
    estimator = model.to_sklearn(as_full=True)
    assert estimator.covariance_type == "full"
    assert_close(estimator.score_samples(X), model.score_samples(X), rtol=1e-10)
    same = GaussianMixture(3, covariance_type=covariance_type, n_factors=2, random_state=0)
    assert_close(
        result.to_sklearn(as_full=True).score_samples(X), same.fit(X).score_samples(X), rtol=1e-10
    )


@pytest.mark.parametrize("init_params", ["random_from_data", "k-means++", "random"])
@pytest.mark.parametrize("covariance_type", NOISE)
def test_every_start_learns_loadings(covariance_type, init_params):
    # A start from single points has isotropic covariances, whose principal axes would give
    # zero loadings: a fixed point of EM.
    X, _ = mixture_data(covariance_type, n_samples=1500)
    model = GaussianMixture(
        3, covariance_type=covariance_type, n_factors=2, init_params=init_params, random_state=0
    ).fit(X)
    assert np.all(np.abs(model.loadings_).max(axis=(1, 2)) > 0.5)
    if init_params != "random":  # (which can end in a poorer optimum, as for 'full')
        kmeans = GaussianMixture(3, covariance_type=covariance_type, n_factors=2, random_state=0)
        assert model.score(X) == pytest.approx(kmeans.fit(X).score(X), rel=1e-3)


def test_select_n_components_compares_factor_models_by_their_parameter_count():
    X, _ = mixture_data("factor", n_samples=1500)
    selection = fastgmm.select_n_components(
        X, n_components=[1, 2, 3, 4], covariance_types=["factor"], n_factors=2, random_state=0
    )
    assert selection.best_model.n_components == 3
    assert selection.best_model.loadings_.shape == (3, 2, 9)


# Stepwise EM: mini-batch fits, partial_fit and fit_stream.


def batch_statistics(model, X):
    """The kernel's statistics of ``X`` under ``model``'s parameters, and its type."""
    covariance = model._fitted_covariance()
    source = make_source(X, covariance, model.n_components, None, None)
    return source.statistics(*model._fitted_parameters()), covariance


@pytest.mark.parametrize("covariance_type", NOISE)
def test_moving_the_reference_of_the_statistics_leaves_the_m_step_unchanged(covariance_type):
    X, start = mixture_data(covariance_type)
    statistics, covariance = batch_statistics(model_at(start, covariance_type, 9), X)
    elsewhere = statistics.reference + np.random.default_rng(3).normal(size=(3, 9))
    moved = online.moved(covariance, statistics, elsewhere)
    assert_close(
        moved.sum_sq[:, :9, 2], moved.sum_diff, rtol=1e-10
    )  # the first moments agree with sum_diff's
    for got, want in zip(covariance.m_step(moved, 0.0), covariance.m_step(statistics, 0.0)):
        assert_close(got, want, rtol=1e-9)
    back = online.moved(covariance, moved, statistics.reference)
    assert_allclose(back.sum_sq, statistics.sum_sq, rtol=1e-9, atol=1e-9 * len(X))


@pytest.mark.parametrize("covariance_type", NOISE)
def test_the_statistics_a_model_expects_give_the_model_back(covariance_type):
    _, start = mixture_data(covariance_type)
    model = model_at(start, covariance_type, 9)
    covariance = model._fitted_covariance()
    parameters = model._previous_run(9).parameters
    expected = online.model_statistics(covariance, parameters, reg_covar=0.01)
    weights, means, packed = covariance.m_step(expected, reg_covar=0.01)
    assert_close(weights, parameters.weights, rtol=1e-12)
    assert_close(means, parameters.means, rtol=1e-12)
    assert_close(packed, parameters.covariances, rtol=1e-10)


@pytest.mark.parametrize("covariance_type", NOISE)
def test_stepwise_em_stays_at_the_maximum_likelihood(covariance_type):
    # At the maximum, the data's expected statistics are those the model expects of its
    # own data (S beta^T = W, sum q E[z z^T] = N_k I): the running average starts there,
    # so a step on all the rows changes nothing but rounding.
    X, _ = mixture_data(covariance_type, n_samples=2000)
    options = dict(covariance_type=covariance_type, n_factors=2, random_state=0)
    fitted = GaussianMixture(3, tol=1e-13, max_iter=5000, **options).fit(X)
    assert fitted.converged_
    stepped = copy.deepcopy(fitted).partial_fit(X)
    for name in ("weights_", "means_", "loadings_", "noise_variance_"):
        assert_allclose(getattr(stepped, name), getattr(fitted, name), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("covariance_type", NOISE)
def test_mini_batch_em_reaches_batch_em(covariance_type):
    X, _ = mixture_data(covariance_type, n_samples=6000)
    options = dict(covariance_type=covariance_type, n_factors=2, random_state=0)
    batch = GaussianMixture(3, **options).fit(X)
    whole = GaussianMixture(3, batch_size=len(X), **options).fit(X)
    np.testing.assert_array_equal(whole.loadings_, batch.loadings_)  # one batch: batch EM
    # Stepwise EM on factor analysers approaches the optimum more slowly than on 'full'
    # (batch EM needs tens of iterations too): near it after 3 passes.
    minibatch = GaussianMixture(3, batch_size=500, max_iter=3, **options).fit(X)
    assert minibatch.score(X) == pytest.approx(batch.score(X), abs=0.1)
    model = GaussianMixture(3, **options)
    for start in range(0, len(X), 500):
        model.partial_fit(X[start : start + 500])
    assert model.n_iter_ == 12 and model.score(X) == pytest.approx(batch.score(X), abs=0.2)
    with pytest.raises(ValueError, match="3 factors"):
        model.set_params(n_factors=3).partial_fit(X[:500])
    stream = fastgmm.fit_stream(lambda: np.array_split(X, 12), 3, max_passes=3, **options)
    assert stream.loadings.shape == (3, 2, 9)
    assert GaussianMixture(3, **options).fit(X).score(X) == pytest.approx(batch.score(X))
