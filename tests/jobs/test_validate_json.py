"""``maskrun validate JOB --json OUT|-``: the job's answer as one JSON object, for a script (a Scipion plugin, a
facility's pipeline) that read validate's lines or ``provenance/run.json`` before."""

from __future__ import annotations

import json
import os

import pytest

from maskrun.cli.main import main
from maskrun.jobs.plan import describe_plan, plan_job
from maskrun.jobs.runner import run_job

from commands import maskrun, refused_line
from job_files import example_folder, job_with, write_job


def validated(capsys, job, *extra: str) -> tuple[dict, str, str]:
    """``maskrun validate JOB --json - EXTRA`` in this process: its answer (stdout, parsed whole), stdout, stderr."""
    status = main(["validate", str(job), "--json", "-", *extra])
    out, err = capsys.readouterr()
    answer = json.loads(out)
    assert answer["exit_status"] == status
    return answer, out, err


def test_the_answer_holds_the_jobs_inputs_units_outputs_mask_and_state(tmp_path, capsys):
    example_folder(tmp_path, particles=60, maps=0)
    job = write_job(tmp_path, job_with(batch_size=25))
    out = tmp_path / "answers" / "validate.json"
    assert main(["validate", str(job), "--json", str(out)]) == 0
    said = capsys.readouterr().out
    assert said.startswith(f"{job}: valid\n")  # the lines as ever, on stdout: the answer went to the file
    answer = json.loads(out.read_text())
    results = tmp_path / "results" / "t"
    assert answer["command"] == "validate" and answer["job"] == str(job) and answer["valid"] is True
    assert answer["state"] == "to run" and answer["finished_at"] is None and answer["redo"] is None
    assert answer["output_dir"] == str(results)
    assert answer["inputs"] | {"pixel_size": None} == {
        "kind": "particles",
        "count": 60,
        "format": "star",
        "file": str(tmp_path / "particles.star"),
        "stacks": 3,
        "box_px": [64, 64],
        "pixel_size_angstrom": 2.0,
        "pixel_size": None,
        "dropped_rows": 0,
    }
    units = answer["units"]
    assert units["count"] == 3 and units["kind"] == "batch"
    assert [(u["id"], u["first_row"], u["stop_row"]) for u in units["list"]] == [
        ("batch_00001", 0, 25),
        ("batch_00002", 25, 50),
        ("batch_00003", 50, 60),
    ]
    assert units["list"][2]["output"] == str(results / "stacks" / "batch_00003.mrcs")
    outputs = answer["outputs"]
    assert outputs["metadata"] == [str(results / "particles.star")] and outputs["masks"] == [str(results / "mask.mrc")]
    masked = [u["output"] for u in units["list"]]
    assert outputs["masked"] == {"folder": str(results / "stacks"), "count": 3, "files": masked}
    assert outputs["run_record"] == str(results / "provenance" / "run.json")
    assert outputs["report"] == str(results / "report" / "report.html") and outputs["check"] is None
    plan_lines = describe_plan(plan_job(job))
    assert [f"  {line}" for line in answer["mask"]] == [line for line in plan_lines if line.startswith("  mask")]
    assert f"  fill: {answer['fill']}; compat: {answer['compat']}" in plan_lines
    assert answer["warnings"] == [] and answer["notes"] == []
    assert not (tmp_path / "results").exists()  # validate writes nothing of the job's


def test_with_a_dash_stdout_is_the_answer_alone_and_the_lines_go_to_stderr(tmp_path):
    example_folder(tmp_path, particles=30, maps=0)
    job = write_job(tmp_path, job_with())
    proc = maskrun("validate", job, "--json", "-")
    assert proc.returncode == 0, proc.stderr
    answer = json.loads(proc.stdout)  # one JSON document, nothing beside it
    assert answer["valid"] is True and answer["inputs"]["count"] == 30 and answer["units"]["count"] == 2
    assert proc.stderr.startswith(f"{job}: valid\n") and "2 batches of up to 25 particles" in proc.stderr


def test_warnings_and_notes_are_the_lines_said_without_their_prefix(tmp_path, capsys):
    example_folder(tmp_path, particles=30, maps=0)
    job = write_job(tmp_path, job_with(mask__geometry={"shape": "circular", "radius": 400}))
    answer, _, err = validated(capsys, job)
    assert "maskrun: warning: the circular mask keeps everything: the output equals the input" in err.splitlines()
    assert answer["warnings"] == ["the circular mask keeps everything: the output equals the input"]
    noted = write_job(tmp_path, job_with(compat="xmipp", fill={"with": "value", "value": 3}), "noted.yaml")
    answer, _, err = validated(capsys, noted)
    note = "compat: xmipp multiplies by a soft mask: the fill applies only to a binary mask"
    assert [n[: len(note)] for n in answer["notes"]] == [note]
    assert f"  note: {answer['notes'][0]}" in err.splitlines()  # validate's own line of it


def test_a_finished_run_a_missing_report_and_a_redo_are_the_state(tmp_path, capsys):
    example_folder(tmp_path, particles=30, maps=0)
    job = write_job(tmp_path, job_with(batch_size=10))
    run_job(job)  # in this process: no report drawn
    answer, _, _ = validated(capsys, job)
    record = json.loads((tmp_path / "results" / "t" / "provenance" / "run.json").read_text())
    assert answer["state"] == "report missing" and answer["finished_at"] == record["end"]
    write_job(tmp_path, job_with(batch_size=10, report=False))
    answer, _, _ = validated(capsys, job)
    assert answer["state"] == "finished" and answer["finished_at"] == record["end"]
    stack = tmp_path / "Extract" / "mic_002.mrcs"  # rows 10..19 of the example's three stacks
    stack.write_bytes(stack.read_bytes()[:-4] + b"\0\0\0\1")
    write_job(tmp_path, job_with(batch_size=10, report=False, output={"overwrite": True}))
    answer, _, err = validated(capsys, job)
    assert answer["state"] == "redo" and answer["finished_at"] is None
    assert {k: answer["redo"][k] for k in ("count", "of", "units")} == {"count": 1, "of": 3, "units": ["batch_00002"]}
    assert f"  {answer['redo']['said']}" in err.splitlines()


def test_a_refused_job_answers_valid_false_with_its_one_line_and_exit_2(tmp_path, capsys):
    example_folder(tmp_path, particles=5, maps=0)
    job = write_job(tmp_path, job_with(mask__geometry={"shape": "sphere"}))
    assert main(["validate", str(job), "--json", "-"]) == 2
    out, err = capsys.readouterr()
    line = err.strip()
    assert len(err.splitlines()) == 1 and line.startswith("maskrun validate: error: ") and "use circular" in line
    assert json.loads(out) == {
        "command": "validate",
        "maskrun": json.loads(out)["maskrun"],
        "job": str(job),
        "valid": False,
        "error": line.removeprefix("maskrun validate: error: "),
        "exit_status": 2,
        "warnings": [],
        "notes": [],
    }
    missing = tmp_path / "none.yaml"
    proc = maskrun("validate", missing, "--json", "-")
    assert json.loads(proc.stdout)["error"] == refused_line(proc).removeprefix("maskrun validate: error: ")
    out_file = tmp_path / "answer.json"
    assert main(["validate", str(job), "--json", str(out_file)]) == 2
    assert not out_file.exists()  # a refused command writes no file


def test_an_earlier_answer_is_replaced_and_the_output_folder_may_hold_one(tmp_path, capsys):
    example_folder(tmp_path, particles=30, maps=0)
    job = write_job(tmp_path, job_with())
    out = tmp_path / "results" / "t" / "answer.json"  # named there by the user: no surprise
    assert main(["validate", str(job), "--json", str(out)]) == 0
    out.write_text(out.read_text().replace('"to run"', '"older"'))
    assert main(["validate", str(job), "--json", str(out)]) == 0
    assert json.loads(out.read_text())["state"] == "to run"
    assert sorted(p.name for p in out.parent.iterdir()) == ["answer.json"]  # no temporary file left


def test_a_refused_command_leaves_no_earlier_answer_for_a_pipeline_to_take_as_its_own(tmp_path, capsys):
    """A reviewer's finding: the last answer (a success) stayed in OUT when the next command was refused."""
    example_folder(tmp_path, particles=30, maps=0)
    job = write_job(tmp_path, job_with())
    out = tmp_path / "answer.json"
    assert main(["validate", str(job), "--json", str(out)]) == 0
    assert json.loads(out.read_text())["valid"] is True
    (tmp_path / "particles.star").unlink()  # the next command is refused
    assert main(["validate", str(job), "--json", str(out)]) == 2
    assert not out.exists()


@pytest.mark.parametrize(
    "where, said",
    [
        ("mine.json", "exists, and is not an answer of maskrun validate or run"),
        ("link.json", "is a symbolic link (to answer.json), not a file"),
        ("folder", "is a folder; give a file name for the answer"),
        ("job.yaml", "exists, and is not an answer of maskrun validate or run"),
        ("results/t/stacks/a.json", "is in {out}/stacks, where the job's run keeps its own files"),
        ("results/t/particles.star", "is a file the job's run writes"),
        ("results/t/.snakemake/a.json", "is in {out}/.snakemake, where the job's run keeps its own files"),
        ("particles.star", "exists, and is not an answer"),
    ],
)
def test_a_json_file_where_it_may_not_go_is_refused_and_nothing_written(tmp_path, capsys, where, said):
    example_folder(tmp_path, particles=30, maps=0)
    job = write_job(tmp_path, job_with())
    (tmp_path / "mine.json").write_text('{"mine": true}\n')
    (tmp_path / "answer.json").write_text("{}")
    os.symlink("answer.json", tmp_path / "link.json")
    (tmp_path / "folder").mkdir()
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert main(["validate", str(job), "--json", str(tmp_path / where)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith(f"maskrun validate: error: {tmp_path / where}: --json: ")
    assert said.format(out=tmp_path / "results" / "t") in err
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before
    assert not (tmp_path / "results").exists()
