"""`held_warnings`: a refused command prints its one error line only; an accepted one shows what it found."""

from __future__ import annotations

import warnings

import pytest

from maskrun.errors import MaskrunWarning, RunFailure, UserError, held_warnings


def test_a_refusal_drops_the_warnings_found_before_it():
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        with pytest.raises(UserError), held_warnings():
            warnings.warn("found first", MaskrunWarning, stacklevel=1)
            raise UserError("refused")
    assert shown == []


def test_an_accepted_block_shows_each_warning_once_in_order_and_a_failure_shows_them_too():
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        with held_warnings() as held:
            for text in ("a", "b", "a"):
                warnings.warn(text, MaskrunWarning, stacklevel=1)
            assert shown == [] and len(held) == 3  # held until the block ends
        assert [str(w.message) for w in shown] == ["a", "b"]
        with pytest.raises(RunFailure), held_warnings():
            warnings.warn("c", MaskrunWarning, stacklevel=1)
            raise RunFailure("disk full")
    assert [str(w.message) for w in shown] == ["a", "b", "c"]
