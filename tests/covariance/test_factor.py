"""Mixtures of factor analysers: the slow references (``_references.factor_*``) that the
'factor' and 'ppca' covariance types are to be checked against, themselves checked
against scipy, scikit-learn's ``FactorAnalysis`` and the closed form of PPCA."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.stats import multivariate_normal

import _references as ref

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
    decomposition = pytest.importorskip("sklearn.decomposition")
    rng = np.random.default_rng(2)
    truth = ref.random_factor_parameters(rng, 1, 6, 2)
    X = ref.sample_factor_mixture(rng, 500, *truth)
    sklearn_fa = decomposition.FactorAnalysis(n_components=2, tol=1e-12, max_iter=100_000).fit(X)
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
