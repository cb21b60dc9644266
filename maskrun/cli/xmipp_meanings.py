"""The note `maskrun mask` and `make-mask` give where the options typed mean other numbers in xmipp_transform_mask.

Those two commands are the ones an Xmipp user types as Xmipp's (the same shapes, ``--fill``
for ``--substitute``), and two of their options give other numbers than Xmipp's same words
(docs/spec.md, "Fills"): the gaussian (1 at its centre here, Xmipp's normalised density there)
and a fill with a soft shape (blended across the edge here, left out there). ``--compat
xmipp`` gives Xmipp's numbers; its own note says the reverse. This one is said once, in one
line, only where ``--compat`` was not typed (``--compat maskrun`` says these numbers are the
ones meant, and silences it) and only for those options: a job file, the API and every other
option are maskrun's own words, with nothing of Xmipp's to mistake.
"""

from __future__ import annotations

from maskrun.config.fill import FillParams
from maskrun.config.shape_params import XMIPP_MASK_TYPES


def xmipp_meaning_note(shape: str | None, fill: FillParams | None, compat: str | None) -> str | None:
    """The note for ``--shape shape`` (with ``fill``, None where the command takes none) when ``--compat`` was not
    typed (``compat`` None) and Xmipp's words give other numbers; None otherwise.

    Examples
    --------
    >>> xmipp_meaning_note("raised_cosine", FillParams(with_="avg"), None)[:44]
    '--fill avg is blended in across raised_cosin'
    >>> xmipp_meaning_note("raised_cosine", None, None), xmipp_meaning_note("gaussian", None, "maskrun")
    (None, None)
    """
    xmipp = XMIPP_MASK_TYPES.get(shape or "")
    if compat is not None or xmipp is None or not xmipp.soft or xmipp.images != shape:
        return None
    said = []
    if xmipp.compat == "xmipp":
        said.append(
            "--shape gaussian is exp(-r²/2σ²) here, 1 at its centre, where xmipp_transform_mask's is the normalised "
            "density (divided by (√(2π)σ)^d)"
        )
    if fill is not None and not fill.is_zero:
        said.append(
            f"--fill {fill.with_} is blended in across {shape}'s soft edge here, where xmipp_transform_mask "
            "multiplies by a soft mask and leaves --substitute out"
        )
    if not said:
        return None
    return "; ".join(said) + ": add --compat xmipp for Xmipp's numbers (--compat maskrun: these, without this note)"
