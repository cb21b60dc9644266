"""An input is never an output, whatever --overwrite says (issue 22): make-mask, mask, the API."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import maskrun
from maskrun.errors import UserError

from commands import digest, refused_line
from commands import maskrun as run
from conftest import write_mrc


def _folder(folder: Path) -> dict[str, Path]:
    rng = np.random.default_rng(3)
    files = {
        "map": write_mrc(folder / "map.mrc", rng.normal(size=(16, 16, 16)), voxel_size=2.0),
        "stack": write_mrc(folder / "in.mrcs", rng.normal(size=(3, 16, 16))),
        "mask": write_mrc(folder / "mask.mrc", np.ones((1, 16, 16))),
    }
    os.symlink(files["map"], folder / "link.mrc")
    os.link(files["stack"], folder / "hard.mrcs")
    return files


CASES = [
    (
        "make-mask-over-its-map",
        ["make-mask", "{f}/map.mrc", "--from-map", "{f}/map.mrc", "--threshold", "0"],
        "map.mrc",
    ),
    (
        "make-mask-over-a-link-to-its-map",
        ["make-mask", "{f}/link.mrc", "--from-map", "{f}/map.mrc", "--threshold", "0"],
        "link.mrc",
    ),
    ("make-mask-over-like", ["make-mask", "{f}/map.mrc", "--shape", "sphere", "--like", "{f}/map.mrc"], "map.mrc"),
    ("mask-over-its-mask-file", ["mask", "{f}/in.mrcs", "{f}/mask.mrc", "--mask-file", "{f}/mask.mrc"], "mask.mrc"),
    ("mask-over-its-input", ["mask", "{f}/in.mrcs", "{f}/in.mrcs", "--shape", "circular"], "in.mrcs"),
    ("mask-over-a-hard-link", ["mask", "{f}/in.mrcs", "{f}/hard.mrcs", "--shape", "circular"], "hard.mrcs"),
]


@pytest.mark.parametrize("argv,output", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_an_input_is_never_overwritten_even_with_overwrite(tmp_path, argv, output):
    _folder(tmp_path)
    before = digest(tmp_path)
    proc = run(*(arg.format(f=tmp_path) for arg in argv), "--overwrite")
    line = refused_line(proc)
    assert f"{tmp_path / output}: is the input file" in line
    assert "never overwrites an input, even with --overwrite" in line
    assert digest(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hard.mrcs", "in.mrcs", "link.mrc", "map.mrc", "mask.mrc"]


def test_mask_file_refuses_its_mask_as_output(tmp_path):
    files = _folder(tmp_path)
    before = digest(tmp_path)
    with pytest.raises(UserError, match="is the input file"):
        maskrun.mask_file(files["stack"], files["mask"], mask=files["mask"], overwrite=True)
    assert digest(tmp_path) == before


@pytest.mark.parametrize(
    "argv",
    [
        ["mask", "{f}/in.mrcs", "{out}", "--shape", "circular"],
        ["make-mask", "{out}", "--shape", "sphere", "--box", "8"],
        ["make-mask", "{out}", "--from-map", "{f}/map.mrc", "--threshold", "0"],
    ],
    ids=["mask", "make-mask-shape", "make-mask-from-map"],
)
def test_a_link_pointing_nowhere_is_kept_without_overwrite(tmp_path, argv):
    _folder(tmp_path)
    out = tmp_path / "out.mrc"
    out.symlink_to(tmp_path / "elsewhere" / "gone.mrc")  # the user's link, its target not there (yet)
    line = refused_line(run(*(arg.format(f=tmp_path, out=out) for arg in argv)))
    assert line.endswith(  # not "pass --overwrite": that would not be taken either
        f"{out}: is a symbolic link (to {tmp_path / 'elsewhere' / 'gone.mrc'}), not a file: maskrun writes an output "
        "whole and renames it into place, which would replace the link itself, not write through it; give the path "
        "of a file"
    )
    assert out.is_symlink() and os.readlink(out) == str(tmp_path / "elsewhere" / "gone.mrc")
