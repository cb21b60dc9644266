"""Snakemake options after ``--`` that would have a run mask nothing and report it done are refused.

The facility look: ``maskrun run JOB --profile slurm -- -n`` printed "masked 2000 particles in 4
batches -> …/particles.star", exit 0, with no particles.star written; ``-- --touch`` also named the
previous run's report.
"""

from __future__ import annotations

import pytest

from maskrun.errors import UserError
from maskrun.workflow.run_skipping_options import DRY_RUN, refuse_run_skipping_options

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
