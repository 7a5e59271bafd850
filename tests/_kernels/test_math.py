"""The vectorisable elementary functions against numpy."""

import numpy as np
from numba import njit

from fastgmm._kernels._math import exp_nonpositive


@njit(cache=False)
def _exp_all(x, out):
    for i in range(x.shape[0]):
        out[i] = exp_nonpositive(x[i])


def test_exp_nonpositive_matches_numpy_to_two_ulp():
    rng = np.random.default_rng(0)
    x = np.concatenate([
        -rng.uniform(0, 708, 200_000),
        -rng.uniform(0, 1e-6, 10_000),
        -np.log(2) * np.arange(0, 1000),     # exact powers of two
        np.array([0.0, -0.0, -1e-300, -707.99]),
    ])
    out = np.empty_like(x)
    _exp_all(x, out)
    expected = np.exp(x)
    assert np.all(np.abs(out - expected) <= 2 * np.spacing(expected))
    assert out[-4] == 1.0 and out[-3] == 1.0


def test_exp_nonpositive_edges():
    x = np.array([-708.5, -1e4, -np.inf, np.nan])
    out = np.empty_like(x)
    _exp_all(x, out)
    assert np.all(out[:3] == 0.0)
    assert np.isnan(out[3])
