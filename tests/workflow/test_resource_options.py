"""Resource options for the workflow's jobs, refused before anything is submitted: a misspelt rule or resource,
a runtime under a minute, a memory that is no number (Snakemake took them in silence; SLURM failed them late)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from maskrun.errors import UserError
from maskrun.jobs.plan import plan_job
from maskrun.workflow.resource_options import ProfileKeys, check_resource_options, passed_options, run_settings
from maskrun.workflow.rule_names import local_rules, unit_rules, workflow_rules
from maskrun.workflow.unit_requests import below_estimates

from commands import maskrun, refused_line
from conftest import REPO
from job_files import example_folder, job_with, write_job

BUNDLED_SLURM = str(REPO / "workflow" / "profiles" / "slurm")


def checked(extra: list[str], profile: ProfileKeys) -> list[str]:
    """`check_resource_options` of a run given ``extra`` after ``--`` and ``profile``, as ``maskrun run`` checks it."""
    return check_resource_options(run_settings(extra, profile), profile)


@pytest.mark.parametrize(
    ("option", "said"),
    [
        (
            ["--set-resources", "mask_bach:runtime=60"],
            "--set-resources mask_bach:runtime=60: maskrun's workflow has no rule 'mask_bach' (did you mean "
            "mask_batch?); its rules are mask_batch, mask_map, gather, report",
        ),
        (
            ["--set-resources", "mask_batch:runtme=60"],
            "--set-resources mask_batch:runtme=60: the SLURM executor reads no resource 'runtme' (did you mean "
            "runtime?)",
        ),
        (
            ["--set-resources", "mask_batch:runtime=1s"],
            "--set-resources mask_batch:runtime=1s: runtime '1s' is 1 second, under a minute (SLURM's time limits "
            "are whole minutes): give minutes (runtime=60) or a time with its unit (runtime=2h)",
        ),
        (
            ["--set-resources", "mask_batch:mem_mb=lots"],
            "--set-resources mask_batch:mem_mb=lots: mem_mb 'lots' is not a whole number of megabytes from 1: give "
            "one (mem_mb=4000), or mem=4GB for a size with its unit",
        ),
        (
            ["--set-resources=mask_map:mem=4 lots"],
            "--set-resources mask_map:mem=4 lots: mem '4 lots' is not a size: give one with its unit (mem=4GB, "
            "mem=500MB)",
        ),
        (
            ["--default-resource", "slurm_partition=debug", "runtime=1:00:00"],  # an abbreviation argparse takes
            "--default-resources runtime=1:00:00: runtime '1:00:00' is not a time: give minutes (runtime=60) or a "
            "time with its unit (runtime=2h, runtime=90m)",
        ),
        (
            ["--set-threads", "mask_batch=0"],
            "--set-threads mask_batch=0: threads are a whole number from 1: give one, such as mask_batch=4",
        ),
        (
            ["--set-resources", "gather:mem_mb=4000"],
            "--set-resources gather:mem_mb=4000: gather runs on this host, not as a cluster job, so this asks "
            "nothing of the cluster; set the units' rules, mask_batch and mask_map",
        ),
    ],
    ids=["rule", "resource", "runtime-1s", "mem_mb-text", "mem-size", "default-resources", "threads", "local-rule"],
)
def test_a_mistaken_resource_option_is_refused_before_anything_is_written(tmp_path, option, said):
    example_folder(tmp_path, particles=20, maps=0)
    job = write_job(tmp_path, job_with(batch_size=10))
    proc = maskrun("run", job, "--profile", "slurm", "--", *option, "--jobs", "2")
    assert refused_line(proc).startswith(f"maskrun run: error: {said}"), proc.stderr
    assert not (tmp_path / "results").exists()


def test_a_mistake_in_the_profile_names_its_file(tmp_path):
    profile = tmp_path / "mine"
    profile.mkdir()
    bundled = (REPO / "workflow" / "profiles" / "slurm" / "config.yaml").read_text()
    (profile / "config.yaml").write_text(bundled + "set-resources:\n  mask_batch:\n    runtime: 30s\n")
    with pytest.raises(UserError) as refused:
        checked([], ProfileKeys.of(str(profile)))
    assert str(refused.value).startswith(
        f"{profile / 'config.yaml'}: set-resources: mask_batch:runtime=30s: runtime '30s' is 30 seconds, under a minute"
    )
    checked(["--set-resources", "mask_batch:runtime=60"], ProfileKeys.of(str(profile)))  # the option replaces the key


@pytest.mark.parametrize(
    ("value", "said"),
    [
        (
            "1.5",
            "runtime '1.5' is read by Snakemake as 1.5 seconds (a number without a unit is minutes only when "
            "whole): for 1.5 minutes give runtime=2, for 1.5 hours runtime=90 or runtime=1.5h",
        ),
        # past a minute as seconds, so it passed: SLURM was asked for 1 minute
        (
            "90.5",
            "runtime '90.5' is read by Snakemake as 90.5 seconds (a number without a unit is minutes only "
            "when whole): for 90.5 minutes give runtime=91",
        ),
        ("0", "runtime '0' is 0 minutes, under a minute"),
    ],
)
def test_a_runtime_says_the_unit_snakemake_reads_it_in(value, said):
    with pytest.raises(UserError) as refused:
        checked(["--set-resources", f"mask_batch:runtime={value}"], ProfileKeys.of(BUNDLED_SLURM))
    assert str(refused.value).startswith(f"--set-resources mask_batch:runtime={value}: {said}")


@pytest.mark.parametrize(
    "extra",
    [
        [],
        ["--set-resources", "mask_batch:runtime=2h", "mask_batch:mem=4GB", "mask_map:slurm_partition='debug'"],
        ["--set-resources", "mask_batch:mem_mb=4000", "mask_batch:cpus_per_task=4", "--jobs", "100"],
        ["--default-resources", "slurm_account=lab", "runtime=90", "--set-threads", "mask_batch=4"],
        # expressions Snakemake evaluates per job (with --retries, say): only the job can tell their value
        ["--set-resources", "mask_batch:mem_mb=2000*attempt", "mask_batch:runtime=max(30, 20*attempt)"],
    ],
)
def test_what_snakemake_and_sbatch_take_passes(extra):
    checked(extra, ProfileKeys.of(BUNDLED_SLURM))


def test_resources_of_any_name_pass_with_another_executor_or_locally_and_rules_still_count():
    """cluster-generic's submit command may read resources of any name; a rule is the workflow's either way."""
    checked(["--executor", "cluster-generic", "--set-resources", "mask_batch:myqueue=long"], ProfileKeys.of(None))
    checked(["--set-resources", "gather:mem_mb=4000"], ProfileKeys.of(None))  # locally, the gather is like any rule
    with pytest.raises(UserError, match="no rule 'gathr'"):
        checked(["-e", "cluster-generic", "--set-resources", "gathr:myqueue=long"], ProfileKeys.of(None))
    # locally a custom resource throttles jobs (a look at the new features: io was refused, with a false reason)
    checked(["--set-resources", "mask_map:io=1", "--resources", "io=1"], ProfileKeys.of(None))
    with pytest.raises(UserError, match="SLURM executor reads no resource 'partition' \\(did you mean slurm_partition"):
        checked(["-e", "slurm", "--set-resources", "mask_batch:partition=debug"], ProfileKeys.of(None))


def test_options_are_read_as_snakemakes_parser_reads_them():
    extra = ["--set-resources", "a:b=1", "c:d=2", "--latency-wait", "5", "--set-t=x=1", "y=2", "--set-res", "z"]
    # --set-t: --set-threads; --set-res is --set-resources or --set-resource-scopes, which Snakemake refuses
    assert passed_options(extra) == {"set-resources": ["a:b=1", "c:d=2"], "set-threads": ["x=1"]}


def test_the_rules_read_from_the_source_are_the_ones_snakemake_lists(tmp_path):
    example_folder(tmp_path, particles=10, maps=0)
    job = write_job(tmp_path, job_with())
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(REPO / "workflow" / "Snakefile"), "--configfile", str(job)]
        + ["--list-rules"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert sorted(proc.stdout.split()) == sorted(workflow_rules())
    assert local_rules() == {"all", "gather", "report"} and unit_rules() == ("mask_batch", "mask_map")


def test_an_option_replacing_the_profiles_key_names_what_the_run_loses(tmp_path):
    """The cluster-UX fix's own finding: -- --default-resources dropped the profile's partition in silence."""
    profile = tmp_path / "mine"
    profile.mkdir()
    (profile / "config.yaml").write_text(
        "executor: slurm\ndefault-resources:\n  slurm_partition: gpu\n  runtime: 10\n"
        "set-resources:\n  mask_batch:\n    mem_mb: 4000\n"
    )
    notes = checked(["--default-resources", "runtime=60", "mem_mb=500"], ProfileKeys.of(str(profile)))
    assert notes == [
        "--default-resources replaces the profile's default-resources whole, as Snakemake takes it: this run does "
        "not use slurm_partition=gpu; give it after -- too if it needs it"
    ]
    assert checked(["--set-resources", "mask_batch:mem_mb=8000"], ProfileKeys.of(str(profile))) == []
    assert checked([], ProfileKeys.of(str(profile))) == []
    # given with no entries, the option still replaces the key: the run loses all of it
    assert checked(["--default-resources", "--jobs", "2"], ProfileKeys.of(str(profile))) == [
        "--default-resources replaces the profile's default-resources whole, as Snakemake takes it: this run does "
        "not use slurm_partition=gpu, runtime=10; give them after -- too if it needs them"
    ]


def test_a_run_reads_its_profile_once_and_resolves_it_once(tmp_path, monkeypatch):
    """The review's finding: the profile was resolved again for the shadowing note, and its config.yaml read by
    each check (2-3 times a run); now both happen once and every check gets what was read."""
    from maskrun.workflow import launch, resource_options

    profile = tmp_path / "mine"
    profile.mkdir()
    (profile / "config.yaml").write_text("executor: slurm\nset-resources:\n  mask_batch:\n    mem_mb: 4000\n")
    reads, resolves, seen = [], [], {}
    real_read, real_resolve = resource_options.read_profile, launch.resolve_profile
    monkeypatch.setattr(resource_options, "read_profile", lambda path: reads.append(path) or real_read(path))
    monkeypatch.setattr(launch, "resolve_profile", lambda name: resolves.append(name) or real_resolve(name))

    def fake_run(request, warm, settings):
        seen.update(profile=request.profile, executor=settings.executor)
        return 0

    monkeypatch.setattr(launch, "_run", fake_run)
    status = launch.run_workflow(launch.RunRequest(str(tmp_path / "job.yaml"), profile=str(profile), dry_run=True))
    assert status == 0
    assert reads == [profile / "config.yaml"]
    assert resolves == [str(profile)]
    assert seen == {"profile": str(profile), "executor": "slurm"}


@pytest.fixture(scope="module")
def particle_plan(tmp_path_factory):
    """20 example particles in batches of 10: each unit needs 1,000 MB and 10 minutes by maskrun's estimate."""
    folder = example_folder(tmp_path_factory.mktemp("estimates"), particles=20, maps=0)
    return plan_job(write_job(folder, job_with(batch_size=10)))


SLURM = ProfileKeys.of(BUNDLED_SLURM)
PROCESSES = "batch_00001: 1,000 MB for its processes, which a batch streams through whatever its size"
MEMORY_FIX = "SLURM kills a job that outgrows its memory: raise it to"
LEAVE_OUT = "or leave it out (each unit then asks for its own estimate)"


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        (
            ["--set-resources", "mask_batch:mem_mb=800"],
            "--set-resources mask_batch:mem_mb=800: 800 MB is below the 1,000 MB a unit of this job needs by "
            f"maskrun's estimate ({PROCESSES}); {MEMORY_FIX} mem_mb=1000 or more, {LEAVE_OUT}",
        ),
        (
            ["--set-resources", "mask_batch:mem=0.5GB"],
            "--set-resources mask_batch:mem=0.5GB: 500 MB is below the 1,000 MB a unit of this job needs by "
            f"maskrun's estimate ({PROCESSES}); {MEMORY_FIX} mem=1GB or more, {LEAVE_OUT}",
        ),
        (
            ["--set-resources", "mask_batch:mem_mib=500"],
            "--set-resources mask_batch:mem_mib=500: 524 MB is below the 1,000 MB a unit of this job needs by "
            f"maskrun's estimate ({PROCESSES}); {MEMORY_FIX} mem_mib=954 or more, {LEAVE_OUT}",
        ),
        (  # the SLURM executor passes --mem-per-cpu over --mem: a default replaces the units' own memory
            ["--default-resources", "mem_mb_per_cpu=300"],
            "--default-resources mem_mb_per_cpu=300: 600 MB (300 MB a CPU, 2 CPUs) is below the 1,000 MB a unit of "
            f"this job needs by maskrun's estimate ({PROCESSES}); {MEMORY_FIX} mem_mb_per_cpu=500 or more, {LEAVE_OUT}",
        ),
        (
            ["--set-resources", "mask_batch:runtime=5"],
            "--set-resources mask_batch:runtime=5: 5 min is below the 10 min a unit of this job needs by maskrun's "
            "estimate (batch_00001: at least 10 min for any unit; its 0.328 MB read and written at 100 MB/s, tripled, "
            "and its start, take less); SLURM stops a job at its time limit: raise it to runtime=10 or more, "
            f"{LEAVE_OUT}",
        ),
    ],
    ids=["mem_mb", "mem", "mem_mib", "mem_mb_per_cpu", "runtime"],
)
def test_a_unit_limit_below_maskruns_estimate_is_warned_of_naming_the_setting_estimate_and_fix(
    particle_plan, extra, said
):
    """SLURM killed such a job hours later (out of memory, or at its time limit); nothing said so before."""
    assert below_estimates(particle_plan, run_settings(extra, SLURM)) == [said]


@pytest.mark.parametrize(
    "extra",
    [
        ["--set-resources", "mask_batch:mem_mb=1000", "mask_batch:runtime=10"],  # the estimates themselves
        ["--set-resources", "mask_batch:mem=2GB", "mask_batch:runtime=2h"],
        ["--default-resources", "mem_mb=100", "runtime=2"],  # a rule's own resources win over a default
        ["--set-resources", "mask_batch:mem_mb=500*attempt", "mask_batch:runtime=5*attempt"],  # per job: unread
        ["--set-resources", "mask_map:mem_mb=10", "mask_map:runtime=1"],  # no map in this job
        ["--default-resources", "mem_mb_per_cpu=300", "--set-threads", "mask_batch=4"],  # 1,200 MB
        ["--default-resources", "mem_mb_per_cpu=300", "cpus_per_task=4"],
    ],
)
def test_limits_at_or_above_the_estimate_or_not_the_units_own_pass_in_silence(particle_plan, extra):
    assert below_estimates(particle_plan, run_settings(extra, SLURM)) == []


def test_a_local_run_is_not_warned_and_a_profiles_setting_names_its_file(particle_plan, tmp_path):
    """Locally no limit kills a job; a profile's setting is named as its refusal would name it."""
    assert (
        below_estimates(particle_plan, run_settings(["--set-resources", "mask_batch:mem_mb=10"], ProfileKeys.of(None)))
        == []
    )
    profile = tmp_path / "mine"
    profile.mkdir()
    (profile / "config.yaml").write_text("executor: slurm\nset-resources:\n  mask_batch:\n    runtime: 3\n")
    (warning,) = below_estimates(particle_plan, run_settings([], ProfileKeys.of(str(profile))))
    assert warning.startswith(
        f"{profile / 'config.yaml'}: set-resources: mask_batch:runtime=3: 3 min is below the 10 min"
    )


def test_a_long_units_runtime_fix_names_batch_size_and_a_map_says_what_it_holds(tmp_path, monkeypatch):
    """Past the 10-minute floor a batch's time grows with its size, so smaller batches are a fix; a map's is not."""
    from maskrun.workflow import support

    folder = example_folder(tmp_path, particles=20, maps=1)
    plan = plan_job(write_job(folder, job_with(batch_size=10)))
    monkeypatch.setattr(support, "DISK_MB_PER_SECOND", 0.0005)  # as if the filesystem crawled
    (warning,) = below_estimates(plan, run_settings(["--set-resources", "mask_batch:runtime=20"], SLURM))
    assert warning == (
        "--set-resources mask_batch:runtime=20: 20 min is below the 35 min a unit of this job needs by maskrun's "
        "estimate (batch_00001: 0.328 MB read and written at 0.0005 MB/s, tripled, and 2 min to start); SLURM stops "
        f"a job at its time limit: raise it to runtime=35 or more, make batches smaller (batch_size), {LEAVE_OUT}"
    )
    maps = plan_job(write_job(folder, job_with(inputs={"volumes": "maps/*.mrc"}, batch_size=None), "maps.yaml"))
    (memory, runtime) = below_estimates(
        maps, run_settings(["--set-resources", "mask_map:mem_mb=1000", "mask_map:runtime=20"], SLURM)
    )
    assert memory.startswith(
        "--set-resources mask_map:mem_mb=1000: 1,000 MB is below the 1,002 MB a unit of this job needs by maskrun's "
        "estimate (map_class_1: 1,000 MB for its processes and 2 MB for its 64 x 64 x 64 map, held twice); "
    )
    assert runtime.endswith(f"raise it to runtime=212 or more, {LEAVE_OUT}")


def test_validate_and_a_dry_run_warn_once_and_go_on(tmp_path):
    """The warning comes before the hours in the queue: at validate (given the run's profile and options) and at
    the run, dry or not, once."""
    example_folder(tmp_path, particles=20, maps=0)
    job = write_job(tmp_path, job_with(batch_size=10))
    options = ["--profile", "slurm", "--", "--set-resources", "mask_batch:mem_mb=800"]
    said = "maskrun: warning: --set-resources mask_batch:mem_mb=800: 800 MB is below the 1,000 MB a unit"
    validate = maskrun("validate", job, *options)
    assert validate.returncode == 0, validate.stderr
    (line,) = validate.stderr.splitlines()
    assert line.startswith(said) and line.endswith(f"raise it to mem_mb=1000 or more, {LEAVE_OUT}")
    dry_run = maskrun("run", job, "--dry-run", *options)
    assert dry_run.returncode == 0, dry_run.stderr
    assert dry_run.stderr.count(said) == 1 and dry_run.stderr.count("warning") == 1, dry_run.stderr
    assert maskrun("validate", job).stderr == ""  # without the run's settings there is nothing to compare
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize(
    "option,example", [("--set-resources", "mask_batch:runtime=60"), ("--set-threads", "mask_batch=4")]
)
def test_an_option_snakemake_needs_entries_for_given_none_is_refused_before_any_note(option, example):
    """A review: `-- --set-resources` alone was told the profile's entries it drops, then Snakemake's own refusal."""
    with pytest.raises(UserError) as refused:
        checked([option, "--jobs", "2"], ProfileKeys.of(BUNDLED_SLURM))
    assert str(refused.value) == f"{option}: needs at least one entry, such as {example}; or leave the option out"
    checked(["--default-resources", "--jobs", "2"], ProfileKeys.of(BUNDLED_SLURM))  # Snakemake takes it empty


def test_an_option_the_slurm_executor_sets_itself_in_slurm_extra_is_refused_by_validate_and_run(tmp_path):
    """The cluster look: validate passed slurm_extra='--time=00:00:10'; the run wrote its folder, then the executor
    refused every unit (exit 1) and maskrun advised a runtime within the partition's limit."""
    example_folder(tmp_path, particles=20, maps=0)
    job = write_job(tmp_path, job_with(batch_size=10))
    options = ["--profile", "slurm", "--", "--set-resources", "mask_batch:slurm_extra='--time=00:00:10'"]
    said = (
        "--set-resources mask_batch:slurm_extra='--time=00:00:10': the SLURM executor sets sbatch's --time itself "
        "and refuses it in slurm_extra: take it out and set the resource runtime instead (mask_batch:runtime=MINUTES)"
    )
    assert refused_line(maskrun("validate", job, *options)) == f"maskrun validate: error: {said}"
    assert refused_line(maskrun("run", job, *options)) == f"maskrun run: error: {said}"
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        (
            ["--set-resources", "mask_map:slurm_extra='--mail-type=END -p long --mem=8G'"],
            "--set-resources mask_map:slurm_extra='--mail-type=END -p long --mem=8G': the SLURM executor sets "
            "sbatch's -p and --mem itself and refuses them in slurm_extra: take them out, and set the resources "
            "slurm_partition and mem_mb instead (mask_map:slurm_partition=NAME mask_map:mem_mb=MB)",
        ),
        (
            ["--default-resources", "slurm_extra='--cpus-per-task=8 --job-name=mine'"],
            "--default-resources slurm_extra='--cpus-per-task=8 --job-name=mine': the SLURM executor sets sbatch's "
            "--cpus-per-task and --job-name itself and refuses them in slurm_extra: take them out, and set the "
            "resource cpus_per_task instead (cpus_per_task=N)",
        ),
        (
            ["--set-resources", "mask_batch:slurm_extra='--output=/scratch/logs/%j.log'"],
            "--set-resources mask_batch:slurm_extra='--output=/scratch/logs/%j.log': the SLURM executor sets "
            "sbatch's --output itself and refuses it in slurm_extra: take it out (no resource sets it)",
        ),
    ],
    ids=["several", "default-resources", "no-resource"],
)
def test_a_slurm_extra_the_executor_refuses_names_each_option_and_the_resource_for_it(extra, said):
    with pytest.raises(UserError) as refused:
        checked(extra, SLURM)
    assert str(refused.value) == said


def test_a_slurm_extra_the_executor_takes_passes_and_another_executor_is_not_checked(tmp_path):
    checked(["--set-resources", "mask_batch:slurm_extra='--mail-type=END --mail-user=me@lab.org'"], SLURM)
    checked(["--set-resources", "mask_batch:slurm_extra='--time-min=30 --exclusive'"], SLURM)  # not --time
    checked(["-e", "cluster-generic", "--set-resources", "mask_batch:slurm_extra='--time=10'"], ProfileKeys.of(None))
    profile = tmp_path / "mine"
    profile.mkdir()
    (profile / "config.yaml").write_text("executor: slurm\nset-resources:\n  mask_batch:\n    slurm_extra: '-t 10'\n")
    with pytest.raises(UserError) as refused:
        checked([], ProfileKeys.of(str(profile)))
    assert str(refused.value).startswith(f"{profile / 'config.yaml'}: set-resources: mask_batch:slurm_extra=-t 10: ")


def test_every_option_the_installed_executor_refuses_in_slurm_extra_has_its_resource_or_none():
    """The refusals follow the plugin's own table; the resource named instead is one the checks take."""
    from maskrun.workflow.resource_options import KNOWN
    from maskrun.workflow.slurm_extra import INSTEAD, forbidden_patterns

    names = set(forbidden_patterns().values())
    assert names and names <= set(INSTEAD)
    assert {instead.partition("=")[0] for instead in INSTEAD.values() if instead} <= set(KNOWN)


def test_a_misspelt_profile_key_is_named_with_the_option_meant_by_validate_and_run(tmp_path):
    """A cluster look: ``latency_wait: 60`` in a copy of the bundled profile passed validate, then the run said
    ``snakemake refused an option given after --: unrecognized arguments: --latency_wait=60``."""
    example_folder(tmp_path, particles=12, maps=0)
    job = write_job(tmp_path, job_with(batch_size=6))
    profile = tmp_path / "pp"
    profile.mkdir()
    (profile / "config.yaml").write_text(
        (REPO / "workflow/profiles/slurm/config.yaml").read_text() + "latency_wait: 60\n"
    )
    for command in ("validate", "run"):
        line = refused_line(maskrun(command, job, "--profile", profile))
        assert line.endswith(
            f"{profile / 'config.yaml'}: latency_wait: is not an option of Snakemake, which would refuse the run; "
            "did you mean latency-wait?"
        ), line
    assert not (tmp_path / "results").exists()
