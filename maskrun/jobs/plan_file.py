"""A job's plan, saved once in its output folder and read by the workflow and every unit.

``maskrun run`` plans a job (reads the metadata, resolves every image, checks every
header and the mask) once, then saves the plan as ``<output>/.maskrun/plan.json``
(units, stacks with their headers, box, pixel size, the fingerprints of the files the
plan came from) beside ``rows.npy`` (each particle's stack and image, int64 ``(n, 2)``)
and, for masks that follow the particles, ``placements.npy`` (`JobPlan.placements`).
Snakemake's parse of the Snakefile, on the launching machine and on every cluster node,
and each unit read the plan instead of planning again; a unit maps ``rows.npy`` and
reads only its own rows. A saved plan is used only while it is fresh: same plan
version, same job as it resolves (`Job.recipe`: a comment does not count), and the
metadata, mask and listing files as they were (size and modification time).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np

from maskrun.config.job_file import Job
from maskrun.formats.map_set import VolumeSet
from maskrun.formats.particle_set import ParticleSet
from maskrun.io.atomic import AtomicFile, write_atomic
from maskrun.io.image_info import ImageInfo, file_stat
from maskrun.jobs.plan import JobPlan, Unit, plan_job
from maskrun.jobs.same_job import first_change

PLAN_VERSION = 5  # 2: the particles' references_base; 3: placements; 4: the maps' references_base; 5: the stacks'
# and maps' stats as their headers were read (`ImageInfo.file_stat`)
FOLDER = ".maskrun"


def plan_paths(output_dir: Path) -> tuple[Path, Path]:
    """Where a job's plan is saved: ``plan.json`` and ``rows.npy`` in ``<output>/.maskrun/``."""
    folder = output_dir / FOLDER
    return folder / "plan.json", folder / "rows.npy"


def cache_folder(output_dir: Path) -> Path:
    """Where a run keeps the caches of Snakemake and matplotlib when the user's cannot be written (a read-only home):
    ``<output>/.maskrun/cache``."""
    return output_dir / FOLDER / "cache"


def _placements_path(output_dir: Path) -> Path:
    return output_dir / FOLDER / "placements.npy"


def save_plan(plan: JobPlan) -> Path:
    """Save a plan (atomically: ``plan.json`` is written last and names the rows it goes with).

    Returns
    -------
    Path
        The ``plan.json`` written.
    """
    json_path, rows_path = plan_paths(plan.output_dir)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    data: dict[str, Any] = {
        "version": PLAN_VERSION,
        "job_recipe_sha256": plan.job.recipe_sha256,
        "job_as_written": plan.job.text,  # to name the setting an edit changed (`saved_plan_change`)
        "fingerprints": [_fingerprint(path) for path in _planned_from(plan)],
        "units": [[u.id, u.first_row, u.stop_row, u.map_index, list(u.stacks), list(u.hashed)] for u in plan.units],
        "launcher_pid": plan.launcher_pid,
        "launcher_command": plan.launcher_command,
        "launched": plan.launched,
        "particles": None,
        "volumes": None,
        "projection_coarsening": plan.projection_coarsening,
        "projection_in_full_because": plan.projection_in_full_because,
        "warnings": plan.warnings,
        "kept_all_or_nothing_said": plan.kept_all_or_nothing_said,
        "notes": plan.notes,
        "placements": None,
        "output_dtype": plan.output_dtype.name,  # a run resumed by a later maskrun writes its units alike
    }
    if plan.placements is not None:
        placements_path = _placements_path(plan.output_dir)
        with AtomicFile(placements_path) as tmp, open(tmp, "wb") as file:
            np.save(file, np.ascontiguousarray(plan.placements, dtype=np.float64), allow_pickle=False)
        data["placements"] = _fingerprint(placements_path)
    if plan.particles is not None:
        p = plan.particles
        rows = np.stack([p.stack_of_row, p.image_index], axis=1).astype(np.int64)
        with AtomicFile(rows_path) as tmp, open(tmp, "wb") as file:
            np.save(file, rows, allow_pickle=False)
        data["particles"] = {
            "source": str(p.source),
            "format": p.format,
            "image_column": p.image_column,
            "block_name": p.block_name,
            "box_yx": list(p.box_yx),
            "pixel_size_angstrom": p.pixel_size_angstrom,
            "pixel_sizes_angstrom": list(p.pixel_sizes_angstrom),  # several: the report names them, as validate
            "pixel_size_groups": list(p.pixel_size_groups),
            "pixel_sizes_field": p.pixel_sizes_field,
            "dropped_rows": p.dropped_rows,
            "notes": p.notes,
            "references_base": None if p.references_base is None else str(p.references_base),
            "rows": len(p),
            "rows_file": _fingerprint(rows_path),
            "stacks": [_info_dict(p.stacks[path]) for path in p.stack_paths],
        }
    else:
        v = plan.volume_set
        data["volumes"] = {
            "maps": [_info_dict(info) for info in v.maps],
            "is_set": v.is_set,
            "listing": str(v.listing) if v.listing is not None else None,
            "references_base": None if v.references_base is None else str(v.references_base),
        }
    return write_atomic(json_path, json.dumps(data, separators=(",", ":")))


def load_saved_plan(job: Job, stale_too: bool = False) -> JobPlan | None:
    """The job's saved plan, if there is one and it is fresh (or ``stale_too``); None otherwise (plan the job then).

    A particle set read back has the images' places (stacks, headers, each row's stack
    and image, mapped from ``rows.npy``) but not the metadata: `JobPlan.with_metadata`
    reads that when it is needed. ``stale_too``: the plan even if the job or its files
    changed since (a run in progress goes on by the plan it made; see
    `maskrun.workflow.support.load_plan`).
    """
    json_path, rows_path = plan_paths(job.output_dir)
    data = _read_saved(json_path)
    if data is None or (not stale_too and _stale(data, job, rows_path) is not None):
        return None
    try:
        return _plan_from(data, job, rows_path)
    except (OSError, ValueError):  # stale_too: the rows or placements gone or rewritten since
        return None


def _plan_from(data: dict[str, Any], job: Job, rows_path: Path) -> JobPlan:
    """The plan saved as ``data`` (and ``rows_path``, ``placements.npy``)."""
    units = [
        Unit(i, first, stop, index, tuple(stacks), tuple(hashed))
        for i, first, stop, index, stacks, hashed in data["units"]
    ]
    if data["particles"] is not None:
        saved = data["particles"]
        rows = np.load(rows_path, mmap_mode="r")
        infos = [_info(d) for d in saved["stacks"]]
        particles = ParticleSet(
            source=Path(saved["source"]),
            format=saved["format"],
            blocks={},
            comments=[],
            block_name=saved["block_name"],
            image_column=saved["image_column"],
            rows=None,  # type: ignore[arg-type]  # read by with_metadata when needed
            stack_paths=[info.path for info in infos],
            stack_of_row=rows[:, 0],
            image_index=rows[:, 1],
            stacks={info.path: info for info in infos},
            box_yx=tuple(saved["box_yx"]),
            pixel_size_angstrom=saved["pixel_size_angstrom"],
            pixel_sizes_angstrom=tuple(saved.get("pixel_sizes_angstrom", ())),
            pixel_size_groups=tuple(saved.get("pixel_size_groups", ())),
            pixel_sizes_field=saved.get("pixel_sizes_field", ""),
            dropped_rows=saved["dropped_rows"],
            notes=saved["notes"],
            references_base=None if saved["references_base"] is None else Path(saved["references_base"]),
            has_metadata=False,
        )
        plan = JobPlan(job, particles, None, units, data.get("launcher_pid"))
    else:
        saved = data["volumes"]
        listing = Path(saved["listing"]) if saved["listing"] else None
        base = saved["references_base"]
        volumes = VolumeSet(
            [_info(d) for d in saved["maps"]],
            saved["is_set"],
            listing,
            has_metadata=listing is None,
            references_base=None if base is None else Path(base),
        )
        plan = JobPlan(job, None, volumes, units, data.get("launcher_pid"))
    plan.launcher_command = data.get("launcher_command")
    plan.launched = data.get("launched")
    plan.projection_coarsening = float(data.get("projection_coarsening", 1))
    plan.projection_in_full_because = data.get("projection_in_full_because")
    plan.warnings = data.get("warnings", [])
    plan.kept_all_or_nothing_said = data.get("kept_all_or_nothing_said", [])
    plan.notes = data.get("notes", [])
    # units done by a maskrun before float16 output (none saved) wrote float32: the rest are written alike
    plan.output_dtype = np.dtype(data.get("output_dtype", "float32"))
    if data["placements"] is not None:
        plan.placements = np.load(_placements_path(job.output_dir), mmap_mode="r")  # a unit reads its columns' pages
    return plan


def load_or_plan(job: Job) -> tuple[JobPlan, bool]:
    """The job's fresh saved plan, or the job planned now; and whether the plan was the saved one.

    Raises
    ------
    UserError
        When the job is planned now and its inputs do not pass (see `plan_job`).
    """
    saved = load_saved_plan(job)
    return (saved, True) if saved is not None else (plan_job(job), False)


def image_changed_since_read(plan: JobPlan) -> Path | None:
    """The first stack or map that is not of the size, modification and change times the plan read its header at
    (`ImageInfo.file_stat`), or gone; None when all are as they were.

    A saved plan's freshness (`_stale`) does not look at the stacks or maps, whose headers it
    holds: every unit of a run reads the plan, and 20,000 stats at each would add up. A run that
    resumes from it looks at them once, here: a stack re-extracted since (as float32, at another
    box) has the job planned anew, rather than read at its old header's offsets.
    """
    for info in plan.image_infos:
        try:
            now = file_stat(info.path.stat())
        except OSError:
            return info.path
        if now != info.file_stat:
            return info.path
    return None


def saved_plan_change(job: Job) -> str | None:
    """What changed since the job's saved plan was made: ``mask.geometry.radius in the job file`` (or ``the job
    file``), or the path of a metadata, listing or mask file; None without a saved plan (or one of another version),
    or with a fresh one.
    """
    json_path, rows_path = plan_paths(job.output_dir)
    data = _read_saved(json_path)
    change = None if data is None else _stale(data, job, rows_path)
    if change != JOB_FILE or data is None:
        return change
    key = first_change({"job_file": str(job.path), "job_as_written": data.get("job_as_written")}, job)
    return f"{key} in {JOB_FILE}" if key else JOB_FILE


JOB_FILE = "the job file"


def _read_saved(json_path: Path) -> dict[str, Any] | None:
    """A saved plan's JSON data, if there is one of this version."""
    try:
        data = json.loads(json_path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("version") == PLAN_VERSION else None


def _stale(data: dict[str, Any], job: Job, rows_path: Path) -> str | None:
    """`JOB_FILE`, or the first file the saved plan came from that changed since; None while it is fresh."""
    if data.get("job_recipe_sha256") != job.recipe_sha256:
        return JOB_FILE
    for path, size, mtime in data["fingerprints"]:
        if _fingerprint(Path(path)) != [path, size, mtime]:
            return str(path)
    if data["particles"] is not None and _fingerprint(rows_path) != data["particles"]["rows_file"]:
        return str(rows_path)
    placements_path = _placements_path(job.output_dir)
    if data["placements"] is not None and _fingerprint(placements_path) != data["placements"]:
        return str(placements_path)
    return None


def _planned_from(plan: JobPlan) -> list[Path]:
    """The files whose change makes a saved plan stale: metadata, listing, passthrough, mask file."""
    job = plan.job
    files = [job.resolve(job.spec.inputs.passthrough)] if job.spec.inputs.passthrough else []
    if plan.particles is not None:
        files.append(plan.particles.source)
    elif plan.volume_set.listing is not None:
        files.append(plan.volume_set.listing)
    else:
        files += [info.path for info in plan.volume_set.maps]
    files += job.mask.input_files
    return list(dict.fromkeys(files))


def _fingerprint(path: Path) -> list[Any]:
    try:
        stat = path.stat()
    except OSError:
        return [str(path), None, None]
    return [str(path), stat.st_size, stat.st_mtime_ns]


def _info_dict(info: ImageInfo) -> dict[str, Any]:
    # field by field, not dataclasses.asdict (a deep copy: 37 against 2 us, 0.7 s for 20,000 stacks)
    data = {field.name: getattr(info, field.name) for field in _INFO_FIELDS}
    data["path"] = str(info.path)
    data["dtype"] = info.dtype.str
    return data


_INFO_FIELDS = dataclasses.fields(ImageInfo)


def _info(data: dict[str, Any]) -> ImageInfo:
    values = dict(data)
    values["path"] = Path(values["path"])
    values["dtype"] = np.dtype(values["dtype"])
    for name, value in values.items():
        if isinstance(value, list):
            values[name] = tuple(value)
    return ImageInfo(**values)
