"""Kernels for ``covariance_type='full'``: one precision Cholesky factor per component.

Conventions (shared with ``covariance/``):

- ``precisions_cholesky_t[k]`` is the *transpose* of sklearn's upper-triangular
  ``precisions_cholesky_[k]`` (so it is lower-triangular and row ``j`` holds
  the coefficients of ``y_j``), in the data's dtype;
- ``log_const[k] = log pi_k + log det U_k - D/2 log(2 pi)`` in float64;
- statistics are centred on ``means`` (the reference the caller passes in):
  ``sum_diff[k] = sum_i q_ik (x_i - mu_k)`` and ``sum_sq[k]`` holds the lower
  triangle of ``sum_i q_ik (x_i - mu_k)(x_i - mu_k)^T``.

Within a block the work is matrix-shaped and the innermost loops run over the
block's rows (contiguous, vectorised): the triangular product runs as axpy's
(two rows of y, four terms per pass) and the rank-B update of ``sum_sq`` as
4 x 4 tiles of dot products, over the rows whose responsibility for the
component is not negligible.  Block partial sums are taken in the data's
dtype and added to float64 accumulators.

Compiled code: one serial ``run_pass`` over a range of chunks, which calls the
two block functions (shared with ``missing_full.py``) and ``_common``'s E-step;
fitting and scoring run the same compiled code with a different ``mode``, and
``_threads.run_chunks`` runs it on several threads (no ``prange``: a parallel
driver would cost seconds of compilation, docs/design.md section 3).
"""

import numpy as np
from numba import njit

from ._common import (
    ONE_HOT,
    SCORE,
    add_lower_products,
    block_workspace,
    e_step_block,
    flush_negligible,
    negligible_resp,
    significant_rows,
    transpose_block,
)
from ._options import BLOCK_ROWS, NJIT_OPTIONS

# Gathered rows are padded with zero columns to a multiple of this, so that
# the moment products run as full SIMD loops (16 float32 lanes of AVX-512).
GATHER_PAD = 16


@njit(**NJIT_OPTIONS)
def _log_prob_block(
    x_t, n_rows, means, precisions_cholesky_t, log_const, diff_t, y, y_next, mahalanobis, log_prob
):
    """``log_prob[k, i] = log pi_k N(x_i | mu_k, Sigma_k)`` for the block's rows.

    With y = (x - mu) U and Lambda = U U^T:
    log N = -D/2 log 2pi + log det U - |y|^2 / 2   (Bishop 2.43).
    Rows j and j + 1 of y = U^T (x - mu) go together, four terms of each per pass
    over the block: per row, 4 loads of ``diff_t`` and 2 of y feed 8 FMAs and 2
    stores (one term per pass would store y once per FMA: store-bound).  ``y`` and
    ``y_next`` are scratch rows.
    """
    n_features = x_t.shape[0]
    zero = x_t.dtype.type(0)
    for k in range(means.shape[0]):
        lower = precisions_cholesky_t[k]
        for a in range(n_features):
            centre = means[k, a]
            for i in range(n_rows):
                diff_t[a, i] = x_t[a, i] - centre
        for i in range(n_rows):
            mahalanobis[i] = zero
        for j in range(0, n_features, 2):
            j1 = min(j + 1, n_features - 1)
            for i in range(n_rows):
                y[i] = zero
                y_next[i] = zero
            n_terms = j1 + 1  # lower[j, j + 1] = 0: lower is triangular
            n_quads = n_terms // 4
            for q in range(n_quads):
                a = 4 * q
                c0, c1, c2, c3 = lower[j, a], lower[j, a + 1], lower[j, a + 2], lower[j, a + 3]
                e0, e1, e2, e3 = lower[j1, a], lower[j1, a + 1], lower[j1, a + 2], lower[j1, a + 3]
                for i in range(n_rows):
                    d0, d1, d2, d3 = (
                        diff_t[a, i],
                        diff_t[a + 1, i],
                        diff_t[a + 2, i],
                        diff_t[a + 3, i],
                    )
                    y[i] += c0 * d0 + c1 * d1 + c2 * d2 + c3 * d3
                    y_next[i] += e0 * d0 + e1 * d1 + e2 * d2 + e3 * d3
            for a in range(4 * n_quads, n_terms):
                coefficient = lower[j, a]
                coefficient_next = lower[j1, a]
                for i in range(n_rows):
                    d = diff_t[a, i]
                    y[i] += coefficient * d
                    y_next[i] += coefficient_next * d
            if j1 == j:  # odd n_features: the last row alone
                for i in range(n_rows):
                    mahalanobis[i] += y[i] * y[i]
            else:
                for i in range(n_rows):
                    mahalanobis[i] += y[i] * y[i] + y_next[i] * y_next[i]
        for i in range(n_rows):
            log_prob[k, i] = log_const[k] - 0.5 * np.float64(mahalanobis[i])


@njit(**NJIT_OPTIONS)
def _accumulate_block(x_t, n_rows, means, resp, diff_t, weighted, rows, resp_sum, sum_diff, sum_sq):
    """Add the block's centred zeroth, first and second moments to the accumulators.

    Per component, only the rows of responsibility at least ``negligible_resp``
    enter the moments, gathered into the first columns of ``diff_t`` and
    ``weighted`` (``rows`` holds their indices); when more than a quarter of the
    block counts, the dense loops over every row are cheaper than gathering (the
    negligible responsibilities are set to 0 in ``resp`` first, which is not read
    afterwards).
    """
    n_features = x_t.shape[0]
    zero = x_t.dtype.type(0)
    negligible = negligible_resp(x_t)
    for k in range(means.shape[0]):
        block_resp, n_significant = flush_negligible(resp[k], n_rows, negligible)
        if block_resp == 0.0:
            continue  # exact: every term below would be zero
        resp_sum[k] += block_resp
        if 4 * n_significant > n_rows:
            n_used = n_rows
            for a in range(n_features):
                centre = means[k, a]
                partial = zero
                for i in range(n_rows):
                    d = x_t[a, i] - centre
                    diff_t[a, i] = d
                    weighted[a, i] = x_t.dtype.type(resp[k, i]) * d
                    partial += weighted[a, i]
                sum_diff[k, a] += partial
        else:
            n_kept = significant_rows(resp[k], n_rows, negligible, rows)
            # Zero columns (they add exactly 0) pad to a multiple of GATHER_PAD.
            n_used = min(-(-n_kept // GATHER_PAD) * GATHER_PAD, n_rows)
            for a in range(n_features):
                centre = means[k, a]
                partial = zero
                for c in range(n_kept):
                    i = rows[c]
                    d = x_t[a, i] - centre
                    diff_t[a, c] = d
                    weighted[a, c] = x_t.dtype.type(resp[k, i]) * d
                    partial += weighted[a, c]
                for c in range(n_kept, n_used):
                    diff_t[a, c] = zero
                    weighted[a, c] = zero
                sum_diff[k, a] += partial
        add_lower_products(weighted, diff_t, n_used, sum_sq[k])


@njit(**NJIT_OPTIONS)
def run_pass(
    mode,
    X,
    sample_weight,
    labels,
    means,
    precisions_cholesky_t,
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
    """Chunks ``first_chunk`` to ``stop_chunk - 1`` of the rows' ``n_chunks``, as ``mode`` says.

    Serial: ``_threads.run_chunks`` shares the chunks out among threads.
    ``STATISTICS`` and ``ONE_HOT`` (``_common.e_step_block``) write chunk c's
    accumulator slot ``resp_sum[c]``, ``sum_diff[c]``, ``sum_sq[c]`` and
    ``log_likelihood[c]`` (0 for ``ONE_HOT``), and leave the outputs (length 0)
    alone; ``SCORE`` writes the per-row outputs asked for and leaves the
    accumulators (length 0) alone.
    """
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
                    x_t,
                    n_rows,
                    means,
                    precisions_cholesky_t,
                    log_const,
                    diff_t,
                    y[0],
                    y[1],
                    mahalanobis,
                    log_prob,
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
                    x_t,
                    n_rows,
                    means,
                    log_prob,
                    diff_t,
                    weighted,
                    rows,
                    resp_sum[c],
                    sum_diff[c],
                    sum_sq[c],
                )
