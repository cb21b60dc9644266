"""The ``maskrun make-mask`` commands a mask's check advises: a size the verdict tried, the search's tightest fine mask.

Both are made from the checked mask file itself (``--from-map MASK``), as the check made the
masks it judged: grown from that file's contour, not from what made the file.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from maskrun.engine.mask_search import Candidate, Search
from maskrun.geometry.grown_masks import EDGE_DECIMALS
from maskrun.geometry.mask_verdict import Remake, Remap
from maskrun.io.mrc_writer import made_by, stored_labels

RULE_CHOSEN = "; threshold '"  # how `recipe_labels` appends the number a threshold rule chose
FLAGS = ("--keep-largest-component", "--fill-holes", "--helix", "--overwrite")  # make-mask's options with no value


def remake_command(remake: Remake, mask: str) -> str:
    """The command that makes the size a check tried (``remake``) from the checked ``mask``."""
    return (
        f"maskrun make-mask OUT.mrc --from-map {shlex.quote(mask)} --threshold {remake.threshold:g} "
        f"--extend {remake.extend_px} --soft-edge {remake.soft_edge_px:.{EDGE_DECIMALS}f}"
    )


def from_map_command(density_map: str) -> str:
    """The command that makes a mask from a map given where a mask belongs (`maskrun.engine.map_as_mask.MapAsMask`):
    its lowest level clear of the noise (``auto``, a generous mask: not extended) with a soft edge, to check then."""
    return f"maskrun make-mask OUT.mrc --from-map {shlex.quote(density_map)} --threshold auto --soft-edge 6"


def search_command(best: Candidate, mask: str, search: Search | None = None) -> str:
    """The command that makes the search's candidate ``best`` from ``mask``, the file searched around (its 0.5
    contour, extended and softened); the verdict's mask (``search``'s) as the verdict's ``make it`` line makes it."""
    if search is not None and best is search.verdict_mask:
        return remake_command(Remake(best.threshold, int(best.extend_px), best.soft_edge_px), mask)
    return (
        f"maskrun make-mask OUT.mrc --from-map {shlex.quote(mask)} --threshold {best.threshold:g} "
        f"--extend {best.extend_px:g} --soft-edge {best.soft_edge_px:g}"
    )


def remap_command(mask: str, remap: Remap) -> str | None:
    """The command that makes a speckled ``mask`` again as ``remap`` says: the ``make-mask --from-map`` command its MRC
    labels record (`made_by`), its threshold rule and steps kept, writing OUT.mrc, with ``--lowpass`` and
    ``--min-component-voxels`` at least ``remap``'s (a larger one the recipe had is kept). None when the labels do not
    say how it was made from a map (another program's mask, a recipe cut short, a shape), or when the recipe had both
    already: the same command again would make the same mask.
    """
    recipe = made_by(stored_labels(Path(mask)))
    if recipe is None or recipe.endswith("..."):
        return None
    try:
        words = shlex.split(recipe.split(RULE_CHOSEN)[0])
    except ValueError:
        return None
    if words[:1] != ["make-mask"] or "--from-map" not in words:
        return None
    given: dict[str, float] = {}
    kept: list[str] = []
    output, value_of = False, ""
    for word in words[1:]:
        if value_of:
            given[value_of], value_of = _number(word), ""
            continue
        name, equals, value = word.partition("=")
        if name in REMAPPED:
            if equals:
                given[name] = _number(value)
            else:
                value_of = name
        elif not output and not word.startswith("-") and (not kept or not _takes_value(kept[-1])):
            kept.append("OUT.mrc")  # the one positional word: the mask written
            output = True
        else:
            kept.append(word)
    lowpass = max(remap.lowpass_angstrom, given.get("--lowpass", 0.0))
    least = max(remap.min_component_voxels, int(given.get("--min-component-voxels", 0)))
    if not output or (lowpass, least) == (given.get("--lowpass"), given.get("--min-component-voxels")):
        return None
    return shlex.join(
        ["maskrun", "make-mask", *kept, "--lowpass", f"{lowpass:g}", "--min-component-voxels", str(least)]
    )


REMAPPED = ("--lowpass", "--min-component-voxels")


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 0.0


def _takes_value(word: str) -> bool:
    return word.startswith("--") and "=" not in word and word not in FLAGS
