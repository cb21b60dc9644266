"""Xmipp's ``block@file``: one block of a multi-block ``.xmd`` as the particles (``class000001_images@classes.xmd``,
as Xmipp's programs take it), in a job, ``project-mask`` and ``make-mask --like``; without it, a multi-block file is
refused naming its blocks and the syntax."""

from __future__ import annotations

import json
from pathlib import Path

import mrcfile

from maskrun.cli.main import main
from maskrun.config.job_file import load_job
from maskrun.formats.registry import convert_example, load_particle_set
from maskrun.io.star import Loop, read_metadata
from maskrun.jobs.plan_file import load_saved_plan
from maskrun.jobs.runner import run_job

from job_files import example_folder, job_with, validate_refuses, write_job


def classes_xmd(folder: Path) -> Path:
    """An Xmipp CL2D ``classes.xmd``: ``data_classes`` (the averages, not here) and a block of particles per class."""
    example_folder(folder, particles=20, maps=0)
    rows = read_metadata(convert_example(folder / "particles.star", "xmd"))[0]["noname"]
    assert isinstance(rows, Loop)
    header = "# XMIPP_STAR_1 *\n#\ndata_classes\nloop_\n _ref\n _image\n _classCount\n"
    text = header + "1 000001@classes.stk 10\n2 000002@classes.stk 10\n"
    for k in (1, 2):
        labels = "".join(f" _{column}\n" for column in rows.columns)
        lines = b"\n".join(rows.lines[(k - 1) * 10 : k * 10]).decode()
        text += f"\ndata_class{k:06d}_images\nloop_\n{labels}{lines}\n"
    (folder / "classes.xmd").write_text(text)
    return folder / "classes.xmd"


def test_a_job_masks_the_block_it_names_and_writes_the_file_with_only_that_block_rewritten(tmp_path):
    classes = classes_xmd(tmp_path)
    run_job(write_job(tmp_path, job_with(inputs__particles="class000002_images@classes.xmd")))
    out = tmp_path / "results" / "t"
    blocks = read_metadata(out / "particles.xmd")[0]
    given = read_metadata(classes)[0]
    assert list(blocks) == ["classes", "class000001_images", "class000002_images"]
    for name in ("classes", "class000001_images"):
        assert blocks[name].lines == given[name].lines  # type: ignore[union-attr]
    masked = blocks["class000002_images"]
    assert isinstance(masked, Loop)
    assert masked.column("image") == [f"{i:06d}@results/t/stacks/batch_00001.mrcs" for i in range(1, 11)]
    assert masked.column("micrograph") == given["class000002_images"].column("micrograph")  # type: ignore[union-attr]
    assert mrcfile.open(out / "stacks" / "batch_00001.mrcs").data.shape == (10, 64, 64)
    record = json.loads((out / "provenance" / "run.json").read_text())
    assert record["job_resolved"]["inputs"]["particles"] == f"class000002_images@{classes}"


def test_the_gather_reads_back_the_block_the_plan_was_made_from(tmp_path):
    """Snakemake's gather reads the saved plan and the metadata again: from the same block, not refusing the file's
    several blocks."""
    classes_xmd(tmp_path)
    job = write_job(tmp_path, job_with(inputs__particles="class000001_images@classes.xmd"))
    run_job(job)
    plan = load_saved_plan(load_job(job))
    assert plan is not None and not plan.particle_set.has_metadata
    particles = plan.with_metadata().particle_set
    assert (particles.block_name, len(particles.rows)) == ("class000001_images", 10)


def test_a_block_not_in_the_file_is_refused_naming_the_blocks(tmp_path, capsys):
    classes_xmd(tmp_path)
    line = validate_refuses(write_job(tmp_path, job_with(inputs__particles="class000009_images@classes.xmd")), capsys)
    assert line.endswith(
        f"{tmp_path / 'classes.xmd'}: inputs.particles: has no block data_class000009_images (data_classes, "
        "data_class000001_images, data_class000002_images); fix the block before '@'"
    )


def test_a_file_of_several_particle_blocks_is_refused_naming_them_and_the_syntax(tmp_path, capsys):
    classes_xmd(tmp_path)
    line = validate_refuses(write_job(tmp_path, job_with(inputs__particles="classes.xmd")), capsys)
    assert line.endswith(
        f"{tmp_path / 'classes.xmd'}: inputs.particles: several blocks have image columns (data_classes, "
        "data_class000001_images, data_class000002_images); name the one to mask as block@file, as Xmipp does "
        "(class000001_images@classes.xmd), or keep one particle block"
    )


def test_the_commands_take_a_block_too(tmp_path, capsys, monkeypatch):
    classes_xmd(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["make-mask", "m.mrc", "--shape", "circular", "--like", "class000001_images@classes.xmd"]) == 0
    assert mrcfile.open(tmp_path / "m.mrc").data.shape == (64, 64)
    particles = load_particle_set(tmp_path / "class000002_images@classes.xmd")
    assert (particles.source, particles.block_name, len(particles)) == (
        tmp_path / "classes.xmd",
        "class000002_images",
        10,
    )


def test_a_file_whose_name_holds_an_at_sign_is_that_file(tmp_path):
    example_folder(tmp_path, particles=5, maps=0)
    convert_example(tmp_path / "particles.star", "xmd").rename(tmp_path / "noname@particles.xmd")
    particles = load_particle_set(tmp_path / "noname@particles.xmd")
    assert (particles.source.name, len(particles)) == ("noname@particles.xmd", 5)
