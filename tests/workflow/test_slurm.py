"""The workflow on a real (one-node) SLURM cluster, through the SLURM executor plugin.

.ci/run starts the cluster with .ci/slurm_up.sh and sets MASKRUN_REQUIRE_SLURM=1, so in CI
this test runs or fails; elsewhere it is skipped when no node is idle.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from commands import FAST_POLLS, cluster_is_up, output_bytes
from conftest import REPO
from job_files import example_folder, job_with, slow_blocks_env, write_job

pytestmark = pytest.mark.slurm


@pytest.fixture(scope="module", autouse=True)
def cluster():
    if not cluster_is_up():
        if os.environ.get("MASKRUN_REQUIRE_SLURM") == "1":
            pytest.fail("MASKRUN_REQUIRE_SLURM=1 but no idle SLURM node: run .ci/slurm_up.sh")
        pytest.skip("no idle SLURM node (start one with .ci/slurm_up.sh)")


def test_slurm_run_is_byte_identical_to_local(tmp_path):
    example_folder(tmp_path, particles=40, maps=0)
    cluster_job = write_job(tmp_path, job_with(name="slurm", batch_size=20, fill={"with": "avg"}), "slurm.yaml")
    local_job = write_job(tmp_path, job_with(name="local", batch_size=20, fill={"with": "avg"}), "local.yaml")
    command = [
        "timeout",
        "-s",
        "INT",
        "-k",
        "30",
        "300",
        sys.executable,
        "-m",
        "maskrun",
        "run",
        str(cluster_job),
        "--profile",
        "slurm",
        "--",
        *FAST_POLLS,
    ]  # bundled, by name
    proc = subprocess.run(command, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "masked 40 particles in 2 batches" in proc.stdout
    slurm_logs = sorted((tmp_path / "results" / "slurm" / ".snakemake" / "slurm_logs").rglob("*.log"))
    assert [p.parent.name for p in slurm_logs] == ["batch_00001", "batch_00002"]  # two sbatch jobs, gather local
    for k, rows in ((1, "0:20"), (2, "20:40")):  # each cluster job read its own rows of the saved plan
        log = (tmp_path / "results" / "slurm" / "logs" / f"batch_0000{k}.log").read_text()
        assert f"read the saved plan, rows {rows}" in log and "forked" not in log, log  # a process of its own
    records = [json.loads((tmp_path / "results/slurm/provenance" / f"batch_0000{k}.json").read_text()) for k in (1, 2)]
    jobs = {path.stem for path in slurm_logs}  # .snakemake/slurm_logs/rule_mask_batch/UNIT/JOBID.log
    assert {record["slurm"]["job_id"] for record in records} == jobs  # which SLURM job ran which unit, where
    assert all(record["slurm"]["node"] for record in records)
    run_record = json.loads((tmp_path / "results/slurm/provenance/run.json").read_text())
    said = (tmp_path / "results/slurm/logs/snakemake.log").read_text()
    assert f"SLURM run ID: {run_record['slurm_run_id']}\n" in said  # each job's name in squeue
    local = subprocess.run([sys.executable, "-m", "maskrun", "run", str(local_job)], capture_output=True, text=True)
    assert local.returncode == 0, local.stderr[-3000:]
    on_cluster = output_bytes(tmp_path / "results" / "slurm")
    assert len(on_cluster) == 4 and on_cluster == output_bytes(tmp_path / "results" / "local")  # + mask.mrc


def _queued(folder: Path | None = None) -> set[str]:
    """SLURM's job ids, of every job or (``folder``) of the jobs whose working folder lies in it.

    A job SLURM is ending (state CG, completing: cancelled, its processes being killed) is not
    counted: squeue lists it for as long as the node takes to stop it, seconds on a loaded one
    (CI saw a cancelled job still listed).
    """
    for _attempt in range(3):  # the controller restarting (slurm_up.sh by a run beside this one): a moment's refusal
        proc = subprocess.run(["squeue", "-h", "-o", "%i %t %Z"], capture_output=True, text=True, timeout=30)
        if proc.returncode == 0:
            break
        time.sleep(2)
    proc.check_returncode()
    jobs = [line.split(maxsplit=2) for line in proc.stdout.splitlines() if line.strip()]
    return {job[0] for job in jobs if job[1] != "CG" and (folder is None or Path(job[-1]).is_relative_to(folder))}


def _launched_with_jobs_queued(tmp_path, name: str) -> tuple[subprocess.Popen, set[str], list[str]]:
    """``maskrun run`` of 40 particles in 2 slow batches on SLURM, once its jobs are queued; they, and the command."""
    example_folder(tmp_path, particles=40, maps=0)
    job = write_job(tmp_path, job_with(name=name, batch_size=20), f"{name}.yaml")
    before = _queued(tmp_path)
    command = [sys.executable, "-m", "maskrun", "run", str(job), "--profile", "slurm"]
    command += ["--", *FAST_POLLS]
    process = subprocess.Popen(
        command, env=slow_blocks_env(tmp_path, 60), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 120
    while not (_queued(tmp_path) - before):  # this run's: others' (a test run beside this one) are not
        assert process.poll() is None and time.monotonic() < deadline, "no job was submitted"
        time.sleep(0.2)
    return process, _queued(tmp_path) - before, command


@pytest.mark.parametrize(
    ("signum", "status", "word"), [(signal.SIGTERM, 143, "terminated"), (signal.SIGHUP, 129, "hung up")]
)
def test_sigterm_or_sighup_to_the_launcher_cancels_its_jobs(tmp_path, signum, status, word):
    """SLURM's time limit (SIGTERM) or a dropped ssh session (SIGHUP): no job of the run is left to run orphaned."""
    process, ours, _ = _launched_with_jobs_queued(tmp_path, "stop")
    process.send_signal(signum)
    _, err = process.communicate(timeout=60)
    assert process.returncode == status, err.decode()[-2000:]
    assert (
        err.decode().strip().splitlines()[-1]
        == f"maskrun run: {word}; its 2 SLURM jobs are no longer queued or running; run the same command again to "
        "finish the missing units"
    )
    assert not (_queued() & ours)  # cancelled, not left to write on


def test_a_partition_the_cluster_lacks_is_refused_before_a_job_is_submitted(tmp_path):
    """The first mistake of a new cluster user, a wrong partition: sbatch refused every unit's job (exit 1) after
    the run had started, and a dry run exited 0; now the real sinfo's list refuses it first (exit 2)."""
    example_folder(tmp_path, particles=40, maps=0)
    job = write_job(tmp_path, job_with(name="part", batch_size=20), "part.yaml")
    profile = tmp_path / "mine"
    profile.mkdir()
    bundled = REPO / "workflow" / "profiles" / "slurm" / "config.yaml"
    (profile / "config.yaml").write_text(
        bundled.read_text().replace("  # slurm_partition: debug", "  slurm_partition: nosuch #")
    )
    listed = subprocess.run(["sinfo", "--all", "-h", "-o", "%P"], capture_output=True, text=True, check=True)
    default = next(name.rstrip("*") for name in listed.stdout.split() if name.endswith("*"))
    for dry_run in ([], ["--dry-run"]):
        proc = subprocess.run(
            [sys.executable, "-m", "maskrun", "run", str(job), "--profile", str(profile), *dry_run],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 2, proc.stderr
        (line,) = proc.stderr.strip().splitlines()
        assert line.startswith(
            f"maskrun run: error: {profile / 'config.yaml'}: default-resources: slurm_partition=nosuch: SLURM has no "
            f"partition 'nosuch': sinfo lists {default} (the default)"
        ), line
        assert line.endswith(f"or leave it out for the cluster's default, {default}"), line
    assert not (tmp_path / "results").exists()


def test_more_cpus_per_task_than_a_node_has_is_refused_by_validate_before_sbatch_would(tmp_path):
    """The cluster look: validate passed -- --set-resources mask_batch:cpus_per_task=4 on a 2-CPU node; the run's
    sbatch said "More processors requested than permitted" and maskrun advised --set-threads, which it overrides."""
    example_folder(tmp_path, particles=20, maps=0)
    job = write_job(tmp_path, job_with(name="cpus", batch_size=20), "cpus.yaml")
    listed = subprocess.run(["sinfo", "-h", "-o", "%P %c"], capture_output=True, text=True, check=True)
    default, most = next(line.split() for line in listed.stdout.splitlines() if line.split()[0].endswith("*"))
    asked = int(most.rstrip("+")) + 1
    proc = subprocess.run(
        [sys.executable, "-m", "maskrun", "validate", str(job), "--profile", "slurm", "--"]
        + ["--set-resources", f"mask_batch:cpus_per_task={asked}"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2, proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith(
        f"maskrun validate: error: --set-resources mask_batch:cpus_per_task={asked}: each mask_batch job asks for "
        f"{asked} CPUs, and no node of partition {default.rstrip('*')} "
    ), line
    assert line.endswith("or use a partition with larger nodes"), line


@pytest.mark.system  # end to end, a run refused by SLURM: CI runs it (pytest -m system)
def test_a_job_sbatch_refuses_is_named_with_slurms_reason(tmp_path):
    """More memory than any node has: the one line says what sbatch said, and the fix."""
    example_folder(tmp_path, particles=40, maps=0)
    job = write_job(tmp_path, job_with(name="mem", batch_size=20), "mem.yaml")
    proc = subprocess.run(
        [sys.executable, "-m", "maskrun", "run", str(job), "--profile", "slurm", "--"]
        + ["--set-resources", "mask_batch:mem_mb=100000000", *FAST_POLLS],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [  # one line: no empty logs named, no log's end
        'maskrun run: failed: SLURM refused to queue units batch_00001, batch_00002: sbatch said "Memory '
        "specification can not be satisfied; Batch job submission failed: Requested node configuration is not "
        "available\"; ask for less memory (sinfo -o '%P %m' lists the nodes' MB) with -- --set-resources "
        "mask_batch:mem_mb=MB, or use another partition, then run the same command again"
    ]


@pytest.mark.waits  # CI runs it beside the other system tests: it mostly sleeps
@pytest.mark.system  # 1.5-3 min: SLURM's one-minute limit, then the executor's status polls, which back off
def test_a_unit_slurm_stops_at_its_time_limit_is_told_so_with_the_runtime_to_ask_for(tmp_path):
    """The unit's log stopped mid-way; maskrun named it with "snakemake exited with status 1" and showed its end."""
    example_folder(tmp_path, particles=20, maps=0)
    job = write_job(tmp_path, job_with(name="limit", batch_size=20), "limit.yaml")
    command = [sys.executable, "-m", "maskrun", "run", str(job), "--profile", "slurm", "--"]
    command += ["--set-resources", "mask_batch:runtime=1", *FAST_POLLS]
    proc = subprocess.run(command, env=slow_blocks_env(tmp_path, 300), capture_output=True, text=True, timeout=400)
    assert proc.returncode == 1, proc.stderr[-3000:]
    warning, line = proc.stderr.strip().splitlines()  # warned of before it was submitted, once
    assert warning.startswith(
        "maskrun: warning: --set-resources mask_batch:runtime=1: 1 min is below the 10 min a unit of this job needs"
    ), warning
    assert re.fullmatch(
        r"maskrun run: failed: SLURM stopped unit batch_00001 at its time limit \(1 min; job \d+: TIMEOUT; SLURM's "
        r"log: \S+/limit/\.snakemake/slurm_logs/rule_mask_batch/batch_00001/\d+\.log\); ask for more with -- "
        r"--set-resources mask_batch:runtime=10 \(or set-resources in your profile\), and run the same command again: "
        r"the run resumes where it stopped",
        line,
    ), line


@pytest.mark.system  # end to end, a run killed or refused by SLURM: CI runs it (pytest -m system)
def test_a_rerun_after_the_launcher_was_killed_cancels_its_orphaned_jobs(tmp_path):
    """The cluster look: SIGKILL to the launcher left its jobs queued; the rerun submitted the same units again,
    and the leftovers rewrote them after the run had finished."""
    process, orphans, command = _launched_with_jobs_queued(tmp_path, "orphans")
    process.kill()
    process.communicate()  # its pipes closed too
    assert _queued() & orphans  # left behind by the killed launcher
    rerun = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert "cancelled the killed run's cluster jobs still queued or running" in rerun.stderr
    assert not (_queued() & orphans)
    assert sorted(p.name for p in (tmp_path / "results" / "orphans" / "stacks").iterdir()) == [
        "batch_00001.mrcs",
        "batch_00002.mrcs",
    ]


@pytest.mark.system
def test_a_rerun_after_a_killed_launchers_lock_was_deleted_cancels_its_jobs_and_finishes(tmp_path):
    """The cluster look: a launcher killed on another host, its lock deleted as maskrun advises ("If it is not
    [running], delete .maskrun.lock"): its jobs stayed queued, and every rerun failed on Snakemake's stale lock."""
    process, orphans, command = _launched_with_jobs_queued(tmp_path, "deleted")
    process.kill()
    process.communicate()
    (tmp_path / "results" / "deleted" / ".maskrun.lock").unlink()
    assert list((tmp_path / "results" / "deleted" / ".snakemake" / "locks").glob("*"))  # Snakemake's, left
    rerun = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert "a killed run left Snakemake's lock in this output folder" in rerun.stderr
    assert "cancelled the killed run's cluster jobs still queued or running" in rerun.stderr
    assert not (_queued(tmp_path) & orphans)


def test_the_executors_warning_for_a_launcher_in_a_slurm_job_is_shown_once_on_the_terminal(tmp_path):
    """A cluster look: ``maskrun run --profile slurm`` in an sbatch script; the SLURM executor's "You are running
    snakemake in a SLURM job context. This is not recommended" was only in logs/snakemake.log."""
    example_folder(tmp_path, particles=20, maps=0)
    job = write_job(tmp_path, job_with(name="insbatch", batch_size=20), "insbatch.yaml")
    command = [sys.executable, "-m", "maskrun", "run", str(job), "--profile", "slurm", "--", *FAST_POLLS]
    env = os.environ | {"SLURM_JOB_ID": "999999"}  # as in an sbatch script (the executor takes it for one)
    proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    shown = [line for line in proc.stderr.splitlines() if "SLURM job context" in line]
    assert len(shown) == 1 and shown[0].startswith("maskrun: warning: snakemake: You are running snakemake in a SLURM")
