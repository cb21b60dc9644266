"""A run never writes over a file of its output folder that maskrun did not write (issue 22).

Each refusal goes through the real command: exit 2, one stderr line naming the file and the
fix, no traceback, every file of the folder byte for byte as it was. A resume after a kill,
whose unit outputs sit beside their unit records, still runs, and a finished run still has
nothing to do.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from maskrun.errors import UserError
from maskrun.jobs.examples import write_example_maps
from maskrun.jobs.runner import run_job

from commands import digest, maskrun, refused_line
from conftest import write_mrc
from job_files import example_folder, job_with, write_job


def _user_file(folder: Path, relative: str) -> Path:
    path = folder / "out" / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix in (".mrc", ".mrcs"):
        import numpy as np

        write_mrc(path, np.ones((1, 8, 8)), stack=path.suffix == ".mrcs")
    else:
        path.write_text("# the user's own file\n")
    return path


def _particles_job(folder: Path, **changes) -> Path:
    example_folder(folder, particles=12, maps=0)
    return write_job(folder, job_with(output__dir="out", **changes))


def _maps_job(folder: Path) -> Path:
    write_example_maps(folder, n_maps=2)
    return write_job(
        folder,
        job_with(
            inputs__particles=None,
            inputs__volumes="maps/*.mrc",
            mask__geometry={"shape": "sphere", "radius": 20},
            output__dir="out",
        ),
    )


@pytest.mark.parametrize(
    "kind,relative",
    [
        ("particles", "particles.star"),
        ("particles", "mask.mrc"),
        ("particles", "stacks/batch_00001.mrcs"),
        ("particles", "provenance/batch_00001.json"),
        ("maps", "volumes/class_2.mrc"),
        ("maps", "volumes.star"),
        ("particles", "report/report.html"),  # the report is written under final names too
        ("particles", "report/particles.png"),
        ("maps", "report/map.png"),
    ],
)
def test_a_users_file_in_the_output_folder_is_refused(tmp_path, kind, relative):
    job = _particles_job(tmp_path) if kind == "particles" else _maps_job(tmp_path)
    users = _user_file(tmp_path, relative)
    before = digest(tmp_path)
    for command in ("run", "validate"):
        proc = maskrun(command, job, *(["--cores", "1"] if command == "run" else []))
        line = refused_line(proc)
        assert f"{users} exists and was not written by maskrun; maskrun never replaces a file it did not write" in line
        assert line.endswith("choose another output.dir, or move the file away") and "set output.overwrite" not in line
        assert digest(tmp_path) == before


def test_run_job_refuses_it_too(tmp_path):
    job = _particles_job(tmp_path)
    _user_file(tmp_path, "mask.mrc")
    before = digest(tmp_path)
    with pytest.raises(UserError, match=r"mask\.mrc exists and was not written by maskrun"):
        run_job(job)
    assert digest(tmp_path) == before


@pytest.mark.parametrize("relative", ["particles.star", "mask.mrc"])
def test_overwrite_true_never_replaces_a_file_maskrun_did_not_write(tmp_path, relative):
    """The facility look: a job copied with overwrite: true and pointed at a RELION Extract job's folder replaced
    that job's particles.star, as the refusal without it proposed ("or set output.overwrite: true"). overwrite: true
    redoes a run of maskrun's; a file no run of maskrun wrote is refused whatever it says, and not offered it."""
    job = _particles_job(tmp_path, output__overwrite=True)
    users = _user_file(tmp_path, relative)
    before = digest(tmp_path)
    line = refused_line(maskrun("run", job, "--cores", "1"))
    assert f"{users} exists and was not written by maskrun" in line and "(output.overwrite: true or not)" in line
    assert digest(tmp_path) == before


def test_overwrite_true_replaces_what_a_killed_run_of_another_job_gathered(tmp_path):
    """Another job's run killed while gathering (its metadata and unit records there, no run record): that job's
    work, refused with the offer of overwrite: true (tests/jobs/test_unit_owners.py), and replaced with it."""
    job = _particles_job(tmp_path)
    assert maskrun("run", job, "--cores", "1").returncode == 0
    (tmp_path / "out" / "provenance" / "run.json").unlink()
    other = write_job(tmp_path, job_with(output__dir="out", fill={"with": "avg"}), "other.yaml")
    line = refused_line(maskrun("run", other, "--cores", "1"))
    assert f"holds an unfinished run of another job file, {job}: 1 finished unit (batch_00001)" in line
    assert line.endswith("or set output.overwrite: true to discard them")
    again = write_job(tmp_path, job_with(output__dir="out", fill={"with": "avg"}, output__overwrite=True), "other.yaml")
    proc = maskrun("run", again, "--cores", "1")
    assert proc.returncode == 0, proc.stderr


@pytest.mark.system  # end to end, a run killed and resumed (three runs): CI runs it (pytest -m system)
@pytest.mark.parametrize(
    "removed",
    [
        ["provenance/run.json"],  # killed while gathering: metadata and mask written, no run record
        ["provenance/run.json", "particles.star", "mask.mrc", "provenance/batch_00001.json"],  # killed in a unit
    ],
)
def test_a_killed_run_still_resumes_and_a_finished_one_has_nothing_to_do(tmp_path, removed):
    job = _particles_job(tmp_path)
    assert maskrun("run", job, "--cores", "1").returncode == 0
    reference = digest(tmp_path / "out")
    for relative in removed:
        (tmp_path / "out" / relative).unlink()
    resumed = maskrun("run", job, "--cores", "1")
    assert resumed.returncode == 0, resumed.stderr
    after = digest(tmp_path / "out")
    assert {k: after[k] for k in reference if k.endswith((".mrcs", ".mrc", ".star"))} == {
        k: v for k, v in reference.items() if k.endswith((".mrcs", ".mrc", ".star"))
    }
    again = maskrun("run", job, "--cores", "1")
    assert again.returncode == 0 and "nothing to do" in again.stdout


def test_a_unit_output_without_record_and_no_trace_of_a_run_is_refused_as_maskruns_left_over(tmp_path):
    """Not replaced unasked; told as a file a run of maskrun left (its label), which output.overwrite: true replaces."""
    job = _particles_job(tmp_path)
    assert maskrun("run", job, "--cores", "1").returncode == 0
    out = tmp_path / "out"
    kept = out / "stacks" / "batch_00001.mrcs"
    shutil.move(kept, tmp_path / "kept.mrcs")
    shutil.rmtree(out)
    kept.parent.mkdir(parents=True)
    shutil.move(tmp_path / "kept.mrcs", kept)
    proc = maskrun("run", job, "--cores", "1")
    assert proc.returncode == 2
    assert f"{kept} exists, left by a run of maskrun that no record accounts for" in proc.stderr


def test_redoing_a_finished_run_removes_only_maskruns_records(tmp_path):
    job = _particles_job(tmp_path, batch_size=4)
    assert maskrun("run", job, "--cores", "1").returncode == 0
    notes = _user_file(tmp_path, "provenance/notes.json")  # not a record of maskrun's: kept
    write_job(tmp_path, job_with(output__dir="out", output__overwrite=True, batch_size=6))
    proc = maskrun("run", job, "--cores", "1")
    assert proc.returncode == 0, proc.stderr
    assert notes.read_text() == "# the user's own file\n"
    kept = sorted(p.name for p in (tmp_path / "out" / "provenance").iterdir())
    assert kept == ["batch_00001.json", "batch_00002.json", "notes.json", "run.json"]  # the old run's 3rd batch gone
    # and so are its 3rd batch's stack and log (the safety look: they stayed beside the new outputs)
    assert "removed 1 output of the run this one replaces, which it does not write again (stacks/batch_00003.mrcs)" in (
        proc.stderr
    )
    assert sorted(p.name for p in (tmp_path / "out" / "stacks").iterdir()) == ["batch_00001.mrcs", "batch_00002.mrcs"]
    assert not (tmp_path / "out" / "logs" / "batch_00003.log").exists()


@pytest.mark.system  # end to end, a run killed or refused by SLURM: CI runs it (pytest -m system)
def test_a_killed_projected_run_with_saved_masks_resumes(tmp_path):
    from maskrun.cli.main import main

    assert main(["example", "projection", "--write", str(tmp_path)]) == 0
    job = tmp_path / "projection.yaml"
    assert maskrun("run", job, "--cores", "1").returncode == 0
    out = tmp_path / "results" / "example-projection"
    masks = digest(out / "masks")
    (out / "provenance" / "run.json").unlink()  # killed while gathering: its units' saved masks are its own
    resumed = maskrun("run", job, "--cores", "1")
    assert resumed.returncode == 0, resumed.stderr
    assert digest(out / "masks") == masks and (out / "provenance" / "run.json").is_file()


def test_a_temporary_file_whose_writer_lives_is_not_removed_as_a_killed_runs(tmp_path):
    """Another maskrun command writing into the output folder now keeps its temporary file; a dead writer's goes."""
    import os
    import subprocess
    import sys

    from maskrun.jobs.output_state import remove_partial_files
    from maskrun.jobs.plan import plan_job

    example_folder(tmp_path, particles=12, maps=0)
    plan = plan_job(write_job(tmp_path, job_with()))
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    (plan.output_dir / "stacks").mkdir(parents=True)
    dead = plan.output_dir / "stacks" / f".batch_00001.mrcs.part-{gone.pid}"
    live = plan.output_dir / f".mine.mrc.part-{os.getpid()}"
    for path in (dead, live):
        path.write_bytes(b"half written")
    assert remove_partial_files(plan) == [dead]
    assert live.read_bytes() == b"half written" and not dead.exists()


def test_only_maskruns_own_temporary_files_are_removed(tmp_path):
    """The safety look: a run deleted the user's `.thesis.part-final`, `.data.part-99999` and `logs/.mine.part-abc`."""
    import subprocess
    import sys

    from maskrun.jobs.output_state import remove_partial_files
    from maskrun.jobs.plan import plan_job

    example_folder(tmp_path, particles=12, maps=0)
    plan = plan_job(write_job(tmp_path, job_with()))
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    out = plan.output_dir
    (out / "logs").mkdir(parents=True)
    (out / ".maskrun").mkdir()
    users = [out / ".thesis.part-final", out / f".data.part-{gone.pid}", out / "logs" / ".mine.part-abc"]
    ours = [out / f".particles.star.part-{gone.pid}", out / "logs" / f".batch_00001.log.part-{gone.pid}"]
    ours.append(out / ".maskrun" / f".plan.json.part-{gone.pid}")
    for path in users + ours:
        path.write_bytes(b"half written")
    assert sorted(remove_partial_files(plan)) == sorted(ours)
    assert all(path.read_bytes() == b"half written" for path in users)


def test_every_users_file_in_the_way_is_named_in_one_refusal(tmp_path):
    """A new user's look: particles.star, report/report.html and a stack of theirs took three runs to learn of, one
    refusal each."""
    job = _particles_job(tmp_path)
    users = [_user_file(tmp_path, name) for name in ("particles.star", "report/report.html", "stacks/batch_00001.mrcs")]
    before = digest(tmp_path)
    line = refused_line(maskrun("validate", job))
    named = sorted(users, key=lambda path: line.index(str(path)))  # each named once, in the order the run writes
    assert f"output.dir: {named[0]} exists and was not written by maskrun;" in line
    assert line.endswith(f"or move the file away; 2 more such: {named[1]}, {named[2]}")
    assert digest(tmp_path) == before


def test_snakemakes_state_folder_alone_is_no_sign_of_a_maskrun_run(tmp_path):
    """The safety look: an empty .snakemake/ (any Snakemake run leaves one) made the user's report and logs
    maskrun's, and the run replaced them unasked."""
    job = _particles_job(tmp_path)
    (tmp_path / "out" / ".snakemake").mkdir(parents=True)
    users = [_user_file(tmp_path, name) for name in ("report/report.html", "logs/snakemake.log")]
    before = digest(tmp_path)
    line = refused_line(maskrun("run", job, "--cores", "1"))
    assert any(f"{path} exists and was not written by maskrun" in line for path in users)
    assert digest(tmp_path) == before


@pytest.mark.parametrize("relative", ["logs/snakemake.log", "particles.star"])
def test_an_input_hard_linked_into_the_output_folder_is_refused_whatever_overwrite_says(tmp_path, relative):
    """The safety look: Snakemake's log, written in place, overwrote the input hard-linked as logs/snakemake.log."""
    import os

    job = _particles_job(tmp_path, output__overwrite=True)
    link = tmp_path / "out" / relative
    link.parent.mkdir(parents=True)
    os.link(tmp_path / "particles.star", link)
    before = digest(tmp_path)
    for command in ("run", "validate"):
        line = refused_line(maskrun(command, job, *(["--cores", "1"] if command == "run" else [])))
        assert f"{link} is another name (a hard link) of the input {tmp_path / 'particles.star'}" in line
        assert "remove that name from the output folder, or choose another output.dir" in line
        assert digest(tmp_path) == before


def test_a_log_hard_linked_to_a_users_file_is_written_as_a_new_file(tmp_path):
    """Logs are written in place, line by line: through a hard link they wrote into the user's other file."""
    import os

    job = _particles_job(tmp_path)
    assert maskrun("run", job, "--cores", "1").returncode == 0
    (tmp_path / "out" / "provenance" / "run.json").unlink()  # killed while gathering: its logs are maskrun's
    precious = tmp_path / "precious.txt"
    precious.write_text("the user's notes\n")
    for name in ("snakemake", "gather", "batch_00001"):
        link = tmp_path / "out" / "logs" / f"{name}.log"
        link.unlink()
        os.link(precious, link)
    proc = maskrun("run", job, "--cores", "1")
    assert proc.returncode == 0, proc.stderr
    assert precious.read_text() == "the user's notes\n"
    assert (tmp_path / "out" / "logs" / "gather.log").read_text() != "the user's notes\n"


@pytest.mark.system  # end to end, a run killed and resumed (three runs): CI runs it (pytest -m system)
def test_a_run_stopped_while_drawing_its_report_draws_it_when_run_again(tmp_path):
    """The safety look: killed in the report, the folder looked finished ("nothing to do") with no report."""
    job = _particles_job(tmp_path)
    assert maskrun("run", job, "--cores", "1").returncode == 0
    html = tmp_path / "out" / "report" / "report.html"
    page = html.read_text()
    html.unlink()  # as a run stopped before the report's last file
    assert "without its report: maskrun run draws it" in maskrun("validate", job).stdout
    proc = maskrun("run", job, "--cores", "1")
    assert proc.returncode == 0, proc.stderr
    assert "without its report: wrote" in proc.stdout and "nothing to do" not in proc.stdout
    assert html.read_text().startswith(page[:200])
    again = maskrun("run", job, "--cores", "1")
    assert again.returncode == 0 and "nothing to do" in again.stdout


def test_run_job_draws_a_missing_report_too(tmp_path):
    from maskrun.api import run_job as api_run_job

    job = _particles_job(tmp_path)
    api_run_job(job)
    html = tmp_path / "out" / "report" / "report.html"
    html.unlink()
    assert api_run_job(job).units_run == 0 and html.is_file()


@pytest.mark.system  # end to end, two full runs with their reports (5 s): CI runs it (pytest -m system)
def test_redoing_a_run_keeps_a_users_file_put_where_an_old_output_was(tmp_path):
    """An old output the user replaced by a file of their own since is not the old run's to remove."""
    job = _particles_job(tmp_path, batch_size=4)
    assert maskrun("run", job, "--cores", "1").returncode == 0
    users = _user_file(tmp_path, "stacks/batch_00003.mrcs")  # the old run's 3rd batch, replaced by the user's
    mine = users.read_bytes()
    write_job(tmp_path, job_with(output__dir="out", output__overwrite=True, batch_size=6))
    proc = maskrun("run", job, "--cores", "1")
    assert proc.returncode == 0, proc.stderr
    assert users.read_bytes() == mine


@pytest.mark.system  # end to end, two full runs with their reports (5 s): CI runs it (pytest -m system)
def test_a_redo_never_removes_what_the_new_job_reads(tmp_path):
    """The second safety look: a redo deleted the old run's volumes/half1.mrc the edited job gave as check.half1."""
    write_example_maps(tmp_path, n_maps=2)
    maps = {"inputs__particles": None, "mask__geometry": {"shape": "sphere", "radius": 20}, "output__dir": "out"}
    first = job_with(inputs__volumes=["maps/class_1.mrc", "maps/class_2.mrc"], output__overwrite=True, **maps)
    job = write_job(tmp_path, first)
    assert maskrun("run", job, "--cores", "1").returncode == 0
    kept = tmp_path / "out" / "volumes" / "class_2.mrc"
    before = kept.read_bytes()
    check = {"half1": "out/volumes/class_2.mrc", "half2": "maps/class_2.mrc"}  # an old output, read by the new job
    write_job(tmp_path, first | {"inputs": {"volumes": ["maps/class_1.mrc"]}, "check": check})
    maskrun("run", job, "--cores", "1")
    assert kept.read_bytes() == before


@pytest.mark.system  # end to end, two full runs with their reports (5 s): CI runs it (pytest -m system)
def test_a_redo_keeps_copies_of_records_the_user_keeps_under_other_names(tmp_path):
    job = _particles_job(tmp_path, batch_size=4)
    assert maskrun("run", job, "--cores", "1").returncode == 0
    provenance = tmp_path / "out" / "provenance"
    backups = [provenance / "run-v1-backup.json", provenance / "batch_00001.v1.json"]
    for backup, source in zip(backups, ("run.json", "batch_00001.json")):
        shutil.copy(provenance / source, backup)
    write_job(tmp_path, job_with(output__dir="out", output__overwrite=True, batch_size=6))
    assert maskrun("run", job, "--cores", "1").returncode == 0
    assert all(backup.is_file() for backup in backups)


@pytest.mark.system  # end to end, two full runs with their reports (5 s): CI runs it (pytest -m system)
def test_a_report_asked_for_after_a_run_without_one_does_not_replace_the_users_report_folder(tmp_path):
    """The second safety look: report: false, the user's report/ files, then report: true: run wrote over them."""
    job = _particles_job(tmp_path, report=False)
    assert maskrun("run", job, "--cores", "1").returncode == 0
    users = _user_file(tmp_path, "report/report.html")
    write_job(tmp_path, job_with(output__dir="out", report=True))
    before = digest(tmp_path)
    for command in ("validate", "run"):
        line = refused_line(maskrun(command, job, *(["--cores", "1"] if command == "run" else [])))
        assert f"{users} exists and is not from maskrun's report (the run was made with report: false" in line
        assert digest(tmp_path) == before
    users.unlink()
    proc = maskrun("run", job, "--cores", "1")
    assert proc.returncode == 0 and "without its report: wrote" in proc.stdout


def test_temporary_files_of_the_report_and_sqlite_journals_are_removed_too(tmp_path):
    import subprocess
    import sys

    from maskrun.jobs.output_state import remove_partial_files
    from maskrun.jobs.plan import plan_job

    example_folder(tmp_path, particles=12, maps=0)
    plan = plan_job(write_job(tmp_path, job_with()))
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    figure = next(path for path in plan.report_outputs() if path.suffix == ".png")
    figure.parent.mkdir(parents=True)
    ours = [figure.with_name(f".{figure.name}.part-{gone.pid}")]
    ours.append(plan.output_dir / f".{plan.metadata_outputs[0].name}.part-{gone.pid}-journal")
    for path in ours:
        path.write_bytes(b"half written")
    assert sorted(remove_partial_files(plan)) == sorted(ours)


def test_an_output_a_glob_of_the_maps_would_read_next_time_is_refused(tmp_path):
    """The second safety look: volumes 'maps/*.mrc' with output.dir maps: every rerun read maps/mask.mrc as a map."""
    write_example_maps(tmp_path, n_maps=2)
    job = write_job(
        tmp_path,
        job_with(
            inputs__particles=None,
            inputs__volumes="maps/*.mrc",
            mask__geometry={"shape": "sphere", "radius": 20},
            output__dir="maps",
        ),
    )
    before = digest(tmp_path)
    line = refused_line(maskrun("validate", job))
    assert f"the run would write {tmp_path / 'maps' / 'mask.mrc'}, which the pattern 'maps/*.mrc' matches" in line
    assert digest(tmp_path) == before


@pytest.mark.parametrize(
    "relative,is_folder,what",
    [
        (".maskrun", False, "is a file where the run writes a folder"),  # the saved plan's folder
        (".snakemake", False, "is a file where the run writes a folder"),  # Snakemake's state
        (".maskrun.lock", True, "is a folder where the run keeps its lock file"),
    ],
    ids=[".maskrun", ".snakemake", ".maskrun.lock"],
)
def test_a_thing_in_the_way_of_the_runs_own_files_is_refused_before_work(tmp_path, relative, is_folder, what):
    """validate said valid and the run failed (exit 1, "[Errno 17] File exists"), or for the lock "try again"."""
    job = _particles_job(tmp_path)
    in_the_way = tmp_path / "out" / relative
    in_the_way.parent.mkdir()
    if is_folder:
        in_the_way.mkdir()
    else:
        in_the_way.write_text("# the user's own file\n")
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    for command in ("validate", "run"):
        line = refused_line(maskrun(command, job, *(["--cores", "1"] if command == "run" else [])))
        assert line == (
            f"maskrun {command}: error: {job}: output.dir: {in_the_way} {what}; move it away or choose another "
            "output.dir"
        )
        assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_the_run_lock_refuses_a_folder_in_its_place_naming_the_job(tmp_path):
    """Also where no check before it looked (a finished run drawing its missing report takes the lock)."""
    from maskrun.jobs.run_lock import RunLock

    lock = tmp_path / ".maskrun.lock"
    lock.mkdir()
    with pytest.raises(UserError) as refused, RunLock(lock, "job.yaml"):
        pass
    assert str(refused.value) == (
        f"job.yaml: output.dir: {lock} is a folder where the run keeps its lock file; move it away or choose another "
        "output.dir"
    )


@pytest.mark.system  # end to end, a run killed and resumed (three runs): CI runs it (pytest -m system)
def test_units_an_edited_jobs_killed_run_left_go_when_it_runs_again(tmp_path):
    """The second safety look: batch_size 20 killed after units 1 and 3, then 30: batch_00003 stayed for good."""
    job = _particles_job(tmp_path, batch_size=4)
    assert maskrun("run", job, "--cores", "1").returncode == 0
    out = tmp_path / "out"
    for relative in ("provenance/run.json", "particles.star", "mask.mrc"):  # as a run killed before its gather
        (out / relative).unlink()
    users = _user_file(tmp_path, "stacks/notes.txt")
    write_job(tmp_path, job_with(output__dir="out", batch_size=6))
    proc = maskrun("run", job, "--cores", "1")
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in (out / "stacks").iterdir()) == ["batch_00001.mrcs", "batch_00002.mrcs", "notes.txt"]
    assert not (out / "provenance" / "batch_00003.json").exists() and not (out / "logs" / "batch_00003.log").exists()
    assert users.read_text() == "# the user's own file\n"


@pytest.mark.system  # end to end, a run killed and resumed (three runs): CI runs it (pytest -m system)
def test_a_killed_runs_leftover_unit_that_the_edited_job_reads_stays(tmp_path):
    """As a redo's: the leftover volumes/class_2.mrc, given as check.half1 by the edited job, was deleted."""
    write_example_maps(tmp_path, n_maps=2)
    maps = {"inputs__particles": None, "mask__geometry": {"shape": "sphere", "radius": 20}, "output__dir": "out"}
    first = job_with(inputs__volumes=["maps/class_1.mrc", "maps/class_2.mrc"], **maps)
    job = write_job(tmp_path, first)
    assert maskrun("run", job, "--cores", "1").returncode == 0
    out = tmp_path / "out"
    for relative in ("provenance/run.json", "volumes.star", "mask.mrc"):  # as a run killed before its gather
        (out / relative).unlink(missing_ok=True)
    kept = out / "volumes" / "class_2.mrc"
    before = kept.read_bytes()
    check = {"half1": "out/volumes/class_2.mrc", "half2": "maps/class_2.mrc"}
    write_job(tmp_path, first | {"inputs": {"volumes": ["maps/class_1.mrc"]}, "check": check})
    proc = maskrun("run", job, "--cores", "1")
    assert kept.read_bytes() == before, proc.stderr
    assert (out / "provenance" / "map_class_2.json").is_file()
    assert proc.returncode == 0, proc.stderr
    assert "nothing to do" in maskrun("run", job, "--cores", "1").stdout


def test_the_home_folder_or_the_root_as_output_dir_is_refused(tmp_path, monkeypatch):
    """The safety look: output.dir ~ or / passed validate; a run fills its folder with stacks/, logs/, report/..."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for given, shown, what in (("~", home, "your home folder"), ("/", Path("/"), "the file system's root")):
        example_folder(tmp_path, particles=12, maps=0)
        job = write_job(tmp_path, job_with(output__dir=given))
        commands = ("validate", "run") if given == "~" else ("validate",)  # a run is never tried on the real root
        for command in commands:
            line = refused_line(maskrun(command, job, *(["--cores", "1"] if command == "run" else [])))
            assert line.startswith(f"maskrun {command}: error: {job}: output.dir: {shown} is {what}, and a run fills")
            assert line.endswith(f"give the job a folder of its own (e.g. {home / 'maskrun' / 'JOB_NAME'})")
        assert list(home.iterdir()) == []


@pytest.mark.system  # end to end, two full runs with their reports (5 s): CI runs it (pytest -m system)
def test_a_job_replacing_another_in_its_folder_removes_the_old_reports_figures(tmp_path):
    """The safety look: a maps job's map.png and check.png stayed beside the particles job's report that replaced it."""
    write_example_maps(tmp_path, n_maps=2)
    maps = job_with(
        inputs__particles=None,
        inputs__volumes=["maps/class_1.mrc"],
        mask__geometry={"shape": "sphere", "radius": 20},
        output__dir="out",
        check={"half1": "maps/class_1.mrc", "half2": "maps/class_2.mrc"},
    )
    job = write_job(tmp_path, maps)
    assert maskrun("run", job, "--cores", "1").returncode == 0
    report = tmp_path / "out" / "report"
    assert {"map.png", "check.png"} <= {p.name for p in report.iterdir()}
    users = report / "my_figure.png"
    shutil.copy(report / "profile.png", users)
    (report / "map.png").write_bytes((report / "map.png").read_bytes() + b"edited")  # the user's now
    example_folder(tmp_path, particles=12, maps=0)
    write_job(tmp_path, job_with(output__dir="out", output__overwrite=True))
    proc = maskrun("run", job, "--cores", "1")
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in report.iterdir()) == [
        "map.png",
        "my_figure.png",
        "particles.png",
        "profile.png",
        "report.html",
    ]
    assert "removed 4 outputs of the run this one replaces" in proc.stderr  # check.png among them


def test_overwrite_true_does_not_take_a_users_logs_or_report_for_maskruns(tmp_path):
    """The review: with overwrite: true and no trace of a run, every log and report file counted as maskrun's, and a
    user's own report/report.html and logs/snakemake.log in the folder were replaced."""
    job = _particles_job(tmp_path, output__overwrite=True)
    users = [_user_file(tmp_path, name) for name in ("report/report.html", "logs/batch_00001.log")]
    before = digest(tmp_path)
    line = refused_line(maskrun("run", job, "--cores", "1"))
    assert any(f"{path} exists and was not written by maskrun" in line for path in users)
    assert digest(tmp_path) == before


def test_a_redo_stopped_after_retiring_the_finished_run_is_resumed_with_overwrite(tmp_path):
    """The review: a redo (overwrite: true) stopped after removing the finished run's records left its labelled
    mask.mrc, stacks, logs and report, which the refusal called 'not written by maskrun' even with overwrite: true.
    Without overwrite they are told as maskrun's, with the fix that works; with it they are replaced."""
    job = _particles_job(tmp_path, batch_size=6)
    assert maskrun("run", job, "--cores", "1").returncode == 0
    out = tmp_path / "out"
    shutil.rmtree(out / "provenance")
    (out / "particles.star").unlink()
    line = refused_line(maskrun("run", job, "--cores", "1"))
    assert "exists, left by a run of maskrun that no record accounts for; set output.overwrite: true" in line
    again = write_job(tmp_path, job_with(output__dir="out", batch_size=6, output__overwrite=True))
    proc = maskrun("run", again, "--cores", "1")
    assert proc.returncode == 0, proc.stderr


def test_a_unit_killed_before_its_record_with_saved_masks_resumes(tmp_path):
    """The review: a unit's saved masks (output.save_masks) written before its record were refused as the user's
    when the unit was killed in between; the run could not resume."""
    import yaml

    from maskrun.jobs.examples import write_example

    spec = yaml.safe_load(write_example("projection", tmp_path).read_text())
    spec["output"] = {"dir": "out", "save_masks": True}
    spec["report"] = False
    job = tmp_path / "saved.yaml"
    job.write_text(yaml.safe_dump(spec))
    assert maskrun("run", job, "--cores", "1").returncode == 0
    out = tmp_path / "out"
    assert sorted(p.name for p in (out / "masks").glob("batch_*.mrcs"))
    for name in ("provenance/run.json", "particles.star", "provenance/batch_00001.json"):
        (out / name).unlink()
    proc = maskrun("run", job, "--cores", "1")
    assert proc.returncode == 0, proc.stderr


def test_a_redo_stopped_with_only_its_logs_and_report_left_is_told_to_set_overwrite(tmp_path):
    """A redo stopped after retiring the finished run leaves unit logs and a report that overwrite: true replaces:
    the refusal says so for them too, not "not written by maskrun" (whichever of its files comes first)."""
    job = _particles_job(tmp_path, batch_size=6)
    assert maskrun("run", job, "--cores", "1").returncode == 0
    out = tmp_path / "out"
    for name in ["provenance", "stacks", "particles.star", "mask.mrc", ".maskrun", ".snakemake"]:  # no trace of a run
        shutil.rmtree(out / name) if (out / name).is_dir() else (out / name).unlink()
    line = refused_line(maskrun("run", job, "--cores", "1"))
    assert "exists, left by a run of maskrun that no record accounts for; set output.overwrite: true" in line


def test_files_of_two_kinds_in_the_way_are_both_named_in_one_refusal(tmp_path):
    """A run's stacks with no record left (its provenance and plan removed) beside a particles.star of the user's:
    the refusal named the first kind only, and the next run the second."""
    job = _particles_job(tmp_path)
    assert maskrun("run", job, "--cores", "1").returncode == 0
    out = tmp_path / "out"
    shutil.rmtree(out / "provenance")
    shutil.rmtree(out / ".maskrun")
    (out / "particles.star").write_text("data_mine\n")
    before = digest(tmp_path)
    line = refused_line(maskrun("validate", job))
    left, _, users = line.partition("; and ")  # the run's files left over first (the order it writes them)
    assert "exists, left by a run of maskrun that no record accounts for; set output.overwrite: true" in left
    assert "mask.mrc" in left and "particles.star" not in left
    assert "exists and was not written by maskrun; maskrun never replaces a file it did not write" in users
    assert str(out / "particles.star") in users and line.count("\n") == 0
    assert digest(tmp_path) == before
