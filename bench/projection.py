"""Projected masks (issue 25): speed against relion_project, and a job's throughput against a fixed mask.

Two ratios, each against a baseline timed in the same run:

1. ``maskrun project-mask MASK3D PARTICLES OUT.mrcs --raw`` against ``relion_project --i MASK3D
   --ang PARTICLES`` (RELION 3.1.3), both as external commands on the same files: 2,000
   particles of 128² by default. Target: maskrun's time ≤ 2 × RELION's.
2. A job with ``mask.source: projection`` against the same job with a fixed mask (a soft
   sphere from ``mask.source: geometry``), run in-process without a report: 2,000 particles
   of 256² by default (``--job-particles 20000`` for the issue's full size), each job run
   ``--job-runs`` times in turn and the fastest of each compared. Target: the projected job's
   throughput ≥ 50 % of the fixed-mask job's.

Usage: ``python bench/projection.py [--particles 2000] [--box 128] [--job-particles 2000]
[--job-box 256] [--job-runs 2] [--folder DIR]``; prints one JSON object with the times and ratios.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import mrcfile
import numpy as np
import yaml

PIXEL = 1.5


def soft_sphere(box: int, radius: float, edge: float = 4.0) -> np.ndarray:
    z, y, x = np.mgrid[:box, :box, :box] - box // 2
    r = np.sqrt(x * x + y * y + (z / 1.3) ** 2)
    return np.where(r <= radius, 1.0, 0.5 * (1 + np.cos(np.pi * np.clip((r - radius) / edge, 0, 1)))).astype(np.float32)


def write_set(folder: Path, count: int, box: int, seed: int = 1) -> Path:
    """A RELION 3.1 STAR of ``count`` particles with random poses and sub-pixel origins, its stack and a 3D mask."""
    rng = np.random.default_rng(seed)
    with mrcfile.new(folder / "mask3d.mrc", overwrite=True) as mrc:
        mrc.set_data(soft_sphere(box, box / 4))
        mrc.voxel_size = PIXEL
    with mrcfile.new_mmap(folder / "particles.mrcs", (count, box, box), mrc_mode=2, overwrite=True) as mrc:
        mrc.set_image_stack()
        mrc.voxel_size = PIXEL
        for start in range(0, count, 500):
            stop = min(count, start + 500)
            mrc.data[start:stop] = rng.normal(0, 1, (stop - start, box, box)).astype(np.float32)
    rot, psi = rng.uniform(-180, 180, (2, count))
    tilt = np.degrees(np.arccos(rng.uniform(-1, 1, count)))
    x, y = rng.uniform(-4, 4, (2, count)) * PIXEL
    head = [
        "data_optics",
        "loop_",
        "_rlnOpticsGroup #1",
        "_rlnImagePixelSize #2",
        "_rlnImageSize #3",
        "_rlnImageDimensionality #4",
        "_rlnVoltage #5",
        "_rlnSphericalAberration #6",
        "_rlnAmplitudeContrast #7",
        f"1 {PIXEL} {box} 2 300 2.7 0.1",
        "",
        "data_particles",
        "loop_",
        "_rlnImageName #1",
        "_rlnAngleRot #2",
        "_rlnAngleTilt #3",
        "_rlnAnglePsi #4",
        "_rlnOriginXAngst #5",
        "_rlnOriginYAngst #6",
        "_rlnOpticsGroup #7",
    ]
    rows = [
        f"{i + 1}@particles.mrcs {rot[i]:.6f} {tilt[i]:.6f} {psi[i]:.6f} {x[i]:.6f} {y[i]:.6f} 1" for i in range(count)
    ]
    star = folder / "particles.star"
    star.write_text("\n".join(head + rows) + "\n")
    return star


def timed(command: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


def against_relion(folder: Path, count: int, box: int) -> dict:
    write_set(folder, count, box)
    relion = shutil.which("relion_project")
    if relion is None:
        return {"skipped": "relion_project is not installed"}
    maskrun = [sys.executable, "-m", "maskrun", "project-mask", "mask3d.mrc", "particles.star", "ours.mrcs"]
    relion_s = min(
        timed([relion, "--i", "mask3d.mrc", "--ang", "particles.star", "--o", "theirs"], folder) for _ in range(2)
    )
    ours_s = min(timed([*maskrun, "--raw", "--overwrite"], folder) for _ in range(2))
    theirs, ours = mrcfile.read(folder / "theirs.mrcs"), mrcfile.read(folder / "ours.mrcs")
    error = np.sqrt(((ours - theirs) ** 2).mean(axis=(1, 2)) / (theirs**2).mean(axis=(1, 2)))
    return {
        "particles": count,
        "box": box,
        "relion_project_s": round(relion_s, 3),
        "project_mask_raw_s": round(ours_s, 3),
        "ratio": round(ours_s / relion_s, 3),
        "target_ratio_at_most": 2.0,
        "max_relative_rms": float(error.max()),
    }


def job_throughput(folder: Path, count: int, box: int, repeats: int) -> dict:
    from maskrun.api import run_job

    write_set(folder, count, box)
    base = {"version": 1, "inputs": {"particles": "particles.star"}, "fill": {"with": "value", "value": 0}}
    base |= {"report": False, "provenance": {"checksums": "none"}}
    fixed = base | {"name": "fixed", "mask": {"source": "geometry", "geometry": {"shape": "raised_cosine"}}}
    fixed["mask"]["geometry"] |= {"inner_radius": box // 4, "outer_radius": box // 4 + 6}
    projected = base | {"name": "projected", "mask": {"source": "projection", "projection": {"file": "mask3d.mrc"}}}
    seconds: dict[str, list[float]] = {"fixed": [], "projected": []}
    for _ in range(repeats):  # in turn, the fastest of each: the page cache and write-back swing single runs 2 ×
        for job in (fixed, projected):
            path = folder / f"{job['name']}.yaml"
            path.write_text(yaml.safe_dump(job))
            shutil.rmtree(folder / "results", ignore_errors=True)
            start = time.perf_counter()
            run_job(path)
            seconds[job["name"]].append(time.perf_counter() - start)
    return {
        "runs_each": repeats,
        "particles": count,
        "box": box,
        "fixed_mask_s": [round(s, 3) for s in seconds["fixed"]],
        "projected_mask_s": [round(s, 3) for s in seconds["projected"]],
        "throughput_ratio": round(min(seconds["fixed"]) / min(seconds["projected"]), 3),
        "target_ratio_at_least": 0.5,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--particles", type=int, default=2000)
    parser.add_argument("--box", type=int, default=128)
    parser.add_argument("--job-particles", type=int, default=2000)
    parser.add_argument("--job-box", type=int, default=256)
    parser.add_argument("--job-runs", type=int, default=2, help="runs of each job, in turn (the fastest counts)")
    parser.add_argument("--folder", type=Path, help="where to write the data (default: a temporary folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = args.folder or Path(scratch)
        (root / "relion").mkdir(parents=True, exist_ok=True)
        (root / "job").mkdir(parents=True, exist_ok=True)
        result = {
            "against_relion_project": against_relion(root / "relion", args.particles, args.box),
            "job_throughput": job_throughput(root / "job", args.job_particles, args.job_box, args.job_runs),
        }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
