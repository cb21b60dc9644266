"""A batch's per-particle masks (``mask.source: projection``, ``mask.follow``): each particle's pose, its mask, and
the writer of the saved masks."""

from __future__ import annotations

from maskrun.engine.following_masks import FollowingMasking, following_masking
from maskrun.engine.projected_masks import ProjectedMasking, ProjectedMasks, projected_masking
from maskrun.geometry.masks import Mask
from maskrun.io.mrc_writer import MrcStreamWriter
from maskrun.jobs.plan import JobPlan, Unit, projection_volume

_PROJECTORS: dict[tuple[object, ...], ProjectedMasks] = {}  # the last 3D mask's transform, by file, parameters and box


def unit_projector(plan: JobPlan) -> ProjectedMasks:
    """The job's projector: the 3D mask's transform, made once a process (in-process runs mask every batch in one)."""
    projection = plan.job.mask.projection
    assert projection is not None
    stat = projection.file.stat()
    coarsening = plan.projection_coarsening
    key = (str(projection.file), stat.st_mtime_ns, stat.st_size, projection, plan.particle_set.box_yx, coarsening)
    projected = _PROJECTORS.get(key)
    if projected is None:
        _PROJECTORS.clear()
        volume = projection_volume(plan)
        built = plan.projector  # planning's check made it, in this process: the same volume, sampling and threads
        projected = ProjectedMasks(volume, projection, workers=1, coarsening=coarsening, projector=built)
        _PROJECTORS[key] = projected
        plan.projector = None  # the cache holds it now
    return projected


def unit_projected_masking(plan: JobPlan, unit: Unit) -> ProjectedMasking:
    """The masking of a batch by each particle's projected mask."""
    poses = plan.placed(slice(unit.first_row, unit.stop_row))
    return projected_masking(unit_projector(plan), poses, plan.job.fill, plan.job.spec.compat, unit.first_row)


def unit_following_masking(plan: JobPlan, unit: Unit, mask: Mask) -> FollowingMasking:
    """The masking of a batch by the job's 2D shape placed at each particle's centre (``mask.follow: offsets``)."""
    geometry = plan.job.mask.geometry
    assert geometry is not None  # follow needs source: geometry (MaskSpec checks)
    box, voxel, _ = plan.unit_grid(unit)
    shape = geometry.resolve(n_x=box[-1], ndim=len(box), pixel_size_angstrom=voxel[0])  # unit_mask checked it
    _, _, psi, x, y = plan.placed(slice(unit.first_row, unit.stop_row))
    turned = psi if plan.job.mask.follow == "pose" else None
    return following_masking(shape, mask, (x, y), plan.job.fill, plan.job.spec.compat, unit.first_row, turned)


def particle_masks_writer(plan: JobPlan, unit: Unit) -> MrcStreamWriter | None:
    """The writer of the batch's masks, as applied, to ``masks/<batch>.mrcs`` when ``output.save_masks`` asks (else
    None): the workers that apply them write them (`maskrun.engine.stream.write_masked`'s ``masks_writer``)."""
    path = plan.particle_masks_output(unit)
    if path is None:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    _, voxel, _ = plan.unit_grid(unit)
    shape = (unit.stop_row - unit.first_row, *plan.particle_set.box_yx)
    return MrcStreamWriter(path, shape, "stack", voxel, holds="the masks applied, one per particle")
