"""Helpers shared by the test modules (the reference implementations are in _references.py;
data files and memory samplers shared with the benchmarks are in benchmarks/workloads.py)."""

import sys
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose

from fastgmm import ConvergenceWarning, GaussianMixture

import _references as ref

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]
FITTED = ["weights_", "means_", "covariances_", "precisions_cholesky_"]


def assert_close(actual, desired, rtol):
    """``assert_allclose`` at ``rtol``, with an absolute floor of ``rtol`` times the largest
    entry of ``desired`` (for entries near zero), in float64."""
    desired = np.asarray(desired, dtype=np.float64)
    atol = rtol * max(np.abs(desired).max(), 1e-300)
    assert_allclose(np.asarray(actual, dtype=np.float64), desired, rtol=rtol, atol=atol)


def fit_quietly(X, n_components, sample_weight=None, estimator=GaussianMixture, **options):
    """``estimator(n_components, **options).fit(X, sample_weight=...)`` without the
    ConvergenceWarning (fastgmm's or scikit-learn's) that a small ``max_iter`` or ``tol=0``
    gives on purpose.  ``estimator`` may be scikit-learn's class (then without weights)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if "sklearn.exceptions" in sys.modules:
            warnings.simplefilter("ignore", sys.modules["sklearn.exceptions"].ConvergenceWarning)
        model = estimator(n_components=n_components, **options)
        if sample_weight is None:
            return model.fit(X)
        return model.fit(X, sample_weight=sample_weight)


def one_component_factor_analysis():
    """``(rng, X, sklearn_fa)``: 500 rows of one random factor analyser (6 features, 2
    factors, seed 2) and scikit-learn's ``FactorAnalysis`` fitted to them to convergence;
    ``rng`` continues from the draws.  Skips the test without scikit-learn."""
    decomposition = pytest.importorskip("sklearn.decomposition")
    rng = np.random.default_rng(2)
    truth = ref.random_factor_parameters(rng, 1, 6, 2)
    X = ref.sample_factor_mixture(rng, 500, *truth)
    sklearn_fa = decomposition.FactorAnalysis(n_components=2, tol=1e-12, max_iter=100_000).fit(X)
    return rng, X, sklearn_fa
