"""Input conversion and checks of the data and of scalar parameters.

Kernels downstream assume what this module guarantees: a 2-D, C-contiguous,
finite float32 or float64 array (or a Dask array of that dtype, checked
lazily), sample weights and component labels of the right shape and range.
It also holds the checks of single values (an int in range, a choice among
names, a bool, a random state) that the layers above build their own checks
from: a fit's options (``fastgmm.em.options.FitOptions``) and the variational
priors (``fastgmm.em.priors``).  Two checks live elsewhere because they need
what is computed there: the positive definiteness of fitted covariances
(``fastgmm.covariance`` and ``fastgmm.em.degenerate``, after each M-step) and
the finiteness of each Dask chunk at scoring time (``dask_source._score_block``,
inside its task, through ``check_data``).
"""

import math
import mmap
import numbers
import os
import sys
import warnings

import numpy as np

from ..exceptions import InvalidParameterError


def check_data(X, name="X", min_samples=1, allow_nan=False):
    """Return ``X`` as a finite 2-D C-contiguous float32/float64 array (NaN allowed with
    ``allow_nan``: missing values; infinity never).

    float32 stays float32; every other real numeric dtype (bool, ints,
    float16, ...) becomes float64.  At most one copy is made, and only when the
    dtype or the memory layout requires it.  A path (``str`` or
    ``os.PathLike``) is opened as a memory-mapped ``.npy`` file; memory-mapped
    data is never copied (an error says so when it would have to be).
    """
    if is_dask_array(X):
        raise TypeError(
            f"{name} is a Dask array, which this function does not take (it would be computed "
            "into memory here); pass a numpy array, or compute it first."
        )
    if is_sparse(X):
        raise TypeError(
            f"Sparse data was passed for {name}, but dense data is required (fastgmm does not "
            f"support sparse input). Use '{name}.toarray()' to convert to a dense numpy array."
        )
    if isinstance(X, (str, os.PathLike)):
        X = open_npy(X, name)
    memory_mapped = is_memory_mapped(X)
    try:
        array = np.asarray(X)
    except ValueError as exc:  # ragged nested sequences
        raise ValueError(f"{name} could not be read as a 2-D numeric array: {exc}") from None
    if array.dtype.kind == "O":
        try:
            array = array.astype(np.float64)
        except (TypeError, ValueError) as exc:  # numpy's class: TypeError for a dict, ...
            raise type(exc)(
                f"{name} holds non-numeric objects ({exc}); expected a 2-D array of real numbers."
            ) from None
    dtype = check_shape_and_dtype(array, name, min_samples)
    if memory_mapped and not (array.dtype == dtype and array.flags.c_contiguous):
        raise ValueError(
            f"{name} is memory-mapped with dtype {array.dtype} in "
            f"{'C' if array.flags.c_contiguous else 'non-C'} order; fitting it would copy the "
            f"whole file into memory. Write it as a C-ordered float32 or float64 .npy file "
            f"first (block by block, e.g. into np.lib.format.open_memmap(path, 'w+', ...))."
        )
    array = np.ascontiguousarray(array, dtype=dtype)
    _check_finite(array, name, allow_nan)
    return array


def check_shape_and_dtype(array, name="X", min_samples=1):
    """Check a 2-D real array's shape and dtype (reads neither its values nor its memory).

    Works on anything with ``ndim``, ``shape`` and ``dtype`` (numpy and Dask
    arrays); returns the dtype fastgmm computes in: float32 or float64.
    """
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
    return np.dtype(np.float32) if array.dtype == np.float32 else np.dtype(np.float64)


def open_npy(path, name="X"):
    """The array of a ``.npy`` file, memory-mapped read-only (nothing is read yet)."""
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise ValueError(
            f"{name}: {os.fspath(path)!r} is not a readable .npy file ({exc})."
        ) from None
    if not isinstance(array, np.ndarray):  # an .npz archive
        array.close()
        raise ValueError(
            f"{name}: {os.fspath(path)!r} is an .npz archive; pass one of its arrays, saved as "
            ".npy, instead."
        )
    return array


def is_dask_array(X):
    """Whether ``X`` is a ``dask.array.Array`` (never imports dask)."""
    module = sys.modules.get("dask.array")
    return module is not None and isinstance(X, module.Array)


def is_sparse(X):
    """Whether ``X`` is a scipy sparse matrix or array (never imports scipy.sparse)."""
    module = sys.modules.get("scipy.sparse")
    return module is not None and module.issparse(X)


def is_memory_mapped(array):
    """Whether ``array``'s memory belongs to a memory-mapped file (directly or through views)."""
    while array is not None:
        if isinstance(array, (np.memmap, mmap.mmap)):
            return True
        array = getattr(array, "base", None)
    return False


# Rows per block when the finiteness of a big array is re-checked row by row.
_FINITE_CHECK_ROWS = 65536


def _check_finite(array, name, allow_nan=False):
    # A sum is one cheap pass without an N x D temporary; it is finite whenever
    # the data are (barring overflow, which the exact check below then clears).
    if np.isfinite(array.sum()):
        return
    bad = np.isinf if allow_nan else (lambda values: ~np.isfinite(values))
    n_bad, first = 0, None
    for start in range(0, array.shape[0], _FINITE_CHECK_ROWS):
        bad_rows = bad(array[start : start + _FINITE_CHECK_ROWS]).any(axis=1)
        n_bad += int(bad_rows.sum())
        if first is None and bad_rows.any():
            first = start + int(np.flatnonzero(bad_rows)[0])
    if n_bad:
        raise _non_finite_error(name, n_bad, array.shape[0], first, allow_nan)


def _non_finite_error(name, n_bad, n_samples, first, allow_nan=False):
    if allow_nan:
        return ValueError(
            f"Input {name} contains infinity in {n_bad} of {n_samples} rows (first at row "
            f"{first}); missing values must be NaN, and infinite values are not allowed."
        )
    return ValueError(
        f"Input {name} contains NaN or infinity in {n_bad} of {n_samples} rows "
        f"(first at row {first}); remove or impute them before fitting, or, for NaN "
        "standing for missing values, use missing_values='marginalize' (GaussianMixture, "
        "BayesianGaussianMixture, fastgmm.fit) to integrate them out."
    )


def check_input(X, min_samples=1, allow_nan=False):
    """``X`` as fastgmm computes with it: a Dask array checked lazily (``check_dask_data``),
    anything else as a finite numpy array (``check_data``; a path: its memory map); NaN
    allowed with ``allow_nan``."""
    if is_dask_array(X):
        return check_dask_data(X, min_samples=min_samples)
    return check_data(X, min_samples=min_samples, allow_nan=allow_nan)


def check_dask_data(X, name="X", min_samples=1):
    """A Dask array as fastgmm computes with it: float32/float64, chunked in whole rows.

    Lazy: nothing is computed (``check_dask_finite`` reads the values).
    """
    if any(math.isnan(size) for size in X.shape):
        raise ValueError(
            f"{name} is a Dask array of unknown chunk sizes (shape {X.shape}); call "
            f"{name}.compute_chunk_sizes() first."
        )
    dtype = check_shape_and_dtype(X, name, min_samples)
    if X.dtype != dtype:
        X = X.astype(dtype)
    if X.numblocks[1] != 1:
        X = X.rechunk({1: -1})
    return X


def check_dask_finite(X, name="X", allow_nan=False):
    """Raise (as ``check_data``) if the Dask array ``X`` holds NaN (unless ``allow_nan``) or
    infinity (one pass)."""
    import dask.array as da

    bad_rows = (da.isinf(X) if allow_nan else ~da.isfinite(X)).any(axis=1)
    n_bad = int(bad_rows.sum().compute())
    if n_bad:
        first = int(da.argmax(bad_rows).compute())
        raise _non_finite_error(name, n_bad, X.shape[0], first, allow_nan)


def check_n_features(X, n_features, estimator_name):
    """``X`` (already validated, numpy or Dask) if it has ``n_features`` columns."""
    if X.shape[1] != n_features:
        raise ValueError(
            f"X has {X.shape[1]} features, but {estimator_name} is expecting "
            f"{n_features} features as input."
        )
    return X


def feature_names(X):
    """The column names of ``X`` as an object array if they are all strings, else None.

    Read from a ``columns`` attribute (a pandas or polars DataFrame; nothing
    is imported), as scikit-learn does.  Names of several types that include
    strings raise a TypeError (scikit-learn's rule).
    """
    columns = None if isinstance(X, np.ndarray) else getattr(X, "columns", None)
    if columns is None:
        return None
    try:
        names = np.asarray(list(columns), dtype=object)
    except TypeError:
        return None
    if names.ndim != 1 or len(names) == 0:
        return None
    types = sorted({type(name).__qualname__ for name in names})
    if len(types) > 1 and "str" in types:
        raise TypeError(
            "Feature names are only supported if all input features have string names, but "
            f"your input has {types} as feature name / column name types. If you want feature "
            "names to be stored and validated, you must convert them all to strings, by using "
            "X.columns = X.columns.astype(str) for example. Otherwise you can remove feature / "
            "column names from your input data, or convert them all to a non-string data type."
        )
    return names if types == ["str"] else None


def check_feature_names(names, fitted_names, estimator_name):
    """Compare the feature names of data to score with those seen by ``fit`` (sklearn's rules).

    Names missing on one side warn (a UserWarning, attributed to the caller
    of the public method, five frames up); different names, or the same names
    in another order, raise a ValueError listing them.
    """
    if names is None and fitted_names is None:
        return
    if fitted_names is None:
        warnings.warn(
            f"X has feature names, but {estimator_name} was fitted without feature names",
            UserWarning,
            stacklevel=6,
        )
        return
    if names is None:
        warnings.warn(
            f"X does not have valid feature names, but {estimator_name} was fitted "
            "with feature names",
            UserWarning,
            stacklevel=6,
        )
        return
    if len(names) == len(fitted_names) and np.all(names == fitted_names):
        return
    unseen = sorted(set(names) - set(fitted_names))
    missing = sorted(set(fitted_names) - set(names))
    message = "The feature names should match those that were passed during fit.\n"
    for title, listed in (
        ("Feature names unseen at fit time:", unseen),
        ("Feature names seen at fit time, yet now missing:", missing),
    ):
        if listed:
            message += title + "\n" + "".join(f"- {name}\n" for name in listed[:5])
            message += "- ...\n" if len(listed) > 5 else ""
    if not (unseen or missing):
        message += "Feature names must be in the same order as they were in fit.\n"
    raise ValueError(message)


def check_out(out, shape, dtype):
    """``out`` if it can take a result of ``shape`` and ``dtype`` (None passes through)."""
    if out is None:
        return None
    if not (
        isinstance(out, np.ndarray)
        and out.shape == shape
        and out.dtype == dtype
        and out.flags.c_contiguous
        and out.flags.writeable
    ):
        described = (
            f"a {'' if out.flags.writeable else 'read-only '}{out.dtype} array of shape {out.shape}"
            if isinstance(out, np.ndarray)
            else type(out).__name__
        )
        raise ValueError(
            f"out must be a writeable C-contiguous {np.dtype(dtype)} array of shape {shape} "
            f"(e.g. np.lib.format.open_memmap(path, 'w+', {np.dtype(dtype).name!r}, {shape})); "
            f"got {described}."
        )
    return out


def check_integer(value, name, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise InvalidParameterError(
            f"The '{name}' parameter must be an int >= {minimum}, got {value!r}."
        )
    return int(value)


def check_real(value, name):
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not np.isfinite(value)
        or value < 0
    ):
        raise InvalidParameterError(
            f"The '{name}' parameter must be a finite float >= 0, got {value!r}."
        )
    return float(value)


def check_choice(value, name, choices):
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


def check_bool(value, name):
    if not isinstance(value, (bool, np.bool_)):
        raise InvalidParameterError(f"The '{name}' parameter must be a bool, got {value!r}.")
    return bool(value)


def check_callback(callback):
    """``callback`` if it is None or callable (an InvalidParameterError, a TypeError, if not)."""
    if callback is not None and not callable(callback):
        raise InvalidParameterError(
            "The 'callback' parameter must be None or a callable (called with one "
            f"IterationInfo after every iteration), got {callback!r} of type "
            f"{type(callback).__name__}."
        )
    return callback


def check_n_jobs(n_jobs):
    """Validate ``n_jobs`` (None, or a non-zero int); return it unchanged."""
    if n_jobs is not None and (
        isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral) or n_jobs == 0
    ):
        raise InvalidParameterError(
            f"The 'n_jobs' parameter must be None or a non-zero int, got {n_jobs!r}."
        )
    return n_jobs


def check_component_labels(component_labels, n_samples, n_components):
    """``component_labels`` as an int64 array of ``n_samples`` entries in [-1, n_components),
    or None when it is None or every entry is -1 (no row labelled)."""
    if component_labels is None:
        return None
    labels = np.asarray(component_labels)
    if labels.ndim != 1 or labels.shape[0] != n_samples:
        raise ValueError(
            f"component_labels must be a 1-D array with one entry per row of X "
            f"({n_samples}), got shape {labels.shape}."
        )
    if labels.dtype.kind not in "iuf" or (
        labels.dtype.kind == "f" and not np.all(np.isfinite(labels) & (labels == np.round(labels)))
    ):
        raise ValueError(
            f"component_labels must hold integers (a component index, or -1 for an "
            f"unlabelled row), got {labels.dtype} values such as {labels.ravel()[:1]}."
        )
    out_of_range = (labels < -1) | (labels >= n_components)
    if np.any(out_of_range):
        raise ValueError(
            f"component_labels must be in [-1, {n_components}) (-1: unlabelled; "
            f"n_components={n_components}), got {labels[out_of_range][0]}."
        )
    if not np.any(labels >= 0):
        return None
    return np.ascontiguousarray(labels, dtype=np.int64)


def check_positive_int(value, name):
    """``value`` if it is an int >= 1 (a ValueError naming ``name`` otherwise)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}.")
    return int(value)


def check_n_samples_to_draw(n_samples):
    """``n_samples`` of ``sample``: an int >= 1 (scikit-learn's message)."""
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
        raise ValueError(
            f"Invalid value for 'n_samples': {n_samples!r}. The sampling requires at "
            "least one sample."
        )
    return int(n_samples)


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
    _check_weight_values(
        np.all(np.isfinite(weights)), np.any(weights < 0), np.count_nonzero(weights), n_components
    )
    return np.ascontiguousarray(weights)


def _check_weight_values(all_finite, any_negative, n_positive, n_components):
    if not all_finite:
        raise ValueError("sample_weight contains NaN or infinity.")
    if any_negative:
        raise ValueError("Negative values in sample_weight are not allowed.")
    if n_positive == 0:
        raise ValueError(
            "sample_weight is zero for every row: at least one weight must be non-zero."
        )
    if n_positive < n_components:
        raise ValueError(
            f"sample_weight gives {n_positive} row(s) a positive weight, fewer than "
            f"n_components = {n_components}."
        )


def check_dask_sample_weight(sample_weight, X, n_components):
    """Weights for the Dask array ``X``: ``(weights, total_weight)``.

    ``weights`` is None (all 1) or a float64 Dask vector chunked as X's rows;
    it may be given as anything ``check_sample_weight`` takes, or as a Dask
    vector (then checked in one computation).
    """
    if sample_weight is None:
        return None, float(X.shape[0])
    import dask.array as da

    if not isinstance(sample_weight, da.Array):
        weights = check_sample_weight(sample_weight, X.shape[0], n_components)
        return da.from_array(weights, chunks=(X.chunks[0],)), float(weights.sum())
    if sample_weight.shape != (X.shape[0],):
        raise ValueError(
            f"sample_weight.shape == {sample_weight.shape}, expected ({X.shape[0]},): one "
            "weight per row."
        )
    weights = sample_weight.astype(np.float64).rechunk((X.chunks[0],))
    all_finite, any_negative, n_positive, total = da.compute(
        da.isfinite(weights).all(), (weights < 0).any(), da.count_nonzero(weights), weights.sum()
    )
    _check_weight_values(all_finite, any_negative, int(n_positive), n_components)
    return weights, float(total)


def check_float_array(value, name, shape):
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


def check_impute_method(method):
    """``impute``'s method: 'mean' or 'sample'."""
    return check_choice(method, "method", ("mean", "sample"))
