"""A YAML boolean where a number goes is refused, not read as 1 (Pydantic's lax mode did).

``soft_edge: yes``, meant as "a soft edge, please", gave a 1 px edge; ``version: true`` passed
as version 1. Every numeric setting now refuses ``true``, ``yes`` and ``no`` with one line
naming the file, the field and the fix for its kind of field, exit 2, nothing written.
"""

from __future__ import annotations

import typing

import pytest
from pydantic import BaseModel, ValidationError

from maskrun.cli.main import main
from maskrun.config.job_file import JobFile, load_job
from maskrun.config.messages import _members  # the messages' own walk of a field's types
from maskrun.config.numeric import NotANumber
from maskrun.config.shape_params import SHAPES
from maskrun.errors import FieldError

HEAD = "version: 1\nname: t\n"
PARTICLES = HEAD + "inputs: {particles: particles.star}\n"
MAPS = HEAD + "inputs: {volumes: map.mrc}\n"
SPHERE = "mask: {geometry: {shape: sphere, radius: 10}}\n"
CIRCLE = "mask: {geometry: {shape: circular, radius: 10}}\n"
MAP = "mask: {source: map, map: {file: m.mrc, threshold: 0.1, %s}}\n"
MODEL = "mask: {source: expression, expression: {all_of: [{model: {file: a.pdb, %s}}]}}\n"
LENGTH = "give a length in px, '12 px' or '42 A'"
FRACTION = "give a fraction between 0 and 1, 0.1 say"

# (id, job text with {b} for the boolean, the field, the fix): one per kind of field where the fix differs
KINDS = [
    ("version", "version: {b}\nname: t\ninputs: {particles: p.star}\n" + CIRCLE, "version", "write version: 1"),
    ("length", PARTICLES + "mask: {geometry: {shape: circular, radius: {b}}}\n", "mask.geometry.radius", LENGTH),
    (
        "width",
        PARTICLES + "mask: {geometry: {shape: circular, radius: 9, soft_edge: {b}}}\n",
        "mask.geometry.soft_edge",
        "give a width in px, '12 px' or '42 A'",
    ),
    (
        "center",
        PARTICLES + "mask: {geometry: {shape: circular, center: [{b}, 0]}}\n",
        "mask.geometry.center",
        "give x y (images) or x y z (maps)",
    ),
    ("box-size", MAPS + "mask: {geometry: {shape: box, box_size: [8, {b}, 8]}}\n", "mask.geometry.box_size", LENGTH),
    ("pixels", MAPS + MAP % "extend_px: {b}", "mask.map.extend_px", "give a number of pixels, 0 for none"),
    (
        "threshold-rule",
        MAPS + "mask: {source: map, map: {file: m.mrc, threshold: {b}}}\n",
        "mask.map.threshold",
        "give a number, '3 sigma', '250 kDa', '1.2e6 A3' or 'auto'",
    ),
    (
        "z-fraction",
        MAPS + MAP % "helix: true, soft_edge_px: 3, z_percentage: {b}",
        "mask.map.z_percentage",
        "give a fraction from 0.1 to 0.9 (0.3 = 30 %), or leave it out",
    ),
    ("voxels", MAPS + MAP % "min_component_voxels: {b}", "mask.map.min_component_voxels", "give a whole number"),
    ("angstrom", MAPS + MAP % "lowpass_angstrom: {b}", "mask.map.lowpass_angstrom", "give a number of Å, 15 say"),
    (
        "projection-fraction",
        PARTICLES + "mask: {source: projection, projection: {file: m.mrc, threshold: {b}}}\n",
        "mask.projection.threshold",
        FRACTION,
    ),
    (
        "term-threshold-rule",
        MAPS + "mask: {source: expression, expression: {all_of: [{map: {file: m.mrc, threshold: {b}}}]}}\n",
        "mask.expression.all_of.0.map.threshold",
        "give a number, '3 sigma', '250 kDa', '1.2e6 A3' or 'auto'",
    ),
    ("model-radius", MAPS + MODEL % "radius: {b}", "mask.expression.all_of.0.model.radius", LENGTH + ", or 'vdw'"),
    (
        "model-fraction",
        MAPS + MODEL % "molmap_resolution_angstrom: 6, threshold: {b}",
        "mask.expression.all_of.0.model.threshold",
        FRACTION,
    ),
    ("fill-value", PARTICLES + CIRCLE + "fill: {with: value, value: {b}}\n", "fill.value", "give the fill value"),
    ("seed", PARTICLES + CIRCLE + "fill: {with: noise}\nseed: {b}\n", "seed", "give a whole number, 0 or more"),
    ("batch-size", PARTICLES + CIRCLE + "batch_size: {b}\n", "batch_size", "give a number of particles, 10000 say"),
    (
        "pixel-size",
        HEAD + "inputs: {particles: p.mrcs, pixel_size_angstrom: {b}}\n" + CIRCLE,
        "inputs.pixel_size_angstrom",
        "give the pixel size in Å/px",
    ),
    (
        "voltage",
        HEAD + "inputs: {particles: p.cs, optics: {voltage_kv: {b}}}\n" + CIRCLE,
        "inputs.optics.voltage_kv",
        "give the voltage in kV, 300 say",
    ),
]
ECHOES = {"true": "true", "yes": "yes (true)", "no": "no (false)"}


@pytest.mark.parametrize("written", list(ECHOES))
@pytest.mark.parametrize("command", ["validate", "run"])
@pytest.mark.parametrize(("text", "field", "fix"), [k[1:] for k in KINDS], ids=[k[0] for k in KINDS])
def test_a_boolean_for_a_number_is_refused_with_the_fix_of_its_kind(
    tmp_path, capsys, text, field, fix, command, written
):
    job = tmp_path / "job.yaml"
    job.write_text(text.replace("{b}", written))
    assert main([command, str(job)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert f"{job}: {field}: got {ECHOES[written]}, not a number; {fix}" in err[0]
    assert [p.name for p in tmp_path.iterdir()] == ["job.yaml"]  # nothing written


def test_soft_edge_yes_is_not_a_one_pixel_edge(tmp_path):
    """The user's look: ``soft_edge: yes`` gave a 1 px raised-cosine edge."""
    job = tmp_path / "job.yaml"
    job.write_text(PARTICLES + "mask: {geometry: {shape: circular, radius: 9, soft_edge: yes}}\n")
    with pytest.raises(ValueError, match=r"soft_edge: got yes \(true\), not a number; give a width in px"):
        load_job(job)


def test_numbers_and_lengths_with_units_are_still_taken(tmp_path):
    job = tmp_path / "job.yaml"
    job.write_text(
        HEAD + "inputs: {particles: p.star, optics: {voltage_kv: 300}}\n"
        "mask: {geometry: {shape: circular, radius: '42 A', soft_edge: 3, center: [1, '2 px']}}\n"
        "fill: {with: value, value: 1}\nbatch_size: 100\n"
    )
    spec = load_job(job).spec
    assert (spec.mask.geometry.soft_edge, spec.mask.geometry.center, spec.fill.value) == (3.0, (1.0, 2.0), 1.0)
    assert spec.inputs.optics is not None and spec.inputs.optics.voltage_kv == 300.0
    assert spec.batch_size == 100


def _numeric(tp: object) -> bool:
    """Whether a field of type ``tp`` takes a number (alone, as a choice, or in a tuple)."""
    for member in _members(tp):
        if member in (int, float):
            return True
        args = typing.get_args(member)
        if typing.get_origin(member) is typing.Literal and any(type(a) in (int, float) for a in args):
            return True
        if typing.get_origin(member) is tuple and any(_numeric(a) for a in args if a is not Ellipsis):
            return True
    return False


def _models(tp: object, found: dict[str, type[BaseModel]]) -> dict[str, type[BaseModel]]:
    """Every model reachable from ``tp``, the job's shapes too."""
    for member in _members(tp):
        if typing.get_origin(member) is tuple:
            for arg in typing.get_args(member):
                _models(arg, found)
        if isinstance(member, type) and issubclass(member, BaseModel) and member.__name__ not in found:
            found[member.__name__] = member
            for info in member.model_fields.values():
                _models(info.annotation, found)
    return found


NUMERIC_FIELDS = [
    (model, name)
    for model in {**_models(JobFile, {}), **{m.__name__: m for m in SHAPES.values()}}.values()
    for name, info in model.model_fields.items()
    if not info.exclude and _numeric(info.annotation)
]


def test_the_numeric_fields_are_found():
    names = {f"{model.__name__}.{name}" for model, name in NUMERIC_FIELDS}
    assert {"JobFile.version", "JobFile.seed", "JobFile.batch_size", "Inputs.pixel_size_angstrom"} <= names
    assert {"Circular.radius", "Box.box_size", "Crown.center", "Crown.soft_edge", "FillParams.value"} <= names
    assert {"Optics.cs_mm", "ModelTerm.extend", "MapTerm.min_component_voxels", "ProjectionParams.threshold"} <= names
    assert not {"MapMaskParams.invert", "CheckSpec.focused", "Output.overwrite", "JobFile.report"} & names


@pytest.mark.parametrize(("model", "name"), NUMERIC_FIELDS, ids=[f"{m.__name__}.{n}" for m, n in NUMERIC_FIELDS])
def test_every_numeric_field_of_the_job_models_refuses_a_boolean(model, name):
    """A field added later without the mark (`maskrun.config.numeric.number`) would take true as 1. (A field a
    term refuses whatever its value, an atomic model's soft edge, is refused so for true.)"""
    for value in (True, False):
        try:
            model.model_validate({name: value})
        except ValidationError as exc:
            errors = [e.get("ctx", {}).get("error") for e in exc.errors() if e["loc"] in ((name,), ())]
        else:
            errors = []
        refused = [e for e in errors if isinstance(e, NotANumber) or (isinstance(e, FieldError) and e.field == name)]
        assert refused, (name, value, errors)


def test_a_numpy_boolean_from_the_python_api_is_refused_as_a_python_one():
    """The review: make_mask(..., soft_edge=np.True_) made a 1 px edge, as soft_edge: yes did before."""
    import numpy as np

    from maskrun.api import make_mask
    from maskrun.errors import UserError

    with pytest.raises((UserError, ValueError), match="got true, not a number"):
        make_mask({"shape": "circular", "radius": 10, "soft_edge": np.True_}, (32, 32))
