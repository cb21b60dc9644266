"""One way to open an image file of any format maskrun reads, and the list of those formats.

Each entry of `IMAGE_FORMATS` is a format's name, a test whether a file is in it and its
header reader; the first that claims a file reads it. One rule for every file maskrun
reads (maps, stacks, masks, stacks a STAR/xmd/sqlite lists):

- a metadata name (`METADATA_SUFFIXES`: STAR, .cs, …) is refused with what it is, rather
  than read as MRC of a nonsense mode;
- a SPIDER name (``.spi``, ``.xmp``, ``.stk``, ``.vol``) is SPIDER, and so is any file whose
  name is not MRC's and whose header reads as SPIDER's: SPIDER names files with a project
  extension (``.dat``) or none, and Xmipp reads every unknown extension as SPIDER;
- everything else is MRC (gzipped too: `maskrun.io.mrc_reader`); a file under an MRC name
  that does not read as MRC but as SPIDER is refused, saying so.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path, PurePath

from maskrun.errors import UserError
from maskrun.io.image_info import ImageInfo
from maskrun.io.mrc_reader import inspect_mrc, named_mrc
from maskrun.io.paths import file_not_found, is_file
from maskrun.io.spider import has_spider_header, inspect_spider, named_spider, spider_name


def _any_file(path: Path) -> bool:
    return True


def _is_spider(path: Path) -> bool:
    """SPIDER by its name, or by its header under any name but an MRC one (``x.dat``, ``x.img``, ``x``)."""
    return named_spider(path) or (not named_mrc(path) and has_spider_header(path))


def _inspect_mrc(path: Path) -> ImageInfo:
    """An MRC header; a SPIDER file named as MRC is refused as what it is, not with what its words mean to MRC."""
    try:
        return inspect_mrc(path)
    except UserError:
        spider = spider_name(path)
        if spider is None:
            raise
    raise UserError(
        f"is named as MRC, but its header is SPIDER's, not MRC's: a SPIDER file? rename it {spider}", source=str(path)
    )


METADATA_SUFFIXES = {  # particle and map metadata (maskrun.formats reads them): files users mistake for images
    ".star": "a STAR",
    ".cs": "a cryoSPARC .cs",
    ".xmd": "an Xmipp .xmd",
    ".sqlite": "a Scipion .sqlite",
}


def metadata_kind(path: str | os.PathLike[str]) -> str | None:
    """What metadata file ``path`` is by its name (``"a STAR"``), or None for any other name."""
    return METADATA_SUFFIXES.get((path if isinstance(path, PurePath) else Path(path)).suffix.lower())


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
    ("spider", _is_spider, inspect_spider),
    ("mrc", _any_file, _inspect_mrc),  # .mrc, .mrcs, .map, …, and .mrc.gz; the default
)


def inspect_image(path: str | os.PathLike[str]) -> ImageInfo:
    """Read the header of an image file in the first of `IMAGE_FORMATS` that claims it (by its name, or by its
    header under a name of no format: see the module's rule).

    Raises
    ------
    UserError
        As the format's reader: missing, unreadable, truncated or unsupported files.
    """
    path = path if isinstance(path, Path) else Path(path)  # not built again: a plan reads thousands of stacks
    return next(inspect for _, claims, inspect in IMAGE_FORMATS if claims(path))(path)
