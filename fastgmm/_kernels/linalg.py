"""Small dense linear algebra for the M-step, serial and in float64.

The matrices are tiny (K x D x D), but LAPACK through scipy costs milliseconds
per call right after a parallel kernel here (its BLAS threads wake up and
contend with Numba's), more than the E-step of a 1M x 2 data set.  Plain
loops are both faster and predictable.
"""

import numpy as np
from numba import njit

from ._options import NJIT_OPTIONS


@njit(**NJIT_OPTIONS)
def precisions_cholesky(covariances, out, failed):
    """For each k: ``out[k] = inv(L_k).T`` with ``L_k L_k^T = covariances[k]`` (Cholesky).

    ``out[k]`` is upper-triangular with ``out[k] out[k]^T = inv(covariances[k])``,
    sklearn's ``precisions_cholesky_``.  Only the lower triangles of the
    covariances are read.  ``failed[k]`` is set when ``covariances[k]`` is not
    (numerically) positive definite; ``out[k]`` is then all zeros.  Returns the
    number of such matrices.
    """
    n_components, n_features, _ = covariances.shape
    lower = np.zeros((n_features, n_features))
    n_failed = 0
    for k in range(n_components):
        out[k] = 0.0
        failed[k] = _cholesky_lower(covariances[k], lower)
        if failed[k]:
            n_failed += 1
            continue
        # Forward substitution for inv(L), column by column, stored transposed.
        for j in range(n_features):
            out[k, j, j] = 1.0 / lower[j, j]
            for i in range(j + 1, n_features):
                total = 0.0
                for p in range(j, i):
                    total -= lower[i, p] * out[k, j, p]
                out[k, j, i] = total / lower[i, i]
    return n_failed


@njit(**NJIT_OPTIONS)
def _cholesky_lower(matrix, lower):
    """Cholesky-Banachiewicz, row by row, into ``lower``; True if ``matrix`` is not positive
    definite."""
    n_features = matrix.shape[0]
    for i in range(n_features):
        for j in range(i + 1):
            total = matrix[i, j]
            for p in range(j):
                total -= lower[i, p] * lower[j, p]
            if i == j:
                if not total > 0.0:  # also catches NaN
                    return True
                lower[i, i] = np.sqrt(total)
            else:
                lower[i, j] = total / lower[j, j]
    return False
