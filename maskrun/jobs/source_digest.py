"""A digest of maskrun's own code as it runs: what `source_commit` cannot tell, uncommitted changes.

The commit of a checkout says which code was committed, not which ran: an editable install
edited since keeps its commit, and an install from a wheel has none. The package's files
themselves (every file under ``maskrun/`` but Python's caches) are the code; their digest,
about 1.5 MB of text read once per process, is the same for two runs of the same code, however
installed, and differs for any change, committed or not.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from maskrun.jobs.source_commit import PACKAGE


@functools.cache
def source_digest(package: Path = PACKAGE) -> str:
    """sha256 of the package's files: each one's path (relative, ``/``-separated), size and bytes, by path.

    ``__pycache__`` folders are left out: Python writes them as it imports, and they differ
    between Python versions for the same code.
    """
    digest = hashlib.sha256()
    files = sorted(
        (path for path in package.rglob("*") if "__pycache__" not in path.parts and path.is_file()),
        key=lambda path: path.relative_to(package).as_posix(),
    )
    for path in files:
        content = path.read_bytes()
        digest.update(f"{path.relative_to(package).as_posix()}\0{len(content)}\0".encode())
        digest.update(content)
    return digest.hexdigest()
