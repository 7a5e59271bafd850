"""'full': one covariance matrix per component (scikit-learn's layout: (K, D, D))."""

import numpy as np

from .._kernels import full as full_kernels
from .._kernels import missing_dense, missing_full
from .base import (
    CovarianceType,
    MissingKernels,
    cholesky_of_precision,
    copy_per_component,
    factorise_full,
    scatter_shift,
    symmetric_from_lower,
)


class FullCovariance(CovarianceType):
    """One full covariance matrix per component."""

    name = "full"
    kernels = full_kernels
    missing_kernels = MissingKernels(
        missing_full.statistics_full,
        missing_full.score_full,
        missing_dense.impute_dense,
    )

    @staticmethod
    def sum_sq_shape(n_components, n_features):
        return (n_components, n_features, n_features)

    @staticmethod
    def add_second_moment(sum_sq, k, diff, resp_k):
        sum_sq[k] += (diff * resp_k[:, None]).T @ diff

    @staticmethod
    def covariances(resp_sum, sum_diff, sum_sq, shift, nk, reg_covar):
        scatter = symmetric_from_lower(sum_sq) - scatter_shift(resp_sum, sum_diff, shift)
        covariances = scatter / nk[:, None, None]
        diagonal = np.einsum("kii->ki", covariances)
        diagonal += reg_covar
        return covariances

    @staticmethod
    def moved_sum_sq(counts, sum_diff, sum_sq, delta):
        return sum_sq - scatter_shift(counts[:, 0], sum_diff, -delta)

    @staticmethod
    def model_sum_sq(weights, covariances, reg_covar):
        identity = np.eye(covariances.shape[-1])
        return weights[:, None, None] * (covariances - reg_covar * identity)

    @staticmethod
    def mahalanobis_sum(resp_sum, sum_diff, sum_sq, shift, kernel_precisions):
        scatter = symmetric_from_lower(sum_sq) - scatter_shift(resp_sum, sum_diff, shift)
        lower = np.asarray(kernel_precisions, dtype=np.float64)  # U_k^T
        precisions = np.einsum("kji,kjl->kil", lower, lower)
        return float(np.sum(precisions * scatter))

    factorise = staticmethod(factorise_full)

    @staticmethod
    def add_to_diagonal(covariances, components, amount):
        covariances = covariances.copy()
        for k in np.flatnonzero(components):
            covariances[k][np.diag_indices(covariances.shape[1])] += amount
        return covariances

    @staticmethod
    def spread(covariances):
        return np.einsum("kii->k", covariances) / covariances.shape[1]

    @staticmethod
    def principal_axis(covariances, k, n_features):
        eigenvalues, eigenvectors = np.linalg.eigh(covariances[k])
        return eigenvalues[-1], eigenvectors[:, -1]

    copy_component = staticmethod(copy_per_component)

    @staticmethod
    def precisions_cholesky_from_precisions(precisions):
        return np.stack([cholesky_of_precision(p) for p in precisions])

    covariances_from_precisions = staticmethod(np.linalg.inv)

    @staticmethod
    def precisions(precisions_cholesky):
        return precisions_cholesky @ np.swapaxes(precisions_cholesky, 1, 2)

    @staticmethod
    def dense_precisions(precisions_cholesky):
        return np.ascontiguousarray(FullCovariance.precisions(precisions_cholesky))

    @staticmethod
    def log_det_cholesky(precisions_cholesky, n_features):
        return np.log(np.einsum("kii->ki", precisions_cholesky)).sum(axis=1)

    @staticmethod
    def identity_precisions_cholesky(n_components, n_features):
        return np.tile(np.eye(n_features), (n_components, 1, 1))

    @staticmethod
    def kernel_precisions(precisions_cholesky, n_components, n_features):
        # The kernel reads rows of the lower-triangular transpose (contiguous dots).
        return np.swapaxes(precisions_cholesky, 1, 2)

    @staticmethod
    def n_covariance_parameters(n_components, n_features):
        return n_components * n_features * (n_features + 1) / 2.0

    @staticmethod
    def sample(rng, means, covariances, counts):
        return [
            rng.multivariate_normal(mu, cov, int(n))
            for mu, cov, n in zip(means, covariances, counts)
        ]
