"""maskrun: apply geometrical or created masks to cryo-EM particle stacks and maps.

Public entry points: `mask_mrc_file` masks one map or stack (what ``maskrun mask`` runs);
`build_mask` gives the mask array of a shape for a box.
"""

__version__ = "0.1.0"

from maskrun.masking import mask_mrc_file  # noqa: E402
from maskrun.masks import build_mask  # noqa: E402

__all__ = ["__version__", "build_mask", "mask_mrc_file"]
