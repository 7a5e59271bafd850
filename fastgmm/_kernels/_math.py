"""Elementary functions that LLVM can vectorise inside the kernels' row loops.

``np.exp`` in a Numba loop is a call into libm per element (~12 ns here);
the E-step needs one per (row, component), which made exp the largest cost
of the low-dimensional workloads.  ``exp_nonpositive`` is straight-line
arithmetic (Cody-Waite range reduction, a degree-12 Taylor polynomial and an
exponent built from bits), so loops that call it become SIMD code.
"""

import numpy as np
from numba import njit, types
from numba.extending import intrinsic

from ._options import NJIT_OPTIONS

_LOG2_E = 1.4426950408889634
# ln 2 split so that n * _LN2_HI is exact for |n| < 2^11 (Cody & Waite).
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
# Below this, exp(x) < 2^-1022 would be subnormal; it returns 0 instead (an
# absolute error under 2.3e-308, far below the rounding of any sum it enters).
_SMALLEST_NORMAL_ARGUMENT = -708.0


@intrinsic
def _float64_from_bits(typingctx, bits):
    """Reinterpret an int64 bit pattern as a float64 (an LLVM bitcast)."""
    signature = types.float64(types.int64)

    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], context.get_value_type(types.float64))

    return signature, codegen


@njit(inline="always", **NJIT_OPTIONS)
def exp_nonpositive(x):
    """exp(x) for x <= 0 (and -inf), within 2 ulp of ``np.exp``; NaN stays NaN.

    x = n ln2 + r with |r| <= ln2 / 2, exp(x) = 2^n exp(r), and exp(r) by its
    Taylor series to r^12 (truncation error < 3e-17 relative).
    """
    if x < _SMALLEST_NORMAL_ARGUMENT:
        return 0.0
    n = np.floor(x * _LOG2_E + 0.5)
    r = (x - n * _LN2_HI) - n * _LN2_LO
    p = 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    # n is in [-1022, 0] here, so 2^n is the normal float with exponent n
    # (through int32: AVX2 converts packed doubles to int32, not to int64).
    # (A NaN x gives a NaN p; the garbage scale then leaves it NaN.)
    scale = _float64_from_bits((np.int64(np.int32(n)) + 1023) << 52)
    return p * scale
