"""Mask-quality warnings, from what the report has read already: the mask, sampled images, metadata.

Each check returns a sentence (a ``maskrun: warning:`` line, and a line of the report and
the run record) or nothing. The thresholds are stated with each check.
"""

from __future__ import annotations

import warnings
from statistics import NormalDist

import numpy as np

from maskrun.geometry.box_edge import EDGE_SHARE as EDGE_SHARE  # re-exported
from maskrun.geometry.box_edge import SHRINK_OR_MOVE as SHRINK_OR_MOVE
from maskrun.geometry.box_edge import touches_the_box_edge as touches_the_box_edge
from maskrun.jobs.mask_warnings import hard_edge_on_particles as hard_edge_on_particles
from maskrun.jobs.mask_warnings import keeps_nothing_or_everything as keeps_nothing_or_everything
from maskrun.report.rings import radial_profile, ring_index, ring_sizes

TIGHT_SHARE = 0.05  # of the mean image's signal (its departure from the background) lying where m < 0.5
NEARLY_ALL = 0.95  # of that signal: a box whose widest disc keeps this much needs no re-extraction
SIGNAL_OVER_NOISE = 5.0  # a radial profile's peak over its ring's noise, to hold any signal to judge
EDGE_ROOM_PX = 3  # half a usual 6 px soft edge: a 0.5 contour at N/2 would have the box cut its outer half
DARK_OVER_NOISE = 3.0  # the kept region's summed excess below background, in its noise, to call particles dark
NOISE_BEYOND_RINGS = 5  # rings tested past the last signal: the profile ends in noise, not at the background
FALSE_ALARM = 0.05  # the chance that a profile of noise alone shows any ring as signal (the rings tested together)
NEAR_CONTOUR_PX = 5.0  # a particle centre this close to the 0.5 contour is at risk of being cut
NEAR_CONTOUR_SHARE = 0.01
VOXEL_TOLERANCE = 0.001


def tight_mask(
    mask: np.ndarray, mean_image: np.ndarray, advice: str | None = None, gaussian: bool = False
) -> str | None:
    """Share of the mean image's radial signal that lies where the mask is below 0.5.

    Rings smooth the noise. The background is the level (the pixels' mean) of the outer tenth
    of the rings; the signal is what departs from it, either way: dark particles, as
    cryoSPARC's stacks and raw micrographs hold them, where the mask keeps less than that
    background, and the fringes of the other sign the CTF puts around a particle. A ring's
    noise is the pixels' (from the outer rings) over the root of its pixel count, with the
    background's own error (its pixels are the corners' few). A ring counts as signal where
    its departure is beyond what noise gives with a chance of `FALSE_ALARM` over all the rings
    tested together (Bonferroni: each at ``FALSE_ALARM / (2 × rings)``, two-sided, 3.7 σ for
    200 rings; the outer tenth, the background itself, is not tested), and a profile none of
    whose rings stands `SIGNAL_OVER_NOISE` times above its noise holds no signal to judge.

    So noise alone makes no "share": the report's mean of a few particles (its sample holds
    24 at most) is signal near the centre and noise further out, where rings past 3 σ by
    chance, weighted by their circumference, made one (7 ribosomes masked at radii 60, 100
    and 114.5 px were all called tight at 18 %, by rings in the box's corners, and told to
    re-extract them in a larger box). Where the profile is noise the mask is not judged
    tight, and the share grows as the mask shrinks with the signal the particles show. The
    box is the limit (re-extract) only when such signal lies beyond the widest disc it holds.
    A radius offered is then a lower bound where the profile turns to noise well before the
    background's rings (more than `NOISE_BEYOND_RINGS` rings tested past its last signal),
    and the sentence says where.

    The sentence ends with the radius that would keep 99 % (a mask centred in the box), or
    with ``advice`` when given (masks that differ from particle to particle, for which one
    radius means nothing); for a ``gaussian`` mask the radius (a 0.5 contour) is also given as
    the sigma that puts it there.
    """
    radii, signal = radial_profile(mean_image)
    _, mask_profile = radial_profile(mask)
    pixels = ring_sizes(mean_image)
    background_rings = max(3, len(signal) // 10)
    outer = slice(-background_rings, None)
    # the background's own error counts in every ring's excess: the corners' few pixels set it
    background = float(signal[outer] @ pixels[outer] / pixels[outer].sum())
    excess = signal - background
    pixel_noise = float(np.sqrt(np.mean(excess[outer] ** 2 * pixels[outer])))  # a ring's mean has σ²/n
    ring_noise = pixel_noise * np.sqrt(1 / pixels + 1 / pixels[outer].sum())
    kept = mask_profile[: len(excess)] >= 0.5
    inside = float(excess[kept] @ pixels[kept])  # the kept pixels' summed excess, of noise σ·√(their count)
    signal_words = "signal"  # its departure from the background, either way
    if inside < -DARK_OVER_NOISE * pixel_noise * np.sqrt(pixels[kept].sum()):  # dark particles (blob/sign −1)
        excess, signal_words = -excess, "signal (dark particles)"
    tested = np.arange(len(excess)) < len(excess) - background_rings
    if not np.any(tested & (np.abs(excess) > SIGNAL_OVER_NOISE * np.maximum(ring_noise, 1e-12))):
        return None
    beyond_noise = NormalDist().inv_cdf(1 - FALSE_ALARM / (2 * max(int(tested.sum()), 1)))
    significant = tested & (np.abs(excess) > beyond_noise * ring_noise)
    above = np.where(significant, np.abs(excess), 0.0)
    if not above.any():
        return None
    area = np.maximum(radii, 0.5) * 2 * np.pi  # pixels in each ring, near enough
    weights = above * area
    total = weights.sum()
    low = mask_profile[: len(weights)] < 0.5
    kept_rings = np.flatnonzero(~low)
    hole = low & (np.arange(len(low)) < kept_rings[0]) if kept_rings.size else np.zeros_like(low)
    share, in_hole = float(weights[low & ~hole].sum() / total), float(weights[hole].sum() / total)
    if in_hole > TIGHT_SHARE and in_hole >= share:  # a crown's hole: dropped by design, perhaps not meant
        return (
            f"{in_hole:.0%} of the mean image's {signal_words} lies in the mask's hole (within "
            f"{radii[kept_rings[0]]:.0f} px of the centre, where the mask is below 0.5); if the centre is wanted, "
            "use a disc (inner radius 0)"
        )
    if share <= TIGHT_SHARE:
        return None
    if advice is not None:
        return f"the mask is tight: {share:.0%} of the mean image's {signal_words} lies {advice}"
    kept = np.cumsum(weights) / total
    radius = float(radii[min(int(np.searchsorted(kept, 0.99)), len(radii) - 1)])
    largest = min(mask.shape) // 2 - EDGE_ROOM_PX  # the widest 0.5 contour whose soft edge the box still holds
    found = f"the mask is tight: {share:.0%} of the mean image's {signal_words} lies where the mask is below 0.5; "
    if radius <= largest:
        last = int(radii[np.flatnonzero(significant)[-1]])
        noise_beyond = last < int(radii[tested][-1]) - NOISE_BEYOND_RINGS  # a lower bound, then: say so
        return (
            found
            + f"a radius of about {radius:.0f} px{_as_sigma(radius, gaussian)} would keep 99%"
            + (f" (the sampled particles' mean is noise beyond {last} px)" if noise_beyond else "")
        )
    within = float(kept[min(np.searchsorted(radii, largest, side="right") - 1, len(kept) - 1)])
    box = mask.shape[-1]
    widest = (
        f"a radius of {largest} px{_as_sigma(largest, gaussian)}, the most the {box} px box holds with a soft edge, "
        f"would keep {within:.1%}"
    )
    if within >= NEARLY_ALL:  # the box is big enough: the mask is what is tight
        return found + widest
    return found + f"even {widest}: use that radius, or re-extract the particles in a larger box"


def tight_on_sample(
    mask: np.ndarray, sample: np.ndarray, advice: str | None = None, gaussian: bool = False
) -> str | None:
    """`tight_mask` judged on the sampled particles' mean (``sample``: images × y × x), said only when their median
    is judged tight too.

    The report's sample is a few particles (24 at most). One of them with another particle, a
    carbon edge or an ice gradient in its box moves the mean's outer rings (a generous 90 px disc
    on 5 real RELION particles, one so, was called tight at 40 %), and the median of a few is
    noisier than their mean (7 ribosomes' median called a 120-150 px raised cosine tight at 16 %,
    where their mean shows nothing past 68 px); signal beyond the mask shows in both.
    """
    said = tight_mask(mask, np.nanmean(sample, axis=0), advice, gaussian)
    if said is None or tight_mask(mask, np.nanmedian(sample, axis=0), advice, gaussian) is None:
        return None
    return said


def _as_sigma(radius_px: float, gaussian: bool) -> str:
    """`` (sigma S px)`` for a gaussian whose 0.5 contour lies at ``radius_px`` (at σ·√(2 ln 2)); else nothing."""
    return f" (sigma {radius_px / np.sqrt(2 * np.log(2)):.1f} px)" if gaussian else ""


def centres_near_the_contour(offsets_px: np.ndarray | None, mask: np.ndarray) -> str | None:
    """Share of particles whose recorded centre lies `NEAR_CONTOUR_PX` or less inside the 0.5 contour, or outside it.

    A particle's centre is the box centre less its origin (RELION's convention, as masks that
    follow place their shape); the distance is to the nearest pixel below 0.5 (a distance
    transform), so a mask anywhere in the box is judged where it is: one centred 100 px off
    the particles, which a radius about the box centre could not measure, said nothing.
    """
    inside = np.asarray(mask) >= 0.5
    if offsets_px is None or len(offsets_px) == 0 or inside.ndim != 2 or not inside.any():
        return None
    from scipy import ndimage

    depth = ndimage.distance_transform_edt(inside)  # 0 outside the contour
    ny, nx = inside.shape
    x = np.clip(np.rint(nx // 2 - offsets_px[:, 0]), 0, nx - 1).astype(int)
    y = np.clip(np.rint(ny // 2 - offsets_px[:, 1]), 0, ny - 1).astype(int)
    near = float(np.mean(depth[y, x] < NEAR_CONTOUR_PX))
    if near <= NEAR_CONTOUR_SHARE:
        return None
    return (
        f"{near:.0%} of the particles have their recorded centre within {NEAR_CONTOUR_PX:g} px of the mask's "
        "0.5 contour, or outside it: the mask may cut them; centre them (re-extract) or widen or move the mask"
    )


def voxel_size_mismatch(mask_voxel: float, data_voxel: float) -> str | None:
    if mask_voxel > 0 and data_voxel > 0 and abs(mask_voxel - data_voxel) > VOXEL_TOLERANCE * data_voxel:
        return (
            f"the mask's voxel size {mask_voxel:g} Å differs from the data's {data_voxel:g} Å by more than "
            "0.1%; a mask made on these data's grid has a header to fix (set its voxel size), any other is to be "
            "resampled"
        )
    return None


ROUND_TOLERANCE = 0.1  # a round mask's pixel lies within its ring's and its neighbours' range, give or take this
ROUND_SHARE = 0.01  # of the kept pixels (≥ 0.5) that may lie off it: a pixelised disc's rim, not a long side
CELL_PX = 4  # the 2D check's cells (CELL_PX² pixels averaged): its rings' part, smoothing the noise


def is_round(mask: np.ndarray, centre_shift_xyz: tuple[float, ...] = ()) -> bool:
    """Whether a 2D mask is (nearly) round about the box centre (moved by ``centre_shift_xyz``): its own rings'
    average, which `tight_mask` judges it by, says what it is.

    Each pixel is compared with the range of its ring's mean and its two neighbours' (a hard disc's rim
    ring, half in, lies between the ring inside, all 1, and the one outside, all 0); a mask is round when
    at most `ROUND_SHARE` of its kept pixels lie more than `ROUND_TOLERANCE` outside that range. A box, an
    ellipse, a shape off the centre or turned and long is not: a ring profile of a 118 x 30 box drops below
    0.5 near its half-width, and a radius means nothing for it.
    """
    values = np.asarray(mask, dtype=np.float64)
    rings = ring_index(values.shape, centre_shift_xyz)
    flat = values.ravel()
    counts = np.bincount(rings)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.bincount(rings, weights=flat) / counts
    means = np.where(counts > 0, means, np.nan)
    padded = np.concatenate([[np.nan], means, [np.nan]])
    neighbours = np.stack([padded[:-2], padded[1:-1], padded[2:]])
    low, high = np.nanmin(neighbours, axis=0)[rings], np.nanmax(neighbours, axis=0)[rings]
    off = (flat < low - ROUND_TOLERANCE) | (flat > high + ROUND_TOLERANCE)
    kept = max(int(np.count_nonzero(flat >= 0.5)), 1)
    return bool(np.count_nonzero(off) <= ROUND_SHARE * kept)


def tight_in_2d(mask: np.ndarray, aligned: np.ndarray, advice: str) -> str | None:
    """`tight_on_sample` for a mask that is not round (`is_round`): the share of the sampled particles' signal
    lying where the mask is below 0.5, judged pixel by pixel, never as a radius.

    ``aligned``: the sampled images (images × y × x), each lined up with ``mask`` (for a shape that follows,
    moved to the box centre by its origin and turned back by its psi), NaN where an image has no pixel.
    Said only when their mean and their median both show it. The noise is handled as `tight_mask` handles
    it, with square cells of `CELL_PX` for rings: the background is the level of the pixels in the outer
    tenth of the rings (their median: a filament crosses them), a single image's noise the spread (MAD) of
    those pixels, each cell's noise that over the root of the images and pixels it averages (× 1.25 for the
    median), with the background's own error; a cell counts as signal only beyond what noise gives with a
    chance of `FALSE_ALARM` over all the cells tested together, and a mean none of whose cells stands
    `SIGNAL_OVER_NOISE` times above its noise holds no signal to judge. The outer tenth itself is not tested.
    The sentence ends with ``advice``.
    """
    images = np.asarray(aligned, dtype=np.float64)
    found = [_share_in_2d(mask, images, median) for median in (False, True)]
    if found[0] is None or found[1] is None or found[1][0] <= TIGHT_SHARE:
        return None
    share, signal_words = found[0]
    if share <= TIGHT_SHARE:
        return None
    return f"the mask is tight: {share:.0%} of the sampled particles' {signal_words} lies {advice}"


def _share_in_2d(mask: np.ndarray, images: np.ndarray, median: bool) -> tuple[float, str] | None:
    """The share of the images' mean's (or median's) significant signal where ``mask`` < 0.5, and its words."""
    ny, nx = mask.shape
    finite = np.isfinite(images)
    counts = finite.sum(axis=0)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN pixels: no image reaches them
        image = np.nanmedian(images, axis=0) if median else np.nanmean(images, axis=0)
    y, x = np.indices((ny, nx))
    r = np.hypot(y - ny // 2, x - nx // 2)
    outer = r >= 0.9 * r.max()  # the outer tenth of the rings
    pixels = images[:, outer][finite[:, outer]]
    if pixels.size < 10 or not np.isfinite(image[outer]).any():
        return None
    single_noise = 1.4826 * float(np.median(np.abs(pixels - np.median(pixels))))
    background = float(np.nanmedian(image[outer]))
    if single_noise <= 0:
        return None
    factor = np.sqrt(np.pi / 2) if median else 1.0
    with np.errstate(divide="ignore"):
        variance = np.where(counts > 0, (factor * single_noise) ** 2 / np.maximum(counts, 1), 0.0)
    reached = outer & (counts > 0)
    background_variance = np.pi / 2 * float(variance[reached].mean()) / max(int(reached.sum()), 1)  # a median's
    cy, cx = -(-ny // CELL_PX), -(-nx // CELL_PX)

    def cells(values: np.ndarray, fill: float) -> np.ndarray:
        padded = np.full((cy * CELL_PX, cx * CELL_PX), fill)
        padded[:ny, :nx] = values
        return padded.reshape(cy, CELL_PX, cx, CELL_PX).swapaxes(1, 2).reshape(cy, cx, -1)

    has = cells(counts > 0, 0.0) > 0
    n_cell = has.sum(axis=-1)
    excess_sum = np.where(has, cells(np.nan_to_num(image - background), 0.0), 0.0).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        excess = np.where(n_cell > 0, excess_sum / np.maximum(n_cell, 1), 0.0)
        noise = np.sqrt(cells(variance, 0.0).sum(axis=-1) / np.maximum(n_cell, 1) ** 2 + background_variance)
    kept_cells = cells(mask >= 0.5, 0.0).mean(axis=-1) >= 0.5
    inside = float(excess_sum[kept_cells].sum())
    inside_noise = float(np.sqrt((noise[kept_cells] ** 2 * np.maximum(n_cell[kept_cells], 1) ** 2).sum()))
    signal_words = "signal"
    if inside < -DARK_OVER_NOISE * inside_noise:  # dark particles
        excess, signal_words = -excess, "signal (dark particles)"
    centre_r = cells(r, np.inf).min(axis=-1)
    tested = (n_cell > 0) & (centre_r < 0.9 * r.max())
    if not np.any(tested & (np.abs(excess) > SIGNAL_OVER_NOISE * np.maximum(noise, 1e-12))):
        return None
    beyond_noise = NormalDist().inv_cdf(1 - FALSE_ALARM / (2 * max(int(tested.sum()), 1)))
    significant = tested & (np.abs(excess) > beyond_noise * noise)
    if not significant.any():
        return None
    weight = np.where(significant, np.abs(excess), 0.0)[..., None] * has  # each pixel its cell's excess
    low = cells(mask < 0.5, 0.0) > 0
    total = float(weight.sum())
    return float(weight[low].sum() / total), f"{'median' if median else 'mean'} image's {signal_words}"
