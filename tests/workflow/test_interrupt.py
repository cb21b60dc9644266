"""Ctrl-C stops `maskrun run` the same way whoever gets the SIGINT: maskrun alone, or its whole group.

A terminal's Ctrl-C signals the foreground process group (maskrun, and a ``| tee``); ``kill
-INT -- -PGID`` does the same; ``kill -INT PID`` signals maskrun alone, and a shell's ``&``
starts maskrun with SIGINT ignored. Each ends with exit status 130 and one line, no
traceback, no partial final-named file, and the same command then finishes the job with
the bytes of an uninterrupted run. Ctrl-Z pauses the whole run, and fg continues it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import signal
import subprocess
import sys
import termios
import time
from pathlib import Path

import mrcfile
import pytest

from commands import maskrun, output_bytes, start_run, wait_for_units
from job_files import example_folder, job_with, slow_blocks_env, write_job

BATCHES = 20
STOPPED = "maskrun run: interrupted; run the same command again to finish the missing units"


def job_in(folder: Path) -> Path:
    example_folder(folder, particles=BATCHES * 6, maps=0)  # the same seed: the same inputs
    return write_job(folder, job_with(batch_size=6, fill={"with": "avg"}))


def run(job: Path) -> subprocess.CompletedProcess:
    return maskrun("run", job, "--cores", "1", timeout=600)


@pytest.fixture(scope="module")
def expected(tmp_path_factory):
    """The outputs of the job run once without interruption."""
    folder = tmp_path_factory.mktemp("reference")
    proc = run(job_in(folder))
    assert proc.returncode == 0, proc.stderr
    return output_bytes(folder / "results" / "t")


def ignore_sigint() -> None:
    """What a shell's ``&`` does to a command it starts in the background (without job control)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def on_a_terminal(follower: int):
    def become_its_session() -> None:  # a session whose controlling terminal is the pty, in the foreground
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    return become_its_session


def left_running(marker: str, seconds: float = 5) -> list[int]:
    """Processes (not zombies) whose environment holds ``marker``, once those being killed are gone."""
    deadline = time.monotonic() + seconds
    while True:
        alive = []
        for environ in Path("/proc").glob("[0-9]*/environ"):
            try:
                if marker.encode() in environ.read_bytes():
                    alive.append(int(environ.parent.name))
            except OSError:  # gone, or not ours
                pass
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.05)


@pytest.mark.system
@pytest.mark.parametrize("to", ["group, started by &", "pid, started by &", "terminal's ctrl-c"])
def test_sigint_stops_the_run_with_one_line_and_the_same_command_finishes(tmp_path, expected, to):
    job = job_in(tmp_path)
    out = tmp_path / "results" / "t"
    leader, follower = pty.openpty() if "terminal" in to else (None, None)
    process = subprocess.Popen(
        [sys.executable, "-m", "maskrun", "run", str(job), "--cores", "1"],
        stdin=follower,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # a run of some seconds: each unit at least 0.25 s, so that a VM stalling this test's process for a few
        # seconds after it saw 2 units done does not see all 20 done by the time its signal lands (CI, once, at 0.05)
        env=slow_blocks_env(tmp_path, 0.25),
        start_new_session=True,  # its own process group, as a shell's job
        preexec_fn=on_a_terminal(follower) if follower is not None else ignore_sigint,
    )
    try:
        wait_for_units(out, 2, process)
        if leader is not None:
            os.write(leader, b"\x03")  # Ctrl-C: the terminal signals its foreground group
        elif to.startswith("group"):
            os.killpg(process.pid, signal.SIGINT)
        else:
            process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=120)
    finally:
        for fd in (leader, follower):
            if fd is not None:
                os.close(fd)
    assert process.returncode == 130, stderr
    assert stderr.splitlines() == [STOPPED] and stdout == ""
    assert not left_running(str(tmp_path / "hook"))  # Snakemake, its units and their workers are gone
    assert not list(out.rglob(".*.part-*")) and not (out / ".maskrun.lock").exists()
    assert not list((out / ".snakemake" / "locks").glob("*"))
    for stack in (out / "stacks").glob("*.mrcs"):
        with mrcfile.open(stack) as mrc:
            assert mrc.data.shape == (6, 64, 64), stack
    done = {p.stem for p in (out / "provenance").glob("batch_*.json")}
    assert 2 <= len(done) < BATCHES
    for log in (out / "logs").glob("batch_*.log"):  # an interrupted unit is not done, not failed
        text = log.read_text()
        assert "Traceback" not in text and "KeyboardInterrupt" not in text, text
        assert log.stem in done or f"interrupted {log.stem}: not done; the next run does it" in text, text
    resumed = run(job)
    assert resumed.returncode == 0, resumed.stderr
    assert output_bytes(out) == expected


def states(marker: str) -> dict[int, str]:
    """The state (R, S, T...) of each process whose environment holds ``marker``."""
    found = {}
    for pid in left_running(marker, seconds=0):
        with contextlib.suppress(OSError):  # gone
            found[pid] = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    return found


@pytest.mark.system
def test_ctrl_z_pauses_snakemake_and_its_units_with_maskrun_and_fg_continues_them(tmp_path, expected):
    job = job_in(tmp_path)
    out = tmp_path / "results" / "t"
    marker = str(tmp_path / "hook")
    process = start_run(job, env=slow_blocks_env(tmp_path, 0.05), new_session=True)
    try:
        wait_for_units(out, 2, process)
        os.killpg(process.pid, signal.SIGTSTP)  # what the terminal does on Ctrl-Z
        time.sleep(0.5)
        paused = states(marker)
        assert len(paused) >= 3 and set(paused.values()) == {"T"}, paused  # maskrun, Snakemake, the units' server...
        done = len(list((out / "provenance").glob("batch_*.json")))
        time.sleep(1)
        assert len(list((out / "provenance").glob("batch_*.json"))) == done
    except BaseException:
        process.kill()  # a stopped maskrun would stay; what it started dies with it
        process.communicate()
        raise
    os.killpg(process.pid, signal.SIGCONT)  # fg or bg
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr
    assert output_bytes(out) == expected


def _run_with_a_slow_step(tmp_path: Path, job: Path, step: str, after: bool) -> subprocess.Popen:
    """``maskrun run JOB`` started with ``step`` (``maskrun.report.build.build_report``, say) held a minute, after it
    ran or before."""
    module, _, name = step.rpartition(".")
    hook = tmp_path / "hook"
    hook.mkdir()
    body = "    made = real(*args, **kwargs)\n    time.sleep(60)\n    return made\n"
    if not after:
        body = "    time.sleep(60)\n    return real(*args, **kwargs)\n"
    (hook / "sitecustomize.py").write_text(
        f"import time\nimport {module} as held\nreal = held.{name}\n"
        f"def {name}(*args, **kwargs):\n{body}held.{name} = {name}\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(hook), os.environ.get("PYTHONPATH")]))}
    command = [sys.executable, "-m", "maskrun", "run", str(job), "--cores", "1"]
    return subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _terminated_in(process: subprocess.Popen, log: Path) -> str:
    """SIGTERM to the run once ``log`` (its step's) is there; its stderr, the run having ended with 143."""
    deadline = time.monotonic() + 120
    while not log.exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.1)
    assert log.exists(), process.communicate()[1][-2000:]
    time.sleep(0.5)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 143, err
    return err


@pytest.mark.system  # a run and its report end to end, then a rerun (10 s): CI runs it (pytest -m system)
def test_a_ctrl_c_as_the_run_ends_says_every_output_is_written(tmp_path):
    """A new user's look: a SIGINT while the report step was ending gave 'interrupted; run the same command again
    to finish the missing units', though every output, the report too, was written and the rerun had nothing to
    do."""
    example_folder(tmp_path, particles=12, maps=0)
    job = write_job(tmp_path, job_with(batch_size=6))
    process = _run_with_a_slow_step(tmp_path, job, "maskrun.report.build.build_report", after=True)  # it lingers
    html = tmp_path / "results" / "t" / "report" / "report.html"
    deadline = time.monotonic() + 120
    while not html.exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.1)
    assert html.exists(), process.communicate()[1][-2000:]
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert err.strip().splitlines()[-1] == (
        "maskrun run: interrupted as the run ended: every output is written; the same command finds nothing to do"
    )
    again = maskrun("run", job, "--cores", "1")
    assert again.returncode == 0 and "nothing to do" in again.stdout, again.stderr


@pytest.mark.system  # a run stopped in its report step, then a rerun (15 s)
def test_a_sigterm_while_the_report_is_drawn_is_logged_and_the_rerun_draws_it_with_a_whole_log(tmp_path):
    """The folders look: SIGTERM while the report step drew the report left ``logs/report.log`` holding only
    "start report" (as if it still ran), and the run said to 'finish the missing units', of which there were none."""
    example_folder(tmp_path, particles=12, maps=0)
    job = write_job(tmp_path, job_with(batch_size=6))
    process = _run_with_a_slow_step(tmp_path, job, "maskrun.report.build.build_report", after=False)  # slow to draw
    out = tmp_path / "results" / "t"
    log = out / "logs" / "report.log"
    err = _terminated_in(process, log)
    assert err.strip().splitlines()[-1] == (
        "maskrun run: terminated while drawing the report: every other output is written; run the same command "
        "again to draw it"
    )
    lines = log.read_text().splitlines()
    assert len(lines) == 2 and lines[0].endswith(" start report")
    assert lines[1].endswith(" interrupted report: not done; the next run does it")
    assert not [path for path in out.rglob("*") if path.is_file() and "report" in path.parts]  # nothing half-drawn
    again = maskrun("run", job, "--cores", "1")
    assert again.returncode == 0 and "without its report: wrote" in again.stdout, again.stderr
    lines = log.read_text().splitlines()
    assert lines[0].endswith(" start report") and lines[-1].endswith(" done report") and len(lines) == 3
    assert (out / "report" / "report.html").read_bytes().startswith(b"<!doctype html>")


@pytest.mark.system  # a run stopped in its gather, then a rerun (15 s)
def test_a_sigterm_while_gathering_says_the_rerun_gathers_not_that_units_are_missing(tmp_path):
    """SIGTERM in the gather, every unit masked, said 'run the same command again to finish the missing units':
    there were none."""
    example_folder(tmp_path, particles=12, maps=0)
    job = write_job(tmp_path, job_with(batch_size=6))
    process = _run_with_a_slow_step(tmp_path, job, "maskrun.jobs.runner.gather", after=False)
    err = _terminated_in(process, tmp_path / "results" / "t" / "logs" / "gather.log")
    assert err.strip().splitlines()[-1] == (
        "maskrun run: terminated while gathering: every unit is masked; run the same command again to gather them "
        "(it masks none again)"
    )
    again = maskrun("run", job, "--cores", "1")
    assert again.returncode == 0 and "(2 of the batches masked by an earlier run)" in again.stdout, again.stderr
