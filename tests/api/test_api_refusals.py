"""The Python API refuses what the command refuses, naming the argument (issue 22)."""

from __future__ import annotations

import mrcfile
import numpy as np
import pytest

import maskrun

from conftest import write_mrc

STACK = np.arange(3 * 16 * 16, dtype=np.float32).reshape(3, 16, 16)


def _weights(value: float, where=(0, 0)) -> np.ndarray:
    weights = np.full((16, 16), 0.5, np.float32)
    weights[where] = value
    return weights


@pytest.mark.parametrize(
    "weights,words",
    [
        (_weights(np.nan), "mask: mask holds 1 NaN or inf values"),
        (_weights(np.inf), "mask: mask holds 1 NaN or inf values"),
        (_weights(-np.inf), "mask: mask holds 1 NaN or inf values"),
        (_weights(1.5), "mask: mask values span [0.5, 1.5], outside [0, 1]"),
        (_weights(-0.25), "mask: mask values span [-0.25, 0.5], outside [0, 1]"),
        (np.full((16, 16), "x"), "mask: mask array holds <U1 values"),
    ],
)
def test_mask_array_refuses_weights_a_mask_file_may_not_hold(weights, words):
    kept = weights.copy()
    data = STACK.copy()
    with pytest.raises(maskrun.UserError) as caught:
        maskrun.mask_array(data, weights)
    assert words in str(caught.value)
    np.testing.assert_array_equal(weights, kept)
    np.testing.assert_array_equal(data, STACK)


def test_weights_within_rounding_of_the_range_are_clipped_not_refused():
    weights = _weights(1 + 1e-7)
    out = maskrun.mask_array(STACK, weights)
    assert out[0, 0, 0] == STACK[0, 0, 0] and weights[0, 0] == np.float32(1 + 1e-7)


@pytest.mark.parametrize(
    "data,shape,kind,words",
    [
        (
            STACK,
            {"shape": "sphere"},
            "stack",
            "shape.shape: 'sphere' is not a shape for particle images (2D); use 'circular'",
        ),
        (STACK[0], {"shape": "sphere"}, "auto", "use 'circular'"),
        (STACK, {"shape": "circular"}, "volume", "'circular' is not a shape for volumes (3D); use 'sphere'"),
    ],
)
def test_a_shape_of_the_wrong_dimensionality_names_the_right_one(data, shape, kind, words):
    with pytest.raises(maskrun.UserError, match=words.replace("(", r"\(").replace(")", r"\)")):
        maskrun.mask_array(data, shape, kind=kind)


@pytest.mark.parametrize(
    "box,words",
    [
        (
            64,
            "box: must be a tuple (ny, nx) or (nz, ny, nx) of whole pixels, not 64; "
            "for a square or a cube write (64, 64)",
        ),
        (None, "box: must be a tuple (ny, nx) or (nz, ny, nx) of whole pixels, not None"),
        ((64.0, 64), "box: must be (ny, nx) or (nz, ny, nx) in positive whole pixels"),
    ],
)
def test_make_mask_box_must_be_a_tuple(box, words):
    with pytest.raises(maskrun.UserError) as caught:
        maskrun.make_mask({"shape": "circular"}, box)
    assert words in str(caught.value)


@pytest.mark.parametrize(
    "call,words",
    [
        (lambda: maskrun.make_mask({}, (8, 8)), "choose one of circular, box, crown"),
        (
            lambda: maskrun.make_mask({"shape": "circular"}, (8, 8), compat="relion"),
            "compat: 'relion' is not one of maskrun, xmipp",
        ),
        (
            lambda: maskrun.mask_array(STACK, _weights(1.0), compat="relion"),
            "compat: 'relion' is not one of maskrun, xmipp",
        ),
        (lambda: maskrun.mask_array(STACK, {"shape": "circular"}, fill="avgg"), "is not one of value, min, max, avg"),
        (
            lambda: maskrun.make_mask({"shape": "circular"}, (8, 8), pixel_size=float("nan")),
            "pixel_size: must be a number",
        ),
    ],
)
def test_choices_are_named_and_never_empty(call, words):
    with pytest.raises(maskrun.UserError) as caught:
        call()
    assert words in str(caught.value)
    assert "one of ;" not in str(caught.value) and not str(caught.value).rstrip().endswith("one of")


@pytest.mark.parametrize(
    "settings,words",
    [
        ({"input_kind": "images"}, "input_kind: 'images' is not one of auto, stack, volume"),
        ({"input_kind": "Stack"}, "input_kind: 'Stack' is not one of auto, stack, volume; did you mean 'stack'?"),
        ({"input_kind": "2d"}, "input_kind: '2d' is not one of auto, stack, volume"),
        ({"compat": "Xmipp"}, "compat: 'Xmipp' is not one of maskrun, xmipp; did you mean 'xmipp'?"),
        ({"compat": "relion"}, "compat: 'relion' is not one of maskrun, xmipp"),
        ({"output_dtype": "float16"}, "output_dtype: 'float16' is not one of same, float32"),
        ({"fill": "Avg"}, "fill.with: 'Avg' is not one of value, min, max, avg"),
        ({"overwrite": "no"}, "overwrite: must be True or False, not 'no'"),
    ],
)
def test_mask_file_refuses_a_setting_it_does_not_know_and_writes_nothing(tmp_path, settings, words):
    source = write_mrc(tmp_path / "in.mrcs", STACK)
    out = tmp_path / "out.mrcs"
    with pytest.raises(maskrun.UserError) as caught:
        maskrun.mask_file(source, out, mask={"shape": "gaussian", "sigma": 4}, **settings)
    assert words in str(caught.value)
    assert not out.exists()


def test_mask_array_kind_names_the_closest_choice():
    with pytest.raises(maskrun.UserError, match="kind: 'Stack' is not one of auto, stack, volume; did you mean"):
        maskrun.mask_array(STACK, {"shape": "circular"}, kind="Stack")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "call,words",
    [
        (
            lambda tmp: maskrun.mask_file(
                tmp / "in.mrcs", tmp / "o.mrcs", mask={"shape": "circular"}, pixel_size="1.5"
            ),
            "pixel_size: must be a number of Å per pixel, such as 1.5, not '1.5'",
        ),
        (
            lambda tmp: maskrun.mask_file(tmp / "in.mrcs", tmp / "o.mrcs", mask={"shape": "circular"}, pixel_size=True),
            "pixel_size: must be a number of Å per pixel, such as 1.5, not True",
        ),
        (
            lambda tmp: maskrun.mask_file(3, tmp / "o.mrcs", mask={"shape": "circular"}),
            "input: must be a path (str or pathlib.Path) to an MRC file, not int",
        ),
        (lambda tmp: maskrun.load_job(3), "path: must be a job file's path (str or pathlib.Path), not int"),
        (lambda tmp: maskrun.run_job(3), "job: must be a job file's path or a maskrun.Job, not int"),
        (
            lambda tmp: maskrun.mask_array(STACK.astype(np.complex64), {"shape": "circular"}, kind="stack"),
            "data: holds complex64 values; images hold real numbers: pass data.real",
        ),
        (
            lambda tmp: maskrun.mask_array(STACK[0].astype(object), {"shape": "circular"}),
            "data: holds object values; images hold real numbers: convert it to numbers first",
        ),
        (
            lambda tmp: maskrun.mask_array(np.full((4, 4), "a"), {"shape": "circular"}),
            "data: holds <U1 values",
        ),
    ],
)
def test_a_value_of_the_wrong_type_is_one_user_error_not_a_type_error(tmp_path, call, words):
    write_mrc(tmp_path / "in.mrcs", STACK)
    with pytest.raises(maskrun.UserError) as caught:
        call(tmp_path)
    assert words in str(caught.value)
    assert not (tmp_path / "o.mrcs").exists()


@pytest.mark.parametrize(
    "call,words",
    [
        (
            lambda tmp: maskrun.mask_file(
                tmp / "in.mrcs", tmp / "o.mrcs", mask={"source": "map", "map": {"file": "m.mrc", "threshold": 0.5}}
            ),
            "mask: is written like a job file's mask section ({'source': ...}), which mask_file takes as "
            "maskrun.MaskSpec.model_validate(mask)",
        ),
        (
            lambda tmp: maskrun.mask_file(tmp / "in.mrcs", tmp / "o.mrcs", mask=np.ones((16, 16), np.float32)),
            "mask: takes a shape (a model, or a mapping such as {'shape': 'circular'}), a maskrun.MaskSpec, or the "
            "path of a mask MRC file, not ndarray; for a weight array, mask the data with maskrun.mask_array",
        ),
        (
            lambda tmp: maskrun.mask_array(STACK, {"source": "geometry", "geometry": {"shape": "circular"}}),
            "mask: takes a shape (a model, or a mapping such as {'shape': 'circular'}) or a weight array, not a job "
            "file's mask section",
        ),
        (lambda tmp: maskrun.mask_array(STACK, "disc.mrc"), "or a weight array, not str; maskrun.mask_file takes"),
    ],
)
def test_a_mask_of_another_kind_is_told_what_each_function_takes(tmp_path, call, words):
    write_mrc(tmp_path / "in.mrcs", STACK)
    with pytest.raises(maskrun.UserError) as caught:
        call(tmp_path)
    assert words in str(caught.value)


def test_mask_file_takes_a_noise_seed_as_mask_array_and_the_command_do(tmp_path):
    path = write_mrc(tmp_path / "in.mrcs", STACK)
    disc = {"shape": "circular", "radius": 5}
    maskrun.mask_file(path, tmp_path / "s5.mrcs", mask=disc, fill="noise", seed=5)
    with mrcfile.open(tmp_path / "s5.mrcs") as mrc:
        np.testing.assert_array_equal(mrc.data, maskrun.mask_array(STACK, disc, fill="noise", seed=5, kind="stack"))
        assert not np.array_equal(mrc.data, maskrun.mask_array(STACK, disc, fill="noise", kind="stack"))
