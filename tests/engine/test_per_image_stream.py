"""Per-image masks in the stream (`PerImageMasking`): each task's masks made in one call, applied, and saved by
the workers that applied them at their rows, with forked workers and with threads, float32 and float16 output;
projected masks the same bits however many are made at a time."""

from __future__ import annotations

import os
from dataclasses import dataclass

import mrcfile
import numpy as np
import pytest

from maskrun.config.fill import FillParams
from maskrun.engine import stream as mask_stream
from maskrun.geometry.masks import Mask
from maskrun.io.float16_rounding import FLOAT16
from maskrun.io.image_info import MappedRows
from maskrun.io.images import inspect_image
from maskrun.io.mrc_writer import MrcStreamWriter

from conftest import write_mrc

N, ROWS, TASK_ROWS = 8, 40, 3


@dataclass(frozen=True)
class Numbered(mask_stream.PerImageMasking):
    """Each row's mask a ramp scaled by its row number; pixel (0, 0) says which call made it (its first row)."""

    def masks_into(self, first_row: int, out: np.ndarray) -> None:
        rows = np.arange(first_row, first_row + len(out))
        ramp = np.linspace(0, 1, N * N, dtype=np.float32).reshape(N, N)
        out[...] = ramp * ((rows % 7 + 1) / 8).astype(np.float32)[:, None, None]
        out[:, 0, 0] = first_row / 1000


def numbered() -> Numbered:
    return Numbered(Mask(np.ones((N, N), np.float32), True), None)


def expected_masks(call_rows: int) -> np.ndarray:
    """The masks as calls of ``call_rows`` rows make them."""
    masks = np.empty((ROWS, N, N), np.float32)
    for first in range(0, ROWS, call_rows):
        numbered().masks_into(first, masks[first : first + call_rows])
    return masks


def mask_and_save(folder, stack, name: str, dtype) -> tuple:
    outputs = folder / f"{name}.mrcs", folder / f"{name}_masks.mrcs"
    with (
        MrcStreamWriter(outputs[0], (ROWS, N, N), "stack", dtype=dtype) as writer,
        MrcStreamWriter(outputs[1], (ROWS, N, N), "stack", holds="the masks applied") as masks_writer,
        MappedRows(inspect_image(stack)) as rows,
    ):
        mask_stream.write_masked(writer, [(rows, 0, ROWS)], numbered(), masks_writer=masks_writer)
    return outputs


@pytest.fixture
def small_tasks(monkeypatch):
    """Tasks of `TASK_ROWS` rows, blocks of one: each task's masks serve several blocks."""
    monkeypatch.setattr(mask_stream, "BUFFER_BYTES", TASK_ROWS * N * N * 4)
    monkeypatch.setattr(mask_stream, "BLOCK_BYTES", N * N * 4)


@pytest.mark.parametrize("dtype", [np.float32, FLOAT16], ids=["float32", "float16"])
@pytest.mark.parametrize("forked", [False, True], ids=["threads", "processes"])
def test_the_workers_save_each_rows_mask_as_applied_made_once_a_task(
    tmp_path, rng, monkeypatch, small_tasks, forked, dtype
):
    images = rng.normal(1.0, 2.0, (ROWS, N, N)).astype(dtype)
    stack = write_mrc(tmp_path / "s.mrcs", images, mode_dtype=dtype)
    monkeypatch.setattr(mask_stream, "WORKERS", 1)
    reference = mask_and_save(tmp_path, stack, "ref", dtype)
    monkeypatch.setattr(mask_stream, "WORKERS", 3)
    forks, real_fork = [], os.fork
    monkeypatch.setattr(os, "fork", lambda: forks.append(1) or real_fork())
    monkeypatch.setattr(mask_stream, "can_fork", lambda: forked)
    output, saved = mask_and_save(tmp_path, stack, "o", dtype)
    assert len(forks) == (2 if forked else 0)
    masks = mrcfile.read(saved)
    assert masks.dtype == np.float32 and masks.tobytes() == expected_masks(TASK_ROWS).tobytes()  # one call a task
    written = mrcfile.read(output)
    assert written.dtype == dtype
    assert written.tobytes() == (images.astype(np.float32) * masks).astype(dtype).tobytes()  # the masks applied
    assert output.read_bytes() == reference[0].read_bytes()  # headers too, whoever wrote which rows
    assert saved.read_bytes() == reference[1].read_bytes()
    with mrcfile.open(saved, header_only=True) as mrc:
        header = mrc.header
        assert (float(header.dmin), float(header.dmax)) == (float(masks.min()), float(masks.max()))
        values = masks.astype(np.float64)
        assert float(header.dmean) == pytest.approx(values.mean(), rel=1e-6)
        assert float(header.rms) == pytest.approx(values.std(), rel=1e-6)
        assert mrc.header.label[mrc.header.nlabl - 1].decode().endswith("the masks applied")


def test_a_shared_mask_has_no_masks_to_save_and_nothing_is_written(tmp_path, rng):
    stack = write_mrc(tmp_path / "s.mrcs", rng.normal(size=(4, N, N)))
    masking = mask_stream.Masking.of(Mask(np.ones((N, N), np.float32), True), FillParams(), "maskrun")
    with (
        pytest.raises(ValueError, match="only a per-image masking saves its masks"),
        MrcStreamWriter(tmp_path / "o.mrcs", (4, N, N), "stack") as writer,
        MrcStreamWriter(tmp_path / "m.mrcs", (4, N, N), "stack") as masks_writer,
        MappedRows(inspect_image(stack)) as rows,
    ):
        mask_stream.write_masked(writer, [(rows, 0, 4)], masking, masks_writer=masks_writer)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.mrcs"]


@pytest.mark.parametrize("forked", [False, True], ids=["threads", "processes"])
def test_a_failing_task_leaves_neither_the_output_nor_the_masks(tmp_path, rng, monkeypatch, small_tasks, forked):
    stack = write_mrc(tmp_path / "s.mrcs", rng.normal(size=(ROWS, N, N)))
    monkeypatch.setattr(mask_stream, "can_fork", lambda: forked)
    real = Numbered.masks_into

    def failing(self, first_row, out):
        if first_row >= 4 * TASK_ROWS:
            raise OSError(28, "No space left on device")
        real(self, first_row, out)

    monkeypatch.setattr(Numbered, "masks_into", failing)
    with pytest.raises(OSError, match="No space left"):
        mask_and_save(tmp_path, stack, "o", np.float32)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.mrcs"]


@pytest.mark.parametrize(
    "settings,coarsening",
    [({}, 1), ({}, 2), ({"soft_edge_px": 0}, 1), ({"soft_edge_px": 30}, 2), ({"mode": "scaled"}, 2), (None, 1)],
    ids=["support", "support-coarser", "hard-support", "wide-edge", "scaled-coarser", "raw"],
)
def test_projected_masks_are_the_same_bits_made_one_four_or_all_at_a_time(settings, coarsening):
    """A task's masks are made in one call where blocks of 4 made them before: the same bits (each projection batch,
    its transforms and its mask, is image by image)."""
    from pathlib import Path

    from maskrun.config.projection_params import ProjectionParams
    from maskrun.engine.projected_masks import ProjectedMasks

    from pose_sets import random_poses, soft_ellipsoid

    box, count = 64, 19
    params = None if settings is None else ProjectionParams(file=Path("m.mrc"), **settings)
    projected = ProjectedMasks(soft_ellipsoid(box), params, raw=params is None, workers=1, coarsening=coarsening)
    poses = random_poses(count, seed=7, max_origin_px=4)
    columns = [np.asarray(poses[key], np.float64) for key in ("rot", "tilt", "psi", "x", "y")]
    whole = projected.masks(*columns)
    for step in (1, 4):
        parts = [projected.masks(*(c[s : s + step] for c in columns)) for s in range(0, count, step)]
        assert np.concatenate(parts).tobytes() == whole.tobytes()
    into = np.full((count, box, box), np.nan, np.float32)
    assert projected.masks(*columns, out=into) is into and into.tobytes() == whole.tobytes()
