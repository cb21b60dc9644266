"""``maskrun validate JOB``: check a job and its inputs without running it."""

from __future__ import annotations

import argparse
import functools
import shlex

from maskrun.cli.options import Commands


def add_parser(commands: Commands) -> None:
    """Add ``maskrun validate`` to the subcommands ``commands``."""
    p = commands.add_parser(
        "validate",
        help="check a job file and its inputs without running it",
        usage="maskrun validate JOB [--profile NAME|DIR] [-- snakemake options]",
        description="Check a job file, then its inputs: headers, every N@stack "
        "reference, the created mask. With the --profile and options after -- of a "
        "run, also the resources its cluster jobs will ask for. Exit 0 when valid, 2 when not.",
    )
    p.add_argument("job", help="job file (YAML)")
    p.add_argument("--profile", help="the Snakemake profile the run will use: its resource settings are checked")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Carry out ``maskrun validate``; returns the exit status."""
    from maskrun.jobs.output_state import (  # job machinery (pandas) only when needed
        check_output_dir,
        check_report_to_draw,
        check_room,
        describe_redo,
        planned_redo,
        report_missing,
    )
    from maskrun.jobs.plan import describe_plan, plan_job
    from maskrun.report.before_run import say_before_the_run  # the report's checks that need no run
    from maskrun.workflow.support import rerun_by_snakemake  # what Snakemake's own rules mask again

    settings = None
    if args.profile or args.passthrough:  # what `maskrun run` checks of them, with the same words
        from maskrun.workflow.launch import RunRequest, checked_settings, warn_below_estimates

        settings = checked_settings(RunRequest(args.job, profile=args.profile, extra=tuple(args.passthrough)))[1]
    plan = plan_job(args.job)
    finished = check_output_dir(plan)
    if finished is None:
        check_room(plan)
        if settings is not None:
            warn_below_estimates(plan, settings)
        say_before_the_run(plan)  # the report's sample judged now: a tight mask, before the work
    elif report_missing(plan):
        check_report_to_draw(plan, finished)
    for line in describe_plan(plan):
        print(line)
    if finished is not None and report_missing(plan):
        print(f"  finished at {finished.get('end')} without its report: maskrun run draws it")
    elif finished is not None:
        print(f"  finished at {finished.get('end')}: maskrun run has nothing to do")
    elif (redo := planned_redo(plan, functools.partial(rerun_by_snakemake, plan))) is not None:
        print(f"  {describe_redo(plan, redo)}")
    elif settings is not None and settings.executor == "slurm":  # the requests come from Snakemake's own dry run
        command = ["maskrun", "run", str(args.job), *(["--profile", args.profile] if args.profile else []), "--dry-run"]
        command += ["--", *args.passthrough] if args.passthrough else []
        print(f"  SLURM: {shlex.join(command)} shows what each sbatch job asks for")
    return 0
