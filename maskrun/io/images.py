"""One way to open an image file of any format maskrun reads (MRC, gzipped MRC, SPIDER)."""

from __future__ import annotations

import os
from pathlib import Path

from maskrun.io.image_info import ImageInfo
from maskrun.io.mrc_reader import inspect_mrc
from maskrun.io.spider import inspect_spider, looks_like_spider


def inspect_image(path: str | os.PathLike[str]) -> ImageInfo:
    """Read the header of an MRC or SPIDER file (chosen by extension, or by the header for ``.img``).

    Raises
    ------
    UserError
        As the format's reader: missing, unreadable, truncated or unsupported files.
    """
    path = Path(path)
    return inspect_spider(path) if looks_like_spider(path) else inspect_mrc(path)
