"""The report's summary: what was masked, with which mask and fill (px and Å), how long it took, how many warnings.

Read from the run record's job as resolved (every ``-1`` already a number of pixels), so the
summary states what the run did, not what the job file asked.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from maskrun.config.expression_params import ExpressionParams
from maskrun.config.fill import FILL_KINDS
from maskrun.config.shape_params import LENGTH_FIELDS

LENGTHS = tuple(name for name in LENGTH_FIELDS if name != "center")  # from the shape registry
MAP_LENGTHS = (("extend_px", "extend"), ("soft_edge_px", "soft edge"))


def length(pixels: float, pixel_size: float) -> str:
    """``"20 px (40 Å)"``; the Å only when the pixel size is known."""
    angstrom = f" ({pixels * pixel_size:.4g} Å)" if pixel_size > 0 else ""
    return f"{pixels:g} px{angstrom}"


def _lengths(value: object, pixel_size: float) -> str:
    if isinstance(value, list):
        return " x ".join(length(float(v), pixel_size) for v in value)
    return length(float(value), pixel_size)  # type: ignore[arg-type]  # a number in a resolved job


def mask_text(mask: dict[str, Any], pixel_size: float) -> str:
    """The resolved mask in words, lengths in px and Å."""
    if mask.get("geometry"):
        geometry = mask["geometry"]
        parts = [f"{key.replace('_', ' ')} {_lengths(geometry[key], pixel_size)}" for key in LENGTHS if key in geometry]
        if any(geometry.get("center") or []):
            parts.append(f"centre shifted by {', '.join(f'{c:g}' for c in geometry['center'])} px")
        parts += ["inverted"] if geometry.get("invert") else []
        return f"{geometry['shape']}: {', '.join(parts)}" if parts else str(geometry["shape"])
    if mask.get("map"):
        params = mask["map"]
        parts = [f"threshold {params['threshold']:g}"]
        parts += [f"{name} {length(float(params[key]), pixel_size)}" for key, name in MAP_LENGTHS if params.get(key)]
        if params.get("lowpass_angstrom"):
            parts.insert(0, f"low-pass {params['lowpass_angstrom']:g} Å")
        parts += ["inverted"] if params.get("invert") else []
        return f"made from {Path(str(params['file'])).name}: {', '.join(parts)}"
    if mask.get("expression"):
        return expression_text(mask["expression"], pixel_size)
    return f"from file {Path(str(mask.get('file'))).name}"


def expression_text(params: dict[str, Any], pixel_size: float) -> str:
    """A mask expression (as the run record holds it) in words: its terms, then its extension and soft edge."""
    try:
        text = ExpressionParams.model_validate(params).describe()
    except ValueError:  # a record written by another version
        text = "terms combined"
    parts = [f"{name} {length(float(params[key]), pixel_size)}" for key, name in MAP_LENGTHS if params.get(key)]
    return f"expression {text}" + (f"; then {', '.join(parts)}" if parts else "")


def fill_text(fill: dict[str, Any]) -> str:
    """The fill in words."""
    kind = fill.get("with", "value")
    if kind == "value":
        return f"the value {fill.get('value', 0):g}"
    if kind == "noise":
        return f"{FILL_KINDS[kind].words} (seed {fill.get('seed', 0)})"
    return FILL_KINDS[kind].words if kind in FILL_KINDS else str(kind)


def duration(record: dict[str, Any]) -> str:
    """The run's wall time from its record's start and end, or ``"unknown"``."""
    try:
        seconds = (datetime.fromisoformat(record["end"]) - datetime.fromisoformat(record["start"])).total_seconds()
    except (KeyError, TypeError, ValueError):
        return "unknown"
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def summary_lines(record: dict[str, Any], what: str, pixel_size: float, n_warnings: int) -> list[str]:
    """The lines at the top of the report; ``what`` counts the data (``"60 particles of 64 x 64 px"``)."""
    resolved = record.get("job_resolved", {})
    size = f", {pixel_size:g} Å/px" if pixel_size > 0 else ", pixel size unknown"
    return [
        f"Masked: {what}{size}",
        f"Mask: {mask_text(resolved.get('mask', {}), pixel_size)}",
        f"Fill: {fill_text(resolved.get('fill', {}))}",
        f"Time: {duration(record)}",
        f"Warnings: {n_warnings}",
    ]
