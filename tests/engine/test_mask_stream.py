"""The streaming core: same bytes for any threads and block sizes, scattered pieces, errors,
and header statistics that stay exact far from zero."""

from __future__ import annotations

import os
from contextlib import ExitStack

import mrcfile
import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from maskrun.config.fill import FillParams
from maskrun.config.mask_spec import MaskSpec
from maskrun.config.shape_params import Circular, RaisedCosine, Sphere
from maskrun.engine import stream as mask_stream
from maskrun.engine.apply import apply_mask, fill_values
from maskrun.engine.one_file import mask_mrc_file
from maskrun.geometry.masks import build_mask
from maskrun.io.header_stats import RunningStats
from maskrun.io.image_info import MappedRows
from maskrun.io.images import inspect_image
from maskrun.io.mrc_writer import MrcStreamWriter

from conftest import write_mrc

AVG = FillParams(**{"with": "avg"})


def _mask_both(tmp_path, stack, volume, name):
    outputs = tmp_path / f"{name}.mrcs", tmp_path / f"{name}.mrc"
    mask_mrc_file(stack, outputs[0], mask=MaskSpec(geometry=RaisedCosine(inner_radius=6, outer_radius=10)), fill=AVG)
    mask_mrc_file(volume, outputs[1], mask=MaskSpec(geometry=Sphere(radius=4)), fill=AVG)
    return outputs


@pytest.mark.parametrize("workers,block_bytes,buffer_bytes", [(1, 1, 1), (2, 1, 3 * 24 * 24 * 4), (3, 10**6, 10**8)])
def test_same_pixels_for_any_threads_and_block_sizes(tmp_path, rng, monkeypatch, workers, block_bytes, buffer_bytes):
    stack = write_mrc(tmp_path / "s.mrcs", rng.normal(1.0, 3.0, (11, 24, 24)))
    volume = write_mrc(tmp_path / "v.mrc", rng.normal(1.0, 3.0, (9, 16, 20)))
    reference = _mask_both(tmp_path, stack, volume, "ref")
    monkeypatch.setattr(mask_stream, "WORKERS", workers)
    monkeypatch.setattr(mask_stream, "BLOCK_BYTES", block_bytes)
    monkeypatch.setattr(mask_stream, "BUFFER_BYTES", buffer_bytes)
    for ours, theirs in zip(_mask_both(tmp_path, stack, volume, "o"), reference):
        with mrcfile.open(ours) as mine, mrcfile.open(theirs) as ref:
            assert mine.data.tobytes() == ref.data.tobytes()
            for name in ("dmin", "dmax", "dmean", "rms"):  # summed in another order: float32 rounding
                assert float(mine.header[name]) == pytest.approx(float(ref.header[name]), rel=1e-6)


@pytest.mark.parametrize("forked", [False, True], ids=["threads", "processes"])
def test_same_bytes_for_any_number_of_workers(tmp_path, rng, monkeypatch, forked):
    stack = write_mrc(tmp_path / "s.mrcs", rng.normal(1.0, 3.0, (300, 24, 24)))
    volume = write_mrc(tmp_path / "v.mrc", rng.normal(1.0, 3.0, (9, 16, 20)))
    monkeypatch.setattr(mask_stream, "BUFFER_BYTES", 3 * 24 * 24 * 4)  # many tasks, finishing in any order
    monkeypatch.setattr(mask_stream, "WORKERS", 1)
    reference = _mask_both(tmp_path, stack, volume, "ref")
    monkeypatch.setattr(mask_stream, "WORKERS", 3)
    forks, real_fork = [], os.fork
    monkeypatch.setattr(os, "fork", lambda: forks.append(1) or real_fork())
    monkeypatch.setattr(mask_stream, "can_fork", lambda: forked)
    for ours, theirs in zip(_mask_both(tmp_path, stack, volume, "o"), reference):
        assert ours.read_bytes() == theirs.read_bytes()  # statistics are combined in row order
    assert len(forks) == (3 if forked else 0)  # 2 for the stack's 100 tasks, 1 for the volume's 2


def test_workers_are_threads_while_another_thread_runs(tmp_path, rng, monkeypatch, another_thread):
    path = write_mrc(tmp_path / "a.mrcs", rng.normal(size=(40, 8, 8)))
    monkeypatch.setattr(mask_stream, "BUFFER_BYTES", 8 * 8 * 4)
    monkeypatch.setattr(os, "fork", lambda: pytest.fail("forked while another thread ran"))
    mask_mrc_file(path, tmp_path / "o.mrcs", mask=MaskSpec(geometry=Circular(radius=3)), fill=AVG)
    assert mrcfile.read(tmp_path / "o.mrcs").shape == (40, 8, 8)


def test_scattered_pieces_of_two_stacks_come_out_in_piece_order(tmp_path, rng, monkeypatch):
    a = rng.normal(0, 1, (6, 16, 16)).astype(np.float32)
    b = rng.normal(5, 2, (4, 16, 16)).astype(np.float32)
    paths = write_mrc(tmp_path / "a.mrcs", a), write_mrc(tmp_path / "b.mrcs", b)
    monkeypatch.setattr(mask_stream, "BUFFER_BYTES", 3 * 16 * 16 * 4)  # tasks cut across pieces
    mask = build_mask(Circular(radius=5).resolve(16, 2), (16, 16))
    out = tmp_path / "o.mrcs"
    with MrcStreamWriter(out, (7, 16, 16), "stack") as writer, ExitStack() as maps:
        ma, mb = (maps.enter_context(MappedRows(inspect_image(p))) for p in paths)
        pieces = [(ma, 4, 6), (mb, 0, 1), (ma, 0, 1), (mb, 2, 4), (ma, 3, 4)]
        mask_stream.write_masked(writer, pieces, mask_stream.Masking.of(mask, AVG, "maskrun"))
    images = np.concatenate([a[4:6], b[0:1], a[0:1], b[2:4], a[3:4]])
    expected = apply_mask(images, np.empty_like(images), mask, fill_values(images, AVG))
    assert np.array_equal(mrcfile.read(out), expected)


def test_pieces_that_do_not_fill_the_output_are_an_error_and_leave_no_file(tmp_path, rng):
    path = write_mrc(tmp_path / "a.mrcs", rng.normal(size=(3, 8, 8)))
    mask = build_mask(Circular(radius=3).resolve(8, 2), (8, 8))
    with (
        pytest.raises(ValueError, match="hold 3 rows, the output 4"),
        MrcStreamWriter(tmp_path / "o.mrcs", (4, 8, 8), "stack") as writer,
        MappedRows(inspect_image(path)) as rows,
    ):
        mask_stream.write_masked(writer, [(rows, 0, 3)], mask_stream.Masking.of(mask, FillParams(), "maskrun"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.mrcs"]


@pytest.mark.parametrize("forked", [False, True], ids=["threads", "processes"])
def test_a_failing_write_stops_every_worker_and_reaches_the_caller(tmp_path, rng, monkeypatch, forked):
    path = write_mrc(tmp_path / "a.mrcs", rng.normal(size=(40, 8, 8)))
    monkeypatch.setattr(mask_stream, "BUFFER_BYTES", 8 * 8 * 4)  # 40 tasks
    monkeypatch.setattr(mask_stream, "can_fork", lambda: forked)

    def disk_full(self, first_row, block):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(MrcStreamWriter, "write_rows", disk_full)
    with pytest.raises(OSError, match="No space left"):
        mask_mrc_file(path, tmp_path / "o.mrcs", mask=MaskSpec(geometry=Circular(radius=3)))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.mrcs"]


def _blas_threads() -> set[int]:
    return {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}


def test_workers_hold_blas_to_one_thread_and_give_the_setting_back(tmp_path, rng, monkeypatch):
    path = write_mrc(tmp_path / "a.mrcs", rng.normal(size=(6, 8, 8)))
    during, real_add = [], RunningStats.add

    def add(self, block):  # the statistics are where the workers call BLAS
        during.append(_blas_threads())
        real_add(self, block)

    monkeypatch.setattr(RunningStats, "add", add)
    with threadpool_limits(limits=2, user_api="blas"):  # so that 1 below is the run's doing, even on one core
        mask_mrc_file(path, tmp_path / "o.mrcs", mask=MaskSpec(geometry=Circular(radius=3)), fill=AVG)
        after = _blas_threads()
    assert during and all(threads == {1} for threads in during)
    assert after == {2}


@pytest.mark.parametrize("offset,spread", [(0.0, 1.0), (7.0, 1.0), (1e4, 1.0), (-3e3, 1e-2)])
def test_header_statistics_stay_exact_far_from_zero(offset, spread):
    data = np.random.default_rng(5).normal(offset, spread, (12, 64, 64)).astype(np.float32)
    stats, merged = RunningStats(), RunningStats()
    for i in range(0, 12, 5):
        stats.add(data[i : i + 5])
        part = RunningStats()
        part.add(data[i : i + 5])
        merged.merge(part)
    exact = data.astype(np.float64)
    for result in (stats.header_values(), merged.header_values()):
        assert result[:2] == (exact.min(), exact.max())
        assert result[2] == pytest.approx(exact.mean(), rel=2e-7, abs=1e-7 * spread)  # float32 in the header
        assert result[3] == pytest.approx(exact.std(), rel=1e-6)


def test_memory_does_not_grow_with_the_number_of_buffers_written(tmp_path, monkeypatch):
    import tracemalloc

    monkeypatch.setattr(mask_stream, "BUFFER_BYTES", 64 * 64 * 4)  # one buffer (and task) per image
    peaks = []
    for n in (64, 256):
        path = write_mrc(tmp_path / f"s{n}.mrcs", np.ones((n, 64, 64)))
        tracemalloc.start()
        mask_mrc_file(path, tmp_path / f"o{n}.mrcs", mask=MaskSpec(geometry=Circular(radius=20)), fill=AVG)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert peaks[1] < 1.5 * peaks[0]  # what is kept per written buffer is a few numbers, not arrays
