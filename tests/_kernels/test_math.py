"""The vectorisable elementary functions against numpy."""

import numpy as np
from numba import njit

from fastgmm._kernels._math import exp_nonpositive, log_positive
from fastgmm._kernels._options import FASTMATH_FLAGS

# The functions are inlined into their callers and compiled with the callers'
# flags (numba#7168): test them under the kernels' fastmath flags.
KERNEL_FLAGS = dict(fastmath=set(FASTMATH_FLAGS), error_model="numpy")


@njit(**KERNEL_FLAGS)
def _exp_all(x, out):
    for i in range(x.shape[0]):
        out[i] = exp_nonpositive(x[i])


def test_exp_nonpositive_matches_numpy():
    rng = np.random.default_rng(0)
    x = np.concatenate(
        [
            -rng.uniform(0, 708, 200_000),
            -rng.uniform(0, 1e-6, 10_000),
            -np.log(2) * np.arange(0, 1000),  # exact powers of two
            np.array([0.0, -0.0, -1e-300, -707.99]),
        ]
    )
    out = np.empty_like(x)
    _exp_all(x, out)
    expected = np.exp(x)
    # 2 ulp as written; reassociation under the kernels' flags costs accuracy
    # in the range reduction (see _MATH_OPTIONS): 1e-13 relative is what is kept.
    assert np.all(np.abs(out - expected) <= np.maximum(2 * np.spacing(expected), 1e-13 * expected))
    assert out[-4] == 1.0 and out[-3] == 1.0


def test_exp_nonpositive_edges():
    x = np.array([-708.5, -1e4, -np.inf, np.nan])
    out = np.empty_like(x)
    _exp_all(x, out)
    assert np.all(out[:3] == 0.0)
    assert np.isnan(out[3])


@njit(**KERNEL_FLAGS)
def _log_all(x, out):
    for i in range(x.shape[0]):
        out[i] = log_positive(x[i])


def test_log_positive_matches_numpy():
    rng = np.random.default_rng(1)
    x = np.concatenate(
        [
            rng.uniform(1.0, 64.0, 200_000),  # the kernels' range
            np.exp(rng.uniform(-700, 700, 100_000)),
            1.0 + rng.uniform(-1e-8, 1e-8, 10_000),
            np.array([1.0, 2.0, 0.5, np.sqrt(2.0), np.nextafter(np.sqrt(2.0), 2.0)]),
        ]
    )
    out = np.empty_like(x)
    _log_all(x, out)
    expected = np.log(x)
    # Near log(x) = 0 the ulp of the result is tiny: compare on the scale of s = (x-1)/(x+1) too.
    tolerance = 2 * np.maximum(np.spacing(np.abs(expected)), np.spacing(np.abs(x - 1.0)))
    assert np.all(np.abs(out - expected) <= tolerance)
    assert out[-5] == 0.0
