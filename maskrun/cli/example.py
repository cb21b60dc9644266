"""``maskrun example KIND``: an annotated starter job, with data to run it on."""

from __future__ import annotations

import argparse

from maskrun.cli.options import Commands
from maskrun.errors import UserError
from maskrun.formats.registry import EXAMPLE_FORMATS


def add_parser(commands: Commands) -> None:
    """Add ``maskrun example`` to the subcommands ``commands``."""
    p = commands.add_parser(
        "example",
        help="print an annotated starter job (or write it with data)",
        description="Print an annotated starter job; with --write, also write synthetic data it runs on.",
    )
    p.add_argument(
        "kind",
        choices=("particles", "volumes", "expression", "projection"),
        help="expression: maps, a mask expression; projection: particles, a 3D mask projected at each pose",
    )
    p.add_argument("--write", metavar="DIR", help="write DIR/<kind>.yaml and example data into DIR")
    p.add_argument(
        "--format",
        default="star",
        choices=EXAMPLE_FORMATS,
        help="particles listed as RELION .star, Xmipp .xmd, cryoSPARC .cs or Scipion .sqlite",
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Carry out ``maskrun example``; returns the exit status."""
    from maskrun.jobs.examples import starter_job, write_example

    if args.kind == "projection" and args.format != "star":
        raise UserError("the projection example's particles are a RELION STAR: leave --format out", field="--format")
    if args.kind not in ("particles", "projection") and args.format != "star":
        raise UserError("lists particles; the example maps are MRC files: leave --format out", field="--format")
    if args.write is None:
        print(starter_job(args.kind, args.format), end="")
        return 0
    job = write_example(args.kind, args.write, args.format)
    print(f"wrote {job} and example {args.kind} beside it; run it with: maskrun run {job}")
    return 0
