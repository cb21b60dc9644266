"""Real maps and stacks from public projects, with their header quirks (shared/data/public)."""

from __future__ import annotations

import mrcfile
import numpy as np
import pytest

from maskrun.cli.main import main

from conftest import shared_path

CASES = [
    # file, shape option, expected kind, voxel size (Å), note the user must see
    ("EMD-3197.map", ["--shape", "sphere", "--radius", "8"], "volume", 11.4, "nxstart/nystart/nzstart = (-2, 0, 0)"),
    (
        "ref_model.mrc",
        ["--shape", "raised_cosine", "--inner-radius", "30", "--outer-radius", "40"],
        "volume",
        3.54,
        "ispg 0 declares an image stack",
    ),
    (
        "relion31.mrcs",
        ["--shape", "circular", "--fill", "avg"],
        "stack",
        1.0,
        "relion31.mrcs: no MAP ID in its header (some programs write none): read as MRC",
    ),
]


@pytest.mark.parametrize("name,options,kind,voxel,note", CASES, ids=[c[0] for c in CASES])
def test_real_file_masks_and_keeps_voxel_size(capsys, tmp_path, name, options, kind, voxel, note):
    source = shared_path("data", "public", name)
    out = tmp_path / ("out.mrcs" if kind == "stack" else "out.mrc")
    assert main(["mask", str(source), str(out), *options]) == 0
    assert note in capsys.readouterr().err
    with mrcfile.open(source, permissive=True) as mrc:
        original, nstart, origin = mrc.data.astype(np.float32), mrc.nstart.tolist(), mrc.header.origin.tolist()
    with mrcfile.open(out) as mrc:
        assert mrc.voxel_size.x == pytest.approx(voxel, rel=1e-5)
        assert mrc.nstart.tolist() == nstart and mrc.header.origin.tolist() == origin
        assert mrc.is_image_stack() if kind == "stack" else mrc.is_volume()
        masked = mrc.data
    assert masked.shape == original.shape
    centre = tuple(n // 2 for n in original.shape[-3 if kind == "volume" else -2 :])
    index = centre if kind == "volume" else (slice(None), *centre)
    assert np.array_equal(masked[index], original[index])  # the centre is kept
    assert not np.array_equal(masked, original)  # and something was masked


def test_stack_saved_as_mrc_with_ispg_1_can_be_read_as_stack(tmp_path):
    source = shared_path("data", "public", "empiar_10076_7.mrc")
    out = tmp_path / "out.mrcs"
    assert main(["mask", str(source), str(out), "--shape", "circular", "--radius", "100", "--input-kind", "stack"]) == 0
    with mrcfile.open(out) as mrc:
        assert mrc.is_image_stack() and mrc.data.shape == (7, 320, 320)
        assert mrc.voxel_size.x == 0  # unknown in the input, kept unknown


def test_gzipped_maps_as_emdb_distributes_them(tmp_path, capsys):
    import gzip

    from maskrun.jobs.runner import run_job

    from job_files import write_job

    source = shared_path("data", "public", "EMD-3197.map")
    packed = tmp_path / "EMD-3197.map.gz"
    packed.write_bytes(gzip.compress(source.read_bytes()))
    assert main(["mask", str(packed), str(tmp_path / "direct.mrc"), "--shape", "sphere", "--radius", "6"]) == 0
    assert main(["mask", str(source), str(tmp_path / "plain.mrc"), "--shape", "sphere", "--radius", "6"]) == 0
    assert (tmp_path / "direct.mrc").read_bytes() == (tmp_path / "plain.mrc").read_bytes()
    job = {
        "version": 1,
        "name": "gz",
        "inputs": {"volumes": ["EMD-3197.map.gz"]},
        "mask": {"source": "geometry", "geometry": {"shape": "sphere", "radius": 6}},
    }
    out = run_job(write_job(tmp_path, job)).output_dir
    assert (out / "volumes" / "EMD-3197.mrc").read_bytes() == (tmp_path / "plain.mrc").read_bytes()
    truncated = tmp_path / "cut.map.gz"
    truncated.write_bytes(packed.read_bytes()[:-2000] + packed.read_bytes()[-4:])
    capsys.readouterr()
    assert main(["mask", str(truncated), str(tmp_path / "cut.mrc"), "--shape", "sphere"]) in (1, 2)
    assert "Traceback" not in capsys.readouterr().err
