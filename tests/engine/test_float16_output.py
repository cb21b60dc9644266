"""float16 images (MRC mode 12, RELION 4/5's Extract ``--float16``) are masked in float32 and written back as float16.

They were written as float32: masking a float16 set doubled its size on disk. Every other
mode is still written as float32, and ``--float32`` (``output_dtype='float32'``)
keeps float16 input float32.

mrcfile's own ``validate`` sums a float16 file's squares in float16, which overflows past
65504 (it finds even the float16 stacks mrcfile writes invalid): the data here are small
enough for it.
"""

from __future__ import annotations

import hashlib

import mrcfile
import numpy as np
import pytest

import maskrun
from maskrun.cli.main import main
from maskrun.config.mask_spec import MaskSpec
from maskrun.engine import stream
from maskrun.engine.one_file import mask_mrc_file
from maskrun.errors import UserError
from maskrun.io import float16_rounding
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


def pinned_stack() -> np.ndarray:
    """12 float16 images of 32², from integer arithmetic alone (the same bits on any machine): data near float16's
    limit, subnormals, NaN and inf."""
    k = np.arange(12 * 32 * 32, dtype=np.int64)
    stack = (((k * 2654435761) % 1000003) / 1000003 * 8.0 - 3.5).reshape(12, 32, 32)
    stack[2] *= 14000.0
    stack[3] *= 1e-5
    stack[5, 3:6, 4:9] = np.nan
    stack[6, 0, 0], stack[7, 31, 31] = np.inf, -np.inf
    stack[8, 16, 16] = np.nan
    return stack.astype(np.float16)


RAMP = ["--mask-file", "ramp.mrc"]  # multiples of 1/64: the same float32 products on any machine
PINNED = {  # the data's SHA-256 and the header's statistics, as written before the compiled rounding (135b2ad)
    "binary": (
        ["--shape", "circular", "--radius", "10"],
        "2d127a251d7abfc49e85753da0c669817eec65d30b234d741c5ef4505155630f",
        (-48832.0, 62976.0, 177.92935180664062, 5337.3603515625),
    ),
    "binary-avg": (
        ["--shape", "circular", "--radius", "10", "--fill", "avg"],
        "1ae178e73975bf17c1de62ed0a7eaf7c2de6c016788a172ce9f9a7e54391a9d0",
        (-48832.0, 62976.0, 599.875, 5590.09130859375),
    ),
    "binary-min": (
        ["--shape", "circular", "--radius", "10", "--fill", "min"],
        "fb4082f2f0b2016d741f8c19668e1f21010a0d4780df13b91b4330dc14921217",
        (-48832.0, 62976.0, -2633.89794921875, 12601.2158203125),
    ),
    "soft": (
        RAMP,
        "adfc004ffcfbd7fa0150b3cf80541ff475eef58c1db4e55b0e419c9013d5165c",
        (-48832.0, 62976.0, 231.87013244628906, 5725.89599609375),
    ),
    "soft-fill-near-limit": (
        [*RAMP, "--fill", "value", "--fill-value", "65519"],  # float16 rounds it to 65504: kept
        "24aa96c54134937ad40fa80a89709bc64a9e8d4f7a59b5a631ee80df620e59f8",
        (-48832.0, 65504.0, 40014.0234375, 29978.802734375),
    ),
}


@pytest.fixture(params=["numpy", "compiled"])
def rounding(request, monkeypatch):
    """Round float16 output NumPy's way, or with the compiled loop (`use_compiled`, as for a large file)."""
    monkeypatch.setattr(float16_rounding, "_compiled", None)  # the process is left as it was found
    monkeypatch.setattr(float16_rounding, "_decoding", None)
    if request.param == "compiled":
        monkeypatch.setattr(stream, "COMPILED_ROUNDING_FROM", 0)
    return request.param


@pytest.mark.parametrize("case", PINNED)
def test_float16_files_are_written_as_before_either_way(tmp_path, rounding, case, monkeypatch):
    """The task: masking float16 took three times float32's time (two casts and a clip, in NumPy's software
    float16); the files must stay what they were, byte for byte, whichever way they are rounded."""
    monkeypatch.chdir(tmp_path)
    y, x = np.mgrid[:32, :32]
    write_mrc(tmp_path / "ramp.mrc", np.clip((160 - (y - 16) ** 2 - (x - 16) ** 2) / 64, 0, 1))
    source = write_mrc(tmp_path / "in.mrcs", pinned_stack(), mode_dtype=np.float16)
    arguments, digest, (dmin, dmax, dmean, rms) = PINNED[case]
    assert main(["mask", str(source), "out.mrcs", *arguments]) == 0
    assert (float16_rounding._compiled is not None) == (rounding == "compiled")
    with mrcfile.open(tmp_path / "out.mrcs") as mrc:
        assert mrc.data.dtype == np.float16 and hashlib.sha256(mrc.data.tobytes()).hexdigest() == digest
        h = mrc.header
        assert (float(h.dmin), float(h.dmax)) == (dmin, dmax)
        assert float(h.dmean) == pytest.approx(dmean, rel=1e-6) and float(h.rms) == pytest.approx(rms, rel=1e-6)


def test_either_way_writes_the_same_file_with_noise_and_nan(tmp_path, rng, monkeypatch):
    """Noise drawn near float16's limit (held at it) and NaN a soft mask drops (given the fill): the same bytes,
    header and all, NumPy's way and the compiled loop's, for a stack and for a map."""
    data = np.clip(rng.normal(0.0, 20000.0, (6, 40, 40)), -65000, 65000)
    data[2, 5:9, 5:9] = np.nan
    stack = write_mrc(tmp_path / "big.mrcs", data, mode_dtype=np.float16)
    volume = write_mrc(
        tmp_path / "map.mrc", rng.normal(0.0, 20000.0, (24, 24, 24)).clip(-6e4, 6e4), mode_dtype=np.float16
    )
    soft = ["--shape", "raised_cosine", "--inner-radius", "6", "--outer-radius", "14"]
    jobs = [
        (stack, [*soft, "--fill", "noise"]),
        (stack, [*soft, "--fill", "avg"]),
        (volume, ["--shape", "sphere", "--radius", "8", "--fill", "noise"]),
    ]
    for i, (source, arguments) in enumerate(jobs):
        written = []
        for compiled in (False, True):
            monkeypatch.setattr(float16_rounding, "_compiled", None)
            monkeypatch.setattr(float16_rounding, "_decoding", None)
            monkeypatch.setattr(stream, "COMPILED_ROUNDING_FROM", 0 if compiled else 1 << 62)
            out = tmp_path / f"{i}_{compiled}{source.suffix}"
            assert main(["mask", str(source), str(out), *arguments]) == 0
            written.append(out.read_bytes())
        assert written[0] == written[1], arguments
        assert np.abs(mrcfile.read(out).astype(np.float32)).max() <= 65504


def test_the_writer_is_given_the_float16_rows_it_stores(half_stack, tmp_path, monkeypatch):
    """The task: each value was cast to float16 twice, once to count it and once more by the writer."""
    given = []
    write_rows = MrcStreamWriter.write_rows
    monkeypatch.setattr(
        MrcStreamWriter,
        "write_rows",
        lambda self, row, block: (given.append(block.dtype), write_rows(self, row, block))[1],
    )
    geometry = MaskSpec.model_validate({"geometry": GEOMETRY})
    mask_mrc_file(half_stack, tmp_path / "out.mrcs", mask=geometry, workers=1)  # workers=1: written in this process
    assert given and set(given) == {np.dtype(np.float16)}


def test_noise_given_to_nan_a_soft_mask_drops_is_held_at_float16s_limit_too(tmp_path, capsys):
    """Found while making the rounding once: the fill given to NaN where a soft mask is 0 was rounded for the
    header, held at ±65504, but the writer cast it again unheld, and stored inf where noise drawn around ±65000 went
    past float16's range."""
    y, x = np.mgrid[:32, :32]
    outside = (y - 16) ** 2 + (x - 16) ** 2 > 12**2
    images = np.zeros((2, 32, 32))
    images[:, outside] = np.where((x + y)[outside] % 2 == 0, 65000.0, -65000.0)
    images[:, outside & (x < 4)] = np.nan  # where the mask is 0: given the noise fill
    source = write_mrc(tmp_path / "in.mrcs", images, mode_dtype=np.float16)
    out = tmp_path / "out.mrcs"
    assert (
        main(
            [
                "mask",
                str(source),
                str(out),
                "--shape",
                "circular",
                "--radius",
                "10",
                "--soft-edge",
                "3",
                "--fill",
                "noise",
            ]
        )
        == 0
    )
    assert "0 kept where the mask keeps the input" in capsys.readouterr().err
    with mrcfile.open(out) as mrc:
        stored = mrc.data.astype(np.float32)
        assert np.isfinite(stored).all() and float(mrc.header.dmax) == stored.max() == 65504
