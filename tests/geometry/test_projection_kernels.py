"""The compiled loops of projected masks where numba cannot cache them (a read-only installation and home)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import maskrun.geometry.projection_kernels as kernels

CALL = """
import importlib.util, sys
import numpy as np
spec = importlib.util.spec_from_file_location("kernels", sys.argv[1])
kernels = importlib.util.module_from_spec(spec)
spec.loader.exec_module(kernels)
images = np.zeros((1, 8, 8), np.float32)
images[0, 3:5, 3:5] = 1
masks = np.empty_like(images)
kernels.support_masks_into(masks, images, np.full(1, 0.5, np.float32), 1, np.array([1.0, 0.5]))
print(int(masks.sum() * 2))
"""


def test_the_kernels_compile_in_each_process_where_no_cache_folder_can_be_made(tmp_path: Path):
    module = tmp_path / "installed" / "projection_kernels.py"
    module.parent.mkdir()
    shutil.copy(kernels.__file__, module)
    (module.parent / "__pycache__").write_text("a file where numba would make its folder")
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env |= {"HOME": str(blocked / "home"), "XDG_CACHE_HOME": str(blocked / "cache")}
    done = subprocess.run([sys.executable, "-c", CALL, str(module)], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    # the 2 x 2 support, and its 8 edge neighbours (distance 1) at half weight
    assert done.stdout.split() == [str(2 * 4 + 8)]
