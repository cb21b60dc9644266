"""Snakemake options after ``--`` that would have ``maskrun run`` mask nothing, or part, and say it masked everything.

``maskrun run JOB -- -n`` handed ``-n`` to Snakemake, which planned and exited 0: maskrun then
printed "masked 2000 particles in 4 batches" over an output folder holding none (and ``--touch``
had it name the previous run's report); ``-- --until mask_batch``, ``-- --omit-from gather`` and
``-- --snakefile /dev/null`` did the same with no gather, or no unit, run. Such options are
refused before anything is written, with what to do instead: ``maskrun run --dry-run`` shows
what would run; the rest are Snakemake's own tools, which `snakemake` itself runs on the command
``maskrun run --dry-run`` prints. Targets (words that are no option's value) are refused once
Snakemake's parser has told them apart (`refuse_targets`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from maskrun.errors import UserError

DRY_RUN = "use maskrun run --dry-run (before --), which shows what would run and writes nothing"
SNAKEMAKE_ITSELF = (
    "Snakemake would run no unit, and maskrun would report a run that did not happen; for this, run snakemake "
    "itself on the command `maskrun run --dry-run` prints"
)
PART = (
    "Snakemake would run only part of the job (without the gather, which writes the outputs and the run record), and "
    "maskrun would report a run that did not happen: leave it out (a run does what is missing, and one that was "
    "stopped resumes where it stopped)"
)
# each long option, with its short forms, and the fix: the options that have Snakemake plan, or show, or clean
# up, and exit without running the units; or run part of the job, another workflow or another job
SKIPPING: dict[str, tuple[tuple[str, ...], str]] = {
    "--dry-run": (("-n",), DRY_RUN),
    "--dryrun": ((), DRY_RUN),
    "--touch": (
        ("-t",),
        "maskrun masks every unit itself; touching its outputs would record a run that did not happen: leave it out",
    ),
    "--summary": (("-S",), SNAKEMAKE_ITSELF),
    "--detailed-summary": (("-D",), SNAKEMAKE_ITSELF),
    "--list-rules": (("--list", "-l"), SNAKEMAKE_ITSELF),
    "--list-target-rules": (("--lt",), SNAKEMAKE_ITSELF),
    "--list-changes": (("--lc",), SNAKEMAKE_ITSELF),
    "--list-untracked": (("--lu",), SNAKEMAKE_ITSELF),
    "--list-input-changes": (("--li",), SNAKEMAKE_ITSELF),
    "--list-params-changes": (("--lp",), SNAKEMAKE_ITSELF),
    "--list-conda-envs": ((), SNAKEMAKE_ITSELF),
    "--generate-unit-tests": ((), SNAKEMAKE_ITSELF),
    "--export-cwl": ((), SNAKEMAKE_ITSELF),
    "--print-compilation": ((), SNAKEMAKE_ITSELF),
    "--draft-notebook": ((), SNAKEMAKE_ITSELF),
    "--edit-notebook": ((), SNAKEMAKE_ITSELF),
    "--cleanup-shadow": ((), SNAKEMAKE_ITSELF),
    "--conda-cleanup-envs": ((), SNAKEMAKE_ITSELF),
    "--conda-create-envs-only": ((), SNAKEMAKE_ITSELF),
    "--dag": ((), SNAKEMAKE_ITSELF),
    "--d3dag": ((), SNAKEMAKE_ITSELF),
    "--rulegraph": ((), SNAKEMAKE_ITSELF),
    "--filegraph": ((), SNAKEMAKE_ITSELF),
    "--lint": ((), SNAKEMAKE_ITSELF),
    "--report": ((), "maskrun draws its own report (report: true, or maskrun report): leave it out"),
    "--unlock": ((), "maskrun takes over the lock a killed run left by itself: run the job again, without it"),
    "--delete-all-output": ((), "remove the output folder yourself, or set output.overwrite: true to redo the run"),
    "--delete-temp-output": ((), SNAKEMAKE_ITSELF),
    "--cleanup-metadata": (("--cm",), SNAKEMAKE_ITSELF),
    "--archive": ((), SNAKEMAKE_ITSELF),
    "--containerize": ((), SNAKEMAKE_ITSELF),
    "--help": (("-h",), "see maskrun run --help, and snakemake --help for the options it passes on"),
    "--version": (("-v",), "maskrun --version says maskrun's; snakemake --version Snakemake's"),
    "--until": (("-U",), PART),
    "--omit-from": (("-O",), PART),
    "--allowed-rules": ((), PART),
    "--batch": ((), PART),
    "--target-jobs": ((), PART),
    "--mode": ((), "Snakemake gives it to the jobs it starts itself, each of which runs part of the job: leave it out"),
    "--immediate-submit": (
        ("--is",),
        "Snakemake would submit the jobs and end before they ran, and maskrun would report a run that did not "
        "happen: leave it out",
    ),
    "--snakefile": (
        ("-s",),
        "maskrun runs its own workflow on the job; for another Snakefile, run snakemake itself: leave it out",
    ),
    "--configfile": (
        ("--configfiles",),
        "maskrun gives Snakemake the job file it runs; for another job, run maskrun run on that job file: leave it out",
    ),
    "--config": (
        ("-C",),
        "overrides are not used by maskrun: edit the job file instead, so that it stays the record of what ran",
    ),
}
# Snakemake's one-letter options that take no value, which may be combined (-np); after any other letter the rest
# of the word is that option's value (-j4, -Umask_batch, -pU)
FLAGS_WITHOUT_VALUE = set("hntkfFlSDvpa")


def refuse_run_skipping_options(extra: Sequence[str]) -> None:
    """Refuse an option after ``--`` that has Snakemake run no unit, or part of the job, or another (`SKIPPING`).

    A long option is recognised written whole, with ``=value``, or shortened as argparse
    allows (``--dry``, at least five characters, when it starts only one of them); a short one
    alone, among combined one-letter flags (``-np``), or with its value (``-Umask_batch``).

    Raises
    ------
    maskrun.errors.UserError
        Naming the option and what to do instead (exit 2), before anything is written.
    """
    short = {form: option for option, (forms, _) in SKIPPING.items() for form in forms if not form.startswith("--")}
    long = {form: option for option, (forms, _) in SKIPPING.items() for form in (option, *forms) if form[1] == "-"}
    for word in extra:
        if word == "--":
            break
        option = None
        if word.startswith("--"):
            name = word.partition("=")[0]
            starting = sorted({full for form, full in long.items() if form.startswith(name)}) if len(name) >= 5 else []
            alike = len({SKIPPING[full][1] for full in starting}) == 1  # ``--dry``: --dry-run or --dryrun, one fix
            option = long.get(name) or (starting[0] if alike else None)
        elif word.startswith("-") and len(word) > 1:
            option = _short_option(word, short)
        if option is not None:
            said = word if word.partition("=")[0] in (option, *SKIPPING[option][0]) else f"{word} ({option})"
            raise UserError(f"{said} after --: {SKIPPING[option][1]}")


# Snakemake's options that redo what is done, which maskrun's finished run never hands Snakemake
FORCING = {"--forceall": "-F", "--forcerun": "-R", "--force": "-f"}
REDO = "maskrun leaves a finished run alone; to redo it, set output.overwrite: true in the job file"


def forcing_options(extra: Sequence[str]) -> list[str]:
    """The options after ``--`` that would have Snakemake redo what is done (``--forceall``, ``-F``, ``--forcerun
    mask_batch``), as written: a finished run is left alone without starting Snakemake, so they do nothing."""
    short = {form: option for option, form in FORCING.items()}
    found = []
    for word in extra:
        if word == "--":
            break
        is_long = word.startswith("--")
        if word.partition("=")[0] in FORCING if is_long else word.startswith("-") and _short_option(word, short):
            found.append(word)
    return found


# maskrun's command line gives these, which win over a profile's keys
GIVEN_BY_MASKRUN = ("--snakefile", "--configfile")


def refuse_run_skipping_keys(keys: Mapping[str, Any], file: Path | None) -> None:
    """Refuse a key of the run's profile that sets an option of `SKIPPING` (``until: [mask_batch]``, ``dryrun: true``).

    A profile's key is an option's long name (``dry-run``, ``dryrun``, ``omit-from``); one set
    to false or nothing sets nothing. Keys maskrun's own command line overrides
    (`GIVEN_BY_MASKRUN`) are let through.

    Raises
    ------
    maskrun.errors.UserError
        Naming the profile's file, the key and what to do instead (exit 2), before anything is written.
    """
    long = {form: option for option, (forms, _) in SKIPPING.items() for form in (option, *forms) if form[1] == "-"}
    for key, value in keys.items():
        option = long.get(f"--{str(key).replace('_', '-')}")
        if option is None or option in GIVEN_BY_MASKRUN or value in (False, None, "", [], {}):
            continue
        raise UserError(SKIPPING[option][1], source=str(file) if file else None, field=str(key))


def _short_option(word: str, short: dict[str, str]) -> str | None:
    """The option of `SKIPPING` a word of one-letter options names (``-np``: ``--dry-run``), up to the first that
    takes a value (the rest of the word is that value); None when it names none, or a letter is not Snakemake's."""
    for letter in word[1:]:
        if f"-{letter}" in short:
            return short[f"-{letter}"]
        if letter not in FLAGS_WITHOUT_VALUE:
            return None  # a value follows, or the word is no run of flags
    return None


def refuse_targets(targets: Sequence[str]) -> None:
    """Refuse targets given after ``--`` (the words Snakemake's parser took as no option's value).

    maskrun's workflow has one target, its ``all`` rule (let through): the outputs, the run
    record and the report; a target among its files or rules runs part of the job (a unit's
    stack, say).

    Raises
    ------
    maskrun.errors.UserError
        Naming the first target and what to do instead (exit 2), before anything is written.
    """
    targets = [target for target in targets if target != "all"]  # the run's own: the same run
    if targets:
        said = f"target {targets[0]}" if len(targets) == 1 else f"targets {' '.join(targets)}"
        raise UserError(
            f"{said} after --: maskrun runs the whole job (its workflow's one target, all: the outputs, the run record "
            "and the report); a target would run part of it, reported as the whole run: leave it out"
        )
