"""The benchmark of issue 21, "A million particles": every figure with its target, met or not.

    python bench/scale.py [--reps 3] [--work bench/out] [--small] [--baseline DIR | --no-identical]

(bench/run.py runs it too, unless --no-scale.) In order:

1. A million particles (bench/million.py: 1,000 stacks of 1,000 16² images, a 13-column
   RELION 3.1 STAR), a job without ``batch_size`` (the default batching), a circular mask
   of radius 6 filled with each image's mean: `maskrun validate` (wall time, median of
   --reps; peak RSS of its process tree); `maskrun run --cores 2` (wall time, median of
   --reps; the peak PSS of its whole process tree, in one more run); SIGTERM to the
   `maskrun` process alone ~4 s into a run (its exit status, the seconds from the signal
   to its exit, and its processes still alive after), then a rerun that must finish and
   one more that must have nothing to do; and where the median run spent its time, from
   its ``MASKRUN_TIMELINE`` marks (`workflow.breakdown`: whatever marks the run writes).
2. The cost per GB: `maskrun run --cores 2` on a one-stack job (no batch_size, with its
   report, the raised cosine of bench/workflow.py) and `maskrun mask` of the same stack,
   on 5,000 × 256² (1.31 GB, bench/run.py's stack) and 20,000 × 256² (5.24 GB), in
   alternating rounds, each run after a primed page cache (`measure.prime_page_cache`),
   the inputs read into the page cache first: the run's extra seconds for the 3.93 GB
   more, against 1.25 × the mask's.
3. The fixed cost: the run on 1.31 GB less 1.25 × the mask of it, against Snakemake alone
   on a no-op workflow (bench/workflow.py's) + 2 s, timed in the same rounds.
4. The peer: 80,000 × 128² (5.24 GB) in 4,000 stacks of 20 with a RELION STAR: `maskrun
   run --cores 2` (no batch_size, no report) against `relion_image_handler --multiply
   mask.mrc` over the same particles (the very mask a run saves, from `maskrun make-mask`),
   alternating.
5. Identical outputs: bench/identical.py, this checkout against a baseline checkout
   (--baseline DIR; by default commit 821070c, exported with `git archive` into
   WORK/scale/baseline_821070c).

--small: 10,000 particles in 100 stacks of 100; stacks of 500 and 2,000 × 64²; 2,000 ×
64² in 100 stacks of 20; and the identical outputs of the STAR example and the map-mask job.
Prints every figure and writes them to WORK/scale.json (``figures``: each with its
``value``, ``unit``, ``target`` and ``met``; the timings beside them).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from identical import FORMATS, compare_checkouts
from measure import descendants, prime_page_cache, timed, tree_peak_pss_mb, tree_peak_rss_mb

from workflow import (
    MASKRUN,
    Layout,
    alternate,
    breakdown,
    job_text,
    make_layouts,
    make_mask_file,
    mask_command,
    noop_command,
    raised_cosine,
    read_timeline,
    relion_command,
)

HERE = Path(__file__).resolve().parent
BASELINE_COMMIT = "821070c"
SIGNAL_AFTER_S = 4.0  # ~3-5 s into the run: past Snakemake's start, while units mask
EXIT_STATUS_TIMEOUT_S = 60  # past this, a run that got SIGTERM is killed (and the figure not met)


@dataclass(frozen=True)
class Scale:
    """The sizes of every part of the bench."""

    million: Layout
    images: int  # the per-GB stacks: this many images and 4 x as many, of box²
    box: int
    peer: Layout
    formats: tuple[str, ...]  # the identical-outputs check: particle list formats ...
    volumes: bool  # ... and whether the volumes example runs (the map-mask job does, always)
    memory_run: bool = True  # sample the peak memory in a run of its own (else in the last timed run)


FULL = Scale(Layout(1000, 1000, 16), 5000, 256, Layout(4000, 20, 128), FORMATS, True)
SMALL = Scale(Layout(100, 100, 16), 500, 64, Layout(100, 20, 64), ("star",), False, False)

MILLION_JOB = """version: 1
name: million
inputs:
  particles: particles.star
mask:
  geometry:
    shape: circular
    radius: 6
fill:
  with: avg
output:
  dir: out
"""


def figure(value: float | int | None, unit: str, target: str, met: bool) -> dict:
    return {"value": value, "unit": unit, "target": target, "met": bool(met)}


def million_run(folder: Path, layout: Layout, reps: int, memory_run: bool = True) -> tuple[dict, dict[str, dict]]:
    """Validate, run, memory, SIGTERM and resume on the million-particle set; its timings and figures.

    Without ``memory_run``, the peak memory is sampled in the last timed run (sampling takes
    some CPU time from the run: for a smoke test).
    """
    subprocess.run(
        [sys.executable, str(HERE / "million.py"), str(folder), "--stacks", str(layout.stacks)]
        + ["--per-stack", str(layout.per_stack), "--box", str(layout.box)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    job = folder / "job.yaml"
    job.write_text(MILLION_JOB)
    output = folder / "out"
    nbytes = layout.images * layout.box**2 * 4
    validate, run = MASKRUN + ["validate", str(job)], MASKRUN + ["run", str(job), "--cores", "2"]

    shutil.rmtree(output, ignore_errors=True)
    validate_s = [timed(validate, folder).seconds for _ in range(reps)]
    validate_mb = tree_peak_rss_mb(validate, folder)
    runs = []
    for i in range(reps):
        shutil.rmtree(output, ignore_errors=True)
        prime_page_cache(folder, nbytes)
        marks = folder / f"timeline_{i}.txt"
        marks.unlink(missing_ok=True)
        env = {"MASKRUN_TIMELINE": str(marks)}
        if i == reps - 1 and not memory_run:
            memory = tree_peak_pss_mb(run, folder, env)
            runs.append((memory["seconds"], marks))
        else:
            runs.append((timed(run, folder, env).seconds, marks))
    run_s = statistics.median(seconds for seconds, _ in runs)
    median_run = sorted(runs)[len(runs) // 2]  # the median, or the slower of the middle two
    if memory_run:
        shutil.rmtree(output, ignore_errors=True)
        prime_page_cache(folder, nbytes)
        memory = tree_peak_pss_mb(run, folder)
    stop = sigterm_and_resume(run, folder, output, min(SIGNAL_AFTER_S, run_s / 2))
    shutil.rmtree(output, ignore_errors=True)

    n = f"{layout.images:,} particles"
    result = {
        "layout": {"stacks": layout.stacks, "per_stack": layout.per_stack, "box": layout.box},
        "validate_s": validate_s,
        "run_s": [seconds for seconds, _ in runs],
        "breakdown": breakdown(read_timeline(median_run[1])),
        "peak_memory": memory,
        "sigterm": stop,
    }
    figures = {
        f"{n}: maskrun validate, wall": figure(
            statistics.median(validate_s), "s", "<= 5 s", statistics.median(validate_s) <= 5
        ),
        f"{n}: maskrun validate, peak RSS of its process tree": figure(
            validate_mb, "MB", "<= 1024 MB", validate_mb <= 1024
        ),
        f"{n}: maskrun run --cores 2, wall": figure(run_s, "s", "<= 60 s", run_s <= 60),
        f"{n}: maskrun run, peak PSS of its process tree": figure(
            memory["tree_mb"], "MB", "<= 1536 MB", memory["tree_mb"] <= 1536
        ),
        f"{n}: SIGTERM mid-run, exit status": figure(stop["exit_status"], "", "143", stop["exit_status"] == 143),
        f"{n}: SIGTERM mid-run, seconds from the signal to the exit": figure(
            stop["exit_s"], "s", "<= 10 s", stop["exit_s"] <= 10 and not stop["finished_before_signal"]
        ),
        f"{n}: rerun after SIGTERM finishes (exit status)": figure(
            stop["rerun_status"], "", "0", stop["rerun_status"] == 0
        ),
        f"{n}: one more rerun has nothing to do (exit status)": figure(
            stop["again_status"], "", '0, "nothing to do"', stop["again_status"] == 0 and stop["again_nothing_to_do"]
        ),
    }
    return result, figures


def sigterm_and_resume(run: list[str], folder: Path, output: Path, delay: float) -> dict:
    """SIGTERM to the run's own process ``delay`` s after its start; then run it twice more.

    Times the signal to the exit; counts the run's processes (as they were at the signal)
    still alive half a second after it exited.
    """
    shutil.rmtree(output, ignore_errors=True)
    with open(folder / "sigterm.log", "wb") as log:
        process = subprocess.Popen(run, cwd=folder, stdout=log, stderr=subprocess.STDOUT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=delay)
        finished_before = process.returncode is not None
        tree = descendants(process.pid)
        sent = time.perf_counter()
        process.send_signal(signal.SIGTERM)
        try:
            status = process.wait(timeout=EXIT_STATUS_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            status = process.wait()
        exit_s = time.perf_counter() - sent
    time.sleep(0.5)
    survivors = [pid for pid in tree if alive(pid)]
    t0 = time.perf_counter()
    rerun = subprocess.run(run, cwd=folder, capture_output=True, text=True, check=False)
    rerun_s = time.perf_counter() - t0
    again = subprocess.run(run, cwd=folder, capture_output=True, text=True, check=False)
    return {
        "signal_after_s": delay,
        "finished_before_signal": finished_before,
        "exit_status": status,  # maskrun's own exit; -15 if SIGTERM killed it before it could clean up
        "exit_s": exit_s,
        "processes_at_signal": len(tree) + 1,
        "survivors": len(survivors),
        "rerun_status": rerun.returncode,
        "rerun_s": rerun_s,
        "rerun_nothing_to_do": "nothing to do" in rerun.stdout,
        "again_status": again.returncode,
        "again_nothing_to_do": "nothing to do" in again.stdout,
    }


def alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def read_through(paths: list[Path]) -> None:
    """Read files once, into the page cache."""
    for path in paths:
        with open(path, "rb", buffering=0) as handle:
            while handle.read(8 << 20):
                pass


def memory_available_bytes() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    return 0


def cost_rounds(work: Path, folder: Path, images: int, box: int, reps: int) -> tuple[dict, dict[str, dict]]:
    """The per-GB and fixed costs: run and mask on two one-stack sizes, and bare Snakemake, alternating."""
    from run import make_stack  # here, not at the top: run.py imports this module

    folder.mkdir(parents=True, exist_ok=True)
    stacks = {"small": work / f"stack_{images}x{box}.mrcs", "big": work / f"stack_{4 * images}x{box}.mrcs"}
    argv: dict[str, list[str]] = {}
    nbytes: dict[str, int] = {}
    for size, stack in stacks.items():
        make_stack(stack, images if size == "small" else 4 * images, box)
        job = folder / f"job_{size}.yaml"
        job.write_text(job_text(f"one_stack_{size}", stack, raised_cosine(box), folder / "out" / size, None, True))
        argv[f"mask_{size}"] = mask_command(stack, folder / "out" / f"mask_{size}.mrcs")
        argv[f"run_{size}"] = MASKRUN + ["run", str(job), "--cores", "2"]
        nbytes[f"mask_{size}"] = nbytes[f"run_{size}"] = stack.stat().st_size
    argv["snakemake_noop"], nbytes["snakemake_noop"] = noop_command(folder), nbytes["run_small"]
    # the big input and its output, with the small input cached beside them
    needed = 2 * nbytes["run_big"] + nbytes["run_small"]
    fits = memory_available_bytes() >= needed
    if not fits:
        print(f"warning: {needed / 1e9:.1f} GB do not fit in the page cache: the runs will read from disk")
    read_through(list(stacks.values()))
    seconds = alternate(argv, folder, reps, nbytes)
    med = {name: statistics.median(s) for name, s in seconds.items()}

    gb = {size: nbytes[f"run_{size}"] / 1e9 for size in stacks}
    per_gb = med["run_big"] - med["run_small"]
    per_gb_limit = 1.25 * (med["mask_big"] - med["mask_small"])
    fixed = med["run_small"] - 1.25 * med["mask_small"]
    fixed_limit = med["snakemake_noop"] + 2
    result = {
        "stacks": {size: {"path": str(stack), "bytes": nbytes[f"run_{size}"]} for size, stack in stacks.items()},
        "page_cache_fits": fits,
        "median_s": med,
        "runs_s": seconds,
    }
    big, small = f"{gb['big']:.2f} GB", f"{gb['small']:.2f} GB"
    figures = {
        f"per GB: run({big}) - run({small})": figure(
            per_gb, "s", f"<= 1.25 x (mask({big}) - mask({small})) = {per_gb_limit:.2f} s", per_gb <= per_gb_limit
        ),
        f"fixed: run({small}) - 1.25 x mask({small})": figure(
            fixed, "s", f"<= Snakemake no-op + 2 s = {fixed_limit:.2f} s", fixed <= fixed_limit
        ),
    }
    return result, figures


def peer_rounds(folder: Path, layout: Layout, reps: int) -> tuple[dict, dict[str, dict]]:
    """`maskrun run` against relion_image_handler --multiply on the same particles in many stacks."""
    folder.mkdir(parents=True, exist_ok=True)
    make_layouts(folder, layout, one_stack=False)
    job = folder / "job_peer.yaml"
    star = folder / "many" / "particles.star"
    job.write_text(job_text("peer", star, raised_cosine(layout.box), folder / "out" / "peer", None, False))
    argv = {"run_many": MASKRUN + ["run", str(job), "--cores", "2"]}
    gb = layout.images * layout.box**2 * 4 / 1e9
    name = f"peer: relion_image_handler / maskrun run, {layout.images:,} x {layout.box}² ({gb:.2f} GB)"
    name += f" in {layout.stacks:,} stacks"
    if not shutil.which("relion_image_handler"):
        return {"relion": False}, {name: figure(None, "x", ">= 1.5 (RELION is not installed)", False)}
    mask = folder / "mask_peer.mrc"
    make_mask_file(folder / "many" / "Particles" / "mic_0000.mrcs", mask)
    argv["relion_many"] = relion_command(folder, mask)
    seconds = alternate(argv, folder, reps, int(gb * 1e9))
    med = {method: statistics.median(s) for method, s in seconds.items()}
    ratio = med["relion_many"] / med["run_many"]
    result = {
        "layout": {"stacks": layout.stacks, "per_stack": layout.per_stack, "box": layout.box},
        "relion": True,
        "median_s": med,
        "runs_s": seconds,
    }
    return result, {name: figure(ratio, "x", ">= 1.5", ratio >= 1.5)}


def baseline_checkout(folder: Path, commit: str) -> Path:
    """``commit`` of this repository exported into ``folder`` (once), with ``git archive``."""
    if (folder / "maskrun" / "__init__.py").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(HERE.parent), "archive", commit], capture_output=True, check=False)
    if archive.returncode != 0:
        raise SystemExit(f"cannot export {commit} ({archive.stderr.decode().strip()}): give --baseline DIR")
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return folder


def identical_outputs(work: Path, baseline: Path | None, scale: Scale) -> tuple[dict, dict[str, dict]]:
    exported = baseline is None
    baseline = baseline or baseline_checkout(work / f"baseline_{BASELINE_COMMIT}", BASELINE_COMMIT)
    result = compare_checkouts(baseline, work / "identical", 20, scale.formats, scale.volumes)
    if exported:
        result["baseline_commit"] = BASELINE_COMMIT
    name = f"outputs identical to the baseline ({result['baseline_commit'] or baseline}; see identical.py)"
    count = figure(result["identical"], "files", f"all {result['compared']}", result["all_identical"])
    return result, {name: count}


def bench_scale(work: Path, reps: int, scale: Scale, baseline: Path | None, identical: bool = True) -> dict:
    """Every figure of the scale bench, with its target; prints them."""
    work = work.resolve()  # the runs start in folders of their own
    folder = work / "scale"
    folder.mkdir(parents=True, exist_ok=True)
    result: dict = {"reps": reps, "figures": {}, "scontrol_s": scontrol_seconds()}
    if result["scontrol_s"] is not None and result["scontrol_s"] > 0.5:
        print(
            f"warning: `scontrol show config` took {result['scontrol_s']:.1f} s (SLURM installed, its controller "
            "down): every Snakemake start waits for it (its SLURM plugin asks at import), as no user's does; "
            "start it (bash .ci/slurm_up.sh) or remove it for figures that mean something"
        )
    m = scale.million
    parts = {
        "million": lambda: million_run(folder / f"million_{m.stacks}x{m.per_stack}x{m.box}", m, reps, scale.memory_run),
        "costs": lambda: cost_rounds(work, folder / "costs", scale.images, scale.box, reps),
        "peer": lambda: peer_rounds(folder / "peer", scale.peer, reps),
    }
    if identical:
        parts["identical"] = lambda: identical_outputs(folder, baseline, scale)
    result["seconds"] = {}
    for part, bench in parts.items():
        t0 = time.perf_counter()
        result[part], figures = bench()
        result["figures"].update(figures)
        result["seconds"][part] = time.perf_counter() - t0
    print_scale(result)
    return result


def scontrol_seconds() -> float | None:
    """How long ``scontrol show config`` takes here (None without SLURM's tools)."""
    if not shutil.which("scontrol"):
        return None
    t0 = time.perf_counter()
    with contextlib.suppress(subprocess.TimeoutExpired):
        subprocess.run(["scontrol", "show", "config"], capture_output=True, timeout=10, check=False)
    return time.perf_counter() - t0


def print_scale(result: dict) -> None:
    million = result["million"]
    print(f"\nwhere the {million['layout']['stacks'] * million['layout']['per_stack']:,}-particle run spends its time")
    print("(the median run's MASKRUN_TIMELINE marks; phases between consecutive marks, in time order):")
    for phase, seconds in million["breakdown"].items():
        print(f"  {phase:64s} {seconds:7.2f} s")
    memory = million["peak_memory"]
    parts = ", ".join(f"{process} {mb:.0f}" for process, mb in sorted(memory["by_process"].items()) if mb)
    print(f"peak memory (PSS) of its process tree: {memory['tree_mb']:.0f} MB ({parts})")
    stop = million["sigterm"]
    print(
        f"SIGTERM {stop['signal_after_s']:.1f} s into a run: exit {stop['exit_status']} after {stop['exit_s']:.2f} s, "
        f"{stop['survivors']} of its {stop['processes_at_signal']} processes alive 0.5 s later; "
        f"the rerun took {stop['rerun_s']:.1f} s"
        + (" (nothing to do: the terminated run had finished all the same)" if stop["rerun_nothing_to_do"] else "")
    )
    for part in ("costs", "peer"):
        for method, seconds in result[part].get("median_s", {}).items():
            print(f"  {part:6s} {method:16s} {seconds:7.2f} s (median of {result['reps']})")
    took = ", ".join(f"{part} {seconds:.0f} s" for part, seconds in result["seconds"].items())
    print(f"(the bench took: {took})")
    print("\nscale targets (issue 21):")
    for name, row in result["figures"].items():
        value = (
            "-" if row["value"] is None else f"{row['value']:.2f}" if isinstance(row["value"], float) else row["value"]
        )
        print(f"  {name:78s} {value!s:>8} {row['unit']:5s} {row['target']:42s} {'met' if row['met'] else 'not met'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--work", type=Path, default=HERE / "out")
    parser.add_argument("--small", action="store_true", help="small sizes: a smoke test of a minute or so")
    parser.add_argument(
        "--baseline", type=Path, help=f"the checkout to compare outputs with (default: {BASELINE_COMMIT})"
    )
    parser.add_argument("--no-identical", action="store_true", help="skip the identical-outputs check")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    scale = SMALL if args.small else FULL
    result = bench_scale(args.work, args.reps, scale, args.baseline, not args.no_identical)
    (args.work / "scale.json").write_text(json.dumps(result, indent=1))
    print(f"\nwrote {args.work / 'scale.json'}")


if __name__ == "__main__":
    main()
