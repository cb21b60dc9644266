"""A key of the run's profile that names no Snakemake option, refused before anything runs.

Snakemake hands each key of a profile to its parser as the long option of that name
(``latency-wait: 60`` is ``--latency-wait=60``). A misspelt key (``latency_wait``) passed
``maskrun validate --profile``, then the run failed on Snakemake's parser, which blamed an
option "given after --" that was never given. The profile's keys are checked against
Snakemake's parser (its own options and its installed plugins'), naming the file, the key and
the option meant. maskrun's bundled profiles are left alone: importing the parser takes about
a second, and they are tested.
"""

from __future__ import annotations

import difflib
from pathlib import Path

from maskrun.errors import UserError
from maskrun.workflow.resource_options import ProfileKeys

BUNDLED = Path(__file__).resolve().parent / "profiles"


def refuse_unknown_profile_keys(profile: ProfileKeys) -> None:
    """Refuse a key of ``profile`` that Snakemake's parser takes for no option.

    Raises
    ------
    maskrun.errors.UserError
        ``pp/config.yaml: latency_wait: is not an option of Snakemake, so Snakemake would refuse the run; did you
        mean latency-wait?`` (exit 2), before anything is written.
    """
    if profile.file is None or not profile.keys or profile.file.resolve().is_relative_to(BUNDLED):
        return
    known = snakemake_profile_keys()
    for key in map(str, profile.keys):
        if key in known:
            continue
        options = sorted(name for name in known if not name.startswith("-"))
        near = difflib.get_close_matches(key.replace("_", "-"), options, n=1, cutoff=0.75)
        fix = f"did you mean {near[0]}?" if near else "a key is one of snakemake --help's long options, without --"
        raise UserError(
            f"is not an option of Snakemake, which would refuse the run; {fix}", source=str(profile.file), field=key
        )


def snakemake_profile_keys() -> set[str]:
    """The keys a Snakemake profile may hold: its parser's long options (``latency-wait``, ``--latency-wait``)."""
    from snakemake.cli import get_argument_parser

    parser = get_argument_parser()
    return {key for action in parser._actions for key in parser.get_possible_config_keys(action)}
