"""A field whose name carries its unit (``lowpass_angstrom``, ``extend_px``, ``voltage_kv``) takes its number, alone or
written in that unit, and refuses one in another unit with the number to give.

A user's look: ``mask.map.lowpass_angstrom: 15 A`` (the right unit, written out) and ``15 px`` were
refused with Pydantic's "unable to parse string as a number", which names no fix; then ``15 A`` was told
"write the number alone". A newcomer's look: ``make-mask --extend '3 A'`` worked and ``--lowpass '15 A'``
did not. Now a number written in its field's unit is that number (``15 A`` is 15, ``6 px`` is 6), and one in
another unit is refused with the number to give: computed where the pixel size is known (the job's
``inputs.pixel_size_angstrom``, or its data's; a command's map), else the conversion in words.
"""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from test_booleans_refused import MAP, MAPS, MODEL, NUMERIC_FIELDS

from maskrun.cli.main import main
from maskrun.config.expression_params import ModelTerm
from maskrun.config.numeric import unit_of

HEAD = "version: 1\nname: t\n"
CIRCLE = "mask: {geometry: {shape: circular, radius: 10}}\n"
EXPRESSION_MAP = "mask: {source: expression, expression: {all_of: [{map: {file: m.mrc, threshold: 0.1, %s}}]}}\n"

CASES = [  # refused: a unit converting to the field's (the pixel size unknown: these jobs' files do not exist)
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
        "molmap-resolution-in-px",
        MAPS + MODEL % "molmap_resolution_angstrom: 4 px",
        "mask.expression.all_of.0.model.molmap_resolution_angstrom: '4 px' is in px, but molmap_resolution_angstrom "
        "is in Å: give the number of Å, 4 × the pixel size (Å/px)",
    ),
    (  # a pixel size is no length: no conversion from px
        "pixel-size-in-px",
        HEAD + "inputs: {particles: p.mrcs, pixel_size_angstrom: 2 px}\n" + CIRCLE,
        "inputs.pixel_size_angstrom: got '2 px', not a number; give the pixel size in Å/px",
    ),
    (
        "soft-edge-px-in-angstrom",
        MAPS + MAP % "soft_edge_px: 6 A",
        "mask.map.soft_edge_px: '6 A' is in Å, but soft_edge_px counts pixels: give the number of pixels, 6 ÷ the "
        "pixel size (Å/px)",
    ),
    (  # the pixel size the job gives: the number to give
        "extend-px-in-angstrom-at-the-given-pixel-size",
        HEAD + "inputs: {particles: p.mrcs, pixel_size_angstrom: 1.31}\n" + MAP % "extend_px: 10 A",
        "mask.map.extend_px: '10 A' is in Å, but extend_px counts pixels: give 7.63, 10 Å at 1.31 Å/px (rounded to "
        "0.01 px)",
    ),
    (  # a whole number: nothing rounded, nothing said of rounding
        "lowpass-in-px-at-the-given-pixel-size",
        HEAD + "inputs: {particles: p.mrcs, pixel_size_angstrom: 1.5}\n" + MAP % "lowpass_angstrom: 10 px",
        "mask.map.lowpass_angstrom: '10 px' is in px, but lowpass_angstrom is in Å: give 15, 10 px at 1.5 Å/px",
    ),
    (
        "extend-px-in-nm-at-the-given-pixel-size",
        HEAD + "inputs: {particles: p.mrcs, pixel_size_angstrom: 2}\n" + MAP % "extend_px: 1 nm",
        "mask.map.extend_px: '1 nm' is in nm, but extend_px counts pixels: give 5, 1 nm (10 Å) at 2 Å/px",
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
def test_every_field_named_for_its_unit_takes_a_number_written_in_it_as_the_number(model, name):
    """A field added later without the mark (`maskrun.config.numeric.number`) would say "unable to parse"."""
    unit = unit_of(name)
    assert unit is not None
    for number in (15, 300):  # refused only as the number is (voltage_kv ≥ 30 kV), and taken as it is
        assert _refusal(model, name, f"{number} {unit.symbol}") == _refusal(model, name, number)
    assert any(_refusal(model, name, f"{n} {unit.symbol}") == [] for n in (15, 300))


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


BASES = {  # what each model needs besides the field, to be valid
    "Inputs": {"particles": "p.mrcs"},
    "ExpressionParams": {"all_of": [{"map": {"file": "m.mrc", "threshold": 0.1}}]},
    "MapMaskParams": {"file": "m.mrc", "threshold": 0.1},
    "MapTerm": {"file": "m.mrc", "threshold": 0.1},
    "ModelTerm": {"file": "a.pdb"},
    "ProjectionParams": {"file": "m.mrc"},
}


def _taken(model, name: str, value: object) -> object:
    """The field's value once the model, valid, is validated."""
    return getattr(model.model_validate(BASES[model.__name__] | {name: value}), name)


def _refusal(model, name: str, value: object) -> list[str]:
    """The field's own errors (others of the model, required fields left out, aside), as the job file shows them."""
    try:
        model.model_validate({name: value})
    except ValidationError as caught:
        return [str(e.get("ctx", {}).get("error", e["msg"])) for e in caught.errors() if e["loc"] == (name,)]
    return []


SPELLINGS = {  # how users write a unit: each is the field's own (the number) where the field is in it
    "Å": ["15 A", "15 Å", "15Å", "15 \u212b", "15 A\u030a", "15 angstrom", "15 Angstroms", "15 ångström", "15a"],
    "px": ["15 px", "15px", "15 pix", "15 pixel", "15 Pixels"],
}
LENGTH_FIELDS = [(m, n) for m, n in UNIT_FIELDS if unit_of(n).symbol in SPELLINGS]  # type: ignore[union-attr]
LENGTH_IDS = [f"{m.__name__}.{n}" for m, n in LENGTH_FIELDS]


def test_the_length_fields_are_found():
    assert {"MapMaskParams.extend_px", "MapMaskParams.lowpass_angstrom", "ProjectionParams.soft_edge_px"} <= set(
        LENGTH_IDS
    )


@pytest.mark.parametrize(("model", "name"), LENGTH_FIELDS, ids=LENGTH_IDS)
def test_every_spelling_of_a_fields_own_unit_is_the_number(model, name):
    unit = unit_of(name)
    assert unit is not None
    for written in SPELLINGS[unit.symbol] + (["15 Å/px", "15 A / pixel"] if name == "pixel_size_angstrom" else []):
        assert _refusal(model, name, written) == [], written
        assert _taken(model, name, written) == 15.0, written


def test_a_per_pixel_unit_is_a_pixel_sizes_only():
    """``15 Å/px`` is a pixel size's unit: a resolution written so is refused, not read as 15 Å."""
    (said,) = _refusal(ModelTerm, "molmap_resolution_angstrom", "15 Å/px")
    assert said == "got '15 Å/px', not a number; give a number of Å, 15 say, or leave it out"


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


def test_a_job_giving_a_number_in_its_fields_unit_is_the_job_giving_the_number(tmp_path):
    """``lowpass_angstrom: 15 A`` was refused ("write the number alone"): now it is the job with 15, the same
    recipe (and so the same outputs, and a finished run of one is the other's)."""
    from maskrun.config.job_file import load_job

    recipes = []
    for lowpass, extend, voltage in (("15", "3", "300"), ("15 A", "3 px", "300 kV"), ("15Å", "3px", "300kV")):
        job = tmp_path / f"job{len(recipes)}.yaml"
        job.write_text(
            HEAD
            + f"inputs: {{particles: p.cs, optics: {{voltage_kv: {voltage}}}}}\n"
            + MAP % f"lowpass_angstrom: {lowpass}, extend_px: {extend}"
        )
        loaded = load_job(job)
        assert loaded.spec.mask.map is not None
        assert (loaded.spec.mask.map.lowpass_angstrom, loaded.spec.mask.map.extend_px) == (15.0, 3.0)
        recipes.append(loaded.recipe_sha256)
    assert len(set(recipes)) == 1


def test_validate_says_the_number_at_the_data_pixel_size(tmp_path, capsys):
    """The job gives no pixel size; its particles (a cryoSPARC set: blob/psize_A, float32 1.31) do."""
    import shutil

    from conftest import shared_path

    for name in ("empiar_10076_7.cs", "empiar_10076_7.mrc"):
        shutil.copy(shared_path("data", "public", name), tmp_path / name)
    job = tmp_path / "job.yaml"
    job.write_text(HEAD + "inputs: {particles: empiar_10076_7.cs}\n" + MAP % "extend_px: 10 A, soft_edge_px: 6 px")
    assert main(["validate", str(job)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"maskrun validate: error: {job}: mask.map.extend_px: '10 A' is in Å, but extend_px counts pixels: give "
        "7.63, 10 Å at 1.31 Å/px (rounded to 0.01 px)"
    )


def test_make_mask_takes_the_low_pass_in_angstrom_written_out(tmp_path, capsys):
    """``make-mask --lowpass '15 A'`` failed in argparse (invalid float value) where ``--extend '3 A'`` worked."""
    import numpy as np

    from conftest import write_mrc

    rng = np.random.default_rng(3)
    volume = write_mrc(tmp_path / "map.mrc", rng.normal(size=(24, 24, 24)).astype(np.float32), voxel_size=1.31)
    made = {}
    for lowpass in ("10", "10 A", "10A", "10 Å", "10 angstrom"):
        out = tmp_path / f"m{len(made)}.mrc"
        assert main(["make-mask", str(out), "--from-map", str(volume), "--threshold", "0.1", "--lowpass", lowpass]) == 0
        made[lowpass] = mrcfile_data(out)
    assert all(np.array_equal(values, made["10"]) for values in made.values())
    capsys.readouterr()
    out = tmp_path / "px.mrc"
    assert main(["make-mask", str(out), "--from-map", str(volume), "--threshold", "0.1", "--lowpass", "6 px"]) == 2
    assert capsys.readouterr().err.strip() == (
        "maskrun make-mask: error: --lowpass: '6 px' is in px, but --lowpass is in Å: give 7.86, 6 px at 1.31 Å/px"
    )
    assert not out.exists()


def test_project_mask_takes_its_soft_edge_in_px_written_out_and_says_one_in_angstrom_in_px(tmp_path, capsys):
    import numpy as np

    from conftest import write_mrc

    mask3d = write_mrc(tmp_path / "m.mrc", np.ones((8, 8, 8), np.float32), voxel_size=2.0)
    out = tmp_path / "out.mrcs"
    assert main(["project-mask", str(mask3d), str(tmp_path / "none.star"), str(out), "--soft-edge", "5 A"]) == 2
    assert capsys.readouterr().err.strip() == (
        "maskrun project-mask: error: --soft-edge: '5 A' is in Å, but --soft-edge counts pixels: give 2.5, 5 Å at "
        "2 Å/px"
    )
    assert main(["project-mask", str(mask3d), str(tmp_path / "none.star"), str(out), "--soft-edge", "5 px"]) == 2
    assert "none.star" in capsys.readouterr().err  # past the soft edge, to the particles, which are not there


def mrcfile_data(path):
    import mrcfile

    with mrcfile.open(path) as mrc:
        return mrc.data.copy()
