"""A mask section in words, for ``maskrun validate`` and the report's summary alike.

It reads the mask as the run record's ``job_resolved`` holds it (a shape's lengths already
in px, a map's chosen threshold, a projection's chosen sampling as ``coarsening``), and
``maskrun validate`` passes the same form before the run: one text for both.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from maskrun.config.expression_params import ExpressionParams
from maskrun.config.projection_params import sampled_share
from maskrun.config.shape_params import LENGTH_FIELDS

LENGTHS = tuple(name for name in LENGTH_FIELDS if name != "center")  # from the shape registry
MAP_LENGTHS = (("extend_px", "extend"), ("soft_edge_px", "soft edge"))
COMBINED = ("and", "or", "and_not", "or_not")  # a map mask's second map, by the key the job gives it
FOLLOW = {
    "offsets": "placed at each particle's offset",
    "pose": "placed at each particle's offset and turned by its psi",
}


def length(pixels: float, pixel_size: float) -> str:
    """``"20 px (40 Å)"``; the Å only when the pixel size is known."""
    angstrom = f" ({pixels * pixel_size:.4g} Å)" if pixel_size > 0 else ""
    return f"{pixels:.4g} px{angstrom}"


def _lengths(value: object, pixel_size: float) -> str:
    if isinstance(value, list | tuple):
        return " x ".join(length(float(v), pixel_size) for v in value)
    if isinstance(value, str):  # a length in Å, as written (before the pixel size resolves it)
        return value.replace(" A", " Å")
    return length(float(value), pixel_size)  # type: ignore[arg-type]  # a number in a resolved job


def describe_mask(mask: Mapping[str, Any], pixel_size: float) -> str:
    """The mask in words, lengths in px and Å (``circular: radius 20 px (40 Å)``)."""
    if mask.get("geometry"):
        text = _shape_text(mask["geometry"], pixel_size)
        return f"{text}; {FOLLOW[mask['follow']]}" if mask.get("follow") in FOLLOW else text
    if mask.get("map"):
        params = mask["map"]
        threshold = params["threshold"]
        parts = [f"threshold {threshold:g}" if isinstance(threshold, int | float) else f"threshold {threshold}"]
        parts += [f"{name} {length(float(params[key]), pixel_size)}" for key, name in MAP_LENGTHS if params.get(key)]
        if params.get("lowpass_angstrom"):
            parts.insert(0, f"low-pass {params['lowpass_angstrom']:g} Å")
        combined = [f"{name.replace('_', ' ')} {Path(str(params[name])).name}" for name in COMBINED if params.get(name)]
        parts[1 if params.get("lowpass_angstrom") else 0 : 0] = combined  # the seed's second map, before its threshold
        parts += _map_steps(params)
        return f"made from {Path(str(params['file'])).name}: {', '.join(parts)}"
    if mask.get("expression"):
        return expression_text(mask["expression"], pixel_size)
    if mask.get("projection"):
        return projection_text(mask["projection"], pixel_size)
    return f"from file {Path(str(mask.get('file'))).name}"


def _map_steps(params: Mapping[str, Any]) -> list[str]:
    """The map mask's optional steps, in words (`maskrun.geometry.map_mask` says in which order they run)."""
    steps = ["largest piece only"] if params.get("keep_largest_component") else []
    if params.get("min_component_voxels"):
        steps.append(f"pieces of at least {params['min_component_voxels']} voxels")
    steps += ["holes filled"] if params.get("fill_holes") else []
    if params.get("helix"):
        steps.append(f"helical crop to the central {float(params.get('z_percentage', 0.3)):.0%} in z")
    return steps + (["inverted"] if params.get("invert") else [])


def _shape_text(geometry: Mapping[str, Any], pixel_size: float) -> str:
    parts = [f"{key.replace('_', ' ')} {_lengths(geometry[key], pixel_size)}" for key in LENGTHS if key in geometry]
    if any(geometry.get("center") or []):
        parts.append(f"centre shifted by {', '.join(f'{c:g}' for c in geometry['center'])} px")
    parts += ["inverted"] if geometry.get("invert") else []
    return f"{geometry['shape']}: {', '.join(parts)}" if parts else str(geometry["shape"])


def projection_text(params: Mapping[str, Any], pixel_size: float) -> str:
    """A projected mask in words: its 3D mask, how each projection becomes a mask, and the sampling."""
    source = f"{Path(str(params.get('file'))).name} projected at each particle's pose"
    if params.get("mode", "support") == "scaled":
        how = "scaled (each projection divided by its peak)"
    else:
        edge = float(params.get("soft_edge_px", 0))
        soft = f"soft edge {length(edge, pixel_size)}" if edge > 0 else "hard edge"
        how = f"support above {params.get('threshold', 0):g} of each projection's peak, {soft}"
    return f"{source}: {how}; {sampling_text(params)}"


def sampling_text(params: Mapping[str, Any]) -> str:
    """The sampling asked for and, once planned, the one chosen (``coarsening``: 1 is the full projector)."""
    chosen = params.get("coarsening")
    if chosen is None:
        return f"sampling {params.get('sampling', 'auto')}"
    if chosen == 1:
        why = f" ({params['in_full_because']})" if params.get("in_full_because") else ""
        return f"sampling {params.get('sampling', 'auto')}: projected in full, as relion_project does{why}"
    kept = sampled_share(chosen)
    return f"sampling auto: projected at {kept} of the box's frequencies (the masks checked within tolerance)"


def expression_text(params: Mapping[str, Any], pixel_size: float) -> str:
    """A mask expression (as the run record holds it) in words: its terms, then its extension and soft edge."""
    try:
        text = ExpressionParams.model_validate(params).describe(pixel_size)
    except ValueError:  # a record written by another version
        text = "terms combined"
    parts = [f"{name} {length(float(params[key]), pixel_size)}" for key, name in MAP_LENGTHS if params.get(key)]
    return f"expression {text}" + (f"; then {', '.join(parts)}" if parts else "")
