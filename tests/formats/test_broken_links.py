"""A stack or map that is a broken symbolic link (Scipion links imported data; the data moved) is named as one, in
every format: not as a file not found, whose advice (give the project folder, check the path) leads nowhere."""

from __future__ import annotations

import os
import shutil
import sqlite3

import numpy as np
import pytest

from maskrun.cli.main import main
from maskrun.io.paths import broken_link

from conftest import shared_path, write_mrc
from job_files import example_folder, job_with, validate_refuses, write_job

FIX = "(its target is not there): move the data back or fix the link"
SCIPION_STACK = "Runs/000002_ProtImportParticles/extra/particles.mrcs"
SCIPION_MAP = "Runs/000003_ProtImportVolumes/extra/import_EMD-3197.map"


def dangle(path, target="../../raw/moved.mrcs"):
    """Replace the file at ``path`` by a link to ``target``, which is not there."""
    path.unlink()
    path.symlink_to(target)
    return target


@pytest.fixture
def scipion(tmp_path):
    shutil.copytree(shared_path("data", "formats", "scipion", "project"), tmp_path / "project")
    return tmp_path / "project"


def scipion_job(inputs: dict, shape: str = "circular") -> dict:
    mask = {"source": "geometry", "geometry": {"shape": shape, "radius": 20}}
    return {"version": 1, "name": "s", "inputs": inputs, "mask": mask, "fill": {"with": "avg"}}


def test_a_scipion_stack_that_is_a_broken_link_is_named_as_one_without_project_dir(scipion, capsys):
    target = dangle(scipion / SCIPION_STACK, "../../../../raw/particles.mrcs")
    job = write_job(scipion, scipion_job({"particles": "Runs/000002_ProtImportParticles/particles.sqlite"}))
    line = validate_refuses(job, capsys)  # the project folder is found from the set's _mapperPath
    assert line == (
        f"maskrun validate: error: {scipion}/Runs/000002_ProtImportParticles/particles.sqlite: _filename: items 1, "
        f"2, 3, … (10 in all): stack {scipion / SCIPION_STACK} is a broken link to {target} {FIX}"
    )


def test_a_scipion_stack_that_is_a_broken_link_is_named_as_one_out_of_its_project(scipion, capsys):
    target = dangle(scipion / SCIPION_STACK, "../../../../raw/particles.mrcs")
    with sqlite3.connect(scipion / "Runs/000002_ProtImportParticles/particles.sqlite") as connection:
        connection.execute("DELETE FROM Properties WHERE key = '_mapperPath'")  # nothing else places the set
    job = write_job(scipion, scipion_job({"particles": "Runs/000002_ProtImportParticles/particles.sqlite"}))
    line = validate_refuses(job, capsys)
    assert line == (
        f"maskrun validate: error: {scipion}/Runs/000002_ProtImportParticles/particles.sqlite: the first item's "
        f"_filename {scipion / SCIPION_STACK} is a broken link to {target} {FIX}"
    )


def test_a_scipion_stack_that_is_a_broken_link_is_named_as_one_with_project_dir(scipion, capsys):
    target = dangle(scipion / SCIPION_STACK)
    inputs = {"particles": "Runs/000002_ProtImportParticles/particles.sqlite", "project_dir": "."}
    line = validate_refuses(write_job(scipion, scipion_job(inputs)), capsys)
    named = f"_filename: items 1, 2, 3, … (10 in all): stack {scipion / SCIPION_STACK}"
    assert line.endswith(f"{named} is a broken link to {target} {FIX}")


def test_a_scipion_map_that_is_a_broken_link_is_named_as_one(scipion, capsys):
    target = dangle(scipion / SCIPION_MAP)
    inputs = {"volumes": "Runs/000003_ProtImportVolumes/volumes.sqlite", "project_dir": "."}
    line = validate_refuses(write_job(scipion, scipion_job(inputs, "sphere")), capsys)
    assert line.endswith(f"_filename: item 1: map {scipion / SCIPION_MAP} is a broken link to {target} {FIX}")


def test_a_relion_stack_that_is_a_broken_link_is_named_with_its_row(tmp_path, capsys):
    example_folder(tmp_path, particles=6, maps=0)
    target = dangle(tmp_path / "Extract" / "mic_001.mrcs")
    line = validate_refuses(write_job(tmp_path, job_with()), capsys)
    assert line.endswith(
        f"rlnImageName: row 1: stack {tmp_path / 'Extract' / 'mic_001.mrcs'} is a broken link to {target} {FIX}"
    )


def test_a_folder_on_the_way_that_is_a_broken_link_is_named(tmp_path, capsys):
    example_folder(tmp_path, particles=6, maps=0)
    shutil.rmtree(tmp_path / "Extract")
    (tmp_path / "Extract").symlink_to("/nowhere/Extract")
    line = validate_refuses(write_job(tmp_path, job_with()), capsys)
    assert line.endswith(
        f"row 1: stack {tmp_path / 'Extract' / 'mic_001.mrcs'} is in {tmp_path / 'Extract'}, a broken link to "
        f"/nowhere/Extract {FIX}"
    )


def test_a_cryosparc_stack_that_is_a_broken_link_is_named_as_one(tmp_path, capsys):
    for name in ("empiar_10076_7.cs", "empiar_10076_7.mrc"):
        shutil.copy(shared_path("data", "public", name), tmp_path / name)
    target = dangle(tmp_path / "empiar_10076_7.mrc")
    line = validate_refuses(write_job(tmp_path, job_with(inputs__particles="empiar_10076_7.cs")), capsys)
    assert line.endswith(f"blob/path: stack {tmp_path / 'empiar_10076_7.mrc'} is a broken link to {target} {FIX}")


def test_a_map_path_and_a_listed_map_that_are_broken_links_are_named_as_such(tmp_path, capsys):
    write_mrc(tmp_path / "a.mrc", np.zeros((8, 8, 8), dtype=np.float32))
    target = dangle(tmp_path / "a.mrc", "/gone/a.mrc")
    maps = {"inputs__particles": None, "mask__geometry": {"shape": "sphere", "radius": 3}}
    line = validate_refuses(write_job(tmp_path, job_with(inputs__volumes="a.mrc", **maps)), capsys)
    assert line.endswith(f"inputs.volumes: map {tmp_path / 'a.mrc'} is a broken link to {target} {FIX}")
    (tmp_path / "maps.star").write_text("data_\nloop_\n_rlnImageName\na.mrc\n")
    line = validate_refuses(write_job(tmp_path, job_with(inputs__volumes="maps.star", **maps)), capsys)
    assert line.endswith(f"rlnImageName: row 1: map {tmp_path / 'a.mrc'} is a broken link to {target} {FIX}")


def test_an_image_read_through_a_broken_link_says_so_and_a_missing_one_does_not(tmp_path, capsys):
    (tmp_path / "like.mrc").symlink_to("moved/like.mrc")
    argv = ["make-mask", str(tmp_path / "m.mrc"), "--shape", "sphere", "--radius", "5", "--like"]
    assert main([*argv, str(tmp_path / "like.mrc")]) == 2
    assert capsys.readouterr().err.strip().endswith(f"like.mrc: is a broken link to moved/like.mrc {FIX}")
    assert main([*argv, str(tmp_path / "absent.mrc")]) == 2
    assert capsys.readouterr().err.strip().endswith("absent.mrc: file not found; check the path")
    assert not (tmp_path / "m.mrc").exists()


def linked_folder(folder):
    """A map, a .cs set, and links to files that are gone: a map, a model, a STAR and a .cs."""
    write_mrc(folder / "a.mrc", np.zeros((8, 8, 8), dtype=np.float32))
    for name in ("empiar_10076_7.cs", "empiar_10076_7.mrc"):
        shutil.copy(shared_path("data", "public", name), folder / name)
    for name in ("link.mrc", "link.pdb", "link.star", "link.cs"):
        (folder / name).symlink_to(f"/gone/{name}")


MAPS = {"volumes": "a.mrc"}
SPHERE = {"source": "geometry", "geometry": {"shape": "sphere", "radius": 3}}
JOB_LINKS = {  # inputs, mask, check; the link, and the field it is named with
    "half-map": (MAPS, SPHERE, {"half1": "link.mrc", "half2": "a.mrc"}, "link.mrc", "check.half1"),
    "map source": (
        MAPS,
        {"source": "map", "map": {"file": "link.mrc", "threshold": 0.5}},
        None,
        "link.mrc",
        "mask.map.file",
    ),
    "map term": (
        MAPS,
        {"source": "expression", "expression": {"any_of": [{"map": {"file": "link.mrc", "threshold": 0.5}}]}},
        None,
        "link.mrc",
        "mask.expression.any_of.0.map.file",
    ),
    "model term": (
        MAPS,
        {"source": "expression", "expression": {"any_of": [{"model": {"file": "link.pdb", "radius": 3}}]}},
        None,
        "link.pdb",
        "mask.expression.any_of.0.model.file",
    ),
    "particles": ({"particles": "link.star"}, scipion_job({})["mask"], None, "link.star", "inputs.particles"),
    "passthrough": (
        {"particles": "empiar_10076_7.cs", "passthrough": "link.cs"},
        scipion_job({})["mask"],
        None,
        "link.cs",
        "inputs.passthrough",
    ),
}


@pytest.mark.parametrize("inputs,mask,check,link,field", JOB_LINKS.values(), ids=JOB_LINKS.keys())
def test_a_job_names_each_file_that_is_a_broken_link_as_one_with_its_field(
    tmp_path, capsys, inputs, mask, check, link, field
):
    linked_folder(tmp_path)
    job = {"version": 1, "name": "l", "inputs": inputs, "mask": mask, **({"check": check} if check else {})}
    line = validate_refuses(write_job(tmp_path, job), capsys)
    assert line == f"maskrun validate: error: {tmp_path / link}: {field}: is a broken link to /gone/{link} {FIX}"


COMMAND_LINKS = {  # the command's arguments (the link last named); the option it is named with
    "check-mask": (["check-mask", "--half1", "link.mrc", "--half2", "a.mrc", "--mask", "a.mrc"], "--half1"),
    "from-model": (
        ["make-mask", "m.mrc", "--from-model", "link.pdb", "--radius", "3", "--like", "a.mrc"],
        "--from-model",
    ),
    "from-map": (["make-mask", "m.mrc", "--from-map", "link.mrc", "--threshold", "0.5"], "--from-map"),
    "second map": (["make-mask", "m.mrc", "--from-map", "a.mrc", "--threshold", "0.5", "--and", "link.mrc"], "--and"),
    "passthrough": (
        ["project-mask", "a.mrc", "empiar_10076_7.cs", "m.mrcs", "--passthrough", "link.cs"],
        "--passthrough",
    ),
}


@pytest.mark.parametrize("argv,option", COMMAND_LINKS.values(), ids=COMMAND_LINKS.keys())
def test_a_command_names_each_file_that_is_a_broken_link_as_one_with_its_option(
    tmp_path, monkeypatch, capsys, argv, option
):
    linked_folder(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    name = argv[argv.index(option) + 1]
    assert capsys.readouterr().err.strip().endswith(f"error: {name}: {option}: is a broken link to /gone/{name} {FIX}")
    assert not (tmp_path / "m.mrc").exists() and not (tmp_path / "m.mrcs").exists()


def test_broken_link_stops_at_the_first_folder_that_is_there(tmp_path):
    (tmp_path / "gone").symlink_to("nowhere")
    (tmp_path / "real").mkdir()
    (tmp_path / "working").symlink_to("real")
    assert broken_link(tmp_path / "gone" / "a" / "b.mrc") == (tmp_path / "gone", "nowhere")
    assert broken_link(tmp_path / "gone") == (tmp_path / "gone", "nowhere")
    assert broken_link(tmp_path / "working" / "b.mrc") is None  # a working link: the file is simply absent
    assert broken_link(tmp_path / "real" / "b.mrc") is None
    assert broken_link(tmp_path / ("x" * (os.pathconf(tmp_path, "PC_NAME_MAX") + 1))) is None


def test_a_stack_that_is_a_broken_link_is_named_before_an_earlier_stacks_other_fault(tmp_path):
    """The links are looked for once a header fails to read, not at every stack beforehand (a stat each, for a plan of
    thousands): a later stack's broken link is still what is said, not the earlier stack's truncation."""
    from maskrun.errors import UserError
    from maskrun.formats.particle_set import checked_stacks

    first = write_mrc(tmp_path / "a.mrcs", np.zeros((2, 8, 8), dtype=np.float32))
    first.write_bytes(first.read_bytes()[:-100])
    (tmp_path / "b.mrcs").symlink_to("/gone/b.mrcs")
    stacks, rows = [first, tmp_path / "b.mrcs"], np.array([0, 0, 1])
    with pytest.raises(UserError) as refused:
        checked_stacks(stacks, rows, np.array([0, 1, 0]), ["1@a.mrcs", "2@a.mrcs", "1@b.mrcs"], tmp_path, "f")
    assert str(refused.value).endswith(f"row 3: stack {tmp_path / 'b.mrcs'} is a broken link to /gone/b.mrcs {FIX}")
    (tmp_path / "b.mrcs").unlink()  # simply missing: the first stack's fault is said
    with pytest.raises(UserError, match="truncated: the header promises 2 x 8 x 8"):
        checked_stacks(stacks, rows, np.array([0, 1, 0]), ["1@a.mrcs", "2@a.mrcs", "1@b.mrcs"], tmp_path, "f")
