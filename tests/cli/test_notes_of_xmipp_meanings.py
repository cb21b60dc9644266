"""The note `maskrun mask` and `make-mask` give where an Xmipp user's words give other numbers than Xmipp's.

``maskrun mask stack.mrcs o.mrcs --shape raised_cosine --inner-radius 10 --outer-radius 20
--fill avg`` blends the fill across the soft edge, where xmipp_transform_mask leaves
``--substitute`` out for a soft mask (4.06 off Xmipp's output at most), and ``--shape
gaussian`` is not Xmipp's normalised gaussian: documented, but not said at run time, where
``--compat xmipp`` says the reverse. One note line now says it, only in these two commands,
only where ``--compat`` was not typed, and only for those options.
"""

from __future__ import annotations

import mrcfile
import numpy as np
import pytest

from maskrun.cli.main import main

from conftest import shared_path, write_mrc
from job_files import write_job

SOFT_FILL = (
    "maskrun: note: --fill avg is blended in across raised_cosine's soft edge here, where xmipp_transform_mask "
    "multiplies by a soft mask and leaves --substitute out: add --compat xmipp for Xmipp's numbers (--compat maskrun: "
    "these, without this note)"
)
GAUSSIAN = (
    "--shape gaussian is exp(-r²/2σ²) here, 1 at its centre, where xmipp_transform_mask's is the normalised density "
    "(divided by (√(2π)σ)^d)"
)
RAISED_COSINE = ["--shape", "raised_cosine", "--inner-radius", "10", "--outer-radius", "20"]


def notes(capsys) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line.startswith("maskrun: note:")]


def test_a_fill_with_a_soft_xmipp_shape_is_told_once_and_compat_xmipp_gives_xmipps_numbers(tmp_path, capsys):
    golden = shared_path("golden", "xmipp")
    out = tmp_path / "o.mrcs"
    assert main(["mask", str(golden / "stack64.mrcs"), str(out), *RAISED_COSINE, "--fill", "avg"]) == 0
    assert notes(capsys) == [SOFT_FILL]
    xmipp = mrcfile.read(golden / "stack64__raised_cosine.mrcs")  # Xmipp's, --substitute avg or not: the same
    assert float(np.abs(mrcfile.read(out) - xmipp).max()) == pytest.approx(4.06, abs=0.01)
    assert main(["mask", str(golden / "stack64.mrcs"), str(out), *RAISED_COSINE, "--fill", "avg"]
                + ["--compat", "xmipp", "--overwrite"]) == 0  # fmt: skip
    assert float(np.abs(mrcfile.read(out) - xmipp).max()) < 1e-5
    assert notes(capsys) == [  # the reverse note, as before; not this one
        f"maskrun: note: {golden / 'stack64.mrcs'}: --compat xmipp multiplies by a soft mask: the fill applies only "
        "to a binary mask; drop --compat xmipp to blend the fill in"
    ]


@pytest.mark.parametrize(
    "options",
    [
        [*RAISED_COSINE, "--fill", "avg", "--compat", "maskrun"],  # chosen: these numbers are meant
        RAISED_COSINE,  # no fill: Xmipp's raised_cosine and maskrun's are one
        [*RAISED_COSINE, "--fill", "value", "--fill-value", "0"],  # a zero fill multiplies as Xmipp does
        ["--shape", "circular", "--radius", "8", "--soft-edge", "3", "--fill", "avg"],  # no Xmipp words to mistake
        ["--shape", "circular", "--radius", "8", "--fill", "avg"],
    ],
)
def test_no_note_where_nothing_is_xmipps_to_mistake(small_stack, tmp_path, capsys, options):
    assert main(["mask", str(small_stack), str(tmp_path / "o.mrcs"), *options]) == 0
    assert notes(capsys) == []


def test_the_gaussian_is_told_in_mask_and_make_mask_with_the_fill_in_the_same_line(small_stack, tmp_path, capsys):
    gaussian = ["--shape", "gaussian", "--sigma", "4"]
    assert main(["mask", str(small_stack), str(tmp_path / "o.mrcs"), *gaussian, "--fill", "avg"]) == 0
    said = notes(capsys)
    assert len(said) == 1 and said[0].startswith(f"maskrun: note: {GAUSSIAN}; --fill avg is blended in across ")
    assert main(["make-mask", str(tmp_path / "g.mrc"), "--box", "24", "24", *gaussian]) == 0
    tail = ": add --compat xmipp for Xmipp's numbers (--compat maskrun: these, without this note)"
    assert notes(capsys) == [f"maskrun: note: {GAUSSIAN}{tail}"]
    assert main(["make-mask", str(tmp_path / "x.mrc"), "--box", "24", "24", *gaussian, "--compat", "xmipp"]) == 0
    assert notes(capsys) == []


def test_a_job_is_not_told(tmp_path, capsys, rng):
    """A job file is maskrun's own words: its gaussian and fill are not Xmipp's to mistake."""
    write_mrc(tmp_path / "v.mrc", rng.normal(0, 1, (24, 24, 24)))
    job = {"version": 1, "name": "g", "inputs": {"volumes": "v.mrc"}, "fill": {"with": "avg"}}
    job |= {"mask": {"source": "geometry", "geometry": {"shape": "gaussian", "sigma": 4}}}
    assert main(["validate", str(write_job(tmp_path, job))]) == 0
    assert "xmipp_transform_mask" not in capsys.readouterr().err
