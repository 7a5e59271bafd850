"""The Numba k-means used by init_params='kmeans' and 'k-means++'."""

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from fastgmm import _sources
from fastgmm._kmeans import kmeans, kmeans_plusplus_indices

import _references as ref


@pytest.mark.parametrize("seeding_sample_rows", [None, 500])
def test_kmeans_recovers_separated_blobs(seeding_sample_rows, monkeypatch):
    if seeding_sample_rows is not None:  # seeds drawn from a row sample, as on big data
        monkeypatch.setattr(_sources, "INIT_SAMPLE_ROWS", seeding_sample_rows)
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
