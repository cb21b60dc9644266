"""Masks from maps: maskrun make-mask against relion_mask_create on the same map, and a 512³ map.

The 192³ map holds a few blobs; both programs threshold it, extend the mask by 3 px and add
a 10 px soft edge (RELION single-threaded, as relion_mask_create runs by default). The 512³
map gets a 12 px soft edge; its time and the peak memory of the whole command are measured.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

MASKRUN = [sys.executable, "-m", "maskrun"]


def blobs(n: int) -> np.ndarray:
    """A map of three soft blobs (float32), scaled with the box."""
    z, y, x = np.ogrid[:n, :n, :n]
    volume = np.zeros((n, n, n), np.float32)
    for (cz, cy, cx), r in (((0.5, 0.5, 0.4), 0.12), ((0.5, 0.58, 0.64), 0.08), ((0.4, 0.4, 0.5), 0.06)):
        d2 = (z - cz * n) ** 2 + (y - cy * n) ** 2 + (x - cx * n) ** 2
        volume += np.exp(-d2 / (2 * (r * n) ** 2)).astype(np.float32)
    return volume


def write_map(path: Path, volume: np.ndarray) -> Path:
    import mrcfile

    if not path.exists():
        with mrcfile.new(path) as mrc:
            mrc.set_data(volume)
            mrc.voxel_size = 1.5
    return path


def bench_map_masks(work: Path, tree_peak_rss_mb, sizes: tuple[int, int] = (192, 512)) -> dict:
    """Seconds for both programs at 192³, and seconds and peak MB of make-mask at 512³ (or ``sizes``)."""
    work = work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    small = write_map(work / f"blobs_{sizes[0]}.mrc", blobs(sizes[0]))
    report: dict = {}
    argv = [
        *MASKRUN,
        "make-mask",
        str(work / "ours_192.mrc"),
        "--from-map",
        str(small),
        "--threshold",
        "0.5",
        "--extend",
        "3",
        "--soft-edge",
        "10",
        "--overwrite",
    ]
    report["maskrun_192_s"] = min(_seconds(argv, work) for _ in range(3))
    relion = shutil.which("relion_mask_create")
    if relion:
        report["relion_192_s"] = _seconds(
            [
                relion,
                "--i",
                str(small),
                "--o",
                str(work / "relion_192.mrc"),
                "--ini_threshold",
                "0.5",
                "--extend_inimask",
                "3",
                "--width_soft_edge",
                "10",
                "--j",
                "1",
            ],
            work,
        )
        import mrcfile

        report["max_difference"] = float(
            np.abs(mrcfile.read(work / "ours_192.mrc") - mrcfile.read(work / "relion_192.mrc")).max()
        )
    big = write_map(work / f"blobs_{sizes[1]}.mrc", blobs(sizes[1]))
    argv = [
        *MASKRUN,
        "make-mask",
        str(work / "ours_512.mrc"),
        "--from-map",
        str(big),
        "--threshold",
        "0.5",
        "--extend",
        "3",
        "--soft-edge",
        "12",
        "--overwrite",
    ]
    report["maskrun_512_s"] = _seconds(argv, work)
    report["maskrun_512_peak_mb"] = tree_peak_rss_mb(argv, work)
    return report


def _seconds(argv: list[str], cwd: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run(argv, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - t0
