"""The answer of ``maskrun validate --json``: one JSON object a script reads instead of the lines ``validate`` prints.

Valid: the job and its state (`output_state`: to run, finished, a redo, a report missing),
its inputs, units and outputs (`maskrun.jobs.plan_answer`), the mask and fill as ``validate``
says them, and its warnings and notes. A mistake (or a failure): ``valid: false``, the error
as the command's line says it, and the exit status.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from maskrun.jobs.output_state import Redo, report_missing
from maskrun.jobs.plan import JobPlan, described_fill, described_mask
from maskrun.jobs.plan_answer import answer_head, inputs_answer, outputs_answer, redo_answer, said, units_answer

TO_RUN, FINISHED, REDO, REPORT_MISSING = "to run", "finished", "redo", "report missing"


def output_state(plan: JobPlan, finished: dict[str, Any] | None, redo: Redo | None) -> str:
    """What the job's run will do with its output folder: `FINISHED` (nothing to do), `REPORT_MISSING` (finished, its
    report to draw), `REDO` (a finished run redone, ``output.overwrite: true``), or `TO_RUN`.

    ``finished``: the run record `maskrun.jobs.output_state.check_output_dir` found (None: the
    run goes ahead); ``redo``: `maskrun.jobs.output_state.planned_redo`'s.
    """
    if finished is not None:
        return REPORT_MISSING if report_missing(plan) else FINISHED
    return REDO if redo is not None else TO_RUN


def validate_answer(
    plan: JobPlan, finished: dict[str, Any] | None, redo: Redo | None, warnings: list[str], notes: list[str]
) -> dict[str, Any]:
    """A valid job's answer; ``warnings`` and ``notes``: what the command said, without ``maskrun: warning:``."""
    return {
        **answer_head("validate", plan.job.path),
        "valid": True,
        "exit_status": 0,
        "output_dir": str(plan.output_dir),
        "state": output_state(plan, finished, redo),
        "finished_at": finished.get("end") if finished is not None else None,
        "redo": redo_answer(plan, redo),
        "inputs": inputs_answer(plan),
        "units": units_answer(plan),
        "outputs": outputs_answer(plan),
        "mask": described_mask(plan),
        "fill": described_fill(plan),
        "compat": plan.job.spec.compat,
        **said(plan, warnings, notes),
    }


def validate_refused(
    job: str | Path, error: str, exit_status: int, warnings: list[str], notes: list[str]
) -> dict[str, Any]:
    """The answer of a job refused (exit 2) or a validation that failed (1): ``error`` as the command's line says it,
    after ``maskrun validate: error:``."""
    return {
        **answer_head("validate", Path(job).absolute()),
        "valid": False,
        "error": error,
        "exit_status": exit_status,
        **said(None, warnings, notes),
    }
