"""SPIDER images, stacks and volumes (Xmipp, Scipion) read exactly as Xmipp reads them."""

from __future__ import annotations

import shutil
import struct

import mrcfile
import numpy as np
import pytest
import starfile

from maskrun.cli.main import main
from maskrun.io.image_info import read_rows
from maskrun.io.images import inspect_image
from maskrun.jobs.runner import run_job

from conftest import SHARED, shared_path
from job_files import write_job

SPIDER = SHARED / "data" / "formats" / "spider"
GOLD = SPIDER / "xmipp_gold" / "gold" / "xmipp_continuous_create_residuals_01"
FILES = [
    "AK.vol",
    "mask.vol",
    "mask.xmp",
    "xmipp_gold/gold/xmipp_continuous_create_residuals_01/projections.stk",
    "xmipp_gold/gold/xmipp_continuous_create_residuals_01/residuals.stk",
]


def expected(path):
    return mrcfile.read(next(path.parent.glob(path.name + ".expected.mrc*")))


@pytest.mark.parametrize("name", FILES)
def test_every_spider_fixture_reads_as_xmipp_reads_it(name):
    path = shared_path("data", "formats", "spider", name)
    info = inspect_image(path)
    data = read_rows(info, 0, info.shape_zyx[0])
    truth = expected(path)
    assert data.reshape(truth.shape).tobytes() == truth.astype(np.float32).tobytes()


def byte_swapped(source, target):
    """A big-endian copy of a little-endian SPIDER stack: every 4-byte word swapped."""
    raw = np.frombuffer(source.read_bytes(), dtype="<f4")
    target.write_bytes(raw.astype(">f4").tobytes())
    return target


def test_a_byte_swapped_stack_reads_the_same(tmp_path):
    path = shared_path("data", "formats", "spider", FILES[3])
    swapped = byte_swapped(path, tmp_path / "big.stk")
    info = inspect_image(swapped)
    assert info.dtype == np.dtype(">f4") and "big-endian" in info.notes[0]
    np.testing.assert_array_equal(read_rows(info, 0, 10), expected(path))


@pytest.mark.parametrize(
    "damage,words",
    [
        ("truncate", "truncated: the SPIDER header promises 10 images of 64 x 64"),
        ("labbyt", "is not a SPIDER file"),
        ("indexed", "is an indexed SPIDER stack"),
    ],
)
def test_truncated_or_inconsistent_spider_files_exit_2(tmp_path, capsys, damage, words):
    raw = bytearray(shared_path("data", "formats", "spider", FILES[3]).read_bytes())
    if damage == "truncate":
        raw = raw[: len(raw) - 5000]
    elif damage == "labbyt":
        struct.pack_into("<f", raw, 4 * 21, 1000.0)  # LABBYT no longer LABREC · LENBYT
    else:
        struct.pack_into("<f", raw, 4 * 23, -2.0)  # ISTACK < 0
    bad = tmp_path / "bad.stk"
    bad.write_bytes(bytes(raw))
    assert main(["mask", str(bad), str(tmp_path / "o.mrcs"), "--shape", "circular"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0] and str(bad) in err[0]
    assert not (tmp_path / "o.mrcs").exists()


@pytest.mark.parametrize("column,stack", [("_imageRef", "projections.stk"), ("_imageResidual", "residuals.stk")])
def test_xmipp_metadata_over_spider_stacks_runs_end_to_end(tmp_path, column, stack):
    source = shared_path("data", "formats", "spider", "xmipp_gold")
    shutil.copytree(source, tmp_path / "xmipp_gold")
    gold = tmp_path / "xmipp_gold" / "gold" / "xmipp_continuous_create_residuals_01"
    job = {
        "version": 1,
        "name": "x",
        "inputs": {"particles": "gold/xmipp_continuous_create_residuals_01/output.xmd", "image_column": column},
        "mask": {"source": "geometry", "geometry": {"shape": "circular", "radius": 20}},
        "fill": {"with": "avg"},
        "batch_size": 10,  # one stack to compare with the direct run
    }
    summary = run_job(write_job(tmp_path / "xmipp_gold", job))
    assert (
        main(
            [
                "mask",
                str(GOLD / f"{stack}.expected.mrcs"),
                str(tmp_path / "direct.mrcs"),
                "--shape",
                "circular",
                "--radius",
                "20",
                "--fill",
                "avg",
            ]
        )
        == 0
    )
    table = starfile.read(summary.output_dir / "particles.xmd")
    names = list(table[column.lstrip("_")])
    # from the folder the input's references (gold/...) were relative to, where Xmipp runs
    assert names[0] == "000001@results/x/stacks/batch_00001.mrcs" and len(names) == 10
    assert list(table["image"]) == list(starfile.read(gold / "output.xmd")["image"])  # other columns as they were
    np.testing.assert_array_equal(
        mrcfile.read(summary.output_dir / "stacks" / "batch_00001.mrcs"), mrcfile.read(tmp_path / "direct.mrcs")
    )


@pytest.mark.parametrize("mask_name,data_shape", [("mask.xmp", (3, 64, 64)), ("mask.vol", (40, 40, 40))])
def test_scipion_masks_work_as_created_masks(tmp_path, mask_name, data_shape):
    from conftest import write_mrc

    mask_path = shared_path("data", "formats", "spider", mask_name)
    data = write_mrc(
        tmp_path / ("in.mrcs" if len(data_shape) == 3 and mask_name.endswith("xmp") else "in.mrc"),
        np.random.default_rng(2).normal(size=data_shape),
        voxel_size=0,
    )
    out = tmp_path / "out.mrc"
    assert main(["mask", str(data), str(out), "--mask-file", str(mask_path)]) == 0
    truth = expected(mask_path)
    np.testing.assert_allclose(mrcfile.read(out), mrcfile.read(data) * truth, rtol=1e-6)


def test_xmd_references_resolve_against_inputs_project_dir(tmp_path):
    source = shared_path("data", "formats", "spider", "xmipp_gold")
    shutil.copytree(source, tmp_path / "xmipp_gold")
    metadata = tmp_path / "elsewhere" / "output.xmd"  # moved away from the folder its paths start from
    metadata.parent.mkdir()
    shutil.move(tmp_path / "xmipp_gold" / "gold" / "xmipp_continuous_create_residuals_01" / "output.xmd", metadata)
    job = {
        "version": 1,
        "name": "x",
        "inputs": {"particles": "elsewhere/output.xmd", "image_column": "_imageRef", "project_dir": "xmipp_gold"},
        "mask": {"source": "geometry", "geometry": {"shape": "circular", "radius": 20}},
    }
    assert run_job(write_job(tmp_path, job)).items == 10
