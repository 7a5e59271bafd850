"""Where the rows come from, and the one pass over them per EM iteration.

Every kind of data is a *source* (the ``Source`` protocol below): the
estimator fits and scores through it and never asks what kind of data it
has.  ``fastgmm.data.make_source`` picks the implementation:

- ``ArraySource`` wraps a validated (C-contiguous float32/float64) array, in
  memory or memory-mapped from a file.  It owns the per-chunk accumulators,
  allocated once per fit, and runs the covariance type's ``statistics`` kernel
  over the fixed chunk grid; on a memory-mapped file the kernel reads the pages
  as it goes, so nothing N-sized is ever allocated.
- ``dask_source.DaskSource`` runs the same kernel as one Dask task per row chunk.
"""

from typing import Protocol

import numpy as np

from .._kernels._common import ONE_HOT, SCORE, STATISTICS
from .._threads import launch, run_chunks
from ..covariance import kernel_arguments
from .statistics import (
    SufficientStatistics,
    feature_covariance,
    feature_moments,
    observed_feature_moments,
    with_variances,
)
from .validation import check_out, is_memory_mapped

# Chunk grid: a function of the data's shape only (never of the thread count),
# so that the per-chunk sums, added in chunk order, are bitwise reproducible.
MAX_CHUNKS = 64
MIN_CHUNK_ROWS = 2048
ACCUMULATOR_BUDGET_BYTES = 16 * 2**20

# Data that is not in memory (a memory-mapped file, a Dask array) is
# initialised on a row sample of this many rows (at least 100 per component).
INIT_SAMPLE_ROWS = 100_000
# ... and at most this many bytes of float64 values, for wide data (a sample is copied into
# memory): 32 MiB is 100,000 rows of 41 features, 16,384 rows of 256.
INIT_SAMPLE_BYTES = 32 * 2**20

# Rows scored at a time when only a total log-likelihood is wanted.
SCORE_BLOCK_ROWS = 2**20

# Rows read at a time when the data are scanned for missing values.
SCAN_ROWS = 65536

# Mini-batch EM: each batch gathers this many runs of contiguous rows from random places.
BLOCKS_PER_BATCH = 64


def n_chunks_for(n_samples, bytes_per_chunk=0):
    """Number of chunks for ``n_samples`` rows, keeping all accumulators under budget."""
    by_rows = max(1, n_samples // MIN_CHUNK_ROWS)
    by_memory = max(1, ACCUMULATOR_BUDGET_BYTES // max(1, bytes_per_chunk))
    return min(MAX_CHUNKS, by_rows, by_memory)


_EMPTY_FLOAT = np.empty(0)
_EMPTY_LABELS = np.empty(0, dtype=np.int64)
_EMPTY_RESP = np.empty((0, 0))


class Source(Protocol):
    """What a fit and the scoring methods need of their data, whatever holds it.

    Parameters passed to the methods are float64: ``log_weights`` (K,) is the
    per-component additive constant of the log-densities (log pi_k for EM; the
    expected log weight and its companions for the variational mixture),
    ``means`` and ``precisions_cholesky`` in scikit-learn's layouts (see
    ``covariance/``).
    """

    n_samples: int
    dtype: np.dtype  # the dtype the kernels compute in: float32 or float64
    total_weight: float  # the sum of the sample weights (n_samples without weights)

    def prepare_fit(self, persist):
        """Get ready for the passes of a fit (Dask: persist, check the values once)."""

    def statistics(self, log_weights, means, precisions_cholesky) -> SufficientStatistics:
        """One EM pass: the E-step fused with the accumulation of the statistics."""

    def feature_moments(self) -> tuple:
        """Per-feature (weighted) mean and variance, float64."""

    def feature_covariance(self) -> np.ndarray:
        """(Weighted) covariance matrix of the features, float64, over the total weight."""

    def initialisation_data(self, random_state, n_components) -> tuple:
        """``(X, sample_weight)`` in memory for the initialisation: all rows, or a sample."""

    def total_log_likelihood(self, log_weights, means, precisions_cholesky) -> float:
        """``sum_i w_i log p(x_i)``."""

    def score_rows(self, log_weights, means, precisions_cholesky, output, out=None):
        """One per-row output of ``SCORE_OUTPUTS`` (into ``out`` if given and supported)."""


def scan_missing(X, sample_weight=None):
    """``(any_missing, empty_weight, observed_weight)`` of validated data that may hold
    NaN: whether any value is missing, the total weight of the rows with no observed
    value, and the total weight of each feature's observed values (their number without
    ``sample_weight``)."""
    any_missing, empty_weight = False, 0.0
    observed_weight = np.zeros(X.shape[1])
    for start in range(0, X.shape[0], SCAN_ROWS):
        missing = np.isnan(X[start : start + SCAN_ROWS])
        weight = None if sample_weight is None else sample_weight[start : start + SCAN_ROWS]
        if not missing.any():  # the common chunk: every value observed, no row empty
            observed_weight += missing.shape[0] if weight is None else weight.sum()
            continue
        any_missing = True
        if weight is None:
            observed_weight += missing.shape[0] - missing.sum(axis=0)
            empty_weight += float(missing.all(axis=1).sum())
        else:
            observed_weight += weight @ ~missing
            empty_weight += float(weight[missing.all(axis=1)].sum())
    return any_missing, empty_weight, observed_weight


def check_observed_features(observed_weight):
    """ValueError if a feature has no observed value of positive weight (a fit could
    estimate nothing of it)."""
    if not np.all(observed_weight > 0):
        raise ValueError(
            f"Every value of feature {int(np.argmin(observed_weight))} of X is missing (NaN) "
            "or in a row of weight 0; a mixture cannot be fitted to a feature with no "
            "observed value. Drop that column."
        )


class ArraySource:
    """An in-memory or memory-mapped data matrix (and optional validated sample weights,
    known component labels, and missing values)."""

    def __init__(
        self,
        X,
        covariance,
        n_components,
        sample_weight=None,
        n_chunks=None,
        component_labels=None,
        marginalize=False,
    ):
        self.X = X
        self.sample_weight = sample_weight
        self.component_labels = component_labels
        self.total_weight = float(X.shape[0] if sample_weight is None else sample_weight.sum())
        # With missing values, the statistics kernels of _kernels/missing_*.py; rows with
        # no observed value then count for nothing, in the total weight neither.
        self.has_missing = False
        if marginalize:
            self.has_missing, empty_weight, self._observed_weight = scan_missing(X, sample_weight)
            self.total_weight -= empty_weight
        self.covariance = covariance
        self.n_components = n_components
        n_samples, n_features = X.shape
        self._sum_sq_shape = covariance.sum_sq_shape(n_components, n_features)
        if n_chunks is None:
            per_component = 1 + (2 if self.has_missing else 1) * n_features  # + missing_resp
            bytes_per_chunk = 8 * (
                n_components * per_component + int(np.prod(self._sum_sq_shape)) + 1
            )
            n_chunks = n_chunks_for(n_samples, bytes_per_chunk)
        self.n_chunks = n_chunks
        self._accumulators = None  # allocated by the first pass, reused by the next ones
        self._feature_moments = None
        self.out_of_core = is_memory_mapped(X)

    @property
    def n_samples(self):
        return self.X.shape[0]

    @property
    def dtype(self):
        return self.X.dtype

    def prepare_fit(self, persist):
        """The data were checked when converted (``data.validation.check_data``); with missing
        values, every feature needs an observed value."""
        if self.has_missing:
            check_observed_features(self._observed_weight)

    def _accumulator_slots(self):
        """Per-chunk accumulators (resp_sum, sum_diff, sum_sq, log-likelihood, and
        missing_resp for missing values), made once."""
        if self._accumulators is None:
            n_chunks, n_components, n_features = self.n_chunks, self.n_components, self.X.shape[1]
            self._accumulators = (
                np.empty((n_chunks, n_components)),
                np.empty((n_chunks, n_components, n_features)),
                np.empty((n_chunks,) + self._sum_sq_shape),
                np.empty(n_chunks),
                np.empty((n_chunks, n_components, n_features) if self.has_missing else 0),
            )
        return self._accumulators

    def statistics(self, log_weights, means, precisions_cholesky, assignments=None):
        """E-step fused with accumulation: the statistics for the given parameters.

        With ``assignments`` (one component index per row), the responsibilities are those
        hard assignments instead, and the moments are taken about ``means``
        (``statistics_of_labels``); the kernel then ignores ``log_weights`` and
        ``precisions_cholesky`` (any of the right shapes will do) and the log-likelihood is
        NaN.  Otherwise the rows of known ``component_labels`` keep their label.
        """
        kernel_means, kernel_precisions, log_const = kernel_arguments(
            self.covariance, log_weights, means, precisions_cholesky, self.X.dtype
        )
        sample_weight = _EMPTY_FLOAT if self.sample_weight is None else self.sample_weight
        resp_sum, sum_diff, sum_sq, log_likelihood, missing_resp = self._accumulator_slots()
        labels = self.component_labels
        if labels is None:
            labels = _EMPTY_LABELS
        if self.has_missing and assignments is None:
            launch(
                self.covariance.missing_kernels.statistics,
                self.X,
                sample_weight,
                labels,
                kernel_means,
                kernel_precisions,
                self.covariance.dense_precisions(precisions_cholesky),
                log_const,
                self.n_chunks,
                resp_sum,
                sum_diff,
                sum_sq,
                missing_resp,
                log_likelihood,
            )
        else:
            run_chunks(
                self.covariance.kernels.run_pass,
                self.n_chunks,
                STATISTICS if assignments is None else ONE_HOT,
                self.X,
                sample_weight,
                labels if assignments is None else assignments,
                kernel_means,
                kernel_precisions,
                log_const,
                self.n_chunks,
                resp_sum,
                sum_diff,
                sum_sq,
                log_likelihood,
                _EMPTY_FLOAT,
                _EMPTY_RESP,
                _EMPTY_LABELS,
            )
        # Sums over axis 0 add the chunk slots in chunk order: deterministic.
        return SufficientStatistics(
            resp_sum=resp_sum.sum(axis=0),
            sum_diff=sum_diff.sum(axis=0),
            sum_sq=sum_sq.sum(axis=0),
            reference=self.covariance.moments_reference(kernel_means),
            log_likelihood=np.nan if assignments is not None else float(log_likelihood.sum()),
            total_weight=self.total_weight,
            missing_resp=missing_resp.sum(axis=0) if self.has_missing else None,
        )

    def feature_moments(self):
        """Per-feature mean and variance of the data (float64; of the observed values when
        some are missing), computed on first use."""
        if self._feature_moments is None:
            moments = observed_feature_moments if self.has_missing else feature_moments
            self._feature_moments = moments(self.X, self.sample_weight)
        return self._feature_moments

    def feature_covariance(self):
        """(Weighted) covariance matrix of the features over the total weight, float64; with
        missing values, ``with_variances`` of the mean-filled data's and the observed
        variances."""
        mean, variance = self.feature_moments()
        covariance = feature_covariance(self.X, mean, self.sample_weight, fill_nan=self.has_missing)
        return with_variances(covariance, variance) if self.has_missing else covariance

    def total_log_likelihood(self, log_weights, means, precisions_cholesky):
        """``sum_i w_i log p(x_i)`` (all w_i = 1 without weights), scored block-wise.

        Never holds more than ``SCORE_BLOCK_ROWS`` per-row values at once.
        """
        total = 0.0
        for start in range(0, self.n_samples, SCORE_BLOCK_ROWS):
            stop = start + SCORE_BLOCK_ROWS
            (log_prob,) = score_rows(
                self.covariance,
                self.X[start:stop],
                log_weights,
                means,
                precisions_cholesky,
                log_prob_norm=True,
                marginalize=self.has_missing,
            )
            total += _weighted_total(
                log_prob, None if self.sample_weight is None else self.sample_weight[start:stop]
            )
        return total

    def score_rows(self, log_weights, means, precisions_cholesky, output, out=None):
        """``output`` (a key of ``SCORE_OUTPUTS``) for every row, into ``out`` if given."""
        dtype, per_component = SCORE_OUTPUTS[output]
        shape = (self.n_samples, means.shape[0]) if per_component else (self.n_samples,)
        (result,) = score_rows(
            self.covariance,
            self.X,
            log_weights,
            means,
            precisions_cholesky,
            out=check_out(out, shape, dtype),
            marginalize=self.has_missing,
            **{output: True},
        )
        return result

    def minibatches(self, batch_size, random_state):
        """One pass over the rows in a random order, as in-memory ``ArraySource`` batches
        of ``batch_size`` rows (the last one smaller); with ``batch_size >= n_samples``,
        this source itself (no copy).

        The order is random by runs of ``batch_size // BLOCKS_PER_BATCH`` contiguous rows:
        each batch gathers ``BLOCKS_PER_BATCH`` runs drawn from anywhere in the data
        (``random_state.permutation`` of the runs), so that a memory-mapped file is read
        in long sequential pieces and a pass costs no permutation of every row.
        """
        n_samples = self.n_samples
        if batch_size >= n_samples:
            yield self
            return
        run = max(1, batch_size // BLOCKS_PER_BATCH)
        runs_per_batch = max(1, batch_size // run)
        order = random_state.permutation(-(-n_samples // run))
        for first in range(0, order.shape[0], runs_per_batch):
            starts = np.sort(order[first : first + runs_per_batch]) * run
            rows = np.concatenate([np.arange(a, min(a + run, n_samples)) for a in starts])
            yield self.batch(rows)

    def batch(self, rows):
        """The rows ``rows`` (sorted indices), their weights and labels, in memory."""
        return ArraySource(
            np.ascontiguousarray(self.X[rows]),
            self.covariance,
            self.n_components,
            None if self.sample_weight is None else self.sample_weight[rows],
            component_labels=None if self.component_labels is None else self.component_labels[rows],
            marginalize=self.has_missing,
        )

    def initialisation_data(self, random_state, n_components):
        """``(X, sample_weight, component_labels)`` that initialisation reads: all rows, or
        for a memory-mapped file a row sample (``row_sample``) read into memory; with
        missing values, a copy with each NaN replaced by its feature's observed mean."""
        X, weights, labels = self.X, self.sample_weight, self.component_labels
        indices = None
        if self.out_of_core:
            indices = initialisation_rows(
                self.n_samples, self.X.shape[1], n_components, labels, random_state
            )
        if indices is not None:
            X = np.ascontiguousarray(X[indices])
            weights = None if weights is None else weights[indices]
            labels = None if labels is None else labels[indices]
        if self.has_missing:
            X = fill_missing(X, self.feature_moments()[0])
        return X, weights, labels


def fill_missing(X, values):
    """A copy of ``X`` with the NaN of each feature replaced by ``values`` (one per feature)."""
    filled = np.array(X)  # a copy in memory, also of a memory map
    for start in range(0, filled.shape[0], SCAN_ROWS):
        rows = filled[start : start + SCAN_ROWS]
        np.copyto(
            rows, np.broadcast_to(values, rows.shape).astype(rows.dtype), where=np.isnan(rows)
        )
    return filled


def statistics_of_labels(covariance, X, labels, reference, sample_weight=None):
    """Statistics of hard assignments (one-hot responsibilities): one pass of the EM kernel.

    ``labels`` holds a component index in ``[0, K)`` per row (int64) and ``reference`` the
    K points the moments are taken about (the clusters' means, for accuracy however far the
    clusters lie from the origin).  The first M-step of a k-means start.
    """
    n_components, n_features = reference.shape
    source = ArraySource(X, covariance, n_components, sample_weight)
    return source.statistics(
        np.zeros(n_components),
        reference,
        covariance.identity_precisions_cholesky(n_components, n_features),
        assignments=np.ascontiguousarray(labels, dtype=np.int64),
    )


def initialisation_rows(n_samples, n_features, n_components, labels, random_state):
    """Sorted indices of the rows a fit not in memory is initialised on, or None for all.

    A ``row_sample``, and with ``labels`` the labelled rows too (a sample of them if they
    are more than ``init_sample_size``), so that every labelled component's rows take
    part in the initialisation.
    """
    size = init_sample_size(n_components, n_features)
    indices = row_sample(n_samples, size, random_state)
    if indices is None or labels is None:
        return indices
    labelled = np.flatnonzero(labels >= 0)
    picked = row_sample(labelled.shape[0], size, random_state)
    return np.union1d(indices, labelled if picked is None else labelled[picked])


def init_sample_size(n_components, n_features):
    """Rows of the initialisation sample of data that is not in memory (and of k-means++'s
    seeding sample): ``INIT_SAMPLE_ROWS``, fewer where they would pass
    ``INIT_SAMPLE_BYTES`` in float64, and at least 100 per component."""
    by_bytes = INIT_SAMPLE_BYTES // (8 * n_features)
    return max(min(INIT_SAMPLE_ROWS, by_bytes), 100 * n_components)


def row_sample(n_samples, size, random_state):
    """Sorted indices of ``size`` distinct rows of ``n_samples``, or None if ``size >= n_samples``.

    Stratified: one uniformly drawn row in each of ``size`` equal strata, so
    the sample costs O(size) memory (no permutation of all rows), covers the
    whole file evenly and is read front to back.
    """
    if size >= n_samples:
        return None
    stratum_starts = (np.arange(size + 1, dtype=np.int64) * n_samples) // size
    widths = np.diff(stratum_starts)
    return stratum_starts[:-1] + (random_state.uniform(size=size) * widths).astype(np.int64)


# Each output of score_rows: its dtype, and whether it has a column per component.
SCORE_OUTPUTS = {
    "log_prob_norm": (np.float64, False),
    "resp": (np.float64, True),
    "labels": (np.int64, False),
}


def score_rows(
    covariance,
    X,
    log_weights,
    means,
    precisions_cholesky,
    log_prob_norm=False,
    resp=False,
    labels=False,
    out=None,
    marginalize=False,
):
    """Per-row ``log p(x)``, responsibilities and/or labels, computed block-wise.

    Returns a tuple of the arrays asked for, in that order (float64 / int64).
    ``out``, when given for a single output, is the (validated) array it is
    written into, such as a memory-mapped file.  With ``marginalize``, ``X`` may hold
    NaN (missing values): the kernels of ``_kernels/missing_*.py`` score the observed
    features' marginal densities.
    """
    n_samples, n_components = X.shape[0], means.shape[0]
    kernel_means, kernel_precisions, log_const = kernel_arguments(
        covariance, log_weights, means, precisions_cholesky, X.dtype
    )

    def output(asked, shape, dtype, empty):
        if not asked:
            return empty
        return np.empty(shape, dtype=dtype) if out is None else out

    out_norm = output(log_prob_norm, n_samples, np.float64, _EMPTY_FLOAT)
    out_resp = output(resp, (n_samples, n_components), np.float64, _EMPTY_RESP)
    out_labels = output(labels, n_samples, np.int64, _EMPTY_LABELS)
    n_chunks = n_chunks_for(n_samples)
    outputs = (out_norm, out_resp, out_labels)
    if marginalize:
        launch(
            covariance.missing_kernels.score,
            X,
            kernel_means,
            kernel_precisions,
            covariance.dense_precisions(precisions_cholesky),
            log_const,
            n_chunks,
            *outputs,
        )
    else:
        # The fit's compiled pass, scoring: no statistics (length-0 accumulators).
        n_sum_sq_axes = len(covariance.sum_sq_shape(n_components, X.shape[1]))
        no_accumulators = (
            _EMPTY_RESP,
            np.empty((0, 0, 0)),
            np.empty((0,) * (1 + n_sum_sq_axes)),
            _EMPTY_FLOAT,
        )
        run_chunks(
            covariance.kernels.run_pass,
            n_chunks,
            SCORE,
            X,
            _EMPTY_FLOAT,
            _EMPTY_LABELS,
            kernel_means,
            kernel_precisions,
            log_const,
            n_chunks,
            *no_accumulators,
            *outputs,
        )
    wanted = ((log_prob_norm, out_norm), (resp, out_resp), (labels, out_labels))
    return tuple(array for asked, array in wanted if asked)


def _weighted_total(log_prob, sample_weight):
    """sum_i w_i log p(x_i) (rows of weight 0 add nothing, even at -inf)."""
    if sample_weight is None:
        return float(log_prob.sum())
    return float(sample_weight @ np.where(sample_weight > 0, log_prob, 0.0))


def impute_rows(covariance, X, log_weights, means, precisions_cholesky, random_state=None):
    """A copy of ``X`` with each NaN replaced by its conditional expectation given the row's
    observed values under the mixture, or with ``random_state``, by a draw from the
    conditional distribution (``_kernels/missing_dense.py``: ``impute_dense``,
    ``missing_diag.py``: ``impute_diagonal``).

    The draws are taken in row chunks of ``SCAN_ROWS``: a standard normal per value and
    a uniform per row, whatever is missing, so that they do not depend on the threads.
    """
    kernel_means, kernel_precisions, log_const = kernel_arguments(
        covariance, log_weights, means, precisions_cholesky, X.dtype
    )
    precisions = covariance.dense_precisions(precisions_cholesky)
    out = np.array(X)  # a copy in memory, also of a memory map
    step = X.shape[0] if random_state is None else SCAN_ROWS
    for start in range(0, X.shape[0], max(step, 1)):
        rows = X[start : start + step]
        normals, uniforms = np.empty((0, 0)), _EMPTY_FLOAT
        if random_state is not None:
            normals = random_state.standard_normal(size=rows.shape)
            uniforms = random_state.uniform(size=rows.shape[0])
        launch(
            covariance.missing_kernels.impute,
            rows,
            kernel_means,
            kernel_precisions,
            precisions,
            log_const,
            n_chunks_for(rows.shape[0]),
            normals,
            uniforms,
            out[start : start + step],
        )
    return out
