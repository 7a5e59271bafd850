"""'tied': one covariance matrix shared by every component (layout (D, D))."""

import numpy as np

from .._kernels import missing_dense, missing_tied
from .._kernels import tied as tied_kernels
from .base import (
    CovarianceType,
    MissingKernels,
    cholesky_of_precision,
    factorise_full,
    scatter_shift,
    symmetric_from_lower,
)


class TiedCovariance(CovarianceType):
    """One covariance matrix shared by all components."""

    name = "tied"
    kernels = tied_kernels
    missing_kernels = MissingKernels(
        missing_tied.statistics_tied,
        missing_tied.score_tied,
        missing_dense.impute_dense,
    )

    @staticmethod
    def sum_sq_shape(n_components, n_features):
        return (n_features, n_features)

    @staticmethod
    def add_second_moment(sum_sq, k, diff, resp_k):
        sum_sq += (diff * resp_k[:, None]).T @ diff

    @staticmethod
    def moments_reference(kernel_means):
        return np.repeat(kernel_means[:1], kernel_means.shape[0], axis=0)

    @staticmethod
    def covariances(resp_sum, sum_diff, sum_sq, shift, nk, reg_covar):
        # sum_sq is the pooled sum_k S2_k (one lower triangle).
        scatter = symmetric_from_lower(sum_sq) - scatter_shift(resp_sum, sum_diff, shift).sum(
            axis=0
        )
        covariance = scatter / nk.sum()
        covariance[np.diag_indices_from(covariance)] += reg_covar
        return covariance

    @staticmethod
    def moved_sum_sq(counts, sum_diff, sum_sq, delta):
        return sum_sq - scatter_shift(counts[:, 0], sum_diff, -delta).sum(axis=0)  # pooled

    @staticmethod
    def model_sum_sq(weights, covariance, reg_covar):
        # The weights sum to 1: the pooled second moment is the shared covariance.
        return covariance - reg_covar * np.eye(covariance.shape[0])

    @staticmethod
    def mahalanobis_sum(resp_sum, sum_diff, sum_sq, shift, kernel_precisions):
        scatter = symmetric_from_lower(sum_sq) - scatter_shift(resp_sum, sum_diff, shift).sum(
            axis=0
        )
        lower = np.asarray(kernel_precisions[0], dtype=np.float64)
        return float(np.sum((lower.T @ lower) * scatter))

    @staticmethod
    def factorise(covariance):
        factors, failed = factorise_full(covariance[None])
        return factors[0], failed  # one flag: the shared matrix

    @staticmethod
    def add_to_diagonal(covariance, components, amount):
        covariance = covariance.copy()
        if np.any(components):
            covariance[np.diag_indices_from(covariance)] += amount
        return covariance

    @staticmethod
    def spread(covariance):
        return np.trace(covariance) / covariance.shape[0]

    @staticmethod
    def principal_axis(covariance, k, n_features):
        eigenvalues, eigenvectors = np.linalg.eigh(covariance)
        return eigenvalues[-1], eigenvectors[:, -1]

    @staticmethod
    def copy_component(covariance, source, target):
        return covariance  # shared by every component

    precisions_cholesky_from_precisions = staticmethod(cholesky_of_precision)
    covariances_from_precisions = staticmethod(np.linalg.inv)

    @staticmethod
    def precisions(precisions_cholesky):
        return precisions_cholesky @ precisions_cholesky.T

    @staticmethod
    def dense_precisions(precisions_cholesky):
        return np.ascontiguousarray(TiedCovariance.precisions(precisions_cholesky)[None])

    @staticmethod
    def log_det_cholesky(precisions_cholesky, n_features):
        return np.log(np.diag(precisions_cholesky)).sum()

    @staticmethod
    def identity_precisions_cholesky(n_components, n_features):
        return np.eye(n_features)

    @staticmethod
    def kernel_precisions(precisions_cholesky, n_components, n_features):
        return precisions_cholesky.T[None]  # the kernel reads [0]

    @staticmethod
    def n_covariance_parameters(n_components, n_features):
        return n_features * (n_features + 1) / 2.0

    @staticmethod
    def sample(rng, means, covariance, counts):
        return [rng.multivariate_normal(mu, covariance, int(n)) for mu, n in zip(means, counts)]
