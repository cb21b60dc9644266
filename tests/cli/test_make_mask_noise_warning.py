"""A map-made mask that keeps nearly the whole box: its threshold is met by noise, and the user is told."""

from __future__ import annotations

import pytest

from maskrun.cli.main import main
from maskrun.jobs.examples import write_example_maps


@pytest.fixture
def noisy_map(tmp_path):
    write_example_maps(tmp_path)
    return tmp_path / "maps" / "class_1.mrc"


def test_a_threshold_noise_meets_is_warned_of_with_the_pieces_and_the_fixes(tmp_path, noisy_map, capsys):
    options = ["--threshold", "250 kDa", "--extend", "3", "--soft-edge", "6"]
    assert main(["make-mask", str(tmp_path / "m.mrc"), "--from-map", str(noisy_map), *options]) == 0
    err = capsys.readouterr().err
    warning = next(line for line in err.splitlines() if line.startswith("maskrun: warning:"))
    assert (
        "the mask made from class_1.mrc keeps 98.9% of the box: the threshold 0.10348 is met by noise too, in "
        in warning
    )
    pieces = int(warning.split(" separate pieces")[0].rsplit(" ", 1)[1].replace(",", ""))
    assert pieces > 100
    assert warning.endswith("; raise it, low-pass the map first, or keep only its largest piece")


@pytest.mark.parametrize(
    "options",
    [
        ["--threshold", "0.3", "--extend", "3", "--soft-edge", "6"],  # above the noise
        ["--threshold", "0.1", "--invert"],  # inverted: the outside is what it keeps
    ],
)
def test_a_mask_of_the_molecule_or_an_inverted_one_is_not_warned_of(tmp_path, noisy_map, capsys, options):
    assert main(["make-mask", str(tmp_path / "m.mrc"), "--from-map", str(noisy_map), *options]) == 0
    assert "maskrun: warning:" not in capsys.readouterr().err


def test_a_low_passed_map_is_told_to_low_pass_more_coarsely_not_first(tmp_path, noisy_map, capsys):
    """It said "low-pass the map first" although --lowpass was given."""
    options = ["--threshold", "500 kDa", "--extend", "3", "--soft-edge", "6", "--lowpass", "6"]
    assert main(["make-mask", str(tmp_path / "m.mrc"), "--from-map", str(noisy_map), *options]) == 0
    warning = next(line for line in capsys.readouterr().err.splitlines() if line.startswith("maskrun: warning:"))
    assert "the mask made from class_1.mrc keeps " in warning
    assert warning.endswith(
        "is met by noise too; raise it, low-pass the map more coarsely than 6 Å, or keep only its largest piece"
    )
