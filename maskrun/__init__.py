"""maskrun: apply geometrical or created masks to cryo-EM particle stacks and maps.

Public entry points: `mask_mrc_file` masks one map or stack (what ``maskrun mask`` runs);
`build_mask` gives the mask array of a shape for a box.

They are imported on first use, so that importing one module of the package (the
``maskrun`` command's entry point, say) does not import all of them.
"""

__version__ = "0.1.0"

__all__ = ["__version__", "build_mask", "mask_mrc_file"]


def __getattr__(name: str):
    if name == "mask_mrc_file":
        from maskrun.engine.one_file import mask_mrc_file

        return mask_mrc_file
    if name == "build_mask":
        from maskrun.geometry.masks import build_mask

        return build_mask
    raise AttributeError(f"module 'maskrun' has no attribute {name!r}")
