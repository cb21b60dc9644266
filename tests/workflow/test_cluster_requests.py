"""``maskrun run --dry-run`` on SLURM says what each rule's jobs will ask sbatch for, and how many there are."""

from __future__ import annotations

import os
import subprocess
import sys

from maskrun.workflow.cluster_requests import describe_requests

from job_files import example_folder, job_with, write_job

# Snakemake 9.27's dry run, trimmed to what is read: two batches sized differently, a map, the gather
DRY_RUN = """Building DAG of jobs...
Job stats:
job           count
----------  -------
mask_batch        2
gather            1
total             3

rule mask_batch:
    log: /data/results/x/logs/batch_00001.log
    jobid: 2
    wildcards: unit=batch_00001
    threads: 2
    resources: tmpdir=/tmp, mem_mb=1000, mem=1 GB, mem_mib=954, runtime=10, slurm_partition=gpu, qos=high

rule mask_batch:
    log: /data/results/x/logs/batch_00002.log
    jobid: 3
    wildcards: unit=batch_00002
    threads: 2
    resources: tmpdir=/tmp, mem_mb=2400, mem=2 GB, mem_mib=2289, runtime=12, slurm_partition=gpu, qos=high

rule mask_map:
    log: /data/results/x/logs/map_half1.log
    jobid: 4
    wildcards: stem=half1
    resources: tmpdir=/tmp, mem_mb_per_cpu=500, runtime=10, cpus_per_task=4

rule gather:
    jobid: 1
    resources: tmpdir=/tmp, mem_mb=400, mem=400 MB, mem_mib=382, runtime=5
"""


def fake_sinfo(folder, partitions: str) -> dict[str, str]:
    """An environment whose ``sinfo -h -o %P`` lists ``partitions`` (the default starred)."""
    bin_folder = folder / "bin"
    bin_folder.mkdir(exist_ok=True)
    (bin_folder / "sinfo").write_text(f"#!/bin/sh\nprintf '%s\\n' {partitions}\n")
    (bin_folder / "sinfo").chmod(0o755)
    return {**os.environ, "PATH": f"{bin_folder}{os.pathsep}{os.environ['PATH']}"}


def test_each_rule_says_its_count_and_request_once_with_ranges_where_jobs_differ(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", fake_sinfo(tmp_path, "debug* long")["PATH"])
    assert describe_requests(DRY_RUN) == [
        "  SLURM jobs (sbatch's requests, each):",
        "    mask_batch: 2 jobs, partition gpu (not one sinfo lists: debug, long), 2 CPUs, 1000-2400 MB, 10-12 min, "
        "qos=high",
        "    mask_map: 1 job, partition debug (the cluster's default), 4 CPUs, 500 MB a CPU, 10 min",
        "    gather: on this host, not in SLURM",
    ]
    assert describe_requests("Job stats:\n") == []  # --quiet: no job blocks, nothing claimed


def test_a_slurm_dry_run_shows_what_the_units_ask_for_and_a_local_one_does_not(tmp_path):
    """2 CPUs, as the cluster's jobs ask: the dry run ran in Snakemake's local dry-run executor, which gave 1."""
    example_folder(tmp_path, particles=30, maps=0)
    job = write_job(tmp_path, job_with(batch_size=10))
    env = fake_sinfo(tmp_path, "debug*")
    run = [sys.executable, "-m", "maskrun", "run", str(job), "--dry-run"]
    cluster = subprocess.run(
        [*run, "--profile", "slurm", "--", "--set-resources", "mask_batch:runtime=45"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert cluster.returncode == 0, cluster.stderr
    lines = cluster.stdout.splitlines()
    at = lines.index("  SLURM jobs (sbatch's requests, each):")
    assert lines[at + 1 : at + 3] == [
        "    mask_batch: 3 jobs, partition debug (the cluster's default), 2 CPUs, 1000 MB, 45 min",
        "    gather and report: on this host, not in SLURM",
    ]
    assert lines[-1].startswith("maskrun run --dry-run: snakemake would run 5 jobs (mask_batch 3")
    local = subprocess.run(run, capture_output=True, text=True, env=env, timeout=300)
    assert local.returncode == 0 and "SLURM jobs" not in local.stdout, local.stderr
    assert not (tmp_path / "results").exists()
