"""The options of one fit, and its entrance: ``FitOptions`` and ``FitRequest``.

Every estimator parameter that steers EM (the number of components, the covariance
type, tolerances, initialisation, the stepwise-EM schedule, ...) is checked here and
carried down as one frozen ``FitOptions``.  ``FitRequest.checked`` is where a fit
starts: it converts and checks the data (``fastgmm.data.validation``), the initial
parameters against the number of features (``FitOptions.for_features``), the weights
and labels (``fastgmm.data.make_source``), and holds the source, the options, the
random state and the feature names that the loops below take as they are.
"""

import dataclasses
import numbers

import numpy as np

from ..covariance import COVARIANCE_TYPE_NAMES, FACTOR_TYPES, covariance_type
from ..data import make_source
from ..data.validation import (
    check_bool,
    check_callback,
    check_choice,
    check_float_array,
    check_input,
    check_integer,
    check_n_jobs,
    check_n_samples,
    check_real,
    feature_names,
)
from ..exceptions import InvalidParameterError

INIT_PARAMS_NAMES = ("kmeans", "k-means++", "random", "random_from_data")
ON_DEGENERATE_NAMES = ("reseed", "raise")
MISSING_VALUES_NAMES = ("raise", "marginalize")


def _check_persist(persist):
    if not (
        isinstance(persist, (bool, np.bool_)) or (isinstance(persist, str) and persist == "auto")
    ):
        raise InvalidParameterError(
            f"The 'persist' parameter must be 'auto', True or False; got {persist!r}."
        )
    return persist if isinstance(persist, str) else bool(persist)


@dataclasses.dataclass(frozen=True)
class FitOptions:
    """The options of one fit, checked: what ``GaussianMixture`` and ``fastgmm.fit`` share.

    Make it with ``FitOptions.checked(**options)`` (every field by name); the
    array options are checked against the data's shape by ``for_features``.
    """

    n_components: int
    covariance_type: str
    tol: float
    reg_covar: float
    max_iter: int
    n_init: int
    init_params: str
    weights_init: object
    means_init: object
    precisions_init: object
    on_degenerate: str
    verbose: int
    verbose_interval: int
    persist: object  # 'auto', True or False
    n_jobs: object  # None or a non-zero int
    progress: bool = False
    callback: object = None  # None or a callable taking an em.progress.IterationInfo
    missing_values: str = "raise"  # or 'marginalize'
    batch_size: object = None  # None (full-batch EM) or an int >= 1: mini-batch EM
    polish: int = 0  # full-batch iterations after mini-batch EM
    learning_decay: float = 0.7  # stepwise EM's step sizes (em/online.py)
    learning_offset: float = 2.0
    n_factors: object = None  # None, or the number of latent factors of 'factor' and 'ppca'

    @classmethod
    def names(cls):
        """The option names, which are also the estimator's constructor parameters."""
        return [field.name for field in dataclasses.fields(cls)]

    @classmethod
    def checked(
        cls,
        *,
        n_components,
        covariance_type,
        tol,
        reg_covar,
        max_iter,
        n_init,
        init_params,
        weights_init,
        means_init,
        precisions_init,
        on_degenerate,
        verbose,
        verbose_interval,
        persist,
        n_jobs,
        progress=False,
        callback=None,
        missing_values="raise",
        batch_size=None,
        polish=0,
        learning_decay=0.7,
        learning_offset=2.0,
        n_factors=None,
    ):
        """The options with their scalars checked and normalised (arrays as given)."""
        options = cls(
            n_components=check_integer(n_components, "n_components", 1),
            covariance_type=check_choice(covariance_type, "covariance_type", COVARIANCE_TYPE_NAMES),
            tol=check_real(tol, "tol"),
            reg_covar=check_real(reg_covar, "reg_covar"),
            max_iter=check_integer(max_iter, "max_iter", 0),
            n_init=check_integer(n_init, "n_init", 1),
            init_params=check_choice(init_params, "init_params", INIT_PARAMS_NAMES),
            weights_init=weights_init,
            means_init=means_init,
            precisions_init=precisions_init,
            on_degenerate=check_choice(on_degenerate, "on_degenerate", ON_DEGENERATE_NAMES),
            verbose=check_integer(
                int(verbose) if isinstance(verbose, bool) else verbose, "verbose", 0
            ),
            verbose_interval=check_integer(verbose_interval, "verbose_interval", 1),
            persist=_check_persist(persist),
            n_jobs=check_n_jobs(n_jobs),
            progress=check_bool(progress, "progress"),
            callback=check_callback(callback),
            missing_values=check_missing_values(missing_values),
            batch_size=None if batch_size is None else check_integer(batch_size, "batch_size", 1),
            polish=check_integer(polish, "polish", 0),
            learning_decay=check_learning_decay(learning_decay),
            learning_offset=check_learning_offset(learning_offset),
            n_factors=None if n_factors is None else check_integer(n_factors, "n_factors", 1),
        )
        if options.covariance_type in FACTOR_TYPES:
            options.check_factor_model()
        return options

    def check_factor_model(self):
        """'factor' and 'ppca' need ``n_factors``; what they do not support yet is an
        error (NotImplementedError) rather than something silently different."""
        name = self.covariance_type
        if self.n_factors is None:
            raise InvalidParameterError(
                f"covariance_type={name!r} needs n_factors, the number of latent factors per "
                "component (an int >= 1, at most the number of features)."
            )
        unsupported = {
            "precisions_init": self.precisions_init is not None,
            "missing_values='marginalize'": self.marginalize,
        }
        for what, asked in unsupported.items():
            if asked:
                raise NotImplementedError(
                    f"{what} is not implemented for covariance_type={name!r} yet; use 'full', "
                    "'tied', 'diag' or 'spherical' for it."
                )

    @classmethod
    def of(cls, estimator):
        """The checked options of an estimator's parameters; an option the estimator does
        not have (the Bayesian mixture has no ``means_init``, ``batch_size``, ...) takes
        its default."""
        return cls.checked(
            **{name: getattr(estimator, name, _OPTION_DEFAULTS.get(name)) for name in cls.names()}
        )

    @property
    def marginalize(self):
        """Whether NaN in the data are missing values to integrate out."""
        return self.missing_values == "marginalize"

    @property
    def covariance(self):
        """The ``CovarianceType`` of ``covariance_type`` (and ``n_factors``)."""
        return covariance_type(self.covariance_type, self.n_factors)

    def for_features(self, n_features):
        """These options with ``weights_init``, ``means_init`` and ``precisions_init``
        checked against ``n_components`` and ``n_features`` (as float64 arrays)."""
        k = self.n_components
        if self.covariance_type in FACTOR_TYPES and self.n_factors > n_features:
            raise ValueError(
                f"n_factors={self.n_factors} must be at most the number of features, {n_features}."
            )
        return dataclasses.replace(
            self,
            weights_init=None
            if self.weights_init is None
            else check_weights_init(self.weights_init, k),
            means_init=None
            if self.means_init is None
            else check_means_init(self.means_init, k, n_features),
            precisions_init=None
            if self.precisions_init is None
            else check_precisions_init(self.precisions_init, self.covariance_type, k, n_features),
        )


def check_missing_values(missing_values):
    """The ``missing_values`` option: 'raise' or 'marginalize'."""
    return check_choice(missing_values, "missing_values", MISSING_VALUES_NAMES)


# Defaults of the options that not every estimator has (``FitOptions.of``); the others: None.
_OPTION_DEFAULTS = {
    "missing_values": "raise",
    "polish": 0,
    "learning_decay": 0.7,
    "learning_offset": 2.0,
}


def check_learning_offset(learning_offset):
    """Stepwise EM's ``learning_offset``: a finite float >= 1 (so that every step size
    (t + learning_offset)^-learning_decay is at most 1)."""
    value = check_real(learning_offset, "learning_offset")
    if value < 1.0:
        raise InvalidParameterError(
            "The 'learning_offset' parameter must be a finite float >= 1 (step sizes "
            f"(t + learning_offset)^-learning_decay above 1 would overshoot), got "
            f"{learning_offset!r}."
        )
    return value


def check_learning_decay(learning_decay):
    """Stepwise EM's ``learning_decay``: a float in (0.5, 1] (``em/online.py``)."""
    if (
        isinstance(learning_decay, bool)
        or not isinstance(learning_decay, numbers.Real)
        or not 0.5 < learning_decay <= 1.0
    ):
        raise InvalidParameterError(
            "The 'learning_decay' parameter must be a float in (0.5, 1] (the step sizes "
            f"(t + learning_offset)^-learning_decay must sum to infinity, their squares "
            f"not), got {learning_decay!r}."
        )
    return float(learning_decay)


def check_weights_init(weights, n_components):
    weights = check_float_array(weights, "weights", (n_components,))
    if np.any(weights < 0.0) or np.any(weights > 1.0):
        # scikit-learn's words, which its tests match, labels swapped and all.
        raise ValueError(
            "The parameter 'weights' should be in the range [0, 1], but got "
            f"max value {weights.min():.5f}, min value {weights.max():.5f} (the smallest "
            f"weight is {weights.min():.5f}, the largest {weights.max():.5f})"
        )
    if not np.allclose(abs(1.0 - weights.sum()), 0.0, atol=1e-8):
        raise ValueError(
            "The parameter 'weights' should be normalized, but got sum(weights) = "
            f"{weights.sum():.5f}"
        )
    return weights


def check_means_init(means, n_components, n_features):
    return check_float_array(means, "means", (n_components, n_features))


def check_positive_definite(matrix, covariance_type):
    if not (np.allclose(matrix, matrix.T) and np.all(np.linalg.eigvalsh(matrix) > 0.0)):
        raise ValueError(f"'{covariance_type} precision' should be symmetric, positive-definite")


def check_each_positive_definite(matrices, covariance_type):
    for matrix in matrices:
        check_positive_definite(matrix, covariance_type)


def check_positive(values, covariance_type):
    if np.any(values <= 0.0):
        raise ValueError(f"'{covariance_type} precision' should be positive")


# covariance_type: (shape of precisions_init for K components and D features, its check)
_PRECISIONS_INIT = {
    "full": (lambda k, d: (k, d, d), check_each_positive_definite),
    "tied": (lambda k, d: (d, d), check_positive_definite),
    "diag": (lambda k, d: (k, d), check_positive),
    "spherical": (lambda k, d: (k,), check_positive),
}


def check_precisions_init(precisions, covariance_type, n_components, n_features):
    shape, check = _PRECISIONS_INIT[covariance_type]
    precisions = check_float_array(
        precisions, f"{covariance_type} precision", shape(n_components, n_features)
    )
    check(precisions, covariance_type)
    return precisions


@dataclasses.dataclass(frozen=True)
class FitRequest:
    """One fit's inputs, checked once at the entrance (``FitRequest.checked``): the data's
    source, the options (initial parameters checked against the data), the random state,
    the feature names and what the estimator's own checks prepared.  The loops below take
    its parts as they are."""

    source: object  # a fastgmm.data.sources.Source
    options: FitOptions
    random_state: np.random.RandomState
    feature_names: object  # an array of str, or None
    prepared: object = None  # what ``prepare`` returned

    @classmethod
    def checked(
        cls,
        X,
        options,
        random_state,
        sample_weight=None,
        component_labels=None,
        *,
        with_feature_names=True,
        prepare=None,
    ):
        """The request of a fit of ``X`` (as the user gave it) with checked ``options``
        and ``random_state`` (``check_random_state``).

        The checks run in this order, the cheap ones first, before any pass over the
        rows: the feature names (``with_feature_names``: an estimator
        keeps them, ``fastgmm.fit`` does not); the data, converted (``check_input``); at
        least ``n_components`` rows; ``prepare(n_features)``, the estimator's own checks
        that need the number of features (a warm start's shapes, the priors), whose
        result the request keeps as ``prepared``; the initial parameters; the labels
        and the weights (``make_source``, which also makes the source).
        """
        names = feature_names(X) if with_feature_names else None
        X = check_input(X, min_samples=2, allow_nan=options.marginalize)
        check_n_samples(X, options.n_components)
        prepared = None if prepare is None else prepare(X.shape[1])
        options = options.for_features(X.shape[1])
        source = make_source(
            X,
            options.covariance,
            options.n_components,
            sample_weight,
            options.n_jobs,
            component_labels,
            options.marginalize,
        )
        return cls(source, options, random_state, names, prepared)

    @property
    def n_features(self):
        return self.source.X.shape[1]
