"""Kernels for mixtures of factor analysers: Sigma_k = W_k W_k^T + Psi_k, with W_k a
D x q loading matrix and Psi_k diagonal (``Psi_k = sigma_k^2 I`` for probabilistic PCA).

Nothing here forms a D x D matrix: per row and component the work is O(D q).
With M_k = I_q + W_k^T Psi_k^-1 W_k = L_k L_k^T (Cholesky), the Woodbury identity and
the determinant lemma give, for d = x - mu_k,

    (x - mu)^T Sigma^-1 (x - mu) = |Psi^-1/2 d|^2 - |c|^2,  c = A d,  A = L^-1 W^T Psi^-1,
    log det Sigma = log det Psi + 2 log det L,

and the latent factors' posterior mean (Ghahramani & Hinton 1996) is
E[z | x, k] = M^-1 W^T Psi^-1 d = L^-T c.  The difference of the two squared norms
cancels when the noise is small against the loadings: its relative error is about
2 eps (1 + lambda), lambda the largest eigenvalue of W^T Psi^-1 W.  Where that is too
much for float32 (``covariance.factor.RESIDUAL_FORM_EIGENVALUE``), float32 data take the
same distance as a sum of two positive terms, |Psi^-1/2 d - B z|^2 + |z|^2 with
B = Psi^-1/2 W (z minimises that sum, whose minimum is d^T Sigma^-1 d), at the cost of q
more FMAs per feature.  ``fastgmm.covariance.factor`` makes the
arguments and the M-step; conventions:

- ``kernel_factors[k]`` (3q + 2, D), in the data's dtype: rows 0 .. q-1 hold A_k;
  row q holds Psi_k^-1/2; rows q+1 .. 2q hold L_k^-T (upper-triangular, q x q) in their
  first q columns (the rest is zero); rows 2q+1 .. 3q hold B_k = (Psi_k^-1/2 W_k)^T;
  row 3q+1 holds, in its first column, 1 where float32 data take the residual form below
  (else 0);
- ``log_const[k] = log pi_k - (D log(2 pi) + log det Sigma_k) / 2`` in float64;
- statistics are centred on ``means``: with d_i = x_i - mu_k and z_i = E[z | x_i, k],
  ``sum_diff[k] = sum_i q_ik d_i`` and ``sum_sq[k]`` (D + q, q + 2) holds

  ============ ================================ =================== ===================
  rows         columns 0 .. q-1                 column q            column q + 1
  ============ ================================ =================== ===================
  0 .. D-1     sum_i q_ik d_i z_i^T             sum_i q_ik d_i      sum_i q_ik d_i^2
  D .. D+q-1   sum_i q_ik E[z z^T | x_i, k]     sum_i q_ik z_i      0
  ============ ================================ =================== ===================

  with E[z z^T | x_i, k] = z_i z_i^T + M_k^-1 (the posterior covariance M_k^-1 = L^-T L^-1
  is the same for every row: each chunk adds its N_k M_k^-1 once), so the M-step needs
  nothing but these sums.

Same block layout and compiled structure as ``full.py``: innermost loops over the
block's rows, one serial ``run_pass`` with a runtime ``mode``, shared with scoring.
"""

import numpy as np
from numba import njit

from ._common import (
    SCORE,
    block_workspace,
    e_step_block,
    flush_negligible,
    negligible_resp,
    significant_rows,
    transpose_block,
)
from ._options import BLOCK_ROWS, NJIT_OPTIONS


@njit(**NJIT_OPTIONS)
def _log_prob_block(
    x_t, n_rows, means, kernel_factors, log_const, diff_t, c, zeros, latent, log_prob
):
    """``log_prob[k, i] = log pi_k N(x_i | mu_k, Sigma_k)``, and ``latent[k]`` (q x rows)
    the posterior means E[z | x_i, k] of the block's rows.  ``diff_t`` (D x rows) and ``c``
    ((q + 3) x rows) are scratch; ``zeros`` (D zeros) are the coefficients of c's scratch
    rows."""
    n_features = x_t.shape[0]
    n_factors = c.shape[0] - 3
    zero = x_t.dtype.type(0)
    for k in range(means.shape[0]):
        factors = kernel_factors[k]
        mahalanobis = log_prob[k]  # float64 row, filled in place below
        for i in range(n_rows):
            mahalanobis[i] = 0.0
        for a in range(n_features):
            centre, scale = means[k, a], factors[n_factors, a]
            for i in range(n_rows):
                d = x_t[a, i] - centre
                diff_t[a, i] = d
                y = d * scale
                mahalanobis[i] += y * y
        # c = A d, four rows at a time over four features per pass over the block (16 FMAs
        # per 4 loads of d and 4 loads and stores of c: one row and one feature per pass
        # would be store-bound).  Rows q .. q + 2 of c are scratch: past the last factor
        # they get zero coefficients, so they stay zero and add nothing.
        n_quads = n_features // 4
        for j in range(0, n_factors, 4):
            f0 = factors[j]
            f1 = factors[j + 1] if j + 1 < n_factors else zeros
            f2 = factors[j + 2] if j + 2 < n_factors else zeros
            f3 = factors[j + 3] if j + 3 < n_factors else zeros
            c0, c1, c2, c3 = c[j], c[j + 1], c[j + 2], c[j + 3]
            for i in range(n_rows):
                c0[i] = zero
                c1[i] = zero
                c2[i] = zero
                c3[i] = zero
            for quad in range(n_quads):
                a = 4 * quad
                for i in range(n_rows):
                    d0, d1 = diff_t[a, i], diff_t[a + 1, i]
                    d2, d3 = diff_t[a + 2, i], diff_t[a + 3, i]
                    c0[i] += f0[a] * d0 + f0[a + 1] * d1 + f0[a + 2] * d2 + f0[a + 3] * d3
                    c1[i] += f1[a] * d0 + f1[a + 1] * d1 + f1[a + 2] * d2 + f1[a + 3] * d3
                    c2[i] += f2[a] * d0 + f2[a + 1] * d1 + f2[a + 2] * d2 + f2[a + 3] * d3
                    c3[i] += f3[a] * d0 + f3[a + 1] * d1 + f3[a + 2] * d2 + f3[a + 3] * d3
            for a in range(4 * n_quads, n_features):
                for i in range(n_rows):
                    d = diff_t[a, i]
                    c0[i] += f0[a] * d
                    c1[i] += f1[a] * d
                    c2[i] += f2[a] * d
                    c3[i] += f3[a] * d
            for i in range(n_rows):
                mahalanobis[i] -= (c0[i] * c0[i] + c1[i] * c1[i]) + (c2[i] * c2[i] + c3[i] * c3[i])
        # z = L^-T c, L^-T upper-triangular: z_j = sum_{m >= j} (L^-T)_jm c_m.
        z = latent[k]
        for j in range(n_factors):
            for i in range(n_rows):
                z[j, i] = zero
            for m in range(j, n_factors):
                coefficient = factors[n_factors + 1 + j, m]
                for i in range(n_rows):
                    z[j, i] += coefficient * c[m, i]
        if x_t.itemsize == 4 and factors[3 * n_factors + 1, 0] != 0:  # the residual form
            residual = c[n_factors]  # a scratch row of c (its zero coefficients are set again)
            for i in range(n_rows):
                total = 0.0
                for j in range(n_factors):
                    total += np.float64(z[j, i]) * np.float64(z[j, i])
                mahalanobis[i] = total
            for a in range(n_features):
                scale = factors[n_factors, a]
                for i in range(n_rows):
                    residual[i] = diff_t[a, i] * scale
                for j in range(n_factors):
                    loading = factors[2 * n_factors + 1 + j, a]
                    for i in range(n_rows):
                        residual[i] -= loading * z[j, i]
                for i in range(n_rows):
                    mahalanobis[i] += np.float64(residual[i]) * np.float64(residual[i])
        for i in range(n_rows):
            log_prob[k, i] = log_const[k] - 0.5 * mahalanobis[i]


@njit(**NJIT_OPTIONS)
def _add_products(left, right, n_rows, out):
    """``out[a, b] += sum_i left[a, i] * right[b, i]`` for every row a of ``left`` and b of
    ``right``: four rows of ``left`` against two of ``right`` per pass over the columns (8
    dot products share 6 loads per column), the rest one pair at a time."""
    n_left, n_right = left.shape[0], right.shape[0]
    n_left_tiled, n_right_tiled = n_left - n_left % 4, n_right - n_right % 2
    zero = left.dtype.type(0)
    for a in range(0, n_left_tiled, 4):
        for b in range(0, n_right_tiled, 2):
            s00 = s01 = s10 = s11 = s20 = s21 = s30 = s31 = zero
            for i in range(n_rows):
                r0, r1 = right[b, i], right[b + 1, i]
                l0, l1, l2, l3 = left[a, i], left[a + 1, i], left[a + 2, i], left[a + 3, i]
                s00 += l0 * r0
                s01 += l0 * r1
                s10 += l1 * r0
                s11 += l1 * r1
                s20 += l2 * r0
                s21 += l2 * r1
                s30 += l3 * r0
                s31 += l3 * r1
            out[a, b] += s00
            out[a, b + 1] += s01
            out[a + 1, b] += s10
            out[a + 1, b + 1] += s11
            out[a + 2, b] += s20
            out[a + 2, b + 1] += s21
            out[a + 3, b] += s30
            out[a + 3, b + 1] += s31
    for a in range(n_left):
        first_b = n_right_tiled if a < n_left_tiled else 0
        for b in range(first_b, n_right):
            total = zero
            for i in range(n_rows):
                total += left[a, i] * right[b, i]
            out[a, b] += total


@njit(**NJIT_OPTIONS)
def _accumulate_block(
    x_t, n_rows, means, resp, latent, left, right, rows, resp_sum, sum_diff, sum_sq
):
    """Add the block's centred moments (the module docstring's layout) to the accumulators.

    Per component, the rows of non-negligible responsibility are gathered (all rows when
    more than a quarter of the block counts) into columns of ``left`` = [q d; q z]
    ((D + q) x rows) and ``right`` = [z; 1] ((q + 1) x rows), and
    ``sum_sq[k, :, :q+1] += left right^T`` (``_add_products``); column q + 1 takes
    sum q d^2.
    """
    n_features = x_t.shape[0]
    n_factors = latent.shape[1]
    zero = x_t.dtype.type(0)
    negligible = negligible_resp(x_t)
    for k in range(means.shape[0]):
        block_resp, n_significant = flush_negligible(resp[k], n_rows, negligible)
        if block_resp == 0.0:
            continue
        resp_sum[k] += block_resp
        if 4 * n_significant > n_rows:
            n_used = n_rows
            for c in range(n_rows):
                rows[c] = c
        else:
            n_used = significant_rows(resp[k], n_rows, negligible, rows)
        z = latent[k]
        for a in range(n_features):
            centre = means[k, a]
            first = zero
            second = zero
            for c in range(n_used):
                i = rows[c]
                d = x_t[a, i] - centre
                weighted = x_t.dtype.type(resp[k, i]) * d
                left[a, c] = weighted
                first += weighted
                second += weighted * d
            sum_diff[k, a] += first
            sum_sq[k, a, n_factors + 1] += second
        for j in range(n_factors):
            for c in range(n_used):
                i = rows[c]
                left[n_features + j, c] = x_t.dtype.type(resp[k, i]) * z[j, i]
                right[j, c] = z[j, i]
        for c in range(n_used):
            right[n_factors, c] = 1
        _add_products(left, right, n_used, sum_sq[k])


@njit(**NJIT_OPTIONS)
def _add_posterior_covariance(kernel_factors, resp_sum, sum_sq):
    """``sum_sq[k, D + j, m] += N_k (M_k^-1)_jm``, with M_k^-1 = L_k^-T (L_k^-T)^T."""
    n_factors = (kernel_factors.shape[1] - 2) // 3
    n_features = kernel_factors.shape[2]
    for k in range(resp_sum.shape[0]):
        upper = kernel_factors[k, n_factors + 1 : 2 * n_factors + 1, :n_factors]  # L_k^-T
        for j in range(n_factors):
            for m in range(n_factors):
                total = 0.0
                for n in range(max(j, m), n_factors):
                    total += np.float64(upper[j, n]) * np.float64(upper[m, n])
                sum_sq[k, n_features + j, m] += resp_sum[k] * total


@njit(**NJIT_OPTIONS)
def run_pass(
    mode,
    X,
    sample_weight,
    labels,
    means,
    kernel_factors,
    log_const,
    n_chunks,
    resp_sum,
    sum_diff,
    sum_sq,
    log_likelihood,
    out_log_prob_norm,
    out_resp,
    out_labels,
    first_chunk,
    stop_chunk,
):
    """``full.run_pass`` for factor-analyser covariances (``sum_sq[c]`` is K x (D+q) x (q+2))."""
    n_samples, n_features = X.shape
    n_components = means.shape[0]
    n_factors = (kernel_factors.shape[1] - 2) // 3
    x_t, diff_t, _, _, _, log_prob, row_stats, rows = block_workspace(X, n_components)
    c = np.empty((n_factors + 3, BLOCK_ROWS), dtype=X.dtype)
    zeros = np.zeros(n_features, dtype=X.dtype)
    latent = np.empty((n_components, n_factors, BLOCK_ROWS), dtype=X.dtype)
    left = np.empty((n_features + n_factors, BLOCK_ROWS), dtype=X.dtype)
    right = np.empty((n_factors + 1, BLOCK_ROWS), dtype=X.dtype)
    for chunk in range(first_chunk, stop_chunk):
        first, last = (chunk * n_samples) // n_chunks, ((chunk + 1) * n_samples) // n_chunks
        if mode != SCORE:
            resp_sum[chunk] = 0.0
            sum_diff[chunk] = 0.0
            sum_sq[chunk] = 0.0
            log_likelihood[chunk] = 0.0
        for start in range(first, last, BLOCK_ROWS):
            n_rows = min(BLOCK_ROWS, last - start)
            transpose_block(X, start, n_rows, x_t)
            # Also for ONE_HOT: its moments need the latent means too.
            _log_prob_block(
                x_t, n_rows, means, kernel_factors, log_const, diff_t, c, zeros, latent, log_prob
            )
            total = e_step_block(
                mode,
                log_prob,
                start,
                n_rows,
                row_stats,
                sample_weight,
                labels,
                out_log_prob_norm,
                out_resp,
                out_labels,
            )
            if mode != SCORE:
                log_likelihood[chunk] += total
                _accumulate_block(
                    x_t,
                    n_rows,
                    means,
                    log_prob,
                    latent,
                    left,
                    right,
                    rows,
                    resp_sum[chunk],
                    sum_diff[chunk],
                    sum_sq[chunk],
                )
        if mode != SCORE:
            _add_posterior_covariance(kernel_factors, resp_sum[chunk], sum_sq[chunk])
