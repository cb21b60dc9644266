"""Paths: whether one names a file (without an exception for a name the system refuses), and how to write one."""

from __future__ import annotations

from pathlib import Path


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


def named_from(path: Path, folder: Path) -> str:
    """``path`` (absolute) as metadata relative to ``folder`` name it: relative when inside it, else absolute.

    A project's metadata name files from the project folder, where its programs run (RELION,
    Xmipp, Scipion); a file outside it gets its absolute path, which resolves from anywhere.
    """
    return str(path.relative_to(folder)) if path.is_relative_to(folder) else str(path)
