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
    return np.array(words, dtype=np.int64) & 0xFFFFFFFF


@lru_cache(maxsize=2)
def _block_matrix(length: int) -> np.ndarray:
    """Row b: the coefficients (mod 2³²) of the block's word b over the 31 words before the block."""
    rows = np.zeros((DEGREE + length, DEGREE), dtype=np.int64)
    rows[:DEGREE] = np.eye(DEGREE, dtype=np.int64)
    for b in range(DEGREE, DEGREE + length):
        rows[b] = (rows[b - DEGREE] + rows[b - SEPARATION]) & 0xFFFFFFFF
    return rows[DEGREE:]


def _halves(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The low and high 16 bits of uint32 values, as float64."""
    return (values & 0xFFFF).astype(np.float64), (values >> 16).astype(np.float64)


@lru_cache(maxsize=2)
def _block_halves(length: int) -> tuple[np.ndarray, np.ndarray]:
    low, high = _halves(_block_matrix(length))
    return np.ascontiguousarray(low.T), np.ascontiguousarray(high.T)


def _times_mod_word(states: np.ndarray, matrix_halves: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """``states @ matrix`` mod 2³² for int64 states of uint32 values, exactly, with float64 BLAS.

    Each factor splits into 16-bit halves; a product of halves is below 2³², a sum of 31 of
    them below 2³⁷: exact in float64; the rest is integer arithmetic.
    """
    s_lo, s_hi = _halves(states)
    m_lo, m_hi = matrix_halves
    mixed: np.ndarray = s_lo @ m_hi
    mixed += s_hi @ m_lo
    total: np.ndarray = mixed.astype(np.int64)
    total &= 0xFFFF
    total <<= 16
    total += (s_lo @ m_lo).astype(np.int64)
    total &= 0xFFFFFFFF
    return total


def c_rand(seed: int, count: int) -> np.ndarray:
    """The first ``count`` values of ``rand()`` after ``srand(seed)`` (int64, 0 to ``RAND_MAX``)."""
    first = np.empty(FIRST_OUTPUT, dtype=np.int64)
    first[:DEGREE] = _seed_words(seed)
    first[DEGREE : DEGREE + SEPARATION] = first[:SEPARATION]
    for i in range(DEGREE + SEPARATION, FIRST_OUTPUT):
        first[i] = (first[i - DEGREE] + first[i - SEPARATION]) & 0xFFFFFFFF
    block = _block_halves(BLOCK)
    jump = _block_matrix(BLOCK)[-DEGREE:].T
    jump_lo, jump_hi = jump & 0xFFFF, jump >> 16
    blocks = max(-(-count // BLOCK), 1)
    # the 31 words before each block, one block after another (a small product per block) ...
    states = np.empty((blocks, DEGREE), dtype=np.int64)
    states[0] = first[-DEGREE:]
    for b in range(1, blocks):  # integer products of 16-bit halves: below 2³⁷ summed, exact in int64
        low, high = states[b - 1] & 0xFFFF, states[b - 1] >> 16
        states[b] = ((((low @ jump_hi + high @ jump_lo) & 0xFFFF) << 16) + low @ jump_lo) & 0xFFFFFFFF
    # ... then every block's words at once, a few blocks at a time to bound the memory
    out = np.empty(blocks * BLOCK, dtype=np.int64)
    step = 16
    for b in range(0, blocks, step):
        words = _times_mod_word(states[b : b + step], block)
        words >>= 1
        out[b * BLOCK : (b + step) * BLOCK] = words.ravel()
    return out[:count]


def relion_uniform(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """RELION's ``rnd_unif(low, high)`` of ``rand()`` values, in its float32 arithmetic."""
    step = np.float32(np.float32(RAND_MAX) / (np.float32(high) - np.float32(low)))
    return np.float32(low) + values.astype(np.float32) / step
