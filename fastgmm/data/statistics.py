"""Sufficient statistics of a Gaussian mixture, and how to make them without a kernel.

The EM kernels produce them per chunk of rows (``data/sources.py``), also from the hard
assignments of a k-means start; the other initialisations build them from given
responsibilities with plain numpy.
Either way, one ``m_step`` (``covariance/``) turns them into parameters.
"""

from dataclasses import dataclass

import numpy as np

# Rows per chunk when initial responsibilities are made or applied chunk-wise:
# bounds the (rows x K) temporaries, never changes the numbers.
INIT_CHUNK_ROWS = 65536
# ... and at most this many bytes of float64 temporaries per chunk, for wide data.
INIT_CHUNK_BYTES = 8 * 2**20


def chunk_rows_for(n_features):
    """Rows per chunk of ``n_features`` features: ``INIT_CHUNK_ROWS``, fewer where their
    float64 temporaries would pass ``INIT_CHUNK_BYTES`` (beyond 16 features)."""
    return max(1, min(INIT_CHUNK_ROWS, INIT_CHUNK_BYTES // (8 * n_features)))


@dataclass(frozen=True)
class SufficientStatistics:
    """Additive statistics of the data for given responsibilities q_ik.

    All moments are about ``reference`` (one point per component, float64):

    - ``resp_sum[k] = sum_i q_ik``
    - ``sum_diff[k] = sum_i q_ik (x_i - c_k)``
    - ``sum_sq[k] = sum_i q_ik (x_i - c_k)(x_i - c_k)^T``: its lower triangle
      for 'full', its diagonal ``(K, D)`` for 'diag' and 'spherical', and for
      'tied' the pooled ``sum_k sum_sq[k]`` (one D x D lower triangle)
    - ``log_likelihood = sum_i log p(x_i)`` under the parameters that gave the
      q_ik (``nan`` when the q_ik came from an initialisation)
    - ``total_weight``: the (weighted) number of rows the statistics describe
    - ``missing_resp``: None for complete data; with missing values, for 'diag' and
      'spherical', ``missing_resp[k, a] = sum of q_ik over the rows where feature a is
      missing`` (those rows add nothing to feature a's moments), and for 'full' and
      'tied' zeros (their moments hold the missing values' conditional expectations;
      ``_kernels/missing_full.py``, ``missing_tied.py``)
    """

    resp_sum: np.ndarray
    sum_diff: np.ndarray
    sum_sq: np.ndarray
    reference: np.ndarray
    log_likelihood: float
    total_weight: float
    missing_resp: np.ndarray | None = None

    def __add__(self, other):
        """The statistics of both sets of rows (taken about the same ``reference``)."""
        missing_resp = self.missing_resp
        if other.missing_resp is not None:
            missing_resp = (
                other.missing_resp if missing_resp is None else missing_resp + other.missing_resp
            )
        return SufficientStatistics(
            resp_sum=self.resp_sum + other.resp_sum,
            sum_diff=self.sum_diff + other.sum_diff,
            sum_sq=self.sum_sq + other.sum_sq,
            reference=self.reference,
            log_likelihood=self.log_likelihood + other.log_likelihood,
            total_weight=self.total_weight + other.total_weight,
            missing_resp=missing_resp,
        )


def feature_moments(X, sample_weight=None, chunk_rows=None):
    """Per-feature (weighted) mean and variance of ``X`` in float64, by row chunks.

    No N x D temporary (chunks of ``chunk_rows``, by default ``chunk_rows_for(D)``); the
    variance is taken about the mean (no cancellation).
    """
    chunk_rows = chunk_rows or chunk_rows_for(X.shape[1])
    if sample_weight is None:
        mean = X.mean(axis=0, dtype=np.float64)
        total = float(X.shape[0])
    else:
        total = float(sample_weight.sum())
        mean = (
            sum(
                sample_weight[start : start + chunk_rows] @ X[start : start + chunk_rows]
                for start in range(0, X.shape[0], chunk_rows)
            )
            / total
        )
    squares = np.zeros(X.shape[1])
    for start in range(0, X.shape[0], chunk_rows):
        centred_sq = (X[start : start + chunk_rows] - mean) ** 2
        if sample_weight is None:
            squares += centred_sq.sum(axis=0)
        else:
            squares += sample_weight[start : start + chunk_rows] @ centred_sq
    return mean, squares / total


def observed_feature_moments(X, sample_weight=None, chunk_rows=None):
    """``feature_moments`` over each feature's observed (non-NaN) values only.

    Every feature needs one observed value of positive weight
    (``data.sources.check_observed_features`` checks it).
    """
    n_features = X.shape[1]
    chunk_rows = chunk_rows or chunk_rows_for(n_features)
    totals, sums, squares = np.zeros(n_features), np.zeros(n_features), np.zeros(n_features)

    def observed_weights(start):
        rows = np.asarray(X[start : start + chunk_rows], dtype=np.float64)
        weights = (~np.isnan(rows)).astype(np.float64)
        if sample_weight is not None:
            weights *= sample_weight[start : start + chunk_rows, None]
        return np.nan_to_num(rows, nan=0.0), weights

    for start in range(0, X.shape[0], chunk_rows):
        rows, weights = observed_weights(start)
        totals += weights.sum(axis=0)
        sums += (weights * rows).sum(axis=0)
    mean = sums / totals
    for start in range(0, X.shape[0], chunk_rows):
        rows, weights = observed_weights(start)
        squares += (weights * (rows - mean) ** 2).sum(axis=0)
    return mean, squares / totals


def feature_covariance(X, mean, sample_weight=None, chunk_rows=None, fill_nan=False):
    """(Weighted) covariance matrix of ``X``'s features about ``mean``, float64, divided by
    the total weight (no Bessel correction), by row chunks; ``fill_nan``: NaN count as
    ``mean`` (they add nothing)."""
    chunk_rows = chunk_rows or chunk_rows_for(X.shape[1])
    scatter = np.zeros((X.shape[1], X.shape[1]))
    for start in range(0, X.shape[0], chunk_rows):
        centred = X[start : start + chunk_rows] - mean
        if fill_nan:
            centred = np.where(np.isnan(centred), 0.0, centred)
        weighted = (
            centred
            if sample_weight is None
            else (centred * sample_weight[start : start + chunk_rows, None])
        )
        scatter += weighted.T @ centred
    return scatter / _total_weight(X, sample_weight)


def with_variances(covariance, variance):
    """The correlations of ``covariance`` with ``variance`` on the diagonal: positive
    semi-definite with ``covariance`` (a rescaling on both sides).  With missing values,
    the default prior covariance: the variances of each feature's observed values, and
    the correlations of the data with missing values filled in by feature means (which
    a covariance over the rows observing each pair of features would not guarantee)."""
    scale = np.sqrt(np.diag(covariance))
    scale = np.where(scale > 0.0, scale, 1.0)  # a constant feature: its row stays 0
    std = np.sqrt(variance)
    return covariance * np.outer(std / scale, std / scale)


def _total_weight(X, sample_weight):
    return float(X.shape[0]) if sample_weight is None else float(sample_weight.sum())


def statistics_from_responsibilities(covariance, X, resp_chunks, reference, sample_weight=None):
    """Statistics for responsibilities given as ``(start, resp_block)`` pairs.

    ``resp_block`` holds the rows ``start:start + len(resp_block)`` of the
    (N x K) responsibility matrix, so it is never needed whole; with
    ``sample_weight``, row i's responsibilities count ``w_i`` times.
    """
    n_components, n_features = reference.shape
    resp_sum = np.zeros(n_components)
    sum_diff = np.zeros((n_components, n_features))
    sum_sq = np.zeros(covariance.sum_sq_shape(n_components, n_features))
    for start, resp in resp_chunks:
        rows = X[start : start + resp.shape[0]]
        if sample_weight is not None:
            resp = resp * sample_weight[start : start + resp.shape[0], None]
        resp_sum += resp.sum(axis=0)
        for k in range(n_components):
            diff = rows - reference[k]
            sum_diff[k] += resp[:, k] @ diff
            covariance.add_second_moment(sum_sq, k, diff, resp[:, k])
    return SufficientStatistics(
        resp_sum, sum_diff, sum_sq, reference, np.nan, _total_weight(X, sample_weight)
    )


def statistics_of_points(covariance, X, indices, sample_weight=None):
    """Statistics when component k is the single data point ``X[indices[k]]``."""
    reference = np.asarray(X[indices], dtype=np.float64)
    n_components, n_features = reference.shape
    return SufficientStatistics(
        resp_sum=np.ones(n_components) if sample_weight is None else sample_weight[indices],
        sum_diff=np.zeros((n_components, n_features)),
        sum_sq=np.zeros(covariance.sum_sq_shape(n_components, n_features)),
        reference=reference,
        log_likelihood=np.nan,
        total_weight=_total_weight(X, sample_weight),
    )
