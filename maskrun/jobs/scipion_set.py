"""Scipion set files (``particles.sqlite``, ``volumes.sqlite``): read with sqlite3, written back as a copy.

Scipion keeps a set as one row per item in ``Objects``, with columns ``c01, c02, …`` whose
meaning the ``Classes`` table gives (``_filename`` → ``c02``, say): the numbers change with
the first item's attributes, so they are always looked up, never assumed. ``_filename`` is
relative to the Scipion project folder (found, as Scipion finds it, by walking up from the
set file until the first item's file exists; or ``inputs.project_dir``); ``_index`` is
1-based in a stack and 0 for a single-file volume; items with ``enabled = 0`` are not
masked. The output is a copy of the input set file in which only ``_filename`` and
``_index`` of the masked items change, written relative to the output folder so that
Scipion's import resolves them from there; every other column, the ``Properties`` and
``Classes`` tables and the item ids stay as they were.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from maskrun.errors import UserError


@dataclass(frozen=True)
class SetItems:
    """The enabled items of a set: ids, files (absolute) and 0-based image numbers, and the set's sampling."""

    ids: list[int]
    files: list[Path]
    indices: list[int]
    sampling_angstrom: float
    disabled: int


def _columns(connection: sqlite3.Connection, source: Path) -> dict[str, str]:
    try:
        rows = connection.execute("SELECT label_property, column_name FROM Classes").fetchall()
    except sqlite3.Error as exc:
        raise UserError(f"is not a Scipion set file (no Classes table: {exc})", source=str(source)) from None
    columns = {label: column for label, column in rows}
    missing = [name for name in ("_filename", "_index") if name not in columns]
    if missing:
        raise UserError(f"is a Scipion set without {', '.join(missing)}: not a set of images", source=str(source))
    return columns


def read_set(path: Path, project_dir: Path | None = None) -> SetItems:
    """The enabled items of a Scipion set file, with their files resolved.

    Raises
    ------
    UserError
        For a file that is not a Scipion set, a set with no enabled item, or files that
        cannot be found from the set's folder upwards (or from ``project_dir``).
    """
    if not path.is_file():
        raise UserError("file not found; check the path", source=str(path))
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise UserError(f"cannot be opened as an sqlite file ({exc})", source=str(path)) from None
    with connection:
        columns = _columns(connection, path)
        file_column, index_column = columns["_filename"], columns["_index"]
        try:
            rows = connection.execute(
                f'SELECT id, enabled, "{file_column}", "{index_column}" FROM Objects ORDER BY id'
            ).fetchall()
            sampling = connection.execute("SELECT value FROM Properties WHERE key = '_samplingRate'").fetchone()
        except sqlite3.Error as exc:
            raise UserError(f"is not a Scipion set file ({exc})", source=str(path)) from None
    kept = [row for row in rows if row[1] is None or int(row[1]) != 0]
    if not kept:
        raise UserError("holds no enabled item (every enabled = 0, or no rows)", source=str(path))
    root = project_dir if project_dir is not None else _project_root(path, str(kept[0][2]))
    files = [Path(os.path.abspath(root / str(row[2]))) for row in kept]
    indices = [max(int(row[3] or 0) - 1, 0) for row in kept]
    try:
        pixel = float(sampling[0]) if sampling and sampling[0] not in (None, "None") else 0.0
    except ValueError:
        pixel = 0.0
    return SetItems([int(row[0]) for row in kept], files, indices, pixel, len(rows) - len(kept))


def _project_root(path: Path, first_file: str) -> Path:
    """Scipion's rule: the nearest folder, from the set's upwards, in which the first item's file exists."""
    for folder in [path.parent, *path.parent.parents]:
        if (folder / first_file).is_file():
            return folder
    raise UserError(
        f"'{first_file}' (the first item's _filename) is not found from the set's folder upwards; "
        "give the Scipion project folder as inputs.project_dir",
        source=str(path),
    )


def write_set(source: Path, target: Path, ids: list[int], files: list[str], indices: list[int]) -> Path:
    """Copy a set file, pointing items ``ids`` at ``files`` (relative to the target's folder), 1-based ``indices``."""
    tmp = target.with_name(f".{target.name}.part-{os.getpid()}")
    try:
        shutil.copyfile(source, tmp)
        connection = sqlite3.connect(tmp)
        with connection:
            columns = _columns(connection, source)
            connection.executemany(
                f'UPDATE Objects SET "{columns["_filename"]}" = ?, "{columns["_index"]}" = ? WHERE id = ?',
                [(str(f), int(i), int(k)) for f, i, k in zip(files, indices, ids)],  # numpy ints would be BLOBs
            )
        connection.close()
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target
