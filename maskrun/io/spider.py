"""Read SPIDER images, stacks and volumes (``.spi``, ``.xmp``, ``.stk``, ``.vol``; Xmipp's and Scipion's).

A small reader of maskrun's own, because no maintained Python library reads SPIDER
correctly: Pillow returns image 1 for every frame of an Xmipp stack and cannot read
volumes. The facts it follows (SPIDER's own header table; ../shared/notes/formats.md):

- the header is 4-byte floats in the data's byte order, which is read from the header
  itself (both orders are tried; the one whose sizes are whole, positive and consistent
  wins), never assumed;
- its length is LABBYT (loc 22), not always 1024: LABREC records of 4·NX bytes;
- a stack (ISTACK > 0 in the overall header) holds MAXIM images, each behind its own
  header; only the overall header is trusted (Xmipp writes image number 0 in every
  per-image header);
- the overall header, not the file's name, says whether it holds a stack or a volume
  (``ImageInfo.declared_kind``);
- indexed stacks, Fourier-space images and stacks of volumes are refused with one line.

The data are float32 rows read in place through `maskrun.io.image_info.MappedRows`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from maskrun.errors import UserError
from maskrun.io.image_info import ImageInfo, file_stat
from maskrun.io.paths import file_not_found, is_file

SPIDER_SUFFIXES = (".spi", ".xmp", ".stk", ".vol")
_REAL_FORMS = (1, 3)  # 2D and 3D real images; negative IFORMs are Fourier transforms


def named_spider(path: Path) -> bool:
    """Whether a file's name says SPIDER (`SPIDER_SUFFIXES`, in any case), as Xmipp's does."""
    return path.suffix.lower() in SPIDER_SUFFIXES


def has_spider_header(path: Path) -> bool:
    """Whether a file's first bytes read as a SPIDER header: its sizes whole, positive and consistent in one byte
    order (an MRC header's integers, read as floats, are not)."""
    if not is_file(path):
        return False
    with open(path, "rb") as file:
        return _byte_order(file.read(1024)) is not None


def spider_name(path: Path) -> str | None:
    """The name a file whose header is SPIDER's reads as by Xmipp's habit: ``x.stk`` for a stack of images,
    ``x.spi`` otherwise (a stack maskrun does not read too: under it, it says why); None for any other file."""
    if not has_spider_header(path):
        return None
    try:
        info = inspect_spider(path)
    except UserError:
        return f"{path.stem}.spi"
    return f"{path.stem}{'.stk' if info.declared_kind == 'stack' and info.shape_zyx[0] > 1 else '.spi'}"


def _fields(raw: bytes, order: str) -> np.ndarray:
    return np.frombuffer(raw[: 4 * 40].ljust(160, b"\0"), dtype=f"{order}f4").astype(np.float64)


def _byte_order(raw: bytes) -> str | None:
    """``'<'`` or ``'>'``: the byte order in which the header's sizes make sense."""
    for order in ("<", ">"):
        h = _fields(raw, order)
        nz, ny, form, nx, labrec, labbyt, lenbyt = h[0], h[1], h[4], h[11], h[12], h[21], h[22]
        if not all(_whole(v, 2**31) for v in (nz, form, ny, nx, labrec, labbyt, lenbyt)):
            continue  # NaN, inf or a fraction in a field that must be a whole number
        if min(ny, nx, labrec, labbyt, lenbyt) < 1 or nz == 0:
            continue
        if abs(form) > 30 or labbyt != labrec * lenbyt or lenbyt != 4 * nx:
            continue
        return order
    return None


def _whole(value: float, bound: float) -> bool:
    """Whether a header field is a whole number of magnitude below ``bound`` (never NaN or inf)."""
    return bool(np.isfinite(value)) and value == round(value) and abs(value) < bound


def inspect_spider(path: str | os.PathLike[str]) -> ImageInfo:
    """Read a SPIDER header and say where the data lie.

    Returns
    -------
    ImageInfo
        ``shape_zyx`` is ``(1, ny, nx)`` for an image, ``(nz, ny, nx)`` for a volume and
        ``(n, ny, nx)`` for a stack of images; rows of a stack are spaced by each image's
        header (``row_stride``). ``declared_kind`` is what the header says, whatever the file's
        name: a stack (ISTACK > 0, or a single image) or a volume.

    Raises
    ------
    UserError
        If the file is missing, not SPIDER, truncated, an indexed stack, a stack of
        volumes, or a Fourier-space image.
    """
    path = Path(path)
    if not is_file(path):
        raise file_not_found(path)
    with open(path, "rb") as file:
        stat = os.fstat(file.fileno())  # before the read: a file changed after it has other times than these
        raw = file.read(1024)
    order = _byte_order(raw)
    if order is None:
        raise UserError(
            "is not a SPIDER file (its header's sizes make no sense in either byte order)", source=str(path)
        )
    h = _fields(raw, order)
    for index, name in ((23, "ISTACK"), (25, "MAXIM")):
        if not _whole(h[index], 2**31):
            raise UserError(
                f"is not a readable SPIDER file: its header's {name} (word {index + 1}) is {h[index]:g}, "
                "not a whole number",
                source=str(path),
            )
    nz, ny, form, nx = int(h[0]), int(h[1]), int(h[4]), int(h[11])
    labbyt, istack, maxim, pixel = int(h[21]), int(h[23]), int(h[25]), float(h[37])
    nz = max(nz, 1)  # ancient files mark 2D images with -1
    if form not in _REAL_FORMS:
        raise UserError(
            f"IFORM {form}: a Fourier-space SPIDER image, which maskrun does not read; convert "
            "it to a real-space image",
            source=str(path),
        )
    if istack < 0:
        raise UserError(
            "is an indexed SPIDER stack, which maskrun does not read; write it as a plain stack (xmipp_image_convert)",
            source=str(path),
        )
    image_bytes = 4 * nx * ny * nz
    size = stat.st_size
    notes = [] if order == "<" else ["big-endian SPIDER file (byte order read from its header)"]
    if istack > 0:
        if nz > 1:
            raise UserError(
                f"is a SPIDER stack of {maxim} volumes, which maskrun does not read; split it into single volumes",
                source=str(path),
            )
        if maxim < 1:
            raise UserError("is a SPIDER stack whose header (MAXIM) says it holds no image", source=str(path))
        expected = labbyt * (maxim + 1) + maxim * image_bytes
        shape, offset, stride = (maxim, ny, nx), 2 * labbyt, labbyt + image_bytes
    else:
        expected = labbyt + image_bytes
        shape, offset, stride = (nz, ny, nx), labbyt, 0
    if size < expected:
        what = f"{maxim} image{'s' * (maxim != 1)} of {nx} x {ny}" if istack > 0 else f"{nx} x {ny} x {nz} values"
        raise UserError(
            f"truncated: the SPIDER header promises {what} ({expected} bytes) but the file has {size} bytes",
            source=str(path),
        )
    if size > expected:
        notes.append(f"{size - expected} bytes after the data are ignored")
    voxel = pixel if np.isfinite(pixel) and pixel > 0 else 0.0
    return ImageInfo(
        path=path,
        shape_zyx=shape,
        dtype=np.dtype(f"{order}f4"),
        mode=2,
        data_offset=offset,
        voxel_size_xyz=(voxel, voxel, voxel),
        origin_xyz=(0.0, 0.0, 0.0),
        nstart_xyz=(0, 0, 0),
        ispg=0 if istack > 0 or nz == 1 else 1,
        labels=(),
        notes=tuple(notes),
        row_stride=stride,
        format="spider",
        declared_kind="stack" if istack > 0 or nz == 1 else "volume",  # an image alone is a stack of one
        file_stat=file_stat(stat),
    )
