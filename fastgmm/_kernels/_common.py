"""Numba helpers shared by the per-covariance-type kernels.

Every kernel walks the rows in a fixed grid: ``n_chunks`` contiguous chunks
(a function of the data's shape only, never of the thread count), each cut
into blocks of at most ``BLOCK_ROWS`` rows.  A chunk owns one slot of every
accumulator, so the parallel loop never writes shared memory, and the caller
adds the slots up in chunk order: the result is bitwise the same on any
number of threads.

Each covariance type writes its own two small drivers (``statistics`` and
``score``) around its ``_log_prob_block``/``_accumulate_block``: Numba does not
cache a kernel that takes a jitted function as an argument, nor one made by a
closure factory (both checked with numba 0.68), and uncached kernels would
recompile in every process.

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
    row maximum, row sum for ``normalise_block``, and a labelled row's own
    log-probability for ``e_step_block``) and ``rows`` (int64 row indices, for
    ``significant_rows``).
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
def centre_block(x_t, n_rows, mean, diff_t):
    """``diff_t[a, i] = x_t[a, i] - mean[a]`` (contiguous rows, vectorised)."""
    for a in range(x_t.shape[0]):
        centre = mean[a]
        for i in range(n_rows):
            diff_t[a, i] = x_t[a, i] - centre


@njit(**NJIT_OPTIONS)
def block_resp_sum(resp, k, n_rows):
    """sum_i q_ik over the block's rows (component-major ``resp``)."""
    total = 0.0
    for i in range(n_rows):
        total += resp[k, i]
    return total


@njit(**NJIT_OPTIONS)
def significant_rows(resp, k, n_rows, rows):
    """The rows with ``resp[k, i] >= NEGLIGIBLE_RESP``, when they are few.

    Writes their indices to ``rows[:n]`` and returns n; returns -1 (use every
    row) when more than a quarter of the block counts, as the dense loops are
    then cheaper than gathering.
    """
    count = 0
    for i in range(n_rows):  # a vectorised count first
        count += resp[k, i] >= NEGLIGIBLE_RESP
    if 4 * count > n_rows:
        return -1
    n_kept = 0
    for i in range(n_rows):  # branch-free compaction
        rows[n_kept] = i
        n_kept += resp[k, i] >= NEGLIGIBLE_RESP
    return n_kept


@njit(**NJIT_OPTIONS)
def normalise_block(log_prob, n_rows, row_stats):
    """Weighted log-probabilities -> responsibilities, in place.

    E-step (Bishop 9.23) in log space, with one exp per entry:
    m_i = max_k l_ik, e_ik = exp(l_ik - m_i), log p(x_i) = m_i + log sum_k e_ik,
    q_ik = e_ik / sum_k e_ik.  Leaves log p(x_i) in ``row_stats[0]`` and returns
    the block's sum_i log p(x_i).
    """
    n_components = log_prob.shape[0]
    log_prob_norm, row_max, row_sum = row_stats[0], row_stats[1], row_stats[2]
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
    # Rows that no component can explain (every weighted density is 0, so the
    # row maximum is -inf) came out NaN above: log p(x_i) = -inf, no
    # responsibility.  Found by a vectorised minimum, mended in a scalar loop
    # only when there are any, so that the loops above and the sum vectorise.
    lowest = np.inf
    for i in range(n_rows):
        lowest = min(lowest, row_max[i])
    if lowest == -np.inf:
        for i in range(n_rows):
            if row_max[i] == -np.inf:
                log_prob_norm[i] = -np.inf
                for k in range(n_components):
                    log_prob[k, i] = 0.0
    total = 0.0
    for i in range(n_rows):
        total += log_prob_norm[i]
    return total


@njit(**NJIT_OPTIONS)
def one_hot_block(labels, start, n_rows, sample_weight, resp):
    """Responsibilities of hard assignments: ``resp[k, i] = w_i`` if ``labels[start + i] == k``,
    else 0 (``w_i = 1`` when ``sample_weight`` has length 0).

    Stands in for the E-step when the statistics kernels compute the first M-step from
    initial labels (k-means), so that it runs at kernel speed.
    """
    for k in range(resp.shape[0]):
        for i in range(n_rows):
            resp[k, i] = 0.0
    unit = sample_weight.shape[0] == 0
    for i in range(n_rows):
        resp[labels[start + i], i] = 1.0 if unit else sample_weight[start + i]


@njit(**NJIT_OPTIONS)
def e_step_block(log_prob, start, n_rows, row_stats, sample_weight, labels):
    """``normalise_block``, the known labels, then the sample weights: q_ik <- w_i q_ik.

    ``labels`` (length N, else 0) holds a component index per row, or -1: a
    labelled row i keeps the one-hot responsibilities of its label y_i, and
    its log-likelihood term is log pi_y N(x_i | y) (the complete-data
    log-likelihood of a known component) instead of log p(x_i).
    Returns the block's sum_i w_i log p(x_i); rows of weight 0 add nothing
    (even where log p(x_i) = -inf).  A length-0 ``sample_weight`` means all 1.
    """
    if labels.shape[0] == 0:
        total = normalise_block(log_prob, n_rows, row_stats)
    else:
        total = _labelled_normalise(log_prob, start, n_rows, row_stats, labels)
    if sample_weight.shape[0] == 0:
        return total
    total = 0.0
    for i in range(n_rows):
        weight = sample_weight[start + i]
        if weight != 0.0:
            total += weight * row_stats[0, i]
    for k in range(log_prob.shape[0]):
        for i in range(n_rows):
            log_prob[k, i] *= sample_weight[start + i]
    return total


@njit(**NJIT_OPTIONS)
def _labelled_normalise(log_prob, start, n_rows, row_stats, labels):
    """``normalise_block`` with the labelled rows (``labels[start + i] >= 0``) pinned."""
    own = row_stats[3]
    for i in range(n_rows):
        label = labels[start + i]
        if label >= 0:
            own[i] = log_prob[label, i]
    normalise_block(log_prob, n_rows, row_stats)
    total = 0.0
    for i in range(n_rows):
        label = labels[start + i]
        if label >= 0:
            for k in range(log_prob.shape[0]):
                log_prob[k, i] = 0.0
            log_prob[label, i] = 1.0
            row_stats[0, i] = own[i]
        total += row_stats[0, i]
    return total


@njit(**NJIT_OPTIONS)
def write_scores(log_prob, start, n_rows, row_stats, out_log_prob_norm, out_resp, out_labels):
    """Write the per-row outputs that were asked for (length-0 arrays are skipped).

    ``out_log_prob_norm`` gets log p(x_i), ``out_resp`` the responsibilities and
    ``out_labels`` the index of the largest weighted log-probability (ties go to
    the lowest index, as ``numpy.argmax``).
    """
    n_components = log_prob.shape[0]
    if out_labels.shape[0] > 0:
        for i in range(n_rows):
            best = 0
            for k in range(1, n_components):
                if log_prob[k, i] > log_prob[best, i]:
                    best = k
            out_labels[start + i] = best
    if out_log_prob_norm.shape[0] == 0 and out_resp.shape[0] == 0:
        return
    normalise_block(log_prob, n_rows, row_stats)
    for i in range(n_rows):
        if out_log_prob_norm.shape[0] > 0:
            out_log_prob_norm[start + i] = row_stats[0, i]
        if out_resp.shape[0] > 0:
            for k in range(n_components):
                out_resp[start + i, k] = log_prob[k, i]
