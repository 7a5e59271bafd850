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
factor,    (K, q + 1, D) in the loops:      (K, 3q + 2, D) in the loops: the
ppca       loadings and noise variances     kernel's factors (``factor.py``)
           (``loadings_``, ``noise_variance_`` for users; dense
           ``covariances_`` and ``precisions_cholesky_`` when asked)
========== ================================ ==================================

Each type runs its own kernels (``_kernels/full.py``, ``tied.py``, ``diag.py``;
'spherical' runs the 'diag' kernel with its one precision repeated over the
features and averages the variances).  'tied' statistics hold the pooled
second moment only (see ``_kernels/tied.py``).
"""

from .base import (
    ILL_DEFINED_COVARIANCE,
    RESP_SUM_EPS,
    CovarianceType,
    MissingKernels,
    kernel_arguments,
)
from .diag import DiagCovariance
from .factor import FactorCovariance
from .full import FullCovariance
from .spherical import SphericalCovariance
from .tied import TiedCovariance

__all__ = [
    "COVARIANCE_TYPES",
    "COVARIANCE_TYPE_NAMES",
    "FACTOR_TYPES",
    "ILL_DEFINED_COVARIANCE",
    "RESP_SUM_EPS",
    "CovarianceType",
    "FactorCovariance",
    "MissingKernels",
    "covariance_type",
    "kernel_arguments",
    "n_parameters",
]

COVARIANCE_TYPES = {
    cls.name: cls() for cls in (FullCovariance, TiedCovariance, DiagCovariance, SphericalCovariance)
}

# The types with latent factors, one instance per number of factors: name -> isotropic noise.
FACTOR_TYPES = {"factor": False, "ppca": True}

COVARIANCE_TYPE_NAMES = (*COVARIANCE_TYPES, *FACTOR_TYPES)


def covariance_type(name, n_factors=None):
    """The ``CovarianceType`` of ``covariance_type=name``: ``COVARIANCE_TYPES[name]``, or for
    'factor' and 'ppca' a ``FactorCovariance`` with ``n_factors`` factors."""
    if name in FACTOR_TYPES:
        return FactorCovariance(n_factors, FACTOR_TYPES[name])
    return COVARIANCE_TYPES[name]


def n_parameters(covariance, n_components, n_features):
    """Number of free parameters: covariances, means and K - 1 weights."""
    cov_params = covariance.n_covariance_parameters(n_components, n_features)
    return int(cov_params + n_features * n_components + n_components - 1)
