"""The EM loop over any source of sufficient statistics: restarts, iterations, convergence.

One iteration is one pass of the source (E-step fused with accumulation) and
one small M-step.  The log-likelihood that pass returns belongs to the
parameters *before* the M-step, exactly as sklearn's ``lower_bound_``.
"""

import dataclasses
import math
import time
from dataclasses import dataclass

import numpy as np

from .degenerate import ComponentRepair
from .initialization import initial_parameters
from .online import StepwiseEM
from .progress import IterationInfo, ProgressLine


@dataclass(frozen=True)
class MixtureParameters:
    """float64 parameters in sklearn's layout (see ``covariance/``)."""

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    precisions_cholesky: np.ndarray


@dataclass(frozen=True)
class EMRun:
    """The outcome of the best EM run of a fit (``stopped``: the callback stopped the fit)."""

    parameters: MixtureParameters
    lower_bound: float
    lower_bounds: list
    n_iter: int
    converged: bool
    n_degenerate: int = 0
    stopped: bool = False


class Reporter:
    """What a fit tells as it goes, and whether it was asked to stop.

    scikit-learn's ``verbose`` / ``verbose_interval`` messages (stdout), the
    ``progress`` line (stderr, ``em.progress.ProgressLine``) and the user's
    ``callback``, called after every iteration with an ``IterationInfo``: a true
    value returned stops the fit (``stopped``), an exception propagates.
    """

    def __init__(self, options, warm_start=False):
        self.verbose = options.verbose
        self.verbose_interval = options.verbose_interval
        self.callback = options.callback
        self.max_iter = options.max_iter
        self.how = "warm start" if warm_start else options.init_params
        self.progress = None
        if options.progress:
            self.progress = ProgressLine(
                f"{options.n_components} {options.covariance_type!r} component"
                + ("s" if options.n_components > 1 else ""),
                1 if warm_start else options.n_init,
                options.max_iter,
            )
        self.stopped = False
        self._init = 0
        self._fit_start = time.perf_counter()

    def init_begins(self, init):
        self._init = init
        if self.verbose:
            print(f"Initialization {init}")
            self._init_start = self._iter_start = time.time()
        if self.progress is not None:
            self.progress.init_begins(init, self.how)

    def iteration_ends(self, n_iter, lower_bound, change, converged, seconds):
        """Report iteration ``n_iter`` (``seconds`` long); True if the callback asks to stop."""
        if self.verbose and n_iter % self.verbose_interval == 0:
            if self.verbose == 1:
                print(f"  Iteration {n_iter}")
            else:
                now = time.time()
                print(
                    f"  Iteration {n_iter}\t time lapse {now - self._iter_start:.5f}s\t "
                    f"ll change {change:.5f}"
                )
                self._iter_start = now
        if self.callback is not None:
            info = IterationInfo(
                init=self._init,
                n_iter=n_iter,
                lower_bound=float(lower_bound),
                change=float(change),
                converged=bool(converged),
                elapsed_seconds=time.perf_counter() - self._fit_start,
            )
            self.stopped = bool(self.callback(info))
        if self.progress is not None:
            outcome = None
            if converged:
                outcome = "converged"
            elif self.stopped:
                outcome = "stopped by callback"
            elif n_iter == self.max_iter:
                outcome = "max_iter reached"
            self.progress.iteration_ends(n_iter, lower_bound, change, seconds, outcome)
        return self.stopped

    def init_ends(self, run):
        if self.progress is not None:
            self.progress.init_ends()
        if self.max_iter == 0:
            return
        message = "converged" if run.converged else "did not converge"
        if self.verbose == 1:
            print(f"Initialization {message}.")
        elif self.verbose >= 2:
            print(
                f"Initialization {message}. time lapse {time.time() - self._init_start:.5f}s\t "
                f"lower bound {run.lower_bound:.5f}."
            )

    def fit_ends(self, best, best_init, n_runs):
        if self.progress is not None:
            if best.converged:
                outcome = "converged"
            elif self.max_iter == 0:
                outcome = "no iterations (max_iter=0)"
            elif self.stopped:
                outcome = "stopped by callback"
            else:
                outcome = "did not converge"
            seconds = time.perf_counter() - self._fit_start
            self.progress.fit_ends(outcome, best.n_iter, seconds, best_init, n_runs)

    def abort(self):
        """The fit raised (in the callback, on an interrupt, ...)."""
        if self.progress is not None:
            self.progress.abort()


def until_converged(step, state, repair, *, tol, max_iter, lower_bound, reporter):
    """Apply ``state, lower_bound = step(state)`` until the lower bound changes by less than
    ``tol`` (an iteration in which ``repair`` mended a component cannot end it),
    ``max_iter`` steps, or ``reporter`` (a ``Reporter`` or None) says the callback asked
    to stop.  Returns ``(state, lower_bound, lower_bounds, n_iter, converged)``;
    ``lower_bounds`` holds every step's lower bound, as computed.
    """
    lower_bounds = []
    converged = False
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        previous, events = lower_bound, repair.n_events
        started = time.perf_counter()
        state, lower_bound = step(state)
        seconds = time.perf_counter() - started
        lower_bounds.append(lower_bound)
        change = lower_bound - previous
        converged = bool(abs(change) < tol and repair.n_events == events)
        stop = reporter is not None and reporter.iteration_ends(
            n_iter, lower_bound, change, converged, seconds
        )
        if converged or stop:
            break
    return state, lower_bound, lower_bounds, n_iter, converged


def iterate(
    source,
    covariance,
    parameters,
    repair,
    *,
    tol,
    max_iter,
    reg_covar,
    lower_bound=-np.inf,
    reporter=None,
):
    """Run EM from ``parameters`` until |change of lower bound| < tol or ``max_iter``.

    ``repair`` (this run's ``ComponentRepair``) mends degenerate components
    after each M-step; an iteration that needed it cannot end the run as
    converged.  The run's ``n_degenerate`` counts all its repairs, those of
    the initialisation included.
    """

    def step(parameters):
        statistics = source.statistics(
            np.log(parameters.weights), parameters.means, parameters.precisions_cholesky
        )
        weights, means, covariances = covariance.m_step(statistics, reg_covar)
        covariances, precisions_cholesky = repair.factorise(covariances)
        parameters = MixtureParameters(
            *repair.reseed_empty(
                statistics.resp_sum, weights, means, covariances, precisions_cholesky
            )
        )
        return parameters, statistics.log_likelihood / statistics.total_weight

    parameters, lower_bound, lower_bounds, n_iter, converged = until_converged(
        step,
        parameters,
        repair,
        tol=tol,
        max_iter=max_iter,
        lower_bound=lower_bound,
        reporter=reporter,
    )
    return EMRun(parameters, lower_bound, lower_bounds, n_iter, converged, repair.n_events)


def initial_mixture(source, options, random_state, repair):
    """The ``MixtureParameters`` an EM run starts from: ``options.init_params`` (and the
    ``*_init`` options) on what ``source.initialisation_data`` gives (all rows, or a row
    sample; known labels pinned), collapsed covariances mended by ``repair``."""
    X, sample_weight, labels = source.initialisation_data(random_state, options.n_components)
    return MixtureParameters(
        *initial_parameters(
            options.covariance,
            X,
            options.n_components,
            options.init_params,
            options.reg_covar,
            random_state,
            repair.factorise,
            sample_weight,
            options.weights_init,
            options.means_init,
            options.precisions_init,
            component_labels=labels,
        )
    )


def minibatch_passes(stepwise, batches_of_pass, parameters, *, max_passes, tol, reporter):
    """Passes of stepwise EM (``em.online.StepwiseEM``) until the mean log-likelihood of a
    pass's batches changes by less than ``tol`` from the previous pass's, ``max_passes``,
    or the callback asks to stop.

    ``batches_of_pass(p)`` yields the sources of pass p's batches.  Each pass is one
    iteration for ``reporter`` and in ``lower_bounds``; its lower bound is the weighted
    mean of its batches' mean log-likelihoods, each under the parameters before its own
    step (a running estimate, not one set of parameters' exact value).  Returns an
    ``EMRun``.
    """
    lower_bound, lower_bounds, converged, n_passes = -np.inf, [], False, 0
    for n_passes in range(1, max_passes + 1):
        started, events = time.perf_counter(), stepwise.repair.n_events
        batch_lower_bounds, batch_weights = [], []
        for source in batches_of_pass(n_passes - 1):
            if not source.total_weight > 0.0:
                continue  # no row of positive weight (or no observed value): nothing to learn
            parameters, batch_lower_bound = stepwise.step(source, parameters)
            batch_lower_bounds.append(batch_lower_bound)
            batch_weights.append(source.total_weight)
        previous = lower_bound
        lower_bound = batch_lower_bounds[0] if batch_lower_bounds else -np.inf
        if len(batch_lower_bounds) > 1:  # (one batch: as batch EM's, bit for bit)
            lower_bound = float(np.average(batch_lower_bounds, weights=batch_weights))
        lower_bounds.append(lower_bound)
        change = lower_bound - previous
        converged = bool(
            math.isfinite(change) and abs(change) < tol and stepwise.repair.n_events == events
        )
        stop = reporter is not None and reporter.iteration_ends(
            n_passes, lower_bound, change, converged, time.perf_counter() - started
        )
        if converged or stop:
            break
    return EMRun(
        parameters, lower_bound, lower_bounds, n_passes, converged, stepwise.repair.n_events
    )


def minibatch_em(source, options, parameters, repair, random_state, reporter):
    """Mini-batch EM (``options.batch_size``): ``options.max_iter`` passes at most of
    stepwise EM over ``source``'s rows in a random order (``source.minibatches``), then
    at most ``options.polish`` iterations of full-batch EM from where they end."""
    stepwise = StepwiseEM.for_options(
        options, repair, whole_data=options.batch_size >= source.n_samples
    )
    run = minibatch_passes(
        stepwise,
        lambda _: source.minibatches(options.batch_size, random_state),
        parameters,
        max_passes=options.max_iter,
        tol=options.tol,
        reporter=reporter,
    )
    repair.source = source
    if options.polish == 0 or (reporter is not None and reporter.stopped):
        return run
    polished = iterate(
        source,
        options.covariance,
        run.parameters,
        repair,
        tol=options.tol,
        max_iter=options.polish,
        reg_covar=options.reg_covar,
        lower_bound=run.lower_bound,
        reporter=reporter,
    )
    return dataclasses.replace(
        polished,
        lower_bounds=run.lower_bounds + polished.lower_bounds,
        n_iter=run.n_iter + polished.n_iter,
    )


def fit_em(source, options, random_state, warm_start_from=None):
    """Fit with ``options.n_init`` restarts and keep the best run (sklearn's rule).

    ``options`` is an ``em.options.FitOptions`` checked for the data's
    features (``for_features``); ``source`` a ``data.sources.Source`` ready for
    the fit (``prepare_fit``).

    ``warm_start_from`` is a previous ``EMRun``: then there is one run, started
    from its parameters and lower bound.  Each initialisation reads what
    ``source.initialisation_data`` gives (all rows, or a row sample).
    """
    covariance = options.covariance
    reporter = Reporter(options, warm_start_from is not None)

    def run_once(repair):
        if warm_start_from is None:
            parameters = initial_mixture(source, options, random_state, repair)
            lower_bound = -np.inf
        else:
            parameters = warm_start_from.parameters
            lower_bound = warm_start_from.lower_bound
        if options.max_iter == 0:
            return EMRun(parameters, -np.inf, [], 0, False, repair.n_events)
        if options.batch_size is not None:
            return minibatch_em(source, options, parameters, repair, random_state, reporter)
        return iterate(
            source,
            covariance,
            parameters,
            repair,
            tol=options.tol,
            max_iter=options.max_iter,
            reg_covar=options.reg_covar,
            lower_bound=lower_bound,
            reporter=reporter,
        )

    return best_of_restarts(source, options, warm_start_from is not None, reporter, run_once)


def best_of_restarts(source, options, warm_start, reporter, run_once):
    """Run ``run_once(repair)`` per initialisation and keep the best run (sklearn's rule).

    One run with ``warm_start``, else ``options.n_init``; each gets its own
    ``ComponentRepair``.  Runs are ``EMRun`` or ``VariationalRun``.  When the
    callback asks to stop (``reporter.stopped``), no further run starts and the
    best run so far (the stopped one included) is returned with ``stopped=True``.
    """
    best, best_init, n_runs = None, 0, 0
    try:
        for init in range(1 if warm_start else options.n_init):
            reporter.init_begins(init)
            run = run_once(ComponentRepair(source, options.covariance, options.on_degenerate))
            n_runs += 1
            reporter.init_ends(run)
            # sklearn keeps the first run with the highest lower bound, and with
            # max_iter=0 (no lower bound at all) the last initialisation.
            if (
                best is None
                or options.max_iter == 0
                or run.lower_bound > best.lower_bound
                or best.lower_bound == -np.inf
            ):
                best, best_init = run, init
            if reporter.stopped:
                break
    except BaseException:
        reporter.abort()
        raise
    reporter.fit_ends(best, best_init, n_runs)
    return dataclasses.replace(best, stopped=True) if reporter.stopped else best
