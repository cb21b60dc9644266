"""``maskrun run JOB --json OUT|-``: how the run ended as one JSON object, for a script that scraped the summary line
or dug into ``provenance/run.json`` before."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from maskrun.jobs.runner import run_job

from commands import FAIL_BATCH_2, maskrun, refused_line, start_run, wait_for_units
from job_files import example_folder, job_with, slow_blocks_env, write_job


def answer_of(proc) -> dict:
    """The run's answer: its whole standard output, one JSON document."""
    answer = json.loads(proc.stdout)
    assert answer["command"] == "run" and answer["exit_status"] == proc.returncode
    return answer


@pytest.mark.system  # two runs of the bundled example through Snakemake (8 s): CI runs it (pytest -m system)
def test_a_finished_run_answers_on_stdout_alone_with_the_files_it_wrote(tmp_path):
    assert maskrun("example", "particles", "--write", tmp_path).returncode == 0
    job = tmp_path / "particles.yaml"
    proc = maskrun("run", job, "--cores", "2", "--verbose", "--json", "-")  # Snakemake's own log too: on stderr
    assert proc.returncode == 0, proc.stderr
    answer = answer_of(proc)
    out = tmp_path / "results" / "example-particles"
    assert answer["status"] == "finished" and answer["job"] == str(job) and answer["output_dir"] == str(out)
    assert answer["inputs"]["count"] == 60 and answer["inputs"]["kind"] == "particles"
    assert answer["units"] == {"count": 3, "from_earlier_runs": 0}
    assert answer["masked"]["count"] == 3 and answer["masked"]["folder"] == str(out / "stacks")
    assert [Path(p).name for p in answer["masked"]["files"]] == [f"batch_0000{k}.mrcs" for k in (1, 2, 3)]
    files = [answer["metadata"], *answer["masked"]["files"], *answer["masks"], answer["run_record"], answer["report"]]
    assert all(Path(p).is_file() for p in files) and answer["metadata"] == str(out / "particles.star")
    record = json.loads(Path(answer["run_record"]).read_text())
    assert answer["finished_at"] == record["end"] and 0 < answer["seconds"] < 300
    assert answer["warnings"] == [] and answer["notes"] == []
    assert "maskrun run: masked 60 particles in 3 batches" in proc.stderr  # the summary, moved off stdout
    assert "Job stats" in proc.stderr  # --verbose: Snakemake's log, written by its process, moved off stdout too

    again = maskrun("run", job, "--json", str(tmp_path / "answers" / "run.json"))
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("maskrun run: nothing to do")  # with a file, the lines stay on stdout
    answer = json.loads((tmp_path / "answers" / "run.json").read_text())
    assert answer["status"] == "nothing to do" and answer["finished_at"] == record["end"]
    assert answer["metadata"] == str(out / "particles.star") and answer["masked"]["count"] == 3


def test_a_dry_run_answers_what_snakemake_would_run_and_writes_nothing(tmp_path):
    example_folder(tmp_path, particles=60, maps=0)
    job = write_job(tmp_path, job_with(batch_size=25))
    proc = maskrun("run", job, "--dry-run", "--json", "-")
    assert proc.returncode == 0, proc.stderr
    answer = answer_of(proc)
    assert answer["status"] == "dry run" and answer["redo"] is None
    assert answer["snakemake_jobs"] == {"mask_batch": 3, "gather": 1, "report": 1}
    assert answer["units"]["count"] == 3 and answer["masked"]["count"] == 3 and answer["finished_at"] is None
    assert "snakemake would run 5 jobs" in proc.stderr
    assert not (tmp_path / "results").exists()


def test_a_refused_run_answers_refused_with_its_one_line_and_exit_2(tmp_path):
    example_folder(tmp_path, particles=5, maps=0)
    job = write_job(tmp_path, job_with(mask__geometry={"shape": "sphere"}))
    proc = maskrun("run", job, "--json", "-")
    line = refused_line(proc)
    answer = answer_of(proc)
    assert answer["status"] == "refused" and answer["exit_status"] == 2 and answer["job"] == str(job)
    assert answer["error"] == line.removeprefix("maskrun run: error: ") and "use circular" in answer["error"]
    assert not (tmp_path / "results").exists()


@pytest.mark.system  # a failing run end to end (3 s): CI runs it (pytest -m system)
def test_a_failed_run_answers_failed_with_its_line_and_exit_1(tmp_path):
    example_folder(tmp_path, particles=30, maps=0)
    job = write_job(tmp_path, job_with(batch_size=10))
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(FAIL_BATCH_2)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(hook), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run(
        [sys.executable, "-m", "maskrun", "run", str(job), "--cores", "1", "--json", "-"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 1, proc.stderr
    answer = answer_of(proc)
    failed = proc.stderr.strip().splitlines()[-1]
    assert answer["status"] == "failed" and answer["error"] == failed.removeprefix("maskrun run: failed: ")
    assert "batch_00002.log" in answer["error"] and "Traceback" not in proc.stdout


@pytest.mark.parametrize(
    "where, said",
    [
        ("mine.json", "exists, and is not an answer of maskrun validate or run"),
        ("results/t/logs/run.json", "is in {out}/logs, where the job's run keeps its own files"),
    ],
)
def test_a_json_file_where_it_may_not_go_is_refused_before_the_run(tmp_path, where, said):
    example_folder(tmp_path, particles=30, maps=0)
    job = write_job(tmp_path, job_with())
    (tmp_path / "mine.json").write_text("mine\n")
    proc = maskrun("run", job, "--json", tmp_path / where)
    line = refused_line(proc)
    assert line.startswith(f"maskrun run: error: {tmp_path / where}: --json: ")
    assert said.format(out=tmp_path / "results" / "t") in line
    assert (tmp_path / "mine.json").read_text() == "mine\n" and not (tmp_path / "results").exists()


@pytest.mark.system  # a run stopped by Ctrl-C (4 s): CI runs it (pytest -m system)
def test_an_interrupted_run_answers_interrupted_with_its_line_and_status(tmp_path):
    example_folder(tmp_path, particles=30, maps=0)
    job = write_job(tmp_path, job_with(batch_size=5))
    process = start_run(job, "--json", "-", env=slow_blocks_env(tmp_path, 0.3))
    wait_for_units(tmp_path / "results" / "t", 1, process)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    answer = json.loads(stdout)
    assert answer["status"] == "interrupted" and answer["exit_status"] == 130
    assert answer["error"] == stderr.strip().splitlines()[-1].removeprefix("maskrun run: ")


def test_a_finished_run_without_its_report_answers_report_drawn(tmp_path):
    example_folder(tmp_path, particles=20, maps=0)
    job = write_job(tmp_path, job_with(batch_size=10))
    run_job(job)  # in this process, as a run stopped before its report leaves it
    proc = maskrun("run", job, "--json", "-")
    assert proc.returncode == 0, proc.stderr
    answer = answer_of(proc)
    record = json.loads((tmp_path / "results" / "t" / "provenance" / "run.json").read_text())
    assert answer["status"] == "report drawn" and answer["finished_at"] == record["end"]
    assert answer["report"] == str(tmp_path / "results" / "t" / "report" / "report.html")
    assert Path(answer["report"]).is_file() and f"wrote {answer['report']}" in proc.stderr
