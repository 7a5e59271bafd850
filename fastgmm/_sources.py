"""Where the rows come from, and the one pass over them per EM iteration.

``ArraySource`` wraps an in-memory (validated, C-contiguous float32/float64)
array.  It owns the per-chunk accumulators, allocated once per fit, and runs
the covariance type's ``statistics`` kernel over the fixed chunk grid.
Any other source (memory-mapped files, Dask) only has to offer the same
``statistics(weights, means, precisions_cholesky)`` method.
"""

import numpy as np

from ._covariance import kernel_arguments
from ._statistics import SufficientStatistics, feature_moments

# Chunk grid: a function of the data's shape only (never of the thread count),
# so that the per-chunk sums, added in chunk order, are bitwise reproducible.
MAX_CHUNKS = 64
MIN_CHUNK_ROWS = 2048
ACCUMULATOR_BUDGET_BYTES = 16 * 2**20


def n_chunks_for(n_samples, bytes_per_chunk=0):
    """Number of chunks for ``n_samples`` rows, keeping all accumulators under budget."""
    by_rows = max(1, n_samples // MIN_CHUNK_ROWS)
    by_memory = max(1, ACCUMULATOR_BUDGET_BYTES // max(1, bytes_per_chunk))
    return min(MAX_CHUNKS, by_rows, by_memory)


_EMPTY_FLOAT = np.empty(0)


class ArraySource:
    """An in-memory data matrix (and optional validated sample weights) for one fit."""

    def __init__(self, X, covariance, n_components, sample_weight=None, n_chunks=None):
        self.X = X
        self.sample_weight = sample_weight
        self.total_weight = float(X.shape[0] if sample_weight is None else sample_weight.sum())
        self.covariance = covariance
        n_samples, n_features = X.shape
        sum_sq_shape = covariance.sum_sq_shape(n_components, n_features)
        if n_chunks is None:
            bytes_per_chunk = 8 * (n_components * (1 + n_features) + int(np.prod(sum_sq_shape)) + 1)
            n_chunks = n_chunks_for(n_samples, bytes_per_chunk)
        self.n_chunks = n_chunks
        self._resp_sum = np.empty((self.n_chunks, n_components))
        self._sum_diff = np.empty((self.n_chunks, n_components, n_features))
        self._sum_sq = np.empty((self.n_chunks,) + sum_sq_shape)
        self._log_likelihood = np.empty(self.n_chunks)
        self._feature_moments = None

    @property
    def n_samples(self):
        return self.X.shape[0]

    def statistics(self, weights, means, precisions_cholesky):
        """E-step fused with accumulation: the statistics for the given parameters."""
        kernel_means, kernel_precisions, log_const = kernel_arguments(
            self.covariance, weights, means, precisions_cholesky, self.X.dtype)
        sample_weight = _EMPTY_FLOAT if self.sample_weight is None else self.sample_weight
        self.covariance.kernels.statistics(
            self.X, sample_weight, kernel_means, kernel_precisions, log_const, self.n_chunks,
            self._resp_sum, self._sum_diff, self._sum_sq, self._log_likelihood)
        # Sums over axis 0 add the chunk slots in chunk order: deterministic.
        return SufficientStatistics(
            resp_sum=self._resp_sum.sum(axis=0),
            sum_diff=self._sum_diff.sum(axis=0),
            sum_sq=self._sum_sq.sum(axis=0),
            reference=self.covariance.moments_reference(kernel_means),
            log_likelihood=float(self._log_likelihood.sum()),
            total_weight=self.total_weight,
        )

    def feature_moments(self):
        """Per-feature mean and variance of the data (float64), computed on first use."""
        if self._feature_moments is None:
            self._feature_moments = feature_moments(self.X, self.sample_weight)
        return self._feature_moments


_EMPTY_RESP = np.empty((0, 0))
_EMPTY_LABELS = np.empty(0, dtype=np.int64)


def score_rows(covariance, X, weights, means, precisions_cholesky,
               log_prob_norm=False, resp=False, labels=False):
    """Per-row ``log p(x)``, responsibilities and/or labels, computed block-wise.

    Returns a tuple of the arrays asked for, in that order (float64 / int64).
    """
    n_samples, n_components = X.shape[0], means.shape[0]
    kernel_means, kernel_precisions, log_const = kernel_arguments(
        covariance, weights, means, precisions_cholesky, X.dtype)
    out_norm = np.empty(n_samples) if log_prob_norm else _EMPTY_FLOAT
    out_resp = np.empty((n_samples, n_components)) if resp else _EMPTY_RESP
    out_labels = np.empty(n_samples, dtype=np.int64) if labels else _EMPTY_LABELS
    covariance.kernels.score(
        X, kernel_means, kernel_precisions, log_const, n_chunks_for(n_samples),
        out_norm, out_resp, out_labels)
    wanted = ((log_prob_norm, out_norm), (resp, out_resp), (labels, out_labels))
    return tuple(out for asked, out in wanted if asked)
