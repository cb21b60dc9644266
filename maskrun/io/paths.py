"""Paths: whether one names a file (without an exception for a name the system refuses), and how to write one."""

from __future__ import annotations

from pathlib import Path

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


def file_identity(path: Path) -> tuple[int, int] | None:
    """The device and inode of the file at ``path`` (through links): another name of it, a hard link, has the same;
    None when there is no file."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


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
