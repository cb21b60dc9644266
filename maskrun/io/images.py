"""One way to open an image file of any format maskrun reads, and the list of those formats.

Each entry of `IMAGE_FORMATS` is a format's name, a test whether a file is in it (by its
name, or its header for an ambiguous ``.img``) and its header reader; the first that
claims a file reads it. MRC (gzipped too: `maskrun.io.mrc_reader`) is last and takes
every file no other format claims.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from maskrun.io.image_info import ImageInfo
from maskrun.io.mrc_reader import inspect_mrc
from maskrun.io.spider import inspect_spider, looks_like_spider


def _any_file(path: Path) -> bool:
    return True


IMAGE_FORMATS: tuple[tuple[str, Callable[[Path], bool], Callable[[Path], ImageInfo]], ...] = (
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
