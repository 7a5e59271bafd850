"""Kernels for ``covariance_type='tied'``: one precision Cholesky factor U shared by all components.

Sharing U makes the work per row independent of K for the expensive parts:

- log-densities: with c = mu_0 (a point inside the data, for accuracy),
  z = (x - c) U is computed once per row (D^2 / 2 FMAs) and m_k = (mu_k - c) U
  once per call, then |(x - mu_k) U|^2 = |z - m_k|^2 (D per component)
  instead of one triangular product per component (``full.py``);
- statistics: the M-step needs only the pooled second moment
  ``sum_sq = sum_i (sum_k q_ik) (x_i - c)(x_i - c)^T`` (its lower triangle)
  and ``sum_diff[k] = sum_i q_ik (x_i - c)``: one rank-B update per block
  instead of K (``covariance.TiedCovariance`` turns them into the scatter
  about the new means).

Conventions otherwise as ``full.py``: ``precisions_cholesky_t[k]`` is U^T in
the data's dtype (every k the same; [0] is read), ``log_const`` float64;
compiled code as ``full.py``'s: one serial ``run_pass`` over a range of chunks.
"""

import numpy as np
from numba import njit

from ._common import (
    ONE_HOT,
    SCORE,
    add_lower_products,
    block_workspace,
    e_step_block,
    negligible_resp,
    transpose_block,
)
from ._options import BLOCK_ROWS, NJIT_OPTIONS


@njit(**NJIT_OPTIONS)
def _centre_block(x_t, n_rows, mean, diff_t):
    """``diff_t[a, i] = x_t[a, i] - mean[a]`` (contiguous rows, vectorised)."""
    for a in range(x_t.shape[0]):
        centre = mean[a]
        for i in range(n_rows):
            diff_t[a, i] = x_t[a, i] - centre


@njit(**NJIT_OPTIONS)
def _projected_means(means, lower):
    """``m[k, j] = sum_a lower[j, a] (mu_ka - mu_0a)``, in the means' dtype."""
    n_components, n_features = means.shape
    projected = np.zeros_like(means)
    for k in range(n_components):
        for j in range(n_features):
            total = 0.0
            for a in range(j + 1):
                total += lower[j, a] * (means[k, a] - means[0, a])
            projected[k, j] = total
    return projected


@njit(**NJIT_OPTIONS)
def _log_prob_block(
    x_t, n_rows, means, lower, projected, log_const, diff_t, z_t, mahalanobis, log_prob
):
    """``log_prob[k, i] = log pi_k N(x_i | mu_k, Sigma)``; leaves x - mu_0 in ``diff_t``."""
    n_features = x_t.shape[0]
    zero = x_t.dtype.type(0)
    _centre_block(x_t, n_rows, means[0], diff_t)
    # z_t[j] = sum_{a <= j} lower[j, a] diff_t[a], as axpy's over the block's rows.
    for j in range(n_features):
        z = z_t[j]
        for i in range(n_rows):
            z[i] = zero
        for a in range(j + 1):
            coefficient = lower[j, a]
            for i in range(n_rows):
                z[i] += coefficient * diff_t[a, i]
    for k in range(means.shape[0]):
        for i in range(n_rows):
            mahalanobis[i] = zero
        for j in range(n_features):
            centre = projected[k, j]
            for i in range(n_rows):
                y = z_t[j, i] - centre
                mahalanobis[i] += y * y
        for i in range(n_rows):
            log_prob[k, i] = log_const[k] - 0.5 * np.float64(mahalanobis[i])


@njit(**NJIT_OPTIONS)
def _accumulate_block(diff_t, n_rows, resp, row_weight, weighted, resp_sum, sum_diff, sum_sq):
    """Add sum_i q_ik, sum_i q_ik (x_i - c), and the pooled sum_i (sum_k q_ik)(x_i - c)(x_i - c)^T
    (its lower triangle).  Responsibilities below ``negligible_resp`` are left out of
    sum_i q_ik (x_i - c): they are set to 0 in ``resp``, which is not read afterwards."""
    n_components = resp.shape[0]
    n_features = diff_t.shape[0]
    zero = diff_t.dtype.type(0)
    negligible = negligible_resp(diff_t)
    for i in range(n_rows):
        row_weight[i] = 0.0
    for k in range(n_components):
        total = 0.0
        for i in range(n_rows):
            r = resp[k, i]
            total += r
            row_weight[i] += r
            resp[k, i] = r if r >= negligible else 0.0
        resp_sum[k] += total
        if total == 0.0:
            continue  # exact: sum_diff[k] gets nothing
        for a in range(n_features):
            partial = zero
            for i in range(n_rows):
                partial += diff_t.dtype.type(resp[k, i]) * diff_t[a, i]
            sum_diff[k, a] += partial
    # Row weights are sum_k q_ik: w_i, or 0 for a row no component explains.
    for a in range(n_features):
        for i in range(n_rows):
            weighted[a, i] = diff_t.dtype.type(row_weight[i]) * diff_t[a, i]
    add_lower_products(weighted, diff_t, n_rows, sum_sq)


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
    """``full.run_pass`` for a shared precision: moments about c = ``means[0]``, and
    ``sum_sq[c]`` a single D x D lower triangle."""
    n_samples = X.shape[0]
    x_t, diff_t, weighted, y, mahalanobis, log_prob, row_stats, rows = block_workspace(
        X, means.shape[0]
    )
    z_t = np.empty_like(x_t)
    lower = precisions_cholesky_t[0]
    projected = _projected_means(means, lower)
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
            if mode == ONE_HOT:
                _centre_block(x_t, n_rows, means[0], diff_t)  # as _log_prob_block leaves it
            else:
                _log_prob_block(
                    x_t,
                    n_rows,
                    means,
                    lower,
                    projected,
                    log_const,
                    diff_t,
                    z_t,
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
                    diff_t,
                    n_rows,
                    log_prob,
                    row_stats[1],
                    weighted,
                    resp_sum[c],
                    sum_diff[c],
                    sum_sq[c],
                )
