"""'diag' and 'spherical' kernels for data with missing values (NaN): ``statistics_diag``,
``score_diag``, ``impute_diagonal``, and the incomplete rows' block functions.

Features are independent within a component, so a row adds to the moments of its
observed features only, and ``missing_resp[k, a]`` counts the responsibility of the rows
where feature a is missing (the M-step divides each feature's moments by its own count,
N_k - missing_resp[k, a]).

``statistics_diag`` and ``score_diag`` are ``diag.py``'s ``statistics``/``score`` kernels
with the reordered block (``missing_common.py``): complete rows through ``diag.py``'s
block functions, incomplete rows through ``_diagonal_log_prob_block`` and
``_diagonal_accumulate_block``.  The extra arguments: ``precisions`` (ignored; the dense
kernels' argument) and the ``missing_resp`` accumulator (K x D per chunk).
"""

import numpy as np
from numba import njit, prange

from . import diag
from ._common import block_workspace, chunk_bounds
from ._options import BLOCK_ROWS, NJIT_OPTIONS, PARALLEL_NJIT_OPTIONS
from .missing_common import (
    _LOG_2PI,
    _block_e_step,
    _drawn_component,
    _posterior,
    _reset,
    _write_block_scores,
    missing_workspace,
    split_block,
)


@njit(**NJIT_OPTIONS)
def _diagonal_log_prob_block(
    first, n_rows, means, precisions_cholesky, log_const, missing_const, block_t, log_prob
):
    """``log_prob[k, j]`` for the incomplete rows j in ``[first, n_rows)`` (``block_t``):
    the observed features' terms of ``diag._log_prob_block`` (masked), and
    ``missing_const[k, a] = 1/2 log 2pi - log(1 / sigma_ka)`` for each missing one."""
    incomplete_t, mask_t, rows = block_t
    mahalanobis, extra = rows[0], rows[1]
    n_incomplete = n_rows - first
    for k in range(means.shape[0]):
        for i in range(n_incomplete):
            mahalanobis[i] = 0.0
            extra[i] = 0.0
        for a in range(incomplete_t.shape[0]):
            centre = means[k, a]
            precision = precisions_cholesky[k, a]
            constant = missing_const[k, a]
            for i in range(n_incomplete):
                mask = mask_t[a, i]
                y = np.float64((incomplete_t[a, i] - centre) * precision * mask)
                mahalanobis[i] += y * y
                extra[i] += (1.0 - mask) * constant
        for i in range(n_incomplete):
            log_prob[k, first + i] = log_const[k] + extra[i] - 0.5 * mahalanobis[i]


@njit(**NJIT_OPTIONS)
def _diagonal_accumulate_block(first, n_rows, means, resp, block_t, accumulators):
    """Add the incomplete rows' moments of their observed features, and ``missing_resp``
    (masked ``diag._accumulate_block``, in float64)."""
    incomplete_t, mask_t, _ = block_t
    resp_sum, sum_diff, sum_sq, missing_resp = accumulators
    n_incomplete = n_rows - first
    for k in range(means.shape[0]):
        block_resp = 0.0
        for i in range(n_incomplete):
            block_resp += resp[k, first + i]
        if block_resp == 0.0:
            continue  # exact: every term below would be zero
        resp_sum[k] += block_resp
        for a in range(incomplete_t.shape[0]):
            centre = means[k, a]
            first_moment, second_moment, unobserved = 0.0, 0.0, 0.0
            for i in range(n_incomplete):
                weight = resp[k, first + i]
                mask = np.float64(mask_t[a, i])
                diff = np.float64(incomplete_t[a, i] - centre) * mask
                first_moment += weight * diff
                second_moment += weight * diff * diff
                unobserved += weight * (1.0 - mask)
            sum_diff[k, a] += first_moment
            sum_sq[k, a] += second_moment
            missing_resp[k, a] += unobserved


# -- drivers ---------------------------------------------------------------------------


@njit(**PARALLEL_NJIT_OPTIONS)
def statistics_diag(
    X,
    sample_weight,
    labels,
    means,
    precisions_cholesky,
    precisions,
    log_const,
    n_chunks,
    resp_sum,
    sum_diff,
    sum_sq,
    missing_resp,
    log_likelihood,
):
    """``diag.statistics`` (without ``one_hot``) for data with NaN, with ``missing_resp``."""
    n_samples, n_components = X.shape[0], means.shape[0]
    missing_const = 0.5 * _LOG_2PI - np.log(precisions_cholesky.astype(np.float64))
    for c in prange(n_chunks):
        _reset(c, resp_sum, sum_diff, sum_sq, missing_resp, log_likelihood)
        x_t, diff_t, weighted, y, mahalanobis, log_prob, row_stats, rows = block_workspace(
            X, n_components
        )
        order, reordered, work, block_t = missing_workspace(X, labels)
        offsets, n_missing, _, _, _, _ = order
        first_row, last_row = chunk_bounds(n_samples, n_chunks, c)
        for start in range(first_row, last_row, BLOCK_ROWS):
            n_rows = min(BLOCK_ROWS, last_row - start)
            n_complete = split_block(X, start, n_rows, x_t, order, block_t)
            diag._log_prob_block(
                x_t, n_complete, means, precisions_cholesky, log_const, mahalanobis, log_prob
            )
            _diagonal_log_prob_block(
                n_complete,
                n_rows,
                means,
                precisions_cholesky,
                log_const,
                missing_const,
                block_t,
                log_prob,
            )
            log_likelihood[c] += _block_e_step(
                X,
                start,
                n_rows,
                offsets,
                n_missing,
                sample_weight,
                labels,
                row_stats,
                log_prob,
                reordered,
            )
            diag._accumulate_block(
                x_t, n_complete, means, log_prob, rows, resp_sum[c], sum_diff[c], sum_sq[c]
            )
            _diagonal_accumulate_block(
                n_complete,
                n_rows,
                means,
                log_prob,
                block_t,
                (resp_sum[c], sum_diff[c], sum_sq[c], missing_resp[c]),
            )


@njit(**PARALLEL_NJIT_OPTIONS)
def score_diag(
    X,
    means,
    precisions_cholesky,
    precisions,
    log_const,
    n_chunks,
    out_log_prob_norm,
    out_resp,
    out_labels,
):
    """``diag.score`` for data with NaN: marginal densities of the observed features."""
    n_samples, n_components = X.shape[0], means.shape[0]
    no_labels = np.empty(0, dtype=np.int64)
    missing_const = 0.5 * _LOG_2PI - np.log(precisions_cholesky.astype(np.float64))
    for c in prange(n_chunks):
        x_t, diff_t, weighted, y, mahalanobis, log_prob, row_stats, rows = block_workspace(
            X, n_components
        )
        unordered = np.empty_like(log_prob)
        order, reordered, work, block_t = missing_workspace(X, no_labels)
        offsets, n_missing, _, _, _, _ = order
        first_row, last_row = chunk_bounds(n_samples, n_chunks, c)
        for start in range(first_row, last_row, BLOCK_ROWS):
            n_rows = min(BLOCK_ROWS, last_row - start)
            n_complete = split_block(X, start, n_rows, x_t, order, block_t)
            diag._log_prob_block(
                x_t, n_complete, means, precisions_cholesky, log_const, mahalanobis, log_prob
            )
            _diagonal_log_prob_block(
                n_complete,
                n_rows,
                means,
                precisions_cholesky,
                log_const,
                missing_const,
                block_t,
                log_prob,
            )
            _write_block_scores(
                log_prob,
                offsets,
                start,
                n_rows,
                unordered,
                row_stats,
                out_log_prob_norm,
                out_resp,
                out_labels,
            )


# -- imputation ------------------------------------------------------------------------


@njit(**PARALLEL_NJIT_OPTIONS)
def impute_diagonal(
    X, means, precisions_cholesky, precisions, log_const, n_chunks, normals, uniforms, out
):
    """``impute_dense`` for 'diag' and 'spherical': features are independent within a
    component, so E[x_a | x_o, k] = mu_ka and Var = 1 / precisions_cholesky[k, a]^2."""
    n_samples, n_components = X.shape[0], means.shape[0]
    sample = uniforms.shape[0] > 0
    missing_const = 0.5 * _LOG_2PI - np.log(precisions_cholesky.astype(np.float64))
    no_labels = np.empty(0, dtype=np.int64)
    for c in prange(n_chunks):
        x_t, diff_t, weighted, y, mahalanobis, log_prob, row_stats, rows = block_workspace(
            X, n_components
        )
        order, reordered, work, block_t = missing_workspace(X, no_labels)
        offsets, n_missing, missing_features, _, _, _ = order
        resp = np.empty(n_components)
        first_row, last_row = chunk_bounds(n_samples, n_chunks, c)
        for start in range(first_row, last_row, BLOCK_ROWS):
            n_rows = min(BLOCK_ROWS, last_row - start)
            n_complete = split_block(X, start, n_rows, x_t, order, block_t)
            _diagonal_log_prob_block(
                n_complete,
                n_rows,
                means,
                precisions_cholesky,
                log_const,
                missing_const,
                block_t,
                log_prob,
            )
            for j in range(n_complete, n_rows):
                row = start + offsets[j]
                _posterior(log_prob, j, resp)
                drawn = _drawn_component(resp, uniforms[row]) if sample else -1
                for q in range(n_missing[j]):
                    a = missing_features[j, q]
                    if sample:
                        value = means[drawn, a] + normals[row, q] / precisions_cholesky[drawn, a]
                    else:
                        value = 0.0
                        for k in range(n_components):
                            value += resp[k] * means[k, a]
                    out[row, a] = value
