"""Stepwise EM (``fastgmm/em/online.py``) and the streaming API built on it: mini-batch EM in
``fit`` (``batch_size``, ``polish``), ``GaussianMixture.partial_fit`` and
``fastgmm.fit_stream``.

The first tests check ``online`` against plain numpy: statistics moved to another
reference equal those computed about it (missing values included), and the running
average's step sizes.  The rest check the public API: ``batch_size >= n_samples`` is batch
EM bit for bit, mini-batch EM gets near the batch optimum, a stream recovers a known
mixture and follows one that drifts, errors name the bad batch, and results do not depend
on the thread count or on where the rows are stored.
"""

import copy
import warnings

import numba
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.optimize import linear_sum_assignment

import fastgmm
from fastgmm import (
    ConvergenceWarning,
    DegenerateComponentWarning,
    GaussianMixture,
    InvalidParameterError,
)
from fastgmm.covariance import COVARIANCE_TYPES as COVARIANCES
from fastgmm.data.sources import ArraySource
from fastgmm.data.statistics import SufficientStatistics
from fastgmm.em import online

import _references as ref
from _helpers import COVARIANCE_TYPES, FITTED, assert_close, fit_quietly

N_COMPONENTS, N_FEATURES = 3, 3
DENSE = ("full", "tied")  # sum_sq holds a lower triangle only (the upper one is not read)

# A known mixture for the streams: well separated, unequal weights.
CENTERS = np.array([[0.0, 0.0, 0.0], [6.0, 0.0, 0.0], [0.0, 6.0, 3.0]])
WEIGHTS = np.array([0.5, 0.3, 0.2])

needs_two_threads = pytest.mark.skipif(
    numba.config.NUMBA_NUM_THREADS < 2, reason="needs at least 2 Numba threads to compare"
)


def assert_same_model(actual, desired):
    """Bitwise the same fitted estimator."""
    for name in FITTED:
        assert_array_equal(getattr(actual, name), getattr(desired, name), err_msg=name)
        assert getattr(actual, name).dtype == getattr(desired, name).dtype
    assert actual.lower_bounds_ == desired.lower_bounds_
    assert actual.lower_bound_ == desired.lower_bound_
    assert actual.n_iter_ == desired.n_iter_
    assert actual.converged_ == desired.converged_


def sample_mixture(rng, n_samples, shift=0.0):
    """Rows of the mixture ``CENTERS``/``WEIGHTS`` (unit covariances), every mean + ``shift``."""
    labels = rng.choice(len(WEIGHTS), size=n_samples, p=WEIGHTS)
    return CENTERS[labels] + shift + rng.normal(size=(n_samples, N_FEATURES))


def matched(means, centers):
    """``means`` reordered to match ``centers`` (the assignment of least squared distance)."""
    cost = ((means[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2)
    rows, columns = linear_sum_assignment(cost)
    order = np.empty(len(centers), dtype=np.int64)
    order[columns] = rows
    return means[order], order


def precisions_cholesky(covariance_type, covariances):
    factors, failed = COVARIANCES[covariance_type].factorise(covariances)
    assert not np.any(failed)
    return factors


def comparable(covariance_type, sum_sq):
    return np.tril(sum_sq) if covariance_type in DENSE else sum_sq


def assert_same_statistics(covariance_type, actual, desired, rtol=1e-12):
    assert_close(actual.resp_sum, desired.resp_sum, rtol)
    assert_close(actual.sum_diff, desired.sum_diff, rtol)
    assert_close(
        comparable(covariance_type, actual.sum_sq),
        comparable(covariance_type, desired.sum_sq),
        rtol,
    )
    assert_array_equal(actual.reference, desired.reference)


# -- online.moved and blended ------------------------------------------------------------


def reference_of(covariance_type, means):
    """The point per component that a statistics kernel takes moments about (as the
    kernels do: the means, or for 'tied' the first mean for every component)."""
    if covariance_type == "tied":
        return np.repeat(means[:1], len(means), axis=0)
    return means


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_moved_statistics_equal_the_statistics_about_the_new_reference(covariance_type):
    # Hard assignments fix the responsibilities, so that the kernel can take the same
    # moments about two references (the means it is given).
    rng = np.random.default_rng(0)
    X = ref.make_blobs(300, N_FEATURES, N_COMPONENTS, seed=1)
    sample_weight = rng.uniform(0.2, 3.0, size=len(X))
    covariance = COVARIANCES[covariance_type]
    source = ArraySource(X, covariance, N_COMPONENTS, sample_weight)
    weights, means, covariances = ref.random_parameters(
        rng, covariance_type, N_COMPONENTS, N_FEATURES
    )
    factors = precisions_cholesky(covariance_type, covariances)
    labels = rng.integers(N_COMPONENTS, size=len(X))
    other_means = means + rng.normal(scale=2.0, size=means.shape)

    about_old = source.statistics(np.log(weights), means, factors, assignments=labels)
    about_new = source.statistics(np.log(weights), other_means, factors, assignments=labels)
    assert not np.array_equal(about_old.reference, about_new.reference)

    moved = online.moved(covariance, about_old, about_new.reference)
    assert_same_statistics(covariance_type, moved, about_new)
    back = online.moved(covariance, moved, about_old.reference)
    assert_same_statistics(covariance_type, back, about_old)
    # Only the moments depend on the reference.
    assert moved.total_weight == about_old.total_weight
    assert_array_equal(moved.resp_sum, about_old.resp_sum)


def incomplete_statistics(covariance_type, X, sample_weight, weights, means, covariances, about):
    """Expected statistics of data with NaN about the points ``about``, row by row:
    responsibilities of the observed values; for 'diag' and 'spherical' each feature's
    moments over the rows that observe it (and ``missing_resp``), for 'full' and 'tied'
    the moments of the conditional expectations plus the conditional covariances.  Rows
    with no observed value count for nothing."""
    n_components, n_features = means.shape
    dense = ref.dense_covariances(covariances, covariance_type, n_components, n_features)
    resp = ref.marginal_responsibilities(X, weights, means, covariances, covariance_type)
    observed = ~np.isnan(X)
    resp = resp * (sample_weight * observed.any(axis=1))[:, None]
    sum_diff = np.zeros((n_components, n_features))
    second = np.zeros((n_components, n_features, n_features))
    missing_resp = np.zeros((n_components, n_features))
    for i, x in enumerate(X):
        for k in range(n_components):
            conditional = np.zeros((n_features, n_features))
            if covariance_type in DENSE:
                filled = x.copy()
                if not observed[i].all():
                    missing = ~observed[i]
                    mean, cov = ref.conditional_gaussian(means[k], dense[k], x, observed[i])
                    filled[missing] = mean
                    conditional[np.ix_(missing, missing)] = cov
                diff = filled - about[k]
            else:
                diff = np.where(observed[i], x - about[k], 0.0)
                missing_resp[k] += resp[i, k] * ~observed[i]
            sum_diff[k] += resp[i, k] * diff
            second[k] += resp[i, k] * (np.outer(diff, diff) + conditional)
    sum_sq = {
        "full": second,
        "tied": second.sum(axis=0),
        "diag": np.einsum("kii->ki", second),
        "spherical": np.einsum("kii->ki", second),
    }[covariance_type]
    return SufficientStatistics(
        resp_sum=resp.sum(axis=0),
        sum_diff=sum_diff,
        sum_sq=sum_sq,
        reference=about,
        log_likelihood=np.nan,
        total_weight=float(resp.sum()),
        missing_resp=missing_resp if covariance_type not in DENSE else None,
    )


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_moved_statistics_with_missing_values(covariance_type):
    # 'diag' and 'spherical' count each feature over the rows that observe it: moving the
    # first moment then adds (N_k - missing_resp) delta, not N_k delta.
    rng = np.random.default_rng(3)
    X = ref.make_blobs(150, N_FEATURES, N_COMPONENTS, seed=4)
    missing = rng.random(X.shape) < 0.25
    missing[missing.all(axis=1), 0] = False
    missing[7] = True  # one row with nothing observed
    X[missing] = np.nan
    sample_weight = rng.uniform(0.5, 2.0, size=len(X))
    covariance = COVARIANCES[covariance_type]
    weights, means, covariances = ref.random_parameters(
        rng, covariance_type, N_COMPONENTS, N_FEATURES
    )
    source = ArraySource(X, covariance, N_COMPONENTS, sample_weight, marginalize=True)
    kernel = source.statistics(
        np.log(weights), means, precisions_cholesky(covariance_type, covariances)
    )
    old_reference = reference_of(covariance_type, means)
    new_reference = reference_of(covariance_type, means + rng.normal(scale=2.0, size=means.shape))
    expected_old = incomplete_statistics(
        covariance_type, X, sample_weight, weights, means, covariances, old_reference
    )
    expected_new = incomplete_statistics(
        covariance_type, X, sample_weight, weights, means, covariances, new_reference
    )
    # The reference is what the kernel computes ...
    assert_same_statistics(covariance_type, kernel, expected_old, rtol=1e-10)
    assert kernel.total_weight == pytest.approx(expected_old.total_weight, rel=1e-14)
    if covariance_type in DENSE:
        assert_array_equal(kernel.missing_resp, 0.0)  # filled in: every feature counted
    else:
        assert_close(kernel.missing_resp, expected_old.missing_resp, rtol=1e-10)
        assert expected_old.missing_resp.min() > 1.0  # the per-feature counts matter
    # ... and moving it is exact.
    moved = online.moved(covariance, expected_old, new_reference)
    assert_same_statistics(covariance_type, moved, expected_new)
    moved = online.moved(covariance, kernel, new_reference)
    assert_same_statistics(covariance_type, moved, expected_new, rtol=1e-10)


def split_statistics(covariance_type):
    """Statistics of two halves of some data (hard assignments), about different references,
    and of all of it about the second half's reference."""
    rng = np.random.default_rng(5)
    X = ref.make_blobs(400, N_FEATURES, N_COMPONENTS, seed=6)
    covariance = COVARIANCES[covariance_type]
    weights, means, covariances = ref.random_parameters(
        rng, covariance_type, N_COMPONENTS, N_FEATURES
    )
    factors = precisions_cholesky(covariance_type, covariances)
    labels = rng.integers(N_COMPONENTS, size=len(X))
    other_means = means + rng.normal(size=means.shape)

    def statistics(rows, about):
        source = ArraySource(X[rows], covariance, N_COMPONENTS)
        return source.statistics(np.log(weights), about, factors, assignments=labels[rows])

    first, second = slice(0, 200), slice(200, 400)
    return (
        statistics(first, means),
        statistics(second, other_means),
        statistics(slice(0, 400), other_means),
    )


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_blended_averages_statistics_about_different_references(covariance_type):
    covariance = COVARIANCES[covariance_type]
    first, second, both = split_statistics(covariance_type)
    per_row = [online.rescaled(s, 1.0 / s.total_weight) for s in (first, second, both)]
    # Two halves of equal size, step 1/2: the statistics of all the rows, per row.
    blended = online.blended(covariance, per_row[0], per_row[1], 0.5)
    assert blended.total_weight == 1.0
    assert_same_statistics(covariance_type, blended, per_row[2])
    for actual, desired in zip(covariance.m_step(blended, 1e-6), covariance.m_step(both, 1e-6)):
        assert_close(actual, desired, rtol=1e-12)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("missing", [False, True], ids=["complete", "missing"])
def test_blended_with_step_one_has_the_m_step_of_the_batch(covariance_type, missing):
    rng = np.random.default_rng(8)
    covariance = COVARIANCES[covariance_type]
    X, centers = ref.make_blobs(300, N_FEATURES, N_COMPONENTS, seed=9, return_centers=True)
    if missing:
        X[rng.random(X.shape) < 0.2] = np.nan
    # Near the data: every component has a fair share of the rows (the M-step adds 10 eps
    # to N_k, which moves the means of a nearly empty component by ~eps / N_k).
    weights, means, covariances = ref.random_parameters(
        rng, covariance_type, N_COMPONENTS, N_FEATURES, means=centers + 0.5
    )
    factors = precisions_cholesky(covariance_type, covariances)
    source = ArraySource(X[:150], covariance, N_COMPONENTS, marginalize=True)
    batch = ArraySource(X[150:], covariance, N_COMPONENTS, marginalize=True)
    average = source.statistics(np.log(weights), means + 1.0, factors)
    statistics = batch.statistics(np.log(weights), means, factors)
    if missing and covariance_type not in DENSE:
        assert statistics.missing_resp.sum() > 0.0
    blended = online.blended(
        covariance, average, online.rescaled(statistics, 1.0 / statistics.total_weight), 1.0
    )
    for actual, desired in zip(
        covariance.m_step(blended, 1e-6), covariance.m_step(statistics, 1e-6)
    ):
        assert_close(actual, desired, rtol=1e-12)
    # The log-likelihood is averaged per unit weight as well.
    assert blended.log_likelihood == pytest.approx(
        statistics.log_likelihood / statistics.total_weight, rel=1e-14
    )


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_partial_fit_steps_are_the_documented_running_average(covariance_type):
    # s <- (1 - eta) s + eta s(batch), eta = (t + learning_offset) ** -learning_decay, then
    # the M-step; lower_bound_ is the batch's mean log-likelihood before the update.
    rng = np.random.default_rng(10)
    decay, offset, reg_covar = 0.6, 5.0, 1e-5
    covariance = COVARIANCES[covariance_type]
    model = GaussianMixture(
        N_COMPONENTS,
        covariance_type=covariance_type,
        random_state=0,
        learning_decay=decay,
        learning_offset=offset,
        reg_covar=reg_covar,
    )
    model.partial_fit(sample_mixture(rng, 200))
    for t in (1, 2):
        average = model._stepwise.average
        log_weights, means, factors = model._fitted_parameters()
        batch = sample_mixture(rng, 100 + 50 * t)
        statistics = ArraySource(batch, covariance, N_COMPONENTS).statistics(
            log_weights, means, factors
        )
        eta = (t + offset) ** -decay
        expected = covariance.m_step(
            online.blended(
                covariance,
                average,
                online.rescaled(statistics, 1.0 / statistics.total_weight),
                eta,
            ),
            reg_covar,
        )
        model.partial_fit(batch)
        for name, desired in zip(("weights_", "means_", "covariances_"), expected):
            assert_close(getattr(model, name), desired, rtol=1e-12)
        assert model.lower_bound_ == pytest.approx(
            statistics.log_likelihood / len(batch), rel=1e-12
        )
        assert model.n_iter_ == t + 1


# -- batch_size >= n_samples: batch EM, bit for bit ---------------------------------------


@pytest.fixture(scope="module")
def overlapping():
    """Data on which EM takes a number of iterations (overlapping blobs) and row weights."""
    X = ref.make_blobs(500, N_FEATURES, N_COMPONENTS, seed=2, scale=1.5)
    sample_weight = np.random.default_rng(2).uniform(0.2, 3.0, size=len(X))
    return X, sample_weight


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_batch_size_of_all_rows_is_batch_em_bitwise(overlapping, covariance_type, dtype, weighted):
    X, sample_weight = overlapping
    X = X.astype(dtype)
    sample_weight = sample_weight if weighted else None
    options = dict(covariance_type=covariance_type, random_state=0, tol=1e-6, max_iter=40)
    batch = fit_quietly(X, N_COMPONENTS, sample_weight, **options)
    assert batch.n_iter_ > 3  # a real run, not one step
    for batch_size in (len(X), 10 * len(X)):
        minibatch = fit_quietly(X, N_COMPONENTS, sample_weight, batch_size=batch_size, **options)
        assert_same_model(minibatch, batch)
    # Also when max_iter ends the run, and it then gives no ConvergenceWarning (max_iter
    # counts passes) where batch EM does.
    short = dict(options, max_iter=2)
    with pytest.warns(ConvergenceWarning):
        batch = GaussianMixture(N_COMPONENTS, **short).fit(X, sample_weight=sample_weight)
    minibatch = GaussianMixture(N_COMPONENTS, batch_size=len(X), **short)
    minibatch.fit(X, sample_weight=sample_weight)
    assert_same_model(minibatch, batch)
    assert not minibatch.converged_


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_batch_size_of_all_rows_is_batch_em_bitwise_in_fastgmm_fit(overlapping, covariance_type):
    X, sample_weight = overlapping
    options = dict(covariance_type=covariance_type, random_state=1, tol=1e-6, max_iter=200)
    batch = fastgmm.fit(X, N_COMPONENTS, sample_weight=sample_weight, **options)
    minibatch = fastgmm.fit(
        X, N_COMPONENTS, sample_weight=sample_weight, batch_size=len(X), **options
    )
    for name in ("weights", "means", "covariances", "precisions_cholesky"):
        assert_array_equal(getattr(minibatch, name), getattr(batch, name), err_msg=name)
    for name in ("lower_bound", "lower_bounds", "log_likelihood", "n_iter", "converged"):
        assert getattr(minibatch, name) == getattr(batch, name), name
    assert batch.converged and batch.n_iter > 3


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_batch_size_of_all_rows_is_batch_em_bitwise_with_missing_values(
    overlapping, covariance_type
):
    X = overlapping[0].copy()
    X[np.random.default_rng(4).random(X.shape) < 0.15] = np.nan
    options = dict(
        covariance_type=covariance_type,
        random_state=0,
        tol=1e-6,
        max_iter=40,
        missing_values="marginalize",
    )
    batch = fit_quietly(X, N_COMPONENTS, **options)
    minibatch = fit_quietly(X, N_COMPONENTS, batch_size=len(X), **options)
    assert_same_model(minibatch, batch)


# -- mini-batch EM and polish ----------------------------------------------------------------


@pytest.fixture(scope="module")
def blobs():
    return ref.make_blobs(4000, N_FEATURES, N_COMPONENTS, seed=5, scale=3.0)


@pytest.fixture(scope="module")
def batch_optimum(blobs):
    """Converged batch EM per covariance type."""
    return {
        t: fit_quietly(blobs, N_COMPONENTS, covariance_type=t, random_state=0, tol=1e-9)
        for t in COVARIANCE_TYPES
    }


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_minibatch_em_gets_near_the_batch_optimum(blobs, batch_optimum, covariance_type):
    optimum = batch_optimum[covariance_type]
    assert optimum.converged_
    model = GaussianMixture(
        N_COMPONENTS,
        covariance_type=covariance_type,
        random_state=0,
        batch_size=len(blobs) // 20,
        max_iter=3,
        tol=0.0,
    ).fit(blobs)  # no ConvergenceWarning: a set number of passes is mini-batch EM's end
    assert model.n_iter_ == 3 and not model.converged_
    assert len(model.lower_bounds_) == 3 and model.lower_bounds_[-1] == model.lower_bound_
    gap = optimum.score(blobs) - model.score(blobs)
    assert -1e-9 < gap < 1e-3
    # The lower bound is a running estimate of the pass's mean log-likelihood.
    assert model.lower_bound_ == pytest.approx(optimum.lower_bound_, abs=1e-2)
    means, _ = matched(model.means_, optimum.means_)
    assert_allclose(means, optimum.means_, atol=0.1)


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_polish_runs_batch_em_from_where_the_passes_end(blobs, batch_optimum, covariance_type):
    options = dict(
        covariance_type=covariance_type, random_state=0, batch_size=200, max_iter=3, tol=1e-10
    )
    passes = GaussianMixture(N_COMPONENTS, **options).fit(blobs)
    with pytest.warns(ConvergenceWarning):  # polish=2 iterations cannot reach tol=1e-10
        polished = GaussianMixture(N_COMPONENTS, polish=2, **options).fit(blobs)
    assert polished.n_iter_ == 3 + 2 and not polished.converged_
    assert polished.lower_bounds_[:3] == passes.lower_bounds_
    assert len(polished.lower_bounds_) == 5
    assert polished.score(blobs) >= passes.score(blobs) - 1e-12
    assert polished.score(blobs) <= batch_optimum[covariance_type].score(blobs) + 1e-9
    # The polish iterations are batch EM warm-started from the passes' model, bit for bit.
    warm = GaussianMixture(N_COMPONENTS, warm_start=True, **options).fit(blobs)
    warm.set_params(batch_size=None, max_iter=2)
    with pytest.warns(ConvergenceWarning):
        warm.fit(blobs)
    for name in FITTED:
        assert_array_equal(getattr(polished, name), getattr(warm, name), err_msg=name)
    assert polished.lower_bounds_[3:] == warm.lower_bounds_


def test_polish_stops_at_tol(blobs):
    polished = GaussianMixture(
        N_COMPONENTS, random_state=0, batch_size=200, max_iter=3, tol=1e-4, polish=50
    ).fit(blobs)  # converges within polish: no warning
    assert polished.converged_
    assert 3 < polished.n_iter_ < 3 + 50
    assert len(polished.lower_bounds_) == polished.n_iter_
    assert abs(polished.lower_bounds_[-1] - polished.lower_bounds_[-2]) < 1e-4


def test_minibatch_fit_goes_past_batches_of_zero_weight():
    # Half the rows weigh 0: some batches of 6 random rows hold no row of positive weight.
    # Such a batch has nothing to update the mixture with, but the weights are valid (batch
    # EM fits them), so the fit goes on past it.  (Batches this small fit poorly, so only
    # the run itself is checked.)
    rng = np.random.default_rng(14)
    X = sample_mixture(rng, 2000)
    sample_weight = np.zeros(len(X))
    sample_weight[::2] = 1.0
    model = GaussianMixture(N_COMPONENTS, random_state=0, batch_size=6, max_iter=3, tol=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateComponentWarning)
        model.fit(X, sample_weight=sample_weight)
    assert model.n_iter_ == 3 and len(model.lower_bounds_) == 3
    assert np.all(np.isfinite(model.lower_bounds_))
    assert model.weights_.sum() == pytest.approx(1.0)
    assert np.all(np.isfinite(model.means_)) and np.all(np.isfinite(model.covariances_))


# -- partial_fit ---------------------------------------------------------------------------


def test_partial_fit_recovers_a_mixture_from_a_stream():
    rng = np.random.default_rng(0)
    model = GaussianMixture(N_COMPONENTS, random_state=0)
    probe = sample_mixture(rng, 50)
    for call in range(1, 41):
        assert model.partial_fit(sample_mixture(rng, 150)) is model
        # Every fitted attribute is valid after every call.
        assert model.n_iter_ == call
        assert len(model.lower_bounds_) == call
        assert model.lower_bound_ == model.lower_bounds_[-1]
        assert np.isfinite(model.lower_bound_)
        assert model.converged_ is False
        assert model.n_features_in_ == N_FEATURES
        assert model.weights_.sum() == pytest.approx(1.0)
        labels = model.predict(probe)
        assert labels.shape == (50,) and labels.min() >= 0 and labels.max() < N_COMPONENTS
        assert_allclose(model.predict_proba(probe).sum(axis=1), 1.0)
    means, order = matched(model.means_, CENTERS)
    assert_allclose(means, CENTERS, atol=0.15)
    assert_allclose(model.weights_[order], WEIGHTS, atol=0.03)
    assert_allclose(model.covariances_[order], np.broadcast_to(np.eye(3), (3, 3, 3)), atol=0.15)


def test_partial_fit_first_call_needs_n_components_rows():
    rng = np.random.default_rng(1)
    model = GaussianMixture(N_COMPONENTS, random_state=0)
    with pytest.raises(ValueError, match="n_samples >= n_components"):
        model.partial_fit(sample_mixture(rng, N_COMPONENTS - 1))
    assert not hasattr(model, "means_")
    model.partial_fit(sample_mixture(rng, N_COMPONENTS))
    assert model.n_iter_ == 1
    model.partial_fit(sample_mixture(rng, 1))  # later batches may be smaller
    assert model.n_iter_ == 2


def test_partial_fit_after_fit_starts_from_the_fitted_parameters():
    rng = np.random.default_rng(2)
    fitted = GaussianMixture(N_COMPONENTS, random_state=0).fit(sample_mixture(rng, 3000))
    batch = sample_mixture(rng, 300)
    before = fitted.score(batch)
    start = {name: getattr(fitted, name).copy() for name in ("weights_", "means_", "precisions_")}
    blending = copy.deepcopy(fitted).partial_fit(batch)  # default learning_offset=2
    # With learning_offset=1 the first step has size 1: one batch-EM iteration on the
    # batch from the fit.
    fitted.set_params(learning_offset=1.0).partial_fit(batch)
    one_step = fit_quietly(
        batch,
        N_COMPONENTS,
        weights_init=start["weights_"],
        means_init=start["means_"],
        precisions_init=start["precisions_"],
        max_iter=1,
    )
    for name in FITTED:
        assert_close(getattr(fitted, name), getattr(one_step, name), rtol=1e-8)
    assert_allclose(fitted.means_, start["means_"], atol=0.5)
    assert fitted.n_iter_ == 1 and fitted.lower_bounds_ == [fitted.lower_bound_]
    assert fitted.lower_bound_ == pytest.approx(before, rel=1e-12)
    # By default the running statistics start from what the fitted model expects of its
    # own data, and the batch moves the means only part of the way (step 2 ** -0.7).
    moved_by_step = np.abs(one_step.means_ - start["means_"]).sum()
    moved_by_blend = np.abs(blending.means_ - start["means_"]).sum()
    assert 0.3 * moved_by_step < moved_by_blend < 0.9 * moved_by_step


def test_fit_discards_the_running_statistics():
    rng = np.random.default_rng(3)
    X = sample_mixture(rng, 2000)
    batches = [sample_mixture(rng, 200) for _ in range(3)]
    streamed = GaussianMixture(N_COMPONENTS, random_state=0)
    streamed.partial_fit(batches[0]).partial_fit(batches[1])
    streamed.fit(X)
    assert streamed.n_iter_ < 100 and streamed.converged_
    streamed.partial_fit(batches[2])
    fresh = GaussianMixture(N_COMPONENTS, random_state=0).fit(X).partial_fit(batches[2])
    assert_same_model(streamed, fresh)


def test_partial_fit_after_load_starts_from_the_saved_model(tmp_path):
    rng = np.random.default_rng(4)
    fitted = GaussianMixture(N_COMPONENTS, random_state=0).fit(sample_mixture(rng, 2000))
    fitted.save(tmp_path / "model.npz")
    loaded = fastgmm.load(tmp_path / "model.npz")
    for batch in (sample_mixture(rng, 200), sample_mixture(rng, 200)):
        fitted.partial_fit(batch)
        loaded.partial_fit(batch)
    assert_same_model(loaded, fitted)


def test_partial_fit_sample_weight_counts_rows():
    # Integer weights are that many copies of the rows, from the first step on.
    rng = np.random.default_rng(5)
    X = sample_mixture(rng, 2000)
    weighted = GaussianMixture(N_COMPONENTS, random_state=0).fit(X)
    copied = GaussianMixture(N_COMPONENTS, random_state=0).fit(X)
    for _ in range(2):
        batch = sample_mixture(rng, 150)
        counts = rng.integers(0, 4, size=len(batch))
        weighted.partial_fit(batch, sample_weight=counts.astype(np.float64))
        copied.partial_fit(np.repeat(batch, counts, axis=0))
        for name in FITTED:
            assert_close(getattr(weighted, name), getattr(copied, name), rtol=1e-10)
        assert weighted.lower_bound_ == pytest.approx(copied.lower_bound_, rel=1e-12)


def test_partial_fit_bad_batches():
    rng = np.random.default_rng(6)
    model = GaussianMixture(N_COMPONENTS, random_state=0).partial_fit(sample_mixture(rng, 100))
    with pytest.raises(ValueError, match="2 features.*expecting 3 features"):
        model.partial_fit(sample_mixture(rng, 100)[:, :2])
    with pytest.raises(ValueError, match="0 sample"):
        model.partial_fit(np.empty((0, N_FEATURES)))
    X = sample_mixture(rng, 100)
    X[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        model.partial_fit(X)
    assert model.n_iter_ == 1  # the bad batches changed nothing


def test_partial_fit_after_fit_checks_n_features_as_later_calls_do():
    # The first partial_fit after fit (or load) checks the batch as every later call does;
    # the message is about n_features, not about warm_start, which the caller never set.
    rng = np.random.default_rng(7)
    model = GaussianMixture(N_COMPONENTS, random_state=0).fit(sample_mixture(rng, 300))
    with pytest.raises(ValueError, match="2 features.*expecting 3 features"):
        model.partial_fit(sample_mixture(rng, 100)[:, :2])


def test_partial_fit_after_fit_checks_feature_names_as_later_calls_do():
    pd = pytest.importorskip("pandas", reason="pandas is not installed")
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(sample_mixture(rng, 300), columns=["a", "b", "c"])
    renamed = frame.rename(columns={"a": "z"})
    streamed = GaussianMixture(N_COMPONENTS, random_state=0).partial_fit(frame)
    with pytest.raises(ValueError, match="feature names should match"):
        streamed.partial_fit(renamed)
    fitted = GaussianMixture(N_COMPONENTS, random_state=0).fit(frame)
    with pytest.raises(ValueError, match="feature names should match"):
        fitted.partial_fit(renamed)
    assert list(fitted.feature_names_in_) == ["a", "b", "c"]


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_partial_fit_marginalizes_missing_values(covariance_type):
    rng = np.random.default_rng(8)
    model = GaussianMixture(
        N_COMPONENTS, covariance_type=covariance_type, random_state=0, missing_values="marginalize"
    )
    for _ in range(20):
        X = sample_mixture(rng, 150)
        X[rng.random(X.shape) < 0.2] = np.nan
        model.partial_fit(X)
    means, _ = matched(model.means_, CENTERS)
    assert_allclose(means, CENTERS, atol=0.3)
    assert np.isfinite(model.score(X))


def drift_error(learning_decay):
    """Largest error of the final means after a stream whose means move by 0.05 per batch
    (5 in all, in one direction), fitted by partial_fit."""
    rng = np.random.default_rng(9)
    model = GaussianMixture(N_COMPONENTS, random_state=0, learning_decay=learning_decay)
    for t in range(100):
        shift = np.array([0.05 * t, 0.0, 0.0])
        model.partial_fit(sample_mixture(rng, 200, shift))
    means, _ = matched(model.means_, CENTERS + shift)
    return np.abs(means - (CENTERS + shift)).max()


def test_small_learning_decay_follows_drifting_data():
    fast, slow = drift_error(0.51), drift_error(1.0)
    # learning_decay=1 averages all batches alike: its means lag by about half the drift.
    assert slow > 1.5
    assert fast < 0.8
    assert fast < 0.3 * slow


# -- fit_stream ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stream_batches():
    rng = np.random.default_rng(10)
    return [sample_mixture(rng, 200) for _ in range(10)]


def test_fit_stream_one_pass_is_the_partial_fit_sequence(stream_batches):
    result = fastgmm.fit_stream((batch for batch in stream_batches), N_COMPONENTS, random_state=0)
    model = GaussianMixture(N_COMPONENTS, random_state=0)
    for batch in stream_batches:
        model.partial_fit(batch)
    for name in ("weights", "means", "covariances", "precisions_cholesky"):
        assert_array_equal(getattr(result, name), getattr(model, name + "_"), err_msg=name)
    assert result.n_iter == 1 and not result.converged
    assert np.isnan(result.log_likelihood)
    assert result.lower_bounds == (result.lower_bound,)
    sizes = [len(batch) for batch in stream_batches]
    assert result.lower_bound == pytest.approx(
        np.average(model.lower_bounds_, weights=sizes), rel=1e-12
    )
    means, _ = matched(np.asarray(result.means), CENTERS)
    assert_allclose(means, CENTERS, atol=0.3)


def test_fit_stream_passes_over_a_restartable_stream(stream_batches):
    opened = []

    def open_stream():
        opened.append(1)
        return iter(stream_batches)

    result = fastgmm.fit_stream(open_stream, N_COMPONENTS, random_state=0, max_passes=3, tol=0.0)
    assert len(opened) == 3
    assert result.n_iter == 3 and len(result.lower_bounds) == 3 and not result.converged
    one_pass = fastgmm.fit_stream(iter(stream_batches), N_COMPONENTS, random_state=0)
    assert result.lower_bounds[0] == one_pass.lower_bound
    # Later passes see the same batches under better parameters.
    assert result.lower_bounds[2] > result.lower_bounds[0]
    # With a tolerance, the passes stop once the pass's mean log-likelihood settles.
    converging = fastgmm.fit_stream(
        lambda: iter(stream_batches), N_COMPONENTS, random_state=0, max_passes=50, tol=1e-3
    )
    assert converging.converged and converging.n_iter < 50
    assert abs(converging.lower_bounds[-1] - converging.lower_bounds[-2]) < 1e-3


def test_fit_stream_float32_batches_give_a_float32_result(stream_batches):
    batches = [batch.astype(np.float32) for batch in stream_batches]
    result = fastgmm.fit_stream(batches, N_COMPONENTS, random_state=0)
    assert result.means.dtype == np.float32 and result.weights.dtype == np.float32
    assert not result.means.flags.writeable


def test_fit_stream_errors(stream_batches):
    def generator():
        yield from stream_batches

    with pytest.raises(ValueError, match="max_passes=2 needs batches that can be read again"):
        fastgmm.fit_stream(generator(), N_COMPONENTS, max_passes=2)
    with pytest.raises(ValueError, match="empty"):
        fastgmm.fit_stream(iter([]), N_COMPONENTS)
    with pytest.raises(ValueError, match="empty"):
        fastgmm.fit_stream(lambda: iter([]), N_COMPONENTS, max_passes=2)
    narrow = stream_batches[:3] + [stream_batches[3][:, :2]]
    with pytest.raises(ValueError, match="Batch 3 of the stream has 2 features"):
        fastgmm.fit_stream(iter(narrow), N_COMPONENTS)
    with pytest.raises(ValueError, match="Batch 1 of the stream: .*0 sample"):
        fastgmm.fit_stream([stream_batches[0], np.empty((0, N_FEATURES))], N_COMPONENTS)
    with pytest.raises(ValueError, match="n_samples >= n_components"):
        fastgmm.fit_stream([stream_batches[0][:2]], N_COMPONENTS)
    with pytest.raises(InvalidParameterError, match="max_passes"):
        fastgmm.fit_stream(lambda: iter(stream_batches), N_COMPONENTS, max_passes=0)


def test_fit_stream_missing_values(stream_batches):
    incomplete = [batch.copy() for batch in stream_batches]
    incomplete[2][5, 1] = np.nan
    with pytest.raises(ValueError, match="Batch 2 of the stream: .*NaN"):
        fastgmm.fit_stream(iter(incomplete), N_COMPONENTS)
    rng = np.random.default_rng(11)
    for batch in incomplete:
        batch[rng.random(batch.shape) < 0.2] = np.nan
    result = fastgmm.fit_stream(
        iter(incomplete), N_COMPONENTS, random_state=0, missing_values="marginalize"
    )
    means, _ = matched(np.asarray(result.means), CENTERS)
    assert_allclose(means, CENTERS, atol=0.5)
    assert np.isnan(result.log_likelihood)


# -- reproducibility, parameters, other kinds of data --------------------------------------


@needs_two_threads
def test_results_do_not_depend_on_the_thread_count():
    # Batches of 5000 rows: more than one chunk each, so two threads do split them.
    rng = np.random.default_rng(12)
    X = sample_mixture(rng, 20_000)
    batches = [X[i : i + 5000] for i in range(0, len(X), 5000)]

    def fits(n_jobs):
        minibatch = GaussianMixture(
            N_COMPONENTS, random_state=0, batch_size=5000, max_iter=2, n_jobs=n_jobs
        ).fit(X)
        streamed = GaussianMixture(N_COMPONENTS, random_state=0, n_jobs=n_jobs)
        for batch in batches:
            streamed.partial_fit(batch)
        result = fastgmm.fit_stream(
            lambda: iter(batches), N_COMPONENTS, random_state=0, n_jobs=n_jobs, max_passes=2
        )
        return minibatch, streamed, result

    single, double = fits(1), fits(2)
    assert_same_model(double[0], single[0])
    assert_same_model(double[1], single[1])
    for name in ("weights", "means", "covariances", "precisions_cholesky"):
        assert_array_equal(getattr(double[2], name), getattr(single[2], name), err_msg=name)
    assert double[2].lower_bounds == single[2].lower_bounds


@pytest.mark.parametrize(
    "parameter, value",
    [
        ("learning_decay", 0.5),
        ("learning_decay", 1.5),
        ("learning_decay", "x"),
        ("learning_offset", -1.0),
        ("learning_offset", np.inf),
        ("batch_size", 0),
        ("batch_size", 2.5),
        ("polish", -1),
    ],
)
def test_invalid_parameters(parameter, value):
    X = sample_mixture(np.random.default_rng(13), 50)
    with pytest.raises(InvalidParameterError, match=parameter):
        GaussianMixture(2, **{parameter: value}).fit(X)
    with pytest.raises(InvalidParameterError, match=parameter):
        GaussianMixture(2, **{parameter: value}).partial_fit(X)
    with pytest.raises(InvalidParameterError, match=parameter):
        fastgmm.fit(X, 2, **{parameter: value})
    if parameter.startswith("learning"):
        with pytest.raises(InvalidParameterError, match=parameter):
            fastgmm.fit_stream([X], 2, **{parameter: value})
    assert issubclass(InvalidParameterError, ValueError)


def test_memory_mapped_minibatch_fit_equals_the_in_memory_fit(blobs, tmp_path):
    path = tmp_path / "X.npy"
    np.save(path, blobs)
    options = dict(random_state=0, batch_size=200, max_iter=2)
    in_memory = GaussianMixture(N_COMPONENTS, **options).fit(blobs)
    mapped = np.load(path, mmap_mode="r")
    assert_same_model(GaussianMixture(N_COMPONENTS, **options).fit(mapped), in_memory)
    assert_same_model(GaussianMixture(N_COMPONENTS, **options).fit(str(path)), in_memory)


def test_dask_minibatch_fit_is_close_to_the_in_memory_fit(blobs, batch_optimum):
    dask = pytest.importorskip("dask", reason="Dask is an optional extra (fastgmm[dask])")
    da = pytest.importorskip("dask.array", reason="Dask is an optional extra (fastgmm[dask])")
    options = dict(random_state=0, batch_size=200, max_iter=3, tol=0.0)
    in_memory = GaussianMixture(N_COMPONENTS, **options).fit(blobs)
    with dask.config.set(scheduler="synchronous"):
        chunked = GaussianMixture(N_COMPONENTS, **options).fit(da.from_array(blobs, chunks=1000))
    assert chunked.n_iter_ == 3
    # Batches come from one chunk at a time, in another order than in memory: the fits end
    # apart by the noise of their last steps (20 batches a pass here: ~1e-2 at most).
    assert chunked.score(blobs) == pytest.approx(in_memory.score(blobs), abs=1e-2)
    assert chunked.score(blobs) == pytest.approx(batch_optimum["full"].score(blobs), abs=1e-2)


def test_dask_ml_incremental_calls_partial_fit_per_block(blobs):
    pytest.importorskip("dask", reason="Dask is an optional extra (fastgmm[dask])")
    da = pytest.importorskip("dask.array", reason="Dask is an optional extra (fastgmm[dask])")
    wrappers = pytest.importorskip("dask_ml.wrappers", reason="dask-ml is not installed")
    chunks = 500
    incremental = wrappers.Incremental(
        GaussianMixture(N_COMPONENTS, random_state=0), shuffle_blocks=False
    ).fit(da.from_array(blobs, chunks=chunks))
    fitted = incremental.estimator_
    assert isinstance(fitted, GaussianMixture)
    expected = GaussianMixture(N_COMPONENTS, random_state=0)
    for start in range(0, len(blobs), chunks):
        expected.partial_fit(blobs[start : start + chunks])
    assert fitted.n_iter_ == len(blobs) // chunks
    assert_same_model(fitted, expected)
