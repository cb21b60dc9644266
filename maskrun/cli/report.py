"""``maskrun report JOB``: (re)write a finished job's report."""

from __future__ import annotations

import argparse
import sys

from maskrun.cli.options import Commands
from maskrun.errors import UserError


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
    from maskrun.jobs.plan import plan_job
    from maskrun.report.build import build_report

    plan = plan_job(args.job)
    if not plan.run_record_path.exists():
        raise UserError(f"{plan.output_dir} holds no finished run; run the job first (maskrun run {args.job})")
    report = build_report(plan)
    for warning in report.warnings:
        print(f"maskrun: warning: {warning}", file=sys.stderr)
    print(f"wrote {report.html}")
    return 0
