"""Benchmark `maskrun run` (the workflow) against `maskrun mask`, bare Snakemake and RELION.

    python bench/workflow.py [--reps 3] [--work bench/out]      (bench/run.py runs it too)

On the 5000 × 256² stack of bench/run.py (1.31 GB) and on 20,000 particles of 128²
(1.31 GB), once in 1,000 stacks of 20 with a RELION STAR (the layout RELION's Extract
writes) and once in one stack with the same images, it times in alternating rounds:
`maskrun mask` on the 256² stack; `maskrun run` on a job over it; Snakemake alone
running a one-rule workflow that does nothing (its fixed start-up and teardown);
`maskrun run` on both 128² layouts; and `relion_image_handler --multiply mask.mrc` over
the 1,000 stacks, as a RELION user would mask them (when RELION is installed). Then one
more run of each layout with `MASKRUN_TIMELINE` set, whose marks give the breakdown
printed (`breakdown`), the peak memory (PSS) of each run's whole process tree, and checks that
the record's checksums are those of the files and that both 128² layouts give the same
masked images.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import blake3
from measure import prime_page_cache, timed, tree_peak_pss_mb

HERE = Path(__file__).resolve().parent
MASKRUN = [sys.executable, "-m", "maskrun"]


@dataclass(frozen=True)
class Layout:
    """The many-stacks layout: ``stacks`` files of ``per_stack`` images of ``box``²."""

    stacks: int = 1000
    per_stack: int = 20
    box: int = 128

    @property
    def images(self) -> int:
        return self.stacks * self.per_stack


def raised_cosine(box: int) -> str:
    """The job-file geometry of the bench's raised cosine (100-120 px at 256², scaled)."""
    return f"    shape: raised_cosine\n    inner_radius: {box * 100 // 256}\n    outer_radius: {box * 120 // 256}\n"


NOOP = 'rule all:\n    output:\n        "done.txt",\n    run:\n        open(output[0], "w").close()\n'


def make_layouts(folder: Path, layout: Layout, one_stack: bool = True) -> None:
    """The same particles in ``layout.stacks`` stacks (``folder/many``) and, with ``one_stack``, in one.

    Each with a RELION 3.1 STAR, and the many stacks with the particles-only STAR that
    relion_image_handler reads. Made once: a folder that holds this layout already is kept.
    """
    made = folder / f"made_{layout.stacks}x{layout.per_stack}x{layout.box}{'' if one_stack else '_many'}"
    if made.exists():
        return
    shutil.rmtree(folder / "many", ignore_errors=True)
    shutil.rmtree(folder / "one", ignore_errors=True)
    for old in folder.glob("made_*"):
        old.unlink()
    subprocess.run(
        [sys.executable, __file__, "--child-layouts", str(folder), str(layout.stacks), str(layout.per_stack)]
        + [str(layout.box), "one" if one_stack else "many"],
        check=True,
    )
    made.touch()


def _make_layouts(folder: str, stacks: str, per_stack: str, box: str, which: str = "one") -> None:
    import mrcfile
    import numpy as np
    import pandas as pd
    import starfile

    folder, n_stacks, per, box = Path(folder), int(stacks), int(per_stack), int(box)
    rng = np.random.default_rng(1)
    base = rng.normal(size=(per, box, box)).astype(np.float32)
    optics = pd.DataFrame(
        {
            "rlnOpticsGroup": [1],
            "rlnOpticsGroupName": ["opticsGroup1"],
            "rlnImagePixelSize": [1.31],
            "rlnImageSize": [box],
            "rlnImageDimensionality": [2],
        }
    )
    many, one = folder / "many", folder / "one"
    layouts = (many, one) if which == "one" else (many,)
    for layout in layouts:
        (layout / "Particles").mkdir(parents=True, exist_ok=True)
    names_many, names_one = [], []
    with contextlib.ExitStack() as files:
        if which == "one":
            whole = files.enter_context(
                mrcfile.new_mmap(one / "Particles" / "all.mrcs", (n_stacks * per, box, box), mrc_mode=2, overwrite=True)
            )
            whole.set_image_stack()
            whole.voxel_size = 1.31
        for s in range(n_stacks):
            images = base + np.float32(s % 11)
            with mrcfile.new(many / "Particles" / f"mic_{s:04d}.mrcs", overwrite=True) as stack:
                stack.set_data(images)
                stack.set_image_stack()
                stack.voxel_size = 1.31
            if which == "one":
                whole.data[s * per : (s + 1) * per] = images
            names_many += [f"{i + 1:06d}@Particles/mic_{s:04d}.mrcs" for i in range(per)]
            names_one += [f"{s * per + i + 1:06d}@Particles/all.mrcs" for i in range(per)]
    for layout, names in zip(layouts, (names_many, names_one), strict=False):
        particles = pd.DataFrame({"rlnImageName": names, "rlnOpticsGroup": 1})
        starfile.write({"optics": optics, "particles": particles}, layout / "particles.star", overwrite=True)
    # relion_image_handler (3.1.3) reads the first block of a STAR file: the particles alone,
    # with absolute paths (it resolves them from its working folder)
    absolute = [name.replace("@", f"@{many.resolve()}/", 1) for name in names_many]
    relion30 = {"particles": pd.DataFrame({"rlnImageName": absolute})}
    starfile.write(relion30, many / "particles_relion30.star", overwrite=True)


def job_text(name: str, particles: Path, shape: str, output: Path, batch: int | None, report: bool) -> str:
    """A particles job with ``shape`` (see `raised_cosine`), replacing its output; no batch size: the default."""
    batch_line = "" if batch is None else f"batch_size: {batch}\n"
    return (
        f"version: 1\nname: bench_{name}\ninputs:\n  particles: {particles}\nmask:\n  geometry:\n{shape}"
        f"output:\n  dir: {output}\n  overwrite: true\n{batch_line}report: {str(report).lower()}\n"
    )


def write_jobs(stack: Path, folder: Path, layout: Layout) -> dict[str, Path]:
    """A job over the big stack and one over each layout, writing under ``folder/out``.

    Two batches each, one per core (docs/scaling.md). The big stack's job is run as a
    user runs it, with its report; the layouts' jobs compare layouts alone.
    """
    with open(stack, "rb") as handle:
        header = handle.read(12)
    nx, nz = int.from_bytes(header[0:4], "little"), int.from_bytes(header[8:12], "little")
    specs = {
        "one256": (stack, raised_cosine(nx), max(1, nz // 2), True),
        "many": (folder / "many" / "particles.star", raised_cosine(layout.box), max(1, layout.images // 2), False),
        "one128": (folder / "one" / "particles.star", raised_cosine(layout.box), max(1, layout.images // 2), False),
    }
    jobs = {}
    for name, (particles, shape, batch, report) in specs.items():
        job = folder / f"job_{name}.yaml"
        job.write_text(job_text(name, particles, shape, folder / "out" / name, batch, report))
        jobs[name] = job
    return jobs


def raised_cosine_options(stack: Path) -> list[str]:
    """The command-line options of the bench's raised cosine (`raised_cosine`) for a stack's box."""
    with open(stack, "rb") as handle:
        nx = int.from_bytes(handle.read(4), "little")
    return ["--shape", "raised_cosine", "--inner-radius", str(nx * 100 // 256), "--outer-radius", str(nx * 120 // 256)]


def mask_command(stack: Path, output: Path) -> list[str]:
    """``maskrun mask`` of a stack with the bench's raised cosine for its box."""
    return MASKRUN + ["mask", str(stack), str(output), "--overwrite", *raised_cosine_options(stack)]


def noop_command(folder: Path) -> list[str]:
    """Snakemake alone on ``folder/noop/Snakefile`` (`NOOP`, written here), with maskrun's profile settings.

    Those settings: a run: job in a thread, the greedy scheduler.
    """
    (folder / "noop").mkdir(parents=True, exist_ok=True)
    (folder / "noop" / "Snakefile").write_text(NOOP)
    return [sys.executable, "-m", "snakemake", "-s", str(folder / "noop" / "Snakefile")] + [
        "--directory",
        str(folder / "out" / "noop"),
        "--cores",
        "2",
        "--force-use-threads",
        "--scheduler",
        "greedy",
    ]


def relion_command(folder: Path, mask: Path) -> list[str]:
    """``relion_image_handler --multiply`` over the stacks of ``folder/many``, writing ``*_masked.mrcs`` beside them."""
    star = folder / "many" / "particles_relion30.star"
    return ["relion_image_handler", "--i", str(star), "--multiply", str(mask), "--o", "_masked"]


def make_mask_file(stack: Path, mask: Path) -> None:
    """The bench's raised cosine for a stack's box, as an MRC file: the mask.mrc a run of it saves, byte for byte."""
    argv = MASKRUN + ["make-mask", str(mask), "--like", str(stack), "--overwrite", *raised_cosine_options(stack)]
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)


def methods(stack: Path, folder: Path, jobs: dict[str, Path], relion_mask: Path | None) -> dict[str, list[str]]:
    argv = {
        "mask_256": mask_command(stack, folder / "out" / "mask_256.mrcs"),
        "run_256": MASKRUN + ["run", str(jobs["one256"]), "--cores", "2"],
        "snakemake_noop": noop_command(folder),
        "run_many": MASKRUN + ["run", str(jobs["many"]), "--cores", "2"],
        "run_one128": MASKRUN + ["run", str(jobs["one128"]), "--cores", "2"],
    }
    if relion_mask is not None:
        argv["relion_many"] = relion_command(folder, relion_mask)
    return argv


def clean_outputs(folder: Path) -> None:
    shutil.rmtree(folder / "out", ignore_errors=True)
    (folder / "out").mkdir(parents=True)
    for masked in (folder / "many" / "Particles").glob("*_masked.mrcs"):
        masked.unlink()


def alternate(
    argv: dict[str, list[str]], folder: Path, reps: int, nbytes: int | dict[str, int]
) -> dict[str, list[float]]:
    """``reps`` rounds, one run of every method per round, each on fresh outputs and a primed cache.

    ``nbytes``: how much scratch data primes the cache (`prime_page_cache`), for all, or per method.
    """
    seconds: dict[str, list[float]] = {name: [] for name in argv}
    for _ in range(reps):
        for name, command in argv.items():
            clean_outputs(folder)
            prime_page_cache(folder / "out", nbytes if isinstance(nbytes, int) else nbytes[name])
            seconds[name].append(timed(command, folder).seconds)
    return seconds


def timeline_run(command: list[str], folder: Path, nbytes: int) -> list[tuple[float, int, str]]:
    """One run with ``MASKRUN_TIMELINE``: its marks, sorted, as (seconds from the start, pid, label)."""
    clean_outputs(folder)
    prime_page_cache(folder / "out", nbytes)
    marks = (folder / "timeline.txt").resolve()  # every process appends to it, from its own folder
    marks.unlink(missing_ok=True)
    subprocess.run(
        command,
        cwd=folder,
        check=True,
        env=os.environ | {"MASKRUN_TIMELINE": str(marks)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return read_timeline(marks)


def read_timeline(path: Path) -> list[tuple[float, int, str]]:
    """A ``MASKRUN_TIMELINE`` file's marks, sorted, as (seconds from the first mark, pid, label)."""
    rows = sorted(
        (float(t), int(pid), label) for t, pid, label in (line.split(None, 2) for line in path.read_text().splitlines())
    )
    return [(t - rows[0][0], pid, label) for t, pid, label in rows]


FIRST_UNIT, LAST_UNIT = "first unit starts", "last unit ends"


def breakdown(marks: list[tuple[float, int, str]]) -> dict[str, float]:
    """Where a `maskrun run` spends its time, from its timeline marks (seconds), whatever marks it writes.

    The run's own marks, in time order, cut its critical path into phases (``A -> B``: from
    mark A to the next mark, B), which add up to ``total``. The units' marks (``unit ID
    what``, and ``ID what`` for an ID of those, kept as ``ID what``) make one phase of it,
    from the first unit's first mark to the last unit's last; after that phase come the
    steps of a unit (``  per unit: A -> B``, between its consecutive marks, the median over
    the units: they overlap, units run side by side).
    """
    ids = {label.split(" ", 2)[1] for _, _, label in marks if label.startswith("unit ")}
    at: dict[str, float] = {}
    units: dict[str, dict[str, float]] = {}
    for t, _, label in marks:
        words = label.split(" ", 2)
        if words[0] == "unit" and len(words) == 3:
            units.setdefault(words[1], {}).setdefault(words[2], t)
        elif words[0] in ids and len(words) > 1:  # a unit's mark without the prefix: "batch_00001 start"
            units.setdefault(words[0], {}).setdefault("ID " + label.split(" ", 1)[1], t)
        else:
            at.setdefault(label, t)
    if units:
        at[FIRST_UNIT] = min(min(u.values()) for u in units.values())
        at[LAST_UNIT] = max(max(u.values()) for u in units.values())
    order = sorted(at.items(), key=lambda item: item[1])
    phases: dict[str, float] = {}
    for (a, t_a), (b, t_b) in zip(order, order[1:], strict=False):
        phases[f"{a} -> {b}"] = t_b - t_a
        if a == FIRST_UNIT:
            phases.update(_unit_steps(units))
    phases["total"] = order[-1][1] - order[0][1]
    return phases


def _unit_steps(units: dict[str, dict[str, float]]) -> dict[str, float]:
    """Median time between a unit's consecutive marks, the marks in their usual (median) order."""
    offsets: dict[str, list[float]] = {}
    for marks in units.values():
        start = min(marks.values())
        for what, t in marks.items():
            offsets.setdefault(what, []).append(t - start)
    steps = sorted(offsets, key=lambda what: statistics.median(offsets[what]))
    return {
        f"  per unit: {a} -> {b}": statistics.median(u[b] - u[a] for u in units.values() if a in u and b in u)
        for a, b in zip(steps, steps[1:], strict=False)
    }


def checksums_match(output_dir: Path) -> bool:
    """Whether every input and output checksum in the run record is that of the file now."""
    record = json.loads((output_dir / "provenance" / "run.json").read_text())
    for entry in record["inputs"] + record["outputs"]:
        path = Path(entry["path"]) if Path(entry["path"]).is_absolute() else output_dir / entry["path"]
        algorithm = "blake3" if "blake3" in entry else "sha256"
        digest = blake3.blake3() if algorithm == "blake3" else hashlib.sha256()
        with open(path, "rb") as handle:
            while block := handle.read(8 << 20):
                digest.update(block)
        if digest.hexdigest() != entry[algorithm]:
            return False
    return True


def same_images(a: Path, b: Path) -> bool:
    """Whether two runs wrote the same masked images, bit for bit (the data of every output stack).

    The headers may differ in the last bit of rms: the statistics are summed over each run's
    own blocks of rows, which follow the input files (see `maskrun.io.header_stats`).
    """
    import mrcfile
    import numpy as np

    stacks = sorted(p.name for p in (a / "stacks").glob("*.mrcs"))
    if not stacks or stacks != sorted(p.name for p in (b / "stacks").glob("*.mrcs")):
        return False
    for name in stacks:
        with (
            mrcfile.mmap(a / "stacks" / name, permissive=True) as x,
            mrcfile.mmap(b / "stacks" / name, permissive=True) as y,
        ):
            if x.data.shape != y.data.shape or not np.array_equal(x.data.view(np.uint32), y.data.view(np.uint32)):
                return False
    return True


def bench_workflow(stack: Path, work: Path, reps: int, layout: Layout) -> dict:
    """Every figure of the workflow bench, with its targets; prints them."""
    folder = work / "workflow"
    folder.mkdir(parents=True, exist_ok=True)
    make_layouts(folder, layout)
    jobs = write_jobs(stack, folder, layout)
    nbytes = stack.stat().st_size
    relion_mask = None
    if shutil.which("relion_image_handler"):
        relion_mask = folder / "mask_layout.mrc"  # the very mask maskrun applies
        make_mask_file(folder / "many" / "Particles" / "mic_0000.mrcs", relion_mask)
    seconds = alternate(methods(stack, folder, jobs, relion_mask), folder, reps, nbytes)
    med = {name: statistics.median(s) for name, s in seconds.items()}

    result: dict = {
        "stack": {"path": str(stack), "bytes": nbytes},
        "layout": {"stacks": layout.stacks, "per_stack": layout.per_stack, "box": layout.box},
        "median_s": med,
        "runs_s": seconds,
        "breakdown": {},
        "peak_memory": {},
    }
    if relion_mask is not None:  # it ran last: its stacks are still there
        result["relion_masked_stacks"] = len(list((folder / "many" / "Particles").glob("*_masked.mrcs")))
    for name, job in (("one256", jobs["one256"]), ("many", jobs["many"])):
        result["breakdown"][name] = breakdown(timeline_run(MASKRUN + ["run", str(job), "--cores", "2"], folder, nbytes))
    result["checksums_match"] = checksums_match(folder / "out" / "many")
    clean_outputs(folder)
    for name in ("many", "one128"):
        subprocess.run(MASKRUN + ["run", str(jobs[name]), "--cores", "2"], check=True, stdout=subprocess.DEVNULL)
    result["same_images_both_layouts"] = same_images(folder / "out" / "many", folder / "out" / "one128")
    for name, job in (("one256", jobs["one256"]), ("many", jobs["many"])):
        clean_outputs(folder)
        result["peak_memory"][name] = tree_peak_pss_mb(MASKRUN + ["run", str(job), "--cores", "2"], folder)

    allowance = 1.5 * med["mask_256"] + med["snakemake_noop"]
    tree_mb = {name: memory["tree_mb"] for name, memory in result["peak_memory"].items()}
    targets = {
        f"run on the stack <= 1.5 x mask + bare Snakemake ({allowance:.1f} s)": med["run_256"] <= allowance,
        f"run on {layout.stacks} stacks <= 1.3 x run on one stack": med["run_many"] <= 1.3 * med["run_one128"],
        "peak memory (PSS) of the run's process tree <= 500 MB, one stack": tree_mb["one256"] <= 500,
        f"peak memory (PSS) of the run's process tree <= 500 MB, {layout.stacks} stacks": tree_mb["many"] <= 500,
        "record checksums are the files' sha256": result["checksums_match"],
        "both layouts give the same masked images, bit for bit": result["same_images_both_layouts"],
    }
    if relion_mask is not None:
        targets[f"run >= 1.5 x faster than relion_image_handler --multiply ({layout.stacks} stacks)"] = (
            med["relion_many"] >= 1.5 * med["run_many"]
        )
    result["targets"] = targets
    print_workflow(result)
    return result


def print_workflow(result: dict) -> None:
    med, lay = result["median_s"], result["layout"]
    rows = {
        "mask_256": f"maskrun mask, the stack ({result['stack']['bytes'] / 1e9:.2f} GB)",
        "run_256": "maskrun run, the same stack (with its report)",
        "snakemake_noop": "Snakemake alone, one-rule no-op workflow",
        "run_one128": f"maskrun run, {lay['stacks'] * lay['per_stack']} x {lay['box']}² in one stack",
        "run_many": f"maskrun run, the same in {lay['stacks']} stacks of {lay['per_stack']}",
        "relion_many": f"relion_image_handler --multiply, {lay['stacks']} stacks",
    }
    print(f"\nworkflow, median of {len(next(iter(result['runs_s'].values())))} alternating rounds:")
    for name, label in rows.items():
        if name in med:
            print(f"  {label:48s} {med[name]:7.2f} s")
    for name, phases in result["breakdown"].items():
        print(f"\nwhere `maskrun run` spends its time ({name}, one run with MASKRUN_TIMELINE):")
        for phase, value in phases.items():
            print(f"  {phase:52s} {value:6.2f} s")
    for name, memory in result["peak_memory"].items():
        parts = ", ".join(f"{process} {mb:.0f}" for process, mb in sorted(memory["by_process"].items()) if mb)
        print(f"\npeak memory of the whole process tree ({name}, PSS): {memory['tree_mb']:.0f} MB ({parts})")
    print("\nworkflow targets:")
    for name, met in result["targets"].items():
        print(f"  [{'x' if met else ' '}] {name}")


def add_layout_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stacks", type=int, default=Layout.stacks, help="stacks in the many-stacks layout")
    parser.add_argument("--per-stack", type=int, default=Layout.per_stack, help="images per stack")
    parser.add_argument("--layout-box", type=int, default=Layout.box, help="their box (px)")


def layout_of(args: argparse.Namespace) -> Layout:
    return Layout(args.stacks, args.per_stack, args.layout_box)


def main() -> None:
    if sys.argv[1:2] == ["--child-layouts"]:
        _make_layouts(*sys.argv[2:7])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--work", type=Path, default=HERE / "out")
    parser.add_argument("--stack", type=Path, help="the big stack (default: WORK/stack_5000x256.mrcs, from run.py)")
    add_layout_options(parser)
    args = parser.parse_args()
    stack = args.stack or args.work / "stack_5000x256.mrcs"
    if not stack.exists():
        raise SystemExit(f"{stack} not found: run bench/run.py once first (it makes the stack)")
    result = bench_workflow(stack, args.work, args.reps, layout_of(args))
    (args.work / "workflow.json").write_text(json.dumps(result, indent=1))
    print(f"\nwrote {args.work / 'workflow.json'}")


if __name__ == "__main__":
    main()
