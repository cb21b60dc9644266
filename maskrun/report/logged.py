"""The report drawn as a logged step (``logs/report.log``), by the workflow's report step, by ``maskrun run`` for a
finished run that lacks its report, and by `maskrun.run_job`: one function for all three, so each writes the same
log."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from maskrun.jobs.output_state import check_report_to_draw, remove_partial_files, report_missing
from maskrun.jobs.plan import JobPlan
from maskrun.jobs.plan_file import cache_folder, load_or_plan
from maskrun.jobs.run_lock import RunLock
from maskrun.jobs.step_logs import logged_step
from maskrun.report.matplotlib_home import give_matplotlib_a_home

if TYPE_CHECKING:
    from maskrun.report.build import Report


def report_logged(plan: JobPlan, log_path: str | Path) -> Report:
    """Write the report's figures and page, logging to ``log_path`` (``logs/report.log``: `logged_step`); returns
    the report."""

    give_matplotlib_a_home(cache_folder(plan.output_dir))  # before it is imported: not its warnings of a read-only home
    from maskrun.report.build import build_report  # matplotlib: only a run that draws its report pays for it

    drawn = []

    def step() -> str:
        drawn.append(report := build_report(plan))
        return f"wrote {report.html} ({len(report.warnings)} warnings)"

    Path(log_path).parent.mkdir(parents=True, exist_ok=True)  # Snakemake makes it for its step; the others do not
    logged_step(str(log_path), "report", step)
    return drawn[0]


def draw_missing_report(plan: JobPlan, record: dict[str, Any]) -> Report | None:
    """Draw the report a finished run lacks (`report_missing`: stopped while drawing it), as its report step would,
    holding the folder's run lock; None when the report is there (or not asked for).

    What a run killed while writing it left (``report/.report.html.part-PID``) goes first, as
    a resumed run's start removes it.

    Raises
    ------
    UserError
        Files of ``report/`` the report would write over that the run did not write
        (`check_report_to_draw`); another run holding the folder.
    """
    with RunLock(plan.lock_path, str(plan.job.path)):  # a killed run's stale lock goes too
        if not report_missing(plan):
            return None
        check_report_to_draw(plan, record)
        remove_partial_files(plan)
        return report_logged(load_or_plan(plan.job)[0], plan.log_path("report"))  # the saved plan, as the step reads
