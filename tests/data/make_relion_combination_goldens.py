"""Write relion_combination_goldens.npz: masks made by RELION 3.1.3's relion_mask_create.

Run by hand where RELION is installed (``python tests/data/make_relion_combination_goldens.py``);
the tests then compare maskrun's masks with these without RELION. The two maps are the
phantoms of `test_map_mask_combine.two_maps` (box 56 x 48 x 40, x y z), made again by the
test from the same seeds; only RELION's masks are stored.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE.parent / "geometry")]

from test_map_mask_combine import SHAPES, relion_mask, two_maps  # noqa: E402

CASES = {  # name: relion_mask_create's options beyond --i A.mrc, the threshold, extend and soft edge
    "and": ["--and", "B.mrc"],
    "or": ["--or", "B.mrc"],
    "and_not": ["--and_not", "B.mrc"],
    "or_not": ["--or_not", "B.mrc"],
    "helix": ["--helix"],
    "helix_and_invert": ["--helix", "--and", "B.mrc", "--invert"],
}

if __name__ == "__main__":
    import os

    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        two_maps(folder, SHAPES["box"])
        os.chdir(folder)  # B.mrc relative to the working folder, as RELION is usually run
        masks = {name: relion_mask(folder, *options) for name, options in CASES.items()}
    np.savez_compressed(HERE / "relion_combination_goldens.npz", **masks)
    print(f"wrote {HERE / 'relion_combination_goldens.npz'}: {', '.join(masks)}")
