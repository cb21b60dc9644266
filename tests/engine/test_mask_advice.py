"""The check's advice on a mask's size converges: followed, it is not given again; when no size passes, it says so.

The RELION user's look (07_checkmask): half-maps whose signal ends at 44 Å were told "too tight
→ extend the mask by 40 Å" before and after extending it so (the advice was the resolution,
whatever the mask), then "too loose → shrink by 70 Å", back to where they began. The halves
here are theirs in small: ref_model.mrc's central 64³ at 3.54 Å/px, cut at 44 Å, white noise.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import replace

import mrcfile
import numpy as np
import pytest
from fsc_phantoms import low_resolution_halves

from maskrun.engine import mask_advice
from maskrun.engine.mask_advice import CONFLICT, Tried, converging_advice
from maskrun.engine.mask_check import MaskCheck, check_mask_values, judged
from maskrun.geometry.fsc import HalfMaps
from maskrun.geometry.grown_masks import GrownMasks
from maskrun.geometry.map_mask import MapMaskSteps, mask_from_map
from maskrun.geometry.mask_verdict import (
    MaskMeasures,
    TightMeasures,
    TightTest,
    judge,
    measure,
    too_tight,
)

from conftest import shared_path, write_mrc

VOXEL = 3.54
THRESHOLD = 0.1  # of the signal's peak
EDGE_PX = 6.0
TIGHT_PX = 0  # the tight start: its core, not grown (at 3 px, 0.14 against a limit of 0.19 at seed 0: within the noise)


NO_MASK_PASSES, A_MASK_PASSES = 0.3, 1.0  # the noise (× the signal's deviation) of each pair of halves
SHRINK_STOPS = 0.6  # halves where a mask shrunk to half the padding limit is too tight, well above the noise


@pytest.fixture(scope="module")
def halves(tmp_path_factory):
    """Per noise: the two half-map files and the signal (ref_model.mrc's central 64³, cut at 44 Å)."""
    with mrcfile.open(shared_path("data", "public", "ref_model.mrc"), permissive=True) as mrc:
        density = np.asarray(mrc.data, dtype=np.float32)
    pairs = {}
    for noise in (NO_MASK_PASSES, A_MASK_PASSES, SHRINK_STOPS):
        folder = tmp_path_factory.mktemp(f"noise{noise:g}")
        h1, h2, signal = low_resolution_halves(density, VOXEL, 44.0, noise)
        pairs[noise] = ([write_mrc(folder / f"h{i}.mrc", h, voxel_size=VOXEL) for i, h in ((1, h1), (2, h2))], signal)
    return pairs


def made(density: np.ndarray, threshold: float, extend_px: float) -> np.ndarray:
    """A mask as relion_mask_create (or make-mask) makes it: threshold, extend, a 6 px soft edge."""
    return mask_from_map(density, MapMaskSteps(threshold=threshold, extend_px=extend_px, soft_edge_px=EDGE_PX))


def checked(paths, mask: np.ndarray) -> MaskCheck:
    return check_mask_values(paths[0], paths[1], mask, "mask.mrc", VOXEL)


def followed(mask: np.ndarray, suggestion: str) -> np.ndarray:
    """The mask grown or shrunk as the suggestion says, from its core, its soft edge as before."""
    found = re.search(r"\((?:extend by )?(-?[\d.]+) px\)", suggestion)
    assert found, suggestion
    return made(mask, 0.99, round(float(found[1])))  # "shrink … (extend by -N px)"


def followed_to_the_end(paths, mask: np.ndarray) -> tuple[MaskCheck, list[tuple[str, str]]]:
    """The check of the mask the advice ends at (fine, or told to keep its size), and the advice on the way.

    Fails when an advice followed is given again, or when it has not ended after three steps.
    """
    seen: list[tuple[str, str]] = []
    for _ in range(3):
        check = checked(paths, mask)
        first = check.reasons[0] if check.reasons else None
        if first is None or first.suggestion.startswith("keep the mask's size"):
            return check, seen
        assert (first.verdict, first.suggestion) not in seen, f"the same advice again after following it: {seen}"
        seen.append((first.verdict, first.suggestion))
        grown = followed(mask, first.suggestion)
        assert not np.array_equal(grown, mask)
        mask = grown
    pytest.fail(f"still advised after three steps: {seen}")


@pytest.mark.parametrize("noise", [NO_MASK_PASSES, A_MASK_PASSES], ids=["no mask passes", "a mask passes"])
@pytest.mark.parametrize("start_extend_px", [TIGHT_PX, 20], ids=["tight", "loose"])
def test_advice_followed_is_never_given_again_and_ends(halves, noise, start_extend_px):
    """From a tight or a loose mask, following the advice ends within two steps, never repeating one."""
    paths, signal = halves[noise]
    end, seen = followed_to_the_end(paths, made(signal, THRESHOLD * float(signal.max()), start_extend_px))
    assert seen  # the start was not fine
    if noise == NO_MASK_PASSES:  # the user's case: it ends at the conflict, told to keep its size
        assert end.verdict == CONFLICT and end.reasons[0].suggestion.startswith("keep the mask's size")
    else:
        assert end.verdict == "fine", end.reasons


def test_where_no_mask_passes_both_tests_the_advice_ends_at_one_size_from_either_side(halves):
    paths, signal = halves[NO_MASK_PASSES]
    level = THRESHOLD * float(signal.max())
    ends = [followed_to_the_end(paths, made(signal, level, start))[0] for start in (TIGHT_PX, 12, 20)]
    paddings = [end.measures.padding_angstrom for end in ends]
    assert max(paddings) - min(paddings) <= 2 * VOXEL, paddings


def test_no_mask_passing_both_tests_is_said_in_one_reason_with_why(halves):
    paths, signal = halves[NO_MASK_PASSES]
    check = checked(paths, made(signal, THRESHOLD * float(signal.max()), TIGHT_PX))
    assert check.verdict == CONFLICT
    [reason, *others] = check.reasons
    assert others == []
    assert reason.verdict == CONFLICT
    assert re.fullmatch(  # the limit named, not derived: the too-tight reason derives it (400 characters with it)
        r"phase-randomised masked FSC 0\.\d+, limit 0\.\d+; not too tight only when grown by (\d+) px, where it "
        r"reaches ([\d.]+) Å past the reliable density \(limit 42\.5 Å\)",
        reason.measured,
    ), reason.measured
    assert re.search(  # why, in the advice: the too-loose limit is named in the reason
        r"or refine the half-maps further: their blur at [\d.]+ Å \(unmasked\) reaches past it$", reason.suggestion
    ), reason.suggestion
    assert len(reason.measured) < 250 and len(reason.suggestion) < 300
    padding = float(re.search(r"where it reaches ([\d.]+) Å", reason.measured)[1])
    assert padding > 42.5  # past the too-loose limit: why no mask passes both
    assert reason.suggestion.startswith("extend the mask by ")
    assert "and let it be looser than the limit" in reason.suggestion and "refine the half-maps" in reason.suggestion


def test_a_too_tight_mask_grown_as_advised_is_not_too_tight(halves):
    paths, signal = halves[A_MASK_PASSES]
    mask = made(signal, THRESHOLD * float(signal.max()), TIGHT_PX)
    check = checked(paths, mask)
    assert check.verdict == "too tight"
    assert re.fullmatch(
        r"extend the mask by \d+(?:\.\d)? Å \((\d+) px\): grown so, it is not too tight", check.reasons[0].suggestion
    )
    assert checked(paths, followed(mask, check.reasons[0].suggestion)).verdict == "fine"


def test_a_too_loose_mask_is_not_told_to_shrink_into_too_tight(halves):
    """The loose rule's advice, to half the padding limit, is tried: here that is too tight, so it shrinks less.

    (With A_MASK_PASSES's noisier halves, that shrink is too tight only within the noise.)"""
    paths, signal = halves[SHRINK_STOPS]
    mask = made(signal, THRESHOLD * float(signal.max()), 12)
    check = checked(paths, mask)
    assert check.verdict == "too loose"
    reason = check.reasons[0]
    assert re.search(
        r"; shrunk by \d+ px it is too tight \(phase-randomised masked FSC 0\.\d+, limit 0\.\d+[^)]*\)$",
        reason.measured,
    ), reason.measured
    assert re.fullmatch(r"shrink the mask by \d+(?:\.\d)? Å \(extend by -\d+ px\), no further", reason.suggestion)
    assert checked(paths, followed(mask, reason.suggestion)).verdict == "fine"


def full_tried_size(test: TightTest, sizes: GrownMasks, extend_px: int) -> Tried:
    """`mask_advice.tried_size` as it was: the size's four curves, every measure and the whole judgement.

    Kept to hold the cheap trial to: its ``measures`` are the full `MaskMeasures`.
    """
    values = sizes.values(extend_px)
    measures = measure(test.halves.with_mask(values), values)
    _, reasons = judge(measures, test.halves.voxel_size_angstrom)
    return Tried(extend_px, any(reason.verdict == "too tight" for reason in reasons), measures)  # type: ignore[arg-type]


def advice_and_trials(check: MaskCheck, trial, monkeypatch):
    """`converging_advice` on a check's mask with ``trial`` for `tried_size`, and every size it tried."""
    tried = []

    def recording(test, sizes, extend_px):
        tried.append(trial(test, sizes, extend_px))
        return tried[-1]

    monkeypatch.setattr(mask_advice, "tried_size", recording)
    _, measures, _, reasons = judged(check.halves, check.mask_values)
    return converging_advice(check.halves, check.mask_values, measures, reasons), tried


CHEAP_TRIED_SIZE = mask_advice.tried_size


def assert_measure_s(ours: TightMeasures, full: MaskMeasures, extend_px: int) -> None:
    """The cheap numbers are `measure`'s, bit for bit; the FSC's left out only where it is within the limit."""
    assert (ours.density_outside_fraction, ours.padding_angstrom) == (
        full.density_outside_fraction,
        full.padding_angstrom,
    ), extend_px
    if ours.phase_randomised_fsc_max is None:
        assert full.phase_randomised_fsc_max <= full.phase_randomised_fsc_limit, extend_px
    else:
        assert ours.phase_randomised_fsc_max == full.phase_randomised_fsc_max, extend_px
        assert ours.phase_randomised_fsc_limit == full.phase_randomised_fsc_limit, extend_px


@pytest.mark.parametrize("noise", [NO_MASK_PASSES, A_MASK_PASSES], ids=["no mask passes", "a mask passes"])
@pytest.mark.parametrize("start_extend_px", [TIGHT_PX, 12, 20], ids=["tight", "padded", "loose"])
def test_cheap_trials_advise_exactly_as_the_full_ones(halves, noise, start_extend_px, monkeypatch):
    """The sizes tried, whether each is too tight, the numbers the advice reads, and every reason are the same."""
    paths, signal = halves[noise]
    check = checked(paths, made(signal, THRESHOLD * float(signal.max()), start_extend_px))
    cheap_advice, cheap = advice_and_trials(check, CHEAP_TRIED_SIZE, monkeypatch)
    full_advice, full = advice_and_trials(check, full_tried_size, monkeypatch)
    assert cheap_advice == full_advice
    assert [(t.extend_px, t.tight) for t in cheap] == [(t.extend_px, t.tight) for t in full]
    for ours, theirs in zip(cheap, full):
        assert_measure_s(ours.measures, theirs.measures, ours.extend_px)
    if (noise, start_extend_px) != (A_MASK_PASSES, 20):  # that one is too loose, and shrinks as advised untried
        assert cheap


def test_the_tight_test_measures_as_measure_does_sparing_the_masked_fsc_where_it_can(halves, monkeypatch):
    """Every size from shrunk to far grown: `measure`'s numbers; the masked FSC only where the verdict needs it.

    Of the three ways to the phase-randomised FSC's largest value (before the unmasked
    resolution shell; within the limit wherever the resolution lies; the masked FSC's
    resolution shell), each is taken.
    """
    masked_curves = []
    whole = HalfMaps.masked_curve
    monkeypatch.setattr(HalfMaps, "masked_curve", lambda self, mask: masked_curves.append(1) or whole(self, mask))
    ways = []
    for noise in (NO_MASK_PASSES, A_MASK_PASSES):
        paths, signal = halves[noise]
        check = checked(paths, made(signal, THRESHOLD * float(signal.max()), TIGHT_PX))
        test = TightTest(check.halves)
        sizes = GrownMasks(check.mask_values, EDGE_PX)
        masked_curves.clear()
        for extend_px in range(-12, 26, 2):
            values = sizes.values(extend_px)
            ours, full = test(values), measure(check.halves.with_mask(values), values)
            assert_measure_s(ours, full, extend_px)
            assert too_tight(ours) == too_tight(full), (noise, extend_px)
            ways.append("masked" if masked_curves else "within" if ours.phase_randomised_fsc_max is None else "before")
            masked_curves.clear()
    assert set(ways) == {"masked", "within", "before"}, ways


@pytest.mark.parametrize("start_extend_px", [TIGHT_PX, 20], ids=["too tight", "too loose"])
def test_the_size_advised_is_made_by_the_command_the_check_prints(halves, tmp_path, capsys, start_extend_px):
    """The new user's look: told "extend the mask by 12 Å (6 px)", they grew it from its 0.5 contour (which holds
    half the soft edge already), and the next check said "too loose → shrink". The check now prints the
    make-mask command of the size it tried; run as printed, it makes that size, and the advice ends there."""
    from maskrun.cli.main import main

    paths, signal = halves[A_MASK_PASSES]
    mask = made(signal, THRESHOLD * float(signal.max()), start_extend_px)
    (tmp_path / "my masks").mkdir()  # the command is pasted into a shell: the path is quoted
    given = write_mrc(tmp_path / "my masks" / "mask.mrc", mask, voxel_size=VOXEL)
    assert main(["check-mask", "--half1", str(paths[0]), "--half2", str(paths[1]), "--mask", str(given)]) == 0
    printed = capsys.readouterr().out
    commands = re.findall(r"^    make it: maskrun (make-mask OUT\.mrc .*)$", printed, re.MULTILINE)
    assert len(commands) == 1, printed
    advice = re.search(r"→ (.*)\n    make it:", printed)[1]
    said = re.search(r"\((?:extend by )?(-?[\d.]+) px\)", advice)[1]
    assert f"--extend {said} " in commands[0]  # the advice's size is the command's, in whole voxels
    made_as_printed = tmp_path / "resized.mrc"
    assert main(shlex.split(commands[0].replace("OUT.mrc", str(made_as_printed)))) == 0
    with mrcfile.open(made_as_printed) as mrc:
        resized = np.asarray(mrc.data)
    assert np.abs(resized - followed(mask, advice)).max() < 0.01  # the size the advice names
    assert checked(paths, resized).verdict == "fine"


def test_a_mask_missing_a_lobe_is_told_to_take_it_in_not_to_grow_all_round(tmp_path):
    """The verdict look: a mask missing one lobe (15.7 % of the density, reaching 12 Å past it) was a 'tight and loose
    conflict' blamed on the half-maps' blur, and grown all round as advised it lost 1.3 Å of resolution. Grown until
    not too tight it reaches past the too-loose limit elsewhere: it is to be made again taking the lobe in."""
    from fsc_phantoms import phantom_halves, soft_mask

    from maskrun.engine.mask_check import check_mask

    # the last two: the lobe the mask misses; 13 px out, as 12 px was taken in within the too-loose limit (34.6 Å
    # against 36 Å, grown by 8 px) once the sizes tried were make-mask's to the voxel
    centres = [(0, 0, -5), (0, 4, -3), (0, 0, 3), (13, 0, 0), (13, 3, 2)]
    half1, half2, _ = phantom_halves(64, seed=2, noise=1.5, centres=centres)
    core = phantom_halves(64, seed=2, noise=1.5, centres=centres[:3])[2]
    paths = [
        write_mrc(tmp_path / f"{name}.mrc", values, voxel_size=3.0) for name, values in (("h1", half1), ("h2", half2))
    ]
    mask = write_mrc(tmp_path / "cut.mrc", soft_mask(core, 0.1, 2, 6), voxel_size=3.0)
    check = check_mask(paths[0], paths[1], mask)
    assert check.verdict == "too tight"
    assert mask_advice.misses_a_part(check.measures)
    reason = check.reasons[0]
    assert re.search(
        r"; it leaves out 1 part of the particle \(\d+\.\d% of the reliable density, reaching \d+ Å past "
        r"the mask\)$",
        reason.measured,
    ), reason.measured
    assert re.search(  # the numbers of the size that takes it in, in the advice
        r"rather than grow it all round: grown until not too tight \(\d+ px\), it reaches \d+\.\d Å past the "
        r"reliable density elsewhere; ",
        reason.suggestion,
    ), reason.suggestion
    # what fails, not the whole too-tight test's words (430 characters with them, the verdict look's)
    assert re.search(r"; \d+\.\d% of the reliable density outside, limit 1%; it leaves out", reason.measured)
    assert "independent voxels" not in reason.measured and len(reason.measured) < 250, reason.measured
    assert reason.suggestion.startswith(
        "make the mask again so that it takes in the part it leaves out (from the map at a lower threshold, or a "
        "larger shape), rather than grow it all round"
    )
    assert reason.remake is None  # no make-mask line that grows it all round
    # the search's candidates grow it all round: its answer says the remade mask may resolve further (the review)
    from maskrun.engine.mask_search import grown_all_round_note

    assert grown_all_round_note(check) == (
        "the candidates grow or shrink this mask all round, and it leaves out a part of the particle: made again "
        "taking that part in, as the verdict advises, it may resolve further than any of them"
    )
    # the same mask checked as a focused one: its lobe left out by design, no advice to take it in
    focused = check_mask(paths[0], paths[1], mask, focused=True)
    assert all("make the mask again" not in r.suggestion for r in focused.reasons)
    assert grown_all_round_note(focused) is None


@pytest.fixture(scope="module")
def phantom_files(tmp_path_factory):
    """The check-mask tests' phantom half-maps (64³ at 2 Å; too-loose limit 24 Å) as files, and its signal."""
    from fsc_phantoms import phantom_halves

    folder = tmp_path_factory.mktemp("phantom")
    half1, half2, signal = phantom_halves(64, noise=1.5, blob_sigma_px=3.0)
    paths = [write_mrc(folder / f"h{i}.mrc", half, voxel_size=2.0) for i, half in ((1, half1), (2, half2))]
    return paths, signal


@pytest.mark.parametrize(
    ("start", "first_verdict"),
    [("sphere 26", "too loose"), ("sphere 23", "too loose"), ("soft 12", "too loose")],
    ids=["loose and hard-edged", "hard-edged, loose once softened", "loose, looser by a tighter mask"],
)
def test_the_first_reasons_make_it_line_gives_a_mask_the_check_calls_fine(
    phantom_files, tmp_path, capsys, start, first_verdict
):
    """The verdict look's finding 8: a loose sphere with a 2 px edge was `hard edge` (no make-it line), its too-loose
    make-it line then gave `too loose → shrink` and that, followed, `too loose` again: three rounds for one mask. A
    sphere of 23 px, within the padding limit hard, was too loose once softened as advised (24.2 Å, limit 24, at
    --extend -3, half the edge): its line shrinks it besides, and `too loose` leads; a soft loose mask shrunk as
    advised was too loose by a tighter mask resolving further. Now the first reason's make-it line, run as printed,
    makes a mask the check calls fine: neither too loose nor hard-edged, in one round."""
    from fsc_phantoms import soft_mask

    from maskrun.cli.main import main

    (h1, h2), signal = phantom_files
    given = tmp_path / "given.mrc"
    kind, size = start.split()
    if kind == "sphere":  # as a user makes one: a sphere of the box, a nearly hard 2 px edge
        assert (
            main(
                ["make-mask", str(given), "--like", str(h1), "--shape", "sphere", "--radius", size, "--soft-edge", "2"]
            )
            == 0
        )
    else:
        write_mrc(given, soft_mask(signal, 0.01, int(size), 8), voxel_size=2.0)
    capsys.readouterr()
    assert main(["check-mask", "--half1", str(h1), "--half2", str(h2), "--mask", str(given)]) == 0
    printed = capsys.readouterr().out
    assert f"verdict: {first_verdict}\n" in printed, printed
    first = re.search(
        r"^verdict: .*\n  [^\n]*\n    → [^\n]*\n    make it: maskrun (make-mask OUT\.mrc [^\n]*)$",
        printed,
        re.MULTILINE,
    )
    assert first, printed  # the first reason carries the make-it line
    assert len(re.findall(r"^    make it: ", printed, re.MULTILINE)) == 1, printed
    remade = tmp_path / "remade.mrc"
    assert main(shlex.split(first[1].replace("OUT.mrc", str(remade)))) == 0
    check = check_mask_values(h1, h2, mrcfile.read(remade), remade, 2.0)
    if kind == "sphere":
        assert check.measures.edge_width_angstrom >= 11.0  # the advised 12 Å (6 px) edge: no hard edge
    assert check.measures.padding_angstrom <= 24.0
    assert check.verdict == "fine", check.reasons


def test_a_softened_sizes_shrink_too_tight_is_named_by_its_extend_as_the_command_gives_it(
    phantom_files, tmp_path, capsys
):
    """The check-mask look: "shrunk by 16 px it is too tight" beside `make it: ... --extend -14` read as --extend
    -16, a mask the check calls not too tight: softened sizes count their shrink from the contour less half the
    edge (3 px here), so the too-tight size's --extend is named too."""
    from maskrun.cli.main import main

    (h1, h2), _ = phantom_files
    given = tmp_path / "given.mrc"
    made = ["make-mask", str(given), "--like", str(h1), "--shape", "sphere", "--radius", "26", "--soft-edge", "2"]
    assert main(made) == 0
    capsys.readouterr()
    assert main(["check-mask", "--half1", str(h1), "--half2", str(h2), "--mask", str(given)]) == 0
    printed = capsys.readouterr().out
    tight = re.search(r"shrunk by (\d+) px \(from its 0\.5 contour, extend by (-\d+) px\) it is too tight", printed)
    advised = re.search(r"make it: maskrun make-mask .* --extend (-\d+) ", printed)
    assert tight and advised, printed
    assert int(tight[2]) == -int(tight[1]) - 3  # half the advised 6 px edge below the contour, then the shrink
    assert int(advised[1]) > int(tight[2])  # the advised size is less shrunk than the one too tight


@pytest.mark.parametrize("edge_px", [6.0, 6.67, 7.33, 8.0])
def test_a_mask_softened_about_its_contour_keeps_that_contour_never_past_it(phantom_files, edge_px):
    """The verdict look's focused mask: softened as advised (--extend -3 --soft-edge 6.67), its 0.5 contour grew by a
    voxel all round. Made at `contour_kept_px`, the remade mask's 0.5 contour is never past the given one, and falls
    short of it only in its outer layer of voxels (to the voxel, a contour at half a voxel cannot be kept exactly)."""
    from scipy import ndimage

    _, signal = phantom_files
    hard = mask_from_map(signal, MapMaskSteps(threshold=0.1 * float(signal.max()), extend_px=3))
    extend_px = mask_advice.contour_kept_px(edge_px)
    remade = mask_from_map(hard, MapMaskSteps(threshold=0.5, extend_px=extend_px, soft_edge_px=edge_px))
    given, kept = hard >= 0.5, remade >= 0.5
    assert not (kept & ~given).any()  # never past the given contour
    depth = ndimage.distance_transform_edt(given)  # 1 in the outer layer
    assert depth[given & ~kept].max() < 2.5
    assert depth[given & ~kept].mean() < 1.5
    assert np.any((remade > 0) & (remade < 0.5) & ~given)  # the edge lies about the contour, half of it outside


def test_a_focused_masks_part_left_out_stays_left_out_once_softened_as_advised(tmp_path):
    """The verdict look: a focused hard-edged mask (its other lobe, 7.0 % of the density, reaching 8 Å past it, left
    out by design) was softened as advised; the softened mask, a voxel larger all round, left that lobe reaching 6 Å
    past it, under the part/margin line (6.9 Å): counted, 'too tight', grown over it, then 'too loose'. Here a
    phantom's other domain reaches just past that line (11.5 Å against 12 Å, the 99th percentile); softened as
    advised, the mask keeps its contour and the part stays a part: fine in one round."""
    from fsc_phantoms import phantom_halves, soft_mask

    centres = [(0, 0, -5), (0, 4, -3), (0, 0, 3), (13, 0, 0), (13, 3, 2)]
    half1, half2, _ = phantom_halves(64, seed=2, noise=2.5, centres=centres)
    core = phantom_halves(64, seed=2, noise=2.5, centres=centres[:3])[2]
    paths = [write_mrc(tmp_path / f"h{i}.mrc", half, voxel_size=1.5) for i, half in ((1, half1), (2, half2))]
    hard = soft_mask(core, 0.1, 9, 0)
    check = check_mask_values(*paths, hard, "hard.mrc", 1.5, focused=True)
    assert check.verdict == "hard edge" and check.measures.density_left_out_parts == 1, check.reasons
    remake = check.reasons[0].remake
    assert remake is not None and remake.threshold == 0.5
    softened = mask_from_map(
        hard, MapMaskSteps(threshold=0.5, extend_px=remake.extend_px, soft_edge_px=remake.soft_edge_px)
    )
    again = check_mask_values(*paths, softened, "softened.mrc", 1.5, focused=True)
    assert again.verdict == "fine", again.reasons
    assert again.measures.density_left_out_parts == 1
    assert again.measures.density_left_out_fraction >= check.measures.density_left_out_fraction


@pytest.mark.parametrize("apart_px", [12, 14])
def test_a_focused_mask_is_not_advised_a_size_whose_check_counts_what_is_left_of_its_part(tmp_path, apart_px):
    """A focused mask's sizes were tried with the given mask's parts kept out. Grown towards a part reaching little
    past the part/margin line, a size left the rest of it within that line: advised ('extend by 6 Å (4 px)'), its
    check counted that rest (1.3 %, or 8.2 % with the domain 2 px further) and was too tight, or a conflict. Each
    size is now judged by its own parts, as its check is: none within a margin is not too tight, and the advice
    says to grow no further."""
    from fsc_phantoms import phantom_halves, soft_mask

    centres = [(0, 0, -5), (0, 4, -3), (0, 0, 3), (apart_px, 0, 0), (apart_px, 3, 2)]
    half1, half2, _ = phantom_halves(64, seed=2, noise=1.0, centres=centres)
    core = phantom_halves(64, seed=2, noise=1.0, centres=centres[:3])[2]
    paths = [write_mrc(tmp_path / f"h{i}.mrc", half, voxel_size=1.5) for i, half in ((1, half1), (2, half2))]
    check = check_mask_values(*paths, soft_mask(core, 0.1, 5, 0), "hard.mrc", 1.5, focused=True)
    assert check.verdict == "too tight" and check.measures.density_left_out_parts == 1
    reason = check.reasons[0]
    assert reason.remake is None, reason
    assert reason.suggestion.startswith("grow it no further, over the density it leaves out by design")
    # hard, softened outward by the advised edge: its 0.5 contour half that edge out, 4.5 Å, within the margin (6.9 Å),
    # and grown by 2 px more it would be past it
    assert re.search(
        r"not grown, with a soft edge of 9 Å \(6\.0 px\) outside it \(4\.5 Å at its 0\.5 contour, as far as a margin "
        r"reaches\), it is still too tight$",
        reason.measured,
    ), reason.measured


def test_a_focused_hard_mask_is_never_advised_a_size_whose_contour_passes_the_margin(tmp_path, monkeypatch):
    """The verdict look: a focused hard AK mask cut at a plane was advised --extend 2 --soft-edge 6 (the core's growth
    within the margin, 2 px against 4.6); the outward edge moved its 0.5 contour 4.7 px (7 Å) past the cut, beyond
    the margin (6.9 Å): it swallowed half the side left out by design, and its check said `fine`. The limit holds
    the contour now, the growth and half the new edge: no size within it is not too tight here, and the advice says
    to grow it no further."""
    from fsc_phantoms import phantom_halves, soft_mask

    from maskrun.geometry.mask_verdict import part_reach_angstrom

    centres = [(0, 0, -5), (0, 4, -3), (0, 0, 3), (14, 0, 0), (14, 3, 2)]
    half1, half2, _ = phantom_halves(64, seed=2, noise=1.0, centres=centres)
    core = phantom_halves(64, seed=2, noise=1.0, centres=centres[:3])[2]
    paths = [write_mrc(tmp_path / f"h{i}.mrc", half, voxel_size=1.5) for i, half in ((1, half1), (2, half2))]
    check = check_mask_values(*paths, soft_mask(core, 0.1, 5, 0), "hard.mrc", 1.5, focused=True)
    _, measures, _, reasons = judged(check.halves, check.mask_values, focused=True)
    assert [r.verdict for r in reasons] == ["too tight", "hard edge"] and measures.density_left_out_parts == 1
    tried = []

    def forced(test, sizes, extend_px):  # too tight until grown 2 px (softened outward), as the AK mask was
        size = CHEAP_TRIED_SIZE(test, sizes, extend_px)
        tried.append((extend_px, sizes.soft_edge_px))
        return Tried(extend_px, extend_px < 2, size.measures)

    monkeypatch.setattr(mask_advice, "tried_size", forced)
    verdict, advised = converging_advice(check.halves, check.mask_values, measures, reasons)
    reach_px = part_reach_angstrom(check.halves.randomise_from_angstrom) / 1.5
    assert all(extend + edge / 2 <= reach_px for extend, edge in tried), (tried, reach_px)  # none tried past it
    assert verdict == "too tight" and advised[0].remake is None, advised
    assert advised[0].suggestion.startswith("grow it no further, over the density it leaves out by design")
    assert mask_advice.grown_within_px(reach_px, 6.0) == 0 and mask_advice.grown_within_px(reach_px, 0.0) == 4


@pytest.mark.parametrize("tight_up_to", ["shrinks", "its size", "every size"])
def test_a_loose_hard_edged_mask_every_shrink_too_tight_is_advised_a_size_tried(
    phantom_files, tmp_path, capsys, monkeypatch, tight_up_to
):
    """The review: a too-loose, hard-edged mask whose every shrink is too tight was advised its own size softened
    (`tight and loose conflict … keep the mask's size and widen its soft edge`, with a make-it line), a size never
    tried: the shrinks start from it, taken as not too tight by the mask's own measures. It is tried now, and grown a
    voxel at a time while too tight; the verdict stays the conflict, with no size to make when none is found."""
    from maskrun.cli.main import main

    (h1, h2), _ = phantom_files
    given = tmp_path / "given.mrc"
    made = ["make-mask", str(given), "--like", str(h1), "--shape", "sphere", "--radius", "26", "--soft-edge", "2"]
    assert main(made) == 0
    capsys.readouterr()
    check = check_mask_values(h1, h2, mrcfile.read(given), given, 2.0)
    _, measures, _, reasons = judged(check.halves, check.mask_values)
    assert sorted(reason.verdict for reason in reasons) == ["hard edge", "too loose"]
    tried = {}

    def forced(test, sizes, extend_px):  # too tight below the size that keeps the contour, or up to it, or all
        start = mask_advice.softened_start_px(sizes.soft_edge_px, False)
        last = {"shrinks": start - 1, "its size": start, "every size": 0}[tight_up_to]
        size = CHEAP_TRIED_SIZE(test, sizes, extend_px)
        tried[extend_px] = extend_px <= last or size.tight
        return Tried(extend_px, tried[extend_px], size.measures)

    monkeypatch.setattr(mask_advice, "tried_size", forced)
    verdict, advised = converging_advice(check.halves, check.mask_values, measures, reasons)
    assert verdict == CONFLICT and advised[0].verdict == CONFLICT, advised
    remake = advised[0].remake
    if tight_up_to == "every size":
        assert remake is None and advised[0].suggestion.startswith("keep the mask as it is, and let it be looser")
    else:
        assert remake is not None and remake.extend_px in tried and not tried[remake.extend_px], (remake, tried)
        start = mask_advice.softened_start_px(remake.soft_edge_px, False)
        assert remake.extend_px == (start if tight_up_to == "shrinks" else start + 1)


def test_a_loose_hard_edged_mask_at_the_conflict_is_advised_a_size_tried(halves, monkeypatch):
    """The user's halves in small (44 Å): a hard mask too loose (extended 14 px). Softened from the contour kept
    (-(⌊W/2⌋ + 1)), its shrinks by 2 px and more were too tight, and the conflict advised its size softened, untried;
    each size the conflict advises is tried (not too tight) first. Softened from half the edge (its start again),
    the size advised is a voxel tighter."""
    paths, signal = halves[NO_MASK_PASSES]
    hard = mask_from_map(signal, MapMaskSteps(threshold=THRESHOLD * float(signal.max()), extend_px=14))
    check = checked(paths, hard)
    (verdict, reasons), tried = advice_and_trials(check, CHEAP_TRIED_SIZE, monkeypatch)
    assert verdict == CONFLICT, reasons
    remake = reasons[0].remake
    assert remake is not None and remake.extend_px <= mask_advice.softened_start_px(remake.soft_edge_px, False)
    assert [t.tight for t in tried if t.extend_px == remake.extend_px] == [False], tried


def hard_sphere_check(phantom_files, tmp_path, capsys, radius_px: int) -> tuple[MaskCheck, MaskMeasures, list]:
    """A sphere of ``radius_px`` with a 2 px edge around the phantom, checked: the check, its measures and reasons,
    which say only `hard edge`."""
    from maskrun.cli.main import main

    (h1, h2), _ = phantom_files
    given = tmp_path / "given.mrc"
    made = ["make-mask", str(given), "--like", str(h1), "--shape", "sphere", "--radius", str(radius_px)]
    assert main([*made, "--soft-edge", "2"]) == 0
    capsys.readouterr()
    check = check_mask_values(h1, h2, mrcfile.read(given), given, 2.0)
    _, measures, _, reasons = judged(check.halves, check.mask_values)
    assert [reason.verdict for reason in reasons] == ["hard edge"]
    return check, measures, reasons


def test_a_hard_edged_mask_too_tight_once_softened_is_told_too_tight_first(
    phantom_files, tmp_path, capsys, monkeypatch
):
    """A hard edge whose softened size is too tight at its size, and grown 2 px is not: the make-it line grows the mask
    besides softening it, so `too tight` leads with it, as a mask too tight and hard-edged reads, and the hard edge's
    reason follows, `(the mask advised above has it)`; it read `hard edge`, the growth in its words."""

    check, measures, reasons = hard_sphere_check(phantom_files, tmp_path, capsys, 20)

    def forced(test, sizes, extend_px):  # softened, too tight up to 1 px past the size that keeps the contour
        size = CHEAP_TRIED_SIZE(test, sizes, extend_px)
        tight = extend_px <= mask_advice.softened_start_px(sizes.soft_edge_px, False) + 1 or size.tight
        return Tried(extend_px, tight, replace(size.measures, density_outside_fraction=0.05 if tight else 0.0))

    monkeypatch.setattr(mask_advice, "tried_size", forced)
    verdict, advised = converging_advice(check.halves, check.mask_values, measures, reasons)
    assert verdict == "too tight" and [r.verdict for r in advised] == ["too tight", "hard edge"], advised
    first, hard = advised
    assert first.measured == (
        "softened at its size (the hard edge's advice, below), it is too tight: 5.0% of the reliable density "
        "outside, limit 1%"
    )
    start = mask_advice.softened_start_px(first.remake.soft_edge_px, False)
    assert first.remake.extend_px == start + 2 and first.remake.threshold == 0.5
    assert first.suggestion == (
        f"extend the mask by 4 Å (2 px: from its 0.5 contour, extend by {start + 2} px) and widen its soft edge to "
        "12 Å (6.0 px) about that contour (half the edge, less the growth): made so, it is not too tight"
    )
    assert hard.remake is None and hard.suggestion.endswith("(the mask advised above has it)")


def test_only_a_focused_mask_leaving_parts_out_is_softened_keeping_its_contour(phantom_files, tmp_path, capsys):
    """The verdict look: softened from `contour_kept_px` (-4 for a 6.67 px edge), a hard sphere was called fine 1 Å
    looser than from half the edge (-3, then 4 px more), and 5 of 20 hard AK masks, too tight at -4, read `too tight`.
    The contour is kept where it is needed, a focused mask with parts left out; any other softens from half the
    edge, rounded, as before."""

    check, measures, _ = hard_sphere_check(phantom_files, tmp_path, capsys, 20)
    for resolution, start in ((4.5, -3), (5.0, -3), (5.5, -4)):  # advised edges 6, 6.67 and 7.33 px at 1.5 Å
        edge = replace(measures, resolution_angstrom=resolution)
        plain = mask_advice.Resizing.of(check.mask_values, edge, 1.5, True)
        assert plain.start_px == start and not plain.contour_kept, plain.sizes.soft_edge_px
        focused = mask_advice.Resizing.of(check.mask_values, replace(edge, focused=True), 1.5, True)
        assert focused.start_px == start  # focused, nothing left out: half the edge too
        parts = replace(edge, focused=True, density_left_out_fraction=0.07, density_left_out_parts=1)
        kept = mask_advice.Resizing.of(check.mask_values, parts, 1.5, True)
        assert kept.start_px == -4 and kept.contour_kept  # -(⌊W/2⌋ + 1)


def test_a_hard_edge_too_tight_at_its_start_but_not_a_voxel_larger_keeps_its_size(
    phantom_files, tmp_path, capsys, monkeypatch
):
    """The verdict look: a hard AK mask passing its own test, softened from -4 (too tight) and then -3 (not), read
    `too tight` ("extend the mask by 2 Å (1 px)"), its line the one half the edge gave it before. A voxel larger than
    the start is still the mask's size: the hard edge's verdict and words, the line at that size."""

    check, measures, reasons = hard_sphere_check(phantom_files, tmp_path, capsys, 20)

    def forced(test, sizes, extend_px):  # softened, too tight up to half the edge, not a voxel larger
        size = CHEAP_TRIED_SIZE(test, sizes, extend_px)
        tight = extend_px <= mask_advice.softened_start_px(sizes.soft_edge_px, False)
        return Tried(extend_px, tight, replace(size.measures, density_outside_fraction=0.05 if tight else 0.0))

    monkeypatch.setattr(mask_advice, "tried_size", forced)
    verdict, advised = converging_advice(check.halves, check.mask_values, measures, reasons, lambda values: None)
    assert verdict == "hard edge" and [r.verdict for r in advised] == ["hard edge"], advised
    remake = advised[0].remake
    assert remake is not None and remake.threshold == 0.5 and remake.soft_edge_px == 6.0
    assert remake.extend_px == -2  # half the 6 px edge is -3, too tight
    assert advised[0].suggestion.endswith(
        "; about its 0.5 contour, shrunk by 2 px (half the edge less a voxel: shrunk by 3 px it is too tight) so "
        "that the mask keeps its size: made so, it is not too tight"
    )


def test_a_hard_edged_mask_too_loose_once_softened_is_told_too_loose_first(phantom_files, tmp_path, capsys):
    """The verdict look: a hard sphere within the padding limit (AK, 18.7 Å against 20) was `hard edge`, its make-it
    line shrinking it 5 px besides softening it (softened at its size, a tighter mask resolved further). The line
    shrinks it: `too loose` leads with it, as for a mask too loose and hard-edged, and says why; the hard edge's
    reason follows, `(the mask advised above has it)`."""
    from maskrun.engine.mask_advice import Tighter

    check, measures, reasons = hard_sphere_check(phantom_files, tmp_path, capsys, 22)
    asked = []

    def looser(values):  # the rule a check applies to a mask it finds fine: too loose softened at its size only
        asked.append(values)
        return Tighter(3, "made 3 px tighter it resolves further") if len(asked) == 1 else None

    verdict, advised = converging_advice(check.halves, check.mask_values, measures, reasons, looser)
    assert verdict == "too loose" and [r.verdict for r in advised] == ["too loose", "hard edge"], advised
    first, hard = advised
    assert first.measured.endswith(
        "; softened at its size (the hard edge's advice, below), made 3 px tighter it resolves further"
    )
    assert first.measured.startswith(f"the mask reaches {measures.padding_angstrom:.1f} Å past the reliable density")
    start, extend = mask_advice.softened_start_px(first.remake.soft_edge_px, False), first.remake.extend_px
    assert start - 3 <= extend < start and first.remake.threshold == 0.5  # shrunk 3 px, or less where that is too tight
    assert first.suggestion.startswith(
        f"shrink the mask by {2 * (start - extend)} Å ({start - extend} px: from its 0.5 contour, extend by {extend} "
        "px) and widen its soft edge to 12 Å (6.0 px) about that contour (half the edge and the shrink)"
    )
    assert hard.remake is None and hard.suggestion.endswith("(the mask advised above has it)")


def test_a_softened_size_says_its_growth_and_its_extend_and_lengths_not_whole_with_a_decimal(phantom_files):
    """The verdict look: "extend the mask by 2 Å (1 px)" beside `--extend -3` (the growth counted from the softened
    size, the flag from the contour) said only the growth up front; at 1.5 Å/px, 3 px printed "4 Å" and 1 px "2 Å".
    Both are said as a size too tight says them, and lengths not whole in Å have one decimal."""
    _, signal = phantom_files
    hard = (signal >= 0.1 * float(signal.max())).astype(np.float32)
    resizing = mask_advice.Resizing(GrownMasks(hard, 6.0), 0.5, -3, 1.5, True)
    assert resizing.resized_words(0) == (
        "extend the mask by 4.5 Å (3 px: from its 0.5 contour, extend by 0 px) and widen its soft edge to 9 Å (6.0 px) "
        "about that contour (half the edge, less the growth)"
    )
    assert resizing.resized_words(-7).startswith("shrink the mask by 6 Å (4 px: from its 0.5 contour, extend by -7 px)")
    assert [mask_advice.angstrom_words(a) for a in (1.5, 4.5, 6.0, 10.005, 3.54)] == [
        "1.5 Å",
        "4.5 Å",
        "6 Å",
        "10 Å",
        "3.5 Å",
    ]


def test_a_fine_mask_whose_first_tighter_try_is_too_tight_is_tried_at_half_that_shrink(phantom_files, monkeypatch):
    """The second too-loose rule tried one shrink (a third of the padding): when that was too tight, a smaller one was
    never tried and the mask was left loose (a hard AK sphere's advice hung on it). Now the shrink is halved while too
    tight, down to 2 px, and the largest not too tight is judged: here every shrink past 4 px is made too tight, and
    4 px, which resolves further, is found."""
    from fsc_phantoms import soft_mask

    from maskrun.engine import mask_check

    (h1, h2), signal = phantom_files
    mask = soft_mask(signal, 0.03, 5, 8)
    check = check_mask_values(h1, h2, mask, "mask.mrc", 2.0)
    curves, measures, verdict, _ = judged(check.halves, mask)
    assert verdict == "fine"
    monkeypatch.setattr(mask_check, "tighter_by_px", lambda measures, voxel: 8.0)
    edge = mask_check.measured_edge_px(measures, 2.0)
    at_four = float(mask_from_map(mask, MapMaskSteps(threshold=0.99, extend_px=-4, soft_edge_px=edge)).mean())
    real, shrinks = mask_check.judged, []

    def judged_tight_past_four(halves, values, focused=False):  # 8 px (less kept than 4 px) too tight
        found = real(halves, values, focused)
        kept = float(values.mean())
        shrinks.append(kept)
        return (*found[:2], "too tight", found[3]) if kept < at_four - 1e-6 else found

    monkeypatch.setattr(mask_check, "judged", judged_tight_past_four)
    reason = mask_check.tighter_resolves_further(check.halves, mask, curves, measures)
    assert reason is not None and reason.verdict == "too loose"
    assert reason.measured.startswith("the mask made 4 px tighter"), reason.measured
    assert reason.remake is not None and reason.remake.extend_px == -4
    assert len(shrinks) == 4  # 8 px, 4 px, then between: 6 and 5 px, too tight


REASON_LINE_MAX = 250  # "  verdict: measured", as the summary prints it
ADVICE_MAX = 300  # the arrow line's advice


def test_every_reason_and_advice_line_of_the_verdict_cases_stays_short(halves, phantom_files):
    """The r100 look: a conflict's reason ran to 440 characters and its advice to 380 (a too-tight reason 450, a
    focused one's 820), each repeating why. Over the cases these tests build (the user's halves in small at three
    noises, tight to loose and hard spheres; the phantom's hard spheres, focused or not, and a soft mask), every
    reason line is at most `REASON_LINE_MAX` characters and every advice `ADVICE_MAX`."""
    grid = np.indices((64,) * 3) - 32
    radius2 = (grid**2).sum(axis=0)
    cases = []
    for noise in (NO_MASK_PASSES, A_MASK_PASSES, SHRINK_STOPS):
        paths, signal = halves[noise]
        level = THRESHOLD * float(signal.max())
        cases += [(paths, VOXEL, made(signal, level, start), False) for start in (TIGHT_PX, 20)]
        cases += [(paths, VOXEL, (radius2 <= r * r).astype(np.float32), r == 14) for r in (14, 22)]
    (h1, h2), signal = phantom_files
    cases += [((h1, h2), 2.0, (radius2 <= r * r).astype(np.float32), r == 8) for r in (8, 23, 26)]
    from fsc_phantoms import soft_mask

    cases.append(((h1, h2), 2.0, soft_mask(signal, 0.01, 0, 8), False))
    verdicts = set()
    for (h1, h2), voxel, mask, focused in cases:
        check = check_mask_values(h1, h2, mask, "mask.mrc", voxel, focused=focused)
        verdicts.add(check.verdict)
        for reason in check.reasons:
            line = f"  {reason.verdict}: {reason.measured}"
            assert len(line) <= REASON_LINE_MAX, line
            assert len(reason.suggestion) <= ADVICE_MAX, reason.suggestion
    assert {"too tight", "too loose", CONFLICT} <= verdicts


def test_a_hard_mask_too_tight_by_its_edge_is_advised_its_core_softened_and_shrunk_not_grown(halves):
    """The r100 look: a hard mask too tight by its edge alone (hard, 12 px past the signal here) was advised its core
    grown by 2 px with the soft edge outside it, then told to shrink 3 px, then kept: three checks. The core with the
    edge outside it is tried first and, where that reaches past the too-loose limit, its core shrunk as far as not
    too tight: made as advised, the next check keeps it."""
    paths, signal = halves[NO_MASK_PASSES]
    hard = mask_from_map(signal, MapMaskSteps(threshold=THRESHOLD * float(signal.max()), extend_px=12))
    check = checked(paths, hard)
    assert check.verdict == CONFLICT and [r.verdict for r in check.reasons] == [CONFLICT, "hard edge"]
    remake = check.reasons[0].remake
    assert remake is not None and remake.threshold == 0.99 and remake.extend_px <= 0, check.reasons[0]
    assert check.reasons[0].suggestion.startswith(("shrink the mask's core by", "keep the mask's core, with a soft"))
    steps = MapMaskSteps(threshold=remake.threshold, extend_px=remake.extend_px, soft_edge_px=remake.soft_edge_px)
    again = checked(paths, mask_from_map(hard, steps))
    assert again.reasons[0].suggestion.startswith("keep the mask's size"), again.reasons
