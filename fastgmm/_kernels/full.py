"""Kernels for ``covariance_type='full'``: one precision Cholesky factor per component.

Conventions (shared with ``_covariance.py``):

- ``precisions_cholesky_t[k]`` is the *transpose* of sklearn's upper-triangular
  ``precisions_cholesky_[k]`` (so it is lower-triangular and row ``j`` holds
  the coefficients of ``y_j``), in the data's dtype;
- ``log_const[k] = log pi_k + log det U_k - D/2 log(2 pi)`` in float64;
- statistics are centred on ``means`` (the reference the caller passes in):
  ``sum_diff[k] = sum_i q_ik (x_i - mu_k)`` and ``sum_sq[k]`` holds the lower
  triangle of ``sum_i q_ik (x_i - mu_k)(x_i - mu_k)^T``.
"""

import numpy as np
from numba import njit, prange

from ._common import chunk_bounds, responsibilities_in_place, write_scores
from ._options import BLOCK_ROWS, NJIT_OPTIONS, PARALLEL_NJIT_OPTIONS


@njit(**NJIT_OPTIONS)
def _log_prob_block(X, start, stop, means, precisions_cholesky_t, log_const, log_prob):
    """log pi_k N(x_i | mu_k, Sigma_k) for rows ``start:stop``.

    With y = (x - mu) U and Lambda = U U^T:
    log N = -D/2 log 2pi + log det U - |y|^2 / 2   (Bishop 2.43).
    """
    n_features = X.shape[1]
    diff = np.empty(n_features, dtype=X.dtype)
    for k in range(means.shape[0]):
        lower = precisions_cholesky_t[k]
        for i in range(start, stop):
            for a in range(n_features):
                diff[a] = X[i, a] - means[k, a]
            mahalanobis = 0.0
            for j in range(n_features):
                y = 0.0
                for a in range(j + 1):
                    y += diff[a] * lower[j, a]
                mahalanobis += y * y
            log_prob[i - start, k] = log_const[k] - 0.5 * mahalanobis


@njit(**NJIT_OPTIONS)
def _accumulate_block(X, start, stop, means, resp, resp_sum, sum_diff, sum_sq):
    """Add the block's centred zeroth, first and second moments (float64)."""
    n_features = X.shape[1]
    diff = np.empty(n_features)
    weighted = np.empty(n_features)
    for k in range(means.shape[0]):
        for i in range(start, stop):
            r = resp[i - start, k]
            if r == 0.0:
                continue
            resp_sum[k] += r
            for a in range(n_features):
                diff[a] = np.float64(X[i, a]) - np.float64(means[k, a])
                weighted[a] = r * diff[a]
                sum_diff[k, a] += weighted[a]
            for a in range(n_features):
                for b in range(a + 1):
                    sum_sq[k, a, b] += weighted[a] * diff[b]


@njit(**PARALLEL_NJIT_OPTIONS)
def statistics(X, means, precisions_cholesky_t, log_const, n_chunks,
               resp_sum, sum_diff, sum_sq, log_likelihood):
    """One fused E-step + accumulation pass; writes one accumulator slot per chunk."""
    n_samples, n_components = X.shape[0], means.shape[0]
    for c in prange(n_chunks):
        resp_sum[c] = 0.0
        sum_diff[c] = 0.0
        sum_sq[c] = 0.0
        log_likelihood[c] = 0.0
        log_prob = np.empty((BLOCK_ROWS, n_components))
        log_prob_norm = np.empty(BLOCK_ROWS)
        first, last = chunk_bounds(n_samples, n_chunks, c)
        for start in range(first, last, BLOCK_ROWS):
            stop = min(start + BLOCK_ROWS, last)
            _log_prob_block(X, start, stop, means, precisions_cholesky_t, log_const, log_prob)
            log_likelihood[c] += responsibilities_in_place(log_prob, stop - start, log_prob_norm)
            _accumulate_block(X, start, stop, means, log_prob, resp_sum[c], sum_diff[c], sum_sq[c])


@njit(**PARALLEL_NJIT_OPTIONS)
def score(X, means, precisions_cholesky_t, log_const, n_chunks,
          out_log_prob_norm, out_resp, out_labels):
    """Per-row log p(x), responsibilities and/or labels, block by block."""
    n_samples, n_components = X.shape[0], means.shape[0]
    for c in prange(n_chunks):
        log_prob = np.empty((BLOCK_ROWS, n_components))
        log_prob_norm = np.empty(BLOCK_ROWS)
        first, last = chunk_bounds(n_samples, n_chunks, c)
        for start in range(first, last, BLOCK_ROWS):
            stop = min(start + BLOCK_ROWS, last)
            _log_prob_block(X, start, stop, means, precisions_cholesky_t, log_const, log_prob)
            write_scores(log_prob, start, stop - start, log_prob_norm,
                         out_log_prob_norm, out_resp, out_labels)
