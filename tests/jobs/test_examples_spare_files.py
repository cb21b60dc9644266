"""``maskrun example KIND --write DIR`` never replaces a file of DIR: a project's own ``particles.star``,
``Extract/`` stacks or maps, written there before the example, stay as they were."""

from __future__ import annotations

import pytest

from maskrun.cli.main import main

from commands import digest


@pytest.mark.parametrize(
    "kind,relative",
    [
        ("particles", "particles.star"),
        ("particles", "Extract/mic_002.mrcs"),
        ("projection", "masks/domain3d.mrc"),
        ("volumes", "maps/class_1.mrc"),
    ],
)
def test_a_users_file_of_an_example_name_is_refused_and_nothing_written(capsys, tmp_path, kind, relative):
    users = tmp_path / relative
    users.parent.mkdir(parents=True, exist_ok=True)
    users.write_text("# the user's own file\n")
    before = digest(tmp_path)
    assert main(["example", kind, "--write", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"maskrun example: error: {users}: exists already, and the {kind} example writes a file of that name; "
        "remove it or choose another folder\n"
    )
    assert digest(tmp_path) == before
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == sorted(
        {relative, *(p.as_posix() for p in users.relative_to(tmp_path).parents if p.name)}
    )


def test_a_link_of_an_example_name_is_refused(capsys, tmp_path):
    (tmp_path / "elsewhere.star").write_text("# the user's own file\n")
    (tmp_path / "particles.star").symlink_to(tmp_path / "elsewhere.star")
    assert main(["example", "particles", "--write", str(tmp_path)]) == 2
    assert "particles.star: exists already" in capsys.readouterr().err
    assert (tmp_path / "elsewhere.star").read_text() == "# the user's own file\n"


def test_examples_sharing_their_data_go_into_one_folder(tmp_path):
    assert main(["example", "volumes", "--write", str(tmp_path)]) == 0
    maps = digest(tmp_path / "maps")
    assert main(["example", "expression", "--write", str(tmp_path)]) == 0  # the same maps, byte for byte
    assert main(["example", "particles", "--write", str(tmp_path)]) == 0
    assert digest(tmp_path / "maps") == maps
    assert {p.name for p in tmp_path.iterdir()} == {
        "volumes.yaml",
        "expression.yaml",
        "particles.yaml",
        "ligand.pdb",
        "particles.star",
        "maps",
        "Extract",
    }


def test_a_killed_examples_staging_folder_is_cleared_by_the_next_one_only_when_its_process_is_gone(tmp_path):
    import os
    import socket
    import subprocess
    import sys

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    host = socket.gethostname()
    stale = tmp_path / f".maskrun-example-{host}-{int(gone.stdout)}-k1ll3d_x"
    running = tmp_path / f".maskrun-example-{host}-{os.getpid()}-st1llup"  # a live process's: not touched
    elsewhere = tmp_path / f".maskrun-example-other-host-{int(gone.stdout)}-n0tm1ne"  # another host's: unknowable
    for folder in (stale, running, elsewhere):
        (folder / "Extract").mkdir(parents=True)
        (folder / "Extract" / "mic_001.mrcs").write_bytes(b"half written")
    assert main(["example", "particles", "--write", str(tmp_path)]) == 0
    assert not stale.exists() and running.is_dir() and elsewhere.is_dir()
    assert sorted(p.name for p in tmp_path.glob(".maskrun-example-*")) == sorted([running.name, elsewhere.name])


@pytest.mark.parametrize(
    "file,folder,said",
    [
        (
            "Extract",
            ".",
            "is a file where the particles example writes a folder; move it away or choose another folder",
        ),
        ("here", "here", "is a file, not a folder the example can be written into; choose another folder"),
        ("here", "here/sub", "is a file, not a folder the example can be written into; choose another folder"),
    ],
    ids=["Extract", "the-folder", "a-parent"],
)
def test_a_file_where_the_example_writes_a_folder_is_refused_and_nothing_written(capsys, tmp_path, file, folder, said):
    """``Extract`` a file: exit 1 ("[Errno 17] File exists") with ``particles.star`` already moved into place."""
    users = tmp_path / file
    users.write_text("# the user's own file\n")
    assert main(["example", "particles", "--write", str(tmp_path / folder)]) == 2
    assert capsys.readouterr().err == f"maskrun example: error: {users}: {said}\n"
    assert [p.name for p in tmp_path.iterdir()] == [file] and users.read_text() == "# the user's own file\n"


@pytest.mark.parametrize("folder", ["ro", "ro/ex"])
def test_a_read_only_folder_is_refused_before_anything_is_written(capsys, tmp_path, monkeypatch, folder):
    """The trust look: ``example particles --write RO/ex`` on a read-only file system failed (exit 1) with the raw
    ``[Errno 30] Read-only file system``, where mask and make-mask refuse such a folder at once (exit 2)."""
    import os

    (tmp_path / "ro").mkdir()
    real_access = os.access
    # root writes anywhere: the check is what is tested here
    monkeypatch.setattr(os, "access", lambda p, mode: False if p == tmp_path / "ro" else real_access(p, mode))
    assert main(["example", "particles", "--write", str(tmp_path / folder)]) == 2
    assert capsys.readouterr().err == (
        f"maskrun example: error: {tmp_path / 'ro'} is not writable (read-only folder or filesystem); choose an "
        "output folder you can write to\n"
    )
    assert list((tmp_path / "ro").iterdir()) == []
