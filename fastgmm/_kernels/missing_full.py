"""'full' kernels for data with missing values (NaN): ``statistics_full``, ``score_full``.

Each is ``full.py``'s ``statistics``/``score`` kernel with the reordered block
(``missing_common.py``): complete rows through ``full.py``'s block functions, incomplete
rows through ``missing_dense.py``'s.  The extra arguments: ``precisions`` (float64
precision matrices, K x D x D) and the ``missing_resp`` accumulator (K x D per chunk;
left 0).  Imputation: ``missing_dense.impute_dense``.
"""

import numpy as np
from numba import njit, prange

from . import full
from ._common import block_workspace, chunk_bounds
from ._options import BLOCK_ROWS, PARALLEL_NJIT_OPTIONS
from .missing_common import (
    _block_e_step,
    _reset,
    _write_block_scores,
    missing_workspace,
    split_block,
)
from .missing_dense import _dense_accumulate_block, _dense_log_prob_block, dense_workspace
from .missing_schur import pair_tables


@njit(**PARALLEL_NJIT_OPTIONS)
def statistics_full(
    X,
    sample_weight,
    labels,
    means,
    precisions_cholesky_t,
    precisions,
    log_const,
    n_chunks,
    resp_sum,
    sum_diff,
    sum_sq,
    missing_resp,
    log_likelihood,
):
    """``full.statistics`` (without ``one_hot``) for data with NaN."""
    n_samples, n_components = X.shape[0], means.shape[0]
    tables = pair_tables(precisions)
    for c in prange(n_chunks):
        _reset(c, resp_sum, sum_diff, sum_sq, missing_resp, log_likelihood)
        x_t, diff_t, weighted, y, mahalanobis, log_prob, row_stats, rows = block_workspace(
            X, n_components
        )
        order, reordered, work, block_t = missing_workspace(X, labels)
        dense = dense_workspace(n_components, X.shape[1])
        offsets, n_missing, _, _, _, _ = order
        accumulators = (resp_sum[c], sum_diff[c], sum_sq[c])
        first_row, last_row = chunk_bounds(n_samples, n_chunks, c)
        for start in range(first_row, last_row, BLOCK_ROWS):
            n_rows = min(BLOCK_ROWS, last_row - start)
            n_complete = split_block(X, start, n_rows, x_t, order, block_t)
            full._log_prob_block(
                x_t,
                n_complete,
                means,
                precisions_cholesky_t,
                log_const,
                diff_t,
                y[0],
                y[1],
                mahalanobis,
                log_prob,
            )
            _dense_log_prob_block(
                n_complete,
                n_rows,
                order,
                means,
                precisions,
                tables,
                log_const,
                block_t,
                (diff_t, weighted, mahalanobis),
                dense,
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
            full._accumulate_block(
                x_t, n_complete, means, log_prob, diff_t, weighted, rows, *accumulators
            )
            _dense_accumulate_block(
                n_complete,
                n_rows,
                order,
                means,
                means,
                precisions,
                tables,
                log_prob,
                block_t,
                dense,
                (diff_t, weighted),
                work,
                accumulators,
            )


@njit(**PARALLEL_NJIT_OPTIONS)
def score_full(
    X,
    means,
    precisions_cholesky_t,
    precisions,
    log_const,
    n_chunks,
    out_log_prob_norm,
    out_resp,
    out_labels,
):
    """``full.score`` for data with NaN: marginal densities of the observed features."""
    n_samples, n_components = X.shape[0], means.shape[0]
    no_labels = np.empty(0, dtype=np.int64)
    tables = pair_tables(precisions)
    for c in prange(n_chunks):
        x_t, diff_t, weighted, y, mahalanobis, log_prob, row_stats, rows = block_workspace(
            X, n_components
        )
        unordered = np.empty_like(log_prob)
        order, reordered, work, block_t = missing_workspace(X, no_labels)
        dense = dense_workspace(n_components, X.shape[1])
        offsets, n_missing, _, _, _, _ = order
        first_row, last_row = chunk_bounds(n_samples, n_chunks, c)
        for start in range(first_row, last_row, BLOCK_ROWS):
            n_rows = min(BLOCK_ROWS, last_row - start)
            n_complete = split_block(X, start, n_rows, x_t, order, block_t)
            full._log_prob_block(
                x_t,
                n_complete,
                means,
                precisions_cholesky_t,
                log_const,
                diff_t,
                y[0],
                y[1],
                mahalanobis,
                log_prob,
            )
            _dense_log_prob_block(
                n_complete,
                n_rows,
                order,
                means,
                precisions,
                tables,
                log_const,
                block_t,
                (diff_t, weighted, mahalanobis),
                dense,
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
