"""Helpers shared by the test modules (the reference implementations are in _references.py;
data files and memory samplers shared with the benchmarks are in benchmarks/workloads.py)."""

import sys
import warnings

from fastgmm import ConvergenceWarning, GaussianMixture

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]
FITTED = ["weights_", "means_", "covariances_", "precisions_cholesky_"]


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
