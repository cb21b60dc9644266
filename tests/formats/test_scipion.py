"""Scipion sets (particles.sqlite, volumes.sqlite): read through Classes, written back as a copy."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import mrcfile
import numpy as np
import pytest

from maskrun.cli.main import main
from maskrun.jobs.runner import run_job

from conftest import shared_path
from job_files import validate_refuses, write_job

PARTICLES = "Runs/000002_ProtImportParticles/particles.sqlite"
VOLUMES = "Runs/000003_ProtImportVolumes/volumes.sqlite"


@pytest.fixture
def project(tmp_path):
    shutil.copytree(shared_path("data", "formats", "scipion", "project"), tmp_path / "project")
    return tmp_path / "project"


def table(path, query):
    with sqlite3.connect(path) as connection:
        return connection.execute(query).fetchall()


def columns_of(path):
    return dict(table(path, "SELECT label_property, column_name FROM Classes"))


def everything(path):
    return {name: table(path, f"SELECT * FROM {name} ORDER BY 1") for name in ("Properties", "Classes", "Objects")}


def job(inputs: dict, shape: dict) -> dict:
    return {
        "version": 1,
        "name": "s",
        "inputs": inputs,
        "mask": {"source": "geometry", "geometry": shape},
        "fill": {"with": "avg"},
        "batch_size": 4,
    }


def test_particles_sqlite_runs_and_only_filename_and_index_change(project):
    source = project / PARTICLES
    out = run_job(write_job(project, job({"particles": PARTICLES}, {"shape": "circular", "radius": 20}))).output_dir
    written = out / "particles.sqlite"
    cols = columns_of(source)
    file_col, index_col = cols["_filename"], cols["_index"]
    before, after = everything(source), everything(written)
    assert after["Classes"] == before["Classes"]
    assert {k: v for k, v in after["Properties"] if k != "_mapperPath"} == {
        k: v for k, v in before["Properties"] if k != "_mapperPath"
    }
    names = [r[1] for r in table(source, "PRAGMA table_info(Objects)")]
    changed = {names.index(file_col), names.index(index_col)}
    for old, new in zip(before["Objects"], after["Objects"], strict=True):
        assert [v for i, v in enumerate(old) if i not in changed] == [v for i, v in enumerate(new) if i not in changed]
    # every rewritten location opens to the masked image, from the project folder as Scipion (run there) reads it
    stack = mrcfile.read(project / "Runs/000002_ProtImportParticles/extra/particles.mrcs")
    disc = np.hypot(*np.mgrid[-32:32, -32:32]) <= 20
    for item_id, filename, index in table(written, f'SELECT id, "{file_col}", "{index_col}" FROM Objects'):
        assert filename.startswith("results/s/stacks/batch_")
        data = mrcfile.read(project / filename)
        image = data.reshape(-1, 64, 64)[index - 1]
        original = stack[item_id - 1]
        np.testing.assert_array_equal(image[disc], original[disc])
        assert image[0, 0] == pytest.approx(original.mean(), abs=1e-5)


def mapper_path(path):
    return table(path, "SELECT value FROM Properties WHERE key = '_mapperPath'")


def test_a_written_set_names_its_own_file_as_scipion_does_not_the_input(project, tmp_path):
    # Scipion writes "<set file from the project folder>, " and, after loadAllProperties, reopens the set from there
    assert mapper_path(project / PARTICLES) == [(f"{PARTICLES}, ",)]
    out = run_job(write_job(project, job({"particles": PARTICLES}, {"shape": "circular", "radius": 20}))).output_dir
    assert mapper_path(out / "particles.sqlite") == [("results/s/particles.sqlite, ",)]
    volumes = job({"volumes": VOLUMES.removeprefix("Runs/")}, {"shape": "sphere", "radius": 6})
    out = run_job(write_job(project / "Runs", volumes)).output_dir
    assert mapper_path(out / "volumes.sqlite") == [("Runs/results/s/volumes.sqlite, ",)]
    elsewhere = tmp_path / "jobs"
    elsewhere.mkdir()
    inputs = {"particles": str(project / PARTICLES), "project_dir": str(project)}
    out = run_job(write_job(elsewhere, job(inputs, {"shape": "circular", "radius": 20}))).output_dir
    assert mapper_path(out / "particles.sqlite") == [(f"{out / 'particles.sqlite'}, ",)]  # outside: absolute


def test_a_mapper_path_whose_file_name_holds_a_comma_keeps_its_prefix(project):
    with sqlite3.connect(project / PARTICLES) as connection:
        value = "Runs/000123_Protocol,copy/particles.sqlite, Class001_"
        connection.execute("UPDATE Properties SET value = ? WHERE key = '_mapperPath'", (value,))
    out = run_job(write_job(project, job({"particles": PARTICLES}, {"shape": "circular", "radius": 20}))).output_dir
    assert mapper_path(out / "particles.sqlite") == [("results/s/particles.sqlite, Class001_",)]


def test_a_set_without_mapper_path_gets_one(project):
    with sqlite3.connect(project / PARTICLES) as connection:
        connection.execute("DELETE FROM Properties WHERE key = '_mapperPath'")
    out = run_job(write_job(project, job({"particles": PARTICLES}, {"shape": "circular", "radius": 20}))).output_dir
    assert mapper_path(out / "particles.sqlite") == [("results/s/particles.sqlite, ",)]


def test_disabled_items_are_left_out_as_scipion_leaves_them_out(project):
    source = project / PARTICLES
    with sqlite3.connect(source) as connection:
        connection.execute("UPDATE Objects SET enabled = 0 WHERE id IN (2, 5)")
    out = run_job(write_job(project, job({"particles": PARTICLES}, {"shape": "circular", "radius": 20}))).output_dir
    file_col = columns_of(source)["_filename"]
    rows = dict(table(out / "particles.sqlite", f'SELECT id, "{file_col}" FROM Objects'))
    assert sorted(rows) == [1, 3, 4, 6, 7, 8, 9, 10]  # the masked items, ids kept; no unmasked one among them
    assert all(f.startswith("results/s/stacks/") and (project / f).is_file() for f in rows.values())
    assert dict(table(out / "particles.sqlite", "SELECT key, value FROM Properties"))["_size"] == "8"
    assert mrcfile.read(out / "stacks" / "batch_00002.mrcs").shape[0] == 4
    assert len(table(source, "SELECT id FROM Objects")) == 10  # the input as it was


@pytest.mark.parametrize(("disabled", "words"), [((2,), "1 disabled item is"), ((2, 5), "2 disabled items are")])
def test_the_note_counts_the_disabled_items(project, capsys, disabled, words):
    with sqlite3.connect(project / PARTICLES) as connection:
        connection.execute(f"UPDATE Objects SET enabled = 0 WHERE id IN ({', '.join(map(str, disabled))})")
    assert main(["validate", str(write_job(project, job({"particles": PARTICLES}, {"shape": "circular"})))]) == 0
    assert f"  note: {words} left out (enabled = 0), as Scipion does" in capsys.readouterr().out.splitlines()


def test_a_volume_sets_disabled_items_are_told_as_its_particles_are(project, capsys):
    """A volumes.sqlite's disabled items were left out without a word, where a particles.sqlite's are noted."""
    with sqlite3.connect(project / VOLUMES) as connection:
        connection.execute("UPDATE Objects SET enabled = 0 WHERE id = 1")
    assert main(["validate", str(write_job(project, job({"volumes": VOLUMES}, {"shape": "sphere"})))]) == 0
    assert "  note: 1 disabled item is left out (enabled = 0), as Scipion does" in capsys.readouterr().out.splitlines()


def test_volumes_masked_outside_the_project_are_named_by_absolute_paths(project, tmp_path):
    source = project / VOLUMES
    with sqlite3.connect(source) as connection:
        connection.execute("UPDATE Objects SET enabled = 0 WHERE id = 1")
    elsewhere = tmp_path / "jobs"
    elsewhere.mkdir()
    inputs = {"volumes": str(source), "project_dir": str(project)}
    out = run_job(write_job(elsewhere, job(inputs, {"shape": "sphere", "radius": 6}))).output_dir
    cols = columns_of(source)
    rows = table(out / "volumes.sqlite", f'SELECT id, "{cols["_filename"]}" FROM Objects ORDER BY id')
    assert rows == [(2, str(out / "volumes" / "import_phantom_20.mrc"))] and Path(rows[0][1]).is_file()


def refused(folder, inputs, capsys) -> str:
    """``maskrun validate``: exit 2, one line, and the folder holds the same files with the same bytes."""
    return validate_refuses(write_job(folder, job(inputs, {"shape": "circular", "radius": 20})), capsys)


@pytest.mark.parametrize(
    ("column", "value", "words"),
    [
        ("_index", -3, "_index: item 4: -3 is negative; images are numbered from 1"),
        ("_index", "'two'", "_index: item 4: 'two' is not a whole number"),
        ("enabled", "'yes'", "enabled: item 4: 'yes' is not a whole number"),
    ],
)
def test_a_negative_or_text_index_or_enabled_exits_2(project, capsys, column, value, words):
    source = project / PARTICLES
    name = columns_of(source)[column] if column.startswith("_") else column
    with sqlite3.connect(source) as connection:
        connection.execute(f'UPDATE Objects SET "{name}" = {value} WHERE id = 4')
    assert f"particles.sqlite: {words}" in refused(project, {"particles": PARTICLES}, capsys)


def test_a_set_locked_by_a_writer_says_so(project, capsys):
    writer = sqlite3.connect(project / PARTICLES, isolation_level=None)
    writer.execute("BEGIN EXCLUSIVE")
    try:
        line = refused(project, {"particles": PARTICLES}, capsys)
    finally:
        writer.rollback()
        writer.close()
    assert line.endswith("the set is locked by another program (Scipion still writing?); wait and retry")


@pytest.mark.parametrize("folder", ["a#b", "a?b", "100%", "x%3Fy #1"])
def test_sets_in_folders_named_with_uri_characters_open_and_leave_no_file(tmp_path, folder):
    project = tmp_path / folder / "project"
    shutil.copytree(shared_path("data", "formats", "scipion", "project"), project)
    job_file = write_job(project, job({"particles": PARTICLES}, {"shape": "circular", "radius": 20}))
    before = sorted(tmp_path.rglob("*"))
    assert main(["validate", str(job_file)]) == 0
    assert sorted(tmp_path.rglob("*")) == before
    out = run_job(job_file).output_dir
    rows = table(out / "particles.sqlite", f'SELECT "{columns_of(project / PARTICLES)["_filename"]}" FROM Objects')
    assert all((project / f).is_file() for (f,) in rows)


def test_a_set_in_wal_mode_is_read_without_leaving_files_beside_it(project):
    """Read-only, SQLite made particles.sqlite-shm and an empty -wal beside a WAL-mode set (a look found them)."""
    with sqlite3.connect(project / PARTICLES) as connection:
        assert connection.execute("PRAGMA journal_mode=WAL").fetchone() == ("wal",)
    connection.close()
    folder = (project / PARTICLES).parent
    before = sorted(folder.iterdir())
    assert not any(p.name.endswith(("-wal", "-shm")) for p in before)
    job_file = write_job(project, job({"particles": PARTICLES}, {"shape": "circular", "radius": 20}))
    assert main(["validate", str(job_file)]) == 0
    out = run_job(job_file).output_dir
    assert sorted(folder.iterdir()) == before
    assert len(table(out / "particles.sqlite", "SELECT id FROM Objects")) == len(
        table(project / PARTICLES, "SELECT id FROM Objects WHERE enabled = 1")
    )


def test_volumes_sqlite_runs_end_to_end(project):
    out = run_job(write_job(project, job({"volumes": VOLUMES}, {"shape": "sphere", "radius": 6}))).output_dir
    cols = columns_of(project / VOLUMES)
    rows = table(out / "volumes.sqlite", f'SELECT "{cols["_filename"]}", "{cols["_index"]}" FROM Objects ORDER BY id')
    assert rows == [("results/s/volumes/import_EMD-3197.mrc", 0), ("results/s/volumes/import_phantom_20.mrc", 0)]
    for filename, _ in rows:
        with mrcfile.open(project / filename) as masked:
            assert masked.data.shape == (20, 20, 20) and masked.voxel_size.x == pytest.approx(11.4)


def test_the_run_record_names_every_file_format(project):
    import json

    out = run_job(write_job(project, job({"particles": PARTICLES}, {"shape": "circular", "radius": 20}))).output_dir
    record = json.loads((out / "provenance" / "run.json").read_text())
    assert {e["format"] for e in record["inputs"]} == {"yaml", "sqlite", "mrc"}
    assert {e["path"]: e["format"] for e in record["outputs"]}["particles.sqlite"] == "sqlite"
    assert all(e["format"] == "mrc" for e in record["outputs"] if e["path"].endswith((".mrcs", ".mrc")))


STACK = "Runs/000002_ProtImportParticles/extra/particles.mrcs"


def point(path, sql_value: str, where: str) -> None:
    """Set ``_filename`` of a set's items ``where`` to ``sql_value`` (SQL)."""
    with sqlite3.connect(path) as connection:
        connection.execute(f'UPDATE Objects SET "{columns_of(path)["_filename"]}" = {sql_value} WHERE {where}')


def test_items_whose_stack_is_gone_from_an_intact_project_are_named_with_the_fix(project, capsys):
    point(project / PARTICLES, f"'{STACK.replace('particles.mrcs', 'particles2.mrcs')}'", "id > 6")
    line = refused(project, {"particles": PARTICLES}, capsys)
    assert line == (
        f"maskrun validate: error: {project / PARTICLES}: _filename: items 7, 8, 9 and 10: stack "
        f"'Runs/000002_ProtImportParticles/extra/particles2.mrcs' not found in the project folder {project}, which "
        "holds the set's other stacks; restore it, or remove those items from the set"
    )


def test_a_stack_deleted_from_the_project_is_named_so_not_as_a_project_folder_to_give(project, capsys):
    (project / STACK).unlink()
    line = refused(project, {"particles": PARTICLES}, capsys)  # the set's _mapperPath places it in the project
    assert line.endswith(
        f"particles.sqlite: _filename: items 1, 2, 3, … (10 in all): stack '{STACK}' not found in the project folder "
        f"{project}, where the set's _mapperPath places the set; restore it, or remove those items from the set"
    )


def test_stacks_of_several_files_gone_are_counted(project, capsys):
    point(project / PARTICLES, "'Runs/gone/a.mrcs'", "id IN (2, 5)")
    point(project / PARTICLES, "'Runs/gone/b.mrcs'", "id = 9")
    line = refused(project, {"particles": PARTICLES}, capsys)
    assert line.endswith(
        f"_filename: items 2 and 5: stack 'Runs/gone/a.mrcs' not found in the project folder {project}, which holds "
        "the set's other stacks; 1 other stack of the set is missing too (3 items in all); restore it, or remove those "
        "items from the set"
    )


def test_an_absolute_path_that_is_gone_says_the_data_moved(project, capsys):
    point(project / PARTICLES, "'/data/old_disk/' || c02", "1")
    line = refused(project, {"particles": PARTICLES}, capsys)
    assert line.endswith(
        f"_filename: items 1, 2, 3, … (10 in all): stack '/data/old_disk/{STACK}' not found: an absolute path, so the "
        "data moved or their disk is not mounted; move the data back or mount their disk, or point those items at "
        "where the data are now"
    )


def test_a_project_dir_that_holds_none_of_the_stacks_is_questioned(project, tmp_path, capsys):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    line = refused(project, {"particles": PARTICLES, "project_dir": str(elsewhere)}, capsys)
    assert line.endswith(
        f"_filename: items 1, 2, 3, … (10 in all): stack '{STACK}' not found in the project folder {elsewhere} "
        "(inputs.project_dir); is inputs.project_dir the Scipion project folder (the one holding Runs/)? else "
        "restore the stacks"
    )


@pytest.mark.parametrize("value", ["NULL", "''"])
def test_an_item_without_a_file_name_is_named(project, capsys, value):
    point(project / PARTICLES, value, "id IN (4, 6)")
    line = refused(project, {"particles": PARTICLES}, capsys)
    assert line.endswith(
        "particles.sqlite: _filename: items 4 and 6 name no file (their _filename is NULL or empty); remove them from "
        "the set, or disable them (enabled = 0)"
    )


def test_a_map_gone_from_a_volumes_sqlite_is_named_by_its_item(project, capsys):
    (project / "Runs/000003_ProtImportVolumes/extra/import_phantom_20.mrc").unlink()
    line = validate_refuses(write_job(project, job({"volumes": VOLUMES}, {"shape": "sphere", "radius": 6})), capsys)
    assert line.endswith(
        "volumes.sqlite: _filename: item 2: map 'Runs/000003_ProtImportVolumes/extra/import_phantom_20.mrc' not found "
        f"in the project folder {project}, which holds the set's other maps; restore it, or remove that item from the "
        "set"
    )


def test_an_index_beyond_its_stack_names_the_item_by_its_id_not_its_place_among_enabled_items(project, capsys):
    source = project / PARTICLES
    with sqlite3.connect(source) as connection:
        connection.execute("UPDATE Objects SET enabled = 0 WHERE id IN (2, 3)")
        connection.execute(f'UPDATE Objects SET "{columns_of(source)["_index"]}" = 99 WHERE id IN (7, 9)')
    line = refused(project, {"particles": PARTICLES}, capsys)
    assert line.endswith(
        f"particles.sqlite: _index: item 7: '99@{project / STACK}' is beyond the end of particles.mrcs, which holds 10 "
        "images (2 items in all); fix the index or the stack"
    )


def test_a_pose_that_is_not_a_number_names_the_item_by_its_id(project):
    from maskrun.errors import UserError
    from maskrun.formats.poses import psi_of
    from maskrun.formats.registry import load_particle_set

    source = project / PARTICLES
    with sqlite3.connect(source) as connection:
        connection.execute("UPDATE Objects SET enabled = 0 WHERE id IN (2, 3)")
        matrix = "[[NaN, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]"
        connection.execute(
            f'UPDATE Objects SET "{columns_of(source)["_transform._matrix"]}" = ? WHERE id = 7', (matrix,)
        )
    with pytest.raises(UserError, match=r"particles.sqlite: item 7 has an in-plane angle that is not a number"):
        psi_of(load_particle_set(source))


PSD = "Runs/000001_ProtImportMicrographs/extra/mic00{}_psd.mrc"  # _ctfModel._psdFile: mic001 for items 1-4, …


def test_a_set_written_outside_its_project_names_its_other_files_by_absolute_paths(project, tmp_path):
    (project / PSD).parent.mkdir(parents=True)
    for micrograph in (1, 2):  # mic003's is not there
        shutil.copy(project / STACK, project / PSD.format(micrograph))
    source = project / PARTICLES
    cols = columns_of(source)
    psd, mic = cols["_ctfModel._psdFile"], cols["_coordinate._micName"]
    elsewhere = tmp_path / "jobs"
    elsewhere.mkdir()
    inputs = {"particles": str(source), "project_dir": str(project)}
    out = run_job(write_job(elsewhere, job(inputs, {"shape": "circular", "radius": 20}))).output_dir
    rows = table(out / "particles.sqlite", f'SELECT "{psd}", "{mic}" FROM Objects ORDER BY id')
    assert rows == [
        *[(str(project / PSD.format(1)), "mic001.mrc")] * 4,
        *[(str(project / PSD.format(2)), "mic002.mrc")] * 4,
        # a path to a file not there names the same place (kept relative, it named one under the output's folder); a
        # name that is no path (Scipion's _micName) stays as it was
        *[(str(project / PSD.format(3)), "mic003.mrc")] * 2,
    ]
    inside = run_job(write_job(project, job({"particles": PARTICLES}, {"shape": "circular", "radius": 20}))).output_dir
    # inside the project folder, every path stays as Scipion wrote it
    assert table(inside / "particles.sqlite", f'SELECT "{psd}" FROM Objects') == table(
        source, f'SELECT "{psd}" FROM Objects'
    )


def test_a_volumes_set_written_outside_its_project_names_its_half_maps_by_absolute_paths(project, tmp_path):
    source = project / VOLUMES
    halves = "Runs/000003_ProtImportVolumes/extra/import_phantom_20.mrc,Runs/000003_ProtImportVolumes/extra/h2.mrc:mrc"
    shutil.copy(
        project / "Runs/000003_ProtImportVolumes/extra/import_phantom_20.mrc",
        project / "Runs/000003_ProtImportVolumes/extra/h2.mrc",
    )
    with sqlite3.connect(source) as connection:
        connection.execute(f'UPDATE Objects SET "{columns_of(source)["_halfMapFilenames"]}" = ?', (halves,))
    elsewhere = tmp_path / "jobs"
    elsewhere.mkdir()
    inputs = {"volumes": str(source), "project_dir": str(project)}
    out = run_job(write_job(elsewhere, job(inputs, {"shape": "sphere", "radius": 6}))).output_dir
    written = table(out / "volumes.sqlite", f'SELECT "{columns_of(source)["_halfMapFilenames"]}" FROM Objects')
    extra = project / "Runs/000003_ProtImportVolumes/extra"
    assert written == [(f"{extra}/import_phantom_20.mrc,{extra}/h2.mrc:mrc",)] * 2  # a CsvList path by path
