"""The GNU C library's ``rand()`` sequence after ``srand(seed)``, drawn in bulk.

``relion_postprocess`` draws its random phases with ``rand()`` after ``srand(0)``; drawing the
same numbers makes maskrun's phase-randomised FSC RELION's, not merely alike. glibc's
generator (``TYPE_3``) is ``r[i] = r[i-3] + r[i-31]`` (mod 2³²) from ``i = 34``, over
``r[0..30]`` seeded by a Lehmer generator and ``r[31..33] = r[0..2]``; outputs are ``r[i] >> 1`` from
``i = 344``. The recurrence is linear, so the state a run of outputs later is a fixed
integer matrix times the state before: `c_rand` jumps to the start of many runs, then
advances them all together, a vector addition per step in place of a Python loop per number.
"""

from __future__ import annotations

import numpy as np

DEGREE = 31
SEPARATION = 3
FIRST_OUTPUT = 344  # r[0..30] seeded, r[31..33] copied, then srand runs the generator 310 times
RAND_MAX = 2147483647
STREAMS = 1024  # runs advanced together: few jumps, and vector additions long enough to pay
BLOCK = 64  # output positions per copy out of the window
JUMPS = 32  # runs started one by one; then a block of this many at a time


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


def _jump_matrix(steps: int) -> np.ndarray:
    """``state @ M`` (mod 2³²) is the state ``steps`` outputs later; a state is the last 31 words.

    One step shifts the state by a word and appends ``state[0] + state[28]``; ``steps`` of
    them are that matrix's power, by repeated squaring.
    """
    step = np.zeros((DEGREE, DEGREE), dtype=np.int64)
    step[np.arange(1, DEGREE), np.arange(DEGREE - 1)] = 1
    step[[0, DEGREE - SEPARATION], DEGREE - 1] = 1
    jump = np.eye(DEGREE, dtype=np.int64)
    while steps:
        if steps & 1:
            jump = _times_mod_word(jump, step)
        step = _times_mod_word(step, step)
        steps >>= 1
    return jump


def _times_mod_word(state: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """``state @ matrix`` mod 2³² for uint32 values held in int64, exactly.

    Each factor splits into 16-bit halves: a product of halves is below 2³², a sum of 31 of
    them below 2³⁷, well inside int64.
    """
    low, high = state & 0xFFFF, state >> 16
    m_low, m_high = matrix & 0xFFFF, matrix >> 16
    mixed = (low @ m_high + high @ m_low) & 0xFFFF
    result: np.ndarray = ((mixed << 16) + low @ m_low) & 0xFFFFFFFF
    return result


def c_rand(seed: int, count: int) -> np.ndarray:
    """The first ``count`` values of ``rand()`` after ``srand(seed)`` (uint32, 0 to ``RAND_MAX``).

    The sequence is cut into up to `STREAMS` runs of ``length`` outputs; each run's starting
    state comes from one before by a jump (a product with a 31 × 31 matrix), then the recurrence
    advances every run at once, three output positions per vector addition (uint32
    arithmetic wraps mod 2³² by itself). The last 31 positions live in a small window, and
    each `BLOCK` of new positions is copied out to the runs' rows, so the words come out in
    order without a transpose of the whole table.
    """
    first = np.empty(FIRST_OUTPUT, dtype=np.int64)
    first[:DEGREE] = _seed_words(seed)
    first[DEGREE : DEGREE + SEPARATION] = first[:SEPARATION]
    for i in range(DEGREE + SEPARATION, FIRST_OUTPUT):
        first[i] = (first[i - DEGREE] + first[i - SEPARATION]) & 0xFFFFFFFF
    length = max(DEGREE, -(-max(count, 1) // STREAMS))
    streams = -(-count // length) or 1
    states = np.empty((streams, DEGREE), dtype=np.int64)
    states[0] = first[-DEGREE:]
    jump = _jump_matrix(length)
    for k in range(1, min(streams, JUMPS)):
        states[k] = _times_mod_word(states[k - 1], jump)
    jump = _jump_matrix(length * JUMPS)
    for k in range(JUMPS, streams, JUMPS):  # then a block of runs at a time
        previous = states[k - JUMPS : k][: streams - k]
        states[k : k + previous.shape[0]] = _times_mod_word(previous, jump)
    words = np.empty((streams, length), dtype=np.uint32)
    window = np.empty((DEGREE + BLOCK, streams), dtype=np.uint32)
    window[:DEGREE] = states.T
    for done in range(0, length, BLOCK):
        block = min(BLOCK, length - done)
        for t in range(DEGREE, DEGREE + block, SEPARATION):
            end = min(t + SEPARATION, DEGREE + block)  # r[t] needs r[t - 3]: three positions at a time
            np.add(window[t - DEGREE : end - DEGREE], window[t - SEPARATION : end - SEPARATION], out=window[t:end])
        np.right_shift(window[DEGREE : DEGREE + block].T, 1, out=words[:, done : done + block])
        window[:DEGREE] = window[block : block + DEGREE]
    flat: np.ndarray = words.reshape(-1)[:count]
    return flat


def relion_uniform(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """RELION's ``rnd_unif(low, high)`` of ``rand()`` values, in its float32 arithmetic."""
    step = np.float32(np.float32(RAND_MAX) / (np.float32(high) - np.float32(low)))
    uniform = values.astype(np.float32)
    uniform /= step
    uniform += np.float32(low)
    return uniform
