"""One way to open an image file of any format maskrun reads, and the list of those formats.

Each entry of `IMAGE_FORMATS` is a format's name, a test whether a file is in it (by its
name, or its header for an ambiguous ``.img``) and its header reader; the first that
claims a file reads it. MRC (gzipped too: `maskrun.io.mrc_reader`) is last and takes
every file no other format claims. Metadata files (`METADATA_SUFFIXES`: STAR, .cs, …) come
first and are refused with what they are, rather than read as MRC of a nonsense mode.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from maskrun.errors import UserError
from maskrun.io.image_info import ImageInfo
from maskrun.io.mrc_reader import inspect_mrc
from maskrun.io.paths import file_not_found, is_file
from maskrun.io.spider import inspect_spider, looks_like_spider


def _any_file(path: Path) -> bool:
    return True


METADATA_SUFFIXES = {  # particle and map metadata (maskrun.formats reads them): files users mistake for images
    ".star": "a STAR",
    ".cs": "a cryoSPARC .cs",
    ".xmd": "an Xmipp .xmd",
    ".sqlite": "a Scipion .sqlite",
}


def metadata_kind(path: str | os.PathLike[str]) -> str | None:
    """What metadata file ``path`` is by its name (``"a STAR"``), or None for any other name."""
    return METADATA_SUFFIXES.get(Path(path).suffix.lower())


def _is_metadata(path: Path) -> bool:
    return metadata_kind(path) is not None


def _refuse_metadata(path: Path) -> ImageInfo:
    """Refuse a metadata file where an image is wanted, saying what it is (not an MRC of an odd mode)."""
    if not is_file(path):
        raise file_not_found(path)
    raise UserError(
        f"is {metadata_kind(path)} metadata file, not an image; give the image or stack it lists", source=str(path)
    )


IMAGE_FORMATS: tuple[tuple[str, Callable[[Path], bool], Callable[[Path], ImageInfo]], ...] = (
    ("metadata", _is_metadata, _refuse_metadata),  # refused: no image format claims these names
    ("spider", looks_like_spider, inspect_spider),
    ("mrc", _any_file, inspect_mrc),  # .mrc, .mrcs, .map, …, and .mrc.gz; the default
)


def inspect_image(path: str | os.PathLike[str]) -> ImageInfo:
    """Read the header of an image file in the first of `IMAGE_FORMATS` that claims it (chosen by extension,
    or by the header for ``.img``).

    Raises
    ------
    UserError
        As the format's reader: missing, unreadable, truncated or unsupported files.
    """
    path = Path(path)
    return next(inspect for _, claims, inspect in IMAGE_FORMATS if claims(path))(path)
