"""Kernels for rows with missing values (NaN), fitted with ``missing_values='marginalize'``.

A NaN is a value missing at random, integrated out exactly.  Each block of rows is
reordered so that its complete rows come first (``split_block``): those go through their
covariance type's own block functions, unchanged; the incomplete rows follow, grouped
by their number of missing values.  For a row x with observed features o and missing
features m, under component k (mean mu, precision P = Sigma^-1):

- marginal log-density (Schur complement; only the small block P_mm is factored):
  with d = x - mu on o and 0 on m, t = P d and b = t_m = P_mo d_o,
  (x_o - mu_o)^T Sigma_oo^-1 (x_o - mu_o) = d^T t - b^T P_mm^-1 b and
  log det Sigma_oo = log det Sigma + log det P_mm, so
  log N(x_o | mu_o, Sigma_oo) = [log N's constant for D features] + |m|/2 log 2pi
  - 1/2 log det P_mm - 1/2 (d^T t - b^T P_mm^-1 b).
  t comes from one matrix-shaped product over the block's incomplete rows
  (``_precision_product_block``); P_mm^-1 and log det P_mm of every 1 x 1 and 2 x 2
  block from tables made once per pass (``pair_tables``), an L D L^T factorisation
  per row for three or more missing values;
- conditional mean and covariance of the missing block (Ghahramani & Jordan 1994):
  E[x_m | x_o] - mu_m = -P_mm^-1 b,  Cov[x_m | x_o] = P_mm^-1;
- 'full' and 'tied' statistics: each incomplete row adds its expected moments, x_m
  filled with its conditional mean and the conditional covariance added to the (m, m)
  block of the second moment;
- 'diag' and 'spherical': features are independent within a component, so a row adds
  to the moments of its observed features only, and ``missing_resp[k, a]`` counts the
  responsibility of the rows where feature a is missing (the M-step divides each
  feature's moments by its own count, N_k - missing_resp[k, a]).

A row with every value missing has sample weight 0 inside the kernels: it adds
nothing to the statistics nor to the log-likelihood; scored, its log p(x) is 0 (to
rounding) and its responsibilities are the weights.  The per-row work is in float64,
the matrix-shaped work in the data's dtype, as for complete rows.
"""

import numpy as np
from numba import njit, prange

from . import diag, full, tied
from ._common import (
    NEGLIGIBLE_RESP,
    block_workspace,
    centre_block,
    chunk_bounds,
    e_step_block,
    transpose_block,
    write_scores,
)
from ._options import BLOCK_ROWS, NJIT_OPTIONS, PARALLEL_NJIT_OPTIONS

_LOG_2PI = np.log(2.0 * np.pi)


# -- block layout ----------------------------------------------------------------------


@njit(**NJIT_OPTIONS)
def missing_workspace(X, labels):
    """Per-chunk scratch for incomplete rows.

    Returns ``(order, reordered, work, block_t)``: ``order``, the block's row order,
    NaN counts and missing features (``split_block``); ``reordered``, its weights and
    labels in that order (``_block_e_step``; the labels have length 0 without labels);
    ``work``, float64 scratch for one row (``diff``, ``column`` and ``w`` of length D,
    ``factors`` D x D); ``block_t``, the block's incomplete rows transposed with 0 for
    NaN and their masks (1 observed, 0 missing), in X's dtype (D x rows), two float64
    rows (``_schur_corrections``), and the same rows and masks untransposed in float64
    (rows x D, for the per-row work).
    """
    n_features = X.shape[1]
    reordered = (
        np.empty(BLOCK_ROWS),
        np.empty(BLOCK_ROWS if labels.shape[0] > 0 else 0, dtype=np.int64),
    )
    work = (
        np.empty(n_features),
        np.empty(n_features),
        np.empty((n_features, n_features)),
        np.empty(n_features),
    )
    block_t = (
        np.empty((n_features, BLOCK_ROWS), dtype=X.dtype),
        np.empty((n_features, BLOCK_ROWS), dtype=X.dtype),
        np.empty((2, BLOCK_ROWS)),
        np.empty((BLOCK_ROWS, n_features)),
        np.empty((BLOCK_ROWS, n_features)),
    )
    order = (
        np.empty(BLOCK_ROWS, dtype=np.int64),
        np.empty(BLOCK_ROWS, dtype=np.int64),
        np.empty((BLOCK_ROWS, n_features), dtype=np.int64),
        np.empty(n_features + 2, dtype=np.int64),
        np.empty(BLOCK_ROWS, dtype=np.int64),
        np.empty(n_features + 1, dtype=np.int64),
    )
    return order, reordered, work, block_t


@njit(**NJIT_OPTIONS)
def split_block(X, start, n_rows, x_t, order, block_t):
    """Reorder the block's rows, complete ones first; transpose them.

    The complete rows go to ``x_t[:, :n_complete]``, the incomplete ones to
    ``block_t[0][:, :n_rows - n_complete]`` with 0 for NaN, and their masks (1.0
    observed, 0.0 missing) to ``block_t[1]``; untransposed to ``block_t[3]`` and
    ``block_t[4]``.  ``order = (offsets, n_missing, missing, group_starts, counts,
    positions)``, the last two scratch:
    ``offsets[j]`` is the offset (from ``start``) of the j-th row in the new order,
    ``n_missing[j]`` its number of NaN and ``missing[j, :n_missing[j]]`` their features,
    ascending; the incomplete rows come by increasing number of NaN, those with p NaN
    from ``group_starts[p]`` to ``group_starts[p + 1]`` (``order[3]``; the last entry
    is n_rows), so that the per-row work of each p runs without branches
    (``_schur_corrections``).  Returns n_complete.
    """
    offsets, n_missing, missing, group_starts, counts, positions = order
    incomplete_t, mask_t, _, incomplete, masks = block_t
    n_features = X.shape[1]
    # Transposed in row order (streaming, as the complete data's kernels), NaN counted
    # over the transposed rows (vectorised) ...
    transpose_block(X, start, n_rows, x_t)
    for i in range(n_rows):
        counts[i] = 0
    for a in range(n_features):
        for i in range(n_rows):
            counts[i] += np.isnan(x_t[a, i])
    group_starts[:] = 0
    for i in range(n_rows):
        group_starts[counts[i] + 1] += 1
        offsets[i] = i
    for count in range(n_features + 1):
        group_starts[count + 1] += group_starts[count]
        positions[count] = group_starts[count]
    # ... the complete rows moved to the front by swapping columns (few swaps when few
    # rows are incomplete) ...
    n_complete = group_starts[1]
    back = n_complete
    for front in range(n_complete):
        if counts[offsets[front]] == 0:
            continue
        while counts[offsets[back]] > 0:
            back += 1
        offsets[front], offsets[back] = offsets[back], offsets[front]
        for a in range(n_features):
            x_t[a, front] = x_t[a, back]  # the incomplete column is not needed there
        back += 1
    # ... and the incomplete rows placed by their number of NaN (a counting sort, with
    # n_missing as scratch for the incomplete rows' offsets).
    for j in range(n_complete, n_rows):
        n_missing[j] = offsets[j]
    for j in range(n_complete, n_rows):
        i = n_missing[j]
        slot = positions[counts[i]]
        positions[counts[i]] += 1
        offsets[slot] = i
    for j in range(n_rows):
        n_missing[j] = counts[offsets[j]]
    # The incomplete rows: their missing features, and their values (0 for NaN) and
    # masks, row by row in float64 and transposed in X's dtype.
    zero, one = X.dtype.type(0), X.dtype.type(1)
    for j in range(n_complete, n_rows):
        row, i = start + offsets[j], j - n_complete
        _missing_indices(X, row, missing[j])
        for a in range(n_features):
            value = X[row, a]
            observed = not np.isnan(value)
            incomplete[i, a] = np.float64(value) if observed else 0.0
            masks[i, a] = 1.0 if observed else 0.0
            incomplete_t[a, i] = value if observed else zero
            mask_t[a, i] = one if observed else zero
    return n_complete


@njit(**NJIT_OPTIONS)
def _missing_indices(X, row, missing):
    """The NaN entries' indices of ``X[row]``, ascending, into ``missing``; returns the count."""
    count = 0
    for a in range(X.shape[1]):
        if np.isnan(X[row, a]):
            missing[count] = a
            count += 1
    return count


# -- 'full' and 'tied': the dense precision ----------------------------------------------


@njit(**NJIT_OPTIONS)
def _dense_log_prob_block(
    first, n_rows, order, means, precisions, tables, log_const, block_t, scratch, work, log_prob
):
    """``log_prob[k, j]`` for the incomplete rows j in ``[first, n_rows)`` (``block_t``).

    Matrix-shaped over those rows: d = x - mu with 0 for the missing values (they are
    set to mu_k first), t = P d (``_precision_product_block``), so d^T P d and
    b = (P d)_m = t_m come from one product; then per row only the small part
    (``_schur_corrections``, with ``tables`` from ``pair_tables``).
    ``scratch``: two D x rows arrays and one row, in the data's dtype.
    """
    _, n_missing, missing, _, _, _ = order
    incomplete_t, _, rows, _, _ = block_t
    diff_t, t_t, quad = scratch
    _, _, factors, w = work
    n_incomplete = n_rows - first
    shared = precisions.shape[0] == 1  # 'tied'
    for k in range(means.shape[0]):
        mean = means[k]
        for i in range(n_incomplete):
            for q in range(n_missing[first + i]):
                a = missing[first + i, q]
                incomplete_t[a, i] = mean[a]
        centre_block(incomplete_t, n_incomplete, mean, diff_t)
        precision = precisions[0 if shared else k]
        _precision_product_block(diff_t, n_incomplete, precision, t_t, quad)
        table = tables[0 if shared else k]
        _schur_corrections(precision, table, order, first, n_incomplete, t_t, rows, factors, w)
        for i in range(n_incomplete):  # vectorised
            marginal = np.float64(quad[i]) - rows[0, i]
            log_prob[k, first + i] = log_const[k] + 0.5 * (
                n_missing[first + i] * _LOG_2PI - rows[1, i] - marginal
            )


@njit(**NJIT_OPTIONS)
def _precision_product_block(diff_t, n_rows, precision, t_t, quad):
    """``t_t[:, i] = P d_i`` and ``quad[i] = d_i^T P d_i`` for the rows ``diff_t[:, i]``.

    Two rows of P at a time, four terms per pass over the block (as
    ``full.mahalanobis_block``), in the data's dtype.
    """
    n_features = diff_t.shape[0]
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
def _ldl_row(precision, missing, j, factors):
    """Row j of P_mm = L D L^T (unit lower L in ``factors``' strict lower part, D on its
    diagonal), from rows < j; no square roots.  Returns D_j."""
    mj = missing[j]
    for q in range(j + 1):
        total = precision[mj, missing[q]]
        for s in range(q):
            total -= factors[j, s] * factors[q, s] * factors[s, s]
        if q < j:
            factors[j, q] = total / factors[q, q]
        else:
            factors[j, j] = total
    return factors[j, j]


@njit(**NJIT_OPTIONS)
def pair_tables(precisions):
    """Per precision matrix P and features a <= b, what the rows missing just a, or
    just a and b, need: ``[inv_aa, inv_ab, inv_bb, log det]`` of the inverse of P's
    (a, b) principal block (for a == b, of the 1 x 1 block P_aa, in slots 0 and 3).

    K D^2 small inversions once per pass, instead of one per row and component.
    """
    n_precisions, n_features = precisions.shape[0], precisions.shape[1]
    tables = np.zeros((n_precisions, n_features, n_features, 4))
    for k in range(n_precisions):
        precision = precisions[k]
        for a in range(n_features):
            tables[k, a, a, 0] = 1.0 / precision[a, a]
            tables[k, a, a, 3] = np.log(precision[a, a])
            for b in range(a + 1, n_features):
                off = precision[a, b]
                # det = P_aa (P_bb - P_ab^2 / P_aa): the pivots of L D L^T, no cancellation
                # beyond the Schur complement's own.
                pivot = precision[b, b] - off * off / precision[a, a]
                determinant = precision[a, a] * pivot
                tables[k, a, b, 0] = precision[b, b] / determinant
                tables[k, a, b, 1] = -off / determinant
                tables[k, a, b, 2] = precision[a, a] / determinant
                tables[k, a, b, 3] = np.log(precision[a, a]) + np.log(pivot)
    return tables


@njit(**NJIT_OPTIONS)
def _schur_corrections(precision, table, order, first, n_incomplete, t_t, rows, factors, w):
    """Per incomplete row i, with b = (P d)_m = ``t_t[m, i]``: rows[0][i] = b^T P_mm^-1 b
    and rows[1][i] = log det P_mm.

    Rows with one or two missing values (most of them, unless many values are missing)
    come grouped (``split_block``) and read P_mm^-1 and its log-determinant from
    ``table`` (``pair_tables``), without branches; for the others P_mm = L D L^T
    (``_ldl_row``), L w = b, b^T P_mm^-1 b = sum_j w_j^2 / D_j and det P_mm = prod_j D_j.
    ``factors`` (D x D) and ``w`` (D) are scratch.
    """
    _, n_missing, missing_features, group_starts, _, _ = order
    one, two, three = group_starts[1], group_starts[2], group_starts[3]
    for j in range(one, two):  # p = 1
        i, m0 = j - first, missing_features[j, 0]
        b0 = np.float64(t_t[m0, i])
        rows[0, i] = b0 * b0 * table[m0, m0, 0]
        rows[1, i] = table[m0, m0, 3]
    for j in range(two, three):  # p = 2
        i, m0, m1 = j - first, missing_features[j, 0], missing_features[j, 1]
        b0, b1 = np.float64(t_t[m0, i]), np.float64(t_t[m1, i])
        inverse = table[m0, m1]
        rows[0, i] = b0 * (inverse[0] * b0 + 2.0 * inverse[1] * b1) + inverse[2] * b1 * b1
        rows[1, i] = inverse[3]
    for j in range(three, first + n_incomplete):  # p >= 3
        i, p, missing = j - first, n_missing[j], missing_features[j]
        correction, determinant = 0.0, 1.0
        for q in range(p):
            pivot = _ldl_row(precision, missing, q, factors)
            b = np.float64(t_t[missing[q], i])
            for s in range(q):
                b -= factors[q, s] * w[s]
            w[q] = b
            correction += b * b / pivot
            determinant *= pivot
        rows[0, i] = correction
        if 1e-250 < determinant < 1e250:
            rows[1, i] = np.log(determinant)
        else:  # the product of the pivots over- or underflowed: add their logarithms
            rows[1, i] = 0.0
            for q in range(p):
                rows[1, i] += np.log(factors[q, q])


@njit(**NJIT_OPTIONS)
def _conditional_deviation(precision, mean, missing, p, values, mask, diff, factors, w):
    """``diff`` = x - mu on the observed features and E[x_m | x_o] - mu_m = -P_mm^-1 b
    (b = (P d)_m, d as in ``_schur_corrections``) on the missing ones.

    Leaves the L D L^T factors of P_mm in ``factors[:p, :p]`` (for
    ``_add_conditional_covariance`` and draws); ``w`` is scratch.
    """
    n_features = values.shape[0]
    for a in range(n_features):
        diff[a] = (values[a] - mean[a]) * mask[a]
    for j in range(p):
        _ldl_row(precision, missing, j, factors)
        b = 0.0
        for a in range(n_features):
            b += precision[missing[j], a] * diff[a]
        for s in range(j):
            b -= factors[j, s] * w[s]
        w[j] = b  # L w = b
    for j in range(p - 1, -1, -1):  # L^T v = D^-1 w: v = P_mm^-1 b
        total = w[j] / factors[j, j]
        for s in range(j + 1, p):
            total -= factors[s, j] * w[s]
        w[j] = total
        diff[missing[j]] = -total


@njit(**NJIT_OPTIONS)
def _add_conditional_covariance(factors, p, missing, weight, column, second):
    """``second[m_j, m_q] += weight * (P_mm^-1)[j, q]`` (lower triangle), from the L D L^T
    factors of P_mm: column q of the inverse solves L D L^T c = e_q (``column``: scratch).
    """
    for q in range(p):
        for j in range(p):  # L f = e_q, then f / D
            total = 1.0 if j == q else 0.0
            for s in range(j):
                total -= factors[j, s] * column[s]
            column[j] = total
        for j in range(p):
            column[j] /= factors[j, j]
        for j in range(p - 1, -1, -1):  # L^T c = f / D
            total = column[j]
            for s in range(j + 1, p):
                total -= factors[s, j] * column[s]
            column[j] = total
        for j in range(q, p):  # missing is ascending: m_j >= m_q
            second[missing[j], missing[q]] += weight * column[j]


@njit(**NJIT_OPTIONS)
def _dense_accumulate_block(
    first, n_rows, order, means, reference, precisions, resp, block_t, work, accumulators
):
    """Add the incomplete rows' expected moments about ``reference`` (one point per
    component) to the accumulators: x_m filled with E[x_m | x_o, k], and Cov[x_m | x_o, k]
    added to the (m, m) block; ``sum_sq`` has one lower triangle per component, or one in
    all (pooled, 'tied').

    Per component, the rows of non-negligible responsibility are filled one by one
    (``_conditional_deviation``) into the columns of ``block_t[0]`` (and weighted, of
    ``block_t[1]``; both free once the E-step is done), and their second moments added
    by the tiled ``full._add_lower_products``, as the complete rows'.
    """
    _, n_missing, missing_features, _, _, _ = order
    filled_t, weighted_t, _, values_rows, mask_rows = block_t
    diff, column, factors, w = work
    resp_sum, sum_diff, sum_sq = accumulators
    n_features = values_rows.shape[1]
    dtype = filled_t.dtype.type
    shared = precisions.shape[0] == 1
    pooled = sum_sq.shape[0] == 1
    for k in range(means.shape[0]):
        block_resp = 0.0
        for i in range(n_rows - first):
            block_resp += resp[k, first + i]
        if block_resp == 0.0:
            continue  # exact: every term below would be zero
        resp_sum[k] += block_resp
        second = sum_sq[0 if pooled else k]
        n_kept = 0
        for i in range(n_rows - first):
            weight = resp[k, first + i]
            if weight < NEGLIGIBLE_RESP:
                continue  # as the complete rows' moments (_common.NEGLIGIBLE_RESP)
            p, missing = n_missing[first + i], missing_features[first + i]
            _conditional_deviation(
                precisions[0 if shared else k],
                means[k],
                missing,
                p,
                values_rows[i],
                mask_rows[i],
                diff,
                factors,
                w,
            )
            for a in range(n_features):  # xhat - c
                value = diff[a] + (means[k, a] - reference[k, a])
                sum_diff[k, a] += weight * value
                filled_t[a, n_kept] = dtype(value)
                weighted_t[a, n_kept] = dtype(weight * value)
            _add_conditional_covariance(factors, p, missing, weight, column, second)
            n_kept += 1
        full._add_lower_products(weighted_t, filled_t, n_kept, second)


# -- 'diag' and 'spherical' --------------------------------------------------------------


@njit(**NJIT_OPTIONS)
def _diagonal_log_prob_block(
    first, n_rows, means, precisions_cholesky, log_const, missing_const, block_t, log_prob
):
    """``log_prob[k, j]`` for the incomplete rows j in ``[first, n_rows)`` (``block_t``):
    the observed features' terms of ``diag._log_prob_block`` (masked), and
    ``missing_const[k, a] = 1/2 log 2pi - log(1 / sigma_ka)`` for each missing one."""
    incomplete_t, mask_t, rows, _, _ = block_t
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
    incomplete_t, mask_t, _, _, _ = block_t
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


@njit(**NJIT_OPTIONS)
def _reset(c, resp_sum, sum_diff, sum_sq, missing_resp, log_likelihood):
    resp_sum[c] = 0.0
    sum_diff[c] = 0.0
    sum_sq[c] = 0.0
    missing_resp[c] = 0.0
    log_likelihood[c] = 0.0


@njit(**NJIT_OPTIONS)
def _block_e_step(
    X, start, n_rows, offsets, n_missing, sample_weight, labels, row_stats, log_prob, reordered
):
    """The reordered block's E-step (``e_step_block``); rows without a value weigh 0."""
    block_weight, block_labels = reordered
    n_features = X.shape[1]
    for j in range(n_rows):
        row = start + offsets[j]
        weight = 1.0 if sample_weight.shape[0] == 0 else sample_weight[row]
        block_weight[j] = 0.0 if n_missing[j] == n_features else weight
        if block_labels.shape[0] > 0:
            block_labels[j] = labels[row]
    return e_step_block(log_prob, 0, n_rows, row_stats, block_weight, block_labels)


# -- drivers: one per covariance kernel family, as ``full.py``/``tied.py``/``diag.py`` ----
#
# Each is its type's ``statistics``/``score`` kernel with the reordered block:
# complete rows through the type's block functions, incomplete rows through the
# functions above.  The extra arguments: ``precisions`` (float64 precision
# matrices, K x D x D, or 1 x D x D for 'tied'; the diagonal kernels ignore it)
# and the ``missing_resp`` accumulator (K x D per chunk; left 0 by the dense kernels).


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
                work,
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
                log_prob,
                block_t,
                work,
                accumulators,
            )


@njit(**PARALLEL_NJIT_OPTIONS)
def statistics_tied(
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
    """``tied.statistics`` (without ``one_hot``) for data with NaN; moments about
    ``means[0]``, pooled."""
    n_samples, n_components = X.shape[0], means.shape[0]
    n_features = X.shape[1]
    lower = precisions_cholesky_t[0]
    projected = tied._projected_means(means, lower)
    reference = np.empty((n_components, n_features))
    for k in range(n_components):
        for a in range(n_features):
            reference[k, a] = means[0, a]
    tables = pair_tables(precisions)
    for c in prange(n_chunks):
        _reset(c, resp_sum, sum_diff, sum_sq, missing_resp, log_likelihood)
        x_t, diff_t, weighted, y, mahalanobis, log_prob, row_stats, rows = block_workspace(
            X, n_components
        )
        z_t = np.empty_like(x_t)
        order, reordered, work, block_t = missing_workspace(X, labels)
        offsets, n_missing, _, _, _, _ = order
        pooled = (resp_sum[c], sum_diff[c], sum_sq[c].reshape((1, n_features, n_features)))
        first_row, last_row = chunk_bounds(n_samples, n_chunks, c)
        for start in range(first_row, last_row, BLOCK_ROWS):
            n_rows = min(BLOCK_ROWS, last_row - start)
            n_complete = split_block(X, start, n_rows, x_t, order, block_t)
            tied._log_prob_block(
                x_t,
                n_complete,
                means,
                lower,
                projected,
                log_const,
                diff_t,
                z_t,
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
                (weighted, z_t, mahalanobis),  # diff_t holds x - mu_0 for tied._accumulate_block
                work,
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
            tied._accumulate_block(
                diff_t,
                n_complete,
                log_prob,
                row_stats[1],
                weighted,
                resp_sum[c],
                sum_diff[c],
                sum_sq[c],
            )
            _dense_accumulate_block(
                n_complete,
                n_rows,
                order,
                means,
                reference,
                precisions,
                log_prob,
                block_t,
                work,
                pooled,
            )


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
                x_t, n_complete, means, log_prob, resp_sum[c], sum_diff[c], sum_sq[c]
            )
            _diagonal_accumulate_block(
                n_complete,
                n_rows,
                means,
                log_prob,
                block_t,
                (resp_sum[c], sum_diff[c], sum_sq[c], missing_resp[c]),
            )


@njit(**NJIT_OPTIONS)
def _write_block_scores(
    log_prob, offsets, start, n_rows, unordered, row_stats, out_log_prob_norm, out_resp, out_labels
):
    """``write_scores`` for a reordered block (its rows put back in order first)."""
    for k in range(log_prob.shape[0]):
        for j in range(n_rows):
            unordered[k, offsets[j]] = log_prob[k, j]
    write_scores(unordered, start, n_rows, row_stats, out_log_prob_norm, out_resp, out_labels)


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
                work,
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


@njit(**PARALLEL_NJIT_OPTIONS)
def score_tied(
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
    """``tied.score`` for data with NaN: marginal densities of the observed features."""
    n_samples, n_components = X.shape[0], means.shape[0]
    lower = precisions_cholesky_t[0]
    projected = tied._projected_means(means, lower)
    no_labels = np.empty(0, dtype=np.int64)
    tables = pair_tables(precisions)
    for c in prange(n_chunks):
        x_t, diff_t, weighted, y, mahalanobis, log_prob, row_stats, rows = block_workspace(
            X, n_components
        )
        z_t = np.empty_like(x_t)
        unordered = np.empty_like(log_prob)
        order, reordered, work, block_t = missing_workspace(X, no_labels)
        offsets, n_missing, _, _, _, _ = order
        first_row, last_row = chunk_bounds(n_samples, n_chunks, c)
        for start in range(first_row, last_row, BLOCK_ROWS):
            n_rows = min(BLOCK_ROWS, last_row - start)
            n_complete = split_block(X, start, n_rows, x_t, order, block_t)
            tied._log_prob_block(
                x_t,
                n_complete,
                means,
                lower,
                projected,
                log_const,
                diff_t,
                z_t,
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
                work,
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


# -- imputation ---------------------------------------------------------------------------


@njit(**NJIT_OPTIONS)
def _posterior(log_prob, j, resp):
    """p(k | x_o) of the block's row j from its weighted log-densities, into ``resp``."""
    n_components = log_prob.shape[0]
    top = log_prob[0, j]
    for k in range(1, n_components):
        top = max(top, log_prob[k, j])
    total = 0.0
    for k in range(n_components):
        resp[k] = np.exp(log_prob[k, j] - top)
        total += resp[k]
    for k in range(n_components):
        resp[k] /= total


@njit(**NJIT_OPTIONS)
def _drawn_component(resp, uniform):
    """The component whose cumulative posterior first exceeds ``uniform`` (in [0, 1))."""
    cumulative = 0.0
    for k in range(resp.shape[0]):
        cumulative += resp[k]
        if uniform < cumulative:
            return k
    return resp.shape[0] - 1  # rounding: the cumulative sum may end just below 1


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
                work,
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
                        block_t[3][i],
                        block_t[4][i],
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
