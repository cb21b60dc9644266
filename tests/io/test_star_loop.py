"""Loop.from_columns: values quoted only where STAR needs it (white space, a leading quote, empty), whole columns
of plain values included, and read back as the same texts."""

from __future__ import annotations

import numpy as np
import pytest

from maskrun.io.star import Loop, read_metadata, write_metadata

PLAIN = ["1.000000", "-2.5", "3@stacks/a.mrcs"]


@pytest.mark.parametrize(
    ("values", "tokens"),
    [
        (PLAIN, [b"1.000000", b"-2.5", b"3@stacks/a.mrcs"]),
        (["a b", "c", "d"], [b"'a b'", b"c", b"d"]),
        (["x", "", "z"], [b"x", b"''", b"z"]),
        (["", "y", "z"], [b"''", b"y", b"z"]),
        (["x", "y", ""], [b"x", b"y", b"''"]),
        (["x", "'q", "z"], [b"x", b'"\'q"', b"z"]),
        (['"q', "y", "z"], [b"'\"q'", b"y", b"z"]),
        (["x", "y\tz", "w"], [b"x", b"'y\tz'", b"w"]),
        (["it's", "y", "z"], [b"it's", b"y", b"z"]),
        (["only"], [b"only"]),
    ],
)
def test_values_are_quoted_only_where_needed_and_read_back(tmp_path, values, tokens):
    loop = Loop.from_columns({"rlnImageName": values, "rlnOpticsGroup": ["1"] * len(values)})
    assert loop.lines == [token + b" 1" for token in tokens]
    write_metadata({"particles": loop}, tmp_path / "p.star", ["# version 30001"])
    blocks, _ = read_metadata(tmp_path / "p.star")
    assert blocks["particles"].column("rlnImageName") == values


def test_columns_added_to_a_loop_follow_its_own_and_are_quoted_alike():
    loop = Loop.from_columns({"rlnImageName": PLAIN, "rlnOpticsGroup": ["1"] * 3})
    wider = loop.with_columns({"rlnAnglePsi": ["10.000000", "", "-5.5"], "rlnClassNumber": ["1", "2", "a b"]})
    assert wider.columns == ["rlnImageName", "rlnOpticsGroup", "rlnAnglePsi", "rlnClassNumber"]
    assert wider.lines == [b"1.000000 1 10.000000 1", b"-2.5 1 '' 2", b"3@stacks/a.mrcs 1 -5.5 'a b'"]
    assert loop.with_columns({}) is loop and loop.columns == ["rlnImageName", "rlnOpticsGroup"]  # unchanged
    with pytest.raises(ValueError, match="2 values for a loop of 3 rows"):
        loop.with_columns({"rlnAnglePsi": ["1", "2"]})


NUMBERS = [
    b"1@s.mrcs 10.5 -3 1e2 nan x 7",
    b"2@s.mrcs\t0.25   +4  .5 inf 2\t8",
    b"3@s.mrcs 1_0 None -0.0 -inf 3 9",
]
NUMBER_COLUMNS = ["rlnImageName", "a", "b", "c", "d", "e", "f"]


@pytest.mark.parametrize("quoted", [False, True])
def test_number_columns_read_as_python_float_reads_each_value(quoted):
    """The quick paths (no quote in any row: split from the nearer end, several columns at once) give what
    Python's float gives value by value, NaN where it refuses, as the quoted rows' path does."""
    lines = list(NUMBERS) + ([b"'4@a b.mrcs' 1 2 3 4 5 6"] if quoted else [])
    loop = Loop(NUMBER_COLUMNS, lines)
    texts = [line.replace(b"'4@a b.mrcs'", b"q").split() for line in lines]
    for k, name in enumerate(NUMBER_COLUMNS[1:], 1):
        expected = []
        for row in texts:
            try:
                expected.append(float(row[k]))
            except ValueError:
                expected.append(float("nan"))
        np.testing.assert_array_equal(loop.numbers(name), expected)
        assert loop.column_bytes(name) == [row[k] for row in texts]
    together = loop.numbers_of(NUMBER_COLUMNS[:0:-1])
    for name, values in zip(NUMBER_COLUMNS[:0:-1], together, strict=True):
        np.testing.assert_array_equal(values, loop.numbers(name))
    assert loop.column_bytes("rlnImageName")[-1] == (b"4@a b.mrcs" if quoted else b"3@s.mrcs")


def test_many_rows_are_read_in_chunks_as_one_column():
    rows = 5000  # more than a chunk
    loop = Loop(["n", "m"], [f"{i} {i / 7!r}".encode() for i in range(rows)])
    n, m = loop.numbers_of(["n", "m"])
    np.testing.assert_array_equal(n, np.arange(rows))
    np.testing.assert_array_equal(m, np.arange(rows) / 7)
