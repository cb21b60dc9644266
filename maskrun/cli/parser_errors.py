"""The command line's own mistakes (an unknown option, a missing argument) as one line, with a hint.

argparse prints its whole usage block before such an error; for ``maskrun make-mask`` that
is some 18 lines above the one that matters. Here every error is one line that points to
``--help`` instead. An unknown option gets the option it was likely meant as: RELION's name
for it first (``--ini_threshold`` → ``--threshold``: users of ``relion_mask_create`` type
those), then the closest of the command's own names.
"""

from __future__ import annotations

import argparse
import difflib
import re
from typing import NoReturn

# relion_mask_create's options (RELION 3.1) and the maskrun option that does the same; an option of the same
# name (--lowpass, --invert, --and, --helix) needs none, and one with '_' for '-' (--and_not, --outer_radius,
# --z_percentage) is found by that swap
RELION_OPTIONS = {
    "i": "from-map",
    "ini_threshold": "threshold",
    "extend_inimask": "extend",
    "width_soft_edge": "soft-edge",
    "angpix": "pixel-size",
    "box_size": "box",
    "denovo": "shape",
    "center_x": "center",
    "center_y": "center",
    "center_z": "center",
}


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr (exit 2), pointing to ``--help`` for the usage."""

    def error(self, message: str) -> NoReturn:
        """Print ``PROG: error: MESSAGE; see PROG --help`` and exit with status 2."""
        ambiguous = re.match(r"ambiguous option: --([^ =]+)", message)  # RELION's --i: --inner-radius or --invert?
        if ambiguous and (meant := RELION_OPTIONS.get(ambiguous[1])) and self._has_option(meant):
            message += f" (did you mean --{meant}?)"
        self.exit(2, f"{self.prog}: error: {message}; see {self.prog} --help\n")

    def _has_option(self, name: str) -> bool:
        return any(f"--{name}" in action.option_strings for action in self._actions)


def refuse_unknown(command_parser: argparse.ArgumentParser, unknown: list[str]) -> NoReturn:
    """Exit 2 naming the words the command does not take, each unknown option with the one it was likely meant as.

    Parameters
    ----------
    command_parser
        The parser of the command given (``maskrun make-mask``'s).
    unknown
        The words it did not take, in the order typed.
    """
    names = [name[2:] for action in command_parser._actions for name in action.option_strings if name.startswith("--")]
    options = [word for word in unknown if word.startswith("--")]
    if not options:  # words alone: a positional too many
        command_parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    # the options alone: argparse gives an unknown option's value to a positional it still wants (--angpix 11.4
    # OUT.mrc leaves "--angpix OUT.mrc"), so the words after it in ``unknown`` need not be its own
    words = []
    for option in options:
        meant = meant_option(option.split("=")[0][2:], names)
        words.append(f"{option} (did you mean --{meant}?)" if meant else option)
    command_parser.error(f"unrecognized option{'s' * (len(options) > 1)}: {', '.join(words)}")


def meant_option(name: str, names: list[str]) -> str | None:
    """The option of ``names`` (without dashes) that ``name`` likely means: RELION's name for it, else the closest."""
    relion = RELION_OPTIONS.get(name, name.replace("_", "-"))
    if relion in names:
        return relion
    close = difflib.get_close_matches(name, names, n=1)
    return close[0] if close else None
