"""What a RELION STAR's ``data_optics`` and ``data_general`` say of its particles, checked against them.

RELION 3.1+ gives each particle an optics group (``rlnOpticsGroup``) that ``data_optics``
defines: its pixel size, box (``rlnImageSize``) and image dimensionality. RELION 4/5
tomography writes sets of the same form whose particles are not 2D images: RELION 5 names
them in ``data_general`` (``rlnTomoSubTomosAre2DStacks``: each particle a stack of tilt
images, or a 3D subtomogram), RELION 4's pseudo-subtomograms by ``rlnImageDimensionality 3``.
`maskrun.formats.star_set` reads a set's rows; this module refuses what RELION would refuse
or maskrun cannot mask, and words a set's box sizes by its optics groups.
"""

from __future__ import annotations

import shlex
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from maskrun.errors import MaskrunWarning, UserError, first_named
from maskrun.formats.particle_set import RowNames, several_boxes_fix
from maskrun.formats.setting_names import SettingNames
from maskrun.io.paths import named_from
from maskrun.io.star import Blocks, Loop

GROUP = "rlnOpticsGroup"
TILT_STACKS = "rlnTomoSubTomosAre2DStacks"  # RELION 5's data_general: 1, each particle a stack of 2D tilt images
DIMENSIONALITY = "rlnImageDimensionality"
GROUPS_NAMED = 3  # the optics groups a message names, the others counted
# RELION's command that keeps the particles of optics groups low to high (relion_star_handler 3.1's options)
SPLIT_BY_GROUP = "relion_star_handler --i {star} --o {part} --select rlnOpticsGroup --minval {low} --maxval {high}"


def refuse_subtomograms(blocks: Blocks, path: Path, names: SettingNames) -> None:
    """Refuse a RELION 4/5 tomography set: its particles are tilt-image stacks or 3D subtomograms, not 2D images.

    Each row's ``rlnImageName`` is then a file, not an image of it: masked as particle images,
    each would keep its first image alone.

    Raises
    ------
    UserError
        Naming what the set is, by the field that says so, and what to mask instead.
    """
    general = blocks.get("general")
    optics = blocks.get("optics")
    if isinstance(general, dict) and TILT_STACKS in general:
        stacks = general[TILT_STACKS].strip().lower() not in ("0", "false")
        each = "a stack of 2D tilt images" if stacks else "a 3D subtomogram"
        what = f"RELION 5 subtomogram particles (data_general: {TILT_STACKS} {general[TILT_STACKS]}, each {each})"
    elif isinstance(optics, Loop) and DIMENSIONALITY in optics.columns and (optics.numbers(DIMENSIONALITY) == 3).any():
        what = f"RELION 4 pseudo-subtomogram particles (data_optics: {DIMENSIONALITY} 3, each a 3D subtomogram)"
    else:
        return
    instead = f"give its map as {names.volumes}" if names.volumes else "mask its map"
    raise UserError(
        f"{what}: maskrun masks 2D particle images, one per row, not subtomograms; to mask their average, {instead}",
        source=str(path),
    )


@dataclass(frozen=True)
class ParticleGroups:
    """The particles' optics groups: ``column`` holds each row's ``rlnOpticsGroup`` as written, ``optics_row`` the
    row of ``optics`` that defines each group the particles use (by number, as RELION matches them: `particle_groups`).

    The one rule by which rows are matched to ``data_optics``: what is read of the groups the particles use (their
    pixel sizes, their boxes) is read through it, the column split once per read.
    """

    column: list[bytes]
    optics_row: dict[bytes, int]
    optics: Loop

    def coded(self) -> tuple[np.ndarray, list[bytes]]:
        """Each row's group as an index into the distinct groups, the first row's first (for messages: a
        factorisation, 0.1 s a million rows)."""
        import pandas as pd  # only where a set is read: a unit that reads a saved plan does without

        codes, used = pd.factorize(pd.Series(self.column, dtype=object))
        return codes.astype(np.int64), list(used)

    def named(self, group: bytes) -> str:
        """Group ``group`` as messages name it: ``2 'krios2_2023'`` (its rlnOpticsGroupName, when it has one)."""
        return group_name(self.optics, self.optics_row[group])

    def used_rows(self) -> list[int]:
        """The rows of ``data_optics`` that define the groups the particles use: the first particle's first, then in
        the block's order (a group written two ways, ``1`` and ``01``, once)."""
        rows = sorted(set(self.optics_row.values()))
        if self.column:
            first = self.optics_row[self.column[0]]
            rows = [first, *(row for row in rows if row != first)]
        return rows

    def optics_row_of_each(self) -> np.ndarray:
        """Each particle's row of ``data_optics``."""
        codes, used = self.coded()
        rows: np.ndarray = np.array([self.optics_row[group] for group in used], dtype=np.int64)[codes]
        return rows


def used_optics_rows(optics: Loop, groups: ParticleGroups | None) -> list[int]:
    """The rows of ``optics`` the particles use (`ParticleGroups.used_rows`); every row for particles without optics
    groups (``groups`` None: no ``rlnOpticsGroup`` in the rows or the block)."""
    return groups.used_rows() if groups is not None else list(range(len(optics)))


def of_used_groups(optics: Loop, groups: ParticleGroups | None, label: str) -> tuple[list[int], np.ndarray]:
    """``label`` (``rlnImageSize``, ``rlnImagePixelSize``) of the optics groups the particles use: their rows of
    ``optics`` (`used_optics_rows`, the first particle's first) and their values, as numbers (NaN where one is not)."""
    rows = used_optics_rows(optics, groups)
    return rows, optics.numbers(label)[rows]


def group_name(optics: Loop, row: int) -> str:
    """Optics row ``row``'s group as messages name it: its rlnOpticsGroup and rlnOpticsGroupName, ``2 'og2'``."""
    number = optics.column(GROUP)[row]
    name = optics.column("rlnOpticsGroupName")[row] if "rlnOpticsGroupName" in optics.columns else ""
    return f"{number} '{name}'" if name else number


def particle_groups(blocks: Blocks, table: Loop, path: Path, rows: RowNames) -> ParticleGroups | None:
    """Each particle's optics group, each checked to be defined in ``data_optics``, as RELION checks; None for a set
    without optics groups (RELION 3.0, Xmipp).

    Groups are matched by number, as RELION reads them (``01`` is group 1). One column split
    and the set of its values: a million rows take about 0.3 s.

    Raises
    ------
    UserError
        For particles of a group ``data_optics`` does not define (RELION stops: "The following
        optics groups were not defined"), naming the first row, its group and how many rows.
    """
    optics = blocks.get("optics")
    if not (isinstance(optics, Loop) and GROUP in optics.columns and GROUP in table.columns):
        return None
    column = table.column_bytes(GROUP)
    defined = {_number(text): row for row, text in reversed(list(enumerate(optics.column(GROUP))))}  # the first
    groups = ParticleGroups(column, {g: defined.get(_number(g), -1) for g in set(column)}, optics)
    undefined = {group for group, row in groups.optics_row.items() if row < 0}
    if not undefined:
        return groups
    codes, used = groups.coded()
    missing = [code for code, group in enumerate(used) if group in undefined]
    of = np.isin(codes, missing)
    row, count = int(np.argmax(of)), int(of.sum())
    listed = (
        f", of groups {first_named([_text(used[code]) for code in missing], GROUPS_NAMED)}" if len(missing) > 1 else ""
    )
    raise UserError(
        f"{rows.named(row)}: optics group {_text(used[codes[row]])} is not defined in data_optics, which defines "
        f"{first_named(optics.column(GROUP), GROUPS_NAMED) or 'none'}"
        + (f" ({count} {rows.word} in all{listed})" if count > 1 else "")
        + "; define the group in data_optics or fix the row's rlnOpticsGroup",
        source=str(path),
        field=GROUP,
    )


def _text(group: bytes) -> str:
    return group.decode("utf-8", "replace")


def _number(text: str | bytes) -> float | str:
    """An optics group's number as RELION compares groups (``01`` and ``1`` are one group); its text if none."""
    try:
        return float(text)
    except ValueError:
        return _text(text) if isinstance(text, bytes) else text


def groups_named(names: list[str]) -> str:
    """``optics group 2 'og2'``, or ``optics groups 1 'og1', 3 'og3'`` (`GROUPS_NAMED` named, the others counted)."""
    return f"optics group{'s' * (len(names) > 1)} {first_named(names, GROUPS_NAMED)}"


def _order(group: bytes) -> tuple[float, str]:
    """Optics groups in order of their numbers (those that are none last, by their text)."""
    number = _number(group)
    return (number, "") if isinstance(number, float) else (float("inf"), number)


def boxes_by_group(
    groups: ParticleGroups,
    stack_of_row: np.ndarray,
    box_of_stack: list[tuple[int, int]],
    path: Path,
    base: Path | None,
    names: SettingNames,
) -> UserError | None:
    """The refusal of a set of several box sizes worded by its optics groups, when each group's particles are of one
    box: the groups of each size (the first row's first) and the RELION command that splits one off (``relion_star_
    handler --select rlnOpticsGroup``, the STAR named from ``base``, where RELION runs). None when a group holds
    several boxes: its stacks say it better."""
    boxes, box_codes = np.unique(np.array(box_of_stack), axis=0, return_inverse=True)
    box_of_row = box_codes.reshape(-1)[stack_of_row]
    codes, used = groups.coded()
    pairs = np.unique(codes * len(boxes) + box_of_row)
    group_of_pair, box_of_pair = pairs // len(boxes), pairs % len(boxes)
    if len(np.unique(group_of_pair)) != len(pairs):
        return None
    first_rows = np.unique(box_of_row, return_index=True)[1]
    listed: list[str] = []
    numbered: list[list[str]] = []
    for box in sorted(range(len(boxes)), key=lambda b: first_rows[b]):
        of_box = sorted((used[code] for code in group_of_pair[box_of_pair == box]), key=_order)
        numbered.append([_text(group) for group in of_box])
        ny, nx = boxes[box]
        shown = groups_named([groups.named(group) for group in of_box])
        listed.append(
            f"{shown} {'is' if len(of_box) == 1 else 'are'} {nx} x {ny} px" if not listed else f"{shown} {nx} x {ny}"
        )
    split = _split_command(numbered[1], [text for other in numbered[:1] + numbered[2:] for text in other], path, base)
    return UserError(
        f"optics groups have different box sizes ({', '.join(listed)}); {several_boxes_fix(names)}{split}",
        source=str(path),
    )


def _split_command(group: list[str], others: list[str], path: Path, base: Path | None) -> str:
    """``, split off by optics group: relion_star_handler …`` selecting ``group``'s optics groups (a range of their
    numbers where no other group lies in it, else the first), for the fix of several box sizes; "" when the groups
    are not whole numbers."""
    try:
        numbers, other_numbers = [int(text) for text in group], [int(text) for text in others]
    except ValueError:
        return ""
    low, high = min(numbers), max(numbers)
    if any(low <= number <= high for number in other_numbers):
        low = high = numbers[0]
    star = Path(named_from(path.absolute(), base.absolute())) if base is not None else path
    part = star.with_name(f"{star.stem}_og{low}{f'-{high}' if high != low else ''}.star")
    command = SPLIT_BY_GROUP.format(star=shlex.quote(str(star)), part=shlex.quote(str(part)), low=low, high=high)
    return f", splitting the set by optics group: {command}"


def warn_of_image_sizes(blocks: Blocks, groups: ParticleGroups | None, box: tuple[int, int], path: Path) -> None:
    """Warn (`MaskrunWarning`) when ``data_optics``'s ``rlnImageSize`` of a group the particles use (every group, for
    particles without one) is not the stacks' ``box`` (ny, nx): the stacks' box is the one used."""
    optics = blocks.get("optics")
    if not (isinstance(optics, Loop) and "rlnImageSize" in optics.columns and len(optics)):
        return
    used, sizes = of_used_groups(optics, groups, "rlnImageSize")
    off = sorted(row for row, size in zip(used, sizes) if np.isfinite(size) and not size == box[0] == box[1])
    if not off:
        return
    size_of = dict(zip(used, sizes))
    where = [
        f"{size_of[row]:g} px in "
        + (f"optics group {group_name(optics, row)}" if GROUP in optics.columns else "data_optics")
        for row in off
    ]
    warnings.warn(
        f"{path}: rlnImageSize: {first_named(where, GROUPS_NAMED)}, but the stacks are {box[1]} x {box[0]} px; the "
        "stacks' box is used",
        MaskrunWarning,
        stacklevel=2,
    )
