"""Before any work: can the output be written where it is asked for, and does it fit? And when it did not fit."""

from __future__ import annotations

import errno
import os
import resource
import shutil
import stat
from collections.abc import Iterable
from pathlib import Path

from maskrun.errors import RunFailure, SettingError, UserError

MARGIN_BYTES = 16 << 20  # a job's run: its logs, records, Snakemake's metadata and the filesystem's own rounding
FILE_MARGIN_BYTES = 1 << 20  # one file a command writes: the filesystem's rounding, and a little room for others
MARGIN_FRACTION = 0.02


def check_output_location(
    folder: Path, needed_bytes: int, field: str | None = None, margin_bytes: int = FILE_MARGIN_BYTES
) -> None:
    """Refuse, before anything is written, an output folder that cannot take ``needed_bytes``.

    The folder need not exist (the writer makes it, with its missing parents); its nearest
    existing ancestor must be a writable folder on a filesystem with room for the output plus
    a margin: 2 % and ``margin_bytes`` (`MARGIN_BYTES` for a job's run, which writes logs and
    records beside its output; `FILE_MARGIN_BYTES`, the default, for one file).

    Raises
    ------
    UserError
        When a path on the way is a file, the folder is read-only (or on a read-only
        filesystem), or there is not enough free space; naming the path and the fix, and the
        output's size apart from the margin.
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
    margin = int(needed_bytes * MARGIN_FRACTION) + margin_bytes
    if free < needed_bytes + margin:
        raise UserError(
            f"the output needs about {megabytes(needed_bytes)}, and a margin of {megabytes(margin)} is kept free, but "
            f"{existing} has {megabytes(free)} free; free some space or choose another output folder",
            field=field,
        )


def megabytes(count: int) -> str:
    """``1.0 MB``, ``17 MB``: a size in MB, with a decimal under 10 MB."""
    return f"{count / 1e6:.{0 if count >= 10e6 else 1}f} MB"


SPACE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
AGAIN = "run it again"
RESUMES = "run again: the run resumes where it stopped"  # a job's run: the units done stay done
FAT32_LIMIT = "FAT32, say, holds files up to 4 GB"


def out_of_space(exc: BaseException) -> bool:
    """Whether an error is a file that found no room to grow: a full device, a full disk quota, or a file past
    the largest size it may have (``ENOSPC``, ``EDQUOT``, ``EFBIG``: a file-size limit, ``ulimit -f``, or its file
    system's largest file)."""
    return isinstance(exc, OSError) and exc.errno in SPACE_ERRNOS


def no_space_failure(
    exc: OSError, then: str = AGAIN, where: str | os.PathLike[str] | None = None, smaller: str | None = None
) -> RunFailure:
    """The one line a full device (or disk quota, or a file-size limit) ends a command with, naming the file being
    written.

    A failure, not a mistake in the request (exit 1, not 2): what was written before it stays
    (a run's units done), and no check made before the work could have foreseen every
    other writer on the device.

    Parameters
    ----------
    exc
        The ``ENOSPC``, ``EDQUOT`` or ``EFBIG`` error (`out_of_space`); its ``filename`` is the
        file being written when the writer named it (`maskrun.io.atomic` names the final name).
    then
        What to do once space is freed: `AGAIN`, or `RESUMES` for a job's run.
    where
        The file or folder to name when the error names none.
    smaller
        For a file too large (``EFBIG``): how the caller's request makes the file smaller
        (``a smaller batch_size``), offered beside a higher limit or another file system.

    Returns
    -------
    RunFailure
        ``FILE: no space left on its device (N MB free); free some and <then>``; for ``EFBIG``,
        ``FILE: larger than this session's file-size limit (N MB: ulimit -f); raise it …`` when
        this process has such a limit, else that it is larger than its file system takes.
    """
    named = exc.filename if exc.filename is not None else where
    path = Path(os.fsdecode(named)) if named is not None else None
    what = str(path) if path is not None else "a file being written"
    if exc.errno == errno.EDQUOT:
        return RunFailure(f"{what}: your disk quota on its device is full; free some of your files and {then}")
    if exc.errno == errno.EFBIG:
        return RunFailure(f"{what}: {_too_large(smaller)}{',' * bool(smaller)} and {then}")
    free = _free_bytes(path) if path is not None else None
    room = f" ({megabytes(free)} free)" if free is not None else ""
    return RunFailure(f"{what}: no space left on its device{room}; free some and {then}")


def _too_large(smaller: str | None) -> str:
    """Why a file could not grow past its size (``EFBIG``), and the fixes: this process's file-size limit when it
    has one (what ``ulimit -f`` sets; bash counts it in KB), else its file system's largest file."""
    limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    if limit != resource.RLIM_INFINITY:
        why = f"larger than this session's file-size limit ({megabytes(limit)}: ulimit -f)"
        fix = "raise it (ulimit -f unlimited)"
    else:
        why, fix = f"larger than its file system takes in one file ({FAT32_LIMIT})", "write it to another file system"
    return f"{why}; {fix}" + (f" or {smaller}" if smaller else "")


def _free_bytes(path: Path) -> int | None:
    """Free bytes on the device of ``path``'s nearest existing folder; None when that cannot be told."""
    folder = Path(os.path.abspath(path))
    while not folder.is_dir() and folder != folder.parent:
        folder = folder.parent
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return None


def is_taken(path: Path) -> bool:
    """Whether a name is in use: a file or folder, or a link (one pointing nowhere too, which is the user's)."""
    return path.exists() or path.is_symlink()


def refuse_taken(path: Path, overwrite: bool) -> None:
    """Refuse an output name in use (`is_taken`) unless ``overwrite``; a link or a special file whatever it says
    (`refuse_not_a_file`).

    Raises
    ------
    SettingError
        Naming the file; the fix is ``overwrite``, spelt as the caller's front end takes it.
    UserError
        From `refuse_not_a_file`.
    """
    refuse_not_a_file(path)
    if is_taken(path) and not overwrite:
        raise SettingError(
            "exists already; pass {setting} to replace it, or choose another name",
            setting="overwrite",
            value=True,
            source=str(path),
        )


def refuse_not_a_file(path: Path) -> None:
    """Refuse an output name that is a link, a named pipe, a device or a socket, whatever ``overwrite`` says.

    An output is written whole under a temporary name and renamed over its own (a final-named file is never
    partial), so the rename would replace the link or the special file itself, not write through it: asked to
    overwrite ``/dev/stdout``, a link, it replaced the system's link with a plain file.

    Raises
    ------
    UserError
        Naming the path and what it is: give the path of a file (the link's target, say).
    """
    if path.is_symlink():
        what, thing = f"a symbolic link (to {os.readlink(path)})", "the link itself, not write through it"
    else:
        try:
            mode = path.stat().st_mode
        except OSError:
            return
        if stat.S_ISREG(mode) or stat.S_ISDIR(mode):  # a folder: `refuse_folder`'s
            return
        what = "a named pipe" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "a device"
        thing = f"{what} itself with a file, not write into it"
    raise UserError(
        f"is {what}, not a file: maskrun writes an output whole and renames it into place, which would replace "
        f"{thing}; give the path of a file",
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
