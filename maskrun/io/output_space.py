"""Before any work: can the output be written where it is asked for, and does it fit?"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from maskrun.errors import SettingError, UserError

MARGIN_BYTES = 16 << 20  # headers, metadata, logs and the filesystem's own rounding
MARGIN_FRACTION = 0.02


def check_output_location(folder: Path, needed_bytes: int, field: str | None = None) -> None:
    """Refuse, before anything is written, an output folder that cannot take ``needed_bytes``.

    The folder need not exist; its nearest existing ancestor must be a writable folder on a
    filesystem with room for the output plus a margin.

    Raises
    ------
    UserError
        When a path on the way is a file, the folder is read-only (or on a read-only
        filesystem), or there is not enough free space; naming the path and the fix.
    """
    folder = Path(os.path.abspath(folder))
    existing = folder
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise UserError(
            f"{existing} is a file, so the output folder {folder} cannot be made there; choose another output folder",
            field=field,
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UserError(
            f"{existing} is not writable (read-only folder or filesystem); choose an output folder you can write to",
            field=field,
        )
    free = shutil.disk_usage(existing).free
    wanted = int(needed_bytes * (1 + MARGIN_FRACTION)) + MARGIN_BYTES
    if free < wanted:
        raise UserError(
            f"the output needs about {wanted / 1e6:.0f} MB but {existing} has {free / 1e6:.0f} MB "
            "free; free some space or choose another output folder",
            field=field,
        )


def is_taken(path: Path) -> bool:
    """Whether a name is in use: a file or folder, or a link (one pointing nowhere too, which is the user's)."""
    return path.exists() or path.is_symlink()


def refuse_taken(path: Path, overwrite: bool) -> None:
    """Refuse an output name in use (`is_taken`) unless ``overwrite``.

    Raises
    ------
    SettingError
        Naming the file; the fix is ``overwrite``, spelt as the caller's front end takes it.
    """
    if is_taken(path) and not overwrite:
        raise SettingError(
            "exists already; pass {setting} to replace it, or choose another name",
            setting="overwrite",
            value=True,
            source=str(path),
        )


def refuse_folder(path: Path, what: str = "output") -> None:
    """Refuse an output name that is a folder, at once (writing would fail only after the work).

    Raises
    ------
    UserError
        Naming the folder: give a file name for the ``what``.
    """
    if path.is_dir():
        raise UserError(f"is a folder; give a file name for the {what}", source=str(path))


def check_not_an_input(output: Path, inputs: Iterable[Path | None]) -> None:
    """Refuse an output that is one of the inputs: the same path, or the same file through links.

    An input is never an output, whatever ``overwrite`` says.

    Raises
    ------
    UserError
        Naming the output and the input it would replace.
    """
    for source in inputs:
        if source is None:
            continue
        if os.path.realpath(output) == os.path.realpath(source) or (
            output.exists() and source.exists() and os.path.samefile(output, source)
        ):
            named = "" if Path(output) == Path(source) else f" {source}"
            raise SettingError(
                f"is the input file{named}; maskrun never overwrites an input, even with "
                "{setting}: "
                "choose another output name",
                setting="overwrite",
                value=True,
                source=str(output),
            )
