"""'full' and 'tied' kernels for rows with missing values (NaN): the incomplete rows'
block functions, and ``impute_dense``.

Notation and block layout as in ``missing_common.py``: a row x with observed features o
and missing features m, under component k (mean mu, precision P = Sigma^-1).

- marginal log-density (Schur complement; only the small block P_mm is factored):
  with d = x - mu on o and 0 on m, t = P d and b = t_m = P_mo d_o,
  (x_o - mu_o)^T Sigma_oo^-1 (x_o - mu_o) = d^T t - b^T P_mm^-1 b and
  log det Sigma_oo = log det Sigma + log det P_mm, so
  log N(x_o | mu_o, Sigma_oo) = [log N's constant for D features] + |m|/2 log 2pi
  - 1/2 log det P_mm - 1/2 (d^T t - b^T P_mm^-1 b).
  t comes from one matrix-shaped product over the block's incomplete rows
  (``_precision_product_block``); b^T P_mm^-1 b and log det P_mm from P_mm = L D L^T
  (``missing_schur.py``);
- 'full' and 'tied' statistics: each incomplete row adds its expected moments, x_m
  filled with its conditional mean (left by the E-step for up to four missing values)
  and the conditional covariance added to the (m, m) block of the second moment
  (``_dense_accumulate_block``).

The drivers that call these are in ``missing_full.py`` and ``missing_tied.py``; both
types impute with ``impute_dense``.
"""

import numpy as np
from numba import njit, prange

from ._common import NEGLIGIBLE_RESP, add_lower_products, block_workspace, chunk_bounds
from ._options import BLOCK_ROWS, NJIT_OPTIONS, PARALLEL_NJIT_OPTIONS
from .missing_common import (
    _LOG_2PI,
    _N_CLOSED_FORM,
    _drawn_component,
    _posterior,
    missing_workspace,
    split_block,
)
from .missing_schur import (
    _add_conditional_covariance,
    _add_small_covariance,
    _conditional_deviation,
    _lane_layout,
    _schur_corrections,
    pair_tables,
)

# Rows with more missing values are factored this many at a time (``_schur_lanes``), the
# innermost loops running across them: one AVX-512 vector of float64.
_MAX_LANES = 8

# Blocks with fewer incomplete rows than this take their precision product row by row.
_FEW_ROWS = 8


@njit(**NJIT_OPTIONS)
def dense_workspace(n_components, n_features):
    """Per-chunk scratch of the 'full' and 'tied' kernels:
    ``(fills, kept_rows, kept_weights, column, lanes)``.

    ``fills[k, q, i]``: E[x_mq | x_o, k] - mu_k,mq of the block's incomplete row i with
    at most ``_N_CLOSED_FORM`` missing values, left by ``_schur_corrections`` for
    ``_dense_accumulate_block``; ``kept_rows`` and ``kept_weights``, the incomplete rows
    of non-negligible responsibility for one component and their responsibilities;
    ``column``, one row (float64, D; ``_precision_product_block``); ``lanes``, the
    scratch of ``_schur_lanes`` (D x D x lanes, D x lanes and 4 x lanes float64) and the
    block's layout (``_lane_layout``), with as many lanes (rows factored together, up to
    ``_MAX_LANES``) as keep the first under about 512 KiB (one lane for D > 256).
    """
    n_lanes = max(1, min(_MAX_LANES, 65536 // (n_features * n_features)))
    lanes = (
        np.empty((n_features, n_features, n_lanes)),
        np.empty((n_features, n_lanes)),
        np.empty((4, n_lanes)),
        np.empty((n_features, BLOCK_ROWS), dtype=np.int64),
        np.empty((n_features, BLOCK_ROWS), dtype=np.bool_),
        np.empty(BLOCK_ROWS, dtype=np.int64),
    )
    return (
        np.empty((n_components, _N_CLOSED_FORM, BLOCK_ROWS)),
        np.empty(BLOCK_ROWS, dtype=np.int64),
        np.empty(BLOCK_ROWS),
        np.empty(n_features),
        lanes,
    )


@njit(**NJIT_OPTIONS)
def _dense_log_prob_block(
    first,
    n_rows,
    order,
    means,
    precisions,
    tables,
    log_const,
    block_t,
    scratch,
    dense,
    log_prob,
):
    """``log_prob[k, j]`` for the incomplete rows j in ``[first, n_rows)`` (``block_t``).

    Matrix-shaped over those rows: d = (x - mu) * mask, 0 on the missing values
    (``_masked_centre``), and t = P d (``_precision_product_block``), so d^T P d and
    b = (P d)_m = t_m come from one product; then per row only the small part
    (``_schur_corrections``, with ``tables`` from ``pair_tables``), which also leaves
    the conditional means of the rows with few missing values in ``dense``'s ``fills``
    (``dense_workspace``).  ``scratch``: two D x rows arrays and one row, in the data's
    dtype.
    """
    _, n_missing, _, _, _, _ = order
    incomplete_t, mask_t, rows = block_t
    diff_t, t_t, quad = scratch
    fills, _, _, column, lanes = dense
    n_incomplete = n_rows - first
    if order[3][_N_CLOSED_FORM + 1] < n_rows:
        _lane_layout(order, order[3][_N_CLOSED_FORM + 1], n_rows, first, lanes)
    shared = precisions.shape[0] == 1  # 'tied'
    for k in range(means.shape[0]):
        _masked_centre(incomplete_t, mask_t, n_incomplete, means[k], diff_t)
        precision = precisions[0 if shared else k]
        _precision_product_block(diff_t, n_incomplete, precision, t_t, quad, column)
        table = tables[0 if shared else k]
        _schur_corrections(precision, table, order, first, n_incomplete, t_t, rows, fills[k], lanes)
        for i in range(n_incomplete):  # vectorised
            marginal = np.float64(quad[i]) - rows[0, i]
            log_prob[k, first + i] = log_const[k] + 0.5 * (
                n_missing[first + i] * _LOG_2PI - rows[1, i] - marginal
            )


@njit(**NJIT_OPTIONS)
def _masked_centre(values_t, mask_t, n_rows, mean, diff_t):
    """``diff_t[a, i] = (x_ai - mu_a) * mask_ai``: x - mu, and 0 where x_ai is missing
    (``values_t`` holds 0 there, ``mask_t`` 0); contiguous rows, vectorised."""
    for a in range(values_t.shape[0]):
        centre = mean[a]
        for i in range(n_rows):
            diff_t[a, i] = (values_t[a, i] - centre) * mask_t[a, i]


@njit(**NJIT_OPTIONS)
def _precision_product_block(diff_t, n_rows, precision, t_t, quad, column):
    """``t_t[:, i] = P d_i`` and ``quad[i] = d_i^T P d_i`` for the rows ``diff_t[:, i]``.

    Two rows of P at a time, four terms per pass over the block (as
    ``full._log_prob_block``), in the data's dtype.  Fewer than ``_FEW_ROWS`` rows (a
    block with few incomplete rows) go row by row instead, each copied to ``column``
    (float64, D) and multiplied by P's contiguous rows: the D^2 / 8 passes over so few
    rows would cost more in loop overhead than in arithmetic.
    """
    n_features = diff_t.shape[0]
    if n_rows < _FEW_ROWS:
        for i in range(n_rows):
            for b in range(n_features):
                column[b] = diff_t[b, i]
            total = 0.0
            for a in range(n_features):
                t = 0.0
                for b in range(n_features):
                    t += precision[a, b] * column[b]
                t_t[a, i] = t
                total += column[a] * t
            quad[i] = total
        return
    n_paired = n_features - n_features % 2
    for a in range(0, n_paired, 2):
        _add_precision_rows(diff_t, n_rows, precision, a, a + 1, t_t[a], t_t[a + 1])
    if n_paired < n_features:  # odd D: the last row alone (its pair's sums are dropped)
        a = n_features - 1
        _add_precision_rows(diff_t, n_rows, precision, a, a, t_t[a], quad)
    zero = diff_t.dtype.type(0)
    for i in range(n_rows):
        quad[i] = zero
    for a in range(n_features):
        for i in range(n_rows):
            quad[i] += diff_t[a, i] * t_t[a, i]


@njit(**NJIT_OPTIONS)
def _add_precision_rows(diff_t, n_rows, precision, a, a1, t, t_next):
    """``t = (P d)_a`` and ``t_next = (P d)_a1`` over the block's rows."""
    n_features = diff_t.shape[0]
    dtype = diff_t.dtype.type
    zero = dtype(0)
    n_tiled = n_features - n_features % 4
    for i in range(n_rows):
        t[i] = zero
        t_next[i] = zero
    for b in range(0, n_tiled, 4):
        c0, c1 = dtype(precision[a, b]), dtype(precision[a, b + 1])
        c2, c3 = dtype(precision[a, b + 2]), dtype(precision[a, b + 3])
        e0, e1 = dtype(precision[a1, b]), dtype(precision[a1, b + 1])
        e2, e3 = dtype(precision[a1, b + 2]), dtype(precision[a1, b + 3])
        for i in range(n_rows):
            d0, d1, d2, d3 = diff_t[b, i], diff_t[b + 1, i], diff_t[b + 2, i], diff_t[b + 3, i]
            t[i] += c0 * d0 + c1 * d1 + c2 * d2 + c3 * d3
            t_next[i] += e0 * d0 + e1 * d1 + e2 * d2 + e3 * d3
    for b in range(n_tiled, n_features):
        c, e = dtype(precision[a, b]), dtype(precision[a1, b])
        for i in range(n_rows):
            t[i] += c * diff_t[b, i]
            t_next[i] += e * diff_t[b, i]


@njit(**NJIT_OPTIONS)
def _dense_accumulate_block(
    first,
    n_rows,
    order,
    means,
    reference,
    precisions,
    tables,
    resp,
    block_t,
    dense,
    out_t,
    work,
    accumulators,
):
    """Add the incomplete rows' expected moments about ``reference`` (one point per
    component) to the accumulators: x_m filled with E[x_m | x_o, k], and Cov[x_m | x_o, k]
    = P_mm^-1 added to the (m, m) block; ``sum_sq`` has one lower triangle per
    component, or one in all (pooled, 'tied').

    Per component, the rows of non-negligible responsibility (``kept_rows``, as the
    complete rows') are gathered as in ``full._accumulate_block``:
    x - c on the observed features, matrix-shaped, into the columns of ``out_t[0]``,
    then per row the missing ones, c = ``reference[k]``:

    - p <= ``_N_CLOSED_FORM`` missing values: E[x_m | x_o, k] - mu_m from the E-step
      (``fills``, ``_schur_corrections``), P_mm^-1 from its L D L^T factors
      (``_add_small_covariance``);
    - more: both from the row's own L D L^T (``_conditional_deviation``,
      ``_add_conditional_covariance``).

    Then the weighted copy (``out_t[1]``) and its sums, and the second moments by the
    tiled ``_common.add_lower_products``, as the complete rows'.  ``dense`` is
    ``dense_workspace``'s; ``out_t``, two D x rows arrays in the data's dtype, free once
    the complete rows' moments are added.
    """
    _, n_missing, missing_features, group_starts, _, _ = order
    incomplete_t, mask_t, _ = block_t
    fills, kept_rows, kept_weights, _, _ = dense
    filled_t, weighted_t = out_t
    diff, column, factors, w = work
    resp_sum, sum_diff, sum_sq = accumulators
    n_features = incomplete_t.shape[0]
    n_incomplete = n_rows - first
    first_generic = group_starts[_N_CLOSED_FORM + 1] - first  # rows with p > 4 from here
    dtype = filled_t.dtype.type
    zero = dtype(0)
    shared = precisions.shape[0] == 1
    pooled = sum_sq.shape[0] == 1
    for k in range(means.shape[0]):
        block_resp = 0.0
        for i in range(n_incomplete):
            block_resp += resp[k, first + i]
        if block_resp == 0.0:
            continue  # exact: every term below would be zero
        resp_sum[k] += block_resp
        second = sum_sq[0 if pooled else k]
        precision = precisions[0 if shared else k]
        table = tables[0 if shared else k]
        fill = fills[k]
        n_kept = 0
        for i in range(n_incomplete):  # branch-free compaction (as full._accumulate_block)
            kept_rows[n_kept] = i
            n_kept += resp[k, first + i] >= NEGLIGIBLE_RESP
        if n_kept == 0:
            continue  # no row enters the moments (N_k has their share, above)
        for a in range(n_features):  # x - c on the observed features, mu_k - c elsewhere
            centre = means[k, a]
            shift = means[k, a] - reference[k, a]
            for c in range(n_kept):
                i = kept_rows[c]
                filled_t[a, c] = (incomplete_t[a, i] - centre) * mask_t[a, i] + shift
        for c in range(n_kept):
            i = kept_rows[c]
            j, weight = first + i, resp[k, first + i]
            kept_weights[c] = weight
            p, missing = n_missing[j], missing_features[j]
            if i < first_generic:  # p <= 4: fills from the E-step, P_mm^-1 closed
                for q in range(p):
                    a = missing[q]
                    filled_t[a, c] = dtype(fill[q, i] + (means[k, a] - reference[k, a]))
                _add_small_covariance(precision, table, missing, p, weight, second)
            else:
                _conditional_deviation(
                    precision,
                    means[k],
                    missing,
                    p,
                    incomplete_t[:, i],
                    mask_t[:, i],
                    diff,
                    factors,
                    w,
                )
                for q in range(p):
                    a = missing[q]
                    filled_t[a, c] = dtype(diff[a] + (means[k, a] - reference[k, a]))
                _add_conditional_covariance(factors, p, missing, weight, column, second)
        for a in range(n_features):
            partial = zero
            for c in range(n_kept):
                weighted_t[a, c] = dtype(kept_weights[c]) * filled_t[a, c]
                partial += weighted_t[a, c]
            sum_diff[k, a] += partial
        add_lower_products(weighted_t, filled_t, n_kept, second)


# -- imputation ------------------------------------------------------------------------


@njit(**PARALLEL_NJIT_OPTIONS)
def impute_dense(
    X, means, precisions_cholesky_t, precisions, log_const, n_chunks, normals, uniforms, out
):
    """Fill the NaN of ``out`` (a copy of X) for 'full' and 'tied' (arguments as
    ``statistics_full``/``statistics_tied``).

    Without draws (``uniforms`` of length 0): x_m = sum_k p(k | x_o) E[x_m | x_o, k].
    With them: k drawn by ``uniforms[i]``, then x_m = E[x_m | x_o, k] + L^-T D^-1/2 z
    with z = ``normals[i, :|m|]`` and L D L^T = P_mm, whose covariance is P_mm^-1 =
    Cov[x_m | x_o, k].
    """
    n_samples, n_components = X.shape[0], means.shape[0]
    shared = precisions.shape[0] == 1
    sample = uniforms.shape[0] > 0
    no_labels = np.empty(0, dtype=np.int64)
    tables = pair_tables(precisions)
    for c in prange(n_chunks):
        x_t, diff_t, weighted, y, mahalanobis, log_prob, row_stats, rows = block_workspace(
            X, n_components
        )
        order, reordered, work, block_t = missing_workspace(X, no_labels)
        dense = dense_workspace(n_components, X.shape[1])
        offsets, n_missing, missing_features, _, _, _ = order
        diff, _, factors, w = work
        resp = np.empty(n_components)
        first_row, last_row = chunk_bounds(n_samples, n_chunks, c)
        for start in range(first_row, last_row, BLOCK_ROWS):
            n_rows = min(BLOCK_ROWS, last_row - start)
            n_complete = split_block(X, start, n_rows, x_t, order, block_t)
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
            for j in range(n_complete, n_rows):
                row, i = start + offsets[j], j - n_complete
                p, missing = n_missing[j], missing_features[j]
                _posterior(log_prob, j, resp)
                for q in range(p):
                    out[row, missing[q]] = 0.0
                drawn = _drawn_component(resp, uniforms[row]) if sample else -1
                for k in range(n_components):
                    weight = resp[k]
                    if sample:
                        weight = 1.0 if k == drawn else 0.0
                    if weight == 0.0:
                        continue
                    _conditional_deviation(
                        precisions[0 if shared else k],
                        means[k],
                        missing,
                        p,
                        block_t[0][:, i],
                        block_t[1][:, i],
                        diff,
                        factors,
                        w,
                    )
                    if sample:  # L^T u = D^-1/2 z, into w
                        for q in range(p - 1, -1, -1):
                            total = normals[row, q] / np.sqrt(factors[q, q])
                            for s in range(q + 1, p):
                                total -= factors[s, q] * w[s]
                            w[q] = total
                            diff[missing[q]] += total
                    for q in range(p):
                        a = missing[q]
                        out[row, a] += weight * (means[k, a] + diff[a])
