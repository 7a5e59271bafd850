"""Weighted EM: integer weights are repeated rows, everywhere they matter."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose

import fastgmm
from fastgmm import ConvergenceWarning, GaussianMixture

import _references as ref
from _helpers import COVARIANCE_TYPES as TYPES
from _helpers import fit_quietly as _quiet_fit


def _weighted_and_repeated(seed=0, n_samples=400, n_features=3, n_components=3):
    X = ref.make_blobs(n_samples, n_features, n_components, seed=seed)
    counts = np.random.default_rng(seed).integers(0, 4, size=n_samples)
    return X, counts, np.repeat(X, counts, axis=0)


def _start(covariance_type, n_components, n_features, seed=1):
    rng = np.random.default_rng(seed)
    weights, means, covariances = ref.random_parameters(
        rng, covariance_type, n_components, n_features
    )
    return dict(
        weights_init=weights,
        means_init=means,
        precisions_init=ref.precisions(covariances, covariance_type),
    )


@pytest.mark.parametrize("covariance_type", TYPES)
def test_integer_weights_equal_repeated_rows(covariance_type):
    X, counts, repeated = _weighted_and_repeated()
    options = dict(
        covariance_type=covariance_type, max_iter=20, tol=0.0, **_start(covariance_type, 3, 3)
    )
    weighted = _quiet_fit(X, 3, counts, **options)
    expected = _quiet_fit(repeated, 3, **options)
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        assert_allclose(getattr(weighted, name), getattr(expected, name), rtol=1e-9, atol=1e-12)
    assert_allclose(weighted.lower_bounds_, expected.lower_bounds_, rtol=1e-11)
    assert_allclose(weighted.score(X, sample_weight=counts), expected.score(repeated), rtol=1e-11)
    assert_allclose(weighted.bic(X, sample_weight=counts), expected.bic(repeated), rtol=1e-11)
    assert_allclose(weighted.aic(X, sample_weight=counts), expected.aic(repeated), rtol=1e-11)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        result = fastgmm.fit(X, 3, sample_weight=counts, **options)
    assert_allclose(result.means, expected.means_, rtol=1e-9, atol=1e-12)
    assert_allclose(result.log_likelihood, expected.score(repeated) * len(repeated), rtol=1e-11)


def test_scalar_weight_changes_nothing():
    X, _, _ = _weighted_and_repeated()
    options = dict(max_iter=10, tol=0.0, **_start("full", 3, 3))
    plain, doubled = _quiet_fit(X, 3, **options), _quiet_fit(X, 3, 2.0, **options)
    assert_allclose(doubled.means_, plain.means_, rtol=1e-11)
    assert_allclose(doubled.lower_bounds_, plain.lower_bounds_, rtol=1e-11)


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random", "random_from_data"])
def test_weighted_initialisation_ignores_rows_of_weight_zero(init_params):
    X = ref.make_blobs(600, 2, 3, seed=2)
    far = np.r_[X, np.full((50, 2), 1e3)]  # outliers that weigh nothing
    weights = np.r_[np.ones(600), np.zeros(50)]
    start = _quiet_fit(far, 3, weights, init_params=init_params, max_iter=0, random_state=0)
    assert np.abs(start.means_).max() < 100
    fitted = _quiet_fit(far, 3, weights, init_params=init_params, random_state=0)
    assert np.abs(fitted.means_).max() < 100


def test_weighted_kmeans_finds_the_repeated_rows_clusters():
    X, counts, repeated = _weighted_and_repeated(seed=3, n_features=2)
    weighted = _quiet_fit(X, 3, counts, random_state=0)
    expected = _quiet_fit(repeated, 3, random_state=0)
    order = np.argsort(weighted.means_[:, 0]), np.argsort(expected.means_[:, 0])
    assert_allclose(weighted.means_[order[0]], expected.means_[order[1]], rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize(
    "sample_weight, message",
    [
        (-np.ones(10), "Negative"),
        (np.ones(9), "expected \\(10,\\)"),
        (np.r_[np.ones(9), np.nan], "NaN or infinity"),
        (np.r_[1.0, np.zeros(9)], "1 row\\(s\\) a positive weight, fewer than n_components = 2"),
        (np.array(["a"] * 10), "real numbers"),
    ],
)
def test_bad_sample_weight(sample_weight, message):
    with pytest.raises(ValueError, match=message):
        GaussianMixture(2).fit(ref.make_blobs(10, 2, 2), sample_weight=sample_weight)
