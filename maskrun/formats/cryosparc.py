"""cryoSPARC particle sets (``.cs``): read into a particle set, written back as ``.cs`` and RELION STAR.

A ``.cs`` file is a NumPy ``.npy`` file holding one structured row per particle (facts in
../shared/notes/formats.md): ``blob/path`` and ``blob/idx`` (0-based) locate each image,
``blob/psize_A`` gives the pixel size, ``uid`` keys the row. Paths starting with ``>`` are
relative to the ``.cs`` file's folder; others to the cryoSPARC project folder, found by
walking up from the ``.cs`` (or given by the caller: a job's ``project_dir``). Plain NumPy reads it
(``allow_pickle=False``, a header limit large enough for multi-class jobs): cryosparc-tools
would add a dependency for one ``np.load``. The output keeps every row, uid, field, order
and value, and rewrites only ``blob/path`` (``>stacks/…``, widened when the new paths are
longer), ``blob/idx`` and ``blob/shape``; a RELION 3.1 STAR beside it is what cryoSPARC's
"Import Particle Stack" takes, and what RELION users refine: it carries the CTF (phase shift
included) and the poses, read as projected masks read them (`poses_in`). ``blob/sign`` has
no STAR label and is not written (pyem's csparc2star ignores it too; docs/spec.md).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import re
import warnings
from pathlib import Path
from tokenize import TokenError

import numpy as np

from maskrun.config.optics import Optics
from maskrun.errors import CompanionStarWarning, MaskrunWarning, UserError
from maskrun.formats import star_set
from maskrun.formats.cryosparc_optics import optics_groups, star_pixel_sizes
from maskrun.formats.particle_set import (
    SEVERAL_SIZES_MEAN,
    ExampleParticles,
    JoinedPassthrough,
    Masked,
    ParticleSet,
    ReadOptions,
    RowNames,
    WithoutStacks,
    checked_stacks,
    differing_pixel_sizes,
    given_is_used,
    missing_stacks,
    sizes_said,
    take_given_pixel_size,
)
from maskrun.formats.poses import Poses, angles_of_transposed
from maskrun.formats.setting_names import NO_NAMES, SettingNames
from maskrun.io.atomic import AtomicFile
from maskrun.io.file_head import GZIP_MAGIC
from maskrun.io.paths import file_not_found, is_file, refuse_broken_link
from maskrun.io.pixel_size import (
    LARGEST_ANGSTROM,
    SMALLEST_ANGSTROM,
    header_disagreement,
    unusable_note,
    usable_pixel_size,
    usable_pixel_sizes,
)
from maskrun.io.star import Loop

NAME = "cs"
LABEL = "cryoSPARC .cs"
SUFFIXES = (".cs",)
OUTPUTS = ("particles.cs", "particles.star")  # the .cs, and a RELION STAR for Import Particle Stack

MAX_HEADER_BYTES = 10_000_000  # multi-class jobs write .npy headers past NumPy's 10 000-byte default
ANCESTORS_SEARCHED = 4
BLOB_FIELDS = ("blob/path", "blob/idx")
TEXT_FIELDS = ("blob/path", "location/micrograph_path")  # decoded for the STAR; checked when read
NUMBER_FIELDS = (  # read as float for the pixel size and the STAR; checked when read
    "blob/psize_A",
    "ctf/accel_kv",
    "ctf/cs_mm",
    "ctf/amp_contrast",
    "ctf/df1_A",
    "ctf/df2_A",
    "ctf/df_angle_rad",
    "ctf/phase_shift_rad",
    "ctf/bfactor",
    "ctf/exp_group_id",
    "alignments3D/psize_A",
    "alignments2D/pose",
    "alignments2D/psize_A",
    "location/center_x_frac",
    "location/center_y_frac",
    "filament/filament_uid",
    "filament/arc_length_A",
)
WRITTEN_AS = {  # how cryoSPARC stores them; others float32
    "blob/shape": "uint32",
    "ctf/exp_group_id": "uint32",
    "location/micrograph_shape": "uint32",
    "filament/filament_uid": "uint64",
}
VECTOR_FIELDS = {  # numbers per row
    "blob/shape": 2,  # (ny, nx); rewritten in the output, so it must hold two
    "alignments3D/pose": 3,
    "alignments3D/shift": 2,
    "alignments2D/shift": 2,
    "ctf/tilt_A": 2,
    "location/micrograph_shape": 2,  # (ny, nx) of the micrograph, as blob/shape
}
CTF_COLUMNS = (  # RELION label, .cs field, the factor to RELION's unit
    ("rlnDefocusU", "ctf/df1_A", 1.0),
    ("rlnDefocusV", "ctf/df2_A", 1.0),
    ("rlnDefocusAngle", "ctf/df_angle_rad", 180 / math.pi),
    ("rlnPhaseShift", "ctf/phase_shift_rad", 180 / math.pi),
    ("rlnCtfBfactor", "ctf/bfactor", 1.0),  # Å², as pyem's csparc2star copies it
)
LARGEST_INDEX = np.iinfo(np.int64).max  # a uint64 blob/idx above this would wrap to a negative position


def _names(records: np.ndarray) -> tuple[str, ...]:
    return records.dtype.names or ()


def _dtype_of(records: np.ndarray, name: str) -> np.dtype:
    return records.dtype[name]


def read_cs(path: Path, need_blob: bool = True, names: SettingNames = NO_NAMES) -> np.ndarray:
    """The structured array of a ``.cs`` file, with its blob fields checked (a fix naming the caller's ``names``).

    Raises
    ------
    UserError
        For an empty file, one in cryoSPARC's newer CSDAT container, one that is not a
        NumPy file or stores Python objects, one with no rows, one without ``blob/path``
        and ``blob/idx``, a ``blob/idx`` that is negative or not whole, or a ``blob/path``
        that is not UTF-8 text.
    """
    if not is_file(path):
        raise file_not_found(path)
    if path.stat().st_size == 0:
        raise UserError("is empty (0 bytes); give the .cs of the job's particle output", source=str(path))
    with open(path, "rb") as file:
        head = file.read(HEAD_BYTES)
    if head.startswith(b"\x95CSDAT"):
        raise UserError(
            "is in cryoSPARC's CSDAT format, which plain NumPy cannot read; export the particles "
            "from cryoSPARC (Outputs tab > Export) to get a NumPy .cs, or convert it with cryosparc-tools: "
            f"Dataset.load('{path.name}').save('{path.stem}_numpy.cs') writes one",
            source=str(path),
        )
    if not head.startswith(NUMPY_MAGIC):
        raise UserError(_not_numpy(head), source=str(path))
    records = _load(path)
    if not _names(records) or records.ndim != 1:
        raise UserError("is not a cryoSPARC particle table (no named fields)", source=str(path))
    missing = [name for name in BLOB_FIELDS if name not in _names(records)]
    if missing and need_blob:
        raise UserError(
            f"has no {', '.join(missing)} fields: it does not say where the images are; {_blob_fix(path, names)}",
            source=str(path),
        )
    if len(records) == 0:
        raise UserError("holds no particles (0 rows)", source=str(path))
    if not missing:
        _check_indices(records, path)
    for name in TEXT_FIELDS:  # checked here, so that maskrun validate finds a bad path
        if name in _names(records):
            text_values(records, name, path)
    for name in NUMBER_FIELDS:
        if name in _names(records) and (records[name].dtype.kind not in "iuf" or records[name].ndim != 1):
            raise UserError(
                f"must be a number (one per row), not {_dtype_of(records, name)}; cryoSPARC writes "
                f"{WRITTEN_AS.get(name, 'float32')} here",
                source=str(path),
                field=name,
            )
    for name, size in VECTOR_FIELDS.items():
        if name in _names(records) and (records[name].dtype.kind not in "iuf" or records[name].shape[1:] != (size,)):
            raise UserError(
                f"must be {size} numbers per row, not {_dtype_of(records, name)}; cryoSPARC writes {size} "
                f"{WRITTEN_AS.get(name, 'float32')} here",
                source=str(path),
                field=name,
            )
    return records


NUMPY_MAGIC = b"\x93NUMPY"  # every .npy file, and so every NumPy .cs, begins with it
HEAD_BYTES = 512  # read to say what a file that is no NumPy .cs is


def _not_numpy(head: bytes) -> str:
    """The refusal of a ``.cs`` that is no NumPy file: what it is, by its first bytes (``head``), and the fix.

    Examples
    --------
    >>> _not_numpy(b"particles\\n")
    "is text, not a cryoSPARC .cs (a binary NumPy file): it begins 'particles'; give the .cs that cryoSPARC wrote"
    >>> _not_numpy(b"\\x1f\\x8b\\x08\\x00")
    'is gzip-compressed, not a cryoSPARC .cs (a NumPy file): decompress it (gunzip) and give the file inside'
    """
    if head.startswith(GZIP_MAGIC):
        return "is gzip-compressed, not a cryoSPARC .cs (a NumPy file): decompress it (gunzip) and give the file inside"
    if head.startswith(b"PK\x03\x04"):
        return "is a zip archive (a NumPy .npz?), not a cryoSPARC .cs (one NumPy array): give the .cs inside it"
    text = _text_of(head)
    if text is None:
        return f"is not a NumPy file (no NumPy header), so no cryoSPARC .cs: damaged, or another kind; {COPY_AGAIN}"
    first = text.strip().splitlines()[0][:40] if text.strip() else ""
    star = first.startswith(("data_", "loop_", "_rln", "# version"))
    fix = "it looks like a RELION STAR file: name it .star" if star else "give the .cs that cryoSPARC wrote"
    return f"is text, not a cryoSPARC .cs (a binary NumPy file): it begins '{first}'; {fix}"


def _text_of(head: bytes) -> str | None:
    """``head`` as text when it is UTF-8 of printable characters and white space (its last character may be cut);
    None when it is binary."""
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:
            return None
        text = head[: exc.start].decode("utf-8")
    return text if all(char.isprintable() or char in "\t\n\r\f\v" for char in text) else None


def _blob_fix(path: Path, names: SettingNames) -> str:
    """What to give for a ``.cs`` without blob fields: the cryoSPARC job's particle output, and this one, when it is
    the passthrough (by cryoSPARC's name, ``J7_passthrough_particles.cs``), as the passthrough (the caller's
    ``names.passthrough``, where it has one). The particle output is named when it is beside it: ``J7_particles.cs``,
    else a ``.cs`` there of the same job (`_job_of`) with the blob slot (v4's ``J12/extracted_particles.cs``)."""
    if "passthrough" not in path.name:
        return "use the .cs of the job's particle output (with the blob slot)"
    own = path.parent / path.name.replace("_passthrough_particles", "_particles", 1)
    job = _job_of(path)
    others = [p for p in sorted(path.parent.glob("*.cs")) if "passthrough" not in p.name and _job_of(p) == job]
    particles = next(
        (p for p in dict.fromkeys([own, *others]) if p != path and set(BLOB_FIELDS) <= set(_field_names(p))), None
    )
    named = particles.name if particles is not None else "the .cs of the job's particle output"
    this_one = f", and this one as {names.passthrough}" if names.passthrough else ""
    return f"it is a passthrough: give {named} (with the blob slot) as {names.the_particles}{this_one}"


COPY_AGAIN = "copy the file again, or export it again from cryoSPARC"  # a damaged or cut .cs: what fixes it


def _load(path: Path) -> np.ndarray:
    try:
        return np.asarray(np.load(path, allow_pickle=False, max_header_size=MAX_HEADER_BYTES))
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise UserError(
                "stores Python objects (a pickled column), which maskrun does not load; save it with "
                "fixed-width byte strings (cryosparc-tools' Dataset.save does)",
                source=str(path),
            ) from None
        raise UserError(
            f"cannot be read as a cryoSPARC .cs (a NumPy file): {exc}; {COPY_AGAIN}", source=str(path)
        ) from None
    except (SyntaxError, TokenError, MemoryError, OverflowError) as exc:  # NumPy parses the header as Python
        raise UserError(
            f"cannot be read as a cryoSPARC .cs (a NumPy file): its header is damaged ({type(exc).__name__}); "
            + COPY_AGAIN,
            source=str(path),
        ) from None
    except (EOFError, OSError) as exc:
        raise UserError(
            f"cannot be read as a cryoSPARC .cs (a NumPy file): {exc or 'it ends early'}; is it truncated? "
            + COPY_AGAIN,
            source=str(path),
        ) from None


def _check_indices(records: np.ndarray, source: Path) -> None:
    """``blob/idx`` must be whole numbers from 0: a negative one would address an image from a stack's end."""
    indices = records["blob/idx"]
    if indices.dtype.kind not in "iu" or indices.ndim != 1:
        raise UserError(
            f"must be whole numbers (one per row), not {_dtype_of(records, 'blob/idx')}; it is each image's 0-based "
            "position in its stack",
            source=str(source),
            field="blob/idx",
        )
    huge = np.flatnonzero(indices > LARGEST_INDEX) if indices.dtype == np.uint64 else np.array([], int)
    if huge.size:
        row = int(huge[0])
        raise UserError(
            f"{_row(row)}: {int(indices[row])} is too large for a position in a stack; fix the index",
            source=str(source),
            field="blob/idx",
        )
    negative = np.flatnonzero(indices < 0)
    if negative.size:
        row = int(negative[0])
        raise UserError(
            f"{_row(row)}: {int(indices[row])} is negative"
            + (f" ({negative.size} rows in all)" if negative.size > 1 else "")
            + "; images are numbered from 0 in their stack: fix the index",
            source=str(source),
            field="blob/idx",
        )


def text_values(records: np.ndarray, name: str, source: Path) -> tuple[list[str], np.ndarray]:
    """A text field's distinct values as ``str`` (in the order the rows first hold them) and each row's, 0-based.

    UTF-8 bytes (``S``, as cryoSPARC writes) or unicode (``U``), stripped of white space.
    Each distinct value is decoded once: a million rows name a few hundred stacks.

    Raises
    ------
    UserError
        For bytes that are not UTF-8 (naming the row) or a field that is not text.
    """
    values = records[name]
    if values.dtype.kind not in "SU" or values.ndim != 1:
        raise UserError(
            f"must be text, not {_dtype_of(records, name)}; it names each image's stack",
            source=str(source),
            field=name,
        )
    uniques, codes = _factorize_runs(values)
    texts = []
    for code, raw in enumerate(uniques.tolist()):
        if isinstance(raw, str):
            texts.append(raw.strip())
            continue
        try:
            texts.append(raw.decode("utf-8").strip())
        except UnicodeDecodeError as exc:
            row = int(np.argmax(codes == code))
            raise UserError(
                f"{_row(row)}: {raw!r} is not UTF-8 text (byte {exc.start}); cryoSPARC writes "
                "UTF-8: rename the file to a UTF-8 name and fix the path",
                source=str(source),
                field=name,
            ) from None
    return texts, codes


def _factorize_runs(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values of a 1D array, in the order the rows first hold them, and each row's, 0-based.

    Rows come in runs of one stack (an extraction writes each micrograph's particles
    together): only the first of each run is sorted, so 10⁶ rows of 200 stacks take ~20 ms.

    Examples
    --------
    >>> uniques, codes = _factorize_runs(np.array([b"b", b"b", b"a", b"b"]))
    >>> uniques.tolist(), codes.tolist()
    ([b'b', b'a'], [0, 0, 1, 0])
    """
    if not len(values):
        return values[:0], np.zeros(0, dtype=np.intp)
    starts = np.flatnonzero(np.concatenate(([True], values[1:] != values[:-1])))
    distinct, first, inverse = np.unique(values[starts], return_index=True, return_inverse=True)
    order = np.argsort(first)
    rank = np.empty(len(order), dtype=np.intp)
    rank[order] = np.arange(len(order))
    codes: np.ndarray = np.repeat(rank[inverse.reshape(-1)], np.diff(np.append(starts, len(values))))
    return distinct[order], codes


def join_passthrough(records: np.ndarray, passthrough: np.ndarray, source: Path) -> np.ndarray:
    """The passthrough's fields that ``records`` lacks, joined on ``uid``, as one array (order of ``records``).

    Vectorised (a sort and a binary search, not a dict of a million uids). A particle's uid in
    more than one row of the passthrough is refused: which row's fields go with it is ambiguous
    (cryoSPARC writes each uid once). A uid repeated in ``records`` takes the same passthrough
    row each time (`warn_of_repeated_uids` tells of those).

    Raises
    ------
    UserError
        When either file has no ``uid``, the passthrough lacks some of the particles' uids or
        holds one of them in several rows.
    """
    if "uid" not in _names(records) or "uid" not in (_names(passthrough)):
        raise UserError("cannot be joined: both .cs files need a uid field", source=str(source))
    ours, theirs = _uid_keys(records["uid"]), _uid_keys(passthrough["uid"])
    by_uid = np.argsort(theirs, kind="stable")
    sorted_uids = theirs[by_uid]
    place = np.minimum(np.searchsorted(sorted_uids, ours), max(len(sorted_uids) - 1, 0))
    found = sorted_uids[place] == ours if len(sorted_uids) else np.zeros(len(ours), dtype=bool)
    if not found.all():
        missing = ours[~found]
        raise UserError(
            f"lacks {len(missing)} of the particles' uids (first {int(missing[0])}); give the passthrough "
            "file of the same job",
            source=str(source),
        )
    repeated = (place + 1 < len(sorted_uids)) & (sorted_uids[np.minimum(place + 1, len(sorted_uids) - 1)] == ours)
    if repeated.any():
        uid = ours[np.flatnonzero(repeated)[0]]
        rows = np.flatnonzero(theirs == uid)
        raise UserError(
            f"{int(uid)} is in {_rows(rows)}: the passthrough is joined on uid, and which of its rows goes with "
            "that particle is ambiguous; give the passthrough the particles' own job wrote (cryoSPARC writes each "
            "uid once)",
            source=str(source),
            field="uid",
        )
    order = by_uid[place]
    extra = [name for name in _names(passthrough) if name not in _names(records)]
    fields = [(name, _dtype_of(records, name)) for name in _names(records)]
    fields += [(name, _dtype_of(passthrough, name)) for name in extra]
    joined = np.empty(len(records), dtype=fields)
    for name in _names(records):
        joined[name] = records[name]
    for name in extra:
        joined[name] = passthrough[name][order]
    return joined


def _uid_keys(uids: np.ndarray) -> np.ndarray:
    """``uid`` values as one comparable type: uint64, as cryoSPARC writes them (an int64 column of uids from 0 too:
    comparing the two as they are would go through float64 and merge uids above 2⁵³); others as they are."""
    column = np.asarray(uids)
    if column.dtype.kind == "u" or (column.dtype.kind == "i" and (not len(column) or column.min() >= 0)):
        keys: np.ndarray = column.astype(np.uint64)
        return keys
    return column


def _rows(rows: np.ndarray) -> str:
    """Rows of a ``.cs`` (0-based, sorted) as a message names them: ``row 3 (index 2) and row 8 (index 7)``, the
    first two of more with ``(5 rows)``."""
    named = " and ".join(_row(int(row)) for row in rows[:2])
    return f"{named} ({len(rows)} rows)" if len(rows) > 2 else named


def warn_of_repeated_uids(records: np.ndarray, source: Path) -> None:
    """Warn of a uid in more than one row: cryoSPARC keys particles by uid, so such rows are one particle to it (a
    set combined with itself?). Each is masked and written back as it is: the user decides which to keep."""
    if "uid" not in _names(records) or len(records) < 2:
        return
    keys = _uid_keys(records["uid"])
    by_uid = np.argsort(keys, kind="stable")
    same = keys[by_uid][1:] == keys[by_uid][:-1]
    if not same.any():
        return
    uid = keys[by_uid][1:][same][0]
    repeated = len(np.unique(keys[by_uid][1:][same]))
    more = f"; {repeated} uids are repeated" if repeated > 1 else ""
    warnings.warn(
        f"{source}: uid {int(uid)} is in {_rows(np.flatnonzero(keys == uid))}{more}: cryoSPARC keys particles by uid, "
        "so rows that share one are one particle to it; each row is masked and written back as it is; if they are "
        "one particle twice, keep one row of each uid",
        MaskrunWarning,
        stacklevel=3,
    )


def stack_references(
    records: np.ndarray,
    source: Path,
    search: list[Path],
    missing_ok: bool = False,
    project_dir: Path | None = None,
    names: SettingNames = NO_NAMES,
) -> tuple[list[str], np.ndarray, list[Path]]:
    """``blob/path``'s distinct texts as written (in the order the rows first give them), each row's among them,
    and the folder each text is relative to (looked up once per text, not per row).

    ``missing_ok``: a stack not found is given the first folder searched (``>``: the ``.cs``
    folder), not refused. ``project_dir``: the project folder given (``names.project_dir``),
    named in the refusal of a stack not found when it does not hold the path's first folder
    (`_project_dir_fix`).

    Raises
    ------
    UserError
        For a stack not found (`_stack_not_found`).
    """
    texts, codes = text_values(records, "blob/path", source)
    bases: list[Path | None] = []
    for text in texts:
        if text.startswith(">"):
            beside = missing_ok or is_file(source.parent / text.lstrip(">"))
            bases.append(source.parent if beside else None)
            continue
        hit = next((base for base in search if is_file(base / text)), None)
        bases.append(search[0] if hit is None and missing_ok else hit)
    found = [base for base in bases if base is not None]
    if len(found) < len(bases):
        raise _stack_not_found(texts, codes, bases, source, search, project_dir, names)
    return texts, codes, found


def _stack_not_found(
    texts: list[str],
    codes: np.ndarray,
    bases: list[Path | None],
    source: Path,
    search: list[Path],
    project_dir: Path | None,
    names: SettingNames,
) -> UserError:
    """The refusal of the first stack not found (``bases`` None): a broken link, where there is one; a ``>`` path
    not beside the ``.cs`` (``>`` means its folder: a ``.cs`` copied away from its stacks); a stack missing from
    the folder where the others are (restore it: the project folder is right); else the project folder to give."""
    missing = [code for code, base in enumerate(bases) if base is None]
    text = texts[missing[0]]
    row = _row(int(np.argmax(codes == missing[0])))
    restore = "restore them, or fix the paths" if len(missing) > 1 else "restore it, or fix the path"
    more = f" ({len(missing)} of its {len(texts)} stacks are missing)" if len(missing) > 1 else ""
    if text.startswith(">"):
        place = source.parent / text.lstrip(">")
        refuse_broken_link([place], f"{row}: stack", source, "blob/path")
        said = f"{row}: stack '{text}' not found: '>' paths are in the .cs's own folder, and {place} is not there"
        if len(missing) < len(texts):
            return UserError(f"{said}{more}; {restore}", source=str(source), field="blob/path")
        other = len(texts) - 1
        nor = "" if not other else ", nor is its other stack" if other == 1 else f", nor are its other {other} stacks"
        fix = "keep the .cs beside its stacks: give the one in their folder, or copy them beside it"
        return UserError(f"{said}{nor}; {fix}", source=str(source), field="blob/path")
    refuse_broken_link([base / text for base in search], "stack", source, "blob/path")
    first = Path(text).parts[0] if len(Path(text).parts) > 1 else ""
    projects = [base for t, base in zip(texts, bases) if base is not None and not t.startswith(">")]
    others = max(set(projects), key=projects.count) if projects else None
    if others is not None and (not first or (others / first).is_dir()):
        there = f"{projects.count(others)} of its {len(texts)} stacks are"
        gone = f"{len(missing)} are missing: " if len(missing) > 1 else ""
        message = f"{row}: stack '{text}' not found in {others}, where {there}; {gone}{restore}"
        return UserError(message, source=str(source), field="blob/path")
    looked = ", ".join(dict.fromkeys(str(b) for b in search))
    return UserError(
        f"stack '{text}' not found (looked in {looked}); {_project_dir_fix(text, project_dir, names)}",
        source=str(source),
        field="blob/path",
    )


def _row(row: int) -> str:
    """A row of a ``.cs`` as its messages name it: counted from 1, as maskrun counts the rows of every set, and its
    index as NumPy and cryosparc-tools number it, from 0.

    Examples
    --------
    >>> _row(7)
    'row 8 (index 7)'
    """
    return f"row {row + 1} (index {row})"


def _project_dir_fix(text: str, project_dir: Path | None, names: SettingNames) -> str:
    """How to have a project-relative stack path found: the project folder, the one holding its first folder, given
    as the caller's ``names.project_dir``; without that setting, from where the ``.cs`` is (its folder and up).

    Examples
    --------
    >>> job = SettingNames(project_dir="inputs.project_dir")
    >>> _project_dir_fix("J5/imported/a.mrc", None, job)
    'give the cryoSPARC project folder as inputs.project_dir (the one holding J5/)'
    >>> _project_dir_fix("J5/imported/a.mrc", Path("/p/P3/J7"), job)
    'inputs.project_dir /p/P3/J7 does not hold J5/; give the cryoSPARC project folder, the one holding J5/'
    >>> _project_dir_fix("J5/imported/a.mrc", None, SettingNames())
    'fix the path, or keep the .cs inside its cryoSPARC project folder (the one holding J5/)'
    """
    parts = Path(text).parts
    first = parts[0] if len(parts) > 1 and parts[0] not in (".", "..") else None
    setting = names.project_dir
    holding = f" (the one holding {first}/)" if first else ""
    if project_dir is None and setting is None:
        needed = f"finding it needs the cryoSPARC project folder{holding}"
        return names.without(needed, f"fix the path, or keep the .cs inside its cryoSPARC project folder{holding}")
    if first is None:
        return f"give the cryoSPARC project folder as {setting}, or fix the path" if setting else "fix the path"
    if project_dir is None:
        return f"give the cryoSPARC project folder as {setting}{holding}"
    given = f"{setting} {project_dir}" if setting else f"the project folder {project_dir}"
    if not (project_dir / first).is_dir():
        return f"{given} does not hold {first}/; give the cryoSPARC project folder, the one holding {first}/"
    return f"{given} holds {first}/ but not this stack; fix the path or copy the stack back"


def search_folders(source: Path, job_folder: Path | None, project_dir: Path | None) -> list[Path]:
    """Where non-``>`` paths are looked up: the project folder if given, else the ``.cs`` folder and up."""
    folders = [project_dir] if project_dir is not None else []
    folders += [source.parent, *list(source.parent.parents)[:ANCESTORS_SEARCHED]]
    folders += [job_folder] if job_folder is not None else []
    return [f for f in folders if f is not None]


def cs_pixel_size(records: np.ndarray, header: float) -> tuple[float, list[str]]:
    """The set's pixel size in Å and notes: ``blob/psize_A`` when usable, else the stack header's, else 0.

    A header that disagrees with a usable ``blob/psize_A`` by more than 1 % gets a note, as in STAR.

    Several values in ``blob/psize_A`` give the first (with a note); NaN, ≤ 0 or absurd
    ones are set aside for the header's (with a note), see `usable_pixel_size`.
    """
    if "blob/psize_A" not in _names(records):
        return usable_pixel_size(header) or 0.0, []
    column = np.asarray(records["blob/psize_A"], dtype=np.float64)
    kept = usable_pixel_sizes(column)
    if kept.any() and not kept.all():  # a row's 0 or NaN is no second pixel size: the others' stands for it
        count, value = int((~kept).sum()), float(column[~kept][0])
        unusable = [
            f"{count} row{'s' * (count != 1)} hold{'s' * (count == 1)} no usable blob/psize_A ({value:g}): the "
            "others' pixel size is used for them"
        ]
        column = column[kept]
    else:
        unusable = []
    values, first_rows = np.unique(column, return_index=True)
    sizes = values[np.argsort(first_rows)]  # in the order the rows hold them: the first row's first
    usable = usable_pixel_size(float(sizes[0]))
    if usable is not None:
        several = (
            [] if len(sizes) == 1 else [f"{len(sizes)} pixel sizes in blob/psize_A; the first, {usable:g} Å, is used"]
        )
        return usable, unusable + several + header_disagreement(
            usable_pixel_size(header) or 0.0, usable, "the metadata (blob/psize_A)"
        )
    fallback = usable_pixel_size(header) or 0.0  # no row's value is usable (0, NaN, ...): none of them is "used"
    return fallback, [unusable_note("blob/psize_A", f"{float(sizes[0]):g}", fallback)]


def several_pixel_sizes(records: np.ndarray) -> tuple[tuple[float, ...], tuple[str, ...]]:
    """The usable values of ``blob/psize_A`` (the first row's first) and, for each, how many rows hold it
    (``4 rows``), when they differ by more than `star_set.SAME_PIXEL_SIZE`; ((), ()) for a set of one pixel size.

    cryoSPARC keeps a pixel size per row, not per optics group: particles of several pixel
    sizes are told by size and row count, as a STAR set's are by optics group. Values that
    are NaN, ≤ 0 or absurd (`usable_pixel_size`) are set aside, as for one pixel size.
    """
    if "blob/psize_A" not in _names(records):
        return (), ()
    column = np.asarray(records["blob/psize_A"], dtype=np.float64)
    values, first_rows, counts = np.unique(column[usable_pixel_sizes(column)], return_index=True, return_counts=True)
    if not len(values) or values[-1] <= (1 + star_set.SAME_PIXEL_SIZE) * values[0]:
        return (), ()
    order = np.argsort(first_rows)
    sizes = tuple(float(value) for value in values[order])
    rows = tuple(f"{count} row{'s' * (count != 1)}" for count in counts[order].tolist())
    return sizes, rows


def fallback_pixel_size(records: np.ndarray, header: float, several: tuple[float, ...]) -> float:
    """The pixel size, of a set of ``several``, for its rows whose ``blob/psize_A`` is missing or unusable (the
    companion STAR's optics groups and the rescaled shifts take it): the stack ``header``'s; 0 when it has none.
    When every row has a usable one, none needs it: the first of ``several``."""
    if usable_pixel_sizes(records["blob/psize_A"]).all():
        return several[0]
    return usable_pixel_size(header) or 0.0


def set_pixel_size(records: np.ndarray, header: float) -> tuple[float, list[str], tuple[float, ...], tuple[str, ...]]:
    """The set's pixel size in Å (`cs_pixel_size`) and notes; for rows of several pixel sizes (`several_pixel_sizes`),
    0 with a note saying what that means, the sizes and their rows, as a STAR set's optics groups."""
    several, rows = several_pixel_sizes(records)
    if not several:
        return (*cs_pixel_size(records, header), (), ())
    note = f"the particles' {differing_pixel_sizes(several, rows, 'blob/psize_A')}{SEVERAL_SIZES_MEAN}"
    return 0.0, [note], several, rows


def no_pixel_size(
    records: np.ndarray, stack: Path, source: Path, written_back: bool, given_as: str | None = None
) -> UserError:
    """The refusal of a set whose pixel size is unknown: what ``blob/psize_A`` holds, and how to set it in the ``.cs``.

    Parameters
    ----------
    records
        The set's table (``blob/psize_A`` may be missing).
    stack
        The first stack, whose header gave no pixel size either.
    source
        The ``.cs``, named in the error.
    written_back
        Whether a job writes the set back: its companion RELION STAR is why a pixel size is
        needed, and the error says so; ``project-mask`` writes none, and the error does not.
    given_as
        The caller's setting that gives the pixel size (``inputs.pixel_size_angstrom``), proposed
        too; None: the caller has none.

    Returns
    -------
    UserError
        One line naming the ``.cs``, ``blob/psize_A`` and the fix, for the caller to raise.
    """
    why = " (the RELION particles.star written beside particles.cs needs one)" if written_back else ""
    again = (
        f"set {given_as} to it, " if given_as else ""
    ) + "or import the particles into cryoSPARC again with their pixel size"
    if "blob/psize_A" not in _names(records):
        message = (
            f"is not in the .cs, and the stack header ({stack.name}) gives no pixel size{why}; add blob/psize_A "
            f"(float32, one per row) with the images' pixel size in Å, {again}"
        )
    else:
        column = np.asarray(records["blob/psize_A"], dtype=np.float64)
        row = int(np.argmin(usable_pixel_sizes(column)))  # the first unusable (the first row's when all are)
        said = "it is" if row == 0 else f"{_row(row)} is"
        message = (
            f"gives no usable pixel size: {said} {column[row]:g}, not a pixel size from {SMALLEST_ANGSTROM:g} to "
            f"{LARGEST_ANGSTROM:g} Å/px, and the stack header ({stack.name}) gives none{why}; set blob/psize_A "
            f"in the .cs to the images' pixel size in Å, {again}"
        )
    return UserError(message, source=str(source), field="blob/psize_A")


def star_tables(
    records: np.ndarray,
    image_names: list[str],
    pixel_size: float,
    box: int,
    *,
    optics: Optics | None = None,
    source: Path | None = None,
    passthrough: Path | None = None,
    names: SettingNames = NO_NAMES,
) -> dict[str, Loop]:
    """RELION 3.1 blocks (optics, particles) for the particles: images, CTF, micrographs and coordinates where known.

    One optics group per exposure group and distinct optics, each particle naming its own
    (`maskrun.formats.cryosparc_optics`).

    The poses are added where the STAR is written (`write_particles`, `pose_columns`): at a
    million rows they cost ~2 s, which every read of the set (validate, planning, a unit
    that needs the metadata) would pay.

    Parameters
    ----------
    pixel_size
        The set's pixel size in Å, for rows whose ``blob/psize_A`` is missing or unusable.
    optics
        The job's ``inputs.optics``: voltage, Cs and amplitude contrast for those the
        ``.cs`` lacks (RELION refuses an optics block without them).
    source
        The ``.cs``, named in errors and warnings.
    passthrough
        The passthrough ``.cs`` joined into ``records``, if any, named when it lacks the defocus too.
    names
        The caller's names for ``optics`` and the passthrough, for the warning's fix.

    Raises
    ------
    UserError
        When the pixel size is not usable (NaN, ≤ 0 or absurd): the STAR would carry it.

    Warns
    -----
    CompanionStarWarning
        When voltage, Cs or amplitude contrast is in neither the ``.cs`` nor ``optics``, when
        the set holds aberrations the STAR leaves out, when the STAR would lack what a
        passthrough holds (`warn_of_what_the_star_lacks`), and when a row's coordinates place
        it nowhere on its micrograph (`coordinate_columns`).
    """
    fields = set(_names(records))
    where = str(source) if source is not None else None
    if usable_pixel_size(pixel_size) is None:  # read_particles refuses it first, naming the stack (no_pixel_size)
        raise UserError(
            f"gives no usable pixel size ({pixel_size:g} Å/px), and the RELION STAR needs one; set blob/psize_A in "
            "the .cs to the images' pixel size in Å",
            source=where,
            field="blob/psize_A",
        )
    beside = None if source is None else functools.partial(passthrough_beside, source)
    groups = optics_groups(records, pixel_size, box, optics, where, beside, names)
    warn_of_what_the_star_lacks(fields, source, passthrough, names)
    particles: dict[str, list[str]] = {"rlnImageName": image_names}
    for star, cs, factor in CTF_COLUMNS:
        if cs in fields:
            particles[star] = _texts(np.asarray(records[cs], dtype=np.float64) * factor)
    if MICROGRAPH_FIELD in fields:  # checked by read_cs
        micrographs, of_row = text_values(records, MICROGRAPH_FIELD, Path())
        particles["rlnMicrographName"] = np.array([t.lstrip(">") for t in micrographs], dtype=object)[of_row].tolist()
    particles |= coordinate_columns(records, source)
    particles |= filament_columns(records)
    particles["rlnOpticsGroup"] = groups.particle_column()
    return {
        "optics": Loop.from_columns(groups.table),
        "particles": Loop.from_columns(particles),
    }


DEFOCUS_FIELDS = ("ctf/df1_A", "ctf/df2_A", "ctf/df_angle_rad")  # rlnDefocusU, V, Angle: RELION's CTF needs them
MICROGRAPH_FIELD = "location/micrograph_path"
COORDINATE_FIELDS = ("location/center_x_frac", "location/center_y_frac", "location/micrograph_shape")
WITHOUT_LOCATION = {  # a location field, and what the companion STAR lacks without it
    MICROGRAPH_FIELD: "no rlnMicrographName (RELION's CtfRefine and Bayesian polishing group particles by micrograph)",
    **dict.fromkeys(
        COORDINATE_FIELDS,
        "no rlnCoordinateX/Y (RELION finds each particle on its micrograph by them, to re-extract or polish it)",
    ),
}


def coordinate_columns(records: np.ndarray, source: Path | None = None) -> dict[str, list[str]]:
    """``rlnCoordinateX/Y``: each particle's centre on its micrograph, in the micrograph's pixels.

    cryoSPARC stores it as fractions of the micrograph, ``location/center_x_frac`` and
    ``/center_y_frac`` (from the micrograph's first pixel as stored: its top-left corner,
    cryosparc-tools' documentation says), and the micrograph's size as
    ``location/micrograph_shape``, (ny, nx) in NumPy's order as ``blob/shape``: X is
    ``center_x_frac × shape[1]`` and Y ``center_y_frac × shape[0]``, on the micrograph as stored
    (pyem's csparc2star writes ``(1 − center_y_frac) × shape[0]`` unless given ``--inverty``, for
    micrographs flipped in Y: docs/spec.md). Nothing without the three fields, or when a row places its
    particle nowhere (a shape with a 0, a fraction that is not a number), with a
    `CompanionStarWarning` naming the row: RELION would extract every such particle at a wrong place.
    """
    if not set(COORDINATE_FIELDS) <= set(_names(records)):
        return {}
    shape = np.asarray(records["location/micrograph_shape"], dtype=np.float64)
    x = np.asarray(records["location/center_x_frac"], dtype=np.float64) * shape[:, 1]
    y = np.asarray(records["location/center_y_frac"], dtype=np.float64) * shape[:, 0]
    nowhere = np.flatnonzero(~(np.isfinite(x) & np.isfinite(y) & (shape > 0).all(axis=1)))
    if nowhere.size:
        row = int(nowhere[0])
        said = (
            f"location/micrograph_shape is [{', '.join(f'{v:g}' for v in shape[row])}]"
            if not (shape[row] > 0).all()
            else "location/center_x_frac, center_y_frac are "
            f"{records['location/center_x_frac'][row]:g}, {records['location/center_y_frac'][row]:g}"
        )
        warnings.warn(
            f"{source if source is not None else 'the .cs'}: {_row(row)}: {said}, which places the particle nowhere "
            f"on its micrograph{f' ({nowhere.size} rows in all)' if nowhere.size > 1 else ''}; the RELION "
            "particles.star written beside it has no rlnCoordinateX/Y",
            CompanionStarWarning,
            stacklevel=4,
        )
        return {}
    return {"rlnCoordinateX": _texts(x), "rlnCoordinateY": _texts(y)}


FILAMENT_UID = "filament/filament_uid"
ARC_LENGTH = "filament/arc_length_A"


def filament_columns(records: np.ndarray) -> dict[str, list[str]]:
    """``rlnHelicalTubeID`` and ``rlnHelicalTrackLengthAngst`` of a filament set: which tube each segment is of, and
    how far along it.

    RELION's helical refinement keys a tube by ``rlnMicrographName`` and ``rlnHelicalTubeID`` (half-sets
    and the priors' local averaging go tube by tube), reads the ID as a 32-bit ``int`` and stops at one
    below 1; cryoSPARC's ``filament/filament_uid`` is a 64-bit uid, so the tubes are numbered 1, 2, … on
    each micrograph (`tube_ids`). ``filament/arc_length_A`` (the segment's distance along its filament, in
    Å) is RELION's track length, copied with the tube ID. Nothing without ``filament/filament_uid``.
    """
    names = _names(records)
    if FILAMENT_UID not in names:
        return {}
    columns = {"rlnHelicalTubeID": [str(tube) for tube in tube_ids(records).tolist()]}
    if ARC_LENGTH in names:
        columns["rlnHelicalTrackLengthAngst"] = _texts(np.asarray(records[ARC_LENGTH], dtype=np.float64))
    return columns


def tube_ids(records: np.ndarray) -> np.ndarray:
    """Each row's tube, numbered from 1 per micrograph (the ``rlnMicrographName`` the STAR gives it) in the order
    its ``filament/filament_uid`` first appears; from 1 over the whole set without ``location/micrograph_path``,
    where RELION takes every particle as of one micrograph (no name).

    Examples
    --------
    >>> rows = np.zeros(5, dtype=[("filament/filament_uid", "<u8"), ("location/micrograph_path", "S5")])
    >>> rows["filament/filament_uid"] = [2**63 + 9, 2**63 + 9, 7, 2**63 + 9, 12]
    >>> rows["location/micrograph_path"] = [b"a.mrc", b"a.mrc", b"a.mrc", b"b.mrc", b"b.mrc"]
    >>> tube_ids(rows).tolist()
    [1, 1, 2, 1, 2]
    """
    _, uid_of_row = np.unique(np.asarray(records[FILAMENT_UID]), return_inverse=True)
    micrograph_of_row = np.zeros(len(records), dtype=np.int64)
    if MICROGRAPH_FIELD in _names(records):
        micrographs, of_row = text_values(records, MICROGRAPH_FIELD, Path())
        _, named = np.unique(np.array([text.lstrip(">") for text in micrographs]), return_inverse=True)
        micrograph_of_row = named.reshape(-1)[of_row]
    pair = micrograph_of_row * (int(uid_of_row.max()) + 1) + uid_of_row.reshape(-1)
    _, first, tube_of_row = np.unique(pair, return_index=True, return_inverse=True)
    order = np.lexsort((first, micrograph_of_row[first]))  # the tubes by micrograph, then by first row
    on = micrograph_of_row[first][order]
    starts = np.flatnonzero(np.r_[True, on[1:] != on[:-1]])
    number = np.empty(len(order), dtype=np.int64)
    number[order] = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)])) + 1
    numbered: np.ndarray = number[tube_of_row.reshape(-1)]
    return numbered


def warn_of_what_the_star_lacks(
    fields: set[str], source: Path | None, passthrough: Path | None, names: SettingNames = NO_NAMES
) -> None:
    """Warn when the companion STAR would have no defocus, or no micrographs or coordinates that a passthrough
    beside holds.

    cryoSPARC keeps an extraction's CTF and locations in its passthrough (``J12/extracted_particles.cs``
    and ``J12/J12_passthrough_particles.cs``; `passthrough_beside`): without it the STAR loses them, silently
    before. A set without a defocus is warned of whatever the reason (RELION corrects no CTF without one),
    naming the passthrough beside that holds it, or the one given that lacks it too; a set without
    ``location/micrograph_path`` or the coordinates (`COORDINATE_FIELDS`) only when a passthrough beside holds
    them (an imported stack has none), naming those it holds.

    Parameters
    ----------
    fields
        The fields of the set, joined with its ``passthrough`` when given.
    source
        The ``.cs``, named in the warning (None: "the .cs", and no passthrough beside is looked for).
    passthrough
        The passthrough ``.cs`` given (joined into ``fields``), if any.
    names
        The caller's name for the passthrough setting, for the fix.
    """
    where = str(source) if source is not None else "the .cs"
    lacks = {
        "defocus": [name for name in DEFOCUS_FIELDS if name not in fields],
        "location": [name for name in WITHOUT_LOCATION if name not in fields],
    }
    for what, missing in lacks.items():
        if not missing:
            continue
        beside = passthrough_beside(source, missing) if source is not None and passthrough is None else None
        if what == "location":
            if beside is None:
                continue  # an imported stack has none to give
            missing = [name for name in missing if name in _field_names(beside)]
            star_has = " and ".join(dict.fromkeys(WITHOUT_LOCATION[name] for name in missing))
        else:
            star_has = "no defocus (rlnDefocusU/V/Angle), so RELION cannot correct their CTF"
        said = f"{where} has no {', '.join(missing)}"
        them = "them" if len(missing) > 1 else "it"
        if beside is not None:
            fix = f"their passthrough {beside.name} beside it holds {them}" + (
                f": give it as {names.passthrough}" if names.passthrough else ""
            )
        else:
            if passthrough is not None:
                said = f"{said}, nor has its passthrough {passthrough}"
            fix = (
                f"if cryoSPARC estimated their CTF, give the passthrough .cs that holds {them} as {names.passthrough} "
                "(cryoSPARC keeps it there after Extract, Restack or Downsample)"
                if names.passthrough
                else "if cryoSPARC estimated their CTF, take the .cs that holds it (or its passthrough, joined on uid)"
            )
        warnings.warn(
            f"{said}: the RELION particles.star written beside it has {star_has}; {fix}",
            CompanionStarWarning,
            stacklevel=4,
        )


def _texts(values: np.ndarray) -> list[str]:
    """Each value with 6 decimals, as RELION writes them (one %-format of all: 5x a list of f-strings)."""
    return (("%.6f " * len(values)) % tuple(values.tolist())).split()


def pose_columns(
    records: np.ndarray, pixel_size: float, star_pixel_size: float | np.ndarray, source: Path | None = None
) -> dict[str, list[str]]:
    """The RELION 3.1 pose columns of the particles, read as projected masks read them (`poses_in`).

    3D poses (``alignments3D/pose``) give ``rlnAngleRot/Tilt/Psi`` and
    ``rlnOriginXAngst/YAngst``; a 2D classification's (``alignments2D/pose``) gives
    ``rlnAnglePsi`` and the origins, as RELION's Class2D writes them. The origins in Å are
    the origins in px times ``star_pixel_size``, the STAR's ``rlnImagePixelSize`` (each row's
    optics group's, `star_pixel_sizes`), so that RELION reads back the same pixels. Without
    poses, or with one that is not a number (`warn_of_nonfinite_poses` said so when the set
    was read), nothing. The slot's ``split`` (a 3D refinement's half-sets, 0 and 1) and
    ``class`` (from 0) go with them as ``rlnRandomSubset`` and ``rlnClassNumber``, counted
    from 1 as RELION counts them (and pyem's csparc2star writes them): a refinement continued
    in RELION keeps cryoSPARC's halves.
    """
    names = _names(records)
    if "alignments3D/pose" in names:
        slot = "alignments3D"
        poses = poses_in(records, pixel_size, source or Path())
        angles = {"rlnAngleRot": poses.rot_deg, "rlnAngleTilt": poses.tilt_deg, "rlnAnglePsi": poses.psi_deg}
        x, y = poses.origin_x_px, poses.origin_y_px
    elif "alignments2D/pose" in names:
        slot = "alignments2D"
        angles = {"rlnAnglePsi": _psi_2d_deg(records)}
        x, y = offsets_in(records, pixel_size)
    else:
        return {}
    columns = angles | {"rlnOriginXAngst": x * star_pixel_size, "rlnOriginYAngst": y * star_pixel_size}
    if not np.isfinite(np.stack(list(columns.values()))).all():
        return {}
    counted = {"rlnClassNumber": f"{slot}/class"}
    if slot == "alignments3D":  # a 2D classification's split is no half-set
        counted["rlnRandomSubset"] = f"{slot}/split"
    whole = {star: [str(int(v) + 1) for v in records[field]] for star, field in counted.items() if field in names}
    return {star: _texts(values) for star, values in columns.items()} | whole


def nonfinite_pose_rows(records: np.ndarray) -> np.ndarray | None:
    """Which rows have a pose field (of those `pose_columns` reads) that is not a number; None without poses.

    Checked on the fields as stored: computing the poses takes seconds at a million rows.
    """
    names = _names(records)
    slot = "alignments3D" if "alignments3D/pose" in names else "alignments2D" if "alignments2D/pose" in names else None
    if slot is None:
        return None
    fields = [f"{slot}/{field}" for field in ("pose", "shift", "psize_A") if f"{slot}/{field}" in names]
    values = [np.asarray(records[name], dtype=np.float64).reshape(len(records), -1) for name in fields]
    bad: np.ndarray = np.logical_not(np.isfinite(np.concatenate(values, axis=1)).all(axis=1))
    return bad


def warn_of_nonfinite_poses(records: np.ndarray, source: Path) -> None:
    """Warn, when the set is read, of rows whose pose is not a number: the STAR written beside it will have none."""
    bad = nonfinite_pose_rows(records)
    if bad is not None and bad.any():
        warnings.warn(
            f"{source}: {_row(int(np.flatnonzero(bad)[0]))} has a pose that is not a number"
            f"{f' ({int(bad.sum())} rows in all)' if bad.sum() > 1 else ''}; the RELION particles.star written beside "
            "it has no poses",
            CompanionStarWarning,
            stacklevel=3,
        )


def warn_of_a_wrong_shape(records: np.ndarray, box_yx: tuple[int, int], source: Path, written_back: bool) -> None:
    """Warn once, when the set is read, of rows whose ``blob/shape`` is not the shape of the images in their stacks.

    The images are read, and a ``particles.cs`` written, at the stacks' shape (their MRC
    headers): the output's ``blob/shape`` is then not the input's, and the user is told so.

    Parameters
    ----------
    records
        The set's own table (``blob/shape`` (ny, nx) per row, when it has the field).
    box_yx
        The images' shape in their stacks, (ny, nx).
    source
        The ``.cs``, named in the warning.
    written_back
        Whether a job writes the set back as ``particles.cs`` (else ``project-mask`` reads it).
    """
    if "blob/shape" not in _names(records):
        return
    wrong = np.flatnonzero((np.asarray(records["blob/shape"]) != np.array(box_yx)).any(axis=1))
    if not wrong.size:
        return
    said = ", ".join(str(int(v)) for v in records["blob/shape"][wrong[0]])
    true = f"{box_yx[0]}, {box_yx[1]}"
    rows = (
        "in every row"
        if wrong.size == len(records)
        else f"in {wrong.size} of {len(records)} rows ({_row(int(wrong[0]))} first)"
    )
    then = (
        f"the written particles.cs carries the stacks' true shape, [{true}]"
        if written_back
        else "their masks are made at the stacks' true shape"
    )
    warnings.warn(
        f"{source}: blob/shape is [{said}] {rows}, but the images in the stacks are [{true}] (ny, nx, from their "
        f"MRC headers); {then}",
        MaskrunWarning,
        stacklevel=3,
    )


def write_cs(
    records: np.ndarray, stack_names: list[str], indices: np.ndarray, box_yx: tuple[int, int], path: Path
) -> Path:
    """Write ``records`` with ``blob/path``, ``blob/idx`` and ``blob/shape`` rewritten, atomically."""
    new_paths = [f">{name}".encode() for name in stack_names]
    old = _dtype_of(records, "blob/path")
    width = max(old.itemsize // (4 if old.kind == "U" else 1), max(len(p) for p in new_paths))
    dtype = np.dtype(
        [(name, f"S{width}" if name == "blob/path" else _dtype_of(records, name)) for name in _names(records)]
    )
    out = np.empty(len(records), dtype=dtype)
    for name in _names(records):
        if name != "blob/path":  # a unicode (U) path may not fit bytes; it is replaced below
            out[name] = records[name]
    out["blob/path"] = new_paths
    out["blob/idx"] = indices
    if "blob/shape" in _names(records):
        out["blob/shape"] = box_yx
    with AtomicFile(path) as tmp, open(tmp, "wb") as file:  # np.save on a path would append .npy
        np.save(file, out, allow_pickle=False)
    return path


def read_particles(path: Path, options: ReadOptions) -> ParticleSet:
    """A ``.cs`` set (joined with ``options.passthrough``), its images found and checked, and its RELION tables."""
    passthrough, optics = options.passthrough, options.optics
    own = records = read_cs(path, names=options.names)
    if passthrough is not None:  # for the STAR (micrographs); the .cs written back keeps its own fields
        records = join_passthrough(records, read_cs(passthrough, need_blob=False), passthrough)
    search = search_folders(path, options.job_folder, options.project_dir)
    texts, text_of_row, bases = stack_references(
        records, path, search, not options.need_stacks, options.project_dir, options.names
    )
    stack_paths, stack_of_text = _distinct_files([base / text.lstrip(">") for text, base in zip(texts, bases)])
    stack_of_row = stack_of_text[text_of_row]
    image_index = records["blob/idx"].astype(np.int64)
    names = _image_names(image_index, [text.lstrip(">") for text in texts], text_of_row)
    if not options.need_stacks:
        missing = missing_stacks(stack_paths)
        if missing:
            how = WithoutStacks(missing, len(stack_paths), "", "")
            return _without_stacks(path, own, (records, passthrough), names, image_index, how)
    stacks, box = checked_stacks(
        stack_paths, stack_of_row, image_index, names, path, "blob/idx", options.names, RowNames(indexed=_row)
    )
    warn_of_a_wrong_shape(own, box, path, options.written_back)
    if options.written_back:  # the particles.cs written keeps the uids; masks alone (project-mask) have none
        warn_of_repeated_uids(own, path)
    header = stacks[stack_paths[0]].voxel_size_xyz[0]
    pixel, notes, several, of_rows = set_pixel_size(records, header)
    lacking, given = psize_lacking(records, several), options.pixel_size_angstrom
    if given is not None:  # for a set whose blob/psize_A gives none: the particles.cs written carries it
        psize = f"{sizes_said(several) if several else f'{pixel:g} Å/px'} (blob/psize_A)"
        taken = take_given_pixel_size(options, path, LABEL, lacking, psize, header)
        pixel, notes = given, [*_set_aside_for(records, options), *taken]
    fallback = fallback_pixel_size(records, header, several) if several else pixel
    if usable_pixel_size(fallback) is None:
        raise no_pixel_size(records, stack_paths[0], path, options.written_back, options.names.pixel_size_angstrom)
    with warnings.catch_warnings():
        if not options.written_back:  # no RELION STAR is written beside it: its warnings would be of nothing
            warnings.simplefilter("ignore", CompanionStarWarning)
        blocks = star_tables(
            records,
            list(names),
            fallback,
            box[1],
            optics=optics,
            source=path,
            passthrough=passthrough,
            names=options.names,
        )
        warn_of_nonfinite_poses(records, path)  # the poses come from the .cs, else its passthrough, as projected masks
    return ParticleSet(
        source=path,
        format=NAME,
        blocks=dict(blocks),
        comments=["# version 30001"],
        block_name="particles",
        image_column="rlnImageName",
        rows=blocks["particles"],
        stack_paths=stack_paths,
        stack_of_row=stack_of_row,
        image_index=image_index,
        stacks=stacks,
        box_yx=box,
        pixel_size_angstrom=pixel,
        dropped_rows=0,
        notes=notes,
        cs_records=own,
        cs_passthrough=JoinedPassthrough(passthrough, _pose_fields(records)) if passthrough is not None else None,
        pixel_sizes_angstrom=several,
        pixel_size_groups=of_rows,
        pixel_sizes_field="blob/psize_A" if several else "",
        pixel_size_given=given is not None,
        pixel_size_lacking=lacking,
    )


def psize_lacking(records: np.ndarray, several: tuple[float, ...] = ()) -> str | None:
    """What a set whose ``blob/psize_A`` gives no pixel size lacks, in words (``no blob/psize_A``, ``its blob/psize_A
    is 0``); None when it gives one (a usable value in some row, or ``several``)."""
    if several:
        return None
    if "blob/psize_A" not in _names(records):
        return "no blob/psize_A"
    column = np.asarray(records["blob/psize_A"], dtype=np.float64)
    return None if usable_pixel_sizes(column).any() else f"its blob/psize_A is {column[0]:g}"


def _set_aside_for(records: np.ndarray, options: ReadOptions) -> list[str]:
    """The note that an unusable ``blob/psize_A`` is set aside for the pixel size the caller gives; [] without one."""
    if "blob/psize_A" not in _names(records):
        return []
    first = float(records["blob/psize_A"][0])
    return [unusable_note("blob/psize_A", f"{first:g}", used=given_is_used(options))]


def with_psize(records: np.ndarray, pixel: float) -> np.ndarray:
    """``records`` with ``blob/psize_A`` holding ``pixel`` in every row: the field added (float32, as cryoSPARC writes
    it) where the table lacks it."""
    names = _names(records)
    fields = [(name, _dtype_of(records, name)) for name in names]
    out = np.empty(
        len(records), dtype=np.dtype(fields + ([] if "blob/psize_A" in names else [("blob/psize_A", "<f4")]))
    )
    for name in names:
        out[name] = records[name]
    out["blob/psize_A"] = pixel
    return out


def _distinct_files(files: list[Path]) -> tuple[list[Path], np.ndarray]:
    """The distinct absolute paths of ``files`` (in their order) and each file's among them: two texts may name one
    stack (``>a.mrc`` and ``J7/a.mrc`` beside a ``.cs`` in ``J7``)."""
    absolute = [os.path.abspath(file) for file in files]
    distinct = list(dict.fromkeys(absolute))
    position = {text: code for code, text in enumerate(distinct)}
    return [Path(text) for text in distinct], np.array([position[text] for text in absolute], dtype=np.int64)


def _image_names(image_index: np.ndarray, stacks: list[str], stack_of_row: np.ndarray) -> list[str]:
    """Each row's ``N@stack`` (N from 1), built from the distinct stacks' texts in one vectorised pass.

    Examples
    --------
    >>> _image_names(np.array([0, 9, 1]), ["a.mrc", "J5/b.mrc"], np.array([0, 1, 0]))
    ['1@a.mrc', '10@J5/b.mrc', '2@a.mrc']
    """
    numbers = np.strings.add((image_index + 1).astype(str), "@")
    named: list[str] = np.strings.add(numbers, np.array(stacks, dtype=str)[stack_of_row]).tolist()
    return named


def _without_stacks(
    path: Path,
    own: np.ndarray,
    joined: tuple[np.ndarray, Path | None],
    names: list[str],
    image_index: np.ndarray,
    how: WithoutStacks,
) -> ParticleSet:
    """A ``.cs`` set read from its table alone, its stacks not all found (``ReadOptions.need_stacks`` False): the box
    from ``blob/shape``, the pixel size from ``blob/psize_A``, each (0, 0) or 0 when the table has none.

    It has no RELION tables (only its image names): those are for a set written back, which needs the stacks.
    ``joined`` is the table joined with its passthrough ``.cs``, and that file (None: none given).
    """
    records, passthrough = joined
    box, box_field = _table_box(own, path)
    pixel, notes, several, of_rows = set_pixel_size(records, 0.0)
    how = dataclasses.replace(how, box_field=box_field, pixel_field="blob/psize_A" if pixel or several else "")
    rows = Loop.from_columns({"rlnImageName": names})
    return ParticleSet(
        source=path,
        format=NAME,
        blocks={"particles": rows},
        comments=["# version 30001"],
        block_name="particles",
        image_column="rlnImageName",
        rows=rows,
        stack_paths=[],
        stack_of_row=np.full(len(names), -1, dtype=np.int64),
        image_index=image_index,
        stacks={},
        box_yx=box,
        pixel_size_angstrom=pixel,
        notes=notes,
        cs_records=own,
        cs_passthrough=JoinedPassthrough(passthrough, _pose_fields(records)) if passthrough is not None else None,
        without_stacks=how,
        pixel_sizes_angstrom=several,
        pixel_size_groups=of_rows,
        pixel_sizes_field="blob/psize_A" if several else "",
    )


def _table_box(records: np.ndarray, source: Path) -> tuple[tuple[int, int], str]:
    """The images' shape (ny, nx) as ``blob/shape`` gives it, and the field; ((0, 0), "") without the field.

    Raises
    ------
    UserError
        When rows give different shapes, or a shape that is not whole numbers from 1.
    """
    if "blob/shape" not in _names(records):
        return (0, 0), ""
    shapes = np.unique(np.asarray(records["blob/shape"], dtype=np.float64).reshape(-1, 2), axis=0)
    if len(shapes) > 1:
        listed = " and ".join(f"[{int(y)}, {int(x)}]" for y, x in shapes[:3])
        raise UserError(
            f"the rows give different shapes ({listed}) and their stacks are not here; project each box size on "
            "its own",
            source=str(source),
            field="blob/shape",
        )
    ny, nx = shapes[0]
    if not all(np.isfinite(n) and n >= 1 and n == int(n) for n in (ny, nx)):
        raise UserError(
            f"is [{ny:g}, {nx:g}], not an image shape in pixels (whole numbers from 1); fix it",
            source=str(source),
            field="blob/shape",
        )
    return (int(ny), int(nx)), "blob/shape"


def read_poses(particles: ParticleSet) -> Poses:
    """Each row's pose (`maskrun.formats.poses`) from ``alignments3D/pose`` and ``/shift`` (see `poses_in`): the
    set's own, else its passthrough's (joined on ``uid``)."""
    records, passthrough = _pose_table(particles)
    return poses_in(records, particles.pixel_size_angstrom, particles.source, passthrough, particles.setting_names)


def _pose_fields(records: np.ndarray) -> np.ndarray:
    """The fields poses are read from (``uid``, the alignment slots, ``blob/psize_A``), copied out of a joined table:
    the set keeps these, not the whole join (a passthrough's hundreds of bytes a row, at a million rows)."""
    from numpy.lib.recfunctions import repack_fields

    kept = [
        name
        for name in _names(records)
        if name in ("uid", "blob/psize_A", FILAMENT_POSE) or name.startswith("alignments")
    ]
    packed: np.ndarray = repack_fields(records[kept])
    return packed


def _pose_table(particles: ParticleSet) -> tuple[np.ndarray, Path | None]:
    """The table the poses are read from (the set joined with its passthrough, when given) and the passthrough."""
    if particles.cs_passthrough is not None:
        return particles.cs_passthrough.records, particles.cs_passthrough.path
    assert particles.cs_records is not None  # read_particles keeps them
    return particles.cs_records, None


def no_poses(
    fields: tuple[str, ...],
    source: Path,
    passthrough: Path | None,
    what: str = "3D poses",
    takes: str = "a 3D refinement",
    names: SettingNames = NO_NAMES,
    unused: str = "",
) -> UserError:
    """The refusal of a set without poses (or origins: ``fields``, any of which would do), saying where maskrun
    looked: the ``.cs`` and its passthrough, if any; without one, the passthrough beside it that holds them
    (`passthrough_beside`), when there is one, to give as the caller's ``names.passthrough``. ``unused`` says
    why a field the set does hold is not taken instead (`FILAMENT_POSE_UNUSED`), after "have no {what}". The field
    of the refusal is the set, as the caller names it (``names.particles``)."""
    named = " or ".join(fields)
    if passthrough is not None:
        return UserError(
            f"has no {named}, nor has its passthrough {passthrough}: these particles have no {what}{unused}; take "
            f"the particles output of {takes}",
            source=str(source),
            field=names.particles,
        )
    setting = names.passthrough
    beside = passthrough_beside(source, fields)
    if beside is not None:
        here = f"these particles' {what} are in their passthrough {beside.name} beside it"
        fix = f"{here}; give it as {setting}" if setting else here
        return UserError(f"has no {named}: {fix}", source=str(source), field=names.particles)
    elsewhere = (
        f", or give the passthrough .cs that holds them as {setting} (they live there after Restack, Downsample or "
        "Extract)"
        if setting
        else ""
    )
    return UserError(
        f"has no {named}: these particles have no {what}{unused}; take the particles output of {takes}{elsewhere}",
        source=str(source),
        field=names.particles,
    )


def passthrough_beside(source: Path, fields: tuple[str, ...] | list[str]) -> Path | None:
    """A passthrough ``.cs`` of ``source``'s job, in its folder, that holds any of ``fields`` and every one of its
    particles' uids; None when there is none.

    cryoSPARC writes a job's particles as ``J7_particles.cs`` and the fields it passed on
    (CTF, poses, locations) as ``J7_passthrough_particles.cs`` beside it: that name first,
    then any ``*passthrough_particles*.cs`` there of the same job (``J7``, `_job_of`: v4's
    extraction writes ``J12/extracted_particles.cs``, of job J12 by its folder). Another job's
    passthrough, or one that lacks some of the particles, would not join: it is never named.
    Only the files' headers and ``uid`` columns are read.
    """
    job = _job_of(source)
    own = source.parent / source.name.replace("_particles", "_passthrough_particles", 1)
    others = [p for p in sorted(source.parent.glob("*passthrough_particles*.cs")) if _job_of(p) == job]
    uids: np.ndarray | None = None
    for candidate in dict.fromkeys([own, *others]):
        if candidate == source or not is_file(candidate) or not set(fields) & set(_field_names(candidate)):
            continue
        uids = _uids(source) if uids is None else uids
        theirs = _uids(candidate)
        if uids is not None and theirs is not None and np.isin(uids, theirs).all():
            return candidate
    return None


def _job_of(path: Path) -> str | None:
    """The cryoSPARC job a ``.cs`` is of: by its name (``J7`` of ``J7_particles.cs``, ``J24`` of ``P12_J24_…``),
    else by its folder, the job's (``J12`` of ``J12/extracted_particles.cs``, as cryoSPARC v4's extraction names
    it); None if neither says.

    Examples
    --------
    >>> _job_of(Path("P3/J7/J7_particles.cs")), _job_of(Path("P3/J12/extracted_particles.cs"))
    ('J7', 'J12')
    >>> _job_of(Path("exports/particles.cs")) is None
    True
    """
    match = re.search(r"(?:^|_)(J\d+)_", path.name)
    if match:
        return match.group(1)
    return path.parent.name if re.fullmatch(r"J\d+", path.parent.name) else None


def _uids(path: Path) -> np.ndarray | None:
    """The ``uid`` column of a ``.cs`` (that column alone is read); None without one."""
    records = _mapped(path)
    return np.array(records["uid"]) if records is not None and "uid" in (records.dtype.names or ()) else None


def _field_names(path: Path) -> tuple[str, ...]:
    """The fields of a ``.cs`` by its header alone; () when it is not a NumPy file of named fields."""
    records = _mapped(path)
    return (records.dtype.names or ()) if records is not None else ()


def _mapped(path: Path) -> np.ndarray | None:
    """A ``.cs`` memory-mapped, not read (a passthrough of a million particles is hundreds of MB); None when it is
    no NumPy file (a candidate looked at, not one the user gave: its faults are not refused)."""
    try:
        mapped: np.ndarray = np.load(path, mmap_mode="r", allow_pickle=False, max_header_size=MAX_HEADER_BYTES)
        return mapped
    except (ValueError, OSError, EOFError, SyntaxError, TokenError, MemoryError, OverflowError):
        return None


def poses_in(
    records: np.ndarray,
    pixel_size: float,
    source: Path,
    passthrough: Path | None = None,
    setting_names: SettingNames = NO_NAMES,
) -> Poses:
    """Each row's pose (RELION's convention) from ``alignments3D/pose`` and ``/shift``.

    The pose is a rotation vector of ``Aᵀ``; the shift is the origin in pixels of the
    alignment box (``alignments3D/psize_A``), rescaled to the images' pixel size
    (``blob/psize_A``, else ``pixel_size``). ``passthrough`` is the passthrough ``.cs``
    joined into ``records``, named when the poses are not found (and ``setting_names.passthrough``, the
    caller's setting that gives one, `no_poses`).

    Raises
    ------
    UserError
        When the set has no ``alignments3D/pose``.
    """
    names = _names(records)
    if "alignments3D/pose" not in names:
        raise no_poses(("alignments3D/pose",), source, passthrough, names=setting_names)
    vectors = np.asarray(records["alignments3D/pose"], dtype=np.float64).reshape(-1, 3)
    from scipy.spatial.transform import Rotation  # 0.15 s to import: only where poses are read

    finite = np.all(np.isfinite(vectors), axis=1, keepdims=True)  # scipy stops at a NaN vector: its row becomes NaN
    angles = angles_of_transposed(Rotation.from_rotvec(np.where(finite, vectors, 0.0)).as_matrix())
    rot, tilt, psi = (np.where(finite[:, 0], a, np.nan) for a in angles)
    shift = np.zeros((len(vectors), 2))
    if "alignments3D/shift" in names:
        shift = _shift_px(records, pixel_size, "alignments3D")
    return Poses(rot, tilt, psi, shift[:, 0], shift[:, 1], ("alignments3D/pose",) * 3 + ("alignments3D/shift",) * 2)


def _shift_px(records: np.ndarray, pixel_size: float, slot: str) -> np.ndarray:
    """``<slot>/shift`` (n, 2) in pixels of the images: × ``<slot>/psize_A`` ÷ each row's ``blob/psize_A``.

    The shift is in pixels of the box the particles were aligned in, which may be binned:
    hetero-refinement aligns at half the box and records that box's pixel in
    ``alignments3D/psize_A`` (cryoDRGN's ``--hetrefine`` doubles its shifts for this). A
    missing or zero pixel size, on either side, leaves the shift as it is (``pixel_size``, the
    set's, stands in for a missing ``blob/psize_A``).
    """
    names = _names(records)
    shift = np.asarray(records[f"{slot}/shift"], dtype=np.float64).reshape(-1, 2)
    if f"{slot}/psize_A" not in names:
        return shift
    aligned = np.asarray(records[f"{slot}/psize_A"], dtype=np.float64)
    image = np.full(len(shift), float(pixel_size or 0.0))
    if "blob/psize_A" in names:
        own = np.asarray(records["blob/psize_A"], dtype=np.float64)
        image = np.where(own > 0, own, image)
    scale = np.where((aligned > 0) & (image > 0), aligned / np.where(image > 0, image, 1.0), 1.0)
    scaled: np.ndarray = shift * scale[:, None]
    return scaled


def read_psi(particles: ParticleSet) -> np.ndarray:
    """Each row's in-plane angle psi in degrees (RELION's; `maskrun.formats.poses.psi_of`).

    From the 3D poses where there are (``alignments3D/pose``), else from a 2D
    classification's ``alignments2D/pose``: the in-plane angle in radians, RELION's psi in
    the same sense (pyem's csparc2star copies it to ``rlnAnglePsi`` in degrees; a 3D pose
    turning in the plane only, rotation vector ``(0, 0, θ)``, is psi = θ too).

    Raises
    ------
    UserError
        When the set has neither.
    """
    records, passthrough = _pose_table(particles)
    if "alignments3D/pose" in _names(records):
        return read_poses(particles).psi_deg
    if "alignments2D/pose" not in _names(records):
        fields, takes = ("alignments3D/pose", "alignments2D/pose"), "a 3D refinement or a 2D classification"
        unused = ""
        if FILAMENT_POSE in _names(records):  # a filament tracer's extraction: the picked direction alone
            takes, unused = "a 2D classification of these segments (or a 3D refinement)", FILAMENT_POSE_UNUSED
        raise no_poses(fields, particles.source, passthrough, "poses", takes, particles.setting_names, unused)
    return _psi_2d_deg(records)


FILAMENT_POSE = "filament/filament_pose"
FILAMENT_POSE_UNUSED = (  # why a filament set's picked direction does not turn the mask (docs/spec.md)
    f" ({FILAMENT_POSE}, each segment's direction as picked, is not taken for psi: the converters disagree on its "
    "convention, helicon writing rlnAnglePsiPrior = -pose and pyem's csparc2star 90° - pose, in degrees, and "
    "neither was checked against cryoSPARC, so a mask turned by it could lie across the filament)"
)


def _psi_2d_deg(records: np.ndarray) -> np.ndarray:
    """``alignments2D/pose`` (radians) as RELION's psi in degrees."""
    angle = np.asarray(records["alignments2D/pose"], dtype=np.float64)
    psi: np.ndarray = np.degrees(angle.reshape(len(records), -1)[:, 0])
    return psi


def read_offsets(particles: ParticleSet) -> tuple[np.ndarray, np.ndarray]:
    """Each row's origin in px (`maskrun.formats.poses.offsets_of`; see `offsets_in`), the passthrough's too."""
    return offsets_in(_pose_table(particles)[0], particles.pixel_size_angstrom)


SHIFT_FIELDS = ("alignments3D/shift", "alignments2D/shift")


def no_offsets(particles: ParticleSet) -> UserError | None:
    """The refusal of a set that records no origins (`maskrun.formats.poses.offsets_of`): neither shift, in the
    ``.cs`` nor its passthrough; None when it has one."""
    records, passthrough = _pose_table(particles)
    if any(field in _names(records) for field in SHIFT_FIELDS):
        return None
    takes = "a 3D refinement or a 2D classification"
    return no_poses(SHIFT_FIELDS, particles.source, passthrough, "origins (shifts)", takes, particles.setting_names)


def offsets_in(records: np.ndarray, pixel_size: float) -> tuple[np.ndarray, np.ndarray]:
    """Each row's origin in px: ``alignments3D/shift``, else ``alignments2D/shift``, rescaled from the
    alignment box's pixels to the images' (`_shift_px`); 0 without either."""
    for slot in ("alignments3D", "alignments2D"):
        if f"{slot}/shift" in _names(records):
            shift = _shift_px(records, pixel_size, slot)
            return shift[:, 0], shift[:, 1]
    zeros = np.zeros(len(records))
    return zeros, zeros


def write_particles(particles: ParticleSet, masked: Masked, output_dir: Path, project_dir: Path | None) -> list[Path]:
    """``particles.cs`` (the input's rows with new blob fields) and ``particles.star`` (RELION)."""
    assert particles.cs_records is not None  # read_particles keeps them
    cs, star = (output_dir / name for name in OUTPUTS)
    pixel = particles.pixel_size_angstrom
    if particles.pixel_sizes_angstrom:  # rows of several pixel sizes: each its own, the header's where it has none
        header = particles.stacks[particles.stack_paths[0]].voxel_size_xyz[0]
        pixel = fallback_pixel_size(particles.cs_records, header, particles.pixel_sizes_angstrom)
    star_pixels = star_pixel_sizes(particles.cs_records, pixel)  # origins in Å at each row's optics group's pixel
    poses = pose_columns(_pose_table(particles)[0], pixel, star_pixels, particles.source)
    star = star_set.write_table(dataclasses.replace(particles, rows=particles.rows.with_columns(poses)), masked, star)
    records = with_psize(particles.cs_records, pixel) if particles.pixel_size_given else particles.cs_records
    return [write_cs(records, masked.stack_names, masked.indices, particles.box_yx, cs), star]


def write_example(example: ExampleParticles) -> Path:
    """The example's particles as cryoSPARC writes them: blob, CTF and uid fields, ``>``-relative paths."""
    particles, optics, names, pixel, box = example.particles, example.optics, example.names, example.pixel, example.box
    target = example.star.with_suffix(SUFFIXES[0])
    width = max(len(n.split("@")[1]) for n in names) + 1
    records = np.zeros(
        len(names),
        dtype=[
            ("uid", "<u8"),
            ("blob/path", f"S{width}"),
            ("blob/idx", "<u4"),
            ("blob/shape", "<u4", (2,)),
            ("blob/psize_A", "<f4"),
            ("blob/sign", "<f4"),
            ("ctf/accel_kv", "<f4"),
            ("ctf/cs_mm", "<f4"),
            ("ctf/amp_contrast", "<f4"),
            ("ctf/df1_A", "<f4"),
            ("ctf/df2_A", "<f4"),
            ("ctf/df_angle_rad", "<f4"),
        ],
    )
    records["uid"] = np.random.default_rng(0).integers(1, 2**63, len(names), dtype=np.uint64)
    records["blob/path"] = [f">{n.split('@')[1]}".encode() for n in names]  # '>': beside the .cs
    records["blob/idx"] = [int(n.split("@")[0]) - 1 for n in names]
    records["blob/shape"] = (box, box)
    records["blob/psize_A"] = pixel
    records["blob/sign"] = -1.0
    records["ctf/accel_kv"] = float(optics["rlnVoltage"][0])  # RELION needs the optics in the STAR written back
    records["ctf/cs_mm"] = float(optics["rlnSphericalAberration"][0])
    records["ctf/amp_contrast"] = float(optics["rlnAmplitudeContrast"][0])
    records["ctf/df1_A"] = particles["rlnDefocusU"]
    records["ctf/df2_A"] = particles["rlnDefocusV"]
    records["ctf/df_angle_rad"] = np.radians(particles["rlnDefocusAngle"].astype(float))
    with open(target, "wb") as file:  # np.save on a path would append .npy
        np.save(file, records, allow_pickle=False)
    return target
