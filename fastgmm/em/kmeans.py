"""k-means for initialisation: greedy k-means++ seeding, then Lloyd iterations.

The heavy loops are the Numba kernels in ``_kernels/kmeans.py``; the random
draws come from the caller's ``RandomState`` here, in Python, so the result
depends only on ``random_state``, never on the number of threads.

On many rows the seeds are drawn from a stratified row sample of
``init_sample_size(K, D)`` rows (``data.sources.row_sample``): seeding costs O(K) passes
over the rows it reads, Lloyd's iterations one pass each, and a 100,000-row
sample (fewer for wide data: at most 32 MiB of float64 values) places seeds as well as
all the rows would; Lloyd's iterations then run on every row.

Partly labelled rows (``fixed_labels``) constrain the clustering: see ``kmeans``.
"""

import numpy as np

from .._kernels import kmeans as kernels
from .._threads import run_chunks
from ..data.sources import init_sample_size, n_chunks_for, row_sample
from ..data.statistics import feature_moments

LLOYD_MAX_ITER = 100
LLOYD_TOL = 1e-4  # on the squared centre shift, relative to the mean feature variance


_UNIT_WEIGHTS = np.empty(0)
_NO_FIXED_LABELS = np.empty(0, dtype=np.int64)
_NOT_USED_1D = np.empty(0)
_NOT_USED_2D = np.empty((0, 0))
_NOT_USED_3D = np.empty((0, 0, 0))


def _run_pass(
    mode,
    X,
    n_chunks,
    sample_weight=_UNIT_WEIGHTS,
    fixed_labels=_NO_FIXED_LABELS,
    centers=_NOT_USED_2D,
    t=0,
    closest_sq=_NOT_USED_1D,
    potentials=_NOT_USED_2D,
    labels=_NO_FIXED_LABELS,
    distance_sq=_NOT_USED_1D,
    sums=_NOT_USED_3D,
    counts=_NOT_USED_2D,
):
    """``kernels.run_pass`` with the arguments its ``mode`` reads or writes; the others
    default to length-0 arrays of the types the compiled kernel takes."""
    run_chunks(
        kernels.run_pass,
        n_chunks,
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
    )


def kmeans_plusplus_indices(X, n_clusters, random_state, sample_weight=None, centers=None):
    """Row indices of ``n_clusters`` seeds chosen by greedy k-means++.

    Arthur & Vassilvitskii (2007): each new seed is drawn with probability
    proportional to the squared distance to the nearest seed so far (times the
    row's weight); the greedy variant draws ``2 + log(k)`` candidates and keeps
    the one that lowers the total squared distance most.

    ``centers`` (m, D), if given, are seeds fixed beforehand (float64): the
    distances are taken to them from the start, the ``2 + log(m + n_clusters)``
    candidates are drawn from the first new seed on, and only the new seeds'
    indices are returned.  Without them the first seed is drawn in proportion
    to the weights alone.
    """
    n_samples = X.shape[0]
    n_fixed = 0 if centers is None else centers.shape[0]
    indices = np.empty(n_clusters, dtype=np.int64)
    if n_clusters == 0:
        return indices
    n_chunks = n_chunks_for(n_samples)
    n_trials = 2 + int(np.log(n_fixed + n_clusters))
    seeds = np.empty((n_fixed + n_clusters, X.shape[1]))
    weights = _UNIT_WEIGHTS if sample_weight is None else sample_weight
    closest_sq = np.full(n_samples, np.inf)
    if n_fixed:
        seeds[:n_fixed] = centers
        for t in range(n_fixed):
            _run_pass(kernels.CLOSEST, X, n_chunks, centers=seeds, t=t, closest_sq=closest_sq)
        first_drawn = 0
    else:
        if sample_weight is None:
            indices[0] = random_state.randint(n_samples)
        else:
            indices[0] = random_state.choice(n_samples, p=sample_weight / sample_weight.sum())
        seeds[0] = X[indices[0]]
        _run_pass(kernels.CLOSEST, X, n_chunks, centers=seeds, t=0, closest_sq=closest_sq)
        first_drawn = 1
    potentials = np.empty((n_chunks, n_trials))
    for k in range(first_drawn, n_clusters):
        cumulative = np.cumsum(closest_sq if sample_weight is None else weights * closest_sq)
        targets = random_state.uniform(size=n_trials) * cumulative[-1]
        candidates = np.minimum(np.searchsorted(cumulative, targets), n_samples - 1)
        _run_pass(
            kernels.POTENTIALS,
            X,
            n_chunks,
            sample_weight=weights,
            centers=X[candidates].astype(np.float64),
            closest_sq=closest_sq,
            potentials=potentials,
        )
        best = int(np.argmin(potentials.sum(axis=0)))
        indices[k] = candidates[best]
        seeds[n_fixed + k] = X[indices[k]]
        _run_pass(kernels.CLOSEST, X, n_chunks, centers=seeds, t=n_fixed + k, closest_sq=closest_sq)
    return indices


def free_row_weights(fixed_labels, sample_weight=None):
    """The rows' weights (1 without ``sample_weight``) with the labelled rows' set to 0:
    what seeds the clusters that the labels leave free."""
    weights = np.ones(fixed_labels.shape[0]) if sample_weight is None else sample_weight.copy()
    weights[fixed_labels >= 0] = 0.0
    return weights


def has_fixed_labels(fixed_labels):
    """Whether ``fixed_labels`` (None, or -1 / a cluster per row) fixes any row."""
    return fixed_labels is not None and fixed_labels.shape[0] > 0 and fixed_labels.max() >= 0


def _checked_fixed_labels(fixed_labels, n_samples, n_clusters):
    # The kernels index the clusters' sums with the labels: never out of bounds.
    fixed_labels = np.ascontiguousarray(fixed_labels, dtype=np.int64)
    if fixed_labels.shape != (n_samples,) or (n_samples and fixed_labels.min() < -1):
        raise ValueError("fixed_labels must hold -1 or a cluster index for every row")
    if n_samples and fixed_labels.max() >= n_clusters:
        raise ValueError(f"fixed_labels must be below n_clusters={n_clusters}")
    return fixed_labels


def _seeding_data(X, sample_weight, sample):
    """``(rows, weights)`` that k-means++ reads: the sampled rows, or all rows when there
    is no sample or every sampled row weighs 0."""
    if sample is None:
        return X, sample_weight
    weights = None if sample_weight is None else sample_weight[sample]
    if weights is not None and not weights.any():
        return X, sample_weight
    return X[sample], weights


def _labelled_centres(X, sample_weight, fixed_labels, n_clusters, n_chunks):
    """``(centres, labelled)``: the weighted mean of each cluster's labelled rows, and
    whether the cluster has labelled rows of positive total weight (others: undefined)."""
    sums = np.empty((n_chunks, n_clusters, X.shape[1]))
    counts = np.empty((n_chunks, n_clusters))
    weights = _UNIT_WEIGHTS if sample_weight is None else sample_weight
    _run_pass(
        kernels.LABELLED_SUMS,
        X,
        n_chunks,
        sample_weight=weights,
        fixed_labels=fixed_labels,
        sums=sums,
        counts=counts,
    )
    cluster_sums, cluster_weights = sums.sum(axis=0), counts.sum(axis=0)
    labelled = cluster_weights > 0
    centres = cluster_sums / np.where(labelled, cluster_weights, 1.0)[:, None]
    return centres, labelled


def kmeans(X, n_clusters, random_state, sample_weight=None, fixed_labels=None):
    """(Weighted) Lloyd's k-means started from k-means++ seeds.

    Returns ``(labels, centres)``: each row's cluster (int64) and the (weighted) mean of
    each cluster's rows (float64; an empty cluster keeps its last centre).

    ``fixed_labels`` (int64, one entry per row, each -1 or a cluster in
    ``[0, n_clusters)``) constrains the clustering: a row labelled k >= 0 is in
    cluster k in every iteration (and in the result) and counts in its centre;
    rows labelled -1 are assigned to the nearest centre as usual.  A cluster
    whose labelled rows have positive total weight starts at their (weighted)
    mean; the other clusters are seeded by k-means++ among the unlabelled rows
    (the row sample's, on many rows), with the distances taken to every centre
    fixed so far, the labelled clusters' included.  None, or every entry -1,
    gives exactly the unconstrained k-means (the same draws from
    ``random_state``).
    """
    n_samples, n_features = X.shape
    n_chunks = n_chunks_for(n_samples)
    if fixed_labels is not None:
        fixed_labels = _checked_fixed_labels(fixed_labels, n_samples, n_clusters)
    sample = row_sample(n_samples, init_sample_size(n_clusters, n_features), random_state)
    if not has_fixed_labels(fixed_labels):
        fixed_labels = _NO_FIXED_LABELS
        seeding_rows, seeding_weights = _seeding_data(X, sample_weight, sample)
        seeds = kmeans_plusplus_indices(seeding_rows, n_clusters, random_state, seeding_weights)
        centers = seeding_rows[seeds].astype(np.float64)
    else:
        centers, labelled = _labelled_centres(X, sample_weight, fixed_labels, n_clusters, n_chunks)
        seeding_rows, seeding_weights = _seeding_data(
            X, free_row_weights(fixed_labels, sample_weight), sample
        )
        if not seeding_weights.any():  # every row is labelled (or weighs 0)
            seeding_rows, seeding_weights = _seeding_data(X, sample_weight, sample)
        free = np.flatnonzero(~labelled)
        seeds = kmeans_plusplus_indices(
            seeding_rows, free.shape[0], random_state, seeding_weights, centers[labelled]
        )
        centers[free] = seeding_rows[seeds]
    weights = _UNIT_WEIGHTS if sample_weight is None else sample_weight
    labels = np.empty(n_samples, dtype=np.int64)
    distance_sq = np.empty(n_samples)
    sums = np.empty((n_chunks, n_clusters, n_features))
    counts = np.empty((n_chunks, n_clusters))
    variance = feature_moments(seeding_rows, seeding_weights)[1]
    tolerance = LLOYD_TOL * float(variance.mean())
    assign = dict(
        sample_weight=weights,
        fixed_labels=fixed_labels,
        labels=labels,
        distance_sq=distance_sq,
        sums=sums,
        counts=counts,
    )
    for _ in range(LLOYD_MAX_ITER):
        _run_pass(kernels.ASSIGN, X, n_chunks, centers=centers, **assign)
        cluster_sums, cluster_weights = sums.sum(axis=0), counts.sum(axis=0)
        empty = cluster_weights == 0
        new_centers = cluster_sums / np.where(empty, 1.0, cluster_weights)[:, None]
        if sample_weight is not None:
            distance_sq[sample_weight == 0] = 0.0  # never restart at a row of weight 0
        for k in np.flatnonzero(empty):
            # Empty cluster: restart it at the worst-explained point (a free row: the
            # kernel leaves the distance of a labelled row 0).
            far = int(np.argmax(distance_sq))
            new_centers[k] = X[far]
            distance_sq[far] = 0.0
        shift = float(((new_centers - centers) ** 2).sum())
        centers = new_centers
        if shift <= tolerance:
            break
    _run_pass(kernels.ASSIGN, X, n_chunks, centers=centers, **assign)
    cluster_sums, cluster_weights = sums.sum(axis=0), counts.sum(axis=0)
    filled = cluster_weights > 0
    centers[filled] = cluster_sums[filled] / cluster_weights[filled, None]
    return labels, centers
