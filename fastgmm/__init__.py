"""fastgmm: Gaussian mixture models fitted by EM with parallel Numba kernels.

A drop-in for ``sklearn.mixture.GaussianMixture`` (:class:`GaussianMixture`)
and ``BayesianGaussianMixture`` (:class:`BayesianGaussianMixture`), and a plain
function (:func:`fit`), with the same answers, much faster; mini-batch and
streaming EM (``batch_size``, ``partial_fit``, :func:`fit_stream`) for data read in pieces;
:func:`select_n_components` picks the number of components by BIC or AIC.
Data bigger than memory can be given as a memory-mapped ``.npy`` file (or its
path) or as a Dask array (:func:`dask_array_from_npy` makes one from a file).
Fitted models are saved to one ``.npz`` file without pickle (``model.save``,
:func:`load`) and convert to and from scikit-learn's estimators.
"""

from ._cache import refresh as _refresh_kernel_cache
from ._cache import warmup
from ._threads import choose_threading_layer
from ._version import __version__ as __version__
from .data.dask_source import dask_array_from_npy
from .em.progress import IterationInfo
from .exceptions import (
    ConvergenceWarning,
    DegenerateComponentWarning,
    InvalidParameterError,
    NotFittedError,
)
from .io import load
from .model_selection import ModelSelection, select_n_components
from .models import (
    BayesianGaussianMixture,
    GaussianMixture,
    GaussianMixtureResult,
    fit,
    fit_stream,
)

# Before any kernel runs (importing the modules above runs none): a fork-safe Numba
# threading layer unless the user chose one (_threads.py), and no compiled kernel older
# than the kernel sources in Numba's cache (_cache.py).
choose_threading_layer()
_refresh_kernel_cache()

__all__ = [
    "BayesianGaussianMixture",
    "ConvergenceWarning",
    "DegenerateComponentWarning",
    "GaussianMixture",
    "GaussianMixtureResult",
    "InvalidParameterError",
    "IterationInfo",
    "ModelSelection",
    "NotFittedError",
    "dask_array_from_npy",
    "fit",
    "fit_stream",
    "load",
    "select_n_components",
    "warmup",
]
