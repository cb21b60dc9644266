"""The report's "Outputs" section: the files a run wrote, with their sizes, and the next step for its format.

The files are the run record's outputs (what the gather wrote and checked), a folder's
files counted together. The next step is where the written metadata goes: RELION and
Xmipp read it from the folder its images are named from (a STAR's, an XMD's), cryoSPARC
through Import Particle Stack with the companion STAR, Scipion through its import of a set.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from maskrun.formats import scipion
from maskrun.formats.registry import particle_format, written_formats
from maskrun.io.float16_rounding import FLOAT16
from maskrun.io.image_info import ImageInfo
from maskrun.io.star import Loop
from maskrun.jobs.plan import JobPlan, maps_words, masks_per, size_text

ROLES = {  # what each file or folder of an output holds, by name (a folder's with its slash)
    "stacks/": "the masked particle images",
    "volumes/": "the masked maps",
    "mask.mrc": "the mask applied",
    "check/": "the half-map check",
}
NAMED = 2  # a folder's files named before the count of the rest


def output_lines(plan: JobPlan, record: dict[str, Any]) -> list[str]:
    """One line per file or folder the run record lists, in its order: ``stacks/ (3 files, 1.57 MB: …): …``."""
    top: dict[str, list[tuple[str, int]]] = {}  # a file's or folder's name: its files and sizes
    for entry in record.get("outputs", []):
        path = Path(str(entry.get("path", "")))
        name = path.name if len(path.parts) == 1 else f"{path.parts[0]}/"
        top.setdefault(name, []).append((path.name, int(entry.get("bytes", 0))))
    lines = []
    for name, files in top.items():
        size = size_text(sum(nbytes for _, nbytes in files))
        if name.endswith("/"):
            shown = ", ".join(file for file, _ in files[:NAMED]) + (", …" if len(files) > NAMED else "")
            size = f"{len(files)} file{'s' * (len(files) != 1)}, {size}: {shown}"
        role = _role(plan, name)
        lines.append(f"{name} ({size})" + (f": {role}" if role else ""))
    return lines + ["provenance/run.json: how the run was made (versions, checksums, the job as resolved)"]


def _role(plan: JobPlan, name: str) -> str | None:
    """What an output's file or folder (``stacks/``) holds."""
    metadata = [path.name for path in plan.metadata_outputs]
    if name in metadata[:1]:
        if plan.particles is None:
            return "the listing of the masked maps"
        written = written_formats()[Path(name).suffix]  # a bare stack's is a STAR
        return f"the masked particles ({particle_format(written).LABEL})"
    if name in metadata:  # a .cs set's companion
        return "the same particles as a RELION STAR, for cryoSPARC's Import Particle Stack"
    if name == "masks/":  # a map set's, one per box and voxel size; a particle job's (projected, following), per batch
        return _map_masks(plan) if plan.particles is None else "each particle's mask applied"
    return ROLES.get(name)


def _map_masks(plan: JobPlan) -> str:
    """What a map set's ``masks/`` holds: ``the mask applied to each box: mask_20x20x20.mrc to the 20 x 20 x 20 maps
    (small.mrc); …``, each file with the maps it masked."""
    saved = plan.mask_units()
    applied = "; ".join(f"{path.name} to {maps_words(plan, units, named=True)}" for path, units in saved.items())
    return f"the mask applied to each {masks_per(plan)}: {applied}"


def next_step(plan: JobPlan) -> str:
    """What to do with the output next, in the terms of its format's programs."""
    out = plan.output_dir
    listing = plan.volume_set.listing if plan.particles is None else None
    if listing is not None and listing.suffix.lower() in scipion.SUFFIXES:
        return _scipion_maps(plan, listing)
    if plan.particles is None:
        listing = plan.metadata_output
        listed = f" ({listing.name} lists them)" if listing is not None else ""
        return (
            f"volumes/ holds the masked maps{listed}, with their inputs' voxel size, origin and axis order: use them "
            "where you used the inputs"
        )
    particles = plan.particle_set
    written = plan.metadata_outputs
    if particles.format == "cs":  # the companion STAR, for cryoSPARC's documented way in
        return (
            f"cryoSPARC: an Import Particle Stack job, particle meta path {out / 'particles.star'}, particle data "
            f"path {out / 'stacks'}; keep the original job's outputs and passthrough for what the STAR leaves out "
            '(docs/spec.md, "Back into cryoSPARC")'
        )
    if particles.format == "sqlite":  # pwem's import particles gives the set the form's pixel size, not the file's
        pixel = particles.pixel_size_angstrom
        size = f", pixel size {pixel:g} Å/px" if pixel else ""
        return (
            f"Scipion: an import particles job, Import from scipion, Particles sqlite file {written[0]}{size}; it "
            f'links the stacks: keep {out} where it is (docs/spec.md, "Back into Scipion")'
        )
    base = particles.references_base
    folder = base if base is not None and Path(os.path.abspath(out)).is_relative_to(base) else out
    metadata = os.path.relpath(written[0], folder)  # its images are named from that folder
    optics = particles.blocks.get("optics")
    told = isinstance(optics, Loop) and {"rlnVoltage", "rlnSphericalAberration", "rlnAmplitudeContrast"} <= set(
        optics.columns
    )
    if particles.format == "mrcs" and not told:  # RELION 3.1 reads no image of a STAR whose optics lack the voltage
        return (
            f"stacks/ holds the masked images; {metadata} lists them from {folder}, without the voltage, Cs, poses "
            "or CTF a bare stack does not have (RELION's programs need the optics: give them as inputs.optics)"
        )
    if particles.format == "xmd":
        return f"Xmipp: from {folder}, xmipp_reconstruct_fourier -i {metadata} -o masked.vol, or any Xmipp program"
    half = (
        "; its stacks are float16 (MRC mode 12), which RELION 4 and 5 read and RELION 3.1 cannot: for RELION 3.1, "
        "run the job again with output.dtype: float32 and another output.dir"
        if plan.output_dtype == FLOAT16
        else ""
    )
    return (
        f"RELION: from {folder}, relion_reconstruct --i {metadata} --o masked.mrc, or {metadata} as the input "
        f"particles of a RELION job run there{half}"
    )


SAME_ORIGIN_ANGSTROM = 0.01  # origins closer than this are one: pwem writes them as floats of the form's numbers


def _scipion_maps(plan: JobPlan, listing: Path) -> str:
    """The way back into Scipion for maps masked from a ``volumes.sqlite``: pwem's *import volumes* reads a pattern
    of files (or an EMDB id), no set, so the step gives the pattern, the sampling rate and the input set's origin,
    which the form takes again by hand (``x, y, z`` in Å: the origin's shifts negated, pwem's ``_getOrigCoord``)."""
    out = plan.output_dir
    placement = scipion.map_placement(listing)
    maps = plan.volume_set.maps
    sampling = placement.sampling_angstrom or maps[0].voxel_size_xyz[0]
    pixel = f", Pixel size (sampling rate) {sampling:g} Å/px" if sampling > 0 else ""
    origin = _origin_words(placement.origins_angstrom, maps, sampling, out)
    return (
        f"Scipion: an import volumes job, Import from local file, Files directory {out / 'volumes'}, Pattern *.mrc "
        f"(the files {out / 'volumes'}/*.mrc){pixel}{origin}. Import volumes reads no set: volumes.sqlite only lists "
        'the masked maps (docs/spec.md, "Back into Scipion")'
    )


def _origin_words(
    origins: list[tuple[float, float, float] | None], maps: list[ImageInfo], sampling: float, out: Path
) -> str:
    """The form's origin for ``maps`` (``origins``: their set's shifts, Å, in the same order): none when the set has
    none; *Set origin of coordinates* left at No where every map's is pwem's default (its box's centre, n/2 ·
    sampling on each axis, which pwem links the files for), else Yes with the one x, y, z of them all (pwem then
    writes copies with it), or each map's where they differ."""
    known = [origin for origin in origins if origin is not None]
    boxes = [info.box_xyz for info in maps]
    if not known or len(known) != len(boxes):
        return ""
    form = [tuple(0.0 - v for v in origin) for origin in known]  # what the form takes: the shifts negated (no -0)
    said = [", ".join(f"{v:.6g}" for v in xyz) for xyz in form]
    default = all(
        all(abs(v - n / 2 * sampling) <= SAME_ORIGIN_ANGSTROM for v, n in zip(xyz, box[:3]))
        for xyz, box in zip(form, boxes)
    )
    if default:
        centre = f"origin, x, y, z {said[0]} Å, is" if len(set(said)) == 1 else "origins are"
        return (
            f"; Set origin of coordinates No (the input set's {centre} the box centre, the import's default); it "
            f"links the maps: keep {out} where it is"
        )
    if len(set(said)) == 1:
        return (
            f"; Set origin of coordinates Yes, x, y, z {said[0]} Å (the input set's origin, which the import does "
            "not read from the files)"
        )
    each = "; ".join(f"{info.path.stem}.mrc {xyz} Å" for info, xyz in zip(maps[:NAMED], said))
    more = f"; … ({len(maps)} maps)" if len(maps) > NAMED else ""
    return (
        f"; the input set's maps have different origins ({each}{more}): import each map on its own (Pattern its "
        "name), Set origin of coordinates Yes, x, y, z its origin"
    )
