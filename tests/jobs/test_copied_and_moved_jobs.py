"""A job file written by automation into a temporary folder, copied, or moved with its project (an outside look's
findings 3 and 5): the job is its recipe, not its file's place; a moved folder is refused in words that name it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import mrcfile
import pytest

from maskrun.config.job_file import load_job
from maskrun.errors import UserError
from maskrun.jobs.output_state import finished_run
from maskrun.jobs.runner import run_job

from job_files import example_folder, job_with, write_job


def stamps(out: Path) -> dict[Path, int]:
    return {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file() and ".maskrun.lock" not in p.name}


@pytest.fixture
def absolute_job(tmp_path):
    """A particle job naming its inputs and output folder by absolute paths, and where it keeps its data."""
    data = example_folder(tmp_path / "data", particles=30, maps=0) if (tmp_path / "data").mkdir() is None else None
    assert data is not None
    job = job_with(
        report=False, inputs={"particles": str(data / "particles.star")}, output={"dir": str(tmp_path / "out")}
    )
    return tmp_path, job


def copy_in(folder: Path, job: dict) -> Path:
    folder.mkdir()
    return write_job(folder, job)


def test_a_finished_job_run_again_from_a_copy_once_the_first_file_is_gone_has_nothing_to_do(absolute_job):
    root, job = absolute_job
    first = copy_in(root / "tmp_a", job)
    assert run_job(first).units_run == 2
    shutil.rmtree(root / "tmp_a")  # the automation's temporary folder, cleaned
    before = stamps(root / "out")
    summary = run_job(copy_in(root / "tmp_b", job))
    assert (summary.units_run, summary.units_skipped) == (0, 2)
    assert stamps(root / "out") == before
    assert finished_run(load_job(root / "tmp_b" / "job.yaml"))["end"]


def test_a_comment_added_to_the_job_file_that_ran_does_not_block_a_copy(absolute_job):
    root, job = absolute_job
    first = copy_in(root / "d", job)
    run_job(first)
    first.write_text(first.read_text() + "# a comment\n")
    copy = copy_in(root / "e", job)
    assert run_job(copy).units_run == 0
    assert finished_run(load_job(copy))["end"]


def test_a_copy_still_sees_a_changed_stack_and_a_changed_recipe(absolute_job):
    root, job = absolute_job
    run_job(copy_in(root / "a", job))
    stack = root / "data" / "Extract" / "mic_001.mrcs"
    with mrcfile.open(stack, "r+") as mrc:
        mrc.data[0, 0, 0] += 1
    with pytest.raises(UserError, match=f"input {stack} changed since this job finished"):
        run_job(copy_in(root / "b", job))
    other = copy_in(root / "c", job | {"fill": {"with": "value", "value": 2.0}})
    with pytest.raises(
        UserError,
        match=rf"holds a finished run of {root}/a/job.yaml, not of this job as written "
        r"\(fill\.value differs\)",
    ) as refusal:
        run_job(other)
    assert "sha256" not in str(refusal.value)


def project(tmp_path: Path) -> Path:
    """A project folder whose job names its inputs and output folder relative to itself, run."""
    folder = example_folder(tmp_path / "demo", particles=30, maps=0) if (tmp_path / "demo").mkdir() is None else None
    assert folder is not None
    run_job(write_job(folder, job_with(report=False, output={"dir": "out"})))
    return folder


def test_a_project_folder_moved_whole_is_refused_naming_the_folders_not_two_equal_checksums(tmp_path):
    demo = project(tmp_path)
    moved = tmp_path / "moved_project"
    subprocess.run(["cp", "-a", str(demo), str(moved)], check=True)
    job = moved / "job.yaml"
    with pytest.raises(UserError) as refusal:
        run_job(job)
    assert str(refusal.value) == (
        f"{job}: output.dir: {moved}/out holds a finished run of this job as it was in {demo} ({demo}/job.yaml), "
        f"before the folder was moved or copied to {moved}: the run's record names its job file and inputs in {demo}, "
        f"so it is not taken as this job's here; use the original in {demo}, or set output.overwrite: true to redo "
        "it here (every unit masked again), or choose another output.dir"
    )
    with pytest.raises(UserError, match=f"before the folder was moved or copied to {moved}"):
        finished_run(load_job(job))  # maskrun report says the same
    shutil.rmtree(demo)
    with pytest.raises(UserError, match=f"; move the folder back to {demo}, or set output.overwrite: true"):
        run_job(job)
    job.write_text(job.read_text().replace("dir: out", "dir: out\n  overwrite: true"))
    assert run_job(job).units_run == 2  # the fix it names works


def test_a_moved_folder_whose_job_was_also_edited_is_another_job_as_before(tmp_path):
    """Only a folder moved whole, its job resolving alike but for the folder, is told as moved."""
    demo = project(tmp_path)
    moved = tmp_path / "moved_project"
    subprocess.run(["cp", "-a", str(demo), str(moved)], check=True)
    job = moved / "job.yaml"
    job.write_text(job.read_text().replace("value: 0", "value: 2"))
    with pytest.raises(UserError, match=f"holds a finished run of {demo}/job.yaml, not of this job as written") as no:
        run_job(job)
    assert "(fill.value differs)" in str(no.value) and "moved or copied" not in str(no.value)


def outside_data_project(tmp_path: Path) -> tuple[Path, Path]:
    """``h/a/proj``, whose job names its particles in ``h/a/data`` by an absolute path and its output folder
    relative to itself, run; and its copy ``h/b/proj`` (a reviewer's finding 2)."""
    data = example_folder(tmp_path / "h" / "a" / "data", particles=30, maps=0)
    (tmp_path / "h" / "a" / "proj").mkdir()
    job = job_with(report=False, inputs={"particles": str(data / "particles.star")}, output={"dir": "out"})
    run_job(write_job(tmp_path / "h" / "a" / "proj", job))
    (tmp_path / "h" / "b").mkdir()
    subprocess.run(["cp", "-a", str(tmp_path / "h" / "a" / "proj"), str(tmp_path / "h" / "b" / "proj")], check=True)
    return tmp_path / "h" / "a" / "proj", tmp_path / "h" / "b" / "proj"


def test_a_copied_folder_whose_inputs_are_outside_it_is_told_as_moved_not_as_other_particles(tmp_path):
    """The copy shares the trailing name ``proj``: its job files' own folders moved, not ``h/a`` with the data."""
    demo, moved = outside_data_project(tmp_path)
    with pytest.raises(UserError) as refusal:
        run_job(moved / "job.yaml")
    assert (
        f"holds a finished run of this job as it was in {demo} ({demo}/job.yaml), before the folder was moved or "
        f"copied to {moved}:"
    ) in str(refusal.value)
    assert f"; use the original in {demo}, or set output.overwrite: true" in str(refusal.value)
    assert "differs" not in str(refusal.value)


def test_an_edit_in_a_copied_folder_whose_inputs_are_outside_it_is_named_not_the_particles(tmp_path):
    demo, moved = outside_data_project(tmp_path)
    job = moved / "job.yaml"
    job.write_text(job.read_text().replace("value: 0", "value: 2"))
    with pytest.raises(UserError, match=f"holds a finished run of {demo}/job.yaml, not of this job as written") as no:
        run_job(job)
    assert "(fill.value differs)" in str(no.value) and "moved or copied" not in str(no.value)


def test_a_moved_folder_whose_original_was_edited_since_is_not_told_to_use_the_original(tmp_path):
    demo = project(tmp_path)
    moved = tmp_path / "moved_project"
    subprocess.run(["cp", "-a", str(demo), str(moved)], check=True)
    (demo / "job.yaml").write_text((demo / "job.yaml").read_text().replace("value: 0", "value: 2"))
    job = moved / "job.yaml"
    for refuse in (lambda: run_job(job), lambda: finished_run(load_job(job))):
        with pytest.raises(UserError) as refusal:
            refuse()
        assert str(refusal.value).endswith(
            "so it is not taken as this job's here, and the original was edited since into another job; set "
            "output.overwrite: true to redo it here (every unit masked again), or choose another output.dir"
        )
    (demo / "job.yaml").write_text("version: [")  # no longer reads: not the job that ran either
    with pytest.raises(UserError, match=r"the original was edited since into another job; set output\.overwrite"):
        run_job(job)


def test_a_project_whose_job_file_is_in_a_subfolder_is_told_moved_by_the_project_folder(tmp_path):
    """``demo/jobs/job.yaml`` naming ``../particles.star``: the job files' own folders do not explain the copy, the
    project's (one up, through the shared ``jobs``) do."""
    demo = example_folder(tmp_path / "demo", particles=30, maps=0) if (tmp_path / "demo").mkdir() is None else None
    assert demo is not None
    (demo / "jobs").mkdir()
    job = job_with(report=False, inputs={"particles": "../particles.star"}, output={"dir": "../out"})
    run_job(write_job(demo / "jobs", job))
    moved = tmp_path / "moved_project"
    subprocess.run(["cp", "-a", str(demo), str(moved)], check=True)
    with pytest.raises(UserError) as refusal:
        run_job(moved / "jobs" / "job.yaml")
    assert (
        f"holds a finished run of this job as it was in {demo} ({demo}/jobs/job.yaml), before the folder was moved or "
        f"copied to {moved}: "
    ) in str(refusal.value)
