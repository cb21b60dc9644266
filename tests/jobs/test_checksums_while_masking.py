"""Provenance checksums are taken while the units read their inputs, never by reading them again."""

from __future__ import annotations

import hashlib
import json
import os

import blake3
import numpy as np
import pytest

import maskrun.jobs.provenance as provenance
from maskrun.config.job_file import load_job
from maskrun.jobs.plan import plan_job
from maskrun.jobs.plan_file import load_saved_plan, save_plan
from maskrun.jobs.runner import gather, run_job

from job_files import example_folder, job_with, write_job


def b3(path) -> str:
    """BLAKE3 of a file as b3sum prints it, computed here independently of maskrun."""
    with open(path, "rb") as file:
        return blake3.blake3(file.read()).hexdigest()


def test_each_stack_is_hashed_by_the_first_unit_that_reads_it(tmp_path):
    example_folder(tmp_path, particles=60)  # 3 stacks of 20
    plan = plan_job(write_job(tmp_path, job_with(batch_size=25)))
    particles = plan.particle_set
    by_unit = {unit.id: plan.hashed_inputs(unit) for unit in plan.units}
    hashed = [path for paths in by_unit.values() for path in paths]
    assert sorted(hashed) == sorted(particles.stack_paths)  # each once
    for unit in plan.units:
        for path in by_unit[unit.id]:
            first_row = list(particles.stack_of_row).index(particles.stack_paths.index(path))
            assert unit.first_row <= first_row < unit.stop_row
    assert [len(by_unit[u.id]) for u in plan.units] == [2, 1, 0]  # stacks start at rows 0, 20, 40


def test_unit_records_hold_the_checksums_of_what_they_read(tmp_path):
    example_folder(tmp_path, particles=60)
    run_job(write_job(tmp_path, job_with(batch_size=25)))
    record = json.loads((tmp_path / "results" / "t" / "provenance" / "batch_00001.json").read_text())
    assert len(record["hashed_inputs"]) == 2
    for entry in record["hashed_inputs"]:
        assert set(entry) == {"path", "blake3", "bytes", "mtime_ns", "ctime_ns"}
        assert entry["blake3"] == b3(entry["path"]) and entry["bytes"] == os.path.getsize(entry["path"])
    assert set(record["seconds"]) == {"masking", "waiting_for_input_checksums", "output_checksum"}
    assert all(seconds >= 0 for seconds in record["seconds"].values())


def test_gather_reads_no_stack_again_unless_it_changed(tmp_path, monkeypatch):
    example_folder(tmp_path, particles=60)
    job = write_job(tmp_path, job_with(batch_size=25))
    run_job(job)
    plan = plan_job(job)
    before = json.loads(plan.run_record_path.read_text())["inputs"]
    read_again = []
    real = provenance.blake3_of
    monkeypatch.setattr(provenance, "blake3_of", lambda path, *a: read_again.append(str(path)) or real(path, *a))

    assert gather(plan)["inputs"] == before
    stacks = {str(p) for p in plan.particle_set.stack_paths}
    assert not stacks & set(read_again)
    assert str(plan.job.path) in read_again and str(plan.particle_set.source) in read_again  # the small inputs

    changed = plan.particle_set.stack_paths[1]
    stat = changed.stat()
    os.utime(changed, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # touched since the unit hashed it
    read_again.clear()
    inputs = {entry["path"]: entry for entry in gather(plan)["inputs"]}
    assert stacks & set(read_again) == {str(changed)}
    assert inputs[str(changed)]["mtime_ns"] == stat.st_mtime_ns + 10**9
    assert inputs[str(changed)]["blake3"] == b3(changed)


@pytest.mark.parametrize("algorithm", ["sha256", "none"])
def test_provenance_checksums_sha256_or_none_as_the_job_says(tmp_path, algorithm):
    example_folder(tmp_path, particles=30)
    out = run_job(write_job(tmp_path, job_with(batch_size=20, provenance={"checksums": algorithm}))).output_dir
    record = json.loads((out / "provenance" / "run.json").read_text())
    assert record["checksums"] == algorithm
    for entry in record["outputs"]:
        path = out / entry["path"]
        assert entry["bytes"] == path.stat().st_size and "blake3" not in entry
        if algorithm == "sha256":
            assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            assert set(entry) == {
                "path",
                "bytes",
                "mtime_ns",
                "ctime_ns",
                "role",
                "format",
            }  # the time tells an edit without a checksum
        assert entry["mtime_ns"] == path.stat().st_mtime_ns


def test_a_saved_plan_is_read_back_mapped_and_goes_stale_when_its_metadata_changes(tmp_path):
    example_folder(tmp_path, particles=60)
    job = load_job(write_job(tmp_path, job_with(batch_size=25)))
    plan = plan_job(job)
    save_plan(plan)
    saved = load_saved_plan(job)
    assert saved is not None and not saved.particle_set.has_metadata
    assert isinstance(saved.particle_set.stack_of_row.base, np.memmap)  # a unit maps the rows, reads its slice
    assert saved.units == plan.units and saved.particle_set.stack_paths == plan.particle_set.stack_paths
    np.testing.assert_array_equal(saved.particle_set.image_index, plan.particle_set.image_index)
    assert saved.with_metadata().particle_set.rows.lines == plan.particle_set.rows.lines
    star = plan.particle_set.source
    star.write_text(star.read_text() + "\n")  # the metadata changed: the saved plan is stale
    assert load_saved_plan(job) is None
