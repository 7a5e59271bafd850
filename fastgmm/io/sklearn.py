"""Converting fitted models to and from scikit-learn's estimators (scikit-learn is
imported only here, and only when a conversion is asked for)."""

from __future__ import annotations

import copy
import inspect

import numpy as np

from ..covariance import COVARIANCE_TYPES, FACTOR_TYPES
from ..exceptions import NotFittedError
from .format import (
    MIXTURE_ARRAYS,
    POSTERIOR_ARRAYS,
    InvalidModel,
    encode_float,
    header,
    precisions_of,
)
from .read import restore
from .registry import class_name_of


def to_sklearn(model, as_full=False):
    """The scikit-learn estimator with ``model``'s parameters and fitted attributes; a
    mixture of factor analysers only ``as_full`` (its 'full' covariances)."""
    class_name = class_name_of(model)
    fitted_type = (
        model.covariance_type
        if class_name == "GaussianMixtureResult"
        else model._fitted_covariance().name  # NotFittedError before fit
    )
    if fitted_type in FACTOR_TYPES:
        if not as_full:
            raise ValueError(
                f"scikit-learn has no {fitted_type!r} covariance type (no mixture of factor "
                "analysers); to_sklearn(as_full=True) converts the model to 'full' "
                "covariances, W W^T + Psi for each component, which score the same."
            )
        fitted_type = "full"
    mixture = _sklearn_mixture(f"{type(model).__name__}.to_sklearn")
    if class_name == "GaussianMixtureResult":
        covariance = COVARIANCE_TYPES[fitted_type]
        estimator = mixture.GaussianMixture(
            n_components=model.means.shape[0], covariance_type=covariance.name
        )
        attributes = {
            "weights_": model.weights,
            "means_": model.means,
            "covariances_": model.covariances,
            "precisions_cholesky_": model.precisions_cholesky,
            "precisions_": precisions_of(covariance, model.precisions_cholesky),
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
        params["covariance_type"] = fitted_type
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
    class_name = class_name_of(cls)
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
        return restore(metadata, arrays, parameters_from_json=False, cls=cls)
    except InvalidModel as problem:
        raise ValueError(f"Cannot convert the scikit-learn {class_name}: {problem}") from (
            problem.__cause__
        )


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
            raise InvalidModel(
                f"its means_ has shape {means.shape}, not (n_components, n_features)"
            )
        dtype = means.dtype if means.dtype in (np.float32, np.float64) else np.dtype(np.float64)
        names = getattr(estimator, "feature_names_in_", None)
        ours = set(cls._get_param_names())
        metadata = header(class_name)
        metadata.update(
            covariance_type=estimator.covariance_type,
            dtype=np.dtype(dtype).name,
            n_components=int(means.shape[0]),
            n_features_in_=int(estimator.n_features_in_),
            converged_=bool(estimator.converged_),
            n_iter_=int(estimator.n_iter_),
            lower_bound_=encode_float(np.squeeze(estimator.lower_bound_)),
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
        arrays = {name: np.array(getattr(estimator, name), dtype=dtype) for name in MIXTURE_ARRAYS}
        # scikit-learn < 1.7 has no lower_bounds_.
        lower_bounds = getattr(estimator, "lower_bounds_", [])
        arrays["lower_bounds_"] = np.array(lower_bounds, dtype=np.float64).reshape(-1)
        if class_name == "BayesianGaussianMixture":
            metadata.update(
                weight_concentration_prior_type=estimator.weight_concentration_prior_type,
                weight_concentration_prior_=encode_float(estimator.weight_concentration_prior_),
                mean_precision_prior_=encode_float(estimator.mean_precision_prior_),
                degrees_of_freedom_prior_=encode_float(estimator.degrees_of_freedom_prior_),
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
            for name in POSTERIOR_ARRAYS:
                public = name.replace("posterior_", "") + "_"
                arrays[name] = np.array(getattr(estimator, public), dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise InvalidModel(f"its fitted attributes are not what scikit-learn sets ({error})") from (
            error
        )
    return metadata, arrays


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
