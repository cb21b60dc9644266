"""What a file's first bytes say it is, where text is wanted: gzip-compressed, an SQLite database, binary data."""

from __future__ import annotations

GZIP_MAGIC = b"\x1f\x8b"
SQLITE_MAGIC = b"SQLite format 3\x00"  # the header string every SQLite database file starts with
HEAD_BYTES = 4096  # what is looked at to tell text from binary data
CONTROL_BYTES = bytes(range(0, 9)) + bytes(range(14, 32)) + b"\x7f"  # bytes no text file holds
BINARY_SHARE = 0.05  # of the head's bytes being control bytes (random data: 13 %)


def is_binary(head: bytes) -> bool:
    """Whether a file's first bytes are binary data, not text: a NUL byte, or more than `BINARY_SHARE` of them
    control bytes (tab, line and page breaks are text).

    Examples
    --------
    >>> is_binary(b"data_\\nloop_\\n_rlnImageName\\n"), is_binary(b"SQLite format 3\\x00")
    (False, True)
    """
    return b"\x00" in head or len(head.translate(None, CONTROL_BYTES)) < (1 - BINARY_SHARE) * len(head)
