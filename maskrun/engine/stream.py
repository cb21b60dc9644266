"""Stream rows through a mask into an MRC file, at the speed of a file copy.

The input is memory-mapped. The output is cut into buffers of `BUFFER_BYTES` (16 MB),
and workers (one per core, two by default) each mask a buffer and write it at its place
in the file. Within a buffer, each small block of rows is masked straight from the map
and reduced for the header statistics while it is still in the core's cache. While one
worker waits on the file system's write lock the other computes: both cores stay busy.

The workers are forked processes when that is safe (`maskrun.engine.forked_workers`), which
share the buffers round-robin; otherwise threads, which take the next buffer as they
come free (NumPy and file writes release the GIL, but a block's short steps make threads
pass it back and forth).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from maskrun.config.fill import FillParams
from maskrun.config.mask_spec import Compat
from maskrun.engine.apply import fill_to_apply, mask_rows, repair_nonfinite, replaced_nonfinite
from maskrun.engine.background_fills import VolumeBackground
from maskrun.engine.forked_workers import can_fork, run_forked
from maskrun.geometry.masks import Mask
from maskrun.io.header_stats import RunningStats
from maskrun.io.image_info import MappedRows
from maskrun.io.mrc_writer import MrcStreamWriter

BLOCK_BYTES = 1 << 20  # masked and reduced in one go: with its source, fills a 2 MB L2 cache
BUFFER_BYTES = 16 << 20  # one worker's unit of work and of writing
WORKERS = 2  # measured on 2 cores: 3 or 4 threads are slower (writes to one file serialise)

# Rows ``start:stop`` of one mapped file; a sequence of them covers the output in order.
Piece = tuple[MappedRows, int, int]


def rows_per(nbytes: int, row_shape: tuple[int, ...]) -> int:
    """How many float32 rows of ``row_shape`` fit in ``nbytes`` (at least one)."""
    return max(1, nbytes // (int(np.prod(row_shape)) * 4))


@dataclass
class _Task:
    first_row: int  # of the output
    pieces: list[Piece]

    @property
    def rows(self) -> int:
        return sum(stop - start for _, start, stop in self.pieces)


def write_masked(
    writer: MrcStreamWriter,
    pieces: Iterable[Piece],
    mask: Mask,
    fill: FillParams,
    compat: Compat,
    volume_fill: np.ndarray | None = None,
    workers: int | None = None,
    first_index: int = 0,
    progress: Callable[[float], None] | None = None,
) -> None:
    """Mask every row of ``pieces`` into ``writer``.

    Parameters
    ----------
    writer
        Receives ``writer.shape_zyx[0]`` rows in all.
    pieces
        ``(mapped_file, start, stop)`` row ranges that cover the output in order. Rows are
        images of a stack (fill statistics per image), or z-slices of one volume when
        ``volume_fill`` is given.
    mask, fill, compat
        What to apply (see `maskrun.engine.apply.mask_rows`).
    volume_fill
        The whole volume's fill value (1 element, from `whole_volume_fill`) when masking a volume.
    workers
        Workers (default `WORKERS`): this process and ``workers - 1`` forked copies when
        that is safe (`can_fork`), otherwise threads. The result is the same either way,
        and for any number.
    first_index
        The position in the input set of the first image (or of the map): seeds noise.
    progress
        Called with the fraction done after each buffer, in this process (with forked
        workers, from this process's own share, which the round-robin keeps in step).

    Raises
    ------
    ValueError
        If the pieces do not add up to the writer's rows.
    """
    row_shape = writer.shape_zyx[1:]
    row_values, buffer_rows = int(np.prod(row_shape)), rows_per(BUFFER_BYTES, row_shape)
    tasks = _tasks(pieces, buffer_rows)
    applied_fill = fill_to_apply(mask, fill, compat)
    block_rows = rows_per(BLOCK_BYTES, row_shape)
    lock, failed, errors = threading.Lock(), threading.Event(), []
    done = [0, max(1, writer.shape_zyx[0])]  # rows this process has masked, of the rows it will mask

    def mask_task(task: _Task, buffer: np.ndarray) -> None:
        out_rows = buffer[: task.rows * row_values].reshape(task.rows, *row_shape)
        stats, filled = RunningStats(), 0
        for mapped, start, stop in task.pieces:
            mapped.read_ahead(start, stop)
            for a in range(start, stop, block_rows):
                b = min(stop, a + block_rows)
                source, out = mapped.rows(a, b), out_rows[filled : filled + b - a]
                mask_rows(source, out, mask, applied_fill, volume_fill, task.first_row + filled, first_index)
                kept = stats.add(out)
                if kept or mask.binary:  # NaN or inf kept, or (binary) replaced unseen: one sum tells
                    _nonfinite(source, out, task.first_row + filled, stats, kept)
                filled += b - a
        writer.write_rows(task.first_row, out_rows, stats)
        if progress is not None:
            with lock:
                done[0] += task.rows
                progress(min(1.0, done[0] / done[1]))
        for mapped, start, stop in task.pieces:
            mapped.release(start, stop)

    def _nonfinite(source: np.ndarray, out: np.ndarray, first_row: int, stats: RunningStats, kept: int) -> None:
        """Give the fill to NaN or inf a soft mask drops, and count those the fill replaced."""
        replaced = replaced_nonfinite(source, mask, None if volume_fill is None else first_row) if mask.binary else None
        if kept:
            repaired = repair_nonfinite(source, out, mask, applied_fill, volume_fill, first_row, first_index)
            if repaired.size:
                stats.add(repaired)
                stats.nonfinite -= repaired.size
                stats.replaced_nonfinite += repaired.size
        if replaced is not None:
            stats.replaced_nonfinite += int(replaced.sum())
        if kept or replaced is not None:
            rows = np.flatnonzero(~np.isfinite(np.asarray(source, np.float32).reshape(len(source), -1)).all(axis=1))
            stats.note_rows([first_row + int(r) for r in rows])

    def new_buffer() -> np.ndarray:
        return np.empty(buffer_rows * row_values, np.float32)

    def run_share(share: Sequence[_Task]) -> dict:
        buffer = new_buffer()
        for task in share:
            mask_task(task, buffer)
        written = writer.blocks_written()
        return {task.first_row: written[task.first_row] for task in share}

    def work() -> None:
        buffer = None
        try:
            while not failed.is_set():
                with lock:  # a generator is not thread-safe
                    task = next(tasks, None)
                if task is None:
                    return
                if buffer is None:
                    buffer = new_buffer()
                mask_task(task, buffer)
        except BaseException as exc:  # handed to the caller below
            errors.append(exc)
            failed.set()

    count = max(1, workers or WORKERS)
    # The workers already keep every core busy: OpenBLAS's own threads for a block's dot
    # product would only spin against them (measured: circular + avg 5% faster on 2 cores).
    with threadpool_limits(limits=1, user_api="blas"):
        if count > 1 and can_fork():
            task_list = list(tasks)
            done[1] = max(1, sum(task.rows for task in task_list[0 :: max(1, min(count, len(task_list)))]))
            shares = run_forked(task_list, max(1, min(count, len(task_list))), run_share)
            for blocks in shares[1:]:  # share 0 was written by this process: counted already
                writer.add_blocks_written(blocks)
        else:
            _run_threads(work, count, failed)
    if errors:
        raise errors[0]
    if writer.rows_written != writer.shape_zyx[0]:
        raise ValueError(f"the pieces hold {writer.rows_written} rows, the output {writer.shape_zyx[0]}")


def whole_volume_fill(
    rows: Callable[[int, int], np.ndarray],
    nz: int,
    row_shape: tuple[int, ...],
    fill: FillParams,
    release: Callable[[int, int], None] | None = None,
    mask: Mask | None = None,
) -> np.ndarray:
    """The fill of a whole volume, read in blocks of z-slices: 1 value, or mean and σ for noise.

    ``rows(start, stop)`` gives slices ``start:stop`` in any dtype; ``release(start, stop)``,
    if given, is called once they are used. Every fill but a value reads every slice (a
    first pass); ``background`` and ``noise`` need the volume's ``mask``.
    """
    if fill.with_ == "value":
        return np.array([fill.value])
    stats, background = RunningStats(), VolumeBackground()
    block = rows_per(BLOCK_BYTES, row_shape)
    for start in range(0, nz, block):
        stop = min(nz, start + block)
        slab = np.ascontiguousarray(rows(start, stop), dtype=np.float32)
        if fill.with_ in ("background", "noise"):
            if mask is None:
                raise ValueError(f"fill '{fill.with_}' needs the mask")
            background.add(slab, mask.values[start:stop])
        else:
            stats.add(slab)
        if release is not None:
            release(start, stop)
    if fill.with_ == "background":
        return np.array([background.mean()])
    if fill.with_ == "noise":
        return np.array(background.outside_mean_std())
    low, high, mean, _ = stats.header_values()
    return np.array([{"min": low, "max": high, "avg": mean}[fill.with_]])


def _run_threads(work: Callable[[], None], count: int, failed: threading.Event) -> None:
    threads = [threading.Thread(target=work, name=f"maskrun-{i}", daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            thread.join()
    finally:
        failed.set()  # on an interrupt, let the workers stop before the file is closed
        for thread in threads:
            thread.join()


def _tasks(pieces: Iterable[Piece], buffer_rows: int) -> Iterator[_Task]:
    """Cut the pieces into tasks of at most ``buffer_rows`` output rows."""
    task, first_row = _Task(0, []), 0
    for mapped, start, stop in pieces:
        while start < stop:
            take = min(stop - start, buffer_rows - task.rows)
            task.pieces.append((mapped, start, start + take))
            start += take
            if task.rows == buffer_rows:
                yield task
                first_row += task.rows
                task = _Task(first_row, [])
    if task.pieces:
        yield task
