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
component is not negligible (``_common.significant_rows``).  Block partial
sums are taken in the data's dtype and added to float64 accumulators.
"""

import numpy as np
from numba import njit, prange

from ._common import (
    block_resp_sum,
    block_workspace,
    centre_block,
    chunk_bounds,
    e_step_block,
    one_hot_block,
    significant_rows,
    transpose_block,
    write_scores,
)
from ._options import BLOCK_ROWS, NJIT_OPTIONS, PARALLEL_NJIT_OPTIONS

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
    ``y`` and ``y_next`` are scratch rows.
    """
    for k in range(means.shape[0]):
        centre_block(x_t, n_rows, means[k], diff_t)
        mahalanobis_block(diff_t, n_rows, precisions_cholesky_t[k], y, y_next, mahalanobis)
        for i in range(n_rows):
            log_prob[k, i] = log_const[k] - 0.5 * np.float64(mahalanobis[i])


@njit(**NJIT_OPTIONS)
def mahalanobis_block(diff_t, n_rows, lower, y, y_next, mahalanobis):
    """``mahalanobis[i] = |U^T d_i|^2`` for the centred rows ``diff_t[:, i]`` (``lower`` = U^T).

    Rows j and j + 1 of y = U^T d together, four terms of each per pass over the
    block: per row, 4 loads of diff_t and 2 of y feed 8 FMAs and 2 stores (one
    term per pass would store y once per FMA: store-bound).
    """
    n_features = diff_t.shape[0]
    zero = diff_t.dtype.type(0)
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
            e0, e1, e2, e3 = (
                lower[j1, a],
                lower[j1, a + 1],
                lower[j1, a + 2],
                lower[j1, a + 3],
            )
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


@njit(**NJIT_OPTIONS)
def _accumulate_block(x_t, n_rows, means, resp, diff_t, weighted, rows, resp_sum, sum_diff, sum_sq):
    """Add the block's centred zeroth, first and second moments to the accumulators.

    Per component, only the rows of non-negligible responsibility enter the
    moments (``significant_rows``), gathered into the first columns of
    ``diff_t`` and ``weighted``; when many rows count, all of them do.
    """
    n_features = x_t.shape[0]
    zero = x_t.dtype.type(0)
    for k in range(means.shape[0]):
        block_resp = block_resp_sum(resp, k, n_rows)
        if block_resp == 0.0:
            continue  # exact: every term below would be zero
        resp_sum[k] += block_resp
        n_kept = significant_rows(resp, k, n_rows, rows)
        if n_kept < 0:
            n_used = n_rows
            centre_block(x_t, n_rows, means[k], diff_t)
            for a in range(n_features):
                partial = zero
                for i in range(n_rows):
                    weighted[a, i] = x_t.dtype.type(resp[k, i]) * diff_t[a, i]
                    partial += weighted[a, i]
                sum_diff[k, a] += partial
        else:
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
        _add_lower_products(weighted, diff_t, n_used, sum_sq[k])


@njit(**NJIT_OPTIONS)
def _add_lower_products(left, right, n_rows, out):
    """``out[a, b] += sum_i left[a, i] * right[b, i]`` for the lower triangle b <= a.

    Rows of 4 features go by 4 x 4 tiles (16 dot products in registers share 8
    loads per row); the last ``n_features % 4`` rows are plain dot products.
    """
    n_features = left.shape[0]
    n_tiled = n_features - n_features % 4
    for a in range(0, n_tiled, 4):
        for b in range(0, a + 1, 4):
            _add_tile(left, right, n_rows, a, b, out)
    zero = left.dtype.type(0)
    for a in range(n_tiled, n_features):
        for b in range(a + 1):
            total = zero
            for i in range(n_rows):
                total += left[a, i] * right[b, i]
            out[a, b] += total


@njit(**NJIT_OPTIONS)
def _add_tile(left, right, n_rows, a, b, out):
    """``out[a:a+4, b:b+4] += left[a:a+4] @ right[b:b+4].T`` over the block's rows.

    Entries above the diagonal of a diagonal tile are added too, and never read.
    """
    zero = left.dtype.type(0)
    s00 = s01 = s02 = s03 = s10 = s11 = s12 = s13 = zero
    s20 = s21 = s22 = s23 = s30 = s31 = s32 = s33 = zero
    for i in range(n_rows):
        l0, l1, l2, l3 = left[a, i], left[a + 1, i], left[a + 2, i], left[a + 3, i]
        r0, r1, r2, r3 = right[b, i], right[b + 1, i], right[b + 2, i], right[b + 3, i]
        s00 += l0 * r0
        s01 += l0 * r1
        s02 += l0 * r2
        s03 += l0 * r3
        s10 += l1 * r0
        s11 += l1 * r1
        s12 += l1 * r2
        s13 += l1 * r3
        s20 += l2 * r0
        s21 += l2 * r1
        s22 += l2 * r2
        s23 += l2 * r3
        s30 += l3 * r0
        s31 += l3 * r1
        s32 += l3 * r2
        s33 += l3 * r3
    out[a, b] += s00
    out[a, b + 1] += s01
    out[a, b + 2] += s02
    out[a, b + 3] += s03
    out[a + 1, b] += s10
    out[a + 1, b + 1] += s11
    out[a + 1, b + 2] += s12
    out[a + 1, b + 3] += s13
    out[a + 2, b] += s20
    out[a + 2, b + 1] += s21
    out[a + 2, b + 2] += s22
    out[a + 2, b + 3] += s23
    out[a + 3, b] += s30
    out[a + 3, b + 1] += s31
    out[a + 3, b + 2] += s32
    out[a + 3, b + 3] += s33


@njit(**PARALLEL_NJIT_OPTIONS)
def statistics(
    X,
    sample_weight,
    labels,
    one_hot,
    means,
    precisions_cholesky_t,
    log_const,
    n_chunks,
    resp_sum,
    sum_diff,
    sum_sq,
    log_likelihood,
):
    """One fused E-step + accumulation pass; writes one accumulator slot per chunk.

    ``sample_weight`` (length N, or 0 for unit weights) multiplies each row's
    responsibilities and log-likelihood.  ``labels`` (length N, else 0) holds a
    component index per row: with ``one_hot`` they are the responsibilities
    (``one_hot_block``, no E-step: the first M-step of a k-means start, at kernel
    speed; ``log_likelihood`` is then 0), else labelled rows (index >= 0) keep their
    label in the E-step and unlabelled ones (-1) do not (``e_step_block``).
    """
    n_samples, n_components = X.shape[0], means.shape[0]
    for c in prange(n_chunks):
        resp_sum[c] = 0.0
        sum_diff[c] = 0.0
        sum_sq[c] = 0.0
        log_likelihood[c] = 0.0
        x_t, diff_t, weighted, y, mahalanobis, log_prob, row_stats, rows = block_workspace(
            X, n_components
        )
        first, last = chunk_bounds(n_samples, n_chunks, c)
        for start in range(first, last, BLOCK_ROWS):
            n_rows = min(BLOCK_ROWS, last - start)
            transpose_block(X, start, n_rows, x_t)
            if one_hot:
                one_hot_block(labels, start, n_rows, sample_weight, log_prob)
            else:
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
                log_likelihood[c] += e_step_block(
                    log_prob, start, n_rows, row_stats, sample_weight, labels
                )
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


@njit(**PARALLEL_NJIT_OPTIONS)
def score(
    X, means, precisions_cholesky_t, log_const, n_chunks, out_log_prob_norm, out_resp, out_labels
):
    """Per-row log p(x), responsibilities and/or labels, block by block."""
    n_samples, n_components = X.shape[0], means.shape[0]
    for c in prange(n_chunks):
        x_t, diff_t, weighted, y, mahalanobis, log_prob, row_stats, rows = block_workspace(
            X, n_components
        )
        first, last = chunk_bounds(n_samples, n_chunks, c)
        for start in range(first, last, BLOCK_ROWS):
            n_rows = min(BLOCK_ROWS, last - start)
            transpose_block(X, start, n_rows, x_t)
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
            write_scores(
                log_prob, start, n_rows, row_stats, out_log_prob_norm, out_resp, out_labels
            )
