"""Initial parameters with partly labelled rows (``component_labels``)."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from fastgmm.covariance import COVARIANCE_TYPES as COVARIANCES
from fastgmm.em import initialization
from fastgmm.em.initialization import initial_parameters

from _helpers import COVARIANCE_TYPES

INIT_PARAMS = ["kmeans", "k-means++", "random", "random_from_data"]
SEED_POINTS = ["k-means++", "random_from_data"]
REG_COVAR = 1e-6
BLOB_CENTRES = np.array([[0.0, 0.0], [20.0, 0.0], [0.0, 20.0]])


def _blobs(n_samples=600, seed=0):
    """Three well separated blobs: ``(X, blob)`` with each row's blob index."""
    rng = np.random.default_rng(seed)
    blob = rng.integers(3, size=n_samples)
    return BLOB_CENTRES[blob] + rng.normal(size=(n_samples, 2)), blob


def _weights(n_samples, seed=1):
    weights = np.random.default_rng(seed).uniform(0.5, 2.0, n_samples)
    weights[::9] = 0.0
    return weights


def _labels(blob, assignments, n_rows=5):
    """-1 everywhere but ``n_rows`` rows of blob b labelled k, for each ``k: b``."""
    labels = np.full(len(blob), -1, dtype=np.int64)
    for k, b in assignments.items():
        labels[np.flatnonzero(blob == b)[:n_rows]] = k
    return labels


def _initial(
    init_params,
    X,
    n_components=3,
    random_state=0,
    sample_weight=None,
    covariance_type="full",
    **labels,
):
    covariance = COVARIANCES[covariance_type]
    random_state = (
        np.random.RandomState(random_state) if isinstance(random_state, int) else random_state
    )
    return initial_parameters(
        covariance,
        X,
        n_components,
        init_params,
        REG_COVAR,
        random_state,
        lambda covariances: (covariances, covariance.factorise(covariances)[0]),
        sample_weight,
        **labels,
    )


def _row_of(X, point):
    """The row of ``X`` at ``point`` (a seed's mean: the row times 1 / (1 + 10 eps))."""
    distances = np.abs(X - point).max(axis=1)
    row = int(np.argmin(distances))
    assert distances[row] <= 1e-12 * np.abs(X[row]).max()
    return row


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("init_params", INIT_PARAMS)
def test_no_labels_is_the_unlabelled_initialisation(init_params, covariance_type, weighted):
    X, _ = _blobs(300)
    sample_weight = _weights(len(X)) if weighted else None
    states = [np.random.RandomState(3) for _ in range(3)]
    options = dict(sample_weight=sample_weight, covariance_type=covariance_type)
    expected = _initial(init_params, X, 4, states[0], **options)
    for state, labels in zip(states[1:], [None, np.full(len(X), -1, dtype=np.int64)]):
        result = _initial(init_params, X, 4, state, component_labels=labels, **options)
        for got, want in zip(result, expected):
            assert_array_equal(got, want)
    assert states[0].uniform() == states[1].uniform() == states[2].uniform()


@pytest.mark.parametrize("weighted", [False, True])
def test_kmeans_init_puts_a_labelled_component_on_its_rows(weighted):
    X, blob = _blobs()
    sample_weight = _weights(len(X)) if weighted else None
    w = np.ones(len(X)) if sample_weight is None else sample_weight
    labels = _labels(blob, {0: 1})
    for seed in range(3):
        weights, means, covariances, _ = _initial(
            "kmeans", X, 3, seed, sample_weight, component_labels=labels
        )
        # Component 0 is blob 1: the (weighted) statistics of its rows.
        members = blob == 1
        mean = w[members] @ X[members] / w[members].sum()
        assert_allclose(means[0], mean, rtol=1e-10)
        assert_allclose(weights[0], w[members].sum() / w.sum(), rtol=1e-10)
        centred = X[members] - mean
        scatter = (centred * w[members, None]).T @ centred / w[members].sum()
        assert_allclose(covariances[0], scatter + REG_COVAR * np.eye(2), rtol=1e-8)
        others = sorted(int(np.argmin(((BLOB_CENTRES - m) ** 2).sum(axis=1))) for m in means[1:])
        assert others == [0, 2]


@pytest.mark.parametrize("chunk_rows", [None, 128])
@pytest.mark.parametrize("weighted", [False, True])
def test_random_init_is_the_draw_with_labelled_rows_one_hot(weighted, chunk_rows, monkeypatch):
    if chunk_rows is not None:  # the labels follow the draws' row chunks
        monkeypatch.setattr(initialization, "INIT_CHUNK_ROWS", chunk_rows)
    X, blob = _blobs(500)
    sample_weight = _weights(len(X)) if weighted else None
    labels = _labels(blob, {0: 2, 2: 0}, n_rows=40)
    state = np.random.RandomState(4)
    weights, means, covariances, _ = _initial(
        "random", X, 3, state, sample_weight, component_labels=labels
    )
    # Reference: sklearn's uniform draw, the labelled rows' rows then one-hot.
    reference_state = np.random.RandomState(4)
    resp = reference_state.uniform(size=(len(X), 3))
    resp /= resp.sum(axis=1)[:, None]
    labelled = labels >= 0
    resp[labelled] = np.eye(3)[labels[labelled]]
    if sample_weight is not None:
        resp *= sample_weight[:, None]
    nk = resp.sum(axis=0) + 10 * np.finfo(np.float64).eps
    expected_means = resp.T @ X / nk[:, None]
    assert_allclose(means, expected_means, rtol=1e-10)
    assert_allclose(weights, nk / resp.sum(), rtol=1e-10)
    for k in range(3):
        centred = X - expected_means[k]
        expected = (resp[:, k, None] * centred).T @ centred / nk[k] + REG_COVAR * np.eye(2)
        assert_allclose(covariances[k], expected, rtol=1e-9)
    assert state.uniform() == reference_state.uniform()  # the same draws as without labels


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("init_params", SEED_POINTS)
def test_seed_point_inits_seed_labelled_components_at_their_rows(init_params, weighted):
    X, blob = _blobs()
    sample_weight = _weights(len(X)) if weighted else None
    labels = _labels(blob, {0: 1, 2: 0})
    if weighted:  # component 0's seed can only be its one labelled row that weighs more than 0
        rows = np.flatnonzero(labels == 0)
        sample_weight[rows] = 0.0
        sample_weight[rows[3]] = 1.5
    seeds = []
    for seed in range(8):
        weights, means, covariances, _ = _initial(
            init_params, X, 3, seed, sample_weight, component_labels=labels
        )
        rows = np.array([_row_of(X, m) for m in means])
        assert labels[rows[0]] == 0 and labels[rows[2]] == 2
        assert labels[rows[1]] == -1  # the free component is seeded at an unlabelled row
        if init_params == "k-means++":  # ... away from the labelled seeds: in the third blob
            assert blob[rows[1]] == 2
        if weighted:
            assert rows[0] == np.flatnonzero(labels == 0)[3]
            assert (sample_weight[rows] > 0).all()
            assert_allclose(weights, (sample_weight[rows] + 1e-15) / sample_weight.sum(), rtol=1e-9)
        assert_allclose(covariances, np.repeat(REG_COVAR * np.eye(2)[None], 3, axis=0), atol=1e-12)
        seeds.append(rows)
    if not weighted:  # the labelled seed is drawn among the labelled rows, not always the same
        assert len({tuple(s) for s in seeds}) > 1
        assert len({s[0] for s in seeds}) > 1


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("init_params", ["kmeans", *SEED_POINTS])
def test_every_component_labelled(init_params, weighted):
    X, blob = _blobs(seed=5)
    sample_weight = _weights(len(X)) if weighted else None
    order = [2, 0, 1]  # component k labelled with rows of blob order[k]
    labels = _labels(blob, dict(enumerate(order)), n_rows=3)
    means = _initial(init_params, X, 3, 0, sample_weight, component_labels=labels)[1]
    assert_allclose(means, BLOB_CENTRES[order], atol=5.0)
    if init_params != "kmeans":
        for k in range(3):
            assert labels[_row_of(X, means[k])] == k


@pytest.mark.parametrize("init_params", ["kmeans", *SEED_POINTS])
def test_every_row_labelled_with_a_component_left_free(init_params):
    X, blob = _blobs(200, seed=6)
    labels = np.where(blob == 2, 0, 1).astype(np.int64)
    weights, means, covariances, _ = _initial(
        init_params, X, 3, 0, component_labels=labels, covariance_type="diag"
    )
    assert np.isfinite(means).all() and np.isfinite(covariances).all()
    if init_params == "kmeans":
        assert_allclose(weights.sum(), 1.0, rtol=1e-12)
        assert_allclose(means[0], X[blob == 2].mean(axis=0), rtol=1e-10)
        assert_allclose(means[1], X[blob != 2].mean(axis=0), rtol=1e-10)
    else:  # the free component is seeded at a row that is not a labelled seed
        rows = np.array([_row_of(X, m) for m in means])
        assert len(set(rows.tolist())) == 3
        assert labels[rows[0]] == 0 and labels[rows[1]] == 1
