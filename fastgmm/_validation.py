"""Input conversion and checks: the only place where data and parameters are validated.

Kernels downstream assume what this module guarantees: a 2-D, C-contiguous,
finite float32 or float64 array, and parameters of the right type and range.
"""

import numbers

import numpy as np

from .exceptions import InvalidParameterError

COVARIANCE_TYPE_NAMES = ("full", "tied", "diag", "spherical")
INIT_PARAMS_NAMES = ("kmeans", "k-means++", "random", "random_from_data")
ON_DEGENERATE_NAMES = ("reseed", "raise")


def check_data(X, name="X", min_samples=1):
    """Return ``X`` as a finite 2-D C-contiguous float32/float64 array.

    float32 stays float32; every other real numeric dtype (bool, ints,
    float16, ...) becomes float64.  At most one copy is made, and only when the
    dtype or the memory layout requires it.
    """
    try:
        array = np.asarray(X)
    except ValueError as exc:  # ragged nested sequences
        raise ValueError(f"{name} could not be read as a 2-D numeric array: {exc}") from None
    if array.dtype.kind == "O":
        try:
            array = array.astype(np.float64)
        except (TypeError, ValueError):
            raise ValueError(
                f"{name} holds non-numeric objects; expected a 2-D array of real numbers."
            ) from None
    kind = array.dtype.kind
    if kind == "c":
        raise ValueError(f"Complex data not supported: {name} has dtype {array.dtype}.")
    if kind not in "biuf":
        raise ValueError(
            f"{name} must hold real numbers, got dtype {array.dtype!s}; "
            "convert strings or other values to floats first."
        )
    if array.ndim == 1:
        raise ValueError(
            f"Expected 2D array, got 1D array instead: {name}.shape={array.shape}. "
            "Reshape your data either using array.reshape(-1, 1) if your data has a "
            "single feature or array.reshape(1, -1) if it contains a single sample."
        )
    if array.ndim != 2:
        raise ValueError(f"Found array with dim {array.ndim}. Expected 2D array for {name}.")
    n_samples, n_features = array.shape
    if n_samples < min_samples:
        raise ValueError(
            f"Found array with {n_samples} sample(s) (shape={array.shape}) while a "
            f"minimum of {min_samples} is required."
        )
    if n_features < 1:
        raise ValueError(
            f"Found array with 0 feature(s) (shape={array.shape}) while a minimum of 1 is required."
        )
    dtype = np.float32 if array.dtype == np.float32 else np.float64
    array = np.ascontiguousarray(array, dtype=dtype)
    _check_finite(array, name)
    return array


def _check_finite(array, name):
    # A sum is one cheap pass without an N x D temporary; it is finite whenever
    # the data are (barring overflow, which the exact check below then clears).
    if np.isfinite(array.sum()):
        return
    bad_rows = ~np.isfinite(array).all(axis=1)
    n_bad = int(bad_rows.sum())
    if n_bad:
        first = int(np.flatnonzero(bad_rows)[0])
        raise ValueError(
            f"Input {name} contains NaN or infinity in {n_bad} of {array.shape[0]} rows "
            f"(first at row {first}); remove or impute them before fitting."
        )


def check_features(X, n_features, estimator_name):
    """Validate data for a fitted model expecting ``n_features`` columns (sklearn's message)."""
    X = check_data(X)
    if X.shape[1] != n_features:
        raise ValueError(
            f"X has {X.shape[1]} features, but {estimator_name} is expecting "
            f"{n_features} features as input."
        )
    return X


def _check_integer(value, name, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise InvalidParameterError(
            f"The '{name}' parameter must be an int >= {minimum}, got {value!r}."
        )
    return int(value)


def _check_real(value, name):
    if (isinstance(value, bool) or not isinstance(value, numbers.Real)
            or not np.isfinite(value) or value < 0):
        raise InvalidParameterError(
            f"The '{name}' parameter must be a finite float >= 0, got {value!r}."
        )
    return float(value)


def _check_choice(value, name, choices):
    if not isinstance(value, str) or value not in choices:
        options = ", ".join(repr(c) for c in choices)
        raise InvalidParameterError(
            f"The '{name}' parameter must be one of {options}; got {value!r}."
        )
    return value


def check_random_state(seed):
    """numpy ``RandomState`` from None, an int or a ``RandomState`` (as sklearn)."""
    if seed is None or seed is np.random:
        return np.random.mtrand._rand
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        return np.random.RandomState(seed)
    if isinstance(seed, np.random.RandomState):
        return seed
    raise InvalidParameterError(
        f"The 'random_state' parameter must be None, an int or a numpy RandomState; got {seed!r}."
    )


def check_options(n_components, covariance_type, tol, reg_covar, max_iter, n_init,
                  init_params, on_degenerate="reseed", verbose=0, verbose_interval=10):
    """Check the scalar options of a fit; return them normalised, as a dict."""
    if isinstance(verbose, bool):
        verbose = int(verbose)
    return dict(
        n_components=_check_integer(n_components, "n_components", 1),
        covariance_type=_check_choice(covariance_type, "covariance_type", COVARIANCE_TYPE_NAMES),
        tol=_check_real(tol, "tol"),
        reg_covar=_check_real(reg_covar, "reg_covar"),
        max_iter=_check_integer(max_iter, "max_iter", 0),
        n_init=_check_integer(n_init, "n_init", 1),
        init_params=_check_choice(init_params, "init_params", INIT_PARAMS_NAMES),
        on_degenerate=_check_choice(on_degenerate, "on_degenerate", ON_DEGENERATE_NAMES),
        verbose=_check_integer(verbose, "verbose", 0),
        verbose_interval=_check_integer(verbose_interval, "verbose_interval", 1),
    )


def check_n_samples(X, n_components):
    if X.shape[0] < n_components:
        raise ValueError(
            "Expected n_samples >= n_components but got "
            f"n_components = {n_components}, n_samples = {X.shape[0]}"
        )


def check_sample_weight(sample_weight, n_samples, n_components):
    """Return ``sample_weight`` as a float64 vector of n_samples finite weights >= 0, or None.

    A scalar stands for that weight on every row.  At least ``n_components``
    rows must weigh more than 0 (initialisation picks that many rows).
    """
    if sample_weight is None:
        return None
    try:
        weights = np.asarray(sample_weight, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("sample_weight must be an array of real numbers.") from None
    if weights.ndim == 0:
        weights = np.full(n_samples, float(weights))
    if weights.shape != (n_samples,):
        raise ValueError(
            f"sample_weight.shape == {weights.shape}, expected ({n_samples},): one weight per row."
        )
    if not np.all(np.isfinite(weights)):
        raise ValueError("sample_weight contains NaN or infinity.")
    if np.any(weights < 0):
        raise ValueError("Negative values in sample_weight are not allowed.")
    n_positive = int(np.count_nonzero(weights))
    if n_positive < n_components:
        raise ValueError(
            f"sample_weight gives {n_positive} row(s) a positive weight, fewer than "
            f"n_components = {n_components}."
        )
    return np.ascontiguousarray(weights)


def _as_float_array(value, name, shape):
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"The parameter '{name}' must be an array of real numbers.") from None
    if array.shape != shape:
        raise ValueError(
            f"The parameter '{name}' should have the shape of {shape}, but got {array.shape}"
        )
    if not np.all(np.isfinite(array)):
        raise ValueError(f"The parameter '{name}' contains NaN or infinity.")
    return array


def check_weights_init(weights, n_components):
    weights = _as_float_array(weights, "weights", (n_components,))
    if np.any(weights < 0.0) or np.any(weights > 1.0):
        raise ValueError(
            "The parameter 'weights' should be in the range [0, 1], but got "
            f"max value {weights.max():.5f}, min value {weights.min():.5f}"
        )
    if not np.allclose(abs(1.0 - weights.sum()), 0.0, atol=1e-8):
        raise ValueError(
            f"The parameter 'weights' should be normalized, but got sum(weights) = {weights.sum():.5f}"
        )
    return weights


def check_means_init(means, n_components, n_features):
    return _as_float_array(means, "means", (n_components, n_features))


def _check_positive_definite(matrix, covariance_type):
    if not (np.allclose(matrix, matrix.T) and np.all(np.linalg.eigvalsh(matrix) > 0.0)):
        raise ValueError(f"'{covariance_type} precision' should be symmetric, positive-definite")


def _check_each_positive_definite(matrices, covariance_type):
    for matrix in matrices:
        _check_positive_definite(matrix, covariance_type)


def _check_positive(values, covariance_type):
    if np.any(values <= 0.0):
        raise ValueError(f"'{covariance_type} precision' should be positive")


# covariance_type: (shape of precisions_init for K components and D features, its check)
_PRECISIONS_INIT = {
    "full": (lambda k, d: (k, d, d), _check_each_positive_definite),
    "tied": (lambda k, d: (d, d), _check_positive_definite),
    "diag": (lambda k, d: (k, d), _check_positive),
    "spherical": (lambda k, d: (k,), _check_positive),
}


def check_precisions_init(precisions, covariance_type, n_components, n_features):
    shape, check = _PRECISIONS_INIT[covariance_type]
    precisions = _as_float_array(precisions, f"{covariance_type} precision",
                                 shape(n_components, n_features))
    check(precisions, covariance_type)
    return precisions
