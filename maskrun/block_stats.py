"""Header statistics (min, max, mean, rms) accumulated block by block as data are produced.

Each block is reduced in float32 with BLAS (a row-sum matrix-vector product and a dot
product: about ten times cheaper than float64 reductions, which matters because masking
runs at the speed of a file copy), and blocks are combined in float64 with Chan's
pairwise update of mean and squared deviations. float32 sums of squares lose precision
when the mean is large against the spread (E[x²] − mean² cancels), so such a block's
squared deviations are recomputed about its own mean.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

# Squared deviations are taken from E[x²] − mean² only while E[x²] is at most this many
# times the variance: the rms is then good to ~3e-6 (measured: ~3e-8 times the ratio).
CANCELLATION_LIMIT = 100.0


@lru_cache(maxsize=4)
def _ones(length: int) -> np.ndarray:
    """Shared, not per accumulator: a writer keeps one accumulator per buffer it wrote."""
    return np.ones(length, dtype=np.float32)


class RunningStats:
    """min, max, mean and standard deviation of all values added so far."""

    def __init__(self) -> None:
        self.count = 0
        self.minimum = np.inf
        self.maximum = -np.inf
        self.mean = 0.0
        self.squared_deviations = 0.0

    def add(self, block: np.ndarray) -> None:
        """Fold in a float32 block (any shape, C-contiguous)."""
        if block.size == 0:
            return
        rows = block.reshape(block.shape[0], -1)
        flat = block.reshape(-1)
        self.minimum = min(self.minimum, float(np.minimum.reduce(flat)))
        self.maximum = max(self.maximum, float(np.maximum.reduce(flat)))
        n = flat.size
        total = float(np.add.reduce(rows @ _ones(rows.shape[1]), dtype=np.float64))
        squares = float(np.vdot(flat, flat))
        mean = total / n
        deviations = squares - total * mean
        if not deviations * CANCELLATION_LIMIT >= squares:  # also catches nan, inf
            centre = np.float32(mean)
            centred = flat - centre  # exact (Sterbenz) for values near the centre
            offset = float(np.add.reduce(centred)) / n  # the centre's own error, taken back out
            mean = float(centre) + offset  # also better than the float32 sum above
            deviations = max(float(np.vdot(centred, centred)) - n * offset * offset, 0.0)
        self._combine(n, mean, deviations)

    def merge(self, other: RunningStats) -> None:
        """Fold in the values another accumulator has seen."""
        if other.count:
            self.minimum, self.maximum = min(self.minimum, other.minimum), max(self.maximum, other.maximum)
            self._combine(other.count, other.mean, other.squared_deviations)

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
