"""``maskrun.validate_job``: a job checked without running it, from Python, as ``maskrun validate --json`` checks it.

``load_job`` reads the job file alone: a stack deleted since was found only by ``run_job``
(which starts writing) or the command.
"""

from __future__ import annotations

import json
import warnings

import pytest

import maskrun
from maskrun.cli.main import main

from job_files import example_folder, job_with, write_job


def _folder_bytes(folder):
    return {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_a_missing_stack_is_refused_as_the_command_refuses_it_and_nothing_is_written(tmp_path, capsys):
    example_folder(tmp_path, particles=60, maps=0)
    job = write_job(tmp_path, job_with(batch_size=25))
    (tmp_path / "Extract" / "mic_002.mrcs").unlink()
    maskrun.load_job(job)  # the job file alone: valid
    before = _folder_bytes(tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(maskrun.UserError) as refused:
            maskrun.validate_job(job)
    assert caught == []
    assert "stack 'Extract/mic_002.mrcs' not found" in str(refused.value)
    assert _folder_bytes(tmp_path) == before and not (tmp_path / "results").exists()
    assert main(["validate", str(job)]) == 2
    assert capsys.readouterr().err == f"maskrun validate: error: {refused.value}\n"


def test_the_answer_is_validate_json_s_and_its_warnings_are_warned_at_the_caller(tmp_path, capsys):
    example_folder(tmp_path, particles=60, maps=0)
    cut = job_with(batch_size=25, mask__geometry__inner_radius=30, mask__geometry__outer_radius=40)
    job = write_job(tmp_path, cut)
    assert main(["validate", str(job), "--json", "-"]) == 0
    command = json.loads(capsys.readouterr().out)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        answer = maskrun.validate_job(job)
    assert answer == command
    said = "outer_radius 40 px is larger than half the box (32 px): the mask is cut by the box edge"
    assert answer["valid"] is True and answer["state"] == "to run" and answer["warnings"] == [said]
    shown = [w for w in caught if issubclass(w.category, maskrun.MaskrunWarning)]
    assert [str(w.message) for w in shown] == [said] and shown[0].filename == __file__
    assert not (tmp_path / "results").exists()  # nothing written
    assert "validate_job" in maskrun.__all__


def test_a_finished_run_is_said_finished_and_a_loaded_job_is_taken(tmp_path):
    example_folder(tmp_path, particles=20, maps=0)
    job = write_job(tmp_path, job_with(batch_size=10, report=False))
    maskrun.run_job(job)
    answer = maskrun.validate_job(maskrun.load_job(job))
    assert answer["state"] == "finished" and answer["finished_at"] is not None
    assert answer["outputs"]["report"] is None and answer["units"]["count"] == 2
    with pytest.raises(maskrun.UserError, match=r"job: must be a job file's path or a maskrun\.Job, not int"):
        maskrun.validate_job(3)
