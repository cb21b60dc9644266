"""An Xmipp user's xmipp_transform_mask words at maskrun mask (docs/spec.md, "xmipp_transform_mask's arguments in
maskrun"): each refusal says what they are here, and the table of arguments matches Xmipp's own reference cases."""

from __future__ import annotations

import json
import re

import mrcfile
import numpy as np
import pytest

from maskrun.cli.main import main

from conftest import REPO, shared_path, write_mrc
from job_files import example_folder, job_with, validate_refuses, write_job

TABLE_START = "<!-- xmipp arguments:"
TABLE_END = "<!-- end of xmipp arguments -->"


@pytest.fixture
def stack(tmp_path):
    return write_mrc(tmp_path / "in.mrcs", np.ones((2, 16, 16), dtype=np.float32))


def refused(argv, capsys) -> str:
    """``maskrun ARGV``: exit 2 (the parser's own mistakes exit through SystemExit) and one stderr line (returned)."""
    try:
        status = main(argv)
    except SystemExit as exc:
        status = exc.code
    assert status == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in lines[0]
    return lines[0]


def test_a_negative_radius_says_what_xmipps_sign_is_here(stack, tmp_path, capsys):
    out = tmp_path / "out.mrcs"
    line = refused(["mask", str(stack), str(out), "--shape", "circular", "--radius", "-20"], capsys)
    assert line == (
        "maskrun mask: error: --radius: must be > 0, or -1 for the default (half the box, N // 2); got -20; Xmipp's "
        "negative radius (keep the inside) is a positive one here: --radius 20; Xmipp's positive radius (keep the "
        "outside) is --radius 20 --invert"
    )
    line = refused(["make-mask", str(out), "--shape", "box", "--box-size", "-8", "-6", "--box", "16"], capsys)
    assert line.endswith(
        "Xmipp's negative size (keep the inside) is a positive one here: --box-size 8 6; Xmipp's "
        "positive size (keep the outside) is --box-size 8 6 --invert"
    )
    assert not out.exists()


def test_a_default_radius_and_other_refusals_are_not_told_xmipps_sign(stack, tmp_path, capsys):
    out = tmp_path / "out.mrcs"
    line = refused(
        ["mask", str(stack), str(out), "--shape", "crown", "--inner-radius", "9", "--outer-radius", "4"], capsys
    )
    assert "Xmipp" not in line
    assert main(["mask", str(stack), str(out), "--shape", "circular", "--radius", "-1"]) == 0


@pytest.mark.parametrize(
    ("shape", "hint"),
    [
        ("rectangular", "did you mean 'box'? (Xmipp's rectangular is box here)"),
        ("blob_circular", "Xmipp's blob_circular has no twin here: 'raised_cosine' is the nearest soft disc"),
        ("binary_file", "Xmipp's binary_file is a mask file here, not a shape: give it as --mask-file"),
    ],
)
def test_an_xmipp_mask_type_named_otherwise_gets_its_name_here(stack, tmp_path, capsys, shape, hint):
    line = refused(["mask", str(stack), str(tmp_path / "o.mrcs"), "--shape", shape], capsys)
    assert line.startswith(f"maskrun mask: error: --shape: unknown shape '{shape}'; {hint} (shapes: circular, ")


def test_xmipps_substitute_and_create_mask_are_told_in_maskruns_words(stack, tmp_path, capsys):
    base = ["mask", str(stack), str(tmp_path / "o.mrcs"), "--shape", "circular", "--radius", "5"]
    assert refused([*base, "--substitute", "avg"], capsys) == (
        "maskrun mask: error: unrecognized option: --substitute (did you mean --fill? Xmipp's --substitute "
        "min|max|avg is --fill min|max|avg, --substitute 5 is --fill value --fill-value 5); see maskrun mask --help"
    )
    assert "Xmipp's --create_mask FILE is a command here: maskrun make-mask FILE --like INPUT" in refused(
        [*base, "--create_mask", "m.mrc"], capsys
    )
    # make-mask has no --fill: no word of it there
    line = refused(
        ["make-mask", str(tmp_path / "m.mrc"), "--box", "8", "--shape", "circular", "--substitute", "avg"], capsys
    )
    assert line == "maskrun make-mask: error: unrecognized option: --substitute; see maskrun make-mask --help"


def test_xmipps_substitute_value_given_to_fill_is_told_as_fill_value(stack, tmp_path, capsys):
    line = refused(["mask", str(stack), str(tmp_path / "o.mrcs"), "--shape", "circular", "--fill", "5"], capsys)
    assert line == (
        "maskrun mask: error: --fill: '5' is not one of value, min, max, avg, noise, background; to give the value "
        "5: --fill value and --fill-value 5"
    )


def test_xmipps_mask_option_is_told_as_shape(stack, tmp_path, capsys):
    line = refused(["mask", str(stack), str(tmp_path / "o.mrcs"), "--mask", "circular", "-20"], capsys)
    assert line == (
        "maskrun mask: error: unrecognized arguments: -20; xmipp_transform_mask's --mask circular -20 is --shape "
        "circular --radius 20 here; see maskrun mask --help"
    )


def test_xmipps_i_and_o_are_told_positional(stack, tmp_path, capsys):
    out = tmp_path / "o.mrcs"
    line = refused(["mask", "-i", str(stack), "-o", str(out), "--shape", "circular", "--radius", "5"], capsys)
    assert line == (
        "maskrun mask: error: unrecognized arguments: -i -o; -i and -o are not options here: give the input and "
        "output as positional arguments: maskrun mask input output ...; see maskrun mask --help"
    )
    line = refused(["make-mask", "-o", str(out), "--shape", "circular", "--radius", "5", "--box", "16"], capsys)
    assert "unrecognized arguments: -o; -o is not an option here: give the output as a positional argument" in line
    assert not out.exists()


def test_xmipps_mask_binary_file_is_told_as_mask_file(stack, tmp_path, capsys):
    line = refused(["mask", str(stack), str(tmp_path / "o.mrcs"), "--mask", "binary_file", "mask.vol"], capsys)
    assert line == (
        "maskrun mask: error: unrecognized arguments: mask.vol; xmipp_transform_mask's --mask binary_file FILE is "
        "--mask-file FILE here: --mask-file mask.vol; see maskrun mask --help"
    )


@pytest.mark.parametrize(
    ("words", "hint"),
    [
        (["--mask", "circular"], "TYPE is --shape TYPE here: --shape circular with its lengths"),
        (["--mask", "circular", "--radius", "5"], "TYPE is --shape TYPE here: --shape circular with its lengths"),
        (
            ["--mask-file", "rectangular"],
            "TYPE is --shape TYPE here; did you mean 'box'? (Xmipp's rectangular is box here)",
        ),
        (["--mask", "binary_file"], "binary_file FILE is --mask-file FILE here"),
    ],
)
def test_an_xmipp_mask_type_as_the_mask_file_is_told_as_shape(stack, tmp_path, capsys, words, hint):
    line = refused(["mask", str(stack), str(tmp_path / "o.mrcs"), *words], capsys)
    assert line == (
        f"maskrun mask: error: --mask-file: '{words[1]}' is no file but an Xmipp mask type; "
        f"xmipp_transform_mask's --mask {hint}"
    )


def test_a_length_the_shape_does_not_take_is_not_told_xmipps_sign(stack, tmp_path, capsys):
    out = tmp_path / "o.mrc"
    volume = write_mrc(tmp_path / "in.map", np.ones((16, 16, 16), dtype=np.float32))
    line = refused(
        ["mask", str(volume), str(out), "--shape", "sphere", "--inner-radius", "-3", "--outer-radius", "5"], capsys
    )
    assert line == (
        "maskrun mask: error: --inner-radius, --outer-radius: do not apply to shape 'sphere', which takes --radius, "
        "--soft-edge, --center, --invert; did you mean '--radius'?"
    )
    line = refused(["mask", str(volume), str(out), "--shape", "sphere", "--inner-radius", "-3"], capsys)
    assert line.startswith("maskrun mask: error: --inner-radius: does not apply to shape 'sphere'")
    assert "Xmipp" not in line
    assert not out.exists()


def table_rows() -> list[tuple[list[str], list[str], str]]:
    """The rows of docs/spec.md's table of xmipp_transform_mask's arguments: Xmipp's words, maskrun's, on what."""
    text = (REPO / "docs" / "spec.md").read_text()
    table = text[text.index(TABLE_START) : text.index(TABLE_END)]
    rows = re.findall(r"^\| `([^`]+)` \| `([^`]+)` \| (images|maps) \|$", table, flags=re.MULTILINE)
    return [(xmipp.split(), maskrun.split(), on) for xmipp, maskrun, on in rows]


def maskrun_words(case: dict) -> list[str]:
    """A case's maskrun parameters as maskrun mask's options (``--shape`` first), in the order cases.json gives them."""
    spec, words = case["maskrun"], []
    mask = spec["mask"]
    if mask["source"] == "file":
        words += ["--mask-file", mask["file"]]
    for key, value in mask.get("geometry", {}).items():
        option = "--" + key.replace("_", "-")
        words += [option] if value is True else [option, *map(str, value if isinstance(value, list) else [value])]
    fill = spec.get("fill", {})
    words += ["--fill", fill["with"]] if "with" in fill else []
    words += ["--fill-value", str(fill["value"])] if "value" in fill else []
    return words + (["--compat", spec["compat"]] if "compat" in spec else [])


def same(table: list[str], case: list[str]) -> bool:
    """Whether a row's words are a case's: numbers as numbers (``10`` is ``10.0``), ``FILE`` any word."""

    def number(word: str) -> float | str:
        try:
            return float(word)
        except ValueError:
            return word

    return len(table) == len(case) and all(t == "FILE" or number(t) == number(c) for t, c in zip(table, case))


def test_every_row_of_the_xmipp_table_is_a_reference_case():
    cases = json.loads(shared_path("golden", "xmipp", "cases.json").read_text())["cases"]
    rows = table_rows()
    assert len(rows) >= 15
    for xmipp, maskrun, on in rows:
        matching = [c for c in cases if c["dim"] == (2 if on == "images" else 3) and same(xmipp, c["xmipp_args"])]
        assert matching, f"no case runs xmipp_transform_mask {' '.join(xmipp)} on {on}"
        # of the cases that run these words, one is the row's (another may say it with -1, maskrun's default)
        assert any(same(maskrun, maskrun_words(case)) for case in matching), [maskrun_words(c) for c in matching]


def test_the_xmipp_table_names_every_mask_type_and_fill_of_the_cases():
    cases = json.loads(shared_path("golden", "xmipp", "cases.json").read_text())["cases"]
    named = {word for xmipp, _, _ in table_rows() for word in xmipp}
    used = {c["xmipp_args"][1] for c in cases} | {
        c["xmipp_args"][i + 1] for c in cases for i, w in enumerate(c["xmipp_args"]) if w == "--substitute"
    }
    assert used - {"5"} <= named


def test_a_job_naming_an_xmipp_mask_type_gets_its_name_here_too(tmp_path, capsys):
    example_folder(tmp_path, particles=6, maps=0)
    line = validate_refuses(write_job(tmp_path, job_with(mask__geometry={"shape": "rectangular"})), capsys)
    assert line.endswith(
        "mask.geometry.shape: unknown shape 'rectangular'; did you mean 'box'? (Xmipp's rectangular "
        "is box here) (shapes: circular, sphere, box, crown, cylinder, gaussian, raised_cosine, "
        "raised_crown)"
    )
    line = validate_refuses(write_job(tmp_path, job_with(mask__geometry={"shape": "real_file"})), capsys)
    assert (
        "unknown shape 'real_file'; Xmipp's real_file is a mask file here, not a shape: give it as mask.file (" in line
    )


def xmipp_mask_rows() -> list[tuple[list[str], list[str], str]]:
    """The table's rows of a shape with lengths: Xmipp's words, what its ``--mask TYPE ARGS`` is here, on what."""
    rows = []
    for xmipp, maskrun, on in table_rows():
        if xmipp[1] in ("real_file", "binary_file"):
            continue
        said, skip = [], 0  # the options typed as themselves (--center) or Xmipp's own (--substitute) left out
        for word in maskrun:
            skip = 3 if word == "--center" else 2 if word in ("--fill", "--fill-value") else skip
            said += [] if skip else [word]
            skip = max(skip - 1, 0)
        rows.append((xmipp, said, on))
    return rows


@pytest.mark.parametrize(
    ("xmipp", "said", "on"), xmipp_mask_rows(), ids=lambda v: " ".join(v) if isinstance(v, list) else v
)
def test_xmipps_mask_type_and_lengths_are_told_as_the_tables_options(tmp_path, capsys, xmipp, said, on):
    """--mask raised_cosine -3 -6 was told only the generic "--mask circular -20 is --shape circular --radius 20"."""
    if on == "images":
        source = write_mrc(tmp_path / "in.mrcs", np.ones((2, 32, 32), dtype=np.float32))
    else:
        source = write_mrc(tmp_path / "in.mrc", np.ones((32, 32, 32), dtype=np.float32))
    out = tmp_path / "out.mrc"
    line = refused(["mask", str(source), str(out), *xmipp], capsys)
    mask = xmipp[: next((i for i, w in enumerate(xmipp[2:], 2) if w.startswith("--")), len(xmipp))]
    assert f"xmipp_transform_mask's {' '.join(mask)} is {' '.join(said)} here;" in line
    assert not out.exists()


def test_xmipps_circular_on_a_file_not_read_says_the_sphere_for_a_map(tmp_path, capsys):
    line = refused(["mask", str(tmp_path / "in.mrc"), str(tmp_path / "o.mrc"), "--mask", "circular", "-20"], capsys)
    assert "--mask circular -20 is --shape circular --radius 20 here (sphere for a map);" in line
    line = refused(
        ["mask", str(tmp_path / "in.mrc"), str(tmp_path / "o.mrc"), "--mask", "rectangular", "8", "8", "4"], capsys
    )
    assert "is --shape box --box-size 8 --invert here (--shape box --box-size 8 8 4 --invert for a map);" in line
    volume = write_mrc(tmp_path / "in.map", np.ones((16, 16, 16), dtype=np.float32))
    line = refused(["mask", str(volume), str(tmp_path / "o.mrc"), "--mask", "circular"], capsys)
    assert line.endswith("xmipp_transform_mask's --mask TYPE is --shape TYPE here: --shape sphere with its lengths")
    line = refused(["mask", str(volume), str(tmp_path / "o.mrc"), "--mask", "blob_circular", "-5"], capsys)
    assert "-5; Xmipp's blob_circular has no twin here: 'raised_cosine' is the nearest soft disc;" in line


@pytest.mark.parametrize(
    ("case", "xmipp"),
    [
        ("stack64__raised_cosine", ["--mask", "raised_cosine", "-10", "-20", "--substitute", "avg"]),
        ("stack64__gaussian_xmipp", ["--mask", "gaussian", "-8", "--substitute", "max"]),
        ("stack63__raised_crown", ["--mask", "raised_crown", "-10", "-20", "3", "--substitute", "min"]),
    ],
)
def test_a_soft_mask_with_xmipps_substitute_is_told_with_compat_xmipp_and_gives_xmipps_numbers(
    tmp_path, capsys, case, xmipp
):
    """``--mask raised_cosine -10 -20 --substitute avg`` was told ``--shape raised_cosine ... --fill avg`` without
    ``--compat xmipp``: followed, the fill was blended in, where Xmipp multiplies by a soft mask and leaves it out."""
    source = shared_path("golden", "xmipp", case.split("__")[0] + ".mrcs")
    out = tmp_path / "out.mrcs"
    line = refused(["mask", str(source), str(out), *xmipp], capsys)
    told = re.search(r"is (--shape .*) here \(Xmipp multiplies by a soft mask, leaving the fill out", line)
    assert told, line
    assert told[1].endswith("--compat xmipp")
    fill = {"avg": ["--fill", "avg"], "max": ["--fill", "max"], "min": ["--fill", "min"]}[xmipp[-1]]
    assert main(["mask", str(source), str(out), *told[1].split(), *fill]) == 0  # as the two hints say
    original = mrcfile_data(source)
    tolerance = 1e-5 * max(1.0, float(np.abs(original).max()))
    expected = mrcfile_data(shared_path("golden", "xmipp", case + ".mrcs"))
    assert np.abs(mrcfile_data(out) - expected).max() <= tolerance


def test_xmipps_real_file_with_substitute_is_told_without_the_fill(stack, tmp_path, capsys):
    """Xmipp multiplies by a real_file mask whatever its values; --compat xmipp would fill a 0/1 file's zeros."""
    line = refused(
        ["mask", str(stack), str(tmp_path / "o.mrcs"), "--mask", "real_file", "m.mrc", "--substitute", "avg"], capsys
    )
    assert line.endswith(
        "xmipp_transform_mask's --mask real_file FILE is --mask-file FILE here: --mask-file m.mrc, with no --fill "
        "(Xmipp multiplies by a real_file mask, leaving the fill out); see maskrun mask --help"
    )
    line = refused(
        ["mask", str(stack), str(tmp_path / "o.mrcs"), "--mask", "blob_circular", "-5", "--substitute", "avg"], capsys
    )
    assert "'raised_cosine' is the nearest soft disc, with --compat xmipp (Xmipp multiplies by a soft mask" in line
    line = refused(
        ["mask", str(stack), str(tmp_path / "o.mrcs"), "--mask", "crown", "-2", "-5", "--substitute", "avg"], capsys
    )
    assert "--outer-radius 5 here; see" in line  # a binary mask: Xmipp substitutes, as --fill does here


def mrcfile_data(path) -> np.ndarray:
    with mrcfile.open(path, permissive=True) as mrc:
        return np.asarray(mrc.data, dtype=np.float32)


def test_xmipps_one_image_of_a_stack_as_the_input_is_told_maskrun_mask_takes_whole_files(stack, tmp_path, capsys):
    """``maskrun mask 000002@parts.stk one.mrc`` was told "file not found; check the path"."""
    out = tmp_path / "one.mrc"
    line = refused(["mask", f"000002@{stack}", str(out), "--shape", "circular", "--radius", "5"], capsys)
    assert line == (
        f"maskrun mask: error: 000002@{stack}: is image 2 of {stack} (Xmipp's N@stack), no file; maskrun mask takes "
        f"whole files: give {stack} (every image is masked), or list the images in a .xmd or STAR file and run a job "
        "with inputs.particles (a job masks a set's images by reference)"
    )
    assert not out.exists()


def test_xmipps_save_metadata_stack_is_told_that_a_job_writes_the_metadata(stack, tmp_path, capsys):
    line = refused(["mask", str(stack), str(tmp_path / "o.mrcs"), "--save_metadata_stack", "o.xmd"], capsys)
    assert line == (
        "maskrun mask: error: unrecognized option: --save_metadata_stack (Xmipp's --save_metadata_stack: maskrun mask "
        "writes the stack alone; a job (inputs.particles: the set's .xmd) writes the masked set's metadata, "
        "particles.xmd); see maskrun mask --help"
    )


def test_make_mask_makes_xmipps_gaussian_with_compat_xmipp(tmp_path, capsys):
    """Xmipp's --create_mask is make-mask with the same shape options, and the gaussian needs --compat xmipp: make-mask
    had no --compat, so the mask --create_mask writes could not be made."""
    source = shared_path("golden", "xmipp", "stack64.mrcs")
    mask, out = tmp_path / "g.mrc", tmp_path / "out.mrcs"
    assert (
        main(
            ["make-mask", str(mask), "--like", str(source), "--shape", "gaussian", "--sigma", "8", "--compat", "xmipp"]
        )
        == 0
    )
    assert main(["mask", str(source), str(out), "--mask-file", str(mask)]) == 0
    expected = mrcfile_data(shared_path("golden", "xmipp", "stack64__gaussian_xmipp.mrcs"))
    tolerance = 1e-5 * max(1.0, float(np.abs(mrcfile_data(source)).max()))
    assert np.abs(mrcfile_data(out) - expected).max() <= tolerance
    volume = write_mrc(tmp_path / "v.mrc", np.ones((8, 8, 8), dtype=np.float32))
    line = refused(["make-mask", str(tmp_path / "m.mrc"), "--from-map", str(volume), "--compat", "xmipp"], capsys)
    assert line.endswith("--compat: is an option of --shape; a mask from a map draws no shape, leave it out")
