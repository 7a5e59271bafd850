"""k-means kernels: k-means++ seeding potentials and fused Lloyd steps.

Same fixed chunk grid as the EM kernels (``_common.chunk_bounds``): every
reduction is written per chunk and summed in chunk order by the caller, so the
seeding and the Lloyd iterations do not depend on the thread count.
Distances are computed in float64 whatever the data's dtype.  A length-0
``sample_weight`` means every row weighs 1; a length-0 ``fixed_labels`` means no
row has a fixed cluster (otherwise ``fixed_labels[i] >= 0`` is row i's cluster,
-1 leaves it free).

Compiled code as the EM kernels': one serial ``run_pass`` over a range of chunks
(``_threads.run_chunks`` shares the chunks out among threads), which does what its
``mode`` says; each mode reads and writes only its own arguments, and the caller
passes length-0 arrays for the others.
"""

import numpy as np
from numba import njit

from ._options import NJIT_OPTIONS

# What a pass computes (``run_pass``'s ``mode``).
CLOSEST, POTENTIALS, ASSIGN, LABELLED_SUMS = 0, 1, 2, 3


@njit(**NJIT_OPTIONS)
def _squared_distance(X, i, centers, t):
    total = 0.0
    for a in range(X.shape[1]):
        diff = np.float64(X[i, a]) - centers[t, a]
        total += diff * diff
    return total


@njit(**NJIT_OPTIONS)
def run_pass(
    mode,
    X,
    sample_weight,
    fixed_labels,
    centers,
    t,
    closest_sq,
    n_chunks,
    potentials,
    labels,
    distance_sq,
    sums,
    counts,
    first_chunk,
    stop_chunk,
):
    """Chunks ``first_chunk`` to ``stop_chunk - 1`` of the rows' ``n_chunks``, as ``mode`` says.

    - ``CLOSEST``: lower ``closest_sq[i]`` to the squared distance from x_i to
      ``centers[t]``;
    - ``POTENTIALS``: ``potentials[c, t] = sum_{i in chunk c} w_i min(closest_sq[i],
      |x_i - centers[t]|^2)`` for every candidate t in ``centers``;
    - ``ASSIGN``: assign every row to its nearest centre; write ``labels``,
      ``distance_sq`` (to that centre), and per chunk the weighted sum of the assigned
      rows ``sums[c, k]`` and their total weight ``counts[c, k]``.  A row with a fixed
      label is assigned to that cluster whatever the distances, with ``distance_sq`` 0:
      it is never the worst-explained row a cluster restarts at;
    - ``LABELLED_SUMS``: ``sums[c, k]`` and ``counts[c, k]`` of the rows whose fixed
      label is k (rows labelled -1 are left out).
    """
    n_samples, n_features = X.shape
    unit = sample_weight.shape[0] == 0
    has_fixed = fixed_labels.shape[0] > 0
    for c in range(first_chunk, stop_chunk):
        first, last = (c * n_samples) // n_chunks, ((c + 1) * n_samples) // n_chunks
        if mode == CLOSEST:
            for i in range(first, last):
                closest_sq[i] = min(closest_sq[i], _squared_distance(X, i, centers, t))
        elif mode == POTENTIALS:
            for candidate in range(centers.shape[0]):
                total = 0.0
                for i in range(first, last):
                    distance = min(closest_sq[i], _squared_distance(X, i, centers, candidate))
                    total += distance if unit else sample_weight[i] * distance
                potentials[c, candidate] = total
        else:  # ASSIGN or LABELLED_SUMS
            sums[c] = 0.0
            counts[c] = 0.0
            for i in range(first, last):
                if has_fixed and fixed_labels[i] >= 0:
                    best = np.int64(fixed_labels[i])
                    best_distance = 0.0
                elif mode == LABELLED_SUMS:
                    continue  # a free row: not in any labelled sum
                else:
                    best = np.int64(0)  # not a literal 0: one signature of _squared_distance
                    best_distance = _squared_distance(X, i, centers, best)
                    for k in range(1, centers.shape[0]):
                        distance = _squared_distance(X, i, centers, k)
                        if distance < best_distance:
                            best = k
                            best_distance = distance
                if mode == ASSIGN:
                    labels[i] = best
                    distance_sq[i] = best_distance
                weight = 1.0 if unit else sample_weight[i]
                counts[c, best] += weight
                for a in range(n_features):
                    sums[c, best, a] += weight * X[i, a]
