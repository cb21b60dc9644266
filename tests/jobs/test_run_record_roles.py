"""What a script reads from ``provenance/run.json`` and `maskrun.RunSummary`: each output's role, the folder the output
metadata's image paths are relative to, and where the metadata, run record and report are."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest
import starfile

import maskrun
from maskrun.formats.registry import convert_example
from maskrun.jobs.examples import write_example_maps

from conftest import shared_path
from job_files import example_folder, job_with, write_job


def _record(summary) -> dict:
    return json.loads(summary.run_record.read_text())


def test_each_output_has_its_role_and_the_summary_names_metadata_record_and_report(tmp_path):
    example_folder(tmp_path, particles=30, maps=0)
    job = write_job(tmp_path, job_with(batch_size=10))
    summary = maskrun.run_job(job)
    out = tmp_path / "results" / "t"
    assert (summary.metadata, summary.run_record) == (out / "particles.star", out / "provenance" / "run.json")
    assert summary.report == out / "report" / "report.html" and summary.report.is_file() and summary.gathered
    roles = {entry["path"]: entry["role"] for entry in _record(summary)["outputs"]}
    assert roles == {
        "stacks/batch_00001.mrcs": "masked",
        "stacks/batch_00002.mrcs": "masked",
        "stacks/batch_00003.mrcs": "masked",
        "particles.star": "metadata",
        "mask.mrc": "mask",
    }
    again = maskrun.run_job(job)  # nothing to do: the same files named
    assert not again.gathered and (again.metadata, again.report) == (summary.metadata, summary.report)


def test_the_star_s_image_paths_resolve_from_the_recorded_folder(tmp_path):
    """The example's STAR names its stacks from its own folder (RELION's project folder): so does the output's."""
    example_folder(tmp_path, particles=20, maps=0)
    summary = maskrun.run_job(write_job(tmp_path, job_with(batch_size=10, report=False)))
    record = _record(summary)
    assert record["metadata_image_paths_relative_to"] == str(tmp_path)
    assert summary.report is None
    names = starfile.read(summary.metadata, always_dict=True)["particles"]["rlnImageName"]
    assert names[0] == "000001@results/t/stacks/batch_00001.mrcs"
    base = Path(record["metadata_image_paths_relative_to"])
    assert {base / name.partition("@")[2] for name in names} == {
        summary.output_dir / "stacks" / f"batch_0000{i}.mrcs" for i in (1, 2)
    }


def test_a_cs_set_s_paths_are_from_the_output_folder(tmp_path):
    example_folder(tmp_path, particles=20, maps=0)
    convert_example(tmp_path / "particles.star", "cs")
    summary = maskrun.run_job(
        write_job(tmp_path, job_with(batch_size=10, report=False, inputs__particles="particles.cs"))
    )
    record = _record(summary)
    assert record["metadata_image_paths_relative_to"] == str(summary.output_dir)
    assert {e["path"]: e["role"] for e in record["outputs"] if e["role"] == "metadata"} == {
        "particles.cs": "metadata",
        "particles.star": "metadata",
    }
    paths = np.load(summary.output_dir / "particles.cs")["blob/path"]
    assert (summary.output_dir / paths[0].decode().removeprefix(">")).is_file()


def test_a_scipion_set_s_paths_are_from_its_project_folder(tmp_path):
    project = tmp_path / "project"
    shutil.copytree(shared_path("data", "formats", "scipion", "project"), project)
    source = project / "Runs/000002_ProtImportParticles/particles.sqlite"
    job = {
        "version": 1,
        "name": "s",
        "inputs": {"particles": str(source)},
        "mask": {"source": "geometry", "geometry": {"shape": "circular", "radius": 6}},
        "batch_size": 4,
        "report": False,
    }
    summary = maskrun.run_job(write_job(project, job))
    record = _record(summary)
    assert record["metadata_image_paths_relative_to"] == str(project)
    with sqlite3.connect(summary.metadata) as connection:
        (column,) = connection.execute("SELECT column_name FROM Classes WHERE label_property = '_filename'").fetchone()
        (first,) = connection.execute(f'SELECT "{column}" FROM Objects ORDER BY id LIMIT 1').fetchone()
    assert not Path(first).is_absolute() and (project / first).is_file()


@pytest.mark.parametrize("maps", [1, 2])
def test_maps_given_by_path_are_listed_from_the_output_folder_and_one_map_has_no_metadata(tmp_path, maps):
    write_example_maps(tmp_path, n_maps=2)
    volumes = ["maps/class_1.mrc", "maps/class_2.mrc"][:maps]
    job = {
        "version": 1,
        "name": "v",
        "inputs": {"volumes": volumes if maps > 1 else volumes[0]},
        "mask": {"source": "geometry", "geometry": {"shape": "sphere", "radius": 20}},
        "report": False,
    }
    summary = maskrun.run_job(write_job(tmp_path, job))
    record = _record(summary)
    if maps == 1:
        assert summary.metadata is None and record["metadata_image_paths_relative_to"] is None
    else:
        assert summary.metadata == summary.output_dir / "volumes.star"
        assert record["metadata_image_paths_relative_to"] == str(summary.output_dir)
        assert {e["role"] for e in record["outputs"]} == {"masked", "metadata", "mask"}


def test_a_record_without_the_new_keys_is_still_a_finished_run(tmp_path):
    """Records written before roles: readers need neither ``role`` nor the folder."""
    example_folder(tmp_path, particles=20, maps=0)
    job = write_job(tmp_path, job_with(batch_size=10, report=False))
    summary = maskrun.run_job(job)
    record = _record(summary)
    record.pop("metadata_image_paths_relative_to")
    for entry in record["outputs"]:
        entry.pop("role")
    stat = summary.run_record.stat()
    summary.run_record.write_text(json.dumps(record, indent=1) + "\n")
    os.utime(summary.run_record, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert maskrun.validate_job(job)["state"] == "finished"
    assert not maskrun.run_job(job).gathered


def test_each_particle_s_saved_masks_are_told_from_the_mask_applied(tmp_path):
    example_folder(tmp_path, particles=20, maps=0)
    job = job_with(batch_size=10, report=False, mask__follow="offsets", output__save_masks=True)
    record = _record(maskrun.run_job(write_job(tmp_path, job)))
    roles = {entry["path"]: entry["role"] for entry in record["outputs"]}
    assert {path: role for path, role in roles.items() if path.startswith("masks/")} == {
        "masks/batch_00001.mrcs": "masks",
        "masks/batch_00002.mrcs": "masks",
    }
    assert roles["stacks/batch_00001.mrcs"] == "masked" and roles["particles.star"] == "metadata"
