"""``maskrun report JOB``: (re)write a finished job's report."""

from __future__ import annotations

import argparse
import sys

from maskrun.cli.options import Commands


def add_parser(commands: Commands) -> None:
    """Add ``maskrun report`` to the subcommands ``commands``."""
    p = commands.add_parser(
        "report",
        help="(re)write the report of a finished job",
        description="Write <output>/report/: sampled particles (or map slices) before and "
        "after, the mask's radial profile, warnings, and report.html.",
    )
    p.add_argument("job", help="job file (YAML) of a finished run")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Carry out ``maskrun report``; returns the exit status."""
    from maskrun.jobs.given_job import load_given_job
    from maskrun.jobs.output_state import check_report_folder, finished_run
    from maskrun.jobs.plan_file import cache_folder, load_or_plan
    from maskrun.report.matplotlib_home import give_matplotlib_a_home

    job = load_given_job(args.job)
    finished_run(job)  # this job's run, its inputs and outputs unchanged: else the report would mix old and new
    plan, _ = load_or_plan(job)  # the run's saved plan, as the workflow's report step reads it
    check_report_folder(plan)
    give_matplotlib_a_home(cache_folder(plan.output_dir))  # a read-only home: not matplotlib's two warnings
    from maskrun.report.build import build_report

    report = build_report(plan)
    for warning in report.warnings:
        print(f"maskrun: warning: {warning}", file=sys.stderr)
    print(f"wrote {report.html}")
    return 0
