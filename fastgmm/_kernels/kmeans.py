"""k-means kernels: k-means++ seeding potentials and fused Lloyd steps.

Same fixed chunk grid as the EM kernels (``_common.chunk_bounds``): every
reduction is written per chunk and summed in chunk order by the caller, so the
seeding and the Lloyd iterations do not depend on the thread count.
Distances are computed in float64 whatever the data's dtype.  A length-0
``sample_weight`` means every row weighs 1; a length-0 ``fixed_labels`` means no
row has a fixed cluster (otherwise ``fixed_labels[i] >= 0`` is row i's cluster,
-1 leaves it free).
"""

import numpy as np
from numba import njit, prange

from ._common import chunk_bounds
from ._options import NJIT_OPTIONS, PARALLEL_NJIT_OPTIONS


@njit(**NJIT_OPTIONS)
def _squared_distance(X, i, centers, t):
    total = 0.0
    for a in range(X.shape[1]):
        diff = np.float64(X[i, a]) - centers[t, a]
        total += diff * diff
    return total


@njit(**NJIT_OPTIONS)
def _row_weight(sample_weight, i):
    return 1.0 if sample_weight.shape[0] == 0 else sample_weight[i]


@njit(**PARALLEL_NJIT_OPTIONS)
def candidate_potentials(X, sample_weight, candidates, closest_sq, n_chunks, out):
    """``out[c, t] = sum_{i in chunk c} w_i min(closest_sq[i], |x_i - candidates[t]|^2)``."""
    n_samples = X.shape[0]
    for c in prange(n_chunks):
        first, last = chunk_bounds(n_samples, n_chunks, c)
        for t in range(candidates.shape[0]):
            total = 0.0
            for i in range(first, last):
                distance = min(closest_sq[i], _squared_distance(X, i, candidates, t))
                total += _row_weight(sample_weight, i) * distance
            out[c, t] = total


@njit(**PARALLEL_NJIT_OPTIONS)
def update_closest(X, centers, t, closest_sq):
    """Lower ``closest_sq[i]`` to the squared distance from ``x_i`` to ``centers[t]``."""
    for i in prange(X.shape[0]):
        closest_sq[i] = min(closest_sq[i], _squared_distance(X, i, centers, t))


@njit(**PARALLEL_NJIT_OPTIONS)
def lloyd_assign(
    X, sample_weight, fixed_labels, centers, n_chunks, labels, distance_sq, sums, counts
):
    """Assign every row to its nearest centre and add it to its chunk's sums.

    Writes ``labels``, ``distance_sq`` (to the nearest centre), and per chunk the
    weighted sum of the assigned rows ``sums[c, k]`` and their total weight
    ``counts[c, k]``.  A row with a fixed label is assigned to that cluster
    whatever the distances, with ``distance_sq`` 0: it is never the
    worst-explained row a cluster restarts at.
    """
    n_samples, n_features = X.shape
    has_fixed = fixed_labels.shape[0] > 0
    for c in prange(n_chunks):
        sums[c] = 0.0
        counts[c] = 0
        first, last = chunk_bounds(n_samples, n_chunks, c)
        for i in range(first, last):
            if has_fixed and fixed_labels[i] >= 0:
                best = fixed_labels[i]
                best_distance = 0.0
            else:
                best = 0
                best_distance = _squared_distance(X, i, centers, 0)
                for k in range(1, centers.shape[0]):
                    distance = _squared_distance(X, i, centers, k)
                    if distance < best_distance:
                        best = k
                        best_distance = distance
            labels[i] = best
            distance_sq[i] = best_distance
            weight = _row_weight(sample_weight, i)
            counts[c, best] += weight
            for a in range(n_features):
                sums[c, best, a] += weight * X[i, a]


@njit(**PARALLEL_NJIT_OPTIONS)
def labelled_sums(X, sample_weight, fixed_labels, n_chunks, sums, counts):
    """Per chunk, the weighted sum ``sums[c, k]`` and total weight ``counts[c, k]`` of
    the rows whose fixed label is k (rows labelled -1 are left out)."""
    n_samples, n_features = X.shape
    for c in prange(n_chunks):
        sums[c] = 0.0
        counts[c] = 0
        first, last = chunk_bounds(n_samples, n_chunks, c)
        for i in range(first, last):
            k = fixed_labels[i]
            if k >= 0:
                weight = _row_weight(sample_weight, i)
                counts[c, k] += weight
                for a in range(n_features):
                    sums[c, k, a] += weight * X[i, a]
