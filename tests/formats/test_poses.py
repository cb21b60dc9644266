"""Poses from every format (issue 25): the same poses written as STAR 3.0/3.1, .xmd, .cs and a Scipion set give
the same masks; sets without poses are refused with one line."""

from __future__ import annotations

import numpy as np
import pytest

from maskrun.errors import UserError
from maskrun.formats.poses import pose_parts, poses_of, psi_of
from maskrun.formats.registry import load_particle_set
from maskrun.geometry.projection import SliceProjector, euler_matrices

from pose_sets import PIXEL, WRITERS, float32_poses, random_poses, soft_ellipsoid, write_cs, write_scipion, write_stack

BOX = 32


def masks(poses, volume):
    return SliceProjector(volume).project(
        poses.rot_deg, poses.tilt_deg, poses.psi_deg, poses.origin_x_px, poses.origin_y_px
    )


@pytest.fixture(scope="module")
def volume():
    return soft_ellipsoid(BOX)


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_each_format_gives_the_star_routes_poses_and_masks(tmp_path, name, volume):
    written = float32_poses(random_poses(12, seed=3))  # numbers every format holds exactly, .cs's float32 included
    reference = masks(poses_of(load_particle_set(WRITERS["star31"](tmp_path, written, BOX))), volume)
    (tmp_path / name).mkdir()
    poses = poses_of(load_particle_set(WRITERS[name](tmp_path / name, written, BOX)))
    np.testing.assert_allclose(poses.origin_x_px, written["x"], atol=1e-5)
    np.testing.assert_allclose(poses.origin_y_px, written["y"], atol=1e-5)
    expected = euler_matrices(written["rot"], written["tilt"], written["psi"])
    np.testing.assert_allclose(euler_matrices(poses.rot_deg, poses.tilt_deg, poses.psi_deg), expected, atol=1e-6)
    difference = np.abs(masks(poses, volume) - reference).max() / reference.max()
    assert difference <= 1e-6


def test_cs_holds_float32_poses_and_they_are_read_exactly(tmp_path):
    """Any pose written to .cs becomes its float32 rounding (up to ~1e-5 of a mask's peak), and nothing else."""
    written = random_poses(12, seed=4)
    poses = poses_of(load_particle_set(write_cs(tmp_path, written, BOX)))
    rounded = float32_poses(written)
    expected = euler_matrices(rounded["rot"], rounded["tilt"], rounded["psi"])
    np.testing.assert_allclose(euler_matrices(poses.rot_deg, poses.tilt_deg, poses.psi_deg), expected, atol=1e-12)
    np.testing.assert_array_equal(poses.origin_x_px, rounded["x"])
    np.testing.assert_array_equal(poses.origin_y_px, rounded["y"])


@pytest.mark.parametrize("alignment_pixel", [2 * PIXEL, 0.5 * PIXEL])
def test_cs_shifts_in_another_alignment_box_are_rescaled_to_the_image_pixels(tmp_path, alignment_pixel, volume):
    """Hetero-refinement aligns at half the box (``alignments3D/psize_A`` twice ``blob/psize_A``): its shifts, in
    that box's pixels, give the STAR route's origins and masks."""
    written = float32_poses(random_poses(8, seed=9))
    reference = masks(poses_of(load_particle_set(WRITERS["star31"](tmp_path, written, BOX))), volume)
    (tmp_path / "cs").mkdir()
    poses = poses_of(load_particle_set(write_cs(tmp_path / "cs", written, BOX, alignment_pixel=alignment_pixel)))
    np.testing.assert_allclose(poses.origin_x_px, written["x"], rtol=1e-7)
    np.testing.assert_allclose(poses.origin_y_px, written["y"], rtol=1e-7)
    assert np.abs(masks(poses, volume) - reference).max() <= 1e-6 * reference.max()


def test_gimbal_lock_poses_keep_their_rotation(tmp_path):
    written = random_poses(4)
    written["tilt"] = np.array([0.0, 180.0, 0.0, 180.0])
    poses = poses_of(load_particle_set(write_scipion(tmp_path, written, BOX)))
    expected = euler_matrices(written["rot"], written["tilt"], written["psi"])
    np.testing.assert_allclose(euler_matrices(poses.rot_deg, poses.tilt_deg, poses.psi_deg), expected, atol=1e-9)


def refusal(path) -> str:
    with pytest.raises(UserError) as caught:
        poses_of(load_particle_set(path))
    return str(caught.value)


def test_sets_without_poses_are_refused_naming_the_file_and_the_fix(tmp_path):
    stack = write_stack(tmp_path, 3, BOX)
    star = tmp_path / "plain.star"
    star.write_text("data_\nloop_\n_rlnImageName\n" + "".join(f"{i}@{stack}\n" for i in (1, 2, 3)))
    message = refusal(star)
    assert "plain.star" in message and "rlnAngleRot" in message and "3D refinement" in message
    assert "no 3D poses" in refusal(write_scipion(tmp_path, random_poses(3), BOX, alignment="2D"))
    assert "records no particle poses" in refusal(tmp_path / stack)


def test_a_row_with_a_missing_angle_is_named(tmp_path):
    written = random_poses(4)
    path = WRITERS["star30"](tmp_path, written, BOX)
    lines = path.read_text().splitlines()
    lines[-2] = lines[-2].replace(repr(float(written["tilt"][2])), "nan")
    path.write_text("\n".join(lines) + "\n")
    message = refusal(path)
    assert message.endswith(
        "row 3 has no usable pose: its tilt angle (rlnAngleTilt) is missing or not a number; fix or drop that row"
    )


def test_a_row_missing_several_parts_names_them_in_plain_words(tmp_path):
    path = write_cs(tmp_path, random_poses(4), BOX)
    records = np.load(path)
    records["alignments3D/pose"][1] = np.nan  # a rotation vector that is not a number: no angle at all
    with open(path, "wb") as file:
        np.save(file, records)
    with pytest.warns(UserWarning, match=r"row 2 \(index 1\) has a pose that is not a number; the RELION particles"):
        message = refusal(path)
    assert message.endswith(
        "row 2 has no usable pose: its rot, tilt and psi angles (alignments3D/pose) are missing or not numbers; fix or "
        "drop that row"
    )


@pytest.mark.parametrize(
    ("parts", "words"),
    [
        (["tilt angle"], "tilt angle"),
        (["rot angle", "psi angle"], "rot and psi angles"),
        (
            ["rot angle", "tilt angle", "psi angle", "x origin", "y origin"],
            "rot, tilt and psi angles and x and y origins",
        ),
        (["y origin"], "y origin"),
    ],
)
def test_pose_parts(parts, words):
    assert pose_parts(parts) == words


def psi_refusal(particles) -> str:
    with pytest.raises(UserError) as caught:
        psi_of(particles)
    return str(caught.value)


def test_sets_without_in_plane_angles_name_both_alignments_that_give_them(tmp_path):
    """follow: pose takes a 2D classification's alignments as well as 3D poses: the refusal says so."""
    stack = write_stack(tmp_path, 3, BOX)
    star = tmp_path / "plain.star"
    star.write_text("data_\nloop_\n_rlnImageName\n" + "".join(f"{i}@{stack}\n" for i in (1, 2, 3)))
    assert psi_refusal(load_particle_set(star)).endswith(
        "has no rlnAnglePsi column (nor rlnAnglePsiPrior, a helical extraction's, taken in its place): these "
        "particles have no in-plane angles; take the set from a 3D refinement or a 2D classification (RELION's "
        "Refine3D, Class3D or Class2D)"
    )
    cs = write_cs(tmp_path, random_poses(3), BOX)
    records = np.load(cs)
    with open(cs, "wb") as file:
        np.save(file, np.ascontiguousarray(records[[n for n in records.dtype.names if "alignments" not in n]]))
    assert (
        "has no alignments3D/pose or alignments2D/pose: these particles have no poses; take the particles "
        "output of a 3D refinement or a 2D classification" in psi_refusal(load_particle_set(cs))
    )
    scipion = write_scipion(tmp_path, random_poses(3), BOX, alignment="None")
    assert (
        "not Projection or 2D: its particles have no poses (give the output of a 3D refinement or a 2D "
        "classification)" in psi_refusal(load_particle_set(scipion))
    )
    assert "records no particle poses; give a set from a 3D refinement or a 2D classification" in psi_refusal(
        load_particle_set(tmp_path / stack)
    )
