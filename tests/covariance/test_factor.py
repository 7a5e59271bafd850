"""Mixtures of factor analysers: the slow references (``_references.factor_*``), checked
against scipy, scikit-learn's ``FactorAnalysis`` and the closed form of PPCA; then the
kernel pass (``_kernels/factor.py``) and the M-step (``covariance/factor.py``) against
the references."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

from fastgmm._kernels import factor as factor_kernels
from fastgmm._kernels._common import ONE_HOT, SCORE, STATISTICS
from fastgmm._threads import run_chunks
from fastgmm.covariance import factor

import _references as ref
from _helpers import assert_close, one_component_factor_analysis

NOISE = {"factor": False, "ppca": True}  # isotropic noise?


def run_em(X, parameters, n_steps, reg_covar=0.0):
    """``n_steps`` reference EM steps: the log-likelihoods before each, and the last parameters."""
    log_likelihoods = []
    for _ in range(n_steps):
        log_likelihood, parameters = ref.factor_em_step(X, *parameters, reg_covar=reg_covar)
        log_likelihoods.append(log_likelihood)
    return np.array(log_likelihoods), parameters


@pytest.mark.parametrize("noise", NOISE)
def test_reference_log_density_is_scipys_with_the_assembled_covariance(noise):
    rng = np.random.default_rng(0)
    weights, means, loadings, noise_variance = ref.random_factor_parameters(
        rng, 3, 7, 2, isotropic=NOISE[noise]
    )
    X = rng.normal(scale=3.0, size=(50, 7))
    covariances = ref.factor_covariances(loadings, noise_variance)
    expected = np.stack(
        [
            np.log(weights[k]) + multivariate_normal(means[k], covariances[k]).logpdf(X)
            for k in range(3)
        ],
        axis=1,
    )
    got = ref.factor_log_prob(X, weights, means, loadings, noise_variance)
    assert_allclose(got, expected, rtol=1e-11)


@pytest.mark.parametrize("noise", NOISE)
def test_reference_em_never_lowers_the_likelihood_and_recovers_the_subspaces(noise):
    rng = np.random.default_rng(1)
    truth = ref.random_factor_parameters(rng, 2, 8, 2, isotropic=NOISE[noise])
    truth[1][1] += 12.0  # the two components far apart
    X = ref.sample_factor_mixture(rng, 3000, *truth)
    start = ref.random_factor_parameters(rng, 2, 8, 2, isotropic=NOISE[noise])
    start = (np.full(2, 0.5), truth[1] + rng.normal(scale=0.5, size=(2, 8)), *start[2:])
    log_likelihoods, fitted = run_em(X, start, 150)
    steps = np.diff(log_likelihoods)
    assert steps.min() >= -1e-9 * abs(log_likelihoods[-1])  # EM: monotone
    assert steps[-1] < 1e-6 * steps[0]  # and converged
    # The fitted loadings span the true ones (principal angles near 0): loadings are
    # identified up to a rotation of the factors only.
    for true_loadings, fitted_loadings in zip(truth[2], fitted[2]):
        true_basis = np.linalg.qr(true_loadings.T)[0]
        fitted_basis = np.linalg.qr(fitted_loadings.T)[0]
        cosines = np.linalg.svd(true_basis.T @ fitted_basis, compute_uv=False)
        assert cosines.min() > 0.99
    assert_allclose(np.sort(fitted[0]), np.sort(truth[0]), atol=0.03)


def test_reference_factor_analysis_with_one_component_reaches_scikit_learns():
    rng, X, sklearn_fa = one_component_factor_analysis()
    start = ref.random_factor_parameters(rng, 1, 6, 2)
    start = (np.ones(1), X.mean(axis=0)[None], *start[2:])
    log_likelihoods, fitted = run_em(X, start, 3000)
    assert log_likelihoods[-1] == pytest.approx(sklearn_fa.score(X) * len(X), rel=1e-6)
    assert_allclose(fitted[3][0], sklearn_fa.noise_variance_, rtol=1e-3)
    assert_allclose(
        ref.factor_covariances(fitted[2], fitted[3])[0], sklearn_fa.get_covariance(), rtol=1e-3
    )


def test_reference_ppca_with_one_component_reaches_the_closed_form():
    # Tipping & Bishop (1999): with the sample covariance's eigenvalues l_1 >= ... >= l_D
    # and eigenvectors U, the maximum-likelihood sigma^2 is the mean of the D - q smallest
    # and W = U_q (L_q - sigma^2 I)^(1/2), up to a rotation.
    rng = np.random.default_rng(3)
    truth = ref.random_factor_parameters(rng, 1, 6, 2, isotropic=True)
    X = ref.sample_factor_mixture(rng, 500, *truth)
    covariance = np.cov(X, rowvar=False, bias=True)
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)
    eigenvalues, eigenvectors = eigenvalues[::-1], eigenvectors[:, ::-1]
    sigma2 = eigenvalues[2:].mean()
    W = eigenvectors[:, :2] * np.sqrt(eigenvalues[:2] - sigma2)
    closed_form = W @ W.T + sigma2 * np.eye(6)
    expected = multivariate_normal(X.mean(axis=0), closed_form).logpdf(X).sum()
    start = ref.random_factor_parameters(rng, 1, 6, 2, isotropic=True)
    start = (np.ones(1), X.mean(axis=0)[None], *start[2:])
    log_likelihoods, fitted = run_em(X, start, 3000)
    assert log_likelihoods[-1] == pytest.approx(expected, rel=1e-9)
    assert fitted[3][0] == pytest.approx(sigma2, rel=1e-6)
    assert_allclose(ref.factor_covariances(fitted[2], fitted[3])[0], closed_form, rtol=1e-6)


# The kernel pass and the M-step.

EMPTY_FLOAT = np.empty(0)
EMPTY_LABELS = np.empty(0, dtype=np.int64)
EMPTY_RESP = np.empty((0, 0))


def kernel_pass(mode, X, parameters, sample_weight=None, labels=None, n_chunks=3):
    """One ``run_pass`` over ``n_chunks`` chunks on fastgmm's threads: the chunk slots
    summed ``(resp_sum, sum_diff, sum_sq, log_likelihood)`` for ``STATISTICS`` and
    ``ONE_HOT`` (the hard assignments ``labels``), or ``(log p(x_i), responsibilities,
    labels)`` for ``SCORE``; and the kernel's means."""
    weights, means, loadings, noise_variance = parameters
    n_components, n_factors, n_features = np.shape(loadings)
    kernel_means, kernel_factors, log_const = factor.kernel_arguments(
        np.log(weights), means, loadings, noise_variance, X.dtype
    )
    weight = EMPTY_FLOAT if sample_weight is None else sample_weight
    slots = (
        np.empty((n_chunks, n_components)),
        np.empty((n_chunks, n_components, n_features)),
        np.empty((n_chunks, *factor.statistics_shape(n_components, n_features, n_factors))),
        np.empty(n_chunks),
    )
    outputs = (np.empty(len(X)), np.empty((len(X), n_components)), np.empty(len(X), np.int64))
    if mode != SCORE:
        outputs = (EMPTY_FLOAT, EMPTY_RESP, EMPTY_LABELS)
    else:
        slots = (EMPTY_RESP, np.empty((0, 0, 0)), np.empty((0, 0, 0, 0)), EMPTY_FLOAT)
    run_chunks(
        factor_kernels.run_pass,
        n_chunks,
        mode,
        X,
        weight,
        EMPTY_LABELS if labels is None else labels,
        kernel_means,
        kernel_factors,
        log_const,
        n_chunks,
        *slots,
        *outputs,
    )
    if mode != SCORE:
        return tuple(slot.sum(axis=0) for slot in slots), kernel_means
    return outputs, kernel_means


def kernel_em_step(X, parameters, sample_weight=None, reg_covar=0.0, labels=None):
    """``ref.factor_em_step`` by the kernel and ``factor.m_step`` (with ``labels``, from
    those hard assignments)."""
    (resp_sum, sum_diff, sum_sq, log_likelihood), kernel_means = kernel_pass(
        STATISTICS if labels is None else ONE_HOT, X, parameters, sample_weight, labels
    )
    # The first moments come twice (sum_diff, and sum_sq's column q): the same sums.
    n_factors = np.shape(parameters[2])[1]
    assert_close(sum_sq[:, : X.shape[1], n_factors], sum_diff, rtol=1e-6)
    isotropic = np.ndim(parameters[3]) == 1
    new = factor.m_step(resp_sum, sum_sq, kernel_means.astype(np.float64), isotropic, reg_covar)
    return log_likelihood, new


def factor_data(noise, n_samples=700, separation=12.0, seed=5, n_factors=3):
    """Three components, 9 features (two passes of four and one more in the kernel's
    product), 3 factors by default (two rows of the product at a time, and one alone):
    rows and a start near the truth."""
    rng = np.random.default_rng(seed)
    truth = ref.random_factor_parameters(rng, 3, 9, n_factors, isotropic=NOISE[noise])
    truth[1][:] *= separation / 3.0
    X = ref.sample_factor_mixture(rng, n_samples, *truth)
    start = ref.random_factor_parameters(rng, 3, 9, n_factors, isotropic=NOISE[noise])
    start = (start[0], truth[1] + rng.normal(scale=0.5, size=truth[1].shape), *start[2:])
    return X, start


@pytest.mark.parametrize("n_factors", [3, 2, 1])
@pytest.mark.parametrize("separation", [12.0, 1.0])  # rows gathered, and all rows used
@pytest.mark.parametrize("noise", NOISE)
def test_kernel_em_step_agrees_with_the_reference(noise, separation, n_factors):
    X, start = factor_data(noise, separation=separation, n_factors=n_factors)
    log_likelihood, expected = ref.factor_em_step(X, *start, reg_covar=1e-6)
    got_log_likelihood, got = kernel_em_step(X, start, reg_covar=1e-6)
    assert got_log_likelihood == pytest.approx(log_likelihood, rel=1e-12)
    for got_part, expected_part in zip(got, expected):  # weights, means, loadings, noise
        assert_close(got_part, expected_part, rtol=1e-10)
    # And again from the new parameters: the statistics of a second pass.
    assert kernel_em_step(X, got)[0] == pytest.approx(ref.factor_em_step(X, *got)[0], rel=1e-12)


@pytest.mark.parametrize("noise", NOISE)
def test_kernel_weights_count_as_repeated_rows(noise):
    X, start = factor_data(noise, n_samples=300)
    counts = np.random.default_rng(6).integers(0, 4, size=len(X))
    _, expected = ref.factor_em_step(np.repeat(X, counts, axis=0), *start)
    _, got = kernel_em_step(X, start, sample_weight=counts.astype(np.float64))
    for got_part, expected_part in zip(got, expected):
        assert_close(got_part, expected_part, rtol=1e-10)


@pytest.mark.parametrize("noise", NOISE)
def test_kernel_m_step_from_hard_assignments_agrees_with_the_reference(noise):
    # The first M-step of a k-means start: one-hot responsibilities, the factors' posterior
    # still that of the given parameters.
    X, start = factor_data(noise, separation=2.0)
    labels = np.random.default_rng(7).integers(0, 3, size=len(X))
    _, expected = ref.factor_em_step(X, *start, resp=np.eye(3)[labels])
    _, got = kernel_em_step(X, start, labels=labels)
    for got_part, expected_part in zip(got, expected):
        assert_close(got_part, expected_part, rtol=1e-10)


@pytest.mark.parametrize("noise", NOISE)
def test_kernel_scores_are_the_reference_densities(noise):
    X, start = factor_data(noise, separation=2.0)
    (log_prob_norm, resp, labels), _ = kernel_pass(SCORE, X, start)
    log_prob = ref.factor_log_prob(X, *start)
    assert_close(log_prob_norm, logsumexp(log_prob, axis=1), rtol=1e-12)
    assert_close(resp, np.exp(log_prob - logsumexp(log_prob, axis=1, keepdims=True)), rtol=1e-11)
    np.testing.assert_array_equal(labels, log_prob.argmax(axis=1))


@pytest.mark.parametrize("noise", NOISE)
def test_kernel_em_step_in_float32(noise):
    X, start = factor_data(noise)
    log_likelihood, expected = ref.factor_em_step(X.astype(np.float32), *start)
    got_log_likelihood, got = kernel_em_step(X.astype(np.float32), start)
    assert got_log_likelihood == pytest.approx(log_likelihood, rel=1e-5)
    for got_part, expected_part in zip(got, expected):
        assert_close(got_part, expected_part, rtol=1e-3)


def test_kernel_em_never_lowers_the_likelihood():
    X, parameters = factor_data("factor", separation=2.0)
    log_likelihoods = []
    for _ in range(30):
        log_likelihood, parameters = kernel_em_step(X, parameters)
        log_likelihoods.append(log_likelihood)
    assert np.diff(log_likelihoods).min() >= -1e-9 * abs(log_likelihoods[-1])


def test_more_factors_than_features_is_an_error():
    with pytest.raises(ValueError, match="n_factors=4 must be at most n_features=3"):
        factor.kernel_arguments(
            np.zeros(1), np.zeros((1, 3)), np.ones((1, 4, 3)), np.ones(1), np.float64
        )


@pytest.mark.parametrize("noise_scale", [1.0, 1e-2, 1e-4])
def test_float32_log_densities_keep_their_accuracy_when_the_noise_is_small(noise_scale):
    # |Psi^-1/2 d|^2 - |c|^2 cancels as the noise shrinks against the loadings (a float32
    # error of 10 at 1e-4); the residual form float32 takes keeps it near float32 rounding.
    rng = np.random.default_rng(8)
    weights, means, loadings, noise = ref.random_factor_parameters(rng, 3, 64, 4)
    parameters = (weights, means, loadings, noise * noise_scale)
    X = ref.sample_factor_mixture(rng, 1000, *parameters).astype(np.float32)
    (log_prob_norm, _, _), _ = kernel_pass(SCORE, X, parameters)
    expected = logsumexp(ref.factor_log_prob(X, *parameters), axis=1)
    assert np.abs(log_prob_norm - expected).max() < 1e-5 * np.abs(expected).max() * 64


def test_the_residual_form_is_chosen_where_the_woodbury_difference_would_cancel():
    rng = np.random.default_rng(9)
    _, _, loadings, noise = ref.random_factor_parameters(rng, 4, 30, 3)
    noise = noise * np.array([1e-3, 1e-1, 1.0, 1e2])[:, None]
    factors = factor.kernel_factors(loadings, noise)
    largest = [
        np.linalg.eigvalsh(w @ (w / psi).T)[-1] for w, psi in zip(loadings, noise)
    ]  # of W^T Psi^-1 W
    expected = np.array(largest) > factor.RESIDUAL_FORM_EIGENVALUE
    np.testing.assert_array_equal(factors[:, -1, 0] == 1.0, expected)
    assert expected.any() and not expected.all()
