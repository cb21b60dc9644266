"""Masks from files, checked against the images: created masks (``mask.source: file``) and masks
made from a map (``mask.source: map``); docs/spec.md, "Created masks" and "Masks from maps"."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from maskrun.config.mask_spec import MapMaskParams
from maskrun.config.threshold import ThresholdRule, threshold_rule
from maskrun.engine.map_as_mask import looks_like_a_map, map_as_mask
from maskrun.errors import (
    AllOrNothingWarning,
    FieldError,
    MaskrunWarning,
    SettingError,
    UncheckedVoxelSizeWarning,
    UserError,
    in_field,
)
from maskrun.geometry.map_mask import (
    MapMaskSteps,
    ThresholdAboveTheMap,
    after_low_pass,
    low_pass,
    low_pass_beyond_nyquist,
    mask_from_map,
)
from maskrun.geometry.masks import Mask, keeps_all_or_nothing, unit_of
from maskrun.geometry.threshold_choice import ChosenThreshold, NoLevelAboveNoise, choose_threshold
from maskrun.io.image_info import ImageInfo, read_rows
from maskrun.io.images import inspect_image
from maskrun.io.paths import file_not_found, is_file

VOXEL_TOLERANCE = 0.01
RANGE_TOLERANCE = 1e-6  # float rounding in the program that made the mask
NEARLY_WHOLE_BOX = 0.8  # a map-made mask keeping more of the box than this is likely catching noise


def load_created_mask(
    path: str | os.PathLike[str],
    image_shape_zyx: tuple[int, ...],
    image_voxel_size_xyz: tuple[float, float, float],
    field: str = "mask.file",
) -> Mask:
    """Read a mask MRC and check it fits the images it will be applied to.

    Parameters
    ----------
    path
        The mask file: 2D (or a single-slice volume) for particles, 3D for volumes.
    image_shape_zyx
        Shape of one image ``(ny, nx)`` or of the volume ``(nz, ny, nx)``.
    image_voxel_size_xyz
        Voxel size of the images in Å; 0 where unknown.
    field
        How the user named the mask (``mask.file`` or ``--mask-file``), for messages.

    Returns
    -------
    Mask
        Binary when every value is 0 or 1.

    Raises
    ------
    UserError
        If the dimensions differ in any axis (Xmipp checks only X and Y), both voxel
        sizes are known and differ by more than 1%, a value is NaN or inf, or values lie
        outside [0, 1] by more than `RANGE_TOLERANCE` (closer ones are clipped).

    Warns
    -----
    MaskrunWarning
        When one of the voxel sizes is unknown.
    """
    with in_field(field):
        info = inspect_image(path)
    nz = info.shape_zyx[0]
    _check_fits(info, image_shape_zyx, field, "mask", "re-create the mask at the input's box size")
    spider = info.format.startswith("spider")
    _check_voxel_size(info.voxel_size_xyz, image_voxel_size_xyz, str(info.path), field, records_none=spider)
    return checked_weights(read_rows(info, 0, nz).reshape(image_shape_zyx), str(info.path), field)


def checked_weights(values: np.ndarray, source: str | None, field: str) -> Mask:
    """A mask from weights that must be finite and within [0, 1] (closer than `RANGE_TOLERANCE` are clipped).

    ``values`` (float32, owned by the caller to give away) are clipped in place.

    Raises
    ------
    MapAsMask
        Values of a file (``source``) outside [0, 1] that look like a density map's
        (`maskrun.engine.map_as_mask.looks_like_a_map`): a mask is to be made from it.
    UserError
        If a value is NaN or inf, or lies outside [0, 1] by more than `RANGE_TOLERANCE`.
    """
    bad = int(np.count_nonzero(~np.isfinite(values)))
    if bad:
        raise UserError(
            f"mask holds {bad} NaN or inf values; a mask must be finite, between 0 and 1: re-create it",
            source=source,
            field=field,
        )
    low, high = float(values.min()), float(values.max())
    if low < -RANGE_TOLERANCE or high > 1 + RANGE_TOLERANCE:
        if source is not None and looks_like_a_map(values):  # rescaled to [0, 1], a map is still no mask
            raise map_as_mask(low, high, source, field)
        raise UserError(
            f"mask values span [{low:g}, {high:g}], outside [0, 1] (RELION refuses such masks too); "
            "rescale the mask to [0, 1]",
            source=source,
            field=field,
        )
    return Mask.from_values(np.clip(values, 0, 1, out=values))


def map_mask(
    params: MapMaskParams,
    image_shape_zyx: tuple[int, ...],
    image_voxel_size_xyz: tuple[float, float, float],
    label: Callable[[str], str],
    *,
    own_box: bool = False,
) -> Mask:
    """Make a mask from a map (``mask.source: map``) for images or volumes of a given box.

    ``own_box``: the box and voxel size are the map's own (``maskrun make-mask``), so
    they are not compared, and ``image_voxel_size_xyz`` is the map's (its header's, or the
    one the user gives instead).

    Raises
    ------
    UserError
        If the map's box or voxel size differ from the data's (as for created masks), a
        second map (``and``, ``or``, ``and_not``, ``or_not``) is missing or differs from the
        map in box or voxel size (1 %), or the threshold keeps nothing (naming the map's range).
    """
    with in_field(label("map.file")):
        info = inspect_image(params.file)
    _refuse_a_stack(info, label("map.file"))
    _check_fits(info, image_shape_zyx, label("map.file"), "map", "use a map of the input's box size")
    if not own_box:
        _check_voxel_size(info.voxel_size_xyz, image_voxel_size_xyz, str(info.path), label("map.file"), "map")
    second = _second_map(params, info, label)
    pixel = map_pixel_size(info, image_voxel_size_xyz, own_box)
    lowpass = params.lowpass_angstrom if pixel > 0 else None
    beyond = low_pass_beyond_nyquist(lowpass, pixel, info.shape_zyx) if lowpass else None
    if beyond is not None:  # relion_mask_create says nothing; the mask is made all the same
        warnings.warn(f"{info.path.name}: {label('map.lowpass_angstrom')}: {beyond}", MaskrunWarning, stacklevel=2)
    try:
        return _made_from_map(
            params, tuple(image_shape_zyx), pixel, _version(info), _version(second) if second else None
        )
    except _NotFinite as exc:
        raise UserError(
            "map holds NaN or inf values; fix the map before making a mask from it",
            source=str(exc.args[0]),
            field=label(exc.args[1]),
        ) from None
    except NoLevelAboveNoise as exc:  # its fix is a low-pass, a setting of the caller's
        lowpass = params.lowpass_angstrom if pixel > 0 else None
        message = exc.worded(label("map.lowpass_angstrom"), lowpass)
        raise UserError(message, source=str(info.path), field=label("map.threshold")) from None
    except FieldError as exc:
        raise UserError(exc.message, source=str(info.path), field=label(f"map.{exc.field}")) from None


def _refuse_a_stack(info: ImageInfo, field: str) -> None:
    """Refuse a stack of images given as the map to make a mask from: a ``.mrcs`` (RELION reads it as images) or a
    SPIDER stack, of more than one image; read as a map, its images were one volume (``relion_mask_create`` stops:
    "Input mask should have a dimension of 3!"), as ``inputs.volumes`` refuses them (`refuse_image_stacks`)."""
    n, ny, nx = info.shape_zyx
    if not info.says_a_stack or n == 1:
        return
    spider = info.declared_kind is not None
    said = "its SPIDER header says so" if spider else "a .mrcs, which RELION reads as images"
    name = info.path.name
    at = name.lower().rfind(".mrcs")  # .mrcs, .mrcs.gz: a map saved under a stack's name is read as it is named
    rename = "" if spider or at < 0 else f", or rename it {name[:at]}.mrc{name[at + 5 :]} if it is a map"
    raise UserError(
        f"is a stack of {n} images of {nx} x {ny} ({said}), not a map; make the mask from a map (a 3D "
        f"reconstruction, .mrc){rename}",
        source=str(info.path),
        field=field,
    )


def _version(info: ImageInfo) -> tuple[int, int]:
    stat = info.path.stat()
    return stat.st_size, stat.st_mtime_ns


def _second_map(params: MapMaskParams, first: ImageInfo, label: Callable[[str], str]) -> ImageInfo | None:
    """The header of the map a combination (``and``, ``or``, ...) reads, checked against the first map."""
    if params.combination is None:
        return None
    name, path = params.combination
    field = label(f"map.{name}")
    if not is_file(path):
        raise file_not_found(path, f"give an existing map of the same box as {first.path.name}", field)
    with in_field(field):
        info = inspect_image(path)
    if info.shape_zyx != first.shape_zyx:
        raise UserError(
            f"second map is {_size_text(info.shape_zyx)} but {first.path.name} is {_size_text(first.shape_zyx)} "
            "(x × y × z); give a map of the same box",
            source=str(info.path),
            field=field,
        )
    mine, theirs = info.voxel_size_xyz[0], first.voxel_size_xyz[0]
    if mine > 0 and theirs > 0 and abs(mine - theirs) > VOXEL_TOLERANCE * theirs:
        raise UserError(
            f"second map's voxel size {mine:g} Å differs from {first.path.name}'s {theirs:g} Å by more than 1%; "
            "resample it to the first map's voxel size",
            source=str(info.path),
            field=field,
        )
    return info


class _NotFinite(Exception):
    pass


@lru_cache(maxsize=1)
def _made_from_map(
    params: MapMaskParams,
    shape_zyx: tuple[int, ...],
    pixel_size: float,
    file_version: tuple[int, int],
    second_version: tuple[int, int] | None,
) -> Mask:
    """The mask a map makes, kept for the next call with the same map files (by size and time) and steps.

    A job asks for its mask when it plans, for every unit and when it gathers: without this,
    each time in a process would read the map and run the distance transforms again.
    """
    density = _read_map(params.file, shape_zyx, "map.file")
    combination = params.combination
    second = _read_map(combination[1], shape_zyx, f"map.{combination[0]}") if combination else None
    chosen = map_threshold(params, pixel_size)
    steps = MapMaskSteps(
        **params.model_dump(exclude={"file", "and_", "or_", "and_not", "or_not", "threshold"}),
        threshold=chosen.value,
        combine=combination[0] if combination else None,
    )
    thresholded = density
    if params.lowpass_angstrom and pixel_size > 0:  # the map the threshold meets, low-passed once
        thresholded = _low_passed(inspect_image(params.file).path, pixel_size, params.lowpass_angstrom, file_version)
    try:
        low_passed = thresholded if thresholded is not density else None
        try:
            values = mask_from_map(density, steps, pixel_size, second, low_passed=low_passed)
        except ThresholdAboveTheMap as exc:
            if chosen.how == "given":
                raise
            # the rule the user typed, and how it came to the number: '2 sigma' = mean 0.78 + 2 × σ 2.4 = 5.58
            # (its own words, chosen.how: the message says the map was low-passed)
            raise FieldError("threshold", exc.worded(f"'{chosen.rule}' = {chosen.how} = {chosen.value:.6g}")) from None
        _warn_if_all_or_nothing(values, density, thresholded, params, chosen.value)
    finally:
        _low_passed.cache_clear()  # held from a note or a rule to the mask only: it may be a GB
    mask = Mask.from_values(values)
    mask.values.setflags(write=False)  # shared by every caller, as build_mask's are
    return mask


def map_pixel_size(info: ImageInfo, image_voxel_size_xyz: tuple[float, float, float], own_box: bool = False) -> float:
    """The voxel size (Å) a map mask is made at (its low-pass, a rule's volume or mass): the data's for a map in its
    own box (``maskrun make-mask``: its header's, or the one the user gives), else the map header's, else the data's."""
    return image_voxel_size_xyz[0] if own_box else info.voxel_size_xyz[0] or image_voxel_size_xyz[0]


def job_map_threshold(params: MapMaskParams, image_voxel_size_xyz: tuple[float, float, float]) -> ChosenThreshold:
    """`map_threshold` at the voxel size `map_mask` makes a job's map mask at (`map_pixel_size`), for the data's
    ``image_voxel_size_xyz``: the number a rule chose, for a note and the run record."""
    return map_threshold(params, map_pixel_size(inspect_image(params.file), image_voxel_size_xyz))


def map_threshold(params: MapMaskParams, pixel_size: float) -> ChosenThreshold:
    """The number a map mask's ``threshold`` stands for: itself, or what its rule chooses from the map.

    A rule looks at the map as it is thresholded: low-passed first when ``lowpass_angstrom``
    is set. Kept per map file (by size and time), rule and low-pass.

    Raises
    ------
    FieldError
        On ``threshold``, as `maskrun.geometry.threshold_choice.choose_threshold`.
    """
    rule = threshold_rule(params.threshold)
    if rule.kind == "value":
        return ChosenThreshold(rule.amount, rule.text, "given")
    info = inspect_image(params.file)
    return _chosen_threshold(info.path, rule, pixel_size, params.lowpass_angstrom, _version(info))


@lru_cache(maxsize=4)
def _chosen_threshold(
    path: Path, rule: ThresholdRule, pixel_size: float, lowpass_angstrom: float | None, version: tuple[int, int]
) -> ChosenThreshold:
    chosen = choose_threshold(_as_thresholded(path, pixel_size, lowpass_angstrom, version), rule, pixel_size)
    return replace(chosen, low_passed=after_low_pass(lowpass_angstrom if pixel_size > 0 else None))


def thresholded_map(params: MapMaskParams, pixel_size: float) -> tuple[np.ndarray, str]:
    """The map as the threshold meets it, and how words about its values say so (`after_low_pass`).

    Low-passed first when ``lowpass_angstrom`` is set (at ``pixel_size``, Å), as the mask is made:
    its range, levels and a rule's numbers are then the low-passed map's, not the file's.
    """
    info = inspect_image(params.file)
    density = _as_thresholded(info.path, pixel_size, params.lowpass_angstrom, _version(info))
    return density, after_low_pass(params.lowpass_angstrom if pixel_size > 0 else None)


def _as_thresholded(
    path: Path, pixel_size: float, lowpass_angstrom: float | None, version: tuple[int, int]
) -> np.ndarray:
    """The map as its threshold meets it: low-passed when asked (and the voxel size is known), else as read."""
    if lowpass_angstrom and pixel_size > 0:
        return _low_passed(path, pixel_size, lowpass_angstrom, version)
    return _map_as_read(path)


def _map_as_read(path: Path) -> np.ndarray:
    info = inspect_image(path)
    density = read_rows(info, 0, info.shape_zyx[0])
    return density[0] if info.shape_zyx[0] == 1 else density


@lru_cache(maxsize=1)
def _low_passed(path: Path, pixel_size: float, lowpass_angstrom: float, version: tuple[int, int]) -> np.ndarray:
    """The map low-passed (float64, read-only), kept for the next call with the same file (by size and time):
    ``make-mask``'s note, a rule's threshold and the mask then low-pass it once. `_made_from_map` lets it go."""
    low = low_pass(_map_as_read(path).astype(np.float64), lowpass_angstrom, pixel_size)
    low.setflags(write=False)
    return low


def _read_map(path: str | os.PathLike[str], shape_zyx: tuple[int, ...], field: str) -> np.ndarray:
    info = inspect_image(path)
    density = read_rows(info, 0, shape_zyx[0] if len(shape_zyx) == 3 else 1).reshape(shape_zyx)
    if not np.isfinite(density).all():
        raise _NotFinite(info.path, field)
    return density


def _warn_if_all_or_nothing(
    values: np.ndarray, density: np.ndarray, thresholded: np.ndarray, params: MapMaskParams, threshold: float
) -> None:
    """Warn, as shapes do, when a map's mask keeps nothing or everything; say where a threshold could sit: in the
    map as thresholded (``thresholded``: ``density`` low-passed, when the steps low-pass it).

    Also when it keeps nearly the whole box (`NEARLY_WHOLE_BOX`; not inverted): a molecule
    fills far less of a box, and a threshold low enough for noise seeds specks everywhere,
    each grown by the extend and soft edge.
    """
    kept = float(values.mean())
    if values.min() < 1 and kept > NEARLY_WHOLE_BOX and not params.invert:
        tied = int(np.count_nonzero(thresholded == threshold))
        if tied > int(np.count_nonzero(thresholded > threshold)):  # a plateau met, not noise: a masked map's zeros
            warnings.warn(
                f"the mask made from {params.file.name} keeps {kept:.1%} of the box: the threshold {threshold:g} is "
                f"met by {tied:,} voxels of the map that all equal it (a flat background, as a masked map's zeros); "
                f"raise it above {threshold:g}",
                MaskrunWarning,
                stacklevel=5,
            )
            return
        pieces = ""
        if params.lowpass_angstrom is None:  # the seed is the map itself above the threshold: count its pieces
            from scipy import ndimage

            count = int(ndimage.label(density >= threshold)[1])
            pieces = f", in {count:,} separate pieces" if count > 1 else ""
        largest = "" if params.keep_largest_component else ", or keep only its largest piece"
        low_pass_more = (
            f"low-pass the map more coarsely than {params.lowpass_angstrom:g} Å"
            if params.lowpass_angstrom
            else "low-pass the map first"
        )
        warnings.warn(
            f"the mask made from {params.file.name} keeps {kept:.1%} of the box: the threshold {threshold:g} is met "
            f"by noise too{pieces}; raise it, {low_pass_more}{largest}",
            MaskrunWarning,
            stacklevel=5,
        )
        return
    keeps_all = keeps_all_or_nothing(values)
    if keeps_all is None:
        return
    low_passed = after_low_pass(params.lowpass_angstrom)
    low, high = np.percentile(thresholded, [50, 99])
    verb = "lower" if (not keeps_all) != params.invert else "raise"  # inverted: the kept part is the outside
    median = f"median {low_passed} is" if low_passed else "median is"
    fix = f"{verb} the threshold {threshold:g} (the map's {median} {low:.4g}, its 99th percentile {high:.4g})"
    if keeps_all_or_nothing(thresholded >= threshold) is None:  # else the threshold alone empties or fills the box
        fix += _extend_fix(params.extend_px, grow=verb == "lower")
    warnings.warn(
        AllOrNothingWarning(f"the mask made from {params.file.name}", keeps_all, fix, unit=unit_of(values), advice=fix),
        stacklevel=5,
    )


def _extend_fix(extend_px: float, grow: bool) -> str:
    """How a map mask's extend can make it keep more (``grow``) or less, as ``" or …"``: a threshold and an extend
    move the mask in opposite senses; a negative extend is made less negative to grow it, a positive one smaller to
    shrink it (a mask not extended was emptied or filled by its threshold: nothing else to say)."""
    if grow:
        return f" or make the extend ({extend_px:g} px) less negative" if extend_px < 0 else ""
    return f" or lower the extend ({extend_px:g} px)" if extend_px > 0 else ""


def _check_fits(info: ImageInfo, image_shape_zyx: tuple[int, ...], field: str, what_file: str, fix: str) -> None:
    """A mask or mask map must have the data's box on every axis (Xmipp checks only x and y)."""
    nz, ny, nx = info.shape_zyx
    shape = (ny, nx) if len(image_shape_zyx) == 2 and nz == 1 else info.shape_zyx
    if tuple(shape) != tuple(image_shape_zyx):
        what = "images are" if len(image_shape_zyx) == 2 else "volume is"
        sizes = f"{_size_text(info.shape_zyx)} but the {what} {_size_text(image_shape_zyx)} (x × y × z)"
        if len(image_shape_zyx) == 2:
            sizes = f"{_size_text(info.shape_zyx)} (x × y × z) but the {what} {_size_text(image_shape_zyx)} (x × y)"
        raise UserError(
            f"{what_file} is {sizes}; {fix}",
            source=str(info.path),
            field=field,
        )


def _size_text(shape_zyx: tuple[int, ...]) -> str:
    return " × ".join(str(n) for n in shape_zyx[::-1])


class VoxelSizeMismatch(UserError):
    """A mask (or mask map) whose voxel size is more than 1 % off the images', with the mask's.

    A caller that takes the images' pixel size in place of their header's can tell the user
    so when the header gives 1 Å/px, the value RELION writes in particle stacks whatever the
    pixel size: the mask's may be the images' own (`over_placeholder`).
    """

    def __init__(
        self, message: str, *, source: str, field: str, what: str, mask_angstrom: float, image_angstrom: float = 0.0
    ) -> None:
        super().__init__(message, source=source, field=field)
        self.what = what
        self.mask_angstrom = mask_angstrom
        self.image_angstrom = image_angstrom

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled and copied as made (a forked worker's error reaches its parent so)."""
        keywords = {
            "source": self.source,
            "field": self.field,
            "what": self.what,
            "mask_angstrom": self.mask_angstrom,
            "image_angstrom": self.image_angstrom,
        }
        return (_voxel_size_mismatch, (self.message, keywords))

    def of_the_map(self, name: str) -> UserError:
        """The refusal when the data are maps, not images: said of the input map ``name`` the mask is for."""
        mask, data = f"{self.mask_angstrom:g}", f"{self.image_angstrom:g}"
        header = (
            f"make it again at {data} Å/px (maskrun make-mask's pixel size) or set {data} Å in its header"
            if self.what == "mask"
            else f"set {data} Å in its header"
        )
        made = "was made for" if self.what == "mask" else "is of"
        return UserError(
            f"{self.what} voxel size {mask} Å differs from the input map {name}'s {data} Å by more than 1%; resample "
            f"the {self.what} to {data} Å/px, or, if it {made} {name} (its box is the same), only its header is "
            f"wrong: {header}",
            source=self.source,
            field=self.field,
        )

    def over_placeholder(self) -> SettingError:
        """The refusal when the images' 1 Å/px is their header's placeholder: the fix first proposed is the
        caller's pixel size setting at the mask's size (``pixel_size``), spelt as the caller takes it."""
        size = f"{self.mask_angstrom:g}"
        error = SettingError(
            f"{self.what} voxel size {size} Å differs from the images' 1 Å, which their header gives: the value "
            f"RELION writes in particle stacks whatever the pixel size; if {size} Å is the images' pixel size, pass "
            f"{{setting}}, else resample the {self.what} to the images' pixel size",
            setting="pixel_size",
            value=float(size),  # as said: a header's float32 2.806 is 2.8059999942779541
            source=self.source,
        )
        error.field = self.field
        return error


def _check_voxel_size(
    mask_xyz: tuple[float, float, float],
    image_xyz: tuple[float, float, float],
    source: str,
    field: str,
    what: str = "mask",
    records_none: bool = False,
) -> None:
    """Refuse a mask (or mask map: ``what="map"``) whose voxel size is more than 1 % off the images'.

    Called once its box is known to be the images' (`_check_fits`): a file of their box was
    likely made for them, and only its header is wrong (a placeholder 1 Å, say), which the
    message says besides resampling. The images' own header may hold the placeholder: a
    `VoxelSizeMismatch`, which a caller that takes their pixel size words so. A mask of no voxel size is a warning
    naming the images' (the caller's ``--pixel-size`` where given: it is theirs, not the mask's), and that its
    format records none (``records_none``: SPIDER, as Xmipp writes its masks).
    """
    mask_size, image_size = mask_xyz[0], image_xyz[0]
    if mask_size > 0 and image_size > 0:
        if abs(mask_size - image_size) > VOXEL_TOLERANCE * image_size:
            header = (
                f"make it again at {image_size:g} Å/px (maskrun make-mask's pixel size) or set {image_size:g} Å in "
                "its header"
                if what == "mask"
                else f"set {image_size:g} Å in its header"
            )
            raise VoxelSizeMismatch(
                f"mask voxel size {mask_size:g} Å differs from the images' "
                f"{image_size:g} Å by more than 1%; resample the {what} to the images' "
                f"pixel size, or, if it {'was made for' if what == 'mask' else 'is of'} these images (its box is "
                f"theirs), only its header is wrong: "
                f"{header}",
                source=source,
                field=field,
                what=what,
                mask_angstrom=mask_size,
                image_angstrom=image_size,
            )
    elif mask_size <= 0:
        records = " (a SPIDER file records none)" if records_none else ""
        theirs = f"the images' {image_size:g} Å/px" if image_size > 0 else "the images, whose voxel size is unknown too"
        message = (
            f"{source}: the mask's voxel size is unknown{records}, so it cannot be checked against {theirs}; it is "
            "applied pixel for pixel: check that it was made for these images"
        )
        warnings.warn(message, MaskrunWarning, stacklevel=3)
    else:  # a job says it of its particles or maps (`maskrun.jobs.plan`)
        message = f"{source}: the images' voxel size is unknown, so the mask's pixel size cannot be checked against "
        message += "the images"
        warnings.warn(UncheckedVoxelSizeWarning(message, source, mask_size, what), stacklevel=3)


def _voxel_size_mismatch(message: str, keywords: dict[str, Any]) -> VoxelSizeMismatch:
    return VoxelSizeMismatch(message, **keywords)
