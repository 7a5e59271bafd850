"""fastgmm: Gaussian mixture models fitted by EM with parallel Numba kernels.

A drop-in for ``sklearn.mixture.GaussianMixture`` (:class:`GaussianMixture`)
and a plain function (:func:`fit`), with the same answers, much faster;
:func:`select_n_components` picks the number of components by BIC or AIC.
"""

from .exceptions import (
    ConvergenceWarning,
    DegenerateComponentWarning,
    InvalidParameterError,
    NotFittedError,
)
from .gaussian_mixture import GaussianMixture, GaussianMixtureResult, fit
from .model_selection import ModelSelection, select_n_components

__all__ = [
    "ConvergenceWarning",
    "DegenerateComponentWarning",
    "GaussianMixture",
    "GaussianMixtureResult",
    "InvalidParameterError",
    "ModelSelection",
    "NotFittedError",
    "fit",
    "select_n_components",
]

__version__ = "0.1.0"
