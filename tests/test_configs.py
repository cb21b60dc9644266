"""The annotated example jobs in configs/ are valid and run (they read ../shared)."""

from __future__ import annotations


import pytest

from conftest import REPO, shared_path
from maskrun.cli import main
from maskrun.example_data import starter_job
from maskrun.jobfile import load_job

CONFIGS = sorted((REPO / "configs").glob("*.yaml"))


def test_there_are_example_configs():
    assert len(CONFIGS) >= 4


@pytest.mark.parametrize("config", CONFIGS, ids=[c.name for c in CONFIGS])
def test_config_validates(capsys, config):
    shared_path()
    assert main(["validate", str(config)]) == 0, capsys.readouterr().err
    assert f"{config}: valid" in capsys.readouterr().out


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
