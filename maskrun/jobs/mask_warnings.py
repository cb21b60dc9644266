"""Warnings about a job's masks themselves, for the run record whether or not a report is written."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from maskrun.config.expression_params import ExpressionParams
from maskrun.config.mask_spec import MaskSpec
from maskrun.errors import all_or_nothing_does
from maskrun.geometry.along_z import uniform_along_z
from maskrun.geometry.box_edge import ALONG_Z, SHRINK_OR_MOVE, z_faces_only
from maskrun.geometry.masks import keeps_all_or_nothing, unit_of

TERM_AT_THE_EDGE = {  # what to change in an expression's term that reaches the box edge, by its kind
    "map": (
        "raise its threshold, low-pass it (lowpass_angstrom) or set keep_largest_component: true; if the density "
        "itself reaches the box edge, the data need a larger box"
    ),
    "model": (
        "check that the model is fitted in this map (the right map, its origin), select only the atoms inside the "
        "box, or make its radius or extend smaller"
    ),
    "geometry": SHRINK_OR_MOVE,
    "file": "remake the mask file smaller where it was made, or use data in a larger box",
}
MAP_AT_THE_EDGE = (
    "raise mask.map.threshold or make its extend_px and soft_edge_px smaller; if the density itself reaches the "
    "box edge, the data need a larger box"
)
MAP_ALONG_Z = (
    f"{ALONG_Z}, as a density running along z (a helix) does: set mask.map.helix: true to keep the central "
    "mask.map.z_percentage of the box along z (RELION's --helix; a fraction, 0.3 by default)"
)
MAP_HELIX_ALONG_Z = (
    "it reaches only the box's z faces, where the helical crop ends: make mask.map.z_percentage or "
    "mask.map.soft_edge_px smaller"
)
CYLINDER_ALONG_Z = f"{ALONG_Z}: make mask.geometry.height smaller (by default the box, {{box}} px)"
SOFTEN = "give it a soft edge of about 5-10 px"
FILE_SOFTENING = (
    "soften the mask file by 5-10 px where it was made (relion_mask_create's width_soft_edge, or maskrun make-mask's "
    "soft edge)"
)
FILE_AT_THE_EDGE = (
    "remake the mask file smaller where it was made (a higher threshold, a smaller extend or soft edge), or use "
    "data in a larger box"
)


def keeps_nothing_or_everything(mask: np.ndarray, said: Collection[bool] = ()) -> str | None:
    """A sentence when the mask is all 0 or all 1, else None.

    None too when planning's warnings ``said`` it already (`JobPlan.kept_all_or_nothing_said`:
    True for everything, False for nothing), in their own words: a shape's or map's names the
    mask and what to change, an expression's the term that keeps every voxel.
    """
    keeps_all = keeps_all_or_nothing(mask)
    if keeps_all is None or keeps_all in said:
        return None
    return f"the mask keeps {'everything' if keeps_all else 'nothing'}: {all_or_nothing_does(keeps_all, unit_of(mask))}"


def mask_warnings(masks: Iterable[np.ndarray], said: Collection[bool] = ()) -> list[str]:
    """The warnings of a job's masks (one per box: shape, file or map), once each, for ``run.json``'s ``warnings``;
    ``said``: what planning said they keep, as `keeps_nothing_or_everything` takes it."""
    found = (keeps_nothing_or_everything(values, said) for values in masks)
    return list(dict.fromkeys(w for w in found if w))


def hard_edge_on_particles(binary: bool, fix: str = SOFTEN) -> str | None:
    """Particles go on to Fourier-space processing, where a hard edge rings; ``fix`` says how to soften it (maps go
    on to none: their jobs are not asked)."""
    if binary:
        return (
            "a hard-edged mask on particles headed for Fourier-space processing (refinement, "
            f"classification) adds ringing; {fix}"
        )
    return None


def hard_edge_warning(spec: MaskSpec, mask: np.ndarray) -> str | None:
    """`hard_edge_on_particles` for a particle job's mask, with the fix in its job file's terms (`softening`).

    ``mask``: the mask of the particles' box, as planning builds it and the run saves it (for
    ``follow``: the shape at the box centre). It is hard-edged when every value is 0 or 1 and
    it keeps some pixels but not all (all 1 or all 0 has no edge in the box). A projected
    mask, each particle's own, is judged by its settings: ``support`` with no soft edge (the
    box's mask is all ones). Planning says it (``validate``, the start of ``run``) and the
    report again, in the same words: said once.
    """
    projection = spec.projection
    if projection is not None:
        hard = projection.mode == "support" and projection.soft_edge_px == 0
    else:
        hard = bool(np.all((mask == 0) | (mask == 1))) and bool(mask.min() < mask.max())
    return hard_edge_on_particles(hard, softening(spec))


def softening(spec: MaskSpec) -> str:
    """How to give a job's mask a soft edge: the job file's setting of its source (a file is softened where it was
    made; a raised crown's edge is its ``border_decay``)."""
    if spec.source == "geometry":
        if spec.geometry is not None and spec.geometry.shape == "raised_crown":
            return "give the shape a soft edge of about 5-10 px (mask.geometry.border_decay: 3, half the edge's width)"
        return "give the shape a soft edge of about 5-10 px (mask.geometry.soft_edge: 6)"
    if spec.source in ("map", "expression", "projection"):
        return f"set mask.{spec.source}.soft_edge_px to about 5-10"
    return FILE_SOFTENING


def check_warning(check: Mapping[str, Any]) -> str | None:
    """A sentence when a job's half-map check (``check.json`` or its gist) judged the mask not fine, else None.

    One line: the verdict, then each reason (worst first) with its measures and what to change,
    as the check's figure words them, then its notes (a mask leaving parts of the density out:
    how to check a focused mask as one).
    """
    verdict = check.get("verdict")
    if verdict is None or verdict == "fine":
        return None
    reasons = [f"{r['verdict']}: {r['measured']} → {r['suggestion']}" for r in check.get("reasons") or []]
    found = "; ".join(reasons) if reasons else f"{verdict} (see check/check.json)"
    notes = "".join(f"; note: {note}" for note in check.get("notes") or [])
    return f"the mask's check says {found}{notes}"


def edge_advice(spec: MaskSpec, mask: np.ndarray | None = None, edge_terms: Sequence[str] = ()) -> str:
    """What to change when the mask is cut by the box, in the terms of its source.

    A shape's centre and size; a map mask's threshold, extend and edge; a mask file's making;
    an expression's terms that reach the box edge (``edge_terms``, by key path: `expression_edge_advice`).
    ``mask``: the mask's values, for where it reaches the box
    (`z_faces_only`). A map mask without the helical crop reaching only the two z faces and
    about uniform along z (`uniform_along_z` of its slices' sums, as a helix's is): the crop
    (``helix``) is what to add; one falling towards the z faces (a long particle's) keeps the
    threshold advice. One with the crop reaching any z face: its z_percentage or soft edge.
    A cylinder reaching only the two z faces: its height.
    """
    z_faces = 0 if mask is None else z_faces_only(mask)
    if spec.source == "map" and spec.map is not None:
        if z_faces and spec.map.helix:
            return MAP_HELIX_ALONG_Z
        along_z = z_faces == 2 and mask is not None and uniform_along_z(mask.sum(axis=(1, 2)))
        return MAP_ALONG_Z if along_z else MAP_AT_THE_EDGE
    if spec.source == "file":
        return FILE_AT_THE_EDGE
    cylinder = spec.source == "geometry" and spec.geometry is not None and spec.geometry.shape == "cylinder"
    if z_faces == 2 and mask is not None and cylinder:
        return CYLINDER_ALONG_Z.format(box=mask.shape[-1])
    if spec.source == "expression" and spec.expression is not None:
        return expression_edge_advice(spec.expression, edge_terms)
    return SHRINK_OR_MOVE


def expression_edge_advice(expression: ExpressionParams, edge_terms: Sequence[str]) -> str:
    """What to change in an expression cut by the box: each term that keeps voxels at the box edge (``edge_terms``,
    key paths; a ``none_of`` term removes voxels, it is never to blame), named, with what fits its kind; and the
    expression's extend and soft edge, which carry the mask further."""
    leaves = dict(expression.leaves(""))
    parts = [
        f"where mask.expression.{key} ({leaves[key].describe()}) reaches it, {TERM_AT_THE_EDGE[leaves[key].kind]}"
        for key in edge_terms
        if key in leaves
    ]
    grown = [name for name in ("extend_px", "soft_edge_px") if getattr(expression, name) > 0]
    if grown:
        names = " and ".join(f"mask.expression.{name}" if i == 0 else name for i, name in enumerate(grown))
        parts.append(f"{'or ' if parts else ''}make {names} smaller")
    return "; ".join(parts) or SHRINK_OR_MOVE
