"""Every path of the job as resolved (the run record's ``job_resolved``, the report's "Job as resolved") is absolute:
a RELION user's look found the maps' paths absolute and ``check.half1: p1.mrc`` as written."""

from __future__ import annotations

import html
import json
import os
from pathlib import Path
from typing import Any

import pytest
from fsc_phantoms import phantom_halves

from maskrun.cli.main import main
from maskrun.config.job_file import PATH_KEYS
from maskrun.jobs.examples import write_example
from maskrun.jobs.output_metadata import resolved_job
from maskrun.jobs.plan import plan_job
from maskrun.jobs.runner import run_job

from conftest import write_mrc
from job_files import PARTICLE_JOB, example_folder, write_job


def paths_in(node: Any, key: str = "") -> list[str]:
    """Every value of the record under a key that holds paths in a job (``particles``, ``file``, ``half1``, …)."""
    if isinstance(node, dict):
        return [path for k, value in node.items() for path in paths_in(value, k)]
    if isinstance(node, list):
        return [path for item in node for path in paths_in(item, key)]
    return [node] if key in PATH_KEYS and isinstance(node, str) else []


def resolved(output_dir: Path) -> dict[str, Any]:
    record: dict[str, Any] = json.loads((output_dir / "provenance" / "run.json").read_text())["job_resolved"]
    return record


def test_a_map_jobs_half_maps_and_masks_maps_are_absolute_in_the_record_and_the_report(tmp_path, capsys):
    half1, half2, signal = phantom_halves(64, noise=1.5, blob_sigma_px=3.0)  # as tests/jobs/test_job_check.py's
    maps = {"h1": half1, "h2": half2, "avg": (half1 + half2) / 2, "signal": signal / signal.max()}
    for name, values in (maps | {"signal2": maps["signal"]}).items():
        write_mrc(tmp_path / f"{name}.mrc", values, voxel_size=2.0)
    job = {
        "version": 1,
        "name": "checked",
        "inputs": {"volumes": ["avg.mrc"]},
        "mask": {
            "source": "map",
            "map": {"file": "signal.mrc", "threshold": 0.05, "soft_edge_px": 8, "and": "signal2.mrc"},
        },
        "check": {"half1": "h1.mrc", "half2": "h2.mrc"},
    }
    job["mask"]["map"]["and"] = "signal2.mrc"  # a second map
    path = write_job(tmp_path, job)
    out = run_job(path).output_dir
    record = resolved(out)
    assert record["check"] | record["inputs"] == {
        "half1": str(tmp_path / "h1.mrc"),
        "half2": str(tmp_path / "h2.mrc"),
        "search": False,
        "focused": False,
        "volumes": [str(tmp_path / "avg.mrc")],
    }
    assert record["mask"]["map"]["file"] == str(tmp_path / "signal.mrc")
    assert record["mask"]["map"]["and"] == str(tmp_path / "signal2.mrc")
    assert len(paths_in(record)) == 6 and all(os.path.isabs(path) for path in paths_in(record)), paths_in(record)
    assert main(["report", str(path)]) == 0
    shown = (out / "report" / "report.html").read_text()  # "Job as resolved" is the record's
    assert html.escape(f'"half1": "{tmp_path / "h1.mrc"}"') in shown and html.escape('"half1": "h1.mrc"') not in shown


def test_a_particle_jobs_inputs_are_all_kept_and_absolute(tmp_path):
    example_folder(tmp_path, maps=0)
    job = {**PARTICLE_JOB, "report": False}
    job["inputs"] = {"particles": "particles.star", "project_dir": ".", "image_column": "rlnImageName"}
    out = run_job(write_job(tmp_path, job)).output_dir
    assert resolved(out)["inputs"] == {
        "particles": str(tmp_path / "particles.star"),
        "project_dir": str(tmp_path),
        "image_column": "rlnImageName",
    }
    assert all(os.path.isabs(path) for path in paths_in(resolved(out)))


@pytest.mark.parametrize("kind", ["expression", "projection"])
def test_the_mask_files_of_an_expression_or_a_projection_are_absolute(tmp_path, kind):
    plan = plan_job(write_example(kind, tmp_path))
    mask = resolved_job(plan, [])["mask"]
    written = paths_in(mask)
    assert written and all(os.path.isabs(path) and Path(path).is_file() for path in written), written
