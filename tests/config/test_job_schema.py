"""``maskrun schema``: the job file's JSON Schema, which editors use to check a job as it is typed.

Every example job must meet it (or editors would flag correct jobs), and it must refuse what
the models refuse that a schema can say: unknown keys, unknown shapes, text that is no length.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from maskrun.cli.main import main
from maskrun.config.job_file import load_job
from maskrun.config.job_schema import job_schema
from maskrun.errors import UserError
from maskrun.jobs.examples import starter_job

jsonschema = pytest.importorskip("jsonschema")

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = sorted((ROOT / "configs").glob("*.yaml"))
GOOD = {
    "version": 1,
    "name": "good",
    "inputs": {"particles": "particles.star"},
    "mask": {"geometry": {"shape": "circular", "radius": "42 A", "center": ["2 px", 0]}},
}


@pytest.fixture(scope="module")
def validator():
    schema = job_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_the_command_prints_the_schema(capsys):
    assert main(["schema"]) == 0
    assert json.loads(capsys.readouterr().out) == job_schema()


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_every_annotated_job_meets_the_schema(validator, path):
    assert [error.message for error in validator.iter_errors(yaml.safe_load(path.read_text()))] == []


@pytest.mark.parametrize("kind", ["particles", "volumes", "expression", "projection"])
def test_every_starter_job_meets_the_schema(validator, kind):
    assert [error.message for error in validator.iter_errors(yaml.safe_load(starter_job(kind)))] == []


def test_lengths_with_units_meet_the_schema(validator):
    assert validator.is_valid(GOOD)
    assert not validator.is_valid(GOOD | {"mask": {"geometry": {"shape": "circular", "radius": "42 nm"}}})


@pytest.mark.parametrize(
    ("where", "key"),
    [((), "fil"), (("fill",), "vlaue"), (("mask", "geometry"), "radiu"), (("output",), "overwrit")],
)
def test_an_unknown_key_is_refused_by_the_schema_as_by_the_job_models(validator, tmp_path, where, key):
    job = json.loads(json.dumps(GOOD | {"fill": {"with": "value"}, "output": {}}))
    section = job
    for name in where:
        section = section[name]
    section[key] = 1
    assert not validator.is_valid(job)
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump(job))
    with pytest.raises(UserError, match=rf"\b{key}: (unknown field|does not apply)|unknown field '{key}'"):
        load_job(path)


def test_an_unknown_shape_and_a_missing_name_are_refused(validator):
    assert not validator.is_valid(GOOD | {"mask": {"geometry": {"shape": "circle"}}})
    assert not validator.is_valid({key: value for key, value in GOOD.items() if key != "name"})


def test_a_folder_given_as_null_is_refused_as_by_the_job_models(validator):
    """`output.dir: ~` is YAML's null: the models refuse it (it would mean the default folder), so does the schema."""
    assert validator.is_valid(GOOD | {"output": {"dir": "~/maskrun/good"}})
    assert not validator.is_valid(GOOD | {"output": {"dir": None}})
    assert not validator.is_valid(GOOD | {"inputs": {"particles": "particles.star", "project_dir": None}})


def test_the_schema_says_what_follow_and_z_percentage_mean():
    """An editor showed `follow` without a word (the helical user's look: hard to discover), and `z_percentage`
    without saying it is a fraction (30 was typed for 30 %)."""
    schema = job_schema()
    definitions = schema.get("$defs", {})
    follow = definitions["MaskSpec"]["properties"]["follow"]["description"]
    assert follow == (
        "particle jobs, a 2D shape: 'offsets' places it at each particle's recorded centre (its origin), 'pose' also "
        "turns it by the particle's psi (a box along each helical segment; use odd sizes)"
    )
    crop = definitions["MapMaskParams"]["properties"]["z_percentage"]["description"]
    assert crop == "a fraction, not a percentage: the share of the box kept along z, from 0.1 to 0.9 (0.3 = 30 %)"


def test_a_checks_focused_is_a_yes_or_no_in_the_schema_as_in_the_model(validator):
    volumes = GOOD | {"inputs": {"volumes": "map.mrc"}}
    for focused, valid in ((True, True), (False, True), ("maybe", False), (3, False)):
        job = volumes | {"check": {"half1": "h1.mrc", "half2": "h2.mrc", "focused": focused}}
        assert validator.is_valid(job) == valid, focused


def test_a_number_written_in_its_fields_unit_meets_the_schema_as_the_models_take_it(validator):
    """``lowpass_angstrom: 15 A`` is 15 now: an editor flagging it would flag a correct job; ``15 px`` is refused."""
    job = GOOD | {
        "inputs": {"particles": "p.star", "pixel_size_angstrom": "1.06 Å/px", "optics": {"voltage_kv": "300 kV"}},
        "mask": {"source": "map", "map": {"file": "m.mrc", "threshold": 0.1, "lowpass_angstrom": "15 A"}},
    }
    assert validator.is_valid(job)
    for key, value in (("lowpass_angstrom", "15Å"), ("lowpass_angstrom", "15 angstroms"), ("extend_px", "3 px")):
        assert validator.is_valid(job | {"mask": {"source": "map", "map": job["mask"]["map"] | {key: value}}})
    for key, value in (("lowpass_angstrom", "15 px"), ("extend_px", "3 A"), ("lowpass_angstrom", "15 Å/px")):
        assert not validator.is_valid(job | {"mask": {"source": "map", "map": job["mask"]["map"] | {key: value}}})
    assert validator.is_valid(GOOD | {"mask": {"geometry": {"shape": "circular", "radius": "42 angstrom"}}})
    assert validator.is_valid(GOOD | {"mask": {"geometry": {"shape": "circular", "radius": "12 pixels"}}})
