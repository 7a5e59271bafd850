"""'diag': one diagonal covariance matrix per component (layout (K, D))."""

import numpy as np

from .base import DiagonalPrecisions, centred_squares


class DiagCovariance(DiagonalPrecisions):
    """One diagonal covariance matrix per component."""

    name = "diag"

    @staticmethod
    def spread(covariances):
        return covariances.mean(axis=1)

    @staticmethod
    def principal_axis(covariances, k, n_features):
        axis = int(np.argmax(covariances[k]))
        return covariances[k, axis], np.eye(covariances.shape[1])[axis]

    @staticmethod
    def covariances(resp_sum, sum_diff, sum_sq, shift, nk, reg_covar):
        return centred_squares(resp_sum, sum_diff, sum_sq, shift) / nk + reg_covar

    @staticmethod
    def log_det_cholesky(precisions_cholesky, n_features):
        return np.log(precisions_cholesky).sum(axis=1)

    @staticmethod
    def identity_precisions_cholesky(n_components, n_features):
        return np.ones((n_components, n_features))

    @staticmethod
    def kernel_precisions(precisions_cholesky, n_components, n_features):
        return precisions_cholesky

    @staticmethod
    def n_covariance_parameters(n_components, n_features):
        return n_components * n_features
