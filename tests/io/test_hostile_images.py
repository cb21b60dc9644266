"""Hostile or damaged images are refused with one line, never masked silently (issue 22).

Each case runs the real command: exit 2, one stderr line naming the file and the cause, no
traceback, the inputs byte for byte as they were and nothing left in the folder.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import mrcfile
import numpy as np
import pytest

from commands import digest, maskrun, refused_line
from conftest import write_mrc, write_spider
from job_files import job_with, write_job


def _stack(folder: Path) -> np.ndarray:
    return np.random.default_rng(5).normal(size=(3, 16, 16)).astype(np.float32)


def _spider(**fields: float):
    def make(folder: Path) -> Path:
        return write_spider(folder / "in.stk", _stack(folder), **fields)

    return make


def _gzip(damage):
    def make(folder: Path) -> Path:
        plain = write_mrc(folder / "plain.mrc", np.ones((8, 8, 8)))
        raw = gzip.compress(plain.read_bytes())
        plain.unlink()
        path = folder / "in.mrc.gz"
        path.write_bytes(damage(raw))
        return path

    return make


def _flip(raw: bytes, at: int) -> bytes:
    return raw[:at] + bytes([raw[at] ^ 0x01]) + raw[at + 1 :]


CASES = [
    ("spider-nan-nz", _spider(NZ=np.nan), "is not a SPIDER file"),
    ("spider-inf-nx", _spider(NX=np.inf), "is not a SPIDER file"),
    ("spider-nan-iform", _spider(IFORM=np.nan), "is not a SPIDER file"),
    ("spider-nan-labrec", _spider(LABREC=np.nan), "is not a SPIDER file"),
    ("spider-nan-labbyt", _spider(LABBYT=-np.inf), "is not a SPIDER file"),
    ("spider-nan-istack", _spider(ISTACK=np.nan), "ISTACK (word 24) is nan, not a whole number"),
    ("spider-inf-maxim", _spider(MAXIM=np.inf), "MAXIM (word 26) is inf, not a whole number"),
    ("spider-fractional-maxim", _spider(MAXIM=2.5), "MAXIM (word 26) is 2.5, not a whole number"),
    ("gzip-bad-crc", _gzip(lambda raw: _flip(raw, len(raw) - 8)), "damaged or truncated gzip file (CRC check failed"),
    ("gzip-bad-length", _gzip(lambda raw: _flip(raw, len(raw) - 4)), "(Incorrect length of data produced)"),
    ("gzip-no-trailer", _gzip(lambda raw: raw[:-8]), "(Compressed file ended before the end-of-stream"),
    ("gzip-cut-in-header", _gzip(lambda raw: raw[:40]), "(Compressed file ended before the end-of-stream"),
    ("gzip-garbage-after", _gzip(lambda raw: raw + b"junk"), "damaged or truncated gzip file (Not a gzipped file"),
]


@pytest.mark.parametrize("make,words", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_a_damaged_image_is_refused_with_one_line(tmp_path, make, words):
    source = make(tmp_path)
    before = digest(tmp_path)
    proc = maskrun("mask", source, tmp_path / "out.mrcs", "--shape", "circular", "--input-kind", "stack")
    line = refused_line(proc)
    assert f"{source}: " in line and words in line
    assert digest(tmp_path) == before


def test_a_damaged_gzip_map_stops_a_job_before_any_work(tmp_path):
    _gzip(lambda raw: _flip(raw, len(raw) - 8))(tmp_path)
    job = write_job(
        tmp_path, job_with(inputs__particles=None, inputs__volumes="in.mrc.gz", mask__geometry={"shape": "sphere"})
    )
    before = digest(tmp_path)
    proc = maskrun("run", job, "--cores", "1")
    assert proc.returncode == 2 and "in.mrc.gz: is a damaged or truncated gzip file (CRC check failed" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and digest(tmp_path) == before


def test_a_sound_spider_stack_and_gzip_map_still_mask(tmp_path):
    source = _spider()(tmp_path)
    assert maskrun("mask", source, tmp_path / "out.mrcs", "--shape", "circular").returncode == 0
    np.testing.assert_array_equal(mrcfile.read(tmp_path / "out.mrcs")[:, 8, 8], _stack(tmp_path)[:, 8, 8])
    gz = _gzip(lambda raw: raw)(tmp_path)
    proc = maskrun("mask", gz, tmp_path / "map.mrc", "--shape", "sphere")
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("name", ["out.spi", "out.stk", "out.mrc.gz", "out", "out.tif"])
@pytest.mark.parametrize("command", ["mask", "make-mask"])
def test_an_output_name_that_is_not_mrc_is_refused(tmp_path, name, command):
    source = _spider()(tmp_path)
    before = digest(tmp_path)
    if command == "mask":
        proc = maskrun("mask", source, tmp_path / name, "--shape", "circular")
    else:
        proc = maskrun("make-mask", tmp_path / name, "--shape", "circular", "--like", source)
    line = refused_line(proc)
    assert f"{tmp_path / name}: maskrun writes MRC files only" in line and "use an MRC name such as out.mrc" in line
    assert digest(tmp_path) == before


@pytest.mark.parametrize("value", [np.inf, -np.inf, np.nan])
@pytest.mark.parametrize(
    "shape", [["--radius", "4"], ["--shape", "raised_cosine", "--inner-radius", "3", "--outer-radius", "6"]]
)
def test_nonfinite_pixels_the_fill_replaces_are_counted(tmp_path, value, shape):
    data = _stack(tmp_path)
    data[0, 0, 0] = data[2, 1, 0] = value  # outside the mask
    data[2, 8, 8] = value  # kept
    source = write_mrc(tmp_path / "in.mrcs", data)
    args = ["--shape", "circular", *shape] if shape[0] != "--shape" else shape
    proc = maskrun("mask", source, tmp_path / "out.mrcs", *args, "--fill", "value", "--fill-value", "2")
    assert proc.returncode == 0, proc.stderr
    assert (
        "3 NaN or inf pixels in the input (in images 1, 3): 1 kept where the mask keeps the input, 2 given the fill"
        in proc.stderr
    )
    out = mrcfile.read(tmp_path / "out.mrcs")
    assert out[0, 0, 0] == out[2, 1, 0] == 2 and not np.isfinite(out[2, 8, 8])


def test_a_jobs_record_counts_the_replaced_nonfinite_pixels(tmp_path):
    data = _stack(tmp_path)
    data[1, 0, 0] = np.inf
    write_mrc(tmp_path / "in.mrcs", data)
    job = write_job(tmp_path, job_with(inputs__particles="in.mrcs", mask__geometry={"shape": "circular", "radius": 4}))
    proc = maskrun("run", job, "--cores", "1")
    assert proc.returncode == 0, proc.stderr
    record = json.loads((tmp_path / "results" / "t" / "provenance" / "run.json").read_text())
    assert record["nonfinite_pixels"] == 1


def test_plus_and_minus_inf_in_one_block_are_counted_without_a_numpy_warning(tmp_path):
    """+inf and -inf sum to NaN: once printed as a raw 'invalid value encountered in reduce'."""
    data = _stack(tmp_path)
    data[0, 8, 8] = np.inf  # kept
    data[1, 0, 0] = -np.inf  # given the fill
    source = write_mrc(tmp_path / "in.mrcs", data)
    proc = maskrun("mask", source, tmp_path / "out.mrcs", "--shape", "circular", "--radius", "4")
    assert proc.returncode == 0, proc.stderr
    assert "RuntimeWarning" not in proc.stderr and "encountered" not in proc.stderr
    assert "2 NaN or inf pixels in the input (in images 1, 2): 1 kept where the mask keeps the input" in proc.stderr
