"""The same particles and poses written as RELION 3.0 and 3.1 STAR, cryoSPARC .cs, Xmipp .xmd and a Scipion set.

Each writer follows the format's own convention (docs/spec.md, "Poses"), derived here with
scipy's rotations, not with maskrun's readers: a reader that gets a sign wrong gives other
masks than the STAR route.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from pathlib import Path

import mrcfile
import numpy as np
from scipy.spatial.transform import Rotation

from conftest import write_mrc

PIXEL = 1.5


def random_poses(count: int, seed: int = 7, max_origin_px: float = 4.0) -> dict[str, np.ndarray]:
    """Random rot/tilt/psi (degrees, tilt uniform on the sphere) and sub-pixel origins (px), RELION's convention."""
    rng = np.random.default_rng(seed)
    return {
        "rot": rng.uniform(-180, 180, count),
        "tilt": np.degrees(np.arccos(rng.uniform(-1, 1, count))),
        "psi": rng.uniform(-180, 180, count),
        "x": rng.uniform(-max_origin_px, max_origin_px, count),
        "y": rng.uniform(-max_origin_px, max_origin_px, count),
    }


def float32_poses(poses) -> dict[str, np.ndarray]:
    """The same particles' poses as a ``.cs`` holds them: float32 rotation vectors and shifts.

    The angles are those of the float32 rotation vectors (computed in float64), the origins
    float32 numbers: written to STAR (``repr``) and to ``.cs`` they are the same poses to
    float64 precision, so every route must give the same masks to 1e-6.
    """
    vectors = relion_matrix_t(poses).as_rotvec().astype(np.float32).astype(np.float64)
    angles = Rotation.from_rotvec(vectors).as_euler("ZYZ", degrees=True)
    exact = {"rot": angles[:, 0], "tilt": angles[:, 1], "psi": angles[:, 2]}
    return exact | {k: poses[k].astype(np.float32).astype(np.float64) for k in ("x", "y")}


def soft_ellipsoid(box: int, soft_px: float = 4.0) -> np.ndarray:
    """An off-centre soft-edged ellipsoid: no symmetry, so a wrong angle or sign shows."""
    z, y, x = (np.mgrid[:box, :box, :box] - box // 2).astype(np.float64)
    scaled = ((x - 0.1 * box) / 0.3) ** 2 + ((y + 0.05 * box) / 0.18) ** 2 + ((z - 0.06 * box) / 0.12) ** 2
    r = np.sqrt(scaled) * 0.25  # px along the short axes' scale: the edge is where r = box / 4
    edge = 0.25 * box
    ramp = 0.5 * (1 + np.cos(np.pi * np.clip((r - edge) / soft_px, 0, 1)))
    return np.where(r < edge, 1.0, ramp).astype(np.float32)


def write_soft_ellipsoid(path: Path, box: int, voxel_size: float | None = PIXEL) -> Path:
    """`soft_ellipsoid` of ``box`` as a 3D mask file at ``path`` (replaced), at ``voxel_size`` (None: 0)."""
    with mrcfile.new(path, overwrite=True) as mrc:
        mrc.set_data(soft_ellipsoid(box))
        if voxel_size is not None:
            mrc.voxel_size = voxel_size
    return path


def relion_matrix_t(poses) -> np.ndarray:
    """Aᵀ (A = RELION's Euler matrix) for each pose: scipy's intrinsic ZYZ rotation."""
    return Rotation.from_euler("ZYZ", np.column_stack([poses["rot"], poses["tilt"], poses["psi"]]), degrees=True)


def write_stack(folder: Path, count: int, box: int) -> str:
    write_mrc(folder / "particles.mrcs", np.zeros((count, box, box), np.float32), voxel_size=PIXEL)
    return "particles.mrcs"


def write_star31(folder: Path, poses, box: int, name: str = "p31.star") -> Path:
    stack = write_stack(folder, len(poses["rot"]), box)
    lines = [
        "# version 30001",
        "data_optics",
        "loop_",
        "_rlnOpticsGroup #1",
        "_rlnImagePixelSize #2",
        "_rlnImageSize #3",
        "_rlnImageDimensionality #4",
        "_rlnVoltage #5",
        "_rlnSphericalAberration #6",
        "_rlnAmplitudeContrast #7",
        f"1 {PIXEL} {box} 2 300 2.7 0.1",
        "",
        "# version 30001",
        "data_particles",
        "loop_",
        "_rlnImageName #1",
        "_rlnAngleRot #2",
        "_rlnAngleTilt #3",
        "_rlnAnglePsi #4",
        "_rlnOriginXAngst #5",
        "_rlnOriginYAngst #6",
        "_rlnOpticsGroup #7",
    ]
    for i, (rot, tilt, psi, x, y) in enumerate(zip(*(poses[k].tolist() for k in ("rot", "tilt", "psi", "x", "y")))):
        lines.append(f"{i + 1}@{stack} {rot!r} {tilt!r} {psi!r} {x * PIXEL!r} {y * PIXEL!r} 1")
    path = folder / name
    path.write_text("\n".join(lines) + "\n")
    return path


def write_star30(folder: Path, poses, box: int) -> Path:
    stack = write_stack(folder, len(poses["rot"]), box)
    lines = ["data_", "loop_", "_rlnImageName", "_rlnAngleRot", "_rlnAngleTilt", "_rlnAnglePsi"]
    lines += ["_rlnOriginX", "_rlnOriginY", "_rlnDetectorPixelSize", "_rlnMagnification"]
    for i, (rot, tilt, psi, x, y) in enumerate(zip(*(poses[k].tolist() for k in ("rot", "tilt", "psi", "x", "y")))):
        lines.append(f"{i + 1}@{stack} {rot!r} {tilt!r} {psi!r} {x!r} {y!r} {PIXEL} 10000")
    path = folder / "p30.star"
    path.write_text("\n".join(lines) + "\n")
    return path


def write_xmd(folder: Path, poses, box: int) -> Path:
    stack = write_stack(folder, len(poses["rot"]), box)
    lines = ["# XMIPP_STAR_1 *", "#", "data_noname", "loop_", " _image", " _enabled"]
    lines += [" _angleRot", " _angleTilt", " _anglePsi", " _shiftX", " _shiftY"]
    for i, (rot, tilt, psi, x, y) in enumerate(zip(*(poses[k].tolist() for k in ("rot", "tilt", "psi", "x", "y")))):
        lines.append(f"{i + 1:06d}@{stack} 1 {rot!r} {tilt!r} {psi!r} {x!r} {y!r}")
    path = folder / "p.xmd"
    path.write_text("\n".join(lines) + "\n")
    return path


def write_xmd_2d(folder: Path, poses, box: int) -> Path:
    """An Xmipp 2D alignment (no angleRot/angleTilt): ``anglePsi`` = −psi, ``shiftX/Y`` = the origin, as Scipion's
    Xmipp plugin writes the 2D transform that its RELION plugin writes as ``rlnAnglePsi`` = psi, ``rlnOriginX/Y``."""
    stack = write_stack(folder, len(poses["psi"]), box)
    lines = [
        "# XMIPP_STAR_1 *",
        "#",
        "data_noname",
        "loop_",
        " _image",
        " _enabled",
        " _anglePsi",
        " _shiftX",
        " _shiftY",
    ]
    for i, (psi, x, y) in enumerate(zip(*(poses[k].tolist() for k in ("psi", "x", "y")))):
        lines.append(f"{i + 1:06d}@{stack} 1 {-psi!r} {x!r} {y!r}")
    path = folder / "p.xmd"
    path.write_text("\n".join(lines) + "\n")
    return path


def write_cs(folder: Path, poses, box: int, alignment_pixel: float = PIXEL) -> Path:
    """cryoSPARC: pose = rotation vector of Aᵀ; shift = origin in px of the alignment box (``alignment_pixel``)."""
    aligned = [("alignments3D/pose", "<f4", (3,)), ("alignments3D/shift", "<f4", (2,)), ("alignments3D/psize_A", "<f4")]
    records = _cs_records(folder, len(poses["rot"]), box, aligned, first_uid=1000)
    records["alignments3D/pose"] = relion_matrix_t(poses).as_rotvec()
    records["alignments3D/shift"] = np.column_stack([poses["x"], poses["y"]]) * PIXEL / alignment_pixel
    records["alignments3D/psize_A"] = alignment_pixel
    return _save_cs(folder, records)


def write_cs_2d(folder: Path, poses, box: int, alignment_pixel: float = PIXEL) -> Path:
    """cryoSPARC 2D classification: ``alignments2D/pose`` = psi in radians (pyem's csparc2star: ``rlnAnglePsi`` =
    its degrees), ``alignments2D/shift`` = origin in px of the alignment box; no 3D poses."""
    aligned = [
        ("alignments2D/pose", "<f4"),
        ("alignments2D/shift", "<f4", (2,)),
        ("alignments2D/psize_A", "<f4"),
        ("alignments2D/class", "<u4"),
    ]
    records = _cs_records(folder, len(poses["psi"]), box, aligned, first_uid=2000)
    records["alignments2D/pose"] = np.radians(poses["psi"])
    records["alignments2D/shift"] = np.column_stack([poses["x"], poses["y"]]) * PIXEL / alignment_pixel
    records["alignments2D/psize_A"] = alignment_pixel
    return _save_cs(folder, records)


def _cs_records(folder: Path, count: int, box: int, aligned: list, first_uid: int) -> np.ndarray:
    """A ``.cs`` table of ``count`` particles in a new stack: its blob and CTF fields filled, ``aligned`` zero."""
    blob = [
        ("uid", "<u8"),
        ("blob/path", "S32"),
        ("blob/idx", "<u4"),
        ("blob/shape", "<u4", (2,)),
        ("blob/psize_A", "<f4"),
    ]
    ctf = [("ctf/accel_kv", "<f4"), ("ctf/cs_mm", "<f4"), ("ctf/amp_contrast", "<f4")]
    ctf += [("ctf/df1_A", "<f4"), ("ctf/df2_A", "<f4"), ("ctf/df_angle_rad", "<f4")]
    records = np.zeros(count, dtype=blob + aligned + ctf)
    records["uid"] = np.arange(count) + first_uid
    records["blob/path"] = f">{write_stack(folder, count, box)}".encode()
    records["blob/idx"] = np.arange(count)
    records["blob/shape"] = box
    records["blob/psize_A"] = PIXEL
    records["ctf/accel_kv"], records["ctf/cs_mm"], records["ctf/amp_contrast"] = 300, 2.7, 0.1
    records["ctf/df1_A"], records["ctf/df2_A"], records["ctf/df_angle_rad"] = 15000, 14800, 0.5
    return records


def _save_cs(folder: Path, records: np.ndarray) -> Path:
    path = folder / "p.cs"
    with open(path, "wb") as file:
        np.save(file, records)
    return path


def scipion_2d_matrices(poses) -> np.ndarray:
    """Scipion's ``2D`` transform as its RELION plugin writes it (``matrixFromGeometry(shifts, (0, 0, −psi))``):
    a turn by +psi about z, ``euler_matrix(0, 0, psi, 'szyz')``, and the origin as the last column."""
    count = len(poses["psi"])
    matrices = np.tile(np.eye(4), (count, 1, 1))
    matrices[:, :3, :3] = Rotation.from_euler("z", np.asarray(poses["psi"])[:, None], degrees=True).as_matrix()
    matrices[:, 0, 3], matrices[:, 1, 3] = poses["x"], poses["y"]
    return matrices


def write_scipion(folder: Path, poses, box: int, alignment: str = "Projection") -> Path:
    """A minimal SetOfParticles whose ``_transform._matrix`` is ``[[Aᵀ, Aᵀ·o], [0, 1]]`` (``Projection``), or a
    2D alignment's (`scipion_2d_matrices`) for ``alignment="2D"``."""
    count = len(poses["rot"])
    stack = write_stack(folder, count, box)
    rotation_t = relion_matrix_t(poses).as_matrix()
    origin = np.column_stack([poses["x"], poses["y"], np.zeros(count)])
    planar = scipion_2d_matrices(poses)
    path = folder / "p.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE Properties(key TEXT UNIQUE, value TEXT)")
        properties = {"self": "SetOfParticles", "_size": str(count), "_samplingRate": str(PIXEL)}
        properties |= {"_hasCtf": "False", "_alignment": alignment}
        db.executemany("INSERT INTO Properties VALUES (?, ?)", list(properties.items()))
        db.execute(
            "CREATE TABLE Classes(id INTEGER PRIMARY KEY, label_property TEXT, column_name TEXT, class_name TEXT)"
        )
        classes = [("self", "c00", "Particle"), ("_index", "c01", "Integer"), ("_filename", "c02", "String")]
        classes += [("_samplingRate", "c03", "Float"), ("_transform", "c04", "Transform")]
        classes += [("_transform._matrix", "c05", "Matrix")]
        db.executemany("INSERT INTO Classes(label_property, column_name, class_name) VALUES (?, ?, ?)", classes)
        db.execute(
            "CREATE TABLE Objects(id INTEGER PRIMARY KEY, enabled INTEGER DEFAULT 1, label TEXT, comment TEXT, "
            "creation DATE, c01 INTEGER, c02 TEXT, c03 REAL, c04 TEXT, c05 TEXT)"
        )
        for i in range(count):
            matrix = planar[i] if alignment == "2D" else np.eye(4)
            if alignment != "2D":
                matrix[:3, :3] = rotation_t[i]
                matrix[:3, 3] = rotation_t[i] @ origin[i]
            db.execute(
                "INSERT INTO Objects(id, enabled, c01, c02, c03, c05) VALUES (?, 1, ?, ?, ?, ?)",
                (i + 1, i + 1, stack, PIXEL, json.dumps(matrix.tolist())),
            )
    return path


WRITERS = {"star31": write_star31, "star30": write_star30, "xmd": write_xmd, "cs": write_cs, "sqlite": write_scipion}


RELION_PROJECT = shutil.which("relion_project")


def relion_projections(folder: Path, star: str) -> np.ndarray:
    """``relion_project --ctf`` of ``folder/map.mrc`` at the particles of ``star`` (float64)."""
    root = star.removesuffix(".star") + "_proj"
    done = subprocess.run(
        [str(RELION_PROJECT), "--i", "map.mrc", "--ang", star, "--o", root, "--ctf"], cwd=folder, capture_output=True
    )
    assert done.returncode == 0, done.stderr.decode()[-500:]
    return mrcfile.read(folder / f"{root}.mrcs").astype(np.float64)
