"""Pixel sizes read from metadata, kept only when they could be real (docs/spec.md, "Inputs").

Metadata sometimes hold a pixel size that no detector gives: NaN, 0, a negative number,
or a value off by a factor of 10⁴ (µm for Å). Such a value would turn "42 A" into a
nonsense radius and land in the output headers and STAR files, so it is treated as
unknown and the caller falls back to the image header's.
"""

from __future__ import annotations

import numpy as np

PLACEHOLDER_ANGSTROM = 1.0  # what RELION writes in particle stack headers, and many programs when they do not know
SMALLEST_ANGSTROM = 0.01  # finer than any detector pixel ever recorded
LARGEST_ANGSTROM = 100.0  # coarser than any binned tomogram


def usable_pixel_size(value: float | None) -> float | None:
    """``value`` in Å/px when it is a number between 0.01 and 100, else None (unknown): `usable_pixel_sizes`'s rule.

    Examples
    --------
    >>> usable_pixel_size(1.31), usable_pixel_size(float("nan")), usable_pixel_size(0.0), usable_pixel_size(1e4)
    (1.31, None, None, None)
    """
    try:
        number = float(value)  # type: ignore[arg-type]  # None and text are caught below
    except (TypeError, ValueError):
        return None
    return number if usable_pixel_sizes(np.float64(number)) else None


def usable_pixel_sizes(values_angstrom: np.ndarray | np.float64) -> np.ndarray:
    """Which of ``values_angstrom`` (Å/px, a metadata column, say) could be pixel sizes: from 0.01 to 100 Å.

    The one rule `usable_pixel_size` applies to a single value: NaN, ±inf, 0 and negative
    values are not usable (NaN compares false, ±inf falls outside the range).
    """
    values = np.asarray(values_angstrom, dtype=np.float64)
    usable: np.ndarray = (values >= SMALLEST_ANGSTROM) & (values <= LARGEST_ANGSTROM)
    return usable


def unusable_note(what: str, value: object, fallback: float | None = None, used: str | None = None) -> str:
    """The note shown when a metadata pixel size is set aside.

    ``fallback`` is the header's pixel size used instead (0: none is known; None: not
    known yet, the caller takes the header's); ``used``, what is used instead in words, when
    it is not the header's (``inputs.pixel_size_angstrom 2.806 Å/px is used``).
    """
    if used is not None:
        instead = used
    elif fallback is None:
        instead = "the image header's voxel size is used"
    elif fallback > 0:
        instead = f"the image header's {fallback:g} Å/px is used"
    else:
        instead = "the pixel size is unknown"
    return f"{what} is {value}, not a pixel size from {SMALLEST_ANGSTROM:g} to {LARGEST_ANGSTROM:g} Å/px; {instead}"


def header_disagreement(header: float, from_metadata: float, what: str = "the metadata") -> list[str]:
    """The note shown when the stacks' header pixel size differs from the metadata's by more than 1 %.

    ``header`` is 0 when the header gives none (nothing to disagree with); ``what`` names the
    metadata's field where it helps (``the metadata (blob/psize_A)``).
    """
    if header <= 0 or abs(header - from_metadata) <= 0.01 * from_metadata:
        return []
    return [
        f"stack headers give {header:g} Å/px but {what} {from_metadata:g} Å/px; the masked stacks use the metadata's"
    ]


def given_over_header(
    header: float, given: float, given_as: str, header_is: str = "its header"
) -> tuple[str, bool] | None:
    """The sentence shown when a pixel size the user gives replaces a header's that differs by more than 1 %.

    Returns None when the header gives none (0) or agrees; else the sentence, and whether it
    is a warning: not for the header's 1 Å/px (`PLACEHOLDER_ANGSTROM`), which is what a
    given pixel size is for. ``given_as`` names the setting (``--pixel-size``), ``header_is``
    the header (``its header``: the file's; ``the stack header``: a set's stacks').
    """
    if header <= 0 or abs(header - given) <= 0.01 * given:
        return None
    text = (
        f"{header_is} gives {header:g} Å/px, but {given_as} {given:g}; {given:g} Å/px is used, and written to the "
        "output"
    )
    return text, header != PLACEHOLDER_ANGSTROM
