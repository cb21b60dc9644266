"""make-mask from a map refuses what would give an empty or unfounded mask, naming its own options (issue 22)."""

from __future__ import annotations

import numpy as np
import pytest

from commands import digest, maskrun, refused_line
from conftest import write_mrc, write_spider
from job_files import job_with, write_job


def _blobs(folder, voxel_size=0.0):
    density = np.zeros((16, 16, 16), np.float32)
    density[4:6, 4:6, 4:6] = 1  # 8 voxels
    density[10:13, 10:13, 10:13] = 1  # 27 voxels
    return write_mrc(folder / "blobs.mrc", density, voxel_size=voxel_size)


@pytest.mark.parametrize(
    "options,words",
    [
        (
            ["--threshold", "0.5", "--min-component-voxels", "28"],
            "--min-component-voxels: the clean-up removes every component the threshold keeps (the largest has 27",
        ),
        (
            ["--threshold", "0.5", "--keep-largest-component", "--min-component-voxels", "100"],
            "--min-component-voxels: the clean-up removes every component",
        ),
        (["--threshold", "0.5", "--lowpass", "10"], "--lowpass: a low-pass needs the map's voxel size"),
        (["--threshold", "5"], "--threshold: threshold 5 is above every value of the map"),
    ],
)
def test_make_mask_refusals_name_its_own_options(tmp_path, options, words):
    source = _blobs(tmp_path)
    before = digest(tmp_path)
    proc = maskrun("make-mask", tmp_path / "m.mrc", "--from-map", source, *options)
    line = refused_line(proc)
    assert f"{source}: {words}" in line
    assert "mask.map" not in line and "_angstrom" not in line and "min_component" not in line
    assert digest(tmp_path) == before


def test_a_job_names_the_job_file_field(tmp_path):
    source = _blobs(tmp_path, voxel_size=1.0)
    write_mrc(tmp_path / "v.mrc", np.ones((16, 16, 16)), voxel_size=1.0)
    mask = {"source": "map", "map": {"file": source.name, "threshold": 0.5, "min_component_voxels": 30}}
    job = write_job(tmp_path, job_with(inputs__particles=None, inputs__volumes="v.mrc", mask=mask))
    proc = maskrun("validate", job)
    assert proc.returncode == 2 and "mask.map.min_component_voxels: the clean-up removes every component" in proc.stderr


def test_make_mask_refuses_a_stack_of_images_for_a_map(tmp_path):
    """A particle stack made a '128 x 128 x 120 mask' (relion_mask_create --helix stops: "Input mask should have a
    dimension of 3!"), where inputs.volumes refuses a .mrcs: its images are not one volume."""
    images = np.zeros((5, 16, 16), np.float32)
    images[:, 6:10, 6:10] = 1
    stack = write_mrc(tmp_path / "segs.mrcs", images, voxel_size=1.0)
    before = digest(tmp_path)
    proc = maskrun("make-mask", tmp_path / "m.mrc", "--from-map", stack, "--threshold", "0.5", "--soft-edge", "2")
    assert refused_line(proc) == (
        f"maskrun make-mask: error: {stack}: --from-map: is a stack of 5 images of 16 x 16 (a .mrcs, which RELION "
        "reads as images), not a map; make the mask from a map (a 3D reconstruction, .mrc), or rename it segs.mrc if "
        "it is a map"
    )
    assert digest(tmp_path) == before
    one = write_mrc(tmp_path / "one.mrcs", images[:1], voxel_size=1.0)  # one image: a 2D map, as before
    assert maskrun("make-mask", tmp_path / "m.mrc", "--from-map", one, "--threshold", "0.5").returncode == 0


def test_a_map_saved_as_mrcs_is_told_to_be_renamed_and_a_spider_stack_is_not(tmp_path):
    """A 32³ map saved as v1.mrcs was refused as a stack of 32 images, with no word of the rename that reads it as
    the map it is; a SPIDER stack says it holds images whatever its name."""
    write_mrc(tmp_path / "v1.mrcs", np.ones((32, 32, 32)), voxel_size=1.0)
    write_spider(tmp_path / "p.stk", np.ones((4, 16, 16), np.float32))
    lines = [
        refused_line(maskrun("make-mask", tmp_path / "m.mrc", "--from-map", tmp_path / name, "--threshold", "0.5"))
        for name in ("v1.mrcs", "p.stk")
    ]
    assert lines[0].endswith(
        "not a map; make the mask from a map (a 3D reconstruction, .mrc), or rename it v1.mrc if it is a map"
    )
    assert lines[1].endswith(
        "(its SPIDER header says so), not a map; make the mask from a map (a 3D reconstruction, .mrc)"
    )


def test_a_jobs_map_mask_refuses_a_stack_of_images_naming_its_field(tmp_path):
    images = np.zeros((16, 16, 16), np.float32)
    images[:, 6:10, 6:10] = 1
    write_mrc(tmp_path / "segs.mrcs", images, voxel_size=1.0)
    write_mrc(tmp_path / "v.mrc", np.ones((16, 16, 16)), voxel_size=1.0)
    mask = {"source": "map", "map": {"file": "segs.mrcs", "threshold": 0.5}}
    job = write_job(tmp_path, job_with(inputs__particles=None, inputs__volumes="v.mrc", mask=mask))
    line = refused_line(maskrun("validate", job))
    assert line.endswith(
        "segs.mrcs: mask.map.file: is a stack of 16 images of 16 x 16 (a .mrcs, which RELION reads as images), not "
        "a map; make the mask from a map (a 3D reconstruction, .mrc), or rename it segs.mrc if it is a map"
    )


Z_FRACTION = "a fraction, not a percentage: the share of the box kept along z, from 0.1 to 0.9 (0.3 = 30 %)"


def test_a_z_percentage_given_in_percent_is_told_it_is_a_fraction(tmp_path):
    """``--z-percentage 30`` (its name says percent) got "input should be less than or equal to 0.9 (got 30.0)"."""
    source = _blobs(tmp_path, voxel_size=1.0)
    proc = maskrun("make-mask", tmp_path / "m.mrc", "--from-map", source, "--threshold", "0.5", "--soft-edge", "2")
    assert proc.returncode == 0
    (tmp_path / "m.mrc").unlink()
    before = digest(tmp_path)
    proc = maskrun(
        "make-mask", tmp_path / "m.mrc", "--from-map", source, "--threshold", "0.5", "--soft-edge", "2", "--helix",
        "--z-percentage", "30",
    )  # fmt: skip
    assert refused_line(proc) == (
        f"maskrun make-mask: error: --z-percentage: input should be less than or equal to 0.9 (got 30.0): {Z_FRACTION}"
    )
    assert digest(tmp_path) == before
    crop = {"helix": True, "z_percentage": 30}
    mask = {"source": "map", "map": {"file": source.name, "threshold": 0.5, "soft_edge_px": 2, **crop}}
    write_mrc(tmp_path / "v.mrc", np.ones((16, 16, 16)), voxel_size=1.0)
    job = write_job(tmp_path, job_with(inputs__particles=None, inputs__volumes="v.mrc", mask=mask))
    line = refused_line(maskrun("validate", job))
    assert line.endswith(f"mask.map.z_percentage: input should be less than or equal to 0.9 (got 30): {Z_FRACTION}")


def test_a_sigma_threshold_above_the_map_says_the_rule_and_its_number(tmp_path):
    """'2 sigma' above EMD-3197's maximum was told 'threshold 5.58352 is above every value', the rule unsaid."""
    source = _blobs(tmp_path)
    density = np.zeros((16, 16, 16))
    density[4:6, 4:6, 4:6] = density[10:13, 10:13, 10:13] = 1
    mean, sd = density.mean(), density.std()
    line = refused_line(maskrun("make-mask", tmp_path / "m.mrc", "--from-map", source, "--threshold", "20 sigma"))
    assert line.endswith(
        f"{source}: --threshold: threshold '20 sigma' = mean {mean:.4g} + 20 × σ {sd:.4g} = {mean + 20 * sd:.6g} is "
        "above every value of the map (its range is 0 to 1); lower the threshold"
    ), line


def test_a_3d_shape_like_a_stack_is_refused_for_its_shape_before_its_lengths(tmp_path):
    """The review: a sphere in Å like a stack at RELION's 1 Å/px was refused for its radius; given --pixel-size, the
    user was then told a sphere is no shape for particle images. The shape's refusal comes first, alone."""
    stack = write_mrc(tmp_path / "p.mrcs", np.zeros((5, 32, 32), np.float32), voxel_size=1.0)
    before = digest(tmp_path)
    proc = maskrun("make-mask", tmp_path / "o.mrc", "--shape", "sphere", "--radius", "15A", "--like", stack)
    assert refused_line(proc).endswith("--shape: 'sphere' is not a shape for particle images (2D); use 'circular'")
    assert "Å" not in proc.stderr and digest(tmp_path) == before
