"""The variational Bayesian mixture, a drop-in for scikit-learn's ``BayesianGaussianMixture``,
thin over ``em.variational`` (the maths) and the same sources and kernels as ``GaussianMixture``."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from .._threads import thread_limit
from ..covariance import FACTOR_TYPES
from ..data import validation
from ..em.options import FitOptions, FitRequest
from ..em.priors import check_prior_type, check_priors, data_priors
from ..em.variational import (
    VariationalRun,
    expected_log_terms,
    fit_variational,
    full_lower_bound,
    weights,
)
from ..exceptions import ConvergenceWarning, DegenerateComponentWarning, sklearn_compatible
from ..io import register
from .base import NOT_CONVERGED, MixtureBase

if TYPE_CHECKING:
    from collections.abc import Callable

    from numpy.typing import ArrayLike

    from .._typing import (
        CovarianceType,
        Data,
        InitParams,
        MissingValues,
        OnDegenerate,
        Persist,
        RandomState,
        SampleWeight,
    )
    from ..em.progress import IterationInfo

_DEGENERATE = (
    "{n} degenerate component event(s) during the fit: covariances that were not positive "
    "definite were regularised. Set on_degenerate='raise' to get an error instead."
)


@register
class BayesianGaussianMixture(MixtureBase):
    """Variational Bayesian Gaussian mixture, a drop-in for scikit-learn's
    ``BayesianGaussianMixture``.

    The same constructor, attributes, methods and results as scikit-learn
    1.9's estimator (from the same start, the fitted attributes and
    ``lower_bound_`` agree to ~1e-8 relative in float64), computed by the
    fused parallel kernels of :class:`GaussianMixture`: no (n_samples,
    n_components) array during ``fit``, memory-mapped files, ``.npy`` paths
    and Dask arrays as input, ``sample_weight``, ``n_jobs``.

    The prior on the weights is a Dirichlet process (stick-breaking: superfluous
    components get weights near 0) or a Dirichlet distribution; each
    component's mean and precision have a Gaussian-Wishart prior (Bishop,
    PRML section 10.2).

    Parameters
    ----------
    n_components : int, default=1
        The most components the model may use.
    covariance_type : {'full', 'tied', 'diag', 'spherical'}, default='full'
    tol : float, default=1e-3
        Stop when the lower bound changes by less than ``tol``.
    reg_covar : float, default=1e-6
    max_iter : int, default=100
    n_init : int, default=1
    init_params : {'kmeans', 'k-means++', 'random', 'random_from_data'}, default='kmeans'
        As in :class:`GaussianMixture` ('kmeans' and 'k-means++' use fastgmm's k-means).
    weight_concentration_prior_type : {'dirichlet_process', 'dirichlet_distribution'},
            default='dirichlet_process'
    weight_concentration_prior : float > 0, default=None
        gamma (Dirichlet process) or alpha_0 (Dirichlet distribution); None: 1 / n_components.
    mean_precision_prior : float > 0, default=None
        beta_0; None: 1.
    mean_prior : array-like of shape (n_features,), default=None
        m_0; None: the (weighted) mean of ``X``.
    degrees_of_freedom_prior : float > n_features - 1, default=None
        nu_0; None: n_features.
    covariance_prior : float or array-like, default=None
        The prior of the covariances (W_0^-1): (n_features, n_features) for 'full' and
        'tied', (n_features,) for 'diag', a float for 'spherical'; None: the
        (weighted) covariance of ``X`` (unbiased, as ``numpy.cov``).
    random_state, warm_start, verbose, verbose_interval
        As in :class:`GaussianMixture`.
    progress, callback
        As in :class:`GaussianMixture`: a progress line on stderr, and a
        callable called with an ``IterationInfo`` after every iteration
        (``lower_bound``: the variational bound ``lower_bounds_`` records)
        whose true return value stops the fit without a ``ConvergenceWarning``.
    n_jobs, persist, on_degenerate
        fastgmm's additions, as in :class:`GaussianMixture` (``on_degenerate``
        regularises covariances that are not positive definite; components
        are never reseeded: emptying them is the point of the prior).
    missing_values : {'raise', 'marginalize'}, default='raise'
        As in :class:`GaussianMixture`: 'marginalize' treats NaN as values
        missing at random. They become latent variables of the variational
        posterior, q(z_i, x_i,m) q(pi, mu, Lambda): given component k, the
        missing values of a row are Gaussian, with the conditional mean and
        covariance of N(m_k, (nu_k W_k)^-1) given the observed values, so
        the E-step uses each row's observed features only and the M-step the
        expected statistics (for every covariance type; 'diag' and
        'spherical' fill a missing value with m_k,a and add 1 / (nu_k W_k,a)
        to its square). ``lower_bound_`` includes their entropy. With
        missing values the default ``mean_prior`` is the mean of each
        feature's observed values, and the default ``covariance_prior`` has
        their variances on its diagonal and the correlations of the data
        with missing values replaced by those means (positive
        semi-definite). ``predict``, ``score_samples``, ... and ``impute``
        take NaN as :class:`GaussianMixture`'s do.

    Attributes
    ----------
    weights_, means_, covariances_, precisions_, precisions_cholesky_ : ndarray
        scikit-learn's (``covariances_`` are the posterior Wishart scale inverses
        divided by the degrees of freedom).
    weight_concentration_prior_, weight_concentration_ : float, ndarray or tuple
    mean_precision_prior_, mean_precision_ : float, ndarray
    mean_prior_ : ndarray of shape (n_features,)
    degrees_of_freedom_prior_, degrees_of_freedom_ : float, ndarray
    covariance_prior_ : float or ndarray
    converged_, n_iter_, lower_bound_, lower_bounds_, n_features_in_, feature_names_in_
        As scikit-learn's: ``lower_bound_`` is its variational lower bound, which
        leaves out terms that depend on ``n_components``.
    full_lower_bound_ : float
        The complete variational lower bound of the fitted posterior (Bishop
        10.70-10.77, all constants included), comparable across
        ``n_components``: for the 'dirichlet_distribution' prior and 'full'
        covariances, the model Bishop's bound is for (``nan`` otherwise:
        scikit-learn's updates for the other types and for the Dirichlet process
        are not the exact optimum of one model that such a bound describes).
    n_degenerate_ : int
    """

    def __init__(
        self,
        n_components: int = 1,
        *,
        covariance_type: CovarianceType = "full",
        tol: float = 1e-3,
        reg_covar: float = 1e-6,
        max_iter: int = 100,
        n_init: int = 1,
        init_params: InitParams = "kmeans",
        weight_concentration_prior_type: Literal[
            "dirichlet_process", "dirichlet_distribution"
        ] = "dirichlet_process",
        weight_concentration_prior: float | None = None,
        mean_precision_prior: float | None = None,
        mean_prior: ArrayLike | None = None,
        degrees_of_freedom_prior: float | None = None,
        covariance_prior: ArrayLike | float | None = None,
        random_state: RandomState = None,
        warm_start: bool = False,
        n_jobs: int | None = None,
        persist: Persist = "auto",
        on_degenerate: OnDegenerate = "reseed",
        verbose: int = 0,
        verbose_interval: int = 10,
        progress: bool = False,
        callback: Callable[[IterationInfo], Any] | None = None,
        missing_values: MissingValues = "raise",
    ) -> None:
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weight_concentration_prior_type = weight_concentration_prior_type
        self.weight_concentration_prior = weight_concentration_prior
        self.mean_precision_prior = mean_precision_prior
        self.mean_prior = mean_prior
        self.degrees_of_freedom_prior = degrees_of_freedom_prior
        self.covariance_prior = covariance_prior
        self.random_state = random_state
        self.warm_start = warm_start
        self.n_jobs = n_jobs
        self.persist = persist
        self.on_degenerate = on_degenerate
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.progress = progress
        self.callback = callback
        self.missing_values = missing_values

    def fit(
        self, X: Data, y: Any = None, sample_weight: SampleWeight = None
    ) -> BayesianGaussianMixture:
        """Fit the variational posterior.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), .npy path or Dask array
            May hold NaN with ``missing_values='marginalize'``.
        y : ignored
        sample_weight : array-like of shape (n_samples,) or float, default=None
            Non-negative weight of every row: a row of integer weight m counts
            as m copies of it (in the default priors too).

        Returns
        -------
        self : BayesianGaussianMixture
        """
        if isinstance(self.covariance_type, str) and self.covariance_type in FACTOR_TYPES:
            raise NotImplementedError(
                f"BayesianGaussianMixture has no covariance_type={self.covariance_type!r} "
                "(mixtures of factor analysers are a GaussianMixture covariance type)."
            )
        options = FitOptions.of(self)
        random_state = validation.check_random_state(self.random_state)
        warm_start = validation.check_bool(self.warm_start, "warm_start")
        prior_type = check_prior_type(self.weight_concentration_prior_type)

        def priors_and_previous_run(n_features):
            priors = check_priors(
                prior_type,
                self.weight_concentration_prior,
                self.mean_precision_prior,
                self.mean_prior,
                self.degrees_of_freedom_prior,
                self.covariance_prior,
                options.covariance_type,
                options.n_components,
                n_features,
            )
            if not (warm_start and hasattr(self, "converged_")):
                return priors, None
            self._check_warm_start(n_features)
            if self._fitted_prior_type != prior_type:
                raise ValueError(
                    f"warm_start=True continues the previous fit ({self._fitted_prior_type!r} "
                    f"prior), but this fit asks for a {prior_type!r} prior. Set "
                    "warm_start=False to start afresh."
                )
            return priors, VariationalRun(self._posterior, self.lower_bound_, [], 0, False)

        request = FitRequest.checked(
            X, options, random_state, sample_weight, prepare=priors_and_previous_run
        )
        source, n_features = request.source, request.n_features
        priors, previous = request.prepared
        with thread_limit(options.n_jobs):
            source.prepare_fit(options.persist)
            priors = data_priors(priors, options.covariance_type, source)
            run = fit_variational(source, options, priors, random_state, previous)
        if run.n_degenerate:
            warnings.warn(
                _DEGENERATE.format(n=run.n_degenerate), DegenerateComponentWarning, stacklevel=2
            )
        if not run.converged and options.max_iter > 0 and not run.stopped:
            warnings.warn(NOT_CONVERGED, sklearn_compatible(ConvergenceWarning), stacklevel=2)
        self._set_fitted(
            run,
            options.covariance,
            priors,
            source.dtype,
            n_features,
            request.feature_names,
            source.total_weight,
        )
        return self

    def _set_fitted(self, run, covariance, priors, dtype, n_features, feature_names, total_weight):
        posterior = run.posterior
        self._posterior = posterior
        self._set_fitted_mixture(
            covariance,
            dtype,
            n_features,
            feature_names,
            weights(posterior, priors.prior_type),
            posterior.means,
            posterior.covariances,
            posterior.precisions_cholesky,
            run,
        )
        self.weight_concentration_prior_ = priors.weight_concentration
        self.mean_precision_prior_ = priors.mean_precision
        self.mean_prior_ = priors.mean
        self.degrees_of_freedom_prior_ = priors.degrees_of_freedom
        self.covariance_prior_ = priors.covariance
        self.weight_concentration_ = posterior.weight_concentration
        self.mean_precision_ = posterior.mean_precision
        self.degrees_of_freedom_ = posterior.degrees_of_freedom
        self._fitted_prior_type = priors.prior_type
        self.full_lower_bound_ = (
            full_lower_bound(covariance, posterior, priors, run.lower_bound, total_weight)
            if priors.prior_type == "dirichlet_distribution" and covariance.name == "full"
            else float("nan")
        )

    def _fitted_parameters(self):
        """float64 ``(log_weights, means, precisions_cholesky)`` of the fitted posterior:
        the kernels then give scikit-learn's ``_estimate_weighted_log_prob``."""
        self._fitted_covariance()  # NotFittedError before fit
        posterior = self._posterior
        log_weights = expected_log_terms(posterior, self._fitted_prior_type, self.n_features_in_)
        return (
            np.asarray(log_weights, dtype=np.float64),
            np.asarray(posterior.means, dtype=np.float64),
            np.asarray(posterior.precisions_cholesky, dtype=np.float64),
        )
