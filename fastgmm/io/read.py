"""Saving fitted models to one file without pickle, loading them back, and converting them to
and from scikit-learn's estimators.

``model.save(path)`` writes a fitted :class:`~fastgmm.GaussianMixture`,
:class:`~fastgmm.BayesianGaussianMixture` or :class:`~fastgmm.GaussianMixtureResult`
to one ``.npz`` file (numpy's zip archive of ``.npy`` arrays) that holds only numbers
and text; :func:`load` reads it back.  Loading never unpickles or runs anything
(``numpy.load(path, allow_pickle=False)`` and ``json``), and checks the whole file
before it builds the model: a damaged, truncated or edited file raises a ``ValueError``
that names what is wrong, a missing one a ``FileNotFoundError``.  A loaded model
predicts bitwise the same as the saved one.

``model.to_sklearn()`` and ``GaussianMixture.from_sklearn(estimator)`` (also
``BayesianGaussianMixture.from_sklearn``) convert fitted models to and from
scikit-learn's estimators; scikit-learn is imported only by these two.

Notes
-----
**The file.**  Any program that reads ``.npz`` files can read it, e.g.
``numpy.load(path, allow_pickle=False)``.  It is written exactly at ``path`` (no
``.npz`` suffix is added) and holds these entries:

``metadata``
    UTF-8 JSON text (strict JSON: no ``NaN`` or ``Infinity`` tokens), stored as a
    1-D ``uint8`` array (a unicode string array is read too).  A JSON object with:

    - ``format``: ``"fastgmm-mixture"``; ``format_version``: 1 (an int);
      ``fastgmm_version``: the version that wrote the file (informative);
    - ``class``: ``"GaussianMixture"``, ``"BayesianGaussianMixture"`` or
      ``"GaussianMixtureResult"``;
    - ``covariance_type`` (of the fitted arrays), ``dtype`` (``"float32"`` or
      ``"float64"``: of the fitted arrays, the dtype of the data the model was fitted
      on), ``n_components`` (K), ``n_features_in_`` (D);
    - ``converged_``, ``n_iter_``, ``lower_bound_``, ``n_degenerate_``;
    - estimators only: ``feature_names_in_`` (a list of str, or null);
      ``parameters``: the constructor parameters that JSON can hold (None, bools,
      numbers, strings, lists of them; numpy arrays as nested lists, listed in
      ``array_parameters`` and loaded back as arrays); ``parameters_not_stored``:
      the names of the others (a ``callback`` function, a ``RandomState`` instance as
      ``random_state``), which a loaded model has at their defaults;
    - ``BayesianGaussianMixture`` only: ``weight_concentration_prior_type`` (of the
      fitted posterior), ``weight_concentration_prior_``, ``mean_precision_prior_``,
      ``degrees_of_freedom_prior_``, ``full_lower_bound_``;
    - ``GaussianMixtureResult`` only: ``log_likelihood``.

    A float that is not finite is written as the string ``"nan"``, ``"inf"`` or
    ``"-inf"`` (``lower_bound_`` is ``"-inf"`` after ``max_iter=0``,
    ``full_lower_bound_`` often ``"nan"``).

``weights_`` (K,), ``means_`` (K, D), ``covariances_``, ``precisions_``, ``precisions_cholesky_``
    In ``dtype``, in scikit-learn's layouts: (K, D, D) for 'full', (D, D) for 'tied',
    (K, D) for 'diag', (K,) for 'spherical'.  A ``GaussianMixtureResult``'s
    ``weights``, ``means``, ... are stored under these names too (``precisions_``
    computed from its factors, for other readers).
``lower_bounds_`` (n,), float64
    The lower bound of every iteration of the best run (n <= ``n_iter_``).

``BayesianGaussianMixture`` adds, all float64: ``weight_concentration_`` ((2, K) for the
Dirichlet process, the pair of scikit-learn's tuple; (K,) otherwise),
``mean_precision_`` (K,), ``degrees_of_freedom_`` ((K,); () for 'tied'), ``mean_prior_``
(D,), ``covariance_prior_`` ((D, D) for 'full' and 'tied', (D,) for 'diag', () for
'spherical'), and ``posterior_means``, ``posterior_covariances``,
``posterior_precisions_cholesky``: the float64 posterior the model scores with
(``means_`` and the others are these in ``dtype``, so they differ from them only after a
float32 fit).

**What loading checks.**  The format name and version; the class; every metadata field
and every array present, nothing else present, each with its type, dtype and shape for
the class, covariance type, K and D; all values finite; weights non-negative and summing
to 1 (within 1e-8 in float64, 2e-6 in float32; or to less than 1 when ``n_iter_`` is 0,
as scikit-learn's initial weights after ``max_iter=0`` may); the precision factors
upper-triangular with a positive diagonal (so every precision is positive definite), the
covariances and precisions symmetric and positive definite up to the rounding of
``dtype``, and the three consistent with each other; for the Bayesian mixture, positive
concentrations and mean precisions, degrees of freedom above D - 1, positive prior
scalars and a positive semi-definite covariance prior (the default one is the data's
covariance, singular for a constant feature), weights that are the posterior's expected
weights, and public arrays that are the posterior's in ``dtype``; and the parameters,
through the estimator's own validation.

**Version policy.**  ``format_version`` changes whenever an entry or field is added,
removed, or changes meaning.  Every fastgmm reads every format version up to its own
(``tests/data/`` keeps files of each version, and the tests load them), and refuses newer
versions with a message that says which fastgmm wrote the file.
"""

from __future__ import annotations

import copy
import inspect
import json
import math
import numbers
import os
from types import SimpleNamespace
from typing import Any

import numpy as np

from ..covariance import COVARIANCE_TYPES
from ..data import validation
from ..em.options import FitOptions
from ..em.priors import PRIOR_TYPES, check_prior_type, check_priors
from ..em.variational import Posterior
from ..em.variational import weights as expected_weights
from ..exceptions import NotFittedError

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
_FIELDS = {
    "GaussianMixture": _COMMON_FIELDS + _ESTIMATOR_FIELDS,
    "BayesianGaussianMixture": _COMMON_FIELDS + _ESTIMATOR_FIELDS + _BAYESIAN_FIELDS,
    "GaussianMixtureResult": _COMMON_FIELDS + ("log_likelihood",),
}

# The fitted arrays every class stores, in the fit's dtype.
_MIXTURE_ARRAYS = ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_")
_POSTERIOR_ARRAYS = ("posterior_means", "posterior_covariances", "posterior_precisions_cholesky")
# What the loaded weights may miss 1 by, per dtype.
_WEIGHT_SUM_TOLERANCE = {"float32": 2e-6, "float64": 1e-8}


class _Invalid(Exception):
    """A problem with a stored or converted model; its message says what is wrong."""


# -- public entry points ------------------------------------------------------------------


def save(model, path):
    """Write the fitted ``model`` to ``path`` (see the module docstring for the format)."""
    path = _checked_path(path)
    metadata, arrays = _describe(model)
    text = json.dumps(metadata, allow_nan=False)
    entries = {METADATA_KEY: np.frombuffer(text.encode("utf-8"), dtype=np.uint8)}
    entries.update(arrays)
    with open(path, "wb") as file:
        np.savez_compressed(file, **entries)


def load(path: str | os.PathLike[str]) -> Any:
    """Read a model written by ``save``: a GaussianMixture, BayesianGaussianMixture or
    GaussianMixtureResult.

    Parameters
    ----------
    path : str or os.PathLike
        A file written by ``model.save(path)`` (of this or an earlier fastgmm).

    Returns
    -------
    model : GaussianMixture, BayesianGaussianMixture or GaussianMixtureResult
        The fitted model, of the class that was saved; it predicts bitwise the same as
        the saved one.  Constructor parameters that JSON cannot hold (a ``callback``
        function, a ``RandomState`` instance) are at their defaults.

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    ValueError
        If the file is not a fastgmm model file, is damaged, truncated or edited, or was
        written by a newer fastgmm in a newer format; the message says what is wrong.

    See Also
    --------
    GaussianMixture.save, BayesianGaussianMixture.save, GaussianMixtureResult.save

    Notes
    -----
    Nothing in the file is unpickled or run: it is read with
    ``numpy.load(path, allow_pickle=False)`` and ``json``, and checked in full before
    the model is built (the module ``fastgmm._persistence`` documents the format and
    the checks).
    """
    path = _checked_path(path)
    try:
        metadata, arrays = _read(path)
        return _restore(metadata, arrays, parameters_from_json=True)
    except _Invalid as problem:
        raise ValueError(f"Cannot load a fastgmm model from {path!r}: {problem}") from (
            problem.__cause__
        )


def to_sklearn(model):
    """The scikit-learn estimator with ``model``'s parameters and fitted attributes."""
    mixture = _sklearn_mixture(f"{type(model).__name__}.to_sklearn")
    class_name = _class_name(model)
    if class_name == "GaussianMixtureResult":
        covariance = COVARIANCE_TYPES[model.covariance_type]
        estimator = mixture.GaussianMixture(
            n_components=model.means.shape[0], covariance_type=covariance.name
        )
        attributes = {
            "weights_": model.weights,
            "means_": model.means,
            "covariances_": model.covariances,
            "precisions_cholesky_": model.precisions_cholesky,
            "precisions_": _precisions(covariance, model.precisions_cholesky),
            "converged_": model.converged,
            "n_iter_": model.n_iter,
            "lower_bound_": model.lower_bound,
            "lower_bounds_": list(model.lower_bounds),
            "n_features_in_": model.means.shape[1],
        }
    else:
        model._fitted_covariance()  # NotFittedError before fit
        sklearn_class = getattr(mixture, class_name)
        ours = model.get_params()
        params = {
            name: copy.deepcopy(ours[name])
            for name in inspect.signature(sklearn_class.__init__).parameters
            if name in ours
        }
        # scikit-learn scores with these parameters: they must describe the fitted arrays.
        params["covariance_type"] = model._fitted_covariance_type
        if class_name == "BayesianGaussianMixture":
            params["weight_concentration_prior_type"] = model._fitted_prior_type
        estimator = sklearn_class(**params)
        names = _SKLEARN_ATTRIBUTES[class_name] + ("feature_names_in_",)
        attributes = {name: getattr(model, name) for name in names if hasattr(model, name)}
    for name, value in attributes.items():
        setattr(estimator, name, _copied(value))
    return estimator


def from_sklearn(cls, estimator):
    """A fastgmm ``cls`` with the parameters and fitted attributes of a fitted scikit-learn
    estimator of the same name."""
    class_name = _class_name(cls)
    mixture = _sklearn_mixture(f"{cls.__name__}.from_sklearn")
    expected = getattr(mixture, class_name)
    if not isinstance(estimator, expected):
        raise TypeError(
            f"{cls.__name__}.from_sklearn expects a fitted sklearn.mixture.{class_name}, got "
            f"{type(estimator).__module__}.{type(estimator).__qualname__}."
        )
    missing = [
        name
        for name in _SKLEARN_ATTRIBUTES[class_name]
        if name != "lower_bounds_" and not hasattr(estimator, name)
    ]
    if missing:
        raise NotFittedError(
            f"This scikit-learn {class_name} is not fitted yet (it has no "
            f"{', '.join(missing)}): call its fit before {cls.__name__}.from_sklearn."
        )
    try:
        metadata, arrays = _describe_sklearn(class_name, estimator, cls)
        return _restore(metadata, arrays, parameters_from_json=False, cls=cls)
    except _Invalid as problem:
        raise ValueError(f"Cannot convert the scikit-learn {class_name}: {problem}") from (
            problem.__cause__
        )


# -- describing a model: metadata and arrays ----------------------------------------------


def _class_name(model_or_class):
    """Which of ``CLASS_NAMES`` a fastgmm model (or class) is; a TypeError for others."""
    from ..models.bayesian_mixture import BayesianGaussianMixture
    from ..models.gaussian_mixture import GaussianMixture, GaussianMixtureResult

    cls = model_or_class if isinstance(model_or_class, type) else type(model_or_class)
    for known in (BayesianGaussianMixture, GaussianMixture, GaussianMixtureResult):
        if issubclass(cls, known):
            return known.__name__
    raise TypeError(
        f"Expected a fastgmm GaussianMixture, BayesianGaussianMixture or "
        f"GaussianMixtureResult, got {cls.__module__}.{cls.__qualname__}."
    )


def _header(class_name):
    from .._version import __version__

    return {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "fastgmm_version": __version__,
        "class": class_name,
    }


def _describe(model):
    """``(metadata, arrays)`` of a fitted fastgmm model, as ``save`` writes them."""
    class_name = _class_name(model)
    if class_name == "GaussianMixtureResult":
        return _describe_result(model)
    covariance = model._fitted_covariance()  # NotFittedError before fit
    names = getattr(model, "feature_names_in_", None)
    metadata = _header(class_name)
    metadata.update(
        covariance_type=covariance.name,
        dtype=np.dtype(model.means_.dtype).name,
        n_components=int(model.means_.shape[0]),
        n_features_in_=int(model.n_features_in_),
        converged_=bool(model.converged_),
        n_iter_=int(model.n_iter_),
        lower_bound_=_encode_float(model.lower_bound_),
        n_degenerate_=int(model.n_degenerate_),
        feature_names_in_=None if names is None else [str(name) for name in names],
    )
    metadata.update(_encode_parameters(model))
    arrays = {name: np.asarray(getattr(model, name)) for name in _MIXTURE_ARRAYS}
    arrays["lower_bounds_"] = np.asarray(model.lower_bounds_, dtype=np.float64).reshape(-1)
    if class_name == "BayesianGaussianMixture":
        posterior = model._posterior
        metadata.update(
            weight_concentration_prior_type=model._fitted_prior_type,
            weight_concentration_prior_=_encode_float(model.weight_concentration_prior_),
            mean_precision_prior_=_encode_float(model.mean_precision_prior_),
            degrees_of_freedom_prior_=_encode_float(model.degrees_of_freedom_prior_),
            full_lower_bound_=_encode_float(model.full_lower_bound_),
        )
        arrays.update(
            weight_concentration_=_float64(posterior.weight_concentration),
            mean_precision_=_float64(posterior.mean_precision),
            degrees_of_freedom_=_float64(posterior.degrees_of_freedom),
            mean_prior_=_float64(model.mean_prior_),
            covariance_prior_=_float64(model.covariance_prior_),
            posterior_means=_float64(posterior.means),
            posterior_covariances=_float64(posterior.covariances),
            posterior_precisions_cholesky=_float64(posterior.precisions_cholesky),
        )
    return metadata, arrays


def _describe_result(result):
    covariance = COVARIANCE_TYPES[result.covariance_type]
    dtype = result.means.dtype
    metadata = _header("GaussianMixtureResult")
    metadata.update(
        covariance_type=covariance.name,
        dtype=np.dtype(dtype).name,
        n_components=int(result.means.shape[0]),
        n_features_in_=int(result.means.shape[1]),
        converged_=bool(result.converged),
        n_iter_=int(result.n_iter),
        lower_bound_=_encode_float(result.lower_bound),
        n_degenerate_=int(result.n_degenerate),
        log_likelihood=_encode_float(result.log_likelihood),
    )
    arrays = {
        "weights_": np.asarray(result.weights),
        "means_": np.asarray(result.means),
        "covariances_": np.asarray(result.covariances),
        "precisions_": _precisions(covariance, result.precisions_cholesky).astype(dtype),
        "precisions_cholesky_": np.asarray(result.precisions_cholesky),
        "lower_bounds_": np.asarray(result.lower_bounds, dtype=np.float64).reshape(-1),
    }
    return metadata, arrays


def _precisions(covariance, precisions_cholesky):
    """The precisions of the factors, computed in float64 (as ``_set_fitted_mixture``)."""
    return covariance.precisions(np.asarray(precisions_cholesky, dtype=np.float64))


def _float64(value):
    return np.asarray(value, dtype=np.float64)


def _encode_float(value):
    """A float for JSON: finite ones as numbers, the others as "nan", "inf" or "-inf"."""
    value = float(value)
    if math.isfinite(value):
        return value
    return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")


class _NotJSON(Exception):
    pass


def _to_json(value):
    """``(value as JSON, whether it was a numpy array)``; _NotJSON if JSON cannot hold it."""
    if value is None or isinstance(value, (bool, str)):
        return value, False
    if isinstance(value, np.bool_):
        return bool(value), False
    if isinstance(value, numbers.Integral):
        return int(value), False
    if isinstance(value, numbers.Real):
        if not math.isfinite(value):
            raise _NotJSON
        return float(value), False
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf" or not np.all(np.isfinite(value)):
            raise _NotJSON
        return value.tolist(), True
    if isinstance(value, (list, tuple)):
        return [_to_json(item)[0] for item in value], False
    raise _NotJSON


def _encode_parameters(model):
    """The metadata's ``parameters``, ``parameters_not_stored`` and ``array_parameters``."""
    parameters, not_stored, array_parameters = {}, [], []
    # A subclass is saved as the fastgmm class it derives from, with that class's parameters.
    names = _fastgmm_class(_class_name(model))._get_param_names()
    for name in names:
        value = getattr(model, name)
        try:
            parameters[name], is_array = _to_json(value)
        except _NotJSON:
            not_stored.append(name)
            continue
        if is_array:
            array_parameters.append(name)
    return {
        "parameters": parameters,
        "parameters_not_stored": not_stored,
        "array_parameters": array_parameters,
    }


# What a fitted scikit-learn estimator has (and what ``to_sklearn`` sets), by class.
_SKLEARN_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "GaussianMixture": (
        "weights_",
        "means_",
        "covariances_",
        "precisions_",
        "precisions_cholesky_",
        "converged_",
        "n_iter_",
        "lower_bound_",
        "lower_bounds_",
        "n_features_in_",
    ),
}
_SKLEARN_ATTRIBUTES["BayesianGaussianMixture"] = _SKLEARN_ATTRIBUTES["GaussianMixture"] + (
    "weight_concentration_prior_",
    "weight_concentration_",
    "mean_precision_prior_",
    "mean_precision_",
    "mean_prior_",
    "degrees_of_freedom_prior_",
    "degrees_of_freedom_",
    "covariance_prior_",
)


def _describe_sklearn(class_name, estimator, cls):
    """``(metadata, arrays)`` of a fitted scikit-learn estimator, as ``load`` reads them
    (the parameters as Python values, not JSON)."""
    try:
        means = np.asarray(estimator.means_)
        if means.ndim != 2:
            raise _Invalid(f"its means_ has shape {means.shape}, not (n_components, n_features)")
        dtype = means.dtype if means.dtype in (np.float32, np.float64) else np.dtype(np.float64)
        names = getattr(estimator, "feature_names_in_", None)
        ours = set(cls._get_param_names())
        metadata = _header(class_name)
        metadata.update(
            covariance_type=estimator.covariance_type,
            dtype=np.dtype(dtype).name,
            n_components=int(means.shape[0]),
            n_features_in_=int(estimator.n_features_in_),
            converged_=bool(estimator.converged_),
            n_iter_=int(estimator.n_iter_),
            lower_bound_=_encode_float(np.squeeze(estimator.lower_bound_)),
            n_degenerate_=0,
            feature_names_in_=None if names is None else [str(name) for name in names],
            parameters={
                name: copy.deepcopy(value)
                for name, value in estimator.get_params(deep=False).items()
                if name in ours
            },
            parameters_not_stored=[],
            array_parameters=[],
        )
        arrays = {name: np.array(getattr(estimator, name), dtype=dtype) for name in _MIXTURE_ARRAYS}
        # scikit-learn < 1.7 has no lower_bounds_.
        lower_bounds = getattr(estimator, "lower_bounds_", [])
        arrays["lower_bounds_"] = np.array(lower_bounds, dtype=np.float64).reshape(-1)
        if class_name == "BayesianGaussianMixture":
            metadata.update(
                weight_concentration_prior_type=estimator.weight_concentration_prior_type,
                weight_concentration_prior_=_encode_float(estimator.weight_concentration_prior_),
                mean_precision_prior_=_encode_float(estimator.mean_precision_prior_),
                degrees_of_freedom_prior_=_encode_float(estimator.degrees_of_freedom_prior_),
                # It needs the total weight of the data, which scikit-learn does not keep.
                full_lower_bound_="nan",
            )
            arrays.update(
                {
                    name: np.array(getattr(estimator, name), dtype=np.float64)
                    for name in (
                        "weight_concentration_",
                        "mean_precision_",
                        "degrees_of_freedom_",
                        "mean_prior_",
                        "covariance_prior_",
                    )
                }
            )
            for name in _POSTERIOR_ARRAYS:
                public = name.replace("posterior_", "") + "_"
                arrays[name] = np.array(getattr(estimator, public), dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise _Invalid(f"its fitted attributes are not what scikit-learn sets ({error})") from (
            error
        )
    return metadata, arrays


# -- reading a file -------------------------------------------------------------------------


def _checked_path(path):
    try:
        return os.fspath(path)
    except TypeError:
        raise TypeError(
            f"path must be a str or an os.PathLike (a pathlib.Path), got {type(path).__name__}."
        ) from None


def _read(path):
    """``(metadata, arrays)`` of the file at ``path``; _Invalid if numpy cannot read it as
    an ``.npz`` archive of plain arrays and a JSON ``metadata`` entry."""
    # Opened here so that a missing file, a folder or a permission problem keeps its
    # OSError (FileNotFoundError, ...); everything after is about the file's contents.
    with open(path, "rb") as file:
        try:
            archive = np.load(file, allow_pickle=False)
        except Exception as error:  # numpy and zipfile raise many kinds on damaged bytes
            raise _Invalid(
                f"it is not an .npz archive that numpy reads without pickle ({error})"
            ) from error
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise _Invalid("it holds a single .npy array, not the .npz archive of a saved model")
        with archive:
            if METADATA_KEY not in archive.files:
                raise _Invalid(
                    f"it has no {METADATA_KEY!r} entry (its entries: {sorted(archive.files)}), "
                    "so it was not written by a fastgmm model's save"
                )
            metadata = _parse_metadata(_read_entry(archive, METADATA_KEY))
            arrays = {
                name: _read_entry(archive, name) for name in archive.files if name != METADATA_KEY
            }
    return metadata, arrays


def _read_entry(archive, name):
    try:
        value = archive[name]
    except Exception as error:  # a damaged zip member or .npy header, or an object array
        raise _Invalid(f"its entry {name!r} cannot be read ({error})") from error
    if not isinstance(value, np.ndarray):
        raise _Invalid(f"its entry {name!r} is not a .npy array")
    return value


def _reject_constant(token):
    raise ValueError(f"{token} is not a JSON value")


def _parse_metadata(array):
    if array.dtype == np.uint8 and array.ndim == 1:
        try:
            text = array.tobytes().decode("utf-8")
        except UnicodeDecodeError as error:
            raise _Invalid(f"its {METADATA_KEY!r} entry is not UTF-8 text ({error})") from error
    elif array.dtype.kind == "U" and array.size == 1:
        text = str(array.reshape(()).item())
    else:
        raise _Invalid(
            f"its {METADATA_KEY!r} entry must be JSON text stored as a 1-D uint8 array or a "
            f"unicode string, got a {array.dtype} array of shape {array.shape}"
        )
    try:
        metadata = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as error:
        raise _Invalid(f"its {METADATA_KEY!r} entry is not valid JSON ({error})") from error
    if not isinstance(metadata, dict):
        raise _Invalid(
            f"its {METADATA_KEY!r} entry must be a JSON object, got {type(metadata).__name__}"
        )
    return metadata


# -- checking ---------------------------------------------------------------------------------


def _restore(metadata, arrays, *, parameters_from_json, cls=None):
    """The model that ``metadata`` and ``arrays`` describe, after checking all of them."""
    class_name = _check_header(metadata)
    _check_fields(metadata, class_name)
    _check_arrays(metadata, arrays, class_name)
    _check_values(metadata, arrays, class_name)
    if class_name == "GaussianMixtureResult":
        return _build_result(metadata, arrays)
    if cls is None:
        cls = _fastgmm_class(class_name)
    parameters = metadata["parameters"]
    if parameters_from_json:
        parameters = _decoded_parameters(metadata)
    model = _checked_estimator(cls, parameters, metadata["n_features_in_"])
    return _build_estimator(model, metadata, arrays, class_name)


def _fastgmm_class(class_name):
    from ..models.bayesian_mixture import BayesianGaussianMixture
    from ..models.gaussian_mixture import GaussianMixture

    return {"GaussianMixture": GaussianMixture, "BayesianGaussianMixture": BayesianGaussianMixture}[
        class_name
    ]


def _check_header(metadata):
    """The class name, once the format and its version are known ones."""
    for name in ("format", "format_version", "class"):
        if name not in metadata:
            raise _Invalid(f"its metadata has no {name!r} field, so it is not a fastgmm model file")
    if metadata["format"] != FORMAT_NAME:
        raise _Invalid(
            f"its metadata's format is {metadata['format']!r}, not {FORMAT_NAME!r}: it is not "
            "a fastgmm model file"
        )
    version = metadata["format_version"]
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise _Invalid(f"its format_version {version!r} is not a format version (an int >= 1)")
    if version > FORMAT_VERSION:
        from .._version import __version__

        raise _Invalid(
            f"it is in format version {version}, newer than this fastgmm ({__version__}) reads "
            f"(versions up to {FORMAT_VERSION}); it was written by fastgmm "
            f"{metadata.get('fastgmm_version', '(unknown)')}: upgrade fastgmm to load it"
        )
    class_name = metadata["class"]
    if class_name not in CLASS_NAMES:
        raise _Invalid(
            f"its metadata names an unknown class {class_name!r} (fastgmm saves "
            f"{', '.join(CLASS_NAMES)})"
        )
    return class_name


def _field_error(name, value, expected):
    return _Invalid(f"its metadata field {name!r} must be {expected}, got {value!r}")


def _int_field(metadata, name, minimum):
    value = metadata[name]
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _field_error(name, value, f"an int >= {minimum}")
    return value


def _float_field(metadata, name, non_finite=()):
    """A float field; ``non_finite`` lists the strings ("nan", "inf", "-inf") it may be."""
    value = metadata[name]
    if isinstance(value, str) and value in non_finite:
        return float(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        allowed = f" or one of {', '.join(map(repr, non_finite))}" if non_finite else ""
        raise _field_error(name, value, f"a number{allowed}")
    return float(value)


def _choice_field(metadata, name, choices):
    value = metadata[name]
    if not isinstance(value, str) or value not in choices:
        raise _field_error(name, value, f"one of {', '.join(map(repr, choices))}")
    return value


def _string_list_field(metadata, name, length=None):
    value = metadata[name]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _field_error(name, value, "a list of strings")
    if length is not None and len(value) != length:
        raise _Invalid(f"its metadata field {name!r} has {len(value)} names for {length} features")
    return value


def _check_fields(metadata, class_name):
    """Every field of the class present, nothing else, each of the right type."""
    expected = _FIELDS[class_name]
    missing = [name for name in expected if name not in metadata]
    if missing:
        raise _Invalid(f"its metadata lacks the field(s) {', '.join(map(repr, missing))}")
    unexpected = sorted(set(metadata) - set(expected))
    if unexpected:
        raise _Invalid(
            f"its metadata has field(s) a {class_name} file does not have: "
            f"{', '.join(map(repr, unexpected))}"
        )
    if not isinstance(metadata["fastgmm_version"], str):
        raise _field_error("fastgmm_version", metadata["fastgmm_version"], "a string")
    _choice_field(metadata, "covariance_type", tuple(COVARIANCE_TYPES))
    _choice_field(metadata, "dtype", DTYPES)
    _int_field(metadata, "n_components", 1)
    n_features = _int_field(metadata, "n_features_in_", 1)
    if not isinstance(metadata["converged_"], bool):
        raise _field_error("converged_", metadata["converged_"], "true or false")
    n_iter = _int_field(metadata, "n_iter_", 0)
    _int_field(metadata, "n_degenerate_", 0)
    lower_bound = _float_field(metadata, "lower_bound_", ("-inf",))
    if lower_bound == -math.inf and n_iter > 0:
        raise _Invalid("its lower_bound_ is -inf after n_iter_ > 0 iterations")
    if class_name == "GaussianMixtureResult":
        _float_field(metadata, "log_likelihood", ("-inf",))
        return
    if metadata["feature_names_in_"] is not None:
        _string_list_field(metadata, "feature_names_in_", n_features)
    parameters = metadata["parameters"]
    if not isinstance(parameters, dict):
        raise _field_error("parameters", parameters, "an object of parameter names and values")
    _string_list_field(metadata, "parameters_not_stored")
    not_parameters = set(_string_list_field(metadata, "array_parameters")) - set(parameters)
    if not_parameters:
        raise _Invalid(
            f"its metadata's array_parameters names {sorted(not_parameters)}, which are not "
            "among its parameters"
        )
    if class_name == "BayesianGaussianMixture":
        _choice_field(metadata, "weight_concentration_prior_type", PRIOR_TYPES)
        for name in (
            "weight_concentration_prior_",
            "mean_precision_prior_",
            "degrees_of_freedom_prior_",
        ):
            _float_field(metadata, name)
        _float_field(metadata, "full_lower_bound_", ("nan", "inf", "-inf"))


def _covariance_shape(covariance_type, n_components, n_features):
    return {
        "full": (n_components, n_features, n_features),
        "tied": (n_features, n_features),
        "diag": (n_components, n_features),
        "spherical": (n_components,),
    }[covariance_type]


def _array_specs(metadata, class_name):
    """``{name: (shape, dtype)}`` of the arrays a file of this class holds (the shape of
    ``lower_bounds_`` is checked apart)."""
    covariance_type = metadata["covariance_type"]
    k, d = metadata["n_components"], metadata["n_features_in_"]
    dtype = np.dtype(metadata["dtype"])
    shape = _covariance_shape(covariance_type, k, d)
    specs = {
        "weights_": ((k,), dtype),
        "means_": ((k, d), dtype),
        "covariances_": (shape, dtype),
        "precisions_": (shape, dtype),
        "precisions_cholesky_": (shape, dtype),
        "lower_bounds_": (None, np.dtype(np.float64)),
    }
    if class_name == "BayesianGaussianMixture":
        float64 = np.dtype(np.float64)
        dirichlet_process = metadata["weight_concentration_prior_type"] == "dirichlet_process"
        specs.update(
            weight_concentration_=((2, k) if dirichlet_process else (k,), float64),
            mean_precision_=((k,), float64),
            degrees_of_freedom_=(() if covariance_type == "tied" else (k,), float64),
            mean_prior_=((d,), float64),
            covariance_prior_=(
                {"full": (d, d), "tied": (d, d), "diag": (d,), "spherical": ()}[covariance_type],
                float64,
            ),
            posterior_means=((k, d), float64),
            posterior_covariances=(shape, float64),
            posterior_precisions_cholesky=(shape, float64),
        )
    return specs


def _check_arrays(metadata, arrays, class_name):
    """Every array of the class present, nothing else, each of the right dtype and shape,
    all finite."""
    specs = _array_specs(metadata, class_name)
    missing = [name for name in specs if name not in arrays]
    if missing:
        raise _Invalid(f"the array(s) {', '.join(map(repr, missing))} are missing")
    unexpected = sorted(set(arrays) - set(specs))
    if unexpected:
        raise _Invalid(
            f"it holds array(s) a {class_name} file does not have: "
            f"{', '.join(map(repr, unexpected))}"
        )
    where = (
        f"{metadata['covariance_type']!r} covariances, {metadata['n_components']} components "
        f"and {metadata['n_features_in_']} features"
    )
    for name, (shape, dtype) in specs.items():
        array = arrays[name]
        if array.dtype != dtype:
            raise _Invalid(f"{name} has dtype {array.dtype}, expected {dtype} (the model's dtype)")
        if shape is None:
            if array.ndim != 1 or len(array) > metadata["n_iter_"]:
                raise _Invalid(
                    f"{name} has shape {array.shape}, expected one value per iteration "
                    f"(at most n_iter_ = {metadata['n_iter_']})"
                )
        elif array.shape != shape:
            raise _Invalid(f"{name} has shape {array.shape}, expected {shape} for {where}")
        if not np.all(np.isfinite(array)):
            raise _Invalid(f"{name} holds NaN or infinite values")


def _tolerance(dtype, n=1):
    """Relative rounding allowed in checks of ``n``-term sums of ``dtype`` numbers."""
    return 100.0 * n * np.finfo(dtype).eps


def _check_values(metadata, arrays, class_name):
    """The values describe a valid mixture (see the module docstring)."""
    dtype = metadata["dtype"]
    covariance_type = metadata["covariance_type"]
    weights = arrays["weights_"].astype(np.float64)
    if np.any(weights < 0):
        raise _Invalid(f"weights_ has a negative value ({weights.min()!r})")
    total, tolerance = float(weights.sum()), _WEIGHT_SUM_TOLERANCE[dtype]
    # Before any iteration (max_iter=0), the initial weights of 'random_from_data' and
    # 'k-means++' are N_k / N of K one-hot rows, summing to K / N, as scikit-learn's.
    if not (abs(total - 1.0) <= tolerance or (metadata["n_iter_"] == 0 and 0 < total < 1)):
        raise _Invalid(f"weights_ sums to {total!r}, not 1")
    _check_covariances(
        covariance_type, dtype, arrays, ("covariances_", "precisions_cholesky_", "precisions_")
    )
    if class_name == "BayesianGaussianMixture":
        _check_posterior(metadata, arrays)


def _stack(matrices, covariance_type):
    """float64 (n, D, D) stack of the 'full' or 'tied' matrices."""
    matrices = np.asarray(matrices, dtype=np.float64)
    return matrices[None] if covariance_type == "tied" else matrices


def _first(flags):
    return int(np.flatnonzero(flags)[0])


def _check_covariances(covariance_type, dtype, arrays, names):
    """The arrays named ``(covariances, factors[, precisions])``: factors upper-triangular
    with a positive diagonal; covariances and precisions symmetric positive definite up to
    the rounding of ``dtype``; all consistent."""
    covariances, factors = arrays[names[0]], arrays[names[1]]
    precisions = arrays[names[2]] if len(names) > 2 else None
    if covariance_type in ("diag", "spherical"):
        covariances, factors = (np.asarray(a, dtype=np.float64) for a in (covariances, factors))
        for name, values in zip(names, (covariances, factors)):
            bad = ~(values > 0)
            if bad.any():
                k = _first(bad.reshape(len(bad), -1).any(axis=1))
                raise _Invalid(
                    f"{name} of component {k} has a value that is not > 0: variances and "
                    "precisions must be positive"
                )
        tolerance = _tolerance(dtype)
        if precisions is not None:
            precisions = np.asarray(precisions, dtype=np.float64)
            if not np.all(np.abs(precisions - factors**2) <= tolerance * factors**2):
                raise _Invalid(f"{names[2]} does not agree with {names[1]} (precision = U^2)")
        if not np.all(np.abs(covariances * factors**2 - 1.0) <= tolerance):
            raise _Invalid(f"{names[0]} is not the inverse of the precision of {names[1]}")
        return
    covariances, factors = _stack(covariances, covariance_type), _stack(factors, covariance_type)
    n_features = covariances.shape[-1]
    tolerance = _tolerance(dtype, n_features)
    component = "" if covariance_type == "tied" else " of component {}"
    lower = np.tril(factors, -1) != 0
    if lower.any():
        k = _first(lower.any(axis=(1, 2)))
        raise _Invalid(
            f"{names[1]}{component.format(k)} is not upper-triangular (precision = U U^T)"
        )
    diagonal_bad = ~(np.diagonal(factors, axis1=1, axis2=2) > 0)
    if diagonal_bad.any():
        k = _first(diagonal_bad.any(axis=1))
        raise _Invalid(
            f"{names[1]}{component.format(k)} has a diagonal value that is not > 0: the "
            "precision is not positive definite"
        )
    _check_positive_definite(names[0], covariances, tolerance, component)
    # Each precision against its factor: entry by entry, to the rounding of the product.
    products = factors @ np.swapaxes(factors, 1, 2)
    if precisions is not None:
        precisions = _stack(precisions, covariance_type)
        _check_positive_definite(names[2], precisions, tolerance, component)
        bound = tolerance * (np.abs(factors) @ np.swapaxes(np.abs(factors), 1, 2))
        disagree = (np.abs(precisions - products) > bound).any(axis=(1, 2))
        if disagree.any():
            raise _Invalid(
                f"{names[2]}{component.format(_first(disagree))} does not agree with "
                f"{names[1]} (precision = U U^T)"
            )
    # Covariance times precision against the identity, to the rounding of an inverse
    # (relative to the condition number).
    residual = np.abs(covariances @ products - np.eye(n_features)).max(axis=(1, 2))
    scale = np.linalg.norm(covariances, 2, axis=(1, 2)) * np.linalg.norm(products, 2, axis=(1, 2))
    not_inverse = ~(residual <= tolerance * scale)
    if not_inverse.any():
        raise _Invalid(
            f"{names[0]}{component.format(_first(not_inverse))} is not the inverse of the "
            f"precision of {names[1]}"
        )


def _check_positive_definite(name, matrices, tolerance, component, semi=False):
    """Symmetric and positive definite (``semi``: semi-definite) up to ``tolerance``, relative
    to the largest entry and eigenvalue."""
    scale = np.abs(matrices).max(axis=(1, 2))
    asymmetric = (
        np.abs(matrices - np.swapaxes(matrices, 1, 2)) > tolerance * scale[:, None, None]
    ).any(axis=(1, 2))
    if asymmetric.any():
        raise _Invalid(f"{name}{component.format(_first(asymmetric))} is not symmetric")
    eigenvalues = np.linalg.eigvalsh(matrices)
    largest = eigenvalues[:, -1]
    indefinite = ~(
        ((largest >= 0) if semi else (largest > 0)) & (eigenvalues[:, 0] >= -tolerance * largest)
    )
    if indefinite.any():
        k = _first(indefinite)
        raise _Invalid(
            f"{name}{component.format(k)} is not positive {'semi-' if semi else ''}definite "
            f"(eigenvalues from {eigenvalues[k, 0]:.3g} to {eigenvalues[k, -1]:.3g})"
        )


def _check_posterior(metadata, arrays):
    """The Bayesian mixture's posterior is a valid one, and its public arrays are it."""
    dtype = np.dtype(metadata["dtype"])
    n_features = metadata["n_features_in_"]
    covariance_type = metadata["covariance_type"]
    prior_type = metadata["weight_concentration_prior_type"]
    for name, minimum in (
        ("weight_concentration_", 0.0),
        ("mean_precision_", 0.0),
        ("degrees_of_freedom_", n_features - 1.0),
    ):
        if not np.all(arrays[name] > minimum):
            raise _Invalid(f"{name} has a value that is not > {minimum:g}")
    for name in _POSTERIOR_ARRAYS:
        public = name.replace("posterior_", "") + "_"
        if not np.array_equal(arrays[name].astype(dtype), arrays[public]):
            raise _Invalid(f"{public} is not {name} in {dtype}")
    # In the model's dtype's rounding: from scikit-learn's float32 arrays, they are those.
    _check_covariances(
        covariance_type, dtype, arrays, ("posterior_covariances", "posterior_precisions_cholesky")
    )
    wc = arrays["weight_concentration_"]
    concentration = SimpleNamespace(
        weight_concentration=(wc[0], wc[1]) if prior_type == "dirichlet_process" else wc
    )
    weights = expected_weights(concentration, prior_type)
    if not np.allclose(
        arrays["weights_"],
        weights,
        rtol=_tolerance(dtype, metadata["n_components"]),
        atol=np.finfo(dtype).tiny,
    ):
        raise _Invalid("weights_ are not the expected weights of weight_concentration_")
    # The fitted priors: those the fit used. The default covariance prior is the data's
    # covariance, which is only positive semi-definite (a constant feature gives a zero
    # variance), so it is checked as that, not as a prior given as a parameter.
    for name, minimum in (
        ("weight_concentration_prior_", 0.0),
        ("mean_precision_prior_", 0.0),
        ("degrees_of_freedom_prior_", n_features - 1.0),
    ):
        value = _float_field(metadata, name)
        if not (math.isfinite(value) and value > minimum):
            raise _Invalid(
                f"its fitted prior {name} is {value!r}, not a finite number > {minimum:g}"
            )
    covariance_prior = arrays["covariance_prior_"]
    if covariance_type in ("diag", "spherical"):
        if np.any(covariance_prior < 0):
            raise _Invalid("covariance_prior_ has a negative variance")
    else:
        _check_positive_definite(
            "covariance_prior_",
            covariance_prior[None],
            _tolerance(np.float64, n_features),
            "",
            semi=True,
        )


def _decoded_parameters(metadata):
    """The stored parameters, with the arrays among them as numpy arrays again."""
    parameters = dict(metadata["parameters"])
    for name in metadata["array_parameters"]:
        try:
            array = np.array(parameters[name])
        except (TypeError, ValueError) as error:
            raise _Invalid(f"its parameter {name!r} is not an array ({error})") from error
        if array.dtype.kind not in "biuf":
            raise _Invalid(f"its parameter {name!r} is not an array of numbers")
        parameters[name] = array
    return parameters


def _checked_estimator(cls, parameters, n_features):
    """``cls(**parameters)``, once the estimator's own validation accepts them."""
    valid = set(cls._get_param_names())
    unknown = sorted(set(parameters) - valid)
    if unknown:
        raise _Invalid(f"{cls.__name__} has no parameter(s) {', '.join(map(repr, unknown))}")
    model = cls(**parameters)
    try:
        options = FitOptions.of(model)
        options.for_features(n_features)
        validation.check_random_state(model.random_state)
        validation.check_bool(model.warm_start, "warm_start")
        if hasattr(model, "weight_concentration_prior_type"):
            check_priors(
                check_prior_type(model.weight_concentration_prior_type),
                model.weight_concentration_prior,
                model.mean_precision_prior,
                model.mean_prior,
                model.degrees_of_freedom_prior,
                model.covariance_prior,
                options.covariance_type,
                options.n_components,
                n_features,
            )
    except (TypeError, ValueError) as error:
        raise _Invalid(f"its parameters are not valid: {error}") from error
    return model


# -- building ---------------------------------------------------------------------------------


def _build_estimator(model, metadata, arrays, class_name):
    """Set the attributes of ``_base.MixtureBase._set_fitted_mixture`` (and the Bayesian
    mixture's ``_set_fitted``) on ``model`` from checked metadata and arrays."""
    for name in _MIXTURE_ARRAYS:
        setattr(model, name, arrays[name])
    model.converged_ = metadata["converged_"]
    model.n_iter_ = metadata["n_iter_"]
    model.lower_bound_ = _float_field(metadata, "lower_bound_", ("-inf",))
    model.lower_bounds_ = [float(bound) for bound in arrays["lower_bounds_"]]
    model.n_degenerate_ = metadata["n_degenerate_"]
    model.n_features_in_ = metadata["n_features_in_"]
    if metadata["feature_names_in_"] is not None:
        model.feature_names_in_ = np.asarray(metadata["feature_names_in_"], dtype=object)
    model._fitted_covariance_type = metadata["covariance_type"]
    if class_name == "BayesianGaussianMixture":
        prior_type = metadata["weight_concentration_prior_type"]
        wc = arrays["weight_concentration_"]
        weight_concentration = (wc[0], wc[1]) if prior_type == "dirichlet_process" else wc
        dof = arrays["degrees_of_freedom_"]
        degrees_of_freedom = dof[()] if dof.ndim == 0 else dof
        model._posterior = Posterior(
            weight_concentration,
            arrays["mean_precision_"],
            arrays["posterior_means"],
            degrees_of_freedom,
            arrays["posterior_covariances"],
            arrays["posterior_precisions_cholesky"],
        )
        model.weight_concentration_prior_ = _float_field(metadata, "weight_concentration_prior_")
        model.mean_precision_prior_ = _float_field(metadata, "mean_precision_prior_")
        model.mean_prior_ = arrays["mean_prior_"]
        model.degrees_of_freedom_prior_ = _float_field(metadata, "degrees_of_freedom_prior_")
        covariance_prior = arrays["covariance_prior_"]
        model.covariance_prior_ = (
            float(covariance_prior) if covariance_prior.ndim == 0 else covariance_prior
        )
        model.weight_concentration_ = weight_concentration
        model.mean_precision_ = arrays["mean_precision_"]
        model.degrees_of_freedom_ = degrees_of_freedom
        model._fitted_prior_type = prior_type
        model.full_lower_bound_ = _float_field(
            metadata, "full_lower_bound_", ("nan", "inf", "-inf")
        )
    return model


def _build_result(metadata, arrays):
    from ..models.gaussian_mixture import GaussianMixtureResult

    def frozen(name):
        array = arrays[name]
        array.setflags(write=False)
        return array

    return GaussianMixtureResult(
        weights=frozen("weights_"),
        means=frozen("means_"),
        covariances=frozen("covariances_"),
        precisions_cholesky=frozen("precisions_cholesky_"),
        covariance_type=metadata["covariance_type"],
        lower_bound=_float_field(metadata, "lower_bound_", ("-inf",)),
        lower_bounds=tuple(float(bound) for bound in arrays["lower_bounds_"]),
        log_likelihood=_float_field(metadata, "log_likelihood", ("-inf",)),
        n_iter=metadata["n_iter_"],
        converged=metadata["converged_"],
        n_degenerate=metadata["n_degenerate_"],
    )


# -- scikit-learn ---------------------------------------------------------------------------


def _sklearn_mixture(what):
    """``sklearn.mixture``, or an ImportError that says ``what`` needs it."""
    try:
        from sklearn import mixture
    except ImportError as error:
        raise ImportError(
            f"{what} needs scikit-learn, which is not installed (or failed to import: "
            f"{error}). Install it with: pip install scikit-learn"
        ) from error
    return mixture


def _copied(value):
    """A copy of a fitted attribute (arrays, and tuples of them), so that the two
    estimators share nothing."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, tuple):
        return tuple(_copied(item) for item in value)
    if isinstance(value, list):
        return list(value)
    return value
