"""Write a float32 (or float16) MRC file in blocks of rows, atomically: its header, its data and their statistics.

Data go to a temporary file beside the target (`maskrun.io.atomic`); only a complete
file, with header statistics combined from those of the blocks written, is renamed to
the final name. A failed or killed run therefore never leaves a truncated file under a
final name. Rows may be written at any place, by any thread or any copy of the
process (`write_rows`); their statistics are counted apart (`add_statistics`), by
whoever knows them: the writer does not care which process wrote what.

Rows come in as float32, or already as the file stores them; a float16 file (MRC mode 12, as
RELION 4 and 5 write particles with ``--float16``) stores float32 rows rounded to nearest
(`written_dtype` says which a masked file is).
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType

import mrcfile
import mrcfile.utils
import numpy as np

from maskrun._version import __version__
from maskrun.errors import MaskrunWarning, UserError
from maskrun.io.atomic import AtomicFile, name_final
from maskrun.io.float16_rounding import FLOAT16, to_float16
from maskrun.io.header_stats import RunningStats
from maskrun.io.image_info import Kind
from maskrun.io.mrc_reader import MRC_SUFFIXES

FLOAT32 = np.dtype(np.float32)

MASKED = "masked"
"""What maskrun's label says of masked data (``maskrun 0.1.0: masked``); a mask's label says what it is instead."""
MADE_BY_MAKE_MASK = "a mask made by make-mask"
"""What the label of a mask ``maskrun make-mask`` wrote says; the labels before it say how (`made_by`)."""


def made_by(labels: Sequence[str]) -> str | None:
    """How ``maskrun make-mask`` made a mask, from its MRC labels as stored (`stored_labels`: 80 characters each, not
    stripped): the command and any threshold rule's number it wrote, cut every 80 characters, in the labels before
    its own; None for a file it did not make."""
    for index, label in enumerate(labels):
        if re.fullmatch(rf"maskrun [^ :]+: {MADE_BY_MAKE_MASK}", label.strip()):
            return "".join(labels[:index]).strip() or None
    return None


def stored_labels(path: Path) -> list[str]:
    """An MRC file's labels as stored (its ``nlabl`` first; spaces kept, ASCII), for `made_by`; [] if unreadable."""
    try:
        with mrcfile.open(path, header_only=True, permissive=True) as mrc:
            header = mrc.header
            return [bytes(label).decode("ascii", "replace") for label in header.label[: int(header.nlabl)]]
    except (OSError, ValueError):
        return []


def maskrun_label(holds: str) -> str:
    """The label maskrun adds to a file it writes: its version and what the file ``holds`` (no date)."""
    return f"maskrun {__version__}: {holds}"


def is_maskrun_label(label: bytes) -> bool:
    """Whether an MRC label (its 80 bytes) is one `maskrun_label` wrote, in this version or another."""
    return re.match(rb"maskrun [^ :]+: ", label) is not None


def written_dtype(inputs: Iterable[np.dtype], keep_float16: bool = True) -> np.dtype:
    """The dtype of masked data made from images of dtypes ``inputs``: float16 when every input is float16 (MRC
    mode 12) and ``keep_float16``, else float32 (other modes, integers among them, hold no masked fractions)."""
    dtypes = list(inputs)
    half = keep_float16 and bool(dtypes) and all(d.kind == "f" and d.itemsize == 2 for d in dtypes)
    return FLOAT16 if half else FLOAT32


def check_mrc_name(path: Path, kind: Kind, one_image: bool = False) -> None:
    """Refuse an output name that does not say MRC: maskrun writes MRC bytes, whatever the name.

    The name proposed says what the file holds: ``.mrcs`` a stack (``kind``), ``.mrc`` a map or
    one 2D image (``one_image``: a 2D mask, as Xmipp's ``mask.xmp``).

    Raises
    ------
    UserError
        Naming the output and an MRC name to use instead.
    """
    if path.suffix.lower() not in MRC_SUFFIXES:
        suffix = ".mrcs" if kind == "stack" and not one_image else ".mrc"
        better = path.with_name(path.name.removesuffix(".gz")).with_suffix(suffix).name
        raise UserError(
            f"maskrun writes MRC files only, not {path.suffix or 'a file without an extension'}; use an MRC name "
            f"such as {better} ({', '.join(MRC_SUFFIXES)})",
            source=str(path),
        )


def warn_of_a_stack_named_mrc(path: Path, count: int) -> None:
    """Warn when a stack of several images is named ``.mrc``: RELION reads such a file as one volume.

    Warns
    -----
    MaskrunWarning
        Naming the file and the ``.mrcs`` name RELION reads as a stack (``2@x.mrc`` fails there).
    """
    if count > 1 and path.suffix.lower() == ".mrc":
        warnings.warn(
            f"{path}: a stack of {count} images named .mrc is read by RELION as one volume (2@{path.name} "
            f"fails there); name it {path.with_suffix('.mrcs').name} for RELION",
            MaskrunWarning,
            stacklevel=2,
        )


class MrcStreamWriter:
    """Write an MRC file of known shape from blocks of rows, stored as float32 or float16.

    Parameters
    ----------
    path
        Final file name; the data go to a hidden temporary name in the same folder.
    shape_zyx
        ``(n, ny, nx)`` for a stack of n images, ``(nz, ny, nx)`` for a volume.
    kind
        ``"stack"`` (ispg 0) or ``"volume"`` (ispg 1).
    voxel_size_xyz, origin_xyz, nstart_xyz
        Kept from the input.
    axis_map, cell_angstrom, sampling_xyz
        The input's mapc/mapr/maps, cella and mx/my/mz, copied as they are when its axes
        are stored in another order than x, y, z (so each axis keeps its voxel size).
    labels
        Text labels to keep; maskrun adds one of its own (no date, so that the same job
        gives the same bytes).
    holds
        What that label says the file holds (`maskrun_label`): masked data (`MASKED`), or a mask.
    dtype
        float32 (mode 2) or float16 (mode 12): float32 rows are rounded to it as they are
        written, and the header statistics are those of the rounded values (`write` rounds
        before it counts; whoever calls `add_statistics` counts values already rounded, see
        `maskrun.engine.stream.count_stored`, which hands `write_rows` float16 rows).

    Use as a context manager: blocks go in with `write` (appended in order, with their
    statistics), or with `write_rows` (at any row, from any thread or process) and
    `add_statistics`; the file appears under its final name when the block ends without
    an exception, and the temporary is deleted otherwise.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        shape_zyx: tuple[int, int, int],
        kind: Kind,
        voxel_size_xyz: tuple[float, float, float] = (0.0, 0.0, 0.0),
        origin_xyz: tuple[float, float, float] = (0.0, 0.0, 0.0),
        nstart_xyz: tuple[int, int, int] = (0, 0, 0),
        labels: tuple[str, ...] = (),
        axis_map: tuple[int, int, int] = (1, 2, 3),
        cell_angstrom: tuple[float, float, float] | None = None,
        sampling_xyz: tuple[int, int, int] | None = None,
        holds: str = MASKED,
        dtype: np.dtype = FLOAT32,
    ):
        if np.dtype(dtype) not in (FLOAT32, FLOAT16):
            raise ValueError(f"maskrun writes float32 or float16 MRC files, not {np.dtype(dtype)}")
        self.path = Path(path)
        self.dtype = np.dtype(dtype)
        self.shape_zyx = tuple(int(n) for n in shape_zyx)
        self._file = AtomicFile(self.path)
        self.tmp_path = self._file.tmp
        self.rows_written = 0
        self.statistics: RunningStats | None = None  # of everything written, once committed
        self._total, self._next_row = RunningStats(), 0  # the statistics of rows 0 .. _next_row - 1
        self._pending: dict[int, tuple[int, RunningStats]] = {}  # counted after a gap: first row -> (rows, stats)
        self._fd = -1
        try:  # an interrupt while the file is being made must not leave it behind
            mode = mrcfile.utils.mode_from_dtype(self.dtype)
            with mrcfile.new_mmap(self.tmp_path, self.shape_zyx, mrc_mode=mode, overwrite=True) as mrc:
                if kind == "stack":
                    mrc.set_image_stack()
                else:
                    mrc.set_volume()
                mrc.voxel_size = tuple(voxel_size_xyz)
                if axis_map != (1, 2, 3) and cell_angstrom is not None and sampling_xyz is not None:
                    mrc.header.mapc, mrc.header.mapr, mrc.header.maps = axis_map
                    mrc.header.mx, mrc.header.my, mrc.header.mz = sampling_xyz
                    mrc.header.cella = cell_angstrom
                mrc.header.origin = tuple(origin_xyz)
                mrc.nstart = tuple(nstart_xyz)
                kept = [label for label in labels if not label.startswith("maskrun")][:9]
                mrc.header.label = [b""] * 10
                mrc.header.nlabl = 0
                for label in [*kept, maskrun_label(holds)]:
                    mrc.add_label(label[:80])
                self._header = mrc.header.copy()
                self.data_offset = 1024 + int(mrc.header.nsymbt)
            self._fd = os.open(self.tmp_path, os.O_WRONLY)
        except BaseException as exc:
            self._file.discard()
            name_final(exc, self.path, self.tmp_path)
            raise
        self._row_bytes = self.shape_zyx[1] * self.shape_zyx[2] * self.dtype.itemsize

    def write_rows(self, first_row: int, block: np.ndarray) -> None:
        """Write rows ``(k, ny, nx)`` at ``first_row``, from any thread or process that holds this writer.

        Rows of `dtype` are written as they are; float32 rows of a float16 file are rounded as
        the engine rounds them (`to_float16`: to nearest, ties to even, finite values beyond
        ±65504 held there rather than stored as inf).

        The rows count as written once `add_statistics` is told of them.
        """
        block = self._as_stored(block)
        if block.shape[1:] != self.shape_zyx[1:] or not 0 <= first_row <= self.shape_zyx[0] - len(block):
            raise ValueError(f"block {block.shape} at row {first_row} does not fit {self.shape_zyx}")
        data = memoryview(block.reshape(-1)).cast("B")  # type: ignore[arg-type]  # ndarray is a buffer
        offset, written = self.data_offset + first_row * self._row_bytes, 0
        while written < data.nbytes:  # pwrite may write less than asked
            written += os.pwrite(self._fd, data[written:], offset + written)

    def add_statistics(self, first_row: int, rows: int, stats: RunningStats) -> None:
        """Count ``rows`` rows written at ``first_row``, with their statistics (one thread at a time).

        Statistics are combined in row order (those after a gap wait for it), so the header
        does not depend on the order blocks were written or counted in.
        """
        if first_row < self._next_row or first_row in self._pending:
            raise ValueError(f"row {first_row} of {self.path} written twice")
        self._pending[first_row] = rows, stats
        self.rows_written += rows
        while self._next_row in self._pending:
            rows, stats = self._pending.pop(self._next_row)
            self._total.merge(stats)
            self._next_row += rows

    def write(self, block: np.ndarray) -> None:
        """Append rows after those written so far, with their statistics (of the values as stored)."""
        block = self._as_stored(block)
        stats = RunningStats()
        stats.add(block.astype(np.float32, copy=False))
        first_row = self.rows_written
        self.write_rows(first_row, block)
        self.add_statistics(first_row, len(block), stats)

    def _as_stored(self, block: np.ndarray) -> np.ndarray:
        """``block`` as the file stores it, C-contiguous; the caller's array is never changed."""
        if self.dtype != FLOAT16 or block.dtype == FLOAT16:
            return np.ascontiguousarray(block, dtype=self.dtype)
        return to_float16(np.array(block, dtype=np.float32, order="C"))  # a copy: to_float16 rounds it in place

    def commit(self) -> Path:
        """Write the header statistics and rename the file to its final name."""
        if self.rows_written != self.shape_zyx[0] or self._pending:
            raise ValueError(f"{self.path}: wrote {self.rows_written} of {self.shape_zyx[0]} rows")
        self.statistics = self._total
        h = self._header
        h.dmin, h.dmax, h.dmean, h.rms = self._total.header_values()
        try:
            os.pwrite(self._fd, h.tobytes(), 0)
            fd, self._fd = self._fd, -1
            os.close(fd)  # a network filesystem may report a full disk only here
        except BaseException as exc:
            self.abort()
            name_final(exc, self.path, self.tmp_path)
            raise
        return self._file.commit()

    def abort(self) -> None:
        """Close and delete the temporary file."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        self._file.discard()

    def __enter__(self) -> MrcStreamWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()
            name_final(exc, self.path, self.tmp_path)  # a worker's write: a full disk names no file
