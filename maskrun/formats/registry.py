"""Which module reads and writes each kind of particle set and map listing: the one list a new format joins.

A particle format is a module with ``NAME`` (saved in the plan and the run record),
``LABEL`` (``maskrun validate`` says it), ``SUFFIXES`` (what it reads), ``OUTPUTS`` (the
metadata files a run writes, the main one first), ``read_particles`` and
``write_particles`` (`ParticleFormat`). It may also have ``reread_metadata`` (read the
metadata only, for a set read back from a saved plan, which has the images' places
already; it takes the set and the caller's `ReadOptions`) and ``write_example`` (``maskrun
example particles --format NAME``). A module that also reads map listings (a job's ``volumes:
maps.star``) has ``MAP_OUTPUT``, ``read_maps`` and ``write_maps`` (`MapListingFormat`). A
set whose only pixel size is its stacks' headers' (a bare stack, a set whose metadata gives
none) takes the one the caller gives (`ReadOptions.pixel_size_angstrom`), which a set whose
metadata gives one refuses (`maskrun.formats.particle_set.take_given_pixel_size`). Image files
(MRC, gzipped MRC, SPIDER) have their own list: `maskrun.io.images.IMAGE_FORMATS`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, TypeVar

from maskrun.config.optics import Optics
from maskrun.config.path_text import expand_path
from maskrun.errors import UserError
from maskrun.formats import bare_stack, cryosparc, scipion, star_set, xmd_set
from maskrun.formats.map_set import (
    PLAIN_OUTPUT,
    VolumeSet,
    read_map_paths,
    refuse_image_stacks,
    refuse_numbered_images,
    write_plain_listing,
)
from maskrun.formats.particle_set import ExampleParticles, Masked, ParticleSet, ReadOptions
from maskrun.formats.setting_names import NO_NAMES, SettingNames
from maskrun.io.spider import spider_name


class ParticleFormat(Protocol):
    """A particle format's module (see the module's docstring)."""

    @property
    def NAME(self) -> str: ...  # module constants, read-only

    @property
    def LABEL(self) -> str: ...

    @property
    def SUFFIXES(self) -> tuple[str, ...]: ...

    @property
    def OUTPUTS(self) -> tuple[str, ...]: ...

    def read_particles(self, path: Path, options: ReadOptions) -> ParticleSet: ...

    def write_particles(
        self, particles: ParticleSet, masked: Masked, output_dir: Path, project_dir: Path | None
    ) -> list[Path]: ...


class MapListingFormat(Protocol):
    """A map listing format's module: a file naming the maps to mask, written back naming the masked ones."""

    @property
    def NAME(self) -> str: ...

    @property
    def SUFFIXES(self) -> tuple[str, ...]: ...

    @property
    def MAP_OUTPUT(self) -> str: ...

    def read_maps(
        self, listing: Path, project_dir: Path | None, names: SettingNames, job_folder: Path | None = None
    ) -> VolumeSet: ...

    def write_maps(
        self, volumes: VolumeSet, masked: list[str], output_dir: Path, project_dir: Path | None
    ) -> list[Path]: ...


FormatT = TypeVar("FormatT", "ParticleFormat", "MapListingFormat")
PARTICLE_FORMATS: tuple[ParticleFormat, ...] = (star_set, xmd_set, cryosparc, scipion, bare_stack)
MAP_LISTINGS: tuple[MapListingFormat, ...] = (star_set, xmd_set, scipion)
EXAMPLE_FORMATS = tuple(f.NAME for f in PARTICLE_FORMATS if hasattr(f, "write_example"))


def particle_format(name: str) -> ParticleFormat:
    """The module of the particle format ``name`` (a `ParticleSet`'s ``format``)."""
    return next(f for f in PARTICLE_FORMATS if name == f.NAME)


def _by_suffix(formats: Sequence[FormatT], path: Path) -> FormatT | None:
    suffix = path.suffix.lower()
    return next((f for f in formats if suffix in f.SUFFIXES), None)


def load_particle_set(
    path: str | os.PathLike[str],
    job_folder: Path | None = None,
    image_column: str | None = None,
    *,
    project_dir: Path | None = None,
    passthrough: Path | None = None,
    optics: Optics | None = None,
    written_back: bool = True,
    need_stacks: bool = True,
    names: SettingNames = NO_NAMES,
    block: str | None = None,
    pixel_size_angstrom: float | None = None,
) -> ParticleSet:
    """Read a particle set, by its suffix's format, and check every image reference.

    Parameters
    ----------
    path
        ``.star``, ``.xmd``, ``.cs``, ``.sqlite``, or a bare stack: ``.mrcs`` or SPIDER ``.stk``; one block of a
        STAR or ``.xmd`` as Xmipp names it, ``block@file`` (`particle_path`).
    job_folder
        Folder of the job file: searched for stacks after the metadata's own folder and
        its parents, before the working directory.
    image_column
        The column of the images to mask (``_imageRef``, say; Xmipp programs write several);
        default ``rlnImageName`` or ``image``. The output rewrites that column only.
    project_dir
        Where relative stack paths start, searched first (cryoSPARC's project folder, or the
        folder an Xmipp program ran in).
    passthrough
        A cryoSPARC passthrough ``.cs``, joined on ``uid``.
    optics
        Voltage, Cs and amplitude contrast for the RELION STAR written beside a ``.cs``
        output, where the ``.cs`` lacks them (a job's ``inputs.optics``).
    written_back
        Whether the set will be written back masked (a job; a ``.cs`` as ``particles.cs`` with
        a RELION STAR beside it), or only read (``project-mask``, ``make-mask --like``): errors
        and warnings say what the command makes, and the STAR's are not given.
    need_stacks
        Whether the stacks must be there (a job masks them). False (``project-mask``, which
        takes only their box and pixel size): when a stack is not found, the set is read from
        its metadata alone, box and pixel size included where it holds them
        (`maskrun.formats.particle_set.WithoutStacks`); when every one is found, it is read and
        checked as with True.
    names
        How the caller names these settings (a job its keys, a command its options; None: a
        setting it lacks), for the fixes the format's messages propose
        (`maskrun.formats.setting_names.SettingNames`). The set keeps them, for the messages of
        its poses.
    block
        The block of a STAR or ``.xmd`` to read; None: the one ``path`` names (``block@file``),
        else the one with the images.
    pixel_size_angstrom
        The images' pixel size, for a set whose only pixel size is its stacks' headers' (a bare
        stack, a set whose metadata gives none: a header's 1 Å/px is likely RELION's
        placeholder); None: the set's own.

    Raises
    ------
    UserError
        On an unknown suffix, a missing file, no image column, an unresolvable stack, an
        index past a stack's end, stacks of different box sizes, or a pixel size given for a
        set whose metadata gives its own.
    """
    named, path = particle_path(Path(os.path.abspath(path)))
    block = block if block is not None else named
    fmt = _by_suffix(PARTICLE_FORMATS, path)
    if fmt is None:
        suffixes = [s for f in PARTICLE_FORMATS for s in f.SUFFIXES]
        given = path.suffix.lower() or path.name
        name = spider_name(path)
        spider = f" (a SPIDER stack: rename it {name})" if name is not None and name.endswith(".stk") else ""
        raise UserError(
            f"particles must be a {', '.join(suffixes[:-1])} or {suffixes[-1]} file, not '{given}'{spider}",
            source=str(path),
        )
    options = ReadOptions(
        job_folder,
        image_column,
        project_dir,
        passthrough,
        optics,
        written_back,
        need_stacks,
        names,
        block,
        pixel_size_angstrom=pixel_size_angstrom,
    )
    particles = fmt.read_particles(path, options)
    took = particles.pixel_size_given or particles.without_stacks is not None  # read without stacks: not needed
    if pixel_size_angstrom is not None and not took:  # a format that neither took nor refused it
        field = names.pixel_size_angstrom
        raise UserError(f"a {fmt.LABEL} set does not take a pixel size: remove it", source=str(path), field=field)
    particles.setting_names = names  # for the messages of what is read from it later
    return particles


def particle_path(path: Path) -> tuple[str | None, Path]:
    """The block a particles path names, Xmipp's ``block@file`` (``class000001_images@classes.xmd``), and the file;
    (None, ``path``) for a path that names a file, or no block of a STAR/XMD file
    (`maskrun.formats.star_set.named_block`)."""
    return star_set.named_block(path)


def with_metadata(particles: ParticleSet, options: ReadOptions) -> ParticleSet:
    """A set read back from a saved plan (images' places only) with its metadata: read again by the format
    (``reread_metadata``) where it can, else the whole set read again.

    Raises
    ------
    UserError
        When the metadata no longer has the rows the plan was made from, or as `load_particle_set`.
    """
    fmt = particle_format(particles.format)
    reread = getattr(fmt, "reread_metadata", None)
    read: ParticleSet = (
        reread(particles, options) if reread is not None else fmt.read_particles(particles.source, options)
    )
    read.setting_names = options.names
    return read


def load_volume_set(
    entries: str | list[str], folder: Path, names: SettingNames = NO_NAMES, project_dir: Path | None = None
) -> VolumeSet:
    """Resolve the ``volumes`` input against ``folder`` (the job file's folder): a listing by its format, or paths.

    ``names``: how the caller names its settings; errors name its ``volumes`` as their field.

    Raises
    ------
    UserError
        If a path or glob matches no file, a listing has no map column or lists particle
        images (``N@stack``: `refuse_numbered_images`), two maps share a file stem (their outputs
        would collide), a map is not a readable image, or is a stack of images (a ``.mrcs``, a
        SPIDER stack).
    """
    listing = _by_suffix(MAP_LISTINGS, Path(entries)) if isinstance(entries, str) else None
    if listing is None or not isinstance(entries, str):
        volumes = read_map_paths(entries, folder, names.volumes)
    else:
        volumes = listing.read_maps(Path(os.path.abspath(folder / expand_path(entries))), project_dir, names, folder)
        refuse_numbered_images(volumes, names)
    refuse_image_stacks(volumes, names)
    return volumes


def volumes_with_metadata(
    volumes: VolumeSet, entries: str | list[str], folder: Path, names: SettingNames, project_dir: Path | None
) -> VolumeSet:
    """A listed set read back from a saved plan (its maps only) with its listing's metadata: read again by the
    format (``reread_listing``: the maps kept as planned) where it can, else the whole set read again
    (`load_volume_set` of ``entries``).

    Raises
    ------
    UserError
        When the listing no longer lists the maps the plan was made from, or as `load_volume_set`.
    """
    listing = _by_suffix(MAP_LISTINGS, volumes.listing) if volumes.listing is not None else None
    reread = getattr(listing, "reread_listing", None)
    if reread is not None:
        read: VolumeSet = reread(volumes)
        return read
    return load_volume_set(entries, folder, names, project_dir)


def map_set_output(volumes: VolumeSet) -> str | None:
    """The name of the listing a map job writes: its listing format's, ``volumes.star`` for paths; None for one map."""
    if not volumes.is_set:
        return None
    listing = _by_suffix(MAP_LISTINGS, volumes.listing) if volumes.listing is not None else None
    return listing.MAP_OUTPUT if listing is not None else PLAIN_OUTPUT


def write_map_set(volumes: VolumeSet, masked: list[str], output_dir: Path, project_dir: Path | None) -> list[Path]:
    """Write the listing of the masked maps (`map_set_output`): the input listing rewritten, or a new STAR."""
    listing = _by_suffix(MAP_LISTINGS, volumes.listing) if volumes.listing is not None else None
    if listing is None:
        return write_plain_listing(volumes, masked, output_dir)
    return listing.write_maps(volumes, masked, output_dir, project_dir)


def written_formats() -> dict[str, str]:
    """The format name of each metadata file a run may write, by suffix (``.cs`` → ``cs``), for the run record."""
    names = [*(n for f in PARTICLE_FORMATS for n in f.OUTPUTS), *(f.MAP_OUTPUT for f in MAP_LISTINGS)]
    suffixes = dict.fromkeys(Path(n).suffix for n in names)
    return {s: f.NAME for s in suffixes for f in PARTICLE_FORMATS if s in f.SUFFIXES}


def convert_example(star: Path, fmt: str) -> Path:
    """Write the particles of the example ``star`` in format ``fmt`` (`EXAMPLE_FORMATS`) beside it; returns the file.

    Each file lists the same particles and stacks as the example's ``particles.star``, in
    the form the format's own programs write (see ../shared/notes/formats.md), so that
    ``maskrun example particles --format F`` shows a working job for a user's own kind of file.
    """
    import starfile  # only for the example

    blocks = starfile.read(star, always_dict=True)
    particles, optics = blocks["particles"], blocks["optics"]
    example = ExampleParticles(
        star,
        particles,
        optics,
        [str(n) for n in particles["rlnImageName"]],
        float(optics["rlnImagePixelSize"][0]),
        int(optics["rlnImageSize"][0]),
    )
    written: Path = particle_format(fmt).write_example(example)  # type: ignore[attr-defined]  # one of EXAMPLE_FORMATS
    return written
