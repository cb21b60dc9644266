"""A job file or an input changed while a run uses it: the run stops in one line, and the next run is of one job.

A unit of a ``maskrun run`` never masks by a job edited after the run planned it (the
units before the edit masked by the planned one); a unit done for another version of the
job is redone; a stack changed since a unit read it leaves no finished record; and a
failure names the log that holds its cause.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from maskrun._version import __version__ as maskrun_version
from maskrun.config.job_file import load_job
from maskrun.errors import RunFailure, UserError
from maskrun.io.atomic import write_atomic
from maskrun.jobs.input_checksums import checksums_path
from maskrun.jobs.plan import plan_job
from maskrun.jobs.plan_file import save_plan
from maskrun.jobs.provenance import input_entry
from maskrun.jobs.run_lock import RunLock
from maskrun.jobs.runner import gather, run_unit
from maskrun.jobs.step_logs import logged_failure, logged_refusal
from maskrun.workflow import launch, unit_process
from maskrun.workflow.support import run_unit_logged, unit_plan

from commands import maskrun, output_bytes, refused_line, start_run, wait_for_units
from job_files import example_folder, job_with, slow_blocks_env, write_job

EDIT = ("outer_radius: 28", "outer_radius: 24")


def edit(job: Path) -> None:
    job.write_text(job.read_text().replace(*EDIT))


def recipes(out: Path) -> set[str]:
    """The job versions (recipe sha256) the unit records and the run record of ``out`` were made by."""
    return {json.loads(p.read_text())["job_recipe_sha256"] for p in (out / "provenance").glob("*.json")}


def test_a_unit_of_a_run_whose_job_file_was_edited_stops_naming_the_setting(tmp_path, capsys):
    example_folder(tmp_path, particles=30, maps=0)
    path = write_job(tmp_path, job_with(batch_size=10, report=False))
    plan = plan_job(path)
    save_plan(plan)  # as maskrun run does before Snakemake starts
    edit(path)
    with RunLock(plan.lock_path, str(path)):  # the run goes on
        assert unit_process.main([str(path), "batch_00002"]) == 2
    line = capsys.readouterr().err.strip()
    assert line == (
        f"maskrun: error: {path}: mask.geometry.outer_radius in the job file changed during the run, after the run "
        "planned the job; the run stops so as not to mix the two versions in one output folder: run it again to "
        "redo the job with the change, or undo the change"
    )
    assert logged_refusal(plan.log_path("batch_00002")) == line.removeprefix("maskrun: error: ")  # what the run shows
    assert not plan.record_path(plan.units[1]).exists() and not plan.unit_output(plan.units[1]).exists()
    star = plan.particle_set.source
    star.write_text(star.read_text() + "\n")  # the metadata, for the job as planned
    with RunLock(plan.lock_path, str(path)), pytest.raises(UserError, match=f"^{path}: {star} changed during the run"):
        unit_plan(plan.job, "batch_00001")
    # no run in progress (plain snakemake, after an earlier maskrun run): the unit plans the job as it is
    edited = load_job(path)
    replanned, saved = unit_plan(edited, "batch_00002")
    assert not saved and replanned.job.recipe_sha256 == edited.recipe_sha256 != plan.job.recipe_sha256


def test_a_cluster_nodes_parse_of_an_edited_job_takes_the_runs_plan_without_planning_anew(tmp_path, monkeypatch):
    """Each cluster job parses the Snakefile: during a run whose job was edited, it reads the run's saved plan (its
    unit then refuses, above) rather than plan the whole job again (seconds at a million particles) for nothing."""
    import yaml

    from maskrun.jobs import plan_file
    from maskrun.workflow import support

    example_folder(tmp_path, particles=30, maps=0)
    path = write_job(tmp_path, job_with(batch_size=10, report=False))
    plan = plan_job(path)
    save_plan(plan)
    edit(path)

    def planned(job):
        raise AssertionError("the parse planned the job")

    config = yaml.safe_load(path.read_text())
    with monkeypatch.context() as patched, RunLock(plan.lock_path, str(path)):
        for module in (support, plan_file):
            patched.setattr(module, "plan_job", planned)
        parsed = support.load_plan(config, [path])
    assert parsed.units == plan.units
    np.testing.assert_array_equal(parsed.particle_set.stack_of_row, plan.particle_set.stack_of_row)
    parsed = support.load_plan(config, [path])  # no run in progress (plain snakemake): the job as it is now
    assert parsed.job.recipe_sha256 != plan.job.recipe_sha256 and parsed.particle_set.has_metadata


@pytest.mark.system  # end to end, a run killed or refused by SLURM: CI runs it (pytest -m system)
def test_editing_the_job_during_a_run_stops_it_and_the_next_run_redoes_it_all_with_the_edit(tmp_path):
    example_folder(tmp_path, particles=60, maps=0)
    job = write_job(tmp_path, job_with(batch_size=6, report=False))
    out = tmp_path / "results" / "t"
    command = [sys.executable, "-m", "maskrun", "run", str(job), "--cores", "1"]
    process = subprocess.Popen(
        command, env=slow_blocks_env(tmp_path, 0.4), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    wait_for_units(out, 2, process)
    edit(job)  # the next unit may be masking already: it finishes by the planned job
    stdout, stderr = process.communicate(timeout=300)
    line = refused_line(subprocess.CompletedProcess(command, process.returncode, stdout, stderr))
    assert f"{job}: mask.geometry.outer_radius in the job file changed during the run" in line
    assert len(recipes(out)) == 1 and not (out / "provenance" / "run.json").exists()  # only the planned job's
    proc = maskrun("run", job, "--cores", "1")
    assert proc.returncode == 0, proc.stderr
    assert recipes(out) == {load_job(job).recipe_sha256}  # every unit redone, the last done too
    run = json.loads((out / "provenance" / "run.json").read_text())
    assert run["job_resolved"]["mask"]["geometry"]["outer_radius"] == 24
    assert "nothing to do" in maskrun("run", job, "--cores", "1").stdout


def killed_as_it_gathered(tmp_path: Path) -> tuple[Path, Path]:
    """30 example particles in 3 batches, run, then left as a run killed as it gathered: the job and its output."""
    example_folder(tmp_path, particles=30, maps=0)
    job = write_job(tmp_path, job_with(batch_size=10, report=False))
    out = tmp_path / "results" / "t"
    assert maskrun("run", job, "--cores", "1").returncode == 0
    for name in ("provenance/run.json", "particles.star", "mask.mrc"):
        (out / name).unlink()
    return job, out


def test_units_done_for_the_job_before_an_edit_are_redone_whatever_the_files_times(tmp_path):
    job, out = killed_as_it_gathered(tmp_path)
    edit(job)
    hour_ago = time.time() - 3600  # restored from a copy with its times (cp -p): older than every unit's output
    os.utime(job, (hour_ago, hour_ago))
    proc = maskrun("run", job, "--cores", "1")
    assert proc.returncode == 0, proc.stderr
    assert recipes(out) == {load_job(job).recipe_sha256}


def masked_units(tmp_path: Path):
    """A plan of 30 example particles in 3 batches, each unit masked, not gathered."""
    example_folder(tmp_path, particles=30, maps=0)
    plan = plan_job(write_job(tmp_path, job_with(batch_size=10, report=False)))
    for unit in plan.units:
        run_unit(plan, unit.id)
    return plan


def test_a_stack_changed_after_its_unit_read_it_leaves_no_finished_record(tmp_path):
    plan = masked_units(tmp_path)
    last = plan.units[-1]
    stack = plan.particle_set.stack_paths[last.stacks[-1]]
    size = stack.stat().st_size
    os.truncate(stack, size - 4096)
    with pytest.raises(RunFailure) as failure:
        gather(plan)
    assert str(failure.value) == (
        f"{stack} changed since unit {last.id} read it ({size} bytes then, {size - 4096} now), so the run is not "
        "recorded as finished: restore it, or run the job again to redo the units that read it"
    )
    assert not plan.run_record_path.exists() and not (plan.output_dir / "particles.star").exists()


def test_a_stack_only_touched_after_its_unit_read_it_is_gathered(tmp_path):
    plan = masked_units(tmp_path)
    stack = plan.particle_set.stack_paths[0]
    later = stack.stat().st_mtime + 10
    os.utime(stack, (later, later))  # the same bytes: its checksum says so
    gather(plan)
    assert plan.run_record_path.exists()


def edited_with_its_times_given_back(stack: Path) -> None:
    """Other bytes at the same size, then the old modification time back (as ``touch -r`` or ``cp -p`` leave it)."""
    before = stack.stat()
    with open(stack, "r+b") as file:
        file.seek(before.st_size - 4096)
        file.write(bytes(range(256)) * 16)
    os.utime(stack, ns=(before.st_atime_ns, before.st_mtime_ns))


def refusal_of(plan, stack: Path) -> str:
    with pytest.raises(RunFailure) as failure:
        gather(plan)
    assert not plan.run_record_path.exists() and not (plan.output_dir / "particles.star").exists()
    unit = next(u.id for u in plan.units if plan.particle_set.stack_paths.index(stack) in u.stacks)
    prefix = f"{stack} changed since unit {unit} read it ("
    suffix = (
        "), so the run is not recorded as finished: restore it, or run the job again to redo the units that read it"
    )
    message = str(failure.value)
    assert message.startswith(prefix) and message.endswith(suffix), message
    return message[len(prefix) : -len(suffix)]


def test_a_stack_edited_after_its_unit_read_it_and_given_its_times_back_is_refused(tmp_path):
    plan = masked_units(tmp_path)  # the units hashed the stacks as they read them
    stack = plan.particle_set.stack_paths[0]
    edited_with_its_times_given_back(stack)
    assert refusal_of(plan, stack) == "rewritten since, with its size and modification time given back"


def test_a_checksum_taken_after_such_an_edit_does_not_vouch_for_what_the_unit_read(tmp_path):
    # the launcher hashes the stacks in a thread beside the units: an edit can come before it reaches a stack
    plan = masked_units(tmp_path)
    stack = plan.particle_set.stack_paths[0]
    edited_with_its_times_given_back(stack)
    plan = dataclasses.replace(plan, launcher_pid=os.getpid())
    entries = {str(path): input_entry(path) for path in plan.particle_set.stack_paths}  # after the edit
    checksums_path(plan.output_dir).parent.mkdir(exist_ok=True)
    write_atomic(checksums_path(plan.output_dir), json.dumps({"pid": os.getpid(), "inputs": entries}))
    assert refusal_of(plan, stack) == (
        "its change time moved since (an edit given back its size and modification time, touch -r or cp -p, or a "
        "chmod), and no checksum taken as the unit read it shows it unchanged"
    )


def test_a_stack_whose_mode_changed_after_its_unit_read_it_is_gathered(tmp_path):
    plan = masked_units(tmp_path)
    stack = plan.particle_set.stack_paths[0]
    stack.chmod(0o444)  # its change time moves; its checksum, taken as the unit read it, is unchanged
    gather(plan)
    assert plan.run_record_path.exists()


def test_a_stack_truncated_after_planning_fails_its_unit_in_one_logged_line(tmp_path):
    example_folder(tmp_path, particles=30, maps=0)
    plan = plan_job(write_job(tmp_path, job_with(batch_size=10, report=False)))
    stack = plan.particle_set.stack_paths[0]
    os.truncate(stack, 2048)
    log = plan.log_path("batch_00001")
    log.parent.mkdir(parents=True)
    with pytest.raises(RunFailure, match=f"^{stack} is now 2048 bytes, shorter than"):
        run_unit_logged(plan, "batch_00001", str(log))
    assert logged_failure(log).startswith(f"{stack} is now 2048 bytes") and "Traceback" not in log.read_text()


def test_a_run_whose_stack_is_truncated_before_its_unit_fails_in_one_line_naming_the_log(tmp_path):
    example_folder(tmp_path, particles=60, maps=0)
    job = write_job(tmp_path, job_with(batch_size=6, report=False))
    out = tmp_path / "results" / "t"
    process = start_run(job, env=slow_blocks_env(tmp_path, 0.3))
    wait_for_units(out, 1, process)
    stack = sorted((tmp_path / "Extract").glob("*.mrcs"))[-1]  # the last batches read it
    os.truncate(stack, 2048)
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 1 and "Traceback" not in stderr, stderr
    last = stderr.strip().splitlines()[-1]
    assert last.startswith(f"maskrun run: failed: {stack} is now 2048 bytes, shorter than the"), last
    failed_log = last.rpartition("(log: ")[2].rstrip(")")
    assert logged_failure(Path(failed_log)) is not None and not (out / "provenance" / "run.json").exists()


def test_a_failure_names_the_log_that_holds_its_cause(tmp_path):
    example_folder(tmp_path, particles=30, maps=0)
    plan = plan_job(write_job(tmp_path, job_with(batch_size=10)))
    started = time.time() - 1
    logs = plan.output_dir / "logs"
    logs.mkdir(parents=True)
    for step in [u.id for u in plan.units] + ["gather"]:  # written by this attempt, each done
        plan.log_path(step).write_text(f"2026-01-01T00:00:00 start {step}\nwrote it\n2026-01-01T00:00:01 done {step}\n")
    plan.log_path("report").write_text("2026-01-01T00:00:00 start report\n2026-01-01T00:00:01 failed: it broke\n")
    with pytest.raises(RunFailure) as failure:
        launch._failed(plan, 1, started)
    assert str(failure.value) == f"it broke; the report failed (log: {plan.log_path('report')})"


@pytest.mark.system  # end to end, seconds of runs: CI runs it (pytest -m system)
def test_a_dry_run_counts_the_units_an_edit_or_a_changed_stack_would_redo(tmp_path):
    job, out = killed_as_it_gathered(tmp_path)
    dry = maskrun("run", job, "--dry-run")
    assert "snakemake would run 1 job (gather 1)" in dry.stdout, dry.stdout
    stack = sorted(tmp_path.glob("Extract/**/*.mrcs"))[0]
    stack.write_bytes(stack.read_bytes())  # rewritten, the same bytes: the units that read it are redone
    dry = maskrun("run", job, "--dry-run")
    assert "(mask_batch 1, gather 1)" in dry.stdout, dry.stdout
    edit(job)
    hour_ago = time.time() - 3600  # older than every unit's output: only the job's recipe says it changed
    os.utime(job, (hour_ago, hour_ago))
    dry = maskrun("run", job, "--dry-run")
    assert "snakemake would run 4 jobs (mask_batch 3, gather 1)" in dry.stdout, dry.stdout
    assert not list(out.rglob("*.part-*")) and not (out / "provenance" / "run.json").exists()
    assert maskrun("run", job, "--cores", "1").returncode == 0  # and the run does as the dry run said
    assert recipes(out) == {load_job(job).recipe_sha256}


# a sitecustomize.py that makes this maskrun say it is 0.0.9, in Snakemake's processes and the units' too
OLDER_MASKRUN = "import maskrun, maskrun._version\nmaskrun._version.__version__ = maskrun.__version__ = '0.0.9'\n"


def test_a_run_resumed_by_another_maskrun_redoes_the_units_the_other_one_masked(tmp_path):
    """The cluster look: a run resumed by another version kept the older one's units (their records said 0.0.9,
    run.json the new one); now the units' params name the code, and the output is one version's, byte for byte."""
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(OLDER_MASKRUN)
    older = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(hook), os.environ.get("PYTHONPATH")]))}
    example_folder(tmp_path, particles=30, maps=0)
    job = write_job(tmp_path, job_with(batch_size=10, report=False))
    out = tmp_path / "results" / "t"
    command = [sys.executable, "-m", "maskrun", "run", str(job), "--cores", "1"]
    proc = subprocess.run(command, env=older, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    for name in ("provenance/run.json", "particles.star", "mask.mrc"):  # killed as it gathered
        (out / name).unlink()
    assert {json.loads(p.read_text())["versions"]["maskrun"] for p in (out / "provenance").glob("*.json")} == {"0.0.9"}
    proc = maskrun("run", job, "--cores", "1")
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(p.read_text()) for p in (out / "provenance").glob("*.json")]
    assert len(records) == 4 and {r["versions"]["maskrun"] for r in records} == {maskrun_version}
    uninterrupted = tmp_path / "one"
    example_folder(uninterrupted, particles=30, maps=0)
    assert (
        maskrun("run", write_job(uninterrupted, job_with(batch_size=10, report=False)), "--cores", "1").returncode == 0
    )
    assert output_bytes(out) == output_bytes(uninterrupted / "results" / "t")


def bare_stack_job(tmp_path: Path, batch_size: int) -> Path:
    """A job whose particles are one bare stack (its metadata too): 10 images of the example's first stack."""
    example_folder(tmp_path, particles=30, maps=0)
    shutil.copy(tmp_path / "Extract" / "mic_001.mrcs", tmp_path / "stack.mrcs")
    return write_job(tmp_path, job_with(batch_size=batch_size, report=False, inputs={"particles": "stack.mrcs"}))


def test_a_unit_whose_bare_stack_is_gone_fails_saying_so_not_that_it_changed(tmp_path, capsys):
    """The outside look's finding 9: a stack moved away mid-run was "changed during the run", exit 2 (a mistake in
    the job, nothing written), though units were kept; it is a failure (exit 1), and a resume once it is back."""
    plan = plan_job(bare_stack_job(tmp_path, 5))
    save_plan(plan)
    stack = tmp_path / "stack.mrcs"
    stack.rename(tmp_path / "elsewhere.mrcs")
    with RunLock(plan.lock_path, str(plan.job.path)):
        assert unit_process.main([str(plan.job.path), "batch_00002"]) == 1
    line = capsys.readouterr().err.strip()
    said = (
        f"{stack} is gone (moved or deleted) during the run, after the run planned the job; the run stops, and keeps "
        "the units it finished: put the file back where it was and run the job again to resume"
    )
    assert line.endswith(said), line
    assert logged_failure(plan.log_path("batch_00002")) == said and logged_refusal(plan.log_path("batch_00002")) is None


def test_the_failure_of_a_file_gone_during_the_run_counts_the_units_kept(tmp_path):
    plan = plan_job(bare_stack_job(tmp_path, 5))
    started = time.time() - 1
    plan.record_path(plan.units[0]).parent.mkdir(parents=True)
    plan.record_path(plan.units[0]).write_text("{}")  # the first unit finished
    log = plan.log_path("batch_00002")
    log.parent.mkdir(parents=True)
    gone = f"{tmp_path / 'stack.mrcs'} is gone (moved or deleted) during the run, after the run planned the job; x"
    log.write_text(f"2026-01-01T00:00:00 start batch_00002\n2026-01-01T00:00:01 failed: {gone}\n")
    with pytest.raises(RunFailure) as failure:
        launch._failed(plan, 1, started)
    assert str(failure.value) == f"{gone}; 1 unit failed (log: {log}); 1 of 2 units finished and kept"


@pytest.mark.system  # end to end, a run stopped by a stack moved away and resumed: CI runs it (pytest -m system)
def test_a_stack_moved_away_during_a_run_fails_it_and_the_run_resumes_once_it_is_back(tmp_path):
    job = bare_stack_job(tmp_path, 1)
    out = tmp_path / "results" / "t"
    stack, away = tmp_path / "stack.mrcs", tmp_path / "away.mrcs"
    process = start_run(job, env=slow_blocks_env(tmp_path, 0.3))
    wait_for_units(out, 2, process)
    stack.rename(away)
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 1 and "Traceback" not in stderr, stderr
    last = stderr.strip().splitlines()[-1]
    assert f"{stack} is gone (moved or deleted) during the run" in last and "changed" not in last, last
    kept = int(last.rpartition("; ")[2].split(" of ")[0])
    assert last.endswith(f"{kept} of 10 units finished and kept") and kept >= 2, last
    away.rename(stack)
    proc = maskrun("run", job, "--cores", "1")
    assert proc.returncode == 0, proc.stderr
    assert len(list((out / "provenance").glob("batch_*.json"))) == 10 and (out / "provenance" / "run.json").exists()
