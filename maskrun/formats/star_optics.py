"""What a RELION STAR's ``data_optics`` and ``data_general`` say of its particles, checked against them.

RELION 3.1+ gives each particle an optics group (``rlnOpticsGroup``) that ``data_optics``
defines: its pixel size, box (``rlnImageSize``) and image dimensionality. RELION 4/5
tomography writes sets of the same form whose particles are not 2D images: RELION 5 names
them in ``data_general`` (``rlnTomoSubTomosAre2DStacks``: each particle a stack of tilt
images, or a 3D subtomogram), RELION 4's pseudo-subtomograms by ``rlnImageDimensionality 3``.
`maskrun.formats.star_set` reads a set's rows; this module refuses what maskrun cannot mask.
"""

from __future__ import annotations

from pathlib import Path

from maskrun.errors import UserError
from maskrun.formats.setting_names import SettingNames
from maskrun.io.star import Blocks, Loop

TILT_STACKS = "rlnTomoSubTomosAre2DStacks"  # RELION 5's data_general: 1, each particle a stack of 2D tilt images
DIMENSIONALITY = "rlnImageDimensionality"


def refuse_subtomograms(blocks: Blocks, path: Path, names: SettingNames) -> None:
    """Refuse a RELION 4/5 tomography set: its particles are tilt-image stacks or 3D subtomograms, not 2D images.

    Each row's ``rlnImageName`` is then a file, not an image of it: masked as particle images,
    each would keep its first image alone.

    Raises
    ------
    UserError
        Naming what the set is, by the field that says so, and what to mask instead.
    """
    general = blocks.get("general")
    optics = blocks.get("optics")
    if isinstance(general, dict) and TILT_STACKS in general:
        stacks = general[TILT_STACKS].strip().lower() not in ("0", "false")
        each = "a stack of 2D tilt images" if stacks else "a 3D subtomogram"
        what = f"RELION 5 subtomogram particles (data_general: {TILT_STACKS} {general[TILT_STACKS]}, each {each})"
    elif isinstance(optics, Loop) and DIMENSIONALITY in optics.columns and (optics.numbers(DIMENSIONALITY) == 3).any():
        what = f"RELION 4 pseudo-subtomogram particles (data_optics: {DIMENSIONALITY} 3, each a 3D subtomogram)"
    else:
        return
    instead = f"give its map as {names.volumes}" if names.volumes else "mask its map"
    raise UserError(
        f"{what}: maskrun masks 2D particle images, one per row, not subtomograms; to mask their average, {instead}",
        source=str(path),
    )
