"""The scikit-learn-compatible ``GaussianMixture``, thin over ``fastgmm.em``."""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from .._threads import thread_limit
from ..covariance import n_parameters
from ..data import make_source, validation
from ..em.degenerate import ComponentRepair
from ..em.loop import (
    EMRun,
    MixtureParameters,
    fit_em,
    initial_mixture,
)
from ..em.online import StepwiseEM
from ..em.options import FitOptions, FitRequest
from ..exceptions import (
    ConvergenceWarning,
    DegenerateComponentWarning,
    sklearn_compatible,
)
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

DEGENERATE_EVENTS = (
    "{n} degenerate component event(s) during the fit: collapsed covariances were "
    "regularised and empty components reseeded by splitting the widest one. The data may "
    "hold duplicates, constant features or fewer clusters than n_components; set "
    "on_degenerate='raise' to get an error instead."
)


def fit_validated(request, warm_start_from=None):
    """Run EM on a checked ``FitRequest``; returns the best ``EMRun``.

    Warns if that run repaired degenerate components or did not converge
    (unless the callback stopped the fit).
    """
    source, options = request.source, request.options
    source.prepare_fit(options.persist)
    run = fit_em(source, options, request.random_state, warm_start_from)
    if run.n_degenerate:
        warnings.warn(
            DEGENERATE_EVENTS.format(n=run.n_degenerate), DegenerateComponentWarning, stacklevel=3
        )
    # Mini-batch EM warns only if batch EM polishes: a set number of passes is its normal end.
    minibatch = options.batch_size is not None and options.polish == 0
    if not run.converged and options.max_iter > 0 and not run.stopped and not minibatch:
        warnings.warn(NOT_CONVERGED, sklearn_compatible(ConvergenceWarning), stacklevel=3)
    return run


def _factors(description):
    """', q factors' for a (type, n_components, n_factors) description, else ''."""
    return f", {description[2]} factors" if len(description) > 2 else ""


@register
class GaussianMixture(MixtureBase):
    """Gaussian mixture model fitted by EM, a drop-in for ``sklearn.mixture.GaussianMixture``.

    Same constructor, attributes, methods and results as scikit-learn 1.9's
    estimator (from the same initial parameters the fitted parameters agree
    to ~1e-8 relative in float64), computed by fused parallel Numba kernels
    that never store the (n_samples, n_components) responsibility matrix
    during ``fit``.

    ``X`` may also be a memory-mapped array or the path of a ``.npy`` file
    (fitted without loading it: the kernels stream its rows), or a
    ``dask.array.Array`` (fitted with one kernel task per row chunk on the
    current Dask scheduler; the scoring methods then return lazy Dask arrays).
    Data that is not in memory is initialised on a sample of 100,000 rows
    (fewer for wide data: at most 32 MiB of float64 values; at least 100 per
    component) drawn with ``random_state``.

    Parameters
    ----------
    n_components : int, default=1
        Number of mixture components.
    covariance_type : {'full', 'tied', 'diag', 'spherical', 'factor', 'ppca'}, default='full'
        'full': one general covariance matrix per component; 'tied': one matrix
        shared by all components; 'diag': one diagonal matrix per component;
        'spherical': one variance per component. 'factor': a mixture of factor
        analysers, each component's covariance ``W_k W_k^T + Psi_k`` with a
        (n_features, n_factors) loading matrix ``W_k`` and a diagonal ``Psi_k``
        (Ghahramani & Hinton 1996); 'ppca': the same with ``Psi_k = sigma_k^2 I``,
        a mixture of probabilistic PCA (Tipping & Bishop 1999). For data with many
        features: an iteration costs O(n_samples n_components n_features
        n_factors), and no (n_features, n_features) matrix is formed. Both start
        from ``init_params``' full covariances, each reduced to its ``n_factors``
        principal axes; neither supports ``precisions_init`` or missing values
        yet (NotImplementedError).
    tol : float, default=1e-3
        EM stops when the lower bound (mean log-likelihood per sample) changes
        by less than ``tol`` from one iteration to the next.
    reg_covar : float, default=1e-6
        Non-negative value added to the diagonal of every covariance matrix.
    max_iter : int, default=100
        Maximum number of EM iterations per initialisation.
    n_init : int, default=1
        Number of initialisations; the run with the highest lower bound is kept.
    init_params : {'kmeans', 'k-means++', 'random', 'random_from_data'}, default='kmeans'
        How responsibilities are initialised. 'kmeans' and 'k-means++' use
        fastgmm's Numba k-means (not scikit-learn's, so their starts differ
        from sklearn's); 'random' and 'random_from_data' draw exactly as sklearn.
    weights_init : array-like of shape (n_components,), default=None
        Initial weights; computed from ``init_params`` when None.
    means_init : array-like of shape (n_components, n_features), default=None
        Initial means; computed from ``init_params`` when None.
    precisions_init : array-like, default=None
        Initial precision matrices (inverse covariances), shaped by
        ``covariance_type`` as ``precisions_``; computed when None.
    n_factors : int or None, default=None
        'factor' and 'ppca' only (and needed by them): the number of latent
        factors per component, at most ``n_features``. Ignored by the other
        types.
    random_state : int, RandomState instance or None, default=None
        Seed of the initialisation (and of ``sample``). Results do not depend
        on the number of threads.
    n_jobs : int or None, default=None
        Numba threads for ``fit`` and the scoring methods: None keeps the
        current setting (all cores unless ``NUMBA_NUM_THREADS`` or
        ``numba.set_num_threads`` say otherwise), -1 all, -2 all but one, a
        positive int that many (at most Numba's pool). The previous setting is
        restored after each call, also on error. Results do not depend on it.
    persist : {'auto', True, False}, default='auto'
        Dask input only: keep the data in the cluster's memory (``persist``)
        for the EM iterations, so that each one does not recompute or re-read
        it. 'auto' persists when the data take at most half the memory of the
        workers (or of this machine, for Dask's local schedulers).
    on_degenerate : {'reseed', 'raise'}, default='reseed'
        What to do when a component degenerates. 'reseed': a covariance that
        is not positive definite (a component collapsed onto duplicate points,
        a constant feature with ``reg_covar=0``) gets a larger diagonal floor,
        and a component whose responsibilities vanish is reseeded by splitting
        the widest component in two; the fit then warns with a
        ``DegenerateComponentWarning`` and counts the repairs in
        ``n_degenerate_``. 'raise': scikit-learn's behaviour, a ValueError
        ("ill-defined empirical covariance") and empty components kept.
    warm_start : bool, default=False
        If True, each ``fit`` after the first starts from the previous solution
        (and ``n_init`` is ignored).
    verbose : int, default=0
        1 prints each initialisation and every ``verbose_interval``-th
        iteration, 2 adds timings and the change of the lower bound.
    verbose_interval : int, default=10
        Iterations between two messages.
    progress : bool, default=False
        Show the fit's progress on stderr: each initialisation (which of
        ``n_init``, which ``init_params``), then the iteration out of
        ``max_iter``, the lower bound, its change and the time per iteration,
        and a closing summary (converged or not, ``n_iter_``, seconds). On a
        terminal one line is rewritten in place; elsewhere (a log file, a
        notebook) one line per update, at most two per second, the last
        iteration of every initialisation always. Independent of ``verbose``.
    callback : callable or None, default=None
        Called after every iteration of every initialisation as
        ``callback(info)``, ``info`` an ``IterationInfo`` (fields ``init``,
        ``n_iter``, ``lower_bound``, ``change``, ``converged``,
        ``elapsed_seconds``; ``lower_bound`` is the value ``lower_bounds_``
        records). Returning True (any true value) stops the fit: the
        current run ends with the parameters of that iteration (its
        ``n_iter`` is ``info.n_iter``; it counts as converged only if that
        iteration converged anyway), no further initialisation starts, the
        best run so far is kept by the usual rule (with ``n_init=1``, the
        stopped run), and no ``ConvergenceWarning`` is issued: the stop was
        asked for. An exception raised by the callback propagates out of
        ``fit``. Uses: a time budget (``lambda info: info.elapsed_seconds >
        60``), custom logging or a progress bar of your own.
    missing_values : {'raise', 'marginalize'}, default='raise'
        What a NaN in ``X`` means. 'raise': an error (scikit-learn's behaviour).
        'marginalize': a value missing at random, integrated out exactly. Each
        row's responsibilities and log-likelihood use the marginal density of
        its observed features; the M-step uses expected statistics: the
        missing values' conditional means given the observed ones, and their
        conditional covariances ('full', 'tied'), or each feature's moments
        over the rows that observe it ('diag', 'spherical'). Complete rows
        cost what they cost without the option, incomplete ones a few times
        more. ``predict``, ``predict_proba``, ``score_samples`` and ``score``
        then accept NaN as well, and :meth:`impute` fills them in. A row with
        no observed value adds nothing to the fit (nor to the total weight
        ``lower_bound_`` is divided by); it scores ``log p = 0`` and its
        ``predict_proba`` is ``weights_``. Infinity is an error either way.
    batch_size : int or None, default=None
        None: batch EM, every iteration a pass over all rows. An int: mini-batch
        (stepwise) EM in ``fit``: each pass visits the rows in a random order
        (drawn with ``random_state``), ``batch_size`` at a time, and updates
        running sufficient statistics and the parameters after every batch
        (see ``learning_decay``); ``max_iter`` then counts passes, and ``tol``
        applies to the mean log-likelihood of a pass's batches (reaching
        ``max_iter`` passes gives no ``ConvergenceWarning``). On big data it
        gets near the batch optimum in one or two passes. Memory-mapped data is
        read in that random order; Dask arrays chunk by chunk in a random order
        of chunks. ``batch_size >= n_samples`` is batch EM, bit for bit.
    polish : int, default=0
        With ``batch_size``: at most this many iterations of batch EM after the
        mini-batch passes, from where they end (until ``tol``).
    learning_decay : float in (0.5, 1], default=0.7
        Step sizes of stepwise EM (``batch_size`` and :meth:`partial_fit`): with
        t batches before, the running statistics s become ``(1 - eta) s + eta
        s(batch)`` with ``eta = (t + learning_offset) ** -learning_decay``
        (Cappe & Moulines 2009); s starts as the statistics the initial model
        expects of its own data. Smaller values forget old batches faster: close
        to 0.5 the model follows data that drift; 1 makes s a running mean of all
        batches, the least noisy for data that do not change.
    learning_offset : float >= 1, default=2.0
        See ``learning_decay``: larger values make the early steps smaller; 1
        makes the first batch's statistics replace the initial model's.

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
    means_ : ndarray of shape (n_components, n_features)
    covariances_ : ndarray
        Shape (n_components, n_features, n_features) for 'full',
        (n_features, n_features) for 'tied', (n_components, n_features) for
        'diag' and (n_components,) for 'spherical'.
    precisions_ : ndarray
        Inverses of the covariances, shaped as ``covariances_``.
    precisions_cholesky_ : ndarray
        Cholesky factors U of the precisions (precision = U U^T, U upper
        triangular), shaped as ``covariances_``.
    loadings_ : ndarray of shape (n_components, n_factors, n_features)
        'factor' and 'ppca' only: ``loadings_[k]`` is W_k^T (the layout of
        scikit-learn's ``FactorAnalysis.components_``), defined up to a rotation
        of the factors.
    noise_variance_ : ndarray of shape (n_components, n_features), or (n_components,)
        'factor' and 'ppca' only: the diagonal of Psi_k ('factor'), or sigma_k^2
        ('ppca'), ``reg_covar`` included (as ``FactorAnalysis.noise_variance_``).
        A factor model's ``covariances_``, ``precisions_`` and
        ``precisions_cholesky_`` have the 'full' layout; each is computed from
        ``loadings_`` and ``noise_variance_`` when first read (n_components x
        n_features^2 numbers) and then kept.
    converged_ : bool
    n_iter_ : int
        Iterations of the best run.
    lower_bound_ : float
        Mean log-likelihood per sample at the last iteration of the best run
        (of the parameters before the last M-step, as in sklearn).
    lower_bounds_ : list of float
        The lower bound of every iteration of the best run, as computed (a
        list, as scikit-learn's; ``lower_bounds_[-1] == lower_bound_``, and
        empty with ``max_iter=0``).
    n_degenerate_ : int
        Repairs of degenerate components in the best run (see ``on_degenerate``).
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (``n_features_in_``,), dtype object
        Column names of ``X`` in ``fit``, when it had string column names
        (a pandas DataFrame, for instance); absent otherwise. The scoring
        methods then check the columns they get as scikit-learn does.

    Notes
    -----
    float32 data is fitted in float32 (per-block partial sums in float32,
    accumulated over blocks in float64; the M-step in float64) and the fitted
    ``weights_``, ``means_``, covariances and precisions are float32;
    everything else becomes float64.
    """

    _estimator_type = "DensityEstimator"

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
        weights_init: ArrayLike | None = None,
        means_init: ArrayLike | None = None,
        precisions_init: ArrayLike | None = None,
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
        batch_size: int | None = None,
        polish: int = 0,
        learning_decay: float = 0.7,
        learning_offset: float = 2.0,
        n_factors: int | None = None,
    ) -> None:
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
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
        self.batch_size = batch_size
        self.polish = polish
        self.learning_decay = learning_decay
        self.learning_offset = learning_offset
        self.n_factors = n_factors

    # -- fitting ----------------------------------------------------------------------------

    def fit(
        self,
        X: Data,
        y: Any = None,
        sample_weight: SampleWeight = None,
        component_labels: ArrayLike | None = None,
    ) -> GaussianMixture:
        """Estimate the model parameters with EM.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), .npy path or Dask array
            May hold NaN with ``missing_values='marginalize'``.
        y : ignored
        sample_weight : array-like of shape (n_samples,) or float, default=None
            Non-negative weight of every row (None: all 1).  Weighted EM: a row
            of integer weight m counts as m copies of it, in the initialisation
            too (k-means, 'random_from_data' draw rows in proportion to it);
            ``lower_bound_`` is then the weighted mean log-likelihood.
        component_labels : array-like of int, shape (n_samples,), default=None
            Known components of some rows (semi-supervised fitting): row i
            belongs to component ``component_labels[i]``, or is unlabelled if
            it is -1 (scikit-learn's convention). Labelled rows keep one-hot
            responsibilities throughout, in the initialisation too (k-means
            keeps them in their cluster, and a component's seed is one of its
            labelled rows), so component k holds the rows labelled k; they
            add ``log pi_k N(x | k)`` to the lower bound, the likelihood of
            their known component. Unlabelled rows are ordinary EM rows. A
            keyword of its own rather than ``y``, which pipelines pass along.

        Returns
        -------
        self : GaussianMixture
        """
        options = FitOptions.of(self)
        random_state = validation.check_random_state(self.random_state)
        warm_start = validation.check_bool(self.warm_start, "warm_start")

        def previous_run(n_features):  # the fitted model that a warm start continues
            if warm_start and hasattr(self, "converged_"):
                return self._previous_run(n_features)
            return None

        request = FitRequest.checked(
            X, options, random_state, sample_weight, component_labels, prepare=previous_run
        )
        with thread_limit(options.n_jobs):
            run = fit_validated(request, request.prepared)
        vars(self).pop("_stepwise", None)  # partial_fit starts its running statistics afresh
        self._set_fitted(
            run,
            request.options.covariance,
            request.source.dtype,
            request.n_features,
            request.feature_names,
        )
        return self

    def partial_fit(
        self, X: Data, y: Any = None, sample_weight: SampleWeight = None
    ) -> GaussianMixture:
        """Update the model with one batch of rows: one step of stepwise EM.

        scikit-learn's incremental convention (as ``MiniBatchKMeans.partial_fit``):
        call it once per batch, in any number of calls. The first call on an
        unfitted model initialises the parameters from its batch (``init_params``,
        ``weights_init``, ...: the batch needs ``n_components`` rows); on a fitted
        model (``fit``, :func:`fastgmm.load`) it starts from the fitted
        parameters. Every call then runs the E-step on its batch, updates the
        running sufficient statistics with step size ``(t + learning_offset) **
        -learning_decay`` (t: the calls before; the average starts from the
        statistics the initial or fitted parameters expect of their own data), and
        sets the parameters by the M-step. ``fit`` discards the running statistics;
        ``save`` does not keep them (a loaded model starts them afresh). Changing
        ``covariance_type`` or ``n_components`` between calls is an error; the
        ``learning_*`` parameters apply from the next call.

        Parameters
        ----------
        X : array-like of shape (n_batch, n_features), .npy path or Dask array
            At least one row (NaN with ``missing_values='marginalize'``).
        y : ignored
        sample_weight : array-like of shape (n_batch,) or float, default=None
            Weights of the batch's rows; a batch counts in proportion to its rows'
            weights only through its own statistics (every batch's statistics are
            averaged per unit weight).

        Returns
        -------
        self : GaussianMixture
            With every fitted attribute valid: ``n_iter_`` counts the calls,
            ``lower_bound_`` is this batch's mean log-likelihood under the
            parameters before the update (``lower_bounds_`` one per call), and
            ``converged_`` is False (a stream has no convergence test).
        """
        options = FitOptions.of(self)
        names = validation.feature_names(X)
        X = validation.check_input(X, min_samples=1, allow_nan=options.marginalize)
        stepwise = getattr(self, "_stepwise", None)
        if hasattr(self, "converged_"):  # fitted: by partial_fit, fit or load
            validation.check_feature_names(
                names, getattr(self, "feature_names_in_", None), type(self).__name__
            )
            X = validation.check_n_features(X, self.n_features_in_, type(self).__name__)
            self._check_partial_fit_continues()
        options = options.for_features(X.shape[1])
        with thread_limit(options.n_jobs):
            source = make_source(
                X,
                options.covariance,
                options.n_components,
                sample_weight,
                options.n_jobs,
                marginalize=options.marginalize,
            )
            source.prepare_fit(options.persist)
            if stepwise is None:
                stepwise = self._start_stepwise(source, options)
            # The step sizes as set now (set_params between calls takes effect).
            stepwise.learning_decay = options.learning_decay
            stepwise.learning_offset = options.learning_offset
            events = stepwise.repair.n_events
            stepwise.parameters, lower_bound = stepwise.step(source, stepwise.parameters)
        stepwise.repair.source = None  # no reference to the batch's data is kept
        stepwise.lower_bounds.append(lower_bound)
        self._stepwise = stepwise
        run = EMRun(
            stepwise.parameters,
            lower_bound,
            list(stepwise.lower_bounds),
            stepwise.n_steps,
            False,
            stepwise.repair.n_events,
        )
        self._set_fitted(run, options.covariance, X.dtype, X.shape[1], names)
        if stepwise.repair.n_events > events:
            warnings.warn(
                DEGENERATE_EVENTS.format(n=stepwise.repair.n_events - events),
                DegenerateComponentWarning,
                stacklevel=2,
            )
        return self

    def _check_partial_fit_continues(self):
        """ValueError if ``covariance_type`` or ``n_components`` changed since the fit that
        ``partial_fit`` continues."""
        fitted_factors, wanted_factors = self._fitted_and_wanted_factors()
        fitted = (self._fitted_covariance_type, self.means_.shape[0], *fitted_factors)
        wanted = (self.covariance_type, self.n_components, *wanted_factors)
        if fitted != wanted:
            raise ValueError(
                f"partial_fit continues the fitted model ({fitted[0]!r} covariances, "
                f"{fitted[1]} components{_factors(fitted)}), but the parameters now ask for "
                f"{wanted[0]!r} and {wanted[1]}{_factors(wanted)}. Call fit (or make a new "
                "estimator) to start afresh."
            )

    def _start_stepwise(self, source, options):
        """The running state of ``partial_fit``: from the fitted parameters, or initialised
        on the first batch."""
        repair = ComponentRepair(source, options.covariance, options.on_degenerate)
        stepwise = StepwiseEM.for_options(options, repair)
        stepwise.lower_bounds = []  # one per partial_fit call
        if hasattr(self, "converged_"):
            stepwise.parameters = self._previous_run(self.n_features_in_).parameters
            return stepwise
        validation.check_n_samples(source.X, options.n_components)
        random_state = validation.check_random_state(self.random_state)
        stepwise.parameters = initial_mixture(source, options, random_state, repair)
        return stepwise

    def fit_predict(
        self,
        X: Data,
        y: Any = None,
        sample_weight: SampleWeight = None,
        component_labels: ArrayLike | None = None,
    ) -> Any:
        """Fit the model and return the component label of every row of ``X``.

        Equal to ``fit(X, sample_weight=..., component_labels=...).predict(X)``.

        Returns
        -------
        labels : ndarray of shape (n_samples,) (a lazy Dask array for Dask input)
        """
        self.fit(X, sample_weight=sample_weight, component_labels=component_labels)
        return self.predict(X)

    def _previous_run(self, n_features):
        """The fitted model as an ``EMRun`` to continue from (``warm_start``)."""
        self._check_warm_start(n_features)
        parameters = MixtureParameters(
            np.asarray(self.weights_, dtype=np.float64),
            np.asarray(self.means_, dtype=np.float64),
            *self._loop_parameters(),
        )
        return EMRun(
            parameters,
            self.lower_bound_,
            list(self.lower_bounds_),
            self.n_iter_,
            self.converged_,
            self.n_degenerate_,
        )

    def _set_fitted(self, run, covariance, dtype, n_features, feature_names):
        parameters = run.parameters
        self._set_fitted_mixture(
            covariance,
            dtype,
            n_features,
            feature_names,
            parameters.weights,
            parameters.means,
            parameters.covariances,
            parameters.precisions_cholesky,
            run,
        )

    def _fitted_parameters(self):
        """float64 ``(log_weights, means, precisions_cholesky)``, as the sources take them."""
        return (
            np.log(np.asarray(self.weights_, dtype=np.float64)),
            np.asarray(self.means_, dtype=np.float64),
            self._loop_parameters()[1],
        )

    def _n_parameters(self):
        """Number of free parameters of the fitted model."""
        n_components, n_features = self.means_.shape
        return n_parameters(self._fitted_covariance(), n_components, n_features)

    def bic(self, X: Data, sample_weight: SampleWeight = None) -> float:
        """Bayesian information criterion on ``X`` (lower is better).

        ``-2 log L + n_parameters * log(n)``, n the number of rows, or with
        ``sample_weight`` the weighted log-likelihood and n the total weight.
        """
        log_likelihood, size = self._log_likelihood_and_size(X, sample_weight)
        return -2 * log_likelihood + self._n_parameters() * math.log(size)

    def aic(self, X: Data, sample_weight: SampleWeight = None) -> float:
        """Akaike information criterion on ``X`` (lower is better).

        ``-2 log L + 2 n_parameters``, with the weighted log L given ``sample_weight``.
        """
        log_likelihood, _ = self._log_likelihood_and_size(X, sample_weight)
        return -2 * log_likelihood + 2 * self._n_parameters()
