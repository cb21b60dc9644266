"""A bare stack as a particle set, ``.mrcs`` or SPIDER ``.stk`` (Xmipp programs take one directly): every image,
in order; written back as a RELION STAR listing the masked stacks, as for any bare stack."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from maskrun.errors import UserError
from maskrun.formats import star_set
from maskrun.formats.particle_set import NO_METADATA, ParticleSet, ReadOptions, given_pixel_size
from maskrun.io.images import inspect_image
from maskrun.io.star import Loop

NAME = "mrcs"
LABEL = "bare stack"
SUFFIXES = (".mrcs", ".stk")
OUTPUTS = star_set.OUTPUTS  # particles.star, listing the masked stacks

write_particles = star_set.write_particles


def read_particles(path: Path, options: ReadOptions) -> ParticleSet:
    """Every image of the stack, in order, with RELION 3.1 tables made for them (pixel size from the header, or the
    caller's, ``options.pixel_size_angstrom``)."""
    info = inspect_image(path)
    n, ny, nx = info.shape_zyx
    if not info.says_a_stack:  # a SPIDER volume named .stk: its header says so
        as_map = f"give it as {options.names.volumes}" if options.names.volumes else "mask it as a map"
        raise UserError(
            f"is a SPIDER volume of {nx} x {ny} x {n} (its header: ISTACK 0), not a stack of particle images; {as_map}",
            source=str(path),
            field=options.names.particles,
        )
    given, notes = given_pixel_size(info.voxel_size_xyz[0], options, path, "its header")
    notes = [*info.notes, *notes]
    pixel = given if given is not None else info.voxel_size_xyz[0]
    names = [f"{i:06d}@{path.name}" for i in range(1, n + 1)]
    rows = Loop.from_columns({"rlnImageName": names, "rlnOpticsGroup": ["1"] * n})
    optics = Loop.from_columns(
        {
            "rlnOpticsGroup": ["1"],
            "rlnOpticsGroupName": ["opticsGroup1"],
            "rlnImagePixelSize": [f"{pixel:.6f}"],
            "rlnImageSize": [str(nx)],
            "rlnImageDimensionality": ["2"],
            **_microscope(options, notes),
        }
    )
    return ParticleSet(
        path,
        NAME,
        {"optics": optics, "particles": rows},
        ["# version 30001"],
        "particles",
        "rlnImageName",
        rows,
        [path.resolve()],
        np.zeros(n, np.int64),
        np.arange(n, dtype=np.int64),
        {path.resolve(): info},
        (ny, nx),
        pixel,
        0,
        notes,
        pixel_size_given=given is not None,
        pixel_size_lacking=NO_METADATA,
    )


MICROSCOPE = (  # RELION's optics labels, the caller's Optics keys, and how RELION writes them
    ("rlnVoltage", "voltage_kv"),
    ("rlnSphericalAberration", "cs_mm"),
    ("rlnAmplitudeContrast", "amplitude_contrast"),
)


def _microscope(options: ReadOptions, notes: list[str]) -> dict[str, list[str]]:
    """The optics columns of the caller's microscope (``options.optics``); a note when the written STAR lacks any.

    A stack records no microscope, and RELION 3.1's programs read no image of a STAR whose
    optics lack the voltage, Cs or amplitude contrast (``relion_reconstruct``: "trying to read
    image with empty file name"): the values must come from the caller.
    """
    given = options.optics.model_dump() if options.optics is not None else {}
    columns = {label: [f"{given[key]:.6f}"] for label, key in MICROSCOPE if given.get(key) is not None}
    if options.written_back and len(columns) < len(MICROSCOPE) and options.names.optics:
        lacking = ", ".join(label for label, _ in MICROSCOPE if label not in columns)
        notes.append(
            f"the particles.star written lists the masked images without {lacking} (a stack records no microscope), "
            f"and RELION 3.1's programs read no image of such a STAR; give them as {options.names.optics}, with your "
            "microscope's values, e.g. {voltage_kv: 300, cs_mm: 2.7, amplitude_contrast: 0.1}"
        )
    return columns
