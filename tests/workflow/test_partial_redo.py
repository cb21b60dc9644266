"""A redo (``output.overwrite: true``) of the same job whose stacks changed masks only the units that read them.

The folders look: with ten stacks, one edited, a redo masked all ten units again (on a million
particles on a cluster, hours), though nine read nothing that changed. Kept units are skipped by
the resumed run's own machinery; the outputs are those of a fresh run, byte for byte, also when
the redo is killed and run again.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import blake3
import mrcfile
import pytest
import yaml

from maskrun.jobs.examples import write_example_particles

from commands import maskrun, output_bytes
from job_files import job_with, slow_blocks_env, write_job

STACKS = 10


def _folder(folder: Path) -> Path:
    """Ten stacks of 4 particles, one unit each, a job with its report: the job file."""
    write_example_particles(folder, n_particles=4 * STACKS, n_stacks=STACKS)
    return write_job(folder, job_with(batch_size=4))


def _edit_stack(folder: Path) -> None:
    """The fourth stack's first image negated in place (its size kept), as a user's reprocessing would."""
    with mrcfile.open(folder / "Extract" / "mic_004.mrcs", "r+") as mrc:
        mrc.data[0] *= -1


def _with_overwrite(job: Path) -> None:
    written = yaml.safe_load(job.read_text())
    written["output"] = {"overwrite": True}
    job.write_text(yaml.safe_dump(written, sort_keys=False))


def _unit_ends(out: Path) -> dict[str, str]:
    return {p.stem: json.loads(p.read_text())["end"] for p in sorted((out / "provenance").glob("batch_*.json"))}


def _run(job: Path, env=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "maskrun", "run", str(job), "--cores", "2"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


@pytest.fixture
def finished_then_edited(tmp_path):
    """A finished run of the job; then one stack edited, the job given output.overwrite: true; and the outputs of
    a fresh run of the edited inputs in another folder."""
    first = tmp_path / "first"
    job = _folder(first)
    proc = _run(job)
    assert proc.returncode == 0, proc.stderr
    out = first / "results" / "t"
    ends = _unit_ends(out)
    time.sleep(0.01)
    _edit_stack(first)
    _with_overwrite(job)
    fresh = tmp_path / "fresh"
    fresh_job = _folder(fresh)
    _edit_stack(fresh)
    proc = _run(fresh_job)
    assert proc.returncode == 0, proc.stderr
    return job, out, ends, output_bytes(fresh / "results" / "t")


def test_a_redo_after_one_stack_changed_masks_that_unit_only_and_writes_a_fresh_runs_bytes(finished_then_edited):
    job, out, ends, fresh = finished_then_edited
    said = maskrun("validate", job)
    assert said.returncode == 0, said.stderr
    assert f"output.overwrite: true: redoes the finished run in {out}: masks 1 of its 10 units again (batch_00004)" in (
        said.stdout
    )
    dry = maskrun("run", job, "--cores", "2", "--dry-run")
    assert dry.returncode == 0 and "masks 1 of its 10 units again (batch_00004)" in dry.stdout, dry.stderr
    proc = _run(job)
    assert proc.returncode == 0, proc.stderr
    now = _unit_ends(out)
    assert [unit for unit in now if now[unit] != ends[unit]] == ["batch_00004"]
    assert output_bytes(out) == fresh
    record = json.loads((out / "provenance" / "run.json").read_text())
    assert record["resumed"]["units_from_earlier_runs"] == [f"batch_{k:05d}" for k in range(1, 11) if k != 4]
    assert (out / "report" / "report.html").is_file()
    said = maskrun("validate", job)
    assert f"redoes the finished run in {out}: with nothing changed, it only gathers and reports again" in said.stdout
    again = maskrun("run", job, "--cores", "2")  # overwrite: true left in: a redo, of nothing changed
    assert again.returncode == 0 and "(10 of the batches masked by an earlier run)" in again.stdout, again.stderr
    assert _unit_ends(out) == now and output_bytes(out) == fresh


@pytest.mark.system  # a redo killed as its unit masks, then the same command (20 s)
def test_a_redo_killed_as_it_masks_then_run_again_keeps_the_same_units_and_writes_the_same_bytes(
    finished_then_edited, tmp_path
):
    job, out, ends, fresh = finished_then_edited
    env = slow_blocks_env(tmp_path, 3)  # the redone unit's blocks take seconds
    process = subprocess.Popen(
        [sys.executable, "-m", "maskrun", "run", str(job), "--cores", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    log = out / "logs" / "batch_00004.log"
    before = log.stat().st_mtime_ns  # the first run's: the redo removes it at its start, then writes its own
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if log.exists() and log.stat().st_mtime_ns != before and "start batch_00004" in log.read_text():
            break
        time.sleep(0.05)
    assert process.poll() is None, process.communicate()[1][-2000:]
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 143, err
    # the run record, metadata and report went at the redo's start, and so did the changed stack's unit
    assert not (out / "provenance" / "run.json").exists() and not (out / "particles.star").exists()
    assert not (out / "report" / "report.html").exists() and not (out / "provenance" / "batch_00004.json").exists()
    proc = _run(job)
    assert proc.returncode == 0, proc.stderr
    now = _unit_ends(out)
    assert [unit for unit in now if now[unit] != ends[unit]] == ["batch_00004"]
    assert output_bytes(out) == fresh


def test_a_redo_takes_again_the_checksums_of_the_stacks_unchanged_and_hashes_the_changed_one(finished_then_edited):
    """The launcher read every stack again; a stack of the size and time the finished run's record has keeps its
    checksum (a digest no stack has, put in the record, shows it was taken, not hashed)."""
    job, out, _, _ = finished_then_edited
    run_json = out / "provenance" / "run.json"
    record = json.loads(run_json.read_text())
    by_name = {Path(entry["path"]).name: entry for entry in record["inputs"]}
    by_name["mic_001.mrcs"]["blake3"] = "e" * 64
    by_name["mic_004.mrcs"]["blake3"] = "e" * 64  # edited since: hashed again whatever the record says
    run_json.write_text(json.dumps(record))
    proc = _run(job)
    assert proc.returncode == 0, proc.stderr
    now = {Path(entry["path"]).name: entry for entry in json.loads(run_json.read_text())["inputs"]}
    assert now["mic_001.mrcs"]["blake3"] == "e" * 64
    edited = job.parent / "Extract" / "mic_004.mrcs"
    assert now["mic_004.mrcs"]["blake3"] == blake3.blake3(edited.read_bytes()).hexdigest()


def _every_input_hashed_as_it_is(out: Path) -> None:
    """Every stack's checksum in run.json is the file's as it is now."""
    for entry in json.loads((out / "provenance" / "run.json").read_text())["inputs"]:
        if "blake3" in entry:
            assert entry["blake3"] == blake3.blake3(Path(entry["path"]).read_bytes()).hexdigest(), entry["path"]


def _same_times(paths: list[Path]) -> None:
    for path in paths:
        os.utime(path, ns=(10**18, 10**18))  # as stacks from a tar with second mtimes


@pytest.mark.parametrize("how", ["touch -r", "swapped"])
def test_a_stack_changed_at_its_size_and_time_is_redone_and_recorded_with_its_checksum(tmp_path, how):
    """A stack edited then given its time back (``touch -r``), or two stacks of one size and time swapped by name,
    were kept by a redo, and run.json recorded the old checksum for a file that no longer had it (the launcher took
    it from the retired record). Their change time moved, which no user can set back: they are hashed."""
    job = _folder(tmp_path)
    extract = tmp_path / "Extract"
    _same_times(sorted(extract.glob("*.mrcs")))
    proc = _run(job)
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "results" / "t"
    ends = _unit_ends(out)
    _with_overwrite(job)
    if how == "touch -r":
        _edit_stack(tmp_path)
        _same_times([extract / "mic_004.mrcs"])
        changed = ["batch_00004"]
    else:
        (extract / "mic_004.mrcs").rename(tmp_path / "x.mrcs")
        (extract / "mic_005.mrcs").rename(extract / "mic_004.mrcs")
        (tmp_path / "x.mrcs").rename(extract / "mic_005.mrcs")
        changed = ["batch_00004", "batch_00005"]
    said = maskrun("validate", job)
    assert f"masks {len(changed)} of its 10 units again ({', '.join(changed)})" in said.stdout, said.stdout
    proc = _run(job)
    assert proc.returncode == 0, proc.stderr
    now = _unit_ends(out)
    assert [unit for unit in now if now[unit] != ends[unit]] == changed
    _every_input_hashed_as_it_is(out)


def test_validate_counts_the_units_snakemake_masks_again_by_its_own_rules(tmp_path):
    """validate said 'masks 1 of its 10 units again' while Snakemake's own rules ran more: a touched STAR (newer
    than every unit's output) redoes all, a touched stack its unit (its stamp), as the dry run then said."""
    job = _folder(tmp_path)
    proc = _run(job)
    assert proc.returncode == 0, proc.stderr
    _with_overwrite(job)
    said = maskrun("validate", job)
    assert "with nothing changed, it only gathers and reports again" in said.stdout, said.stdout
    stack = tmp_path / "Extract" / "mic_002.mrcs"
    os.utime(stack, ns=(stack.stat().st_atime_ns, stack.stat().st_mtime_ns + 10**9))  # touched: the same bytes
    said = maskrun("validate", job)
    assert "masks 1 of its 10 units again (batch_00002): 0 that read a changed stack" in said.stdout, said.stdout
    assert "1 that Snakemake masks again by its own rules" in said.stdout
    dry = maskrun("run", job, "--cores", "2", "--dry-run")
    assert "(mask_batch 1, gather 1, report 1)" in dry.stdout, dry.stdout
    (tmp_path / "particles.star").touch()
    said = maskrun("validate", job)
    assert "redoes the finished run in " in said.stdout and ", all 10 units" in said.stdout, said.stdout
    dry = maskrun("run", job, "--cores", "2", "--dry-run")
    assert "(mask_batch 10, gather 1, report 1)" in dry.stdout, dry.stdout
