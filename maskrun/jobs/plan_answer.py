"""A job's plan as JSON, as the answers of ``maskrun validate --json`` and ``maskrun run --json`` hold it.

Counts and ranges, never a list of rows: a million particles are a count, each unit the rows
it covers (``first_row``, ``stop_row``: from 0, the stop left out, as a slice), so that a
job of 1,000 units answers in about 150 kB. Paths are absolute, as the plan resolves them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from maskrun._version import __version__
from maskrun.jobs.output_state import Redo, describe_redo
from maskrun.jobs.plan import JobPlan, Unit

LISTED = 100  # masked files listed by name up to this many; more are a folder and a count


def answer_head(command: str, job: str | Path) -> dict[str, Any]:
    """What every answer starts with: the command, maskrun's version and the job file."""
    return {"command": command, "maskrun": __version__, "job": str(job)}


def said(plan: JobPlan | None, warnings: list[str], notes: list[str]) -> dict[str, list[str]]:
    """The warnings and notes the command said, each once; with a plan, its notes first (``validate`` says them among
    its lines, and a run that has nothing to do says none)."""
    planned = plan.notes if plan is not None else []
    return {"warnings": list(dict.fromkeys(warnings)), "notes": list(dict.fromkeys([*planned, *notes]))}


def inputs_answer(plan: JobPlan) -> dict[str, Any]:
    """The input set: its kind (``particles`` or ``maps``), count, format and file, and its images' box and size."""
    if plan.particles is not None:
        p = plan.particles
        return {
            "kind": "particles",
            "count": len(p),
            "format": p.format,
            "file": str(p.source),
            "stacks": len(p.stack_paths),
            "box_px": [p.box_yx[1], p.box_yx[0]],
            "pixel_size_angstrom": p.pixel_size_angstrom or None,  # 0: optics groups of several (`pixel_size`)
            "pixel_size": p.pixel_size_said,
            "dropped_rows": p.dropped_rows,
        }
    volumes = plan.volume_set
    formats = plan.input_formats()
    return {
        "kind": "maps",
        "count": len(volumes.maps),
        "format": formats[volumes.listing] if volumes.listing else ", ".join(sorted({i.format for i in volumes.maps})),
        "file": str(volumes.listing) if volumes.listing else None,
        "maps": [
            {
                "file": str(info.path),
                "format": info.format,
                "box_px": list(info.box_xyz),
                "voxel_size_angstrom": list(info.voxel_size_xyz),
            }
            for info in volumes.maps
        ],
    }


def units_answer(plan: JobPlan) -> dict[str, Any]:
    """The units: how many, of which kind (``batch`` or ``map``), and each one's id, rows or map, and output."""
    return {
        "count": len(plan.units),
        "kind": "batch" if plan.particles is not None else "map",
        "list": [_unit(plan, unit) for unit in plan.units],
    }


def _unit(plan: JobPlan, unit: Unit) -> dict[str, Any]:
    covers = (
        {"first_row": unit.first_row, "stop_row": unit.stop_row}
        if unit.is_batch
        else {"map": str(plan.volume_set.maps[unit.map_index].path)}
    )
    return {"id": unit.id, **covers, "output": str(plan.unit_output(unit))}


def outputs_answer(plan: JobPlan) -> dict[str, Any]:
    """What the run writes: the metadata, the masked files (named when at most `LISTED`), the masks, each particle's
    masks when saved, the run record, the report and the check (None when the job has none)."""
    masked = [plan.unit_output(unit) for unit in plan.units]
    per_particle = [path for unit in plan.units if (path := plan.particle_masks_output(unit)) is not None]
    html = plan.report_dir / "report.html"
    return {
        "metadata": [str(path) for path in plan.metadata_outputs],
        "masked": {
            "folder": str(masked[0].parent),
            "count": len(masked),
            "files": [str(path) for path in masked] if len(masked) <= LISTED else None,
        },
        "masks": [str(path) for path in plan.mask_outputs()],
        "particle_masks": {"folder": str(per_particle[0].parent), "count": len(per_particle)} if per_particle else None,
        "run_record": str(plan.run_record_path),
        "report": str(html) if plan.job.spec.report else None,
        "check": str(plan.check_output) if plan.check_output is not None else None,
        "logs": str(plan.log_path("gather").parent),
    }


def redo_answer(plan: JobPlan, redo: Redo | None) -> dict[str, Any] | None:
    """What a redo of the finished run masks again (``output.overwrite: true``): how many of how many units, which,
    and in ``validate``'s words; None without one."""
    if redo is None:
        return None
    return {
        "count": len(redo.units),
        "of": redo.every,
        "units": [unit.id for unit in redo.units],
        "said": describe_redo(plan, redo),
    }
