"""STAR/XMD particle sets: an image column naming metadata is refused pointing at the columns that name images;
written outside their project, every file they name is named by its absolute path."""

from __future__ import annotations

import shutil
from pathlib import Path

import mrcfile
import numpy as np
import pytest

from maskrun.cli.main import main
from maskrun.formats.registry import convert_example
from maskrun.io.star import read_metadata
from maskrun.jobs.runner import run_job

from conftest import shared_path, write_mrc
from job_files import example_folder, job_with, validate_refuses, write_job

GOLD = "gold/xmipp_continuous_create_residuals_01"


def xmd_naming_itself(folder):
    """An .xmd as Xmipp programs write it: ``_image`` names the .xmd itself, the images are in ``_imageRef``."""
    write_mrc(folder / "projections.mrcs", np.zeros((2, 16, 16)))
    rows = "".join(f"{i:06d}@output.xmd {i:06d}@projections.mrcs 1\n" for i in (1, 2))
    (folder / "output.xmd").write_text(
        f"# XMIPP_STAR_1 *\n#\ndata_noname\nloop_\n _image\n _imageRef\n _enabled\n{rows}"
    )


def test_an_image_column_naming_the_xmd_itself_proposes_inputs_image_column(tmp_path, capsys):
    xmd_naming_itself(tmp_path)
    line = validate_refuses(write_job(tmp_path, job_with(inputs__particles="output.xmd")), capsys)
    assert line.endswith(
        f"{tmp_path / 'output.xmd'}: _image: names output.xmd itself, an Xmipp .xmd metadata file, not an image "
        "stack; give the column of the images to mask as inputs.image_column (image columns here: _imageRef)"
    )


def xmd_moved_from_its_folder(folder):
    """Xmipp's output.xmd copied out of its run: ``_image`` names ``run/output.xmd``, which is not here."""
    write_mrc(folder / "projections.mrcs", np.zeros((2, 16, 16)))
    write_mrc(folder / "mask.mrc", np.ones((16, 16, 16)), stack=False)
    rows = "".join(f"{i:06d}@run/output.xmd {i:06d}@projections.mrcs 0 {9 * i} 0\n" for i in (1, 2))
    (folder / "output.xmd").write_text(
        "# XMIPP_STAR_1 *\n#\ndata_noname\nloop_\n _image\n _imageRef\n _angleRot\n _angleTilt\n _anglePsi\n" + rows
    )


def test_project_mask_refuses_a_column_naming_a_metadata_file_not_here_naming_its_option(tmp_path, capsys):
    xmd_moved_from_its_folder(tmp_path)
    out = tmp_path / "o.mrcs"
    assert main(["project-mask", str(tmp_path / "mask.mrc"), str(tmp_path / "output.xmd"), str(out)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"maskrun project-mask: error: {tmp_path / 'output.xmd'}: _image: names output.xmd, an Xmipp .xmd metadata "
        "file, not an image stack; give the column of the images to mask as --image-column (image columns here: "
        "_imageRef)"
    )
    assert not out.exists()


def test_project_mask_takes_the_column_it_proposes(tmp_path, capsys):
    xmd_moved_from_its_folder(tmp_path)
    out = tmp_path / "o.mrcs"
    mask, xmd = str(tmp_path / "mask.mrc"), str(tmp_path / "output.xmd")
    assert main(["project-mask", mask, xmd, str(out), "--image-column", "_imageRef"]) == 0
    assert mrcfile.open(out).data.shape == (2, 16, 16)
    assert main(["project-mask", mask, xmd, str(out), "--overwrite", "--image-column", "imageOops"]) == 2
    line = capsys.readouterr().err.strip()
    assert line.endswith(
        ": --image-column: no block has the column _imageOops (image columns here: _image, _imageRef); "
        "fix --image-column"
    )


def test_the_column_it_proposes_is_the_one_that_works(tmp_path):
    xmd_naming_itself(tmp_path)
    job = write_job(tmp_path, job_with(inputs__particles="output.xmd", inputs__image_column="_imageRef"))
    assert main(["validate", str(job)]) == 0


def test_xmipps_own_output_xmd_names_its_image_columns(tmp_path, capsys):
    shutil.copytree(shared_path("data", "formats", "spider", "xmipp_gold"), tmp_path / "xmipp_gold")
    folder = tmp_path / "xmipp_gold"
    line = validate_refuses(write_job(folder, job_with(inputs__particles=f"{GOLD}/output.xmd")), capsys)
    assert line.endswith(
        "_image: names output.xmd itself, an Xmipp .xmd metadata file, not an image stack; give the column of the "
        "images to mask as inputs.image_column (image columns here: _imageOriginal, _imageRef, _imageResidual)"
    )


def test_xmipps_own_output_xmd_masked_elsewhere_names_every_file_as_its_input_did(tmp_path):
    """A newcomer's look: masked into a folder outside Xmipp's (its run's cwd, where its paths start), the .xmd named
    the masked images and the files there by absolute paths, but left ``_imageOriginal``
    (``input/aFewProjections.stk``, not shipped with the test data) relative: from the output's folder, or a
    program run there, it named another file. Each column now names the file its input named."""
    shutil.copytree(shared_path("data", "formats", "spider", "xmipp_gold"), tmp_path / "xmipp_gold")
    folder, out = tmp_path / "xmipp_gold", tmp_path / "elsewhere" / "masked"
    job = job_with(
        inputs__particles=f"{GOLD}/output.xmd",
        inputs__image_column="_imageRef",
        inputs__project_dir=".",
        inputs__pixel_size_angstrom=2,
        mask__geometry={"shape": "circular", "radius": 20},
        output__dir=str(out),
        report=False,
    )
    run_job(write_job(folder, job))
    before = read_metadata(folder / GOLD / "output.xmd")[0]["noname"]
    after = read_metadata(out / "particles.xmd")[0]["noname"]
    for label in ("image", "imageOriginal", "imageResidual"):
        assert after.column(label) == [
            f"{number}@{folder / path}" for number, _, path in (text.partition("@") for text in before.column(label))
        ]
    assert after.column("imageOriginal")[0] == f"000001@{folder}/input/aFewProjections.stk"
    assert after.column("imageRef")[0] == f"000001@{out}/stacks/batch_00001.mrcs"
    assert after.column("shiftX") == before.column("shiftX")


def test_xmipps_output_xmd_copied_out_of_its_run_names_its_image_columns_in_a_job(tmp_path, capsys):
    """Its ``_image`` names ``gold/…/output.xmd``, not found from the copy: still a metadata file, by its name (a job,
    which needs the stacks, said "stack not found; set inputs.project_dir")."""
    shutil.copy(shared_path("data", "formats", "spider", "xmipp_gold", GOLD, "output.xmd"), tmp_path / "output.xmd")
    (tmp_path / "output.xmd").chmod(0o644)
    line = validate_refuses(write_job(tmp_path, job_with(inputs__particles="output.xmd")), capsys)
    assert line.endswith(
        f"{tmp_path / 'output.xmd'}: _image: names output.xmd, an Xmipp .xmd metadata file, not an image stack; give "
        "the column of the images to mask as inputs.image_column (image columns here: _imageOriginal, _imageRef, "
        "_imageResidual)"
    )


def test_a_job_refuses_a_column_naming_a_metadata_file_not_here_whatever_row_names_it(tmp_path, capsys):
    xmd_moved_from_its_folder(tmp_path)
    text = (tmp_path / "output.xmd").read_text().replace("000001@run/output.xmd", "000001@projections.mrcs", 1)
    (tmp_path / "output.xmd").write_text(text)
    line = validate_refuses(write_job(tmp_path, job_with(inputs__particles="output.xmd")), capsys)
    assert line.endswith(
        ": _image: names output.xmd, an Xmipp .xmd metadata file, not an image stack; give the column "
        "of the images to mask as inputs.image_column (image columns here: _imageRef)"
    )


LABELS = {  # the masked images, their originals, the micrograph, a number, a file that is not there
    ".xmd": ("image", "imageOriginal", "micrograph", "shiftX", "ctfParam"),
    ".star": ("rlnImageName", "rlnImageOriginalName", "rlnMicrographName", "rlnOriginX", "rlnCtfImage"),
}


def project_set(project: Path, suffix: str) -> Path:
    """A particle set in its project folder, naming every file from there, as RELION and Xmipp write them."""
    for folder in ("Extract", "Originals", "Micrographs"):
        (project / folder).mkdir(parents=True)
    write_mrc(project / "Extract" / "parts.mrcs", np.random.default_rng(5).normal(0, 1, (3, 16, 16)))
    write_mrc(project / "Originals" / "orig.mrcs", np.zeros((3, 16, 16)))
    write_mrc(project / "Micrographs" / "mic1.mrc", np.zeros((32, 32)))
    rows = "".join(
        f"{i:06d}@Extract/parts.mrcs {i:06d}@Originals/orig.mrcs Micrographs/mic1.mrc {i}.5 CTFs/{i}.ctfparam\n"
        for i in (1, 2, 3)
    )
    labels = "".join(f"_{label}\n" for label in LABELS[suffix])
    path = project / f"particles{suffix}"
    path.write_text(f"data_particles\nloop_\n{labels}{rows}")
    return path


def file_named(text: str) -> str:
    _, at, path = text.partition("@")
    return path if at else text


@pytest.mark.parametrize("suffix", [".xmd", ".star"])
def test_a_set_written_outside_its_project_names_every_file_of_the_project_by_its_absolute_path(tmp_path, suffix):
    project, out = tmp_path / "project", tmp_path / "elsewhere" / "masked"
    particles = project_set(project, suffix)
    circle = {"shape": "circular", "radius": 5}
    job = job_with(inputs__particles=particles.name, mask__geometry=circle, output__dir=str(out), report=False)
    run_job(write_job(project, job))
    table = read_metadata(out / particles.name)[0]["particles"]
    images, originals, micrographs, shifts, ctfs = (table.column(label) for label in LABELS[suffix])
    assert all((out / file_named(text)).is_file() for text in images + originals + micrographs)
    assert originals == [f"{i:06d}@{project / 'Originals' / 'orig.mrcs'}" for i in (1, 2, 3)]
    assert micrographs == [str(project / "Micrographs" / "mic1.mrc")] * 3
    assert shifts == ["1.5", "2.5", "3.5"]  # numbers: kept
    # files not there (an Xmipp set keeps naming its CTF files wherever they are) still name the same place: they
    # were kept relative, and so named files under the output folder
    assert ctfs == [str(project / "CTFs" / f"{i}.ctfparam") for i in (1, 2, 3)]


@pytest.mark.parametrize("suffix", [".xmd", ".star"])
def test_a_set_written_inside_its_project_keeps_naming_files_from_there(tmp_path, suffix):
    particles = project_set(tmp_path, suffix)
    job = job_with(inputs__particles=particles.name, mask__geometry={"shape": "circular", "radius": 5}, report=False)
    out = run_job(write_job(tmp_path, job)).output_dir
    before, after = (read_metadata(path)[0]["particles"] for path in (particles, out / particles.name))
    for label in LABELS[suffix][1:]:
        assert after.column(label) == before.column(label)
    assert after.column(LABELS[suffix][0])[0] == "000001@results/t/stacks/batch_00001.mrcs"


def deep_project(root: Path) -> Path:
    """A RELION project whose STAR sits four folders below it, too deep for the stacks to be found upwards."""
    stack = root / "Extract" / "job012" / "Micrographs" / "mic1.mrcs"
    stack.parent.mkdir(parents=True)
    write_mrc(stack, np.zeros((2, 16, 16)))
    star = root / "External" / "job100" / "sub" / "dir" / "run_data.star"
    star.parent.mkdir(parents=True)
    rows = "".join(f"{i:06d}@Extract/job012/Micrographs/mic1.mrcs\n" for i in (1, 2))
    star.write_text(f"data_particles\nloop_\n_rlnImageName #1\n{rows}")
    (root / "MaskJobs").mkdir()
    return star


def test_a_stack_not_found_in_a_job_names_inputs_project_dir(tmp_path, capsys):
    deep_project(tmp_path)
    particles = "../External/job100/sub/dir/run_data.star"
    line = validate_refuses(write_job(tmp_path / "MaskJobs", job_with(inputs__particles=particles)), capsys)
    assert line.startswith(f"maskrun validate: error: {tmp_path}/External/job100/sub/dir/run_data.star: rlnImageName: ")
    assert line.endswith(
        "); set inputs.project_dir to the RELION project folder (the one holding Extract/), or fix the path"
    )
    job = write_job(tmp_path / "MaskJobs", job_with(inputs__particles=particles, inputs__project_dir=".."))
    assert main(["validate", str(job)]) == 0  # the advice works


def xmipp_project_without(root: Path, gone: tuple[str, ...]) -> Path:
    """An Xmipp project (``Runs/000005_X/extra/particles.xmd`` naming its three stacks from the project folder) whose
    stacks ``gone`` were deleted; the job folder ``MaskJobs``."""
    example_folder(root, particles=30, maps=0)
    xmd = convert_example(root / "particles.star", "xmd")
    run = root / "Runs" / "000005_X" / "extra"
    run.mkdir(parents=True)
    xmd = xmd.rename(run / xmd.name)
    for name in gone:
        (root / "Extract" / name).unlink()
    (root / "MaskJobs").mkdir()
    return xmd


@pytest.mark.parametrize("project_dir", ["..", None])
def test_a_stack_missing_where_the_others_are_is_told_to_be_restored(tmp_path, capsys, project_dir):
    """Told "set inputs.project_dir to the Xmipp project folder (the one holding Runs/)" with inputs.project_dir set
    to that folder, which was searched, and the set's other stacks found there."""
    xmipp_project_without(tmp_path, ("mic_002.mrcs",))
    particles = "../Runs/000005_X/extra/particles.xmd"
    job = write_job(tmp_path / "MaskJobs", job_with(inputs__particles=particles, inputs__project_dir=project_dir))
    line = validate_refuses(job, capsys)
    assert line.endswith(
        f"particles.xmd: image: row 11: stack 'Extract/mic_002.mrcs' not found in {tmp_path}, where 2 of its 3 "
        "stacks are; restore it, or fix the path"
    )


def test_stacks_none_of_which_is_in_the_project_folder_given_are_not_told_to_give_it(tmp_path, capsys):
    xmipp_project_without(tmp_path, ("mic_001.mrcs", "mic_002.mrcs", "mic_003.mrcs"))
    particles = "../Runs/000005_X/extra/particles.xmd"
    job = write_job(tmp_path / "MaskJobs", job_with(inputs__particles=particles, inputs__project_dir=".."))
    line = validate_refuses(job, capsys)
    assert "row 1: stack 'Extract/mic_001.mrcs' not found (looked in " in line
    assert line.endswith(
        ", inputs.project_dir among them); none of its 3 stacks is found: check that inputs.project_dir is the Xmipp "
        "project folder (the one holding Extract/), or restore them, or fix the paths"
    )


def test_a_stack_not_found_without_a_job_keeps_the_command_line_wording(tmp_path, capsys, monkeypatch):
    """make-mask --like reads the box from the stacks (project-mask needs none: test_project_mask_without_stacks)."""
    star = deep_project(tmp_path)
    monkeypatch.chdir(tmp_path / "MaskJobs")
    argv = ["make-mask", str(tmp_path / "m.mrc"), "--shape", "circular", "--radius", "5", "--like", str(star)]
    assert main(argv) == 2
    line = capsys.readouterr().err.strip()
    assert line.endswith("); fix the path or run from the project folder") and "\n" not in line
    assert not (tmp_path / "m.mrc").exists()


def test_stacks_not_found_are_looked_at_once_each_for_a_metadata_name_not_once_per_row(tmp_path, capsys, monkeypatch):
    """A set whose stacks are absent is checked for an image column naming metadata (`_refuse_named_metadata`) per
    distinct file: the review's 1M rows took 7.6 s, one name at a time, for 2,000 stacks."""
    from maskrun.formats import star_set

    rows = "".join(f"{i % 500 + 1:06d}@Extract/job012/mic{i // 500}.mrcs\n" for i in range(3000))
    (tmp_path / "particles.star").write_text(f"data_particles\nloop_\n_rlnImageName\n{rows}")
    looked_at = []
    kind = star_set.metadata_kind

    def counted(name):
        looked_at.append(name)
        return kind(name)

    monkeypatch.setattr(star_set, "metadata_kind", counted)
    line = validate_refuses(write_job(tmp_path, job_with(inputs__particles="particles.star")), capsys)
    assert "row 1: stack 'Extract/job012/mic0.mrcs' not found" in line
    assert sorted(map(str, looked_at)) == [f"Extract/job012/mic{s}.mrcs" for s in range(6)]  # not 3,000 names
