"""Sizes are told along x, y, z for a map whose header stores its axes in another order (mapc, mapr, maps).

make-mask's "wrote … 10 x 14 x 12 mask" and a job's ``masks/mask_10x14x12.mrc`` were the
stored array's sizes, while validate, the report and the notes said 14 x 12 x 10.
"""

from __future__ import annotations

import shutil

import mrcfile
import numpy as np
import pytest

from maskrun.cli.main import main

from conftest import write_mrc
from job_files import stored_zxy, write_job

NZ, NY, NX = 10, 12, 14  # the map along z, y, x; stored as z, x, y it is (y, x, z) = (12, 14, 10)


@pytest.fixture
def perm(tmp_path):
    volume = np.zeros((NZ, NY, NX), np.float32)
    volume[3:7, 4:8, 5:9] = 1.0
    return stored_zxy(tmp_path / "perm.mrc", volume)


@pytest.mark.parametrize(
    "options",
    [
        ["--from-map", "MAP", "--threshold", "0.5"],
        ["--shape", "sphere", "--radius", "3", "--like", "MAP"],
        ["--from-model", "MODEL", "--like", "MAP", "--radius", "3"],
    ],
)
def test_make_mask_tells_the_box_along_x_y_z(capsys, tmp_path, perm, options):
    atom = "ATOM      1  CA  ALA A   1      14.000  12.000  10.000  1.00  0.00           C"
    (tmp_path / "m.pdb").write_text(f"{atom}\nEND\n")
    files = {"MAP": str(perm), "MODEL": str(tmp_path / "m.pdb")}
    assert main(["make-mask", str(tmp_path / "out.mrc"), *(files.get(word, word) for word in options)]) == 0
    wrote = capsys.readouterr().out.strip()
    assert wrote.startswith(f"wrote {tmp_path / 'out.mrc'}: {NX} x {NY} x {NZ} mask, "), wrote
    with mrcfile.open(tmp_path / "out.mrc") as mrc:  # stored as the map is, which the line no longer says
        assert mrc.data.shape == (NY, NX, NZ) and (mrc.header.mapc, mrc.header.mapr, mrc.header.maps) == (3, 1, 2)


def test_maskrun_mask_tells_the_box_along_x_y_z(capsys, tmp_path, perm):
    """``maskrun mask`` said "masked a 10 x 14 x 12 volume" (as stored) where make-mask says 14 x 12 x 10."""
    out = tmp_path / "out.mrc"
    assert main(["mask", str(perm), str(out), "--shape", "sphere", "--radius", "3"]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == f"masked a {NX} x {NY} x {NZ} volume -> {out}"
    assert f"read as a {NX} x {NY} x {NZ} volume; pass --input-kind stack" in captured.err
    assert main(["mask", str(perm), str(tmp_path / "c.mrc"), "--shape", "circular", "--radius", "3"]) == 2
    assert f"this .mrc file is read as one {NX} x {NY} x {NZ} volume: pass" in capsys.readouterr().err


def test_a_shape_like_a_map_at_another_pixel_size_tells_the_box_it_wrote(capsys, tmp_path, perm):
    """With --pixel-size the mask is placed as the map still, stored in its axis order (the review: it was written
    in x, y, z order while the note said it keeps the map's): its box is the map's along x, y, z."""
    out = tmp_path / "out.mrc"
    assert (
        main(["make-mask", str(out), "--shape", "sphere", "--radius", "3", "--like", str(perm), "--pixel-size", "2"])
        == 0
    )
    assert capsys.readouterr().out.startswith(f"wrote {out}: {NX} x {NY} x {NZ} mask, ")
    with mrcfile.open(out) as mrc:
        assert mrc.data.shape == (NY, NX, NZ) and mrc.voxel_size.x == pytest.approx(2.0)
        assert (int(mrc.header.mapc), int(mrc.header.mapr), int(mrc.header.maps)) == (3, 1, 2)


def _two_box_job(tmp_path, perm, other_zyx=(8, 8, 8)):
    write_mrc(tmp_path / "plain.mrc", np.ones(other_zyx), voxel_size=2.0)
    mask = {"source": "geometry", "geometry": {"shape": "sphere", "radius": 2}}  # inside the 8³ box's edge
    job = {"version": 1, "name": "b", "inputs": {"volumes": [perm.name, "plain.mrc"]}, "mask": mask, "report": False}
    return write_job(tmp_path, job)


def test_a_job_of_several_boxes_names_each_mask_by_its_box_along_x_y_z(tmp_path, perm):
    from maskrun.jobs.plan import plan_job

    job = _two_box_job(tmp_path, perm)
    out = tmp_path / "results" / "b"
    assert sorted(p.name for p in plan_job(job).mask_outputs()) == ["mask_14x12x10.mrc", "mask_8x8x8.mrc"]
    assert main(["run", str(job), "--cores", "1"]) == 0
    assert sorted(p.name for p in (out / "masks").iterdir()) == ["mask_14x12x10.mrc", "mask_8x8x8.mrc"]
    assert mrcfile.read(out / "masks" / "mask_14x12x10.mrc").shape == (NY, NX, NZ)  # as its map is stored


def test_maps_of_one_box_along_x_y_z_stored_in_two_orders_get_a_mask_each(tmp_path, perm):
    from maskrun.jobs.plan import plan_job

    names = sorted(p.name for p in plan_job(_two_box_job(tmp_path, perm, (NZ, NY, NX))).mask_outputs())
    assert names == ["mask_14x12x10.mrc", "mask_14x12x10_stored_zxy.mrc"]


def test_the_report_reads_a_mask_saved_under_its_older_storage_order_name(tmp_path, perm):
    """A run of maskrun 0.1.0 saved it as mask_12x14x10.mrc (its stored sizes, reversed): its report is still drawn."""
    from maskrun.jobs.plan import plan_job
    from maskrun.report.build import _mask_paths, _saved_masks

    job = _two_box_job(tmp_path, perm)
    assert main(["run", str(job), "--cores", "1"]) == 0
    masks = tmp_path / "results" / "b" / "masks"
    saved = mrcfile.read(masks / "mask_14x12x10.mrc")
    shutil.move(masks / "mask_14x12x10.mrc", masks / "mask_10x14x12.mrc")
    plan = plan_job(job)
    assert plan.saved_mask(masks / "mask_14x12x10.mrc") == masks / "mask_10x14x12.mrc"
    (read,) = [mask for (box, _), mask in _saved_masks(plan, _mask_paths(plan)).items() if box == (NY, NX, NZ)]
    np.testing.assert_array_equal(read, saved)
    assert plan.saved_mask(masks / "mask_8x8x8.mrc") == masks / "mask_8x8x8.mrc"  # the same name either way
