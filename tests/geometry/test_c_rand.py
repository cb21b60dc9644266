"""maskrun's bulk rand() is the C library's: the numbers RELION draws its random phases from."""

from __future__ import annotations

import ctypes
import ctypes.util
import platform

import numpy as np
import pytest

from maskrun.geometry.c_rand import RAND_MAX, c_rand, relion_uniform

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"


@pytest.mark.skipif(not GLIBC, reason="the reference is glibc's rand()")
@pytest.mark.parametrize("seed", [0, 1, 7, 123456789, 2**31 + 5])
def test_c_rand_is_glibc_rand(seed):
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.srand(ctypes.c_uint(seed))
    count = 40_000  # more than two of c_rand's blocks
    expected = np.array([libc.rand() for _ in range(count)])
    np.testing.assert_array_equal(c_rand(seed, count), expected)


def test_c_rand_is_a_prefix_and_in_range():
    long = c_rand(0, 50_000)
    np.testing.assert_array_equal(c_rand(0, 123), long[:123])
    assert long.min() >= 0 and long.max() <= RAND_MAX
    assert abs(long.mean() / RAND_MAX - 0.5) < 0.01  # uniform: the mean of 50 000 draws within 1 %
    assert not np.array_equal(c_rand(1, 100), c_rand(2, 100))


def test_relion_uniform_spans_the_interval_in_float32():
    values = relion_uniform(np.array([0, RAND_MAX // 2, RAND_MAX]), 0.0, 2 * np.pi)
    assert values.dtype == np.float32
    assert values[0] == 0.0
    assert values[1] == pytest.approx(np.pi, rel=1e-6)
    assert values[2] == pytest.approx(2 * np.pi, rel=1e-6)
