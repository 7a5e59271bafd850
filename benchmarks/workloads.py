"""Workloads of DESIGN.md section 4 and the per-iteration timing method, shared by
the asv suite (``benchmarks/bench_*.py``) and ``benchmarks/compare.py``.

Seconds per EM iteration = (t(max_iter=7) - t(max_iter=2)) / 5 from the same
initialisation (``init_params='random_from_data'``, ``random_state=0``), so the
initialisation and the fixed costs of a fit drop out.
"""

import os
import time
import warnings

import numpy as np

QUICK = bool(os.environ.get("FASTGMM_BENCH_QUICK"))

# name: (n_samples, n_features, n_components, covariance_type)
WORKLOADS = {
    "W1": (1_000_000, 2, 3, "full"),
    "W2": (1_000_000, 16, 16, "full"),
    "W3": (1_000_000, 16, 16, "diag"),
    "W4": (200_000, 64, 32, "full"),
}
QUICK_WORKLOADS = {
    "W1": (20_000, 2, 3, "full"),
    "W2": (5_000, 16, 16, "full"),
    "W3": (5_000, 16, 16, "diag"),
    "W4": (10_000, 64, 32, "full"),
}


def workload(name):
    return (QUICK_WORKLOADS if QUICK else WORKLOADS)[name]


def make_data(n_samples, n_features, n_components, dtype=np.float64):
    rng = np.random.default_rng(0)
    centers = rng.normal(scale=5, size=(n_components, n_features))
    X = centers[rng.integers(n_components, size=n_samples)] + rng.normal(size=(n_samples, n_features))
    return X.astype(dtype)


def estimator_class(rival):
    if rival == "fastgmm":
        from fastgmm import GaussianMixture
    else:
        from sklearn.mixture import GaussianMixture
    return GaussianMixture


def fit_seconds(rival, X, n_components, covariance_type, max_iter):
    model = estimator_class(rival)(
        n_components, covariance_type=covariance_type, max_iter=max_iter, tol=0.0,
        init_params="random_from_data", random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: tol=0 on purpose
        start = time.perf_counter()
        model.fit(X)
        return time.perf_counter() - start


def seconds_per_iteration(rival, X, n_components, covariance_type):
    long = fit_seconds(rival, X, n_components, covariance_type, max_iter=7)
    short = fit_seconds(rival, X, n_components, covariance_type, max_iter=2)
    return (long - short) / 5


def warm_up(X, n_components, covariance_type):
    """Compile (or load from cache) fastgmm's kernels for this dtype and type."""
    fit_seconds("fastgmm", X[: min(len(X), 4096)], n_components, covariance_type, max_iter=2)
