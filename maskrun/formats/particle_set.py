"""What every particle format reads into (`ParticleSet`), and the checks all of them share.

A format module (``maskrun.formats.star_set``, ``cryosparc``, …; listed in
`maskrun.formats.registry`) turns its file into a `ParticleSet`. Every ``N@stack``
reference is resolved and checked against its stack's header once, when the set is
loaded: a mistake shows up before any work starts, naming the row and the fix. A set read
for its poses alone (``ReadOptions.need_stacks`` False) whose stacks are not all found is
read from its metadata instead (`WithoutStacks`).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from maskrun.config.optics import Optics
from maskrun.errors import MaskrunWarning, UserError
from maskrun.formats.references import marked_kind, refuse_other_kind, split_format, split_numbers
from maskrun.formats.setting_names import NO_NAMES, SettingNames
from maskrun.io.image_info import ImageInfo, Kind
from maskrun.io.images import inspect_image
from maskrun.io.paths import is_file, refuse_broken_link
from maskrun.io.pixel_size import PLACEHOLDER_ANGSTROM, given_over_header
from maskrun.io.star import Blocks, Comments, Loop

if TYPE_CHECKING:
    import pandas as pd

    from maskrun.formats.star_optics import ParticleGroups

RELION_WRITES = "the value RELION writes in particle stacks whatever the pixel size"  # of `PLACEHOLDER_ANGSTROM`
NO_METADATA = "no metadata"  # what a bare stack lacks to give a pixel size (`ParticleSet.pixel_size_lacking`)
ANCESTORS_SEARCHED = 3  # RELION paths are relative to the project folder, e.g. two levels above Extract/job012/


@dataclass(frozen=True)
class ReadOptions:
    """What the caller says about reading its particles, beyond the file (`maskrun.formats.registry.load_particle_set`).

    ``names``: how the caller names these settings (a job its keys, a command its options),
    for the fixes the format's messages propose.
    """

    job_folder: Path | None = None
    image_column: str | None = None
    project_dir: Path | None = None
    passthrough: Path | None = None
    optics: Optics | None = None
    # a job writes the set back (a cryoSPARC set as particles.cs and a companion RELION STAR); project-mask
    # only reads it: the formats word their errors and warnings for what the command makes
    written_back: bool = True
    # project-mask needs the stacks only for their box and pixel size: False reads a set whose stacks are not all
    # found from its metadata alone (`WithoutStacks`); a job masks the stacks, and a stack not found is refused
    need_stacks: bool = True
    names: SettingNames = NO_NAMES
    # the block to read, named as Xmipp's block@file names it (`maskrun.formats.star_set.named_block`); None: the
    # format's own choice
    block: str | None = None
    # the images' pixel size, given by the caller for a set whose stacks' headers alone would give it (a bare stack, a
    # set whose metadata gives none: `given_pixel_size`); a set whose metadata gives one refuses it; None: the set's own
    pixel_size_angstrom: float | None = None


@dataclass(frozen=True)
class WithoutStacks:
    """How a set was read without its stacks (``ReadOptions.need_stacks`` False and some stack not found).

    ``missing`` are the stacks not found (each where it was first looked for), of ``named``
    distinct stacks; ``box_field`` and ``pixel_field`` name the metadata that gave the set's
    ``box_yx`` and ``pixel_size_angstrom``, or are empty when the metadata gives none (the
    box is then (0, 0), the pixel size 0: the caller decides, `maskrun project-mask` from its
    3D mask).
    """

    missing: list[Path]
    named: int
    box_field: str
    pixel_field: str


@dataclass(frozen=True)
class Masked:
    """Where the masked particles are, in row order: ``N@stacks/batch_K.mrcs``, its stack part, 0-based indices."""

    image_names: list[str]
    stack_names: list[str]
    indices: np.ndarray


@dataclass(frozen=True)
class JoinedPassthrough:
    """A cryoSPARC set joined on ``uid`` with its passthrough ``.cs`` (``path``): the joined fields poses are read
    from (the set's own first). Poses live there after Restack, Downsample or Extract from a refinement."""

    path: Path
    records: np.ndarray


@dataclass
class ParticleSet:
    """The particles to mask, in metadata order, with where each image lives.

    ``rows`` holds the kept rows (Xmipp rows with ``_enabled`` ≤ 0 are dropped) with every
    value as the text it was; row ``i`` is image ``image_index[i]`` (0-based) of
    ``stack_paths[stack_of_row[i]]``.
    """

    source: Path
    format: str  # the format module's NAME (`maskrun.formats.registry`)
    blocks: Blocks
    comments: Comments  # each block's, as read (`maskrun.io.star.Comments`)
    block_name: str
    image_column: str
    rows: Loop
    stack_paths: list[Path]
    stack_of_row: np.ndarray
    image_index: np.ndarray
    stacks: dict[Path, ImageInfo]
    box_yx: tuple[int, int]
    pixel_size_angstrom: float
    dropped_rows: int = 0
    notes: list[str] = field(default_factory=list)
    cs_records: np.ndarray | None = None  # a cryoSPARC set's own table, written back with new blob fields
    cs_passthrough: JoinedPassthrough | None = None  # that table joined with its passthrough, when one is given
    set_ids: list[int] | None = None  # a Scipion set's item ids, in row order
    has_metadata: bool = True  # False for a set read back from a saved plan: images' places only
    # the folder the image references are relative to (STAR, XMD: where most stacks were found, the project
    # folder RELION and Xmipp run in); the output's references are written relative to it. None: the
    # format's own rule (cryoSPARC's '>', Scipion's project folder) or no references
    references_base: Path | None = None
    # a Scipion set's project folder, which its _filename values are named from (the written set's too); None for
    # the other formats
    project_root: Path | None = None
    # optics groups of different pixel sizes (then ``pixel_size_angstrom`` is 0: a length in Å has no one meaning)
    pixel_sizes_angstrom: tuple[float, ...] = ()
    # read from its metadata alone, its stacks not all found (`ReadOptions.need_stacks`): then ``stack_paths`` and
    # ``stacks`` are empty and ``stack_of_row`` is -1; None: every stack was found, read and checked
    without_stacks: WithoutStacks | None = None
    # for each of those sizes, its optics groups in words (``optics group 2 'og2'``), or its rows (``4 rows``) for a
    # set of no optics groups whose rows give the sizes (``pixel_sizes_field``); () when rows have no groups
    pixel_size_groups: tuple[str, ...] = ()
    # the per-row field that holds those sizes (cryoSPARC's ``blob/psize_A``); "": they are the optics groups'
    pixel_sizes_field: str = ""
    # how the caller that read the set names its settings (`ReadOptions.names`), for the fixes of what is read from it
    # later (its poses: a cryoSPARC set's passthrough)
    setting_names: SettingNames = NO_NAMES
    # each kept row's number as the file counts its data rows (from 1, the dropped disabled rows counted), for
    # messages; None: the rows are numbered as kept (`RowNames`)
    row_numbers: np.ndarray | None = None
    # the pixel size is the caller's (`ReadOptions.pixel_size_angstrom`), the metadata giving none: the format writes
    # it into the metadata it writes, where that has a place for one
    pixel_size_given: bool = False
    # for a set whose metadata gives no pixel size: what it lacks, in words for messages (``no rlnImagePixelSize in
    # data_optics``; "": nothing to name, an .xmd's; `NO_METADATA`: a bare stack's); None: the metadata gives one
    pixel_size_lacking: str | None = None
    # the rows' RELION optics groups as the reader matched them to data_optics (`maskrun.formats.star_optics.
    # particle_groups`), for what is read of them later (origins in Å); None: no groups, or not matched (a set read
    # back from a saved plan)
    optics_groups: ParticleGroups | None = None

    def __len__(self) -> int:
        return len(self.stack_of_row)

    @property
    def row_names(self) -> RowNames:
        """How messages name the rows: a Scipion set's ``item 7``, else ``row 3`` as the file numbers it."""
        return RowNames(self.set_ids, self.row_numbers)

    def row_name(self, row: int) -> str:
        """How messages name row ``row`` (0-based) (`RowNames.named`)."""
        return self.row_names.named(row)

    @property
    def rows_word(self) -> str:
        """What messages call the rows in counts (`RowNames.word`)."""
        return self.row_names.word

    @property
    def pixel_size_said(self) -> str:
        """The pixel size as summaries say it: ``1.06 Å/px``, ``pixel sizes 1.06 and 0.83 Å`` for optics groups
        (or rows) of several (a note says which), or ``pixel size unknown``."""
        if self.pixel_sizes_angstrom:
            return f"pixel sizes {sizes_said(self.pixel_sizes_angstrom)}"
        return f"{self.pixel_size_angstrom:g} Å/px" if self.pixel_size_angstrom > 0 else "pixel size unknown"

    @property
    def pixel_sizes_text(self) -> str:
        """The particles' pixel sizes, by optics group when it has them (`sizes_by_group`)."""
        return sizes_by_group(self.pixel_sizes_angstrom, self.pixel_size_groups)

    @property
    def pixel_sizes_differ(self) -> str:
        """What differs, for messages (`differing_pixel_sizes`): ``optics groups have different pixel sizes (…)``."""
        return differing_pixel_sizes(self.pixel_sizes_angstrom, self.pixel_size_groups, self.pixel_sizes_field)

    @property
    def pixel_size_from_header(self) -> bool:
        """Whether the pixel size is the stack header's alone: the metadata gives none (``pixel_size_lacking``: a bare
        stack has none), the caller none either, and the stacks were read. A header's 1 Å/px is then likely RELION's
        placeholder, not the pixel size."""
        return self.pixel_size_lacking is not None and not self.pixel_size_given and self.without_stacks is None

    @property
    def header_is_no_pixel_size(self) -> bool:
        """Whether the only pixel size is the stack header's and it is none, or 1 Å/px (`PLACEHOLDER_ANGSTROM`): no
        length in Å (a shape's, an origin's) can be turned into pixels by it (`only_header_said` says why)."""
        return self.pixel_size_from_header and self.pixel_size_angstrom in (0, PLACEHOLDER_ANGSTROM)

    @property
    def only_header_said(self) -> str:
        """Why a length in Å has no pixel size over these particles (`header_is_no_pixel_size`): their only one is
        their stack header's 1 Å/px (RELION's placeholder) or none; that of a bare stack, or of a set whose metadata
        gives none, naming what it lacks."""
        from maskrun.formats.registry import particle_format  # the registry imports every format, and this module

        placeholder = self.pixel_size_angstrom == PLACEHOLDER_ANGSTROM
        lacking = self.pixel_size_lacking
        if lacking == NO_METADATA:
            only = "the particles' only pixel size"
            if placeholder:
                return f"{only} is their stack header's {PLACEHOLDER_ANGSTROM:g} Å/px, {RELION_WRITES}"
            return f"{only} would be their stack header's, which gives none"
        metadata = f"the particles' {particle_format(self.format).LABEL} gives no pixel size"
        metadata += f" ({lacking})" if lacking else ""
        if placeholder:
            return f"{metadata}, and their stack header's {PLACEHOLDER_ANGSTROM:g} Å/px is {RELION_WRITES}"
        return f"{metadata}, nor does their stack header"


@dataclass(frozen=True, eq=False)
class RowNames:
    """How messages name a set's rows: ``item 7`` by a Scipion set's item ids (the id its viewer shows; disabled
    items are not among the rows), else ``row 3`` as the file numbers it (from 1, counting the disabled rows a set
    drops); and, for a format whose rows hold an image index rather than a reference (a ``.cs``), how a row and its
    index are said.

    Examples
    --------
    >>> RowNames().named(2), RowNames(item_ids=[1, 4, 7]).named(2), RowNames(numbers=np.array([1, 4, 5])).named(1)
    ('row 3', 'item 7', 'row 4')
    >>> RowNames(numbers=np.array([1, 4, 5])).number(1), RowNames().number(1), RowNames([1, 4, 7]).word
    (4, 2, 'items')
    """

    # a Scipion set's item ids, one per kept row
    item_ids: list[int] | None = None
    # each kept row's number in the file (from 1, the dropped disabled rows counted); None: numbered as kept
    numbers: np.ndarray | None = None
    # how a format whose rows hold an index (not a ``N@stack`` reference) names a row, e.g. ``row 8 (index 7)``
    indexed: Callable[[int], str] | None = None

    def number(self, row: int) -> int:
        """The number a message gives kept row ``row`` (0-based): its number in the file."""
        return int(self.numbers[row]) if self.numbers is not None else row + 1

    def named(self, row: int) -> str:
        """Row ``row`` (0-based) as messages name it: ``item 7`` or ``row 3``."""
        return f"item {self.item_ids[row]}" if self.item_ids is not None else f"row {self.number(row)}"

    @property
    def word(self) -> str:
        """What messages call the rows in counts: ``rows``, or a Scipion set's ``items``."""
        return "items" if self.item_ids is not None else "rows"

    def with_image(self, row: int, reference: str | bytes, index: int) -> str:
        """Row ``row`` with the image it names: ``row 3: '4@a.mrcs'``, or, for an indexed format, ``row 8 (index 7):
        7`` (the index 0-based, as that format holds it)."""
        if self.indexed is not None:
            return f"{self.indexed(row)}: {index}"
        return f"{self.named(row)}: '{_text(reference)}'"


EVERY_ROW = RowNames()  # rows numbered as kept, each holding a reference


def given_pixel_size(
    header: float, options: ReadOptions, path: Path, header_is: str = "the stack header"
) -> tuple[float | None, list[str]]:
    """The pixel size the caller gives (``options.pixel_size_angstrom``) for a set whose metadata gives none, and the
    note saying that it replaces a header's of another size; (None, []) when the caller gives none (the header's
    stands).

    A header of another real size than the placeholder 1 Å/px is a `MaskrunWarning` instead of a note
    (`maskrun.io.pixel_size.given_over_header`). ``header_is`` names the header in it.
    """
    given = options.pixel_size_angstrom
    if given is None:
        return None, []
    over = given_over_header(header, given, given_as(options), header_is)
    if over is not None and over[1]:  # a header's pixel size other than the placeholder 1 Å, set aside
        warnings.warn(f"{path}: {over[0]}", MaskrunWarning, stacklevel=3)
        return given, []
    return given, [over[0]] if over is not None else []


def given_as(options: ReadOptions) -> str:
    """How the caller names the pixel size it gives (``inputs.pixel_size_angstrom``), for messages."""
    return options.names.pixel_size_angstrom or "the pixel size given"


def given_is_used(options: ReadOptions) -> str:
    """That the pixel size the caller gives stands in for a metadata value set aside, for its note:
    ``inputs.pixel_size_angstrom 2.806 Å/px is used``."""
    return f"{given_as(options)} {options.pixel_size_angstrom:g} Å/px is used"


def sizes_said(sizes: Sequence[float]) -> str:
    """Pixel sizes in words, for messages.

    Examples
    --------
    >>> sizes_said((2.806, 1.5))
    '2.806 and 1.5 Å'
    """
    return " and ".join(f"{size:g}" for size in sizes) + " Å"


def take_given_pixel_size(
    options: ReadOptions, path: Path, label: str, lacking: str | None, own: str, header: float
) -> list[str]:
    """Take the pixel size the caller gives (``options.pixel_size_angstrom``, not None) for a set whose metadata gives
    none (``lacking`` says what it lacks): the note that it replaces the stack ``header``'s (`given_pixel_size`).

    Raises
    ------
    UserError
        For a set whose metadata gives its own (``lacking`` None; ``own``, in words: ``2.806 Å/px
        (rlnImagePixelSize)``), naming the caller's setting: remove it. ``label`` is the format's (``RELION STAR``).
    """
    if lacking is None:
        raise UserError(
            f"is for particles whose metadata gives no pixel size (a bare stack, or a set without one); this {label} "
            f"gives its own, {own}: remove it",
            source=str(path),
            field=options.names.pixel_size_angstrom,
        )
    return given_pixel_size(header, options, path)[1]


SEVERAL_SIZES_MEAN = ": lengths in px apply to every image, a length in Å has no one meaning and is refused"


def differing_pixel_sizes(sizes: tuple[float, ...], groups: tuple[str, ...], field: str = "") -> str:
    """That the particles' optics groups (or ``field``'s rows) have different pixel sizes, naming them.

    Examples
    --------
    >>> differing_pixel_sizes((2.806, 1.403), ("optics group 1 'og1'", "optics group 2 'og2'"))
    "optics groups have different pixel sizes (2.806 Å in optics group 1 'og1', 1.403 Å in optics group 2 'og2')"
    >>> differing_pixel_sizes((1.31, 1.5), ("4 rows", "3 rows"), "blob/psize_A")
    'blob/psize_A holds different pixel sizes (1.31 Å in 4 rows, 1.5 Å in 3 rows)'
    """
    listed = sizes_by_group(sizes, groups)
    if field:
        return f"{field} holds different pixel sizes ({listed})"
    return f"optics groups have different pixel sizes ({listed})"


def sizes_by_group(sizes: tuple[float, ...], groups: tuple[str, ...]) -> str:
    """Pixel sizes with the optics groups of each, for messages; without groups, the sizes alone.

    Examples
    --------
    >>> sizes_by_group((2.806, 1.403), ("optics group 1 'og1'", "optics group 2 'og2'"))
    "2.806 Å in optics group 1 'og1', 1.403 Å in optics group 2 'og2'"
    >>> sizes_by_group((2.806, 1.403), ())
    '2.806 and 1.403 Å'
    """
    if len(groups) != len(sizes):
        return sizes_said(sizes)
    return ", ".join(f"{size:g} Å in {group}" for size, group in zip(sizes, groups))


def stacks_of(
    files: list[Path],
    image_index: np.ndarray,
    names: list[str],
    source: Path,
    field: str,
    setting_names: SettingNames = NO_NAMES,
    rows: RowNames = EVERY_ROW,
) -> tuple[list[Path], np.ndarray, dict[Path, ImageInfo], tuple[int, int]]:
    """The distinct stacks of per-row files, each row's stack, their headers and the common box (checked; rows named
    as ``rows`` says)."""
    import pandas as pd  # only where a set is read: a unit that reads a saved plan does without

    codes, uniques = pd.factorize(pd.Series([str(f) for f in files], dtype=object))
    stack_of_row = codes.astype(np.int64)
    stack_paths = [Path(u) for u in uniques]
    checked = checked_stacks(stack_paths, stack_of_row, image_index, names, source, field, setting_names, rows)
    return stack_paths, stack_of_row, *checked


def checked_stacks(
    stack_paths: list[Path],
    stack_of_row: np.ndarray,
    image_index: np.ndarray,
    names: list[str] | np.ndarray,
    source: Path,
    field: str,
    setting_names: SettingNames = NO_NAMES,
    rows: RowNames = EVERY_ROW,
    bare: np.ndarray | None = None,
) -> tuple[dict[Path, ImageInfo], tuple[int, int]]:
    """Every stack's header, each row's image checked to lie in its stack, and the common box (checked; a set of
    several boxes is refused with the fix ``setting_names`` words, as `SeveralBoxes`). Messages name rows as ``rows``
    says. ``bare``: which rows name their file without an image number, each checked to name a file of one image
    (`refuse_whole_files`); None: every row names its image."""
    stacks = {}
    for stack in stack_paths:
        try:
            stacks[stack] = inspect_image(stack)
        except Exception:  # a broken link is said first, as a row's, whichever stack it is, whatever this one's fault
            _refuse_broken_links(stack_paths, stack_of_row, source, field, rows)
            raise
    check_ranges(stacks, stack_paths, stack_of_row, image_index, names, source, field, rows)
    if bare is not None:
        refuse_whole_files(stacks, stack_paths, stack_of_row, bare, names, source, field, rows, setting_names)
    return stacks, common_box(stacks, source, setting_names)


def _refuse_broken_links(
    stack_paths: list[Path], stack_of_row: np.ndarray, source: Path, field: str, rows: RowNames
) -> None:
    """Refuse the first stack that is not a file because a link on its way is broken, naming its first row; return
    when none is. Looked for once a stack's header fails to read: a look at every stack beforehand cost a plan of
    thousands of them a `stat` each."""
    for code, stack in enumerate(stack_paths):  # a path given whole (a project folder's) meets a link here
        if not is_file(stack):
            row = int(np.argmax(stack_of_row == code))
            refuse_broken_link([stack], f"{rows.named(row)}: stack", source, field)


def split_reference(text: str) -> tuple[int, str]:
    """``"000012@Extract/a.mrcs"`` → ``(11, "Extract/a.mrcs")``; a bare path is image 0."""
    if "@" not in text:
        return 0, text
    number, _, stack = text.partition("@")
    if not number.isdigit() or int(number) < 1:
        raise ValueError("the image number before '@' must be a whole number from 1")
    return int(number) - 1, stack


def resolve_references(
    texts: np.ndarray,
    path: Path,
    name: str,
    bases: list[Path],
    program: str | None = None,
    *,
    missing_ok: bool = False,
    setting_names: SettingNames = NO_NAMES,
    rows: RowNames = EVERY_ROW,
    item: str = "stack",
    project_dir: Path | None = None,
) -> tuple[list[Path], np.ndarray, np.ndarray, Path]:
    """Each row's stack (an index into the stack paths found) and image (0-based), for ``N@stack`` texts,
    and the folder of ``bases`` where most stacks were found (absolute).

    ``program``: the program whose project folder the paths start in (``RELION``); a stack not
    found then names the caller's project folder setting (``setting_names.project_dir``) as the
    fix, where it has one (`stack_path_fix`).
    ``missing_ok``: a stack not found is not refused but given where it was first looked
    for (``bases[0]``), for the caller to find with `missing_stacks`.
    ``rows``: how messages name a row (a set that drops disabled rows names a row as its file numbers
    it).
    ``item``: what the texts name, for messages (``stack``; ``map`` for a map listing).
    ``project_dir``: the caller's project folder, when given (one of ``bases``): a file not found
    then is not told to give it.

    ``texts`` is a bytes array (``S`` dtype). Vectorised with `numpy.strings` and one
    factorisation, so a million rows take about half a second; each distinct stack is
    looked up once.
    """
    number, bare, stack = split_numbers(texts)
    digits = np.strings.lstrip(number, b"0")
    good = np.strings.isdigit(number) & (digits != b"") & (np.strings.str_len(digits) <= 18)  # fits int64
    if not good.all():
        row = int(np.flatnonzero(~good)[0])
        raise UserError(
            f"row {rows.number(row)}: '{texts[row].decode(errors='replace')}': the image number before "
            "'@' must be a "
            "whole number from 1 (and below 10^18)",
            source=str(path),
            field=name,
        )
    image_index = number.astype(np.int64) - 1
    import pandas as pd  # only where a set is read: a unit that reads a saved plan does without

    codes, uniques = pd.factorize(stack)
    named = [split_format(raw.decode(errors="replace")) for raw in uniques]
    wanted: Kind = "volume" if item == "map" else "stack"
    for code, (text, fmt) in enumerate(named):  # a file marked as the other kind (a map :mrc, a stack :mrcs)
        if marked_kind(fmt) in (None, wanted):
            continue
        marked = codes == code
        if wanted == "stack":  # an image taken by number from a map; a bare path names the file
            marked &= ~bare
        if marked.any():
            row = int(np.argmax(marked))
            where = f"row {rows.number(row)}"
            refuse_other_kind(fmt, wanted, text, where, texts[row].decode(errors="replace"), path, name)
    files: list[str] = []
    base_of: dict[str, Path] = {}
    missing: list[int] = []  # the codes of the files not found
    for code, (text, _) in enumerate(named):
        for base in bases:  # each place built once: a RELION project's thousands of stacks
            place = base / text
            if is_file(place):
                files.append(os.path.abspath(place))
                base_of[files[-1]] = base
                break
        else:
            missing.append(code)
            files.append(os.path.abspath(bases[0] / text))
    if missing and not missing_ok:
        raise _not_found(
            [text for text, _ in named],
            missing,
            codes,
            list(base_of.values()),
            bases=bases,
            path=path,
            name=name,
            rows=rows,
            item=item,
            program=program,
            given=setting_names.project_dir if project_dir is not None else None,
            setting=setting_names.project_dir,
        )
    # one stack however its rows name it (parts.mrcs:mrcs and parts.mrcs, ./parts.mrcs): its rows take one code
    file_of_code, distinct = pd.factorize(pd.Series(files, dtype=object))
    codes = file_of_code[codes]
    stack_paths = [Path(file) for file in distinct]
    found_in: dict[Path, int] = {}
    for base in (base_of[file] for file in distinct if file in base_of):
        found_in[base] = found_in.get(base, 0) + 1
    if len(found_in) > 1:  # a stack missing here but present in a parent folder: perhaps another copy
        where = ", ".join(f"{count} in {os.path.abspath(base)}" for base, count in found_in.items())
        warnings.warn(
            f"{path}: {name}: the {item}s were found in {len(found_in)} folders ({where}); if they are not "
            "one copy of the data, fix the paths or run from the project folder",
            MaskrunWarning,
            stacklevel=2,
        )
    most = (
        max(found_in, key=lambda base: found_in[base]) if found_in else bases[0]
    )  # the first searched, of equal counts
    return stack_paths, codes.astype(np.int64), image_index, Path(os.path.abspath(most))


def _not_found(
    texts: list[str],
    missing: list[int],
    codes: np.ndarray,
    found_in: list[Path],
    *,
    bases: list[Path],
    path: Path,
    name: str,
    rows: RowNames,
    item: str,
    program: str | None,
    given: str | None,
    setting: str | None,
) -> UserError:
    """The refusal of the first file not found (``texts[missing[0]]``; a broken link is refused as one): where the
    other files were found (``found_in``, one folder per file found) and it would be, or the project folder was
    given (``given``, the setting's name), it is missing from there: restore it; else `stack_path_fix`."""
    text = texts[missing[0]]
    row = rows.number(int(np.argmax(codes == missing[0])))
    refuse_broken_link([base / text for base in bases], f"row {row}: {item}", path, name)
    restore = "restore them, or fix the paths" if len(missing) > 1 else "restore it, or fix the path"
    first = Path(text).parts[0] if len(Path(text).parts) > 1 else ""
    others = max(dict.fromkeys(found_in), key=found_in.count) if found_in else None
    if others is not None and not Path(text).is_absolute() and (not first or (others / first).is_dir()):
        there = f"{found_in.count(others)} of its {len(texts)} {item}s {'are' if found_in.count(others) > 1 else 'is'}"
        gone = f"{len(missing)} are missing: " if len(missing) > 1 else ""
        message = f"row {row}: {item} '{text}' not found in {os.path.abspath(others)}, where {there}; {gone}{restore}"
        return UserError(message, source=str(path), field=name)
    looked = ", ".join(dict.fromkeys(str(b) for b in bases))
    if given:  # the project folder was given and searched: the file is gone from it, not looked for elsewhere
        looked += f", {given} among them"
        fix = restore
        if len(missing) == len(texts):  # none found: the folder given may be another
            none = f"none of its {len(texts)} {item}s is found" if len(texts) > 1 else f"its {item} is not found"
            fix = f"{none}: check that {given} is the {f'{program} ' if program else ''}project folder"
            fix += f" (the one holding {first}/)" if first and first not in (".", "..") else ""
            fix += f", or {restore}"
    else:
        fix = stack_path_fix(text, program, setting)
    return UserError(f"row {row}: {item} '{text}' not found (looked in {looked}); {fix}", source=str(path), field=name)


def missing_stacks(stack_paths: list[Path]) -> list[Path]:
    """The stacks of ``stack_paths`` that are not files (for a set read with ``ReadOptions.need_stacks`` False)."""
    return [p for p in stack_paths if not is_file(p)]


def stack_path_fix(text: str, program: str | None, setting: str | None) -> str:
    """How to make a stack path that was not found be found: by ``setting``, the caller's project folder (of
    ``program``), where it helps; else from where the set is read.

    Examples
    --------
    >>> stack_path_fix("Extract/job012/mic1.mrcs", "RELION", "inputs.project_dir")
    'set inputs.project_dir to the RELION project folder (the one holding Extract/), or fix the path'
    >>> stack_path_fix("Extract/job012/mic1.mrcs", "RELION", None)
    'fix the path or run from the project folder'
    """
    parts = Path(text).parts
    if program is None or setting is None or Path(text).is_absolute():
        return "fix the path or run from the project folder"
    holding = f" (the one holding {parts[0]}/)" if len(parts) > 1 and parts[0] not in (".", "..") else ""
    return f"set {setting} to the {program} project folder{holding}, or fix the path"


def check_ranges(
    stacks: dict[Path, ImageInfo],
    stack_paths: list[Path],
    stack_of_row: np.ndarray,
    image_index: np.ndarray,
    column: list[str] | np.ndarray,
    path: Path,
    name: str,
    rows: RowNames = EVERY_ROW,
) -> None:
    """Refuse a row whose image lies beyond its stack's end, naming the first with its image
    (`RowNames.with_image`), and counting them."""
    sizes = np.array([stacks[p].shape_zyx[0] for p in stack_paths])
    beyond = np.nonzero(image_index >= sizes[stack_of_row])[0]
    if beyond.size:
        row = int(beyond[0])
        stack, size = stack_paths[stack_of_row[row]], int(sizes[stack_of_row[row]])
        raise UserError(
            f"{rows.with_image(row, column[row], int(image_index[row]))} is beyond the end of {stack.name}, which "
            f"holds {size} image{'s' * (size != 1)}"
            + (f" ({beyond.size} {rows.word} in all)" if beyond.size > 1 else "")
            + "; fix the index or the stack",
            source=str(path),
            field=name,
        )


def refuse_whole_files(
    stacks: dict[Path, ImageInfo],
    stack_paths: list[Path],
    stack_of_row: np.ndarray,
    bare: np.ndarray,
    column: list[str] | np.ndarray,
    path: Path,
    name: str,
    rows: RowNames = EVERY_ROW,
    names: SettingNames = NO_NAMES,
) -> None:
    """Refuse a row whose reference is a path alone (``bare``: no ``N@``, read as image 1) naming a file of more than
    one image, naming the first, what its file holds and the fix (for a file not named as a stack, also the caller's
    maps setting, ``names.volumes``), and counting them.

    Such a path names the whole file: a stack of a RELION 5 tilt series' images, a RELION 4
    pseudo-subtomogram; masking its first image alone would drop the others without a word.
    Checked per distinct file (its header's count), so a million rows cost a few milliseconds.
    """
    counts = np.array([stacks[p].shape_zyx[0] for p in stack_paths])
    whole = bare & (counts[stack_of_row] > 1)
    if not whole.any():
        return
    row, many = int(np.argmax(whole)), int(whole.sum())
    info = stacks[stack_paths[stack_of_row[row]]]
    nz, ny, nx = info.shape_zyx
    text = _text(column[row])
    fix = f"name one image per row, as N@stack (000001@{text})"
    if info.says_a_stack:
        holds = f"{nz} images of {nx} x {ny}"
    else:  # an MRC file's header does not say which: RELION writes maps and stacks alike
        holds = f"{nx} x {ny} x {nz} (a volume, or {nz} images)"
        maps = f"give the set as {names.volumes}" if names.volumes else "mask them as maps"
        fix = f"if those are maps, {maps}; else {fix}"
    raise UserError(
        f"{rows.named(row)}: '{text}' names the whole of {info.path.name}, which holds {holds}, not one image"
        + (f" ({many} {rows.word} in all)" if many > 1 else "")
        + f"; {fix}",
        source=str(path),
        field=name,
    )


def _text(value: str | bytes) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else value


class SeveralBoxes(UserError):
    """A set whose stacks have different box sizes (`common_box`), with each stack's box (ny, nx), for a format that
    can say it better (RELION's optics groups, `maskrun.formats.star_set`)."""

    def __init__(self, message: str, boxes: dict[Path, tuple[int, int]], *, source: str):
        super().__init__(message, source=source)
        self.boxes = boxes


def several_boxes_fix(names: SettingNames) -> str:
    """What to do with a set of several box sizes: mask each in a run of the caller's own (``names.run``), else give
    a set of one."""
    return f"mask each box size in its own {names.run}" if names.run else "give a set of one box size"


def common_box(stacks: dict[Path, ImageInfo], path: Path, names: SettingNames = NO_NAMES) -> tuple[int, int]:
    """The box (ny, nx) every stack has; several are refused (`SeveralBoxes`): each box size masked in a run of the
    caller's own (``names.run``), else a set of one box size."""
    boxes = {p: (info.shape_zyx[1], info.shape_zyx[2]) for p, info in stacks.items()}
    distinct = sorted(set(boxes.values()))
    if len(distinct) > 1:
        examples = ", ".join(
            f"{next(p.name for p, b in boxes.items() if b == box)} is {box[1]} x {box[0]}" for box in distinct[:3]
        )
        raise SeveralBoxes(
            f"stacks have different box sizes ({examples}); {several_boxes_fix(names)}", boxes, source=str(path)
        )
    return distinct[0]


@dataclass(frozen=True)
class ExampleParticles:
    """The example's particles (``maskrun example particles``), read from its ``particles.star``, for a format to
    write in its own form: ``particles`` and ``optics`` are the STAR's tables (pandas), ``names`` its
    ``N@stack`` texts."""

    star: Path
    particles: pd.DataFrame
    optics: pd.DataFrame
    names: list[str]
    pixel: float
    box: int
