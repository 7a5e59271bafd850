"""Slow, obviously-right reference implementations that the tests compare fastgmm with.

Everything here is plain numpy/scipy on the dense (N x K) responsibility
matrix, written for clarity, in float64.
"""

import numpy as np
from scipy.special import logsumexp
from scipy.stats import multivariate_normal


def make_blobs(
    n_samples, n_features, n_components, seed=0, scale=5.0, dtype=np.float64, return_centers=False
):
    """The benchmarks' data (benchmarks/README.md): blobs, unit noise around random centres."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=scale, size=(n_components, n_features))
    X = centers[rng.integers(n_components, size=n_samples)] + rng.normal(
        size=(n_samples, n_features)
    )
    return (X.astype(dtype), centers) if return_centers else X.astype(dtype)


def dense_covariances(covariances, covariance_type, n_components, n_features):
    """Covariances in any layout as a (K, D, D) stack of matrices."""
    covariances = np.asarray(covariances, dtype=np.float64)
    if covariance_type == "full":
        return covariances
    if covariance_type == "tied":
        return np.repeat(covariances[None], n_components, axis=0)
    if covariance_type == "diag":
        return np.stack([np.diag(c) for c in covariances])
    return np.stack([np.eye(n_features) * c for c in covariances])


def weighted_log_prob(X, weights, means, covariances, covariance_type):
    """log pi_k + log N(x_i | mu_k, Sigma_k) via scipy.stats.multivariate_normal."""
    n_components, n_features = np.shape(means)
    dense = dense_covariances(covariances, covariance_type, n_components, n_features)
    X = np.asarray(X, dtype=np.float64)
    return np.stack(
        [
            np.log(weights[k]) + multivariate_normal(means[k], dense[k]).logpdf(X).reshape(-1)
            for k in range(n_components)
        ],
        axis=1,
    )


def score_samples(X, weights, means, covariances, covariance_type):
    """log p(x_i) of the mixture."""
    return logsumexp(weighted_log_prob(X, weights, means, covariances, covariance_type), axis=1)


def responsibilities(X, weights, means, covariances, covariance_type):
    log_prob = weighted_log_prob(X, weights, means, covariances, covariance_type)
    return np.exp(log_prob - logsumexp(log_prob, axis=1, keepdims=True))


def m_step(X, resp, covariance_type, reg_covar):
    """Textbook M-step (Bishop 9.24-9.27) with sklearn's 10 eps added to N_k."""
    X = np.asarray(X, dtype=np.float64)
    n_samples, n_features = X.shape
    nk = resp.sum(axis=0) + 10 * np.finfo(np.float64).eps
    means = resp.T @ X / nk[:, None]
    full = np.stack(
        [
            sum(resp[i, k] * np.outer(X[i] - means[k], X[i] - means[k]) for i in range(n_samples))
            / nk[k]
            for k in range(len(nk))
        ]
    )
    eye = np.eye(n_features)
    covariances = {
        "full": lambda: full + reg_covar * eye,
        "tied": lambda: (full * nk[:, None, None]).sum(axis=0) / nk.sum() + reg_covar * eye,
        "diag": lambda: np.einsum("kii->ki", full) + reg_covar,
        "spherical": lambda: np.einsum("kii->ki", full).mean(axis=1) + reg_covar,
    }[covariance_type]()
    return nk / nk.sum(), means, covariances


def em_step(X, weights, means, covariances, covariance_type, reg_covar):
    """One EM iteration: returns (log-likelihood of the given parameters, new parameters)."""
    log_likelihood = score_samples(X, weights, means, covariances, covariance_type).sum()
    resp = responsibilities(X, weights, means, covariances, covariance_type)
    return log_likelihood, m_step(X, resp, covariance_type, reg_covar)


def precisions(covariances, covariance_type):
    """Inverse covariances in the same layout."""
    if covariance_type in ("full", "tied"):
        return np.linalg.inv(covariances)
    return 1.0 / np.asarray(covariances)


def n_parameters(covariance_type, n_components, n_features):
    """Free parameters, counted directly: K-1 weights, K*D means, and the covariances."""
    per_covariance = {
        "full": n_components * n_features * (n_features + 1) // 2,
        "tied": n_features * (n_features + 1) // 2,
        "diag": n_components * n_features,
        "spherical": n_components,
    }[covariance_type]
    return (n_components - 1) + n_components * n_features + per_covariance


def random_parameters(rng, covariance_type, n_components, n_features, means=None):
    """Well-conditioned random parameters (float64) in sklearn's layouts.

    ``means`` (e.g. the true centres plus noise) replaces the random means.
    """
    weights = rng.dirichlet(np.full(n_components, 5.0))
    if means is None:
        means = rng.normal(scale=3.0, size=(n_components, n_features))

    def spd():
        A = rng.normal(size=(n_features, n_features))
        return A @ A.T / n_features + np.eye(n_features)

    covariances = {
        "full": lambda: np.stack([spd() for _ in range(n_components)]),
        "tied": spd,
        "diag": lambda: rng.uniform(0.5, 2.0, size=(n_components, n_features)),
        "spherical": lambda: rng.uniform(0.5, 2.0, size=n_components),
    }[covariance_type]()
    return weights, means, covariances


def initial_parameters(covariance_type, n_components, n_features, seed, centers=None):
    """A random start; near ``centers`` when given.

    Comparisons over several iterations start near the solution: EM from a
    poor start can amplify rounding differences by orders of magnitude per
    iteration (sklearn's diag/spherical formulas cancel more than ours), which
    would test chaos, not correctness.
    """
    rng = np.random.default_rng(seed)
    means = None if centers is None else centers + rng.normal(scale=0.5, size=centers.shape)
    weights, means, covariances = random_parameters(
        rng, covariance_type, n_components, n_features, means=means
    )
    return dict(
        weights_init=weights,
        means_init=means,
        precisions_init=precisions(covariances, covariance_type),
    )
