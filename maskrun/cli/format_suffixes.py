"""Xmipp's format suffix on the file names the commands take (``Runs/…/particles.mrcs:mrcs``, ``vol.mrc:mrc``).

Scipion and Xmipp name files so (`maskrun.formats.references`), and a user copies such a
name from a set or a protocol's log onto the command line. Jobs take it where a set names a
file; the commands take it on every file they read (the suffix is no part of the file's
name: the file is read without it), and refuse it on a file they write, where it would make
a file named ``o.mrcs:mrcs`` that no program reads as ``o.mrcs``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from maskrun.errors import UserError
from maskrun.formats.references import marked_kind, split_format
from maskrun.io.mrc_reader import MRC_SUFFIXES


def without_format(text: str) -> tuple[str, str]:
    """The file a command-line name gives and the format its Xmipp suffix names ("" when none): ``parts.mrcs:mrcs``
    is ``parts.mrcs``, read as Xmipp reads it; a name that is a file as given is that file.

    Examples
    --------
    >>> without_format("Runs/000002_X/extra/particles.mrcs:mrcs"), without_format("a.mrc")
    (('Runs/000002_X/extra/particles.mrcs', 'mrcs'), ('a.mrc', ''))
    """
    path, fmt = split_format(text)
    if not fmt or Path(text).exists():
        return text, ""
    return path, fmt


def take_format_suffixes(
    args: argparse.Namespace, inputs: Sequence[str], outputs: Sequence[str] = ()
) -> dict[str, str]:
    """Drop Xmipp's format suffix from the files ``args`` reads (its ``inputs``, by dest; in place), and refuse it on
    those it writes (``outputs``). Returns the format each input's suffix named, by dest, where one had one.

    Raises
    ------
    UserError
        For an output name with a format suffix, naming the name to give instead.
    """
    for dest in outputs:
        text = getattr(args, dest, None)
        if text:
            _refuse_on_output(text)
    marked = {}
    for dest in inputs:
        text = getattr(args, dest, None)
        if not isinstance(text, str):
            continue
        path, fmt = without_format(text)
        if fmt:
            setattr(args, dest, path)
            marked[dest] = fmt
    return marked


def _refuse_on_output(text: str) -> None:
    """Refuse a file to write named with Xmipp's format suffix, proposing the name: the suffix dropped, and an MRC
    extension where the rest has none (maskrun writes MRC)."""
    path, fmt = split_format(text)
    if not fmt:
        return
    name, why = Path(path), ""
    if name.suffix.lower() not in MRC_SUFFIXES:  # a SPIDER name: a stack (.stk, :stk) stays a stack
        stack = marked_kind(fmt) == "stack" or "stk" in (fmt, name.suffix.lower().lstrip("."))
        name, why = name.with_suffix(".mrcs" if stack else ".mrc"), " (maskrun writes MRC)"
    raise UserError(
        f"ends in Xmipp's format suffix ':{fmt}', which tells Xmipp how to read a file and is no part of its name: "
        f"name the output {name}{why}",
        source=text,
    )
