"""Elementary functions that LLVM can vectorise inside the kernels' row loops.

``np.exp`` and ``np.log`` in a Numba loop are calls into libm per element
(~12 ns here); the E-step needs an exp per (row, component) and a log per
row, which made them the largest cost of the low-dimensional workloads.
These versions are straight-line arithmetic on the float's bits and a
polynomial, so loops that call them become SIMD code.
"""

import numpy as np
from numba import njit, types
from numba.extending import intrinsic

from ._options import NJIT_OPTIONS

# Inlined by Numba so that the callers' loops vectorise (a call per element
# costs twice the time of the W1 E-step); inlined code takes the caller's
# fastmath flags (numba#7168), and "reassoc" partly undoes the Cody-Waite
# split of ln 2: under the kernels' flags exp_nonpositive is accurate to
# about 1e-13 relative rather than 2 ulp (tests/_kernels/test_math.py).
_MATH_OPTIONS = dict(NJIT_OPTIONS, inline="always")

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


@intrinsic
def _bits_of_float64(typingctx, value):
    """Reinterpret a float64 as its int64 bit pattern (an LLVM bitcast)."""
    signature = types.int64(types.float64)

    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], context.get_value_type(types.int64))

    return signature, codegen


_SQRT_2 = 1.4142135623730951
_MANTISSA_BITS = 0x000FFFFFFFFFFFFF
_EXPONENT_OF_ONE = 0x3FF0000000000000


@njit(**_MATH_OPTIONS)
def log_positive(x):
    """log(x) for normal positive x, within a few ulp of ``np.log``.

    x = m 2^e with m in [sqrt(1/2), sqrt(2)); log m = 2 atanh(s), s = (m-1)/(m+1),
    |s| < 0.1716, by its series to s^21 (truncation error < 1e-18).
    (Zero, negative, subnormal, infinite and NaN x are outside its domain; the
    kernels call it on sums in [1, n_components], and a NaN there comes with a
    NaN row maximum that keeps the result NaN.)
    """
    bits = _bits_of_float64(x)
    exponent = np.float64(((bits >> 52) & 0x7FF) - 1023)
    mantissa = _float64_from_bits((bits & _MANTISSA_BITS) | _EXPONENT_OF_ONE)  # [1, 2)
    if mantissa > _SQRT_2:
        mantissa *= 0.5
        exponent += 1.0
    s = (mantissa - 1.0) / (mantissa + 1.0)
    s2 = s * s
    p = 1.0 / 21.0
    p = p * s2 + 1.0 / 19.0
    p = p * s2 + 1.0 / 17.0
    p = p * s2 + 1.0 / 15.0
    p = p * s2 + 1.0 / 13.0
    p = p * s2 + 1.0 / 11.0
    p = p * s2 + 1.0 / 9.0
    p = p * s2 + 1.0 / 7.0
    p = p * s2 + 1.0 / 5.0
    p = p * s2 + 1.0 / 3.0
    log_mantissa = 2.0 * s + 2.0 * s * s2 * p
    return exponent * _LN2_HI + (log_mantissa + exponent * _LN2_LO)


@njit(**_MATH_OPTIONS)
def exp_nonpositive(x):
    """exp(x) for x <= 0 (and -inf), within 2 ulp of ``np.exp`` (``_MATH_OPTIONS``); NaN stays NaN.

    x = n ln2 + r with |r| <= ln2 / 2, exp(x) = 2^n exp(r), and exp(r) by its
    Taylor series to r^12 (truncation error < 3e-17 relative).
    """
    if x < _SMALLEST_NORMAL_ARGUMENT:
        return 0.0
    # Clamped so that a NaN x cannot reach the integer conversion (undefined in LLVM).
    n = min(max(np.floor(x * _LOG2_E + 0.5), -1022.0), 0.0)
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
    # n is in [-1022, 0], so 2^n is the normal float with exponent n (through
    # int32: AVX2 converts packed doubles to int32, not to int64).  A NaN x
    # gives a NaN p, hence a NaN result.
    scale = _float64_from_bits((np.int64(np.int32(n)) + 1023) << 52)
    return p * scale
