"""Snakemake options after ``--`` that would have ``maskrun run`` mask nothing and say it masked everything.

``maskrun run JOB -- -n`` handed ``-n`` to Snakemake, which planned and exited 0: maskrun then
printed "masked 2000 particles in 4 batches" over an output folder holding none (and ``--touch``
had it name the previous run's report). Such options are refused before anything is written, with
what to do instead: ``maskrun run --dry-run`` shows what would run; the rest are Snakemake's
own tools, which `snakemake` itself runs on the command ``maskrun run --dry-run`` prints.
"""

from __future__ import annotations

from collections.abc import Sequence

from maskrun.errors import UserError

DRY_RUN = "use maskrun run --dry-run (before --), which shows what would run and writes nothing"
SNAKEMAKE_ITSELF = (
    "Snakemake would run no unit, and maskrun would report a run that did not happen; for this, run snakemake "
    "itself on the command `maskrun run --dry-run` prints"
)
# each long option, with its short forms, and the fix: the options that have Snakemake plan, or show, or clean
# up, and exit without running the units
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
}
# Snakemake's one-letter options that take no value, which may be combined (-np); -q takes values: what follows it is
# one
FLAGS_WITHOUT_VALUE = set("hntkfFlSDvpa")


def refuse_run_skipping_options(extra: Sequence[str]) -> None:
    """Refuse an option after ``--`` that has Snakemake run no unit (`SKIPPING`).

    A long option is recognised written whole, with ``=value``, or shortened as argparse
    allows (``--dry``, at least five characters, when it starts only one of them); a short one
    alone or among combined one-letter flags (``-np``).

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
        elif word.startswith("-") and len(word) > 1 and word[1:].isalpha() and set(word[1:]) <= FLAGS_WITHOUT_VALUE:
            option = next((short[f"-{letter}"] for letter in word[1:] if f"-{letter}" in short), None)
        if option is not None:
            said = word if word.partition("=")[0] in (option, *SKIPPING[option][0]) else f"{word} ({option})"
            raise UserError(f"{said} after --: {SKIPPING[option][1]}")
