"""What maskrun needs to know of an image file, whatever its format, and its data as mapped rows.

`ImageInfo` is filled by a format's reader (`maskrun.io.mrc_reader`, `maskrun.io.spider`);
`MappedRows` then reads the data through a memory map that is released as it goes, so memory
does not grow with the file, whatever the format's layout (rows may be spaced apart, as the
images of a SPIDER stack are by their own headers, and in either byte order).
"""

from __future__ import annotations

import contextlib
import gzip
import mmap
import os
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import numpy as np

from maskrun.errors import RunFailure, UserError

UNKNOWN_VOXEL_NOTE = "voxel size is 0 (unknown) in the header; the output keeps it as 0"
Kind = Literal["stack", "volume"]
STACK_SUFFIXES = (".mrcs",)  # names that say a stack of images where the header does not (MRC)


def named_a_stack(name: str, gzipped: bool = True) -> bool:
    """Whether a file's name says it holds 2D images where an MRC header does not say: ``.mrcs`` (`STACK_SUFFIXES`),
    in any case, gzipped too (``.mrcs.gz``); ``gzipped`` False: the file is known not to be, and a name ending in
    ``.gz`` says no stack.

    Examples
    --------
    >>> named_a_stack("Runs/x/particles.mrcs"), named_a_stack("P.MRCS.gz"), named_a_stack("p.mrcs.gz", gzipped=False)
    (True, True, False)
    """
    name = name.lower()
    return Path(name.removesuffix(".gz") if gzipped else name).suffix in STACK_SUFFIXES


@dataclass(frozen=True)
class ImageInfo:
    """What maskrun needs from an image file's header (MRC or SPIDER).

    ``shape_zyx`` is the stored ``(nz, ny, nx)``: nz images of a stack or nz slices of a
    volume. Which one is said by ``declared_kind`` where the format's header records it
    (SPIDER's ISTACK); else (MRC, whose ispg programs write either way) it is decided by the
    caller (extension, metadata), not by ``ispg``.
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
    axis_map: tuple[int, int, int] = (1, 2, 3)  # mapc, mapr, maps: the axes (x=1, y, z) of columns, rows, sections
    cell_angstrom: tuple[float, float, float] = (0.0, 0.0, 0.0)  # cella x, y, z
    sampling_xyz: tuple[int, int, int] = (0, 0, 0)  # mx, my, mz
    row_stride: int = 0  # bytes from one row to the next when rows are not contiguous (0: they are)
    format: str = "mrc"
    declared_kind: Kind | None = None  # what the header says the file holds; None: its format does not say (MRC)
    # the file's size, modification and change times as its header was read (`file_stat`); None: not read from a file.
    # Not compared: the same header read from a touched file is the same header
    file_stat: tuple[int, int, int] | None = field(default=None, compare=False)

    @property
    def says_a_stack(self) -> bool:
        """Whether the file holds images, never one map, by what it says of itself: its header where its format
        records it (a SPIDER stack, whatever its name), else a stack's name (`named_a_stack`: ``.mrcs``)."""
        if self.declared_kind is not None:
            return self.declared_kind == "stack"
        return named_a_stack(self.path.name, gzipped=self.format.endswith(".gz"))

    @property
    def marks_a_stack(self) -> bool:
        """Whether an MRC header declares a stack of 2D images, as MRC2014 spells it: ispg 0 and mz 1 over nz > 1.

        cryoSPARC writes its particle stacks so, named ``…_particles.mrc``. Old maps with ispg 0
        keep mz = nz (RELION writes its maps so), and are not taken for stacks.
        """
        return self.format.startswith("mrc") and self.ispg == 0 and self.sampling_xyz[2] == 1 and self.shape_zyx[0] > 1

    @property
    def data_end(self) -> int:
        """The offset where its last row ends (of the uncompressed data, for gzip): what the file must hold."""
        nz, ny, nx = self.shape_zyx
        data_bytes = ny * nx * self.dtype.itemsize
        return self.data_offset + (nz - 1) * (self.row_stride or data_bytes) + data_bytes

    @property
    def layout(self) -> tuple[object, ...]:
        """Where and how its values lie in the file: what `MappedRows` reads it by (not its voxel size or labels)."""
        return self.format, self.shape_zyx, self.dtype, self.data_offset, self.row_stride, self.axis_map

    @property
    def box_xyz(self) -> tuple[int, int, int]:
        """The box along x, y, z, whatever order its axes are stored in (``shape_zyx`` is the stored order)."""
        box = [0, 0, 0]
        for stored, axis in zip(self.shape_zyx[::-1], self.axis_map):  # columns, rows, sections
            box[axis - 1] = stored
        return box[0], box[1], box[2]

    @property
    def stored_axes(self) -> str:
        """The axes its columns, rows and sections hold, in words: ``x, y, z``, or ``z, x, y`` (mapc 3, mapr 1…)."""
        return ", ".join("xyz"[axis - 1] for axis in self.axis_map)

    @property
    def stem(self) -> str:
        """The file's name without its extension (``EMD-1234`` for ``EMD-1234.map.gz`` too)."""
        name = self.path.name.removesuffix(".gz") if self.format.endswith(".gz") else self.path.name
        return Path(name).stem

    def with_voxel_size(self, size: float) -> ImageInfo:
        """This header with ``size`` (Å) as its voxel size on every axis, and a cell to match.

        For a voxel size the user gives instead of the header's (``--pixel-size``): what is
        read from the file and what is written from this header both take it.
        """
        mx, my, mz = self.sampling_xyz
        notes = tuple(note for note in self.notes if note != UNKNOWN_VOXEL_NOTE)
        cell = (mx * size, my * size, mz * size)
        return replace(self, voxel_size_xyz=(size, size, size), cell_angstrom=cell, notes=notes)


def file_stat(stat: os.stat_result) -> tuple[int, int, int]:
    """``(bytes, mtime_ns, ctime_ns)`` of a stat: what `ImageInfo.file_stat` holds, to tell later whether the file is
    still the one whose header was read (a saved plan resumed, a unit about to read it) without reading it again."""
    return stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns


class MappedRows:
    """The data of an MRC file as a read-only memory map, viewed as rows ``(nz, ny, nx)``.

    Rows are images of a stack or z-slices of a volume, in the file's own dtype. Reading
    through the map spares the copy a ``read`` into a buffer would make: masking reads
    the page cache directly. Mapped pages count towards the process's resident memory
    while they stay mapped, so `release` unmaps rows once used (they stay in the page
    cache) to keep memory flat.

    Use as a context manager; views handed out must not outlive it. Like every memory-map
    reader, the process is killed (SIGBUS) if another program truncates the file while it
    is being read; the format's reader has checked its length before, and a file found shorter
    than that when it is mapped (changed since) is a `RunFailure` naming it.
    """

    def __init__(self, info: ImageInfo):
        self.info = info
        nz, ny, nx = info.shape_zyx
        data_bytes = ny * nx * info.dtype.itemsize
        self._row_bytes = info.row_stride or data_bytes  # from one row's start to the next's
        length = info.data_end
        self._compressed = info.format.endswith(".gz")
        if self._compressed:  # decompressed once into memory: a map cannot page a gzip stream in
            self._map = mmap.mmap(-1, length)
            if read_gzip(info.path, memoryview(self._map)) < length:
                raise UserError("is a truncated gzip file; fetch it again", source=str(info.path))
        else:
            with open(info.path, "rb") as file:
                size = os.fstat(file.fileno()).st_size
                if size < length:  # mmap would say only "mmap length is greater than file size"
                    raise RunFailure(
                        f"{info.path} is now {size} bytes, shorter than the {length} its header said when it was "
                        "read: it was truncated or replaced since; restore it, or run again so that it is read anew"
                    )
                self._map = mmap.mmap(file.fileno(), length, prot=mmap.PROT_READ)
            self._map.madvise(mmap.MADV_SEQUENTIAL)
        strides = (self._row_bytes, nx * info.dtype.itemsize, info.dtype.itemsize)
        self._data = np.ndarray((nz, ny, nx), info.dtype, buffer=self._map, offset=info.data_offset, strides=strides)

    def rows(self, start: int, stop: int) -> np.ndarray:
        """A read-only view of rows ``start:stop``."""
        self._check(start, stop)
        return self._data[start:stop]

    def read_ahead(self, start: int, stop: int) -> None:
        """Ask the kernel to start reading rows ``start:stop`` from disk (if not cached)."""
        self._check(start, stop)
        self._advise(mmap.MADV_WILLNEED, start, stop)

    def release(self, start: int, stop: int) -> None:
        """Unmap rows ``start:stop`` from this process (they stay in the page cache)."""
        self._check(start, stop)
        self._advise(mmap.MADV_DONTNEED, start, stop)

    def _check(self, start: int, stop: int) -> None:
        nz = self.info.shape_zyx[0]
        if not 0 <= start <= stop <= nz:
            raise IndexError(f"rows {start}:{stop} outside 0:{nz} of {self.info.path}")

    def _advise(self, advice: int, start: int, stop: int) -> None:
        if self._compressed:
            return  # anonymous memory: dropping its pages would drop the data
        low = self.info.data_offset + start * self._row_bytes
        high = self.info.data_offset + stop * self._row_bytes
        low -= low % mmap.PAGESIZE  # pages shared with a neighbouring row are fine to include
        if high > low:
            self._map.madvise(advice, low, high - low)

    def close(self) -> None:
        del self._data  # views handed out keep the map alive until they go
        with contextlib.suppress(BufferError):  # a consumer still holds a view: the map goes when the view does
            self._map.close()

    def __enter__(self) -> MappedRows:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def in_xyz_order(values: np.ndarray, axis_map: tuple[int, int, int]) -> np.ndarray:
    """A view of a map stored with axes ``axis_map`` (mapc, mapr, maps) as ``(z, y, x)``: for figures, not masking.

    The array is ``(sections, rows, columns)``; columns hold axis ``mapc`` (1: x), and so on.
    """
    array_axis = {axis_map[0]: 2, axis_map[1]: 1, axis_map[2]: 0}  # spatial axis (1: x) -> the array's axis
    return np.transpose(values, (array_axis[3], array_axis[2], array_axis[1]))


def read_gzip(path: Path, into: memoryview | None = None) -> int:
    """Decompress a whole gzip file, filling ``into`` from its start; its uncompressed size.

    The stream is read to its end, so that gzip checks every member's CRC and length
    against its trailer: a damaged file is never read silently.

    Raises
    ------
    UserError
        If the file is not gzip, or is damaged or truncated (a bad CRC, length or trailer).
    """
    total = 0
    try:
        with gzip.open(path, "rb") as stream:
            if into is not None:
                total = stream.readinto(into)
            while chunk := stream.read(GZIP_CHUNK):
                total += len(chunk)
    except (EOFError, OSError, zlib.error) as exc:
        raise UserError(f"is a damaged or truncated gzip file ({exc}); fetch it again", source=str(path)) from None
    return total


GZIP_CHUNK = 1 << 22


def read_rows(info: ImageInfo, start: int, stop: int) -> np.ndarray:
    """Rows ``start:stop`` as a new float32 array ``(stop - start, ny, nx)``."""
    with MappedRows(info) as rows:
        return rows.rows(start, stop).astype(np.float32)
