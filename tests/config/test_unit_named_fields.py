"""A field whose name carries its unit (``lowpass_angstrom``, ``extend_px``, ``voltage_kv``) takes the number alone.

A user's look: ``mask.map.lowpass_angstrom: 15 A`` (the right unit, written out) and ``15 px`` were
refused with Pydantic's "unable to parse string as a number", which names no fix. As the ``_px``
fields did already (docs/spec.md: a length with a unit there is refused, not converted), each is
now told the number to give: the number alone for the field's own unit, the conversion for another.
"""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from test_booleans_refused import MAP, MAPS, MODEL, NUMERIC_FIELDS

from maskrun.cli.main import main
from maskrun.config.numeric import unit_of

HEAD = "version: 1\nname: t\n"
CIRCLE = "mask: {geometry: {shape: circular, radius: 10}}\n"
EXPRESSION_MAP = "mask: {source: expression, expression: {all_of: [{map: {file: m.mrc, threshold: 0.1, %s}}]}}\n"

CASES = [
    (
        "lowpass-in-angstrom",
        MAPS + MAP % "lowpass_angstrom: 15 A",
        "mask.map.lowpass_angstrom: '15 A': lowpass_angstrom is in Å already; write the number alone: 15",
    ),
    ("lowpass-in-angstrom-sign", MAPS + MAP % "lowpass_angstrom: 15 Å", "write the number alone: 15"),
    (
        "lowpass-in-px",
        MAPS + MAP % "lowpass_angstrom: 15 px",
        "mask.map.lowpass_angstrom: '15 px' is in px, but lowpass_angstrom is in Å: give the number of Å, "
        "15 × the pixel size (Å/px)",
    ),
    ("lowpass-in-nm", MAPS + MAP % "lowpass_angstrom: 1.5 nm", "give the number of Å, 15"),
    (
        "lowpass-in-another-unit",
        MAPS + MAP % "lowpass_angstrom: 15 furlongs",
        "mask.map.lowpass_angstrom: got '15 furlongs', not a number; give a number of Å, 15 say, or leave it out",
    ),
    (
        "expression-term-lowpass",
        MAPS + EXPRESSION_MAP % "lowpass_angstrom: 20Å",
        "mask.expression.all_of.0.map.lowpass_angstrom: '20Å': lowpass_angstrom is in Å already; write the number "
        "alone: 20",
    ),
    (
        "molmap-resolution",
        MAPS + MODEL % "molmap_resolution_angstrom: 6 A",
        "mask.expression.all_of.0.model.molmap_resolution_angstrom: '6 A': molmap_resolution_angstrom is in Å "
        "already; write the number alone: 6",
    ),
    (
        "pixel-size-per-pixel",
        HEAD + "inputs: {particles: p.mrcs, pixel_size_angstrom: 1.06 Å/px}\n" + CIRCLE,
        "inputs.pixel_size_angstrom: '1.06 Å/px': pixel_size_angstrom is in Å already; write the number alone: 1.06",
    ),
    (  # a pixel size is no length: no conversion from px
        "pixel-size-in-px",
        HEAD + "inputs: {particles: p.mrcs, pixel_size_angstrom: 2 px}\n" + CIRCLE,
        "inputs.pixel_size_angstrom: got '2 px', not a number; give the pixel size in Å/px",
    ),
    (
        "voltage",
        HEAD + "inputs: {particles: p.cs, optics: {voltage_kv: 300 kV}}\n" + CIRCLE,
        "inputs.optics.voltage_kv: '300 kV': voltage_kv is in kV already; write the number alone: 300",
    ),
    (
        "cs",
        HEAD + "inputs: {particles: p.cs, optics: {cs_mm: 2.7mm}}\n" + CIRCLE,
        "inputs.optics.cs_mm: '2.7mm': cs_mm is in mm already; write the number alone: 2.7",
    ),
    (
        "soft-edge-px-in-angstrom",
        MAPS + MAP % "soft_edge_px: 6 A",
        "mask.map.soft_edge_px: '6 A' is in Å, but soft_edge_px counts pixels: give the number of pixels, 6 ÷ the "
        "pixel size (Å/px)",
    ),
    (
        "extend-px-in-pixels",
        MAPS + MAP % "extend_px: 3 pixels",
        "mask.map.extend_px: '3 pixels': extend_px counts pixels already; write the number alone: 3",
    ),
]


@pytest.mark.parametrize(("text", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_number_with_a_unit_where_the_name_says_the_unit_is_told_the_number(tmp_path, capsys, text, words):
    job = tmp_path / "job.yaml"
    job.write_text(text)
    assert main(["validate", str(job)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith(f"maskrun validate: error: {job}: ") and words in err[0], err[0]
    assert [p.name for p in tmp_path.iterdir()] == ["job.yaml"]  # nothing written


UNIT_FIELDS = [(model, name) for model, name in NUMERIC_FIELDS if unit_of(name) is not None]
WRITTEN = {"Å": "15 A", "px": "15 px", "kV": "15 kV", "mm": "15 mm"}


def test_the_fields_named_for_their_unit_are_found():
    names = {f"{model.__name__}.{name}" for model, name in UNIT_FIELDS}
    assert {"MapMaskParams.lowpass_angstrom", "MapTerm.lowpass_angstrom", "Inputs.pixel_size_angstrom"} <= names
    assert {"MapMaskParams.extend_px", "ProjectionParams.soft_edge_px", "Optics.voltage_kv", "Optics.cs_mm"} <= names


@pytest.mark.parametrize(("model", "name"), UNIT_FIELDS, ids=[f"{m.__name__}.{n}" for m, n in UNIT_FIELDS])
def test_every_field_named_for_its_unit_takes_its_unit_written_out_as_the_number_alone(model, name):
    """A field added later without the mark (`maskrun.config.numeric.number`) would say "unable to parse"."""
    unit = unit_of(name)
    assert unit is not None
    with pytest.raises(ValidationError) as caught:
        model.model_validate({name: WRITTEN[unit.symbol]})
    errors = [str(e.get("ctx", {}).get("error")) for e in caught.value.errors() if e["loc"] == (name,)]
    assert errors == [f"'{WRITTEN[unit.symbol]}': {name} {unit.holds} already; write the number alone: 15"]


@pytest.mark.parametrize("written", ["2e1", "1.5e1", "20.0", " 20 "])
def test_a_number_yaml_leaves_as_text_is_still_a_number(tmp_path, written):
    """The review: PyYAML reads 2e1 as the text '2e1', which Pydantic took as 20; the unit check refused it."""
    from maskrun.config.job_file import JobFile

    job = JobFile.model_validate(
        {
            "version": 1,
            "name": "n",
            "inputs": {"volumes": ["a.mrc"]},
            "mask": {"source": "map", "map": {"file": "a.mrc", "threshold": 0.5, "lowpass_angstrom": written}},
        }
    )
    assert job.mask.map is not None and job.mask.map.lowpass_angstrom == float(written)


def _refusal(model, name: str, value: object) -> list[str]:
    """The field's own errors (others of the model, required fields left out, aside), as the job file shows them."""
    try:
        model.model_validate({name: value})
    except ValidationError as caught:
        return [str(e.get("ctx", {}).get("error", e["msg"])) for e in caught.errors() if e["loc"] == (name,)]
    return []


SPELLINGS = {  # how users write a unit: each is the field's own (the number alone) where the field is in it
    "Å": ["15 A", "15 Å", "15Å", "15 \u212b", "15 A\u030a", "15 angstrom", "15 Angstroms", "15 ångström", "15 Å/px"],
    "px": ["15 px", "15px", "15 pix", "15 pixel", "15 Pixels"],
}
LENGTH_FIELDS = [(m, n) for m, n in UNIT_FIELDS if unit_of(n).symbol in SPELLINGS]  # type: ignore[union-attr]
LENGTH_IDS = [f"{m.__name__}.{n}" for m, n in LENGTH_FIELDS]


def test_the_length_fields_are_found():
    assert {"MapMaskParams.extend_px", "MapMaskParams.lowpass_angstrom", "ProjectionParams.soft_edge_px"} <= set(
        LENGTH_IDS
    )


@pytest.mark.parametrize(("model", "name"), LENGTH_FIELDS, ids=LENGTH_IDS)
def test_every_spelling_of_a_fields_own_unit_is_told_the_number_alone(model, name):
    unit = unit_of(name)
    assert unit is not None
    for written in SPELLINGS[unit.symbol]:
        assert _refusal(model, name, written) == [
            f"'{written}': {name} {unit.holds} already; write the number alone: 15"
        ]


@pytest.mark.parametrize(("model", "name"), LENGTH_FIELDS, ids=LENGTH_IDS)
def test_a_length_in_nm_is_told_the_number_in_the_fields_unit(model, name):
    """``extend_px: 1 nm`` got Pydantic's "unable to parse string as a number": a _px field is told the number of Å
    and how it makes pixels (the pixel size is the data's, not known where the job file is read)."""
    unit = unit_of(name)
    assert unit is not None
    for written in ("1.5 nm", "1.5nm", "1.5 nanometres", "1.5 Nanometers"):
        (said,) = _refusal(model, name, written)
        if unit.symbol == "Å":
            assert said == f"'{written}' is in nm, but {name} is in Å: give the number of Å, 15"
        else:
            assert said == (
                f"'{written}' is in nm, but {name} counts pixels: give the number of pixels, 15 ÷ the pixel size "
                "(Å/px), 1.5 nm being 15 Å"
            )


@pytest.mark.parametrize(("model", "name"), LENGTH_FIELDS, ids=LENGTH_IDS)
def test_a_length_in_the_other_unit_is_told_the_conversion(model, name):
    unit = unit_of(name)
    assert unit is not None
    other = "px" if unit.symbol == "Å" else "Å"
    for written in SPELLINGS[other]:
        (said,) = _refusal(model, name, written)
        if name == "pixel_size_angstrom":  # a pixel size is no length: no conversion from px
            assert said == f"got '{written}', not a number; give the pixel size in Å/px, 1.06 say, or leave it out"
        elif unit.symbol == "Å":
            assert said.endswith(f"is in px, but {name} is in Å: give the number of Å, 15 × the pixel size (Å/px)")
        else:
            assert said.endswith(
                f"is in Å, but {name} counts pixels: give the number of pixels, 15 ÷ the pixel size (Å/px)"
            )


@pytest.mark.parametrize(("model", "name"), UNIT_FIELDS, ids=[f"{m.__name__}.{n}" for m, n in UNIT_FIELDS])
def test_every_field_named_for_its_unit_takes_a_plain_number_and_one_yaml_leaves_as_text(model, name):
    """Text that is a number (PyYAML leaves ``2e1`` as text) is that number: refused only as the number would be (a
    field's range: cs_mm ≤ 20 mm, voltage_kv ≥ 30 kV), and each field takes one of them."""
    taken = []
    for number, texts in ((20, ("20", "2e1", "2.0E+1", " 20 ")), (300, ("300", "3e2", "3.00e+02"))):
        said = _refusal(model, name, number)
        assert all(_refusal(model, name, text) == said for text in texts), (number, said)
        taken += [number] if said == [] else []
    assert taken
