"""Whether a path names a file, without an exception for a name the system refuses."""

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
