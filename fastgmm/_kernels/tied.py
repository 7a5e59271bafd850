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
the data's dtype (every k the same; [0] is read), ``log_const`` float64.
"""

import numpy as np
from numba import njit, prange

from ._common import (
    block_workspace,
    centre_block,
    chunk_bounds,
    e_step_block,
    one_hot_block,
    transpose_block,
    write_scores,
)
from ._options import BLOCK_ROWS, NJIT_OPTIONS, PARALLEL_NJIT_OPTIONS
from .full import _add_lower_products


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
    centre_block(x_t, n_rows, means[0], diff_t)
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
    (its lower triangle)."""
    n_components = resp.shape[0]
    n_features = diff_t.shape[0]
    zero = diff_t.dtype.type(0)
    for i in range(n_rows):
        row_weight[i] = 0.0
    for k in range(n_components):
        total = 0.0
        for i in range(n_rows):
            total += resp[k, i]
            row_weight[i] += resp[k, i]
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
    _add_lower_products(weighted, diff_t, n_rows, sum_sq)


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

    Moments are about c = ``means[0]`` (``sum_sq[c]`` is a single D x D lower
    triangle); ``sample_weight`` (length N, or 0 for unit weights) multiplies
    each row's responsibilities and log-likelihood.  ``labels`` (length N, else 0) holds a
    component index per row: with ``one_hot`` they are the responsibilities
    (``one_hot_block``, no E-step: the first M-step of a k-means start, at kernel
    speed; ``log_likelihood`` is then 0), else labelled rows (index >= 0) keep their
    label in the E-step and unlabelled ones (-1) do not (``e_step_block``).
    """
    n_samples, n_components = X.shape[0], means.shape[0]
    lower = precisions_cholesky_t[0]
    projected = _projected_means(means, lower)
    for c in prange(n_chunks):
        resp_sum[c] = 0.0
        sum_diff[c] = 0.0
        sum_sq[c] = 0.0
        log_likelihood[c] = 0.0
        x_t, diff_t, weighted, y, mahalanobis, log_prob, row_stats, rows = block_workspace(
            X, n_components
        )
        z_t = np.empty_like(x_t)
        first, last = chunk_bounds(n_samples, n_chunks, c)
        for start in range(first, last, BLOCK_ROWS):
            n_rows = min(BLOCK_ROWS, last - start)
            transpose_block(X, start, n_rows, x_t)
            if one_hot:
                centre_block(x_t, n_rows, means[0], diff_t)  # as _log_prob_block leaves it
                one_hot_block(labels, start, n_rows, sample_weight, log_prob)
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
                log_likelihood[c] += e_step_block(
                    log_prob, start, n_rows, row_stats, sample_weight, labels
                )
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


@njit(**PARALLEL_NJIT_OPTIONS)
def score(
    X, means, precisions_cholesky_t, log_const, n_chunks, out_log_prob_norm, out_resp, out_labels
):
    """Per-row log p(x), responsibilities and/or labels, block by block."""
    n_samples, n_components = X.shape[0], means.shape[0]
    lower = precisions_cholesky_t[0]
    projected = _projected_means(means, lower)
    for c in prange(n_chunks):
        x_t, diff_t, weighted, y, mahalanobis, log_prob, row_stats, rows = block_workspace(
            X, n_components
        )
        z_t = np.empty_like(x_t)
        first, last = chunk_bounds(n_samples, n_chunks, c)
        for start in range(first, last, BLOCK_ROWS):
            n_rows = min(BLOCK_ROWS, last - start)
            transpose_block(X, start, n_rows, x_t)
            _log_prob_block(
                x_t, n_rows, means, lower, projected, log_const, diff_t, z_t, mahalanobis, log_prob
            )
            write_scores(
                log_prob, start, n_rows, row_stats, out_log_prob_norm, out_resp, out_labels
            )
