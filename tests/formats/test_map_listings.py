"""STAR/XMD map listings (``inputs.volumes``): their maps looked up as a particle set's stacks are, from the project
folder RELION and Xmipp run in, and the written listing naming the masked maps as ``particles.xmd`` names stacks."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from maskrun.cli.main import main
from maskrun.config.job_file import load_job
from maskrun.io.star import read_metadata
from maskrun.jobs.output_metadata import write_output_metadata
from maskrun.jobs.plan_file import load_saved_plan
from maskrun.jobs.runner import run_job

from conftest import write_mrc
from job_files import example_folder, job_with, validate_refuses, write_job

RUN = "Runs/000004_X/extra"  # an Xmipp run's folder, three levels below the project folder


def xmipp_project(project: Path, run: str = RUN) -> Path:
    """Two maps in ``run`` and its ``volumes.xmd`` naming them from ``project``, as Xmipp writes them."""
    example_folder(project, particles=3)
    (project / run).mkdir(parents=True)
    for name in ("class_1.mrc", "class_2.mrc"):
        shutil.move(project / "maps" / name, project / run / name)
    rows = "".join(f"{run}/class_{i}.mrc 0.5\n" for i in (1, 2))
    listing = project / run / "volumes.xmd"
    listing.write_text(f"# XMIPP_STAR_1 *\n#\ndata_noname\nloop_\n_image\n_weight\n{rows}")
    return listing


def map_job(**changes) -> dict:
    return job_with(inputs__particles=None, mask__geometry={"shape": "sphere", "radius": 20}, **changes)


def written_maps(listing: Path) -> list[str]:
    return read_metadata(listing)[0]["noname"].column("image")  # type: ignore[union-attr]


def test_an_xmipp_listing_naming_its_maps_from_the_project_folder_is_masked(tmp_path, capsys):
    xmipp_project(tmp_path)
    assert main(["validate", str(write_job(tmp_path, map_job(inputs__volumes=f"{RUN}/volumes.xmd")))]) == 0
    job = write_job(tmp_path, map_job(inputs__volumes=f"{RUN}/volumes.xmd", inputs__project_dir="."))
    run_job(job)
    # named as the input named its maps and as particles.xmd names its stacks: from the project folder
    names = written_maps(tmp_path / "results" / "t" / "volumes.xmd")
    assert names == ["results/t/volumes/class_1.mrc", "results/t/volumes/class_2.mrc"]
    assert all((tmp_path / name).is_file() for name in names)


def test_a_listing_written_outside_the_project_folder_names_its_maps_by_absolute_paths(tmp_path):
    listing = xmipp_project(tmp_path / "project")
    run_job(write_job(tmp_path / "project", map_job(inputs__volumes=f"{RUN}/volumes.xmd", output__dir="../out")))
    assert written_maps(tmp_path / "out" / "volumes.xmd") == [str(tmp_path / "out" / "volumes" / "class_1.mrc")] + [
        str(tmp_path / "out" / "volumes" / "class_2.mrc")
    ]
    assert listing.read_text().count(f"{RUN}/class_") == 2  # the input untouched


DEEP = "Runs/000004_X/extra/sub"  # four levels down: beyond the parent folders searched


def test_a_map_found_only_from_inputs_project_dir_is_refused_without_it_naming_the_setting(tmp_path, capsys):
    xmipp_project(tmp_path / "project", DEEP)
    (tmp_path / "jobs").mkdir()
    volumes = f"../project/{DEEP}/volumes.xmd"
    line = validate_refuses(write_job(tmp_path / "jobs", map_job(inputs__volumes=volumes)), capsys)
    assert line.endswith(
        f"volumes.xmd: image: row 1: map '{DEEP}/class_1.mrc' not found (looked in {tmp_path / 'project' / DEEP}, "
        f"{tmp_path / 'project/Runs/000004_X/extra'}, {tmp_path / 'project/Runs/000004_X'}, "
        f"{tmp_path / 'project/Runs'}, {tmp_path / 'jobs'}, {Path.cwd()}); set inputs.project_dir to the Xmipp "
        "project folder (the one holding Runs/), or fix the path"
    )
    job = write_job(tmp_path / "jobs", map_job(inputs__volumes=volumes, inputs__project_dir="../project"))
    assert main(["validate", str(job)]) == 0


def test_a_listing_whose_maps_were_found_from_the_working_folder_is_written_wherever_the_gather_runs(
    tmp_path, monkeypatch
):
    """The gather reads the listing again to write it: it takes the maps the plan found, not looking again (Snakemake
    runs it in the output folder, where the working folder that found them is not)."""
    xmipp_project(tmp_path / "project", DEEP)
    (tmp_path / "jobs").mkdir()
    monkeypatch.chdir(tmp_path / "project")
    job = write_job(tmp_path / "jobs", map_job(inputs__volumes=f"../project/{DEEP}/volumes.xmd"))
    run_job(job)
    written = tmp_path / "jobs" / "results" / "t" / "volumes.xmd"
    expected = [str(written.parent / "volumes" / f"class_{i}.mrc") for i in (1, 2)]
    assert written_maps(written) == expected
    monkeypatch.chdir(written.parent)
    plan = load_saved_plan(load_job(job))
    assert plan is not None and not plan.volume_set.has_metadata
    assert write_output_metadata(plan.with_metadata()) == [written]
    assert written_maps(written) == expected


@pytest.mark.parametrize("row", ["a@b/v1.mrc", "0@v2.mrc", "x@v2.mrc:mrcs"])
def test_a_listed_map_whose_number_is_not_an_image_number_is_one_line_not_a_traceback(tmp_path, capsys, row):
    """The review's case: ``a@b/v1.mrc`` (the folder ``a@b``) and ``0@v2.mrc`` met a pre-loop of their own that raised a
    bare ValueError (exit 1); the listing's rows are split by the one rule a particle set's are."""
    (tmp_path / "a@b").mkdir()
    write_mrc(tmp_path / "a@b" / "v1.mrc", np.ones((8, 8, 8)))
    write_mrc(tmp_path / "v2.mrc", np.ones((8, 8, 8)))
    (tmp_path / "volumes.star").write_text(f"data_\nloop_\n_rlnReferenceImage\n{row}\nv2.mrc\n")
    line = validate_refuses(write_job(tmp_path, map_job(inputs__volumes="volumes.star")), capsys)
    # one line naming the row (refused as an image number here, or as particle images where N@ rows are refused)
    assert "volumes.star: " in line and "row 1" in line and f"'{row}'" in line


def test_a_listed_map_marked_as_a_stack_is_refused_on_any_row_however_the_rows_name_it(tmp_path, capsys):
    write_mrc(tmp_path / "v2.mrc", np.ones((8, 8, 8)))
    (tmp_path / "volumes.star").write_text("data_\nloop_\n_rlnReferenceImage\nv2.mrc\nv2.mrc:MRCS\n")
    line = validate_refuses(write_job(tmp_path, map_job(inputs__volumes="volumes.star")), capsys)
    assert line.endswith(
        "volumes.star: rlnReferenceImage: row 2: 'v2.mrc:MRCS' is marked as a stack of images (:mrcs), not a map; "
        "list maps only (a stack is masked as particles), or mark it :mrc if it is a map"
    )


def test_a_listing_whose_block_has_no_name_is_masked_and_written_back_with_none(tmp_path):
    """RELION 3.0's bare ``data_``: the maps were masked, then the gather stopped on an assertion (exit 1)."""
    example_folder(tmp_path, particles=3)
    (tmp_path / "maps.star").write_text("data_\n\nloop_\n_rlnImageName\nmaps/class_1.mrc\nmaps/class_2.mrc\n")
    summary = run_job(write_job(tmp_path, map_job(inputs__volumes="maps.star")))
    blocks = read_metadata(summary.output_dir / "volumes.star")[0]
    assert list(blocks) == [""]
    assert blocks[""].column("rlnImageName") == ["results/t/volumes/class_1.mrc", "results/t/volumes/class_2.mrc"]


def disabled_listing(project: Path, third: str = "gone.mrc", enabled: tuple[str, ...] = ("1", "-1", "0")) -> Path:
    """An Xmipp listing of the example's two maps and ``third``, their ``_enabled`` ``enabled``."""
    example_folder(project, particles=3)
    names = ["maps/class_1.mrc", "maps/class_2.mrc", third]
    rows = "".join(f"{name} {on} 0.{i}\n" for i, (name, on) in enumerate(zip(names, enabled), 1))
    listing = project / "volumes.xmd"
    listing.write_text(f"# XMIPP_STAR_1 *\n#\ndata_noname\nloop_\n_image\n_enabled\n_weight\n{rows}")
    return listing


def test_an_xmipp_listings_disabled_rows_are_dropped_as_xmipp_does(tmp_path, capsys):
    """A disabled row naming a missing map stopped the job (not found, exit 2), and a disabled map that exists
    was masked and written back with its -1: Xmipp reads the enabled rows only."""
    disabled_listing(tmp_path)
    job = write_job(tmp_path, map_job(inputs__volumes="volumes.xmd"))
    assert main(["validate", str(job)]) == 0
    assert "  note: 2 disabled rows (_enabled <= 0) dropped, as Xmipp does\n" in capsys.readouterr().out
    summary = run_job(job)
    assert sorted(p.name for p in (summary.output_dir / "volumes").iterdir()) == ["class_1.mrc"]
    blocks = read_metadata(summary.output_dir / "volumes.xmd")[0]
    table = blocks["noname"]
    # the written listing lists the maps masked, as particles.xmd lists the particles masked
    assert table.column("image") == ["results/t/volumes/class_1.mrc"]  # type: ignore[union-attr]
    assert table.column("weight") == ["0.1"]  # type: ignore[union-attr]


def test_a_disabled_listings_rows_are_named_as_the_file_numbers_them(tmp_path, capsys):
    disabled_listing(tmp_path, "maps/gone.mrc", ("0", "1", "1"))
    line = validate_refuses(write_job(tmp_path, map_job(inputs__volumes="volumes.xmd")), capsys)
    assert "volumes.xmd: image: row 3: map 'maps/gone.mrc' not found" in line


def test_a_listing_whose_rows_are_all_disabled_says_so(tmp_path, capsys):
    disabled_listing(tmp_path, enabled=("0", "-1", "0"))
    line = validate_refuses(write_job(tmp_path, map_job(inputs__volumes="volumes.xmd")), capsys)
    assert line.endswith(
        "volumes.xmd: block data_noname lists no enabled maps: all 3 rows have _enabled <= 0; enable those to mask "
        "(_enabled 1)"
    )
