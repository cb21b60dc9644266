"""Output metadata (docs/spec.md, "Outputs") and the job as resolved, for the run record.

Particle metadata keep every block, column and row order of the input, with only the
image column rewritten to the masked stacks; map sets get a listing of the masked maps.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from maskrun.config.fill import FILL_KINDS
from maskrun.config.mask_spec import MapMaskParams
from maskrun.formats.particle_set import Masked
from maskrun.formats.registry import particle_format, particle_path, write_map_set
from maskrun.io.paths import named_from
from maskrun.jobs.plan import JobPlan


def output_image_names(plan: JobPlan) -> list[str]:
    """``N@STACK`` for every kept particle row, in row order.

    Where the input's references were relative to a folder (`ParticleSet.references_base`:
    the RELION or Xmipp project folder those programs run in), ``STACK`` is too when the
    output lies inside it (``MaskJobs/results/x/stacks/batch_K.mrcs``), and is absolute when
    it does not, so that the output reads wherever its input did; otherwise (no such folder)
    it is relative to the output folder (``stacks/batch_K.mrcs``).
    """
    base = plan.particle_set.references_base
    names = []
    for unit in plan.units:
        stack = plan.unit_output(unit)
        text = str(stack.relative_to(plan.output_dir)) if base is None else named_from(stack, base)
        names += [f"{i + 1:06d}@{text}" for i in range(unit.stop_row - unit.first_row)]
    return names


def images_named_from(plan: JobPlan) -> Path | None:
    """The folder the output metadata's image (or map) paths are relative to; None where the job writes none (one map).

    A STAR or XMD set's (and listing's) names are from the folder the input's were
    (`ParticleSet.references_base`: the RELION or Xmipp project folder), a Scipion set's from
    its project folder, and otherwise from the output folder: cryoSPARC's ``>stacks/…`` and
    its companion STAR, a bare stack's STAR, the listing of maps given by path. A path written
    absolute (the output outside that folder) resolves from there all the same.
    """
    if plan.metadata_output is None:
        return None
    if plan.particles is not None:
        named: Path | None = plan.particle_set.project_root or plan.particle_set.references_base
    else:
        named = plan.volume_set.project_root or plan.volume_set.references_base
    return named or plan.output_dir


def write_output_metadata(plan: JobPlan) -> list[Path]:
    """Write the particles in their input's format (`JobPlan.metadata_outputs`) or the map listing; nothing for a
    single map. The format's module (`maskrun.formats.registry`) says which files and how."""
    if plan.metadata_output is None:
        return []
    if plan.particles is not None:
        particles = plan.particle_set
        names = output_image_names(plan)
        stacks = [name.partition("@")[2] for name in names]  # as written: the formats with a base use names
        indices = np.concatenate([np.arange(u.stop_row - u.first_row) for u in plan.units])
        fmt = particle_format(particles.format)
        return fmt.write_particles(particles, Masked(names, stacks, indices), plan.output_dir, _project(plan))
    masked = [str(plan.unit_output(u).relative_to(plan.output_dir)) for u in plan.units]
    return write_map_set(plan.volume_set, masked, plan.output_dir, _project(plan))


def _chosen_threshold(plan: JobPlan, params: MapMaskParams) -> dict[str, object]:
    """``threshold`` as the number a rule chose (as the mask was made), and the rule in ``threshold_rule``."""
    from maskrun.engine.created_mask import job_map_threshold

    chosen = job_map_threshold(params, plan.unit_grid(plan.units[0])[1])
    return {"threshold": chosen.value, "threshold_rule": {"rule": chosen.rule, "how": chosen.told}}


def _term_at(expression: dict[str, Any], where: str) -> dict[str, Any]:
    """The recorded term at key path ``where`` (``all_of.0.any_of.1``)."""
    node: Any = expression
    for part in where.split("."):
        node = node[int(part)] if part.isdigit() else node[part]
    return node  # type: ignore[no-any-return]


def _project(plan: JobPlan) -> Path | None:
    """The job's ``inputs.project_dir``, absolute, if it gives one."""
    project = plan.job.spec.inputs.project_dir
    return plan.job.resolve(project) if project is not None else None


def resolved_job(plan: JobPlan, unit_records: list[dict[str, Any]]) -> dict[str, Any]:
    """The job with every default filled in and every ``-1`` turned into its number.

    Every path is absolute (the inputs', the mask's files and maps, the half-maps, the output
    folder). The geometry is the one resolved for the inputs' box; when maps
    of several box sizes resolve differently, ``geometry_per_unit`` lists each.
    """
    job = plan.job
    data = job.spec.model_dump(mode="json", by_alias=True)
    data["inputs"] = job.spec.inputs.model_dump(mode="json", exclude_none=True)
    for key in ("project_dir", "passthrough"):
        if key in data["inputs"]:
            data["inputs"][key] = str(job.resolve(data["inputs"][key]))
    if plan.particles is not None:
        assert job.spec.inputs.particles is not None
        block = particle_path(job.resolve(job.spec.inputs.particles))[0]  # Xmipp's block@file names one block
        data["inputs"]["particles"] = f"{block}@{plan.particle_set.source}" if block else str(plan.particle_set.source)
    else:
        data["inputs"]["volumes"] = [str(info.path) for info in plan.volume_set.maps]
    data["output"]["dir"] = str(plan.output_dir)
    if job.check is not None:
        data["check"] = job.check.model_dump(mode="json")
    if job.mask.file is not None:
        data["mask"]["file"] = str(job.mask.file)
    if job.mask.map is not None:
        unused = None if job.mask.map.helix else {"z_percentage"}  # refused without helix when read back
        data["mask"]["map"] = job.mask.map.model_dump(mode="json", by_alias=True, exclude=unused)
        if isinstance(job.mask.map.threshold, str):  # a rule: record the number it chose, and how
            data["mask"]["map"].update(_chosen_threshold(plan, job.mask.map))
    if job.mask.projection is not None:
        data["mask"]["projection"] = job.mask.projection.model_dump(mode="json")
        data["mask"]["projection"]["coarsening"] = plan.projection_coarsening  # the sampling chosen (1: in full)
        if plan.projection_in_full_because is not None:
            data["mask"]["projection"]["in_full_because"] = plan.projection_in_full_because
    if job.mask.expression is not None:
        data["mask"]["expression"] = job.mask.expression.record()
        for where, leaf in job.mask.expression.leaves(""):
            if leaf.map is not None and isinstance(leaf.map.threshold, str):  # as mask.map's: the number, and how
                _term_at(data["mask"]["expression"], where)["map"].update(
                    _chosen_threshold(plan, leaf.map.as_map_params())
                )
    fill = data["fill"]  # what does not apply to the fill is left out: the record reads back as a job
    data["fill"] = {key: value for key, value in fill.items() if key == "with" or key in FILL_KINDS[fill["with"]].takes}
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
