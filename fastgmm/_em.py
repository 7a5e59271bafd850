"""The EM loop over any source of sufficient statistics: restarts, iterations, convergence.

One iteration is one pass of the source (E-step fused with accumulation) and
one small M-step.  The log-likelihood that pass returns belongs to the
parameters *before* the M-step, exactly as sklearn's ``lower_bound_``.
"""

import time
from dataclasses import dataclass

import numpy as np

from ._covariance import m_step
from ._degenerate import ComponentRepair
from ._initialization import initial_parameters


@dataclass(frozen=True)
class MixtureParameters:
    """float64 parameters in sklearn's layout (see ``_covariance.py``)."""

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    precisions_cholesky: np.ndarray


@dataclass(frozen=True)
class EMRun:
    """The outcome of the best EM run of a fit."""

    parameters: MixtureParameters
    lower_bound: float
    lower_bounds: list
    n_iter: int
    converged: bool
    n_degenerate: int = 0


class Reporter:
    """sklearn's ``verbose`` / ``verbose_interval`` messages."""

    def __init__(self, verbose, verbose_interval):
        self.verbose = verbose
        self.verbose_interval = verbose_interval

    def init_begins(self, init):
        if self.verbose:
            print(f"Initialization {init}")
            self._init_start = self._iter_start = time.time()

    def iteration_ends(self, n_iter, change):
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

    def init_ends(self, lower_bound, converged):
        message = "converged" if converged else "did not converge"
        if self.verbose == 1:
            print(f"Initialization {message}.")
        elif self.verbose >= 2:
            print(
                f"Initialization {message}. time lapse {time.time() - self._init_start:.5f}s\t "
                f"lower bound {lower_bound:.5f}."
            )


def until_converged(step, state, repair, *, tol, max_iter, lower_bound, reporter):
    """Apply ``state, lower_bound = step(state)`` until the lower bound changes by less than
    ``tol`` (an iteration in which ``repair`` mended a component cannot end it) or
    ``max_iter`` steps.  Returns ``(state, lower_bound, lower_bounds, n_iter, converged)``.
    """
    lower_bounds = []
    converged = False
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        previous, events = lower_bound, repair.n_events
        state, lower_bound = step(state)
        lower_bounds.append(lower_bound)
        change = lower_bound - previous
        if reporter is not None:
            reporter.iteration_ends(n_iter, change)
        if abs(change) < tol and repair.n_events == events:
            converged = True
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
        weights, means, covariances = m_step(covariance, statistics, reg_covar)
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


def fit_em(source, options, random_state, warm_start_from=None):
    """Fit with ``options.n_init`` restarts and keep the best run (sklearn's rule).

    ``options`` is a ``_validation.FitOptions`` checked for the data's
    features (``for_features``); ``source`` a ``_sources.Source`` ready for
    the fit (``prepare_fit``).

    ``warm_start_from`` is a previous ``EMRun``: then there is one run, started
    from its parameters and lower bound.  Each initialisation reads what
    ``source.initialisation_data`` gives (all rows, or a row sample).
    """
    covariance = options.covariance
    reporter = Reporter(options.verbose, options.verbose_interval)

    def run_once(repair):
        if warm_start_from is None:
            X, sample_weight = source.initialisation_data(random_state, options.n_components)
            parameters = MixtureParameters(
                *initial_parameters(
                    covariance,
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
                )
            )
            lower_bound = -np.inf
        else:
            parameters = warm_start_from.parameters
            lower_bound = warm_start_from.lower_bound
        if options.max_iter == 0:
            return EMRun(parameters, -np.inf, [], 0, False, repair.n_events)
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
    ``ComponentRepair``.  Runs have ``lower_bound`` and ``converged``.
    """
    best = None
    for init in range(1 if warm_start else options.n_init):
        reporter.init_begins(init)
        run = run_once(ComponentRepair(source, options.covariance, options.on_degenerate))
        if options.max_iter > 0:
            reporter.init_ends(run.lower_bound, run.converged)
        # sklearn keeps the first run with the highest lower bound, and with
        # max_iter=0 (no lower bound at all) the last initialisation.
        if (
            best is None
            or options.max_iter == 0
            or run.lower_bound > best.lower_bound
            or best.lower_bound == -np.inf
        ):
            best = run
    return best
