"""The Numba k-means used by init_params='kmeans' and 'k-means++'."""

import numpy as np
from numpy.testing import assert_array_equal

from fastgmm._kmeans import kmeans_labels, kmeans_plusplus_indices

import _references as ref


def test_kmeans_recovers_separated_blobs():
    X, centers = ref.make_blobs(3000, 3, 4, seed=3, scale=8.0, return_centers=True)
    truth = np.argmin(((X[:, None, :] - centers[None]) ** 2).sum(axis=2), axis=1)
    labels = kmeans_labels(X, 4, np.random.RandomState(0))
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
    a = kmeans_labels(X, 3, np.random.RandomState(2))
    b = kmeans_labels(X, 3, np.random.RandomState(2))
    assert_array_equal(a, b)
    same = np.zeros((20, 2))
    labels = kmeans_labels(same, 3, np.random.RandomState(0))
    assert labels.shape == (20,) and labels.min() >= 0 and labels.max() < 3
