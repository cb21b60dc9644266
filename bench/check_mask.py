"""maskrun check-mask against relion_postprocess on the same half-maps (256³ by default).

Both are whole commands, start-up and reading included, run in turn ``--reps`` times; the
medians decide the targets (the best of each is reported beside). relion_postprocess runs
with ``--auto_bfac false --adhoc_bfac 0``: its FSC work is check-mask's, and its sharpening
after that is light (it may exit 1 there on synthetic maps after writing its STAR file: the
time still counts). The targets: check-mask
≤ 10 s at 256³, and ≥ 3 × faster than relion_postprocess (wall time). CPU seconds (user +
system) and the load average are reported too: on a shared machine the wall ratio moves
with the load (RELION runs on one core, check-mask's transforms on all).

    python bench/check_mask.py [--box 256] [--reps 3] [--work DIR] [--out results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

MASKRUN = [sys.executable, "-m", "maskrun"]
CHECKOUT = Path(__file__).resolve().parents[1]  # the maskrun measured: this checkout's
TARGET_SECONDS = 10.0
TARGET_RATIO = 3.0


def half_maps(box: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two half-maps (blobs with a fine texture, plus independent noise) and a soft mask around the blobs."""
    rng = np.random.default_rng(seed)
    z, y, x = np.ogrid[:box, :box, :box]
    signal = np.zeros((box, box, box), np.float32)
    for _ in range(8):
        c = rng.uniform(0.38, 0.62, 3) * box
        signal += np.exp(-((z - c[0]) ** 2 + (y - c[1]) ** 2 + (x - c[2]) ** 2) / (2 * (box / 24) ** 2)).astype(
            np.float32
        )
    support = signal > 0.1
    signal *= 1 + 0.5 * rng.standard_normal(signal.shape).astype(np.float32)
    halves = [signal + rng.standard_normal(signal.shape).astype(np.float32) for _ in range(2)]
    from scipy import ndimage

    distance = ndimage.distance_transform_edt(~support).astype(np.float32)
    mask = np.clip(0.5 + 0.5 * np.cos(np.pi * np.clip(distance - 3, 0, 8) / 8), 0, 1).astype(np.float32)
    mask[distance > 11] = 0
    return halves[0], halves[1], mask


def write(path: Path, values: np.ndarray, voxel: float = 1.0) -> Path:
    import mrcfile

    with mrcfile.new(path, overwrite=True) as mrc:
        mrc.set_data(values)
        mrc.voxel_size = voxel
    return path


def seconds(argv: list[str], cwd: Path, must_succeed: bool = False) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of a command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    paths = [str(CHECKOUT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    result = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False, env=env)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if must_succeed and result.returncode != 0:
        raise SystemExit(f"bench/check_mask.py: {' '.join(argv[:4])} ... failed: {result.stderr[-2000:]}")
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def bench(box: int, reps: int, work: Path) -> dict:
    """Median and best of ``reps`` seconds of both programs on one pair of ``box``³ half-maps, and the targets."""
    work.mkdir(parents=True, exist_ok=True)
    h1, h2, mask = half_maps(box)
    paths = [write(work / f"{name}.mrc", a) for name, a in (("half1", h1), ("half2", h2), ("mask", mask))]
    ours = [*MASKRUN, "check-mask", "--half1", str(paths[0]), "--half2", str(paths[1]), "--mask", str(paths[2])]
    ours += ["--json", str(work / "check.json"), "--overwrite"]
    relion = shutil.which("relion_postprocess")
    theirs = [relion or "", "--i", str(paths[0]), "--i2", str(paths[1]), "--mask", str(paths[2])]
    theirs += ["--angpix", "1", "--o", str(work / "pp"), "--auto_bfac", "false", "--adhoc_bfac", "0"]
    maskrun_s, relion_s = [], []
    for _ in range(reps):
        maskrun_s.append(seconds(ours, work, must_succeed=True))
        if relion:
            relion_s.append(seconds(theirs, work))
    report: dict = {
        "box": box,
        "cores": os.cpu_count(),
        "load_average": os.getloadavg()[0],
        "maskrun_s": min(wall for wall, _ in maskrun_s),
        "maskrun_cpu_s": min(cpu for _, cpu in maskrun_s),
        "maskrun_runs_s": [wall for wall, _ in maskrun_s],
        "maskrun_median_s": statistics.median(wall for wall, _ in maskrun_s),
    }
    report["verdict"] = json.loads((work / "check.json").read_text())["verdict"]
    targets = {f"check-mask {box}³ <= {TARGET_SECONDS:g} s": report["maskrun_median_s"] <= TARGET_SECONDS}
    if relion:
        report["relion_s"] = min(wall for wall, _ in relion_s)
        report["relion_cpu_s"] = min(cpu for _, cpu in relion_s)
        report["relion_runs_s"] = [wall for wall, _ in relion_s]
        report["relion_median_s"] = statistics.median(wall for wall, _ in relion_s)
        report["ratio"] = report["relion_s"] / report["maskrun_s"]
        report["median_ratio"] = report["relion_median_s"] / report["maskrun_median_s"]
        report["cpu_ratio"] = report["relion_cpu_s"] / report["maskrun_cpu_s"]
        targets[f"check-mask >= {TARGET_RATIO:g} x faster than relion_postprocess ({box}³)"] = (
            report["median_ratio"] >= TARGET_RATIO
        )
    report["targets"] = targets
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--box", type=int, default=256)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path("bench_check_mask"))
    parser.add_argument("--out", type=Path, help="results JSON (default WORK/results.json)")
    args = parser.parse_args()
    report = bench(args.box, args.reps, args.work.resolve())
    out = args.out or args.work / "results.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    line = f"check-mask {report['box']}³: median {report['maskrun_median_s']:.2f} s (best {report['maskrun_s']:.2f})"
    if "relion_s" in report:
        line += f"; relion_postprocess {report['relion_median_s']:.2f} s (best {report['relion_s']:.2f})"
        line += f"; {report['median_ratio']:.1f} x (best to best {report['ratio']:.1f} x)"
        line += f" (CPU s: {report['maskrun_cpu_s']:.2f} vs {report['relion_cpu_s']:.2f}, {report['cpu_ratio']:.1f} x)"
    line += f"; load average {report['load_average']:.1f} on {report['cores']} cores"
    print(line)
    for name, met in report["targets"].items():
        print(f"  {'met' if met else 'MISSED'}: {name}")


if __name__ == "__main__":
    main()
