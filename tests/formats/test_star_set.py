"""STAR/XMD particle sets whose image column names metadata: the error points at the columns that name images."""

from __future__ import annotations

import shutil

import numpy as np

from maskrun.cli.main import main

from conftest import shared_path, write_mrc
from job_files import job_with, validate_refuses, write_job

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
