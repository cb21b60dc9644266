"""STAR and Xmipp .xmd metadata: read with starfile, values kept as the text they were.

Every value is read as text, so numbers go back out exactly as they came in (no float
reformatting of defoci or angles). Writing uses the small writer below, not starfile's:
starfile 0.5's writer fails on real Xmipp files whose quoted vector values contain a tab
(``shared/data/public/test.xmd``; see ``tests/test_star_io.py``), and it stamps the time
into every file, which would break byte-identical reruns.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import starfile

from maskrun.errors import UserError

Blocks = dict[str, "pd.DataFrame | dict[str, str]"]
_LABEL = re.compile(r"^[ \t]*_([^\s#]+)", re.MULTILINE)
_STARFILE_STAMP = "# Created by the starfile Python package"


def read_metadata(path: str | os.PathLike) -> tuple[Blocks, list[str]]:
    """Read every block of a STAR/XMD file, all values as text.

    Returns
    -------
    blocks
        Block name → DataFrame (loop blocks) or dict (key/value blocks), in file order.
    comments
        Comment lines before the first block (``# version 30001``, ``# XMIPP_STAR_1 *``).

    Raises
    ------
    UserError
        If the file is missing or not STAR syntax.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError("file not found; check the path", source=str(path))
    text = path.read_text(errors="replace")
    labels = sorted(set(_LABEL.findall(text)))
    try:
        blocks = starfile.read(path, always_dict=True, parse_as_string=labels)
    except Exception as exc:  # starfile raises bare parser errors of several kinds
        raise UserError(f"cannot be read as STAR/XMD metadata ({exc})", source=str(path)) from None
    if not blocks:
        raise UserError("holds no data_ block; is this a STAR/XMD file?", source=str(path))
    _check_complete_rows(blocks, text, path)
    comments = []
    for line in text.splitlines():
        if line.startswith("data_"):
            break
        if line.startswith("#") and not line.startswith(_STARFILE_STAMP):
            comments.append(line.rstrip())
    return dict(blocks), comments


def _check_complete_rows(blocks: Blocks, text: str, path: Path) -> None:
    """Refuse a loop row with fewer values than its block has columns (starfile pads it with '')."""
    for name, block in blocks.items():
        if not isinstance(block, pd.DataFrame) or block.empty:
            continue
        values = block.to_numpy()
        if not ((values == "") | pd.isna(values)).any():
            continue
        columns = len(block.columns)
        for line, count in _loop_row_lengths(text, name):
            if count < columns:
                raise UserError(
                    f"line {line} has {count} values but data_{name} has {columns} columns; fix or remove that row",
                    source=str(path),
                )


_VALUE = re.compile(r"'[^']*'|\"[^\"]*\"|\S+")


def _loop_row_lengths(text: str, block_name: str) -> list[tuple[int, int]]:
    """(1-based line number, number of values) of each data row in a block's loop."""
    rows, inside = [], False
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith("data_"):
            inside = stripped == f"data_{block_name}"
        elif inside and stripped and not stripped.startswith(("#", "_", "loop_")):
            rows.append((number, len(_VALUE.findall(stripped))))
    return rows


def _token(value) -> str:
    text = "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)
    if text and not any(c.isspace() for c in text) and text[0] not in "'\"":
        return text
    quote = "'" if "'" not in text else '"'
    return f"{quote}{text}{quote}"


def star_text(blocks: Blocks, comments: Sequence[str] = (), numbered_labels: bool = True) -> str:
    """Render blocks as STAR text: labels in column order, rows in order, values verbatim.

    RELION numbers its labels (``_rlnImageName #1``); native Xmipp files do not.
    """
    lines = list(comments)
    for name, block in blocks.items():
        lines += ["", f"data_{name}", ""]
        if isinstance(block, dict):
            lines += [f"_{key} {_token(value)}" for key, value in block.items()]
            continue
        lines.append("loop_")
        lines += [f"_{column} #{i}" if numbered_labels else f"_{column}" for i, column in enumerate(block.columns, 1)]
        for row in block.itertuples(index=False, name=None):
            lines.append(" ".join(_token(v) for v in row))
    return "\n".join(lines).lstrip("\n") + "\n\n"


def write_metadata(blocks: Blocks, path: str | os.PathLike, comments: Sequence[str] = ()) -> Path:
    """Write blocks to ``path`` atomically (temporary name, then rename); ``.xmd`` in Xmipp style."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.part-{os.getpid()}")
    try:
        tmp.write_text(star_text(blocks, comments, numbered_labels=path.suffix != ".xmd"))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
