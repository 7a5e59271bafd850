"""The machine's own limit for one EM iteration (a roofline), measured in the same run.

    limit = max(bytes / bandwidth, flops / peak)

- bytes: the data, read once per iteration: n_samples * n_features * itemsize.
- bandwidth: this machine's streaming read bandwidth with all threads, a parallel
  Numba sum over the workload's own array (best of 5; reassociated, so it vectorises
  and is bound by memory, not by the latency of one chain of additions).
- peak: the floating-point throughput of a 2048 x 2048 matmul in the data's dtype
  (numpy's BLAS on all threads, best of 3), the most the arithmetic could reach.
- flops: the arithmetic one iteration cannot avoid, per row (``flops_per_row``; an
  FMA counts 2, an exp or log 1), for each covariance type:

  ========== ================================================ ==========================
  type       log-densities, all K components                  moments, one component
  ========== ================================================ ==========================
  full       K (D^2 + 4D): centre (D), triangular product     D^2 + 3D: first moment
             (D(D+1)/2 FMAs), squared norm (D FMAs)            (D FMAs), lower triangle of
                                                               the second (D(D+1)/2 FMAs)
  tied       D^2 + D once (the shared factor) + K 3D           D^2 + D pooled + 2D
  diag,      K 4D: scale the centred row, square and add        5D
  spherical
  factor     K (4D + 2qD + 2q): centre and scale by            2Dq + 5D + 2q^2: the
  (q         Psi^-1/2, square and add (4D), c = A d (qD FMAs),  products d z^T (Dq FMAs),
  factors)   |c|^2 (q FMAs)                                    d and d^2 (3D), z = L^-T c
                                                               and z z^T (q^2 FMAs)
  ========== ================================================ ==========================

  plus K + 1 for the responsibilities' exps and the log-sum-exp's log.  Only one
  component's moments are counted per row: a row of well-separated data has one
  component with a responsibility that matters, and fastgmm skips the rest.
  Not counted: the M-step (K D^2 numbers), sums of per-chunk accumulators, the
  responsibilities' normalisation, memory traffic of anything but the data.

The limit is a floor, not a target: a kernel within 2x of it is near what the
machine allows.
"""

import time

import numpy as np
from numba import njit, prange

MATMUL_SIZE = 2048


# Reassociated: vectorised, memory-bound.  Not cached: this module is imported both as
# ``roofline`` (compare.py, the tests) and as ``benchmarks.roofline`` (asv), and Numba's cache
# entry names the module that wrote it, so the other import could not load it.
@njit(parallel=True, fastmath=True)
def _parallel_sum(flat):
    total = 0.0
    for i in prange(flat.shape[0]):
        total += flat[i]
    return total


def streaming_bandwidth(X, repeats=5):
    """Bytes per second of one parallel read of ``X`` (best of ``repeats``)."""
    flat = np.ascontiguousarray(X).reshape(-1)
    _parallel_sum(flat[:1024])  # compile or load
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        _parallel_sum(flat)
        best = min(best, time.perf_counter() - start)
    return flat.nbytes / best


def matmul_peak(dtype, repeats=3, size=MATMUL_SIZE):
    """Floating-point operations per second of a ``size`` x ``size`` matmul in ``dtype``."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size)).astype(dtype)
    b = rng.standard_normal((size, size)).astype(dtype)
    a @ b  # threads up, caches warm
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2.0 * size**3 / best


def flops_per_row(covariance_type, n_features, n_components, n_factors=0):
    """The arithmetic per row that one EM iteration cannot avoid (see the module docstring);
    ``n_factors``: 'factor' and 'ppca' only."""
    d, k, q = n_features, n_components, n_factors
    responsibilities = k + 1
    if covariance_type in ("factor", "ppca"):
        return k * (4 * d + 2 * q * d + 2 * q) + (2 * d * q + 5 * d + 2 * q * q) + responsibilities
    if covariance_type == "full":
        return k * (d * d + 4 * d) + (d * d + 3 * d) + responsibilities
    if covariance_type == "tied":
        return (d * d + d) + k * 3 * d + (d * d + d) + 2 * d + responsibilities
    if covariance_type in ("diag", "spherical"):
        return k * 4 * d + 5 * d + responsibilities
    raise ValueError(f"unknown covariance_type {covariance_type!r}")


def iteration_limit(X, n_components, covariance_type, bandwidth=None, peak=None, n_factors=0):
    """``(limit_seconds, bound)`` for one EM iteration on ``X``: bound is 'memory' or 'flops'.

    ``bandwidth`` and ``peak`` are measured now unless given (measure them once per run
    and pass them in, so that every row of a table uses the same machine figures).
    """
    bandwidth = streaming_bandwidth(X) if bandwidth is None else bandwidth
    peak = matmul_peak(X.dtype) if peak is None else peak
    n_samples, n_features = X.shape
    memory = X.nbytes / bandwidth
    flops = flops_per_row(covariance_type, n_features, n_components, n_factors)
    arithmetic = n_samples * flops / peak
    return (memory, "memory") if memory >= arithmetic else (arithmetic, "flops")
