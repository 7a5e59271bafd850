"""The Numba k-means used by init_params='kmeans' and 'k-means++'."""

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from fastgmm.data import sources
from fastgmm.em.kmeans import kmeans, kmeans_plusplus_indices

import _references as ref


@pytest.mark.parametrize("seeding_sample_rows", [None, 500])
def test_kmeans_recovers_separated_blobs(seeding_sample_rows, monkeypatch):
    if seeding_sample_rows is not None:  # seeds drawn from a row sample, as on big data
        monkeypatch.setattr(sources, "INIT_SAMPLE_ROWS", seeding_sample_rows)
    X, centers = ref.make_blobs(3000, 3, 4, seed=3, scale=8.0, return_centers=True)
    truth = np.argmin(((X[:, None, :] - centers[None]) ** 2).sum(axis=2), axis=1)
    labels, centres = kmeans(X, 4, np.random.RandomState(0))
    for k in range(4):  # the centres returned are the means of the final clusters
        np.testing.assert_allclose(centres[k], X[labels == k].mean(axis=0), rtol=1e-12)
    # Same partition up to a relabelling: each found cluster is one true cluster.
    for k in range(4):
        assert len(np.unique(truth[labels == k])) == 1
    assert len(np.unique(labels)) == 4


def test_kmeans_plusplus_spreads_seeds_over_clusters():
    centers = np.array([[0.0, 0.0], [30.0, 0.0], [0.0, 30.0], [30.0, 30.0], [60.0, 60.0]])
    rng = np.random.default_rng(4)
    X = centers[rng.integers(5, size=2000)] + rng.normal(size=(2000, 2))
    indices = kmeans_plusplus_indices(X, 5, np.random.RandomState(1))
    assert len(set(indices.tolist())) == 5
    nearest = np.argmin(((X[indices][:, None] - centers[None]) ** 2).sum(axis=2), axis=1)
    assert len(set(nearest.tolist())) == 5


def test_kmeans_is_reproducible_and_handles_duplicates():
    X = ref.make_blobs(1000, 2, 3, seed=5).astype(np.float32)
    a = kmeans(X, 3, np.random.RandomState(2))
    b = kmeans(X, 3, np.random.RandomState(2))
    assert_array_equal(a[0], b[0])
    assert_array_equal(a[1], b[1])
    same = np.zeros((20, 2))
    labels, _ = kmeans(same, 3, np.random.RandomState(0))
    assert labels.shape == (20,) and labels.min() >= 0 and labels.max() < 3


# -- fixed labels (partly labelled rows) ------------------------------------------------------

BLOB_CENTRES = np.array([[0.0, 0.0], [20.0, 0.0], [0.0, 20.0], [20.0, 20.0]])


def _blobs(n_samples=600, n_blobs=3, seed=0):
    """Well separated blobs: ``(X, blob)`` with each row's blob index."""
    rng = np.random.default_rng(seed)
    blob = rng.integers(n_blobs, size=n_samples)
    return BLOB_CENTRES[blob] + rng.normal(size=(n_samples, 2)), blob


def _weights(n_samples, seed=1):
    weights = np.random.default_rng(seed).uniform(0.5, 2.0, n_samples)
    weights[::9] = 0.0
    return weights


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("seeding_sample_rows", [None, 100])
def test_fixed_labels_pull_a_cluster_onto_their_rows(weighted, seeding_sample_rows, monkeypatch):
    if seeding_sample_rows is not None:
        monkeypatch.setattr(sources, "INIT_SAMPLE_ROWS", seeding_sample_rows)
    X, blob = _blobs()
    sample_weight = _weights(len(X)) if weighted else None
    fixed = np.full(len(X), -1, dtype=np.int64)
    fixed[np.flatnonzero(blob == 1)[:5]] = 0  # five rows of blob 1 labelled cluster 0
    for seed in range(5):
        labels, centres = kmeans(X, 3, np.random.RandomState(seed), sample_weight, fixed)
        assert_array_equal(labels[fixed >= 0], 0)
        # Cluster 0 is blob 1, and each other cluster one of the other blobs.
        assert_array_equal(labels == 0, blob == 1)
        others = sorted(np.unique(blob[labels == k]).tolist() for k in (1, 2))
        assert others == [[0], [2]]
        w = np.ones(len(X)) if sample_weight is None else sample_weight
        for k in range(3):  # the centres are the (weighted) means of the final clusters
            members = labels == k
            expected = w[members] @ X[members] / w[members].sum()
            np.testing.assert_allclose(centres[k], expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("weighted", [False, True])
def test_fixed_labels_are_kept_against_the_distances(weighted):
    X, blob = _blobs(seed=2)
    sample_weight = _weights(len(X)) if weighted else None
    fixed = np.full(len(X), -1, dtype=np.int64)
    fixed[np.flatnonzero(blob == 0)[:3]] = 2  # three rows of blob 0 in the cluster of blob 1
    fixed[np.flatnonzero(blob == 1)[:30]] = 2
    labels, centres = kmeans(X, 3, np.random.RandomState(0), sample_weight, fixed)
    assert_array_equal(labels[fixed >= 0], 2)
    free = fixed < 0
    # The free rows of blob 1 join the labelled ones; the free rows are at their nearest centre.
    assert_array_equal(labels[free & (blob == 1)], 2)
    nearest = np.argmin(((X[:, None] - centres[None]) ** 2).sum(axis=2), axis=1)
    assert_array_equal(labels[free], nearest[free])
    # ... and blob 0's labelled rows, far from their centre, are still in it.
    assert (nearest[fixed >= 0][:3] != 2).all()


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("seeding_sample_rows", [None, 100])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_no_fixed_labels_is_the_unconstrained_kmeans(
    weighted, seeding_sample_rows, dtype, monkeypatch
):
    if seeding_sample_rows is not None:
        monkeypatch.setattr(sources, "INIT_SAMPLE_ROWS", seeding_sample_rows)
    X = ref.make_blobs(1500, 3, 4, seed=6).astype(dtype)
    sample_weight = _weights(len(X)) if weighted else None
    unlabelled = np.full(len(X), -1, dtype=np.int64)
    states = [np.random.RandomState(7) for _ in range(3)]
    plain = kmeans(X, 4, states[0], sample_weight)
    for state, fixed in zip(states[1:], [None, unlabelled]):
        labels, centres = kmeans(X, 4, state, sample_weight, fixed)
        assert_array_equal(labels, plain[0])
        assert_array_equal(centres, plain[1])
    # The same draws from the random state, too.
    assert states[1].uniform() == states[2].uniform() == states[0].uniform()


@pytest.mark.parametrize("weighted", [False, True])
def test_every_cluster_labelled(weighted):
    X, blob = _blobs(n_blobs=4, seed=3)
    sample_weight = _weights(len(X)) if weighted else None
    fixed = np.full(len(X), -1, dtype=np.int64)
    for k, b in enumerate([2, 0, 3, 1]):
        fixed[np.flatnonzero(blob == b)[1:4]] = k
    results = [kmeans(X, 4, np.random.RandomState(seed), sample_weight, fixed) for seed in (0, 1)]
    labels, centres = results[0]
    assert_array_equal(labels, np.array([2, 0, 3, 1]).argsort()[blob])
    # Every seed is a labelled mean: nothing is drawn, whatever the random state.
    assert_array_equal(results[1][0], labels)
    assert_array_equal(results[1][1], centres)


def test_labelled_rows_of_weight_zero_leave_their_cluster_free():
    X, blob = _blobs(seed=4)
    sample_weight = np.ones(len(X))
    fixed = np.full(len(X), -1, dtype=np.int64)
    rows = np.flatnonzero(blob == 0)[:4]
    fixed[rows] = 1
    sample_weight[rows] = 0.0  # cluster 1's labelled rows weigh nothing: it is seeded freely
    fixed[np.flatnonzero(blob == 2)[:4]] = 0
    labels, centres = kmeans(X, 3, np.random.RandomState(0), sample_weight, fixed)
    assert_array_equal(labels[rows], 1)
    assert_array_equal(labels[(blob == 2)], 0)
    positive = sample_weight > 0
    # The weighted rows form the three blobs.
    for k in range(3):
        assert len(np.unique(blob[positive & (labels == k)])) == 1
    assert len(np.unique(labels[positive])) == 3


def test_fixed_labels_out_of_range_are_rejected():
    X, _ = _blobs(n_samples=50)
    with pytest.raises(ValueError, match="n_clusters=3"):
        kmeans(X, 3, np.random.RandomState(0), fixed_labels=np.full(50, 3))
    with pytest.raises(ValueError, match="fixed_labels"):
        kmeans(X, 3, np.random.RandomState(0), fixed_labels=np.full(50, -2))
    with pytest.raises(ValueError, match="fixed_labels"):
        kmeans(X, 3, np.random.RandomState(0), fixed_labels=np.zeros(49, dtype=np.int64))


@pytest.mark.parametrize("weighted", [False, True])
def test_kmeans_plusplus_seeds_away_from_fixed_centres(weighted):
    X, blob = _blobs(n_samples=800, n_blobs=4, seed=5)
    sample_weight = _weights(len(X)) if weighted else None
    for seed in range(5):
        indices = kmeans_plusplus_indices(
            X, 2, np.random.RandomState(seed), sample_weight, centers=BLOB_CENTRES[[0, 3]]
        )
        assert sorted(blob[indices].tolist()) == [1, 2]
        if weighted:
            assert (sample_weight[indices] > 0).all()
    none = kmeans_plusplus_indices(X, 0, np.random.RandomState(0), centers=BLOB_CENTRES)
    assert none.shape == (0,)
