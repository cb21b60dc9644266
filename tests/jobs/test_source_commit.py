"""The run record names the commit maskrun's code is from, read from its checkout's .git files without git, and the
digest of the code itself, which tells uncommitted edits.

The cluster look: run.json said versions.maskrun "0.1.0" alone, which a checkout keeps across commits.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from maskrun.jobs.provenance import environment
from maskrun.jobs.source_commit import PACKAGE, checked_out_commit, source_commit
from maskrun.jobs.source_digest import source_digest
from maskrun.workflow.support import code_stamp

ONE = "a" * 40
TWO = "b" * 40


def repository(folder, head: str = "ref: refs/heads/main\n"):
    """A repository's .git in ``folder``: HEAD as given, refs written by the caller."""
    git = folder / ".git"
    (git / "refs" / "heads").mkdir(parents=True)
    (git / "HEAD").write_text(head)
    return git


def test_the_commit_is_read_from_a_branch_a_packed_ref_a_detached_head_and_a_worktree(tmp_path):
    main = tmp_path / "main"
    git = repository(main)
    (git / "refs" / "heads" / "main").write_text(f"{ONE}\n")
    assert checked_out_commit(main) == ONE
    (git / "refs" / "heads" / "main").unlink()  # after git gc: in packed-refs
    (git / "packed-refs").write_text(f"# pack-refs with: peeled fully-peeled sorted\n{TWO} refs/heads/main\n")
    assert checked_out_commit(main) == TWO
    (git / "HEAD").write_text(f"{ONE}\n")  # detached
    assert checked_out_commit(main) == ONE
    # a worktree: .git names its folder in the repository, whose commondir holds the branches
    (git / "HEAD").write_text("ref: refs/heads/main\n")
    worktree_git = git / "worktrees" / "fix"
    worktree_git.mkdir(parents=True)
    (worktree_git / "HEAD").write_text("ref: refs/heads/fix\n")
    (worktree_git / "commondir").write_text("../..\n")
    (git / "refs" / "heads" / "fix").write_text(f"{ONE}\n")
    worktree = tmp_path / "fix"
    worktree.mkdir()
    (worktree / ".git").write_text(f"gitdir: {worktree_git}\n")
    assert checked_out_commit(worktree) == ONE


@pytest.mark.parametrize(
    "head", ["ref: refs/heads/gone\n", "ref: refs/heads/.invalid\n", "not a commit\n", "ref: ../../etc/passwd\n"]
)
def test_what_cannot_be_told_gives_no_commit(tmp_path, head):
    """A branch with no commit yet, a reftable repository (HEAD names .invalid), garbage: None, never a guess."""
    repository(tmp_path, head)
    assert checked_out_commit(tmp_path) is None
    assert checked_out_commit(tmp_path / "elsewhere") is None  # no .git at all: an installed package's folder


def test_the_records_carry_the_commit_of_this_checkout_as_git_says_it():
    commit = source_commit()
    assert environment()["versions"]["maskrun_commit"] == commit
    if not (PACKAGE.parent / ".git").exists() or shutil.which("git") is None:
        pytest.skip("maskrun is not run from a git checkout here")
    said = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PACKAGE.parent, capture_output=True, text=True)
    assert said.returncode == 0 and commit == said.stdout.strip()
    json.dumps(environment())  # the record stays JSON


def test_the_code_digest_tells_an_edit_that_the_commit_does_not(tmp_path):
    """A checkout edited since its commit keeps the commit: the digest of the package's files changes."""
    package = tmp_path / "maskrun"
    shutil.copytree(PACKAGE, package, ignore=shutil.ignore_patterns("__pycache__"))
    first = source_digest(package)
    assert first == source_digest.__wrapped__(PACKAGE)  # the same code, wherever it lies
    (package / "__pycache__").mkdir(exist_ok=True)
    (package / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\0" * 16)  # Python's caches are not the code
    assert source_digest.__wrapped__(package) == first
    engine = package / "engine" / "apply.py"
    engine.write_text(engine.read_text() + "\n")  # one byte more: a different code
    assert source_digest.__wrapped__(package) != first
    engine.write_text(engine.read_text()[:-1])
    (package / "engine" / "apply.py").rename(package / "engine" / "apply2.py")  # the same bytes, another name
    assert source_digest.__wrapped__(package) != first


def test_the_records_and_the_units_params_carry_the_code_digest():
    digest = source_digest()
    assert len(digest) == 64 and environment()["versions"]["maskrun_source_sha256"] == digest
    assert code_stamp().endswith(f" source {digest}")  # a resume by edited code redoes the units
