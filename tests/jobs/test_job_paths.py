"""A job's path written from the working folder, not the job file's (a RELION user's look): the refusal says how
the job's folder writes it, when that names a file."""

from __future__ import annotations

import pytest

from maskrun.config.job_file import load_job
from maskrun.jobs.job_paths import written_files

from job_files import PARTICLE_JOB, example_folder, job_with, validate_refuses, write_job


@pytest.fixture
def project(tmp_path, monkeypatch):
    """Example particles in a project folder, the working folder, and a job folder ``MaskJobs/`` inside it."""
    example_folder(tmp_path, maps=1)
    (tmp_path / "MaskJobs").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_path_written_from_the_working_folder_is_told_as_the_job_writes_it(project, capsys):
    job = write_job(project / "MaskJobs", PARTICLE_JOB)  # inputs.particles: particles.star, one folder up
    line = validate_refuses(job, capsys)
    assert line == (
        f"maskrun validate: error: {project / 'MaskJobs' / 'particles.star'}: inputs.particles: file not found; "
        "check the path (paths are relative to the job file); did you mean ../particles.star?"
    )


def test_every_file_of_a_job_is_looked_for_so(project, capsys):
    (map_path,) = (project / "maps").glob("*.mrc")
    written = f"maps/{map_path.name}"
    volumes = {"volumes": [written]}
    jobs = {
        "mask.map.file": job_with(mask={"source": "map", "map": {"file": written, "threshold": 0.1}}),
        "inputs.volumes.0": {**job_with(mask__geometry={"shape": "sphere", "radius": 5}), "inputs": volumes},
        "check.half1": {
            **job_with(mask__geometry={"shape": "sphere", "radius": 5}),
            "inputs": {"volumes": [f"../{written}"]},
            "check": {"half1": written, "half2": f"../{written}"},
        },
    }
    jobs["mask.map.file"]["inputs"]["particles"] = "../particles.star"
    for field, job in jobs.items():
        line = validate_refuses(write_job(project / "MaskJobs", job), capsys)
        assert f": {field}: file not found; " in line and line.endswith(f"; did you mean ../{written}?"), line


def test_no_guess_where_the_working_folder_has_no_such_file(project, capsys, monkeypatch):
    job = write_job(project / "MaskJobs", job_with(inputs__particles="gone.star"))
    line = validate_refuses(job, capsys)
    assert line.endswith("inputs.particles: file not found; check the path (paths are relative to the job file)")
    monkeypatch.chdir(project / "MaskJobs")  # the job's own folder: the same place, nothing else to propose
    line = validate_refuses(write_job(project / "MaskJobs", PARTICLE_JOB), capsys)
    assert line.endswith("(paths are relative to the job file)")


def test_a_dollar_in_the_path_proposed_is_written_as_a_job_writes_it(project, capsys):
    (project / "run$5").mkdir()
    (project / "particles.star").rename(project / "run$5" / "particles.star")
    job = write_job(project / "MaskJobs", job_with(inputs__particles="run$$5/particles.star"))
    assert validate_refuses(job, capsys).endswith("; did you mean ../run$$5/particles.star?")


def test_the_files_a_job_names_are_every_path_but_its_folders(tmp_path):
    terms = {"all_of": [{"map": {"file": "a.mrc", "threshold": 1}}, {"file": "b.mrc"}]}
    terms["none_of"] = [{"model": {"file": "c.pdb", "radius": 3}}]
    job = {**job_with(mask={"source": "expression", "expression": terms}), "output": {"dir": "out"}}
    job["inputs"] |= {"passthrough": "p.cs", "project_dir": "project"}
    assert written_files(load_job(write_job(tmp_path, job)).spec) == [
        ("inputs.particles", "particles.star"),
        ("inputs.passthrough", "p.cs"),
        ("mask.expression.all_of.0.map.file", "a.mrc"),
        ("mask.expression.all_of.1.file", "b.mrc"),
        ("mask.expression.none_of.0.model.file", "c.pdb"),
    ]
