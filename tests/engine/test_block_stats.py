"""Header statistics within the documented bound (maskrun/block_stats.py) for any data and summation order."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maskrun.io.header_stats import RunningStats

BOUND = 1e-6


def _assert_within_bound(stats: RunningStats, values: np.ndarray) -> None:
    exact = values.astype(np.float64).reshape(-1)
    low, high, mean, rms = (float(np.float32(v)) for v in stats.header_values())  # as the header holds them
    assert (low, high) == (exact.min(), exact.max())
    true_mean, true_rms = exact.mean(), exact.std()
    assert abs(mean - true_mean) <= BOUND * np.hypot(true_mean, true_rms)
    assert abs(rms - true_rms) <= BOUND * true_rms


def _stats(*blocks: np.ndarray) -> RunningStats:
    stats = RunningStats()
    for block in blocks:
        stats.add(np.ascontiguousarray(block, dtype=np.float32))
    return stats


ADVERSARIAL = {
    "large mean, small spread": lambda rng: rng.normal(1e4, 1.0, 300_000),
    "mean a few times the spread": lambda rng: rng.normal(5.0, 2.0, 262_144),
    "integer-valued": lambda rng: rng.integers(-3, 30_000, 262_144).astype(np.float64),
    "int16 map": lambda rng: np.round(rng.normal(5.0, 2.0, 262_144)),
    "constant": lambda rng: np.full(262_144, 1234.5),
    "two values one ulp apart": lambda rng: (
        1e4 + np.float32(1e4).__float__() * 0 + rng.integers(0, 2, 262_144) * float(np.spacing(np.float32(1e4)))
    ),
    "near float32's largest": lambda rng: rng.uniform(-3.4e38, 3.4e38, 100_000),
    "near float32's smallest normal": lambda rng: rng.normal(0, 1e-37, 100_000),
    "a spike among zeros": lambda rng: np.where(np.arange(262_144) == 77, 1e6, 0.0),
    "sorted ramp": lambda rng: np.linspace(1e3, 1e3 + 1, 262_144),
}


@pytest.mark.parametrize("case", ADVERSARIAL)
def test_statistics_within_bound_on_adversarial_data(case):
    values = ADVERSARIAL[case](np.random.default_rng(3)).astype(np.float32)
    _assert_within_bound(_stats(values), values)


@pytest.mark.parametrize("case", ["large mean, small spread", "mean a few times the spread", "integer-valued"])
def test_blocks_of_very_different_sizes_merged_together(case):
    values = ADVERSARIAL[case](np.random.default_rng(4)).astype(np.float32)
    cuts = [0, 1, 8, 20, 4_096, 4_113, 200_000, values.size]
    blocks = [values[a:b] for a, b in zip(cuts, cuts[1:])]
    _assert_within_bound(_stats(*blocks), values)
    merged = RunningStats()
    for block in reversed(blocks):
        merged.merge(_stats(block))
    _assert_within_bound(merged, values)


def test_constant_images_have_zero_rms_and_their_exact_mean():
    stats = _stats(np.full((3, 64, 64), 7.25))
    assert stats.header_values() == (7.25, 7.25, 7.25, 0.0)


@settings(max_examples=60, deadline=None)
@given(
    size=st.integers(1, 70_000),
    loc=st.sampled_from([0.0, 1.0, -3.0, 1e2, 1e4, 1e6]),
    scale=st.sampled_from([1e-3, 1.0, 1e3]),
    seed=st.integers(0, 2**32 - 1),
    blocks=st.integers(1, 5),
    integers=st.booleans(),
)
def test_statistics_match_float64_in_any_order(size, loc, scale, seed, blocks, integers):
    """Shuffling changes which values share a float32 partial sum and the order of every sum."""
    rng = np.random.default_rng(seed)
    values = rng.normal(loc, scale, size)
    values = (np.round(values) if integers else values).astype(np.float32)
    _assert_within_bound(_stats(*np.array_split(values, blocks)), values)
    shuffled = rng.permutation(values)
    _assert_within_bound(_stats(*np.array_split(shuffled, blocks)), values)
