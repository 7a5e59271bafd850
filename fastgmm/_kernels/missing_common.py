"""Kernels for rows with missing values (NaN), fitted with ``missing_values='marginalize'``:
what the kernels of every covariance type share.

A NaN is a value missing at random, integrated out exactly.  Each block of rows is
reordered so that its complete rows come first (``split_block``): those go through their
covariance type's own block functions, unchanged; the incomplete rows follow, grouped
by their number of missing values.  For a row x with observed features o and missing
features m, under component k (mean mu, precision P = Sigma^-1), the maths is in the
modules that do it:

- ``missing_dense.py``: 'full' and 'tied', the incomplete rows' block functions (marginal
  log-density, expected moments) and ``impute_dense``;
- ``missing_schur.py``: for those, the L D L^T factors of the missing block P_mm of the
  precision, the Schur complement and the conditional mean and covariance;
- ``missing_full.py``, ``missing_tied.py``: the 'full' and 'tied' drivers
  (``statistics_*``, ``score_*``);
- ``missing_diag.py``: 'diag' and 'spherical', block functions, drivers and
  ``impute_diagonal``.

This module holds the block layout (``missing_workspace``, ``split_block``), the
drivers' shared steps (``_reset``, the reordered block's E-step ``_block_e_step`` and
scores ``_write_block_scores``) and imputation's posterior and drawn component.

A row with every value missing has sample weight 0 inside the kernels: it adds
nothing to the statistics nor to the log-likelihood; scored, its log p(x) is 0 (to
rounding) and its responsibilities are the weights.  The per-row work is in float64,
the matrix-shaped work in the data's dtype, as for complete rows.
"""

import numpy as np
from numba import njit

from ._common import SCORE, STATISTICS, e_step_block, transpose_block
from ._options import BLOCK_ROWS, NJIT_OPTIONS

_LOG_2PI = np.log(2.0 * np.pi)

# Rows with up to this many missing values are handled in closed form, without loops:
# the L D L^T factors of P_mm's first two rows come from ``pair_tables``, those of its
# third and fourth rows are computed unrolled (``_ldl_third``, ``_ldl_fourth``); the
# rarer rows with more missing values are factored by loops (``_schur_lanes``,
# ``_ldl_row``).
_N_CLOSED_FORM = 4


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


# -- every type's drivers --------------------------------------------------------------


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
    no_output = block_weight[:0]
    # np.int64(...), not literals: the complete rows' kernels' signature, compiled once.
    return e_step_block(
        np.int64(STATISTICS),
        log_prob,
        np.int64(0),
        n_rows,
        row_stats,
        block_weight,
        block_labels,
        no_output,
        no_output.reshape((0, 0)),
        block_labels[:0],
    )


@njit(**NJIT_OPTIONS)
def _write_block_scores(
    log_prob, offsets, start, n_rows, unordered, row_stats, out_log_prob_norm, out_resp, out_labels
):
    """``e_step_block``'s scores for a reordered block (its rows put back in order first)."""
    for k in range(log_prob.shape[0]):
        for j in range(n_rows):
            unordered[k, offsets[j]] = log_prob[k, j]
    no_weights = row_stats[0, :0]
    e_step_block(
        np.int64(SCORE),
        unordered,
        start,
        n_rows,
        row_stats,
        no_weights,
        out_labels[:0],
        out_log_prob_norm,
        out_resp,
        out_labels,
    )


# -- imputation ------------------------------------------------------------------------


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
