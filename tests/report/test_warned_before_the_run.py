"""The report's warnings that need nothing the run writes are said before the work: by ``validate``, and by ``run``
before any unit starts, on the report's own sample, in the report's words, once.

The newcomer's look: "the mask is tight: 63% of the mean image's signal lies where the mask is below 0.5 …" came
only at the end of the run (its report and stderr), after a million particles were masked with that mask.
"""

from __future__ import annotations

import json

import mrcfile
import numpy as np
import pytest

from maskrun.cli.main import main

from conftest import write_mrc
from job_files import example_folder, job_with, write_job

TIGHT = "the mask is tight: "
DISC = {"shape": "circular", "radius": 6}  # the example particles' signal reaches ~30 px: tight
LOOSE = {"shape": "raised_cosine", "inner_radius": 24, "outer_radius": 30}


def warned(err: str, words: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("maskrun: warning:") and words in line]


def files_of(folder):
    return {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_validate_says_a_tight_mask_on_the_reports_sample_and_a_fine_one_nothing(tmp_path, capsys):
    example_folder(tmp_path, particles=30, maps=0)
    tight = write_job(tmp_path, job_with(name="tight", mask__geometry=DISC, batch_size=10), "tight.yaml")
    loose = write_job(tmp_path, job_with(name="loose", mask__geometry=LOOSE, batch_size=10), "loose.yaml")
    before = files_of(tmp_path)
    assert main(["validate", str(tight)]) == 0
    said = warned(capsys.readouterr().err, TIGHT)
    assert len(said) == 1 and said[0].startswith(f"maskrun: warning: {TIGHT}")
    assert "of the mean image's signal lies where the mask is below 0.5; a radius of about " in said[0]
    assert main(["validate", str(loose)]) == 0
    assert warned(capsys.readouterr().err, TIGHT) == []
    assert files_of(tmp_path) == before and not (tmp_path / "results").exists()  # nothing written


def test_run_says_it_once_before_the_units_and_the_record_and_report_hold_it_once(tmp_path, capfd):
    """--verbose puts Snakemake's own lines on the terminal: the warning comes before the first unit's, and not
    again at the end; the report finds the same sentence on the same rows, so it is listed once."""
    example_folder(tmp_path, particles=30, maps=0)
    job = write_job(tmp_path, job_with(name="tight", mask__geometry=DISC, batch_size=10), "tight.yaml")
    assert main(["validate", str(job)]) == 0
    said = warned(capfd.readouterr().err, TIGHT)
    assert main(["run", str(job), "--cores", "2", "--verbose"]) == 0
    err = capfd.readouterr().err.splitlines()
    assert warned("\n".join(err), TIGHT) == said  # once, in validate's words
    first_unit = next(i for i, line in enumerate(err) if line.strip() in ("rule mask_batch:", "localrule mask_batch:"))
    assert err.index(said[0]) < first_unit
    out = tmp_path / "results" / "tight"
    recorded = json.loads((out / "provenance" / "run.json").read_text())["warnings"]
    assert [w for w in recorded if w.startswith(TIGHT)] == [said[0].removeprefix("maskrun: warning: ")]
    page = (out / "report" / "report.html").read_text()
    assert page.count("the mask is tight") == 1


def test_no_image_is_read_where_the_report_takes_no_sample(tmp_path, capsys, monkeypatch):
    """``report: false``, and a projected or inverted mask, which the report judges on what the run writes or not at
    all: validate reads none of the particles' images; with a report, it reads the report's 24 rows."""
    from maskrun.report import before_run

    example_folder(tmp_path, particles=60, maps=0)
    read = []
    real = before_run.sampled_inputs
    monkeypatch.setattr(before_run, "sampled_inputs", lambda plan, rows: read.append(list(rows)) or real(plan, rows))
    inverted = {**DISC, "invert": True}
    for changes in ({"report": False}, {"mask__geometry": inverted}):
        job = write_job(tmp_path, job_with(**{"mask__geometry": DISC, **changes}))
        assert main(["validate", str(job)]) == 0
        assert warned(capsys.readouterr().err, TIGHT) == [] and read == []
    demo = tmp_path / "demo"
    assert main(["example", "projection", "--write", str(demo)]) == 0
    assert main(["validate", str(demo / "projection.yaml")]) == 0
    assert read == []
    capsys.readouterr()
    assert main(["validate", str(write_job(tmp_path, job_with(mask__geometry=DISC, report=True)))]) == 0
    assert len(warned(capsys.readouterr().err, TIGHT)) == 1
    rows = np.unique(np.linspace(0, 59, 24).round().astype(int))  # evenly spread, the first and last included
    assert read == [list(rows)]


@pytest.mark.parametrize("kind", ["particles", "maps"])
def test_a_mask_files_voxel_size_a_little_off_is_said_before_the_run(tmp_path, capsys, kind):
    """0.25 % off the data's: planning accepts it (within 1 %), the report warned of it after the run. A header's
    check, for maps too (their report has no sample: nothing else of it is judged before)."""
    example_folder(tmp_path, particles=12, maps=1)
    if kind == "particles":
        pixel, values = 2.0, (np.hypot(*np.mgrid[-32:32, -32:32]) <= 28)[None]
        inputs = {"particles": "particles.star"}
    else:
        pixel = float(mrcfile.open(tmp_path / "maps" / "class_1.mrc", header_only=True).voxel_size.x)
        values = np.linalg.norm(np.mgrid[-32:32, -32:32, -32:32], axis=0) <= 28
        inputs = {"volumes": "maps/*.mrc"}
    write_mrc(tmp_path / "m.mrc", values.astype(np.float32), voxel_size=pixel * 1.0025, stack=False)
    job = write_job(tmp_path, job_with(inputs=inputs, mask={"source": "file", "file": "m.mrc"}, batch_size=6))
    assert main(["validate", str(job)]) == 0
    said = warned(capsys.readouterr().err, "voxel size")
    assert len(said) == 1 and f"differs from the data's {pixel:g} Å by more than 0.1%" in said[0]


def test_the_api_warns_of_it_before_the_first_unit_once_at_the_callers_line(tmp_path, monkeypatch):
    """``maskrun.run_job`` said a tight mask only from its report, after every unit: a notebook masking a million
    particles heard of it at the end. It now warns before the first unit, as ``maskrun run`` does."""
    import warnings

    from maskrun import api
    from maskrun.errors import MaskrunWarning
    from maskrun.jobs import runner

    example_folder(tmp_path, particles=30, maps=0)
    job = write_job(tmp_path, job_with(name="tight", mask__geometry=DISC, batch_size=10), "tight.yaml")
    units_started_after: list[int] = []  # the warnings caught when each unit started
    real_run_unit = runner.run_unit

    def run_unit(*args, **kwargs):
        units_started_after.append(len(caught))
        return real_run_unit(*args, **kwargs)

    monkeypatch.setattr(runner, "run_unit", run_unit)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        api.run_job(job)
    tight = [i for i, w in enumerate(caught) if issubclass(w.category, MaskrunWarning) and TIGHT in str(w.message)]
    assert len(tight) == 1 and units_started_after[0] > tight[0]
    assert caught[tight[0]].filename == __file__
    out = tmp_path / "results" / "tight"
    recorded = json.loads((out / "provenance" / "run.json").read_text())["warnings"]
    assert len([w for w in recorded if w.startswith(TIGHT)]) == 1
    assert (out / "report" / "report.html").read_text().count("the mask is tight") == 1
