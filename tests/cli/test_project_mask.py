"""``maskrun project-mask`` (issue 25 items 3 and 5): per-particle masks in particle order, --raw as relion_project,
the same masks from every format, refusals with one line and nothing written."""

from __future__ import annotations

import shutil
import subprocess

import mrcfile
import numpy as np
import pytest

from maskrun.cli.main import main

from pose_sets import PIXEL, WRITERS, float32_poses, random_poses, soft_ellipsoid, write_soft_ellipsoid, write_star31

BOX = 48


@pytest.fixture
def folder(tmp_path):
    write_soft_ellipsoid(tmp_path / "mask.mrc", BOX)
    return tmp_path


def said_besides_the_cut(capsys) -> list[str]:
    """stderr's lines but the warning that the box cuts the masks: the test's ellipsoid, off-centre, reaches the box
    edge at many poses (tests/cli/test_project_mask.py::test_masks_the_box_cuts_are_warned_of_...)."""
    return [line for line in capsys.readouterr().err.splitlines() if "reach the box edge" not in line]


def project(folder, particles, *options) -> np.ndarray:
    out = folder / "out.mrcs"
    assert main(["project-mask", str(folder / "mask.mrc"), str(particles), str(out), "--overwrite", *options]) == 0
    with mrcfile.open(out) as mrc:
        assert mrc.voxel_size.x == pytest.approx(PIXEL)
        return mrc.data.copy()


def test_support_masks_are_one_inside_a_soft_edge_and_zero_far_out(folder):
    poses = random_poses(8)
    raw = project(folder, write_star31(folder, poses, BOX), "--raw")
    masks = project(folder, folder / "p31.star", "--soft-edge", "3")
    assert masks.shape == (8, BOX, BOX) and masks.min() >= 0 and masks.max() <= 1
    inside = raw > 0.05 * raw.max(axis=(1, 2), keepdims=True)
    assert (masks[inside] == 1).all()
    edge = (masks > 0) & (masks < 1)
    assert edge.any() and not (edge & inside).any()
    hard = project(folder, folder / "p31.star", "--soft-edge", "0")
    np.testing.assert_array_equal(hard, inside.astype(np.float32))
    scaled = project(folder, folder / "p31.star", "--mode", "scaled")
    np.testing.assert_allclose(scaled.max(axis=(1, 2)), 1.0)
    np.testing.assert_allclose(scaled, np.clip(raw / raw.max(axis=(1, 2), keepdims=True), 0, 1), atol=1e-6)


def test_masks_are_in_particle_order(folder):
    poses = random_poses(6)
    forward = project(folder, write_star31(folder, poses, BOX), "--raw")
    backward = {key: values[::-1] for key, values in poses.items()}
    reversed_masks = project(folder, write_star31(folder, backward, BOX, name="back.star"), "--raw")
    np.testing.assert_array_equal(reversed_masks, forward[::-1])


@pytest.mark.parametrize("name", ["cs", "xmd", "sqlite", "star30"])
def test_every_format_gives_the_star_routes_masks(folder, name):
    poses = float32_poses(random_poses(10, seed=11))  # the numbers a .cs holds (float32) in every format
    reference = project(folder, write_star31(folder, poses, BOX))
    (folder / name).mkdir()
    ours = project(folder, WRITERS[name](folder / name, poses, BOX))
    assert np.abs(ours - reference).max() <= 1e-6


RELION_PROJECT = shutil.which("relion_project")


@pytest.mark.skipif(RELION_PROJECT is None, reason="relion_project (RELION 3.1) is not installed")
def test_raw_equals_relion_project_for_every_particle(folder):
    star = write_star31(folder, random_poses(40, seed=5), BOX)
    subprocess.run(
        [RELION_PROJECT, "--i", "mask.mrc", "--ang", star.name, "--o", "rp"],
        cwd=folder,
        check=True,
        capture_output=True,
    )
    reference = mrcfile.read(folder / "rp.mrcs")
    ours = project(folder, star, "--raw")
    error = np.sqrt(((ours - reference) ** 2).mean(axis=(1, 2)) / (reference**2).mean(axis=(1, 2)))
    assert error.max() <= 1e-3
    inside_ours = ours > 0.05 * ours.max(axis=(1, 2), keepdims=True)
    inside_relion = reference > 0.05 * reference.max(axis=(1, 2), keepdims=True)
    iou = (inside_ours & inside_relion).sum(axis=(1, 2)) / (inside_ours | inside_relion).sum(axis=(1, 2))
    assert iou.min() >= 0.99


def refused(folder, capsys, mask, particles, *options: str) -> str:
    before = sorted(p.name for p in folder.iterdir())
    assert main(["project-mask", str(mask), str(particles), str(folder / "new.mrcs"), *options]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert sorted(p.name for p in folder.iterdir()) == before  # nothing written
    return lines[0]


def test_particles_without_poses_exit_2(folder, capsys):
    star = write_star31(folder, random_poses(3), BOX)
    text = star.read_text().replace("_rlnAngleTilt", "_rlnAngleTiltPrior")
    star.write_text(text)
    line = refused(folder, capsys, folder / "mask.mrc", star)
    assert "p31.star" in line and "rlnAngleTilt" in line


def test_a_3d_mask_of_another_box_or_voxel_size_exits_2(folder, capsys):
    star = write_star31(folder, random_poses(3), BOX)
    with mrcfile.new(folder / "small.mrc") as mrc:
        mrc.set_data(np.zeros((32, 32, 32), np.float32))
        mrc.voxel_size = PIXEL
    line = refused(folder, capsys, folder / "small.mrc", star)
    assert "small.mrc" in line and "32 x 32 x 32" in line and f"{BOX} x {BOX}" in line
    with mrcfile.new(folder / "coarse.mrc") as mrc:
        mrc.set_data(np.zeros((BOX, BOX, BOX), np.float32))
        mrc.voxel_size = 2 * PIXEL
    line = refused(folder, capsys, folder / "coarse.mrc", star)
    assert "coarse.mrc" in line and "3 Å voxels" in line and "1.5 Å pixels" in line


RELION_IMAGE_HANDLER = shutil.which("relion_image_handler")


def test_a_3d_mask_of_the_particles_box_at_a_placeholder_voxel_size_is_offered_the_header_fix_first(folder, capsys):
    """A 3D mask of the particles' box whose header says 1 Å was told to be resampled: done as told, it became a
    box of another size, refused in turn. Of their box, it was made for them: setting the header is the first fix,
    worded as check-mask words it; the resampling offered brings it back to their box."""
    star = write_star31(folder, random_poses(3), BOX)
    write_soft_ellipsoid(folder / "apix1.mrc", BOX, voxel_size=1.0)
    line = refused(folder, capsys, folder / "apix1.mrc", star)
    header = (
        f"if only its header is wrong, set {PIXEL:g} Å in it (relion_image_handler --i apix1.mrc --o apix1_fixed.mrc "
        f"--force_header_angpix {PIXEL:g})"
    )
    assert line == (
        f"maskrun project-mask: error: {folder / 'apix1.mrc'}: MASK3D: has 1 Å voxels but the particles {PIXEL:g} Å "
        f"pixels, in the same box ({BOX} x {BOX} x {BOX}): {header}; else resample it to {PIXEL:g} Å and bring it back "
        f"to their box (relion_image_handler --i apix1.mrc --o apix1_{PIXEL:g}A.mrc --rescale_angpix {PIXEL:g} "
        f"--new_box {BOX})"
    )
    if RELION_IMAGE_HANDLER is None:
        return
    for command in (header.split("(")[1].rstrip(")"), line.rsplit("(", 1)[1].rstrip(")")):  # each fix, as given
        subprocess.run(command.split(), cwd=folder, check=True, capture_output=True)
        fixed = folder / command.split()[4]
        assert main(["project-mask", str(fixed), str(star), str(folder / "fixed.mrcs"), "--overwrite"]) == 0
        capsys.readouterr()


def test_raw_with_an_option_that_makes_masks_is_refused(folder, capsys):
    """--raw writes the projections: --mode, --threshold or --soft-edge beside it would change nothing."""
    star = write_star31(folder, random_poses(3), BOX)
    line = refused(folder, capsys, folder / "mask.mrc", star, "--raw", "--mode", "scaled")
    assert line.endswith("--raw: --mode makes masks, and --raw writes the projections themselves; drop it or --raw")
    line = refused(folder, capsys, folder / "mask.mrc", star, "--raw", "--threshold", "0.2", "--soft-edge", "3")
    assert "--threshold, --soft-edge make masks" in line and "drop them or --raw" in line


def test_an_existing_output_is_kept_without_overwrite(folder, capsys):
    star = write_star31(folder, random_poses(3), BOX)
    (folder / "new.mrcs").write_bytes(b"keep")
    line = refused(folder, capsys, folder / "mask.mrc", star)
    assert "--overwrite" in line and (folder / "new.mrcs").read_bytes() == b"keep"


def test_a_folder_as_output_is_refused(folder, capsys):
    star = write_star31(folder, random_poses(3), BOX)
    (folder / "out.mrcs").mkdir()
    assert main(["project-mask", str(folder / "mask.mrc"), str(star), str(folder / "out.mrcs"), "--overwrite"]) == 2
    err = capsys.readouterr().err
    assert err == f"maskrun project-mask: error: {folder / 'out.mrcs'}: is a folder; give a file name for the output\n"
    assert list((folder / "out.mrcs").iterdir()) == []


def test_the_particles_own_stack_is_never_the_output_even_with_overwrite(folder, capsys):
    star = write_star31(folder, random_poses(3), BOX)
    stack = folder / "particles.mrcs"
    before = stack.read_bytes()
    linked = folder / "linked.mrcs"
    linked.symlink_to(stack)
    for output, said in ((stack, "is the input file"), (linked, "is a symbolic link (to")):
        assert main(["project-mask", str(folder / "mask.mrc"), str(star), str(output), "--overwrite"]) == 2
        line = capsys.readouterr().err.strip()
        assert said in line and "\n" not in line, line  # a link is refused before the particles are read
    assert stack.read_bytes() == before and linked.is_symlink()


def test_a_cs_stack_not_found_is_projected_without_and_the_note_names_the_option_that_finds_it(folder, capsys):
    """relion_project needs no stacks, nor does project-mask (tests/cli/test_project_mask_without_stacks.py); a user
    whose stacks are elsewhere hears which option finds them."""
    from pose_sets import WRITERS

    cs = WRITERS["cs"](folder, random_poses(3), BOX)
    records = np.load(cs)
    records["blob/path"] = b"J12/extract/particles.mrcs"  # relative to the cryoSPARC project folder
    with open(cs, "wb") as file:
        np.save(file, records)
    assert main(["project-mask", str(folder / "mask.mrc"), str(cs), str(folder / "new.mrcs")]) == 0
    note = capsys.readouterr().err.strip()
    assert f"its stack {folder / 'J12/extract/particles.mrcs'} is not found (--project-dir finds it elsewhere)" in note


@pytest.mark.parametrize("psize", [0.0, None])
def test_a_cs_without_a_usable_pixel_size_is_refused_in_the_cs_own_terms(folder, capsys, psize):
    """No STAR is written here: the line names the .cs field and how to set it, not RELION's columns."""
    from numpy.lib.recfunctions import drop_fields

    from conftest import write_mrc

    cs = WRITERS["cs"](folder, random_poses(3), BOX)
    write_mrc(folder / "particles.mrcs", np.zeros((3, BOX, BOX), np.float32), voxel_size=0)  # no header size either
    records = np.load(cs)
    if psize is None:
        records = drop_fields(records, "blob/psize_A", usemask=False)
    else:
        records["blob/psize_A"] = psize
    with open(cs, "wb") as file:
        np.save(file, records)
    line = refused(folder, capsys, folder / "mask.mrc", cs)
    assert line.startswith(f"maskrun project-mask: error: {cs}: blob/psize_A: ")
    fix = "set blob/psize_A in the .cs to" if psize is not None else "add blob/psize_A (float32, one per row) with"
    assert f"{fix} the images' pixel size in Å" in line and "the stack header (particles.mrcs) gives no" in line
    assert "STAR" not in line and "rln" not in line


def test_an_image_column_for_a_set_without_one_is_refused(folder, capsys):
    """--image-column picks a .star or .xmd column; a .cs has its blob/path, and an option that changes nothing is a
    misunderstanding."""
    cs = WRITERS["cs"](folder, random_poses(3), BOX)
    line = refused(folder, capsys, folder / "mask.mrc", cs, "--image-column", "_imageRef")
    assert line == (
        f"maskrun project-mask: error: --image-column: picks a column of a .star or .xmd set, and {cs} is neither; "
        "drop --image-column"
    )


def test_a_project_dir_that_is_not_a_folder_is_refused(folder, capsys):
    cs = write_star31(folder, random_poses(3), BOX)
    out = folder / "new.mrcs"
    missing = folder / "nonexistent"
    assert main(["project-mask", str(folder / "mask.mrc"), str(cs), str(out), "--project-dir", str(missing)]) == 2
    line = capsys.readouterr().err.strip()
    assert line.startswith(f"maskrun project-mask: error: {missing}: --project-dir: no such folder; give the"), line
    assert "\n" not in line and not out.exists()


def test_a_density_map_given_as_the_mask_projects_with_a_warning(folder, capsys):
    """A map where a mask was meant: masks all the same (they follow its density), and one warning line saying so."""
    star = write_star31(folder, random_poses(3), BOX)
    masks = project(folder, star)
    assert said_besides_the_cut(capsys) == []  # a mask: nothing to say
    maps = ((soft_ellipsoid(BOX) * 5 - 0.25, "-0.25 to 4.75"), (soft_ellipsoid(BOX) * 1e-3, "0 to 0.001"))
    for density, shown in maps:
        with mrcfile.new(folder / "mask.mrc", overwrite=True) as mrc:
            mrc.set_data(density.astype(np.float32))
            mrc.voxel_size = PIXEL
        assert project(folder, star).shape == masks.shape
        err = said_besides_the_cut(capsys)
        assert len(err) == 1 and err[0].startswith(f"maskrun: warning: {folder / 'mask.mrc'}: values run from {shown}")
        assert "not a mask's 0 to 1 (a density map?)" in err[0]
    project(folder, star, "--raw")  # projections of a map are what --raw is for
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("reach_px", [0.0, 12.0])
def test_masks_the_box_cuts_are_warned_of_in_the_words_of_a_jobs_report(folder, capsys, reach_px):
    """A RELION user's look: 23 % of the masks reached the box edge and project-mask said nothing, where a job says
    it in its report and run record. The same rule, in the same words (centred particles: a tighter mask or a larger
    box; off-centre ones: re-centring); masks within the box say nothing, nor do --raw's projections."""
    from maskrun.api import run_job

    from conftest import write_mrc
    from job_files import write_job

    count = 12
    star = write_star31(folder, random_poses(count, seed=21, max_origin_px=reach_px), BOX, name="particles.star")
    write_mrc(folder / "particles.mrcs", np.ones((count, BOX, BOX), np.float32), voxel_size=PIXEL)
    z, y, x = np.mgrid[:BOX, :BOX, :BOX] - BOX // 2
    radius = 10 if reach_px else 20  # off-centre particles cut by a small mask; centred ones by one too large
    sphere = (np.sqrt(x * x + y * y + (z / 1.5) ** 2) <= radius).astype(np.float32)
    with mrcfile.new(folder / "mask.mrc", overwrite=True) as mrc:
        mrc.set_data(sphere)
        mrc.voxel_size = PIXEL
    project(folder, star, "--soft-edge", "2")
    err = capsys.readouterr().err.strip().splitlines()
    job = {
        "version": 1,
        "name": "cut",
        "inputs": {"particles": "particles.star"},
        "mask": {"source": "projection", "projection": {"file": "mask.mrc", "soft_edge_px": 2, "sampling": "full"}},
        "fill": {"with": "value", "value": 0},
        "report": True,
    }
    out = run_job(write_job(folder, job)).output_dir
    import json

    said = [w for w in json.loads((out / "provenance" / "run.json").read_text())["warnings"] if "box edge" in w]
    assert len(said) == 1 and "(all particles)" in said[0]
    assert err == [f"maskrun: warning: {folder / 'mask.mrc'}: {said[0]}"]
    advice = "re-extract them re-centred" if reach_px else "use a tighter 3D mask, or re-extract the particles"
    assert advice in said[0]
    project(folder, star, "--raw")
    assert capsys.readouterr().err == ""


def test_a_wrong_blob_shape_is_warned_of_in_project_mask_terms(folder, capsys):
    """project-mask writes no .cs: the warning says the masks are made at the stacks' shape."""
    cs = WRITERS["cs"](folder, random_poses(3), BOX)
    records = np.load(cs)
    records["blob/shape"] = 40
    with open(cs, "wb") as file:
        np.save(file, records)
    assert project(folder, cs).shape == (3, BOX, BOX)
    err = said_besides_the_cut(capsys)
    assert err == [
        f"maskrun: warning: {cs}: blob/shape is [40, 40] in every row, but the images in the stacks are [{BOX}, {BOX}] "
        "(ny, nx, from their MRC headers); their masks are made at the stacks' true shape"
    ]


@pytest.mark.parametrize("which", ["particles", "mask"])
def test_a_broken_link_as_an_input_is_named_as_such(folder, capsys, which):
    """A link whose target moved is told as a broken link, not as a file not found, for either input."""
    star = write_star31(folder, random_poses(3), BOX)
    link = folder / ("gone.star" if which == "particles" else "gone.mrc")
    link.symlink_to(folder / "moved" / link.name)
    mask, particles = (folder / "mask.mrc", link) if which == "particles" else (link, star)
    line = refused(folder, capsys, mask, particles)
    field = "" if which == "particles" else "MASK3D: "
    assert line == (
        f"maskrun project-mask: error: {link}: {field}is a broken link to {folder / 'moved' / link.name} "
        "(its target is not there): move the data back or fix the link"
    )


def test_a_3d_mask_stored_in_another_axis_order_is_noted_and_projected_as_stored(folder, capsys):
    """A RELION user's look: a mask saved with mapc, mapr, maps = 3, 2, 1 projects along its stored axes (as
    relion_project reads it), giving other masks than the same mask stored x, y, z, and nothing said so."""
    particles = write_star31(folder, random_poses(4), BOX)
    stored = project(folder, particles, "--raw")
    capsys.readouterr()
    with mrcfile.open(folder / "mask.mrc", mode="r+") as mrc:
        mrc.header.mapc, mrc.header.maps = 3, 1
    turned = project(folder, particles, "--raw")
    notes = [line for line in said_besides_the_cut(capsys) if line.startswith("maskrun: note:")]
    assert notes == [
        "maskrun: note: mask.mrc stores its axes as z, y, x (mapc, mapr, maps = 3, 2, 1): it is projected along its "
        "stored axes, as relion_project reads it; if the particles' poses were refined against a map stored x, y, z, "
        "store the 3D mask in that order too"
    ]
    np.testing.assert_array_equal(turned, stored)  # its values as stored, as before: only the note is new
