"""A finished run stays the job's through edits that do not change its outputs (a comment, layout, key order,
``output.overwrite``), and is refused or redone as before when an edit does (walkthrough 2, item 1)."""

from __future__ import annotations

import json

import pytest
import yaml

from maskrun.cli.main import main
from maskrun.config.job_file import load_job
from maskrun.errors import UserError
from maskrun.jobs.output_state import finished_run
from maskrun.jobs.runner import run_job
from maskrun.jobs.same_job import first_change, is_run_of

from job_files import example_folder, finished_particle_job, job_with, write_job


@pytest.fixture
def finished(tmp_path):
    """A finished particle job (no report): its folder, job file and output folder."""
    return finished_particle_job(tmp_path)


def stamps(out):
    """Each file of the output folder's modification time: a rerun that does nothing leaves them all."""
    return {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file() and ".maskrun.lock" not in p.name}


def test_a_comment_key_order_and_a_default_written_out_leave_the_run_this_jobs(finished, capsys):
    _, job, out = finished
    data = yaml.safe_load(job.read_text())
    data["compat"] = "maskrun"  # a default written out
    reordered = {key: data[key] for key in reversed(list(data))}
    job.write_text("# a comment\n" + yaml.safe_dump(reordered, default_flow_style=True, sort_keys=False))
    before = stamps(out)
    summary = run_job(job)
    assert (summary.units_run, summary.units_skipped) == (0, 2)
    assert stamps(out) == before
    assert finished_run(load_job(job))["end"]
    assert main(["report", str(job)]) == 0
    assert (out / "report" / "report.html").exists()
    assert main(["validate", str(job)]) == 0
    assert "maskrun run has nothing to do" in capsys.readouterr().out


def test_removing_overwrite_after_an_overwrite_run_leaves_nothing_to_do(finished):
    folder, job, out = finished
    write_job(folder, job_with(report=False, mask__geometry__outer_radius=26, output={"overwrite": True}))
    assert run_job(job).units_run == 2  # a real change, allowed by overwrite: redone
    write_job(folder, job_with(report=False, mask__geometry__outer_radius=26))
    before = stamps(out)
    assert run_job(job).units_run == 0
    assert stamps(out) == before


def test_a_real_change_is_still_refused_and_named(finished, capsys):
    folder, job, _ = finished
    write_job(folder, job_with(report=False, mask__geometry__outer_radius=26))
    with pytest.raises(UserError, match=r"before it was edited \(mask\.geometry\.outer_radius changed\)"):
        run_job(job)
    capsys.readouterr()
    assert main(["report", str(job)]) == 2
    assert "(mask.geometry.outer_radius changed)" in capsys.readouterr().err
    write_job(folder, job_with(report=False, fill__value=2.0))
    with pytest.raises(UserError, match=r"\(fill\.value changed\)"):
        run_job(job)


def test_an_old_record_without_the_recipe_is_judged_by_its_text(finished):
    """Records written before the recipe existed: the job as written is read again; without it, its sha256."""
    _, job, out = finished
    path = out / "provenance" / "run.json"
    record = json.loads(path.read_text())
    del record["job_recipe_sha256"]
    path.write_text(json.dumps(record))
    job.write_text(job.read_text() + "# a comment\n")
    assert is_run_of(record, load_job(job))
    assert run_job(job).units_run == 0
    del record["job_as_written"]  # older still: the text's sha256 alone (the comment now counts)
    assert not is_run_of(record, load_job(job))
    assert first_change(record, load_job(job)) is None


def test_a_record_whose_text_no_longer_reads_falls_back_to_its_recipe_hash(finished):
    _, job, out = finished
    record = json.loads((out / "provenance" / "run.json").read_text())
    record["job_as_written"] = "version: 1\nname: x\nmask: {unknown_key: 1}\n"  # another version's text
    assert is_run_of(record, load_job(job))
    record["job_recipe_sha256"] = "0" * 64
    assert not is_run_of(record, load_job(job))


def test_the_recipe_ignores_name_report_and_overwrite_but_not_the_output_folder(tmp_path):
    folder = example_folder(tmp_path, particles=6, maps=0)
    base = load_job(write_job(folder, job_with(output={"dir": "out"})))
    same = load_job(write_job(folder, job_with(name="other", report=False, output={"dir": "out", "overwrite": True})))
    moved = load_job(write_job(folder, job_with(output={"dir": "elsewhere"})))
    assert base.recipe_sha256 == same.recipe_sha256 != moved.recipe_sha256


def test_a_length_in_angstrom_edited_is_a_real_change(tmp_path):
    """The cryoSPARC look's serious finding: a dump leaves lengths in Å out, so 'radius: 150 A' edited to '140 A'
    (or a soft edge in Å) was the same job: a rerun said "nothing to do" and kept the old outputs."""
    folder = example_folder(tmp_path, particles=30, maps=0)
    geometry = {"shape": "raised_cosine", "inner_radius": "20 A", "outer_radius": "28 A"}
    job = write_job(folder, job_with(report=False, mask__geometry=geometry))
    run_job(job)
    write_job(folder, job_with(report=False, mask__geometry=geometry | {"outer_radius": "26 A"}))
    with pytest.raises(UserError, match=r"before it was edited \(mask\.geometry\.outer_radius changed\)"):
        run_job(job)
    write_job(folder, job_with(report=False, mask__geometry=geometry | {"outer_radius": "28.0 Å"}))  # the same
    assert run_job(job).units_run == 0
    terms = [{"geometry": {"shape": "sphere", "radius": "20 A"}}, {"geometry": {"shape": "sphere", "radius": "9 A"}}]
    recipes = [
        load_job(write_job(folder, job_with(mask={"source": "expression", "expression": {"any_of": t}}))).recipe()
        for t in (terms, [terms[0], terms[0]])
    ]
    assert recipes[0]["mask"] != recipes[1]["mask"]  # a term's length in Å, at any depth
