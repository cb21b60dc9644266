"""The commit maskrun's code is from, where it can be told cheaply: a git checkout's, or an install from git's.

The run record said ``versions.maskrun: "0.1.0"`` alone, and a checkout (an editable install,
or ``PYTHONPATH``) keeps that version across commits. The commit is read from the checkout's
own ``.git`` files, without starting ``git`` (each Snakemake that parses the workflow asks:
every cluster job's too), or from the ``direct_url.json`` pip writes for an install from a
git URL. Uncommitted changes are not seen (telling them takes ``git status``, a walk of the
tree); a repository whose refs are stored otherwise (reftable) gives no commit.
"""

from __future__ import annotations

import functools
import json
import re
from importlib import metadata
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]  # maskrun/
OBJECT_NAME = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")  # SHA-1, or SHA-256 in a repository of that format


@functools.cache
def source_commit() -> str | None:
    """The commit of the code running: its checkout's HEAD, or the commit pip installed it from; None if neither."""
    return checked_out_commit(PACKAGE.parent) or _installed_commit()


def checked_out_commit(folder: Path) -> str | None:
    """The commit checked out in ``folder``, a repository's or a worktree's top, read from its ``.git``; else None.

    ``.git`` is the repository, or a file naming it (``gitdir: ...``: a worktree, whose
    ``commondir`` names the repository its branches are in). HEAD names the commit (detached)
    or a branch, whose commit is in its own file under ``refs/`` or in ``packed-refs``.
    """
    dot_git = folder / ".git"
    try:
        if dot_git.is_file():
            named = dot_git.read_text().strip()
            if not named.startswith("gitdir:"):
                return None
            git_dir = (folder / named.removeprefix("gitdir:").strip()).resolve()
        elif dot_git.is_dir():
            git_dir = dot_git
        else:
            return None
        head = (git_dir / "HEAD").read_text().strip()
        if not head.startswith("ref:"):
            return head if OBJECT_NAME.fullmatch(head) else None
        ref = head.removeprefix("ref:").strip()
        if not ref.startswith("refs/") or ".." in ref:
            return None
        common = git_dir
        if (git_dir / "commondir").is_file():
            common = (git_dir / (git_dir / "commondir").read_text().strip()).resolve()
        for base in dict.fromkeys([git_dir, common]):
            if (base / ref).is_file():
                return _object_name((base / ref).read_text().strip())
        if (common / "packed-refs").is_file():
            for line in (common / "packed-refs").read_text().splitlines():
                value, _, name = line.partition(" ")
                if name.strip() == ref:
                    return _object_name(value)
    except (OSError, UnicodeDecodeError):
        return None
    return None


def _object_name(text: str) -> str | None:
    return text if OBJECT_NAME.fullmatch(text) else None


def _installed_commit() -> str | None:
    """The commit pip installed maskrun from (``pip install git+URL``: PEP 610's ``vcs_info``), if this code is it."""
    try:
        distribution = metadata.distribution("maskrun")
        if Path(str(distribution.locate_file("maskrun/__init__.py"))).resolve() != PACKAGE / "__init__.py":
            return None  # another copy's record (this code is a checkout's, on PYTHONPATH)
        text = distribution.read_text("direct_url.json")
        commit = json.loads(text).get("vcs_info", {}).get("commit_id") if text else None
    except (metadata.PackageNotFoundError, OSError, ValueError, AttributeError):
        return None
    return _object_name(commit) if isinstance(commit, str) else None
