"""The RELION STAR written beside a masked ``.cs``: its CTF (phase shift included), its poses (the same as the STAR
route's), its pixel size as the ``.cs`` gives it, and RELION reading it as the same particles."""

from __future__ import annotations

import subprocess

import mrcfile
import numpy as np
import pytest
import starfile

from maskrun.errors import MaskrunWarning, UserError
from maskrun.formats.poses import poses_of
from maskrun.formats.registry import load_particle_set
from maskrun.geometry.projection import euler_matrices
from maskrun.io.star import read_metadata
from maskrun.jobs.runner import run_job

from conftest import write_mrc
from job_files import job_with, validate_refuses, write_job
from pose_sets import (
    PIXEL,
    RELION_PROJECT,
    float32_poses,
    random_poses,
    relion_projections,
    soft_ellipsoid,
    write_cs,
    write_cs_2d,
    write_star31,
)

BOX = 32
JOB = job_with(name="cs", inputs__particles="p.cs", mask__geometry__inner_radius=8, mask__geometry__outer_radius=12)
JOB["batch_size"] = 5
PHASE_DEG = np.array([0.0, 45.5, 90.0, 123.25, 10.0, 170.0, 5.0, 60.0, 80.0, 100.0, 30.0, 2.5])


def add_fields(path, **values):
    """Rewrite the ``.cs`` at ``path`` with float32 fields ``values`` (``ctf__df1_A`` names ``ctf/df1_A``) added."""
    records = np.load(path)
    added = {name.replace("__", "/"): value for name, value in values.items()}
    new = [(name, "<f4") for name in added if name not in records.dtype.names]  # the set's own defocus is replaced
    out = np.zeros(len(records), dtype=records.dtype.descr + new)
    for name in records.dtype.names:
        out[name] = records[name]
    for name, value in added.items():
        out[name] = value
    with open(path, "wb") as file:
        np.save(file, out)
    return path


def ctf_fields(count: int) -> dict:
    rng = np.random.default_rng(5)
    return {
        "ctf__df1_A": rng.uniform(9000, 12000, count),
        "ctf__df2_A": rng.uniform(8000, 9000, count),
        "ctf__df_angle_rad": rng.uniform(-np.pi, np.pi, count),
        "ctf__phase_shift_rad": np.radians(PHASE_DEG[:count]),
        "ctf__bfactor": rng.uniform(0, 50, count),
    }


def companion_star(folder):
    """Run the job on ``folder/p.cs``; the output folder and its particles.star's blocks."""
    out = run_job(write_job(folder, JOB)).output_dir
    blocks, _ = read_metadata(out / "particles.star")
    return out, blocks


def numbers(block, column) -> np.ndarray:
    return np.array([float(v) for v in block.column(column)])


@pytest.mark.parametrize("alignment_pixel", [PIXEL, 2 * PIXEL])
def test_the_companion_star_has_the_star_routes_poses(tmp_path, alignment_pixel):
    """Hetero-refinement's shifts (alignment box at twice the pixel) included: RELION's STAR route reads the
    companion STAR's poses as the .cs's own and as the same poses written to STAR by hand, to 1e-6."""
    written = float32_poses(random_poses(12, seed=11))
    reference = poses_of(load_particle_set(write_star31(tmp_path, written, BOX, name="reference.star")))
    (tmp_path / "cs").mkdir()
    source = write_cs(tmp_path / "cs", written, BOX, alignment_pixel=alignment_pixel)
    own = poses_of(load_particle_set(source))
    out, blocks = companion_star(tmp_path / "cs")
    poses = poses_of(load_particle_set(out / "particles.star"))
    matrices = euler_matrices(poses.rot_deg, poses.tilt_deg, poses.psi_deg)
    for expected in (own, reference):
        np.testing.assert_allclose(
            matrices, euler_matrices(expected.rot_deg, expected.tilt_deg, expected.psi_deg), atol=1e-6
        )
        np.testing.assert_allclose(poses.origin_x_px, expected.origin_x_px, atol=1e-6)
        np.testing.assert_allclose(poses.origin_y_px, expected.origin_y_px, atol=1e-6)
    assert np.abs(written["x"]).max() > 1  # origins that a wrong scale or sign would move
    assert blocks["optics"].column("rlnImagePixelSize") == ["1.5"]


def test_a_2d_classification_gives_psi_and_origins_only(tmp_path):
    written = float32_poses(random_poses(12, seed=12))
    written["psi"] = np.degrees(np.radians(written["psi"]).astype(np.float32).astype(np.float64))
    write_cs_2d(tmp_path, written, BOX, alignment_pixel=2 * PIXEL)
    _, blocks = companion_star(tmp_path)
    particles = blocks["particles"]
    assert "rlnAngleRot" not in particles.columns and "rlnAngleTilt" not in particles.columns
    np.testing.assert_allclose(numbers(particles, "rlnAnglePsi"), written["psi"], atol=1e-6)
    np.testing.assert_allclose(numbers(particles, "rlnOriginXAngst") / PIXEL, written["x"], atol=1e-6)
    np.testing.assert_allclose(numbers(particles, "rlnOriginYAngst") / PIXEL, written["y"], atol=1e-6)


def test_half_sets_and_classes_go_to_the_companion_star_counted_from_1(tmp_path):
    """The cryoSPARC look: alignments3D/split and /class were dropped, so a refinement continued in RELION lost
    cryoSPARC's half-sets; pyem's csparc2star writes them as rlnRandomSubset and rlnClassNumber, from 1."""
    source = write_cs(tmp_path, float32_poses(random_poses(12, seed=13)), BOX)
    records = np.load(source)
    fields = [("alignments3D/split", "<u4"), ("alignments3D/class", "<u4")]
    extended = np.zeros(len(records), dtype=records.dtype.descr + fields)
    for name in records.dtype.names:
        extended[name] = records[name]
    extended["alignments3D/split"] = np.arange(12) % 2
    extended["alignments3D/class"] = np.arange(12) % 3
    with open(source, "wb") as file:
        np.save(file, extended)
    _, blocks = companion_star(tmp_path)
    particles = blocks["particles"]
    assert particles.column("rlnRandomSubset") == [str(i % 2 + 1) for i in range(12)]
    assert particles.column("rlnClassNumber") == [str(i % 3 + 1) for i in range(12)]
    (tmp_path / "planar").mkdir()
    write_cs_2d(tmp_path / "planar", float32_poses(random_poses(12, seed=14)), BOX)
    _, blocks = companion_star(tmp_path / "planar")
    assert blocks["particles"].column("rlnClassNumber") == ["1"] * 12  # its class (0), counted from 1
    assert "rlnRandomSubset" not in blocks["particles"].columns  # a 2D classification's split is no half-set


def test_of_several_pixel_sizes_the_first_rows_is_used_as_the_note_says():
    """The cryoSPARC look: the note said "the first" and the smallest was used (np.unique sorts). Sizes more
    than 1 % apart are several pixel sizes (tests/formats/test_cs_pixel_sizes.py)."""
    from maskrun.formats.cryosparc import cs_pixel_size

    records = np.zeros(3, dtype=[("blob/psize_A", "<f4")])
    records["blob/psize_A"] = [1.5, 1.495, 1.5]
    size, notes = cs_pixel_size(records, 1.5)
    assert size == 1.5 and notes == ["2 pixel sizes in blob/psize_A; the first, 1.5 Å, is used"]


def test_phase_shift_in_degrees_and_bfactor_are_written(tmp_path):
    source = write_cs(tmp_path, float32_poses(random_poses(12)), BOX)
    fields = ctf_fields(12)
    add_fields(source, **fields)
    _, blocks = companion_star(tmp_path)
    particles = blocks["particles"]
    stored = {name: value.astype(np.float32).astype(np.float64) for name, value in fields.items()}
    np.testing.assert_allclose(numbers(particles, "rlnPhaseShift"), PHASE_DEG, atol=1e-5)
    np.testing.assert_allclose(
        numbers(particles, "rlnPhaseShift"), np.degrees(stored["ctf__phase_shift_rad"]), atol=1e-6
    )
    np.testing.assert_allclose(numbers(particles, "rlnCtfBfactor"), stored["ctf__bfactor"], atol=1e-6)
    np.testing.assert_allclose(
        numbers(particles, "rlnDefocusAngle"), np.degrees(stored["ctf__df_angle_rad"]), atol=1e-6
    )


def test_the_pixel_size_is_the_shortest_decimal_of_the_float32(tmp_path):
    source = write_cs(tmp_path, float32_poses(random_poses(4)), BOX)
    records = np.load(source)
    records["blob/psize_A"] = 1.31  # float32: 1.30999994…, printed 1.309998 at 6 decimals
    records["alignments3D/psize_A"] = 1.31
    with open(source, "wb") as file:
        np.save(file, records)
    out, blocks = companion_star(tmp_path)
    text = blocks["optics"].column("rlnImagePixelSize")[0]
    assert text == "1.31" and np.float32(text) == records["blob/psize_A"][0]
    with mrcfile.open(out / "stacks" / "batch_00001.mrcs", header_only=True) as masked:
        assert np.float32(masked.voxel_size.x) == np.float32(text)  # the images and the STAR agree


def test_a_real_sets_pixel_size_that_is_no_float32_of_a_short_decimal_is_written_as_it_is(tmp_path):
    """A newcomer's look: empiar_10076_7.cs writes 1.3099979 into particles.star, where validate says 1.31. That is
    the file's own value, not float32 noise about 1.31: its blob/psize_A is the float32 0x3fa7ae03, 17 steps of
    float32 below 1.31's (0x3fa7ae14), and its companion STAR gives 5 µm ÷ 38168 × = 1.3099979 Å. The STAR says
    that float32 (the shortest decimal of it), the .cs keeps it, and the stacks' headers hold it: rounding the
    STAR to 1.31 would make it disagree with the .cs and the images by those 17 steps."""
    import shutil

    from conftest import shared_path

    for name in ("empiar_10076_7.cs", "empiar_10076_7.mrc"):
        shutil.copy(shared_path("data", "public", name), tmp_path / name)
    stored = np.load(tmp_path / "empiar_10076_7.cs")["blob/psize_A"]
    assert stored.dtype == np.float32 and stored[0].tobytes().hex() == "03aea73f" != np.float32(1.31).tobytes().hex()
    assert np.float32(5e4 / 38168) == stored[0]  # rlnDetectorPixelSize 5 µm ÷ rlnMagnification 38168
    job = job_with(inputs={"particles": "empiar_10076_7.cs"}, mask__geometry={"shape": "circular", "radius": 100})
    out = run_job(write_job(tmp_path, job)).output_dir
    blocks, _ = read_metadata(out / "particles.star")
    assert blocks["optics"].column("rlnImagePixelSize") == ["1.3099979"]
    assert np.load(out / "particles.cs")["blob/psize_A"].tobytes() == stored.tobytes()
    for stack in sorted((out / "stacks").glob("*.mrcs")):
        with mrcfile.open(stack, header_only=True) as masked:
            assert np.float32(masked.voxel_size.x) == stored[0]


def cs_with_a_nan_pose(folder):
    """A .cs of 6 particles whose 4th rotation vector is NaN."""
    source = write_cs(folder, float32_poses(random_poses(6)), BOX)
    records = np.load(source)
    records["alignments3D/pose"][3] = np.nan
    with open(source, "wb") as file:
        np.save(file, records)
    return source


def test_a_pose_that_is_not_a_number_warns_and_leaves_the_poses_out(tmp_path):
    cs_with_a_nan_pose(tmp_path)
    with pytest.warns(MaskrunWarning, match=r"p\.cs: row 4 \(index 3\) has a pose that is not a number"):
        _, blocks = companion_star(tmp_path)
    assert not {"rlnAngleRot", "rlnAnglePsi", "rlnOriginXAngst"} & set(blocks["particles"].columns)


def test_an_alignment_field_of_the_wrong_shape_is_refused(tmp_path, capsys):
    source = write_cs(tmp_path, random_poses(3), BOX)
    records = np.load(source)
    fields = [(n, ("<f4", (2,)) if n == "alignments3D/pose" else records.dtype[n]) for n in records.dtype.names]
    bad = np.zeros(len(records), dtype=fields)
    for name in records.dtype.names:
        if name != "alignments3D/pose":
            bad[name] = records[name]
    with open(source, "wb") as file:
        np.save(file, bad)
    message = validate_refuses(write_job(tmp_path, JOB), capsys)
    assert "alignments3D/pose" in message and "must be 3 numbers per row" in message


def reference_star(folder, written, fields, phase: bool) -> str:
    """The same particles written to a RELION 3.1 STAR by hand, from the float32 values the .cs holds."""
    stored = {name: value.astype(np.float32).astype(np.float64) for name, value in fields.items()}
    lines = ["data_optics", "loop_", "_rlnOpticsGroup", "_rlnImagePixelSize", "_rlnImageSize"]
    lines += ["_rlnImageDimensionality", "_rlnVoltage", "_rlnSphericalAberration", "_rlnAmplitudeContrast"]
    lines += [f"1 {PIXEL} {BOX} 2 300 2.7 0.1", "", "data_particles", "loop_", "_rlnImageName"]
    labels = ["rlnAngleRot", "rlnAngleTilt", "rlnAnglePsi", "rlnOriginXAngst", "rlnOriginYAngst", "rlnDefocusU"]
    labels += ["rlnDefocusV", "rlnDefocusAngle", "rlnPhaseShift", "rlnCtfBfactor", "rlnOpticsGroup"]
    lines += [f"_{label}" for label in labels]
    for i in range(len(written["rot"])):
        values = [written[k][i] for k in ("rot", "tilt", "psi")] + [written["x"][i] * PIXEL, written["y"][i] * PIXEL]
        values += [stored["ctf__df1_A"][i], stored["ctf__df2_A"][i], np.degrees(stored["ctf__df_angle_rad"][i])]
        values += [np.degrees(stored["ctf__phase_shift_rad"][i]) if phase else 0.0, stored["ctf__bfactor"][i]]
        lines.append(f"{i + 1}@particles.mrcs " + " ".join(repr(float(v)) for v in values) + " 1")
    name = f"reference_{phase}.star"
    (folder / name).write_text("\n".join(lines) + "\n")
    return name


@pytest.mark.skipif(RELION_PROJECT is None, reason="relion_project (RELION 3.1) is not installed")
def test_relion_reads_the_companion_star_as_the_same_poses_and_ctf(tmp_path):
    """relion_project --ctf at the companion STAR's poses, origins, defocus and phase shift gives the projections
    of the hand-written STAR, and not those without the phase shift."""
    written = float32_poses(random_poses(12, seed=13))
    fields = ctf_fields(12)
    add_fields(write_cs(tmp_path, written, BOX), **fields)
    out, _ = companion_star(tmp_path)
    write_mrc(out / "map.mrc", soft_ellipsoid(BOX), voxel_size=PIXEL)
    ours = relion_projections(out, "particles.star")
    reference = relion_projections(out, reference_star(out, written, fields, phase=True))
    without_phase = relion_projections(out, reference_star(out, written, fields, phase=False))
    scale = np.abs(reference).max()
    assert np.abs(ours - reference).max() <= 1e-4 * scale
    assert np.abs(ours - without_phase).max() > 0.05 * scale  # the phase shift is read, not ignored
    done = subprocess.run(
        ["relion_image_handler", "--i", "particles.star", "--o", "stats", "--stats"], cwd=out, capture_output=True
    )
    assert done.returncode == 0, done.stderr.decode()[-500:]


def test_projected_masks_name_the_row_of_a_pose_that_is_not_a_number(tmp_path):
    """The rotation vector is checked before scipy sees it (a NaN one stopped it with "SVD did not converge")."""
    source = cs_with_a_nan_pose(tmp_path)
    with pytest.warns(MaskrunWarning, match="not a number"):
        particles = load_particle_set(source)
    with pytest.raises(UserError, match="row 4 has no usable pose"):
        poses_of(particles)


MICROGRAPH_NY_NX = (4092, 5760)  # a K3 micrograph, 5760 px wide (x, the fast axis) and 4092 high, stored (ny, nx)


def location_slot(records: np.ndarray, shape=MICROGRAPH_NY_NX) -> np.ndarray:
    """``uid`` and the ``location`` slot of ``records``' particles, as cryoSPARC stores it (float32 fractions,
    the micrograph's (ny, nx) as uint32): x and y fractions that differ, on a micrograph that is not square."""
    slot = np.zeros(
        len(records),
        dtype=[
            ("uid", "<u8"),
            ("location/micrograph_path", "S32"),
            ("location/micrograph_shape", "<u4", (2,)),
            ("location/center_x_frac", "<f4"),
            ("location/center_y_frac", "<f4"),
        ],
    )
    slot["uid"] = records["uid"]
    slot["location/micrograph_path"] = [f"J3/motioncorrected/m{i % 2}.mrc".encode() for i in range(len(records))]
    slot["location/micrograph_shape"] = shape
    slot["location/center_x_frac"] = np.linspace(0.05, 0.95, len(records))
    slot["location/center_y_frac"] = np.linspace(0.9, 0.1, len(records)) ** 2
    return slot


@pytest.mark.parametrize("where", ["own", "passthrough"])
def test_the_coordinates_are_the_fractions_times_the_micrograph_shape(tmp_path, where):
    """The cryoSPARC look: the companion STAR had no rlnCoordinateX/Y, which RELION's re-extraction and polishing
    need. X is center_x_frac × micrograph_shape[1] (nx) and Y center_y_frac × micrograph_shape[0] (ny), in the
    .cs itself or its passthrough; read back with starfile, as numbers."""
    source = write_cs(tmp_path, float32_poses(random_poses(6, seed=15)), BOX)
    records = np.load(source)
    slot = location_slot(records)
    job = JOB
    if where == "own":
        joined = np.zeros(len(records), dtype=records.dtype.descr + slot.dtype.descr[1:])
        for name in records.dtype.names:
            joined[name] = records[name]
        for name in slot.dtype.names[1:]:
            joined[name] = slot[name]
        with open(source, "wb") as file:
            np.save(file, joined)
    else:
        with open(tmp_path / "passthrough.cs", "wb") as file:
            np.save(file, slot[::-1])  # joined on uid, whatever the order
        job = JOB | {"inputs": JOB["inputs"] | {"passthrough": "passthrough.cs"}}
    out = run_job(write_job(tmp_path, job)).output_dir
    particles = starfile.read(out / "particles.star")["particles"]
    x = slot["location/center_x_frac"].astype(np.float64) * MICROGRAPH_NY_NX[1]
    y = slot["location/center_y_frac"].astype(np.float64) * MICROGRAPH_NY_NX[0]
    assert particles["rlnCoordinateX"].dtype == np.float64 and particles["rlnCoordinateY"].dtype == np.float64
    np.testing.assert_allclose(particles["rlnCoordinateX"], x, atol=1e-6)
    np.testing.assert_allclose(particles["rlnCoordinateY"], y, atol=1e-6)
    assert particles["rlnCoordinateX"].max() > MICROGRAPH_NY_NX[0]  # along the long axis, x: nothing swapped
    assert list(particles["rlnMicrographName"]) == [f"J3/motioncorrected/m{i % 2}.mrc" for i in range(6)]
    # read back as cryoSPARC stores them: the same float32 fractions
    np.testing.assert_array_equal(
        (particles["rlnCoordinateX"] / MICROGRAPH_NY_NX[1]).astype(np.float32), slot["location/center_x_frac"]
    )
    np.testing.assert_array_equal(
        (particles["rlnCoordinateY"] / MICROGRAPH_NY_NX[0]).astype(np.float32), slot["location/center_y_frac"]
    )


def test_a_row_placed_nowhere_leaves_the_coordinates_out_with_a_warning(tmp_path):
    """A micrograph_shape of [0, 0] (or a fraction that is not a number) would put the particle at a corner."""
    source = write_cs(tmp_path, float32_poses(random_poses(6, seed=16)), BOX)
    slot = location_slot(np.load(source))
    slot["location/micrograph_shape"][[2, 4]] = 0
    with open(tmp_path / "passthrough.cs", "wb") as file:
        np.save(file, slot)
    job = JOB | {"inputs": JOB["inputs"] | {"passthrough": "passthrough.cs"}}
    said = (
        r"p\.cs: row 3 \(index 2\): location/micrograph_shape is \[0, 0\], which places the particle nowhere on "
        r"its micrograph \(2 rows in all\); the RELION particles\.star written beside it has no rlnCoordinateX/Y"
    )
    with pytest.warns(MaskrunWarning, match=said):
        out = run_job(write_job(tmp_path, job)).output_dir
    particles = starfile.read(out / "particles.star")["particles"]
    assert "rlnCoordinateX" not in particles.columns and "rlnMicrographName" in particles.columns
    slot["location/micrograph_shape"] = MICROGRAPH_NY_NX
    slot["location/center_y_frac"][5] = np.nan
    with open(tmp_path / "passthrough.cs", "wb") as file:
        np.save(file, slot)
    with pytest.warns(MaskrunWarning, match=r"row 6 \(index 5\): location/center_x_frac, center_y_frac are 0\.95, nan"):
        load_particle_set(source, passthrough=tmp_path / "passthrough.cs")


@pytest.mark.parametrize(
    "field,dtype,said",
    [
        ("location/micrograph_shape", "<u4", "must be 2 numbers per row, not uint32; cryoSPARC writes 2 uint32 here"),
        ("location/center_x_frac", "S4", "must be a number (one per row), not |S4; cryoSPARC writes float32 here"),
    ],
)
def test_a_location_field_of_the_wrong_shape_is_refused_in_the_passthrough_too(tmp_path, capsys, field, dtype, said):
    """Read for the coordinates: a shape of one number a row was an IndexError traceback."""
    source = write_cs(tmp_path, random_poses(3), BOX)
    slot = location_slot(np.load(source))
    fields = [(n, dtype if n == field else slot.dtype[n]) for n in slot.dtype.names]
    bad = np.zeros(len(slot), dtype=fields)
    for name in slot.dtype.names:
        if name != field:
            bad[name] = slot[name]
    with open(tmp_path / "passthrough.cs", "wb") as file:
        np.save(file, bad)
    job = JOB | {"inputs": JOB["inputs"] | {"passthrough": "passthrough.cs"}}
    message = validate_refuses(write_job(tmp_path, job), capsys)
    assert message.endswith(f"passthrough.cs: {field}: {said}"), message


def filament_set(folder, micrographs: bool):
    """A 2D classification of 12 filament segments of three 64-bit ``filament_uid`` values, each on both of two
    micrographs, with their arc lengths; ``micrographs``: with ``location/micrograph_path``."""
    source = write_cs_2d(folder, float32_poses(random_poses(12, seed=17)), BOX)
    records = np.load(source)
    fields = [("filament/filament_uid", "<u8"), ("filament/arc_length_A", "<f4")]
    fields += [("location/micrograph_path", "S24")] if micrographs else []
    extended = np.zeros(len(records), dtype=records.dtype.descr + fields)
    for name in records.dtype.names:
        extended[name] = records[name]
    uids = np.array([2**63 + 5, 2**40, 2**63 + 5, 2**40, 7, 7, 2**63 + 5, 7, 2**40, 2**40, 7, 2**63 + 5], np.uint64)
    extended["filament/filament_uid"] = uids
    extended["filament/arc_length_A"] = np.arange(12) * 42.7 + 0.3
    if micrographs:
        extended["location/micrograph_path"] = [f"J3/m{i // 6}.mrc".encode() for i in range(12)]
    with open(source, "wb") as file:
        np.save(file, extended)
    return extended


@pytest.mark.parametrize("micrographs", [True, False])
def test_a_filament_sets_tubes_are_numbered_from_1_per_micrograph(tmp_path, micrographs):
    """The helical look (finding 6): the companion STAR of a filament set had no rlnHelicalTubeID nor
    rlnHelicalTrackLengthAngst, so RELION's helical refinement could not keep a tube in one half-set. RELION keys a
    tube by micrograph and ID, reads the ID as a 32-bit int and stops at one below 1: the 64-bit uids are numbered
    1, 2, … on each micrograph in the order they first appear (over the whole set without micrographs)."""
    records = filament_set(tmp_path, micrographs)
    out = run_job(write_job(tmp_path, JOB)).output_dir
    particles = starfile.read(out / "particles.star")["particles"]
    expected = [1, 2, 1, 2, 3, 3, 1, 2, 3, 3, 2, 1] if micrographs else [1, 2, 1, 2, 3, 3, 1, 3, 2, 2, 3, 1]
    assert particles["rlnHelicalTubeID"].dtype.kind == "i"
    assert list(particles["rlnHelicalTubeID"]) == expected
    np.testing.assert_allclose(
        particles["rlnHelicalTrackLengthAngst"], records["filament/arc_length_A"].astype(np.float64), atol=1e-6
    )
    if micrographs:
        assert list(particles["rlnMicrographName"]) == [f"J3/m{i // 6}.mrc" for i in range(12)]
    assert "rlnAnglePsiPrior" not in particles.columns  # filament/filament_pose's convention is not settled


def test_a_set_without_filaments_has_no_helical_columns_and_a_bad_uid_is_refused(tmp_path, capsys):
    write_cs_2d(tmp_path, float32_poses(random_poses(4, seed=18)), BOX)
    _, blocks = companion_star(tmp_path)
    assert not {"rlnHelicalTubeID", "rlnHelicalTrackLengthAngst"} & set(blocks["particles"].columns)
    source = tmp_path / "p.cs"
    records = np.load(source)
    bad = np.zeros(len(records), dtype=records.dtype.descr + [("filament/filament_uid", "S8")])
    for name in records.dtype.names:
        bad[name] = records[name]
    with open(source, "wb") as file:
        np.save(file, bad)
    message = validate_refuses(write_job(tmp_path, JOB), capsys)
    assert message.endswith(
        "p.cs: filament/filament_uid: must be a number (one per row), not |S8; cryoSPARC writes uint64 here"
    ), message
