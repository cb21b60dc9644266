"""Header statistics (min, max, mean, rms) accumulated block by block as data are produced.

Accuracy, whatever the CPU, BLAS build or summation order: for the float32 values written,
``rms`` (the standard deviation) is within 1e-6 relative of the exact value, and ``dmean``
within 1e-6 × sqrt(dmean² + rms²) of the exact mean (1e-6 relative unless the mean is
small against the spread); ``dmin`` and ``dmax`` are exact. Non-finite values (NaN, ±inf)
are left out of all four and counted (`RunningStats.nonfinite`).

How, at the speed of a file copy: a block's sums are taken in float32 over chunks of only
``CHUNK`` values (the column sums of a ``(CHUNK, n / CHUNK)`` view), so that
whatever order the CPU adds a chunk in, its rounding error is at most γ_CHUNK times the sum
of magnitudes; the chunk sums are then added in float64. From those sums the block's own
error bound is computed (see ``_deviation_error``): when the mean is large against the
spread, E[x²] − mean² cancels and the bound fails, so the block is summed again about a
float32 centre near its mean; if even that bound fails, the block is summed in float64.
Blocks are combined in float64 with Chan's pairwise update of mean and squared deviations.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

NOTED_ROWS = 5

CHUNK = 16
"""Values per float32 partial sum; the error bounds below scale with it."""

_U32 = float(np.finfo(np.float32).eps) / 2  # unit roundoff of float32


def _gamma(k: int) -> float:
    """Higham's γ_k = k·u / (1 − k·u): the bound on a k-operation float32 sum's relative error."""
    return k * _U32 / (1 - k * _U32)


VARIANCE_TOLERANCE = 1.8e-6
"""A block's variance bound relative to its variance: 9e-7 for the rms (under 1e-6 after float32 rounding)."""


class RunningStats:
    """min, max, mean and standard deviation of all values added so far."""

    # A run keeps one a buffer (a forked worker's come back at the end, to be combined in
    # row order): no __dict__.
    __slots__ = (
        "count",
        "maximum",
        "mean",
        "minimum",
        "nonfinite",
        "nonfinite_rows",
        "replaced_nonfinite",
        "squared_deviations",
    )

    def __init__(self) -> None:
        self.count = 0
        self.minimum = np.inf
        self.maximum = -np.inf
        self.mean = 0.0
        self.squared_deviations = 0.0
        self.nonfinite = 0
        self.replaced_nonfinite = 0  # non-finite input values the fill replaced (not among the values added)
        self.nonfinite_rows: list[int] = []  # for messages: the first few rows that held any, by the caller's count

    def add(self, block: np.ndarray) -> int:
        """Fold in the finite values of a float32 block (any shape, C-contiguous).

        Returns
        -------
        int
            How many values of the block were not finite (left out).
        """
        if block.size == 0:
            return 0
        flat = block.reshape(-1)
        low, high = float(np.minimum.reduce(flat)), float(np.maximum.reduce(flat))
        skipped = 0
        if not (math.isfinite(low) and math.isfinite(high)):  # NaN propagates into both: one test finds any
            finite = flat[np.isfinite(flat)]
            skipped = flat.size - finite.size
            self.nonfinite += skipped
            if finite.size == 0:
                return int(skipped)
            flat = finite
            low, high = float(np.minimum.reduce(flat)), float(np.maximum.reduce(flat))
        self.minimum, self.maximum = min(self.minimum, low), max(self.maximum, high)
        mean, deviations = _mean_and_deviations(flat)
        self._combine(flat.size, mean, deviations)
        return skipped

    def merge(self, other: RunningStats) -> None:
        """Fold in the values another accumulator has seen."""
        self.nonfinite += other.nonfinite
        self.replaced_nonfinite += other.replaced_nonfinite
        self.nonfinite_rows = (self.nonfinite_rows + other.nonfinite_rows)[:NOTED_ROWS]
        if other.count:
            self.minimum, self.maximum = min(self.minimum, other.minimum), max(self.maximum, other.maximum)
            self._combine(other.count, other.mean, other.squared_deviations)

    def note_rows(self, rows: list[int]) -> None:
        """Remember rows that held non-finite values (the first `NOTED_ROWS`), for a message."""
        self.nonfinite_rows = (self.nonfinite_rows + rows)[:NOTED_ROWS]

    def _combine(self, n: int, mean: float, deviations: float) -> None:
        total = self.count + n
        delta = mean - self.mean
        self.mean += delta * n / total
        self.squared_deviations += deviations + delta * delta * self.count * n / total
        self.count = total

    def header_values(self) -> tuple[float, float, float, float]:
        """``(dmin, dmax, dmean, rms)`` as MRC2014 defines them (rms: the standard deviation)."""
        if self.count == 0:
            return 0.0, 0.0, 0.0, 0.0
        variance = max(self.squared_deviations / self.count, 0.0)
        return self.minimum, self.maximum, self.mean, float(np.sqrt(variance))


def _mean_and_deviations(flat: np.ndarray) -> tuple[float, float]:
    """The mean and the sum of squared deviations of a 1D float32 array, within the bounds above."""
    n = flat.size
    total, squares = _chunked_sums(flat)
    mean = total / n
    deviations = squares - total * mean
    if _within_tolerance(deviations, _deviation_error(n, squares, mean, rounded_values=False)):
        return mean, deviations
    if math.isfinite(mean):
        centre = np.float32(mean)
        offset_total, centred_squares = _chunked_sums(flat - centre)
        offset = offset_total / n
        deviations = centred_squares - offset_total * offset
        if _within_tolerance(deviations, _deviation_error(n, centred_squares, offset, rounded_values=True)):
            return float(centre) + offset, max(deviations, 0.0)
    exact = flat.astype(np.float64)  # rare: the spread is at float32's resolution, or not finite
    mean = float(np.add.reduce(exact)) / n
    exact -= mean
    return mean, float(np.dot(exact, exact))


@lru_cache(maxsize=1)
def _ones(length: int) -> np.ndarray:
    return np.ones(length, dtype=np.float32)


def _chunked_sums(flat: np.ndarray) -> tuple[float, float]:
    """Σx and Σx² of a float32 array: float32 over chunks of ``CHUNK`` values, float64 across them."""
    whole = flat.size - flat.size % CHUNK
    columns = flat[:whole].reshape(CHUNK, -1)  # each column: CHUNK values, one partial sum
    with np.errstate(over="ignore", invalid="ignore"):  # float32 overflow: the float64 path takes over
        sums = _ones(CHUNK) @ columns
        squares = np.einsum("ij,ij->j", columns, columns)
        rest = flat[whole:].astype(np.float64)
        total = float(np.add.reduce(sums, dtype=np.float64)) + float(np.add.reduce(rest))
        return total, float(np.add.reduce(squares, dtype=np.float64)) + float(np.dot(rest, rest))


def _within_tolerance(deviations: float, error: float) -> bool:
    return math.isfinite(deviations) and error <= VARIANCE_TOLERANCE * deviations


def _deviation_error(n: int, squares: float, mean: float, *, rounded_values: bool) -> float:
    """A bound on the error of ``squares − n·mean²`` as computed by ``_chunked_sums``.

    Σx² carries at most γ_CHUNK (products and CHUNK − 1 additions) relative error, Σx at
    most γ_{CHUNK−1} times Σ|x| ≤ √(n·Σx²) (Cauchy–Schwarz), which n·mean² doubles and
    multiplies by |mean|. Values that were themselves rounded (x − centre in float32) add
    one more rounding to each. A small allowance covers the float64 additions.
    """
    extra = 1 if rounded_values else 0
    magnitudes = math.sqrt(n * squares) if squares < math.inf else math.inf
    squares_error = _gamma(CHUNK + 2 * extra) * squares
    mean_error = 2.0 * abs(mean) * _gamma(CHUNK - 1 + extra) * magnitudes
    return (squares_error + mean_error) * (1 + 1e-9) + 1e-12 * squares
