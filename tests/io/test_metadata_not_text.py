"""A STAR or .xmd that is not text (an SQLite file, gzip, binary data) is refused in one line saying what it is:
its bytes, read as STAR lines, made a message of raw bytes over several "error:" lines."""

from __future__ import annotations

import gzip
import sqlite3

import numpy as np
import pytest

from maskrun.errors import UserError
from maskrun.io.star import read_metadata

from job_files import example_folder, job_with, validate_refuses, write_job

XMD = "an Xmipp metadata text file"


def sqlite_file(path):
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE Objects(id INTEGER PRIMARY KEY, c01 TEXT)")
        db.execute("INSERT INTO Objects VALUES (1, '000001@Extract/mic_001.mrcs')")


def gzip_file(path):
    path.write_bytes(gzip.compress(b"# XMIPP_STAR_1 *\ndata_noname\nloop_\n_image\n000001@Extract/mic_001.mrcs\n" * 50))


def random_file(path):
    path.write_bytes(np.random.default_rng(5).integers(0, 256, 3000, dtype=np.uint8).tobytes())


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (sqlite_file, f"is an SQLite file, not {XMD} (a Scipion set? name it .sqlite)"),
        (gzip_file, f"is gzip-compressed, not {XMD}: gunzip it first (rename it p.xmd.gz, then gunzip p.xmd.gz)"),
        (random_file, f"is not text (binary data), so not {XMD}; check the path"),
    ],
    ids=["sqlite", "gzip", "random"],
)
def test_a_binary_xmd_is_refused_in_one_line_saying_what_it_is(tmp_path, capsys, make, words):
    example_folder(tmp_path, particles=3, maps=0)
    make(tmp_path / "p.xmd")
    line = validate_refuses(write_job(tmp_path, job_with(inputs__particles="p.xmd")), capsys)
    assert line == f"maskrun validate: error: {tmp_path / 'p.xmd'}: {words}"


def test_a_binary_star_is_named_a_star_file(tmp_path):
    sqlite_file(tmp_path / "p.star")
    with pytest.raises(UserError, match=r"is an SQLite file, not a STAR metadata text file \(a Scipion set"):
        read_metadata(tmp_path / "p.star")


def test_a_text_line_outside_any_loop_is_quoted_on_one_line(tmp_path):
    head = b"# version 30001\n\ndata_optics\n\nloop_\n_rlnOpticsGroup\n1\n\ndata_particles\n"  # text around them
    (tmp_path / "p.star").write_bytes(head + b"stray\x0cpage\x1cbreak\n")
    with pytest.raises(UserError) as refused:
        read_metadata(tmp_path / "p.star")
    assert len(str(refused.value).splitlines()) == 1
    assert "line 10: 'stray\\x0cpage\\x1cbreak' is outside any loop_" in str(refused.value)
