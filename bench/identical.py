"""Whether this checkout writes the same outputs as a baseline checkout, byte for byte.

    python bench/identical.py BASELINE_CHECKOUT [--work DIR] [--batch-size 20] [--formats star,xmd,cs,sqlite]

BASELINE_CHECKOUT is another checkout of maskrun (e.g. ``git worktree add /work/wt/base
821070c``): a folder holding the ``maskrun`` package. The jobs: ``maskrun example particles``
with its particles listed in each format, ``maskrun example volumes``, and a job over a
small map whose mask is made from that map (``mask.source: map``). Their inputs are
written once, by the baseline; every job runs once with ``PYTHONPATH=BASELINE_CHECKOUT``
and once with this checkout, in the same folder (so paths written into metadata are the
same), with the same explicit ``batch_size`` (so batching is the same) and no report.
Every output image and metadata file is compared byte for byte: all but ``provenance/``
(run records, whose checksum algorithm may change), ``logs/``, ``report/`` and
``.snakemake/``. Prints each file pair, identical or not; exit status 1 when one differs.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
CURRENT = HERE.parent
FORMATS = ("star", "xmd", "cs", "sqlite")
NOT_COMPARED = {".maskrun", "provenance", "logs", "report", ".snakemake"}

MAP_JOB = """version: 1
name: map-mask
inputs:
  volumes: [map.mrc]
mask:
  source: map
  map:
    file: map.mrc
    threshold: 0.5
    extend_px: 2
    soft_edge_px: 3
    keep_largest_component: true
fill:
  with: avg
"""


def maskrun(checkout: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    """``maskrun ARGS`` with ``checkout``'s package first on the path (its units inherit it)."""
    env = os.environ | {"PYTHONPATH": str(checkout)}
    return subprocess.run(
        [sys.executable, "-m", "maskrun", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


def imported_from(checkout: Path, cwd: Path) -> Path:
    """Where ``import maskrun`` finds the package with ``PYTHONPATH=checkout`` (it must be that checkout's)."""
    env = os.environ | {"PYTHONPATH": str(checkout)}
    code = "import maskrun; print(maskrun.__file__)"
    where = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True)
    return Path(where.stdout.strip()).resolve().parent.parent


def write_map(path: Path) -> None:
    """A 32³ map of two balls on weak noise, a speck of dust and a cavity (for threshold 0.5)."""
    import mrcfile
    import numpy as np

    z, y, x = np.mgrid[:32, :32, :32]
    big = (z - 16) ** 2 + (y - 16) ** 2 + (x - 10) ** 2 <= 36
    small = (z - 16) ** 2 + (y - 16) ** 2 + (x - 24) ** 2 <= 16
    hole = (z - 16) ** 2 + (y - 16) ** 2 + (x - 10) ** 2 <= 4
    density = ((big & ~hole) | small).astype(np.float32)
    density[3, 3, 3] = 1
    density += np.random.default_rng(3).normal(0, 0.05, density.shape).astype(np.float32)
    with mrcfile.new(path, overwrite=True) as mrc:
        mrc.set_data(density)
        mrc.voxel_size = 1.7


def with_batch_size(job: Path, batch_size: int) -> None:
    """Give a job an explicit ``batch_size`` (replacing any) and no report."""
    text = re.sub(r"(?m)^(batch_size|report):.*\n", "", job.read_text())
    job.write_text(text.rstrip("\n") + f"\nbatch_size: {batch_size}\nreport: false\n")


def make_inputs(
    baseline: Path, folder: Path, formats: tuple[str, ...], batch_size: int, volumes: bool = True
) -> dict[str, Path]:
    """Every job's folder with its inputs, written by the baseline; the job file of each, by name."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    jobs = {}
    examples = [(f"particles_{fmt}", "particles", fmt) for fmt in formats] + [("volumes", "volumes", "star")] * volumes
    for name, kind, fmt in examples:
        made = maskrun(baseline, "example", kind, "--write", name, "--format", fmt, cwd=folder)
        if made.returncode != 0:
            raise SystemExit(f"the baseline could not write the {name} example:\n{made.stderr[-2000:]}")
        jobs[name] = folder / name / f"{kind}.yaml"
    (folder / "map_mask").mkdir()
    write_map(folder / "map_mask" / "map.mrc")
    jobs["map_mask"] = folder / "map_mask" / "job.yaml"
    jobs["map_mask"].write_text(MAP_JOB)
    for job in jobs.values():
        with_batch_size(job, batch_size)
    return jobs


def compared_files(output_dir: Path) -> set[str]:
    """The outputs to compare, relative to the output folder (not records, logs, report, Snakemake's state)."""
    return {
        str(path.relative_to(output_dir))
        for path in output_dir.rglob("*")
        if path.is_file() and not NOT_COMPARED & set(path.relative_to(output_dir).parts)
    }


def run_both(
    baseline: Path, current: Path, inputs: Path, jobs: dict[str, Path], work: Path
) -> dict[str, dict[str, str]]:
    """Run every job with each checkout in the same folder, keep its outputs, compare them file by file."""
    verdicts: dict[str, dict[str, str]] = {}
    for name, job in jobs.items():
        kept = {}
        for label, checkout in (("baseline", baseline), ("current", current)):
            place = work / "run"  # the same absolute paths for both
            shutil.rmtree(place, ignore_errors=True)
            shutil.copytree(inputs / name, place)
            done = maskrun(checkout, "run", str(place / job.name), "--cores", "2", cwd=place)
            kept[label] = work / "outputs" / label / name
            shutil.rmtree(kept[label], ignore_errors=True)
            if done.returncode != 0:
                print(f"{name}: the {label} run failed (exit {done.returncode}):\n{done.stderr[-1500:]}")
                kept[label].mkdir(parents=True)
                continue
            shutil.move(place / "results", kept[label])
        verdicts[name] = compare(kept["baseline"], kept["current"])
    shutil.rmtree(work / "run", ignore_errors=True)
    return verdicts


def compare(baseline: Path, current: Path) -> dict[str, str]:
    """Each output file of either run: ``identical``, ``different``, or ``only in baseline/current``."""
    old, new = compared_files(baseline), compared_files(current)
    verdict = {}
    for path in sorted(old | new):
        if path not in new:
            verdict[path] = "only in baseline"
        elif path not in old:
            verdict[path] = "only in current"
        else:
            same = filecmp.cmp(baseline / path, current / path, shallow=False)
            if (
                not same
                and Path(path).name in LISTINGS
                and _originals_from_job(current / path, path) == (baseline / path).read_bytes()
            ):
                verdict[path] = ORIGINALS_FROM_LISTING
                continue
            if not same and Path(path).suffix in REFERENCE_FILES:
                unfolded = [_stacks_from_output(_text_of(p)) for p in (baseline / path, current / path)]
                if unfolded[0] == unfolded[1]:
                    verdict[path] = IDENTICAL_BUT_FOLDER
                    continue
                if path.endswith(".star") and _same_values(*unfolded):
                    verdict[path] = SAME_VALUES
                    continue
            if not same and Path(path).suffix == ".mrc" and _same_but_label(baseline / path, current / path):
                verdict[path] = SAME_BUT_LABEL
                continue
            verdict[path] = "identical" if same else "different"
    return verdict or {"(no outputs)": "different"}


# Since 2026-12-06 a job's saved mask is labelled by what it holds (``maskrun 0.1.0: the mask
# applied``), not as masked data (``maskrun 0.1.0: masked``): the same mask, a truer label.
SAME_BUT_LABEL = "identical but for maskrun's label, which says it is the mask applied"
LABELS = slice(224, 1024)  # an MRC header's ten 80-byte labels


def _same_but_label(old: Path, new: Path) -> bool:
    """Whether two MRC files differ only in their labels, the new one saying what maskrun wrote it as."""
    before, after = bytearray(old.read_bytes()), bytearray(new.read_bytes())
    if len(before) != len(after) or b"the mask applied" not in after[LABELS]:
        return False
    before[LABELS] = after[LABELS] = b""
    return before == after


# Since 2026-12-05 a .cs set's companion STAR writes its pixel size as the shortest decimal of its
# float32 (2.0, 1.31), not with 6 decimals (2.000000, 1.309998): the same numbers, written differently.
SAME_VALUES = "identical values, numbers written as the shortest float32 decimal"


def _same_values(old: bytes, new: bytes) -> bool:
    """Whether two STAR texts hold the same blocks, columns and rows, every value the same text or number."""

    def cells(text: bytes) -> list[list[str]]:
        return [line.split() for line in text.decode().splitlines() if line.strip()]

    def same(a: str, b: str) -> bool:
        try:
            return a == b or float(a) == float(b)
        except ValueError:
            return False

    rows = [cells(old), cells(new)]
    return len(rows[0]) == len(rows[1]) and all(
        len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True)) for a, b in zip(*rows, strict=True)
    )


# Since 2026-12-05 the masked stacks are named from the folder the input's references were relative
# to (a RELION, Xmipp or Scipion project), not from the output folder: a baseline before that names
# them ``N@stacks/batch_K.mrcs`` (a Scipion set ``stacks/batch_K.mrcs``) where this checkout writes
# ``N@results/JOB/stacks/...``. Compared with that one difference undone, and said so.
REFERENCE_FILES = {".star", ".xmd", ".sqlite"}
IDENTICAL_BUT_FOLDER = "identical, image paths from the input's folder"
_REFERENCE = re.compile(rb"((?:\d+@|')?)[^\s'@]*?((?:stacks|volumes)/[^\s'/]+\.mrcs?)")


def _text_of(path: Path) -> bytes:
    """A metadata file's text; a Scipion set's as its SQL dump, its ``_mapperPath`` left out.

    Since 2026-12-05 a written set's ``_mapperPath`` names the set itself (Scipion reopens a
    set from it); a baseline before that kept the input set's.
    """
    if path.suffix != ".sqlite":
        return path.read_bytes()
    import sqlite3

    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
        dump = "\n".join(line for line in connection.iterdump() if "'_mapperPath'" not in line)
        return dump.encode()


# Since 2026-12-05 a map set's volumes.star names each input map (rlnImageOriginalName) from the
# listing's folder, as its rlnImageName; a baseline before that named it from the job file's folder.
LISTINGS = {"volumes.star"}
ORIGINALS_FROM_LISTING = "identical, input maps named from the listing's folder"


def _originals_from_job(listing: Path, relative: str) -> bytes:
    """A volumes.star's text with its second column (the input maps) named from the job file's folder again.

    ``relative``: the listing's path from the results folder, beside the job file (``JOB/volumes.star``).
    """
    folder = Path("results") / Path(relative).parent
    lines = []
    for line in listing.read_text().splitlines(keepends=True):
        cells = line.split()
        if len(cells) == 2 and not line.startswith(("_", "#", "data_", "loop_")) and not os.path.isabs(cells[1]):
            line = f"{cells[0]} {os.path.normpath(folder / cells[1])}\n"
        lines.append(line)
    return "".join(lines).encode()


def _stacks_from_output(text: bytes) -> bytes:
    """``text`` with every masked stack or map named from the output folder (``N@stacks/batch_K.mrcs``)."""
    return _REFERENCE.sub(rb"\1\2", text)


def commit_of(checkout: Path) -> str | None:
    """The commit a git checkout is at; None for a folder that is not one (not one inside another checkout)."""
    asked = ["git", "-C", str(checkout), "rev-parse", "--show-toplevel", "HEAD"]
    done = subprocess.run(asked, capture_output=True, text=True, check=False)
    lines = done.stdout.split()
    if done.returncode != 0 or len(lines) != 2 or Path(lines[0]).resolve() != checkout.resolve():
        return None
    return lines[1]


def summary(verdicts: list[str]) -> dict:
    """How many files are identical, or differ only by an intended change named in their verdict."""
    same = [
        v in ("identical", IDENTICAL_BUT_FOLDER, SAME_VALUES, ORIGINALS_FROM_LISTING, SAME_BUT_LABEL) for v in verdicts
    ]
    return {"identical": sum(same), "compared": len(same), "all_identical": all(same)}


def compare_checkouts(
    baseline: Path, work: Path, batch_size: int = 20, formats: tuple[str, ...] = FORMATS, volumes: bool = True
) -> dict:
    """Run the jobs with both checkouts; prints every file pair and returns the verdicts and a summary.

    ``volumes``: run the volumes example too (the map-mask job runs maps either way).
    """
    baseline, work = baseline.resolve(), work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    for checkout in (baseline, CURRENT):
        if imported_from(checkout, work) != checkout:
            raise SystemExit(f"PYTHONPATH={checkout} does not import maskrun from {checkout}: not a checkout?")
    jobs = make_inputs(baseline, work / "inputs", formats, batch_size, volumes)
    verdicts = run_both(baseline, CURRENT, work / "inputs", jobs, work)
    pairs = [v for job in verdicts.values() for v in job.values()]
    result = {
        "baseline": str(baseline),
        "baseline_commit": commit_of(baseline),
        "current": str(CURRENT),
        "current_commit": commit_of(CURRENT),
        "batch_size": batch_size,
        "files": verdicts,
        **summary(pairs),
    }
    print(f"\noutputs of this checkout against {baseline} ({result['baseline_commit'] or 'not a git checkout'}):")
    for job, files in verdicts.items():
        for path, verdict in files.items():
            print(f"  {job + '/' + path:64s} {verdict}")
    print(f"  {result['identical']} of {result['compared']} files identical")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("baseline", type=Path, help="a checkout of an older commit (holding the maskrun package)")
    parser.add_argument("--work", type=Path, default=HERE / "out" / "identical")
    parser.add_argument("--batch-size", type=int, default=20, help="the same for both runs of each job")
    parser.add_argument("--formats", default=",".join(FORMATS), help="particle list formats, comma-separated")
    parser.add_argument("--no-volumes", action="store_true", help="skip the volumes example")
    parser.add_argument("--json", type=Path, help="where to write the verdicts (default: WORK/identical.json)")
    args = parser.parse_args()
    formats = tuple(f for f in args.formats.split(",") if f)
    result = compare_checkouts(args.baseline, args.work, args.batch_size, formats, not args.no_volumes)
    json_path = args.json or args.work / "identical.json"
    json_path.write_text(json.dumps(result, indent=1))
    print(f"wrote {json_path}")
    sys.exit(0 if result["all_identical"] else 1)


if __name__ == "__main__":
    main()
