"""The verdict's rules on given measures: each reason's criterion and its advice agree."""

from __future__ import annotations

import math
import re

import pytest

from maskrun.geometry.mask_verdict import MaskMeasures, judge


def hard_edged(resolution_angstrom: float, edge_width_angstrom: float = 0.0) -> MaskMeasures:
    """Measures of a mask that is neither too tight nor too loose, with the given edge and resolution."""
    return MaskMeasures(
        resolution_angstrom=resolution_angstrom,
        phase_randomised_fsc_max=0.0,
        masked_corrected_gap_max=0.0,
        solvent_fraction=0.8,
        density_outside_fraction=0.0,
        density_outside_reach_angstrom=0.0,
        edge_width_angstrom=edge_width_angstrom,
        padding_angstrom=5.0,
    )


def advised_edge(measures: MaskMeasures, voxel: float) -> tuple[float, float]:
    verdict, reasons = judge(measures, voxel)
    assert verdict == "hard edge"
    found = re.fullmatch(r"widen the soft edge to (\d+) Å \(([\d.]+) px\)", reasons[0].suggestion)
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
