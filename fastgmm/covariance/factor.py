"""Mixtures of factor analysers (and of probabilistic PCA): the kernels' arguments and the
M-step from their statistics (``_kernels/factor.py``, whose docstring gives the layouts).

Component k's covariance is Sigma_k = W_k W_k^T + Psi_k with W_k a D x q loading matrix,
stored transposed as ``loadings[k]`` (q, D) like scikit-learn's
``FactorAnalysis.components_``, and ``noise_variance[k]`` = diag(Psi_k) (D,), or sigma_k^2
(a number per component) for probabilistic PCA.  The work is O(K (D q^2 + q^3)) here and
O(N K D q) in the kernel; no D x D matrix is formed.

Not yet a covariance type of the estimators (``COVARIANCE_TYPES``): these are the parts
that the covariance types 'factor' and 'ppca' will run.
"""

import numpy as np

from .base import RESP_SUM_EPS, log_gaussian_constant


def _noise_matrix(noise_variance, n_features):
    """(K, D) noise variances from (K, D), or from (K,) for isotropic noise."""
    noise = np.asarray(noise_variance, dtype=np.float64)
    return noise if noise.ndim == 2 else np.repeat(noise[:, None], n_features, axis=1)


def latent_posterior(loadings, noise_variance):
    """Per component, the Cholesky factor L_k of M_k = I_q + W_k^T Psi_k^-1 W_k (K, q, q),
    lower-triangular; the latent factors' posterior covariance given a row is M_k^-1."""
    loadings = np.asarray(loadings, dtype=np.float64)
    n_factors = loadings.shape[1]
    noise = _noise_matrix(noise_variance, loadings.shape[2])
    scaled = loadings / noise[:, None, :]  # W^T Psi^-1, (K, q, D)
    M = np.eye(n_factors) + np.einsum("kja,kma->kjm", scaled, loadings)
    return np.linalg.cholesky(M)


def kernel_arguments(log_weights, means, loadings, noise_variance, dtype):
    """``(kernel_means, kernel_factors, log_const)`` for ``_kernels.factor.run_pass`` on data
    of ``dtype``: with L_k from :func:`latent_posterior`, ``kernel_factors[k]`` stacks
    A_k = L_k^-1 W_k^T Psi_k^-1 (q rows), Psi_k^-1/2 (a row) and L_k^-T (q rows, q columns),
    and log_const_k = log pi_k - (D log(2 pi) + log det Psi_k + 2 log det L_k) / 2
    (the determinant lemma)."""
    loadings = np.asarray(loadings, dtype=np.float64)
    n_components, n_factors, n_features = loadings.shape
    if n_factors > n_features:
        raise ValueError(f"n_factors={n_factors} must be at most n_features={n_features}")
    noise = _noise_matrix(noise_variance, n_features)
    lower = latent_posterior(loadings, noise)
    factors = np.zeros((n_components, 2 * n_factors + 1, n_features))
    for k in range(n_components):
        lower_inverse = np.linalg.inv(lower[k])
        factors[k, :n_factors] = lower_inverse @ (loadings[k] / noise[k])
        factors[k, n_factors] = 1.0 / np.sqrt(noise[k])
        factors[k, n_factors + 1 :, :n_factors] = lower_inverse.T
    log_det = np.log(noise).sum(axis=1) + 2.0 * np.log(np.diagonal(lower, axis1=1, axis2=2)).sum(
        axis=1
    )
    log_const = np.asarray(log_weights, dtype=np.float64) + log_gaussian_constant(n_features)
    return (
        np.ascontiguousarray(means, dtype=dtype),
        np.ascontiguousarray(factors, dtype=dtype),
        log_const - 0.5 * log_det,
    )


def statistics_shape(n_components, n_features, n_factors):
    """The shape of one chunk's ``sum_sq`` slot (``_kernels/factor.py``)."""
    return (n_components, n_features + n_factors, n_factors + 2)


def m_step(resp_sum, sum_sq, reference, isotropic, reg_covar):
    """The M-step of Ghahramani & Hinton (1996), per component, from the kernel's statistics.

    ``resp_sum`` (K,) and ``sum_sq`` (K, D + q, q + 2) were taken about ``reference`` (the
    kernel's means).  In coordinates d = x - reference, with the mean as a last column of
    the loadings (W~ = [W  mu - reference], z~ = [z; 1]):

        W~_k = (sum_i q_ik d_i E[z~]^T) (sum_i q_ik E[z~ z~^T])^-1,
        Psi_k = diag(sum_i q_ik d_i d_i^T - W~_k sum_i q_ik E[z~] d_i^T) / N_k + reg_covar,

    or, with ``isotropic`` noise (PPCA), sigma_k^2 the mean of that diagonal.  The residual
    is a regression's, so the reference does not matter.  W~_k maximises the expected
    complete-data log-likelihood whatever Psi_k, and Psi_k then maximises it given W~_k,
    so the step is a full M-step.

    Returns float64 ``(weights, means, loadings, noise_variance)``, the noise as (K, D), or
    (K,) when ``isotropic``.  Components need N_k > 0 and a non-singular second moment.
    """
    n_components = len(resp_sum)
    n_factors = sum_sq.shape[2] - 2
    n_features = sum_sq.shape[1] - n_factors
    nk = resp_sum + RESP_SUM_EPS
    new_means = np.empty((n_components, n_features))
    new_loadings = np.empty((n_components, n_factors, n_features))
    new_noise = np.empty((n_components, n_features))
    for k in range(n_components):
        cross = sum_sq[k, :n_features, : n_factors + 1]  # sum q d E[z~]^T
        second_moment = np.empty((n_factors + 1, n_factors + 1))  # sum q E[z~ z~^T]
        second_moment[:n_factors] = sum_sq[k, n_features:, : n_factors + 1]
        second_moment[n_factors, :n_factors] = sum_sq[k, n_features:, n_factors]
        second_moment[n_factors, n_factors] = resp_sum[k]
        augmented = np.linalg.solve(second_moment, cross.T).T  # second_moment is symmetric
        residual = sum_sq[k, :n_features, n_factors + 1] - np.einsum("ab,ab->a", augmented, cross)
        new_loadings[k] = augmented[:, :n_factors].T
        new_means[k] = reference[k] + augmented[:, n_factors]
        new_noise[k] = residual / nk[k]
    if isotropic:
        new_noise = new_noise.mean(axis=1)
    return nk / nk.sum(), new_means, new_loadings, new_noise + reg_covar
