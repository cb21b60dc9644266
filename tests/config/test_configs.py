"""The annotated example jobs in configs/ are valid and run (they read the shared folder).

The jobs name their data as ``../../shared/...`` (the shared folder beside a checkout), so
each test runs a copy whose shared paths point at the suite's shared folder
(``MASKRUN_SHARED``, else ``../shared``), and skips when that folder is absent.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
import starfile

from maskrun.cli.main import main
from maskrun.config.job_file import load_job
from maskrun.errors import MaskrunWarning
from maskrun.jobs.examples import starter_job
from maskrun.jobs.plan import plan_job
from maskrun.jobs.runner import run_job
from maskrun.report.build import build_report

from conftest import REPO, SHARED, shared_path

CONFIGS = sorted((REPO / "configs").glob("*.yaml"))
SHARED_AS_WRITTEN = "../../shared/"


def relocated(config: Path, folder: Path) -> Path:
    """A copy of ``config`` in ``folder/configs`` that reads the suite's shared folder."""
    shared_path()
    text = config.read_text()
    assert SHARED_AS_WRITTEN in text, f"{config.name} names no shared data"
    copy = folder / "configs" / config.name
    copy.parent.mkdir(parents=True, exist_ok=True)
    copy.write_text(text.replace(SHARED_AS_WRITTEN, f"{SHARED.resolve()}/"))
    return copy


def test_there_are_example_configs():
    assert len(CONFIGS) >= 4


@pytest.mark.parametrize("config", CONFIGS, ids=[c.name for c in CONFIGS])
def test_config_validates(capsys, tmp_path, config):
    copy = relocated(config, tmp_path)
    assert main(["validate", str(copy)]) == 0, capsys.readouterr().err
    assert f"{copy}: valid" in capsys.readouterr().out


WARNED = {  # what the configs that warn warn of: each one's comment says so
    "relion31_particles.yaml": "the mask is tight: ",  # 5 particles' mean: the background's rings
    "xmipp_created_mask.yaml": "the mask's kept region touches the box edge",  # Xmipp's test mask
}
PLANNED = {"xmipp_created_mask.yaml"}  # warned of as the job is planned (validate says it too), not by the report


@pytest.mark.parametrize("config", CONFIGS, ids=[c.name for c in CONFIGS])
def test_a_config_warns_only_of_what_its_comment_says(tmp_path, config):
    """A new user learns from these jobs: a soft edge, a mask inside the box, unless the comment says why not."""
    copy = relocated(config, tmp_path)
    with warnings.catch_warnings(record=True) as said:  # planning's, raised in-process
        warnings.simplefilter("always", MaskrunWarning)
        run_job(copy)
        report = build_report(plan_job(copy))
    record = json.loads((report.folder.parent / "provenance" / "run.json").read_text())
    expected = WARNED.get(config.name)
    assert [w[: len(expected)] for w in record["warnings"]] == ([expected] if expected else [])
    planned = {str(w.message) for w in said}
    assert planned == (set(record["warnings"]) if config.name in PLANNED else set())  # the report says it once
    comments = " ".join(line for line in config.read_text().splitlines() if line.startswith("#"))
    assert ("Expect one warning" in comments) == (expected is not None)


def test_a_config_runs_and_writes_where_it_says(tmp_path):
    copy = relocated(REPO / "configs" / "relion31_particles.yaml", tmp_path)
    summary = run_job(copy)
    out = tmp_path / "results" / "relion31-circular"
    assert summary.output_dir.resolve() == out.resolve()
    assert len(starfile.read(out / "particles.star")["particles"]) == 5


@pytest.mark.parametrize("kind", ["particles", "volumes"])
def test_starter_jobs_parse_and_are_annotated(tmp_path, kind):
    path = tmp_path / f"{kind}.yaml"
    path.write_text(starter_job(kind))
    job = load_job(path)
    assert job.spec.inputs.kind == kind
    assert sum(line.strip().startswith("#") or " # " in line for line in path.read_text().splitlines()) >= 10


def test_example_write_gives_a_valid_job(capsys, tmp_path):
    assert main(["example", "particles", "--write", str(tmp_path / "demo")]) == 0
    assert main(["validate", str(tmp_path / "demo" / "particles.yaml")]) == 0
    assert "60 particles (RELION STAR, 3 stacks)" in capsys.readouterr().out
    assert main(["example", "particles", "--write", str(tmp_path / "demo")]) == 2  # never clobbers a job


@pytest.mark.parametrize("fmt,kind", [("xmd", "Xmipp XMD"), ("cs", "cryoSPARC .cs"), ("sqlite", "Scipion set")])
def test_example_in_every_particle_format_validates_and_runs(capsys, tmp_path, fmt, kind):
    assert main(["example", "particles", "--format", fmt, "--write", str(tmp_path / "demo")]) == 0
    job = tmp_path / "demo" / "particles.yaml"
    assert f"particles: particles.{fmt}" in job.read_text()
    assert main(["validate", str(job)]) == 0
    assert f"60 particles ({kind}, 3 stacks" in capsys.readouterr().out
    summary = run_job(job)
    assert (summary.output_dir / f"particles.{fmt}").is_file() and summary.units_run == 3


@pytest.mark.parametrize("fmt", ["xmd", "cs", "sqlite"])
def test_printed_example_reads_the_format_asked_for(capsys, fmt):
    assert main(["example", "particles", "--format", fmt]) == 0
    out = capsys.readouterr().out
    assert f"particles: particles.{fmt} " in out and "particles.star" not in out.split("particles:")[1].split("\n")[0]


def test_example_maps_refuse_a_particle_format(capsys, tmp_path):
    assert main(["example", "volumes", "--format", "cs", "--write", str(tmp_path / "demo")]) == 2
    err = capsys.readouterr().err
    assert (
        err == "maskrun example: error: --format: lists particles; the example maps are MRC files: leave --format out\n"
    )
    assert not (tmp_path / "demo").exists()
