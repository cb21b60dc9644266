"""The answer of ``maskrun run --json``: one JSON object a script reads instead of the run's lines.

When the run ends (`RunEnd`): its status (`FINISHED`, `NOTHING_TO_DO`, `REPORT_DRAWN`,
`DRY_RUN`), where its outputs are (`maskrun.jobs.plan_answer.outputs_answer`: for a dry run,
where it would write them), the seconds the command took, and its warnings and notes. When it
does not: ``refused`` (exit 2), ``failed`` (1) or ``interrupted`` (130, 143, 129), with the
error as the command's line says it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from maskrun.jobs.output_state import Redo
from maskrun.jobs.plan import JobPlan
from maskrun.jobs.plan_answer import answer_head, inputs_answer, outputs_answer, redo_answer, said
from maskrun.jobs.provenance import read_record

FINISHED, NOTHING_TO_DO, REPORT_DRAWN, DRY_RUN = "finished", "nothing to do", "report drawn", "dry run"
REFUSED, FAILED, INTERRUPTED = "refused", "failed", "interrupted"


@dataclass
class RunEnd:
    """How a ``maskrun run`` that went well ended.

    ``status``: `FINISHED` (it masked), `NOTHING_TO_DO` (a finished run of the same job and
    inputs), `REPORT_DRAWN` (such a run, its missing report drawn) or `DRY_RUN`; ``seconds``:
    the command's, from its start; ``snakemake_jobs``: a dry run's jobs by rule (None when
    Snakemake printed no counts); ``redo``: what a dry run's redo would mask again.
    """

    status: str
    plan: JobPlan
    seconds: float
    snakemake_jobs: dict[str, int] | None = None
    redo: Redo | None = None


def run_answer(end: RunEnd, warnings: list[str], notes: list[str]) -> dict[str, Any]:
    """The answer of a run that ended well; ``warnings`` and ``notes``: what it said, without ``maskrun: warning:``."""
    plan = end.plan
    record = (read_record(plan.run_record_path) or {}) if end.status != DRY_RUN else {}
    outputs = outputs_answer(plan)
    answer = {
        **answer_head("run", plan.job.path),
        "status": end.status,
        "exit_status": 0,
        "output_dir": str(plan.output_dir),
        "metadata": str(plan.metadata_output) if plan.metadata_output is not None else None,
        **{key: outputs[key] for key in ("masked", "masks", "particle_masks", "run_record", "report", "check")},
        "inputs": inputs_answer(plan),
        "units": {
            "count": len(plan.units),
            "from_earlier_runs": len(record.get("resumed", {}).get("units_from_earlier_runs", [])),
        },
        "finished_at": record.get("end"),
        "verdict": record.get("check", {}).get("verdict"),  # the mask's check (`check:`), when the job has one
        "seconds": round(end.seconds, 3),
    }
    if end.status == DRY_RUN:
        answer["snakemake_jobs"] = end.snakemake_jobs
        answer["redo"] = redo_answer(plan, end.redo)
    return answer | said(plan, warnings, notes)


def run_refused(job: str | Path, error: str, exit_status: int, warnings: list[str], notes: list[str]) -> dict[str, Any]:
    """The answer of a run refused (exit 2), failed (1) or interrupted: ``error`` as the command's line says it, after
    ``maskrun run: error:`` (or ``failed:``)."""
    status = {2: REFUSED, 1: FAILED}.get(exit_status, INTERRUPTED)
    head = answer_head("run", Path(job).absolute())
    return {**head, "status": status, "error": error, "exit_status": exit_status} | said(None, warnings, notes)
