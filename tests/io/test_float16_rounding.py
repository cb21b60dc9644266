"""float32 → float16 as a float16 file stores it: NumPy's way and the compiled loop's give the same bits.

The compiled loop (`maskrun.io.float16_kernel`) rounds with float32 arithmetic instead of
NumPy's software cast. Checked once over all 2³² float32 values when it was written; here at
every place the rounding can go wrong: each float16 and its float32 neighbours, each midpoint
between two float16s (ties go to the even one) and its neighbours, the subnormals, the edge of
float16's range, inf, and NaN with every kind of payload.
"""

from __future__ import annotations

import mrcfile
import numpy as np
import pytest

from maskrun.io import float16_rounding
from maskrun.io.float16_rounding import FLOAT16_MAX, from_float16, to_float16
from maskrun.io.header_stats import RunningStats
from maskrun.io.mrc_writer import MrcStreamWriter


@pytest.fixture(params=["numpy", "compiled"])
def way(request, monkeypatch):
    """Round NumPy's way, or with the compiled loop; the process is left as it was found."""
    monkeypatch.setattr(float16_rounding, "_compiled", None)
    monkeypatch.setattr(float16_rounding, "_decoding", None)
    if request.param == "compiled":
        float16_rounding.use_compiled()
    return request.param


def boundary_values() -> np.ndarray:
    """float32s of both signs wherever rounding to float16 changes its mind, and the values it keeps apart."""
    finite = np.arange(0x7C00, dtype=np.uint16).view(np.float16).astype(np.float32)  # every finite float16 ≥ 0
    near = finite.view(np.uint32).astype(np.int64)[:, None] + np.arange(-2, 3)
    midpoints = ((finite[:-1].astype(np.float64) + finite[1:]) / 2).astype(np.float32)  # exact in float32
    near_midpoints = midpoints.view(np.uint32).astype(np.int64)[:, None] + np.arange(-1, 2)
    special = np.array(
        [
            0x00000001,  # float32's smallest subnormal
            0x007FFFFF,
            0x33000000,  # 2^−25, halfway to float16's smallest subnormal: a tie, to 0
            0x33000001,
            0x477FE000,  # 65504
            0x477FEFFF,  # just below 65520, halfway to 65536: rounds to 65504
            0x477FF000,  # 65520: inf to NumPy, held at 65504
            0x47800000,  # 65536
            0x7F7FFFFF,  # float32's largest
            0x7F800000,  # inf
            0x7F800001,  # a signalling NaN whose payload shifts out: NumPy keeps it a NaN (0x7C01)
            0x7F801FFF,
            0x7F802000,  # a signalling NaN whose payload survives
            0x7FC00000,  # the quiet NaN
            0x7FFFFFFF,
        ]
    )
    bits = np.concatenate([near.ravel(), near_midpoints.ravel(), special]) & 0x7FFFFFFF
    return np.concatenate([bits, bits | 0x80000000]).astype(np.uint32).view(np.float32)


def numpy_bits(values: np.ndarray) -> np.ndarray:
    """What a float16 file of ``values`` held before the compiled loop: clipped where finite, then NumPy's cast."""
    held = values.copy()
    np.clip(held, -FLOAT16_MAX, FLOAT16_MAX, out=held, where=np.isfinite(held))
    with np.errstate(over="ignore"):
        return held.astype(np.float16).view(np.uint16)


def test_either_way_rounds_every_boundary_to_numpys_bits(way):
    values = boundary_values()
    rounded = values.copy()
    halves = to_float16(rounded)
    expected = numpy_bits(values)
    assert np.array_equal(halves.view(np.uint16), expected)
    finite = np.isfinite(values)
    read_back = expected.view(np.float16).astype(np.float32)
    assert np.array_equal(rounded[finite].view(np.uint32), read_back[finite].view(np.uint32))  # -0.0 too
    assert np.array_equal(np.isnan(rounded), np.isnan(values))
    assert np.array_equal(rounded[np.isinf(values)], values[np.isinf(values)])


def test_finite_values_beyond_float16s_range_are_held_at_its_limit(way):
    values = np.array([[65519.99, 65520.0, 1e5, -3e38], [np.inf, -np.inf, 0.1, -0.0]], np.float32)
    halves = to_float16(values.copy())
    assert halves.tolist()[0] == [65504.0, 65504.0, 65504.0, -65504.0]
    assert halves.tolist()[1][:2] == [np.inf, -np.inf] and halves[1, 2] == np.float16(0.1)
    assert np.signbit(halves[1, 3])


def test_the_compiled_loop_reads_every_float16_as_numpy_does(way):
    halves = np.arange(65536, dtype=np.uint16).view(np.float16).reshape(256, 256)
    values = np.full(halves.shape, 7.0, np.float32)
    count = from_float16(halves, values)
    if way == "numpy":  # NumPy's own cast is used where the values are
        assert count is None and (values == 7.0).all()
        return
    assert count == 2 * 1024  # inf and NaN of both signs
    assert np.array_equal(values.view(np.uint32), halves.astype(np.float32).view(np.uint32))  # NaN payloads too


def test_only_native_contiguous_float16_is_read_by_the_compiled_loop(way):
    values = np.zeros((4, 4), np.float32)
    assert from_float16(np.zeros((4, 4), ">f2"), values) is None  # a big-endian file's
    assert from_float16(np.zeros((4, 8), np.float16)[:, ::2], values) is None
    assert from_float16(np.zeros((4, 4), np.float32), values) is None


@pytest.mark.parametrize("append", [True, False], ids=["write", "write_rows"])
def test_a_float16_writer_given_float32_rows_rounds_them_as_the_engine_does(tmp_path, append):
    """It used NumPy's astype: 70000 was stored as inf (read back as if the input had held inf), not 65504."""
    rows = np.array([[[70000.0, -1e6], [1.0000001, 0.5]]], np.float32)
    given = rows.copy()
    with MrcStreamWriter(tmp_path / "h.mrcs", (1, 2, 2), "stack", dtype=np.float16) as writer:
        if append:
            writer.write(rows)
        else:
            writer.write_rows(0, rows)
            stored = rows.copy()
            to_float16(stored)  # the float32s of the float16s: what the header describes
            counted = RunningStats()
            counted.add(stored)
            writer.add_statistics(0, 1, counted)
    np.testing.assert_array_equal(rows, given)  # the caller's rows are not rounded in place
    with mrcfile.open(tmp_path / "h.mrcs", permissive=True) as mrc:
        stored = mrc.data.copy()
        assert float(mrc.header.dmax) == FLOAT16_MAX
    np.testing.assert_array_equal(
        stored.reshape(1, 2, 2), np.array([[[FLOAT16_MAX, -FLOAT16_MAX], [1.0, 0.5]]], np.float16)
    )
