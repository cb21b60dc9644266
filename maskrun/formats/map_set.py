"""Map sets: one path, a list of paths, a glob, or a listing file (read by its format's module).

What every map input reads into is a `VolumeSet`; `maskrun.formats.registry.load_volume_set`
picks the reader: a listing's format module (STAR, XMD, Scipion ``volumes.sqlite``), or
`read_map_paths` for paths and globs.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from maskrun.config.path_text import expand_path
from maskrun.errors import UserError
from maskrun.formats.references import split_format
from maskrun.formats.setting_names import SettingNames
from maskrun.io.image_info import ImageInfo
from maskrun.io.images import inspect_image
from maskrun.io.paths import is_file, refuse_broken_link
from maskrun.io.spider import spider_name
from maskrun.io.star import Blocks, Comments, Loop, write_metadata

GLOB_CHARS = set("*?[")
PLAIN_OUTPUT = "volumes.star"  # the listing written for a list or glob of maps


@dataclass
class VolumeSet:
    """The maps to mask, in order, and the listing they came from (if any)."""

    maps: list[ImageInfo]
    is_set: bool
    listing: Path | None = None
    blocks: Blocks | None = None
    comments: Comments = field(default_factory=list)
    block_name: str | None = None
    column: str | None = None
    set_ids: list[int] | None = None  # a Scipion set's item ids, in map order
    has_metadata: bool = True  # False for a listed set read back from a saved plan: the maps only
    # the folder a STAR/XMD listing's map paths were relative to (where most maps were found: the listing's, or the
    # RELION or Xmipp project folder); the written listing names the masked maps from it. None: not such a listing
    references_base: Path | None = None


def read_map_paths(entries: str | list[str], folder: Path, field_name: str | None) -> VolumeSet:
    """The maps of a path, a list of paths or a glob (relative to ``folder``, the job file's).

    Raises
    ------
    UserError
        If a path or glob matches no file, two maps share a file stem (their outputs would
        collide), or a map is not a readable image.
    """
    paths = []
    for entry in [entries] if isinstance(entries, str) else entries:
        pattern = str(folder / expand_path(entry))
        if GLOB_CHARS & set(entry):
            matches = sorted(glob.glob(pattern))
            if not matches:
                raise UserError(f"'{entry}' matches no file in {folder}; check the pattern", field=field_name)
            paths += matches
        else:
            paths.append(pattern)
    infos = [inspect_map(Path(os.path.abspath(p)), field_name, folder) for p in paths]
    check_unique_stems(infos, field_name)
    is_set = not isinstance(entries, str) or bool(GLOB_CHARS & set(entries))
    return VolumeSet(infos, is_set)


def inspect_map(path: Path, field_name: str | None, relative_to: Path | None = None) -> ImageInfo:
    """A map's header; a missing map is named with the caller's field that gave it (and the folder its path was
    written from, ``relative_to``)."""
    if not is_file(path):
        refuse_broken_link([path], "map", None, field_name)
        written = f" (its path is relative to {relative_to})" if relative_to is not None else ""
        raise UserError(f"map {path} not found; check the path{written}", field=field_name)
    return inspect_image(path)


def refuse_listed_images(texts: Sequence[object], listing: Path, column: str, names: SettingNames) -> None:
    """Refuse a listing whose rows name images in a stack (``N@stack``): a particle set given as maps.

    ``N@file`` is image N of a stack of 2D images, to RELION always (it refuses ``N@x.mrc``:
    ``.mrc`` names a map); read as maps, each row would be the whole stack, masked as one volume.

    Raises
    ------
    UserError
        Naming the listing, the first such row and the caller's setting for particles
        (``names.particles``).
    """
    row = next((i for i, text in enumerate(texts) if "@" in str(text)), None)
    if row is not None:
        text = str(texts[row])
        refuse_listed_image(f"row {row + 1}", text, text.partition("@")[2], listing, names.volumes or column, names)


def refuse_listed_image(where: str, reference: str, file: str, listing: Path, field: str, names: SettingNames) -> None:
    """Refuse the image ``reference`` (``N@file``, as written) that a listing of maps names at ``where`` (``row 1``,
    ``item 3``), as `refuse_listed_images` words it; ``file``: its stack as written, a format suffix and all.

    Raises
    ------
    UserError
        Always: naming the listing, ``where``, the reference, its stack and the caller's setting for particles.
    """
    fix = f"give it as {names.particles}" if names.particles else "mask them as particles"
    raise UserError(
        f"lists particle images (N@stack), not maps: {where} is '{reference}', one image of the stack "
        f"{Path(split_format(file)[0]).name}; {fix}",
        source=str(listing),
        field=field,
    )


def refuse_image_stacks(volumes: VolumeSet, names: SettingNames) -> None:
    """Refuse a stack of images given as a map, alone or listed: a file that says it holds images
    (`ImageInfo.says_a_stack`: a ``.mrcs``, which RELION reads as a stack of 2D images, as would every other
    program the masked file goes to; a SPIDER stack, by its header, whatever its name); read as a map, its images
    would be masked as one volume.

    Raises
    ------
    UserError
        Naming the stack (or the listing naming it) and the caller's setting for particles.
    """
    stack = next((info for info in volumes.maps if info.says_a_stack), None)
    if stack is None:
        return
    n, ny, nx = stack.shape_zyx
    said = "its SPIDER header says so" if stack.declared_kind is not None else "a .mrcs, which RELION reads as images"
    what = f"a stack of {n} particle image{'s' * (n != 1)} of {nx} x {ny} ({said})"
    particles = names.particles or "particles"
    if volumes.listing is not None:
        raise UserError(
            f"lists {stack.path.name}, {what}, not a map; list maps only, and give particle stacks as {particles}",
            source=str(volumes.listing),
            field=names.volumes,
        )
    stk = spider_name(stack.path) if stack.declared_kind is not None else None
    rename = f"rename it {stk} and " if stk is not None and stk != stack.path.name else ""
    fix = f"{rename}give it as {names.particles}" if names.particles else "mask it as particles"
    raise UserError(f"is {what}, not a map; {fix}", source=str(stack.path), field=names.volumes)


def check_unique_stems(infos: list[ImageInfo], field_name: str | None) -> None:
    """Refuse two maps of one stem: outputs are named by stem."""
    seen: dict[str, Path] = {}
    for info in infos:
        stem = info.stem
        if stem in seen and seen[stem] != info.path:
            raise UserError(
                f"two maps are named {stem} ({seen[stem]} and {info.path}); outputs are named by stem, so rename one",
                field=field_name,
            )
        seen[stem] = info.path


def write_plain_listing(volumes: VolumeSet, masked: list[str], output_dir: Path) -> list[Path]:
    """``volumes.star`` for a list or glob of maps: each masked map beside its input, both from the listing's folder.

    ``rlnImageName`` (``volumes/<stem>.mrc``) and ``rlnImageOriginalName`` (``../../maps/x.mrc``)
    both resolve from the folder holding ``volumes.star``; an input map that no relative path
    reaches (another drive, or a ``..`` that a linked output folder sends elsewhere) is named
    by its absolute path.
    """
    folder = Path(os.path.abspath(output_dir))
    originals = [_reached_from(info.path, folder) for info in volumes.maps]
    listing = Loop.from_columns({"rlnImageName": masked, "rlnImageOriginalName": originals})
    return [write_metadata({"volumes": listing}, output_dir / PLAIN_OUTPUT, ["# version 30001"])]


def _reached_from(path: Path, folder: Path) -> str:
    """``path`` relative to ``folder`` when the system, following that relative path from it, finds the same file."""
    try:
        relative = os.path.relpath(path, folder)
        return relative if os.path.samefile(folder / relative, path) else str(path)
    except (ValueError, OSError):  # no relative path (another drive), or none that leads to the file
        return str(path)
