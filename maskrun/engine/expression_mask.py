"""Masks made of terms (``mask.source: expression``; docs/spec.md, "Mask expressions"), each read or made
for the data's box and checked against it, combined, then extended and softened once."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

import numpy as np

from maskrun.config.expression_params import FILE_TERM_THRESHOLD, ExpressionParams, Term
from maskrun.config.mask_spec import Compat
from maskrun.engine.created_mask import job_map_threshold, load_created_mask, map_mask
from maskrun.engine.expression_terms_kept import KeptAllOrNothing, kept_all_or_nothing_sentences, term_fix
from maskrun.engine.model_mask_file import MapGrid, map_grid, mask_from_model_file
from maskrun.errors import AllOrNothingWarning, EdgeCutWarning, FieldError, MaskrunWarning, UserError
from maskrun.geometry.box_edge import face_peaks
from maskrun.geometry.mask_expression import combine_terms, finish_expression
from maskrun.geometry.masks import Mask, build_mask
from maskrun.io.image_info import ImageInfo
from maskrun.io.images import inspect_image
from maskrun.io.model_file import model_format
from maskrun.io.paths import file_not_found, is_file

Label = Callable[[str], str]


def expression_mask(
    params: ExpressionParams,
    shape_zyx: tuple[int, ...],
    voxel_size_xyz: tuple[float, float, float],
    compat: Compat,
    label: Label,
    grid: ImageInfo | None = None,
) -> Mask:
    """The mask an expression makes for images or volumes of one box.

    Parameters
    ----------
    params
        The ``mask.expression`` section, its paths absolute.
    shape_zyx, voxel_size_xyz
        The data's box (an image ``(ny, nx)`` or a volume ``(nz, ny, nx)``) and voxel size.
    compat
        As for shapes.
    label
        Writes a key path under ``mask`` (``expression.all_of.0.map.file``) as the user wrote it.
    grid
        The header of the map the mask is for: where a model's atoms fall (its origin). None
        for particle images, which take no model term.

    Raises
    ------
    UserError
        When a term's file is missing, unreadable or differs from the data in box or voxel
        size, a threshold keeps nothing, a model's atoms all fall outside the box, a shape
        does not fit the data's dimensions, or the combination keeps no voxel.

    Warns
    -----
    MaskrunWarning
        What its terms warn of (a model mostly outside the box, a map mask met by noise), on
        every call, also when the mask comes from the cache; a term that keeps every voxel or
        none is said for the expression, naming it (`maskrun.engine.expression_terms_kept`),
        not as its own mask's warning. Its model terms' notes (atoms selected, some outside
        the box) are the mask's ``notes``.
    """
    versions = tuple(_version(path) for path in params.files)
    # a model term is placed by the map's origin, and a map or file term's origin is checked against it: keyed by it
    placed = params.has_model or any(leaf.map is not None or leaf.file is not None for _, leaf in params.leaves(""))
    where = map_grid(grid) if grid is not None and placed else None
    try:
        mask, found = _expression_mask(
            params, tuple(shape_zyx), tuple(voxel_size_xyz), compat, label, _Unkeyed(grid), where, versions
        )
    except FieldError as exc:
        key = "expression" if exc.field == "expression" else f"expression.{exc.field}"
        raise UserError(exc.message, field=label(key)) from None
    for w in found:  # on every call, as build_mask's: a cached mask's warnings are not spent by the first caller
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return mask


class _Unkeyed:
    """A value passed through a cached function without being part of its key."""

    def __init__(self, value: ImageInfo | None) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Unkeyed)

    def __hash__(self) -> int:
        return 0


def _version(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_size, stat.st_mtime_ns


@lru_cache(maxsize=2)
def _expression_mask(
    params: ExpressionParams,
    shape_zyx: tuple[int, ...],
    voxel_size_xyz: tuple[float, float, float],
    compat: Compat,
    label: Label,
    grid: _Unkeyed,
    where: MapGrid | None,
    versions: tuple[tuple[int, int] | None, ...],
) -> tuple[Mask, tuple[warnings.WarningMessage, ...]]:
    """The mask and the warnings its terms gave, kept for the next call with the same terms, files and grid.

    A job asks for its mask when it plans, for every unit and when it gathers; ``where`` (the
    grid's origin and axes) and ``versions`` are in the key, ``grid`` (one of the maps of that
    grid) is not.
    """

    notes: list[str] = []
    kept: dict[str, KeptAllOrNothing] = {}
    at_edge: list[str] = []

    def leaf(key: str, term: Term) -> np.ndarray:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            values, found = _leaf_mask(key, term, shape_zyx, voxel_size_xyz, compat, label, grid.value)
            if grid.value is not None and (term.map is not None or term.file is not None):
                _warn_if_another_origin(term, grid.value, label(f"expression.{key}"), params.has_model)
        fix = None
        for w in caught:  # a term's mask keeping all or nothing is said below for the term, in the expression
            if isinstance(w.message, AllOrNothingWarning):
                fix = w.message.fix
            elif not isinstance(w.message, EdgeCutWarning):  # a term cut by the box: the whole mask may not be
                message = w.message
                if term.geometry is not None:  # a shape's own words name no file: say which term
                    message = w.category(f"{label(f'expression.{key}')} ({term.describe()}): {w.message}")
                warnings.warn_explicit(message, w.category, w.filename, w.lineno)
        if key.split(".").count("none_of") % 2 == 0 and max(face_peaks(values)) > 0:  # it keeps voxels there
            at_edge.append(key)
        if values.all() or not values.any():
            every = bool(values.all())
            kept[key] = KeptAllOrNothing(term, every, fix or term_fix(term, every))
        notes.extend(found)
        return values

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        binary = combine_terms(
            params,
            leaf,
            shape_zyx,
            label=lambda key: label(f"expression.{key}"),
            fix=lambda key, term, every: kept[key].fix if key in kept and kept[key].every == every else None,
        )
        values = finish_expression(binary, params.extend_px, params.soft_edge_px)
        for warning in kept_all_or_nothing_sentences(params, kept, binary, values, label):
            warnings.warn(warning, stacklevel=1)
    mask = replace(Mask.from_values(values, tuple(dict.fromkeys(notes))), edge_terms=tuple(at_edge))
    mask.values.setflags(write=False)  # shared by every caller, as build_mask's are
    return mask, tuple(caught)


def _leaf_mask(
    key: str,
    term: Term,
    shape_zyx: tuple[int, ...],
    voxel_size_xyz: tuple[float, float, float],
    compat: Compat,
    label: Label,
    grid: ImageInfo | None,
) -> tuple[np.ndarray, tuple[str, ...]]:
    """One leaf's binary mask for the box, and its notes (a model's); errors name its key path
    (``expression.all_of.0.map.file``)."""
    where = f"expression.{key}"
    notes: tuple[str, ...] = ()

    def named(name: str) -> str:
        return label(f"{where}.{name}")

    if term.map is not None:
        _exists(term.map.file, named("map.file"))
        _not_a_model(term.map.file, named("map.file"), len(shape_zyx) == 2)
        params = term.map.as_map_params()
        values = map_mask(params, shape_zyx, voxel_size_xyz, named).values
        if isinstance(params.threshold, str):  # a rule: the number it chose, as make-mask says it
            chosen = job_map_threshold(params, voxel_size_xyz)
            notes = (f"{named('map.threshold')} '{chosen.rule}' is {chosen.value:.6g}: {chosen.told}",)
    elif term.file is not None:
        _exists(term.file, named("file"))
        _not_a_model(term.file, named("file"), len(shape_zyx) == 2)
        values = load_created_mask(term.file, shape_zyx, voxel_size_xyz, field=named("file")).values
    elif term.geometry is not None:
        try:
            resolved = term.geometry.resolve(shape_zyx[-1], len(shape_zyx), pixel_size_angstrom=voxel_size_xyz[0])
        except FieldError as exc:
            raise UserError(exc.message, field=named(f"geometry.{exc.field}")) from None
        values = build_mask(resolved, shape_zyx, compat).values
    else:
        assert term.model is not None
        if grid is None or len(shape_zyx) != 3:
            raise UserError(  # a job says how to mask particles with a model (`check_no_model_term_on_images`)
                "a model term places atoms on a map's grid, and the inputs are particle images; use it in a "
                "job that masks maps",
                field=named("model.file"),
            )
        made = mask_from_model_file(term.model, grid.path, lambda name: named(f"model.{name}"))
        values, notes = made.values, made.notes
        if made.values.shape != tuple(shape_zyx):  # the data's own header: never, unless it changed meanwhile
            raise UserError("the map changed while its mask was made; run again", source=str(grid.path))
    kept: np.ndarray = np.asarray(values) >= FILE_TERM_THRESHOLD
    return kept, notes


def _warn_if_another_origin(term: Term, grid: ImageInfo, name: str, models: bool) -> None:
    """Warn of a map or file term whose origin is not the input map's (by more than a tenth of a voxel): it is
    combined voxel for voxel, its origin unused, where a model term (``models``) is placed by the input map's."""
    path = term.map.file if term.map is not None else term.file
    assert path is not None
    ours, theirs = map_grid(grid), map_grid(inspect_image(path))
    step = min(ours.step_zyx_angstrom) or 1.0
    if all(abs(a - b) <= 0.1 * step for a, b in zip(ours.origin_zyx_angstrom, theirs.origin_zyx_angstrom)):
        return
    model = f", while the model term is placed by {grid.path.name}'s origin" if models else ""
    warnings.warn(
        f"{name} ({term.describe()}): {path.name}'s origin ({_xyz(theirs)}) Å is not the input map "
        f"{grid.path.name}'s ({_xyz(ours)}) Å; it is combined voxel for voxel, its origin unused{model}: if the "
        f"two maps are not on one grid, resample {path.name} onto {grid.path.name}'s first (ChimeraX: volume "
        "resample … onGrid …)",
        MaskrunWarning,
        stacklevel=2,
    )


def _xyz(grid: MapGrid) -> str:
    return ", ".join(f"{v:g}" for v in grid.along_xyz(grid.origin_zyx_angstrom))


def _not_a_model(path: Path, field: str, images: bool) -> None:
    """Refuse an atomic model (by its name, as gemmi reads one) given as a map or mask file: read as an image, it was
    taken for metadata ("a STAR file?"). For particle ``images``, which no model term masks, the fix is a 3D mask."""
    if model_format(path) == "unknown":
        return
    if images:
        fix = (
            "particle images take a model as a 3D mask projected at each one's pose: make the model's 3D mask with "
            "maskrun make-mask and give it as mask.source: projection (mask.projection.file)"
        )
    else:
        fix = f"a model term places it on the map's grid: write model: {{file: {path.name}, radius: 3 A}}"
    raise UserError(f"is an atomic model, not a map; {fix}", source=str(path), field=field)


def _exists(path: Path, field: str) -> None:
    if not is_file(path):
        raise file_not_found(path, "check the path (relative to the job file)", field)
