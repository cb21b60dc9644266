"""``maskrun run`` stopped by SIGTERM, a finished unit's stack edited and given back its size and time, then resumed.

The look: Snakemake kept the unit (its params hold each stack's path, size and modification
time, all as they were), the gather passed it (size and time as the unit read them), and the
launcher hashed the stack anew: run.json recorded the new content's checksum beside a unit
masked from the old content. The stack's change time moved, which no user can set back: the
resume masks that unit again, and the dry run counts it. A stack whose change time alone moved
(``chmod``) keeps its unit: the stopped run's checksum of it, taken as the unit read it, equals
its checksum now.
"""

from __future__ import annotations

import base64
import json
import os
import re
import signal
from pathlib import Path

import blake3
import mrcfile
import pytest

from maskrun.jobs.examples import write_example_particles

from commands import maskrun, output_bytes, start_run, wait_for_units
from job_files import job_with, slow_blocks_env, write_job

STACKS = 6


def _folder(folder: Path) -> Path:
    write_example_particles(folder, n_particles=4 * STACKS, n_stacks=STACKS)
    return write_job(folder, job_with(batch_size=4, report=False))


def _edit_and_give_back_its_times(stack: Path) -> None:
    before = stack.stat()
    with mrcfile.open(stack, "r+") as mrc:
        mrc.data[0] *= -1
    os.utime(stack, ns=(before.st_atime_ns, before.st_mtime_ns))  # touch -r (or cp -p of an edited copy)
    assert (stack.stat().st_size, stack.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)


def _records(out: Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in sorted((out / "provenance").glob("batch_*.json"))}


def _stopped(tmp_path: Path) -> tuple[Path, Path, dict[str, dict], str]:
    """A run stopped by SIGTERM once two units are done: its job, output folder, unit records, and the unit done
    first (Snakemake recorded it whole: the second may be marked unfinished, and is masked again)."""
    job = _folder(tmp_path / "resumed")
    out = job.parent / "results" / "t"
    process = start_run(job, env=slow_blocks_env(tmp_path, 0.5))
    wait_for_units(out, 2, process)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 143, err
    done = _records(out)
    return job, out, done, min(done, key=lambda name: done[name]["end"])


def _masked_by_the_dry_run(job: Path) -> int:
    dry = maskrun("run", job, "--cores", "1", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    return int(re.search(r"mask_batch (\d+)", dry.stdout).group(1))


@pytest.mark.parametrize("change", ["touch -r", "chmod"])
def test_a_finished_units_stack_changed_at_its_size_and_time_before_the_resume(tmp_path, change):
    job, out, done, unit = _stopped(tmp_path)
    stack = Path(done[unit]["inputs"][0])
    if change == "touch -r":
        _edit_and_give_back_its_times(stack)
    else:
        os.chmod(stack, 0o600)
    masked = _masked_by_the_dry_run(job)
    proc = maskrun("run", job, "--cores", "1")
    assert proc.returncode == 0, proc.stderr
    now = _records(out)
    masked_again = now[unit]["end"] != done[unit]["end"]
    assert masked_again == (change == "touch -r"), proc.stderr
    redone = [name for name in done if now[name]["end"] != done[name]["end"]]
    assert masked == STACKS - len(done) + len(redone)  # the dry run counted what the run masked
    inputs = json.loads((out / "provenance" / "run.json").read_text())["inputs"]
    entry = next(e for e in inputs if e["path"] == str(stack))
    assert entry["blake3"] == blake3.blake3(stack.read_bytes()).hexdigest()
    if change == "touch -r":
        said = f"masks again 1 unit a stopped run had finished, as what they read is not what is there now ({unit}: "
        assert said in proc.stderr, proc.stderr
        fresh = _folder(tmp_path / "fresh")
        _edit_and_give_back_its_times(tmp_path / "fresh" / "Extract" / stack.name)
        assert maskrun("run", fresh, "--cores", "1").returncode == 0
        assert output_bytes(out) == output_bytes(fresh.parent / "results" / "t")


def test_the_dry_run_counts_a_unit_a_kill_left_unfinished_in_snakemakes_eyes(tmp_path):
    """A kill between a unit's record and Snakemake's own note that the job ended leaves Snakemake's mark of a job
    started, not finished (``.snakemake/incomplete/``): the resume masks that unit again, and the dry run, given
    Snakemake's metadata alone, counted one unit fewer."""
    job, out, done, unit = _stopped(tmp_path)
    marks = out / ".snakemake" / "incomplete"
    output = out / "stacks" / f"{unit}.mrcs"
    marks.mkdir(parents=True, exist_ok=True)
    (marks / base64.urlsafe_b64encode(str(output).encode()).decode()).write_text('{"external_jobid": null}')
    masked = _masked_by_the_dry_run(job)
    proc = maskrun("run", job, "--cores", "1")
    assert proc.returncode == 0, proc.stderr
    now = _records(out)
    redone = [name for name in done if now[name]["end"] != done[name]["end"]]
    assert unit in redone and masked == STACKS - len(done) + len(redone)
