"""Scipion set files (``particles.sqlite``, ``volumes.sqlite``): read with sqlite3, written back as a copy.

Scipion keeps a set as one row per item in ``Objects``, with columns ``c01, c02, …`` whose
meaning the ``Classes`` table gives (``_filename`` → ``c02``, say): the numbers change with
the first item's attributes, so they are always looked up, never assumed. ``_filename`` is
relative to the Scipion project folder (found, as Scipion finds it, by walking up from the
set file until the first item's file exists, else from the set's ``_mapperPath``: see
`_project_root`; or given by the caller), and may end in Xmipp's format suffix (``:mrcs``,
`maskrun.formats.references`); ``_index`` is 1-based in a stack and 0 for a single-file
volume; items with ``enabled = 0`` are not masked. Messages name items by their ``id``, as
Scipion's set viewer does. The output is a copy of the input set file in which the masked
items' ``_filename`` and ``_index`` change: items point at the masked stacks, relative to
the project folder (absolute outside it, and then so is every other file the set names), so
that Scipion resolves every item from one base; disabled items are left out (``_size`` says
how many are left), as Scipion's own protocols leave them out of the sets they make (pwem's
``copyItems``); and the ``Properties`` row ``_mapperPath`` names the output set file itself,
as Scipion writes it (Scipion reopens a set from there once its properties are loaded).
Every other column and property, the ``Classes`` table and the item ids stay as they were.
The input is opened read-only (a quoted ``file:`` URI: folder names may hold ``#``, ``?`` or
``%``), so reading never creates a file.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from maskrun.errors import UserError
from maskrun.formats.map_set import VolumeSet, check_unique_stems, inspect_map, refuse_listed_images
from maskrun.formats.particle_set import (
    ExampleParticles,
    Masked,
    ParticleSet,
    ReadOptions,
    RowNames,
    WithoutStacks,
    given_is_used,
    missing_stacks,
    stacks_of,
    take_given_pixel_size,
)
from maskrun.formats.poses import Poses, angles_of_transposed
from maskrun.formats.references import (
    MAP_FORMAT,
    absolute_reference,
    marked_kind,
    refuse_other_kind,
    split_format,
    with_format,
)
from maskrun.formats.setting_names import NO_NAMES, SettingNames
from maskrun.io.atomic import AtomicFile
from maskrun.io.image_info import ImageInfo, Kind
from maskrun.io.paths import file_identity, file_not_found, is_file, named_from, refuse_broken_link
from maskrun.io.pixel_size import header_disagreement, unusable_note, usable_pixel_size
from maskrun.io.star import Loop

NAME = "sqlite"
LABEL = "Scipion set"
SUFFIXES = (".sqlite",)
OUTPUTS = ("particles.sqlite",)
MAP_OUTPUT = "volumes.sqlite"

LOCK_WAIT_SECONDS = 2.0  # how long a read waits for a writer's lock before saying so
LARGEST_WHOLE = 2**62  # an _index or enabled beyond this (a REAL like 1e20) is no image number: NumPy's int64 overflows


@dataclass(frozen=True)
class SetItems:
    """The enabled items of a set: ids, files (absolute) and 0-based image numbers; the set's sampling and root.

    ``sampling_angstrom`` is 0 when ``_samplingRate`` is absent or unusable (NaN, ≤ 0,
    absurd: `usable_pixel_size`; ``sampling_written`` then says which).
    """

    ids: list[int]
    files: list[Path]
    indices: list[int]
    sampling_angstrom: float
    disabled: int
    root: Path  # the folder every _filename is relative to
    first_dim: object = None  # the set's _firstDim as written ("x,y,z": the first image's shape), None when absent
    formats: list[str] = field(default_factory=list)  # each item's format suffix as written (`split_format`), or ""
    sampling_written: object = None  # the set's _samplingRate as written, None when absent
    references: list[str] = field(default_factory=list)  # a set of maps': each item as Xmipp names it, [N@]file[:fmt]


# how a set's project folder was found (`_project_root`), for the messages of files not found in it
GIVEN, BY_FILE, BY_MAPPER, GUESSED = "given", "file", "mapper", "guessed"
ITEMS_NAMED = 4  # the item ids a message names, the others counted
WHAT = {"stack": "stack", "volume": "map"}


def _open_read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection through a quoted URI: ``#``, ``?`` and ``%`` in folder names are path, not syntax.

    A set in SQLite's WAL mode with no write-ahead log to read is opened ``immutable``: read-only,
    SQLite would still make its ``-shm`` and ``-wal`` files beside the set (and fail on a read-only
    folder), where a set's folder is the user's and left as found. A set whose log holds writes
    (its writer still at work) is opened as others are, to read them.
    """
    uri = f"file:{urllib.parse.quote(str(path))}?mode=ro"
    if _wal_without_log(path):
        uri += "&immutable=1"
    try:
        return sqlite3.connect(uri, uri=True, timeout=LOCK_WAIT_SECONDS)
    except sqlite3.Error as exc:
        raise UserError(f"cannot be opened as an sqlite file ({_one_line(exc)})", source=str(path)) from None


def _wal_without_log(path: Path) -> bool:
    """Whether an SQLite file is in WAL mode (header bytes 18 and 19: 2) with no write-ahead log beside it, or an
    empty one."""
    try:
        with open(path, "rb") as file:
            header = file.read(20)
        log = path.with_name(path.name + "-wal")
        return header[18:20] == b"\x02\x02" and (not log.exists() or log.stat().st_size == 0)
    except OSError:
        return False  # the connection says what is wrong with the file


def _query(connection: sqlite3.Connection, sql: str, source: Path) -> list[tuple[Any, ...]]:
    try:
        return connection.execute(sql).fetchall()
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise UserError(
                "the set is locked by another program (Scipion still writing?); wait and retry", source=str(source)
            ) from None
        raise UserError(f"is not a Scipion set file ({_one_line(exc)})", source=str(source)) from None
    except sqlite3.DatabaseError as exc:
        raise UserError(f"is not a Scipion set file ({_one_line(exc)})", source=str(source)) from None
    except UnicodeDecodeError as exc:
        raise UserError(
            f"holds text that is not UTF-8 ({exc.reason} at byte {exc.start}); is the set damaged?", source=str(source)
        ) from None


def _one_line(exc: Exception, longest: int = 200) -> str:
    """SQLite's message on one line, cut at ``longest`` characters (a damaged schema's quotes its SQL, newlines too)."""
    text = " ".join(str(exc).split())
    return text if len(text) <= longest else text[: longest - 1] + "…"


def _columns(connection: sqlite3.Connection, source: Path) -> dict[str, str]:
    tables = {row[0] for row in _query(connection, "SELECT name FROM sqlite_master WHERE type = 'table'", source)}
    if "Classes" not in tables:
        raise UserError("is not a Scipion set file (no Classes table)", source=str(source))
    rows = _query(connection, "SELECT label_property, column_name FROM Classes", source)
    columns = {label: column for label, column in rows}
    missing = [name for name in ("_filename", "_index") if name not in columns]
    if missing:
        raise UserError(f"is a Scipion set without {', '.join(missing)}: not a set of images", source=str(source))
    return columns


def _whole(value: object, item: int, name: str, source: Path, default: int) -> int:
    """An integer cell (``_index``, ``enabled``); text or fractions are refused, naming the item."""
    if value is None:
        return default
    if isinstance(value, float) and value.is_integer() and abs(value) <= LARGEST_WHOLE:
        value = int(value)
    if isinstance(value, int):
        if abs(value) > LARGEST_WHOLE:
            raise UserError(f"item {item}: {value!r} is too large; fix the set", source=str(source), field=name)
        return value
    raise UserError(
        f"item {item}: {value!r} is not a whole number; fix the set (Scipion writes integers here)",
        source=str(source),
        field=name,
    )


def read_set(
    path: Path,
    project_dir: Path | None = None,
    missing_ok: bool = False,
    names: SettingNames = NO_NAMES,
    kind: Kind = "stack",
) -> SetItems:
    """The enabled items of a Scipion set file, with their files resolved (Xmipp's format suffix, ``:mrcs``, split
    off: `maskrun.formats.references`) and checked to be there.

    ``missing_ok``: files not found are not refused, and when no project folder is found
    (`_project_root`) the files are given from the folder Scipion's layout points to.
    ``names``: how the caller names the project folder, for the fixes. ``kind``: what the
    items are, ``stack`` (particles) or ``volume`` (maps): an item whose format suffix marks
    the other kind is refused, and messages name the files so.

    Raises
    ------
    UserError
        For a file that is not a Scipion set, one locked by a writer, a set with no
        enabled item, an ``_index`` or ``enabled`` that is not a whole number, a negative
        ``_index``, an item without ``_filename``, one marked as the other kind, a project
        folder not found, or files not found (unless ``missing_ok``; `_refuse_missing`).
    """
    if not is_file(path):
        raise file_not_found(path)
    connection = _open_read_only(path)
    try:
        columns = _columns(connection, path)
        file_column, index_column = columns["_filename"], columns["_index"]
        rows = _query(
            connection, f'SELECT id, enabled, "{file_column}", "{index_column}" FROM Objects ORDER BY id', path
        )
        sampling = _query(connection, "SELECT value FROM Properties WHERE key = '_samplingRate'", path)
        first_dim = _query(connection, "SELECT value FROM Properties WHERE key = '_firstDim'", path)
        mapper = _query(connection, "SELECT value FROM Properties WHERE key = '_mapperPath'", path)
    finally:
        connection.close()
    if any(row[0] is None for row in rows):  # a damaged table: Scipion's ids are its INTEGER PRIMARY KEY
        raise UserError(
            "holds an item without an id; is the set damaged? (Scipion numbers every item)", source=str(path)
        )
    kept = [row for row in rows if _whole(row[1], row[0], "enabled", path, 1) != 0]
    if not kept:
        raise UserError("holds no enabled item (every enabled = 0, or no rows)", source=str(path))
    indices = [_whole(row[3], row[0], "_index", path, 0) for row in kept]
    negative = [(row[0], index) for row, index in zip(kept, indices) if index < 0]
    if negative:
        item, index = negative[0]
        raise UserError(
            f"item {item}: {index} is negative"
            + (f" ({len(negative)} items in all)" if len(negative) > 1 else "")
            + "; images are numbered from 1 in their stack: fix the index",
            source=str(path),
            field="_index",
        )
    ids = [int(row[0]) for row in kept]
    _refuse_unnamed(ids, [row[2] for row in kept], path)
    written = [str(row[2]) for row in kept]
    references = []
    if kind == "volume":  # an image by number from a stack, N@file as Xmipp writes the item: particles given as maps
        references = _references(written, indices)
        _refuse_images(ids, references, path, names)
    named = {text: split_format(text) for text in dict.fromkeys(written)}  # each distinct name once
    _refuse_other_kind(ids, written, indices, named, kind, path)
    first_items: dict[str, int] = {}  # each distinct file's first item
    for item, text in zip(ids, written):
        first_items.setdefault(named[text][0], item)
    root, how = (
        (project_dir, GIVEN)
        if project_dir is not None
        else _project_root(path, first_items, _mapper_path(mapper), missing_ok, names)
    )
    absolute = {text: Path(os.path.abspath(root / relative)) for text, (relative, _) in named.items()}
    files = [absolute[text] for text in written]
    if not missing_ok:
        _refuse_missing(ids, files, {absolute[text]: text for text in named}, root, how, kind, path, names)
    sampling_written = sampling[0][0] if sampling else None
    return SetItems(
        ids,
        files,
        [max(i - 1, 0) for i in indices],
        usable_pixel_size(_number(sampling_written)) or 0.0,
        len(rows) - len(kept),
        root,
        first_dim[0][0] if first_dim else None,
        [named[text][1] for text in written],
        sampling_written,
        references,
    )


def _disabled_note(count: int) -> list[str]:
    """The note of a set whose disabled items were left out; none when none were (as `star_set.disabled_rows_note`)."""
    return [f"{count} disabled {_items_are(count)} left out (enabled = 0), as Scipion does"] if count else []


def _items_are(count: int) -> str:
    return "items are" if count != 1 else "item is"


def _items_named(ids: list[int]) -> str:
    """``item 7``, ``items 7, 8 and 10``, or ``items 1, 2, 3, … (10 in all)``: the first `ITEMS_NAMED` named."""
    if len(ids) == 1:
        return f"item {ids[0]}"
    if len(ids) <= ITEMS_NAMED:
        return f"items {', '.join(map(str, ids[:-1]))} and {ids[-1]}"
    return f"items {', '.join(map(str, ids[: ITEMS_NAMED - 1]))}, … ({len(ids)} in all)"


def _number(text: object) -> float | None:
    """``_samplingRate`` as written (text in Properties); None when absent or not a number."""
    try:
        return float(str(text)) if text not in (None, "None") else None
    except ValueError:
        return None


def _refuse_unnamed(ids: list[int], written: list[object], path: Path) -> None:
    """Refuse items whose ``_filename`` is NULL or empty: they name no image (read as text, ``None`` would be
    looked for as a file of that name)."""
    unnamed = [item for item, text in zip(ids, written) if text is None or not str(text).strip()]
    if unnamed:
        one = len(unnamed) == 1
        it, its, name = ("it", "its", "names") if one else ("them", "their", "name")
        raise UserError(
            f"{_items_named(unnamed)} {name} no file ({its} _filename is NULL or empty); remove {it} from the set, "
            f"or disable {it} (enabled = 0)",
            source=str(path),
            field="_filename",
        )


def _references(written: list[str], indices: list[int]) -> list[str]:
    """Each item's image as Xmipp names it: ``N@file`` for an ``_index`` N from 1, the file alone for 0."""
    return [f"{index}@{text}" if index >= 1 else text for text, index in zip(written, indices)]


def _refuse_images(ids: list[int], references: list[str], path: Path, names: SettingNames) -> None:
    """Refuse a set of maps an item of which takes an image by number (``_index`` from 1: ``N@file``) from a file its
    name says holds images (``:mrcs``, ``.mrcs``), as a listing of maps naming one is (`refuse_listed_images`): a
    particle set given as maps. ``1@`` of a file that holds one map is that map (Scipion's Xmipp plugin writes
    ``setLocation(1, "split_v1.vol")``); other files are judged by their headers once read
    (`maskrun.formats.map_set.refuse_numbered_images`)."""
    refuse_listed_images(references, path, "_index", names, [f"item {item}" for item in ids])


def _refuse_other_kind(
    ids: list[int], written: list[str], indices: list[int], named: dict[str, tuple[str, str]], kind: Kind, path: Path
) -> None:
    """Refuse an item whose format suffix marks the other kind of file (`maskrun.formats.references`): a map marked
    ``:mrcs`` (a stack), or an image taken by number (``_index`` from 1) from a file marked ``:mrc`` (a map)."""
    marks = {text: marked_kind(fmt) for text, (_, fmt) in named.items()}
    if (kind == "stack" and "volume" not in marks.values()) or (kind == "volume" and "stack" not in marks.values()):
        return
    for item, text, index in zip(ids, written, indices):
        relative, fmt = named[text]
        if kind == "volume":
            refuse_other_kind(fmt, kind, relative, f"item {item}", text, path, "_filename")
        elif index >= 1:
            refuse_other_kind(fmt, kind, relative, f"item {item}", f"{index}@{text}", path, "_filename")


def _mapper_path(rows: list[tuple[Any, ...]]) -> str | None:
    """The set file's path as ``_mapperPath`` gives it (``"<path>, <prefix>"``); None when absent or empty."""
    if not rows or rows[0][0] is None:
        return None
    return str(rows[0][0]).rpartition(",")[0].strip() or str(rows[0][0]).strip() or None


def _project_root(
    path: Path,
    first_items: dict[str, int],
    mapper: str | None,
    missing_ok: bool = False,
    names: SettingNames = NO_NAMES,
) -> tuple[Path, str]:
    """The folder the set's files are named from, and how it was found (`BY_FILE`, …).

    Scipion's rule first: the nearest folder, from the set's upwards, in which the first
    item's file exists. Then the folder from which the set's ``_mapperPath`` names the set
    file itself (Scipion writes it from the project folder), then the nearest in which any
    other item's file exists: a project whose first stack is gone is still found, and its
    missing stacks are named as such (`_refuse_missing`). A set of absolute paths none of
    which is there has its own folder. Else, with ``missing_ok``, the folder holding the set's
    own first folder of the first file (``Runs`` of ``Runs/000002_…/extra/particles.mrcs``: the
    project folder, as Scipion lays it out), else the set's folder, so that a note names
    where the file was looked for; without it, refused.

    ``first_items``: each distinct file (as written, its format suffix split off) and its first item.
    """
    folders = [path.parent, *path.parent.parents]
    files = list(first_items)
    found = next((folder for folder in folders if is_file(folder / files[0])), None)
    if found is not None:
        return found, BY_FILE
    if mapper is not None and not Path(mapper).is_absolute():
        itself = file_identity(path)
        found = next((folder for folder in folders if file_identity(folder / mapper) == itself), None)
        if found is not None:
            return found, BY_MAPPER
    relative = [file for file in files if not Path(file).is_absolute()]
    found = next((folder for file in relative[1:] for folder in folders if is_file(folder / file)), None)
    if found is not None:
        return found, BY_FILE
    if not relative:
        return path.parent, GUESSED
    first = relative[0]
    if missing_ok:
        head = Path(first).parts[0]
        return next((folder.parent for folder in path.parents if folder.name == head), path.parent), GUESSED
    whose = "the first item's" if first == files[0] else f"item {first_items[first]}'s"
    refuse_broken_link([folder / first for folder in folders], f"{whose} _filename", path, None)
    if names.project_dir:
        fix = f"give the Scipion project folder as {names.project_dir}"
    else:
        fix = names.without(
            "finding it needs the Scipion project folder",
            "fix the path, or keep the set inside its Scipion project folder",
        )
    raise UserError(
        f"{first!r} ({whose} _filename) is not found from the set's folder upwards; {fix}",
        source=str(path),
    )


def _refuse_missing(
    ids: list[int],
    files: list[Path],
    written: dict[Path, str],
    root: Path,
    how: str,
    kind: Kind,
    path: Path,
    names: SettingNames,
) -> None:
    """Refuse items whose files are not there, naming the first such file's items, where it was looked for and
    the fix that fits: a project folder that holds the set's other files has lost this one (restore it, or
    remove those items); one given that holds none of them may be the wrong folder; an absolute path names data
    that moved. A broken link on the way is named as one (`refuse_broken_link`).

    ``written``: each distinct file's ``_filename`` as the set writes it.

    Raises
    ------
    UserError
        Naming the set, ``_filename``, the items (by id) and how many.
    """
    missing = [file for file in written if not is_file(file)]
    if not missing:
        return
    what = WHAT[kind]
    items_of: dict[Path, list[int]] = {file: [] for file in missing}
    for item, file in zip(ids, files):
        if file in items_of:
            items_of[file].append(item)
    for file in missing:
        refuse_broken_link([file], f"{_items_named(items_of[file])}: {what}", path, "_filename")
    first = missing[0]
    its, text = items_of[first], written[first]
    more = ""
    if len(missing) > 1:
        count = sum(len(items) for items in items_of.values())
        others = f"{len(missing) - 1} other {what}{'s of the set are' if len(missing) > 2 else ' of the set is'}"
        more = f"; {others} missing too ({count} items in all)"
    those = "that item" if len(its) == 1 else "those items"
    if Path(split_format(text)[0]).is_absolute():
        said = ": an absolute path, so the data moved or their disk is not mounted"
        fix = f"move the data back or mount their disk, or point {those} at where the data are now"
    else:
        any_found = len(missing) < len(written)
        where = {
            GIVEN: f" ({names.project_dir})" if names.project_dir else " (as given)",
            BY_FILE: "",
            BY_MAPPER: ", where the set's _mapperPath places the set",
        }.get(how, "")
        said = f" in the project folder {root}{where}" + (f", which holds the set's other {what}s" if any_found else "")
        if how == GIVEN and not any_found:
            head = Path(split_format(text)[0]).parts[0]
            fix = (
                f"is {names.project_dir or 'it'} the Scipion project folder (the one holding {head}/)? "
                f"else restore the {what}s"
            )
        else:
            fix = f"restore it, or remove {those} from the set"
    raise UserError(
        f"{_items_named(its)}: {what} {text!r} not found{said}{more}; {fix}", source=str(path), field="_filename"
    )


def write_set(
    source: Path,
    target: Path,
    ids: list[int],
    files: list[str],
    indices: list[int],
    project_dir: Path | None = None,
    kind: Kind = "stack",
    sampling: float | None = None,
) -> Path:
    """Copy a set file, pointing items ``ids`` at ``files`` (given from the target's folder), 1-based ``indices``.

    The files are written as every other path of the set is: relative to the Scipion project
    folder (Scipion runs there: ``Project.load(chdir=True)``), or absolute when they lie
    outside it, and then so is every other value of the set that names a file from the
    project folder (`_named_from_anywhere`). A masked stack is named without a format suffix
    (`maskrun.formats.references`) whatever its input's: Scipion stores a stack's plain name
    (it adds ``:mrcs`` only on the way to Xmipp), pwem's import looks for a file named as
    written (``findRootFrom``), and the ``.mrcs`` says a stack to every reader. A masked map
    whose input had one gets ``:mrc``, as Scipion's RELION plugin stores a class's map. Every
    other item (the disabled ones) is left out, and ``_size`` counts the rest. ``sampling``:
    the pixel size in Å the set and its items get as ``_samplingRate`` (a set without a usable
    one, for which the caller gave it); None: theirs kept.
    """
    items = read_set(source, project_dir, kind=kind)
    root = Path(os.path.abspath(items.root))
    folder = Path(os.path.abspath(target.parent))
    formats = dict(zip(items.ids, items.formats))
    suffix = MAP_FORMAT if kind == "volume" else ""
    files = [with_format(named_from(folder / f, root), suffix if formats.get(k) else "") for f, k in zip(files, ids)]
    with AtomicFile(target) as tmp:
        shutil.copyfile(source, tmp)
        connection = sqlite3.connect(tmp)
        try:
            with connection:
                columns = _columns(connection, source)
                file_column, index_column = columns["_filename"], columns["_index"]
                connection.executemany(
                    f'UPDATE Objects SET "{file_column}" = ?, "{index_column}" = ? WHERE id = ?',
                    [(str(f), int(i), int(k)) for f, i, k in zip(files, indices, ids)],  # numpy ints would be BLOBs
                )
                _name_itself(connection, named_from(Path(os.path.abspath(target)), root))
                if sampling is not None:
                    _set_sampling(connection, sampling, columns.get("_samplingRate"))
                _only(connection, ids)
                if not folder.is_relative_to(root):
                    _named_from_anywhere(connection, root)
        finally:
            connection.close()
    return target


def _set_sampling(connection: sqlite3.Connection, sampling: float, item_column: str | None) -> None:
    """Give the set (its ``_samplingRate`` property, added where it lacks one) and its items (their column
    ``item_column``, where the set has one) the pixel size ``sampling`` in Å."""
    value = f"{sampling:g}"
    if not connection.execute("UPDATE Properties SET value = ? WHERE key = '_samplingRate'", (value,)).rowcount:
        connection.execute("INSERT INTO Properties(key, value) VALUES ('_samplingRate', ?)", (value,))
    if item_column is not None:
        connection.execute(f'UPDATE Objects SET "{item_column}" = ?', (sampling,))


def _named_from_anywhere(connection: sqlite3.Connection, root: Path) -> None:
    """Name by its absolute path every value of the set that names a file from the project folder ``root``, as
    the masked files are named in a set written outside it: relative, they would point nowhere from there.

    As a STAR or .xmd output outside its project folder does (`absolute_reference`): a column
    of ``Objects`` is looked at when its first text value names such a file (a column of numbers
    or matrices costs nothing), and then each of its values that does is rewritten, a
    ``CsvList`` (``_halfMapFilenames``) path by path; every property but ``_mapperPath`` alike.
    ``_filename`` and ``_index`` are the caller's.
    """
    found: dict[str, str | None] = {}
    present = {row[1] for row in connection.execute("PRAGMA table_info(Objects)")}
    classes = connection.execute("SELECT label_property, column_name, class_name FROM Classes").fetchall()
    connection.execute("CREATE TEMP TABLE renamed(old TEXT PRIMARY KEY, new TEXT)")
    for label, column, class_name in classes:
        if label in ("_filename", "_index") or column not in present:
            continue
        quoted = '"' + str(column).replace('"', '""') + '"'
        text = f"FROM Objects WHERE typeof({quoted}) = 'text'"
        first = connection.execute(f"SELECT {quoted} {text} ORDER BY id LIMIT 1").fetchone()
        csv = class_name == "CsvList"
        if first is None or _absolute_value(first[0], root, found, csv) == first[0]:
            continue
        values = [row[0] for row in connection.execute(f"SELECT DISTINCT {quoted} {text}")]
        renamed = [(value, new) for value in values if (new := _absolute_value(value, root, found, csv)) != value]
        connection.execute("DELETE FROM renamed")
        connection.executemany("INSERT INTO renamed VALUES (?, ?)", renamed)
        connection.execute(
            f"UPDATE Objects SET {quoted} = (SELECT new FROM renamed WHERE old = {quoted}) "
            f"WHERE {quoted} IN (SELECT old FROM renamed)"
        )
    properties = connection.execute(
        "SELECT key, value FROM Properties WHERE key != '_mapperPath' AND typeof(value) = 'text'"
    ).fetchall()
    for key, value in properties:
        new = _absolute_value(value, root, found, False)
        if new != value:
            connection.execute("UPDATE Properties SET value = ? WHERE key = ?", (new, key))


def _absolute_value(value: str, root: Path, found: dict[str, str | None], csv: bool) -> str:
    """``value`` with what names a file from ``root`` absolute (`absolute_reference`); a ``CsvList`` path by path."""
    if csv:
        return ",".join(absolute_reference(part, root, found) or part for part in value.split(","))
    return absolute_reference(value, root, found) or value


def _only(connection: sqlite3.Connection, ids: list[int]) -> None:
    """Leave items ``ids`` alone in the set: the disabled ones are not masked, so they are not in its output."""
    if connection.execute("SELECT COUNT(*) FROM Objects").fetchone()[0] == len(ids):
        return
    connection.execute("CREATE TEMP TABLE masked(id INTEGER PRIMARY KEY)")
    connection.executemany("INSERT INTO masked VALUES (?)", ((int(k),) for k in ids))
    connection.execute("DELETE FROM Objects WHERE id NOT IN (SELECT id FROM masked)")
    connection.execute("UPDATE Properties SET value = ? WHERE key = '_size'", (str(len(ids)),))


def _name_itself(connection: sqlite3.Connection, name: str) -> None:
    """Point ``_mapperPath`` at the set's own file: ``"<name>, <prefix>"``, the prefix kept (empty for a set).

    Scipion writes the path a protocol opened the set by (``Runs/<run>/particles.sqlite``, from
    the project folder it runs in) and, once ``loadAllProperties`` has read it, reopens the set
    from there: a copy keeping the input's value would reopen the input.
    """
    written = connection.execute("SELECT value FROM Properties WHERE key = '_mapperPath'").fetchall()
    # the prefix after the last comma: a file name may hold one
    prefix = str(written[0][0]).rpartition(",")[2] if written and written[0][0] is not None else " "
    value = f"{name},{prefix or ' '}"
    if written:
        connection.execute("UPDATE Properties SET value = ? WHERE key = '_mapperPath'", (value,))
    else:
        connection.execute("INSERT INTO Properties(key, value) VALUES ('_mapperPath', ?)", (value,))


def read_particles(path: Path, options: ReadOptions) -> ParticleSet:
    """A ``particles.sqlite`` set's enabled items, their images found and checked."""
    items = read_set(path, options.project_dir, missing_ok=not options.need_stacks, names=options.names)
    image_index = np.array(items.indices, dtype=np.int64)
    names = [f"{i + 1}@{f}" for i, f in zip(image_index.tolist(), items.files)]
    places = [] if options.need_stacks else list(dict.fromkeys(items.files))
    missing = missing_stacks(places)
    without = None
    if missing:  # read from the set alone: the box from _firstDim, else unknown (0, 0)
        box, box_field = _first_dim(items.first_dim, path)
        stack_paths: list[Path] = []
        stacks: dict[Path, ImageInfo] = {}
        stack_of_row = np.full(len(names), -1, dtype=np.int64)
        header, pixel_field = 0.0, "_samplingRate" if items.sampling_angstrom else ""
        without = WithoutStacks(missing, len(places), box_field, pixel_field)
    else:
        stack_paths, stack_of_row, stacks, box = stacks_of(
            items.files, image_index, names, path, "_index", options.names, RowNames(item_ids=items.ids)
        )
        header = usable_pixel_size(stacks[stack_paths[0]].voxel_size_xyz[0]) or 0.0
    given = options.pixel_size_angstrom if without is None else None  # the caller's, for a set that gives none
    written = items.sampling_written
    unusable = not items.sampling_angstrom and written not in (None, "None")  # set aside (`usable_pixel_size`)
    lacking = None
    if not items.sampling_angstrom:
        lacking = f"its _samplingRate is {written}" if unusable else "no _samplingRate"
    pixel = items.sampling_angstrom or given or header
    used = given_is_used(options) if given is not None else None  # else the header's
    notes = [unusable_note("_samplingRate", written, used=used)] if unusable else []
    notes += _disabled_note(items.disabled)
    if items.sampling_angstrom:
        notes += header_disagreement(header, items.sampling_angstrom, "the metadata (_samplingRate)")
    if given is not None:
        own = f"{items.sampling_angstrom:g} Å/px (_samplingRate)"
        notes += take_given_pixel_size(options, path, LABEL, lacking, own, header)
    rows = Loop.from_columns({"image": names})
    return ParticleSet(
        source=path,
        format=NAME,
        blocks={},
        comments=[],
        block_name="",
        image_column="image",
        rows=rows,
        stack_paths=stack_paths,
        stack_of_row=stack_of_row,
        image_index=image_index,
        stacks=stacks,
        box_yx=box,
        pixel_size_angstrom=pixel,
        dropped_rows=items.disabled,
        notes=notes,
        set_ids=items.ids,
        project_root=Path(os.path.abspath(items.root)),
        without_stacks=without,
        pixel_size_given=given is not None,
        pixel_size_lacking=lacking,
    )


def _first_dim(written: object, source: Path) -> tuple[tuple[int, int], str]:
    """The images' box (ny, nx) from the set's ``_firstDim`` ("x,y,z", pwem's ``ImageDim``), and the field;
    ((0, 0), "") when the set has none.

    Raises
    ------
    UserError
        When ``_firstDim`` is not whole numbers from 1.
    """
    if written in (None, "", "None", "No-Dim"):
        return (0, 0), ""
    parts = str(written).replace(" ", "").split(",")
    if len(parts) < 2 or not all(p.isdigit() and int(p) >= 1 for p in parts):
        raise UserError(
            f"is {str(written)[:40]!r}, not an image shape (x,y,z in pixels, whole numbers from 1); fix the set",
            source=str(source),
            field="_firstDim",
        )
    return (int(parts[1]), int(parts[0])), "_firstDim"


def write_particles(particles: ParticleSet, masked: Masked, output_dir: Path, project_dir: Path | None) -> list[Path]:
    """``particles.sqlite``: a copy of the set with the masked items' ``_filename`` and ``_index`` changed."""
    assert particles.set_ids is not None  # read_particles keeps them
    indices = list(masked.indices + 1)
    target = output_dir / OUTPUTS[0]
    sampling = particles.pixel_size_angstrom if particles.pixel_size_given else None
    written = write_set(
        particles.source, target, particles.set_ids, masked.stack_names, indices, project_dir, sampling=sampling
    )
    return [written]


def read_poses(particles: ParticleSet) -> Poses:
    """Each enabled item's pose (`maskrun.formats.poses`) from ``_transform._matrix`` of a ``Projection`` set.

    Scipion stores ``[[Aᵀ, Aᵀ·o], [0, 1]]`` (A = RELION's matrix, o the origin in pixels).
    """
    kind, transforms = _transforms(particles)
    if kind != "Projection":
        raise UserError(
            f"the set's alignment (_alignment) is {kind}, not Projection: its particles have no 3D poses "
            "(give the output of a 3D refinement)",
            source=str(particles.source),
            field=particles.setting_names.particles,
        )
    rotation_t, moved = transforms[:, :3, :3], transforms[:, :3, 3]
    origin = np.einsum("nji,nj->ni", rotation_t, moved)  # o = A · (Aᵀ·o)
    finite = np.isfinite(rotation_t).all(axis=(1, 2))  # scipy stops at a NaN matrix ("SVD did not converge")
    angles = angles_of_transposed(np.where(finite[:, None, None], rotation_t, np.eye(3)))
    rot, tilt, psi = (np.where(finite, a, np.nan) for a in angles)  # refused by row (`poses_of`)
    return Poses(rot, tilt, psi, origin[:, 0], origin[:, 1], ("_transform._matrix",) * 5)


def read_psi(particles: ParticleSet) -> np.ndarray:
    """Each enabled item's in-plane angle psi in degrees (RELION's; `maskrun.formats.poses.psi_of`).

    A ``Projection`` set's from its poses; a ``2D`` set's matrix holds the in-plane turn
    ``[[cos ψ, −sin ψ], [sin ψ, cos ψ]]`` with ψ = RELION's psi (Scipion's RELION plugin
    writes ``rlnAnglePsi`` so, and reads it back so), the same sense as a projection
    matrix's ``Aᵀ`` turning in the plane only.

    Raises
    ------
    UserError
        For a set without alignment, or an item whose 2D matrix is mirrored (determinant < 0).
    """
    kind, transforms = _transforms(particles, required=False)
    if kind not in ("Projection", "2D"):
        raise UserError(
            f"the set's alignment is {kind}, not Projection or 2D: its particles have no poses (give the output of "
            "a 3D refinement or a 2D classification)",
            source=str(particles.source),
            field="_alignment",
        )
    if kind != "2D":
        return read_poses(particles).psi_deg
    with np.errstate(invalid="ignore"):  # a NaN matrix: refused as no number by the caller (`psi_of`)
        mirrored = np.linalg.det(transforms[:, :2, :2]) < 0
    if mirrored.any():
        row = int(np.flatnonzero(mirrored)[0])
        raise UserError(
            f"item {particles.set_ids[row] if particles.set_ids is not None else row + 1}: its 2D transform is "
            "mirrored, which a shape turned by psi cannot follow; use follow: offsets (or drop the mirrored items)",
            source=str(particles.source),
            field="_transform._matrix",
        )
    psi: np.ndarray = np.degrees(np.arctan2(transforms[:, 1, 0], transforms[:, 0, 0]))
    return psi


def read_offsets(particles: ParticleSet) -> tuple[np.ndarray, np.ndarray]:
    """Each enabled item's origin in px (`maskrun.formats.poses.offsets_of`); 0 in a set without alignment.

    A ``2D`` set's matrix holds the shifts as they are (its last column); a ``Projection``
    set's as `read_poses` reads them.
    """
    kind, transforms = _transforms(particles, required=False)
    if kind == "Projection":
        poses = read_poses(particles)
        return poses.origin_x_px, poses.origin_y_px
    if kind == "2D":
        return transforms[:, 0, 3], transforms[:, 1, 3]
    zeros = np.zeros(len(particles))
    return zeros, zeros


def no_offsets(particles: ParticleSet) -> UserError | None:
    """The refusal of a set without alignment (`maskrun.formats.poses.offsets_of`); None for a ``Projection`` or
    ``2D`` set."""
    kind, _ = _transforms(particles, required=False)
    if kind in ("Projection", "2D"):
        return None
    return UserError(
        f"has no alignment (_alignment is {kind}): these particles have no recorded origins; give the output of a "
        "3D refinement or a 2D classification",
        source=str(particles.source),
    )


def _transforms(particles: ParticleSet, required: bool = True) -> tuple[str, np.ndarray]:
    """The set's ``_alignment`` and each enabled item's 4×4 ``_transform._matrix`` (none when absent)."""
    assert particles.set_ids is not None  # read_particles keeps them
    path = particles.source
    connection = _open_read_only(path)
    try:
        columns = _columns(connection, path)
        alignment = _query(connection, "SELECT value FROM Properties WHERE key = '_alignment'", path)
        kind = str(alignment[0][0]) if alignment else "None"
        if "_transform._matrix" not in columns:
            if required:
                raise UserError(
                    "has no _transform._matrix: its particles have no poses (give the output of a 3D refinement)",
                    source=str(path),
                    field=particles.setting_names.particles,
                )
            return "None", np.zeros((0, 4, 4))
        rows = _query(connection, f'SELECT id, "{columns["_transform._matrix"]}" FROM Objects', path)
    finally:
        connection.close()
    if kind not in ("Projection", "2D"):
        return kind, np.zeros((0, 4, 4))
    matrices = dict(rows)
    return kind, np.array([_matrix(matrices.get(item), item, path) for item in particles.set_ids]).reshape(-1, 4, 4)


def _matrix(text: object, item: int, source: Path) -> np.ndarray:
    try:
        matrix = np.array(json.loads(str(text)), dtype=np.float64)
    except (ValueError, TypeError):
        matrix = np.empty(0)
    if matrix.shape != (4, 4):
        raise UserError(
            f"item {item}: {str(text)[:40]!r} is not a 4x4 matrix; fix the set",
            source=str(source),
            field="_transform._matrix",
        )
    return matrix


def read_maps(
    listing: Path, project_dir: Path | None, names: SettingNames, job_folder: Path | None = None
) -> VolumeSet:
    """The enabled maps of a ``volumes.sqlite`` (errors name the caller's ``names.volumes``); found from the Scipion
    project folder, as its particles' stacks (``job_folder`` is not searched)."""
    items = read_set(listing, project_dir, names=names, kind="volume")
    infos = [inspect_map(path, names.volumes) for path in items.files]
    check_unique_stems(infos, names.volumes)
    notes = _disabled_note(items.disabled)
    root = Path(os.path.abspath(items.root))
    return VolumeSet(
        infos, True, listing, set_ids=items.ids, references=items.references, notes=notes, project_root=root
    )


@dataclass(frozen=True)
class MapPlacement:
    """What pwem's *import volumes* takes from its form, not from a set, for a set of maps: the set's sampling rate
    and each enabled item's origin, as pwem keeps them."""

    sampling_angstrom: float  # the set's _samplingRate; 0 when it has none usable
    # each enabled item's origin, the shifts of its _origin._matrix in Å (x, y, z), in item order; None for an item
    # without one; [] for a set without the column
    origins_angstrom: list[tuple[float, float, float] | None]


def map_placement(path: Path) -> MapPlacement:
    """The sampling rate and the maps' origins of a Scipion set of maps (`MapPlacement`), for the words that bring
    the masked maps back: pwem's *import volumes* reads a pattern of files, no set, and takes the sampling rate and
    the origin (``x, y, z`` in Å, the origin's shifts negated) from its form. A set it cannot read gives none."""
    try:
        connection = _open_read_only(path)
        try:
            columns = _columns(connection, path)
            sampling = _query(connection, "SELECT value FROM Properties WHERE key = '_samplingRate'", path)
            origin = columns.get("_origin._matrix")
            rows = _query(connection, f'SELECT enabled, "{origin}" FROM Objects ORDER BY id', path) if origin else []
        finally:
            connection.close()
    except (UserError, sqlite3.Error):
        return MapPlacement(0.0, [])
    enabled = [text for flag, text in rows if flag is None or flag != 0]
    written = sampling[0][0] if sampling else None
    return MapPlacement(usable_pixel_size(_number(written)) or 0.0, [_shifts(text) for text in enabled])


def _shifts(text: object) -> tuple[float, float, float] | None:
    """The shifts (x, y, z, Å) of a 4x4 ``_origin._matrix`` as pwem writes it (its last column); None if it is none.

    Examples
    --------
    >>> _shifts("[[1.0, 0.0, 0.0, -114.0], [0.0, 1.0, 0.0, -57.0], [0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]]")
    (-114.0, -57.0, 0.0)
    >>> _shifts(None) is None
    True
    """
    try:
        matrix = np.array(json.loads(str(text)), dtype=np.float64)
    except (ValueError, TypeError):
        return None
    if matrix.shape != (4, 4) or not np.isfinite(matrix[:3, 3]).all():
        return None
    x, y, z = (float(v) for v in matrix[:3, 3])
    return x, y, z


def write_maps(volumes: VolumeSet, masked: list[str], output_dir: Path, project_dir: Path | None) -> list[Path]:
    """``volumes.sqlite``: a copy of the set pointing the maps' items at the masked maps."""
    assert volumes.listing is not None and volumes.set_ids is not None  # read_maps keeps them
    target = output_dir / MAP_OUTPUT
    return [write_set(volumes.listing, target, volumes.set_ids, masked, [0] * len(masked), project_dir, "volume")]


def write_example(example: ExampleParticles) -> Path:
    """The example's particles as a Scipion ``SetOfParticles``: Properties, Classes and Objects tables."""
    names, pixel, box = example.names, example.pixel, example.box
    target = example.star.with_suffix(SUFFIXES[0])
    target.unlink(missing_ok=True)
    with sqlite3.connect(target) as db:
        db.execute("PRAGMA user_version = 1")
        db.execute("CREATE TABLE Properties(key TEXT UNIQUE, value TEXT)")
        db.executemany(
            "INSERT INTO Properties VALUES (?, ?)",
            [
                ("self", "SetOfParticles"),
                ("_size", str(len(names))),
                ("_samplingRate", str(pixel)),
                ("_hasCtf", "False"),
                ("_alignment", "None"),
                ("_firstDim", f"{box},{box},1"),
            ],
        )
        db.execute(
            "CREATE TABLE Classes(id INTEGER PRIMARY KEY AUTOINCREMENT, label_property TEXT UNIQUE, "
            "column_name TEXT UNIQUE, class_name TEXT)"
        )
        db.executemany(
            "INSERT INTO Classes(label_property, column_name, class_name) VALUES (?, ?, ?)",
            [
                ("self", "c00", "Particle"),
                ("_index", "c01", "Integer"),
                ("_filename", "c02", "String"),
                ("_samplingRate", "c03", "Float"),
            ],
        )
        db.execute(
            "CREATE TABLE Objects(id INTEGER PRIMARY KEY, enabled INTEGER DEFAULT 1, label TEXT, "
            "comment TEXT, creation DATE, c01 INTEGER, c02 TEXT, c03 REAL)"
        )
        db.executemany(
            "INSERT INTO Objects(id, enabled, c01, c02, c03) VALUES (?, 1, ?, ?, ?)",
            [(i + 1, int(n.split("@")[0]), n.split("@")[1], pixel) for i, n in enumerate(names)],
        )
    return target
