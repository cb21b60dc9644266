"""Paths resolved in bulk (`real_paths_and_identities`) are what `os.path.realpath` and `file_identity` give one by
one, through links to files and to folders, for missing files and ``..``."""

from __future__ import annotations

import os

from maskrun.io.paths import file_identity, real_paths_and_identities


def test_real_paths_and_identities_are_realpaths_and_file_identities(tmp_path, monkeypatch):
    (tmp_path / "data").mkdir()
    for name in ("a.mrcs", "b.mrcs"):
        (tmp_path / "data" / name).write_bytes(b"x")
    (tmp_path / "linked").symlink_to("data")  # a folder on the way that is a link
    (tmp_path / "data" / "c.mrcs").symlink_to("a.mrcs")  # a file that is a link
    (tmp_path / "data" / "gone.mrcs").symlink_to("/nowhere/gone.mrcs")
    os.link(tmp_path / "data" / "b.mrcs", tmp_path / "hard.mrcs")
    monkeypatch.chdir(tmp_path)
    paths = [
        tmp_path / "data" / "a.mrcs",
        tmp_path / "linked" / "a.mrcs",
        tmp_path / "linked" / "b.mrcs",
        tmp_path / "linked" / "c.mrcs",
        tmp_path / "data" / "gone.mrcs",
        tmp_path / "linked" / "missing.mrcs",
        tmp_path / "linked" / ".." / "hard.mrcs",
        tmp_path / "data" / "..",
        tmp_path / "linked",
        type(tmp_path)("linked/a.mrcs"),
        type(tmp_path)("a.mrcs"),
    ]
    found = real_paths_and_identities(paths)
    assert found == [(os.path.realpath(p), file_identity(p)) for p in paths]
    assert found[1] == (str(tmp_path / "data" / "a.mrcs"), file_identity(tmp_path / "data" / "a.mrcs"))
    assert found[3][0] == found[0][0] and found[6][1] == found[2][1]  # a link, a hard link: the one file
    assert found[5][1] is None and found[4][1] is None
