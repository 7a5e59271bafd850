"""Stepwise (online) EM: running sufficient statistics, updated from one batch of rows at a time.

Stepwise EM (Cappe & Moulines 2009; Liang & Klein 2009) keeps s, the sufficient
statistics per unit weight, as a running average over batches.  For batch t (t = 0, 1, ...)
with statistics s(B_t) under the current parameters (one pass of the usual fused E-step
kernel over the batch, per unit weight):

    s <- (1 - eta_t) s + eta_t s(B_t),    eta_t = (t + learning_offset)^(-learning_decay),

starting from the statistics the initial parameters expect of their own data
(``model_statistics``: the first batches refine the initial model rather than replace
it; with learning_offset = 1 the first batch's statistics replace them), then the usual
M-step (``covariance.m_step``) and the repairs of degenerate components.  With 0.5 <
learning_decay <= 1 the steps satisfy sum eta_t = inf and sum eta_t^2 < inf, the
conditions under which the average converges to a fixed point of batch EM; a smaller
decay forgets old batches faster (it follows data that drift), a decay of 1 averages all
batches alike (a running mean).

The statistics of different batches are moments about different points (each batch's
kernel centres them on the means of its parameters, for accuracy); ``moved`` takes them
exactly to one common reference before they are averaged.  ``em.loop.minibatch_passes``
runs passes of stepwise EM over batches: the rows of a source in a random order
(``GaussianMixture(batch_size=...)``) or an iterable of arrays (``fastgmm.fit_stream``);
``GaussianMixture.partial_fit`` calls ``StepwiseEM.step`` once per call.
"""

import dataclasses

import numpy as np

from ..data.statistics import SufficientStatistics


def rescaled(statistics, factor):
    """The statistics times ``factor`` (moments, counts and log-likelihood alike)."""
    missing_resp = statistics.missing_resp
    return SufficientStatistics(
        resp_sum=statistics.resp_sum * factor,
        sum_diff=statistics.sum_diff * factor,
        sum_sq=statistics.sum_sq * factor,
        reference=statistics.reference,
        log_likelihood=statistics.log_likelihood * factor,
        total_weight=statistics.total_weight * factor,
        missing_resp=None if missing_resp is None else missing_resp * factor,
    )


def moved(covariance, statistics, reference):
    """The same statistics as moments about ``reference`` (one point per component).

    With z = x - c, z' = x - c' and delta = c - c': sum q z' = S1 + N delta, and
    sum q z' z'^T = S2 + S1 delta^T + delta S1^T + N delta delta^T (N per feature for the
    types with ``per_feature_counts``; ``covariance.moved_sum_sq`` applies the second).
    """
    delta = statistics.reference - reference
    counts = statistics.resp_sum[:, None]
    if statistics.missing_resp is not None:
        counts = counts - statistics.missing_resp
    return dataclasses.replace(
        statistics,
        sum_diff=statistics.sum_diff + counts * delta,
        sum_sq=covariance.moved_sum_sq(counts, statistics.sum_diff, statistics.sum_sq, delta),
        reference=reference,
    )


def blended(covariance, average, batch, step):
    """``(1 - step) average + step batch``, about the batch's reference."""
    average = moved(covariance, average, batch.reference)
    missing_resp = None
    if batch.missing_resp is not None or average.missing_resp is not None:
        missing_resp = (1.0 - step) * _missing_resp(average) + step * _missing_resp(batch)
    return SufficientStatistics(
        resp_sum=(1.0 - step) * average.resp_sum + step * batch.resp_sum,
        sum_diff=(1.0 - step) * average.sum_diff + step * batch.sum_diff,
        sum_sq=(1.0 - step) * average.sum_sq + step * batch.sum_sq,
        reference=batch.reference,
        log_likelihood=(1.0 - step) * average.log_likelihood + step * batch.log_likelihood,
        total_weight=1.0,
        missing_resp=missing_resp,
    )


def _missing_resp(statistics):
    """``statistics.missing_resp``, or zeros when no value was missing."""
    if statistics.missing_resp is None:
        return np.zeros_like(statistics.sum_diff)
    return statistics.missing_resp


def model_statistics(covariance, parameters, reg_covar):
    """The statistics per unit weight that the mixture ``parameters`` expect of its own data
    (N_k = pi_k, S1 = 0 about the means, S2 = pi_k (Sigma_k - reg_covar I)): where the
    running average starts, so that the first batches refine the initial model rather
    than replace it."""
    weights = parameters.weights / parameters.weights.sum()
    second = covariance.model_sum_sq(weights, parameters.covariances, reg_covar)
    return SufficientStatistics(
        resp_sum=weights,
        sum_diff=np.zeros_like(parameters.means),
        sum_sq=np.broadcast_to(second, covariance.sum_sq_shape(*parameters.means.shape)).copy(),
        reference=parameters.means,
        log_likelihood=0.0,
        total_weight=1.0,
    )


class StepwiseEM:
    """The running statistics of stepwise EM and its step counter.

    ``learning_decay`` and ``learning_offset`` set the step sizes (module docstring);
    ``repair`` is the fit's ``ComponentRepair`` (its ``source`` is set to each batch's).
    With ``whole_data`` every batch is all the data: each step is then one iteration of
    batch EM, on the batch's own statistics (no average: they are exact, not noisy), so
    that mini-batch EM with ``batch_size >= n_samples`` is batch EM, bit for bit.
    """

    def __init__(
        self, covariance, reg_covar, learning_decay, learning_offset, repair, whole_data=False
    ):
        self.covariance = covariance
        self.reg_covar = reg_covar
        self.learning_decay = learning_decay
        self.learning_offset = learning_offset
        self.repair = repair
        self.whole_data = whole_data
        self.average = None  # SufficientStatistics per unit weight
        self.n_steps = 0

    @classmethod
    def for_options(cls, options, repair, whole_data=False):
        """The state for a fit's ``em.options.FitOptions``."""
        return cls(
            options.covariance,
            options.reg_covar,
            options.learning_decay,
            options.learning_offset,
            repair,
            whole_data,
        )

    def step_size(self):
        """eta_t of the next step."""
        return (self.n_steps + self.learning_offset) ** -self.learning_decay

    def step(self, source, parameters):
        """One E-step over ``source`` (a batch), the running average, one M-step.

        ``parameters`` and the result are ``em.loop.MixtureParameters``; also returns the
        batch's mean log-likelihood under the parameters before the step.  A batch with
        no weight (no row of positive weight, or with missing values no observed value)
        raises ValueError (``em.loop.minibatch_passes`` skips such batches).
        """
        statistics = source.statistics(
            np.log(parameters.weights), parameters.means, parameters.precisions_cholesky
        )
        if not statistics.total_weight > 0.0:
            raise ValueError(
                "The batch has no row of positive weight (and, with missing values, an "
                "observed value): there is nothing to update the mixture with."
            )
        batch = rescaled(statistics, 1.0 / statistics.total_weight)
        if self.whole_data:
            self.average = statistics
        else:
            if self.average is None:
                self.average = model_statistics(self.covariance, parameters, self.reg_covar)
            self.average = blended(self.covariance, self.average, batch, self.step_size())
        self.n_steps += 1
        self.repair.source = source
        weights, means, covariances = self.covariance.m_step(self.average, self.reg_covar)
        covariances, precisions_cholesky = self.repair.factorise(covariances)
        parameters = type(parameters)(
            *self.repair.reseed_empty(
                self.average.resp_sum, weights, means, covariances, precisions_cholesky
            )
        )
        return parameters, statistics.log_likelihood / statistics.total_weight
