"""Numba helpers shared by the per-covariance-type kernels.

Every kernel walks the rows in a fixed grid: ``n_chunks`` contiguous chunks
(a function of the data's shape only, never of the thread count), each cut
into blocks of at most ``BLOCK_ROWS`` rows.  A chunk owns one slot of every
accumulator, so threads never write shared memory, and the caller adds the
slots up in chunk order: the result is bitwise the same on any number of
threads.

Each covariance type writes one serial, ``nogil`` ``run_pass`` over a range
of chunks (block by block, through its ``_log_prob_block``/
``_accumulate_block`` and the shared ``e_step_block``);
``fastgmm._threads.run_chunks`` shares the chunks out among threads.  What a
pass computes (E-step statistics, hard-assignment statistics, per-row scores)
is the runtime ``mode``, and optional inputs (weights, labels) and unused
outputs are length-0 arrays, so each type and dtype compiles one signature
that ``fit`` and ``predict`` share: compile time, not speed, is what the
number of compiled functions costs.  The passes are written per type because
Numba does not cache a kernel that takes a jitted function as an argument,
nor one made by a closure factory (both checked with numba 0.68), and
uncached kernels would recompile in every process.  They are serial because a
``prange`` driver over the same body compiles about five times slower (each
parfor re-optimises its whole call tree; docs/design.md section 3).

Inside a block, per-row quantities are stored *component-major*:
``log_prob[k, i]`` for row ``start + i``, so that loops over the rows of a
block are contiguous and vectorise.
"""

import numpy as np
from numba import njit

from ._math import exp_nonpositive, log_positive
from ._options import BLOCK_ROWS, NJIT_OPTIONS

# A responsibility below this (exp(-92)) is left out of its component's first
# and second moments (N_k stays exact).  Such a term moves a moment by less
# than 1e-40 of that row's contribution at full weight, far below float64
# rounding for any component that holds 1e-20 of a row or more; leaving the
# many negligible terms of well-separated clusters out makes the accumulation
# several times cheaper.
NEGLIGIBLE_RESP = 1e-40
# For float32 data the bound is float32's smallest normal number (1.2e-38): a smaller
# responsibility would enter the float32 moment arithmetic as a subnormal number, which
# x86 processors handle about a hundred times slower (microcode assists: float32 'diag'
# and 'tied' passes ran 3-5x slower for them), and its terms are far below float32 rounding.
FLOAT32_NEGLIGIBLE_RESP = float(np.finfo(np.float32).tiny)

# What a pass over the rows computes (the ``mode`` of every type's ``run_pass`` and of
# ``e_step_block``): the E-step's statistics; the statistics of hard assignments (the
# labels are the responsibilities); per-row scores, no statistics.
STATISTICS, ONE_HOT, SCORE = 0, 1, 2


@njit(**NJIT_OPTIONS)
def chunk_bounds(n_samples, n_chunks, chunk):
    """Return the half-open row range ``[start, stop)`` of one chunk."""
    start = (chunk * n_samples) // n_chunks
    stop = ((chunk + 1) * n_samples) // n_chunks
    return start, stop


@njit(**NJIT_OPTIONS)
def block_workspace(X, n_components):
    """Scratch arrays for one chunk's blocks, allocated once per chunk and pass.

    Returns ``(x_t, diff_t, weighted, y, mahalanobis, log_prob, row_stats, rows)``:
    the block's rows transposed, centred, and centred and weighted by the
    responsibilities (features x rows, in X's dtype), two scratch rows ``y``
    and one row ``mahalanobis`` in X's dtype, the component-major
    ``log_prob`` (float64), ``row_stats`` (float64, 4 x rows: log p(x),
    row maximum, row sum, and a labelled row's own log-probability, for
    ``e_step_block``) and ``rows`` (int64 row indices, for gathering rows).
    """
    n_features = X.shape[1]
    return (
        np.empty((n_features, BLOCK_ROWS), dtype=X.dtype),
        np.empty((n_features, BLOCK_ROWS), dtype=X.dtype),
        np.empty((n_features, BLOCK_ROWS), dtype=X.dtype),
        np.empty((2, BLOCK_ROWS), dtype=X.dtype),
        np.empty(BLOCK_ROWS, dtype=X.dtype),
        np.empty((n_components, BLOCK_ROWS)),
        np.empty((4, BLOCK_ROWS)),
        np.empty(BLOCK_ROWS, dtype=np.int64),
    )


@njit(**NJIT_OPTIONS)
def negligible_resp(x):
    """The responsibility below which a row is left out of the moments of data like ``x``
    (``NEGLIGIBLE_RESP``; ``FLOAT32_NEGLIGIBLE_RESP`` for float32)."""
    return NEGLIGIBLE_RESP if x.itemsize == 8 else FLOAT32_NEGLIGIBLE_RESP


@njit(**NJIT_OPTIONS)
def flush_negligible(resp, n_rows, negligible):
    """Set the entries of ``resp[:n_rows]`` (one component's responsibilities in a block)
    below ``negligible`` to 0, and return the block's sum of responsibilities (taken
    before, so N_k stays exact) and how many entries are kept: one vectorised pass."""
    block_resp = 0.0
    n_significant = 0
    for i in range(n_rows):
        r = resp[i]
        block_resp += r
        n_significant += r >= negligible
        resp[i] = r if r >= negligible else 0.0
    return block_resp, n_significant


@njit(**NJIT_OPTIONS)
def significant_rows(resp, n_rows, negligible, rows):
    """Write to ``rows`` the indices ``i < n_rows`` with ``resp[i] >= negligible``, in
    order, and return how many there are (a branch-free compaction)."""
    n_kept = 0
    for i in range(n_rows):
        rows[n_kept] = i
        n_kept += resp[i] >= negligible
    return n_kept


@njit(**NJIT_OPTIONS)
def transpose_block(X, start, n_rows, x_t):
    """``x_t[a, i] = X[start + i, a]`` for ``i < n_rows``: once per block, for all components.

    Feature by feature over the flat (C-contiguous) data: strided loads and
    contiguous stores vectorise, where row by row they would not for small D.
    """
    n_features = X.shape[1]
    flat = X.reshape(-1)
    base = start * n_features
    for a in range(n_features):
        row = x_t[a]
        for i in range(n_rows):
            row[i] = flat[base + i * n_features + a]


@njit(**NJIT_OPTIONS)
def add_lower_products(left, right, n_rows, out):
    """``out[a, b] += sum_i left[a, i] * right[b, i]`` for the lower triangle b <= a.

    Rows of 4 features go by 4 x 4 tiles (16 dot products in registers share 8
    loads per row; entries above the diagonal of a diagonal tile are added too,
    and never read); the last ``n_features % 4`` rows are plain dot products.
    """
    n_features = left.shape[0]
    n_tiled = n_features - n_features % 4
    zero = left.dtype.type(0)
    for a in range(0, n_tiled, 4):
        for b in range(0, a + 1, 4):
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
    for a in range(n_tiled, n_features):
        for b in range(a + 1):
            total = zero
            for i in range(n_rows):
                total += left[a, i] * right[b, i]
            out[a, b] += total


@njit(**NJIT_OPTIONS)
def e_step_block(
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
):
    """The block's responsibilities from its weighted log-probabilities, in place.

    One function for every pass (``mode``) so that fitting and scoring share its
    compiled code; the covariance types and both dtypes share it too (everything here
    is float64 or int64).  Returns the block's sum_i w_i log p(x_i).

    - ``STATISTICS``: the E-step (Bishop 9.23) in log space, one exp per entry:
      m_i = max_k l_ik, e_ik = exp(l_ik - m_i), log p(x_i) = m_i + log sum_k e_ik,
      q_ik = e_ik / sum_k e_ik, with log p(x_i) left in ``row_stats[0]``.
      ``labels`` (length N, else 0) holds a component index per row, or -1: a
      labelled row keeps the one-hot responsibilities of its label y_i and its
      log-likelihood term is log pi_y N(x_i | y) (the complete-data log-likelihood of
      a known component).  ``sample_weight`` (length N, else 0 for unit weights) then
      multiplies q_ik and the log-likelihood terms; rows of weight 0 add nothing, even
      where log p(x_i) = -inf.
    - ``ONE_HOT``: the responsibilities of the hard assignments ``labels`` (w_i for
      the row's label, else 0; ``log_prob`` is not read): the first M-step of a
      k-means start, at kernel speed.  Returns 0.
    - ``SCORE``: ``out_labels`` gets the index of the largest weighted
      log-probability (ties to the lowest, as ``numpy.argmax``), then, where asked,
      ``out_log_prob_norm`` log p(x_i) and ``out_resp`` the responsibilities (length-0
      outputs are skipped; ``labels`` and ``sample_weight`` have length 0).
    """
    n_components = log_prob.shape[0]
    if mode == ONE_HOT:
        for k in range(n_components):
            for i in range(n_rows):
                log_prob[k, i] = 0.0
        for i in range(n_rows):
            weight = 1.0 if sample_weight.shape[0] == 0 else sample_weight[start + i]
            log_prob[labels[start + i], i] = weight
        return 0.0
    if out_labels.shape[0] > 0:
        for i in range(n_rows):
            best = 0
            for k in range(1, n_components):
                if log_prob[k, i] > log_prob[best, i]:
                    best = k
            out_labels[start + i] = best
        if out_log_prob_norm.shape[0] == 0 and out_resp.shape[0] == 0:
            return 0.0
    log_prob_norm, row_max, row_sum, own = row_stats[0], row_stats[1], row_stats[2], row_stats[3]
    has_labels = labels.shape[0] > 0
    if has_labels:
        for i in range(n_rows):
            label = labels[start + i]
            if label >= 0:
                own[i] = log_prob[label, i]
    for i in range(n_rows):
        row_max[i] = log_prob[0, i]
        row_sum[i] = 0.0
    for k in range(1, n_components):
        for i in range(n_rows):
            row_max[i] = max(row_max[i], log_prob[k, i])
    for k in range(n_components):
        for i in range(n_rows):
            e = exp_nonpositive(log_prob[k, i] - row_max[i])
            log_prob[k, i] = e
            row_sum[i] += e
    for i in range(n_rows):
        log_prob_norm[i] = row_max[i] + log_positive(row_sum[i])
        row_sum[i] = 1.0 / row_sum[i]
    for k in range(n_components):
        for i in range(n_rows):
            log_prob[k, i] *= row_sum[i]
    # Rows that no component can explain (every weighted density is 0, so the row
    # maximum is -inf) came out NaN above: log p(x_i) = -inf, no responsibility.
    # Found by a vectorised minimum, mended in a scalar loop only when there are any,
    # so that the loops above vectorise.
    lowest = np.inf
    for i in range(n_rows):
        lowest = min(lowest, row_max[i])
    if lowest == -np.inf:
        for i in range(n_rows):
            if row_max[i] == -np.inf:
                log_prob_norm[i] = -np.inf
                for k in range(n_components):
                    log_prob[k, i] = 0.0
    if has_labels:
        for i in range(n_rows):
            label = labels[start + i]
            if label >= 0:
                for k in range(n_components):
                    log_prob[k, i] = 0.0
                log_prob[label, i] = 1.0
                log_prob_norm[i] = own[i]
    total = 0.0
    if sample_weight.shape[0] == 0:
        for i in range(n_rows):
            total += log_prob_norm[i]
    else:
        for i in range(n_rows):
            weight = sample_weight[start + i]
            if weight != 0.0:
                total += weight * log_prob_norm[i]
        for k in range(n_components):
            for i in range(n_rows):
                log_prob[k, i] *= sample_weight[start + i]
    if out_log_prob_norm.shape[0] > 0:
        for i in range(n_rows):
            out_log_prob_norm[start + i] = log_prob_norm[i]
    if out_resp.shape[0] > 0:
        for i in range(n_rows):
            for k in range(n_components):
                out_resp[start + i, k] = log_prob[k, i]
    return total
