"""The Snakemake workflow, locally: lint, planned jobs, equality with the in-process path,
failures, and resuming a killed run."""

from __future__ import annotations

import base64
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import blake3
import pytest

from maskrun.config.job_file import load_job
from maskrun.jobs.runner import run_job
from maskrun.workflow.support import code_stamp

from commands import FAIL_BATCH_2, output_bytes
from conftest import REPO, shared_path
from job_files import example_folder, job_with, write_job

SNAKEFILE = REPO / "workflow" / "Snakefile"


def maskrun(*args, timeout=300):
    return subprocess.run(
        [sys.executable, "-m", "maskrun", *map(str, args)], capture_output=True, text=True, timeout=timeout
    )


def job_counts(output: str) -> dict[str, int]:
    """Rule → jobs, from maskrun run --dry-run's last line ("snakemake would run 6 jobs (mask_map 3, ...)")."""
    line = re.search(r"snakemake would run (\d+) jobs? \((.*)\); nothing was written", output)
    assert line is not None, output
    counts = {m[1]: int(m[2]) for m in re.finditer(r"(\w+) (\d+)", line[2])}
    return counts | {"total": int(line[1])}


def test_lint_is_clean(tmp_path):
    example_folder(tmp_path, particles=10, maps=1)
    job = write_job(tmp_path, job_with())
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(SNAKEFILE), "--configfile", str(job), "--lint"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Lints for" not in proc.stdout + proc.stderr


@pytest.mark.parametrize("n,batch", [(60, 25), (60, 60), (61, 20)])
def test_dry_run_plans_one_job_per_batch_and_a_gather(tmp_path, n, batch):
    example_folder(tmp_path, particles=n, maps=0)
    proc = maskrun("run", write_job(tmp_path, job_with(batch_size=batch)), "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert job_counts(proc.stdout + proc.stderr) == {
        "mask_batch": math.ceil(n / batch),
        "gather": 1,
        "report": 1,
        "total": math.ceil(n / batch) + 2,
    }
    assert not (tmp_path / "results").exists()  # nothing written, not even Snakemake's state
    assert f"{n} particles" in proc.stdout and "Job stats" not in proc.stdout + proc.stderr


def test_dry_run_plans_one_job_per_map(tmp_path):
    example_folder(tmp_path, particles=3, maps=3)
    job = write_job(
        tmp_path, job_with(inputs__particles=None, inputs__volumes="maps/*.mrc", mask__geometry={"shape": "sphere"})
    )
    proc = maskrun("run", job, "--dry-run")
    assert job_counts(proc.stdout + proc.stderr) == {"mask_map": 3, "gather": 1, "report": 1, "total": 5}


@pytest.mark.system  # a projected job planned and dry-run by Snakemake (4 s): CI runs it (pytest -m system)
def test_dry_run_of_a_projected_mask_job_names_its_outputs(tmp_path):
    assert maskrun("example", "projection", "--write", tmp_path).returncode == 0
    proc = maskrun("run", tmp_path / "projection.yaml", "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert job_counts(proc.stdout + proc.stderr)["mask_batch"] >= 1
    outputs = next(line for line in proc.stdout.splitlines() if line.strip().startswith("outputs:"))
    assert outputs.strip().endswith("particles.star") and "mask.mrc" not in outputs  # each particle has its own
    assert not (tmp_path / "results").exists()


def test_workflow_equals_in_process_run_on_generated_data(tmp_path):
    example_folder(tmp_path, particles=60)
    proc = maskrun("run", write_job(tmp_path, job_with(name="wf", batch_size=25)), "--cores", "2")
    assert proc.returncode == 0, proc.stderr
    assert "maskrun run: masked 60 particles in 3 batches" in proc.stdout
    run_job(write_job(tmp_path, job_with(name="inproc", batch_size=25), "inproc.yaml"))
    workflow, in_process = output_bytes(tmp_path / "results" / "wf"), output_bytes(tmp_path / "results" / "inproc")
    assert len(workflow) == 5 and workflow == in_process  # 3 stacks, particles.star, mask.mrc
    for k, rows in ((1, "0:25"), (2, "25:50"), (3, "50:60")):  # units read their rows of the saved plan
        log = (tmp_path / "results" / "wf" / "logs" / f"batch_0000{k}.log").read_text()
        assert f"forked from the units' server; read the saved plan, rows {rows}" in log, log
    assert sorted(p.name for p in (tmp_path / "results" / "wf" / "logs").iterdir()) == [
        "batch_00001.log",
        "batch_00002.log",
        "batch_00003.log",
        "gather.log",
        "report.log",
        "snakemake.log",
    ]
    # a local run: the launcher hashed the stacks while Snakemake started, the units none
    provenance = tmp_path / "results" / "wf" / "provenance"
    for k in (1, 2, 3):
        assert json.loads((provenance / f"batch_0000{k}.json").read_text())["hashed_inputs"] == []
    run_record = json.loads((provenance / "run.json").read_text())
    assert run_record["command"] == ["maskrun", "run", str(tmp_path / "job.yaml"), "--cores", "2"]  # as typed
    assert run_record["engine_command"] != run_record["command"]  # what ran the gather: Snakemake
    stacks = {e["path"]: e for e in run_record["inputs"] if e["format"] == "mrc"}
    assert len(stacks) == 3
    for path, entry in stacks.items():
        assert entry["blake3"] == blake3.blake3(Path(path).read_bytes()).hexdigest()
    # nor did Snakemake hash them again after each job (its sha256 of every input under 1 MB)
    records = [json.loads(p.read_text()) for p in (tmp_path / "results" / "wf" / ".snakemake" / "metadata").iterdir()]
    units = [r for r in records if r["rule"] == "mask_batch"]
    assert len(units) == 6  # stack and record of each batch
    # its inputs: the STAR; its stacks, by a stamp in its params (`stacks_stamp`), beside the job's recipe (not the
    # job file, whose time an edit that keeps the job moves) and the code that masked it (`code_stamp`: a resume by
    # another maskrun redoes it)
    assert all(sorted(Path(f).name for f in r["input"]) == ["particles.star"] for r in units)
    recipe = load_job(tmp_path / "job.yaml").recipe_sha256  # Snakemake keeps params in no set order
    assert all(
        len(r["params"]) == 3 and all(re.search(r"[0-9a-f]{64}", p) or code_stamp() in p for p in r["params"])
        for r in units
    )
    assert all(
        sum(recipe in p for p in r["params"]) == 1 and sum(code_stamp() in p for p in r["params"]) == 1 for r in units
    )
    assert all(r["input_checksums"] == {} for r in records)


@pytest.mark.parametrize("name", ["relion31.star", "empiar_10076_7.star"])
def test_workflow_on_real_relion_data_equals_in_process(tmp_path, name):
    star = str(shared_path("data", "public", name))
    geometry = {"shape": "raised_cosine", "inner_radius": 60, "outer_radius": 90}
    proc = maskrun(
        "run",
        write_job(
            tmp_path,
            job_with(name="wf", inputs__particles=star, batch_size=3, mask__geometry=geometry, fill={"with": "avg"}),
        ),
    )
    assert proc.returncode == 0, proc.stderr
    run_job(
        write_job(
            tmp_path,
            job_with(name="ip", inputs__particles=star, batch_size=3, mask__geometry=geometry, fill={"with": "avg"}),
            "ip.yaml",
        )
    )
    workflow = output_bytes(tmp_path / "results" / "wf")
    assert workflow == output_bytes(tmp_path / "results" / "ip") and "particles.star" in workflow


def test_workflow_on_a_map_set(tmp_path):
    example_folder(tmp_path, particles=3, maps=2)
    job = write_job(
        tmp_path,
        job_with(
            inputs__particles=None,
            inputs__volumes=["maps/class_1.mrc", "maps/class_2.mrc"],
            mask__geometry={"shape": "raised_crown", "inner_radius": 6, "outer_radius": 24, "border_decay": 3},
        ),
    )
    proc = maskrun("run", job)
    assert proc.returncode == 0, proc.stderr
    assert sorted(output_bytes(tmp_path / "results" / "t")) == [
        "mask.mrc",
        "volumes.star",
        "volumes/class_1.mrc",
        "volumes/class_2.mrc",
    ]


def test_invalid_job_exits_2_before_snakemake(tmp_path):
    example_folder(tmp_path, particles=5, maps=0)
    proc = maskrun("run", write_job(tmp_path, job_with(mask__geometry={"shape": "sphere"})))
    assert proc.returncode == 2 and "use circular" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "results").exists()


def test_a_file_where_an_output_folder_goes_is_refused_before_work(tmp_path):
    example_folder(tmp_path, particles=30, maps=0)
    out = tmp_path / "results" / "t"
    out.mkdir(parents=True)
    (out / "stacks").write_text("a file where the stacks folder should be")
    proc = maskrun("run", write_job(tmp_path, job_with(batch_size=10)), "--cores", "1")
    assert proc.returncode == 2
    assert f"{out}/stacks is a file where the run writes a folder" in proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["stacks"]


@pytest.mark.system  # a failing run end to end (2 s): CI runs it (pytest -m system)
def test_failing_unit_exits_1_naming_only_its_log(tmp_path):
    example_folder(tmp_path, particles=30, maps=0)
    (tmp_path / "hook").mkdir()
    (tmp_path / "hook" / "sitecustomize.py").write_text(FAIL_BATCH_2)  # in Snakemake's process too
    out = tmp_path / "results" / "t"
    command = [
        sys.executable,
        "-m",
        "maskrun",
        "run",
        str(write_job(tmp_path, job_with(batch_size=10))),
        "--cores",
        "1",
        "--",
        "--keep-going",
    ]
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "hook")}
    proc = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert (
        last == f"maskrun run: failed: snakemake exited with status 1; 1 unit failed (log: {out}/logs/batch_00002.log)"
    )
    assert "a unit failing for the test" in (out / "logs" / "batch_00002.log").read_text()
    assert (out / "provenance" / "batch_00003.json").exists() and not (out / "provenance" / "run.json").exists()
    assert not list(out.rglob(".*.part-*")) and not (out / ".maskrun.lock").exists()


@pytest.mark.system
def test_killed_run_resumes_only_missing_units_and_ends_identical(tmp_path):
    example_folder(tmp_path, particles=300)  # 30 units, each a process of its own (~0.6 s to start)
    args = [sys.executable, "-m", "maskrun", "run", str(write_job(tmp_path, job_with(batch_size=10))), "--cores", "1"]
    out = tmp_path / "results" / "t"
    with open(tmp_path / "interrupted.log", "w") as log:  # a pipe nobody reads would block snakemake
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 120
        while not any((out / "provenance").glob("batch_*.json")):  # snakemake picks the order
            assert process.poll() is None and time.monotonic() < deadline, "run ended before it could be killed"
            time.sleep(0.005)
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C in a terminal: the whole process group
        assert process.wait(timeout=120) != 0
    done_before = {p.name: p.stat().st_mtime_ns for p in (out / "provenance").glob("batch_*.json")}
    assert 1 <= len(done_before) < 30 and not (out / "provenance" / "run.json").exists()

    resumed = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    records = {p.name: p.stat().st_mtime_ns for p in (out / "provenance").glob("batch_*.json")}
    assert len(records) == 30
    redone = [name for name, mtime in done_before.items() if records[name] != mtime]
    # only the job in flight at the interrupt (--cores 1) may be redone: snakemake marked it incomplete
    assert len(redone) <= 1, redone

    shutil.copytree(out, tmp_path / "interrupted")
    shutil.rmtree(out)
    assert subprocess.run(args, capture_output=True, timeout=300).returncode == 0
    assert output_bytes(tmp_path / "interrupted") == output_bytes(out)


@pytest.mark.system  # a run, a change and a resume end to end (5 s): CI runs it (pytest -m system)
def test_a_stack_changed_before_a_resume_redoes_only_the_units_that_read_it(tmp_path):
    """A batch's stacks are not Snakemake inputs (thousands slowed its DAG) but its params' stamp: same effect."""
    example_folder(tmp_path, particles=60)  # 3 stacks of 20
    args = ["run", write_job(tmp_path, job_with(batch_size=20)), "--cores", "1"]
    out = tmp_path / "results" / "t"
    assert maskrun(*args).returncode == 0
    units = json.loads((out / ".maskrun" / "plan.json").read_text())["units"]
    stacks = {f"batch_{i + 1:05d}": tuple(unit[4]) for i, unit in enumerate(units)}
    assert len(set(stacks.values())) == 3 and all(len(s) == 1 for s in stacks.values())  # one stack each
    (out / "provenance" / "run.json").unlink()  # as if killed while gathering
    records = {name: (out / "provenance" / f"{name}.json").stat().st_mtime_ns for name in stacks}
    stack = tmp_path / "Extract" / "mic_002.mrcs"
    os.utime(stack, ns=(stack.stat().st_atime_ns, stack.stat().st_mtime_ns + 10**9))  # changed, as far as times tell

    resumed = maskrun(*args)
    assert resumed.returncode == 0, resumed.stderr
    redone = sorted(n for n, t in records.items() if (out / "provenance" / f"{n}.json").stat().st_mtime_ns != t)
    saved = json.loads((out / ".maskrun" / "plan.json").read_text())
    readers = [n for n, s in stacks.items() if any(saved["particles"]["stacks"][i]["path"] == str(stack) for i in s)]
    assert redone == readers and len(readers) == 1


def test_run_options_and_passthrough_reach_snakemake(tmp_path, monkeypatch):
    from maskrun.cli import main as cli
    from maskrun.workflow import launch as run_command

    example_folder(tmp_path, particles=10, maps=0)
    job = write_job(tmp_path, job_with())
    seen = {}

    class Warm:  # the warm Snakemake, told what to run: the argv after ``python -m snakemake``
        def __init__(self, preexec_fn=None, unit_forks=False):
            seen["unit_forks"] = unit_forks

        def run(self, argv, log, env=None):
            seen["argv"] = argv
            return _Done()

        def discard(self):
            pass

    monkeypatch.setattr(run_command, "WarmSnakemake", Warm)
    monkeypatch.setattr(run_command, "_refuse_unfinished", lambda *a: None)  # the faked Snakemake writes nothing
    assert (
        cli.main(
            [
                "run",
                str(job),
                "--profile",
                "workflow/profiles/slurm",
                "--cores",
                "3",
                "--",
                "--jobs",
                "4",
                "--keep-going",
            ]
        )
        == 0
    )
    argv = seen["argv"]
    assert argv[argv.index("--profile") + 1] == "workflow/profiles/slurm"  # a folder that exists: as given
    assert argv[argv.index("--workflow-profile") + 1] == "none"  # else profiles merge key by key
    assert argv[argv.index("--cores") + 1] == "3"
    assert argv[argv.index("--max-checksum-file-size") + 1] == "0"  # with any profile: maskrun hashes the inputs
    assert argv[-3:] == ["--jobs", "4", "--keep-going"]
    assert seen["unit_forks"] is False  # a cluster profile: units are processes of their own, on the nodes


def test_bundled_profiles_resolve_by_name(tmp_path, monkeypatch):
    from maskrun.workflow import launch

    assert launch.bundled_profiles() == ["default", "slurm"]
    by_name = Path(launch.resolve_profile("slurm"))
    assert by_name == launch.WORKFLOW / "profiles" / "slurm" and (by_name / "config.yaml").is_file()
    assert "executor: slurm" in (by_name / "config.yaml").read_text()
    monkeypatch.chdir(tmp_path)
    (tmp_path / "slurm").mkdir()  # sbatch's logs, say (the cluster look): no profile, so it hides nothing
    assert launch.resolve_profile("slurm") == str(by_name)
    (tmp_path / "slurm" / "config.yaml").write_text("jobs: 2\n")  # a user's own profile of that name wins, said so
    assert launch.resolve_profile("slurm") == "slurm"
    assert "using the profile in" in (launch._shadowing_profile("slurm", launch.resolve_profile("slurm")) or "")
    assert launch._shadowing_profile("default", launch.resolve_profile("default")) is None
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    (tmp_path / "config" / "snakemake" / "mycluster").mkdir(parents=True)
    assert launch.resolve_profile("mycluster") == "mycluster"  # left for snakemake's own lookup


def test_a_users_or_sites_profile_named_like_a_bundled_one_is_used_as_snakemake_would_with_a_note(
    tmp_path, monkeypatch
):
    """The cluster look: ``--profile slurm`` ran maskrun's bundled profile over ``~/.config/snakemake/slurm`` (or a
    facility's ``/etc/xdg/snakemake/slurm``), which ``snakemake --profile slurm`` takes, without a word."""
    from maskrun.workflow import launch

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    own = tmp_path / "config" / "snakemake" / "slurm"
    own.mkdir(parents=True)  # a folder without a profile hides nothing
    assert launch.resolve_profile("slurm") == str(launch.WORKFLOW / "profiles" / "slurm")
    (own / "config.yaml").write_text("executor: slurm\njobs: 2\n")
    assert launch.resolve_profile("slurm") == str(own)
    note = launch._shadowing_profile("slurm", str(own)) or ""
    assert f"using the profile in {own}" in note and str(launch.WORKFLOW / "profiles" / "slurm") in note
    example_folder(tmp_path, particles=12, maps=0)
    job = write_job(tmp_path, job_with(batch_size=6))
    proc = maskrun("validate", job, "--profile", "slurm")
    assert proc.returncode == 0 and f"--profile slurm: using the profile in {own}" in proc.stderr, proc.stderr


def test_a_profile_that_is_not_there_exits_2_before_anything_is_written(tmp_path):
    example_folder(tmp_path, particles=20, maps=0)
    job = write_job(tmp_path, job_with(batch_size=10))
    before = sorted(tmp_path.rglob("*"))
    proc = maskrun("run", job, "--profile", "nosuch")
    assert proc.returncode == 2 and proc.stderr.startswith("maskrun run: error: no Snakemake profile 'nosuch'")
    (tmp_path / "empty").mkdir()
    proc = maskrun("run", job, "--profile", str(tmp_path / "empty"))
    assert proc.returncode == 2 and "holds no config.yaml, so it is not a Snakemake profile" in proc.stderr
    assert sorted(tmp_path.rglob("*")) == sorted([*before, tmp_path / "empty"])


class _Done:
    pid = 0

    def poll(self):
        return 0

    def wait(self, timeout=None):
        return 0


def test_a_quiet_dry_run_does_not_claim_zero_jobs(tmp_path):
    example_folder(tmp_path, particles=20, maps=0)
    proc = maskrun("run", write_job(tmp_path, job_with(batch_size=10)), "--dry-run", "--", "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert "snakemake planned the workflow (it printed no job counts); nothing was written" in proc.stdout
    assert "would run 0 jobs" not in proc.stdout and not (tmp_path / "results").exists()


def test_a_dry_run_with_an_option_snakemake_refuses_says_so_in_one_line(tmp_path):
    """A look at the new features: the dry run printed Snakemake's 121 lines of usage and exited 1."""
    example_folder(tmp_path, particles=20, maps=0)
    proc = maskrun("run", write_job(tmp_path, job_with(batch_size=10)), "--dry-run", "--", "--bogus-opt")
    assert proc.returncode == 2 and proc.stderr == (
        "maskrun run: error: snakemake refused an option given after --: unrecognized arguments: --bogus-opt; "
        "see snakemake --help\n"
    )
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize(
    ("options", "refused"),
    [
        (["--bogus-opt"], "unrecognized arguments: --bogus-opt"),
        # past argparse, Snakemake's own check of the value raised a ValueError: a traceback (the review)
        (["--resources", "x"], "dictionary update sequence element #0 has length 1; 2 is required"),
    ],
)
def test_a_run_with_an_option_snakemake_refuses_writes_nothing(tmp_path, options, refused):
    """A new user's look: `maskrun run JOB -- --bogus` exited 2 but left the saved plan and Snakemake's log in
    results/: exit 2 is a mistake, and a mistake writes nothing."""
    example_folder(tmp_path, particles=20, maps=0)
    proc = maskrun("run", write_job(tmp_path, job_with(batch_size=10)), "--", *options)
    assert proc.returncode == 2 and proc.stderr == (
        f"maskrun run: error: snakemake refused an option given after --: {refused}; see snakemake --help\n"
    )
    assert not (tmp_path / "results").exists()


@pytest.mark.system  # a run stopped and resumed end to end (4 s): CI runs it (pytest -m system)
def test_a_run_stopped_before_its_first_unit_is_resumed_by_the_same_command(tmp_path):
    example_folder(tmp_path, particles=20, maps=0)
    job = write_job(tmp_path, job_with(batch_size=10))
    failed = maskrun("run", job, "--", "--forcerun", "no_such_rule")  # Snakemake stops on it: no unit starts
    out = tmp_path / "results" / "t"
    assert failed.returncode == 1 and failed.stderr.endswith(
        f"maskrun run: failed: snakemake exited with status 1; no unit started (see {out / 'logs' / 'snakemake.log'})\n"
    ), failed.stderr
    assert (out / ".maskrun" / "plan.json").is_file() and (out / "logs" / "snakemake.log").is_file()
    again = maskrun("run", job)  # its saved plan and logs are maskrun's own: not a foreign folder
    assert again.returncode == 0, again.stderr
    assert "masked 20 particles in 2 batches" in again.stdout


@pytest.mark.parametrize("cores", ["0", "-3", "two"])
def test_cores_other_than_a_count_or_all_exit_2_before_anything(tmp_path, cores):
    example_folder(tmp_path, particles=20, maps=0)
    job = write_job(tmp_path, job_with(batch_size=10))
    proc = maskrun("run", job, f"--cores={cores}")
    assert proc.returncode == 2
    assert f"argument --cores: '{cores}' is not a number of cores: give a whole number from 1, or all" in proc.stderr
    assert not (tmp_path / "results").exists()


@pytest.mark.system  # a dry run beside a live lock (2 s): CI runs it (pytest -m system)
def test_a_dry_run_says_when_another_run_holds_the_folder(tmp_path):
    from maskrun.jobs.run_lock import RunLock

    example_folder(tmp_path, particles=20, maps=0)
    job = write_job(tmp_path, job_with(batch_size=20))
    with RunLock(tmp_path / "results" / "t" / ".maskrun.lock", "other.yaml"):  # this test's process: alive
        proc = maskrun("run", job, "--dry-run")
    assert proc.returncode == 0, proc.stderr
    note = [line for line in proc.stdout.splitlines() if "another maskrun run holds" in line]
    assert len(note) == 1 and f"(PID {os.getpid()}" in note[0] and note[0].endswith(": a run now is refused")
    assert proc.stdout.strip().splitlines()[-1] == (
        "maskrun run --dry-run: snakemake would run 3 jobs (mask_batch 1, gather 1, report 1); nothing was written"
    )


def test_a_failure_blames_only_units_this_snakemake_started(tmp_path, capsys):
    """The cluster look: a rerun Snakemake refused (its folder locked) said ``1 unit failed (log: batch_00003.log)``
    of a unit a killed run's job was masking then, whose log soon ended ``done batch_00003``."""
    from maskrun.errors import RunFailure
    from maskrun.jobs.plan import plan_job
    from maskrun.workflow import launch

    example_folder(tmp_path, particles=30, maps=0)
    plan = plan_job(write_job(tmp_path, job_with(batch_size=10)))
    started = time.time() - 1
    (plan.output_dir / "logs").mkdir(parents=True)
    for unit in plan.units:  # written during the attempt, not done: an orphan's, and one this Snakemake ran
        plan.log_path(unit.id).write_text("2026-12-07 07:00:00 start\n")
    engine_log = plan.output_dir / "logs" / "snakemake.log"
    engine_log.write_text("Building DAG of jobs...\nLockException:\nError: Directory cannot be locked.\n")
    with pytest.raises(RunFailure) as refused:
        launch._failed(plan, 1, started, engine_log)
    assert "failed (log" not in str(refused.value) and "no unit started" in str(refused.value)
    ran = plan.log_path("batch_00002")
    engine_log.write_text(f"rule mask_batch:\n    log: {ran}\n    jobid: 2\n    wildcards: unit=batch_00002\n\n")
    with pytest.raises(RunFailure) as failed:
        launch._failed(plan, 1, started, engine_log)
    assert f"1 unit failed (log: {ran})" in str(failed.value)


def test_a_dry_run_counts_the_units_a_stop_left_marked_incomplete_as_the_run_masks_them(tmp_path):
    """Stopped as a unit ended (Ctrl-C reaches Snakemake too), its output and record are there but Snakemake's mark
    of them as incomplete stays, and the resumed run masks it again: the dry run, planning in a scratch folder with
    Snakemake's metadata alone, counted it done (28 units to run, where the run then masked all 30)."""
    example_folder(tmp_path, particles=60)  # 3 stacks of 20
    job = write_job(tmp_path, job_with(batch_size=20))
    out = tmp_path / "results" / "t"
    assert maskrun("run", job, "--cores", "1").returncode == 0
    (out / "provenance" / "run.json").unlink()  # as if stopped before the gather
    incomplete = out / ".snakemake" / "incomplete"
    incomplete.mkdir(parents=True, exist_ok=True)
    for path in (out / "stacks" / "batch_00002.mrcs", out / "provenance" / "batch_00002.json"):
        (incomplete / base64.urlsafe_b64encode(str(path).encode()).decode()).touch()  # as Snakemake names its marks
    dry = maskrun("run", job, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "(mask_batch 1, gather 1, report 1)" in dry.stdout, dry.stdout
    resumed = maskrun("run", job, "--cores", "1")
    assert resumed.returncode == 0, resumed.stderr
    assert "(2 of the batches masked by an earlier run)" in resumed.stdout, resumed.stdout
