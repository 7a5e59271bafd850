"""``fastgmm.fit`` and ``fastgmm.fit_stream``: EM without an estimator object, and the
``GaussianMixtureResult`` they return."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .._threads import thread_limit
from ..data import make_source, validation
from ..em.degenerate import ComponentRepair
from ..em.loop import (
    Reporter,
    initial_mixture,
    minibatch_passes,
)
from ..em.online import StepwiseEM
from ..em.options import FitOptions, FitRequest
from ..exceptions import (
    DegenerateComponentWarning,
)
from ..io import register, save, to_sklearn
from .gaussian_mixture import DEGENERATE_EVENTS, fit_validated

if TYPE_CHECKING:
    import os
    from collections.abc import Callable, Iterable

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


@register
@dataclass(frozen=True)
class GaussianMixtureResult:
    """What ``fastgmm.fit`` returns: the fitted mixture and how the fit went.

    Arrays are read-only, in sklearn's layouts (see ``GaussianMixture``).

    Attributes
    ----------
    weights, means, covariances, precisions_cholesky : ndarray
    covariance_type : str
    lower_bound : float
        Mean log-likelihood per sample at the last iteration (as ``lower_bound_``).
    lower_bounds : tuple of float
        The lower bound of every iteration, as computed (the last is ``lower_bound``).
    log_likelihood : float
        Total (weighted) log-likelihood of the data under the *returned* parameters.
    n_iter : int
    converged : bool
    n_degenerate : int
        Repairs of degenerate components (see ``GaussianMixture``'s ``on_degenerate``).
    loadings, noise_variance : ndarray or None
        'factor' and 'ppca' only (None otherwise): as ``GaussianMixture``'s
        ``loadings_`` and ``noise_variance_``; ``covariances`` and
        ``precisions_cholesky`` then hold the 'full' layout of the same model,
        computed once at the end of the fit (n_components x n_features^2 numbers each).
    """

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    precisions_cholesky: np.ndarray
    covariance_type: str
    lower_bound: float
    lower_bounds: tuple[float, ...]
    log_likelihood: float
    n_iter: int
    converged: bool
    n_degenerate: int
    loadings: np.ndarray | None = None
    noise_variance: np.ndarray | None = None

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the result to one ``.npz`` file that :func:`fastgmm.load` reads back.

        Numbers and text only, no pickle (the format of ``GaussianMixture.save``, the
        fields stored under the estimator's names: ``weights_``, ``lower_bound_``, ...).

        Parameters
        ----------
        path : str or os.PathLike
            Where to write; written as given (no ``.npz`` suffix is added).
        """
        save(self, path)

    def to_sklearn(self, as_full: bool = False) -> Any:
        """A fitted ``sklearn.mixture.GaussianMixture`` with these parameters (copies).

        Its other constructor parameters are scikit-learn's defaults. Needs scikit-learn.
        A 'factor' or 'ppca' result converts only with ``as_full=True``, to 'full'
        covariances (see :meth:`GaussianMixture.to_sklearn`).

        Returns
        -------
        estimator : sklearn.mixture.GaussianMixture
        """
        return to_sklearn(self, as_full)


def fit(
    X: Data,
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
    sample_weight: SampleWeight = None,
    component_labels: ArrayLike | None = None,
) -> GaussianMixtureResult:
    """Fit a Gaussian mixture by EM and return the result, without an estimator object.

    Takes the options of :class:`GaussianMixture` (all but ``warm_start``) and
    gives the same parameters.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features), .npy path or Dask array
        As in :meth:`GaussianMixture.fit` (memory-mapped data is streamed,
        Dask arrays are fitted chunk by chunk on the current scheduler).
    n_components : int, default=1
    covariance_type, tol, reg_covar, max_iter, n_init, init_params, weights_init, \
means_init, precisions_init, random_state, n_jobs, persist, on_degenerate, verbose, \
verbose_interval, progress, callback, missing_values, batch_size, polish, learning_decay, \
learning_offset, n_factors
        Keyword-only, with the meanings and defaults of :class:`GaussianMixture`
        (``batch_size``: mini-batch EM).
    sample_weight : array-like of shape (n_samples,) or float, default=None
        As in :meth:`GaussianMixture.fit`.
    component_labels : array-like of int, shape (n_samples,), default=None
        Known components of some rows (-1: unlabelled), as in :meth:`GaussianMixture.fit`.

    Returns
    -------
    GaussianMixtureResult
    """
    options = FitOptions.checked(
        n_components=n_components,
        covariance_type=covariance_type,
        tol=tol,
        reg_covar=reg_covar,
        max_iter=max_iter,
        n_init=n_init,
        init_params=init_params,
        weights_init=weights_init,
        means_init=means_init,
        precisions_init=precisions_init,
        on_degenerate=on_degenerate,
        verbose=verbose,
        verbose_interval=verbose_interval,
        persist=persist,
        n_jobs=n_jobs,
        progress=progress,
        callback=callback,
        missing_values=missing_values,
        batch_size=batch_size,
        polish=polish,
        learning_decay=learning_decay,
        learning_offset=learning_offset,
        n_factors=n_factors,
    )
    random_state = validation.check_random_state(random_state)
    request = FitRequest.checked(
        X, options, random_state, sample_weight, component_labels, with_feature_names=False
    )
    with thread_limit(options.n_jobs):
        run = fit_validated(request)
        parameters = run.parameters
        log_likelihood = request.source.total_log_likelihood(
            np.log(parameters.weights), parameters.means, parameters.precisions_cholesky
        )

    return _result(run, options.covariance, request.source.dtype, log_likelihood)


def _result(run, covariance, dtype, log_likelihood):
    """The ``GaussianMixtureResult`` of a run, its arrays read-only in ``dtype``."""
    parameters = run.parameters

    def frozen(array):
        array = np.array(array, dtype=dtype)
        array.setflags(write=False)
        return array

    arrays = covariance.fitted_arrays(parameters.covariances, parameters.precisions_cholesky)
    factor_arrays = {}
    if "loadings_" in arrays:  # a factor model: and its dense arrays, from those stored
        factor_arrays = {name[:-1]: frozen(arrays[name]) for name in arrays}
        arrays = covariance.dense_arrays(
            covariance.pack(factor_arrays["loadings"], factor_arrays["noise_variance"])
        )
    return GaussianMixtureResult(
        weights=frozen(parameters.weights),
        means=frozen(parameters.means),
        covariances=frozen(arrays["covariances_"]),
        precisions_cholesky=frozen(arrays["precisions_cholesky_"]),
        covariance_type=covariance.name,
        lower_bound=float(run.lower_bound),
        lower_bounds=tuple(float(b) for b in run.lower_bounds),
        log_likelihood=log_likelihood,
        n_iter=run.n_iter,
        converged=run.converged,
        n_degenerate=run.n_degenerate,
        **factor_arrays,
    )


def fit_stream(
    batches: Iterable[Data] | Callable[[], Iterable[Data]],
    n_components: int = 1,
    *,
    covariance_type: CovarianceType = "full",
    max_passes: int = 1,
    tol: float = 1e-3,
    reg_covar: float = 1e-6,
    init_params: InitParams = "kmeans",
    weights_init: ArrayLike | None = None,
    means_init: ArrayLike | None = None,
    precisions_init: ArrayLike | None = None,
    random_state: RandomState = None,
    n_jobs: int | None = None,
    on_degenerate: OnDegenerate = "reseed",
    progress: bool = False,
    callback: Callable[[IterationInfo], Any] | None = None,
    missing_values: MissingValues = "raise",
    learning_decay: float = 0.7,
    learning_offset: float = 2.0,
    n_factors: int | None = None,
) -> GaussianMixtureResult:
    """Fit a Gaussian mixture by stepwise EM to batches of rows that come one at a time.

    For data that can be read only in pieces, or only once: a generator, the chunks of
    a CSV or Parquet file, a queue. The first batch initialises the parameters
    (``init_params``; it needs ``n_components`` rows); every batch then updates the
    running sufficient statistics and the parameters, as
    :meth:`GaussianMixture.partial_fit` (see ``learning_decay``). Nothing but the
    current batch is held in memory.

    Parameters
    ----------
    batches : iterable of array-like, or a callable returning one
        Each batch an array-like of shape (n_batch, n_features), at least one row,
        the same n_features throughout. For more than one pass, a callable that
        returns a fresh iterable each time it is called (a generator can be read
        only once).
    n_components : int, default=1
    max_passes : int, default=1
        Passes over the batches at most; after the first, the fit stops when the mean
        log-likelihood of a pass's batches changes by less than ``tol``.
    covariance_type, tol, reg_covar, init_params, weights_init, means_init, \
precisions_init, random_state, n_jobs, on_degenerate, progress, callback, missing_values, \
learning_decay, learning_offset, n_factors
        Keyword-only, as in :class:`GaussianMixture` (``progress`` and ``callback``
        report once per pass).

    Returns
    -------
    GaussianMixtureResult
        ``n_iter`` counts the passes; ``lower_bound`` is the last pass's mean
        log-likelihood of its batches (each under the parameters before its update);
        ``log_likelihood`` is NaN (a stream cannot be read again to compute it).
    """
    if getattr(batches, "ndim", None) == 2:
        raise TypeError(
            "fit_stream takes an iterable of batches (or a callable returning one), not one "
            "2-D array; for an array, use fastgmm.fit(X, n_components, batch_size=...)."
        )
    restartable = callable(batches)
    options = FitOptions.checked(
        n_components=n_components,
        covariance_type=covariance_type,
        tol=tol,
        reg_covar=reg_covar,
        max_iter=validation.check_integer(max_passes, "max_passes", 1),
        n_init=1,
        init_params=init_params,
        weights_init=weights_init,
        means_init=means_init,
        precisions_init=precisions_init,
        on_degenerate=on_degenerate,
        verbose=0,
        verbose_interval=10,
        persist=False,
        n_jobs=n_jobs,
        progress=progress,
        callback=callback,
        missing_values=missing_values,
        learning_decay=learning_decay,
        learning_offset=learning_offset,
        n_factors=n_factors,
    )
    if options.max_iter > 1 and not restartable:
        raise ValueError(
            f"max_passes={options.max_iter} needs batches that can be read again: pass a "
            "callable that returns a fresh iterable of batches (e.g. lambda: read_chunks(path))."
        )
    random_state = validation.check_random_state(random_state)
    stream = _BatchStream(batches if restartable else (lambda: batches), options)
    reporter = Reporter(options)
    with thread_limit(options.n_jobs):
        first = stream.first()
        repair = ComponentRepair(first, options.covariance, options.on_degenerate)
        validation.check_n_samples(first.X, options.n_components)
        parameters = initial_mixture(first, options, random_state, repair)
        stepwise = StepwiseEM.for_options(options, repair)
        reporter.init_begins(0)
        try:
            run = minibatch_passes(
                stepwise,
                stream.sources,
                parameters,
                max_passes=options.max_iter,
                tol=options.tol,
                reporter=reporter,
            )
        except BaseException:
            reporter.abort()
            raise
        reporter.init_ends(run)
        reporter.fit_ends(run, 0, 1)
    if run.n_degenerate:
        warnings.warn(
            DEGENERATE_EVENTS.format(n=run.n_degenerate), DegenerateComponentWarning, stacklevel=2
        )
    return _result(run, options.covariance, stream.dtype, np.nan)


class _BatchStream:
    """The batches of ``fit_stream`` as sources, checked one by one as they come."""

    def __init__(self, open_batches, options):
        self.open_batches = open_batches
        self.options = options
        self.n_features = None
        self.dtype = None
        self._first = None

    def _source(self, batch, index):
        try:
            X = validation.check_input(batch, min_samples=1, allow_nan=self.options.marginalize)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"Batch {index} of the stream: {exc}") from None
        if self.n_features is None:
            self.n_features, self.dtype = X.shape[1], X.dtype
        elif X.shape[1] != self.n_features:
            raise ValueError(
                f"Batch {index} of the stream has {X.shape[1]} features, the first batch "
                f"{self.n_features}: every batch needs the same columns."
            )
        source = make_source(
            X,
            self.options.covariance,
            self.options.n_components,
            n_jobs=self.options.n_jobs,
            marginalize=self.options.marginalize,
        )
        source.prepare_fit(False)
        return source

    def first(self):
        """The first batch's source (the initialisation reads it)."""
        iterator = iter(self.open_batches())
        try:
            batch = next(iterator)
        except StopIteration:
            raise ValueError("The stream of batches is empty: there is nothing to fit.") from None
        self._first = (self._source(batch, 0), iterator)
        return self._first[0]

    def sources(self, n_pass):
        """The sources of pass ``n_pass`` (the first pass reuses the batch ``first`` read)."""
        if n_pass == 0 and self._first is not None:
            first, iterator = self._first
            self._first = None
            yield first
            start = 1
        else:
            iterator, start = iter(self.open_batches()), 0
        for index, batch in enumerate(iterator, start):
            yield self._source(batch, index)
