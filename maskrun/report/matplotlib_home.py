"""A folder for matplotlib's settings and font cache where the user's cannot be written (a read-only home).

matplotlib makes ``$XDG_CONFIG_HOME/matplotlib`` and ``$XDG_CACHE_HOME/matplotlib`` (under
``~/.config`` and ``~/.cache``) as it is imported; where it cannot, it works in a temporary
folder of its own, but says so first in two warnings ("mkdir -p failed for path …") on
the report's standard error. It is given ``MPLCONFIGDIR`` instead: a folder of the run's.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from maskrun.io.paths import writable_folder


def matplotlib_environment(scratch: Path) -> dict[str, str]:
    """``{"MPLCONFIGDIR": scratch/matplotlib}`` when matplotlib's own folders cannot be written; else nothing."""
    folders = _its_folders()
    if folders is not None and all(writable_folder(folder) for folder in folders):
        return {}
    return {"MPLCONFIGDIR": str(scratch / "matplotlib")}


def _its_folders() -> list[Path] | None:
    """The folders matplotlib would make (its settings', its cache's); None without a home to find them in."""
    if own := os.environ.get("MPLCONFIGDIR"):
        return [Path(own)]
    try:
        home = Path.home()
    except RuntimeError:  # no HOME and no user entry: matplotlib would say so, and use a temporary folder
        return None
    return [
        Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config") / "matplotlib",
        Path(os.environ.get("XDG_CACHE_HOME") or home / ".cache") / "matplotlib",
    ]


def give_matplotlib_a_home(scratch: Path) -> None:
    """Before matplotlib is imported in this process: set ``MPLCONFIGDIR`` to a folder in ``scratch`` if its own
    folders cannot be written (`matplotlib_environment`)."""
    if "matplotlib" not in sys.modules:
        os.environ.update(matplotlib_environment(scratch))
