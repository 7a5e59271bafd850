"""Saving a fitted model: its metadata (JSON) and arrays, written to one ``.npz`` file."""

import json
import math
import numbers

import numpy as np

from ..covariance import COVARIANCE_TYPES, FACTOR_TYPES
from .format import (
    METADATA_KEY,
    as_float64,
    checked_path,
    encode_float,
    header,
    mixture_arrays,
    precisions_of,
)
from .registry import class_name_of, model_class


def save(model, path):
    """Write the fitted ``model`` to ``path`` (the package docstring, ``fastgmm.io``,
    describes the format)."""
    path = checked_path(path)
    metadata, arrays = _describe(model)
    text = json.dumps(metadata, allow_nan=False)
    entries = {METADATA_KEY: np.frombuffer(text.encode("utf-8"), dtype=np.uint8)}
    entries.update(arrays)
    with open(path, "wb") as file:
        np.savez_compressed(file, **entries)


def _describe(model):
    """``(metadata, arrays)`` of a fitted fastgmm model, as ``save`` writes them."""
    class_name = class_name_of(model)
    if class_name == "GaussianMixtureResult":
        return _describe_result(model)
    covariance = model._fitted_covariance()  # NotFittedError before fit
    names = getattr(model, "feature_names_in_", None)
    metadata = header(class_name)
    metadata.update(
        covariance_type=covariance.name,
        dtype=np.dtype(model.means_.dtype).name,
        n_components=int(model.means_.shape[0]),
        n_features_in_=int(model.n_features_in_),
        converged_=bool(model.converged_),
        n_iter_=int(model.n_iter_),
        lower_bound_=encode_float(model.lower_bound_),
        n_degenerate_=int(model.n_degenerate_),
        feature_names_in_=None if names is None else [str(name) for name in names],
    )
    if covariance.name in FACTOR_TYPES:
        metadata["n_factors"] = covariance.n_factors
    metadata.update(_encode_parameters(model))
    arrays = {name: np.asarray(getattr(model, name)) for name in mixture_arrays(covariance.name)}
    arrays["lower_bounds_"] = np.asarray(model.lower_bounds_, dtype=np.float64).reshape(-1)
    if class_name == "BayesianGaussianMixture":
        posterior = model._posterior
        metadata.update(
            weight_concentration_prior_type=model._fitted_prior_type,
            weight_concentration_prior_=encode_float(model.weight_concentration_prior_),
            mean_precision_prior_=encode_float(model.mean_precision_prior_),
            degrees_of_freedom_prior_=encode_float(model.degrees_of_freedom_prior_),
            full_lower_bound_=encode_float(model.full_lower_bound_),
        )
        arrays.update(
            weight_concentration_=as_float64(posterior.weight_concentration),
            mean_precision_=as_float64(posterior.mean_precision),
            degrees_of_freedom_=as_float64(posterior.degrees_of_freedom),
            mean_prior_=as_float64(model.mean_prior_),
            covariance_prior_=as_float64(model.covariance_prior_),
            posterior_means=as_float64(posterior.means),
            posterior_covariances=as_float64(posterior.covariances),
            posterior_precisions_cholesky=as_float64(posterior.precisions_cholesky),
        )
    return metadata, arrays


def _describe_result(result):
    dtype = result.means.dtype
    metadata = header("GaussianMixtureResult")
    metadata.update(
        covariance_type=result.covariance_type,
        dtype=np.dtype(dtype).name,
        n_components=int(result.means.shape[0]),
        n_features_in_=int(result.means.shape[1]),
        converged_=bool(result.converged),
        n_iter_=int(result.n_iter),
        lower_bound_=encode_float(result.lower_bound),
        n_degenerate_=int(result.n_degenerate),
        log_likelihood=encode_float(result.log_likelihood),
    )
    arrays = {"weights_": np.asarray(result.weights), "means_": np.asarray(result.means)}
    if result.covariance_type in FACTOR_TYPES:
        metadata["n_factors"] = int(result.loadings.shape[1])
        arrays.update(
            loadings_=np.asarray(result.loadings),
            noise_variance_=np.asarray(result.noise_variance),
        )
    else:
        covariance = COVARIANCE_TYPES[result.covariance_type]
        arrays.update(
            covariances_=np.asarray(result.covariances),
            precisions_=precisions_of(covariance, result.precisions_cholesky).astype(dtype),
            precisions_cholesky_=np.asarray(result.precisions_cholesky),
        )
    arrays["lower_bounds_"] = np.asarray(result.lower_bounds, dtype=np.float64).reshape(-1)
    return metadata, arrays


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
    names = model_class(class_name_of(model))._get_param_names()
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
