"""``maskrun run --dry-run`` on SLURM says what each rule's jobs will ask sbatch for, and how many there are."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from maskrun.errors import UserError
from maskrun.workflow.cluster_requests import describe_requests
from maskrun.workflow.resource_options import ProfileKeys, run_settings
from maskrun.workflow.slurm_partitions import check_partitions

from commands import refused_line
from conftest import REPO
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


def test_validate_with_a_slurm_profile_names_the_dry_run_that_shows_the_requests(tmp_path):
    """The cluster look: validate --profile slurm said nothing of what sbatch would be asked, nor where to see it."""
    example_folder(tmp_path, particles=30, maps=0)
    job = write_job(tmp_path, job_with(batch_size=10))
    env = fake_sinfo(tmp_path, "debug*")
    validate = [sys.executable, "-m", "maskrun", "validate", str(job)]
    extra = ["--", "--set-resources", "mask_batch:slurm_extra='--mail-type=END'"]
    cluster = subprocess.run([*validate, "--profile", "slurm", *extra], capture_output=True, text=True, env=env)
    assert cluster.returncode == 0, cluster.stderr
    told = (
        f"  SLURM: maskrun run {job} --profile slurm --dry-run -- --set-resources "
        "'mask_batch:slurm_extra='\"'\"'--mail-type=END'\"'\"'' shows what each sbatch job asks for"
    )
    assert cluster.stdout.splitlines()[-1] == told
    local = subprocess.run(validate, capture_output=True, text=True, env=env)
    assert local.returncode == 0 and "SLURM" not in local.stdout, local.stderr
    assert not (tmp_path / "results").exists()


def _profile_with_partition(folder, partition: str):
    profile = folder / "mine"
    profile.mkdir()
    bundled = REPO / "workflow" / "profiles" / "slurm" / "config.yaml"
    (profile / "config.yaml").write_text(
        bundled.read_text().replace("  # slurm_partition: debug", f"  slurm_partition: {partition} #")
    )
    return profile


@pytest.mark.parametrize("dry_run", [True, False], ids=["dry-run", "run"])
def test_a_partition_sinfo_does_not_list_is_refused_before_anything_runs(tmp_path, dry_run):
    """A dry run noted it and exited 0; a run exited 1 once sbatch had refused every unit's job."""
    example_folder(tmp_path, particles=20, maps=0)
    job = write_job(tmp_path, job_with(batch_size=10))
    profile = _profile_with_partition(tmp_path, "nosuch")
    env = fake_sinfo(tmp_path, "debug* long")
    run = [sys.executable, "-m", "maskrun", "run", str(job), "--profile", str(profile), *["--dry-run"] * dry_run]
    proc = subprocess.run(run, capture_output=True, text=True, env=env, timeout=300)
    assert refused_line(proc) == (
        f"maskrun run: error: {profile / 'config.yaml'}: default-resources: slurm_partition=nosuch: SLURM has no "
        "partition 'nosuch': sinfo lists debug (the default), long; set slurm_partition to one of those, or leave it "
        "out for the cluster's default, debug"
    )
    assert not (tmp_path / "results").exists()
    option = subprocess.run(
        [*run, "--", "--set-resources", "mask_batch:slurm_partition=long,gpu"],  # sbatch takes a list
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert refused_line(option).startswith(
        "maskrun run: error: --set-resources mask_batch:slurm_partition=long,gpu: SLURM has no partition 'gpu': "
    )
    validate = subprocess.run(
        [sys.executable, "-m", "maskrun", "validate", str(job), "--profile", str(profile)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert refused_line(validate) == refused_line(proc).replace("maskrun run:", "maskrun validate:")
    assert not (tmp_path / "results").exists()


def test_partitions_are_checked_with_the_slurm_executor_only_and_as_snakemake_reads_them(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", fake_sinfo(tmp_path, "debug* long")["PATH"])
    slurm = ProfileKeys.of(str(REPO / "workflow" / "profiles" / "slurm"))

    def check(*extra: str, profile: ProfileKeys = slurm) -> list[str]:
        return check_partitions(run_settings(extra, profile))

    assert check("--default-resources", "slurm_partition='long'") == []  # quoted, as a text for Snakemake's parser
    assert check("--set-resources", "mask_batch:slurm_partition=debug,long") == []
    assert check("--set-resources", "mask_batch:slurm_partition=gpu", "mask_batch:slurm_cluster=other") == []
    assert check("--set-resources", "mask_batch:slurm_partition='gpu' if attempt == 1 else 'long'") == []
    assert check("--set-resources", "mask_batch:slurm_partition=gpu", profile=ProfileKeys.of(None)) == []  # local
    assert (
        check("-e", "cluster-generic", "--default-resources", "slurm_partition=gpu", profile=ProfileKeys.of(None)) == []
    )
    with pytest.raises(UserError, match=r"^--set-resources mask_map:slurm_partition=gpu: SLURM has no partition 'gpu'"):
        check("--set-resources", "mask_map:slurm_partition=gpu")
    # a unit rule's set-resources wins over the default, as in Snakemake
    assert (
        check(
            "--default-resources",
            "slurm_partition=gpu",
            "--set-resources",
            "mask_batch:slurm_partition=long",
            "mask_map:slurm_partition=long",
        )
        == []
    )


def test_without_an_answer_from_sinfo_a_partition_is_not_checked_and_a_note_says_so(tmp_path, monkeypatch):
    """Where SLURM's commands are not installed, or its controller is down, the run goes on: sbatch has the say."""
    extra = ("--default-resources", "slurm_partition=gpu")
    slurm = ProfileKeys.of(str(REPO / "workflow" / "profiles" / "slurm"))
    monkeypatch.setenv("PATH", str(tmp_path))  # no sinfo
    assert check_partitions(run_settings(extra, slurm)) == [
        "--default-resources slurm_partition=gpu: not checked against the cluster's partitions: sinfo is not on this "
        "machine's PATH (SLURM's commands are not here)"
    ]
    (tmp_path / "sinfo").write_text("#!/bin/sh\necho 'sinfo: error: Unable to contact slurm controller' >&2\nexit 1\n")
    (tmp_path / "sinfo").chmod(0o755)
    assert check_partitions(run_settings(extra, slurm)) == [
        "--default-resources slurm_partition=gpu: not checked against the cluster's partitions: sinfo did not answer "
        "(sinfo: error: Unable to contact slurm controller)"
    ]
    assert check_partitions(run_settings((), slurm)) == []  # none set: nothing to say


def test_cpus_per_task_above_every_node_of_the_partition_is_refused_naming_the_most_sinfo_lists(tmp_path, monkeypatch):
    """The cluster look: cpus_per_task=4 on 2-CPU nodes passed validate; sbatch then refused every unit ("More
    processors requested than permitted"). sinfo --exact lists each size of node of a partition on a line."""
    monkeypatch.setenv("PATH", fake_sinfo(tmp_path, "'debug* 2' 'long 16' 'long 4'")["PATH"])
    slurm = ProfileKeys.of(str(REPO / "workflow" / "profiles" / "slurm"))

    def check(*extra: str) -> list[str]:
        return check_partitions(run_settings(extra, slurm))

    with pytest.raises(UserError) as refused:
        check("--set-resources", "mask_batch:cpus_per_task=4")
    assert str(refused.value) == (
        "--set-resources mask_batch:cpus_per_task=4: each mask_batch job asks for 4 CPUs, and no node of partition "
        "debug (the cluster's default) has more than 2 (sinfo -o '%P %c'), so sbatch would refuse it: set "
        "cpus_per_task to 2 or fewer, or use a partition with larger nodes"
    )
    with pytest.raises(
        UserError,
        match=r"^--default-resources cpus_per_task=32: each mask_batch job asks for 32 CPUs, "
        r"and no node of partitions debug, long has more than 16 ",
    ):
        check("--default-resources", "cpus_per_task=32", "slurm_partition=debug,long")
    assert check("--set-resources", "mask_batch:cpus_per_task=2") == []
    assert check("--set-resources", "mask_batch:cpus_per_task=16", "mask_batch:slurm_partition=long") == []
    assert check("--set-resources", "mask_batch:cpus_per_task=2*attempt") == []  # an expression: its job's to tell
    assert check("--set-resources", "mask_batch:cpus_per_task=64", "mask_batch:slurm_cluster=big") == []
    assert check("--set-threads", "mask_batch=64") == []  # Snakemake caps threads at this host's cores
    (tmp_path / "bare").mkdir()
    monkeypatch.setenv("PATH", fake_sinfo(tmp_path / "bare", "'debug*'")["PATH"])  # no CPUs listed: not checked
    assert check("--set-resources", "mask_batch:cpus_per_task=64") == []
