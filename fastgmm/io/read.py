"""Loading a saved model: reading the file, checking it whole (``checks``), building the
model of the class it names (found through ``registry``)."""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from ..covariance import FACTOR_TYPES
from ..covariance import covariance_type as make_covariance_type
from ..data import validation
from ..em.options import FitOptions
from ..em.priors import check_prior_type, check_priors
from ..em.variational import Posterior
from .checks import check_arrays, check_fields, check_header, check_values, float_field
from .format import (
    METADATA_KEY,
    InvalidModel,
    checked_path,
    mixture_arrays,
)
from .registry import model_class


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
    the model is built (the package ``fastgmm.io`` documents the format and
    the checks).
    """
    path = checked_path(path)
    try:
        metadata, arrays = _read(path)
        return restore(metadata, arrays, parameters_from_json=True)
    except InvalidModel as problem:
        raise ValueError(f"Cannot load a fastgmm model from {path!r}: {problem}") from (
            problem.__cause__
        )


# -- reading a file -------------------------------------------------------------------------


def _read(path):
    """``(metadata, arrays)`` of the file at ``path``; InvalidModel if numpy cannot read it as
    an ``.npz`` archive of plain arrays and a JSON ``metadata`` entry."""
    # Opened here so that a missing file, a folder or a permission problem keeps its
    # OSError (FileNotFoundError, ...); everything after is about the file's contents.
    with open(path, "rb") as file:
        try:
            archive = np.load(file, allow_pickle=False)
        except Exception as error:  # numpy and zipfile raise many kinds on damaged bytes
            raise InvalidModel(
                f"it is not an .npz archive that numpy reads without pickle ({error})"
            ) from error
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise InvalidModel(
                "it holds a single .npy array, not the .npz archive of a saved model"
            )
        with archive:
            if METADATA_KEY not in archive.files:
                raise InvalidModel(
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
        raise InvalidModel(f"its entry {name!r} cannot be read ({error})") from error
    if not isinstance(value, np.ndarray):
        raise InvalidModel(f"its entry {name!r} is not a .npy array")
    return value


def _reject_constant(token):
    raise ValueError(f"{token} is not a JSON value")


def _parse_metadata(array):
    if array.dtype == np.uint8 and array.ndim == 1:
        try:
            text = array.tobytes().decode("utf-8")
        except UnicodeDecodeError as error:
            raise InvalidModel(f"its {METADATA_KEY!r} entry is not UTF-8 text ({error})") from error
    elif array.dtype.kind == "U" and array.size == 1:
        text = str(array.reshape(()).item())
    else:
        raise InvalidModel(
            f"its {METADATA_KEY!r} entry must be JSON text stored as a 1-D uint8 array or a "
            f"unicode string, got a {array.dtype} array of shape {array.shape}"
        )
    try:
        metadata = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as error:
        raise InvalidModel(f"its {METADATA_KEY!r} entry is not valid JSON ({error})") from error
    if not isinstance(metadata, dict):
        raise InvalidModel(
            f"its {METADATA_KEY!r} entry must be a JSON object, got {type(metadata).__name__}"
        )
    return metadata


# -- restoring a model ------------------------------------------------------------------------


def restore(metadata, arrays, *, parameters_from_json, cls=None):
    """The model that ``metadata`` and ``arrays`` describe, after checking all of them."""
    class_name = check_header(metadata)
    check_fields(metadata, class_name)
    check_arrays(metadata, arrays, class_name)
    check_values(metadata, arrays, class_name)
    if class_name == "GaussianMixtureResult":
        return _build_result(metadata, arrays)
    if cls is None:
        cls = model_class(class_name)
    parameters = metadata["parameters"]
    if parameters_from_json:
        parameters = _decoded_parameters(metadata)
    model = _checked_estimator(cls, parameters, metadata["n_features_in_"])
    return _build_estimator(model, metadata, arrays, class_name)


def _decoded_parameters(metadata):
    """The stored parameters, with the arrays among them as numpy arrays again."""
    parameters = dict(metadata["parameters"])
    for name in metadata["array_parameters"]:
        try:
            array = np.array(parameters[name])
        except (TypeError, ValueError) as error:
            raise InvalidModel(f"its parameter {name!r} is not an array ({error})") from error
        if array.dtype.kind not in "biuf":
            raise InvalidModel(f"its parameter {name!r} is not an array of numbers")
        parameters[name] = array
    return parameters


def _checked_estimator(cls, parameters, n_features):
    """``cls(**parameters)``, once the estimator's own validation accepts them."""
    valid = set(cls._get_param_names())
    unknown = sorted(set(parameters) - valid)
    if unknown:
        raise InvalidModel(f"{cls.__name__} has no parameter(s) {', '.join(map(repr, unknown))}")
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
        raise InvalidModel(f"its parameters are not valid: {error}") from error
    return model


# -- building ---------------------------------------------------------------------------------


def _build_estimator(model, metadata, arrays, class_name):
    """Set the attributes of ``models.base.MixtureBase._set_fitted_mixture`` (and the Bayesian
    mixture's ``_set_fitted``) on ``model`` from checked metadata and arrays."""
    for name in mixture_arrays(metadata["covariance_type"]):
        setattr(model, name, arrays[name])
    model.converged_ = metadata["converged_"]
    model.n_iter_ = metadata["n_iter_"]
    model.lower_bound_ = float_field(metadata, "lower_bound_", ("-inf",))
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
        model.weight_concentration_prior_ = float_field(metadata, "weight_concentration_prior_")
        model.mean_precision_prior_ = float_field(metadata, "mean_precision_prior_")
        model.mean_prior_ = arrays["mean_prior_"]
        model.degrees_of_freedom_prior_ = float_field(metadata, "degrees_of_freedom_prior_")
        covariance_prior = arrays["covariance_prior_"]
        model.covariance_prior_ = (
            float(covariance_prior) if covariance_prior.ndim == 0 else covariance_prior
        )
        model.weight_concentration_ = weight_concentration
        model.mean_precision_ = arrays["mean_precision_"]
        model.degrees_of_freedom_ = degrees_of_freedom
        model._fitted_prior_type = prior_type
        model.full_lower_bound_ = float_field(metadata, "full_lower_bound_", ("nan", "inf", "-inf"))
    return model


def _build_result(metadata, arrays):
    def frozen(name):
        array = arrays[name]
        array.setflags(write=False)
        return array

    covariance_type = metadata["covariance_type"]
    factor_arrays = {}
    if covariance_type in FACTOR_TYPES:  # and the dense arrays, as fastgmm.fit makes them
        factor_arrays = {
            "loadings": frozen("loadings_"),
            "noise_variance": frozen("noise_variance_"),
        }
        covariance = make_covariance_type(covariance_type, metadata["n_factors"])
        dense = covariance.dense_arrays(
            covariance.pack(factor_arrays["loadings"], factor_arrays["noise_variance"])
        )
        for name in ("covariances_", "precisions_cholesky_"):
            arrays[name] = dense[name].astype(metadata["dtype"])
    return model_class("GaussianMixtureResult")(
        weights=frozen("weights_"),
        means=frozen("means_"),
        covariances=frozen("covariances_"),
        precisions_cholesky=frozen("precisions_cholesky_"),
        covariance_type=covariance_type,
        lower_bound=float_field(metadata, "lower_bound_", ("-inf",)),
        lower_bounds=tuple(float(bound) for bound in arrays["lower_bounds_"]),
        log_likelihood=float_field(metadata, "log_likelihood", ("-inf",)),
        n_iter=metadata["n_iter_"],
        converged=metadata["converged_"],
        n_degenerate=metadata["n_degenerate_"],
        **factor_arrays,
    )
