"""``check:`` in a map job: the saved mask judged by two half-maps, as check-mask does."""

from __future__ import annotations

import json

import numpy as np
import pytest
from fsc_phantoms import phantom_halves

from maskrun.engine.mask_check import check_json, check_mask
from maskrun.errors import UserError
from maskrun.jobs.plan import plan_job
from maskrun.jobs.runner import run_job

from conftest import write_mrc
from job_files import write_job

VOXEL = 2.0


@pytest.fixture
def folder(tmp_path):
    half1, half2, signal = phantom_halves(64, noise=1.5, blob_sigma_px=3.0)
    write_mrc(tmp_path / "h1.mrc", half1, voxel_size=VOXEL)
    write_mrc(tmp_path / "h2.mrc", half2, voxel_size=VOXEL)
    write_mrc(tmp_path / "avg.mrc", (half1 + half2) / 2, voxel_size=VOXEL)
    write_mrc(tmp_path / "signal.mrc", signal / signal.max(), voxel_size=VOXEL)
    return tmp_path


def job(check: dict | None, inputs: dict | None = None, tight: bool = False) -> dict:
    made = {"threshold": 0.5, "extend_px": 0, "soft_edge_px": 2} if tight else {}
    return {
        "version": 1,
        "name": "checked",
        "inputs": inputs or {"volumes": "avg.mrc"},
        "mask": {
            "source": "map",
            "map": {"file": "signal.mrc", "threshold": 0.05, "extend_px": 4, "soft_edge_px": 8} | made,
        },
        "fill": {"with": "value", "value": 0},
        **({"check": check} if check else {}),
    }


def test_a_map_job_checks_its_mask(folder):
    summary = run_job(write_job(folder, job({"half1": "h1.mrc", "half2": "h2.mrc", "search": True})))
    record = json.loads((summary.output_dir / "provenance" / "run.json").read_text())
    saved = json.loads((summary.output_dir / "check" / "check.json").read_text())
    expected = check_json(check_mask(folder / "h1.mrc", folder / "h2.mrc", summary.output_dir / "mask.mrc"))
    assert saved["fsc"] == expected["fsc"] and saved["verdict"] == expected["verdict"]
    assert record["check"]["verdict"] == expected["verdict"]
    assert record["check"]["resolution_angstrom"] == expected["resolution_angstrom"]
    assert "tightest_fine" in record["check"] and saved["search"]["candidates"]
    assert str(summary.output_dir / "check" / "check.json") in [
        str(summary.output_dir / entry["path"]) for entry in record["outputs"]
    ]
    inputs = [entry["path"] for entry in record["inputs"]]
    assert str(folder / "h1.mrc") in inputs and str(folder / "h2.mrc") in inputs
    assert saved["verdict"] == "fine" and not [w for w in record["warnings"] if "check" in w]


def test_half_maps_of_another_box_are_refused_before_any_work(folder):
    write_mrc(folder / "small.mrc", np.zeros((32, 32, 32), np.float32), voxel_size=VOXEL)
    path = write_job(folder, job({"half1": "h1.mrc", "half2": "small.mrc"}))
    with pytest.raises(UserError, match=r"check\.half2") as caught:
        plan_job(path)
    assert "not the job's maps' one box" in str(caught.value)
    assert not (folder / "results").exists()


def test_a_missing_half_map_is_refused(folder):
    with pytest.raises(UserError, match=r"check\.half1: .*does not exist"):
        plan_job(write_job(folder, job({"half1": "nope.mrc", "half2": "h2.mrc"})))


def test_check_is_for_map_jobs_only(folder):
    with pytest.raises(UserError, match=r"check .*for map jobs"):
        plan_job(write_job(folder, job({"half1": "h1.mrc", "half2": "h2.mrc"}, {"particles": "p.star"})))


def test_validate_says_the_mask_will_be_checked(folder):
    from maskrun.jobs.plan import describe_plan

    lines = describe_plan(plan_job(write_job(folder, job({"half1": "h1.mrc", "half2": "h2.mrc"}))))
    assert "  check: the mask judged by h1.mrc + h2.mrc after the run" in lines


def test_the_report_shows_the_check_curves_and_verdict(folder, monkeypatch):
    import matplotlib.image

    import maskrun.engine.mask_check
    from maskrun.report.build import build_report

    path = write_job(folder, job({"half1": "h1.mrc", "half2": "h2.mrc"}))
    summary = run_job(path)

    def checked_again(*args, **kwargs):
        raise AssertionError("the report checks the mask again instead of drawing the gather's check.json")

    monkeypatch.setattr(maskrun.engine.mask_check, "check_mask", checked_again)
    report = build_report(plan_job(path))
    figure = summary.output_dir / "report" / "check.png"
    assert report.figures["check.png"] == figure and matplotlib.image.imread(figure).shape[1] > 1000
    verdict = json.loads((summary.output_dir / "check" / "check.json").read_text())["verdict"]
    page = report.html.read_text()
    assert "check.png" in page and f"verdict {verdict}" in page


def test_a_check_that_finds_fault_is_a_warning_of_the_run_and_the_report(folder):
    from maskrun.report.build import build_report
    from maskrun.workflow.launch import summary

    path = write_job(folder, job({"half1": "h1.mrc", "half2": "h2.mrc"}, tight=True))
    out = run_job(path).output_dir
    saved = json.loads((out / "check" / "check.json").read_text())
    assert saved["verdict"] == "too tight"
    first = saved["reasons"][0]
    expected = f"the mask's check says too tight: {first['measured']} → {first['suggestion']}"
    warning = json.loads((out / "provenance" / "run.json").read_text())["warnings"][-1]
    assert warning.startswith(expected) and "\n" not in warning
    assert "extend the mask by" in warning
    plan = plan_job(path)
    assert summary(plan, 1.0).endswith("in 1.0 s; the mask's check: too tight")
    report = build_report(plan)
    assert warning in report.warnings
    page = report.html.read_text()
    assert f"Warnings: {len(report.warnings)}" in page and "the mask&#x27;s check says too tight: " in page
    assert warning in json.loads((out / "provenance" / "run.json").read_text())["warnings"]
