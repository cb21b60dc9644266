"""A cluster run's failure in the user's terms: which unit, what SLURM said, the fix (no SLURM needed).

The logs below are Snakemake 9.27 and snakemake-executor-plugin-slurm 2.8's, as a run on
the CI cluster wrote them (a wrong partition, a time limit), trimmed to what is read.
"""

from __future__ import annotations

import os
import time

import pytest

from maskrun.errors import RunFailure
from maskrun.jobs.plan import plan_job
from maskrun.workflow.launch import _failed
from maskrun.workflow.slurm_failures import cluster_failures, describe, job_state

from job_files import example_folder, job_with, write_job

SUBMITTED = """[Sat Dec  5 21:29:05 2026]
rule mask_batch:
    input: {job}, {star}
    output: {out}/stacks/{unit}.mrcs, {out}/provenance/{unit}.json
    log: {out}/logs/{unit}.log
    jobid: {jobid}
    reason: Missing output files: {out}/stacks/{unit}.mrcs
    wildcards: unit={unit}
    threads: 2
    resources: tmpdir=<TBD>, mem_mb=1000, mem=1 GB, mem_mib=954, disk_mb=1000, disk=1 GB, disk_mib=954, runtime=1
Shell command: None
No SLURM account given, trying to guess.
Job {jobid} has been submitted with SLURM jobid {slurm} \
(log: {out}/.snakemake/slurm_logs/rule_mask_batch/{unit}/{slurm}.log).
"""
SBATCH_REFUSED = """[Sat Dec  5 21:27:32 2026]
Error in rule mask_batch:
    message: SLURM sbatch failed. The error message was '{said}'.
    sbatch call:
        sbatch --parsable --job-name b235 --output {out}/.snakemake/slurm_logs/rule_mask_batch/{unit}/%j.log \
-p nosuch -t 10 --mem 1000 --wrap="python -m snakemake"
For further error details see the cluster/cloud log and the log files of the involved rule(s).
    jobid: {jobid}
    input: {job}, {star}
    output: {out}/stacks/{unit}.mrcs, {out}/provenance/{unit}.json
    log: {out}/logs/{unit}.log (check log file(s) for error details)
"""
JOB_ENDED = """[Sat Dec  5 21:29:58 2026]
Error in rule mask_batch:
    message: SLURM-job '{slurm}' failed, SLURM status is: '{state}'. Detailed failure reason unavailable \
(status command is not 'sacct').For further error details see the cluster/cloud log and the log files of the \
involved rule(s).
    jobid: {jobid}
    input: {job}, {star}
    output: {out}/stacks/{unit}.mrcs, {out}/provenance/{unit}.json
    log: {out}/logs/{unit}.log, {out}/.snakemake/slurm_logs/rule_mask_batch/{unit}/{slurm}.log \
(check log file(s) for error details)
    external_jobid: {slurm}
"""
END = """Shutting down, this might take some time.
Exiting because a job execution failed. Look above for error messages
WorkflowError:
At least one job did not complete successfully.
"""
PARTITION = (
    "sbatch: error: invalid partition specified: nosuch\n"
    "sbatch: error: Batch job submission failed: Invalid partition name specified"
)
MEMORY = (
    "sbatch: error: Memory specification can not be satisfied\n"
    "sbatch: error: Batch job submission failed: Requested node configuration is not available"
)


def engine_log(out, blocks: list[tuple[str, dict]]) -> str:
    """Snakemake's log of a cluster run: each (template, its fields) in turn."""
    common = {"out": out, "job": out.parent / "job.yaml", "star": out.parent / "particles.star"}
    return "".join(template.format(**common, **fields) for template, fields in blocks) + END


def units(out, n: int = 3) -> set[str]:
    return {f"batch_{k:05d}" for k in range(1, n + 1)}


def test_a_partition_sbatch_refuses_names_every_unit_what_sbatch_said_and_where_to_set_one(tmp_path):
    text = engine_log(
        tmp_path,
        [(SBATCH_REFUSED, {"unit": f"batch_0000{k}", "jobid": k + 1, "said": PARTITION}) for k in (3, 1, 2)],
    )
    assert describe(cluster_failures(text, units(tmp_path))) == (
        'SLURM refused to queue units batch_00001, batch_00002, batch_00003: sbatch said "invalid partition '
        'specified: nosuch; Batch job submission failed: Invalid partition name specified"; set a partition that '
        "exists (sinfo lists them), as slurm_partition in the profile's default-resources or with -- --set-resources "
        "mask_batch:slurm_partition=NAME, then run the same command again"
    )


def test_too_much_memory_for_sbatch_says_how_to_ask_for_less(tmp_path):
    text = engine_log(tmp_path, [(SBATCH_REFUSED, {"unit": "batch_00001", "jobid": 2, "said": MEMORY})])
    line = describe(cluster_failures(text, units(tmp_path)))
    assert line is not None
    assert line.startswith('SLURM refused to queue unit batch_00001: sbatch said "Memory specification can not be')
    assert (
        "ask for less memory (sinfo -o '%P %m' lists the nodes' MB) with -- --set-resources mask_batch:mem_mb=MB"
        in line
    )


EXECUTOR_REFUSED = """[Sun Dec  6 16:52:30 2026]
Error in rule mask_batch:
    message: Job submission failed with exception: The --{option} option is not allowed in the 'slurm_extra' \
parameter. The {name} is set by the snakemake executor plugin and must not be overwritten. Please use the appropriate \
snakemake resource specification instead. Consult the documentation for proper resource configuration.For further \
error details see the cluster/cloud log and the log files of the involved rule(s).
    jobid: {jobid}
    input: {job}, {star}
    output: {out}/stacks/{unit}.mrcs, {out}/provenance/{unit}.json
    log: {out}/logs/{unit}.log (check log file(s) for error details)
"""


@pytest.mark.parametrize(
    ("name", "fix"),
    [
        (
            "runtime/time limit",
            "take that option out of slurm_extra and use the resource runtime instead (-- --set-resources "
            "mask_batch:runtime=MINUTES, or set-resources in your profile)",
        ),
        ("partition", "take that option out of slurm_extra and use the resource slurm_partition instead"),
        ("job name", "take that option out of slurm_extra (no resource sets it)"),
    ],
)
def test_a_slurm_extra_the_executor_refused_is_told_as_the_executors_with_the_resource_to_use(tmp_path, name, fix):
    """A slurm_extra whose value only the job tells (an expression): the executor refused it, and maskrun said
    sbatch had, with the fix for a runtime (or partition) beyond the partition's limit."""
    fields = {"option": name.replace(" ", "-"), "name": name}
    text = engine_log(
        tmp_path, [(EXECUTOR_REFUSED, fields | {"unit": f"batch_0000{k}", "jobid": k + 1}) for k in (1, 2)]
    )
    line = describe(cluster_failures(text, units(tmp_path)))
    assert line is not None and line.startswith(
        'the SLURM executor refused to submit units batch_00001, batch_00002: it said "The --'
        f"{fields['option']} option is not allowed in the 'slurm_extra' parameter\"; the executor sets the {name} "
        f"itself: {fix}"
    ), line
    assert line.endswith(", then run the same command again"), line


PROCESSORS = "sbatch: error: Batch job submission failed: More processors requested than permitted"


@pytest.mark.parametrize(
    ("resources", "fix"),
    [
        (", cpus_per_task=4", "-- --set-resources mask_batch:cpus_per_task=N (it sets the CPUs asked, whatever"),
        ("", "-- --set-threads mask_batch=N"),
    ],
    ids=["cpus_per_task", "threads"],
)
def test_more_cpus_than_sbatch_permits_names_what_set_them(tmp_path, resources, fix):
    """The cluster look: -- --set-resources mask_batch:cpus_per_task=4 was told to ask for fewer cores with
    --set-threads, which cpus_per_task overrides (a dry run with --set-threads mask_batch=1 still asked 4)."""
    submitted = SUBMITTED.replace("runtime=1\n", f"runtime=10{resources}\n")
    fields = {"unit": "batch_00001", "jobid": 2, "slurm": 0}
    refused = SBATCH_REFUSED.replace("-p nosuch", "")
    text = engine_log(tmp_path, [(submitted, fields), (refused, fields | {"said": PROCESSORS})])
    line = describe(cluster_failures(text, units(tmp_path)))
    assert line is not None and f'permitted"; ask for fewer CPUs with {fix}' in line, line


@pytest.mark.parametrize(
    ("state", "slurm_log", "said"),
    [
        (
            "TIMEOUT",
            "",
            "SLURM stopped unit batch_00002 at its time limit (1 min; job 254: TIMEOUT; SLURM's log: {log}); ask "
            "for more with -- --set-resources mask_batch:runtime=10 (or set-resources in your profile), and run the "
            "same command again: the run resumes where it stopped",
        ),
        (  # squeue without accounting: the state of a job cut at its limit, SLURM's log says why
            "CANCELLED",
            "slurmstepd-localhost: error: *** JOB 254 ON localhost CANCELLED AT 2026-12-05T21:29:58 DUE TO TIME "
            "LIMIT ***",
            "SLURM stopped unit batch_00002 at its time limit (1 min; job 254: TIMEOUT; ",
        ),
        (
            "FAILED",
            "slurmstepd: error: Detected 1 oom_kill event in StepId=254.0. Some of your processes may have been killed",
            "SLURM stopped unit batch_00002 for using more memory than it asked for (1000 MB; job 254: "
            "OUT_OF_MEMORY; SLURM's log: {log}); ask for more with -- --set-resources mask_batch:mem_mb=2000 (or",
        ),
        (
            "CANCELLED",
            "slurmstepd-localhost: error: *** JOB 254 ON localhost CANCELLED AT 2026-12-05T20:11:57 ***",
            "SLURM cancelled unit batch_00002 (job 254: CANCELLED; SLURM's log: {log}); run the same command again: "
            "the run resumes where it stopped",
        ),
        (
            "NODE_FAIL",
            "",
            "the node running unit batch_00002 failed (job 254: NODE_FAIL; SLURM's log: {log}); run the same command "
            "again: the run resumes where it stopped (uncomment slurm-requeue: true in your copy of the SLURM "
            "profile",
        ),
    ],
)
def test_a_job_slurm_ended_is_told_by_its_state_with_the_fix(tmp_path, state, slurm_log, said):
    log = tmp_path / ".snakemake" / "slurm_logs" / "rule_mask_batch" / "batch_00002" / "254.log"
    log.parent.mkdir(parents=True)
    log.write_text(f"Building DAG of jobs...\n{slurm_log}\n")
    fields = {"unit": "batch_00002", "jobid": 3, "slurm": 254}
    text = engine_log(tmp_path, [(SUBMITTED, fields), (JOB_ENDED, fields | {"state": state})])
    line = describe(cluster_failures(text, units(tmp_path)))
    assert line is not None and line.startswith(said.format(log=log)), line


def test_a_job_that_failed_because_its_unit_did_is_left_to_the_units_log(tmp_path):
    fields = {"unit": "batch_00002", "jobid": 3, "slurm": 254}
    text = engine_log(tmp_path, [(SUBMITTED, fields), (JOB_ENDED, fields | {"state": "FAILED"})])
    assert cluster_failures(text, units(tmp_path)) == []
    local = "Error in rule mask_batch:\n    message: None\n    jobid: 2\n    log: {out}/logs/batch_00001.log\n"
    assert cluster_failures(local.format(out=tmp_path), units(tmp_path)) == []  # a local run's


def test_without_a_state_in_snakemakes_message_it_is_asked_of_squeue(tmp_path, monkeypatch):
    """sacct missing (no accounting), squeue answers: the job's state comes from it, once."""
    bin_folder = tmp_path / "bin"
    bin_folder.mkdir()
    calls = tmp_path / "calls"
    (bin_folder / "squeue").write_text(f'#!/bin/sh\necho "$@" >> {calls}\necho TIMEOUT\n')
    (bin_folder / "squeue").chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_folder))
    assert job_state("254") == "TIMEOUT"
    assert calls.read_text().split() == ["-h", "-j", "254", "--states=all", "-o", "%T"]
    fields = {"unit": "batch_00002", "jobid": 3, "slurm": 254}
    ended = JOB_ENDED.replace("message: SLURM-job '{slurm}' failed, SLURM status is: '{state}'.", "message: None")
    text = engine_log(tmp_path, [(SUBMITTED, fields), (ended, fields | {"state": "?"})])
    (failure,) = cluster_failures(text, units(tmp_path))
    assert (failure.unit, failure.state, failure.said) == ("batch_00002", "TIMEOUT", "job 254: TIMEOUT")


@pytest.mark.parametrize("verbose", [False, True], ids=["log", "verbose"])
def test_a_failed_cluster_run_ends_on_slurms_reason_alone(tmp_path, capsys, verbose):
    """The time limit: the unit's log stops mid-way; maskrun run said "snakemake exited with status 1" and
    printed that log's end, without a word of SLURM. With --verbose Snakemake's log went to the terminal: its
    own file under .snakemake/log/ is read instead."""
    example_folder(tmp_path, particles=60, maps=0)
    job = write_job(tmp_path, job_with(batch_size=20))
    plan = plan_job(job)
    out = plan.output_dir
    started = time.time() - 5
    (out / "logs").mkdir(parents=True)
    for unit in ("batch_00001", "batch_00002"):  # one done, one cut off at its limit
        (out / "logs" / f"{unit}.log").write_text(f"2026-12-05T21:29:06 start {unit}\nread the saved plan\n")
    (out / "logs" / "batch_00001.log").write_text(
        "2026-12-05T21:29:06 start batch_00001\n2026-12-05 done batch_00001\n"
    )
    fields = {"unit": "batch_00002", "jobid": 3, "slurm": 254}
    log = (
        out / ".snakemake" / "log" / "2026-12-05T212905.1.snakemake.log" if verbose else out / "logs" / "snakemake.log"
    )
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(engine_log(out, [(SUBMITTED, fields), (JOB_ENDED, fields | {"state": "TIMEOUT"})]))
    os.utime(out / "logs" / "batch_00002.log")
    with pytest.raises(RunFailure) as failure:
        _failed(plan, 1, started, None if verbose else log)
    assert str(failure.value).startswith("SLURM stopped unit batch_00002 at its time limit (1 min; job 254: TIMEOUT")
    assert capsys.readouterr().err == ""  # no log's end printed: the line says it all


def test_the_requeue_the_fix_names_is_a_setting_of_the_bundled_profile_and_of_the_plugin():
    """A cluster user's look: the fix named slurm-requeue: true, which the bundled profile did not hold at all."""
    import dataclasses

    from snakemake_executor_plugin_slurm import ExecutorSettings

    from maskrun.workflow.launch import WORKFLOW

    text = (WORKFLOW / "profiles" / "slurm" / "config.yaml").read_text()
    assert "\n# slurm-requeue: true\n" in text
    assert "requeue" in {f.name for f in dataclasses.fields(ExecutorSettings)}  # as slurm-requeue in a profile


def test_a_stopped_runs_jobs_are_told_as_squeue_lists_them_and_not_when_it_does_not_answer(monkeypatch, tmp_path):
    """The review: jobs absent because squeue failed were said to be cancelled; the ones still listed had no test."""
    from maskrun.workflow import launch

    listings = iter([["51", "52"]])
    monkeypatch.setattr(launch, "slurm_jobs_in", lambda folder, ending=True: next(listings))
    assert launch._cancelled_words(tmp_path, ["50", "51", "52"]) == "; 2 of its SLURM jobs still listed: scancel 51 52"
    listings = iter([[]])
    assert launch._cancelled_words(tmp_path, ["50"]) == "; its 1 SLURM job is no longer queued or running"
    listings = iter([None])  # squeue did not answer after the stop
    assert launch._cancelled_words(tmp_path, ["50"]) == ""
    assert launch._cancelled_words(tmp_path, None) == "" and launch._cancelled_words(tmp_path, []) == ""
