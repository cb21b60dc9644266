"""Mask expressions: three terms at 256³ against the slowest of them alone (issue 24's target: ≤ 2 ×).

The terms are a map thresholded (the blobs of `map_masks.blobs`), spheres of 3 Å around the
atoms of a model (50,000 atoms over the blobs) and a sphere cut out (`none_of`). Each term
alone is timed as the mask a job would make from it (the same extension and soft edge), then
the expression of all three; the ratio is the expression's time over the slowest term's, each
the best of ``--reps`` runs with every cache cleared (files stay in the page cache: the first
run reads them). Prints one JSON object.

    python bench/mask_expression.py [--size 256] [--atoms 50000] [--reps 3] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from map_masks import blobs, write_map

TARGET_RATIO = 2.0
EXTEND_PX, SOFT_EDGE_PX = 3, 6


def write_model(path: Path, n_atoms: int, size: int, voxel: float = 1.5, seed: int = 0) -> Path:
    """``n_atoms`` carbon atoms (PDB) scattered over the main blob of a ``size``³ map."""
    rng = np.random.default_rng(seed)
    centre = np.array([0.4, 0.5, 0.5]) * size * voxel  # x y z, Å: the first blob (z, y, x = 0.5, 0.5, 0.4)
    atoms = centre + rng.normal(0, 0.08 * size * voxel, (n_atoms, 3))
    lines = [
        f"ATOM  {i % 100000:5d}  C   ALA A{(i // 10) % 10000:4d}    {x:8.3f}{y:8.3f}{z:8.3f}  1.00  0.00           C"
        for i, (x, y, z) in enumerate(atoms, start=1)
    ]
    path.write_text("\n".join(lines) + "\nEND\n")
    return path


def terms(work: Path, size: int, n_atoms: int) -> dict[str, dict]:
    """The three terms, as a job writes them."""
    density = write_map(work / f"blobs_{size}.mrc", blobs(size))
    model = write_model(work / f"model_{n_atoms}.pdb", n_atoms, size)
    return {
        "map": {"map": {"file": str(density), "threshold": 0.5}},
        "model": {"model": {"file": str(model), "radius": "3 A"}},
        "sphere": {"geometry": {"shape": "sphere", "radius": size // 10, "center": [size // 8, 0, 0]}},
    }


def seconds(expression: dict, grid_path: Path, reps: int) -> float:
    """Best time of making the mask of ``mask.expression`` for the map at ``grid_path``, caches cleared."""
    from maskrun.config.mask_spec import MaskSpec
    from maskrun.engine import created_mask, expression_mask
    from maskrun.engine.one_file import prepare_mask
    from maskrun.io.images import inspect_image

    spec = MaskSpec.model_validate({"source": "expression", "expression": expression})
    info = inspect_image(grid_path)
    best = float("inf")
    for _ in range(reps):
        expression_mask._expression_mask.cache_clear()
        created_mask._made_from_map.cache_clear()
        t0 = time.perf_counter()
        mask, _ = prepare_mask(spec, info.shape_zyx, info.voxel_size_xyz, "maskrun", grid=info)
        best = min(best, time.perf_counter() - t0)
        assert 0 < mask.values.mean() < 1
    return best


def bench_expression(work: Path, size: int = 256, n_atoms: int = 50_000, reps: int = 3) -> dict:
    """Seconds of each term alone and of the three-term expression, and their ratio."""
    work.mkdir(parents=True, exist_ok=True)
    parts = terms(work, size, n_atoms)
    grid = work / f"blobs_{size}.mrc"
    edges = {"extend_px": EXTEND_PX, "soft_edge_px": SOFT_EDGE_PX}
    report: dict = {"size": size, "atoms": n_atoms, "extend_px": EXTEND_PX, "soft_edge_px": SOFT_EDGE_PX}
    alone = {}
    for name, term in parts.items():
        alone[name] = seconds({"all_of": [term], **edges}, grid, reps)
        report[f"{name}_alone_s"] = round(alone[name], 3)
    combined = {"any_of": [parts["map"], parts["model"]], "none_of": [parts["sphere"]], **edges}
    report["expression_s"] = round(seconds(combined, grid, reps), 3)
    slowest = max(alone.values())
    report["ratio_to_slowest_term"] = round(report["expression_s"] / slowest, 2)
    report["target_ratio"] = TARGET_RATIO
    report["meets_target"] = report["ratio_to_slowest_term"] <= TARGET_RATIO
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--atoms", type=int, default=50_000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--work", type=Path, default=None, help="folder for the maps (default: a temporary one)")
    args = parser.parse_args(argv)
    if args.work is not None:
        report = bench_expression(args.work, args.size, args.atoms, args.reps)
    else:
        with tempfile.TemporaryDirectory() as folder:
            report = bench_expression(Path(folder), args.size, args.atoms, args.reps)
    print(json.dumps(report, indent=1))
    return 0 if report["meets_target"] else 1


if __name__ == "__main__":
    sys.exit(main())
