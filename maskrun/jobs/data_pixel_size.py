"""The pixel size a job's inputs give, read for a message: the number a length in the other unit would be.

``mask.map.extend_px: "10 A"`` is refused (the field counts pixels); the job file alone does not
say the data's pixel size, so the refusal said ``10 ÷ the pixel size (Å/px)``. When the job is
refused for that, its inputs are read for their pixel size (`data_pixel_size`, given to
`maskrun.config.job_file.load_job`) and the refusal says the number: ``give 7.63, 10 Å at 1.31
Å/px (rounded to 0.01 px)``. Only on that refusal: a valid job reads its inputs once, when planned.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from maskrun.config.job_file import Inputs
from maskrun.config.path_text import expand_path
from maskrun.errors import UserError
from maskrun.formats.particle_set import ReadOptions
from maskrun.formats.registry import load_particle_set, load_volume_set
from maskrun.io.pixel_size import usable_pixel_size

SAME_SIZE = 0.01  # maps whose voxel sizes differ by more have no one pixel size (a mask must match each to 1 %)


def data_pixel_size(inputs: Inputs, folder: Path) -> float | None:
    """The pixel size (Å/px) of the particles or maps ``inputs`` names, paths relative to ``folder``; None where the
    inputs give none (a stack header's 1 Å placeholder, optics groups or maps of several) or cannot be read."""

    def resolve(relative: str) -> Path:
        return Path(os.path.abspath(folder / expand_path(relative)))

    project_dir = resolve(inputs.project_dir) if inputs.project_dir is not None else None
    try:
        with warnings.catch_warnings():  # what reading says is said again when the job, fixed, is planned
            warnings.simplefilter("ignore")
            if inputs.particles is not None:
                options = ReadOptions(
                    folder,
                    inputs.image_column,
                    project_dir,
                    resolve(inputs.passthrough) if inputs.passthrough is not None else None,
                    inputs.optics,
                    written_back=False,
                    need_stacks=False,
                    pixel_size_angstrom=inputs.pixel_size_angstrom,
                )
                particles = load_particle_set(resolve(inputs.particles), **vars(options))
                return None if particles.header_is_no_pixel_size else usable_pixel_size(particles.pixel_size_angstrom)
            assert inputs.volumes is not None  # Inputs holds exactly one of the two
            sizes = [info.voxel_size_xyz[0] for info in load_volume_set(inputs.volumes, folder).maps]
    except (UserError, OSError, ValueError):
        return None
    first = usable_pixel_size(sizes[0]) if sizes else None
    return first if first is not None and all(abs(s - first) <= SAME_SIZE * first for s in sizes) else None
