"""The GNU C library's ``rand()`` sequence after ``srand(seed)``, drawn in bulk.

``relion_postprocess`` draws its random phases with ``rand()`` after ``srand(0)``; drawing the
same numbers makes maskrun's phase-randomised FSC RELION's, not merely alike. glibc's
generator (``TYPE_3``) is ``r[i] = r[i-3] + r[i-31]`` (mod 2³²) from ``i = 34``, over ``r[0..30]`` seeded by a
Lehmer generator and ``r[31..33] = r[0..2]``; outputs are ``r[i] >> 1`` from ``i = 344``. The recurrence is linear, so a
block of outputs is a fixed integer matrix times the 31 words before it: one matrix product
per block, in place of a Python loop per number.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

DEGREE = 31
SEPARATION = 3
FIRST_OUTPUT = 344  # r[0..30] seeded, r[31..33] copied, then srand runs the generator 310 times
BLOCK = 16384
RAND_MAX = 2147483647
WORD = np.uint64(0xFFFFFFFF)


def _seed_words(seed: int) -> np.ndarray:
    word = seed & 0xFFFFFFFF or 1  # glibc: a seed of 0 acts as 1
    word = word - (1 << 32) if word >= 1 << 31 else word
    words = [word]
    for _ in range(1, DEGREE):
        hi, lo = int(word / 127773), word - int(word / 127773) * 127773  # C division truncates
        word = 16807 * lo - 2836 * hi
        if word < 0:
            word += RAND_MAX
        words.append(word)
    return np.array(words, dtype=np.int64).astype(np.uint64) & WORD


@lru_cache(maxsize=2)
def _block_matrix(length: int) -> np.ndarray:
    """Row b: the coefficients of the block's word b over the 31 words before the block."""
    rows = np.zeros((DEGREE + length, DEGREE), dtype=np.uint64)
    rows[:DEGREE] = np.eye(DEGREE, dtype=np.uint64)
    for b in range(DEGREE, DEGREE + length):
        rows[b] = rows[b - DEGREE] + rows[b - SEPARATION]  # uint64 wraps: the low 32 bits stay exact
    return rows[DEGREE:]


def c_rand(seed: int, count: int) -> np.ndarray:
    """The first ``count`` values of ``rand()`` after ``srand(seed)`` (int64, 0 to ``RAND_MAX``)."""
    state = _seed_words(seed)
    words = np.empty(FIRST_OUTPUT + count, dtype=np.uint64)
    words[:DEGREE] = state
    words[DEGREE : DEGREE + SEPARATION] = state[:SEPARATION]
    done = DEGREE + SEPARATION
    while done < words.size:
        length = min(BLOCK, words.size - done)
        matrix = _block_matrix(BLOCK)[:length]
        words[done : done + length] = (matrix @ words[done - DEGREE : done]) & WORD
        done += length
    return (words[FIRST_OUTPUT:] >> np.uint64(1)).astype(np.int64)


def relion_uniform(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """RELION's ``rnd_unif(low, high)`` of ``rand()`` values, in its float32 arithmetic."""
    step = np.float32(np.float32(RAND_MAX) / (np.float32(high) - np.float32(low)))
    return np.float32(low) + values.astype(np.float32) / step
