"""Helpers shared by the test modules (the reference implementations are in _references.py;
data files and memory samplers shared with the benchmarks are in benchmarks/workloads.py)."""

import warnings

from fastgmm import ConvergenceWarning, GaussianMixture

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]
FITTED = ["weights_", "means_", "covariances_", "precisions_cholesky_"]


def fit_quietly(X, n_components, sample_weight=None, **options):
    """``GaussianMixture(n_components, **options).fit(X, sample_weight=...)`` without the
    ConvergenceWarning that a small ``max_iter`` or ``tol=0`` gives on purpose."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return GaussianMixture(n_components, **options).fit(X, sample_weight=sample_weight)
