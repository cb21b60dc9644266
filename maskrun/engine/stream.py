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

Where each row has a mask of its own (`PerImageMasking`: projected masks, shapes that follow
each particle), a worker makes the masks of a whole task at its start, in one call, into a
float32 buffer of the task's rows (a call's Python steps, a projection's phase ramps and
broadcasts say, cost as much for 4 particles as for 64), then applies them block by block. With
a second writer (``output.save_masks``) it writes them, as applied, at the rows of the masked
data, and their statistics are gathered as the output's are (block by block, combined in row
order): the masks are made once, by the workers that apply them.

Rows are masked in float32. For a float16 file each block is rounded to float16 where it is
masked, into the worker's float16 buffer that the writer then writes as it is, and its
statistics are taken from the float32s of those float16s: the header describes the values
stored, and each value is converted once (`maskrun.io.float16_rounding`).
"""

from __future__ import annotations

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
from maskrun.engine.per_image import apply_each
from maskrun.engine.workers import Forks, Threads
from maskrun.geometry.masks import Mask
from maskrun.io.float16_rounding import FLOAT16, from_float16, to_float16, use_compiled
from maskrun.io.header_stats import RunningStats
from maskrun.io.image_info import MappedRows
from maskrun.io.mrc_writer import MrcStreamWriter

BLOCK_BYTES = 1 << 20  # masked and reduced in one go: with its source, fills a 2 MB L2 cache
BUFFER_BYTES = 16 << 20  # one worker's unit of work and of writing
WORKERS = 2  # measured on 2 cores: 3 or 4 threads are slower (writes to one file serialise)
COMPILED_ROUNDING_FROM = 1 << 27  # values of a float16 file: compiled, it saves 3–6 ns a value; loading costs 0.5 s

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


# a task's first row, its rows, their statistics, and those of their masks when they are saved
Written = tuple[int, int, RunningStats, RunningStats | None]


@dataclass(frozen=True)
class Masking:
    """What every row gets: the mask, the fill, and where the rows sit in their set.

    Rows are images of a stack (fill statistics per image), or z-slices of one volume when
    ``volume_fill`` is given: the whole volume's fill value (1 element, from
    `whole_volume_fill`). ``first_index`` is the position in the input set of the first
    image (or of the map): it seeds noise. Build it with `Masking.of`.
    """

    mask: Mask
    fill: FillParams | None  # from `fill_to_apply`: None to multiply only
    volume_fill: np.ndarray | None = None
    first_index: int = 0

    @classmethod
    def of(
        cls, mask: Mask, fill: FillParams, compat: Compat, volume_fill: np.ndarray | None = None, first_index: int = 0
    ) -> Masking:
        """The masking ``compat`` makes of ``mask`` and ``fill`` (see `maskrun.engine.apply.fill_to_apply`)."""
        return cls(mask, fill_to_apply(mask, fill, compat), volume_fill, first_index)

    def block(
        self, source: np.ndarray, out: np.ndarray, first_row: int, stats: RunningStats, stored: np.ndarray
    ) -> None:
        """Mask rows ``source`` (the output's rows from ``first_row``) into ``out``, store them into ``stored`` and
        add them to ``stats`` (see `count_stored`)."""
        converted = from_float16(source, out)  # float16 rows into out: how many NaN or inf; None: NumPy casts them
        values = None if converted is None else out
        mask_rows(source, out, self.mask, self.fill, self.volume_fill, first_row, self.first_index, values)
        kept = count_stored(out, stored, stats)
        if kept or (self.mask.binary and converted != 0):  # NaN or inf kept, or (binary) replaced unseen
            self._nonfinite(source, out, first_row, stats, kept, stored)

    def _nonfinite(
        self, source: np.ndarray, out: np.ndarray, first_row: int, stats: RunningStats, kept: int, stored: np.ndarray
    ) -> None:
        """Give the fill to NaN or inf a soft mask drops, and count those the fill replaced."""
        mask, volume = self.mask, self.volume_fill
        replaced = replaced_nonfinite(source, mask, None if volume is None else first_row) if mask.binary else None
        if kept:
            repaired = repair_nonfinite(source, out, mask, self.fill, volume, first_row, self.first_index)
            if repaired.size:
                if stored is not out:  # the fills just given go into the float16 rows too
                    to_float16(out, stored)
                    to_float16(repaired)
                stats.add(repaired)
                stats.nonfinite -= repaired.size
                stats.replaced_nonfinite += repaired.size
        if replaced is not None:
            stats.replaced_nonfinite += int(replaced.sum())
        if kept or replaced is not None:
            rows = np.flatnonzero(~np.isfinite(np.asarray(source, np.float32).reshape(len(source), -1)).all(axis=1))
            stats.note_rows([first_row + int(r) for r in rows])


class PerImageMasking(Masking):
    """`Masking` where each row has a mask of its own, made by `masks_into` (``mask`` is then only a stand-in).

    Subclasses (`maskrun.engine.projected_masks.ProjectedMasking`,
    `maskrun.engine.following_masks.FollowingMasking`) say how a run of rows' masks is made;
    `write_masked`'s workers make those of a whole task in one call, and may save them.
    """

    def masks_into(self, first_row: int, out: np.ndarray) -> None:
        """Put the masks of rows ``first_row .. first_row + len(out)`` (of the rows masked) into float32 ``out``."""
        raise NotImplementedError

    def block(
        self,
        source: np.ndarray,
        out: np.ndarray,
        first_row: int,
        stats: RunningStats,
        stored: np.ndarray,
        masks: np.ndarray | None = None,
    ) -> None:
        """Mask rows ``source`` each with its own mask into ``out``, store and count them (as `Masking.block`).

        ``masks``: the rows' masks, from `masks_into`; made here when not given.
        """
        if masks is None:
            masks = np.empty(source.shape, np.float32)
            self.masks_into(first_row, masks)
        apply_each(source, out, masks, self.fill, self.first_index + first_row)
        count_stored(out, stored, stats)


def count_stored(out: np.ndarray, stored: np.ndarray, stats: RunningStats) -> int:
    """Put masked float32 rows ``out`` into ``stored``, the rows the writer takes, and add what they store to ``stats``.

    ``stored`` is ``out`` itself for a float32 file. For a float16 file it is float16 rows, and
    ``out`` is rounded in place to their values (`maskrun.io.float16_rounding.to_float16`: finite
    values beyond float16's range, noise drawn around data near ±65504 say, are held at its limit,
    not stored as inf, which would read as the input's NaN or inf) before they are counted.

    Returns
    -------
    int
        How many values were not finite (`RunningStats.add`).
    """
    if stored is not out:
        to_float16(out, stored)
    return stats.add(out)


def write_masked(
    writer: MrcStreamWriter,
    pieces: Iterable[Piece],
    masking: Masking,
    workers: int | None = None,
    progress: Callable[[float], None] | None = None,
    masks_writer: MrcStreamWriter | None = None,
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
    masks_writer
        A float32 file of the writer's shape (a `PerImageMasking` only) that receives each
        row's mask as applied, at the row's place, written by the workers that applied them.

    Raises
    ------
    ValueError
        If the pieces do not add up to the writer's rows, or ``masks_writer`` is given for
        a masking that has no mask of each row's own.
    """
    if masks_writer is not None and (
        not isinstance(masking, PerImageMasking)
        or masks_writer.shape_zyx != writer.shape_zyx
        or masks_writer.dtype != np.float32
    ):
        raise ValueError("only a per-image masking saves its masks, into a float32 file of the output's shape")
    if writer.dtype == FLOAT16 and int(np.prod(writer.shape_zyx)) >= COMPILED_ROUNDING_FROM:
        use_compiled()  # before the forks, which inherit it
    tasks = list(_tasks(pieces, rows_per(BUFFER_BYTES, writer.shape_zyx[1:])))
    count = max(1, workers or WORKERS)
    strategy = Forks(count) if count > 1 and can_fork() else Threads(count)
    # The workers already keep every core busy: OpenBLAS's own threads for a block's dot
    # product would only spin against them (measured: circular + avg 5% faster on 2 cores).
    with threadpool_limits(limits=1, user_api="blas"):
        start = functools.partial(_Worker, writer, masking, masks_writer)
        written: list[Written] = strategy.run(tasks, start, progress)
    for first_row, rows, stats, mask_stats in written:
        writer.add_statistics(first_row, rows, stats)
        if masks_writer is not None:
            assert mask_stats is not None  # the workers gather them when there is a masks writer
            masks_writer.add_statistics(first_row, rows, mask_stats)
    if writer.rows_written != writer.shape_zyx[0]:
        raise ValueError(f"the pieces hold {writer.rows_written} rows, the output {writer.shape_zyx[0]}")


class _Worker:
    """One worker's task function: mask a task's rows into the worker's buffer, block by block, and write it.

    The buffer holds rows as the file stores them. For a float16 file each block is masked into
    a float32 block of its own first, which stays in the core's cache until it is rounded into
    the buffer. A `PerImageMasking`'s masks for the whole task are made first, into a float32
    buffer of the same rows, and written to ``masks_writer`` (if any) after the masked rows.
    """

    def __init__(self, writer: MrcStreamWriter, masking: Masking, masks_writer: MrcStreamWriter | None = None):
        self.writer, self.masking, self.masks_writer = writer, masking, masks_writer
        self.row_shape = writer.shape_zyx[1:]
        self.row_size = int(np.prod(self.row_shape))
        self.block_rows = rows_per(BLOCK_BYTES, self.row_shape)
        buffer_size = rows_per(BUFFER_BYTES, self.row_shape) * self.row_size
        self.buffer = np.empty(buffer_size, writer.dtype)
        self.work = None if writer.dtype != FLOAT16 else np.empty(self.block_rows * self.row_size, np.float32)
        self.per_image = masking if isinstance(masking, PerImageMasking) else None
        self.masks = None if self.per_image is None else np.empty(buffer_size, np.float32)

    def __call__(self, task: _Task) -> Written:
        stored_rows = self.buffer[: task.rows * self.row_size].reshape(task.rows, *self.row_shape)
        masks = None if self.masks is None else self.masks[: task.rows * self.row_size].reshape(stored_rows.shape)
        if masks is not None and self.per_image is not None:  # one call a task (the module's docstring says why)
            self.per_image.masks_into(task.first_row, masks)
        stats, filled = RunningStats(), 0
        mask_stats = RunningStats() if self.masks_writer is not None else None
        for mapped, start, stop in task.pieces:
            mapped.read_ahead(start, stop)
            for a in range(start, stop, self.block_rows):
                b = min(stop, a + self.block_rows)
                rows, first_row = slice(filled, filled + b - a), task.first_row + filled
                stored = stored_rows[rows]
                out = stored if self.work is None else self.work[: stored.size].reshape(stored.shape)
                if masks is None or self.per_image is None:
                    self.masking.block(mapped.rows(a, b), out, first_row, stats, stored)
                else:
                    self.per_image.block(mapped.rows(a, b), out, first_row, stats, stored, masks[rows])
                    if mask_stats is not None:  # counted as the output's are, block by block
                        mask_stats.add(masks[rows])
                filled += b - a
        self.writer.write_rows(task.first_row, stored_rows)
        if self.masks_writer is not None and masks is not None:
            self.masks_writer.write_rows(task.first_row, masks)
        for mapped, start, stop in task.pieces:
            mapped.release(start, stop)
        return task.first_row, task.rows, stats, mask_stats


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
