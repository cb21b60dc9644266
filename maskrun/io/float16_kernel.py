"""The compiled loop that rounds float32 values to float16: `maskrun.io.float16_rounding`'s fast way.

Why compiled: NumPy converts to float16 one value at a time, in software (its x86-64 wheels do
not assume the CPU's conversion instructions), along branches that masked images (zeros,
subnormals and normal values mixed) keep mispredicting: with the way back to float32 that the
header statistics need, 8 ns a value, where masking, counting and writing a float32 value take
about 2 ns together. This loop rounds with the CPU's float32 arithmetic instead, many values at
a time: 0.8 ns a value for both ways. For every one of the 2³² float32 values it gives the
float16 bits of NumPy's way (`maskrun.io.float16_rounding.rounded_by_numpy`): checked once over
all of them; the tests check every boundary. Reading float16 back (`float16_to_float32`) is
NumPy's cast's bits too, checked over all 2¹⁶.

How: for ``|x|`` in ``[2^e, 2^(e+1))``, ``|x| + 2^(e+13)`` has its last bit at ``2^(e−10)``,
float16's spacing there, so the addition rounds ``|x|`` to float16's precision (to nearest,
ties to even, as float32 arithmetic rounds) and subtracting ``2^(e+13)`` again is exact.
Below ``2^−14``, float16's subnormals are spaced ``2^−24`` and ``0.5`` does the same. The
float16's bits are then read off the rounded float32's.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from maskrun.compiled import compiled
from maskrun.io.float16_rounding import FLOAT16_MAX


def _float_of_bits_typed(typingctx: Any, bits: Any) -> Any:
    """The float32 whose bits are the low 32 of an integer (numba has no scalar ``view``)."""

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return builder.bitcast(builder.trunc(args[0], ir.IntType(32)), ir.FloatType())

    return types.float32(bits), codegen


def _bits_of_float_typed(typingctx: Any, value: Any) -> Any:
    """The bits of a float32, as an int64 (numba computes in 64-bit integers)."""

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return builder.zext(builder.bitcast(args[0], ir.IntType(32)), ir.IntType(64))

    return types.int64(value), codegen


# Called from compiled code with the value only (numba passes the typing context); Any for mypy, which sees both.
_float_of_bits: Any = intrinsic(_float_of_bits_typed)
_bits_of_float: Any = intrinsic(_bits_of_float_typed)


@numba.njit(inline="always")
def _rounded(x: np.float32) -> tuple[np.float32, int]:
    """``x`` rounded to float16, as a float32 (NaN and ±inf as they are), and that float16's bits."""
    magnitude = abs(x)
    bits = _bits_of_float(magnitude)
    held = min(magnitude, np.float32(131072.0))  # beyond float16's range either way; keeps the sum finite
    shift = max(_float_of_bits((_bits_of_float(held) & 0x7F800000) + (13 << 23)), np.float32(0.5))
    rounded = min((held + shift) - shift, np.float32(FLOAT16_MAX))
    if rounded >= np.float32(6.103515625e-05):  # 2^−14: a normal float16, its bits the float32's shifted
        half = (_bits_of_float(rounded) >> 13) - 0x1C000
    else:  # a subnormal one, a multiple of 2^−24
        half = int(rounded * np.float32(16777216.0))
    nan = 0x7C00 | ((bits >> 13) & 0x3FF)  # inf, or NaN with NumPy's payload, which must stay a NaN
    if nan == 0x7C00 and bits != 0x7F800000:
        nan = 0x7C01
    sign = (_bits_of_float(x) >> 16) & 0x8000
    if bits < 0x7F800000:  # finite
        return np.copysign(rounded, x), sign | half
    return x, sign | nan


@compiled
def round_to_float16(values: np.ndarray, halves: np.ndarray) -> None:
    """Round float32 ``values`` (1D) in place to float16's values, and put the float16s' bits in ``halves`` (uint16).

    Finite values beyond float16's range are held at ±65504; NaN and ±inf keep their float32.
    """
    for i in range(values.size):
        values[i], halves[i] = _rounded(values[i])


@compiled
def float16_to_float32(halves: np.ndarray, values: np.ndarray) -> int:
    """Put the float32 of each float16 whose bits are ``halves`` (uint16, 1D) in ``values``; count NaN and ±inf.

    The bits are NumPy's cast's, NaN payloads included (shifted up 13 bits, never quieted).
    """
    nonfinite = 0
    for i in range(halves.size):
        half = np.int64(halves[i])
        magnitude = half & 0x7FFF
        sign = (half & 0x8000) << 16
        special = magnitude >= 0x7C00  # inf or NaN: float32's exponent all ones, the payload kept
        normal = _float_of_bits(sign | ((magnitude + (0x38000 if special else 0x1C000)) << 13))  # exponent rebased
        # zero or subnormal: k · 2^−24, exact in float32, with the sign of `normal`
        subnormal = np.copysign(np.float32(magnitude) * np.float32(5.9604644775390625e-08), normal)
        values[i] = normal if magnitude >= 0x400 else subnormal
        nonfinite += int(special)
    return nonfinite
