"""'spherical': one variance per component, the same for every feature (layout (K,))."""

import numpy as np

from .base import DiagonalPrecisions, centred_squares
from .diag import DiagCovariance


class SphericalCovariance(DiagonalPrecisions):
    """One variance per component, the same for every feature."""

    name = "spherical"

    @staticmethod
    def spread(covariances):
        return covariances

    @staticmethod
    def principal_axis(covariances, k, n_features):
        return covariances[k], np.eye(n_features)[0]  # any direction would do

    @staticmethod
    def covariances(resp_sum, sum_diff, sum_sq, shift, nk, reg_covar):
        if nk.shape[1] == 1:  # one count for every feature: the mean of the diag variances
            return DiagCovariance.covariances(
                resp_sum, sum_diff, sum_sq, shift, nk, reg_covar
            ).mean(axis=1)
        # Per-feature counts (missing values): all the squares over all the counts.
        squares = centred_squares(resp_sum, sum_diff, sum_sq, shift).sum(axis=1)
        return squares / nk.sum(axis=1) + reg_covar

    @staticmethod
    def log_det_cholesky(precisions_cholesky, n_features):
        return n_features * np.log(precisions_cholesky)

    @staticmethod
    def identity_precisions_cholesky(n_components, n_features):
        return np.ones(n_components)

    @staticmethod
    def kernel_precisions(precisions_cholesky, n_components, n_features):
        return np.broadcast_to(precisions_cholesky[:, None], (n_components, n_features))

    @staticmethod
    def n_covariance_parameters(n_components, n_features):
        return n_components
