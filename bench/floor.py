"""What a `maskrun mask` run cannot go below, measured, and what that leaves for the pixels.

Two figures bound how close to dd a mask can get with the steps it has:

- the streaming floor: the real command, start-up and all, with the masking replaced by a
  plain copy and the header statistics skipped (`streaming_floor`): what reading, writing,
  the workers and Python cost with no work done on the pixels;
- the cost of each step maskrun does per block, timed on one core over the stack's worth of
  1 MB blocks (`step_costs`): what the work on the pixels adds, in CPU-seconds, to be
  shared by the workers.

`print_floor` sets the two against the room a target ratio leaves above the floor."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

MASKRUN_WORKERS = 2  # maskrun.engine.stream.WORKERS (not imported: run.py's process stays small)


def streaming_floor(*argv: str) -> None:
    """Run ``maskrun <argv>`` with every per-pixel step replaced by a copy (exits with its status).

    It starts as the installed command does (`maskrun.cli.console`), so the floor keeps the
    command's start-up.
    """
    from maskrun.cli.console import frozen_imports

    with frozen_imports():
        import numpy as np

        from maskrun.cli import main as cli
        from maskrun.engine import stream as mask_stream
        from maskrun.io import header_stats as block_stats

    for module, name in ((mask_stream, "mask_rows"), (block_stats.RunningStats, "add")):
        if not hasattr(module, name):  # a rename must break the floor loudly, not measure the real thing
            raise SystemExit(f"bench/floor.py: {module.__name__}.{name} is gone; update the floor")
    mask_stream.mask_rows = lambda source, out, *args, **kwargs: np.copyto(out, source)
    block_stats.RunningStats.add = lambda self, block: None
    sys.exit(cli.main(list(argv)))


def step_costs(box: str, images: str, out: str) -> None:
    """CPU-seconds of maskrun's per-block steps over ``images`` images of ``box``², as JSON.

    Each mask's steps run in order on every block, as in the real loop: the first reads
    the block from memory (blocks are cut from a 16 MB pool, larger than the L2 cache), the
    later ones find it, or the output block, in cache. A step's cost is what adding it to
    the sequence adds; ``copy`` is the floor's only step. Best of 3, on one core.
    """
    import numpy as np
    from threadpoolctl import threadpool_limits

    from maskrun.config.fill import FillParams
    from maskrun.config.shape_params import Circular, RaisedCosine
    from maskrun.engine.apply import mask_images
    from maskrun.engine.stream import BLOCK_BYTES, rows_per
    from maskrun.geometry.masks import build_mask
    from maskrun.io.header_stats import RunningStats

    box, images = int(box), int(images)
    block = rows_per(BLOCK_BYTES, (box, box))
    pool = np.random.default_rng(0).normal(size=(16 * block, box, box)).astype(np.float32)  # 16 MB, > L2
    out_block = np.empty((block, box, box), np.float32)
    circle = build_mask(Circular().resolve(box, 2), (box, box))
    raised_cosine = RaisedCosine(inner_radius=box * 100 / 256, outer_radius=box * 120 / 256)  # the bench's, at 256
    raised = build_mask(raised_cosine.resolve(box, 2), (box, box))
    avg = FillParams.model_validate({"with": "avg"})

    def sequence_seconds(steps) -> float:
        runs = []
        for _ in range(3):
            start = time.process_time()
            for first in range(0, images, block):
                offset, rows = first // block % 16 * block, min(block, images - first)
                source, target = pool[offset : offset + rows], out_block[:rows]
                for step in steps:
                    step(source, target)
            runs.append(time.process_time() - start)
        return min(runs)

    sequences = {
        "mask_circular_avg": {
            "binary_mask_with_avg_fill": lambda src, out: mask_images(src, out, circle, avg),  # copy, means, substitute
            "header_statistics": lambda src, out: RunningStats().add(out),  # min, max, sum, sum of squares
        },
        "mask_raised_cosine": {
            "soft_mask": lambda src, out: mask_images(src, out, raised, None),  # multiply
            "header_statistics": lambda src, out: RunningStats().add(out),
        },
    }
    with threadpool_limits(limits=1, user_api="blas"):  # as in write_masked's workers
        costs: dict = {"copy": sequence_seconds([lambda src, out: np.copyto(out, src)])}
        for mask, steps in sequences.items():
            costs[mask], before = {}, 0.0
            for k, name in enumerate(steps):
                total = sequence_seconds(list(steps.values())[: k + 1])
                costs[mask][name], before = max(total - before, 0.0), total
            costs[mask]["total"] = before
    Path(out).write_text(json.dumps(costs))


def print_floor(report: dict) -> dict[str, dict]:
    """Print the floor and the replace-mode figures; return each mask's pixel work against 1.3 x dd.

    The pixel work (CPU-seconds beyond a copy) is set against the room 1.3 x dd leaves above
    the streaming floor. The prediction assumes the pixel work shares out perfectly over the workers: it is the
    best a run can do with these steps, not an estimate of a typical one.
    """
    s, floor, steps = report["stack"], report["floor"], report["floor"]["step_cpu_s"]
    dd = s["dd"]["median_s"]
    print(
        f"\nfloor: start-up alone (1 image) {floor['start_up']:.2f} s ({floor['start_up'] / dd:.2f} x dd); "
        f"streaming with every pixel step a copy {floor['streaming_floor']:.2f} s "
        f"({floor['streaming_floor'] / dd:.2f} x dd)"
    )
    print(f"per-block steps over the whole stack, CPU s on one core: copy {steps['copy']:.3f}")
    budget = {}
    for name in ("mask_raised_cosine", "mask_circular_avg"):
        print(f"{name}: " + ", ".join(f"{step} {seconds:.3f}" for step, seconds in steps[name].items()))
        cpu = steps[name]["total"] - steps["copy"]
        room, predicted = 1.3 * dd - floor["streaming_floor"], floor["streaming_floor"] + cpu / MASKRUN_WORKERS
        budget[name] = {"pixel_work_cpu_s": cpu, "predicted_s": predicted, "room_at_1.3_x_dd_s": room}
        print(
            f"  beyond the floor's copy {cpu:.2f} CPU s = {cpu / MASKRUN_WORKERS:.2f} s on {MASKRUN_WORKERS} "
            f"workers; floor + that = {predicted:.2f} s = {predicted / dd:.2f} x dd "
            f"(measured {s[name]['median_s']:.2f} s); 1.3 x dd leaves {room:.2f} s above the floor"
        )
    replace = report["replace"]
    print(
        "writing over an earlier output (ext4 then flushes the new file on close or rename): "
        + ", ".join(f"{name} {seconds:.2f} s ({seconds / replace['dd']:.2f} x dd)" for name, seconds in replace.items())
    )
    return budget


if __name__ == "__main__":
    streaming_floor(*sys.argv[1:])
