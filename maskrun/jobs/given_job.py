"""The file given where a job goes: a job file, or the data a job would name.

``maskrun run relion31.star`` read the STAR file as YAML and said ``line 8: is not valid
YAML`` (a ``.cs`` or an MRC file: that it is not UTF-8 text). A particle set or an image
given as the job is refused, by its name, saying what it is and the job that would name it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from maskrun.config.job_file import Job, load_job
from maskrun.errors import UserError
from maskrun.formats.registry import MAP_LISTINGS, PARTICLE_FORMATS
from maskrun.io.mrc_reader import MRC_SUFFIXES
from maskrun.io.spider import SPIDER_SUFFIXES
from maskrun.jobs.data_pixel_size import data_pixel_size

_STACK_SUFFIXES = {suffix for f in PARTICLE_FORMATS for suffix in f.SUFFIXES}  # .mrcs, .stk: told as particles
MAP_ENDINGS = (  # the names of the image files a job names as volumes: MRC (gzipped too) and SPIDER
    *(ending for suffix in MRC_SUFFIXES if suffix not in _STACK_SUFFIXES for ending in (suffix, f"{suffix}.gz")),
    *(suffix for suffix in SPIDER_SUFFIXES if suffix not in _STACK_SUFFIXES),
)
TILT_SERIES_ENDINGS = (".st", ".ali", ".st.gz", ".ali.gz")  # IMOD's MRC stacks of tilt images, raw and aligned
_LISTING_SUFFIXES = {suffix for f in MAP_LISTINGS for suffix in f.SUFFIXES}  # .star, .xmd, .sqlite: maps too
STARTER = "maskrun example {kind} prints a starter job"
HEAD_BYTES = 65536  # of a STAR/XMD given as the job, looked at for a particle set's rows
NUMBERED_IMAGE = re.compile(rb"(?:^|\s)\d+@\S")  # an image taken by number from a stack (000012@stack.mrcs)


def load_given_job(path: str | os.PathLike[str]) -> Job:
    """`load_job`, after refusing a data file given as the job (`refuse_data_as_job`); a length in another unit than
    its field's is told the number to give at the inputs' pixel size (`data_pixel_size`)."""
    refuse_data_as_job(path)
    return load_job(path, data_pixel_size)


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
    kind: str | None
    if particles is not None and particles.NAME == "mrcs":
        what, kind, direct = "a stack of particle images", "particles", f"maskrun mask {name} OUT.mrcs --shape circular"
    elif particles is not None:
        label = particles.LABEL
        what, direct = f"{'an' if label[0] in 'AEIOUX' else 'a'} {label} file", None
        kind = _listed(Path(path)) if Path(lower).suffix in _LISTING_SUFFIXES else "particles"
    elif lower.endswith(TILT_SERIES_ENDINGS):  # a job masks particles or maps, not the images of a tilt series
        raise UserError(
            "is an IMOD tilt series (MRC stack), not a job; a job masks particle sets and maps, not tilt series: mask "
            f"its tilt images one by one as a stack: maskrun mask {name} OUT{Path(lower.removesuffix('.gz')).suffix} "
            "--input-kind stack --shape circular ...",
            source=str(path),
        )
    elif lower.endswith(MAP_ENDINGS):
        what, kind, direct = "an image file (a map)", "volumes", f"maskrun mask {name} OUT.mrc --shape sphere"
    else:
        return
    if kind is None:  # a STAR, XMD or Scipion set may list maps as well
        inputs = f"inputs: {{particles: {name}}}, or inputs: {{volumes: {name}}} if it lists maps"
        starter = STARTER.format(kind="particles, or volumes,")
    else:
        inputs, starter = f"inputs: {{{kind}: {name}}}", STARTER.format(kind=kind)
    fix = f"{starter}; or mask it at once: {direct} ..." if direct else starter
    raise UserError(f"is {what}, not a job: a job is a YAML file naming it, as {inputs} ({fix})", source=str(path))


def _listed(path: Path) -> str | None:
    """What a STAR, XMD or Scipion set given as the job lists, where its name or first rows say so cheaply:
    ``volumes`` for a name such as ``volumes.star`` (Scipion's ``volumes.sqlite``), ``particles`` for
    ``particles.sqlite`` or a STAR/XMD whose first rows take images by number (``N@stack``); None: either."""
    lower = path.name.lower()
    if lower.startswith(("volumes", "particles")):
        return "volumes" if lower.startswith("volumes") else "particles"
    if path.suffix.lower() == ".sqlite":
        return None
    try:
        with open(path, "rb") as file:
            head = file.read(HEAD_BYTES)
    except OSError:  # load_job says why it cannot be read
        return None
    return "particles" if NUMBERED_IMAGE.search(head) else None
