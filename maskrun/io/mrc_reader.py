"""Read MRC files: headers checked permissively, data through a memory map released as it goes.

mrcfile reads the header (permissively: real files have broken map IDs, machine stamps
and versions) and tells the data dtype; a plain little-endian header is read with mrcfile's
header dtype directly, without opening it as an mrcfile (three times faster for the
thousands of stacks of a RELION project); the data are then read through a memory map
(`MappedRows`) that is released as it goes, so memory does not grow with the file.
"""

from __future__ import annotations

import functools
import os
import warnings
import zlib
from pathlib import Path
from stat import S_ISREG
from types import SimpleNamespace
from typing import Any

import mrcfile
import mrcfile.dtypes
import mrcfile.utils
import numpy as np

from maskrun.errors import UserError
from maskrun.io.file_head import GZIP_MAGIC
from maskrun.io.image_info import UNKNOWN_VOXEL_NOTE, ImageInfo, file_stat, read_gzip
from maskrun.io.paths import file_not_found

MRC_SUFFIXES = (".mrc", ".mrcs", ".map", ".st", ".ali", ".rec")  # the names MRC files go by (gzipped: + .gz)
_LITTLE_ENDIAN_HEADER = mrcfile.dtypes.HEADER_DTYPE.newbyteorder("<")
SUPPORTED_MODES = {0: "int8", 1: "int16", 2: "float32", 6: "uint16", 12: "float16"}


def named_mrc(path: Path) -> bool:
    """Whether a file's name says MRC (`MRC_SUFFIXES`, gzipped too: ``.mrc.gz``), in any case.

    As ``Path(name).suffix`` tells a suffix, after a stem (``.mrc`` alone names a hidden file),
    without building a path for each of a plan's thousands of stacks.
    """
    name = path.name.lower().removesuffix(".gz")
    return name.endswith(MRC_SUFFIXES) and name.rfind(".") > 0


def inspect_mrc(path: str | os.PathLike[str]) -> ImageInfo:
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
    path = path if isinstance(path, Path) else Path(path)
    _file_stat(path)  # a file (not a folder, a pipe a read would wait on for ever, or missing)
    with open(path, "rb") as file:
        stat = os.fstat(file.fileno())  # before the read: a file changed after it has other times than these
        head = file.read(1024)
    if _is_text(head):  # an MRC header holds binary integers: zero bytes at least
        raise UserError(
            "is a text file, not an MRC image (metadata such as a STAR file?); give the image or stack itself",
            source=str(path),
        )
    gzipped = head[:2] == GZIP_MAGIC
    # a gzip stream is checked whole before its header is read
    size = _gzip_size(path, stat.st_size, stat.st_mtime_ns) if gzipped else stat.st_size
    record, notes = _plain_header(head) if not gzipped else (None, [])
    if record is None:
        record, notes = _header_through_mrcfile(path)
    if record is None:
        raise UserError("not an MRC file (no 1024-byte header)", source=str(path))
    header = _plain(record)
    mode = int(header.mode)
    dtype = _data_dtype(record, mode) if mode in SUPPORTED_MODES else None
    if mode not in SUPPORTED_MODES:
        raise UserError(
            f"MRC mode {mode} is not supported (maskrun reads modes "
            f"{', '.join(f'{m} ({t})' for m, t in SUPPORTED_MODES.items())}); "
            "is this an MRC file? convert it to float32 first",
            source=str(path),
        )
    nx, ny, nz = int(header.nx), int(header.ny), int(header.nz)
    if min(nx, ny, nz) < 1:
        raise UserError(f"header dimensions {nx} x {ny} x {nz} are not valid; is this an MRC file?", source=str(path))
    if int(header.ispg) >= 401:
        raise UserError(
            f"ispg {int(header.ispg)} marks a stack of volumes, which maskrun does not read; split it into single maps",
            source=str(path),
        )
    assert dtype is not None  # the mode was checked
    data_offset = 1024 + int(header.nsymbt)
    expected = data_offset + nx * ny * nz * dtype.itemsize
    if size < expected:
        raise UserError(
            f"truncated: the header promises {nz} x {ny} x {nx} {dtype.name} values "
            f"({expected} bytes) but the file has {size} bytes",
            source=str(path),
        )
    voxel = _voxel_size(header)
    axis_map = (int(header.mapc), int(header.mapr), int(header.maps))
    if sorted(axis_map) != [1, 2, 3]:
        notes.append(f"mapc, mapr, maps = {axis_map} is not an order of the axes; read as 1, 2, 3")
        axis_map = (1, 2, 3)
    elif axis_map != (1, 2, 3):
        notes.append(
            f"axes stored in the order mapc, mapr, maps = {axis_map}: masked as stored (the centre is the "
            "stored array's), and the output keeps the order, cell and voxel size per axis"
        )
    notes += _header_notes(header, mode, voxel, size - expected)
    labels = tuple(
        bytes(label).decode("ascii", "replace").strip() for label in header.label[: min(int(header.nlabl), 10)]
    )
    return ImageInfo(
        path=path,
        shape_zyx=(nz, ny, nx),
        dtype=dtype,
        mode=mode,
        data_offset=data_offset,
        voxel_size_xyz=voxel,
        origin_xyz=(float(header.origin.x), float(header.origin.y), float(header.origin.z)),
        nstart_xyz=(int(header.nxstart), int(header.nystart), int(header.nzstart)),
        ispg=int(header.ispg),
        labels=tuple(label for label in labels if label),
        notes=tuple(notes),
        format="mrc.gz" if gzipped else "mrc",
        axis_map=axis_map,
        cell_angstrom=(float(header.cella.x), float(header.cella.y), float(header.cella.z)),
        sampling_xyz=(int(header.mx), int(header.my), int(header.mz)),
        file_stat=file_stat(stat),
    )


def _plain_header(head: bytes) -> tuple[Any, list[str]]:
    """The header of a plain little-endian MRC file with a valid map ID, as mrcfile would read it; else None.

    The common case, read with mrcfile's own header dtype and no file object: a RELION project
    has thousands of stacks, and a plan reads every header (0.1 ms a file this way, against 0.3 ms
    through ``mrcfile.open``). Anything else (big-endian, an odd map ID or machine stamp, a short
    file) goes through mrcfile, which reads it permissively and says what is odd.
    """
    if len(head) < 1024 or head[208:212] != b"MAP " or head[212:214] not in (b"DD", b"DA"):
        return None, []
    return np.frombuffer(head, dtype=_LITTLE_ENDIAN_HEADER)[0], []  # a record array's view costs 10 µs more


def _data_dtype(record: Any, mode: int) -> np.dtype:
    """The data's dtype for a header of a supported ``mode``, in the byte order of its ``mode`` field, as
    `mrcfile.utils.data_dtype_from_header` gives it (which wants a record array's attributes: `_plain_header`'s
    record has none)."""
    data: np.dtype = mrcfile.utils.dtype_from_mode(mode)
    return data.newbyteorder(record.dtype["mode"].byteorder)


def _header_through_mrcfile(path: Path) -> tuple[Any, list[str]]:
    """The header as mrcfile reads it (permissively), and its warnings as notes.

    A missing map ID or machine stamp is said in maskrun's words (`_id_and_stamp_notes`):
    mrcfile calls the file "not an MRC file, or file is corrupt", which a valid stack of
    an older RELION, written without either, is not.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with mrcfile.open(path, header_only=True, permissive=True) as mrc:
                header = mrc.header.copy()
        except (ValueError, OSError, EOFError, zlib.error) as exc:
            raise UserError(f"cannot read an MRC header ({exc}); is this an MRC file?", source=str(path)) from None
    ours = _id_and_stamp_notes(header)
    theirs = [str(w.message).rstrip(".") for w in caught]
    return header, ours + [note for note in theirs if not note.startswith(SAID_IN_OUR_WORDS)]


# mrcfile's warnings that `_id_and_stamp_notes` says in its own words
SAID_IN_OUR_WORDS = ("Map ID string not found", "Unrecognised machine stamp", "Machine stamp ")
ORDER_WORDS = {"<": "little-endian", ">": "big-endian"}


def _id_and_stamp_notes(header: Any) -> list[str]:
    """Notes on a header without the map ID ``MAP``, or whose machine stamp names no byte order or not the one its
    mode reads in, each with how the file was read."""
    notes = []
    if bytes(header.map)[:3] != b"MAP":  # the first three, as mrcfile checks: "MAP\0" is common
        notes.append("no MAP ID in its header (some programs write none): read as MRC")
    read_as = ORDER_WORDS[mrcfile.utils.normalise_byte_order(header.mode.dtype.byteorder)]
    stamp = bytes(header.machst)
    try:
        stamped = ORDER_WORDS[mrcfile.utils.byte_order_from_machine_stamp(stamp)]
    except ValueError:
        said = (
            f"its header's machine stamp {' '.join(f'0x{b:02x}' for b in stamp)} names no byte order"
            if any(stamp)
            else "no machine stamp in its header (some programs write none)"
        )
        notes.append(f"{said}: read as {read_as}")
    else:
        if stamped != read_as:  # mrcfile read it the other way, where the mode is one
            notes.append(f"its header's machine stamp says {stamped}, but its mode reads only as {read_as}: read so")
    return notes


def _plain(record: Any) -> SimpleNamespace:
    """A header's fields as plain Python values, nested as the dtype is (``origin.x``); an array field (``label``) as a
    list.

    A NumPy record's attribute access costs microseconds; a job's plan reads the header
    of every stack, thousands of them for a RELION project, several times per run.
    """
    return _built(_layout(record.dtype), record.item())


# a dtype's field names, its fields of fields (``origin``) with their own layouts, and its array fields (``label``)
Layout = tuple[tuple[str, ...], tuple[tuple[str, "Layout"], ...], tuple[str, ...]]


def _built(layout: Layout, value: tuple[Any, ...]) -> SimpleNamespace:
    names, nested, arrays = layout
    fields = dict(zip(names, value))
    for name, inner in nested:
        fields[name] = _built(inner, fields[name])
    for name in arrays:
        fields[name] = fields[name].tolist()
    return SimpleNamespace(**fields)


@functools.lru_cache(maxsize=8)
def _layout(dtype: np.dtype) -> Layout:
    """Which of a dtype's fields `_plain` turns how, worked out once per dtype: a plan reads thousands of headers of
    one."""
    names = dtype.names or ()
    nested = tuple((name, _layout(dtype[name])) for name in names if dtype[name].names)
    return names, nested, tuple(name for name in names if dtype[name].shape)


def _file_stat(path: Path) -> os.stat_result:
    """The file's status, read once; a path that is not a file (missing, a folder, a name the system refuses) is
    refused as `maskrun.io.paths.is_file` would find it (`file_not_found`)."""
    try:
        stat = os.stat(path)
    except (OSError, ValueError):
        raise file_not_found(path) from None
    if not S_ISREG(stat.st_mode):
        raise file_not_found(path)
    return stat


@functools.lru_cache(maxsize=64)
def _gzip_size(path: Path, size: int, mtime_ns: int) -> int:
    """`read_gzip`'s size, once per version of a file (a plan reads a header several times)."""
    return read_gzip(path)


def _voxel_size(header: Any) -> tuple[float, float, float]:
    def size(cell: Any, samples: Any) -> float:
        return float(cell) / int(samples) if int(samples) > 0 else 0.0

    return size(header.cella.x, header.mx), size(header.cella.y, header.my), size(header.cella.z, header.mz)


def _header_notes(header: Any, mode: int, voxel: tuple[float, float, float], extra_bytes: int) -> list[str]:
    notes = []
    if int(header.nversion) not in (20140, 20141):
        notes.append(f"header version {int(header.nversion)} is not MRC2014 (read permissively)")
    if mode not in (2, 12):  # float16 is masked in float32 and written back as float16, unless asked otherwise
        notes.append(f"mode {mode} ({SUPPORTED_MODES[mode]}) is converted to float32")
    if not all(v > 0 for v in voxel[:2]):
        notes.append(UNKNOWN_VOXEL_NOTE)
    nstart = (int(header.nxstart), int(header.nystart), int(header.nzstart))
    if any(nstart):
        notes.append(f"nxstart/nystart/nzstart = {nstart}, kept in the output")
    if int(header.nsymbt):
        notes.append(f"extended header of {int(header.nsymbt)} bytes is not copied to the output")
    if extra_bytes:
        notes.append(f"{extra_bytes} bytes after the data are ignored")
    return notes


_TEXT_BYTES = bytes(range(32, 127)) + b"\t\n\r\f"


def _is_text(head: bytes) -> bool:
    """Whether the first bytes of a file are plain text (ASCII), as metadata are and no MRC header is."""
    # a zero byte, which every MRC header holds, answers at once: no copy of the head
    return bool(head) and b"\0" not in head and not head.translate(None, _TEXT_BYTES)
