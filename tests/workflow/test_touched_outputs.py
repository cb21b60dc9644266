"""A finished run's records hold the times its outputs have once Snakemake has touched them.

Snakemake touches every output of a step after the step ends, after maskrun recorded the file's
times and checksum: every later look at the folder (a rerun with nothing to do, ``validate``, a
redo) found each output's times moved and read it whole to check its checksum (300 GB read
again at each look, and 1.4 GB of memory for a 5 GB set).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from maskrun.config.job_file import load_job
from maskrun.jobs.output_state import check_output_dir, units_to_redo
from maskrun.jobs.plan import plan_job
from maskrun.jobs.provenance import read_record
from maskrun.jobs.touched_outputs import record_touched_outputs

from commands import maskrun
from job_files import example_folder, job_with, write_job


def _entries(out: Path) -> list[dict]:
    run = json.loads((out / "provenance" / "run.json").read_text())
    units = [json.loads(p.read_text())["output"] for p in sorted((out / "provenance").glob("batch_*.json"))]
    return run["outputs"] + units


@pytest.fixture
def finished(tmp_path):
    example_folder(tmp_path, particles=20, maps=0)
    job = write_job(tmp_path, job_with(batch_size=10, output={"dir": "out"}))
    result = maskrun("run", job, "--cores", "2")
    assert result.returncode == 0, result.stderr
    return job, tmp_path / "out"


def test_every_output_entry_has_the_times_its_file_has_after_the_run(finished):
    _, out = finished
    entries = _entries(out)
    assert len(entries) == 6  # 2 stacks, particles.star, mask.mrc in the run record; 2 stacks in the units'
    for entry in entries:
        stat = (out / entry["path"]).stat()
        assert (entry["bytes"], entry["mtime_ns"], entry["ctime_ns"]) == (
            stat.st_size,
            stat.st_mtime_ns,
            stat.st_ctime_ns,
        )


def test_a_finished_run_is_looked_at_again_without_reading_an_output(finished, monkeypatch):
    import maskrun.jobs.output_state as output_state

    job, _ = finished
    hashed: list[object] = []
    monkeypatch.setattr(output_state, "same_content", lambda entry, path: hashed.append(path) or True)
    assert check_output_dir(plan_job(job)) is not None  # finished: nothing to do
    write_job(job.parent, job_with(batch_size=10, output={"dir": "out", "overwrite": True}))
    plan = plan_job(job)
    assert units_to_redo(plan, read_record(plan.run_record_path)) == []  # a redo: nothing changed, every unit kept
    assert hashed == []


def test_an_output_edited_after_the_run_is_still_told_by_its_checksum(finished):
    job, out = finished
    write_job(job.parent, job_with(batch_size=10, output={"dir": "out", "overwrite": True}))
    stack = out / "stacks" / "batch_00002.mrcs"
    data = bytearray(stack.read_bytes())
    data[-1] ^= 0xFF
    stack.write_bytes(bytes(data))  # the same size, another time
    plan = plan_job(job)
    assert [unit.id for unit in units_to_redo(plan, read_record(plan.run_record_path))] == ["batch_00002"]


def test_only_entries_written_since_the_run_started_with_their_size_and_times_moved_forward_are_given_new_times(
    finished,
):
    job, out = finished
    plan = plan_job(load_job(job))
    record_path = out / "provenance" / "batch_00001.json"
    record = json.loads(record_path.read_text())
    stack = out / record["output"]["path"]
    os.utime(stack, ns=(time.time_ns(), record["output"]["mtime_ns"] + 5_000_000_000))  # touched later
    before = record_path.stat().st_mtime_ns
    # an earlier run's entries (written before this run started) are not this run's to vouch for
    assert record_touched_outputs(plan, started_ns=record["output"]["mtime_ns"] + 1) == 0
    assert record_touched_outputs(plan, started_ns=record["output"]["mtime_ns"]) == 2  # its record and run.json
    entry = json.loads(record_path.read_text())["output"]
    assert (entry["mtime_ns"], entry["ctime_ns"]) == (stack.stat().st_mtime_ns, stack.stat().st_ctime_ns)
    assert entry["blake3"] == record["output"]["blake3"]
    assert record_path.stat().st_mtime_ns == before  # the record keeps its own time (the report's input's too)
    os.utime(stack, ns=(time.time_ns(), record["output"]["mtime_ns"] - 1))  # moved back: not a touch
    assert record_touched_outputs(plan, started_ns=0) == 0
    with stack.open("ab") as grown:
        grown.write(b"\0")
    assert record_touched_outputs(plan, started_ns=0) == 0  # another size: an edit, never vouched for
