"""Stream rows through a mask into an MRC file, at the speed of a file copy.

The input is memory-mapped. The output is cut into buffers of `BUFFER_BYTES` (16 MB),
and workers (one per core, two by default) each mask a buffer and write it at its place
in the file. Within a buffer, each small block of rows is masked straight from the map
and reduced for the header statistics while it is still in the core's cache. While one
worker waits on the file system's write lock the other computes: both cores stay busy.

Three parts: a plan (the rows of the output cut into tasks of one buffer each, `_tasks`),
a strategy that runs the tasks on the workers (`maskrun.engine.workers`: forked processes
when that is safe, which share the tasks round-robin; otherwise threads, which take the
next task as they come free: NumPy and file writes release the GIL, but a block's short
steps make threads pass it back and forth), and the writer that takes the masked rows and,
once every task is done, their statistics in row order (`maskrun.io.mrc_writer`).

Rows are masked in float32. For a float16 file each block is rounded to float16 where it is
masked, before its statistics are taken, so that the header describes the values stored.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from maskrun.config.fill import FillParams
from maskrun.config.mask_spec import Compat
from maskrun.engine.apply import fill_to_apply, mask_rows, repair_nonfinite, replaced_nonfinite
from maskrun.engine.background_fills import VolumeBackground
from maskrun.engine.fills import FILLS
from maskrun.engine.forked_workers import can_fork
from maskrun.engine.workers import Forks, Threads
from maskrun.geometry.masks import Mask
from maskrun.io.header_stats import RunningStats
from maskrun.io.image_info import MappedRows
from maskrun.io.mrc_writer import FLOAT32, MrcStreamWriter

BLOCK_BYTES = 1 << 20  # masked and reduced in one go: with its source, fills a 2 MB L2 cache
BUFFER_BYTES = 16 << 20  # one worker's unit of work and of writing
WORKERS = 2  # measured on 2 cores: 3 or 4 threads are slower (writes to one file serialise)

# Rows ``start:stop`` of one mapped file; a sequence of them covers the output in order.
Piece = tuple[MappedRows, int, int]


def rows_per(nbytes: int, row_shape: tuple[int, ...]) -> int:
    """How many float32 rows of ``row_shape`` fit in ``nbytes`` (at least one)."""
    return max(1, nbytes // (int(np.prod(row_shape)) * 4))


@dataclass(slots=True)
class _Task:
    first_row: int  # of the output
    pieces: list[Piece]

    @property
    def rows(self) -> int:
        return sum(stop - start for _, start, stop in self.pieces)

    def __len__(self) -> int:  # a task's weight, for progress
        return self.rows


Written = tuple[int, int, RunningStats]  # a task's first row, its rows, their statistics


@dataclass(frozen=True)
class Masking:
    """What every row gets: the mask, the fill, and where the rows sit in their set.

    Rows are images of a stack (fill statistics per image), or z-slices of one volume when
    ``volume_fill`` is given: the whole volume's fill value (1 element, from
    `whole_volume_fill`). ``first_index`` is the position in the input set of the first
    image (or of the map): it seeds noise. ``dtype`` is the output file's (`write_masked`
    sets it from its writer): float16 rows are rounded to it before they are counted. Build
    it with `Masking.of`.
    """

    mask: Mask
    fill: FillParams | None  # from `fill_to_apply`: None to multiply only
    volume_fill: np.ndarray | None = None
    first_index: int = 0
    dtype: np.dtype = dataclasses.field(default=FLOAT32, kw_only=True)  # kw_only: subclasses add fields after it

    @classmethod
    def of(
        cls, mask: Mask, fill: FillParams, compat: Compat, volume_fill: np.ndarray | None = None, first_index: int = 0
    ) -> Masking:
        """The masking ``compat`` makes of ``mask`` and ``fill`` (see `maskrun.engine.apply.fill_to_apply`)."""
        return cls(mask, fill_to_apply(mask, fill, compat), volume_fill, first_index)

    def block(self, source: np.ndarray, out: np.ndarray, first_row: int, stats: RunningStats) -> None:
        """Mask rows ``source`` (the output's rows from ``first_row``) into ``out``, and add them to ``stats``."""
        mask_rows(source, out, self.mask, self.fill, self.volume_fill, first_row, self.first_index)
        kept = stats.add(self.as_stored(out))
        if kept or self.mask.binary:  # NaN or inf kept, or (binary) replaced unseen: one sum tells
            self._nonfinite(source, out, first_row, stats, kept)

    def as_stored(self, values: np.ndarray) -> np.ndarray:
        """float32 ``values`` rounded in place to what the output stores (`dtype`), as the writer rounds them.

        Finite values beyond float16's range (±65504: noise drawn around data near it) are held at its limit,
        not stored as inf, which would read as the input's NaN or inf.
        """
        if self.dtype != FLOAT32:
            limit = float(np.finfo(self.dtype).max)
            np.clip(values, -limit, limit, out=values, where=np.isfinite(values))
            values[...] = values.astype(self.dtype)
        return values

    def _nonfinite(self, source: np.ndarray, out: np.ndarray, first_row: int, stats: RunningStats, kept: int) -> None:
        """Give the fill to NaN or inf a soft mask drops, and count those the fill replaced."""
        mask, volume = self.mask, self.volume_fill
        replaced = replaced_nonfinite(source, mask, None if volume is None else first_row) if mask.binary else None
        if kept:
            repaired = repair_nonfinite(source, out, mask, self.fill, volume, first_row, self.first_index)
            if repaired.size:
                stats.add(self.as_stored(repaired))
                stats.nonfinite -= repaired.size
                stats.replaced_nonfinite += repaired.size
        if replaced is not None:
            stats.replaced_nonfinite += int(replaced.sum())
        if kept or replaced is not None:
            rows = np.flatnonzero(~np.isfinite(np.asarray(source, np.float32).reshape(len(source), -1)).all(axis=1))
            stats.note_rows([first_row + int(r) for r in rows])


def write_masked(
    writer: MrcStreamWriter,
    pieces: Iterable[Piece],
    masking: Masking,
    workers: int | None = None,
    progress: Callable[[float], None] | None = None,
) -> None:
    """Mask every row of ``pieces`` into ``writer``.

    Parameters
    ----------
    writer
        Receives ``writer.shape_zyx[0]`` rows in all.
    pieces
        ``(mapped_file, start, stop)`` row ranges that cover the output in order.
    masking
        What to apply (see `Masking`).
    workers
        Workers (default `WORKERS`): this process and ``workers - 1`` forked copies when
        that is safe (`can_fork`), otherwise threads. The result is the same either way,
        and for any number.
    progress
        Called with the fraction done after each buffer, in this process (with forked
        workers, of this process's own share, which the round-robin keeps in step).

    Raises
    ------
    ValueError
        If the pieces do not add up to the writer's rows.
    """
    if masking.dtype != writer.dtype:  # the statistics must be those of the values the file stores
        masking = dataclasses.replace(masking, dtype=writer.dtype)
    tasks = list(_tasks(pieces, rows_per(BUFFER_BYTES, writer.shape_zyx[1:])))
    count = max(1, workers or WORKERS)
    strategy = Forks(count) if count > 1 and can_fork() else Threads(count)
    # The workers already keep every core busy: OpenBLAS's own threads for a block's dot
    # product would only spin against them (measured: circular + avg 5% faster on 2 cores).
    with threadpool_limits(limits=1, user_api="blas"):
        written: list[Written] = strategy.run(tasks, functools.partial(_Worker, writer, masking), progress)
    for first_row, rows, stats in written:
        writer.add_statistics(first_row, rows, stats)
    if writer.rows_written != writer.shape_zyx[0]:
        raise ValueError(f"the pieces hold {writer.rows_written} rows, the output {writer.shape_zyx[0]}")


class _Worker:
    """One worker's task function: mask a task's rows into the worker's buffer, block by block, and write it."""

    def __init__(self, writer: MrcStreamWriter, masking: Masking):
        self.writer, self.masking = writer, masking
        self.row_shape = writer.shape_zyx[1:]
        self.block_rows = rows_per(BLOCK_BYTES, self.row_shape)
        self.buffer = np.empty(rows_per(BUFFER_BYTES, self.row_shape) * int(np.prod(self.row_shape)), np.float32)

    def __call__(self, task: _Task) -> Written:
        out_rows = self.buffer[: task.rows * int(np.prod(self.row_shape))].reshape(task.rows, *self.row_shape)
        stats, filled = RunningStats(), 0
        for mapped, start, stop in task.pieces:
            mapped.read_ahead(start, stop)
            for a in range(start, stop, self.block_rows):
                b = min(stop, a + self.block_rows)
                self.masking.block(mapped.rows(a, b), out_rows[filled : filled + b - a], task.first_row + filled, stats)
                filled += b - a
        self.writer.write_rows(task.first_row, out_rows)
        for mapped, start, stop in task.pieces:
            mapped.release(start, stop)
        return task.first_row, task.rows, stats


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
    rule = FILLS[fill.with_]
    stats, background = RunningStats(), VolumeBackground()
    if rule.gathers != "nothing":
        if rule.needs_mask and mask is None:
            raise ValueError(f"fill '{fill.with_}' needs the mask")
        block = rows_per(BLOCK_BYTES, row_shape)
        for start in range(0, nz, block):
            stop = min(nz, start + block)
            slab = np.ascontiguousarray(rows(start, stop), dtype=np.float32)
            if rule.gathers == "background":
                assert mask is not None
                background.add(slab, mask.values[start:stop])
            else:
                stats.add(slab)
            if release is not None:
                release(start, stop)
    return rule.volume(stats, background, fill)


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
