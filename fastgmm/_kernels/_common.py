"""Numba helpers shared by the per-covariance-type kernels.

Every kernel walks the rows in a fixed grid: ``n_chunks`` contiguous chunks
(a function of the data's shape only, never of the thread count), each cut
into blocks of ``BLOCK_ROWS`` rows.  A chunk owns one slot of every
accumulator, so the parallel loop never writes shared memory, and the caller
adds the slots up in chunk order: the result is bitwise the same on any
number of threads.
"""

import numpy as np
from numba import njit

from ._options import NJIT_OPTIONS


@njit(**NJIT_OPTIONS)
def chunk_bounds(n_samples, n_chunks, chunk):
    """Return the half-open row range ``[start, stop)`` of one chunk."""
    start = (chunk * n_samples) // n_chunks
    stop = ((chunk + 1) * n_samples) // n_chunks
    return start, stop


@njit(**NJIT_OPTIONS)
def log_sum_exp_rows(log_prob, n_rows, out):
    """Write ``log(sum_k exp(log_prob[i, k]))`` for the first ``n_rows`` rows."""
    n_components = log_prob.shape[1]
    for i in range(n_rows):
        largest = log_prob[i, 0]
        for k in range(1, n_components):
            if log_prob[i, k] > largest:
                largest = log_prob[i, k]
        total = 0.0
        for k in range(n_components):
            total += np.exp(log_prob[i, k] - largest)
        out[i] = largest + np.log(total)


@njit(**NJIT_OPTIONS)
def responsibilities_in_place(log_prob, n_rows, log_prob_norm):
    """Turn weighted log-probabilities into responsibilities, in place.

    E-step (Bishop 9.23, in log space): q_ik = exp(log pi_k N(x_i|k) - log p(x_i)).
    Returns the block's log-likelihood ``sum_i log p(x_i)``.
    """
    log_sum_exp_rows(log_prob, n_rows, log_prob_norm)
    total = 0.0
    for i in range(n_rows):
        total += log_prob_norm[i]
        for k in range(log_prob.shape[1]):
            log_prob[i, k] = np.exp(log_prob[i, k] - log_prob_norm[i])
    return total


@njit(**NJIT_OPTIONS)
def write_scores(log_prob, start, n_rows, log_prob_norm, out_log_prob_norm,
                 out_resp, out_labels):
    """Write the per-row outputs that were asked for (length-0 arrays are skipped).

    ``out_log_prob_norm`` gets log p(x_i), ``out_resp`` the responsibilities and
    ``out_labels`` the index of the largest weighted log-probability (ties go to
    the lowest index, as ``numpy.argmax``).
    """
    log_sum_exp_rows(log_prob, n_rows, log_prob_norm)
    n_components = log_prob.shape[1]
    for i in range(n_rows):
        row = start + i
        if out_log_prob_norm.shape[0] > 0:
            out_log_prob_norm[row] = log_prob_norm[i]
        if out_resp.shape[0] > 0:
            for k in range(n_components):
                out_resp[row, k] = np.exp(log_prob[i, k] - log_prob_norm[i])
        if out_labels.shape[0] > 0:
            best = 0
            for k in range(1, n_components):
                if log_prob[i, k] > log_prob[i, best]:
                    best = k
            out_labels[row] = best
