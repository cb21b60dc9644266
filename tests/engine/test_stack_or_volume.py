"""Whether ``maskrun mask`` reads a file as a stack of images or as one volume (`decide_kind`)."""

from __future__ import annotations

import mrcfile
import numpy as np
import pytest

from maskrun.cli.main import main

from conftest import write_mrc


def mask(capsys, *argv):
    status = main(["mask", *map(str, argv)])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture
def cryosparc_stack(tmp_path, rng):
    """Particles as cryoSPARC writes them: ``…_particles.mrc`` with ispg 0 and mz 1 (MRC2014's image stack)."""
    path = write_mrc(tmp_path / "J5_particles.mrc", rng.normal(1.0, 3.0, (5, 24, 24)), stack=True)
    with mrcfile.open(path, header_only=True) as mrc:
        assert (int(mrc.header.ispg), int(mrc.header.mz), int(mrc.header.nz)) == (0, 1, 5)
    return path


def test_a_header_marking_an_image_stack_is_read_as_a_stack(capsys, tmp_path, cryosparc_stack):
    out = tmp_path / "out.mrcs"
    status, printed, err = mask(capsys, cryosparc_stack, out, "--shape", "circular", "--radius", "8")
    assert status == 0 and printed.strip() == f"masked 5 images of 24 x 24 -> {out}"
    assert "read as a stack of 5 images of 24 x 24: its header marks one (ispg 0, mz 1)" in err
    assert "pass --input-kind volume if it is a map" in err
    same = write_mrc(tmp_path / "same.mrcs", mrcfile.read(cryosparc_stack))
    assert mask(capsys, same, tmp_path / "ref.mrcs", "--shape", "circular", "--radius", "8")[0] == 0
    with mrcfile.open(out) as mrc, mrcfile.open(tmp_path / "ref.mrcs") as ref:
        assert mrc.is_image_stack() and int(mrc.header.mz) == 1
        assert np.array_equal(mrc.data, ref.data)  # each image masked by the 2D circle, as the .mrcs is


def test_an_old_map_with_ispg_0_and_mz_equal_to_nz_stays_a_volume(capsys, tmp_path, rng):
    source = write_mrc(tmp_path / "old_map.mrc", rng.normal(size=(20, 20, 20)))
    with mrcfile.open(source, "r+") as mrc:
        mrc.header.ispg = 0  # as RELION and old programs write maps; mz stays nz
    status, printed, err = mask(capsys, source, tmp_path / "out.mrc", "--shape", "sphere", "--radius", "6")
    assert status == 0 and printed.strip() == f"masked a 20 x 20 x 20 volume -> {tmp_path / 'out.mrc'}"
    assert "ispg 0 declares an image stack, but a .mrc/.map file is read as a volume" in err


def test_input_kind_volume_overrides_the_header_and_warns_of_a_volume_named_mrcs(capsys, tmp_path, cryosparc_stack):
    out = tmp_path / "out.mrcs"
    status, printed, err = mask(capsys, cryosparc_stack, out, "--shape", "sphere", "--input-kind", "volume")
    assert status == 0 and printed.strip() == f"masked a 24 x 24 x 5 volume -> {out}"
    assert f"warning: {out}: a 24 x 24 x 5 volume named .mrcs is read by RELION as a stack of 5 images" in err
    with mrcfile.open(out) as mrc:
        assert mrc.is_volume()


def test_a_volume_by_guess_is_not_written_under_a_stack_name(capsys, tmp_path, small_volume):
    out = tmp_path / "out.mrcs"
    status, printed, err = mask(capsys, small_volume, out, "--shape", "sphere")
    assert status == 2 and printed == "" and len(err.splitlines()) == 1
    assert f"{small_volume}: is read as one 24 x 22 x 20 volume, but the output out.mrcs is named as a stack" in err
    assert "pass --input-kind stack if it is a stack of particle images, or name the output out.mrc" in err
    assert not out.exists()
