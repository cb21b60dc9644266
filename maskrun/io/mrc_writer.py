"""Write a float32 MRC file in blocks of rows, atomically, from several workers at once.

Data go to a temporary file beside the target; only a complete file, with header
statistics computed from the data written, is renamed to the final name. A failed or
killed run therefore never leaves a truncated file under a final name.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from types import TracebackType
from typing import Literal

import mrcfile
import numpy as np

from maskrun._version import __version__
from maskrun.errors import UserError
from maskrun.io.header_stats import RunningStats

Kind = Literal["stack", "volume"]
MRC_SUFFIXES = (".mrc", ".mrcs", ".map", ".st", ".ali", ".rec")


def check_mrc_name(path: Path, kind: Kind) -> None:
    """Refuse an output name that does not say MRC: maskrun writes MRC bytes, whatever the name.

    Raises
    ------
    UserError
        Naming the output and an MRC name to use instead.
    """
    if path.suffix.lower() not in MRC_SUFFIXES:
        better = path.with_name(path.name.removesuffix(".gz")).with_suffix(".mrcs" if kind == "stack" else ".mrc").name
        raise UserError(
            f"maskrun writes MRC files only, not {path.suffix or 'a file without an extension'}; use an MRC name "
            f"such as {better} ({', '.join(MRC_SUFFIXES)})",
            source=str(path),
        )


class MrcStreamWriter:
    """Write an MRC file of known shape from float32 blocks of rows.

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

    Use as a context manager: blocks go in with `write_rows` (at any row, from any
    thread) or `write` (appended in order); the file appears under its final name when
    the block ends without an exception, and the temporary is deleted otherwise.
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
    ):
        self.path = Path(path)
        self.shape_zyx = tuple(int(n) for n in shape_zyx)
        self.tmp_path = self.path.with_name(f".{self.path.name}.part-{os.getpid()}")
        self.rows_written = 0
        self.statistics: RunningStats | None = None  # of everything written, once committed
        self._blocks: dict[int, tuple[int, RunningStats]] = {}  # first row -> (rows, their statistics)
        self._lock = threading.Lock()
        self._fd = -1
        try:  # an interrupt while the file is being made must not leave it behind
            with mrcfile.new_mmap(self.tmp_path, self.shape_zyx, mrc_mode=2, overwrite=True) as mrc:
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
                for label in [*kept, f"maskrun {__version__}: masked"]:
                    mrc.add_label(label[:80])
                self._header = mrc.header.copy()
                self.data_offset = 1024 + int(mrc.header.nsymbt)
            self._fd = os.open(self.tmp_path, os.O_WRONLY)
        except BaseException:
            self.tmp_path.unlink(missing_ok=True)
            raise
        self._row_bytes = self.shape_zyx[1] * self.shape_zyx[2] * 4

    def write_rows(self, first_row: int, block: np.ndarray, stats: RunningStats | None = None) -> None:
        """Write float32 rows ``(k, ny, nx)`` at ``first_row``; safe to call from several threads.

        ``stats`` are the block's statistics when the caller has them already (computed
        while the block was in its cache); otherwise they are computed here. Statistics
        are combined in row order at the end, so the header does not depend on which
        thread wrote what when.
        """
        block = np.ascontiguousarray(block, dtype=np.float32)
        if block.shape[1:] != self.shape_zyx[1:] or not 0 <= first_row <= self.shape_zyx[0] - len(block):
            raise ValueError(f"block {block.shape} at row {first_row} does not fit {self.shape_zyx}")
        if stats is None:
            stats = RunningStats()
            stats.add(block)
        data = memoryview(block.reshape(-1)).cast("B")  # type: ignore[arg-type]  # ndarray is a buffer
        offset, written = self.data_offset + first_row * self._row_bytes, 0
        while written < data.nbytes:  # pwrite may write less than asked
            written += os.pwrite(self._fd, data[written:], offset + written)
        self._record({first_row: (len(block), stats)})

    def blocks_written(self) -> dict[int, tuple[int, RunningStats]]:
        """What `write_rows` wrote so far: first row → (rows, their statistics)."""
        with self._lock:
            return dict(self._blocks)

    def add_blocks_written(self, blocks: dict[int, tuple[int, RunningStats]]) -> None:
        """Count blocks that another process wrote into the same temporary file (a copy of this writer)."""
        self._record(blocks)

    def _record(self, blocks: dict[int, tuple[int, RunningStats]]) -> None:
        with self._lock:
            for first_row, (rows, stats) in blocks.items():
                if first_row in self._blocks:
                    raise ValueError(f"row {first_row} of {self.path} written twice")
                self._blocks[first_row] = rows, stats
                self.rows_written += rows

    def write(self, block: np.ndarray) -> None:
        """Append rows after those written so far (one thread only)."""
        self.write_rows(self.rows_written, block)

    def commit(self) -> Path:
        """Write the header statistics and rename the file to its final name."""
        if self.rows_written != self.shape_zyx[0]:
            raise ValueError(f"{self.path}: wrote {self.rows_written} of {self.shape_zyx[0]} rows")
        total = RunningStats()
        for row in sorted(self._blocks):
            total.merge(self._blocks[row][1])
        self.statistics = total
        h = self._header
        h.dmin, h.dmax, h.dmean, h.rms = total.header_values()
        os.pwrite(self._fd, h.tobytes(), 0)
        os.close(self._fd)
        self._fd = -1
        os.replace(self.tmp_path, self.path)
        return self.path

    def abort(self) -> None:
        """Close and delete the temporary file."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        self.tmp_path.unlink(missing_ok=True)

    def __enter__(self) -> MrcStreamWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()
