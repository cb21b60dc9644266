"""Write a float32 MRC file chunk by chunk, atomically.

Data go to a temporary file beside the target; only a complete file, with header
statistics computed from the data written, is renamed to the final name. A failed or
killed run therefore never leaves a truncated file under a final name.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import mrcfile
import numpy as np

from maskrun import __version__
from maskrun.streaming import BackgroundWriter

Kind = Literal["stack", "volume"]


class _RunningStats:
    """min, max, mean and standard deviation over chunks, accumulated in float64."""

    def __init__(self) -> None:
        self.count = 0
        self.minimum = np.inf
        self.maximum = -np.inf
        self.sum = 0.0
        self.sum_sq = 0.0

    # Two halves, so that the caller's thread and the writer thread share the work.
    def add_range_and_sum(self, chunk: np.ndarray) -> None:
        if chunk.size == 0:
            return
        flat = chunk.reshape(-1)
        self.minimum = min(self.minimum, float(flat.min()))
        self.maximum = max(self.maximum, float(flat.max()))
        self.sum += float(np.add.reduce(flat, dtype=np.float64))
        self.count += flat.size

    def add_squares(self, chunk: np.ndarray) -> None:
        flat = chunk.reshape(-1)
        self.sum_sq += float(np.einsum("i,i->", flat, flat, dtype=np.float64))

    def header_values(self) -> tuple[float, float, float, float]:
        mean = self.sum / self.count
        variance = max(self.sum_sq / self.count - mean**2, 0.0)
        return self.minimum, self.maximum, mean, float(np.sqrt(variance))


class MrcStreamWriter:
    """Write an MRC file of known shape from consecutive float32 chunks.

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
    labels
        Text labels to keep; maskrun adds one of its own (no date, so that the same job
        gives the same bytes).

    Use as a context manager: chunks go in with `write`, the file appears under its
    final name when the block ends without an exception, and the temporary is deleted
    otherwise. Statistics and the write itself run on a background thread.
    """

    def __init__(self, path: str | os.PathLike, shape_zyx: tuple[int, int, int], kind: Kind,
                 voxel_size_xyz=(0.0, 0.0, 0.0), origin_xyz=(0.0, 0.0, 0.0),
                 nstart_xyz=(0, 0, 0), labels: tuple[str, ...] = ()):
        self.path = Path(path)
        self.shape_zyx = tuple(int(n) for n in shape_zyx)
        self.tmp_path = self.path.with_name(f".{self.path.name}.part-{os.getpid()}")
        self.rows_written = 0
        self._stats = _RunningStats()
        with mrcfile.new_mmap(self.tmp_path, self.shape_zyx, mrc_mode=2, overwrite=True) as mrc:
            if kind == "stack":
                mrc.set_image_stack()
            else:
                mrc.set_volume()
            mrc.voxel_size = tuple(voxel_size_xyz)
            mrc.header.origin = tuple(origin_xyz)
            mrc.nstart = tuple(nstart_xyz)
            kept = [label for label in labels if not label.startswith("maskrun")][:9]
            mrc.header.label = [b""] * 10
            mrc.header.nlabl = 0
            for label in [*kept, f"maskrun {__version__}: masked"]:
                mrc.add_label(label[:80])
            self._header = mrc.header.copy()
            self.data_offset = 1024 + int(mrc.header.nsymbt)
        self._file = open(self.tmp_path, "r+b", buffering=0)
        self._file.seek(self.data_offset)
        self._background = BackgroundWriter(self._write_now)

    def _write_now(self, item) -> None:
        chunk, release = item
        self._stats.add_squares(chunk)
        self._file.write(chunk.data)
        if release is not None:
            release(chunk)

    def write(self, chunk: np.ndarray, release=None) -> None:
        """Append rows (images or z-slices) in order; ``chunk`` is float32 ``(k, ny, nx)``.

        The chunk is written later, on the writer thread: the caller must not change it
        afterwards; ``release(chunk)`` is called once it is written (to recycle its buffer).
        """
        chunk = np.ascontiguousarray(chunk, dtype=np.float32)
        if chunk.shape[1:] != self.shape_zyx[1:] or self.rows_written + len(chunk) > self.shape_zyx[0]:
            raise ValueError(f"chunk {chunk.shape} does not fit {self.shape_zyx} "
                             f"after {self.rows_written} rows")
        self._stats.add_range_and_sum(chunk)
        self._background.submit((chunk, release))
        self.rows_written += len(chunk)

    def commit(self) -> Path:
        """Write the header statistics and rename the file to its final name."""
        self._background.finish()
        if self.rows_written != self.shape_zyx[0]:
            raise ValueError(f"{self.path}: wrote {self.rows_written} of {self.shape_zyx[0]} rows")
        h = self._header
        h.dmin, h.dmax, h.dmean, h.rms = self._stats.header_values()
        self._file.seek(0)
        self._file.write(h.tobytes())
        self._file.close()
        os.replace(self.tmp_path, self.path)
        return self.path

    def abort(self) -> None:
        """Close and delete the temporary file."""
        try:
            self._background.finish()
        except BaseException:  # the error that made us abort is already on its way up
            pass
        if not self._file.closed:
            self._file.close()
        self.tmp_path.unlink(missing_ok=True)

    def __enter__(self) -> MrcStreamWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()
