"""Kernels for diagonal precisions (``'diag'``, and ``'spherical'`` with its one
precision repeated over the features).

Conventions (shared with ``_covariance.py``):

- ``precisions_cholesky[k, a] = 1 / sigma_ka`` in the data's dtype;
- ``log_const[k] = log pi_k + sum_a log(1 / sigma_ka) - D/2 log(2 pi)`` in float64;
- statistics are centred on ``means``: ``sum_diff[k] = sum_i q_ik (x_i - mu_k)``
  and ``sum_sq[k, a] = sum_i q_ik (x_ia - mu_ka)^2``.
"""

import numpy as np
from numba import njit, prange

from ._common import chunk_bounds, responsibilities_in_place, write_scores
from ._options import BLOCK_ROWS, NJIT_OPTIONS, PARALLEL_NJIT_OPTIONS


@njit(**NJIT_OPTIONS)
def _log_prob_block(X, start, stop, means, precisions_cholesky, log_const, log_prob):
    """log pi_k N(x_i | mu_k, diag(sigma_k^2)) for rows ``start:stop``."""
    n_features = X.shape[1]
    for k in range(means.shape[0]):
        for i in range(start, stop):
            mahalanobis = 0.0
            for a in range(n_features):
                y = (X[i, a] - means[k, a]) * precisions_cholesky[k, a]
                mahalanobis += y * y
            log_prob[i - start, k] = log_const[k] - 0.5 * mahalanobis


@njit(**NJIT_OPTIONS)
def _accumulate_block(X, start, stop, means, resp, resp_sum, sum_diff, sum_sq):
    """Add the block's centred zeroth, first and squared moments (float64)."""
    n_features = X.shape[1]
    for k in range(means.shape[0]):
        for i in range(start, stop):
            r = resp[i - start, k]
            if r == 0.0:
                continue
            resp_sum[k] += r
            for a in range(n_features):
                diff = np.float64(X[i, a]) - np.float64(means[k, a])
                sum_diff[k, a] += r * diff
                sum_sq[k, a] += r * diff * diff


@njit(**PARALLEL_NJIT_OPTIONS)
def statistics(X, means, precisions_cholesky, log_const, n_chunks,
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
            _log_prob_block(X, start, stop, means, precisions_cholesky, log_const, log_prob)
            log_likelihood[c] += responsibilities_in_place(log_prob, stop - start, log_prob_norm)
            _accumulate_block(X, start, stop, means, log_prob, resp_sum[c], sum_diff[c], sum_sq[c])


@njit(**PARALLEL_NJIT_OPTIONS)
def score(X, means, precisions_cholesky, log_const, n_chunks,
          out_log_prob_norm, out_resp, out_labels):
    """Per-row log p(x), responsibilities and/or labels, block by block."""
    n_samples, n_components = X.shape[0], means.shape[0]
    for c in prange(n_chunks):
        log_prob = np.empty((BLOCK_ROWS, n_components))
        log_prob_norm = np.empty(BLOCK_ROWS)
        first, last = chunk_bounds(n_samples, n_chunks, c)
        for start in range(first, last, BLOCK_ROWS):
            stop = min(start + BLOCK_ROWS, last)
            _log_prob_block(X, start, stop, means, precisions_cholesky, log_const, log_prob)
            write_scores(log_prob, start, stop - start, log_prob_norm,
                         out_log_prob_norm, out_resp, out_labels)
