"""The report's sample of a particle set: which particles it shows and judges, and their input images.

One function chooses the rows (`sampled_rows`): the report's, and those ``validate`` and the
start of ``run`` judge the mask on before the work (`maskrun.report.before_run`), so that both
say the same of the same particles.
"""

from __future__ import annotations

import numpy as np

from maskrun.io.image_info import MappedRows
from maskrun.jobs.plan import JobPlan

SAMPLE = 24


def sampled_rows(count: int) -> np.ndarray:
    """`SAMPLE` rows (set order) spread evenly over ``count`` particles, the first and last included; every row of
    a smaller set."""
    return np.unique(np.linspace(0, count - 1, min(SAMPLE, count)).round().astype(int))


def sampled_inputs(plan: JobPlan, rows: np.ndarray) -> np.ndarray:
    """The input images of particles ``rows`` (set order), as float32 (images × y × x), each read alone from its
    stack: 24 images of a million cost 24 reads."""
    particles = plan.particle_set
    inputs = []
    for row in rows:
        stack = particles.stacks[particles.stack_paths[particles.stack_of_row[row]]]
        index = int(particles.image_index[row])
        with MappedRows(stack) as mapped:
            inputs.append(mapped.rows(index, index + 1)[0].astype(np.float32))
    return np.array(inputs)
