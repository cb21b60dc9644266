"""``maskrun run`` started by automation: standard streams closed.

A facility engineer's findings: ``maskrun run JOB </dev/null >&- 2>e`` hung until killed (the
warm Snakemake's units' server lost its answers' pipe to the log's dup2), ``2>&-`` exited 1
having written only ``.maskrun/``. Every subprocess has a timeout, so that a hang fails the
test instead of blocking it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from job_files import example_folder, job_with, write_job


def _job(folder: Path) -> Path:
    return write_job(example_folder(folder, particles=12, maps=0), job_with(batch_size=6, output__dir="out"))


def _finished(folder: Path) -> None:
    out = folder / "out"
    assert json.loads((out / "provenance" / "run.json").read_text())  # the run record: every unit done
    assert (out / "particles.star").is_file() and (out / "report" / "report.html").is_file()
    assert json.loads((out / ".maskrun" / "plan.json").read_text())  # no stray line of maskrun's in it


@pytest.mark.system  # end to end, Snakemake runs (a few seconds each): CI runs it (pytest -m system)
@pytest.mark.parametrize("closed", [">&-", "2>&-", "<&- >&- 2>&-"])
def test_a_run_with_standard_streams_closed_finishes(tmp_path, closed):
    job = _job(tmp_path)
    script = f'exec "$@" {closed}'
    command = ["sh", "-c", script, "sh", sys.executable, "-m", "maskrun", "run", str(job), "--cores", "2"]
    done = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    _finished(tmp_path)
