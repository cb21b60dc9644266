"""Fuzzing: random job files and damaged MRC headers never give a traceback, only exit 0, 1 or 2."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maskrun.cli.main import main

from conftest import SPIDER_WORDS, write_mrc, write_spider
from job_files import example_folder, write_job

pytestmark = pytest.mark.filterwarnings("ignore::maskrun.errors.MaskrunWarning")
FUZZ = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

JOB_WORDS = [
    "version",
    "name",
    "inputs",
    "particles",
    "volumes",
    "mask",
    "source",
    "geometry",
    "shape",
    "radius",
    "fill",
    "with",
    "value",
    "output",
    "dir",
    "overwrite",
    "batch_size",
    "compat",
    ":",
    "-",
    "[",
    "]",
    "{",
    "}",
    "1",
    "-1",
    ".inf",
    ".nan",
    "circular",
    "sphere",
    "particles.star",
    "\n",
    "  ",
    "'",
    '"',
    "#",
    "&a",
    "*a",
    "!!python/object",
    "\t",
    "\x00",
    "é",
]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return example_folder(tmp_path_factory.mktemp("fuzz"), particles=6, maps=1)


@FUZZ
@given(st.lists(st.sampled_from(JOB_WORDS), max_size=60).map("".join) | st.text(max_size=300))
def test_random_job_text_never_raises(folder, capsys, text):
    path = folder / "fuzz.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass") if "\ud800" not in text else None
    assert main(["validate", str(path)]) in (0, 1, 2)
    capsys.readouterr()


@FUZZ
@given(st.binary(max_size=400))
def test_random_job_bytes_never_raise(folder, capsys, raw):
    path = folder / "fuzz.yaml"
    path.write_bytes(raw)
    assert main(["validate", str(path)]) in (0, 1, 2)
    assert "Traceback" not in capsys.readouterr().err


HEADER_FIELDS = {  # word offset in the 1024-byte header, and values worth trying
    "nx": (0, [0, 1, -5, 16, 17, 2**31 - 1]),
    "ny": (1, [0, 1, -1, 16, 100000]),
    "nz": (2, [0, 1, 3, -3, 10**9]),
    "mode": (3, [0, 1, 2, 3, 4, 6, 12, 101, -1]),
    "mx": (7, [0, 16, -2]),
    "mapc": (16, [0, 1, 2, 3, 4, -1]),
    "mapr": (17, [0, 1, 2, 3, 7]),
    "maps": (18, [0, 1, 2, 3]),
    "ispg": (22, [0, 1, 401, -7]),
    "nsymbt": (23, [0, 80, 1024, -80, 2**30]),
}


@FUZZ
@given(
    st.dictionaries(st.sampled_from(sorted(HEADER_FIELDS)), st.integers(0, 8), max_size=4),
    st.sampled_from([(0.0, 0.0, 0.0), (1.0, 1.0, 1.0), (float("nan"), 1.0, 1.0), (-3.0, 2.0, 1e30)]),
    st.booleans(),
)
def test_damaged_mrc_headers_never_raise(tmp_path_factory, capsys, changes, cell, as_stack):
    folder = tmp_path_factory.mktemp("mrc")
    path = write_mrc(folder / ("in.mrcs" if as_stack else "in.mrc"), np.ones((3, 16, 16)))
    raw = bytearray(path.read_bytes())
    for name, pick in changes.items():
        offset, values = HEADER_FIELDS[name]
        struct.pack_into("<i", raw, 4 * offset, values[pick % len(values)])
    struct.pack_into("<3f", raw, 40, *cell)
    path.write_bytes(bytes(raw))
    status = main(
        ["mask", str(path), str(folder / "out.mrc"), "--shape", "box", "--input-kind", "stack" if as_stack else "auto"]
    )
    assert status in (0, 1, 2)
    assert "Traceback" not in capsys.readouterr().err


SPIDER_VALUES = [float("nan"), float("inf"), -float("inf"), 0.0, -1.0, 1.5, 2.0, 16.0, 1e30, -3.0, 2.0**31]


@FUZZ
@given(st.dictionaries(st.sampled_from(sorted(SPIDER_WORDS)), st.sampled_from(SPIDER_VALUES), max_size=4))
def test_damaged_spider_headers_never_raise(tmp_path_factory, capsys, changes):
    folder = tmp_path_factory.mktemp("spider")
    path = write_spider(folder / "in.stk", np.ones((3, 16, 16)), **changes)
    assert main(["mask", str(path), str(folder / "out.mrcs"), "--shape", "box"]) in (0, 2)
    assert "Traceback" not in capsys.readouterr().err


@FUZZ
@given(st.integers(0, 10**6), st.integers(1, 255), st.integers(0, 40))
def test_damaged_gzip_maps_never_raise_or_mask_silently(tmp_path_factory, capsys, where, xor, cut):
    folder = tmp_path_factory.mktemp("gz")
    raw = gzip.compress(write_mrc(folder / "plain.mrc", np.ones((8, 8, 8))).read_bytes())
    at = where % len(raw)
    damaged = (raw[:at] + bytes([raw[at] ^ xor]) + raw[at + 1 :])[: len(raw) - cut]
    path = folder / "in.mrc.gz"
    path.write_bytes(damaged)
    status = main(["mask", str(path), str(folder / "out.mrc"), "--shape", "box"])
    assert status == 2 or gzip.decompress(damaged) == gzip.decompress(raw)  # masked only what gzip vouches for
    assert "Traceback" not in capsys.readouterr().err


def test_a_job_fuzz_case_that_is_valid_still_runs(folder, capsys):
    job = write_job(
        folder,
        "version: 1\nname: ok\ninputs: {particles: particles.star}\nmask: {geometry: {shape: circular}}\n",
        "ok.yaml",
    )
    assert main(["validate", str(job)]) == 0
