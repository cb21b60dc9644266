"""``compat: xmipp`` multiplies by a soft mask, leaving the fill out (Xmipp's behaviour, on purpose): a fill asked
for is then said to be left out, in maskrun mask, the API and a job (docs/spec.md, "Fills")."""

from __future__ import annotations

import mrcfile
import numpy as np
import pytest

from maskrun.api import mask_file
from maskrun.cli.main import main

from conftest import write_mrc
from job_files import example_folder, job_with, write_job

NOTE = "multiplies by a soft mask: the fill applies only to a binary mask; drop {0} to blend the fill in"
SOFT = ["--shape", "raised_cosine", "--inner-radius", "4", "--outer-radius", "7"]


@pytest.fixture
def stack(tmp_path):
    rng = np.random.default_rng(1)
    return write_mrc(tmp_path / "in.mrcs", (5 + rng.standard_normal((2, 16, 16))).astype(np.float32))


def masked(stack, out, options, capsys) -> tuple[np.ndarray, str]:
    assert main(["mask", str(stack), str(out), *options]) == 0
    return mrcfile.read(out), capsys.readouterr().err


def test_a_fill_left_out_by_compat_xmipp_is_noted_once(stack, tmp_path, capsys):
    filled, err = masked(stack, tmp_path / "avg.mrcs", [*SOFT, "--compat", "xmipp", "--fill", "avg"], capsys)
    plain, _ = masked(stack, tmp_path / "zero.mrcs", [*SOFT, "--compat", "xmipp"], capsys)
    np.testing.assert_array_equal(filled, plain)  # the parity intended: Xmipp multiplies
    assert err.splitlines() == [f"maskrun: note: {stack}: --compat xmipp {NOTE.format('--compat xmipp')}"]


@pytest.mark.parametrize(
    "options",
    [
        [*SOFT, "--compat", "xmipp"],  # no fill asked for
        [*SOFT, "--fill", "avg"],  # maskrun blends it in (and says Xmipp would not: test_notes_of_xmipp_meanings)
        ["--shape", "circular", "--radius", "5", "--compat", "xmipp", "--fill", "avg"],  # binary: the fill applies
    ],
)
def test_no_note_where_the_fill_is_not_left_out(stack, tmp_path, capsys, options):
    _, err = masked(stack, tmp_path / "out.mrcs", options, capsys)
    assert NOTE.format("--compat xmipp") not in err


def test_the_api_spells_the_setting_its_own_way(stack, tmp_path):
    shape = {"shape": "raised_cosine", "inner_radius": 4, "outer_radius": 7}
    result = mask_file(stack, tmp_path / "out.mrcs", mask=shape, fill="max", compat="xmipp")
    assert "compat='xmipp' " + NOTE.format("compat='xmipp'") in result.notes


def test_a_job_notes_it_when_validated(tmp_path, capsys):
    example_folder(tmp_path, particles=6, maps=0)
    job = write_job(tmp_path, job_with(fill={"with": "avg"}, compat="xmipp"))  # its mask is a raised cosine
    assert main(["validate", str(job)]) == 0
    assert f"  note: compat: xmipp {NOTE.format('compat: xmipp')}" in capsys.readouterr().out.splitlines()
