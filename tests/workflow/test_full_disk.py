"""A full disk (or disk quota) during a run or a command: one line naming the file, exit 1, no traceback.

The disk fills by a writer made to raise ``ENOSPC`` as a full device does (fast, and the
same on every machine), in maskrun and in the Snakemake processes it starts. What a run
did before stays, and the same command resumes it; nothing is left under a final name.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from maskrun.cli.main import main
from maskrun.errors import RunFailure
from maskrun.io.mrc_writer import MrcStreamWriter
from maskrun.jobs.examples import write_example_maps
from maskrun.jobs.plan import plan_job
from maskrun.jobs.runner import run_job
from maskrun.workflow.launch import _failed

from job_files import example_folder, finished_particle_job, job_with, write_job

# a sitecustomize.py whose disk is full when batch_00002's stack is written (in Snakemake's processes too)
FULL_DISK_AT_BATCH_2 = """
import errno, os
import maskrun.io.mrc_writer as mrc_writer
real = mrc_writer.MrcStreamWriter.write_rows
def write_rows(self, first_row, block):
    if self.path.name == "batch_00002.mrcs":
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # as os.pwrite raises it: naming no file
    return real(self, first_row, block)
mrc_writer.MrcStreamWriter.write_rows = write_rows
"""

FREE = r"\(\d+(\.\d)? MB free\)"


def _full_disk_env(folder: Path) -> dict[str, str]:
    hook = folder / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(FULL_DISK_AT_BATCH_2)
    # the hook first, then what was there (a worktree's maskrun over the installed one)
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(hook), os.environ.get("PYTHONPATH")]))}


def _one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr and "  | " not in stderr, stderr
    return lines[0]


def test_a_full_disk_in_a_unit_ends_the_run_in_one_line_and_the_same_command_resumes(tmp_path):
    example_folder(tmp_path, particles=30, maps=0)
    job = write_job(tmp_path, job_with(batch_size=10, report=False))
    out = tmp_path / "results" / "t"
    command = [sys.executable, "-m", "maskrun", "run", str(job), "--cores", "1", "--", "--keep-going"]
    full = subprocess.run(command, capture_output=True, text=True, timeout=300, env=_full_disk_env(tmp_path))
    assert full.returncode == 1  # units were written: not 2, which says nothing was
    assert re.fullmatch(
        rf"maskrun run: failed: {out}/stacks/batch_00002\.mrcs: no space left on its device {FREE}; free some and "
        rf"run again: the run resumes where it stopped; 1 unit failed \(log: {out}/logs/batch_00002\.log\)",
        _one_line(full.stderr),
    )
    last = (out / "logs" / "batch_00002.log").read_text().splitlines()[-1]  # "<time> failed: ...", for the run
    assert last.split(" ", 1)[1].startswith(f"failed: {out}/stacks/batch_00002.mrcs: no space left on its device")
    assert not (out / "stacks" / "batch_00002.mrcs").exists() and not list(out.rglob(".*.part-*"))
    done = {name: (out / "provenance" / name).stat().st_mtime_ns for name in ("batch_00001.json", "batch_00003.json")}

    resumed = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert {name: (out / "provenance" / name).stat().st_mtime_ns for name in done} == done  # not masked again
    assert (out / "stacks" / "batch_00002.mrcs").exists() and (out / "provenance" / "run.json").exists()


@pytest.mark.parametrize("kind", ["particles", "maps"])
def test_no_space_check_refuses_a_run_once_its_units_write(tmp_path, monkeypatch, kind):
    """The run checked its whole output's room before it started; a unit's or the gather's check after other units
    wrote (a map's, the saved mask's) would call the disk filled since a mistake in the request, exit 2."""
    if kind == "particles":
        example_folder(tmp_path, particles=20, maps=0)
        job = write_job(tmp_path, job_with(batch_size=10, report=False))
    else:
        write_example_maps(tmp_path, n_maps=2)
        job = write_job(
            tmp_path,
            job_with(
                inputs__particles=None, inputs__volumes="maps/*.mrc", mask__geometry={"shape": "sphere", "radius": 20}
            ),
        )
    monkeypatch.setattr("maskrun.jobs.runner.check_room", lambda plan: None)  # passed; the disk filled since
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(
        "maskrun.io.output_space.shutil.disk_usage", lambda path: usage._replace(free=1_000_000)
    )  # room for what is left, not for the margin a run needs to start
    summary = run_job(job)
    assert (summary.output_dir / "provenance" / "run.json").exists()


@pytest.mark.parametrize(
    "engine_log,free,said",
    [
        (
            "WorkflowError:\nError recording metadata for finished job ([Errno 28] No space left on device). Please "
            "ensure write permissions for the directory {out}/.snakemake\n",
            2_000_000,
            r"{out}/\.snakemake: no space left on its device \(2\.0 MB free\); free some and run again: the run "
            r"resumes where it stopped; 2 of 2 units done, none failed \(see {log}\)",
        ),
        (
            "Error in rule gather:\n    message: None\n",
            0,
            r"{out}: no space left on its device \(0\.0 MB free\); free some and run again: the run resumes where it "
            r"stopped; 2 of 2 units done, none failed \(see {log}\)",
        ),
        (
            "Error in rule gather:\n    message: None\n",
            10**12,
            r"snakemake exited with status 1; 2 of 2 units done, none failed \(see {log}\)",
        ),
    ],
    ids=["snakemake's-own-files", "no-log-written", "not-the-disk"],
)
def test_a_workflow_failing_after_its_units_names_a_full_disk_and_counts_the_units_done(
    tmp_path, monkeypatch, capsys, engine_log, free, said
):
    """Snakemake's own ENOSPC (its metadata), once every unit was done: not "no unit started"."""
    _, job, out = finished_particle_job(tmp_path)  # 2 units, their records there
    (out / "provenance" / "run.json").unlink()
    log = out / "logs" / "snakemake.log"
    log.parent.mkdir()
    log.write_text(engine_log.format(out=out))
    usage = shutil.disk_usage(out)
    monkeypatch.setattr("maskrun.workflow.launch.shutil.disk_usage", lambda path: usage._replace(free=free))
    with pytest.raises(RunFailure) as failure:
        _failed(plan_job(job), 1, time.time() + 1, log)  # the units' logs are older than this attempt
    assert re.fullmatch(said.format(out=out, log=log), str(failure.value)), str(failure.value)


def test_a_unit_whose_log_took_no_line_on_a_full_disk_is_told_by_the_line_its_process_printed(tmp_path):
    """The unit's process printed its line to Snakemake's log; the unit's own log stayed empty (Snakemake made it)."""
    _, job, out = finished_particle_job(tmp_path)
    for name in ("run.json", "batch_00002.json"):
        (out / "provenance" / name).unlink()
    (out / "logs").mkdir()
    (out / "logs" / "batch_00002.log").write_text("")
    line = (
        f"{out}/stacks/batch_00002.mrcs: no space left on its device (0.1 MB free); free some and run again: the run "
        "resumes where it stopped"
    )
    log = out / "logs" / "snakemake.log"
    log.write_text(
        f"maskrun: error: {line}\n[Sat Dec  5]\nError in rule mask_batch:\n    message: None\n    jobid: 2\n"
    )
    with pytest.raises(RunFailure) as failure:
        _failed(plan_job(job), 1, time.time() - 5, log)
    assert str(failure.value) == f"{line}; 1 unit failed (log: {out}/logs/batch_00002.log)"


def test_a_full_disk_ends_make_mask_in_one_line_naming_the_file(tmp_path, monkeypatch, capsys):
    """As ``maskrun mask`` (tests/jobs/test_reliability.py), through its own writer."""

    def write_rows(self, first_row, block):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(MrcStreamWriter, "write_rows", write_rows)
    out = tmp_path / "mask.mrc"
    assert main(["make-mask", str(out), "--shape", "sphere", "--box", "16"]) == 1
    line = _one_line(capsys.readouterr().err)
    assert re.fullmatch(
        rf"maskrun make-mask: failed: {out}: no space left on its device {FREE}; free some and run it again", line
    ), line
    assert list(tmp_path.iterdir()) == []  # nothing under a final name, no part file


def test_a_full_disk_while_writing_an_example_names_the_file_it_would_be(tmp_path, monkeypatch, capsys):
    import maskrun.jobs.examples as examples

    def write_mrc_on_a_full_disk(path, data, stack):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))  # the hidden staging folder's file

    monkeypatch.setattr(examples, "_write_mrc", write_mrc_on_a_full_disk)
    assert main(["example", "particles", "--write", str(tmp_path / "ex")]) == 1
    line = _one_line(capsys.readouterr().err)
    assert re.fullmatch(
        rf"maskrun example: failed: {tmp_path}/ex/Extract/mic_001\.mrcs: no space left on its device {FREE}; "
        r"free some and run it again",
        line,
    ), line
    assert list((tmp_path / "ex").iterdir()) == []


def test_a_unit_failing_for_another_reason_on_a_nearly_full_disk_is_not_blamed_on_it(tmp_path, monkeypatch, capsys):
    """Its traceback says why: the device's free space (here none) names the cause only of a failure without a word."""
    _, job, out = finished_particle_job(tmp_path)
    for name in ("run.json", "batch_00002.json"):
        (out / "provenance" / name).unlink()
    (out / "logs").mkdir()
    unit_log = out / "logs" / "batch_00002.log"
    unit_log.write_text("t start batch_00002\nTraceback (most recent call last):\nRuntimeError: a unit failing\n")
    usage = shutil.disk_usage(out)
    monkeypatch.setattr("maskrun.workflow.launch.shutil.disk_usage", lambda path: usage._replace(free=0))
    with pytest.raises(RunFailure) as failure:
        _failed(plan_job(job), 1, time.time() - 5, None)
    assert str(failure.value) == f"snakemake exited with status 1; 1 unit failed (log: {unit_log})"
    assert "  | RuntimeError: a unit failing" in capsys.readouterr().err  # its log's end, shown


def _file_size_limit(limit_bytes: int):
    """A ``preexec_fn`` setting the child's file-size limit, as ``ulimit -f`` does in its shell."""
    import resource

    return lambda: resource.setrlimit(
        resource.RLIMIT_FSIZE, (limit_bytes, resource.getrlimit(resource.RLIMIT_FSIZE)[1])
    )


def test_a_file_size_limit_in_a_unit_ends_the_run_in_one_line_naming_the_limit(tmp_path):
    """The trust look: ``(ulimit -f 200; maskrun run JOB)`` ended on a traceback's ``OSError: [Errno 27] File too
    large: '…/stacks/batch_00002.mrcs'`` and "snakemake exited with status 1; 2 units failed"."""
    example_folder(tmp_path, particles=20, maps=0)
    job = write_job(tmp_path, job_with(batch_size=10, report=False))  # 10 particles of 64²: 160 KB a stack
    proc = subprocess.run(
        [sys.executable, "-m", "maskrun", "run", str(job), "--cores", "1"],
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=_file_size_limit(100_000),
    )
    out = tmp_path / "results" / "t"
    assert proc.returncode == 1
    line = _one_line(proc.stderr)
    assert re.fullmatch(
        rf"maskrun run: failed: {out}/stacks/batch_0000\d\.mrcs: larger than this session's file-size limit \(0\.1 MB: "
        r"ulimit -f\); raise it \(ulimit -f unlimited\) or use a smaller batch_size, and run again: the run resumes "
        rf"where it stopped; 1 unit failed \(log: {out}/logs/batch_0000\d\.log\)",
        line,
    ), line
    assert not list(out.rglob(".*.part-*")) and not list((out / "stacks").glob("*.mrcs"))


def test_a_file_size_limit_in_mask_is_one_line_naming_the_file_and_the_limit(tmp_path):
    """The trust look: ``maskrun mask`` under ``ulimit -f 200`` said ``failed: [Errno 27] File too large:
    'mk/q.mrcs'``."""
    stack = tmp_path / "in.mrcs"
    with MrcStreamWriter(stack, (20, 64, 64), "stack", (1.0, 1.0, 1.0)) as writer:
        writer.write(np.zeros((20, 64, 64), np.float32))
    output = tmp_path / "out.mrcs"
    proc = subprocess.run(
        [sys.executable, "-m", "maskrun", "mask", str(stack), str(output), "--shape", "circular"],
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=_file_size_limit(100_000),
    )
    assert proc.returncode == 1
    assert _one_line(proc.stderr) == (
        f"maskrun mask: failed: {output}: larger than this session's file-size limit (0.1 MB: ulimit -f); raise it "
        "(ulimit -f unlimited) and run it again"
    )
    assert sorted(tmp_path.iterdir()) == [stack]


def test_a_file_too_large_for_its_file_system_says_so_without_a_size_limit(monkeypatch):
    import resource

    from maskrun.io.output_space import no_space_failure

    monkeypatch.setattr(resource, "getrlimit", lambda which: (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    failure = no_space_failure(OSError(errno.EFBIG, "File too large", "/mnt/usb/s.mrcs"), smaller="use a smaller X")
    assert str(failure) == (
        "/mnt/usb/s.mrcs: larger than its file system takes in one file (FAT32, say, holds files up to 4 GB); write "
        "it to another file system or use a smaller X, and run it again"
    )
