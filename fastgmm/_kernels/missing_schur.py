"""The missing block P_mm of a dense precision ('full', 'tied'): its L D L^T factors and
what comes of them, for the block functions of ``missing_dense.py``.

Notation as in ``missing_common.py`` and ``missing_dense.py``: d = x - mu on the observed
features o and 0 on the missing ones m, b = (P d)_m.

- the Schur complement: the marginal log-density needs b^T P_mm^-1 b and log det P_mm,
  from P_mm = L D L^T (``_schur_corrections``): the factors of every 1 x 1 and 2 x 2
  block come from tables made once per pass (``pair_tables``), those of the 3 x 3 and
  4 x 4 blocks extend them unrolled (``_ldl_third``, ``_ldl_fourth``), and rows with more
  missing values are factored several rows at a time (``_schur_lanes``);
- conditional mean and covariance of the missing block (Ghahramani & Jordan 1994):
  E[x_m | x_o] - mu_m = -P_mm^-1 b,  Cov[x_m | x_o] = P_mm^-1 (the mean left by
  ``_schur_corrections`` for up to four missing values, or ``_conditional_deviation``;
  the covariance added by ``_add_small_covariance``, ``_add_conditional_covariance``).
"""

import numpy as np
from numba import njit

from ._options import NJIT_OPTIONS


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
