"""float32 values rounded to float16 as a float16 MRC file stores them, and to the float32s they read back as.

One rule, two ways to the same bits: NumPy's casts (`rounded_by_numpy`), or once `use_compiled`
has loaded them in the process, compiled loops (`maskrun.io.float16_kernel`): 0.8 ns a value
against NumPy's 8 on masked images, and the way from a float16 file's values to float32 too.
Loading them costs numba's import and load, about half a second, which only a large file
repays: the caller decides.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

FLOAT16 = np.dtype(np.float16)
FLOAT16_MAX = 65504.0

_compiled: Callable[[np.ndarray, np.ndarray], None] | None = None  # set by use_compiled
_decoding: Callable[[np.ndarray, np.ndarray], int] | None = None


def use_compiled() -> None:
    """Round (and read float16) with the compiled loops from now on, in this process and the copies it forks later."""
    global _compiled, _decoding
    from maskrun.io.float16_kernel import float16_to_float32, round_to_float16  # numba: only where it pays

    round_to_float16(np.zeros(1, np.float32), np.zeros(1, np.uint16))  # compiled, or loaded from numba's cache, now
    float16_to_float32(np.zeros(1, np.uint16), np.zeros(1, np.float32))
    _compiled, _decoding = round_to_float16, float16_to_float32


def to_float16(values: np.ndarray, halves: np.ndarray | None = None) -> np.ndarray:
    """Round float32 ``values`` to float16, into ``halves``, and ``values`` in place to those float16s.

    Parameters
    ----------
    values
        C-contiguous float32 array; each finite value becomes the float32 of its float16 (what
        a float16 file stores reads back as). NaN and ±inf are kept (as NaN and ±inf).
    halves
        C-contiguous float16 array of ``values``' shape, or None for a new one.

    Returns
    -------
    numpy.ndarray
        ``halves``: NumPy's ``astype(np.float16)`` of ``values`` (to nearest, ties to even), but
        for finite values beyond float16's range (noise drawn around data near ±65504, say),
        held at ±65504 rather than stored as inf, which would read as the input's NaN or inf.
    """
    if halves is None:
        halves = np.empty(values.shape, np.float16)
    if (
        values.dtype != np.float32
        or halves.dtype != FLOAT16
        or halves.shape != values.shape
        or not (values.flags.c_contiguous and halves.flags.c_contiguous)
    ):
        raise ValueError(f"float32 values {values.dtype} {values.shape} do not go into float16 {halves.shape}")
    if values.size == 0:
        return halves
    if _compiled is None:
        rounded_by_numpy(values, halves)
    else:
        _compiled(values.reshape(-1), halves.reshape(-1).view(np.uint16))
    return halves


def from_float16(halves: np.ndarray, values: np.ndarray) -> int | None:
    """Put the float32s of float16 ``halves`` in ``values`` with the compiled loop, and count NaN and ±inf among them.

    The same bits as NumPy's cast, at 0.5 ns a value against 1.2, and the count spares a
    binary mask's check for NaN a float16 sum (2.4 ns a value). Without the loop loaded
    (`use_compiled`), or for anything but C-contiguous native float16 into float32 of its
    shape, nothing is done and None returned: the caller masks the float16 values themselves.
    """
    if (
        _decoding is None
        or halves.dtype != FLOAT16
        or values.dtype != np.float32
        or values.shape != halves.shape
        or not (halves.flags.c_contiguous and values.flags.c_contiguous)
    ):
        return None
    return int(_decoding(halves.reshape(-1).view(np.uint16), values.reshape(-1)))


def rounded_by_numpy(values: np.ndarray, halves: np.ndarray) -> None:
    """`to_float16` by NumPy's casts: ``values`` clipped to float16's range where beyond it, cast, and cast back."""
    low, high = np.minimum.reduce(values, axis=None), np.maximum.reduce(values, axis=None)
    if not -FLOAT16_MAX <= low <= high <= FLOAT16_MAX:  # beyond float16's range, or NaN in both
        np.clip(values, -FLOAT16_MAX, FLOAT16_MAX, out=values, where=np.isfinite(values))
    np.copyto(halves, values, casting="same_kind")
    np.copyto(values, halves)
