"""A run record's ``job_resolved``, its resolved keys taken out, is a job: read back, it makes the same mask
(docs/spec.md, "Run record").

The look: fed back as a job it was refused (``fill: 'seed' is used only with 'with: noise'``); what
does not apply is left out. The keys only a record holds (the data's box and pixel size, a rule's
``threshold_rule``) are what the run resolved, not settings: a job file holding them is refused.
"""

from __future__ import annotations

import json
import warnings

import mrcfile
import numpy as np
import pytest
import yaml

from maskrun.config.job_file import load_job
from maskrun.errors import MaskrunWarning
from maskrun.jobs.runner import run_job

from job_files import PARTICLE_JOB, example_folder, write_job

JOBS = {
    "particles, noise fill": {**PARTICLE_JOB, "fill": {"with": "noise"}, "seed": 4},
    "map, threshold rule": {
        "version": 1,
        "name": "t",
        "inputs": {"volumes": "maps/class_1.mrc"},
        "mask": {"source": "map", "map": {"file": "maps/class_1.mrc", "threshold": "200 kDa", "soft_edge_px": 3}},
        "fill": {"with": "background"},
    },
}


@pytest.mark.parametrize("data", JOBS.values(), ids=JOBS.keys())
def test_the_resolved_job_reads_back_and_makes_the_same_mask(tmp_path, data):
    example_folder(tmp_path, particles=8, maps=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MaskrunWarning)
        first = run_job(write_job(tmp_path, data))
    resolved = json.loads((first.output_dir / "provenance" / "run.json").read_text())["job_resolved"]
    assert "seed" not in resolved["fill"] or resolved["fill"]["with"] == "noise"
    resolved = {key: value for key, value in resolved.items() if key not in ("box_px", "pixel_size_angstrom")}
    mask_map = resolved["mask"].get("map") or {}
    if "threshold_rule" in mask_map:  # the number it chose stays: the same mask
        assert isinstance(mask_map["threshold"], float) and mask_map.pop("threshold_rule")["rule"] == "200 kDa"
    again = {**resolved, "name": "again", "output": {**resolved["output"], "dir": str(tmp_path / "again")}}
    (tmp_path / "again.yaml").write_text(yaml.safe_dump(again))
    job = load_job(tmp_path / "again.yaml")
    assert job.spec.fill == load_job(tmp_path / "job.yaml").spec.fill
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MaskrunWarning)
        second = run_job(job)
    np.testing.assert_array_equal(
        mrcfile.read(second.output_dir / "mask.mrc"), mrcfile.read(first.output_dir / "mask.mrc")
    )


def test_a_record_s_resolved_key_in_a_job_file_is_refused_not_ignored(tmp_path, capsys):
    """``coarsening`` reads like a setting of the sampling; a job that holds it is told, not run as if it did."""
    from job_files import validate_refuses

    example_folder(tmp_path, particles=8, maps=1)
    line = validate_refuses(write_job(tmp_path, {**PARTICLE_JOB, "pixel_size_angstrom": 1.5}), capsys)
    assert line.endswith(
        "pixel_size_angstrom: unknown field 'pixel_size_angstrom'; it belongs in inputs: indent it under inputs:"
    )
    line = validate_refuses(write_job(tmp_path, {**PARTICLE_JOB, "box_px": [64, 64]}), capsys)
    assert "box_px: unknown field 'box_px'" in line
