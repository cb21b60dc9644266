"""``mask.follow: offsets`` (issue 25 item 2): a 2D shape placed at each particle's recorded centre."""

from __future__ import annotations

import mrcfile
import numpy as np
import pytest

import maskrun
from maskrun.api import run_job
from maskrun.errors import MaskrunWarning

from conftest import write_mrc
from job_files import validate_refuses, write_job
from pose_sets import PIXEL, random_poses, write_cs, write_cs_2d, write_scipion, write_star31, write_xmd_2d

BOX = 40
COUNT = 9
SHAPE = {"shape": "raised_cosine", "inner_radius": 8, "outer_radius": 12}


def job(**mask) -> dict:
    return {
        "version": 1,
        "name": "f",
        "inputs": {"particles": "particles.star"},
        "mask": {"source": "geometry", "geometry": SHAPE, "follow": "offsets", **mask},
        "fill": {"with": "value", "value": 0},
        "batch_size": 4,
        "report": True,
    }


@pytest.fixture
def folder(tmp_path):
    write_star31(tmp_path, random_poses(COUNT, seed=8, max_origin_px=6), BOX, name="particles.star")
    images = np.random.default_rng(2).normal(1.0, 1.0, (COUNT, BOX, BOX)).astype(np.float32)
    write_mrc(tmp_path / "particles.mrcs", images, voxel_size=PIXEL)
    return tmp_path


def expected(images, x, y) -> np.ndarray:
    """Each image times the shape centred at −origin (the shape's own centre shift), built by the API."""
    masks = [maskrun.make_mask({**SHAPE, "center": [-a, -b]}, (BOX, BOX)) for a, b in zip(x, y)]
    return images * np.array(masks)


def test_the_shape_sits_at_each_particles_centre(folder):
    poses = random_poses(COUNT, seed=8, max_origin_px=6)
    with pytest.warns(MaskrunWarning, match="the mask is tight: "):  # before the run, on the report's sample
        out = run_job(write_job(folder, job())).output_dir
    masked = np.concatenate([mrcfile.read(p).reshape(-1, BOX, BOX) for p in sorted((out / "stacks").glob("*.mrcs"))])
    images = mrcfile.read(folder / "particles.mrcs")
    np.testing.assert_allclose(masked, expected(images, poses["x"], poses["y"]), atol=1e-6)
    assert not np.allclose(masked, expected(images, poses["x"] * 0, poses["y"] * 0), atol=1e-3)
    assert "its own mask" in (out / "report" / "report.html").read_text()


def test_cs_shifts_follow_as_star_origins_do(folder):
    poses = random_poses(COUNT, seed=8, max_origin_px=6)
    (folder / "cs").mkdir()
    write_cs(folder / "cs", poses, BOX)
    write_mrc(folder / "cs" / "particles.mrcs", mrcfile.read(folder / "particles.mrcs"), voxel_size=PIXEL)
    data = job()
    data["inputs"] = {"particles": "p.cs"}
    data["report"] = False
    out = run_job(write_job(folder / "cs", data)).output_dir
    masked = np.concatenate([mrcfile.read(p).reshape(-1, BOX, BOX) for p in sorted((out / "stacks").glob("*.mrcs"))])
    images = mrcfile.read(folder / "particles.mrcs")
    np.testing.assert_allclose(masked, expected(images, poses["x"], poses["y"]), atol=1e-5)


@pytest.mark.parametrize(
    "change, words",
    [
        ({"follow": "turn"}, "offsets"),
        ({"source": "file", "geometry": None, "file": "m.mrc"}, "needs source: geometry"),
    ],
)
def test_an_unknown_follow_and_follow_without_a_shape_are_refused(folder, capsys, change, words):
    data = job()
    data["mask"] = {k: v for k, v in {**data["mask"], **change}.items() if v is not None}
    assert words in validate_refuses(write_job(folder, data), capsys)


@pytest.mark.parametrize("follow", ["offsets", "pose"])
def test_follow_beside_a_projected_mask_is_refused_proposing_its_removal(folder, capsys, follow):
    """A RELION user's look: follow added to a projection job was told it needs source: geometry; a projected mask
    already follows each particle's pose and origin, so the fix is removing follow, not changing the source."""
    write_mrc(folder / "m3d.mrc", np.ones((BOX, BOX, BOX), np.float32), voxel_size=PIXEL)
    data = job(follow=follow, source="projection", projection={"file": "m3d.mrc"})
    del data["mask"]["geometry"]
    line = validate_refuses(write_job(folder, data), capsys)
    assert line.endswith(
        "mask.follow: 'follow' places a shape at each particle's centre, for source: geometry; remove mask.follow (a "
        "projected mask follows each particle's pose and origin already)"
    )


@pytest.mark.parametrize("follow", ["offsets", "pose"])
def test_follow_on_a_set_without_origins_names_the_field_and_its_removal(folder, capsys, follow):
    """A RELION user's look: an extraction's STAR (no origins) was refused naming only its missing columns."""
    rows = "".join(f"{i:06d}@particles.mrcs\n" for i in range(1, COUNT + 1))
    (folder / "extracted.star").write_text(f"data_\nloop_\n_rlnImageName #1\n{rows}")
    data = job(follow=follow)
    data["inputs"] = {"particles": "extracted.star"}
    line = validate_refuses(write_job(folder, data), capsys)
    missing = (
        "rlnAnglePsi column (nor rlnAnglePsiPrior, a helical extraction's, taken in its place)"
        if follow == "pose"
        else "rlnOriginXAngst/rlnOriginYAngst (or rlnOriginX/rlnOriginY)"
    )
    assert line.startswith(f"maskrun validate: error: {folder / 'extracted.star'}: mask.follow: has no {missing}")
    assert "take the set from a 3D refinement or a 2D classification" in line
    assert line.endswith("; or remove mask.follow to mask every particle alike")


def iou(mask: np.ndarray, support: np.ndarray) -> float:
    inside = mask > 0.5
    return float((inside & support).sum() / (inside | support).sum())


def test_turned_box_lies_along_a_helical_segments_projection():
    """A rod along the map's z (the helical axis) projected at tilt 90 and psi lies along the box turned by −psi."""
    from maskrun.config.shape_params import Box
    from maskrun.geometry.projection import SliceProjector
    from maskrun.geometry.turned_shape import turned_mask

    n = 48
    z, y, x = np.mgrid[:n, :n, :n] - n // 2
    rod = ((x**2 + y**2 <= 9) & (np.abs(z) <= 16)).astype(np.float32)
    box = Box(box_size=(33, 7)).resolve(n_x=n, ndim=2)
    for psi in (0.0, 30.0, 75.0, -50.0):
        projection = SliceProjector(rod).project(0, 90, psi)[0]
        support = projection > 0.1 * projection.max()

        assert iou(turned_mask(box, (n, n), -psi), support) > 0.75
        if psi % 90:
            assert iou(turned_mask(box, (n, n), psi), support) < 0.5


def test_turning_by_0_or_90_degrees_gives_the_unturned_shapes():
    from maskrun.config.shape_params import Box
    from maskrun.geometry.masks import build_mask
    from maskrun.geometry.turned_shape import turned_mask

    wide, tall = (Box(box_size=s).resolve(n_x=41, ndim=2) for s in ((21, 7), (7, 21)))
    np.testing.assert_array_equal(turned_mask(wide, (41, 41), 0), build_mask(wide, (41, 41)).values)
    np.testing.assert_allclose(turned_mask(wide, (41, 41), 90), build_mask(tall, (41, 41)).values, atol=1e-6)


def test_follow_pose_turns_the_shape_by_each_particles_psi(folder):
    from maskrun.config.shape_params import Box
    from maskrun.geometry.turned_shape import turned_mask

    poses = random_poses(COUNT, seed=8, max_origin_px=6)
    data = job(follow="pose", geometry={"shape": "box", "box_size": [25, 9]})
    data["report"] = False
    out = run_job(write_job(folder, data)).output_dir
    masked = np.concatenate([mrcfile.read(p).reshape(-1, BOX, BOX) for p in sorted((out / "stacks").glob("*.mrcs"))])
    images = mrcfile.read(folder / "particles.mrcs")
    box = Box(box_size=(25, 9)).resolve(n_x=BOX, ndim=2)
    masks = [
        turned_mask(box.model_copy(update={"center": (-x, -y)}), (BOX, BOX), -psi)
        for x, y, psi in zip(poses["x"], poses["y"], poses["psi"])
    ]
    np.testing.assert_allclose(masked, images * np.array(masks), atol=1e-6)


def masked_stacks(out, box: int = BOX) -> np.ndarray:
    return np.concatenate([mrcfile.read(p).reshape(-1, box, box) for p in sorted((out / "stacks").glob("*.mrcs"))])


@pytest.mark.parametrize("name", ["p.cs", "p.sqlite", "p.xmd"])
def test_follow_pose_reads_2d_alignments_as_the_star_route_does(folder, name):
    """A cryoSPARC 2D classification (``alignments2D/pose`` in radians), a Scipion ``2D`` set and an Xmipp 2D
    alignment (``anglePsi`` without tilt) turn and place the shape as the same particles' STAR does."""
    poses = random_poses(COUNT, seed=12, max_origin_px=6)
    # the numbers a .cs holds (float32 radians and px), in every file
    poses["psi"] = np.degrees(np.radians(poses["psi"]).astype(np.float32).astype(np.float64))
    poses["x"], poses["y"] = (poses[k].astype(np.float32).astype(np.float64) for k in ("x", "y"))
    images = mrcfile.read(folder / "particles.mrcs")
    write_star31(folder, poses, BOX, name="particles.star")
    write_mrc(folder / "particles.mrcs", images, voxel_size=PIXEL)
    data = job(follow="pose", geometry={"shape": "box", "box_size": [25, 9]})
    data["report"] = False
    reference = masked_stacks(run_job(write_job(folder, data)).output_dir)
    (folder / "2d").mkdir()
    writers = {"p.cs": write_cs_2d, "p.xmd": write_xmd_2d, "p.sqlite": lambda *a: write_scipion(*a, alignment="2D")}
    writer = writers[name]
    writer(folder / "2d", poses, BOX)
    write_mrc(folder / "2d" / "particles.mrcs", images, voxel_size=PIXEL)
    data["inputs"] = {"particles": name}
    masked = masked_stacks(run_job(write_job(folder / "2d", data)).output_dir)
    np.testing.assert_allclose(masked, reference, atol=1e-5)
    turned_back = {**poses, "psi": -poses["psi"]}  # the other sense would not do
    (folder / "wrong").mkdir()
    writer(folder / "wrong", turned_back, BOX)
    write_mrc(folder / "wrong" / "particles.mrcs", images, voxel_size=PIXEL)
    assert not np.allclose(masked_stacks(run_job(write_job(folder / "wrong", data)).output_dir), reference, atol=1e-3)


def test_2d_and_3d_cs_poses_turning_in_the_plane_give_one_psi(tmp_path):
    from maskrun.formats.poses import psi_of
    from maskrun.formats.registry import load_particle_set

    poses = random_poses(6, seed=5)
    poses["rot"], poses["tilt"] = np.zeros(6), np.zeros(6)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    planar = psi_of(load_particle_set(write_cs_2d(tmp_path / "a", poses, BOX)))
    spatial = psi_of(load_particle_set(write_cs(tmp_path / "b", poses, BOX)))
    for psi in (planar, spatial):  # a top view's in-plane turn is its psi (rot 0), not left in rot
        np.testing.assert_allclose((psi - poses["psi"] + 180) % 360 - 180, 0, atol=1e-4)


def test_a_mirrored_scipion_2d_transform_is_refused_for_follow_pose(folder, capsys):
    import json
    import sqlite3

    poses = random_poses(COUNT, seed=12)
    (folder / "m").mkdir()
    path = write_scipion(folder / "m", poses, BOX, alignment="2D")
    write_mrc(folder / "m" / "particles.mrcs", mrcfile.read(folder / "particles.mrcs"), voxel_size=PIXEL)
    with sqlite3.connect(path) as db:
        matrix = np.diag([-1.0, 1.0, 1.0, 1.0])
        db.execute("UPDATE Objects SET c05 = ? WHERE id = 3", (json.dumps(matrix.tolist()),))
    data = job(follow="pose", geometry={"shape": "box", "box_size": [25, 9]})
    data["inputs"] = {"particles": "p.sqlite"}
    message = validate_refuses(write_job(folder / "m", data), capsys)
    assert "item 3" in message and "mirrored" in message and "follow: offsets" in message


@pytest.mark.parametrize("forked", [True, False], ids=["processes", "threads"])
@pytest.mark.parametrize("follow", ["offsets", "pose"])
def test_save_masks_writes_each_particles_mask_as_applied(folder, monkeypatch, follow, forked):
    """``output.save_masks`` with ``follow``: one mask a particle, in row order, per batch, as projected jobs save;
    written by the workers that applied them (forked or threads), each placed once, not again to save it."""
    from maskrun.engine import following_masks, stream

    counted, real = folder / "placed.txt", following_masks.turned_mask

    def counting(*args, **kwargs):
        with open(counted, "a") as log:  # from any process
            log.write("1\n")
        return real(*args, **kwargs)

    monkeypatch.setattr(following_masks, "turned_mask", counting)
    monkeypatch.setattr(stream, "can_fork", lambda: forked)
    data = job(follow=follow, geometry={"shape": "box", "box_size": [25, 9], "soft_edge": 2})
    data["output"] = {"save_masks": True}
    data["report"] = False
    out = run_job(write_job(folder, data)).output_dir
    assert len(counted.read_text().split()) == COUNT
    saved = sorted((out / "masks").glob("*.mrcs"))
    assert [p.name for p in saved] == [p.name for p in sorted((out / "stacks").glob("*.mrcs"))]
    masks = np.concatenate([mrcfile.read(p).reshape(-1, BOX, BOX) for p in saved])
    assert len(masks) == COUNT and len({m.tobytes() for m in masks}) == COUNT  # each particle its own
    np.testing.assert_array_equal(masked_stacks(out), mrcfile.read(folder / "particles.mrcs") * masks)
    with mrcfile.open(saved[0]) as mrc:
        assert mrc.voxel_size.x == pytest.approx(PIXEL)


def test_a_followed_box_keeps_its_pixels_on_every_helical_segment(tmp_path):
    """A RELION 5 user's look: a 30 × 12 box following 4 segments at (psi 0, origin 0), (0, 0.3 Å), (0.5°, 0)
    and (90°, 0) kept 360, 348, 320 and 360 pixels; it keeps 30 × 12 on each."""
    poses = {"rot": np.zeros(4), "tilt": np.full(4, 90.0), "psi": np.array([0, 0, 0.5, 90]), "y": np.zeros(4)}
    poses["x"] = np.array([0, 0.3 / PIXEL, 0, 0])
    write_star31(tmp_path, poses, 64, name="particles.star")
    write_mrc(tmp_path / "particles.mrcs", np.ones((4, 64, 64), np.float32), voxel_size=PIXEL)
    data = job(follow="pose", geometry={"shape": "box", "box_size": [30, 12]})
    data["output"], data["report"] = {"save_masks": True}, False
    out = run_job(write_job(tmp_path, data)).output_dir
    assert mrcfile.read(out / "masks" / "batch_00001.mrcs").sum(axis=(1, 2)).tolist() == [360] * 4
    assert masked_stacks(out, 64).sum(axis=(1, 2)).tolist() == [360] * 4


def helical_extraction(folder, priors, origins: bool = False) -> None:
    """A RELION helical extraction's STAR: each segment's rlnAnglePsiPrior, no rlnAnglePsi (and no origins)."""
    optics = "data_optics\nloop_\n_rlnOpticsGroup\n_rlnImagePixelSize\n_rlnImageSize\n_rlnImageDimensionality\n"
    optics += f"1 {PIXEL} {BOX} 2\n\n"
    header = "_rlnImageName\n_rlnOpticsGroup\n_rlnHelicalTubeID\n_rlnAngleTiltPrior\n_rlnAnglePsiPrior\n"
    header += "_rlnAnglePsiFlipRatio\n" + ("_rlnOriginXAngst\n_rlnOriginYAngst\n" if origins else "")
    shift = f" {-3 * PIXEL!r} 0.0" if origins else ""
    rows = "".join(f"{i + 1:06d}@particles.mrcs 1 1 90.0 {psi!r} 0.5{shift}\n" for i, psi in enumerate(priors))
    (folder / "particles.star").write_text(f"{optics}data_particles\nloop_\n{header}{rows}")


@pytest.mark.parametrize("origins", [False, True])
def test_follow_pose_turns_a_helical_extractions_segments_by_their_psi_prior(folder, capsys, origins):
    """A RELION 5 user's look: a helical extraction (rlnAnglePsiPrior, no rlnAnglePsi) was refused as having no
    in-plane angles; the prior, each segment's picked direction, is RELION's starting psi, and is taken, said
    in a note. Extracted at the picked centres, it records no origins: each box turns about the box centre."""
    from maskrun.cli.main import main
    from maskrun.config.shape_params import Box
    from maskrun.geometry.turned_shape import turned_mask

    priors = np.random.default_rng(4).uniform(-180, 180, COUNT).tolist()
    helical_extraction(folder, priors, origins)
    data = job(follow="pose", geometry={"shape": "box", "box_size": [25, 9]})
    data["output"], data["report"] = {"save_masks": True}, False
    path = write_job(folder, data)
    assert main(["validate", str(path)]) == 0
    note = (
        "note: particles.star has no rlnAnglePsi: the shape is turned by each particle's rlnAnglePsiPrior (the "
        "helical segment's picked direction, the psi RELION's refinement starts from)"
    )
    centred = " about the box centre, where extraction centred each segment"
    assert f"{note}{'' if origins else centred}\n" in capsys.readouterr().out
    out = run_job(path).output_dir
    box = Box(box_size=(25, 9)).resolve(n_x=BOX, ndim=2)
    moved = box.model_copy(update={"center": (3.0, 0.0) if origins else (0.0, 0.0)})
    expected = np.array([turned_mask(moved, (BOX, BOX), -psi) for psi in priors])
    saved = np.concatenate([mrcfile.read(p).reshape(-1, BOX, BOX) for p in sorted((out / "masks").glob("*.mrcs"))])
    np.testing.assert_array_equal(saved, expected)
    np.testing.assert_array_equal(masked_stacks(out), mrcfile.read(folder / "particles.mrcs") * expected)


def test_a_helical_extraction_is_still_refused_for_follow_offsets_and_rlnanglepsi_wins_over_the_prior(folder, capsys):
    from maskrun.cli.main import main

    helical_extraction(folder, [0.0] * COUNT)
    path = write_job(folder, job(follow="offsets"))
    assert "has no rlnOriginXAngst/rlnOriginYAngst" in validate_refuses(path, capsys)
    write_star31(folder, random_poses(COUNT, seed=8), BOX, name="refined.star")
    refined = (folder / "refined.star").read_text()
    refined = refined.replace("_rlnOpticsGroup #7", "_rlnOpticsGroup #7\n_rlnAnglePsiPrior #8")
    lines = [line + " 12.5" if "@" in line else line for line in refined.splitlines()]
    (folder / "refined.star").write_text("\n".join(lines) + "\n")
    data = job(follow="pose")
    data["inputs"] = {"particles": "refined.star"}
    assert main(["validate", str(write_job(folder, data))]) == 0
    assert "rlnAnglePsiPrior" not in capsys.readouterr().out


def _filament_extraction(folder, passthrough: bool) -> None:
    """A filament tracer's extraction, as make_cs.py of the helical look writes it: blob and CTF, ``filament/*``
    and no alignments; with ``passthrough``, the filament slot in ``p_passthrough.cs`` beside it, as cryoSPARC
    keeps inherited slots."""
    poses = random_poses(COUNT, seed=13)
    source = write_cs(folder, poses, BOX)
    records = np.load(source)
    kept = np.ascontiguousarray(records[[n for n in records.dtype.names if "alignments" not in n]])
    filament = np.zeros(
        COUNT, dtype=[("uid", "<u8"), ("filament/filament_uid", "<u8"), ("filament/filament_pose", "<f4")]
    )
    filament["uid"] = kept["uid"]
    filament["filament/filament_uid"] = 10**12 + np.arange(COUNT) // 3
    filament["filament/filament_pose"] = -np.radians(poses["psi"])
    if passthrough:
        with open(folder / "p_passthrough.cs", "wb") as file:
            np.save(file, filament)
        main = kept
    else:
        main = np.zeros(COUNT, dtype=kept.dtype.descr + filament.dtype.descr[1:])
        for name in kept.dtype.names:
            main[name] = kept[name]
        for name in filament.dtype.names[1:]:
            main[name] = filament[name]
    with open(source, "wb") as file:
        np.save(file, main)
    source.rename(folder / "p.cs")


@pytest.mark.parametrize("passthrough", [False, True])
def test_a_filament_extractions_pose_is_named_and_not_taken_for_follow_pose(tmp_path, capsys, passthrough):
    """The helical look (finding 5): an extraction's ``filament/filament_pose`` was passed over in silence; the
    refusal names it, says why it is not taken (helicon and pyem differ by 90° and a sign) and what to take."""
    _filament_extraction(tmp_path, passthrough)
    data = job(follow="pose", geometry={"shape": "box", "box_size": [25, 9]})
    data["inputs"] = {"particles": "p.cs"} | ({"passthrough": "p_passthrough.cs"} if passthrough else {})
    message = validate_refuses(write_job(tmp_path, data), capsys)
    assert (
        "has no alignments3D/pose or alignments2D/pose" + (", nor has its passthrough " if passthrough else ": ")
    ) in message
    assert (
        "these particles have no poses (filament/filament_pose, each segment's direction as picked, is not taken "
        "for psi: the converters disagree on its convention, helicon writing rlnAnglePsiPrior = -pose and pyem's "
        "csparc2star 90° - pose, in degrees, and neither was checked against cryoSPARC, so a mask turned by it "
        "could lie across the filament); take the particles output of a 2D classification of these segments (or "
        "a 3D refinement)"
    ) in message
    assert message.endswith("; or remove mask.follow to mask every particle alike")
