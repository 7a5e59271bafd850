"""Per-covariance-type mathematics, one class per type, chosen from ``COVARIANCE_TYPES``.

The layer between the EM loops (``fastgmm.em``) and the Numba kernels: it owns
no data and imports only ``fastgmm._kernels``.

Everything here is small (K x D x D at most) and runs in float64 (numpy, and
the serial Cholesky of ``_kernels/linalg.py``):
the M-step from sufficient statistics, precision Cholesky factors, their
log-determinants, the parameter count, sampling, and the arguments the Numba
kernels take.  The parameter layouts are scikit-learn's:

========== ================================ ==================================
type       covariances_                     precisions_cholesky_
========== ================================ ==================================
full       (K, D, D)                        (K, D, D) upper-triangular U_k,
                                            precision_k = U_k U_k^T
tied       (D, D)                           (D, D)
diag       (K, D)                           (K, D) = 1 / sqrt(covariances_)
spherical  (K,)                             (K,)   = 1 / sqrt(covariances_)
========== ================================ ==================================

Each type runs its own kernels (``_kernels/full.py``, ``tied.py``, ``diag.py``;
'spherical' runs the 'diag' kernel with its one precision repeated over the
features and averages the variances).  'tied' statistics hold the pooled
second moment only (see ``_kernels/tied.py``).
"""

import numpy as np

from .base import (
    ILL_DEFINED_COVARIANCE,
    RESP_SUM_EPS,
    CovarianceType,
    MissingKernels,
    log_gaussian_constant,
)
from .diag import DiagCovariance
from .full import FullCovariance
from .spherical import SphericalCovariance
from .tied import TiedCovariance

__all__ = [
    "COVARIANCE_TYPES",
    "ILL_DEFINED_COVARIANCE",
    "RESP_SUM_EPS",
    "CovarianceType",
    "MissingKernels",
    "kernel_arguments",
    "m_step",
    "n_parameters",
]

COVARIANCE_TYPES = {
    cls.name: cls() for cls in (FullCovariance, TiedCovariance, DiagCovariance, SphericalCovariance)
}


def m_step(covariance, statistics, reg_covar):
    """Maximisation step (Bishop 9.24-9.26) from sufficient statistics.

    Returns float64 ``(weights, means, covariances)``, computed as sklearn's
    ``_estimate_gaussian_parameters`` would from the same responsibilities:
    nk = N_k + 10 eps, mu_k = sum_i q_ik x_i / nk, Sigma_k = scatter_k / nk + reg_covar I.
    With missing values, the types of ``per_feature_counts`` divide each feature's
    moments by its own count, N_k less ``statistics.missing_resp`` (``_kernels/missing_diag.py``).
    """
    resp_sum = statistics.resp_sum
    nk = resp_sum + RESP_SUM_EPS
    feature_resp = resp_sum[:, None]
    if statistics.missing_resp is not None:
        feature_resp = feature_resp - statistics.missing_resp
    feature_nk = feature_resp + RESP_SUM_EPS
    reference = statistics.reference
    means = reference * (feature_resp / feature_nk) + statistics.sum_diff / feature_nk
    shift = means - reference
    counts = (feature_resp, feature_nk) if covariance.per_feature_counts else (resp_sum, nk)
    covariances = covariance.covariances(
        counts[0], statistics.sum_diff, statistics.sum_sq, shift, counts[1], reg_covar
    )
    return nk / nk.sum(), means, covariances


def kernel_arguments(covariance, log_weights, means, precisions_cholesky, dtype):
    """The parameter arrays a ``statistics``/``score`` kernel takes, for data of ``dtype``.

    ``log_weights`` is the additive per-component constant (log pi_k in EM).
    Means and precision factors are cast to the data's dtype (the log-density
    work runs in it); the per-component constant stays float64.
    """
    n_components, n_features = means.shape
    log_const = (
        log_weights
        + covariance.log_det_cholesky(precisions_cholesky, n_features)
        + log_gaussian_constant(n_features)
    )
    kernel_precisions = covariance.kernel_precisions(precisions_cholesky, n_components, n_features)
    return (
        np.ascontiguousarray(means, dtype=dtype),
        np.ascontiguousarray(kernel_precisions, dtype=dtype),
        np.ascontiguousarray(log_const, dtype=np.float64),
    )


def n_parameters(covariance, n_components, n_features):
    """Number of free parameters: covariances, means and K - 1 weights."""
    cov_params = covariance.n_covariance_parameters(n_components, n_features)
    return int(cov_params + n_features * n_components + n_components - 1)
