"""Loop.from_columns: values quoted only where STAR needs it (white space, a leading quote, empty), whole columns
of plain values included, and read back as the same texts."""

from __future__ import annotations

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
