"""The variational mixture's priors: their hyperparameters (``Priors``), the checks of
the estimator's prior parameters, and the defaults taken from the data.

scikit-learn's conventions (``BayesianGaussianMixture``): gamma_0 or alpha_0 =
1 / n_components, beta_0 = 1, m_0 = the data's mean, nu_0 = n_features and
W_0^-1 = the data's covariance, each unless given.
"""

import dataclasses
import numbers
from dataclasses import dataclass

import numpy as np

from ..data.validation import check_choice, check_float_array
from ..exceptions import InvalidParameterError
from .options import check_positive, check_positive_definite

PRIOR_TYPES = ("dirichlet_process", "dirichlet_distribution")


@dataclass(frozen=True)
class Priors:
    """The prior's hyperparameters, as scikit-learn's ``*_prior_`` attributes."""

    prior_type: str
    weight_concentration: float
    mean_precision: float
    mean: np.ndarray
    degrees_of_freedom: float
    covariance: object  # (D, D) for 'full' and 'tied', (D,) for 'diag', a float for 'spherical'


def check_prior_type(prior_type):
    return check_choice(prior_type, "weight_concentration_prior_type", PRIOR_TYPES)


def _check_positive_or_none(value, name):
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not np.isfinite(value)
        or value <= 0
    ):
        raise InvalidParameterError(
            f"The '{name}' parameter must be None or a float > 0, got {value!r}."
        )
    return float(value)


def check_priors(
    prior_type,
    weight_concentration_prior,
    mean_precision_prior,
    mean_prior,
    degrees_of_freedom_prior,
    covariance_prior,
    covariance_type,
    n_components,
    n_features,
):
    """The variational mixture's priors (``Priors``), checked before any pass
    over the data; ``mean`` and ``covariance`` are None where they come from the data
    (``data_priors``).

    scikit-learn's defaults and checks: gamma or alpha_0 = 1 / n_components,
    beta_0 = 1, nu_0 = n_features (> n_features - 1 when given).
    """
    weight_concentration = _check_positive_or_none(
        weight_concentration_prior, "weight_concentration_prior"
    )
    mean_precision = _check_positive_or_none(mean_precision_prior, "mean_precision_prior")
    degrees_of_freedom = _check_positive_or_none(
        degrees_of_freedom_prior, "degrees_of_freedom_prior"
    )
    if degrees_of_freedom is not None and not degrees_of_freedom > n_features - 1.0:
        raise ValueError(
            "The parameter 'degrees_of_freedom_prior' should be greater than "
            f"{n_features - 1}, but got {degrees_of_freedom:.3f}."
        )
    mean = None if mean_prior is None else check_float_array(mean_prior, "means", (n_features,))
    if covariance_prior is None:
        covariance = None
    elif covariance_type in ("full", "tied"):
        covariance = check_float_array(
            covariance_prior, f"{covariance_type} covariance_prior", (n_features, n_features)
        )
        check_positive_definite(covariance, covariance_type)
    elif covariance_type == "diag":
        covariance = check_float_array(
            covariance_prior, f"{covariance_type} covariance_prior", (n_features,)
        )
        check_positive(covariance, covariance_type)
    else:
        covariance = _check_positive_or_none(covariance_prior, "covariance_prior")
    return Priors(
        prior_type=prior_type,
        weight_concentration=1.0 / n_components
        if weight_concentration is None
        else weight_concentration,
        mean_precision=1.0 if mean_precision is None else mean_precision,
        mean=mean,
        degrees_of_freedom=float(n_features) if degrees_of_freedom is None else degrees_of_freedom,
        covariance=covariance,
    )


def data_priors(priors, covariance_type, source):
    """``priors`` with the mean and covariance that were not given taken from the data:
    m_0 = its (weighted) mean, W_0^-1 = its unbiased covariance (the diagonal for 'diag',
    the diagonal's mean for 'spherical'), as scikit-learn's defaults.

    With sample weights the correction is the frequency weights' (total weight W over
    W - 1, as for W repeated rows), so the weights must add up to more than 1 then.
    """
    if priors.mean is not None and priors.covariance is not None:
        return priors
    mean, variance = source.feature_moments()
    covariance = priors.covariance
    if covariance is None:
        if not source.total_weight > 1.0:
            raise ValueError(
                f"The default covariance_prior (the data's unbiased covariance) needs sample "
                f"weights that add up to more than 1 (they count rows), got "
                f"{source.total_weight:g}; pass covariance_prior, or scale the weights."
            )
        # Bessel's correction with the total weight, as numpy.cov / numpy.var(ddof=1).
        unbiased = source.total_weight / (source.total_weight - 1.0)
        if covariance_type in ("full", "tied"):
            covariance = source.feature_covariance() * unbiased
        elif covariance_type == "diag":
            covariance = variance * unbiased
        else:
            covariance = float((variance * unbiased).mean())
    return dataclasses.replace(
        priors, mean=mean if priors.mean is None else priors.mean, covariance=covariance
    )
