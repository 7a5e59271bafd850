"""The saved-model format's names and shared pieces: the format's name and version, the
metadata fields and arrays of each class, the header, and the encodings of floats.

The package docstring (``fastgmm.io``) describes the format in full.
"""

import math
import os

import numpy as np

from .._version import __version__
from ..covariance import FACTOR_TYPES

FORMAT_NAME = "fastgmm-mixture"
FORMAT_VERSION = 1
METADATA_KEY = "metadata"
DTYPES = ("float32", "float64")
CLASS_NAMES = ("GaussianMixture", "BayesianGaussianMixture", "GaussianMixtureResult")

# Metadata fields, by class (the header's format, format_version and class come first).
_COMMON_FIELDS = (
    "format",
    "format_version",
    "fastgmm_version",
    "class",
    "covariance_type",
    "dtype",
    "n_components",
    "n_features_in_",
    "converged_",
    "n_iter_",
    "lower_bound_",
    "n_degenerate_",
)

_ESTIMATOR_FIELDS = ("feature_names_in_", "parameters", "parameters_not_stored", "array_parameters")

_BAYESIAN_FIELDS = (
    "weight_concentration_prior_type",
    "weight_concentration_prior_",
    "mean_precision_prior_",
    "degrees_of_freedom_prior_",
    "full_lower_bound_",
)

FIELDS = {
    "GaussianMixture": _COMMON_FIELDS + _ESTIMATOR_FIELDS,
    "BayesianGaussianMixture": _COMMON_FIELDS + _ESTIMATOR_FIELDS + _BAYESIAN_FIELDS,
    "GaussianMixtureResult": _COMMON_FIELDS + ("log_likelihood",),
}

# The fitted arrays every class stores, in the fit's dtype; for the factor types
# ('factor', 'ppca'), their loadings and noise variances instead of the dense matrices.
MIXTURE_ARRAYS = ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_")
FACTOR_ARRAYS = ("weights_", "means_", "loadings_", "noise_variance_")

# The metadata field the factor types add: the number of factors of the fitted arrays.
FACTOR_FIELDS = ("n_factors",)


def mixture_arrays(covariance_type):
    """The names of the fitted arrays stored for ``covariance_type``."""
    return FACTOR_ARRAYS if covariance_type in FACTOR_TYPES else MIXTURE_ARRAYS


def fields(class_name, covariance_type):
    """The metadata fields of a file of this class and covariance type."""
    extra = FACTOR_FIELDS if covariance_type in FACTOR_TYPES else ()
    return FIELDS[class_name] + extra


POSTERIOR_ARRAYS = ("posterior_means", "posterior_covariances", "posterior_precisions_cholesky")

# What the loaded weights may miss 1 by, per dtype.
WEIGHT_SUM_TOLERANCE = {"float32": 2e-6, "float64": 1e-8}


class InvalidModel(Exception):
    """A problem with a stored or converted model; its message says what is wrong."""


def header(class_name):
    return {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "fastgmm_version": __version__,
        "class": class_name,
    }


def precisions_of(covariance, precisions_cholesky):
    """The precisions of the factors, computed in float64 (as ``_set_fitted_mixture``)."""
    return covariance.precisions(np.asarray(precisions_cholesky, dtype=np.float64))


def as_float64(value):
    return np.asarray(value, dtype=np.float64)


def encode_float(value):
    """A float for JSON: finite ones as numbers, the others as "nan", "inf" or "-inf"."""
    value = float(value)
    if math.isfinite(value):
        return value
    return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")


def checked_path(path):
    try:
        return os.fspath(path)
    except TypeError:
        raise TypeError(
            f"path must be a str or an os.PathLike (a pathlib.Path), got {type(path).__name__}."
        ) from None
