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
  (``_precision_product_block``); b^T P_mm^-1 b and log det P_mm from P_mm = L D L^T:
  the factors of every 1 x 1 and 2 x 2 block come from tables made once per pass
  (``pair_tables``), those of the 3 x 3 and 4 x 4 blocks extend them unrolled, and
  rows with more missing values are factored several rows at a time;
- conditional mean and covariance of the missing block (Ghahramani & Jordan 1994):
  E[x_m | x_o] - mu_m = -P_mm^-1 b,  Cov[x_m | x_o] = P_mm^-1;
- 'full' and 'tied' statistics: each incomplete row adds its expected moments, x_m
  filled with its conditional mean (left by the E-step for up to four missing values)
  and the conditional covariance added to the (m, m) block of the second moment;
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
    chunk_bounds,
    e_step_block,
    transpose_block,
    write_scores,
)
from ._options import BLOCK_ROWS, NJIT_OPTIONS, PARALLEL_NJIT_OPTIONS

_LOG_2PI = np.log(2.0 * np.pi)

# Rows with up to this many missing values are handled in closed form, without loops:
# the L D L^T factors of P_mm's first two rows come from ``pair_tables``, those of its
# third and fourth rows are computed unrolled (``_ldl_third``, ``_ldl_fourth``); the
# rarer rows with more missing values are factored by loops (``_schur_lanes``,
# ``_ldl_row``).
_N_CLOSED_FORM = 4

# Rows with more missing values are factored this many at a time (``_schur_lanes``), the
# innermost loops running across them: one AVX-512 vector of float64.
_MAX_LANES = 8

# Blocks with fewer incomplete rows than this take their precision product row by row.
_FEW_ROWS = 8


# -- block layout ----------------------------------------------------------------------


@njit(**NJIT_OPTIONS)
def missing_workspace(X, labels):
    """Per-chunk scratch for incomplete rows.

    Returns ``(order, reordered, work, block_t)``: ``order``, the block's row order,
    NaN counts and missing features (``split_block``); ``reordered``, its weights and
    labels in that order (``_block_e_step``; the labels have length 0 without labels);
    ``work``, float64 scratch for one row (``diff``, ``column`` and ``w`` of length D,
    ``factors`` D x D); ``block_t``, the block's incomplete rows transposed with 0 for
    NaN and their masks (1 observed, 0 missing), in X's dtype (D x rows), and two
    float64 rows (``_schur_corrections``).
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
    )
    order = (
        np.empty(BLOCK_ROWS, dtype=np.int64),
        np.empty(BLOCK_ROWS, dtype=np.int64),
        np.empty((BLOCK_ROWS, n_features), dtype=np.int64),
        np.empty(max(n_features, _N_CLOSED_FORM) + 2, dtype=np.int64),
        np.empty(BLOCK_ROWS, dtype=np.int64),
        np.empty(n_features + 1, dtype=np.int64),
    )
    return order, reordered, work, block_t


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
def split_block(X, start, n_rows, x_t, order, block_t):
    """Reorder the block's rows, complete ones first; transpose them.

    The complete rows go to ``x_t[:, :n_complete]``, the incomplete ones to
    ``block_t[0][:, :n_rows - n_complete]`` with 0 for NaN, and their masks (1
    observed, 0 missing) to ``block_t[1]``.  ``order = (offsets, n_missing, missing,
    group_starts, counts, positions)``, the last two scratch:
    ``offsets[j]`` is the offset (from ``start``) of the j-th row in the new order,
    ``n_missing[j]`` its number of NaN and ``missing[j, :n_missing[j]]`` their features,
    ascending; the incomplete rows come by increasing number of NaN, those with p NaN
    from ``group_starts[p]`` to ``group_starts[p + 1]`` (``order[3]``; the entries past
    p = D are n_rows, so that ``group_starts[_N_CLOSED_FORM + 1]`` exists for any D), so
    that the per-row work of each p runs without branches (``_schur_corrections``).
    Returns n_complete.
    """
    offsets, n_missing, missing, group_starts, counts, positions = order
    incomplete_t, mask_t, _ = block_t
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
    for count in range(group_starts.shape[0] - 1):
        group_starts[count + 1] += group_starts[count]
    for count in range(n_features + 1):
        positions[count] = group_starts[count]
    n_complete = group_starts[1]
    # ... the incomplete rows placed by their number of NaN (a counting sort), their
    # columns gathered from x_t with 0 for NaN, and their masks (vectorised) ...
    for i in range(n_rows):
        if counts[i] > 0:
            slot = positions[counts[i]]
            positions[counts[i]] += 1
            offsets[slot] = i
    zero, one = X.dtype.type(0), X.dtype.type(1)
    n_incomplete = n_rows - n_complete
    for a in range(n_features):
        for i in range(n_incomplete):
            value = x_t[a, offsets[n_complete + i]]
            observed = not np.isnan(value)
            incomplete_t[a, i] = value if observed else zero
            mask_t[a, i] = one if observed else zero
    for j in range(n_complete, n_rows):
        n_missing[j] = counts[offsets[j]]
        _missing_indices(X, start + offsets[j], missing[j])
    # ... and the complete rows moved to the front by copying columns (few when few rows
    # are incomplete).
    back = n_complete
    for front in range(n_complete):
        offsets[front] = front
        n_missing[front] = 0
        if counts[front] == 0:
            continue
        while counts[back] > 0:
            back += 1
        offsets[front] = back
        for a in range(n_features):
            x_t[a, front] = x_t[a, back]  # the incomplete column is in block_t already
        back += 1
    return n_complete


@njit(**NJIT_OPTIONS)
def _missing_indices(X, row, missing):
    """The NaN entries' indices of ``X[row]``, ascending, into ``missing`` (a branch-free
    compaction: the entries past their count are overwritten scratch)."""
    count = 0
    for a in range(X.shape[1]):
        missing[count] = a
        count += np.isnan(X[row, a])


# -- 'full' and 'tied': the dense precision ----------------------------------------------


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
    ``full.mahalanobis_block``), in the data's dtype.  Fewer than ``_FEW_ROWS`` rows (a
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
    """Per precision matrix P and features a <= b, the L D L^T factors of P's (a, b)
    principal block [[P_aa, P_ab], [P_ab, P_bb]]: ``[1 / D_0, L_10, 1 / D_1, log det]``
    with D_0 = P_aa, L_10 = P_ab / P_aa and D_1 = P_bb - L_10 P_ab (for a == b, of the
    1 x 1 block P_aa: slots 0 and 3).

    What the rows missing just a, or a and b, need, and the first two rows of the
    factors for those missing more (``_ldl_third``): K D^2 small factorisations once per
    pass, instead of one per row and component.
    """
    n_precisions, n_features = precisions.shape[0], precisions.shape[1]
    tables = np.zeros((n_precisions, n_features, n_features, 4))
    for k in range(n_precisions):
        precision = precisions[k]
        for a in range(n_features):
            tables[k, a, a, 0] = 1.0 / precision[a, a]
            tables[k, a, a, 3] = np.log(precision[a, a])
            for b in range(a + 1, n_features):
                factor = precision[a, b] / precision[a, a]
                pivot = precision[b, b] - factor * precision[a, b]
                tables[k, a, b, 0] = 1.0 / precision[a, a]
                tables[k, a, b, 1] = factor
                tables[k, a, b, 2] = 1.0 / pivot
                tables[k, a, b, 3] = np.log(precision[a, a]) + np.log(pivot)
    return tables


@njit(**NJIT_OPTIONS)
def _ldl_third(precision, pair, m0, m1, m2):
    """Row 2 of P_mm = L D L^T for the missing features m0 < m1 < m2, rows 0 and 1 from
    ``pair`` (``pair_tables[k, m0, m1]``): returns ``(l20, l21, t20, t21, d2)``.

    With t_jq = P_jq - sum_{s < q} L_js t_qs (row j of L D before scaling; t_qq = D_q)
    and L_jq = t_jq / D_q: t20 = P_20, t21 = P_21 - L_20 P_10, D_2 = P_22 - L_20 t20 -
    L_21 t21 (``_ldl_row``'s arithmetic, unrolled; D_0, L_10 and D_1 from the table).
    """
    t20 = precision[m2, m0]
    l20 = t20 * pair[0]
    t21 = precision[m2, m1] - l20 * precision[m1, m0]
    l21 = t21 * pair[2]
    return l20, l21, t20, t21, precision[m2, m2] - l20 * t20 - l21 * t21


@njit(**NJIT_OPTIONS)
def _ldl_fourth(precision, pair, m0, m1, m2, m3, t20, t21, d2):
    """Row 3 of P_mm = L D L^T (``_ldl_third``, continued): returns
    ``(l30, l31, l32, d3)``, with t30 = P_30, t31 = P_31 - L_30 P_10,
    t32 = P_32 - L_30 t20 - L_31 t21 and D_3 = P_33 - L_30 t30 - L_31 t31 - L_32 t32."""
    t30 = precision[m3, m0]
    l30 = t30 * pair[0]
    t31 = precision[m3, m1] - l30 * precision[m1, m0]
    l31 = t31 * pair[2]
    t32 = precision[m3, m2] - l30 * t20 - l31 * t21
    l32 = t32 / d2
    return l30, l31, l32, precision[m3, m3] - l30 * t30 - l31 * t31 - l32 * t32


@njit(**NJIT_OPTIONS)
def _schur_corrections(precision, table, order, first, n_incomplete, t_t, rows, fill, lanes):
    """Per incomplete row i, with b = (P d)_m = ``t_t[m, i]``: rows[0][i] = b^T P_mm^-1 b
    and rows[1][i] = log det P_mm; for the rows with at most ``_N_CLOSED_FORM`` missing
    values also their conditional mean, ``fill[q, i]`` = (-P_mm^-1 b)_q (Ghahramani &
    Jordan), for ``_dense_accumulate_block``.

    The rows come grouped by their number p of missing values (``split_block``), each
    group in a loop without branches.  P_mm = L D L^T; with L w = b,
    b^T P_mm^-1 b = sum_j w_j^2 / D_j (a sum of non-negative terms), det P_mm = prod_j D_j,
    and P_mm^-1 b = v with L^T v = D^-1 w.  For p <= 4 the factors of P_mm's first two
    rows come from ``table`` (``pair_tables``: with the log-determinant of that block, all
    that p = 1 and 2 need), those of rows 2 and 3 unrolled (``_ldl_third``,
    ``_ldl_fourth``).  The rarer rows with more missing values are factored several at
    a time (``_schur_lanes``; ``lanes`` from ``dense_workspace``, laid out by
    ``_lane_layout``) and leave ``fill`` alone.
    """
    _, _, missing_features, group_starts, _, _ = order
    one, two, three = group_starts[1], group_starts[2], group_starts[3]
    four, five = group_starts[4], group_starts[5]
    for j in range(one, two):  # p = 1
        i, m0 = j - first, missing_features[j, 0]
        w0 = np.float64(t_t[m0, i])
        u0 = w0 * table[m0, m0, 0]
        rows[0, i] = w0 * u0
        rows[1, i] = table[m0, m0, 3]
        fill[0, i] = -u0
    for j in range(two, three):  # p = 2: the factors from the table
        i, m0, m1 = j - first, missing_features[j, 0], missing_features[j, 1]
        pair = table[m0, m1]
        w0 = np.float64(t_t[m0, i])  # L w = b
        w1 = np.float64(t_t[m1, i]) - pair[1] * w0
        u0, u1 = w0 * pair[0], w1 * pair[2]  # D^-1 w
        rows[0, i] = w0 * u0 + w1 * u1
        rows[1, i] = pair[3]
        fill[0, i] = pair[1] * u1 - u0  # L^T v = D^-1 w, fill = -v
        fill[1, i] = -u1
    for j in range(three, four):  # p = 3: rows 0 and 1 from the table, row 2 unrolled
        i, missing = j - first, missing_features[j]
        m0, m1, m2 = missing[0], missing[1], missing[2]
        pair = table[m0, m1]
        l20, l21, _, _, d2 = _ldl_third(precision, pair, m0, m1, m2)
        w0 = np.float64(t_t[m0, i])
        w1 = np.float64(t_t[m1, i]) - pair[1] * w0
        w2 = np.float64(t_t[m2, i]) - l20 * w0 - l21 * w1
        u0, u1, u2 = w0 * pair[0], w1 * pair[2], w2 / d2
        rows[0, i] = w0 * u0 + w1 * u1 + w2 * u2
        rows[1, i] = pair[3] + np.log(d2)
        v1 = u1 - l21 * u2
        fill[0, i] = pair[1] * v1 + l20 * u2 - u0
        fill[1, i] = -v1
        fill[2, i] = -u2
    for j in range(four, five):  # p = 4: rows 2 and 3 unrolled
        i, missing = j - first, missing_features[j]
        m0, m1, m2, m3 = missing[0], missing[1], missing[2], missing[3]
        pair = table[m0, m1]
        l20, l21, t20, t21, d2 = _ldl_third(precision, pair, m0, m1, m2)
        l30, l31, l32, d3 = _ldl_fourth(precision, pair, m0, m1, m2, m3, t20, t21, d2)
        w0 = np.float64(t_t[m0, i])
        w1 = np.float64(t_t[m1, i]) - pair[1] * w0
        w2 = np.float64(t_t[m2, i]) - l20 * w0 - l21 * w1
        w3 = np.float64(t_t[m3, i]) - l30 * w0 - l31 * w1 - l32 * w2
        u0, u1, u2, u3 = w0 * pair[0], w1 * pair[2], w2 / d2, w3 / d3
        rows[0, i] = w0 * u0 + w1 * u1 + w2 * u2 + w3 * u3
        rows[1, i] = pair[3] + np.log(d2 * d3)
        v2 = u2 - l32 * u3
        v1 = u1 - l21 * v2 - l31 * u3
        fill[0, i] = pair[1] * v1 + l20 * v2 + l30 * u3 - u0
        fill[1, i] = -v1
        fill[2, i] = -v2
        fill[3, i] = -u3
    if five < first + n_incomplete:  # p > 4
        _schur_lanes(precision, order, five, first + n_incomplete, t_t, rows, lanes)


@njit(**NJIT_OPTIONS)
def _lane_layout(order, start, stop, first, lanes):
    """Lay out the rows j in ``[start, stop)`` for ``_schur_lanes``, once per block (the
    same for every component): the c-th (c = j - start) gets its column in the block,
    ``columns[c] = j - first``, its missing features ``features[q, c] = m_q`` for q < p_j
    (m_{p_j - 1}, a valid index, beyond, up to the largest p) and
    ``inside[q, c] = q < p_j``, so that ``_schur_lanes`` reads them contiguously.
    """
    _, n_missing, missing_features, _, _, _ = order
    _, _, _, features, inside, columns = lanes
    largest = n_missing[stop - 1]  # the rows come by increasing p
    for c in range(stop - start):
        j = start + c
        columns[c] = j - first
        last = n_missing[j] - 1
        for q in range(largest):
            features[q, c] = missing_features[j, min(q, last)]
            inside[q, c] = q <= last


@njit(**NJIT_OPTIONS)
def _schur_lanes(precision, order, start, stop, t_t, rows, lanes):
    """``_schur_corrections`` for the rows j in ``[start, stop)`` (more than
    ``_N_CLOSED_FORM`` missing values, in increasing number; laid out by
    ``_lane_layout``), ``n_lanes`` rows at a time: their P_mm = L D L^T side by side, the
    innermost loops across the rows, vectorised (one row's factorisation alone is a
    chain of dependent divisions and short loops).

    A chunk of rows is factored at the size p of its last (largest) P_mm; a row with
    fewer missing values has its P_mm padded to [[P_mm, 0], [0, I]] and its b with 0,
    which changes nothing (its extra pivots are 1 and its extra w_j 0, exactly).

    Right-looking L D L^T with L w = b alongside: for each column q, D_q = A_qq, then for
    the rows j > q, L_jq = A_jq / D_q, w_j -= L_jq w_q and A_js -= L_jq A_sq (q < s <= j);
    b^T P_mm^-1 b = sum_q w_q^2 / D_q and det P_mm = prod_q D_q.  Column q is left as it
    is (only its L_jq, in ``scaled``, are needed), so the pivots stay on the diagonal.
    """
    n_missing = order[1]
    matrix, vector, scalars, features, inside, columns = lanes
    n_lanes = matrix.shape[2]
    pivot_inv, scaled, correction, determinant = scalars[0], scalars[1], scalars[2], scalars[3]
    count = stop - start
    for c0 in range(0, count, n_lanes):
        n = min(n_lanes, count - c0)
        p = n_missing[start + c0 + n - 1]
        for j in range(p):  # P_mm and b of each row, gathered
            for q in range(j + 1):
                identity = 1.0 if q == j else 0.0
                for r in range(n):
                    value = precision[features[j, c0 + r], features[q, c0 + r]]
                    matrix[j, q, r] = value if inside[j, c0 + r] else identity
            for r in range(n):
                b = np.float64(t_t[features[j, c0 + r], columns[c0 + r]])
                vector[j, r] = b if inside[j, c0 + r] else 0.0
        for r in range(n):
            correction[r] = 0.0
            determinant[r] = 1.0
        for q in range(p):
            for r in range(n):
                pivot = matrix[q, q, r]
                pivot_inv[r] = 1.0 / pivot
                determinant[r] *= pivot
                correction[r] += vector[q, r] * vector[q, r] * pivot_inv[r]
            for j in range(q + 1, p):
                for r in range(n):
                    scaled[r] = matrix[j, q, r] * pivot_inv[r]
                    vector[j, r] -= scaled[r] * vector[q, r]
                for s in range(q + 1, j + 1):
                    for r in range(n):
                        matrix[j, s, r] -= scaled[r] * matrix[s, q, r]
        for r in range(n):
            i = columns[c0 + r]
            rows[0, i] = correction[r]
            if 1e-250 < determinant[r] < 1e250:  # log det P_mm
                rows[1, i] = np.log(determinant[r])
            else:  # the product of the pivots over- or underflowed: add their logarithms
                rows[1, i] = 0.0
                for q in range(p):
                    rows[1, i] += np.log(matrix[q, q, r])


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
    complete rows' ``significant_rows``) are gathered as in ``full._accumulate_block``:
    x - c on the observed features, matrix-shaped, into the columns of ``out_t[0]``,
    then per row the missing ones, c = ``reference[k]``:

    - p <= ``_N_CLOSED_FORM`` missing values: E[x_m | x_o, k] - mu_m from the E-step
      (``fills``, ``_schur_corrections``), P_mm^-1 from its L D L^T factors
      (``_add_small_covariance``);
    - more: both from the row's own L D L^T (``_conditional_deviation``,
      ``_add_conditional_covariance``).

    Then the weighted copy (``out_t[1]``) and its sums, and the second moments by the
    tiled ``full._add_lower_products``, as the complete rows'.  ``dense`` is
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
        for i in range(n_incomplete):  # branch-free compaction (_common.significant_rows)
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
        full._add_lower_products(weighted_t, filled_t, n_kept, second)


@njit(**NJIT_OPTIONS)
def _add_small_covariance(precision, table, missing, p, weight, second):
    """``second[m_j, m_q] += weight * (P_mm^-1)[j, q]`` (lower triangle; ``missing`` is
    ascending) for p <= 4 missing values, from P_mm = L D L^T (``pair_tables``,
    ``_ldl_third``, ``_ldl_fourth``): with N = L^-1 (unit lower triangular),
    P_mm^-1 = N^T D^-1 N, (P_mm^-1)[a, b] = sum_{j >= a} N_ja N_jb / D_j (a >= b).
    """
    m0 = missing[0]
    if p == 1:
        second[m0, m0] += weight * table[m0, m0, 0]
        return
    m1 = missing[1]
    pair = table[m0, m1]
    e0, e1, e2, e3 = weight * pair[0], weight * pair[2], 0.0, 0.0  # weight / D_j
    n10 = -pair[1]  # N = L^-1 by forward substitution, row by row
    n20 = n21 = n30 = n31 = n32 = 0.0
    if p >= 3:
        m2 = missing[2]
        l20, l21, t20, t21, d2 = _ldl_third(precision, pair, m0, m1, m2)
        e2 = weight / d2
        n20, n21 = -l20 - l21 * n10, -l21
        if p == 4:
            m3 = missing[3]
            l30, l31, l32, d3 = _ldl_fourth(precision, pair, m0, m1, m2, m3, t20, t21, d2)
            e3 = weight / d3
            n30, n31, n32 = -l30 - l31 * n10 - l32 * n20, -l31 - l32 * n21, -l32
    second[m0, m0] += e0 + n10 * n10 * e1 + n20 * n20 * e2 + n30 * n30 * e3
    second[m1, m0] += n10 * e1 + n21 * n20 * e2 + n31 * n30 * e3
    second[m1, m1] += e1 + n21 * n21 * e2 + n31 * n31 * e3
    if p >= 3:
        second[m2, m0] += n20 * e2 + n32 * n30 * e3
        second[m2, m1] += n21 * e2 + n32 * n31 * e3
        second[m2, m2] += e2 + n32 * n32 * e3
        if p == 4:
            second[m3, m0] += n30 * e3
            second[m3, m1] += n31 * e3
            second[m3, m2] += n32 * e3
            second[m3, m3] += e3


# -- 'diag' and 'spherical' --------------------------------------------------------------


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
        dense = dense_workspace(n_components, X.shape[1])
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
                tables,
                log_prob,
                block_t,
                dense,
                (diff_t, weighted),
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
        dense = dense_workspace(n_components, X.shape[1])
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
