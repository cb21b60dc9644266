"""Fuzzing the particle readers (issue 22): cryoSPARC .cs, Scipion .sqlite, STAR and Xmipp .xmd.

The property, for any bytes: `load_particle_set` (what ``maskrun validate`` and ``maskrun
run`` read a set with) returns a set whose every image lies inside its stack, or raises
`UserError` (exit 2, one line) — never another exception, never a hang. The command-level
cases, one or more per reader, are in ``test_trust_matrix.py``. Damaged MRC, ``.mrc.gz``
and SPIDER headers are fuzzed in ``test_fuzz.py``.
"""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from maskrun.errors import UserError
from maskrun.formats.registry import load_particle_set

from conftest import shared_path
from job_files import example_folder

pytestmark = pytest.mark.filterwarnings("ignore::maskrun.errors.MaskrunWarning")
FUZZ = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def reads_or_refuses(path: Path) -> None:
    """The property: a set whose images all lie in their stacks, or a UserError."""
    try:
        particles = load_particle_set(path)
    except UserError as exc:
        assert str(exc).strip() and len(str(exc).splitlines()) == 1  # one line, as a terminal shows it too
        return
    sizes = np.array([particles.stacks[p].shape_zyx[0] for p in particles.stack_paths])
    assert len(particles) > 0
    assert (particles.image_index >= 0).all() and (particles.image_index < sizes[particles.stack_of_row]).all()
    assert particles.pixel_size_angstrom == 0 or 0.01 <= particles.pixel_size_angstrom <= 100


def damaged(raw: bytes, cut: int, flips: list[tuple[int, int]], insert: bytes, at: int) -> bytes:
    """``raw`` with bytes flipped, ``insert`` put in at ``at`` and the end cut off."""
    data = bytearray(raw)
    for where, xor in flips:
        data[where % len(data)] ^= xor
    where = at % (len(data) + 1)
    data[where:where] = insert
    return bytes(data[: max(0, len(data) - cut)])


DAMAGE = (
    st.integers(0, 3000),
    st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 255)), max_size=6),
    st.binary(max_size=20),
    st.integers(0, 10**6),
)


# --- cryoSPARC .cs ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cs_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cs")
    for name in ("empiar_10076_7.cs", "empiar_10076_7.mrc"):
        shutil.copy(shared_path("data", "public", name), folder / name)
    return folder


@FUZZ
@given(*DAMAGE)
def test_damaged_cs_bytes_read_or_refuse(cs_folder, cut, flips, insert, at):
    path = cs_folder / "fuzz.cs"
    path.write_bytes(damaged((cs_folder / "empiar_10076_7.cs").read_bytes(), cut, flips, insert, at))
    reads_or_refuses(path)


def _wrapped(value: int, dtype: np.dtype) -> object:
    """``value`` as the given integer dtype stores it (modulo its range); floats as they are."""
    if dtype.kind in "iu":
        bits = 8 * dtype.itemsize
        value %= 2**bits
        return value - 2**bits if dtype.kind == "i" and value >= 2 ** (bits - 1) else value
    return float(value)


INDEX = st.integers(-3, 9) | st.sampled_from([2**31, 2**32 - 1, 2**63 - 1, 2**63, 2**64 - 1, -(2**63)])
PIXEL = st.sampled_from([1.31, 0.0, -1.31, 1e4, 0.001, float("nan"), float("inf"), -float("inf"), 100.0])
PATH = st.sampled_from(
    [b"empiar_10076_7.mrc", b">empiar_10076_7.mrc", b"", b">", b"caf\xe9.mrc", b"a\x00b", b"../x.mrc", b"/", b"x" * 90]
)


GOOD_CS = {"path_type": "S90", "idx_type": "<u4", "psize_type": "<f4", "ctf_type": "<f4", "rows": 7}
GOOD_CS |= {"bad_path": None, "bad_index": None, "pixel": 1.31, "dropped": set()}


@settings(FUZZ, max_examples=60)
@example(**GOOD_CS | {"idx_type": "<u8", "bad_index": (2, 2**64 - 1)})  # once wrapped to image -1
@example(**GOOD_CS | {"psize_type": "S8", "pixel": 0.001})  # once a ValueError from float()
@example(**GOOD_CS | {"ctf_type": "S8"})
@example(**GOOD_CS | {"psize_type": ("<f4", (2,))})
@given(
    path_type=st.just("S90") | st.sampled_from(["<U90", "<i4", "<f4", ("S90", (2,))]),
    idx_type=st.just("<u4") | st.sampled_from(["<i4", "<u8", "<i8", "<u2", "<f4", "?", "S4", ("<u4", (2,))]),
    psize_type=st.just("<f4") | st.sampled_from(["<f8", "<f2", "<i4", "S8", "<c8", ("<f4", (2,))]),
    ctf_type=st.just("<f4") | st.sampled_from(["S8", "<c8", "<i2"]),
    rows=st.sampled_from([7, 1, 0]),
    bad_path=st.none() | st.tuples(st.integers(0, 6), PATH),
    bad_index=st.none() | st.tuples(st.integers(0, 6), INDEX),
    pixel=PIXEL,
    dropped=st.just(set()) | st.sets(st.sampled_from(["blob/path", "blob/idx", "blob/psize_A", "uid"]), max_size=2),
)
def test_cs_fields_of_odd_types_and_values_read_or_refuse(
    cs_folder, path_type, idx_type, psize_type, ctf_type, rows, bad_path, bad_index, pixel, dropped
):
    paths, indices = [b"empiar_10076_7.mrc"] * 7, list(range(7))
    if bad_path is not None:
        paths[bad_path[0]] = bad_path[1]
    if bad_index is not None:
        indices[bad_index[0]] = bad_index[1]
    source = np.load(cs_folder / "empiar_10076_7.cs")
    kinds = {"blob/path": path_type, "blob/idx": idx_type, "blob/psize_A": psize_type, "ctf/df1_A": ctf_type}
    fields = [(n, kinds.get(n, source.dtype[n])) for n in source.dtype.names if n not in dropped]
    records = np.zeros(7, dtype=fields)
    for name in records.dtype.names:
        if name not in kinds:
            records[name] = source[name]
    names = records.dtype.names or ()
    if "blob/path" in names:
        column = records["blob/path"]
        if column.dtype.kind == "S":
            column[...] = np.array(paths, dtype="S90").reshape(-1, *([1] * (column.ndim - 1)))
        elif column.dtype.kind == "U":
            column[...] = [p.decode("utf-8", "replace") for p in paths]
    if "blob/idx" in names:
        base = records.dtype["blob/idx"].base
        values = [_wrapped(i, base) for i in indices]
        records["blob/idx"] = np.array(values, dtype=object).reshape(7, *([1] * (records["blob/idx"].ndim - 1)))
    records["ctf/df1_A"] = b"n/a" if ctf_type == "S8" else 15301
    if "blob/psize_A" in names:
        kind = records.dtype["blob/psize_A"].base.kind
        text = str(pixel).encode() if pixel != 0.001 else b"1.31 A"  # text that is no number, too
        records["blob/psize_A"] = {"S": text, "i": int(pixel) if np.isfinite(pixel) else -1}.get(kind, pixel)
    path = cs_folder / "fuzz.cs"
    with open(path, "wb") as file:
        np.save(file, records[:rows])
    reads_or_refuses(path)


HEADER_PART = st.sampled_from(
    ["'<f4'", "[('blob/path', 'S4'), ('blob/idx', '<u4')]", "'|O'", "5", "[", "(", "'", '"', "zz", "None", "]" * 3]
)


@FUZZ
@given(
    descr=HEADER_PART | st.text(max_size=30),
    order=st.sampled_from(["False", "True", "1", "'x'", "("]),
    shape=st.sampled_from(["(1,)", "(0,)", "(-1,)", "(10**12,)", "(1000000000000,)", "()", "(2, 2)", "('a',)", "("])
    | st.text(max_size=10),
    version=st.sampled_from([b"\x01\x00", b"\x02\x00", b"\x03\x00", b"\x09\x00"]),
    body=st.binary(max_size=64),
)
def test_random_npy_headers_read_or_refuse(cs_folder, descr, order, shape, version, body):
    text = f"{{'descr': {descr}, 'fortran_order': {order}, 'shape': {shape}, }}".encode("utf-8", "surrogatepass")
    width = 4 if version != b"\x01\x00" else 2
    padded = text + b" " * ((64 - (8 + width + len(text) + 1) % 64) % 64) + b"\n"
    path = cs_folder / "fuzz.cs"
    path.write_bytes(b"\x93NUMPY" + version + len(padded).to_bytes(width, "little") + padded + body)
    reads_or_refuses(path)


# --- Scipion .sqlite --------------------------------------------------------------------------

SET = "Runs/000002_ProtImportParticles/particles.sqlite"


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scipion") / "project"
    shutil.copytree(shared_path("data", "formats", "scipion", "project"), folder)
    return folder


def fresh_set(project: Path) -> Path:
    """A copy of the project's set, beside it (so that its _filename resolve as the original's)."""
    path = project / SET.replace("particles.sqlite", "fuzz.sqlite")
    shutil.copyfile(project / SET, path)
    return path


def column_of(path: Path, label: str) -> str:
    with sqlite3.connect(path) as connection:
        return connection.execute("SELECT column_name FROM Classes WHERE label_property = ?", (label,)).fetchone()[0]


CELL = (
    st.none()
    | st.integers(-(2**63), 2**63 - 1)
    | st.integers(-2, 12)
    | st.floats()
    | st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)
    | st.binary(max_size=8)
    | st.sampled_from(["Runs/000002_ProtImportParticles/extra/particles.mrcs", "extra/particles.mrcs", "1", "0"])
)


@FUZZ
@example([("_index", 2, 1e20)])  # once an OverflowError in NumPy
@given(
    st.lists(
        st.tuples(st.sampled_from(["_filename", "_index", "enabled", "_samplingRate"]), st.integers(0, 10), CELL),
        min_size=1,
        max_size=6,
    )
)
def test_scipion_cells_of_any_type_read_or_refuse(project, changes):
    path = fresh_set(project)
    with sqlite3.connect(path) as connection:
        for label, item, value in changes:
            if label == "_samplingRate":
                connection.execute("UPDATE Properties SET value = ? WHERE key = '_samplingRate'", (value,))
                continue
            column = label if label == "enabled" else column_of(path, label)
            where = "" if item == 0 else f" WHERE id = {item}"  # 0: every item
            connection.execute(f'UPDATE Objects SET "{column}" = ?{where}', (value,))
    connection.close()
    reads_or_refuses(path)


SCHEMA_DAMAGE = [
    "DROP TABLE Classes",
    "DROP TABLE Objects",
    "DROP TABLE Properties",
    "ALTER TABLE Objects DROP COLUMN enabled",
    "ALTER TABLE Objects DROP COLUMN c01",
    "ALTER TABLE Objects DROP COLUMN c02",
    "DELETE FROM Classes WHERE label_property = '_index'",
    "DELETE FROM Classes WHERE label_property = '_filename'",
    "UPDATE Classes SET column_name = NULL WHERE label_property = '_index'",
    "UPDATE Classes SET column_name = 'c\"01' WHERE label_property = '_filename'",
    "UPDATE Classes SET column_name = 'enabled' WHERE label_property = '_index'",
    "UPDATE Classes SET column_name = 'id' WHERE label_property = '_filename'",
    "DELETE FROM Objects",
    "DELETE FROM Properties",
    "UPDATE Objects SET enabled = 0",
    "CREATE TABLE O2 AS SELECT * FROM Objects",
]


@FUZZ
@given(st.lists(st.sampled_from(SCHEMA_DAMAGE), min_size=1, max_size=4, unique=True))
def test_scipion_sets_missing_tables_or_columns_read_or_refuse(project, statements):
    path = fresh_set(project)
    connection = sqlite3.connect(path)
    for statement in statements:
        with contextlib.suppress(sqlite3.OperationalError):  # a table already dropped
            connection.execute(statement)
    connection.commit()
    connection.close()
    reads_or_refuses(path)


@FUZZ
@given(*DAMAGE, st.booleans())
@example(cut=0, flips=[(3820, 128)], insert=b"", at=0, start_from_a_set=True)  # text no longer UTF-8
@example(cut=0, flips=[(2197, 1)], insert=b"", at=0, start_from_a_set=True)  # an item without an id: a traceback
@example(cut=0, flips=[(2196, 2)], insert=b"", at=0, start_from_a_set=True)  # SQLite quoting the schema over lines
def test_damaged_or_foreign_bytes_named_sqlite_read_or_refuse(project, cut, flips, insert, at, start_from_a_set):
    path = project / SET.replace("particles.sqlite", "fuzz.sqlite")
    raw = (project / SET).read_bytes() if start_from_a_set else b"SQLite format 3\x00" + bytes(range(256)) * 4
    path.write_bytes(damaged(raw, cut * (10 if start_from_a_set else 1), flips, insert, at))
    reads_or_refuses(path)


# --- STAR and Xmipp .xmd ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def star_folder(tmp_path_factory):
    return example_folder(tmp_path_factory.mktemp("star"), particles=6, maps=0)


TOKENS = [
    "data_",
    "data_particles",
    "data_optics",
    "loop_",
    "_rlnImageName",
    "_rlnImageName #1",
    "_image",
    "_enabled",
    "_rlnImagePixelSize",
    "_rlnOpticsGroup",
    "000001@Extract/mic_001.mrcs",
    "2@Extract/mic_002.mrcs",
    "7@Extract/mic_003.mrcs",
    "0@Extract/mic_001.mrcs",
    "@",
    "Extract/mic_001.mrcs",
    "'",
    '"',
    "'a b'",
    "''",
    "#",
    "# XMIPP_STAR_1 *",
    "nan",
    "-1",
    "0",
    "1",
    "2.0",
    "1e999",
    "\xff",
    "\x00",
    "é",
    "stop_",
    ";",
    "x" * 3000,
]


def _text(lines: list[list[str]]) -> bytes:
    return "\n".join(" ".join(words) for words in lines).encode("utf-8", "surrogateescape")


@FUZZ
@given(
    st.lists(st.lists(st.sampled_from(TOKENS), max_size=5), max_size=25),
    st.sampled_from(["particles.star", "particles.xmd"]),
)
def test_star_and_xmd_from_random_tokens_read_or_refuse(star_folder, lines, name):
    path = star_folder / f"fuzz-{name}"
    path.write_bytes(_text(lines))
    reads_or_refuses(path)


@FUZZ
@given(st.binary(max_size=600), st.sampled_from([".star", ".xmd"]))
def test_random_bytes_as_star_or_xmd_read_or_refuse(star_folder, raw, suffix):
    path = star_folder / f"fuzz{suffix}"
    path.write_bytes(raw)
    reads_or_refuses(path)


MUTATIONS = st.lists(
    st.tuples(
        st.sampled_from(["cut", "drop-line", "repeat-line", "add-value", "drop-value", "swap-value", "byte"]),
        st.integers(0, 10**6),
        st.sampled_from(TOKENS),
    ),
    min_size=1,
    max_size=4,
)


def mutated(raw: bytes, mutations: list[tuple[str, int, str]]) -> bytes:
    lines = raw.split(b"\n")
    for kind, at, token in mutations:
        word = token.encode("utf-8", "surrogateescape")
        i = at % len(lines)
        values = lines[i].split()
        if kind == "cut":
            return b"\n".join(lines)[: at % (len(raw) + 1)]
        if kind == "drop-line":
            del lines[i]
        elif kind == "repeat-line":
            lines.insert(i, lines[i])
        elif kind == "add-value":
            lines[i] = b" ".join([*values, word])
        elif kind == "drop-value" and values:
            lines[i] = b" ".join(values[:-1])
        elif kind == "swap-value" and values:
            values[at % len(values)] = word
            lines[i] = b" ".join(values)
        elif kind == "byte" and lines[i]:
            line = bytearray(lines[i])
            line[at % len(line)] = (at >> 8) % 256
            lines[i] = bytes(line)
        if not lines:
            lines = [b""]
    return b"\n".join(lines)


@FUZZ
@given(MUTATIONS, st.sampled_from([".star", ".xmd"]))
def test_a_star_file_damaged_in_any_way_reads_or_refuses(star_folder, mutations, suffix):
    path = star_folder / f"fuzz-mutated{suffix}"
    path.write_bytes(mutated((star_folder / "particles.star").read_bytes(), mutations))
    reads_or_refuses(path)


def test_huge_lines_and_deep_quotes_do_not_hang(star_folder):
    raw = (star_folder / "particles.star").read_bytes()
    huge = raw.replace(b"Micrographs/mic_001.mrc", b"'" + b"M " * 500_000 + b"'", 1)
    path = star_folder / "fuzz-huge.star"
    path.write_bytes(huge)
    reads_or_refuses(path)
    path.write_bytes(raw + b"\n".join([b"'" * 1000] * 200))
    reads_or_refuses(path)


def test_the_unchanged_inputs_read(cs_folder, project, star_folder):
    """The fuzz starts from sets that read: a failure above is the damage's, not the fixture's."""
    for path in (cs_folder / "empiar_10076_7.cs", project / SET, star_folder / "particles.star"):
        assert len(load_particle_set(path)) > 0
