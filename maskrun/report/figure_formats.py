"""The file formats a figure is written in, chosen by the name's suffix (matplotlib writes each)."""

from __future__ import annotations

from pathlib import Path

from maskrun.errors import UserError

FIGURE_FORMATS = {".png": "png", ".pdf": "pdf", ".svg": "svg"}


def figure_format(path: Path, field: str | None = None) -> str:
    """The format a figure file's suffix names (``out.pdf``: ``pdf``), checked before any work.

    Raises
    ------
    UserError
        For a suffix of no format in `FIGURE_FORMATS` (a PNG in ``out.jpg`` would mislead every viewer).
    """
    image_format = FIGURE_FORMATS.get(path.suffix.lower())
    if image_format is None:
        raise UserError(
            f"names no figure format maskrun writes; end the name with {', '.join(list(FIGURE_FORMATS)[:-1])} or "
            f"{list(FIGURE_FORMATS)[-1]}",
            source=str(path),
            field=field,
        )
    return image_format
