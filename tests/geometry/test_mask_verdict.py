"""The verdict's rules on given measures: each reason's criterion and its advice agree."""

from __future__ import annotations

import math
import re
from dataclasses import replace

import numpy as np
import pytest
from fsc_phantoms import phantom_halves, soft_mask

from maskrun.geometry.fsc import HalfMaps
from maskrun.geometry.grown_masks import GrownMasks
from maskrun.geometry.mask_verdict import (
    TIGHT_RANDOMISED_FSC,
    MaskMeasures,
    TightTest,
    judge,
    measure,
    measure_binning,
    tight_words,
    verdict_notes,
)
from maskrun.geometry.mask_verdict import too_tight as judged_too_tight

FINE = MaskMeasures(
    resolution_angstrom=10.0,
    phase_randomised_fsc_max=0.0,
    phase_randomised_fsc_max_angstrom=12.0,
    phase_randomised_fsc_at_resolution=0.0,
    masked_corrected_gap_max=0.0,
    solvent_fraction=0.8,
    density_outside_fraction=0.0,
    density_outside_reach_angstrom=0.0,
    edge_width_angstrom=25.0,
    padding_angstrom=5.0,
    hard_surface_fraction=0.0,
)


def hard_edged(resolution_angstrom: float, edge_width_angstrom: float = 0.0) -> MaskMeasures:
    """Measures of a mask that is neither too tight nor too loose, with the given edge and resolution."""
    return replace(FINE, resolution_angstrom=resolution_angstrom, edge_width_angstrom=edge_width_angstrom)


def advised_edge(measures: MaskMeasures, voxel: float) -> tuple[float, float]:
    verdict, reasons = judge(measures, voxel)
    assert verdict == "hard edge"
    found = re.match(r"widen the soft edge to (\d+) Å \(([\d.]+) px\), past that least", reasons[0].suggestion)
    assert found, reasons[0].suggestion
    return float(found[1]), float(found[2])


def test_a_low_resolution_map_is_not_advised_an_edge_of_twice_its_resolution():
    # the walkthrough's map: 35.4 Å at 3.54 Å/px was told to widen the edge to 71 Å (20.1 px)
    assert advised_edge(hard_edged(35.4), 3.54) == (22.0, 6.2)  # 6 px: the resolution counts up to 6 Å


@pytest.mark.parametrize("resolution", [6.0, 8.0, 20.0, 35.4, 100.0])
def test_past_the_cap_the_resolution_changes_neither_criterion_nor_advice(resolution):
    voxel = 1.0
    assert advised_edge(hard_edged(resolution), voxel) == (12.0, 12.0)  # 2 × 6 Å
    _, reasons = judge(hard_edged(resolution, edge_width_angstrom=6.0), voxel)
    assert reasons == []  # 6 Å is soft at any resolution


@pytest.mark.parametrize(("resolution", "voxel"), [(2.5, 0.8), (3.0, 1.0), (4.5, 1.06), (5.9, 1.5), (35.4, 3.54)])
def test_the_advised_edge_passes_the_criterion(resolution, voxel):
    width, _ = advised_edge(hard_edged(resolution), voxel)
    _, reasons = judge(hard_edged(resolution, edge_width_angstrom=width), voxel)
    assert reasons == []
    assert width == math.ceil(max(6 * voxel, 2 * min(resolution, 6.0)))  # docs/spec.md's rule


@pytest.mark.parametrize(("edge_px", "hard"), [(3.0, False), (4.0, False), (2.0, True), (1.0, True)])
def test_a_3_px_raised_cosine_edge_as_relion_mask_create_makes_it_passes_the_3_px_minimum(edge_px, hard):
    """Both outside looks: relion_mask_create's (and make-mask's) --width_soft_edge 3 measured 2.83 px, "hard edge"."""
    import numpy as np

    from maskrun.geometry.map_mask import MapMaskSteps, mask_from_map
    from maskrun.geometry.mask_verdict import _edge_width

    z, y, x = np.mgrid[:64, :64, :64] - 32
    blob = (np.sqrt(x**2 + y**2 + (z / 1.4) ** 2) < 12).astype(np.float32)
    voxel = 3.54
    mask = mask_from_map(blob, MapMaskSteps(threshold=0.5, extend_px=0, soft_edge_px=edge_px))
    width = _edge_width(mask, voxel)
    assert edge_px - 1 <= width / voxel < edge_px  # measured from the 0.99 core to the last voxel above 0.001
    _, reasons = judge(hard_edged(2 * voxel, edge_width_angstrom=width), voxel)
    assert [r.verdict for r in reasons] == (["hard edge"] if hard else [])


def too_tight(reach_angstrom: float) -> MaskMeasures:
    """Measures of a mask that leaves out 40 % of the density, reaching ``reach_angstrom`` past it."""
    return replace(
        FINE, phase_randomised_fsc_max=0.3, density_outside_fraction=0.4, density_outside_reach_angstrom=reach_angstrom
    )


def test_a_mask_cutting_into_the_particle_is_told_to_be_remade_not_extended_by_121_angstrom():
    """The verdict look: a mask cut by a plane through the density was told to 'extend the mask by 121 Å'."""
    _, reasons = judge(too_tight(121.0), 3.54)
    assert reasons[0].verdict == "too tight"
    assert reasons[0].suggestion == (
        "remake the mask from the map at a lower threshold: the density it leaves out reaches 121 Å past it "
        "(extending it by 121 Å would leave the rest of it too loose)"
    )
    _, reasons = judge(too_tight(40.0), 3.54)  # within the too-loose limit (12 px = 42.5 Å): a margin to add
    assert reasons[0].suggestion == "extend the mask by 40 Å (11.3 px)"


def soft_ellipsoid(edge_px: float, cut_above_z: int | None = None, box: int = 64):
    """relion_mask_create's kind of mask (make-mask --from-map) around an ellipsoid, cut flat above ``cut_above_z``."""
    import numpy as np

    from maskrun.geometry.map_mask import MapMaskSteps, mask_from_map

    z, y, x = np.mgrid[:box, :box, :box] - box // 2
    blob = (np.sqrt(x**2 + y**2 + (z / 1.4) ** 2) < 12).astype(np.float32)
    mask = mask_from_map(blob, MapMaskSteps(threshold=0.5, extend_px=0, soft_edge_px=edge_px))
    if cut_above_z is not None:
        mask[box // 2 + cut_above_z :] = 0  # a plane through the mask, after its edge was made
    return mask


@pytest.mark.parametrize("edge_px", [3.0, 6.0])
def test_a_soft_mask_has_no_hard_surface(edge_px):
    from maskrun.geometry.mask_verdict import hard_surface_fraction

    assert hard_surface_fraction(soft_ellipsoid(edge_px)) == 0.0


def test_a_binary_mask_is_hard_all_over_and_an_empty_one_has_no_surface():
    import numpy as np

    from maskrun.geometry.mask_verdict import hard_surface_fraction

    assert hard_surface_fraction((soft_ellipsoid(3.0) > 0.5).astype(np.float32)) == 1.0
    assert hard_surface_fraction(np.zeros((8, 8, 8), np.float32)) == 0.0


def test_a_soft_mask_cut_flat_through_its_core_is_a_hard_edge_however_soft_the_rest():
    """The verdict look: a soft mask cut by a plane kept its 'fine' (its edge width is the farthest reach)."""
    from maskrun.geometry.mask_verdict import _edge_width, hard_surface_fraction

    voxel = 1.5
    mask = soft_ellipsoid(6.0, cut_above_z=5)
    share = hard_surface_fraction(mask)
    assert 0.15 < share < 0.5  # the flat face's share of the surface (the rest stays soft)
    measures = replace(FINE, edge_width_angstrom=_edge_width(mask, voxel), hard_surface_fraction=share)
    assert measures.edge_width_angstrom / voxel > 5  # the farthest reach: the soft part's
    verdict, reasons = judge(measures, voxel)
    assert verdict == "hard edge"
    assert reasons[0].measured.startswith(f"{share:.0%} of the mask's surface drops from over 0.5 to 0")
    assert reasons[0].suggestion == (
        "give the whole surface a soft edge of 12 Å (8.0 px): soften the mask after cutting it, not before"
    )
    # a cut through the outer half of its soft edge only leaves no hard surface
    assert hard_surface_fraction(soft_ellipsoid(6.0, cut_above_z=20)) == 0.0


def test_a_mask_running_out_of_the_box_is_not_cut_there():
    """A helical mask runs through the box along z: the box's faces are not a hard edge."""
    import numpy as np

    from maskrun.geometry.mask_verdict import hard_surface_fraction

    mask = np.repeat(soft_ellipsoid(4.0, box=48)[24:25], 48, axis=0)  # one slice's disc along z: a soft cylinder
    assert hard_surface_fraction(mask) == 0.0


def test_the_tight_test_on_a_binned_grid_measures_as_measure_does():
    """A 132³ box (measured on 66³): the too-tight test's numbers and decision are `measure`'s, size by size."""
    box = 132
    assert measure_binning(box) == 2
    h1, h2, signal = phantom_halves(box, seed=3, noise=1.0)
    halves = HalfMaps(h1, h2, 1.5, reliable_maps=True, reliable_box=box // 2)
    test = TightTest(halves)
    sizes = GrownMasks(soft_mask(signal, 0.2, 0, 4.0), 4.0, binning=2)
    decided = set()
    for extend_px in (-4, 0, 8, 20, 30):
        values = sizes.values(extend_px)
        ours, full = test(values), measure(halves.with_mask(values), values)
        assert (ours.density_outside_fraction, ours.padding_angstrom) == (
            full.density_outside_fraction,
            full.padding_angstrom,
        ), extend_px
        fsc = ours.phase_randomised_fsc_max
        assert fsc == full.phase_randomised_fsc_max or (
            fsc is None and full.phase_randomised_fsc_max <= TIGHT_RANDOMISED_FSC
        )
        decided.add(judged_too_tight(ours))
        assert judged_too_tight(ours) == judged_too_tight(full), extend_px
    assert decided == {True, False}


def test_the_hard_edge_reason_and_its_advice_read_as_one():
    """The second look: "needs about 6.0 Å" then "widen the soft edge to 12 Å" read as a contradiction. The reason
    gives the least edge, the advice a wider one and why."""
    verdict, reasons = judge(hard_edged(3.0), 2.0)
    assert verdict == "hard edge"
    assert "(the least it may be is about 6.0 Å: the larger of 3 px and the resolution" in reasons[0].measured
    assert reasons[0].suggestion == (
        "widen the soft edge to 12 Å (6.0 px), past that least with room to spare: the larger of 6 px and 2 × the "
        "resolution"
    )


def test_too_tight_says_where_and_what_relion_postprocess_sees_at_the_resolution_shell():
    """A RELION user's look: 'too tight' at 0.142 while relion_postprocess, warning from the resolution shell only, is
    silent; the words now say at which resolution the limit is passed and the value at the resolution shell."""
    middle = replace(
        FINE,
        phase_randomised_fsc_max=0.142,
        phase_randomised_fsc_max_angstrom=15.25,
        phase_randomised_fsc_at_resolution=0.05,
    )
    assert tight_words(middle) == (
        "phase-randomised masked FSC up to 0.142 at 15.2 Å (limit 0.1; 0.050 at the resolution shell, the only one "
        "relion_postprocess warns from); 0.0% of the reliable density outside (limit 1%)"
    )
    at_resolution = replace(middle, phase_randomised_fsc_at_resolution=0.142, phase_randomised_fsc_max_angstrom=10.0)
    assert tight_words(at_resolution).startswith("phase-randomised masked FSC up to 0.142 at 10.0 Å (limit 0.1); 0.0%")
    reasons = judge(middle, 1.0)[1]
    assert reasons[0].verdict == "too tight" and reasons[0].measured == tight_words(middle)


def test_a_value_over_0_1_within_its_shells_noise_at_the_resolution_says_relion_warns_there():
    """A review: where a shell's limit is above 0.1 for its noise, relion_postprocess warns on a value maskrun
    passes; the words said nothing of it."""
    within = replace(
        FINE,
        phase_randomised_fsc_max=0.15,
        phase_randomised_fsc_max_angstrom=10.0,
        phase_randomised_fsc_at_resolution=0.15,
        phase_randomised_fsc_limit=0.2,
        phase_randomised_fsc_noise=1.2,
    )
    assert not judged_too_tight(within)
    assert "; 0.150 at the resolution shell: relion_postprocess warns here (above 0.1); within this shell's noise)" in (
        tight_words(within)
    )
    assert "relion_postprocess warns here" not in tight_words(FINE)


def test_the_randomised_fscs_peak_and_resolution_shell_values_are_the_curves():
    box = 64
    h1, h2, signal = phantom_halves(box, seed=3, noise=1.0)
    halves = HalfMaps(h1, h2, 1.5, reliable_maps=True, reliable_box=box)
    values = soft_mask(signal, 0.2, 0, 4.0)
    curves = halves.with_mask(values)
    m = measure(curves, values)
    first = curves.randomise_from_shell + 2
    last = max(curves.resolution_shell, first)
    peak = first + int(np.argmax(curves.phase_randomised_masked[first : last + 1]))
    assert m.phase_randomised_fsc_max == float(curves.phase_randomised_masked[peak])
    assert m.phase_randomised_fsc_max_angstrom == pytest.approx(box * 1.5 / peak)
    assert m.phase_randomised_fsc_at_resolution == float(curves.phase_randomised_masked[curves.resolution_shell])
    assert not m.resolution_before_correction


def _hard_low_passed_halves(box: int, shells: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Half-maps of a phantom cut off beyond ``shells`` in Fourier space, with faint independent noise: their FSC
    falls from 1 to 0 within a shell, as a map low-passed hard does."""
    _, _, signal = phantom_halves(box, seed=3, noise=1.0)
    k = np.fft.fftfreq(box) * box
    radius = np.sqrt(k[:, None, None] ** 2 + k[None, :, None] ** 2 + k[None, None, :] ** 2)
    cut = np.fft.ifftn(np.fft.fftn(signal) * (radius <= shells)).real.astype(np.float32)
    rng = np.random.default_rng(1)
    h1, h2 = (cut + 0.02 * cut.std() * rng.normal(0, 1, cut.shape).astype(np.float32) for _ in range(2))
    return h1, h2, signal


def test_a_resolution_shell_before_the_first_corrected_reads_its_own_value_and_says_where_the_maximum_is():
    """The verdict look: at 44 Å (the resolution shell one past the randomisation shell) the value 'at the resolution
    shell' was the next shell's, 0.175 where RELION warned of 0.428, and the note said RELION's warning was within
    that shell's noise."""
    box = 64
    h1, h2, signal = _hard_low_passed_halves(box, 7)
    halves = HalfMaps(h1, h2, 1.5, reliable_maps=True, reliable_box=box)
    values = soft_mask(signal, 0.2, 3, 6.0)
    curves = halves.with_mask(values)
    m = measure(curves, values)
    first = curves.randomise_from_shell + 2
    assert curves.resolution_shell < first  # the case
    assert m.resolution_before_correction
    assert m.phase_randomised_fsc_at_resolution == float(curves.phase_randomised_masked[curves.resolution_shell])
    assert m.phase_randomised_fsc_max == float(curves.phase_randomised_masked[first])
    assert m.phase_randomised_fsc_max_angstrom == pytest.approx(box * 1.5 / first)
    words = tight_words(m)
    assert f" at {box * 1.5 / first:.1f} Å, the first shell corrected (limit " in words
    assert (
        f"; relion_postprocess warns of {m.phase_randomised_fsc_at_resolution:.3f} at the resolution shell, before it)"
        in words
    )


def test_relions_warning_at_a_resolution_before_the_correction_is_not_called_the_shells_noise():
    before = replace(
        FINE,
        resolution_angstrom=44.25,
        phase_randomised_fsc_max=0.175,
        phase_randomised_fsc_max_angstrom=39.3,
        phase_randomised_fsc_at_resolution=0.428,
        phase_randomised_fsc_limit=0.182,
        resolution_before_correction=True,
    )
    assert not judged_too_tight(before)
    notes = verdict_notes(before)
    assert notes == [
        "relion_postprocess warns of this mask (the phase-randomised masked FSC is 0.428 at the resolution shell, "
        "44.2 Å, above its fixed 0.1): that shell comes before the first shell corrected (two past the randomisation "
        "shell), where the phase-randomised curve has not yet fallen beside the shells left unrandomised, whatever the "
        "mask; from that "
        "first shell on it is within its limit, so not too tight"
    ]
    assert "within that shell's noise" not in notes[0]
    assert "within that shell's noise" in verdict_notes(replace(before, resolution_before_correction=False))[0]


SEEDS = (0, 2, 3, 4, 5, 6)  # srand(1) is srand(0)'s sequence: 1 is not another seed


def test_a_fine_mask_is_fine_whatever_the_seed_and_a_tight_one_too_tight():
    """The models look: a standard mask (10 % of a 64³ box) was called fine, too tight or 'tight and loose conflict'
    (extend by 14 Å) by --seed: one shell's phase-randomised FSC, a few hundred voxels, against a fixed 0.1. Each
    shell's limit now stands above its noise; a truly tight mask is flagged at every seed alike."""
    from maskrun.engine.mask_advice import converging_advice
    from maskrun.engine.mask_check import judged, tighter_resolves_further

    h1, h2, signal = phantom_halves(64, noise=1.0, blob_sigma_px=2.5)
    fine, tight = soft_mask(signal, 0.05, 2, 6), soft_mask(signal, 0.2, 0, 2)
    assert 0.08 < fine.mean() < 0.12
    over_fixed_limit = 0
    for seed in SEEDS:
        halves = HalfMaps(h1, h2, 1.5, seed=seed, reliable_maps=True)
        curves, measures, verdict, reasons = judged(halves, fine)
        verdict, reasons = converging_advice(halves, fine, measures, reasons)
        assert verdict == "fine", (seed, reasons)
        assert tighter_resolves_further(halves, fine, curves, measures) is None, seed
        first = curves.randomise_from_shell + 2
        over_fixed_limit += curves.phase_randomised_masked[first : max(curves.resolution_shell, first) + 1].max() > 0.1
        _, tight_measures, tight_verdict, _ = judged(halves, tight)
        assert tight_verdict == "too tight", seed
        assert tight_measures.phase_randomised_fsc_max > 2 * tight_measures.phase_randomised_fsc_limit, seed
    assert over_fixed_limit >= 2  # RELION's 0.1 over every shell flags the fine mask at some seeds


def test_the_whole_check_calls_a_fine_mask_fine_whatever_the_seed(tmp_path):
    """The models look, after the limit above the noise: a standard mask (molmap 6 Å, extended 3 px, 6 px edge) was
    called "too loose" at three seeds of six: tried 2 px tighter, its corrected FSC, running near 0.143 over several
    shells, crossed 2 to 5 shells further by the seed. The gain now holds only with the tighter mask's FSC above
    0.143 by twice the noise where the given mask stops; a mask that costs many shells is still too loose."""
    from maskrun.engine.mask_check import check_mask_values

    from conftest import write_mrc

    h1, h2, signal = phantom_halves(64, noise=1.5, blob_sigma_px=3.0)
    paths = [write_mrc(tmp_path / f"h{i}.mrc", half, voxel_size=2.0) for i, half in ((1, h1), (2, h2))]
    fine, tight = soft_mask(signal, 0.05, 2, 8), soft_mask(signal, 0.4, 0, 0)
    for seed in SEEDS:
        check = check_mask_values(*paths, fine, "fine.mrc", 2.0, seed=seed)
        assert check.verdict == "fine", (seed, check.reasons)
        assert check_mask_values(*paths, tight, "tight.mrc", 2.0, seed=seed).verdict == "too tight", seed
    wide = check_mask_values(*paths, soft_mask(signal, 0.05, 4, 8), "wide.mrc", 2.0)
    assert wide.verdict == "too loose"
    assert "at 6.74 Å its corrected FSC is 0.143 + 0.0" in wide.reasons[0].measured


def test_the_limit_is_three_times_the_shells_noise_with_the_mask():
    """Independent voxels: a real map's Friedel pairs count once; the mask's spread widens the noise."""
    from maskrun.geometry.fsc import _Shells
    from maskrun.geometry.mask_verdict import noise_spread, randomised_fsc_limits

    box = 64
    k = np.fft.fftfreq(box, 1 / box)
    radius = np.sqrt(k[:, None, None] ** 2 + k[None, :, None] ** 2 + k**2)
    full = np.bincount(np.floor(radius + 0.5).astype(int).ravel())
    independent = _Shells((box,) * 3).independent
    np.testing.assert_allclose(independent, full[: box // 2 + 1] / 2)
    assert independent[7] == 301  # a shell just past a 24 Å randomisation shell at 1.5 Å/px: 0.1 is 1.7 / √301
    assert noise_spread(np.ones((box,) * 3, np.float32)) == 1.0  # no mask: 1/√(2n) per part, counted as 1/√n
    ball = (np.sum(np.square(np.indices((box,) * 3) - box / 2), axis=0) < 12**2).astype(np.float32)
    assert noise_spread(ball) == pytest.approx(math.sqrt(box**2 * (np.square(ball.sum(0)).sum()) / ball.sum() ** 2 / 2))
    limits = randomised_fsc_limits(independent, 1.5)
    assert limits[7] == pytest.approx(3 * 1.5 / math.sqrt(301))
    assert limits[-1] == 0.1  # many voxels: RELION's 0.1


def two_domains(tmp_path):
    """Half-maps of a particle of two domains (three blobs each, 24 px apart along x), as files, and the masks of
    the first domain: focused (its density, extended 2 px, 6 px edge), cutting into it, and of the whole."""
    from conftest import write_mrc

    centres = [(0.0, dy, side * 12 + dx) for side in (-1, 1) for dx, dy in ((0, 0), (2, 4), (-2, -4))]
    h1, h2, signal = phantom_halves(64, noise=1.0, blob_sigma_px=3.0, centres=centres)
    paths = [write_mrc(tmp_path / f"h{i}.mrc", half, voxel_size=1.5) for i, half in ((1, h1), (2, h2))]
    first = np.where(np.arange(64)[None, None, :] < 32, signal, 0)
    masks = {
        "focused": soft_mask(first, 0.05, 2, 6),
        "cutting": soft_mask(first, 0.4, 0, 2),
        "whole": soft_mask(signal, 0.05, 2, 6),
    }
    return paths, masks


def test_a_mask_leaving_a_domain_out_counts_it_and_says_how_to_check_a_focused_mask(tmp_path):
    """A mask leaving the other domain out cannot be told from a mask missing part of the particle: by default the
    density left out counts (too tight, as it always was), and one line says it lies in a part reaching far past the
    mask and how to check a focused mask as one (--focused)."""
    from maskrun.engine.mask_check import check_json, check_mask_values, check_summary

    paths, masks = two_domains(tmp_path)
    check = check_mask_values(*paths, masks["focused"], "focused.mrc", 1.5)
    m = check.measures
    assert check.verdict != "fine" and not m.focused
    assert m.density_outside_fraction > 0.45 and m.density_outside_fraction == pytest.approx(
        m.density_left_out_fraction, abs=0.02
    )
    assert m.density_left_out_parts == 1
    x, y, z = m.density_left_out_centre_px  # the second domain's centre: x 32 + 12, y and z 32
    note = check_json(check)["notes"][0]
    assert note == (
        f"the density left out lies in 1 part ({m.density_left_out_fraction:.1%} of the reliable density) reaching "
        f"{m.density_left_out_reach_angstrom:.0f} Å past the mask (centred near voxel x {x}, y {y}, z {z}): if the "
        "mask is of part of the particle (a focused mask), check it as a focused mask"
    )
    summary = check_summary(check, how_focused="run check-mask with --focused")
    assert summary.endswith(f"  note: {note.replace('check it as a focused mask', 'run check-mask with --focused')}")
    assert "(not counted)" not in summary


def test_a_focused_mask_leaves_the_other_domain_out_by_design_and_is_not_told_to_grow_over_it(tmp_path):
    """The models look: a mask of one chain was told 'tight and loose conflict: 46.2% of the reliable density
    outside … extend the mask by 36 Å': the density left out was the other chain. Checked as a focused mask, a part
    of the density reaching past half the randomisation resolution from the mask is left out by design: not counted,
    and said."""
    from maskrun.engine.mask_check import check_json, check_mask_values, check_summary

    paths, masks = two_domains(tmp_path)
    for seed in SEEDS:
        check = check_mask_values(*paths, masks["focused"], "focused.mrc", 1.5, seed=seed, focused=True)
        assert check.verdict == "fine", (seed, check.reasons)
        m = check.measures
        assert m.focused and m.density_outside_fraction == 0.0 and 0.45 < m.density_left_out_fraction < 0.55, seed
        assert m.density_left_out_reach_angstrom > 0.5 * check.curves.randomise_from_angstrom
        assert m.density_left_out_parts == 1
        x, y, z = m.density_left_out_centre_px  # the second domain's centre: x 32 + 12, y and z 32
        assert abs(x - 44) <= 2 and abs(y - 32) <= 2 and abs(z - 32) <= 2, m.density_left_out_centre_px
    summary = check_summary(check)
    share = f"{m.density_left_out_fraction:.1%}"
    assert f"the mask leaves out {share} of the reliable density, in 1 part reaching" in summary
    assert "extend" not in summary
    note = check_json(check)["notes"][0]
    assert note in summary and "left out by design" in note and "not counted, not grown over" in note
    whole = check_mask_values(*paths, masks["whole"], "whole.mrc", 1.5)
    assert (whole.verdict, whole.measures.density_left_out_fraction, check_json(whole)["notes"]) == ("fine", 0.0, [])


def test_a_focused_mask_cutting_into_its_domain_is_still_too_tight_and_told_to_grow_a_margin(tmp_path):
    """The layer a too-tight mask leaves (a few Å, within half the randomisation resolution) still counts for a
    focused mask, and the advice grows the mask within a margin, its 0.5 contour with the advised edge outside it
    (seed 0 needs more: told to grow no further), not over the other domain."""
    from maskrun.engine.mask_check import check_mask_values

    paths, masks = two_domains(tmp_path)
    for seed in (0, 3):
        check = check_mask_values(*paths, masks["cutting"], "cutting.mrc", 1.5, seed=seed, focused=True)
        assert check.verdict == "too tight", seed
        assert check.measures.density_outside_fraction > 0.3
        assert check.measures.density_outside_reach_angstrom < 0.5 * check.curves.randomise_from_angstrom
        reason, reach = check.reasons[0], 0.5 * check.curves.randomise_from_angstrom
        if reason.remake is None:
            assert reason.suggestion.startswith("grow it no further, over the density it leaves out by design"), seed
            continue
        assert (reason.remake.extend_px + reason.remake.soft_edge_px / 2) * 1.5 <= reach, reason.suggestion


def test_the_tight_test_leaves_the_parts_out_as_measure_does(tmp_path):
    """The sizes tried of a mask: `TightTest`'s numbers are `measure`'s, parts counted by default and left out for a
    focused mask alike, each size's own parts (as the check of that size finds them)."""
    import mrcfile

    from maskrun.geometry.mask_verdict import too_tight

    paths, masks = two_domains(tmp_path)
    h1, h2 = (np.asarray(mrcfile.read(path), dtype=np.float32) for path in paths)
    halves = HalfMaps(h1, h2, 1.5, reliable_maps=True)
    tests = {focused: TightTest(halves, focused) for focused in (False, True)}
    sizes = GrownMasks(masks["focused"], 6.0)
    near = []
    for extend_px in (-2, 0, 4, 8, 16):
        values = sizes.values(extend_px)
        for focused, test in tests.items():
            ours, full = test(values), measure(halves.with_mask(values), values, focused)
            assert (ours.density_outside_fraction, ours.padding_angstrom) == (
                full.density_outside_fraction,
                full.padding_angstrom,
            ), (extend_px, focused)
            assert too_tight(ours) == judged_too_tight(full), (extend_px, focused)
            if focused:
                near.append(full.density_outside_fraction > 0.01)
            else:
                assert full.density_outside_fraction > 0.01, extend_px  # the other domain counts
    assert near == [False] * 4 + [True]  # grown 16 px (24 Å), what is left of the other domain lies within 8 Å


def test_the_advice_grows_a_focused_mask_no_further_than_a_margin(tmp_path, monkeypatch):
    """A focused mask too tight at every size tried is not told to grow over what it leaves out: the sizes stop at
    half the randomisation resolution, and the advice says why and what else to do."""
    from maskrun.engine import mask_advice
    from maskrun.engine.mask_check import check_mask_values, judged

    paths, masks = two_domains(tmp_path)
    check = check_mask_values(*paths, masks["focused"], "focused.mrc", 1.5, focused=True)
    tried = []

    def always_tight(test, sizes, extend_px):
        tried.append(extend_px)
        return mask_advice.Tried(extend_px, True, mask_advice.TightMeasures(0.5, 0.0, 5.0, 0.3))

    monkeypatch.setattr(mask_advice, "tried_size", always_tight)
    curves, measures, _, _ = judged(check.halves, masks["focused"], focused=True)
    forced = replace(measures, phase_randomised_fsc_max=0.5, phase_randomised_fsc_limit=0.3)
    _, reasons = judge(forced, 1.5)
    verdict, reasons = mask_advice.converging_advice(check.halves, masks["focused"], forced, reasons)
    most = math.floor(0.5 * curves.randomise_from_angstrom / 1.5)
    assert verdict == "too tight" and max(tried) == most, tried
    assert f"grown by {most} px" in reasons[0].measured
    assert reasons[0].suggestion.startswith("grow it no further, over the density it leaves out by design")
    assert reasons[0].remake is None


def test_a_mask_relion_postprocess_warns_of_but_not_too_tight_says_why_in_a_note(tmp_path):
    """Where the phase-randomised FSC at the resolution shell is above RELION's 0.1 but within that shell's noise,
    the verdict is not too tight and said nothing of it: a user then meeting relion_postprocess's warning on the same
    mask was left to wonder. A note says so, in the summary and the JSON."""
    from maskrun.engine.mask_check import check_json, check_mask_values, check_summary

    within = replace(
        FINE,
        phase_randomised_fsc_max=0.15,
        phase_randomised_fsc_max_angstrom=10.0,
        phase_randomised_fsc_at_resolution=0.15,
        phase_randomised_fsc_limit=0.2,
        phase_randomised_fsc_noise=1.2,
    )
    note = (
        "relion_postprocess warns of this mask (the phase-randomised masked FSC is 0.150 at the resolution shell, "
        "above its fixed 0.1); within that shell's noise here (limit 0.200, 3 × noise 1.20/√324), so not too tight"
    )
    assert judge(within, 1.5)[0] == "fine" and verdict_notes(within) == [note]
    assert verdict_notes(FINE) == [] and verdict_notes(replace(within, density_outside_fraction=0.5)) == []
    paths, masks = two_domains(tmp_path)
    check = check_mask_values(*paths, masks["whole"], "whole.mrc", 1.5)
    told = replace(check, measures=within)
    assert check_json(told)["notes"] == [note] and check_summary(told).endswith(f"  note: {note}")
