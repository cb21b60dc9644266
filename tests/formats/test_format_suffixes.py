"""Xmipp's format suffix on a file name (``vol32.mrc:mrc``, ``000001@parts.mrc:mrcs``), as Scipion keeps it in its sets
(pwem's ``fixXmippVolumeFileName``, the RELION plugin's ``fn += ':mrc'``): read as the file it names, taken as the
kind of file it says, and written back on what the masked set names where the input had one (but for a stack in a
Scipion set, which Scipion names without one)."""

from __future__ import annotations

import shutil
import sqlite3

import mrcfile
import numpy as np
import pytest

from maskrun.cli.main import main
from maskrun.formats import references
from maskrun.formats.references import formats_as_given, split_format
from maskrun.jobs.input_checksums import image_files
from maskrun.jobs.plan import plan_job
from maskrun.jobs.runner import run_job

from conftest import shared_path, write_mrc
from job_files import validate_refuses, write_job

PARTICLES = "Runs/000002_ProtImportParticles/particles.sqlite"
VOLUMES = "Runs/000003_ProtImportVolumes/volumes.sqlite"
DISC = np.hypot(*np.mgrid[-8:8, -8:8]) <= 5


def job(inputs: dict, shape: str = "circular", radius: int = 5) -> dict:
    mask = {"source": "geometry", "geometry": {"shape": shape, "radius": radius}}
    fill = {"with": "value", "value": 0}
    return {"version": 1, "name": "s", "inputs": inputs, "mask": mask, "fill": fill, "batch_size": 4}


@pytest.mark.parametrize(
    ("text", "split"),
    [
        ("Runs/000003_X/extra/vol32.mrc:mrc", ("Runs/000003_X/extra/vol32.mrc", "mrc")),
        ("parts.mrc:MRCS", ("parts.mrc", "mrcs")),
        ("parts.stk:spi", ("parts.stk", "spi")),
        ("parts.mrcs", ("parts.mrcs", "")),
        ("run:1/parts.mrcs", ("run:1/parts.mrcs", "")),  # a colon in a folder's name is no format
        ("notes:draft", ("notes:draft", "")),  # nor one before a word that names no format
        (":mrc", (":mrc", "")),
    ],
)
def test_a_format_suffix_is_split_off_only_when_it_names_an_xmipp_format(text, split):
    assert split_format(text) == split


GIVEN = ["3@p.mrc:mrcs", "4@q.mrcs", "run:1/v.mrc", "v.mrc:MRC", ":mrc", "notes:draft", "é.mrc:spi", "a::mrcs", "b:x:"]


@pytest.mark.parametrize("as_bytes", [False, True])
def test_format_suffixes_are_put_back_by_split_formats_rule_for_all_rows_at_once(as_bytes, monkeypatch):
    """A masked set of a million rows is written with its input's suffixes in a fraction of a second (the review:
    1.07 s in Python per row, of a 1.39 s write): one vectorised pass, by the rule `split_format` reads them with."""
    given = GIVEN * 1000
    names = [f"{i + 1}@stacks/b.mrcs" for i in range(len(given))]
    expected = [f"{name}:mrcs" if split_format(text)[1] else name for name, text in zip(names, given)]
    assert expected[:9] == [f"{i}@stacks/b.mrcs" + (":mrcs" if i in (1, 4, 7, 8) else "") for i in range(1, 10)]
    monkeypatch.setattr(references, "split_format", None)  # not called per reference
    assert formats_as_given(names, [t.encode() for t in given] if as_bytes else given, "mrcs") == expected


@pytest.fixture
def project(tmp_path):
    shutil.copytree(shared_path("data", "formats", "scipion", "project"), tmp_path / "project")
    return tmp_path / "project"


def set_filenames(path, sql_value: str, where: str = "1") -> None:
    """Rewrite ``_filename`` of a Scipion set's items (``sql_value`` an SQL expression of the column ``f``)."""
    with sqlite3.connect(path) as connection:
        column = dict(connection.execute("SELECT label_property, column_name FROM Classes"))["_filename"]
        value = sql_value.replace("f", f'"{column}"')
        connection.execute(f'UPDATE Objects SET "{column}" = {value} WHERE {where}')


def filenames(path) -> dict[int, str]:
    with sqlite3.connect(path) as connection:
        column = dict(connection.execute("SELECT label_property, column_name FROM Classes"))["_filename"]
        return dict(connection.execute(f'SELECT id, "{column}" FROM Objects ORDER BY id'))


def found_as_pwem_finds_it(set_file, name: str):
    """The folder pwem's import finds a set's stacks from (pyworkflow's ``findRootFrom``): the nearest, from the set
    file's upwards, in which its first item's ``_filename``, as written, is a file; None when none is."""
    return next((folder for folder in set_file.parents if (folder / name).exists()), None)


def test_a_particles_sqlite_with_format_suffixes_is_masked_and_written_without_them(project):
    """pwem's import (Import from scipion) looks for a file named as ``_filename`` is written: with ``:mrcs`` it found
    none, logged "Binary data was not found from sqlite" and linked no stack. Scipion stores a stack's plain name
    (it adds ``:mrcs`` only on the way to Xmipp), and maskrun's ``.mrcs`` says a stack to every reader."""
    set_filenames(project / PARTICLES, "f || ':mrcs'", "id <= 6")  # as pwem writes a stack for Xmipp
    out = run_job(write_job(project, job({"particles": PARTICLES}, radius=20))).output_dir
    written = filenames(out / "particles.sqlite")
    assert written == {i: f"results/s/stacks/batch_0000{(i + 3) // 4}.mrcs" for i in range(1, 11)}
    assert found_as_pwem_finds_it(out / "particles.sqlite", written[1]) == project
    original = mrcfile.read(project / "Runs/000002_ProtImportParticles/extra/particles.mrcs")
    with sqlite3.connect(out / "particles.sqlite") as connection:
        index = dict(connection.execute("SELECT label_property, column_name FROM Classes"))["_index"]
        indices = dict(connection.execute(f'SELECT id, "{index}" FROM Objects'))
    for item, name in written.items():
        stack = mrcfile.read(project / name)  # from the project folder, as Scipion reads it
        np.testing.assert_array_equal(
            stack[indices[item] - 1][24:40, 24:40][DISC], original[item - 1][24:40, 24:40][DISC]
        )


def test_a_particles_sqlite_written_outside_its_project_names_its_stacks_without_their_suffixes(project, tmp_path):
    set_filenames(project / PARTICLES, "f || ':mrcs'")
    (tmp_path / "jobs").mkdir()
    out = run_job(write_job(tmp_path / "jobs", job({"particles": f"../project/{PARTICLES}"}, radius=20))).output_dir
    written = filenames(out / "particles.sqlite")
    assert set(written.values()) == {f"{out}/stacks/batch_0000{n}.mrcs" for n in (1, 2, 3)}
    assert found_as_pwem_finds_it(out / "particles.sqlite", written[1]) == out


def test_a_volumes_sqlite_with_format_suffixes_is_masked_and_written_with_them(project):
    set_filenames(project / VOLUMES, "f || ':mrc'")  # as pwem's fixXmippVolumeFileName writes a volume
    out = run_job(write_job(project, job({"volumes": VOLUMES}, "sphere", 6))).output_dir
    written = filenames(out / "volumes.sqlite")
    assert written == {1: "results/s/volumes/import_EMD-3197.mrc:mrc", 2: "results/s/volumes/import_phantom_20.mrc:mrc"}
    assert all((project / split_format(name)[0]).is_file() for name in written.values())


def xmd_project(folder):
    """An Xmipp particle .xmd naming an MRC stack saved as .mrc, marked a stack (``:mrcs``) in its first two rows."""
    folder.mkdir(exist_ok=True)
    write_mrc(folder / "parts.mrc", np.arange(3 * 16 * 16, dtype=np.float32).reshape(3, 16, 16), stack=False)
    rows = "000001@parts.mrc:mrcs\n000002@parts.mrc:mrcs\n000003@parts.mrc\n"
    (folder / "particles.xmd").write_text(f"# XMIPP_STAR_1 *\n#\ndata_noname\nloop_\n_image\n{rows}")
    return folder


def test_an_xmd_with_format_suffixes_is_masked_and_written_with_them(tmp_path):
    out = run_job(write_job(xmd_project(tmp_path), job({"particles": "particles.xmd"}))).output_dir
    rows = (out / "particles.xmd").read_text().split("_image\n")[1].split()
    assert rows == [
        "000001@results/s/stacks/batch_00001.mrcs:mrcs",
        "000002@results/s/stacks/batch_00001.mrcs:mrcs",
        "000003@results/s/stacks/batch_00001.mrcs",
    ]
    masked = mrcfile.read(out / "stacks" / "batch_00001.mrcs")
    np.testing.assert_array_equal(masked[1][DISC], mrcfile.read(tmp_path / "parts.mrc")[1][DISC])


def test_an_xmd_written_outside_its_project_keeps_the_suffixes_of_the_paths_it_makes_absolute(tmp_path):
    project = xmd_project(tmp_path / "project")
    lines = (project / "particles.xmd").read_text().replace("_image\n", "_image\n_imageOriginal\n").splitlines()
    rows = [f"{line} 000001@parts.mrc:mrcs" if "@" in line else line for line in lines]
    (project / "particles.xmd").write_text("\n".join(rows) + "\n")
    (tmp_path / "jobs").mkdir()
    out = run_job(write_job(tmp_path / "jobs", job({"particles": "../project/particles.xmd"}))).output_dir
    first = (out / "particles.xmd").read_text().split("_imageOriginal\n")[1].split()[:2]
    assert first == [f"000001@{out}/stacks/batch_00001.mrcs:mrcs", f"000001@{project}/parts.mrc:mrcs"]


def test_one_stack_named_with_and_without_its_suffix_is_one_stack(tmp_path, capsys):
    """The review's case: rows 1-2 ``parts.mrc:mrcs``, row 3 ``parts.mrc`` (and here row 4 ``./parts.mrc``) were two
    stacks of one file: validate said "2 stacks", and the input checksums hashed the file twice."""
    folder = xmd_project(tmp_path)
    text = (folder / "particles.xmd").read_text()
    (folder / "particles.xmd").write_text(text.replace("000003@parts.mrc\n", "000003@parts.mrc\n000001@./parts.mrc\n"))
    job_file = write_job(folder, job({"particles": "particles.xmd"}))
    plan = plan_job(job_file)
    assert image_files(plan) == [folder / "parts.mrc"]
    assert plan.particles.stack_of_row.tolist() == [0, 0, 0, 0]
    assert plan.particles.image_index.tolist() == [0, 1, 2, 0]
    assert main(["validate", str(job_file)]) == 0
    assert "4 particles (Xmipp XMD, 1 stack)," in capsys.readouterr().out


def test_a_volumes_xmd_with_format_suffixes_is_masked_and_written_with_them(tmp_path):
    write_mrc(tmp_path / "vol32.mrc", np.ones((12, 12, 12)))
    (tmp_path / "volumes.xmd").write_text("# XMIPP_STAR_1 *\n#\ndata_noname\nloop_\n_image\nvol32.mrc:mrc\n")
    out = run_job(write_job(tmp_path, job({"volumes": "volumes.xmd"}, "sphere", 4))).output_dir
    # named from the folder the listing's own paths start in, as particles.xmd names its stacks
    assert (out / "volumes.xmd").read_text().split("_image\n")[1].split() == ["results/s/volumes/vol32.mrc:mrc"]
    assert mrcfile.read(out / "volumes" / "vol32.mrc").shape == (12, 12, 12)


def test_particles_marked_as_a_map_are_refused_as_xmipp_refuses_them(project, tmp_path, capsys):
    set_filenames(project / PARTICLES, "f || ':mrc'", "id = 3")
    line = validate_refuses(write_job(project, job({"particles": PARTICLES})), capsys)
    assert line.endswith(
        "particles.sqlite: _filename: item 3: '3@Runs/000002_ProtImportParticles/extra/particles.mrcs:mrc' marks "
        "particles.mrcs as a map (:mrc), not a stack of particle images; if it holds the particles, mark it :mrcs "
        "(a stack) instead"
    )
    xmd = xmd_project(tmp_path / "xmd")
    (xmd / "particles.xmd").write_text(
        (xmd / "particles.xmd").read_text().replace("000003@parts.mrc", "3@parts.mrc:mrc")
    )
    line = validate_refuses(write_job(xmd, job({"particles": "particles.xmd"})), capsys)
    assert line.endswith(
        "particles.xmd: image: row 3: '3@parts.mrc:mrc' marks parts.mrc as a map (:mrc), not a stack of "
        "particle images; if it holds the particles, mark it :mrcs (a stack) instead"
    )


def test_maps_marked_as_a_stack_are_refused(project, tmp_path, capsys):
    set_filenames(project / VOLUMES, "f || ':mrcs'", "id = 2")
    line = validate_refuses(write_job(project, job({"volumes": VOLUMES}, "sphere")), capsys)
    assert line.endswith(
        "volumes.sqlite: _filename: item 2: 'Runs/000003_ProtImportVolumes/extra/import_phantom_20.mrc:mrcs' is marked "
        "as a stack of images (:mrcs), not a map; list maps only (a stack is masked as particles), or mark it :mrc if "
        "it is a map"
    )
    write_mrc(tmp_path / "vol32.mrc", np.ones((12, 12, 12)))
    (tmp_path / "volumes.xmd").write_text("# XMIPP_STAR_1 *\n#\ndata_noname\nloop_\n_image\nvol32.mrc:mrcs\n")
    line = validate_refuses(write_job(tmp_path, job({"volumes": "volumes.xmd"}, "sphere")), capsys)
    assert "volumes.xmd: image: row 1: 'vol32.mrc:mrcs' is marked as a stack of images (:mrcs), not a map" in line
