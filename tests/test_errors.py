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


def test_a_mask_keeping_all_or_nothing_carries_what_it_keeps_and_is_said_applied_or_alone():
    """What the mask keeps is data: the words of what that does are chosen by the caller, not rewritten in its
    message (make-mask matched "the output equals the input" and "every (pixel|voxel) is replaced by the fill")."""
    from maskrun.errors import AllOrNothingWarning

    none = AllOrNothingWarning("the sphere mask", False, "make it larger", unit="voxel")
    assert str(none) == "the sphere mask keeps nothing: every voxel is replaced by the fill"
    assert str(none.alone()) == "the sphere mask keeps nothing: it is 0 over the whole box"
    every = AllOrNothingWarning("the mask made from A.mrc", True, "raise it (2 px)", advice="raise it")
    assert str(every) == "the mask made from A.mrc keeps everything: the output equals the input; raise it"
    alone = every.alone()
    assert str(alone) == "the mask made from A.mrc keeps everything: it is 1 over the whole box; raise it"
    assert (alone.keeps_all, alone.fix, alone.written_alone) == (True, "raise it (2 px)", True)


def test_the_errors_and_warnings_with_data_of_their_own_pickle_and_copy_as_made():
    """The review: a forked worker pickles what it raises back to its parent; these two could not be rebuilt."""
    import copy
    import pickle

    from maskrun.engine.created_mask import VoxelSizeMismatch
    from maskrun.errors import AllOrNothingWarning

    warning = AllOrNothingWarning("the sphere mask", True, "make it smaller", unit="voxel", advice="make it smaller")
    error = VoxelSizeMismatch("differs", source="m.mrc", field="mask.file", what="mask", mask_angstrom=2.806)
    for made in (warning, error):
        for again in (pickle.loads(pickle.dumps(made)), copy.copy(made)):
            assert type(again) is type(made) and str(again) == str(made) and vars(again) == vars(made)
