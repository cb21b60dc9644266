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

import numpy as np

from maskrun.config.path_text import expand_path
from maskrun.errors import UserError
from maskrun.formats.particle_set import RowNames
from maskrun.formats.references import marked_kind, split_format
from maskrun.formats.setting_names import SettingNames
from maskrun.io.image_info import ImageInfo, named_a_stack
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
    # a Scipion set's project folder, which its _filename values are named from (the written set's too); None for
    # the other formats
    project_root: Path | None = None
    # each map's reference as its set writes it, [N@]file[:format], where it is no STAR/XMD listing's column (a Scipion
    # set's items, N from _index); None: the column's (`listed`), or no listing
    references: list[str] | None = None
    # a STAR/XMD listing's kept rows' numbers in the file (from 1), where disabled rows (_enabled <= 0) were dropped
    row_numbers: list[int] | None = None
    notes: list[str] = field(default_factory=list)  # what reading the set noted (disabled rows dropped)

    def listed(self) -> list[tuple[str, str]]:
        """Each map's place in its listing and reference as written: ``("row 2", "1@b.mrc")`` for a STAR/XMD
        listing's map column, ``("item 7", "1@Runs/…/v.vol")`` for a Scipion set's items; none for maps given by
        path, or read back from a saved plan."""
        table = self.blocks.get(self.block_name) if self.blocks is not None and self.block_name is not None else None
        if self.references is not None:  # a Scipion set's items, by their ids (or their places)
            texts = self.references
            names = RowNames(self.set_ids if self.set_ids is not None else list(range(1, len(texts) + 1)))
        elif isinstance(table, Loop) and self.column:
            texts = table.column(self.column)
            names = RowNames(numbers=None if self.row_numbers is None else np.asarray(self.row_numbers))
        else:
            return []
        return [(names.named(row), text) for row, text in enumerate(texts)]


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


def says_images(file: str) -> bool:
    """Whether a file a listing of maps names holds 2D images by its name alone: its format suffix marks a stack
    (``:mrcs``), or it is named as one (`named_a_stack`: ``.mrcs``, which RELION reads as a stack of images).

    Examples
    --------
    >>> says_images("parts.mrc:mrcs"), says_images("Runs/x/particles.mrcs"), says_images("split_v1.vol")
    (True, True, False)
    """
    path, fmt = split_format(file)
    return marked_kind(fmt) == "stack" or named_a_stack(path)


def refuse_listed_images(
    texts: Sequence[object],
    listing: Path,
    column: str,
    names: SettingNames,
    places: Sequence[str] | None = None,
) -> None:
    """Refuse a listing of maps a row of which takes an image by number (``N@file``) from a file its name says
    holds particle images (`says_images`: ``:mrcs``, ``.mrcs``): a particle set given as maps. Told from the text,
    before the files are looked up; other ``N@file`` rows are judged by their file's header once read
    (`refuse_numbered_images`): ``1@`` of a file that holds one map is that map.

    ``places``: how each row is named (``item 7``); ``row N`` by default.

    Raises
    ------
    UserError
        Naming the listing, the first such row and the caller's setting for particles
        (``names.particles``).
    """
    for k, text in enumerate(map(str, texts)):
        _, at, file = text.partition("@")
        if at and says_images(file):
            where = places[k] if places is not None else f"row {k + 1}"
            refuse_listed_image(where, text, file, listing, names.volumes or column, names)


def refuse_numbered_images(volumes: VolumeSet, names: SettingNames) -> None:
    """Refuse a listing of maps that takes images by number (``N@file``) from a file that holds 2D images, as
    its header, once read, tells: one that does not hold one map (`holds_one_map`: a SPIDER stack of images, an MRC
    whose box is no cube or whose header marks a stack), or a file it takes an
    image from 2 up (one map is image 1 of its file, as Scipion's Xmipp plugin writes it, ``1@split_v1.vol``;
    a stack of maps, MRC ispg 401 or a SPIDER stack of volumes, was refused when its header was read, as maskrun
    does not read one). The rule of `refuse_listed_images`, for what a file's name does not say.

    Raises
    ------
    UserError
        Naming the listing, the first row taking an image from such a file, and the caller's setting for
        particles (``names.particles``).
    """
    numbered = []  # (place, reference, its number, its file's header)
    for (where, text), info in zip(volumes.listed(), volumes.maps):
        number, at, _ = text.partition("@")
        if at and number.isdigit():
            numbered.append((where, text, int(number), info))
    images = {info.path for _, _, number, info in numbered if number > 1 or not holds_one_map(info)}
    first = next((row for row in numbered if row[3].path in images), None)
    if first is not None:
        assert volumes.listing is not None  # only a listing names its maps N@file
        where, text = first[:2]
        file = text.partition("@")[2]
        refuse_listed_image(where, text, file, volumes.listing, names.volumes or volumes.column, names)


def holds_one_map(info: ImageInfo) -> bool:
    """Whether ``1@file`` of the file ``info`` is that file's one map, as Xmipp reads it: a SPIDER volume, by its
    header; an MRC of a cubic box whose name (``.mrcs``) and header (ispg 0, mz 1: `ImageInfo.marks_a_stack`) mark
    no stack. Else it holds images (a stack saved as ``.mrc`` with ispg 1, 7 images of 320 x 320), of which
    ``1@`` is the first.
    """
    if info.declared_kind is not None:
        return info.declared_kind == "volume"
    nz, ny, nx = info.shape_zyx
    return not (info.says_a_stack or info.marks_a_stack) and nx == ny == nz


def refuse_listed_image(
    where: str, reference: str, file: str, listing: Path, field: str | None, names: SettingNames
) -> None:
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
