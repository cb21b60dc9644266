"""An Xmipp ``.xmd``'s ``_samplingRate`` column (MDL_SAMPLINGRATE, Å/px) is the particles' pixel size.

An ``images.xmd`` with ``_samplingRate 2.0`` on every row over stacks of no pixel size (Xmipp
writes none in SPIDER stacks) was "pixel size unknown" in ``validate``, and a radius in Å was
refused ("Xmipp XMD gives no pixel size … set inputs.pixel_size_angstrom"). Rows that agree now
give the pixel size, named where it came from as a STAR's ``rlnImagePixelSize`` is; rows that
differ are several pixel sizes, as RELION's optics groups of several are.
"""

from __future__ import annotations

import json

import mrcfile
import pytest

from maskrun.api import run_job
from maskrun.jobs.plan import plan_job

from conftest import write_mrc
from job_files import validate_refuses, write_job

HEADER = "# XMIPP_STAR_1 *\n#\ndata_noname\nloop_\n _image\n _enabled\n _samplingRate\n"


def xmd_over_stack(folder, rng, sampling: list[str], header_angstrom: float = 0.0) -> None:
    """``particles.xmd``, one row per value of ``sampling``, over ``parts.mrcs`` (32², its header's pixel size)."""
    write_mrc(folder / "parts.mrcs", rng.normal(0, 1, (len(sampling), 32, 32)), voxel_size=header_angstrom)
    rows = "".join(f" {i:06d}@parts.mrcs 1 {value}\n" for i, value in enumerate(sampling, 1))
    (folder / "particles.xmd").write_text(HEADER + rows)


def job(radius: str = "10 A", **inputs: object) -> dict:
    return {
        "version": 1,
        "name": "x",
        "inputs": {"particles": "particles.xmd", **inputs},
        "mask": {"source": "geometry", "geometry": {"shape": "circular", "radius": radius, "soft_edge": 2}},
        "report": False,
    }


def refused(folder, job_dict, capsys) -> str:
    job_file = write_job(folder, job_dict)
    return validate_refuses(job_file, capsys).split(": error: ", 1)[1]


def test_rows_that_agree_give_the_pixel_size_for_lengths_in_angstrom_and_the_output(tmp_path, rng):
    xmd_over_stack(tmp_path, rng, ["2.000000"] * 3)
    job_file = write_job(tmp_path, job())
    plan = plan_job(job_file)
    assert plan.particle_set.pixel_size_angstrom == 2.0
    out = run_job(job_file).output_dir
    record = json.loads((out / "provenance" / "run.json").read_text())["job_resolved"]
    assert record["pixel_size_angstrom"] == 2.0 and record["mask"]["geometry"]["radius"] == pytest.approx(5.0)
    with mrcfile.open(out / "stacks" / "batch_00001.mrcs") as masked:
        assert masked.voxel_size.x == pytest.approx(2.0)


def test_a_header_that_disagrees_is_told_with_the_column_that_won(tmp_path, rng):
    xmd_over_stack(tmp_path, rng, ["2.0"] * 3, header_angstrom=1.5)
    plan = plan_job(write_job(tmp_path, job()))
    assert plan.particle_set.pixel_size_angstrom == 2.0
    assert (
        "stack headers give 1.5 Å/px but the metadata (_samplingRate) 2 Å/px; the masked stacks use the metadata's"
        in plan.notes
    )


def test_the_key_for_a_set_without_a_pixel_size_is_refused_naming_the_column(tmp_path, rng, capsys):
    xmd_over_stack(tmp_path, rng, ["2.0"] * 3)
    assert refused(tmp_path, job(pixel_size_angstrom=2.0), capsys).endswith(
        "inputs.pixel_size_angstrom: is for particles whose metadata gives no pixel size (a bare stack, or a set "
        "without one); this Xmipp XMD gives its own, 2 Å/px (_samplingRate): remove it"
    )


def test_rows_that_differ_are_several_pixel_sizes_counted_by_rows(tmp_path, rng, capsys):
    xmd_over_stack(tmp_path, rng, ["2.0", "2.0", "3.0"])
    assert refused(tmp_path, job(), capsys).endswith(
        "mask.geometry.radius: is given in Å, but the particles' _samplingRate holds different pixel sizes (2 Å in 2 "
        "rows, 3 Å in 1 row); give it in px, or mask the particles of each pixel size in a job of its own"
    )
    plan = plan_job(write_job(tmp_path, job(radius="5")))
    assert plan.particle_set.pixel_sizes_angstrom == (2.0, 3.0)
    assert plan.particle_set.pixel_size_groups == ("2 rows", "1 row")


def test_a_row_without_one_where_others_have_one_is_refused_naming_it(tmp_path, rng, capsys):
    xmd_over_stack(tmp_path, rng, ["2.0", "nan", "2.0"])
    assert refused(tmp_path, job(), capsys).endswith(
        "_samplingRate: row 2 gives nan Å, not a pixel size, where row 1 gives 2 Å; fix its _samplingRate"
    )


def test_an_unusable_value_is_none_and_the_refusal_says_so(tmp_path, rng, capsys):
    xmd_over_stack(tmp_path, rng, ["0.0"] * 3)
    assert refused(tmp_path, job(), capsys).endswith(
        "mask.geometry.radius: is given in Å, but the particles' Xmipp XMD gives no pixel size (its _samplingRate is "
        "0), nor does their stack header; set inputs.pixel_size_angstrom to the images' pixel size (Å per pixel), or "
        "give the length in px"
    )
