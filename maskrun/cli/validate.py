"""``maskrun validate JOB``: check a job and its inputs without running it."""

from __future__ import annotations

import argparse
import functools
import shlex

from maskrun.cli.json_answer import add_json_option, json_answer, kept
from maskrun.cli.options import Commands


def add_parser(commands: Commands) -> None:
    """Add ``maskrun validate`` to the subcommands ``commands``."""
    p = commands.add_parser(
        "validate",
        help="check a job file and its inputs without running it",
        usage="maskrun validate JOB [--profile NAME|DIR] [--json OUT|-] [-- snakemake options]",
        description="Check a job file, then its inputs: headers, every N@stack "
        "reference, the created mask. With the --profile and options after -- of a "
        "run, also the resources its cluster jobs will ask for. Exit 0 when valid, 2 when not.",
    )
    p.add_argument("job", help="job file (YAML)")
    p.add_argument("--profile", help="the Snakemake profile the run will use: its resource settings are checked")
    add_json_option(p, "job's inputs, units, outputs, mask, state, warnings and notes")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Carry out ``maskrun validate``; returns the exit status."""
    from maskrun.errors import held_warnings
    from maskrun.jobs.answer_file import check_answer_beside  # job machinery (pandas) only when needed
    from maskrun.jobs.output_state import describe_redo
    from maskrun.jobs.plan import JobPlan, describe_plan
    from maskrun.jobs.validate_answer import (
        FINISHED,
        REDO,
        REPORT_MISSING,
        output_state,
        validate_answer,
        validate_refused,
    )
    from maskrun.jobs.validation import validate
    from maskrun.report.before_run import say_before_the_run  # the report's checks that need no run
    from maskrun.workflow.support import rerun_by_snakemake  # what Snakemake's own rules mask again

    answer = json_answer(args, functools.partial(validate_refused, args.job))
    with kept(answer):
        settings = None
        if args.profile or args.passthrough:  # what `maskrun run` checks of them, with the same words
            from maskrun.workflow.launch import RunRequest, checked_settings, warn_below_estimates

            settings = checked_settings(RunRequest(args.job, profile=args.profile, extra=tuple(args.passthrough)))[1]

        def planned(plan: JobPlan) -> None:
            if answer is not None and answer.path is not None:
                check_answer_beside(plan, answer.path)

        def before(plan: JobPlan) -> None:
            if settings is not None:
                warn_below_estimates(plan, settings)
            say_before_the_run(plan)  # the report's sample judged now: a tight mask, before the work

        with held_warnings():  # a job refused (a read-only output folder, say) gets its one error line only
            checked = validate(args.job, planned=planned, before=before, rerun=rerun_by_snakemake)
        plan, finished, redo = checked.plan, checked.finished, checked.redo
        for line in describe_plan(plan):
            print(line)
        state, end = output_state(plan, finished, redo), finished.get("end") if finished is not None else None
        if state == REPORT_MISSING:
            print(f"  finished at {end} without its report: maskrun run draws it")
        elif state == FINISHED:
            print(f"  finished at {end}: maskrun run has nothing to do")
        elif state == REDO:
            print(f"  {describe_redo(plan, redo)}")
        elif settings is not None and settings.executor == "slurm":  # the requests come from Snakemake's dry run
            command = ["maskrun", "run", str(args.job), *(["--profile", args.profile] if args.profile else [])]
            command += ["--dry-run", *(["--", *args.passthrough] if args.passthrough else [])]
            print(f"  SLURM: {shlex.join(command)} shows what each sbatch job asks for")
    if answer is not None:
        answer.give(validate_answer(plan, finished, redo, answer.said.warnings, answer.said.notes))
    return 0
