"""``maskrun schema``: the job file's JSON Schema, for editors."""

from __future__ import annotations

import argparse
import json

from maskrun.cli.options import Commands


def add_parser(commands: Commands) -> None:
    """Add ``maskrun schema`` to the subcommands ``commands``."""
    p = commands.add_parser(
        "schema",
        help="print the job file's JSON Schema (for editors)",
        description="Print the JSON Schema of the job file, for editors' YAML language servers: save it with "
        "'maskrun schema > maskrun-job.schema.json' and start a job with "
        "'# yaml-language-server: $schema=maskrun-job.schema.json'.",
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Carry out ``maskrun schema``; returns the exit status."""
    from maskrun.config.job_schema import job_schema

    print(json.dumps(job_schema(), indent=2, ensure_ascii=False))
    return 0
