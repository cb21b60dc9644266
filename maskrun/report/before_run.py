"""What the report would warn of that can be judged before the run: said by ``validate``, as ``run`` starts, and by
``maskrun.run_job`` before its first unit.

The report judges the mask on its sample of particles (`maskrun.report.sample`), after the
run: a tight mask was told of once a million particles had been masked with it. Its checks
of that sample (`maskrun.report.particle_warnings.sample_warnings`: a tight mask; the hard
edge, which planning says already) need only the mask, as the run will save it, and the
input images of the sample, 24 at most: they are made here on the same rows, in the same
words. The mask file's voxel size against the data's is a header's. The rest stays the
report's: the centres near the mask's contour (every particle's origin: a column of every
row, about 2 s a million), projected masks (each sampled particle's own, from the 3D mask's
projector, and the box edge on a thousand of them), a shape's cut by the box on each
particle, the half-map check's verdict, and a map job's masks as saved.
"""

from __future__ import annotations

import warnings

import numpy as np

from maskrun.errors import MaskrunWarning
from maskrun.io.images import inspect_image
from maskrun.jobs.plan import JobPlan, unit_mask
from maskrun.report.checks import voxel_size_mismatch
from maskrun.report.particle_warnings import judged, sample_warnings
from maskrun.report.sample import sampled_inputs, sampled_rows


def say_before_the_run(plan: JobPlan) -> list[str]:
    """Warn of `warnings_before_the_run` (`MaskrunWarning`) and keep them with planning's (``plan.warnings``).

    The run saves its plan after this: its run record holds them, and the report, which finds
    the same sentences, says each once. The end of ``run`` repeats none of planning's.
    """
    found = warnings_before_the_run(plan)
    for warning in found:
        warnings.warn(warning, MaskrunWarning, stacklevel=2)
    plan.warnings += found
    return found


def warnings_before_the_run(plan: JobPlan) -> list[str]:
    """The report's warnings of a freshly planned job (`plan_job`) that need nothing the run writes, less those
    planning gave; none read an image where the report has no sample to judge (maps, projected masks, an
    inverted mask, ``report: false``)."""
    found = [voxel_size_warning(plan)]
    if judged_before_the_run(plan):
        rows = sampled_rows(len(plan.particle_set))
        found += sample_warnings(plan, box_mask(plan), sampled_inputs(plan, rows), rows)
    return [w for w in dict.fromkeys(found) if w is not None and w not in plan.warnings]


def judged_before_the_run(plan: JobPlan) -> bool:
    """Whether the report's sample is judged before the run: a particle job with a report, its mask one for the box
    (fixed, or a shape that follows each particle), not inverted."""
    return plan.particles is not None and plan.job.spec.report and plan.job.mask.projection is None and judged(plan)


def box_mask(plan: JobPlan) -> np.ndarray:
    """The mask of the particles' box as the run saves it (``mask.mrc``, float32): the report's, judged again."""
    unit = next(iter(plan.mask_outputs().values()))  # a particle job's batches share one box
    with warnings.catch_warnings():  # planning built it and gave its warnings
        warnings.simplefilter("ignore", MaskrunWarning)
        values = unit_mask(plan, unit)[0].values
    return np.asarray(values, dtype=np.float32)


def voxel_size_warning(plan: JobPlan) -> str | None:
    """`voxel_size_mismatch` of the mask's file (a mask file, a map mask's map, a projected 3D mask) against the
    particles' pixel size or the first map's voxel size; None for a mask made of no file."""
    source = plan.job.mask.input_file
    if source is None:
        return None
    return voxel_size_mismatch(inspect_image(source).voxel_size_xyz[0], data_pixel_size(plan))


def data_pixel_size(plan: JobPlan) -> float:
    """The particles' pixel size, or the first map's voxel size (Å; 0 when unknown)."""
    if plan.particles is not None:
        return plan.particle_set.pixel_size_angstrom
    return plan.volume_set.maps[0].voxel_size_xyz[0]
