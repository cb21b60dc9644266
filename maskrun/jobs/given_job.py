"""The file given where a job goes: a job file, or the data a job would name.

``maskrun run relion31.star`` read the STAR file as YAML and said ``line 8: is not valid
YAML`` (a ``.cs`` or an MRC file: that it is not UTF-8 text). A particle set or an image
given as the job is refused, by its name, saying what it is and the job that would name it.
"""

from __future__ import annotations

import os
from pathlib import Path

from maskrun.config.job_file import Job, load_job
from maskrun.errors import UserError
from maskrun.formats.registry import PARTICLE_FORMATS
from maskrun.io.mrc_reader import MRC_SUFFIXES
from maskrun.io.spider import SPIDER_SUFFIXES

_STACK_SUFFIXES = {suffix for f in PARTICLE_FORMATS for suffix in f.SUFFIXES}  # .mrcs, .stk: told as particles
MAP_ENDINGS = (  # the names of the image files a job names as volumes: MRC (gzipped too) and SPIDER
    *(ending for suffix in MRC_SUFFIXES if suffix not in _STACK_SUFFIXES for ending in (suffix, f"{suffix}.gz")),
    *(suffix for suffix in SPIDER_SUFFIXES if suffix not in _STACK_SUFFIXES),
)
STARTER = "maskrun example {kind} prints a starter job"


def load_given_job(path: str | os.PathLike[str]) -> Job:
    """`load_job`, after refusing a data file given as the job (`refuse_data_as_job`)."""
    refuse_data_as_job(path)
    return load_job(path)


def refuse_data_as_job(path: str | os.PathLike[str]) -> None:
    """Refuse a particle set, stack or map given where the job file goes, by its name.

    Raises
    ------
    UserError
        Naming what the file is, the ``inputs`` that would name it, and the starter job to
        begin from.
    """
    name = Path(path).name
    lower = name.lower()
    if not Path(path).is_file():  # load_job says it is not found
        return
    particles = next((f for f in PARTICLE_FORMATS if Path(lower).suffix in f.SUFFIXES), None)
    if particles is not None and particles.NAME == "mrcs":
        what, kind, direct = "a stack of particle images", "particles", f"maskrun mask {name} OUT.mrcs --shape circular"
    elif particles is not None:
        label = particles.LABEL
        what, kind, direct = f"{'an' if label[0] in 'AEIOUX' else 'a'} {label} file", "particles", None
    elif lower.endswith(MAP_ENDINGS):
        what, kind, direct = "an image file (a map)", "volumes", f"maskrun mask {name} OUT.mrc --shape sphere"
    else:
        return
    starter = STARTER.format(kind=kind)
    fix = f"{starter}; or mask it at once: {direct} ..." if direct else starter
    raise UserError(
        f"is {what}, not a job: a job is a YAML file naming it, as inputs: {{{kind}: {name}}} ({fix})",
        source=str(path),
    )
