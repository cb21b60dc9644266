"""make-mask's three kinds of mask (--from-map, --from-model, --shape) each refuse the options of the others.

They were ignored: ``--shape sphere --box 64 --threshold 0.3 --lowpass 8`` and ``--from-map M --threshold 0.3
--center 10 10 10 --pixel-size 2`` exited 0 with a mask without what was asked, and ``--shape … --extend '2 A'``
was refused for "the map's voxel size" (a shape has no map, and is never extended).
"""

from __future__ import annotations

import numpy as np
import pytest

from maskrun.cli.main import build_parser, main
from maskrun.cli.make_mask import OPTION_MODES

from commands import digest
from conftest import write_mrc

BASE = {
    "map": ["--from-map", "MAP", "--threshold", "0.5"],
    "model": ["--from-model", "MODEL", "--like", "MAP", "--radius", "2"],
    "shape": ["--shape", "sphere", "--radius", "3", "--box", "16"],
}
MASK_OF = {"map": "a mask from a map", "model": "a mask from a model", "shape": "a mask of a shape"}
MAP_AND_MODEL, MODEL_AND_SHAPE = "--from-map and --from-model", "--from-model and --shape"


@pytest.fixture
def files(tmp_path):
    """A 16³ map (2 Å voxels) with a cube of density in its middle, and a one-atom model at its centre (16 Å)."""
    density = np.zeros((16, 16, 16), np.float32)
    density[5:11, 5:11, 5:11] = 1
    write_mrc(tmp_path / "map.mrc", density, voxel_size=2.0)
    atom = "ATOM      1  CA  ALA A   1      16.000  16.000  16.000  1.00  0.00           C"
    (tmp_path / "m.pdb").write_text(f"{atom}\nEND\n")
    return {"MAP": str(tmp_path / "map.mrc"), "MODEL": str(tmp_path / "m.pdb")}


def make_mask(capsys, tmp_path, files, *options):
    """``maskrun make-mask OUT OPTIONS`` (MAP, MODEL: the fixture's files): exit status, stderr lines."""
    status = main(["make-mask", str(tmp_path / "out.mrc"), *(files.get(word, word) for word in options)])
    return status, capsys.readouterr().err.strip().splitlines()


@pytest.mark.parametrize(
    "mode,options,owner",
    [
        ("shape", ["--threshold", "0.3"], MAP_AND_MODEL),
        ("shape", ["--lowpass", "8"], "--from-map"),
        ("shape", ["--extend", "2"], MAP_AND_MODEL),
        ("shape", ["--extend", "0"], MAP_AND_MODEL),
        ("shape", ["--keep-largest-component"], "--from-map"),
        ("shape", ["--min-component-voxels", "0"], "--from-map"),
        ("shape", ["--fill-holes"], "--from-map"),
        ("shape", ["--and", "MAP"], "--from-map"),
        ("shape", ["--helix"], "--from-map"),
        ("shape", ["--z-percentage", "0.3"], "--from-map"),
        ("shape", ["--select", "//A"], "--from-model"),
        ("shape", ["--molmap", "4"], "--from-model"),
        ("map", ["--center", "1", "1", "1"], "--shape"),
        ("map", ["--box", "16"], "--shape"),
        ("map", ["--like", "MAP"], MODEL_AND_SHAPE),
        ("map", ["--radius", "3"], MODEL_AND_SHAPE),
        ("map", ["--box-size", "4"], "--shape"),
        ("map", ["--sigma", "2"], "--shape"),
        ("map", ["--inner-radius", "2"], "--shape"),
        ("map", ["--select", "//A"], "--from-model"),
        ("map", ["--molmap", "4"], "--from-model"),
        ("model", ["--lowpass", "8"], "--from-map"),
        ("model", ["--fill-holes"], "--from-map"),
        ("model", ["--or-not", "MAP"], "--from-map"),
        ("model", ["--pixel-size", "1.5"], "--from-map and --shape"),
        ("model", ["--box", "16"], "--shape"),
        ("model", ["--center", "1", "1", "1"], "--shape"),
        ("model", ["--height", "3"], "--shape"),
    ],
)
def test_each_kind_of_mask_refuses_the_options_of_the_others(capsys, tmp_path, files, mode, options, owner):
    before = digest(tmp_path)
    status, err = make_mask(capsys, tmp_path, files, *BASE[mode], *options)
    assert status == 2 and len(err) == 1, err
    assert err[0].startswith(f"maskrun make-mask: error: {options[0]}: is an option of {owner}; {MASK_OF[mode]} ")
    assert err[0].endswith(", leave it out"), err[0]
    assert digest(tmp_path) == before


@pytest.mark.parametrize("box", [["--box", "16", "--pixel-size", "2"], ["--like", "MAP"]])
def test_a_shape_with_extend_in_angstrom_is_told_extend_is_not_for_shapes(capsys, tmp_path, files, box):
    """It was told "the map's voxel size is 0 in its header", with a pixel size given and no map at all."""
    status, err = make_mask(capsys, tmp_path, files, "--shape", "sphere", "--radius", "3", *box, "--extend", "2 A")
    assert status == 2 and err == [
        "maskrun make-mask: error: --extend: is an option of --from-map and --from-model; a mask of a shape is not "
        "grown or shrunk (change the shape's lengths), leave it out"
    ]
    assert not (tmp_path / "out.mrc").exists()


@pytest.mark.parametrize(
    "options",
    [
        # every option of a mask from a map at once
        ["--from-map", "MAP", "--threshold", "0.5", "--extend", "1", "--soft-edge", "2", "--lowpass", "8", "--invert",
         "--keep-largest-component", "--min-component-voxels", "1", "--fill-holes", "--or", "MAP", "--helix",
         "--z-percentage", "0.5", "--overwrite"],
        ["--from-map", "MAP", "--threshold", "0.5", "--extend", "1 A", "--soft-edge", "2 A", "--and", "MAP",
         "--pixel-size", "2"],
        # a model's, with spheres and with a molmap
        ["--from-model", "MODEL", "--like", "MAP", "--radius", "2", "--select", "//A", "--extend", "1",
         "--soft-edge", "1", "--invert", "--overwrite"],
        ["--from-model", "MODEL", "--like", "MAP", "--molmap", "4", "--threshold", "0.2", "--select", "//A",
         "--extend", "1 A", "--soft-edge", "1 A"],
        # a shape's: every length of some shape, the box given either way, a pixel size, --invert
        ["--shape", "cylinder", "--radius", "3", "--height", "6", "--soft-edge", "1", "--center", "1", "0", "0",
         "--invert", "--box", "16", "--pixel-size", "2", "--overwrite"],
        ["--shape", "raised_crown", "--inner-radius", "3", "--outer-radius", "6", "--border-decay", "1", "--like",
         "MAP", "--pixel-size", "2.01"],  # within 1 % of the map's 2 Å: another warns (test_metadata_and_header_…)
        ["--shape", "box", "--box-size", "4", "--like", "MAP", "--soft-edge", "1 A"],
        ["--shape", "gaussian", "--sigma", "2", "--box", "16", "16", "16", "--center", "0", "0", "1"],
    ],
)  # fmt: skip
def test_each_kind_of_mask_takes_all_its_own_options(capsys, tmp_path, files, options):
    status, err = make_mask(capsys, tmp_path, files, *options)
    assert status == 0, err
    assert (tmp_path / "out.mrc").exists() and not [line for line in err if "warning" in line or "error" in line]


@pytest.mark.parametrize(
    "options,words",
    [
        (["--from-map", "MAP", "--threshold", "0.5", "--shape", "sphere"], "give one of --from-model, --from-map or "
         "--shape, not several (got --from-map and --shape)"),
        (["--from-model", "MODEL", "--like", "MAP", "--shape", "sphere"], "give one of --from-model, --from-map"),
        (["--lowpass", "8", "--radius", "3"], "--lowpass: is an option of --from-map; add --from-map MAP "
         "--threshold T, or leave it out"),
        (["--radius", "3", "--select", "//A"], "--select: is an option of --from-model; add --from-model MODEL"),
        (["--box", "16"], "--box: is an option of --shape; add --shape S"),
        (["--radius", "3", "--invert"], "no mask given; add --from-map MAP --threshold T, --from-model MODEL"),
    ],
)  # fmt: skip
def test_several_kinds_or_none_are_refused_naming_what_to_add(capsys, tmp_path, files, options, words):
    before = digest(tmp_path)
    status, err = make_mask(capsys, tmp_path, files, *options)
    assert status == 2 and len(err) == 1 and words in err[0], err
    assert digest(tmp_path) == before


def test_every_option_has_its_kinds_of_mask_and_no_default():
    """An option missing from the table would be refused by no kind; one with a default would seem always given."""
    args = build_parser(["make-mask"]).parse_args(["make-mask", "out.mrc"])
    options = set(vars(args)) - {"command", "handler", "output", "overwrite"}
    assert options == set(OPTION_MODES)
    assert all(getattr(args, dest) in (None, False) for dest in options)


@pytest.mark.parametrize(
    ("options", "alone", "applied"),
    [
        (["--radius", "100A"], "keeps everything: it is 1 over the whole box", "the output equals the input"),
        (["--radius", "100A", "--invert"], "keeps nothing: it is 0 over the whole box", "every voxel is replaced by"),
    ],
)
def test_a_mask_keeping_all_or_nothing_is_worded_for_a_mask_alone(capsys, tmp_path, files, options, alone, applied):
    """make-mask applies the mask to nothing: 'the output equals the input' and 'replaced by the fill' meant nothing."""
    status, lines = make_mask(capsys, tmp_path, files, "--like", "MAP", "--shape", "sphere", *options)
    assert status == 0
    assert f"maskrun: warning: the sphere mask {alone}" in lines
    assert not any(applied in line for line in lines)
    assert main(["mask", files["MAP"], str(tmp_path / "masked.mrc"), "--shape", "sphere", *options]) == 0
    assert f"the sphere mask {alone.split(':')[0]}: {applied}" in capsys.readouterr().err  # applied, it does so


MAP_FIX = "; raise the threshold -1 (the map's median is 0, its 99th percentile 1)"


@pytest.mark.parametrize(
    ("options", "said"),
    [
        (["--threshold", "-1"], f"from map.mrc keeps everything: it is 1 over the whole box{MAP_FIX}"),
        (["--threshold", "-1", "--invert"], f"from map.mrc keeps nothing: it is 0 over the whole box{MAP_FIX}"),
        (["--like", "MAP", "--radius", "100 A"], "from m.pdb keeps everything: it is 1 over the whole box; make the"),
        (["--like", "MAP", "--radius", "1", "--extend", "-3"], "from m.pdb keeps nothing: it is 0 over the whole box"),
    ],
    ids=["map all", "map none", "model all", "model none"],
)
def test_a_map_or_model_mask_keeping_all_or_nothing_is_worded_for_a_mask_alone(capsys, tmp_path, files, options, said):
    """The map's and model's warnings too: their masks said "the output equals the input" until make-mask reworded
    the message by string replacement."""
    source = ["--from-map", "MAP"] if "--threshold" in options else ["--from-model", "MODEL"]
    status, lines = make_mask(capsys, tmp_path, files, *source, *options)
    assert status == 0
    warned = [line for line in lines if line.startswith("maskrun: warning: ")]
    assert len(warned) == 1 and said in warned[0], lines
    assert "equals the input" not in warned[0] and "replaced by the fill" not in warned[0]


@pytest.mark.parametrize(
    ("options", "said"),
    [
        (
            ["--threshold", "0.5", "--extend", "-20"],
            "lower the threshold 0.5 (the map's median is 0, its 99th "
            "percentile 1) or make the extend (-20 px) less negative",
        ),
        (
            ["--threshold", "0.5", "--extend", "40"],
            "raise the threshold 0.5 (the map's median is 0, its 99th percentile 1) or lower the extend (40 px)",
        ),
    ],
    ids=["shrunk to nothing", "grown to the box"],
)
def test_a_map_mask_emptied_or_filled_by_its_extend_is_told_which_way_to_change_it(
    capsys, tmp_path, files, options, said
):
    """ "lower the threshold or the extend" said to lower an extend of -20 px, which empties the mask further."""
    status, lines = make_mask(capsys, tmp_path, files, "--from-map", "MAP", *options)
    assert status == 0
    warned = [line for line in lines if line.startswith("maskrun: warning: ")]
    assert len(warned) == 1 and warned[0].endswith(said), lines


def test_a_jobs_map_mask_keeping_the_whole_box_says_what_it_does_to_the_maps(capsys, tmp_path, files):
    """Applied, the same mask's warning says what it does: the job masks the map with it."""
    from job_files import write_job

    mask = {"source": "map", "map": {"file": "map.mrc", "threshold": -1}}
    job = write_job(tmp_path, {"version": 1, "name": "t", "inputs": {"volumes": "map.mrc"}, "mask": mask})
    assert main(["validate", str(job)]) == 0
    said = f"the mask made from map.mrc keeps everything: the output equals the input{MAP_FIX}"
    assert f"maskrun: warning: {said}\n" in capsys.readouterr().err
