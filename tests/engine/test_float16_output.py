"""float16 images (MRC mode 12, RELION 4/5's Extract ``--float16``) are masked in float32 and written back as float16.

They were written as float32: masking a float16 set doubled its size on disk. Every other
mode is still written as float32, and ``--float32`` (``output_dtype='float32'``)
keeps float16 input float32.

mrcfile's own ``validate`` sums a float16 file's squares in float16, which overflows past
65504 (it finds even the float16 stacks mrcfile writes invalid): the data here are small
enough for it.
"""

from __future__ import annotations

import mrcfile
import numpy as np
import pytest

import maskrun
from maskrun.cli.main import main
from maskrun.errors import UserError
from maskrun.io.mrc_writer import MrcStreamWriter

from conftest import assert_header_describes, write_mrc

SHAPE = ["--shape", "raised_cosine", "--inner-radius", "6", "--outer-radius", "10"]
GEOMETRY = {"shape": "raised_cosine", "inner_radius": 6, "outer_radius": 10}


@pytest.fixture
def half_stack(tmp_path, rng):
    return write_mrc(tmp_path / "in.mrcs", rng.normal(0.2, 1.0, (6, 28, 28)), mode_dtype=np.float16)


def masked(path, *options):
    out = path.with_name("out" + path.suffix)
    status = main(["mask", str(path), str(out), *SHAPE, *options])
    return status, out


def test_a_float16_stack_is_written_back_as_float16(half_stack, capsys):
    status, out = masked(half_stack)
    assert status == 0
    assert capsys.readouterr().out.strip().endswith("out.mrcs (float16, as the input)")
    assert mrcfile.validate(out) is True
    with mrcfile.open(out) as mrc:
        assert int(mrc.header.mode) == 12 and mrc.data.dtype == np.float16
        written = mrc.data.copy()
    source = mrcfile.read(half_stack)
    expected = (source.astype(np.float32) * maskrun.make_mask(GEOMETRY, (28, 28))).astype(np.float16)
    assert np.array_equal(written, expected)  # masked in float32, rounded to nearest once
    assert out.stat().st_size == 1024 + 6 * 28 * 28 * 2
    assert_header_describes(out, written)


def test_a_float16_map_is_written_back_as_float16(tmp_path, rng):
    source = write_mrc(tmp_path / "map.mrc", rng.normal(0.0, 1.0, (16, 16, 16)), voxel_size=2.0, mode_dtype=np.float16)
    out = tmp_path / "out.mrc"
    assert main(["mask", str(source), str(out), "--shape", "sphere", "--radius", "5"]) == 0
    with mrcfile.open(out) as mrc:
        assert int(mrc.header.mode) == 12
        written = mrc.data.copy()
    sphere = maskrun.make_mask({"shape": "sphere", "radius": 5}, (16, 16, 16))
    assert np.array_equal(written, (mrcfile.read(source).astype(np.float32) * sphere).astype(np.float16))
    assert_header_describes(out, written)


def test_a_fill_and_its_statistics_are_rounded_as_the_data(half_stack):
    status, out = masked(half_stack, "--fill", "value", "--fill-value", "0.1")  # 0.1 is no float16
    assert status == 0
    written = mrcfile.read(out)
    assert written.dtype == np.float16 and np.float16(0.1) in written
    assert_header_describes(out, written)


def test_float32_input_is_still_written_as_float32(tmp_path, rng, capsys):
    source = write_mrc(tmp_path / "in.mrcs", rng.normal(0.2, 1.0, (6, 28, 28)))
    status, out = masked(source)
    assert status == 0 and "float16" not in capsys.readouterr().out
    with mrcfile.open(out) as mrc:
        assert int(mrc.header.mode) == 2 and mrc.data.dtype == np.float32


def test_output_dtype_float32_keeps_float16_input_float32(half_stack, capsys):
    status, out = masked(half_stack, "--float32")
    assert status == 0 and "float16, as" not in capsys.readouterr().out
    with mrcfile.open(out) as mrc:
        assert int(mrc.header.mode) == 2
        written = mrc.data.copy()
    source = mrcfile.read(half_stack).astype(np.float32)
    assert np.array_equal(written, source * maskrun.make_mask(GEOMETRY, (28, 28)))


def test_a_fill_value_float16_cannot_hold_is_refused_for_float16_output(half_stack, capsys):
    status, out = masked(half_stack, "--fill", "value", "--fill-value", "70000")
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and not out.exists()
    assert len(err) == 1 and "70000 is beyond the range of float16 (±65504)" in err[0]
    assert err[0].endswith("(--float32)")
    status, out = masked(half_stack, "--fill", "value", "--fill-value", "70000", "--float32")
    assert status == 0 and mrcfile.read(out).max() == 70000


def test_the_api_takes_output_dtype_and_refuses_another(half_stack, tmp_path):
    result = maskrun.mask_file(half_stack, tmp_path / "a.mrcs", mask=GEOMETRY)
    assert result.dtype == "float16" and mrcfile.read(tmp_path / "a.mrcs").dtype == np.float16
    result = maskrun.mask_file(half_stack, tmp_path / "b.mrcs", mask=GEOMETRY, output_dtype="float32")
    assert result.dtype == "float32" and mrcfile.read(tmp_path / "b.mrcs").dtype == np.float32
    with pytest.raises(UserError, match="output_dtype") as refused:
        maskrun.mask_file(half_stack, tmp_path / "c.mrcs", mask=GEOMETRY, output_dtype="float16")
    assert "is not one of same, float32" in str(refused.value) and not (tmp_path / "c.mrcs").exists()


def test_the_writer_stores_float16_rows_rounded_with_their_statistics(tmp_path, rng):
    rows = rng.normal(0.0, 1.0, (3, 8, 8)).astype(np.float32)
    with MrcStreamWriter(tmp_path / "w.mrcs", rows.shape, "stack", dtype=np.dtype(np.float16)) as writer:
        writer.write(rows[:2])
        writer.write(rows[2:])
    written = mrcfile.read(tmp_path / "w.mrcs")
    assert written.dtype == np.float16 and np.array_equal(written, rows.astype(np.float16))
    assert_header_describes(tmp_path / "w.mrcs", written)


def test_noise_around_data_near_float16s_limit_is_held_at_it_not_stored_as_inf(tmp_path, rng, capsys):
    """The review: a noise fill drawn around data near ±65504 went past float16's range, was stored as inf and was
    told as NaN or inf pixels of the input."""
    data = np.clip(rng.normal(0.0, 20000.0, (4, 40, 40)), -65000, 65000)
    path = write_mrc(tmp_path / "big.mrcs", data, mode_dtype=np.float16)
    status, out = masked(path, "--fill", "noise")
    assert status == 0
    err = capsys.readouterr().err
    assert "NaN or inf" not in err and "RuntimeWarning" not in err, err
    with mrcfile.open(out) as mrc:
        stored = mrc.data.astype(np.float32)
        assert int(mrc.header.mode) == 12 and np.isfinite(stored).all()
        assert np.abs(stored).max() <= 65504 and float(mrc.header.dmax) == float(stored.max())


def test_maskrun_mask_of_float16_says_float16_only(half_stack, capsys):
    """The review: 'masked … (float16, as the input)' came with the note 'mode 12 (float16) is converted to float32'."""
    assert masked(half_stack)[0] == 0
    captured = capsys.readouterr()
    assert "(float16, as the input)" in captured.out and "converted to float32" not in captured.err, captured.err
