"""Snakemake options after ``--`` that would have a run mask nothing and report it done are refused.

The facility look: ``maskrun run JOB --profile slurm -- -n`` printed "masked 2000 particles in 4
batches -> …/particles.star", exit 0, with no particles.star written; ``-- --touch`` also named the
previous run's report.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from maskrun.errors import UserError
from maskrun.workflow.run_skipping_options import (
    DRY_RUN,
    PART,
    refuse_run_skipping_keys,
    refuse_run_skipping_options,
    refuse_targets,
)

from commands import digest, maskrun, refused_line
from job_files import example_folder, job_with, write_job


@pytest.mark.parametrize(
    "extra, said",
    [
        (["-n"], "-n after --: use maskrun run --dry-run"),
        (["--dry-run"], "--dry-run after --: use maskrun run --dry-run"),
        (["--dry"], "--dry (--dry-run) after --: use maskrun run --dry-run"),
        (["-p", "-np"], "-np (--dry-run) after --: use maskrun run --dry-run"),
        (["--keep-going", "--touch"], "--touch after --: maskrun masks every unit itself"),
        (["-t"], "-t after --: maskrun masks every unit itself"),
        (["-l"], "-l after --: Snakemake would run no unit"),  # the review: -l was let through
        (["-an"], "-an (--dry-run) after --: use maskrun run --dry-run"),
        (["--dag"], "--dag after --: Snakemake would run no unit"),
        (["--list-changes", "params"], "--list-changes after --: Snakemake would run no unit"),
        (["--unlock"], "--unlock after --: maskrun takes over the lock a killed run left"),
        (["--report=r.html"], "--report=r.html after --: maskrun draws its own report"),
        # the trust look: each ran no gather (or no unit) and maskrun said "masked 60 particles", exit 0
        (["--until", "mask_batch"], f"--until after --: {PART}"),
        (["--omit-from", "gather"], f"--omit-from after --: {PART}"),
        (["-Umask_batch"], f"-Umask_batch (--until) after --: {PART}"),
        (["-pO", "gather"], f"-pO (--omit-from) after --: {PART}"),
        (["--allowed-rules", "mask_batch"], f"--allowed-rules after --: {PART}"),
        (["--batch=all=1/3"], f"--batch=all=1/3 after --: {PART}"),
        (["--snakefile", "/dev/null"], "--snakefile after --: maskrun runs its own workflow on the job"),
        (["-s", "/dev/null"], "-s after --: maskrun runs its own workflow on the job"),
        (["--configfile", "other.yaml"], "--configfile after --: maskrun gives Snakemake the job file it runs"),
        (["-C", "name=x"], "-C after --: overrides are not used by maskrun: edit the job file instead"),
        (["--is"], "--is after --: Snakemake would submit the jobs and end before they ran"),
        (["--mode", "remote"], "--mode after --: Snakemake gives it to the jobs it starts itself"),
    ],
)
def test_an_option_that_runs_no_unit_is_refused_naming_what_to_do(extra, said):
    with pytest.raises(UserError) as refused:
        refuse_run_skipping_options(extra)
    assert str(refused.value).startswith(said)


@pytest.mark.parametrize(
    "extra",
    [
        [],
        ["-p"],
        ["--keep-going", "--rerun-incomplete"],
        ["--set-resources", "mask_batch:runtime=30", "--quiet"],
        ["-j4"],  # not only flags: a value follows
        ["-j2n"],  # -j's value, not -n
        ["--forcerun", "mask_batch"],
    ],
)
def test_options_that_run_the_units_pass(extra):
    refuse_run_skipping_options(extra)


def test_a_run_with_dash_n_after_the_double_dash_is_refused_and_writes_nothing(tmp_path):
    example_folder(tmp_path, particles=20, maps=0)
    job = write_job(tmp_path, job_with(batch_size=10))
    before = digest(tmp_path)
    for command in (["run", job, "--cores", "1"], ["validate", job]):
        line = refused_line(maskrun(*command, "--", "-n"))
        assert line.endswith(f"-n after --: {DRY_RUN}"), line
        assert digest(tmp_path) == before and not (tmp_path / "results").exists()


@pytest.mark.parametrize(
    "keys, said",
    [
        ({"until": ["mask_batch"]}, f"prof/config.yaml: until: {PART}"),
        ({"dryrun": True}, f"prof/config.yaml: dryrun: {DRY_RUN}"),
        ({"omit_from": "gather"}, f"prof/config.yaml: omit_from: {PART}"),
    ],
)
def test_a_profile_key_that_runs_no_unit_or_part_is_refused(keys, said):
    with pytest.raises(UserError) as refused:
        refuse_run_skipping_keys(keys, Path("prof/config.yaml"))
    assert str(refused.value) == said


def test_profile_keys_that_run_the_whole_job_pass():
    # maskrun's own command line gives the Snakefile and the job, over a profile's
    keys = {"dryrun": False, "until": [], "jobs": 8, "snakefile": "other", "configfile": "other.yaml"}
    refuse_run_skipping_keys(keys, Path("prof/config.yaml"))


def test_targets_are_refused_but_the_workflows_own():
    refuse_targets(["all"])
    with pytest.raises(UserError) as refused:
        refuse_targets(["mask_batch"])
    assert str(refused.value).startswith("target mask_batch after --: maskrun runs the whole job")


@pytest.mark.parametrize(
    "extra, said",
    [
        (["--until", "mask_batch"], "--until after --: Snakemake would run only part of the job"),
        (["--snakefile", "/dev/null"], "--snakefile after --: maskrun runs its own workflow"),
        (["--forcerun", "gather", "--", "mask_batch"], "target mask_batch after --: maskrun runs the whole job"),
    ],
)
def test_a_run_of_part_of_the_job_is_refused_and_writes_nothing(tmp_path, extra, said):
    """The trust look: ``-- --until mask_batch`` masked the units, ran no gather, and maskrun said "masked 60
    particles in 3 batches -> …/particles.star", exit 0, with no particles.star and no run record."""
    example_folder(tmp_path, particles=20, maps=0)
    job = write_job(tmp_path, job_with(batch_size=10))
    before = digest(tmp_path)
    line = refused_line(maskrun("run", job, "--cores", "1", "--", *extra))
    assert said in line, line
    assert digest(tmp_path) == before and not (tmp_path / "results").exists()


def test_a_run_snakemake_ends_without_the_gather_fails(tmp_path, monkeypatch, capsys):
    """The second line of defence: an option the guard does not know (here the guard is taken away) that has
    Snakemake run the units alone is a failure (exit 1) naming the missing run record, not "masked …", exit 0."""
    from maskrun.cli.main import main
    from maskrun.workflow import launch

    example_folder(tmp_path, particles=20, maps=0)
    job = write_job(tmp_path, job_with(batch_size=10, report=False))
    monkeypatch.setattr(launch, "refuse_run_skipping_options", lambda extra: None)
    assert main(["run", str(job), "--cores", "1", "--", "--until", "mask_batch"]) == 1
    out, err = capsys.readouterr()
    record = tmp_path / "results" / "t" / "provenance" / "run.json"
    assert "masked" not in out and not record.exists()
    assert err.strip().splitlines() == [
        f"maskrun run: failed: snakemake ended with status 0 without writing {record}: the run did not finish "
        f"(2 of 2 units done; see {tmp_path / 'results' / 't' / 'logs' / 'snakemake.log'}); an option given after -- "
        "or set in the profile may have told Snakemake to run only part of the job: leave it out and run again (the "
        "run resumes where it stopped)"
    ]
    assert main(["run", str(job), "--cores", "1"]) == 0 and record.exists()  # it does resume


def test_forcing_options_are_told_apart():
    from maskrun.workflow.run_skipping_options import forcing_options

    extra = ["--forceall", "-pF", "--forcerun", "mask_batch", "--forcerun=gather", "-f", "-j4", "--forceuse-threads"]
    assert forcing_options(extra) == ["--forceall", "-pF", "--forcerun", "--forcerun=gather", "-f"]
    assert forcing_options(["-p", "--jobs", "4", "--keep-going", "-jF"]) == []  # -jF: F is --jobs' value


def test_forcing_a_finished_run_says_that_redoing_it_is_output_overwrite(tmp_path):
    """A cluster look: on a finished job, ``-- --forceall``, ``-F`` and ``--forcerun mask_batch`` were dropped
    silently ("nothing to do", exit 0)."""
    example_folder(tmp_path, particles=12, maps=0)
    job = write_job(tmp_path, job_with(batch_size=6))
    assert maskrun("run", job).returncode == 0
    stamps = {path: path.stat().st_mtime_ns for path in (tmp_path / "results").rglob("*") if path.is_file()}
    proc = maskrun("run", job, "--", "--forcerun", "mask_batch", "-F")
    assert proc.returncode == 0 and proc.stdout.startswith("maskrun run: nothing to do:")
    assert proc.stderr.strip() == (
        "maskrun: note: --forcerun -F after -- redoes nothing here: maskrun leaves a finished run alone; to redo "
        "it, set output.overwrite: true in the job file"
    )
    assert {path: path.stat().st_mtime_ns for path in (tmp_path / "results").rglob("*") if path.is_file()} == stamps
