"""Output metadata (docs/spec.md, "Outputs") and the job as resolved, for the run record.

Particle metadata keep every block, column and row order of the input, with only the
image column rewritten to the masked stacks; map sets get a listing of the masked maps.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from maskrun.io.star import Loop, write_metadata
from maskrun.jobs.cryosparc_set import write_cs
from maskrun.jobs.plan import JobPlan
from maskrun.jobs.scipion_set import write_set


def output_image_names(plan: JobPlan) -> list[str]:
    """``N@stacks/batch_K.mrcs`` for every kept particle row, in row order."""
    names = []
    for unit in plan.units:
        stack = plan.unit_output(unit).relative_to(plan.output_dir)
        names += [f"{i + 1:06d}@{stack}" for i in range(unit.stop_row - unit.first_row)]
    return names


def write_output_metadata(plan: JobPlan) -> list[Path]:
    """Write ``particles.star``/``.xmd``/``.cs`` (with its STAR) or the map listing; nothing for a single map."""
    target = plan.metadata_output
    if target is None:
        return []
    if plan.particles is not None:
        particles = plan.particle_set
        names = output_image_names(plan)
        blocks = dict(particles.blocks)
        blocks[particles.block_name] = particles.rows
        replace = {particles.block_name: {particles.image_column: names}}
        stacks = [name.partition("@")[2] for name in names]
        indices = np.concatenate([np.arange(u.stop_row - u.first_row) for u in plan.units])
        if particles.set_ids is not None:
            return [write_set(particles.source, target, particles.set_ids, stacks, list(indices + 1), _project(plan))]
        if particles.cs_records is None:
            return [write_metadata(blocks, target, particles.comments, replace)]
        star = write_metadata(blocks, plan.output_dir / "particles.star", particles.comments, replace)
        return [write_cs(particles.cs_records, stacks, indices, particles.box_yx, target), star]
    volumes = plan.volume_set
    masked = [str(plan.unit_output(u).relative_to(plan.output_dir)) for u in plan.units]
    if volumes.set_ids is not None and volumes.listing is not None:
        return [write_set(volumes.listing, target, volumes.set_ids, masked, [0] * len(masked), _project(plan))]
    if volumes.listing is not None and volumes.blocks is not None and volumes.block_name and volumes.column:
        replace = {volumes.block_name: {volumes.column: masked}}
        return [write_metadata(volumes.blocks, target, volumes.comments, replace)]
    originals = [os.path.relpath(info.path, plan.job.folder) for info in volumes.maps]
    listing = Loop.from_columns({"rlnImageName": masked, "rlnImageOriginalName": originals})
    return [write_metadata({"volumes": listing}, target, ["# version 30001"])]


def _project(plan: JobPlan) -> Path | None:
    """The job's ``inputs.project_dir``, absolute, if it gives one."""
    project = plan.job.spec.inputs.project_dir
    return plan.job.resolve(project) if project is not None else None


def resolved_job(plan: JobPlan, unit_records: list[dict]) -> dict:
    """The job with every default filled in and every ``-1`` turned into its number.

    Paths are absolute. The geometry is the one resolved for the inputs' box; when maps
    of several box sizes resolve differently, ``geometry_per_unit`` lists each.
    """
    job = plan.job
    data = job.spec.model_dump(mode="json", by_alias=True)
    if plan.particles is not None:
        data["inputs"] = {"particles": str(plan.particle_set.source)}
        if job.spec.inputs.optics is not None:
            data["inputs"]["optics"] = job.spec.inputs.optics.model_dump(exclude_none=True)
    else:
        data["inputs"] = {"volumes": [str(info.path) for info in plan.volume_set.maps]}
    data["output"]["dir"] = str(plan.output_dir)
    if job.mask.file is not None:
        data["mask"]["file"] = str(job.mask.file)
    if job.mask.map is not None:
        unused = None if job.mask.map.helix else {"z_percentage"}  # refused without helix when read back
        data["mask"]["map"] = job.mask.map.model_dump(mode="json", by_alias=True, exclude=unused)
    geometries = {record["unit"]: record["resolved_geometry"] for record in unit_records}
    distinct = {repr(g) for g in geometries.values()}
    if job.mask.geometry is not None:
        data["mask"]["geometry"] = next(iter(geometries.values()))
        if len(distinct) > 1:
            data["mask"]["geometry_per_unit"] = geometries
    if plan.particles is not None:
        data["box_px"] = list(plan.particle_set.box_yx[::-1])
        data["pixel_size_angstrom"] = plan.particle_set.pixel_size_angstrom
    return data
