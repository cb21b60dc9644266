"""How metadata name an image file, ``[N@]path[:format]``, and the format suffix Xmipp and Scipion put on it.

Xmipp reads a file in the format its name gives after a colon, whatever its extension
(``vol32.mrc:mrc``, ``000001@parts.mrc:mrcs``); Scipion keeps such names in its sets (pwem's
``ImageHandler.fixXmippVolumeFileName`` adds ``:mrc`` to volumes and ``:mrcs`` to stacks, the
RELION plugin stores ``fn += ':mrc'``), and RELION reads them too. The suffix is no part of
the file's path: it is split off where a reference is read (`split_format`), says whether the
file is a stack (``mrcs``) or a map (``mrc``) where it says either (`marked_kind`), and a
masked set puts a suffix back where its input's reference had one, naming the format of the
file maskrun wrote (`with_format`: ``mrcs`` for its stacks, ``mrc`` for its maps).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from maskrun.errors import UserError
from maskrun.io.image_info import Kind
from maskrun.io.paths import is_file

# the format names Xmipp's image reader and writer take after a colon (xmipp_image_base, xmipp_filename)
XMIPP_FORMATS = frozenset(
    {
        *("mrc", "mrcs", "map", "st", "ali", "rec", "preali"),  # MRC
        *("spi", "xmp", "stk", "vol"),  # SPIDER
        *("img", "hed", "ser", "dm3", "dm4", "em", "ems", "pif", "inf", "raw", "tif", "tiff", "spe"),
        *("jpg", "jpeg", "png", "hdf", "h5", "eer", "ecc", "lst", "smh"),
    }
)
_FORMAT_TEXTS = np.array(sorted(XMIPP_FORMATS))  # for `formats_as_given`'s vectorised look-up
_FORMAT_BYTES = np.strings.encode(_FORMAT_TEXTS)
STACK_FORMAT = "mrcs"  # the suffix that names a file maskrun writes: its stacks are MRC stacks
MAP_FORMAT = "mrc"  # and its maps MRC maps
KIND_OF_FORMAT: dict[str, Kind] = {STACK_FORMAT: "stack", MAP_FORMAT: "volume"}


def split_numbers(texts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each reference's image number as written (``b"1"`` for a bare path), whether it is a bare path (no ``@``),
    and its file's name (with any format suffix): the one ``[N@]path`` rule, for a bytes array (``S`` dtype) of
    references, vectorised with `numpy.strings`.

    Examples
    --------
    >>> number, bare, file = split_numbers(np.array([b"000012@a.mrcs:mrcs", b"v.mrc", b"a@b/v.mrc"]))
    >>> number.tolist(), bare.tolist(), file.tolist()
    ([b'000012', b'1', b'a'], [False, True, False], [b'a.mrcs:mrcs', b'v.mrc', b'b/v.mrc'])
    """
    number, at, file = np.strings.partition(texts, b"@")
    bare = at != b"@"
    return np.where(bare, b"1", number), bare, np.where(bare, texts, file)


def bare_references(texts: np.ndarray) -> np.ndarray:
    """Whether each reference of a bytes array is a path alone, without ``N@`` (`split_numbers`' ``bare``, by one
    find: a million references in 10 ms).

    Examples
    --------
    >>> bare_references(np.array([b"000012@a.mrcs", b"v.mrc"])).tolist()
    [False, True]
    """
    return np.strings.find(texts, b"@") < 0


def split_format(text: str) -> tuple[str, str]:
    """A file's name without Xmipp's format suffix, and the format it names (lower case; "" when none).

    Examples
    --------
    >>> split_format("Runs/000003_X/extra/vol32.mrc:mrc"), split_format("parts.mrcs:MRCS")
    (('Runs/000003_X/extra/vol32.mrc', 'mrc'), ('parts.mrcs', 'mrcs'))
    >>> split_format("parts.mrcs"), split_format("run:1/parts.mrcs"), split_format("notes:draft")
    (('parts.mrcs', ''), ('run:1/parts.mrcs', ''), ('notes:draft', ''))
    """
    path, colon, tail = text.rpartition(":")
    if colon and path and tail.lower() in XMIPP_FORMATS:
        return path, tail.lower()
    return text, ""


def marked_kind(fmt: str) -> Kind | None:
    """What a format suffix says the file holds: ``mrcs`` a stack of images, ``mrc`` a map; None for any other."""
    return KIND_OF_FORMAT.get(fmt)


def other_kind_said(fmt: str, wanted: Kind) -> str | None:
    """What a file marked ``:fmt`` is said to be, where a ``wanted`` is read and the mark says the other kind:
    ``"a map (:mrc)"``; None when the mark says nothing against it."""
    kind = marked_kind(fmt)
    if kind is None or kind == wanted:
        return None
    return f"a map (:{fmt})" if kind == "volume" else f"a stack of images (:{fmt})"


def refuse_other_kind(fmt: str, wanted: Kind, file: str, where: str, reference: str, source: Path, field: str) -> None:
    """Refuse a reference whose format suffix ``fmt`` marks the other kind of file than the ``wanted`` one.

    A map (``wanted`` ``volume``) marked ``:mrcs``: a listing of maps lists maps. An image
    taken by number from a file marked ``:mrc`` (``wanted`` ``stack``; the caller asks for
    those only): Xmipp refuses ``N@x.mrc:mrc`` too (an MRC stack is ``:mrcs``), and slices
    of a map masked as particle images are nonsense. ``file`` is the file's name without the
    suffix, ``where`` names the row or item (``row 3``), ``reference`` is the reference as
    written.

    Raises
    ------
    UserError
        Naming the row, the reference and the suffix that marks the kind wanted.
    """
    said = other_kind_said(fmt, wanted)
    if said is None:
        return
    if wanted == "stack":
        wrong = f"marks {Path(file).name} as {said}, not a stack of particle images"
        fix = f"if it holds the particles, mark it :{STACK_FORMAT} (a stack) instead"
    else:
        wrong = f"is marked as {said}, not a map"
        fix = f"list maps only (a stack is masked as particles), or mark it :{MAP_FORMAT} if it is a map"
    raise UserError(f"{where}: '{reference}' {wrong}; {fix}", source=str(source), field=field)


def with_format(text: str, fmt: str) -> str:
    """``text`` with the format suffix ``fmt`` (``"stacks/b.mrcs"``, ``"mrcs"`` → ``"stacks/b.mrcs:mrcs"``);
    ``text`` itself when ``fmt`` is ""."""
    return f"{text}:{fmt}" if fmt else text


def absolute_reference(text: str, base: Path, found: dict[str, str | None]) -> str | None:
    """``text`` (``[N@]path[:format]``) with its path absolute when it is relative and names a file from ``base``;
    None otherwise. The image number and format suffix are kept. ``found`` caches each path's answer (a million
    rows name a few thousand files).

    A file is named when it is there, or, not there, when the text is a path to one (`names_a_path`): an Xmipp
    set's ``imageOriginal`` (``000001@input/aFewProjections.stk``), a STAR's ``rlnImageOriginalName`` or a
    Scipion set's ``_psdFile`` name files their set keeps naming whether or not they came along, and from another
    folder the path, left relative, would name another place. A bare name (``mic001.mrc``, Scipion's
    ``_micName``: a name, not a path) or a number names a file only when the file is there.

    Examples
    --------
    >>> absolute_reference("3", Path("/"), {}) is None
    True
    >>> absolute_reference("000001@input/a.stk", Path("/p"), {}), absolute_reference("a.mrc", Path("/p"), {})
    ('000001@/p/input/a.stk', None)
    """
    number, at, rest = text.partition("@")
    if not (at and number.isdigit()):
        number, at, rest = "", "", text
    path, fmt = split_format(rest)
    if path not in found:
        relative = bool(path) and not Path(path).is_absolute()
        named = relative and (is_file(base / path) or names_a_path(path, numbered=bool(at)))
        found[path] = os.path.abspath(base / path) if named else None
    absolute = found[path]
    return None if absolute is None else f"{number}{at}{with_format(absolute, fmt)}"


_FILE_NAME = re.compile(r"[^\s@,;=\[\]{}()'\"]*[^\s@,;=\[\]{}()'\"/.][.][A-Za-z][A-Za-z0-9]{0,9}")


def names_a_path(text: str, numbered: bool = False) -> bool:
    """Whether ``text`` is a path to a file by its form alone: a file name with an extension (``.stk``,
    ``.ctfparam``) in a folder (``input/a.stk``), or after an image number (``numbered``: ``1@a.stk``). Text of
    another form (a bare name, a number, words, a list) is none.

    Examples
    --------
    >>> names_a_path("input/a.stk"), names_a_path("a.stk", numbered=True), names_a_path("CTFs/10.ctfparam")
    (True, True, True)
    >>> names_a_path("mic001.mrc"), names_a_path("1.5"), names_a_path("opticsGroup1"), names_a_path("2/3.5")
    (False, False, False, False)
    """
    return _FILE_NAME.fullmatch(text) is not None and (numbered or "/" in text)


def formats_as_given(names: list[str], given: Sequence[str] | Sequence[bytes], fmt: str) -> list[str]:
    """The masked set's references ``names`` (one per input reference ``given``, in order) with the format suffix
    ``fmt`` on those whose input reference had one (by `split_format`'s rule): the output names its files as its
    input did. Vectorised with `numpy.strings`: a million references cost a fraction of a second.

    Examples
    --------
    >>> formats_as_given(["1@b.mrcs", "2@b.mrcs"], ["3@p.mrc:mrcs", "4@q.mrcs"], "mrcs")
    ['1@b.mrcs:mrcs', '2@b.mrcs']
    """
    if not (len(names) and fmt):
        return names
    texts = np.asarray(given)
    colon, known = (b":", _FORMAT_BYTES) if texts.dtype.kind == "S" else (":", _FORMAT_TEXTS)
    rows = np.flatnonzero(np.strings.find(texts, colon) >= 0)
    if not rows.size:
        return names
    path, _, tail = np.strings.rpartition(texts[rows], colon)
    marked = np.zeros(len(texts), dtype=bool)
    marked[rows] = (np.strings.str_len(path) > 0) & np.isin(np.strings.lower(tail), known)
    if not marked.any():
        return names
    suffix = f":{fmt}"
    return [name + suffix if mark else name for name, mark in zip(names, marked.tolist())]  # faster than np.where
