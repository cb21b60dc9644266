"""A model file before gemmi reads it: its format by name, its gzip stream checked whole, a file that is no model told.

gemmi tells a model's format by its extension (``.pdb``/``.ent``: PDB, ``.cif``/``.mmcif``:
mmCIF, ``.json``: mmJSON; each also ``.gz``) and reads a truncated gzip stream as far as it
goes, without a word: a model cut short loses atoms in silence. A plain PDB file cut short
loses them alike: gemmi skips a last line cut inside its record name (``ATO``) and reads one cut
inside its occupancy. gemmi also reads an MRC map or any text named ``.pdb`` as a PDB file
without atoms. These checks say what is wrong instead.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

from maskrun.errors import UserError
from maskrun.io.file_head import GZIP_MAGIC, is_binary
from maskrun.io.image_info import GZIP_CHUNK

FORMATS = {".pdb": "pdb", ".ent": "pdb", ".cif": "mmcif", ".mmcif": "mmcif", ".json": "mmjson"}
NOT_A_MODEL = "not a PDB/mmCIF model"
HEAD_BYTES = 4096  # what is looked at to tell a model from a map, binary data or other text
# every record of the PDB format (wwPDB v3.3); a file with none of them in its head is no PDB file
_PDB_RECORD_NAMES = (
    "HEADER OBSLTE TITLE SPLIT CAVEAT COMPND SOURCE KEYWDS EXPDTA NUMMDL MDLTYP AUTHOR REVDAT SPRSDE JRNL "
    "REMARK DBREF DBREF1 DBREF2 SEQADV SEQRES MODRES HET HETNAM HETSYN FORMUL HELIX SHEET SSBOND LINK CISPEP "
    "SITE CRYST1 ORIGX1 ORIGX2 ORIGX3 SCALE1 SCALE2 SCALE3 MTRIX1 MTRIX2 MTRIX3 MODEL ATOM ANISOU TER HETATM "
    "ENDMDL CONECT MASTER END"
)
PDB_RECORDS = frozenset(_PDB_RECORD_NAMES.split())
ATOM_RECORDS = frozenset({"ATOM", "HETATM"})
COORDINATES_END = 54  # the column an ATOM/HETATM record's z coordinate ends at
# right-justified numbers after the coordinates: a record ending inside one was cut
_NUMBERS_AFTER = (("occupancy", 55, 60), ("B-factor", 61, 66))


def model_format(path: str | Path) -> str:
    """A model file's format as gemmi reads it, by its name: ``pdb``, ``mmcif`` or ``mmjson``, ``.gz`` added.

    Returns ``unknown`` for a name gemmi takes no format from.

    Examples
    --------
    >>> model_format("7abc.cif.gz"), model_format("model.PDB")
    ('mmcif.gz', 'pdb')
    """
    name = Path(path).name.lower()
    gzipped = name.endswith(".gz")
    kind = FORMATS.get(Path(name.removesuffix(".gz")).suffix, "unknown")
    return f"{kind}.gz" if gzipped and kind != "unknown" else kind


def checked_head(path: Path, field: str) -> bytes:
    """The first `HEAD_BYTES` of a model's text (decompressed), once a gzip stream is read whole and found sound.

    Raises
    ------
    UserError
        One line naming ``path`` and ``field``: an empty file, an MRC map, binary data (told
        before the name); a name gemmi reads no format from, a gzip file that is truncated or
        damaged, or one not named ``.gz``.
    """
    with open(path, "rb") as file:
        head = file.read(HEAD_BYTES)
    # what the file holds first: a map given as the model is told so, not told to rename itself
    what = None if head[:2] == GZIP_MAGIC else _not_text(head)
    if what is not None:
        raise UserError(f"{NOT_A_MODEL}: {what}", source=str(path), field=field)
    if model_format(path) == "unknown":
        raise UserError(
            f"{NOT_A_MODEL} by its name: gemmi tells a model's format by the extension; name it .pdb, .ent, .cif or "
            ".mmcif (each also .gz)",
            source=str(path),
            field=field,
        )
    if head[:2] == GZIP_MAGIC:
        if not path.name.lower().endswith(".gz"):
            raise UserError(
                f"{NOT_A_MODEL} as named: it is gzip-compressed, which gemmi reads only under a .gz name; "
                f"rename it {path.name}.gz",
                source=str(path),
                field=field,
            )
        head = _whole_gzip_head(path, field)
    what = _not_text(head)
    if what is not None:
        raise UserError(f"{NOT_A_MODEL}: {what}", source=str(path), field=field)
    return head


def check_pdb_records(path: Path, field: str) -> None:
    """Refuse a PDB file (``.pdb``, ``.ent``, also gzipped) with a record cut short; any other format passes.

    A record is cut when it is an ATOM/HETATM record ending before its coordinates end
    (column 54), anywhere in the file; or when the file's last line is an ATOM/HETATM record
    ending inside its occupancy or B-factor, or a record name cut short (``ATO``). A file
    without END, or whose records stop after the coordinates, is a PDB file as many tools
    write it, and passes.

    Raises
    ------
    UserError
        One line naming ``path``, ``field``, the line's number and its text.
    """
    if not model_format(path).startswith("pdb"):
        return
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    last = (0, "")
    with opener(path, "rb") as file:
        for number, raw in enumerate(file, start=1):
            line = raw.decode("latin-1").rstrip()
            if not line:
                continue
            last = (number, line)
            if line[:6].rstrip() in ATOM_RECORDS and len(line) < COORDINATES_END:
                where = f"before its coordinates end (column {COORDINATES_END})"
                _refuse_cut(path, field, f"line {number} is {_an(line)} cut at column {len(line)}, {where}: '{line}'")
    number, line = last
    if line[:6].rstrip() in ATOM_RECORDS:
        for name, start, end in _NUMBERS_AFTER:
            if start <= len(line) < end:
                where = f"inside its {name} (columns {start}-{end})"
                _refuse_cut(path, field, f"its last line, {number}, is {_an(line)} cut at column {len(line)}, {where}")
    elif line and line not in PDB_RECORDS and len(line) < 6:
        names = sorted(record for record in PDB_RECORDS if record.startswith(line))
        if names:
            _refuse_cut(
                path, field, f"its last line, {number}, is a record name cut short: '{line}' ({' or '.join(names)}?)"
            )


def _an(line: str) -> str:
    """The record a line holds, with its article: ``an ATOM record``, ``a HETATM record``."""
    name = line[:6].rstrip()
    return f"{'an' if name == 'ATOM' else 'a'} {name} record"


def _refuse_cut(path: Path, field: str, what: str) -> None:
    """Refuse a PDB file with a record cut short, ``what`` saying which."""
    raise UserError(f"truncated PDB file: {what}; re-download or re-export the model", source=str(path), field=field)


def why_unreadable(head: bytes, path: Path, reason: str) -> str:
    """Why gemmi could not read a text file as the model its name says: PDB text under an mmCIF name, CIF (or STAR)
    text under a PDB name, or gemmi's own ``reason`` (the path in it shortened to the name)."""
    lines, first = _lines(head)
    records = any(line[:6].strip() in PDB_RECORDS for line in lines)
    cif = any(line.startswith(("data_", "loop_", "_")) for line in lines)
    if model_format(path).startswith("pdb") and cif and not records:
        return f"{NOT_A_MODEL}: it is CIF or STAR text, not PDB (it begins '{first}'); an mmCIF model is named .cif"
    if not model_format(path).startswith("pdb") and records and not cif:
        return f"{NOT_A_MODEL}: it is PDB text, not mmCIF (it begins '{first}'); a PDB model is named .pdb"
    return f"{NOT_A_MODEL}: gemmi cannot read it ({reason.replace(str(path), path.name)}); give a PDB or mmCIF file"


def why_no_atoms(head: bytes, path: Path) -> str | None:
    """Why a text file gemmi read no atom from is no model, or None when it looks like one without atoms.

    A PDB name whose head has no PDB record (a README, a STAR file renamed); an mmCIF name
    (gemmi found no ``_atom_site`` table in it: a STAR or other CIF file). The sentence
    quotes the file's first line.
    """
    lines, first = _lines(head)
    if not model_format(path).startswith("pdb"):
        return f"{NOT_A_MODEL}: it has no _atom_site table, where an mmCIF model lists its atoms; it begins '{first}'"
    if any(line[:6].strip() in PDB_RECORDS for line in lines):
        return None
    return f"{NOT_A_MODEL}: no line of it is a PDB record (ATOM, HETATM, HEADER…); it begins '{first}'"


def _whole_gzip_head(path: Path, field: str) -> bytes:
    """The head of a gzip file's text, the stream read to its end (gzip checks each member's CRC and length)."""
    try:
        with gzip.open(path, "rb") as stream:
            head = stream.read(HEAD_BYTES)
            while stream.read(GZIP_CHUNK):
                pass
    except EOFError:
        raise UserError(
            "truncated gzip file: its compressed stream ends before gzip's end-of-stream marker; re-download it, "
            "or check it with gunzip -t",
            source=str(path),
            field=field,
        ) from None
    except (OSError, zlib.error) as exc:
        raise UserError(
            f"damaged gzip file ({exc}); re-download it, or check it with gunzip -t", source=str(path), field=field
        ) from None
    return head


def _lines(head: bytes) -> tuple[list[str], str]:
    """The non-blank lines of a file's head, and the first of them as a message quotes it (40 characters)."""
    lines = [line for line in head.decode("utf-8", "replace").splitlines() if line.strip()]
    return lines, lines[0].strip()[:40] if lines else ""


def _not_text(head: bytes) -> str | None:
    """What the first bytes of a file are when they are no model's text (empty, an MRC map, binary), else None."""
    if not head:
        return "the file is empty"
    if head[208:212] in (b"MAP ", b"MAP\x00"):  # the MRC format's stamp
        return "it is an MRC map; give the atomic model (.pdb, .cif) here"
    if is_binary(head):
        return "it holds binary data, not text; give the atomic model (.pdb, .cif) here"
    return None
