"""The command line's own mistakes (an unknown option, a missing argument) as one line, with a hint.

argparse prints its whole usage block before such an error; for ``maskrun make-mask`` that
is some 18 lines above the one that matters. Here every error is one line that points to
``--help`` instead. An unknown option gets the option it was likely meant as: RELION's name
for it first (``--ini_threshold`` → ``--threshold``: users of ``relion_mask_create`` type
those; ``--pixel-size`` → ``--angpix`` in ``check-mask``, which keeps RELION's name), then the closest
of the command's own names; Xmipp's names for ``maskrun mask`` (``--substitute`` → ``--fill``), with how their
values translate. A missing required option names the unknown ones typed beside it
(``check-mask --i``: RELION's name for ``--half1``), and an ambiguous ``--i``/``--o`` on a command
that takes its input and output as positional arguments says so.
"""

from __future__ import annotations

import argparse
import difflib
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from maskrun.config.shape_params import XmippMaskType
    from maskrun.io.image_info import Kind

# relion_mask_create's and relion_postprocess's options (RELION 3.1) and the maskrun options that do the same, the
# first the command has named; an option of the same name (--lowpass, --invert, --and, --helix, --mask) needs
# none, and one with '_' for '-' (--and_not, --outer_radius, --z_percentage) is found by that swap. check-mask
# keeps RELION's --angpix, so the other commands' --pixel-size points to it there.
RELION_OPTIONS = {
    "i": ("from-map", "half1"),
    "o": ("json",),  # relion_postprocess's output: check-mask writes its JSON (elsewhere the output is positional)
    "i2": ("half2",),
    "ini_threshold": ("threshold",),
    "extend_inimask": ("extend",),
    "width_soft_edge": ("soft-edge",),
    "angpix": ("pixel-size",),
    "pixel-size": ("angpix",),
    "random_seed": ("seed",),
    "box_size": ("box",),
    "denovo": ("shape",),
    "center_x": ("center",),
    "center_y": ("center",),
    "center_z": ("center",),
}
# xmipp_transform_mask's options that maskrun mask names otherwise, and what its values are here (maskrun mask is
# the only command with --fill: the words are given where the command has the option they point to)
XMIPP_OPTIONS: dict[str, tuple[str, ...]] = {"substitute": ("fill",)}
XMIPP_WORDS = {
    "substitute": (
        "fill",
        "Xmipp's --substitute min|max|avg is --fill min|max|avg, --substitute 5 is --fill value --fill-value 5",
    ),
    "create_mask": (
        "fill",
        "Xmipp's --create_mask FILE is a command here: maskrun make-mask FILE --like INPUT with the same --shape "
        "options",
    ),
    "save_metadata_stack": (
        "fill",
        "Xmipp's --save_metadata_stack: maskrun mask writes the stack alone; a job (inputs.particles: the set's "
        ".xmd) writes the masked set's metadata, particles.xmd",
    ),
}
# why a soft mask's words get --compat xmipp beside a fill (docs/spec.md, "Fills")
SOFT_MASK_FILL = " (Xmipp multiplies by a soft mask, leaving the fill out: --compat xmipp does that)"
# xmipp_transform_mask's --mask TYPE ARGS, typed where maskrun mask takes --mask as --mask-file
XMIPP_MASK_WORDS = (
    "xmipp_transform_mask's --mask TYPE ARGS is --shape TYPE with its length options here: --mask circular -20 is "
    "--shape circular --radius 20, and a positive Xmipp length (keep the outside) is positive here with --invert"
)


def xmipp_mask_options(mask: XmippMaskType, numbers: list[float], kind: Kind, fill: bool = False) -> list[str]:
    """maskrun mask's options for ``xmipp_transform_mask --mask TYPE`` with Xmipp's ``numbers`` on a stack of images
    or a map (docs/spec.md, "xmipp_transform_mask's arguments in maskrun").

    Xmipp's lengths are signed (negative: keep the inside, positive: the outside, by the first
    length's sign); here they are positive, with ``--invert`` to keep the outside. With a
    ``fill`` (``--substitute``) a soft mask gets ``--compat xmipp``: Xmipp multiplies by it and
    leaves the fill out, where maskrun would blend the fill in.
    """
    lengths = [abs(n) for n in numbers]
    if mask.lengths == ("box_size",):  # one size per axis, one size if all are equal
        lengths = lengths[:2] if kind == "stack" else lengths[:3]
        pairs = [("--box-size", " ".join(f"{v:g}" for v in (lengths[:1] if len(set(lengths)) == 1 else lengths)))]
    else:
        pairs = [("--" + field.replace("_", "-"), f"{v:g}") for field, v in zip(mask.lengths, lengths)]
    shape = mask.images if kind == "stack" else mask.maps
    invert = ["--invert"] if numbers[0] > 0 else []
    compat_name = mask.compat or ("xmipp" if fill and mask.soft else "")
    compat = ["--compat", compat_name] if compat_name else []
    return ["--shape", shape, *(w for pair in pairs for w in pair), *invert, *compat]


def xmipp_mask_translation(words: Sequence[str], kind: Kind | None, fill: bool = False) -> str | None:
    """``--mask raised_cosine -3 -6 is --shape raised_cosine --inner-radius 3 --outer-radius 6 here``, or None.

    Parameters
    ----------
    words
        What was typed after ``--mask``: the type, then its numbers (and what followed).
    kind
        Whether the input is a stack of images or a map; None when not known: the words for
        images are given, with the map's where they differ.
    fill
        Whether a fill was typed beside (``--substitute``, or ``--fill``): a soft mask then
        gets ``--compat xmipp``, and says why.
    """
    numbers = []
    for word in words[1:]:
        try:
            numbers.append(float(word))
        except ValueError:
            break
    from maskrun.config.shape_params import XMIPP_MASK_TYPES  # not at start-up: this module is, for every command

    mask = XMIPP_MASK_TYPES.get(words[0]) if words else None
    if mask is None or not mask.lengths or not numbers:
        return None
    typed = " ".join(words[: len(numbers) + 1])
    for_images = xmipp_mask_options(mask, numbers, "stack", fill)
    said = " ".join(xmipp_mask_options(mask, numbers, kind or "stack", fill)) + " here"
    if kind is None and (for_maps := xmipp_mask_options(mask, numbers, "volume", fill)) != for_images:
        only_the_shape = for_maps[2:] == for_images[2:]
        said += f" ({for_maps[1] if only_the_shape else ' '.join(for_maps)} for a map)"
    return f"xmipp_transform_mask's --mask {typed} is {said}{SOFT_MASK_FILL if fill and mask.soft else ''}"


# the names a user may give an input or output that the command takes as a positional argument
IN_OUT_OPTIONS = {"i", "in", "input", "o", "out", "output"}


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr (exit 2), pointing to ``--help`` for the usage."""

    _typed: Sequence[str] = ()

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        """Parse as argparse does, keeping the words typed so that an error can name an option among them."""
        self._typed = [] if args is None else list(args)
        return super().parse_known_args(args, namespace)

    def error(self, message: str) -> NoReturn:
        """Print ``PROG: error: MESSAGE; see PROG --help`` and exit with status 2."""
        ambiguous = re.match(r"ambiguous option: --([^ =]+)", message)  # RELION's --i: --inner-radius or --invert?
        if ambiguous:
            meant = meant_option(ambiguous[1], self.long_names(), closest=False)
            if meant:
                message += f" (did you mean --{meant}?)"
            elif ambiguous[1] in IN_OUT_OPTIONS and (positional := self._positional_hint()):
                message += f" ({positional})"
        elif message.startswith("the following arguments are required: "):
            # argparse stops at a missing option before it looks at unknown ones, and RELION's --i was
            # typed for the missing --half1: name the unknown ones too, with the option each was meant as
            unknown = [word for word in self._typed if self._unknown_option(word)]
            if unknown:
                message += "; " + unknown_options_phrase(unknown, self.long_names())
        self.exit(2, f"{self.prog}: error: {message}; see {self.prog} --help\n")

    def _get_option_tuples(self, option_string: str) -> list[Any]:
        """argparse's abbreviations of ``option_string``, but never RELION's ``--i``/``--o`` taken for another option.

        ``--o`` is the only option starting so in ``project-mask`` (``--overwrite``): argparse took
        ``--o keep.mrcs`` (RELION's output) as ``--overwrite``, and replaced an existing file.
        """
        found: list[Any] = super()._get_option_tuples(option_string)
        name = option_string.split("=")[0]
        if len(found) == 1 and name.startswith("--") and name[2:] in IN_OUT_OPTIONS:
            meant = meant_option(name[2:], self.long_names(), closest=False)
            hint = f"did you mean --{meant}?" if meant else self._positional_hint()
            self.error(
                f"option {name} is not read as {found[0][1]} here (RELION's {name} names a file)"
                + (f"; {hint}" if hint else "")
            )
        return found

    def long_names(self) -> list[str]:
        """The command's long options, without their dashes (``half1``, ``angpix``, …)."""
        return [name[2:] for action in self._actions for name in action.option_strings if name.startswith("--")]

    def _unknown_option(self, word: str) -> bool:
        """Whether ``word`` is an option the command neither has nor takes as an abbreviation of one."""
        name = word.split("=")[0]
        return name.startswith("--") and name != "--" and not any(n.startswith(name[2:]) for n in self.long_names())

    def _positional_hint(self) -> str | None:
        """``give the input and output as positional arguments: PROG input output ...``, if the command has them."""
        words = [
            action.metavar if isinstance(action.metavar, str) else action.dest
            for action in self._actions
            if not action.option_strings and not isinstance(action, argparse._SubParsersAction)
        ]
        if not words:
            return None
        what = (
            "the input and output as positional arguments"
            if len(words) > 1
            else f"the {words[0]} as a positional argument"
        )
        return f"give {what}: {self.prog} {' '.join(words)} ..."


def refuse_unknown(
    command_parser: argparse.ArgumentParser, unknown: list[str], args: argparse.Namespace | None = None
) -> NoReturn:
    """Exit 2 naming the words the command does not take, each unknown option with the one it was likely meant as.

    Parameters
    ----------
    command_parser
        The parser of the command given (``maskrun make-mask``'s).
    unknown
        The words it did not take, in the order typed.
    args
        What the command took, for its ``kind_of`` default (`maskrun.cli.mask.input_kind`): whether
        the input is a stack or a map, for the shape Xmipp's ``--mask TYPE ARGS`` is here.
    """
    names = [name[2:] for action in command_parser._actions for name in action.option_strings if name.startswith("--")]
    options = [word for word in unknown if word.startswith("--")]
    xmipp_mask = _xmipp_mask_hint(command_parser, unknown, args)
    if not options:  # words alone: a positional too many
        hint = _in_out_hint(command_parser, unknown) or xmipp_mask
        command_parser.error(f"unrecognized arguments: {' '.join(unknown)}{hint}")
    translated = xmipp_mask if xmipp_mask != f"; {XMIPP_MASK_WORDS}" else ""  # exact words only, beside the options
    command_parser.error(unknown_options_phrase(options, names) + translated)


def _in_out_hint(command_parser: argparse.ArgumentParser, unknown: list[str]) -> str:
    """Xmipp's ``-i IN -o OUT`` (relion_*'s single-dash spelling too): positional arguments here."""
    in_out = [word for word in unknown if word.startswith("-") and word[1:] in IN_OUT_OPTIONS]
    positional = isinstance(command_parser, OneLineParser) and command_parser._positional_hint()
    if in_out and positional:
        are = "are not options" if len(in_out) > 1 else "is not an option"
        return f"; {' and '.join(in_out)} {are} here: {positional}"
    return ""


def _xmipp_mask_hint(
    command_parser: argparse.ArgumentParser, unknown: list[str], args: argparse.Namespace | None
) -> str:
    """What xmipp_transform_mask's ``--mask TYPE ARGS`` (``--mask`` abbreviates ``--mask-file`` here) is here: its
    exact words when the type is a shape with lengths, the general rule otherwise; ``""`` without ``--mask``."""
    typed = list(getattr(command_parser, "_typed", ()))
    names = [name for action in command_parser._actions for name in action.option_strings]
    at = [i for i, word in enumerate(typed) if word.split("=")[0] == "--mask"]
    if "--mask-file" not in names or not at:
        return ""
    words = typed[at[0] + 1 :]
    fill = any(word.split("=")[0] in ("--substitute", "--fill") for word in typed)
    if len(words) >= 2 and words[0] in ("binary_file", "real_file") and words[1] in unknown:
        # a real_file mask is multiplied by, whatever its values: --compat xmipp would fill a 0/1 file's zeros
        no_fill = ", with no --fill (Xmipp multiplies by a real_file mask, leaving the fill out)"
        given = f"--mask-file {words[1]}" + (no_fill if fill and words[0] == "real_file" else "")
        return f"; xmipp_transform_mask's --mask {words[0]} FILE is --mask-file FILE here: {given}"
    kind_of: Callable[[argparse.Namespace], Kind | None] | None = command_parser.get_default("kind_of")
    kind = kind_of(args) if kind_of is not None and args is not None else None
    translation = xmipp_mask_translation(words, kind, fill)
    if translation is None and words:
        from maskrun.config.shape_params import XMIPP_MASK_TYPES  # a mask type without a twin here: its nearest

        xmipp = XMIPP_MASK_TYPES.get(words[0])
        if instead := getattr(xmipp, "instead", ""):
            translation = instead.format(file="--mask-file")
            if fill and xmipp is not None and xmipp.soft:  # blob_*
                translation += ", with --compat xmipp" + SOFT_MASK_FILL
    return f"; {translation}" if translation else f"; {XMIPP_MASK_WORDS}"


def unknown_options_phrase(options: list[str], names: list[str]) -> str:
    """``unrecognized options: --extnd (did you mean --extend?), --jsn``: each option with the one it likely means.

    Only the options are named: argparse gives an unknown option's value to a positional it still wants
    (``--angpix 11.4 OUT.mrc`` leaves ``--angpix OUT.mrc``), so the words after one need not be its own.
    """
    words = []
    for option in options:
        name = option.split("=")[0][2:]
        meant = meant_option(name, names)
        hints = [f"did you mean --{meant}?"] if meant else []
        needs, xmipp = XMIPP_WORDS.get(name, ("", ""))
        hints += [xmipp] if xmipp and needs in names else []
        words.append(f"{option} ({' '.join(hints)})" if hints else option)
    return f"unrecognized option{'s' * (len(options) > 1)}: {', '.join(words)}"


def meant_option(name: str, names: list[str], closest: bool = True) -> str | None:
    """The option of ``names`` (without dashes) that ``name`` likely means: RELION's or Xmipp's name for it, else the
    closest.

    Parameters
    ----------
    name
        The option typed, without its dashes (``angpix``, ``i``, ``extnd``).
    names
        The command's long options, without their dashes.
    closest
        Whether to fall back to the closest of ``names`` in spelling when RELION's names give none.
    """
    for meant in (*RELION_OPTIONS.get(name, ()), *XMIPP_OPTIONS.get(name, ()), name.replace("_", "-")):
        if meant in names:
            return meant
    close = difflib.get_close_matches(name, names, n=1) if closest else []
    return close[0] if close else None
