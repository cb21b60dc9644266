"""The example particle set written in the other formats users hold: Xmipp .xmd, cryoSPARC .cs, Scipion sqlite.

Each file lists the same particles and stacks as the example's ``particles.star``, in the
form the format's own programs write (see ../shared/notes/formats.md), so that
``maskrun example particles --format F`` shows a working job for a user's own kind of file.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import starfile

from maskrun.io.star import Loop, write_metadata

FORMATS = ("star", "xmd", "cs", "sqlite")


def convert_example(star: Path, fmt: str) -> Path:
    """Write the particles of the example ``star`` as ``particles.<fmt>`` beside it; returns the file."""
    if fmt == "star":
        return star
    blocks = starfile.read(star, always_dict=True)
    particles, optics = blocks["particles"], blocks["optics"]
    pixel = float(optics["rlnImagePixelSize"][0])
    box = int(optics["rlnImageSize"][0])
    names = [str(n) for n in particles["rlnImageName"]]
    target = star.with_suffix(f".{fmt}")
    if fmt == "cs":
        _cs(particles, optics, names, pixel, box, target)
    else:
        {"xmd": _xmd, "sqlite": _sqlite}[fmt](particles, names, pixel, box, target)
    return target


def _xmd(particles: pd.DataFrame, names: list[str], pixel: float, box: int, target: Path) -> None:
    table = Loop.from_columns(
        {
            "image": names,
            "enabled": ["1"] * len(names),
            "ctfDefocusU": [f"{v:.2f}" for v in particles["rlnDefocusU"]],
            "ctfDefocusV": [f"{v:.2f}" for v in particles["rlnDefocusV"]],
            "ctfDefocusAngle": [f"{v:.2f}" for v in particles["rlnDefocusAngle"]],
            "micrograph": [str(m) for m in particles["rlnMicrographName"]],
        }
    )
    write_metadata({"noname": table}, target, ["# XMIPP_STAR_1 *", "#"])


def _cs(particles: pd.DataFrame, optics: pd.DataFrame, names: list[str], pixel: float, box: int, target: Path) -> None:
    width = max(len(n.split("@")[1]) for n in names) + 1
    records = np.zeros(
        len(names),
        dtype=[
            ("uid", "<u8"),
            ("blob/path", f"S{width}"),
            ("blob/idx", "<u4"),
            ("blob/shape", "<u4", (2,)),
            ("blob/psize_A", "<f4"),
            ("blob/sign", "<f4"),
            ("ctf/accel_kv", "<f4"),
            ("ctf/cs_mm", "<f4"),
            ("ctf/amp_contrast", "<f4"),
            ("ctf/df1_A", "<f4"),
            ("ctf/df2_A", "<f4"),
            ("ctf/df_angle_rad", "<f4"),
        ],
    )
    records["uid"] = np.random.default_rng(0).integers(1, 2**63, len(names), dtype=np.uint64)
    records["blob/path"] = [f">{n.split('@')[1]}".encode() for n in names]  # '>': beside the .cs
    records["blob/idx"] = [int(n.split("@")[0]) - 1 for n in names]
    records["blob/shape"] = (box, box)
    records["blob/psize_A"] = pixel
    records["blob/sign"] = -1.0
    records["ctf/accel_kv"] = float(optics["rlnVoltage"][0])  # RELION needs the optics in the STAR written back
    records["ctf/cs_mm"] = float(optics["rlnSphericalAberration"][0])
    records["ctf/amp_contrast"] = float(optics["rlnAmplitudeContrast"][0])
    records["ctf/df1_A"] = particles["rlnDefocusU"]
    records["ctf/df2_A"] = particles["rlnDefocusV"]
    records["ctf/df_angle_rad"] = np.radians(particles["rlnDefocusAngle"].astype(float))
    with open(target, "wb") as file:  # np.save on a path would append .npy
        np.save(file, records, allow_pickle=False)


def _sqlite(particles: pd.DataFrame, names: list[str], pixel: float, box: int, target: Path) -> None:
    target.unlink(missing_ok=True)
    with sqlite3.connect(target) as db:
        db.execute("PRAGMA user_version = 1")
        db.execute("CREATE TABLE Properties(key TEXT UNIQUE, value TEXT)")
        db.executemany(
            "INSERT INTO Properties VALUES (?, ?)",
            [
                ("self", "SetOfParticles"),
                ("_size", str(len(names))),
                ("_samplingRate", str(pixel)),
                ("_hasCtf", "False"),
                ("_alignment", "None"),
                ("_firstDim", f"{box},{box},1"),
            ],
        )
        db.execute(
            "CREATE TABLE Classes(id INTEGER PRIMARY KEY AUTOINCREMENT, label_property TEXT UNIQUE, "
            "column_name TEXT UNIQUE, class_name TEXT)"
        )
        db.executemany(
            "INSERT INTO Classes(label_property, column_name, class_name) VALUES (?, ?, ?)",
            [
                ("self", "c00", "Particle"),
                ("_index", "c01", "Integer"),
                ("_filename", "c02", "String"),
                ("_samplingRate", "c03", "Float"),
            ],
        )
        db.execute(
            "CREATE TABLE Objects(id INTEGER PRIMARY KEY, enabled INTEGER DEFAULT 1, label TEXT, "
            "comment TEXT, creation DATE, c01 INTEGER, c02 TEXT, c03 REAL)"
        )
        db.executemany(
            "INSERT INTO Objects(id, enabled, c01, c02, c03) VALUES (?, 1, ?, ?, ?)",
            [(i + 1, int(n.split("@")[0]), n.split("@")[1], pixel) for i, n in enumerate(names)],
        )
