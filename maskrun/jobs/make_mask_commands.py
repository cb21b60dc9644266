"""The ``maskrun make-mask`` commands a mask's check advises: a size the verdict tried, the search's tightest fine mask.

Both are made from the checked mask file itself (``--from-map MASK``), as the check made the
masks it judged: grown from that file's contour, not from what made the file.
"""

from __future__ import annotations

import shlex

from maskrun.engine.mask_search import Candidate
from maskrun.geometry.grown_masks import EDGE_DECIMALS
from maskrun.geometry.mask_verdict import Remake


def remake_command(remake: Remake, mask: str) -> str:
    """The command that makes the size a check tried (``remake``) from the checked ``mask``."""
    return (
        f"maskrun make-mask OUT.mrc --from-map {shlex.quote(mask)} --threshold {remake.threshold:g} "
        f"--extend {remake.extend_px} --soft-edge {remake.soft_edge_px:.{EDGE_DECIMALS}f}"
    )


def search_command(best: Candidate, mask: str) -> str:
    """The command that makes the search's candidate ``best`` from ``mask``, the file searched around (its 0.5
    contour, extended and softened)."""
    return (
        f"maskrun make-mask OUT.mrc --from-map {shlex.quote(mask)} --threshold 0.5 "
        f"--extend {best.extend_px:g} --soft-edge {best.soft_edge_px:g}"
    )
