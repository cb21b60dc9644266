"""A quiet terminal: one progress line on a terminal, nothing of Snakemake's log unless it fails or --verbose."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios

import pytest

from job_files import example_folder, job_with, slow_blocks_env, write_job


def run_on_a_terminal(args, cwd, columns=200):
    """Run maskrun with stderr on a pseudo-terminal ``columns`` wide; returns (status, what it showed, stdout)."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    process = subprocess.Popen(
        [sys.executable, "-m", "maskrun", *map(str, args)], cwd=cwd, stdout=subprocess.PIPE, stderr=follower, text=True
    )
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        shown += chunk
    with process.stdout:
        out = process.stdout.read()
    process.wait(timeout=300)
    os.close(leader)
    return process.returncode, shown.decode(errors="replace"), out


def test_progress_line_on_a_terminal_and_nothing_in_a_pipe(tmp_path):
    example_folder(tmp_path, particles=60, maps=0)
    job = write_job(tmp_path, job_with(batch_size=6))
    status, terminal, out = run_on_a_terminal(["run", job, "--cores", "1"], tmp_path)
    assert status == 0, terminal
    assert "maskrun run: " in terminal and "/10 units (" in terminal and "particles/s" in terminal and "ETA" in terminal
    assert " running, " in terminal and " waiting), " in terminal  # a local run's units wait for a core
    assert "Building DAG" not in terminal + out  # Snakemake's chatter is in the log file
    assert out.startswith("maskrun run: masked 60 particles in 10 batches")
    log = tmp_path / "results" / "t" / "logs" / "snakemake.log"
    assert "Building DAG of jobs" in log.read_text()
    piped = subprocess.run(
        [sys.executable, "-m", "maskrun", "run", str(write_job(tmp_path, job_with(name="u"), "u.yaml"))],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert piped.returncode == 0 and piped.stderr == ""
    assert piped.stdout.splitlines()[1].startswith("maskrun run: report: ") and piped.stdout.count("\n") == 2


def test_a_failing_job_shows_its_log_and_verbose_shows_snakemake(tmp_path):
    from commands import FAIL_BATCH_2

    example_folder(tmp_path, particles=30, maps=0)
    (tmp_path / "hook").mkdir()
    (tmp_path / "hook" / "sitecustomize.py").write_text(FAIL_BATCH_2)
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "hook")}
    job = write_job(tmp_path, job_with(batch_size=10))
    failed = subprocess.run(
        [sys.executable, "-m", "maskrun", "run", str(job), "--cores", "1"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert failed.returncode == 1
    assert "  | RuntimeError: a unit failing for the test" in failed.stderr  # the unit's log, shown
    verbose = subprocess.run(
        [sys.executable, "-m", "maskrun", "run", str(write_job(tmp_path, job_with(name="v"), "v.yaml")), "--verbose"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert verbose.returncode == 0 and "Building DAG of jobs" in verbose.stdout + verbose.stderr


@pytest.mark.system  # end to end, seconds of masking on a terminal: CI runs it (pytest -m system)
def test_a_long_maskrun_mask_shows_progress_on_a_terminal_only(tmp_path, monkeypatch):
    import numpy as np

    from conftest import write_mrc

    write_mrc(tmp_path / "in.mrcs", np.zeros((6000, 64, 64), np.float32))  # 7 buffers of 16 MB, 94 blocks
    # restored after the test (a del would drop a PYTHONPATH the suite runs with for the later tests)
    monkeypatch.setenv("PYTHONPATH", slow_blocks_env(tmp_path, 0.08)["PYTHONPATH"])  # a run of several seconds
    args = ["mask", "in.mrcs", "out.mrcs", "--shape", "circular"]
    status, terminal, _ = run_on_a_terminal(args, tmp_path)
    assert status == 0 and "maskrun mask: " in terminal and "% done" in terminal and "ETA" in terminal
    piped = subprocess.run(
        [sys.executable, "-m", "maskrun", *args, "--overwrite"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert piped.returncode == 0 and "% done" not in piped.stderr + piped.stdout
