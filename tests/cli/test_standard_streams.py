"""Started with its standard streams closed, or on a terminal whose encoding lacks a character: maskrun works.

A facility engineer's automation (no terminal, closed streams): ``maskrun mask IN OUT 2>&-``
exited 1 and wrote nothing, ``maskrun validate JOB >&-`` ended in a traceback (exit 1), and
under ``PYTHONIOENCODING=ascii`` validate's "Å/px" raised UnicodeEncodeError. Closed
descriptors are now opened on /dev/null first thing, and a character the encoding lacks is
written as a backslash escape.
"""

from __future__ import annotations

import os
import subprocess
import sys

import mrcfile
import numpy as np

from job_files import example_folder, job_with, write_job

CLOSED = {"stdin": "<&-", "stdout": ">&-", "stderr": "2>&-", "all three": "<&- >&- 2>&-"}


def maskrun_closed(closed: str, *args: object, cwd=None) -> subprocess.CompletedProcess:
    """``python -m maskrun ARGS`` with some of its standard streams closed (``closed``: a shell's ``>&-``); what it
    writes on the others is captured."""
    script = f'exec "$@" {closed}'
    command = ["sh", "-c", script, "sh", sys.executable, "-m", "maskrun", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=cwd)


def test_mask_with_any_standard_stream_closed_writes_its_output_and_exits_0(tmp_path):
    example_folder(tmp_path, particles=6, maps=0)
    stack = next((tmp_path / "Extract").glob("*.mrcs"))
    options = ["--shape", "circular", "--radius", "10"]
    reference = tmp_path / "reference.mrcs"
    assert maskrun_closed("", "mask", stack, reference, *options).returncode == 0
    for name, closed in CLOSED.items():
        out = tmp_path / f"closed {name}.mrcs"
        done = maskrun_closed(closed, "mask", stack, out, *options)
        assert done.returncode == 0, (name, done.stderr)
        assert "Traceback" not in done.stderr, name
        with mrcfile.open(out) as masked, mrcfile.open(reference) as expected:
            np.testing.assert_array_equal(masked.data, expected.data)


def test_validate_with_stdout_or_stderr_closed_exits_0_without_a_traceback(tmp_path):
    job = write_job(example_folder(tmp_path, particles=6, maps=0), job_with(batch_size=2))
    for name, closed in CLOSED.items():
        done = maskrun_closed(closed, "validate", job)
        assert done.returncode == 0, (name, done.stderr)
        assert "Traceback" not in done.stderr, name
    told = maskrun_closed(CLOSED["stderr"], "validate", job)
    assert told.stdout.startswith(f"{job}: valid\n")  # the streams still open say what they would


def test_a_terminal_encoding_without_the_angstrom_sign_gets_it_escaped_not_a_traceback(tmp_path):
    job = write_job(example_folder(tmp_path, particles=6, maps=0), job_with(batch_size=2))
    env = {**os.environ, "PYTHONIOENCODING": "ascii", "LC_ALL": "C"}
    done = subprocess.run(
        [sys.executable, "-m", "maskrun", "validate", str(job)], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "2 \\xc5/px" in done.stdout  # "2 Å/px", in the characters ASCII has
