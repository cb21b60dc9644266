"""Read and write MRC files in chunks, so memory does not grow with the file.

mrcfile reads the header (permissively: real files have broken map IDs, machine stamps
and versions) and tells the data dtype; the data are then read and written with plain
file I/O in large contiguous chunks. A memory map would do the same work but keep every
touched page resident, so a 1 GB stack would cost 1 GB of RSS.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import mrcfile
import mrcfile.utils
import numpy as np

from maskrun.errors import UserError
from maskrun.streaming import BufferPool, prefetch

SUPPORTED_MODES = {0: "int8", 1: "int16", 2: "float32", 6: "uint16", 12: "float16"}
CHUNK_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True)
class MrcInfo:
    """What maskrun needs from an MRC header.

    ``shape_zyx`` is the stored ``(nz, ny, nx)``: nz images of a stack or nz slices of a
    volume; which one is decided by the caller (extension, metadata), not by ``ispg``.
    """

    path: Path
    shape_zyx: tuple[int, int, int]
    dtype: np.dtype
    mode: int
    data_offset: int
    voxel_size_xyz: tuple[float, float, float]
    origin_xyz: tuple[float, float, float]
    nstart_xyz: tuple[int, int, int]
    ispg: int
    labels: tuple[str, ...]
    notes: tuple[str, ...]


def inspect_mrc(path: str | os.PathLike) -> MrcInfo:
    """Read an MRC header and note everything odd about it.

    Parameters
    ----------
    path
        The MRC file (``.mrc``, ``.mrcs``, ``.map``).

    Returns
    -------
    MrcInfo
        With ``notes`` listing quirks (non-MRC2014 version, zero voxel size, non-zero
        start indices, non-float32 mode, extended header, mrcfile's own warnings).

    Raises
    ------
    UserError
        If the file is missing, not an MRC file, of an unsupported mode, or shorter
        than its header says.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError("file not found; check the path", source=str(path))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with mrcfile.open(path, header_only=True, permissive=True) as mrc:
                header = mrc.header.copy()
        except (ValueError, OSError) as exc:
            raise UserError(f"cannot read an MRC header ({exc}); is this an MRC file?",
                            source=str(path)) from None
    notes = [str(w.message).rstrip(".") for w in caught]
    if header is None:
        raise UserError("not an MRC file (no 1024-byte header)", source=str(path))
    mode = int(header.mode)
    if mode not in SUPPORTED_MODES:
        raise UserError(f"MRC mode {mode} is not supported (maskrun reads modes "
                        f"{', '.join(f'{m} ({t})' for m, t in SUPPORTED_MODES.items())}); "
                        "is this an MRC file? convert it to float32 first", source=str(path))
    nx, ny, nz = int(header.nx), int(header.ny), int(header.nz)
    if min(nx, ny, nz) < 1:
        raise UserError(f"header dimensions {nx} x {ny} x {nz} are not valid; is this an MRC file?",
                        source=str(path))
    if int(header.ispg) >= 401:
        raise UserError(f"ispg {int(header.ispg)} marks a stack of volumes, which maskrun does "
                        "not read; split it into single maps", source=str(path))
    dtype = mrcfile.utils.data_dtype_from_header(header)
    data_offset = 1024 + int(header.nsymbt)
    expected = data_offset + nx * ny * nz * dtype.itemsize
    size = path.stat().st_size
    if size < expected:
        raise UserError(f"truncated: the header promises {nz} x {ny} x {nx} {dtype.name} values "
                        f"({expected} bytes) but the file has {size} bytes", source=str(path))
    voxel = _voxel_size(header)
    notes += _header_notes(header, mode, voxel, size - expected)
    labels = tuple(bytes(label).decode("ascii", "replace").strip()
                   for label in header.label[: min(int(header.nlabl), 10)])
    return MrcInfo(
        path=path,
        shape_zyx=(nz, ny, nx),
        dtype=dtype,
        mode=mode,
        data_offset=data_offset,
        voxel_size_xyz=voxel,
        origin_xyz=tuple(float(v) for v in (header.origin.x, header.origin.y, header.origin.z)),
        nstart_xyz=(int(header.nxstart), int(header.nystart), int(header.nzstart)),
        ispg=int(header.ispg),
        labels=tuple(label for label in labels if label),
        notes=tuple(notes),
    )


def _voxel_size(header) -> tuple[float, float, float]:
    sizes = []
    for cell, samples in ((header.cella.x, header.mx), (header.cella.y, header.my),
                          (header.cella.z, header.mz)):
        sizes.append(float(cell) / int(samples) if int(samples) > 0 else 0.0)
    return tuple(sizes)


def _header_notes(header, mode: int, voxel: tuple[float, float, float], extra_bytes: int) -> list[str]:
    notes = []
    if int(header.nversion) not in (20140, 20141):
        notes.append(f"header version {int(header.nversion)} is not MRC2014 (read permissively)")
    if mode != 2:
        notes.append(f"mode {mode} ({SUPPORTED_MODES[mode]}) is converted to float32")
    if not all(v > 0 for v in voxel[:2]):
        notes.append("voxel size is 0 (unknown) in the header; the output keeps it as 0")
    nstart = (int(header.nxstart), int(header.nystart), int(header.nzstart))
    if any(nstart):
        notes.append(f"nxstart/nystart/nzstart = {nstart}, kept in the output")
    if int(header.nsymbt):
        notes.append(f"extended header of {int(header.nsymbt)} bytes is not copied to the output")
    if extra_bytes:
        notes.append(f"{extra_bytes} bytes after the data are ignored")
    return notes


def read_rows_into(info: MrcInfo, start: int, stop: int, out: np.ndarray, file: BinaryIO) -> np.ndarray:
    """Read rows ``start:stop`` (images of a stack, or z-slices of a volume) into ``out``.

    ``out`` is float32 ``(stop - start, ny, nx)``; ``file`` is an open handle on
    ``info.path``. Native float32 data go straight into ``out``; other modes are converted.
    """
    nz, ny, nx = info.shape_zyx
    if not 0 <= start <= stop <= nz:
        raise IndexError(f"rows {start}:{stop} outside 0:{nz} of {info.path}")
    count = (stop - start) * ny * nx
    file.seek(info.data_offset + start * ny * nx * info.dtype.itemsize)
    if info.dtype == np.dtype(np.float32):  # native byte order too
        target = memoryview(out.reshape(-1)).cast("B")
        filled = 0
        while filled < target.nbytes:
            got = file.readinto(target[filled:])
            if not got:
                raise OSError(f"{info.path}: short read at rows {start}:{stop}")
            filled += got
    else:
        data = np.fromfile(file, dtype=info.dtype, count=count)
        if data.size != count:
            raise OSError(f"{info.path}: short read at rows {start}:{stop}")
        out.reshape(-1)[...] = data
    return out


def read_rows(info: MrcInfo, start: int, stop: int) -> np.ndarray:
    """Rows ``start:stop`` as a new float32 array ``(stop - start, ny, nx)``."""
    out = np.empty((stop - start, *info.shape_zyx[1:]), dtype=np.float32)
    with open(info.path, "rb", buffering=0) as file:
        return read_rows_into(info, start, stop, out, file)


def rows_per_chunk(row_shape: tuple[int, ...], chunk_bytes: int = CHUNK_BYTES) -> int:
    return max(1, chunk_bytes // (int(np.prod(row_shape)) * 4))


def chunk_pool(row_shape: tuple[int, ...]) -> BufferPool:
    """Buffers for chunks of ``rows_per_chunk`` rows of ``row_shape`` (one image or z-slice)."""
    return BufferPool(rows_per_chunk(row_shape) * int(np.prod(row_shape)))


def iter_row_chunks(info: MrcInfo, pool: BufferPool | None = None,
                    chunk_bytes: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(first_row, rows)`` chunks covering the whole file, read ahead on a thread.

    With a ``pool``, chunks are its buffers (the consumer gives them back); without,
    every chunk is a new array.
    """
    nz, ny, nx = info.shape_zyx
    rows = rows_per_chunk((ny, nx), chunk_bytes or CHUNK_BYTES)

    def produce(stop_event):
        with open(info.path, "rb", buffering=0) as file:
            for start in range(0, nz, rows):
                shape = (min(nz, start + rows) - start, ny, nx)
                out = pool.take(shape, stop_event) if pool else np.empty(shape, dtype=np.float32)
                yield start, read_rows_into(info, start, start + shape[0], out, file)

    return prefetch(produce)
