"""``maskrun run JOB``: run a job through the Snakemake workflow."""

from __future__ import annotations

import argparse
import functools

from maskrun.cli.json_answer import add_json_option, json_answer, kept
from maskrun.cli.options import Commands


def add_parser(commands: Commands) -> None:
    """Add ``maskrun run`` to the subcommands ``commands``."""
    p = commands.add_parser(
        "run",
        help="run a job through the Snakemake workflow",
        usage="maskrun run JOB [--cores N] [--profile NAME|DIR] [--dry-run] [--verbose] [--json OUT|-] "
        "[-- snakemake options]",
        description="Validate a job, then run maskrun's Snakemake workflow on it (locally, "
        "or on a cluster with --profile slurm). Extra Snakemake options go "
        "after --.",
    )
    p.add_argument("job", help="job file (YAML)")
    p.add_argument("--cores", default="all", type=_cores, help="cores to use locally: a count from 1, or all (default)")
    p.add_argument("--profile", help="Snakemake profile: a bundled one by name (slurm) or a folder")
    p.add_argument("--dry-run", action="store_true", help="show the jobs that would run")
    p.add_argument("--verbose", action="store_true", help="show Snakemake's own log (else in logs/snakemake.log)")
    add_json_option(p, "run's status, outputs, seconds, warnings and notes")
    p.set_defaults(handler=run)


def _cores(text: str) -> str:
    """``all`` or a whole number from 1 (Snakemake waits for ever with 0, and takes no other word)."""
    if text == "all" or (text.isdigit() and int(text) >= 1):
        return text
    raise argparse.ArgumentTypeError(f"'{text}' is not a number of cores: give a whole number from 1, or all")


def run(args: argparse.Namespace) -> int:
    """Carry out ``maskrun run``; returns the exit status."""
    from maskrun.workflow.launch import RunRequest, run_workflow
    from maskrun.workflow.run_answer import run_answer, run_refused

    answer = json_answer(args, functools.partial(run_refused, args.job))
    request = RunRequest(args.job, args.cores, args.profile, args.dry_run, tuple(args.passthrough), args.verbose)
    request.answer_file = answer.path if answer is not None else None
    with kept(answer):
        end = run_workflow(request)
    if answer is not None:
        answer.give(run_answer(end, answer.said.warnings, answer.said.notes))
    return 0
