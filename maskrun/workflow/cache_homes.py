"""Cache folders for a run's Snakemake where the user's cannot be written (a read-only home).

Snakemake makes its source cache in ``$XDG_CACHE_HOME/snakemake`` (``~/.cache/snakemake``)
as it starts a workflow, and ended with a traceback where it could not: ``maskrun run``
failed (exit 1, "no unit started") on a job ``maskrun validate`` had said was valid. Such a
run gives Snakemake's process ``XDG_CACHE_HOME`` in a folder of its own instead, and
matplotlib, which draws the report there, ``MPLCONFIGDIR`` (`matplotlib_environment`).
"""

from __future__ import annotations

from pathlib import Path

from platformdirs import AppDirs

from maskrun.io.paths import writable_folder
from maskrun.report.matplotlib_home import matplotlib_environment


def snakemake_cache_environment(scratch: Path) -> dict[str, str]:
    """Environment entries that put Snakemake's and matplotlib's caches in ``scratch`` where theirs cannot be written;
    empty where they can."""
    entries = {}
    if not writable_folder(Path(AppDirs("snakemake", "snakemake").user_cache_dir)):  # where Snakemake looks
        entries["XDG_CACHE_HOME"] = str(scratch)  # Snakemake makes scratch/snakemake
    return entries | matplotlib_environment(scratch)


def cache_note(entries: dict[str, str], scratch: Path) -> str | None:
    """The note that says once where a run keeps the caches `snakemake_cache_environment` moved; None if none moved."""
    owners = (("Snakemake's", "XDG_CACHE_HOME"), ("matplotlib's", "MPLCONFIGDIR"))
    whose = [name for name, key in owners if key in entries]
    if not whose:
        return None
    return (
        f"{' and '.join(whose)} cache folder{'s' * (len(whose) > 1)} in your home cannot be written (read-only?): "
        f"this run keeps {'them' if len(whose) > 1 else 'it'} in {scratch}"
    )
