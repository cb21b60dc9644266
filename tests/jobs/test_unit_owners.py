"""An unfinished output folder is its units' job's: another job file run into it is refused, as for a finished one.

A facility manager's look: job A (batch_size 1) stopped after some units, then a copy of A with
another mask and A's `output.dir`, run into the folder, replaced every finished stack of A, exit 0,
without `output.overwrite`; a finished folder of A was refused. The same job file edited still
redoes its own units (the user means the edit), and a job that resolves as A's (a renamed copy)
resumes them.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

from maskrun.jobs.plan import plan_job
from maskrun.jobs.run_lock import Holder, took_over_note
from maskrun.jobs.runner import run_job
from maskrun.jobs.unit_owners import unit_owners

from commands import digest, maskrun, refused_line
from job_files import example_folder, job_with, write_job


def _stopped_run(folder: Path) -> tuple[Path, Path]:
    """Job A run in 3 units, then left as a run stopped before its gather: its units' stacks and records, no run
    record, metadata or mask. Returns A's job file and output folder."""
    example_folder(folder, particles=12, maps=0)
    job = write_job(folder, job_with(output__dir="out", batch_size=4, report=False))
    out = run_job(job).output_dir
    for name in ("provenance/run.json", "particles.star", "mask.mrc"):
        (out / name).unlink()
    return job, out


def test_another_job_file_run_into_an_unfinished_folder_is_refused_in_validate_dry_run_and_run(tmp_path):
    job, out = _stopped_run(tmp_path)
    other = write_job(tmp_path, job_with(output__dir="out", batch_size=4, mask__geometry__inner_radius=10), "o.yaml")
    before = digest(tmp_path)
    for command in (["validate"], ["run", "--dry-run"], ["run", "--cores", "1"]):
        line = refused_line(maskrun(command[0], other, *command[1:]))
        assert line == (
            f"maskrun {command[0]}: error: {other}: output.dir: {out} holds an unfinished run of another job file, "
            f"{job}: 3 finished units (batch_00001, batch_00002, batch_00003); resume it with maskrun run {job}, "
            "choose another output.dir, or set output.overwrite: true to discard them"
        )
        assert digest(tmp_path) == before  # A's stacks, records and logs as they were


def test_the_same_job_file_edited_redoes_them_and_a_copy_that_resolves_alike_resumes_them(tmp_path):
    job, out = _stopped_run(tmp_path)
    copy = write_job(tmp_path, job.read_text(), "renamed.yaml")  # another file, the same job as it resolves
    assert unit_owners(plan_job(copy).job, out).this_job == ["batch_00001", "batch_00002", "batch_00003"]
    assert maskrun("validate", copy).returncode == 0
    write_job(tmp_path, job_with(output__dir="out", batch_size=4, report=False, mask__geometry__inner_radius=10))
    owners = unit_owners(plan_job(job).job, out)
    assert owners.edited == ["batch_00001", "batch_00002", "batch_00003"] and not owners.others
    assert maskrun("validate", job).returncode == 0


def test_overwrite_true_discards_another_job_files_units(tmp_path):
    _, out = _stopped_run(tmp_path)
    other = write_job(
        tmp_path,
        job_with(
            output__dir="out", batch_size=6, report=False, mask__geometry__inner_radius=10, output__overwrite=True
        ),
        "o.yaml",
    )
    summary = run_job(other)
    assert summary.units_run == 2
    assert sorted(p.name for p in (out / "stacks").iterdir()) == ["batch_00001.mrcs", "batch_00002.mrcs"]
    assert json.loads((out / "provenance" / "run.json").read_text())["job_file"] == str(other)


def test_a_unit_record_names_its_job_file_and_an_older_one_is_told_by_the_lock_its_killed_run_left(tmp_path):
    job, out = _stopped_run(tmp_path)
    record_path = out / "provenance" / "batch_00001.json"
    record = json.loads(record_path.read_text())
    assert record["job_file"] == str(job)
    other = write_job(tmp_path, job_with(output__dir="out", batch_size=4, mask__geometry__inner_radius=10), "o.yaml")
    assert unit_owners(plan_job(other).job, out).others == {str(job): ["batch_00001", "batch_00002", "batch_00003"]}
    for path in (out / "provenance").glob("batch_*.json"):  # as maskrun wrote them before they named it
        path.write_text(json.dumps({k: v for k, v in json.loads(path.read_text()).items() if k != "job_file"}))
    assert unit_owners(plan_job(other).job, out).edited == ["batch_00001", "batch_00002", "batch_00003"]
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    lock = {"pid": dead.pid, "host": socket.gethostname(), "started": "2026-12-07 10:00:00", "job": str(job)}
    (out / ".maskrun.lock").write_text(json.dumps(lock))  # a SIGKILL leaves it
    assert unit_owners(plan_job(other).job, out).others == {str(job): ["batch_00001", "batch_00002", "batch_00003"]}


def test_a_moved_and_edited_job_file_is_another_and_the_refusal_says_its_file_is_gone(tmp_path):
    job, _ = _stopped_run(tmp_path)
    moved = write_job(tmp_path, job_with(output__dir="out", batch_size=4, mask__geometry__inner_radius=10), "m.yaml")
    job.unlink()
    line = refused_line(maskrun("validate", moved))
    assert f"holds an unfinished run of another job file, {job}: 3 finished units" in line
    assert line.endswith(
        "that job file is no longer there (moved or renamed since); choose another output.dir, or set "
        "output.overwrite: true to discard them"
    )


def test_a_killed_run_of_another_job_file_is_not_said_to_be_resumed():
    """After a SIGKILL the note said 'resuming where it stopped' of the other job's run, which the run did not."""
    holder = Holder(4242, socket.gethostname(), "2026-12-07 10:00:00", job="/data/a.yaml")
    assert took_over_note(holder, Path("/data/a.yaml")).endswith(
        "left this output folder locked; resuming where it stopped"
    )
    assert took_over_note(holder, Path("/data/b.yaml")) == (
        f"a killed run (PID 4242 on {socket.gethostname()}, started 2026-12-07 10:00:00, job /data/a.yaml) left this "
        "output folder locked; that was a run of another job file, which this run of /data/b.yaml does not resume: "
        "it starts its own"
    )


def test_the_same_job_file_reached_through_a_link_is_the_same_file(tmp_path):
    job, out = _stopped_run(tmp_path)
    (tmp_path / "linked").symlink_to(tmp_path)
    write_job(tmp_path, job_with(output__dir="out", batch_size=4, report=False, mask__geometry__inner_radius=10))
    through_link = plan_job(tmp_path / "linked" / job.name).job
    owners = unit_owners(through_link, out)
    assert owners.edited and not owners.others


def test_a_stopped_run_resumes_from_another_spelling_of_its_job_file_and_a_finished_one_has_nothing_to_do(tmp_path):
    """The cluster look: a run of MJ/j2.yaml (MJ a link to MaskJobs) stopped, then MaskJobs/j2.yaml said "3 units
    have not finished for this job as it is", every time: the recipes held the paths as each spelling wrote them."""
    job, out = _stopped_run(tmp_path)
    linked = tmp_path / "linked"
    linked.symlink_to(tmp_path)
    assert plan_job(linked / job.name).job.recipe() == plan_job(job).job.recipe()
    assert unit_owners(plan_job(linked / job.name).job, out).this_job == ["batch_00001", "batch_00002", "batch_00003"]
    resumed = maskrun("run", linked / job.name)
    assert resumed.returncode == 0, resumed.stderr
    assert "(3 of the batches masked by an earlier run)" in resumed.stdout
    again = maskrun("run", job)
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("maskrun run: nothing to do:")


def test_paths_in_a_job_reached_through_a_linked_folder_start_at_its_real_folder(tmp_path):
    """``..`` in a job kept in a linked folder goes up from the folder the link points to, as the system, RELION
    and open() take it; it read ``../particles.star`` beside the link, another file or none."""
    project = example_folder(tmp_path / "proj", particles=12, maps=0)
    (project / "jobs").mkdir()
    job = write_job(project / "jobs", job_with(inputs__particles="../particles.star", batch_size=4))
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "jl").symlink_to(project / "jobs")
    assert maskrun("validate", tmp_path / "elsewhere" / "jl" / job.name).returncode == 0
    example_folder(tmp_path / "elsewhere", particles=6, maps=0)  # another set, where the link's .. would lead
    plan = plan_job(tmp_path / "elsewhere" / "jl" / job.name)
    assert plan.particles is not None and len(plan.particles) == 12
    assert plan.output_dir == project / "jobs" / "results" / "t"
