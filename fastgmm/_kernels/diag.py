"""Kernels for diagonal precisions (``'diag'``, and ``'spherical'`` with its one
precision repeated over the features).

Conventions (shared with ``covariance/``):

- ``precisions_cholesky[k, a] = 1 / sigma_ka`` in the data's dtype;
- ``log_const[k] = log pi_k + sum_a log(1 / sigma_ka) - D/2 log(2 pi)`` in float64;
- statistics are centred on ``means``: ``sum_diff[k] = sum_i q_ik (x_i - mu_k)``
  and ``sum_sq[k, a] = sum_i q_ik (x_ia - mu_ka)^2``.

Same block layout as ``full.py``: innermost loops over the block's rows,
which are centred on the fly (no centred copy is stored); compiled code as
``full.py``'s: one serial ``run_pass`` over a range of chunks.
"""

import numpy as np
from numba import njit

from ._common import (
    ONE_HOT,
    SCORE,
    block_workspace,
    e_step_block,
    flush_negligible,
    negligible_resp,
    significant_rows,
    transpose_block,
)
from ._options import BLOCK_ROWS, NJIT_OPTIONS


@njit(**NJIT_OPTIONS)
def _log_prob_block(x_t, n_rows, means, precisions_cholesky, log_const, mahalanobis, log_prob):
    """``log_prob[k, i] = log pi_k N(x_i | mu_k, diag(sigma_k^2))`` for the block's rows.

    Four features per pass over the block: per row, 4 loads of ``x_t`` feed 4
    scaled squares and one load and one store of ``mahalanobis`` (one feature
    per pass would load and store it once per feature: store-bound).
    """
    n_features = x_t.shape[0]
    n_quads = n_features // 4
    zero = x_t.dtype.type(0)
    for k in range(means.shape[0]):
        centre, precision = means[k], precisions_cholesky[k]
        for i in range(n_rows):
            mahalanobis[i] = zero
        for q in range(n_quads):
            a = 4 * q
            c0, c1, c2, c3 = centre[a], centre[a + 1], centre[a + 2], centre[a + 3]
            p0, p1 = precision[a], precision[a + 1]
            p2, p3 = precision[a + 2], precision[a + 3]
            for i in range(n_rows):
                y0 = (x_t[a, i] - c0) * p0
                y1 = (x_t[a + 1, i] - c1) * p1
                y2 = (x_t[a + 2, i] - c2) * p2
                y3 = (x_t[a + 3, i] - c3) * p3
                mahalanobis[i] += (y0 * y0 + y1 * y1) + (y2 * y2 + y3 * y3)
        for a in range(4 * n_quads, n_features):
            c, p = centre[a], precision[a]
            for i in range(n_rows):
                y = (x_t[a, i] - c) * p
                mahalanobis[i] += y * y
        for i in range(n_rows):
            log_prob[k, i] = log_const[k] - 0.5 * np.float64(mahalanobis[i])


@njit(**NJIT_OPTIONS)
def _accumulate_block(x_t, n_rows, means, resp, rows, resp_sum, sum_diff, sum_sq):
    """Add the block's centred zeroth, first and squared moments to the accumulators.

    Per component, only the rows of responsibility at least ``negligible_resp``
    enter the moments (their indices gathered into ``rows``) when they are at most
    a quarter of the block; otherwise the dense loops over every row are cheaper
    (the negligible responsibilities are set to 0 in ``resp`` first, which is not
    read afterwards).
    """
    n_features = x_t.shape[0]
    zero = x_t.dtype.type(0)
    negligible = negligible_resp(x_t)
    for k in range(means.shape[0]):
        block_resp, n_significant = flush_negligible(resp[k], n_rows, negligible)
        if block_resp == 0.0:
            continue  # exact: every term below would be zero
        resp_sum[k] += block_resp
        gathered = 4 * n_significant <= n_rows
        n_used = significant_rows(resp[k], n_rows, negligible, rows) if gathered else n_rows
        for a in range(n_features):
            centre = means[k, a]
            first = zero
            second = zero
            if gathered:
                for c in range(n_used):
                    i = rows[c]
                    diff = x_t[a, i] - centre
                    weighted = x_t.dtype.type(resp[k, i]) * diff
                    first += weighted
                    second += weighted * diff
            else:
                for i in range(n_used):
                    diff = x_t[a, i] - centre
                    weighted = x_t.dtype.type(resp[k, i]) * diff
                    first += weighted
                    second += weighted * diff
            sum_diff[k, a] += first
            sum_sq[k, a] += second


@njit(**NJIT_OPTIONS)
def run_pass(
    mode,
    X,
    sample_weight,
    labels,
    means,
    precisions_cholesky,
    log_const,
    n_chunks,
    resp_sum,
    sum_diff,
    sum_sq,
    log_likelihood,
    out_log_prob_norm,
    out_resp,
    out_labels,
    first_chunk,
    stop_chunk,
):
    """``full.run_pass`` for diagonal precisions (``sum_sq[c]`` is K x D)."""
    n_samples = X.shape[0]
    x_t, diff_t, weighted, y, mahalanobis, log_prob, row_stats, rows = block_workspace(
        X, means.shape[0]
    )
    for c in range(first_chunk, stop_chunk):
        first, last = (c * n_samples) // n_chunks, ((c + 1) * n_samples) // n_chunks
        if mode != SCORE:
            resp_sum[c] = 0.0
            sum_diff[c] = 0.0
            sum_sq[c] = 0.0
            log_likelihood[c] = 0.0
        for start in range(first, last, BLOCK_ROWS):
            n_rows = min(BLOCK_ROWS, last - start)
            transpose_block(X, start, n_rows, x_t)
            if mode != ONE_HOT:
                _log_prob_block(
                    x_t, n_rows, means, precisions_cholesky, log_const, mahalanobis, log_prob
                )
            total = e_step_block(
                mode,
                log_prob,
                start,
                n_rows,
                row_stats,
                sample_weight,
                labels,
                out_log_prob_norm,
                out_resp,
                out_labels,
            )
            if mode != SCORE:
                log_likelihood[c] += total
                _accumulate_block(
                    x_t, n_rows, means, log_prob, rows, resp_sum[c], sum_diff[c], sum_sq[c]
                )
