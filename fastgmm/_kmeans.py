"""k-means for initialisation: greedy k-means++ seeding, then Lloyd iterations.

The heavy loops are the Numba kernels in ``_kernels/kmeans.py``; the random
draws come from the caller's ``RandomState`` here, in Python, so the result
depends only on ``random_state``, never on the number of threads.

On many rows the seeds are drawn from a stratified row sample of
``init_sample_size(K)`` rows (``_sources.row_sample``): seeding costs O(K) passes
over the rows it reads, Lloyd's iterations one pass each, and a 100,000-row
sample places seeds as well as all the rows would; Lloyd's iterations then run
on every row.
"""

import numpy as np

from ._kernels import kmeans as kernels
from ._sources import init_sample_size, n_chunks_for, row_sample
from ._statistics import feature_moments
from ._threads import launch

LLOYD_MAX_ITER = 100
LLOYD_TOL = 1e-4  # on the squared centre shift, relative to the mean feature variance


_UNIT_WEIGHTS = np.empty(0)


def kmeans_plusplus_indices(X, n_clusters, random_state, sample_weight=None):
    """Row indices of ``n_clusters`` seeds chosen by greedy k-means++.

    Arthur & Vassilvitskii (2007): each new seed is drawn with probability
    proportional to the squared distance to the nearest seed so far (times the
    row's weight); the greedy variant draws ``2 + log(k)`` candidates and keeps
    the one that lowers the total squared distance most.
    """
    n_samples = X.shape[0]
    n_chunks = n_chunks_for(n_samples)
    n_trials = 2 + int(np.log(n_clusters))
    indices = np.empty(n_clusters, dtype=np.int64)
    seeds = np.empty((n_clusters, X.shape[1]))
    if sample_weight is None:
        indices[0] = random_state.randint(n_samples)
    else:
        indices[0] = random_state.choice(n_samples, p=sample_weight / sample_weight.sum())
    weights = _UNIT_WEIGHTS if sample_weight is None else sample_weight
    seeds[0] = X[indices[0]]
    closest_sq = np.full(n_samples, np.inf)
    launch(kernels.update_closest, X, seeds, 0, closest_sq)
    potentials = np.empty((n_chunks, n_trials))
    for k in range(1, n_clusters):
        cumulative = np.cumsum(closest_sq if sample_weight is None else weights * closest_sq)
        targets = random_state.uniform(size=n_trials) * cumulative[-1]
        candidates = np.minimum(np.searchsorted(cumulative, targets), n_samples - 1)
        launch(
            kernels.candidate_potentials,
            X,
            weights,
            X[candidates].astype(np.float64),
            closest_sq,
            n_chunks,
            potentials,
        )
        best = int(np.argmin(potentials.sum(axis=0)))
        indices[k] = candidates[best]
        seeds[k] = X[indices[k]]
        launch(kernels.update_closest, X, seeds, k, closest_sq)
    return indices


def kmeans(X, n_clusters, random_state, sample_weight=None):
    """(Weighted) Lloyd's k-means started from k-means++ seeds.

    Returns ``(labels, centres)``: each row's cluster (int64) and the (weighted) mean of
    each cluster's rows (float64; an empty cluster keeps its last centre).
    """
    n_samples, n_features = X.shape
    n_chunks = n_chunks_for(n_samples)
    sample = row_sample(n_samples, init_sample_size(n_clusters), random_state)
    if sample is None:
        seeding_rows, seeding_weights = X, sample_weight
    else:
        seeding_rows = X[sample]
        seeding_weights = None if sample_weight is None else sample_weight[sample]
        if seeding_weights is not None and not seeding_weights.any():
            seeding_rows, seeding_weights = X, sample_weight  # every sampled row weighs 0
    seeds = kmeans_plusplus_indices(seeding_rows, n_clusters, random_state, seeding_weights)
    centers = seeding_rows[seeds].astype(np.float64)
    weights = _UNIT_WEIGHTS if sample_weight is None else sample_weight
    labels = np.empty(n_samples, dtype=np.int64)
    distance_sq = np.empty(n_samples)
    sums = np.empty((n_chunks, n_clusters, n_features))
    counts = np.empty((n_chunks, n_clusters))
    variance = feature_moments(seeding_rows, seeding_weights)[1]
    tolerance = LLOYD_TOL * float(variance.mean())
    for _ in range(LLOYD_MAX_ITER):
        launch(
            kernels.lloyd_assign, X, weights, centers, n_chunks, labels, distance_sq, sums, counts
        )
        cluster_sums, cluster_weights = sums.sum(axis=0), counts.sum(axis=0)
        empty = cluster_weights == 0
        new_centers = cluster_sums / np.where(empty, 1.0, cluster_weights)[:, None]
        if sample_weight is not None:
            distance_sq[sample_weight == 0] = 0.0  # never restart at a row of weight 0
        for k in np.flatnonzero(empty):
            # Empty cluster: restart it at the worst-explained point.
            far = int(np.argmax(distance_sq))
            new_centers[k] = X[far]
            distance_sq[far] = 0.0
        shift = float(((new_centers - centers) ** 2).sum())
        centers = new_centers
        if shift <= tolerance:
            break
    launch(kernels.lloyd_assign, X, weights, centers, n_chunks, labels, distance_sq, sums, counts)
    cluster_sums, cluster_weights = sums.sum(axis=0), counts.sum(axis=0)
    filled = cluster_weights > 0
    centers[filled] = cluster_sums[filled] / cluster_weights[filled, None]
    return labels, centers
