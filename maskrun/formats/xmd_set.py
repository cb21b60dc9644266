"""Xmipp ``.xmd`` particle sets and map listings: STAR syntax, read and written as `maskrun.formats.star_set`.

What differs from RELION's STAR: rows with ``_enabled`` ≤ 0 are dropped (the STAR reader
does that for any set with that column), ``inputs.image_column`` often picks the column
(``_imageRef``, ``_imageResidual``, …), each row may say its pixel size in ``_samplingRate``
(`PIXEL_SIZE_COLUMN`), and labels are written unnumbered (by the ``.xmd`` suffix,
`maskrun.io.star.write_metadata`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from maskrun.errors import UserError
from maskrun.formats import star_set
from maskrun.formats.map_set import VolumeSet
from maskrun.formats.particle_set import ExampleParticles, Masked, ParticleSet, ReadOptions
from maskrun.formats.poses import Poses, no_table_offsets, offsets_from_table, poses_from_table
from maskrun.formats.setting_names import SettingNames
from maskrun.io.star import Loop, write_metadata

NAME = "xmd"
LABEL = "Xmipp XMD"
SUFFIXES = (".xmd",)
OUTPUTS = ("particles.xmd",)
MAP_OUTPUT = "volumes.xmd"
# Xmipp's MDL_SAMPLINGRATE (label "samplingRate", Å/px), a column of the particle rows where a program wrote it (its
# stacks carry none: SPIDER's PIXSIZ is 0). Rows that agree give the set's pixel size, rows that differ several, as
# RELION's optics groups do (`maskrun.formats.star_set._pixel_size`). Scipion's writeSetOfParticles writes none.
PIXEL_SIZE_COLUMN = "samplingRate"

reread_metadata = star_set.reread_metadata
reread_listing = star_set.reread_listing


def read_particles(path: Path, options: ReadOptions) -> ParticleSet:
    """An Xmipp particle set (see `maskrun.formats.star_set.read_table_set`), its pixel size from ``_samplingRate``
    where its rows have one."""
    return star_set.read_table_set(path, options, NAME, row_pixel_size=PIXEL_SIZE_COLUMN)


def read_poses(particles: ParticleSet) -> Poses:
    """Each row's pose (`maskrun.formats.poses`): ``angleRot/Tilt/Psi`` and ``shiftX/Y``, as RELION's."""
    return poses_from_table(particles, ("angleRot", "angleTilt", "anglePsi"), ("shiftX", "shiftY"))


def read_offsets(particles: ParticleSet) -> tuple[np.ndarray, np.ndarray]:
    """Each row's origin in px (`maskrun.formats.poses.offsets_of`): ``shiftX/Y``."""
    return offsets_from_table(particles, ("shiftX", "shiftY"))


def no_offsets(particles: ParticleSet) -> UserError | None:
    """The refusal of a set without ``shiftX/Y`` (`maskrun.formats.poses.offsets_of`); None when it has them."""
    return no_table_offsets(particles, (("shiftX", "shiftY"),), "an alignment (a 3D refinement or a 2D classification)")


def read_maps(
    listing: Path, project_dir: Path | None, names: SettingNames, job_folder: Path | None = None
) -> VolumeSet:
    """The maps an Xmipp listing names (`maskrun.formats.star_set.read_listing`): from the Xmipp project folder
    Xmipp runs in (``Runs/000004_X/extra/v1.mrc``), or from the listing's folder."""
    return star_set.read_listing(listing, project_dir, names, job_folder, NAME)


def write_particles(particles: ParticleSet, masked: Masked, output_dir: Path, project_dir: Path | None) -> list[Path]:
    """``particles.xmd``: only the column read is rewritten."""
    return [star_set.write_table(particles, masked, output_dir / OUTPUTS[0])]


def write_maps(volumes: VolumeSet, masked: list[str], output_dir: Path, project_dir: Path | None) -> list[Path]:
    """``volumes.xmd``: the listing with its map column naming the masked maps."""
    return [star_set.write_listing(volumes, masked, output_dir / MAP_OUTPUT)]


def write_example(example: ExampleParticles) -> Path:
    """The example's particles as Xmipp writes them: ``image``, ``enabled``, CTF and micrograph columns."""
    particles, names = example.particles, example.names
    target = example.star.with_suffix(SUFFIXES[0])
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
    return target
