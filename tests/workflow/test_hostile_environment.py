"""``maskrun run`` started by automation: standard streams closed, a home that cannot be written.

A facility engineer's findings: ``maskrun run JOB </dev/null >&- 2>e`` hung until killed (the
warm Snakemake's units' server lost its answers' pipe to the log's dup2), ``2>&-`` exited 1
having written only ``.maskrun/``; with a read-only home, Snakemake failed to make
``~/.cache/snakemake`` (a traceback, exit 1, "no unit started") on a job validate had said was
valid, and matplotlib warned twice in ``run_job``. Root ignores chmod, so a home here is made
unwritable by files where ``.cache`` and ``.config`` would be: mkdir fails under them for root
too. Every subprocess has a timeout, so that a hang fails the test instead of blocking it.
"""

from __future__ import annotations

import json
import os
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


def _unwritable_home(folder: Path) -> Path:
    home = folder / "home"
    home.mkdir()
    (home / ".cache").write_text("not a folder\n")  # mkdir ~/.cache/snakemake fails, for root too
    (home / ".config").write_text("not a folder\n")  # and ~/.config/matplotlib
    return home


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


@pytest.mark.system  # end to end, Snakemake runs (a few seconds): CI runs it (pytest -m system)
def test_a_run_in_a_home_that_cannot_be_written_finishes_and_says_where_the_caches_went(tmp_path):
    job = _job(tmp_path)
    env = {**os.environ, "HOME": str(_unwritable_home(tmp_path))}
    for key in ("XDG_CACHE_HOME", "XDG_CONFIG_HOME", "MPLCONFIGDIR"):
        env.pop(key, None)
    command = [sys.executable, "-m", "maskrun"]
    valid = subprocess.run([*command, "validate", str(job)], capture_output=True, text=True, env=env, timeout=120)
    assert valid.returncode == 0 and ": valid" in valid.stdout
    dry = subprocess.run([*command, "run", str(job), "--dry-run"], capture_output=True, text=True, env=env, timeout=180)
    assert dry.returncode == 0, dry.stderr
    assert not (tmp_path / "out").exists()
    done = subprocess.run([*command, "run", str(job)], capture_output=True, text=True, env=env, timeout=180)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "mkdir -p failed" not in done.stderr
    caches = tmp_path / "out" / ".maskrun" / "cache"
    assert done.stderr.count(f"this run keeps them in {caches}") == 1
    assert (caches / "snakemake").is_dir() and (caches / "matplotlib").is_dir()
    _finished(tmp_path)


def test_run_job_in_a_home_that_cannot_be_written_draws_its_report_without_matplotlibs_warnings(tmp_path):
    job = _job(tmp_path)
    env = {**os.environ, "HOME": str(_unwritable_home(tmp_path))}
    for key in ("XDG_CACHE_HOME", "XDG_CONFIG_HOME", "MPLCONFIGDIR"):
        env.pop(key, None)
    script = f"import maskrun; print(maskrun.run_job({str(job)!r}).units_run)"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=180)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "2"
    assert done.stderr == ""  # matplotlib said "mkdir -p failed for path …" twice, and made a temporary folder
    assert (tmp_path / "out" / "report" / "report.html").is_file()


def test_the_caches_move_only_where_the_home_cannot_be_written(tmp_path, monkeypatch):
    from maskrun.workflow.cache_homes import snakemake_cache_environment

    for key in ("XDG_CACHE_HOME", "XDG_CONFIG_HOME", "MPLCONFIGDIR"):
        monkeypatch.delenv(key, raising=False)
    scratch = tmp_path / "out" / ".maskrun" / "cache"
    monkeypatch.setenv("HOME", str(tmp_path / "writable home"))  # not there yet: made as Snakemake would make it
    assert snakemake_cache_environment(scratch) == {}
    monkeypatch.setenv("HOME", str(_unwritable_home(tmp_path)))
    assert snakemake_cache_environment(scratch) == {
        "XDG_CACHE_HOME": str(scratch),
        "MPLCONFIGDIR": str(scratch / "matplotlib"),
    }
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # the engineer's own way round it still works
    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path / "mpl"))
    assert snakemake_cache_environment(scratch) == {}
