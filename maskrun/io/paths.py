"""Paths: whether one names a file (without an exception for a name the system refuses), and how to write one."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from stat import S_ISLNK

from maskrun.errors import UserError

PROJECT_DIR_FIX = (
    "give the project folder the set's relative stack paths start from (cryoSPARC's P…, Scipion's project), "
    "or leave it out to have it found upward from the set"
)


def is_file(path: Path) -> bool:
    """Whether ``path`` is a file; False (not an error) for a name the system refuses.

    `pathlib.Path.is_file` raises for a name too long for the filesystem (``ENAMETOOLONG``)
    or otherwise unusable: such a path in a user's metadata is a file that is not there,
    to be reported as such (exit status 2), not a crash.
    """
    try:
        return path.is_file()
    except OSError:
        return False


BROKEN_LINK_FIX = "move the data back or fix the link"


def broken_link(path: Path) -> tuple[Path, str] | None:
    """The symbolic link that leaves ``path`` without a file, and what it points to; None when there is none.

    That is ``path`` itself or the nearest of its folders that is there as a name: a link whose
    target is not (data moved after Scipion linked it into a project, say). The nearest folder
    that is there and not a broken link ends the search: the file is then simply absent.
    """
    for place in (path, *path.parents):
        try:
            if not os.path.lexists(place):
                continue
            if os.path.islink(place) and not os.path.exists(place):
                return place, os.readlink(place)
        except (OSError, ValueError):  # a name the system refuses: no link to report
            return None
        return None
    return None


def broken_link_said(path: Path) -> str | None:
    """Why ``path`` is not a file when a broken link (`broken_link`) is why, without the fix (for a note).

    ``is a broken link to … (its target is not there)`` (``path`` is the link) or ``is in …,
    a broken link to … (…)`` (a folder on its way is), for a text that names ``path`` first;
    None when no link is broken.
    """
    found = broken_link(path)
    if found is None:
        return None
    link, target = found
    where = "is" if link == path else f"is in {link},"
    return f"{where} a broken link to {target} (its target is not there)"


def broken_link_text(path: Path) -> str | None:
    """What is wrong with ``path`` when a broken link (`broken_link`) is why it is not a file, with the fix.

    `broken_link_said` and ``: move the data back or fix the link``; None when no link is broken.
    """
    said = broken_link_said(path)
    return None if said is None else f"{said}: {BROKEN_LINK_FIX}"


def refuse_broken_link(places: list[Path], what: str, source: Path | None, field: str | None) -> None:
    """Refuse a file not found at any of ``places`` (where it was looked for) because a symbolic link is broken.

    A link is found where a file is not: "not found, set the project folder" would send the
    user looking for a folder they gave right. The first place whose path meets a broken
    link is named. Returns (nothing to say) when none does.

    Raises
    ------
    UserError
        ``<what> <path> is a broken link to <target> (its target is not there): …``.
    """
    for place in (Path(os.path.abspath(p)) for p in places):
        broken = broken_link_text(place)
        if broken:
            raise UserError(f"{what} {place} {broken}", source=str(source) if source is not None else None, field=field)


def file_not_found(path: Path, fix: str = "check the path", field: str | None = None) -> UserError:
    """The error for a file that is not there: ``file not found; <fix>``, or the broken link that is why.

    Parameters
    ----------
    path
        The file looked for.
    fix
        What to do when no broken link explains it.
    field
        The job field or option that named it, if any.
    """
    broken = broken_link_text(path)
    return UserError(broken if broken else f"file not found; {fix}", source=str(path), field=field)


def file_identity(path: Path) -> tuple[int, int] | None:
    """The device and inode of the file at ``path`` (through links): another name of it, a hard link, has the same;
    None when there is no file."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


def real_paths_and_identities(paths: Iterable[Path]) -> list[tuple[str, tuple[int, int] | None]]:
    """Each path's `os.path.realpath` and `file_identity`, as those give them, for many files in few folders.

    Each folder is resolved once and each file looked at once (an ``lstat``): realpath looks at
    every folder on a path's way, and a plan checks thousands of stacks of one folder. A file
    that is a link is resolved whole, as realpath and `file_identity` do.
    """
    real_folders: dict[str, str] = {}
    found: list[tuple[str, tuple[int, int] | None]] = []
    for path in paths:
        text = os.fspath(path)
        folder, name = os.path.split(text)
        try:
            status: os.stat_result | None = os.lstat(text)
        except OSError:  # not there: realpath takes the name as it is, and it has no identity
            status = None
        if not folder or name in ("", ".", "..") or (status is not None and S_ISLNK(status.st_mode)):
            found.append((os.path.realpath(text), file_identity(Path(text))))
            continue
        if folder not in real_folders:
            real_folders[folder] = os.path.realpath(folder)
        identity = (status.st_dev, status.st_ino) if status is not None else None
        found.append((os.path.join(real_folders[folder], name), identity))
    return found


def named_from(path: Path, folder: Path) -> str:
    """``path`` (absolute) as metadata relative to ``folder`` name it: relative when inside it, else absolute.

    A project's metadata name files from the project folder, where its programs run (RELION,
    Xmipp, Scipion); a file outside it gets its absolute path, which resolves from anywhere.
    """
    return str(path.relative_to(folder)) if path.is_relative_to(folder) else str(path)


def check_project_dir(path: Path, field: str) -> None:
    """Refuse a project folder (``inputs.project_dir``, ``--project-dir``) that is not a folder.

    Raises
    ------
    UserError
        Naming the path, ``field`` and the fix: a missing folder would otherwise be passed over
        in silence, and stacks looked for elsewhere.
    """
    try:
        if path.is_dir():
            return
        what = "is a file, not a folder" if path.exists() else "no such folder"
    except OSError:  # a name the system refuses
        what = "no such folder"
    raise UserError(f"{what}; {PROJECT_DIR_FIX}", source=str(path), field=field)


def writable_folder(folder: Path) -> bool:
    """Whether this process can write in ``folder``, or make it and then write in it.

    Its nearest existing ancestor must be a folder this process may write in: not a file
    (``~/.cache`` a file), not read-only, not on a read-only filesystem (``os.access`` says
    so even to root).
    """
    try:
        existing = next(path for path in (folder, *folder.parents) if path.exists())
    except (OSError, StopIteration):  # a path on the way it may not look into
        return False
    return existing.is_dir() and os.access(existing, os.W_OK | os.X_OK)
