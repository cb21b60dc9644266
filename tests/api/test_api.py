"""The Python API: masks as arrays, arrays and files masked, the same numbers as ``maskrun mask``."""

from __future__ import annotations

import doctest
import subprocess
import sys

import mrcfile
import numpy as np
import pytest

import maskrun
from maskrun import api
from maskrun.cli.main import main
from maskrun.geometry.masks import build_mask

from conftest import write_mrc


def test_the_docstring_examples_run():
    results = doctest.testmod(api, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert results.attempted >= 4 and results.failed == 0


def test_every_public_name_is_visible_and_sorted():
    assert set(dir(maskrun)) >= set(maskrun.__all__)
    assert maskrun.__all__ == sorted(maskrun.__all__)
    for name in maskrun.__all__:
        assert getattr(maskrun, name) is not None
    assert {
        "make_mask",
        "mask_array",
        "mask_file",
        "load_job",
        "run_job",
        "UserError",
        "MaskrunWarning",
        "FillParams",
        "Circular",
        "RaisedCrown",
    } <= set(maskrun.__all__)


def test_default_circular_mask_is_the_literal_radius_4_disc():
    y, x = np.mgrid[:8, :8]
    disc = ((y - 4) ** 2 + (x - 4) ** 2 <= 16).astype(np.float32)
    mask = maskrun.make_mask({"shape": "circular"}, (8, 8))
    assert mask.dtype == np.float32 and not mask.flags.writeable
    np.testing.assert_array_equal(mask, disc)
    assert disc.sum() == 47


def test_raised_cosine_mask_has_its_literal_values():
    mask = maskrun.make_mask({"shape": "raised_cosine", "inner_radius": 2, "outer_radius": 4}, (9, 9))
    # along the row through the centre (index 4): r = 4, 3, 2, 1, 0, 1, 2, 3, 4
    half = 0.5 * (1 + np.cos(np.pi * 0.5))  # r = 3: halfway through the edge
    expected_row = np.array([0, half, 1, 1, 1, 1, 1, half, 0], dtype=np.float32)
    np.testing.assert_allclose(mask[4], expected_row, atol=1e-7)
    assert mask[0, 0] == 0.0 and mask[4, 4] == 1.0
    r = np.sqrt(3**2 + 1**2)  # a pixel off the axes
    assert mask[4 + 3, 4 + 1] == pytest.approx(0.5 * (1 + np.cos(np.pi * (r - 2) / 2)), abs=1e-7)


def test_shape_models_and_mappings_give_the_same_mask():
    model = maskrun.make_mask(maskrun.Crown(inner_radius=2, outer_radius=5), (12, 12, 12))
    mapping = maskrun.make_mask({"shape": "crown", "inner_radius": 2, "outer_radius": 5}, (12, 12, 12))
    np.testing.assert_array_equal(model, mapping)


@pytest.mark.parametrize(
    "params",
    [
        maskrun.Circular(center=(0, 0)),
        maskrun.Circular(),
        maskrun.Box(box_size=(4, -1), center=(0, 0)),
        maskrun.RaisedCosine(inner_radius=2, center=(0, 0)),
    ],
)
def test_unresolved_parameters_raise_value_error_naming_the_fix(params):
    with pytest.raises(ValueError, match=r"not resolved for a box; call params.resolve\(n_x=8, ndim=2\)"):
        build_mask(params, (8, 8))


@pytest.mark.parametrize(
    "shape,box,message",
    [
        ({"shape": "circle"}, (8, 8), "unknown shape 'circle'; did you mean 'circular'"),
        ({"shape": "circular", "radius": -3}, (8, 8), "shape.radius: must be > 0"),
        ({"shape": "circular", "sigma": 2}, (8, 8), "does not apply to shape 'circular'"),
        ({"shape": "sphere"}, (8, 8), "'sphere' is not a shape for particle images"),
        ({"shape": "circular"}, (8,), r"must be \(ny, nx\) or \(nz, ny, nx\)"),
        ("circular", (8, 8), "must be a shape model or a mapping"),
    ],
)
def test_bad_shapes_raise_user_errors(shape, box, message):
    with pytest.raises(maskrun.UserError, match=message):
        maskrun.make_mask(shape, box)


@pytest.mark.parametrize("fill", ["value", "avg", "min", "max"])
def test_mask_array_on_a_stack_equals_maskrun_mask_on_the_file(tmp_path, rng, fill):
    stack = rng.normal(2.0, 3.0, (7, 40, 40)).astype(np.float32)
    path = write_mrc(tmp_path / "in.mrcs", stack)
    args = ["--shape", "raised_cosine", "--inner-radius", "10", "--outer-radius", "16", "--fill", fill]
    assert main(["mask", str(path), str(tmp_path / "out.mrcs"), *args]) == 0
    with mrcfile.open(tmp_path / "out.mrcs") as mrc:
        from_file = mrc.data.copy()
    shape = {"shape": "raised_cosine", "inner_radius": 10, "outer_radius": 16}
    masked = maskrun.mask_array(stack, shape, fill=fill, kind="stack")
    np.testing.assert_array_equal(masked, from_file)
    np.testing.assert_array_equal(maskrun.mask_array(stack, maskrun.make_mask(shape, (40, 40)), fill=fill), from_file)
    single = maskrun.mask_array(stack[3], shape, fill=fill)
    np.testing.assert_array_equal(single, from_file[3])


def test_mask_array_on_a_volume_equals_maskrun_mask_and_leaves_the_input_alone(tmp_path, rng):
    volume = rng.normal(1.0, 2.0, (20, 22, 24)).astype(np.float32)
    before = volume.copy()
    path = write_mrc(tmp_path / "in.mrc", volume)
    assert (
        main(["mask", str(path), str(tmp_path / "out.mrc"), "--shape", "sphere", "--radius", "7", "--fill", "avg"]) == 0
    )
    with mrcfile.open(tmp_path / "out.mrc") as mrc:
        from_file = mrc.data.copy()
    np.testing.assert_array_equal(maskrun.mask_array(volume, {"shape": "sphere", "radius": 7}, fill="avg"), from_file)
    np.testing.assert_array_equal(volume, before)


def test_mask_array_asks_whether_3d_data_are_a_stack_or_a_volume(rng):
    data = rng.normal(size=(4, 8, 8)).astype(np.float32)
    with pytest.raises(maskrun.UserError, match="pass kind='stack' or kind='volume'"):
        maskrun.mask_array(data, {"shape": "box", "box_size": 4})
    as_stack = maskrun.mask_array(data, {"shape": "box", "box_size": 4}, kind="stack")
    assert as_stack[0, 0, 0] == 0 and as_stack[0, 4, 4] == data[0, 4, 4]
    with pytest.raises(maskrun.UserError, match=r"mask array is \(8, 8\) but the data need \(4, 8, 8\)"):
        maskrun.mask_array(data, np.ones((8, 8), np.float32), kind="volume")


def test_mask_file_is_keyword_only_and_accepts_shapes_and_created_masks(tmp_path, rng):
    stack = rng.normal(size=(3, 16, 16)).astype(np.float32)
    path = write_mrc(tmp_path / "in.mrcs", stack)
    with pytest.raises(TypeError):
        maskrun.mask_file(path, tmp_path / "a.mrcs", {"shape": "circular"})  # type: ignore[misc]
    result = maskrun.mask_file(path, tmp_path / "a.mrcs", mask={"shape": "circular", "radius": 5}, fill="max")
    assert result.kind == "stack" and result.resolved_geometry["radius"] == 5.0
    created = write_mrc(tmp_path / "m.mrc", maskrun.make_mask({"shape": "circular", "radius": 5}, (16, 16))[None])
    maskrun.mask_file(path, tmp_path / "b.mrcs", mask=created, fill="max")
    with mrcfile.open(tmp_path / "a.mrcs") as a, mrcfile.open(tmp_path / "b.mrcs") as b:
        np.testing.assert_array_equal(a.data, b.data)
    with pytest.raises(maskrun.UserError, match=r"shape\.outer_radius"):
        maskrun.mask_file(path, tmp_path / "c.mrcs", mask={"shape": "raised_cosine", "inner_radius": 9})
    assert not (tmp_path / "c.mrcs").exists()


def test_load_and_run_a_job_from_python(tmp_path):
    assert main(["example", "volumes", "--write", str(tmp_path / "demo")]) == 0
    job = maskrun.load_job(tmp_path / "demo" / "volumes.yaml")
    summary = maskrun.run_job(job)
    assert summary.items == 2 and summary.units_run == 2
    assert sorted(p.name for p in (summary.output_dir / "volumes").iterdir()) == ["class_1.mrc", "class_2.mrc"]


def test_a_mask_made_in_python_loads_no_file_job_report_or_workflow_code():
    code = (
        "import sys, maskrun; maskrun.make_mask({'shape': 'circular', 'radius': 4}, (16, 16)); "
        "print(' '.join(sorted(sys.modules)))"
    )
    loaded = set(
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    )
    assert "maskrun.api" in loaded
    heavy = {"matplotlib", "pandas", "scipy", "snakemake", "starfile", "mrcfile", "yaml"}
    assert {name.split(".")[0] for name in loaded} & heavy == set()
    assert {name for name in loaded if name.startswith(("maskrun.report", "maskrun.workflow", "maskrun.jobs"))} == set()


def test_a_refusal_from_the_engine_names_the_api_argument_that_fixes_it(tmp_path, small_stack):
    out = tmp_path / "out.mrcs"
    out.write_bytes(b"keep me")
    with pytest.raises(maskrun.UserError, match=r"exists already; pass overwrite=True to replace it") as caught:
        maskrun.mask_file(small_stack, out, mask={"shape": "circular"})
    assert "--overwrite" not in str(caught.value) and out.read_bytes() == b"keep me"
    with pytest.raises(maskrun.UserError, match=r"never overwrites an input, even with overwrite=True"):
        maskrun.mask_file(small_stack, small_stack, mask={"shape": "circular"}, overwrite=True)


@pytest.mark.filterwarnings("ignore::maskrun.errors.MaskrunWarning")  # a sphere in a 5-slice box is cut by it
def test_a_note_names_the_setting_as_each_front_end_takes_it(tmp_path, capsys):
    flat = write_mrc(tmp_path / "flat.mrc", np.ones((5, 16, 16), np.float32))
    notes = maskrun.mask_file(flat, tmp_path / "a.mrc", mask={"shape": "sphere"}).notes
    assert any("pass input_kind='stack' if it is a stack" in note for note in notes)
    assert main(["mask", str(flat), str(tmp_path / "b.mrc"), "--shape", "sphere"]) == 0
    assert "pass --input-kind stack if it is a stack" in capsys.readouterr().err


@pytest.mark.parametrize("fill", ["avg", "min", "background", "value"])
def test_a_stack_of_masks_masks_each_image_by_its_own_and_fills_it_from_itself(rng, fill):
    stack = rng.normal(3.0, 1.0, (6, 24, 24)).astype(np.float32)
    soft = rng.uniform(size=stack.shape).astype(np.float32)
    binary = (soft > 0.5).astype(np.float32)
    for masks in (soft, binary):
        masked = maskrun.mask_array(stack, masks, fill=fill, fill_value=2.0 if fill == "value" else None, kind="stack")
        one_by_one = [
            maskrun.mask_array(image, mask, fill=fill, fill_value=2.0 if fill == "value" else None)
            for image, mask in zip(stack, masks, strict=True)
        ]
        np.testing.assert_array_equal(masked, np.stack(one_by_one))
    if fill != "value":  # a volume is filled from the whole stack
        assert not np.array_equal(masked, maskrun.mask_array(stack, binary, fill=fill, kind="volume"))


def test_a_stack_of_one_mask_repeated_gives_the_shared_mask_s_numbers_noise_too(rng):
    stack = rng.normal(size=(5, 20, 20)).astype(np.float32)
    disc = maskrun.make_mask({"shape": "circular", "radius": 6, "soft_edge": 3}, (20, 20))
    each = maskrun.mask_array(stack, np.repeat(disc[None], 5, axis=0), fill="noise", seed=3, kind="stack")
    np.testing.assert_array_equal(each, maskrun.mask_array(stack, disc, fill="noise", seed=3, kind="stack"))
    xmipp = maskrun.mask_array(stack, np.repeat(disc[None], 5, axis=0), fill="avg", compat="xmipp", kind="stack")
    np.testing.assert_array_equal(xmipp, stack * disc)  # Xmipp multiplies by a soft mask, ignoring the fill


def test_3d_data_and_weights_of_their_shape_ask_unless_a_cube(rng):
    stack = rng.normal(size=(4, 16, 16)).astype(np.float32)
    with pytest.raises(maskrun.UserError, match="may be a volume and its mask, or 4 images and one mask each"):
        maskrun.mask_array(stack, np.ones(stack.shape, np.float32), fill="avg")
    cube = rng.normal(size=(16, 16, 16)).astype(np.float32)
    ball = maskrun.make_mask({"shape": "sphere", "radius": 5}, cube.shape)
    np.testing.assert_array_equal(
        maskrun.mask_array(cube, ball, fill="avg"), maskrun.mask_array(cube, ball, fill="avg", kind="volume")
    )
    with pytest.raises(maskrun.UserError, match=r"need \(16, 16\) \(one mask for every image\) or \(4, 16, 16\)"):
        maskrun.mask_array(stack, np.ones((3, 16, 16), np.float32), kind="stack")


def test_run_job_logs_its_report_as_maskrun_run_does_and_draws_a_missing_one_with_its_log(tmp_path):
    """The folders look: `maskrun.run_job` drew a finished run's missing report without ``logs/report.log``, which
    `maskrun run` writes, as the report step does (every step has its log); its own report had none either."""
    from maskrun.jobs.runner import run_job as run_without_report

    from job_files import example_folder, job_with, write_job

    example_folder(tmp_path, particles=20, maps=0)
    job = write_job(tmp_path, job_with(batch_size=10))  # with a report (the default)
    out = run_without_report(job).output_dir  # finished, its report not drawn: as a run stopped in its report step
    assert not (out / "report").exists() and not (out / "logs" / "report.log").exists()
    page = out / "report" / "report.html"
    part = out / "report" / ".report.html.part-999999"  # what a kill while writing the page left (no such process)
    part.parent.mkdir()
    part.write_text("<html>half a page")
    assert maskrun.run_job(job).units_run == 0
    lines = (out / "logs" / "report.log").read_text().splitlines()
    assert lines[0].endswith(" start report") and lines[-1].endswith(" done report")
    assert lines[1:-1] == [f"wrote {page} (0 warnings)"]
    assert page.is_file() and not part.exists()
    (out / "logs" / "report.log").unlink()
    (out / "provenance" / "run.json").unlink()  # a run again from its units: the run's own report step
    assert maskrun.run_job(job).units_skipped == 2
    assert (out / "logs" / "report.log").read_text().splitlines()[-1].endswith(" done report")
