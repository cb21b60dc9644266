"""A job checked without running it, as ``maskrun validate`` and `maskrun.validate_job` check it; nothing written.

The job is planned (its inputs read: headers, every ``N@stack``, the mask), then its output
folder is looked at (a finished run: nothing to do, a report to draw, or a redo; another job's
folder, files in the way: refused) and, for a run with work to do, the room it needs. The
callers add what their run adds (the command its resource settings, both the report's look at
its sample) by hooks, so that this layer knows nothing of the workflow or the report.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from maskrun.config.job_file import Job
from maskrun.jobs.output_state import (
    Redo,
    check_output_dir,
    check_report_to_draw,
    check_room,
    planned_redo,
    report_missing,
)
from maskrun.jobs.plan import JobPlan, Unit, plan_job


@dataclass
class Validation:
    """A valid job: its ``plan``; the run record of a finished run of it (``finished``: None when a run goes ahead);
    and what a redo of a finished run masks again (``redo``: ``output.overwrite: true``; else None)."""

    plan: JobPlan
    finished: dict[str, Any] | None
    redo: Redo | None


def validate(
    job: Job | str | os.PathLike[str],
    *,
    planned: Callable[[JobPlan], object] | None = None,
    before: Callable[[JobPlan], object] | None = None,
    rerun: Callable[[JobPlan, list[Unit]], list[Unit]] | None = None,
) -> Validation:
    """Check a job and its inputs and output folder as a run would before any work, writing nothing.

    Parameters
    ----------
    job
        The job file, or a loaded `Job`.
    planned
        Called with the plan before the output folder is looked at (the command checks there
        where its ``--json`` answer goes).
    before
        Called with the plan of a run with work to do, once its room is checked: what the
        caller's run says before its first unit (the report's sample judged, a tight mask).
    rerun
        Given the plan and the finished units a redo keeps, those the caller's run masks again
        all the same (Snakemake's own rules), counted in ``redo``.

    Raises
    ------
    UserError
        For any mistake in the job, its inputs or its output folder, as the run would refuse it.
    """
    plan = plan_job(job)
    if planned is not None:
        planned(plan)
    finished = check_output_dir(plan)
    redo = None
    if finished is None:
        check_room(plan)
        if before is not None:
            before(plan)
        redo = planned_redo(plan, functools.partial(rerun, plan) if rerun is not None else None)
    elif report_missing(plan):
        check_report_to_draw(plan, finished)
    return Validation(plan, finished, redo)
