"""A job's path as written, read as a shell would: ``~`` for the home folder, ``$VAR``/``${VAR}`` from the environment.

Most tools a cryo-EM user runs do so (Snakemake its resources, RELION's scripts through the
shell); left alone, ``output.dir: $HOME/x`` made a folder named ``$HOME``. A variable that is
not set is refused, not kept as text: that too would make a folder named for it. ``$$`` is a
literal ``$`` (as in Snakemake's and docker-compose's files), for the rare folder named with one.
"""

from __future__ import annotations

import os
import re

# $NAME or ${NAME}, as os.path.expandvars reads them; $$ first, so that $$NAME is a literal $ and NAME
VARIABLE = re.compile(r"\$\$|\$(\w+|\{[^}]*\})")


def expand_path(text: str) -> str:
    """``text`` with its environment variables and a leading ``~`` or ``~user`` expanded.

    Parameters
    ----------
    text
        A path as written in a job file (``$HOME/maps/*.mrc``, ``~/particles.star``, ``runs/$$5``
        for a folder named ``$5``).

    Returns
    -------
    str
        The path expanded; relative still if it was.
    """
    return os.path.expanduser("$".join(os.path.expandvars(part) for part in text.split("$$")))


def unset_variable(text: str) -> str | None:
    """The first environment variable ``text`` names that is not set (``$SCRATCH``), or None."""
    for match in VARIABLE.finditer(text):
        if match[1] is None:  # $$, a literal $
            continue
        name = match[1].strip("{}")
        if name not in os.environ:
            return match[0]
    return None


def unknown_home(text: str) -> str | None:
    """The ``~user`` that ``text`` begins with when there is no such user here (it would stay a folder's name)."""
    expanded = expand_path(text)
    if expanded.startswith("~"):
        return expanded.split("/", 1)[0]
    return None
