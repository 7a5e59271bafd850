"""fastgmm: Gaussian mixture models fitted by EM with parallel Numba kernels.

A drop-in for ``sklearn.mixture.GaussianMixture`` (:class:`GaussianMixture`)
and a plain function (:func:`fit`), with the same answers, much faster.
"""

from .exceptions import (
    ConvergenceWarning,
    DegenerateComponentWarning,
    InvalidParameterError,
    NotFittedError,
)
from .gaussian_mixture import GaussianMixture, GaussianMixtureResult, fit

__all__ = [
    "ConvergenceWarning",
    "DegenerateComponentWarning",
    "GaussianMixture",
    "GaussianMixtureResult",
    "InvalidParameterError",
    "NotFittedError",
    "fit",
]

__version__ = "0.1.0"
