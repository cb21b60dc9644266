"""A killed run resumes by itself: SIGKILL at random moments, SIGTERM and SIGINT, two runs at once.

After every kill, no final-named file is truncated or invalid, and the plain command run
again finishes the job with outputs byte-identical to an uninterrupted run. CI kills at
5 random moments; ``pytest -m slow`` at 20 more (MASKRUN_KILLS sets how many).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import mrcfile
import numpy as np
import pytest

from commands import maskrun, output_bytes, wait_for_units
from conftest import write_mrc
from job_files import example_folder, job_with, slow_blocks_env, write_job

BATCHES = 20


def start(job: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "maskrun", "run", str(job), "--cores", "1", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run(job: Path) -> subprocess.CompletedProcess:
    return maskrun("run", job, "--cores", "1", timeout=600)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The example job in 20 batches, run once without interruption."""
    folder = tmp_path_factory.mktemp("reference")
    example_folder(folder, particles=BATCHES * 6, maps=0)
    job = write_job(folder, job_with(batch_size=6, fill={"with": "avg"}))
    proc = run(job)
    assert proc.returncode == 0, proc.stderr
    return folder, output_bytes(folder / "results" / "t")


def fresh_copy(reference_folder: Path, into: Path) -> Path:
    example_folder(into, particles=BATCHES * 6, maps=0)  # the same seed: the same inputs
    return write_job(into, job_with(batch_size=6, fill={"with": "avg"}))


def assert_final_files_whole(out: Path) -> None:
    """Every file under its final name is complete: stacks open and validate, records parse."""
    for stack in (out / "stacks").glob("*.mrcs") if (out / "stacks").is_dir() else []:
        with mrcfile.open(stack) as mrc:
            assert mrc.data.shape == (6, 64, 64), stack
    for record in (out / "provenance").glob("*.json") if (out / "provenance").is_dir() else []:
        json.loads(record.read_text())
    if (out / "particles.star").exists():
        assert (out / "provenance" / "run.json").exists()  # metadata only with a finished run record


def kill_moments(count: int, seed: int) -> list[float]:
    rng = random.Random(seed)
    return sorted(rng.uniform(0.3, 6.0) for _ in range(count))


def kill_and_resume(tmp_path: Path, reference, delay: float) -> None:
    folder, expected = reference
    job = fresh_copy(folder, tmp_path)
    process = start(job)
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)  # a node dying, or SLURM past its grace time
    process.wait(timeout=60)
    process.stdout.close()  # not read: what a killed run printed does not matter
    process.stderr.close()
    out = tmp_path / "results" / "t"
    if out.exists():
        assert_final_files_whole(out)
    resumed = run(job)
    assert resumed.returncode == 0, resumed.stderr
    assert not list(out.rglob(".*.part-*"))
    assert output_bytes(out) == expected
    assert not (out / ".maskrun.lock").exists()


@pytest.mark.system
@pytest.mark.parametrize("delay", kill_moments(5, seed=int(os.environ.get("MASKRUN_KILL_SEED", "7"))))
def test_sigkill_at_any_moment_then_the_same_command_finishes(tmp_path, reference, delay):
    kill_and_resume(tmp_path, reference, delay)


@pytest.mark.slow
@pytest.mark.parametrize("delay", kill_moments(int(os.environ.get("MASKRUN_KILLS", "20")), seed=11))
def test_sigkill_many_more_moments(tmp_path, reference, delay):
    kill_and_resume(tmp_path, reference, delay)


@pytest.mark.system
@pytest.mark.parametrize(
    "signum,status,word",
    [(signal.SIGTERM, 143, "terminated"), (signal.SIGINT, 130, "interrupted"), (signal.SIGHUP, 129, "hung up")],
)
def test_sigterm_and_sigint_stop_cleanly_and_resume(tmp_path, reference, signum, status, word):
    folder, expected = reference
    job = fresh_copy(folder, tmp_path)
    out = tmp_path / "results" / "t"
    process = start(job)
    wait_for_units(out, 2, process)
    process.send_signal(signum)  # to maskrun alone, as SLURM's scancel or a kill would
    _, err = process.communicate(timeout=120)
    assert process.returncode == status, err
    assert f"maskrun run: {word}; run the same command again" in err and "Traceback" not in err
    assert not list(out.rglob(".*.part-*")) and not (out / ".maskrun.lock").exists()
    assert_final_files_whole(out)
    resumed = run(job)
    assert resumed.returncode == 0, resumed.stderr
    assert output_bytes(out) == expected


def test_a_second_run_of_the_same_job_is_refused_naming_the_first(tmp_path):
    example_folder(tmp_path, particles=600, maps=0)
    job = write_job(tmp_path, job_with(batch_size=6))
    out = tmp_path / "results" / "t"
    first = start(job)
    try:
        deadline = time.monotonic() + 60
        while not (out / ".maskrun.lock").exists():
            assert first.poll() is None and time.monotonic() < deadline
            time.sleep(0.01)
        first.send_signal(signal.SIGSTOP)  # held, lock and all: on a loaded machine it could finish before the second
        second = run(job)
        assert second.returncode == 2
        lines = second.stderr.strip().splitlines()
        assert len(lines) == 1 and f"another maskrun run is working in this output folder (PID {first.pid}" in lines[0]
    finally:
        first.send_signal(signal.SIGCONT)
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=120)


def test_a_stale_lock_is_taken_over_with_a_note(tmp_path):
    example_folder(tmp_path, particles=12, maps=0)
    job = write_job(tmp_path, job_with(batch_size=6))
    out = tmp_path / "results" / "t"
    out.mkdir(parents=True)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    (out / ".maskrun.lock").write_text(
        json.dumps({"pid": gone.pid, "host": os.uname().nodename, "started": "2026-01-01 00:00:00", "job": str(job)})
    )
    (out / "stacks").mkdir()
    (out / "stacks" / ".batch_00001.mrcs.part-99999").write_bytes(b"half a stack")
    proc = run(job)
    assert proc.returncode == 0, proc.stderr
    assert f"a killed run (PID {gone.pid} on {os.uname().nodename}" in proc.stderr
    assert not list(out.rglob(".*.part-*")) and not (out / ".maskrun.lock").exists()


def test_snakemakes_lock_left_by_a_killed_run_whose_lock_was_deleted_is_cleared(tmp_path):
    """The cluster look: a launcher killed on another host; its lock deleted as maskrun advises; every rerun then
    failed on Snakemake's own stale lock (LockException), and ``-- --unlock`` is refused."""
    example_folder(tmp_path, particles=12, maps=0)
    job = write_job(tmp_path, job_with(batch_size=6))
    out = tmp_path / "results" / "t"
    locks = out / ".snakemake" / "locks"
    locks.mkdir(parents=True)
    (locks / "0.output.lock").write_text(f"{out / 'particles.star'}\n{out / 'stacks' / 'batch_00001.mrcs'}\n")
    (locks / "0.input.lock").write_text(f"{job}\n")
    proc = run(job)
    assert proc.returncode == 0, proc.stderr
    assert "a killed run left Snakemake's lock in this output folder" in proc.stderr
    assert (out / "provenance" / "run.json").exists() and not list(locks.glob("*"))


def test_a_lock_from_another_host_says_how_to_force_it(tmp_path):
    example_folder(tmp_path, particles=12, maps=0)
    job = write_job(tmp_path, job_with(batch_size=6))
    out = tmp_path / "results" / "t"
    out.mkdir(parents=True)
    (out / ".maskrun.lock").write_text(json.dumps({"pid": 1, "host": "node-elsewhere", "started": "then"}))
    proc = run(job)
    assert proc.returncode == 2
    assert "PID 1 on node-elsewhere" in proc.stderr and f"delete {out}/.maskrun.lock and run again" in proc.stderr


def _ignoring_sighup() -> None:
    signal.signal(signal.SIGHUP, signal.SIG_IGN)


def test_under_nohup_a_hangup_does_not_stop_a_run(tmp_path):
    """``nohup maskrun run JOB &`` then logging out: maskrun's own SIGHUP handler ended the run ("hung up")."""
    example_folder(tmp_path, particles=24, maps=0)
    job = write_job(tmp_path, job_with(batch_size=6))
    env = slow_blocks_env(tmp_path, 0.3)  # each unit's blocks take seconds
    process = subprocess.Popen(
        [sys.executable, "-m", "maskrun", "run", str(job), "--cores", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=_ignoring_sighup,  # what nohup does
    )
    time.sleep(0.1)  # SIGHUP at once, as the module imports, and once the units run
    process.send_signal(signal.SIGHUP)
    wait_for_units(tmp_path / "results" / "t", 1, process)
    process.send_signal(signal.SIGHUP)
    _, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    assert "hung up" not in err and (tmp_path / "results" / "t" / "provenance" / "run.json").is_file()


@pytest.mark.parametrize(
    "signum,status,word",
    [(signal.SIGTERM, 143, "terminated"), (signal.SIGINT, 130, "interrupted"), (signal.SIGHUP, 129, "hung up")],
)
def test_maskrun_mask_stops_cleanly_on_signals(tmp_path, signum, status, word):
    stack = write_mrc(tmp_path / "in.mrcs", np.zeros((400, 64, 64), np.float32))
    env = slow_blocks_env(tmp_path, 0.02)  # a run of seconds
    process = subprocess.Popen(
        [sys.executable, "-m", "maskrun", "mask", str(stack), str(tmp_path / "out.mrcs"), "--shape", "circular"],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".out.mrcs.part-*")):
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)
    process.send_signal(signum)
    _, err = process.communicate(timeout=60)
    assert process.returncode == status and err.strip().splitlines()[-1] == f"maskrun mask: {word}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hook", "in.mrcs"]


def test_a_finished_runs_missing_report_drawn_by_the_next_run_writes_its_log(tmp_path, capsys):
    """The trust look: after SIGTERM or SIGINT during the gather, the next run drew the report ("had finished …
    without its report: wrote …") but wrote no ``logs/report.log``, which the report step writes (every step has
    its log)."""
    from maskrun.cli.main import main
    from maskrun.jobs.runner import run_job

    example_folder(tmp_path, particles=20, maps=0)
    job = write_job(tmp_path, job_with(batch_size=10))  # with a report (the default)
    out = run_job(job).output_dir  # finished, its report not drawn: as a run stopped once its gather was done
    assert not (out / "report").exists() and not (out / "logs" / "report.log").exists()
    assert main(["run", str(job), "--cores", "1"]) == 0
    assert "without its report: wrote" in capsys.readouterr().out
    lines = (out / "logs" / "report.log").read_text().splitlines()
    assert lines[0].endswith(" start report") and lines[-1].endswith(" done report")
    assert lines[1:-1] == [f"wrote {out / 'report' / 'report.html'} (0 warnings)"]


def test_a_missing_report_stopped_by_sigterm_as_it_is_drawn_logs_that_it_was_stopped(tmp_path, capsys, monkeypatch):
    from maskrun.cli.main import main
    from maskrun.errors import Terminated
    from maskrun.jobs.runner import run_job
    from maskrun.report import build

    example_folder(tmp_path, particles=20, maps=0)
    job = write_job(tmp_path, job_with(batch_size=10))
    out = run_job(job).output_dir

    def stopped(plan):
        raise Terminated(signal.SIGTERM)

    monkeypatch.setattr(build, "build_report", stopped)
    assert main(["run", str(job), "--cores", "1"]) == 143
    assert capsys.readouterr().err == "maskrun run: terminated\n"
    lines = (out / "logs" / "report.log").read_text().splitlines()
    assert len(lines) == 2 and lines[1].endswith(" interrupted report: not done; the next run does it")
