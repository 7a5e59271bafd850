"""What loading checks of a saved model's metadata and arrays before it builds the model
(the package docstring, ``fastgmm.io``, lists every check)."""

import math
from types import SimpleNamespace

import numpy as np

from .._version import __version__
from ..covariance import COVARIANCE_TYPE_NAMES, FACTOR_TYPES
from ..em.priors import PRIOR_TYPES
from ..em.variational import weights as expected_weights
from .format import (
    CLASS_NAMES,
    DTYPES,
    FORMAT_NAME,
    FORMAT_VERSION,
    POSTERIOR_ARRAYS,
    WEIGHT_SUM_TOLERANCE,
    InvalidModel,
    fields,
)


def check_header(metadata):
    """The class name, once the format and its version are known ones."""
    for name in ("format", "format_version", "class"):
        if name not in metadata:
            raise InvalidModel(
                f"its metadata has no {name!r} field, so it is not a fastgmm model file"
            )
    if metadata["format"] != FORMAT_NAME:
        raise InvalidModel(
            f"its metadata's format is {metadata['format']!r}, not {FORMAT_NAME!r}: it is not "
            "a fastgmm model file"
        )
    version = metadata["format_version"]
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise InvalidModel(f"its format_version {version!r} is not a format version (an int >= 1)")
    if version > FORMAT_VERSION:
        raise InvalidModel(
            f"it is in format version {version}, newer than this fastgmm ({__version__}) reads "
            f"(versions up to {FORMAT_VERSION}); it was written by fastgmm "
            f"{metadata.get('fastgmm_version', '(unknown)')}: upgrade fastgmm to load it"
        )
    class_name = metadata["class"]
    if class_name not in CLASS_NAMES:
        raise InvalidModel(
            f"its metadata names an unknown class {class_name!r} (fastgmm saves "
            f"{', '.join(CLASS_NAMES)})"
        )
    return class_name


def _field_error(name, value, expected):
    return InvalidModel(f"its metadata field {name!r} must be {expected}, got {value!r}")


def _int_field(metadata, name, minimum):
    value = metadata[name]
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _field_error(name, value, f"an int >= {minimum}")
    return value


def float_field(metadata, name, non_finite=()):
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
        raise InvalidModel(
            f"its metadata field {name!r} has {len(value)} names for {length} features"
        )
    return value


def check_fields(metadata, class_name):
    """Every field of the class present, nothing else, each of the right type."""
    expected = fields(class_name, metadata.get("covariance_type"))
    missing = [name for name in expected if name not in metadata]
    if missing:
        raise InvalidModel(f"its metadata lacks the field(s) {', '.join(map(repr, missing))}")
    unexpected = sorted(set(metadata) - set(expected))
    if unexpected:
        raise InvalidModel(
            f"its metadata has field(s) a {class_name} file does not have: "
            f"{', '.join(map(repr, unexpected))}"
        )
    if not isinstance(metadata["fastgmm_version"], str):
        raise _field_error("fastgmm_version", metadata["fastgmm_version"], "a string")
    _choice_field(metadata, "covariance_type", COVARIANCE_TYPE_NAMES)
    _choice_field(metadata, "dtype", DTYPES)
    _int_field(metadata, "n_components", 1)
    n_features = _int_field(metadata, "n_features_in_", 1)
    if metadata["covariance_type"] in FACTOR_TYPES:
        n_factors = _int_field(metadata, "n_factors", 1)
        if n_factors > n_features:
            raise InvalidModel(
                f"its n_factors ({n_factors}) is more than its n_features_in_ ({n_features})"
            )
    if not isinstance(metadata["converged_"], bool):
        raise _field_error("converged_", metadata["converged_"], "true or false")
    n_iter = _int_field(metadata, "n_iter_", 0)
    _int_field(metadata, "n_degenerate_", 0)
    lower_bound = float_field(metadata, "lower_bound_", ("-inf",))
    if lower_bound == -math.inf and n_iter > 0:
        raise InvalidModel("its lower_bound_ is -inf after n_iter_ > 0 iterations")
    if class_name == "GaussianMixtureResult":
        float_field(metadata, "log_likelihood", ("-inf",))
        return
    if metadata["feature_names_in_"] is not None:
        _string_list_field(metadata, "feature_names_in_", n_features)
    parameters = metadata["parameters"]
    if not isinstance(parameters, dict):
        raise _field_error("parameters", parameters, "an object of parameter names and values")
    _string_list_field(metadata, "parameters_not_stored")
    not_parameters = set(_string_list_field(metadata, "array_parameters")) - set(parameters)
    if not_parameters:
        raise InvalidModel(
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
            float_field(metadata, name)
        float_field(metadata, "full_lower_bound_", ("nan", "inf", "-inf"))


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
    specs = {"weights_": ((k,), dtype), "means_": ((k, d), dtype)}
    if covariance_type in FACTOR_TYPES:
        noise_shape = (k,) if FACTOR_TYPES[covariance_type] else (k, d)
        specs.update(
            loadings_=((k, metadata["n_factors"], d), dtype),
            noise_variance_=(noise_shape, dtype),
        )
    else:
        shape = _covariance_shape(covariance_type, k, d)
        specs.update(
            covariances_=(shape, dtype),
            precisions_=(shape, dtype),
            precisions_cholesky_=(shape, dtype),
        )
    specs["lower_bounds_"] = (None, np.dtype(np.float64))
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


def check_arrays(metadata, arrays, class_name):
    """Every array of the class present, nothing else, each of the right dtype and shape,
    all finite."""
    specs = _array_specs(metadata, class_name)
    missing = [name for name in specs if name not in arrays]
    if missing:
        raise InvalidModel(f"the array(s) {', '.join(map(repr, missing))} are missing")
    unexpected = sorted(set(arrays) - set(specs))
    if unexpected:
        raise InvalidModel(
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
            raise InvalidModel(
                f"{name} has dtype {array.dtype}, expected {dtype} (the model's dtype)"
            )
        if shape is None:
            if array.ndim != 1 or len(array) > metadata["n_iter_"]:
                raise InvalidModel(
                    f"{name} has shape {array.shape}, expected one value per iteration "
                    f"(at most n_iter_ = {metadata['n_iter_']})"
                )
        elif array.shape != shape:
            raise InvalidModel(f"{name} has shape {array.shape}, expected {shape} for {where}")
        if not np.all(np.isfinite(array)):
            raise InvalidModel(f"{name} holds NaN or infinite values")


def _tolerance(dtype, n=1):
    """Relative rounding allowed in checks of ``n``-term sums of ``dtype`` numbers."""
    return 100.0 * n * np.finfo(dtype).eps


def check_values(metadata, arrays, class_name):
    """The values describe a valid mixture (``fastgmm.io``'s docstring lists the checks)."""
    dtype = metadata["dtype"]
    covariance_type = metadata["covariance_type"]
    weights = arrays["weights_"].astype(np.float64)
    if np.any(weights < 0):
        raise InvalidModel(f"weights_ has a negative value ({weights.min()!r})")
    total, tolerance = float(weights.sum()), WEIGHT_SUM_TOLERANCE[dtype]
    # Before any iteration (max_iter=0), the initial weights of 'random_from_data' and
    # 'k-means++' are N_k / N of K one-hot rows, summing to K / N, as scikit-learn's.
    if not (abs(total - 1.0) <= tolerance or (metadata["n_iter_"] == 0 and 0 < total < 1)):
        raise InvalidModel(f"weights_ sums to {total!r}, not 1")
    if covariance_type in FACTOR_TYPES:
        noise = arrays["noise_variance_"]
        if not np.all(noise > 0):
            raise InvalidModel(
                f"noise_variance_ has a value that is not positive ({float(noise.min())!r})"
            )
    else:
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
                raise InvalidModel(
                    f"{name} of component {k} has a value that is not > 0: variances and "
                    "precisions must be positive"
                )
        tolerance = _tolerance(dtype)
        if precisions is not None:
            precisions = np.asarray(precisions, dtype=np.float64)
            if not np.all(np.abs(precisions - factors**2) <= tolerance * factors**2):
                raise InvalidModel(f"{names[2]} does not agree with {names[1]} (precision = U^2)")
        if not np.all(np.abs(covariances * factors**2 - 1.0) <= tolerance):
            raise InvalidModel(f"{names[0]} is not the inverse of the precision of {names[1]}")
        return
    covariances, factors = _stack(covariances, covariance_type), _stack(factors, covariance_type)
    n_features = covariances.shape[-1]
    tolerance = _tolerance(dtype, n_features)
    component = "" if covariance_type == "tied" else " of component {}"
    lower = np.tril(factors, -1) != 0
    if lower.any():
        k = _first(lower.any(axis=(1, 2)))
        raise InvalidModel(
            f"{names[1]}{component.format(k)} is not upper-triangular (precision = U U^T)"
        )
    diagonal_bad = ~(np.diagonal(factors, axis1=1, axis2=2) > 0)
    if diagonal_bad.any():
        k = _first(diagonal_bad.any(axis=1))
        raise InvalidModel(
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
            raise InvalidModel(
                f"{names[2]}{component.format(_first(disagree))} does not agree with "
                f"{names[1]} (precision = U U^T)"
            )
    # Covariance times precision against the identity, to the rounding of an inverse
    # (relative to the condition number).
    residual = np.abs(covariances @ products - np.eye(n_features)).max(axis=(1, 2))
    scale = np.linalg.norm(covariances, 2, axis=(1, 2)) * np.linalg.norm(products, 2, axis=(1, 2))
    not_inverse = ~(residual <= tolerance * scale)
    if not_inverse.any():
        raise InvalidModel(
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
        raise InvalidModel(f"{name}{component.format(_first(asymmetric))} is not symmetric")
    eigenvalues = np.linalg.eigvalsh(matrices)
    largest = eigenvalues[:, -1]
    indefinite = ~(
        ((largest >= 0) if semi else (largest > 0)) & (eigenvalues[:, 0] >= -tolerance * largest)
    )
    if indefinite.any():
        k = _first(indefinite)
        raise InvalidModel(
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
            raise InvalidModel(f"{name} has a value that is not > {minimum:g}")
    for name in POSTERIOR_ARRAYS:
        public = name.replace("posterior_", "") + "_"
        if not np.array_equal(arrays[name].astype(dtype), arrays[public]):
            raise InvalidModel(f"{public} is not {name} in {dtype}")
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
        raise InvalidModel("weights_ are not the expected weights of weight_concentration_")
    # The fitted priors: those the fit used. The default covariance prior is the data's
    # covariance, which is only positive semi-definite (a constant feature gives a zero
    # variance), so it is checked as that, not as a prior given as a parameter.
    for name, minimum in (
        ("weight_concentration_prior_", 0.0),
        ("mean_precision_prior_", 0.0),
        ("degrees_of_freedom_prior_", n_features - 1.0),
    ):
        value = float_field(metadata, name)
        if not (math.isfinite(value) and value > minimum):
            raise InvalidModel(
                f"its fitted prior {name} is {value!r}, not a finite number > {minimum:g}"
            )
    covariance_prior = arrays["covariance_prior_"]
    if covariance_type in ("diag", "spherical"):
        if np.any(covariance_prior < 0):
            raise InvalidModel("covariance_prior_ has a negative variance")
    else:
        _check_positive_definite(
            "covariance_prior_",
            covariance_prior[None],
            _tolerance(np.float64, n_features),
            "",
            semi=True,
        )
