"""The benchmark (bench/run.py) runs end to end on a small stack and reports every figure."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import mrcfile
import numpy as np
import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench" / "run.py"
SCALE = BENCH.parent / "scale.py"


def run_bench(script: Path, *args: str) -> subprocess.CompletedProcess:
    """A bench script in a child process; fails the test with its stderr's end if it fails."""
    result = subprocess.run(
        [sys.executable, str(script), *args], check=False, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


@pytest.mark.system
def test_bench_reports_every_method_floor_and_target(tmp_path):
    run_bench(
        BENCH,
        *("--images", "24", "--box", "32", "--reps", "1", "--maps", "16", "--no-scaling"),
        *("--map-mask-sizes", "24,32", "--stacks", "6", "--per-stack", "4", "--layout-box", "16"),
        "--no-scale",  # its own test, below
        *("--work", str(tmp_path)),
    )
    report = json.loads((tmp_path / "results.json").read_text())

    stack = report["stack"]
    assert set(stack) == {"dd", "naive_numpy", "mask_raised_cosine", "mask_circular_avg"}
    assert all(r["median_s"] > 0 and r["peak_rss_mb"] > 0 and r["median_waits"] >= 0 for r in stack.values())
    assert all(len(r["runs_kernel_s"]) == len(r["runs_s"]) == 1 and r["slowed_runs"] == 0 for r in stack.values())
    assert stack["dd"]["ratio_to_dd"] == 1.0
    assert stack["mask_circular_avg"]["images_per_s"] * stack["mask_circular_avg"]["median_s"] == pytest.approx(24)

    floor = report["floor"]
    assert floor["start_up"] > 0 and floor["streaming_floor"] > 0
    steps = floor["step_cpu_s"]
    assert set(steps) == {"copy", "mask_circular_avg", "mask_raised_cosine"}
    assert set(steps["mask_circular_avg"]) == {"binary_mask_with_avg_fill", "header_statistics", "total"}
    assert set(steps["mask_raised_cosine"]) == {"soft_mask", "header_statistics", "total"}
    assert set(report["replace"]) == {"dd", "mask_raised_cosine", "mask_circular_avg"}
    assert set(report["budget"]) == {"mask_raised_cosine", "mask_circular_avg"}
    assert set(report["maps"]["16"]["shapes"]) == {
        "sphere",
        "box",
        "crown",
        "cylinder",
        "gaussian",
        "raised_cosine",
        "raised_crown",
    }
    masks = report["map_masks"]
    assert masks["maskrun_192_s"] > 0 and masks["maskrun_512_s"] > 0 and masks["maskrun_512_peak_mb"] > 10
    if "relion_192_s" in masks:  # RELION installed (CI): the same mask, to 1e-5
        assert (
            masks["max_difference"] <= 1e-5
            and "make-mask >= 50 x faster than relion_mask_create (192³)" in report["targets"]
        )
    assert "512³ map mask < 20 s" in report["targets"]
    assert set(report["tree_peak_rss_mb"]) == {"mask_raised_cosine", "mask_circular_avg"}
    assert all(mb > 10 for mb in report["tree_peak_rss_mb"].values())  # a Python with NumPy, at least
    assert "mask_circular_avg <= 1.3 x dd" in report["targets"]
    assert "mask_circular_avg peak RSS <= 400 MB" in report["targets"]
    assert all(isinstance(met, bool) for met in report["targets"].values())

    workflow = report["workflow"]
    expected = {"mask_256", "run_256", "snakemake_noop", "run_many", "run_one128"}
    assert expected <= set(workflow["median_s"]) and all(v > 0 for v in workflow["median_s"].values())
    for phases in workflow["breakdown"].values():  # the phases of the critical path add up to the run
        path = [s for name, s in phases.items() if name != "total" and not name.startswith("  ")]
        assert phases["total"] > 0 and min(path) >= 0 and sum(path) == pytest.approx(phases["total"])
        units = next(s for name, s in phases.items() if name.startswith("first unit starts ->"))
        assert units >= max(s for name, s in phases.items() if name.startswith("  per unit:")) > 0
    assert any("report" in name for name in workflow["breakdown"]["one256"])
    assert not any("report" in name for name in workflow["breakdown"]["many"])
    assert workflow["checksums_match"] and workflow["same_images_both_layouts"]
    for memory in workflow["peak_memory"].values():  # the launcher, Snakemake and its units, added up
        # Snakemake runs as maskrun.workflow.warm_snakemake, the units fork from maskrun.workflow.unit_forks; a
        # run this small may peak as Snakemake ends, when CI has seen it listed as a zombie ('') beside the
        # launcher alone: one of them shows the tree was measured
        names = set(memory["by_process"])
        workflow_processes = {"maskrun.workflow.warm_snakemake", "maskrun.workflow.unit_forks", ""}
        assert memory["tree_mb"] > 30 and "maskrun" in names and workflow_processes & names
    assert "run on 6 stacks <= 1.3 x run on one stack" in report["targets"]
    if "relion_many" in workflow["median_s"]:  # RELION installed (CI): it masked every stack
        assert workflow["relion_masked_stacks"] == 6

    # The floor is the real command with every pixel step made a copy: its output is the input.
    with (
        mrcfile.open(tmp_path / "stack_24x32.mrcs", permissive=True) as source,
        mrcfile.open(tmp_path / "out" / "floor.mrcs", permissive=True) as floor_out,
    ):
        np.testing.assert_array_equal(floor_out.data, source.data)
    # ...while the timed circular + avg run really masked: the corners hold each image's mean.
    with (
        mrcfile.open(tmp_path / "stack_24x32.mrcs", permissive=True) as source,
        mrcfile.open(tmp_path / "replace" / "out" / "circ.mrcs", permissive=True) as masked,
    ):
        means = source.data.reshape(24, -1).mean(axis=1)
        np.testing.assert_allclose(masked.data[:, 0, 0], means, rtol=1e-5)
        np.testing.assert_array_equal(masked.data[:, 16, 16], source.data[:, 16, 16])


@pytest.mark.system
def test_scale_bench_reports_every_figure_with_a_target(tmp_path):
    """Issue 21's bench at its small size, this checkout as its own baseline: every figure is there."""
    checkout = BENCH.parent.parent
    result = run_bench(SCALE, "--small", "--reps", "1", "--work", str(tmp_path), "--baseline", str(checkout))
    report = json.loads((tmp_path / "scale.json").read_text())

    figures = report["figures"]
    expected = [
        "maskrun validate, wall",
        "maskrun validate, peak RSS of its process tree",
        "maskrun run --cores 2, wall",
        "maskrun run, peak PSS of its process tree",
        "SIGTERM mid-run, exit status",
        "SIGTERM mid-run, seconds from the signal to the exit",
        "rerun after SIGTERM finishes (exit status)",
        "one more rerun has nothing to do (exit status)",
    ]
    assert [name.split(": ", 1)[1] for name in list(figures)[:8]] == expected
    assert all(name.startswith("10,000 particles: ") for name in list(figures)[:8])
    assert [name.split(":")[0] for name in list(figures)[8:]] == [
        "per GB",
        "fixed",
        "peer",
        "outputs identical to the baseline ("
        + (report["identical"]["baseline_commit"] or str(checkout))
        + "; see identical.py)",
    ]
    for name, row in figures.items():
        assert set(row) == {"value", "unit", "target", "met"} and row["target"], name
        assert isinstance(row["met"], bool), name
        assert row["value"] is not None or "not installed" in row["target"], name
    for name in expected:  # printed, with the verdict
        assert name in result.stdout
    assert "met" in result.stdout.split("scale targets")[1]

    million = report["million"]
    assert million["breakdown"]["total"] > 0 and any(k.startswith("first unit starts") for k in million["breakdown"])
    # the sampler saw the launcher's descendants (Snakemake); the --small units can end between two samples,
    # that the sampler counts a thread's children and their forks is tested on its own (test_tree_peak_*)
    units = million["peak_memory"]["by_process"]
    assert "maskrun" in units and any("snakemake" in name for name in units)  # maskrun.workflow.warm_snakemake
    assert million["sigterm"]["processes_at_signal"] >= 1
    assert report["costs"]["page_cache_fits"] and set(report["costs"]["median_s"]) == {
        "mask_small",
        "run_small",
        "mask_big",
        "run_big",
        "snakemake_noop",
    }
    # against itself, every output is the same, and there are outputs of every job
    identical = report["identical"]
    assert identical["all_identical"] and set(identical["files"]) == {"particles_star", "map_mask"}
    assert any(path.endswith("particles.star") for path in identical["files"]["particles_star"])


# bench/measure.py's _tree_peak leaves the sampled command's stderr pipe open when the command succeeds
@pytest.mark.filterwarnings("ignore:unclosed file:ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_tree_peak_pss_counts_every_descendant(monkeypatch):
    """Snakemake starts units from threads; a unit forks its workers: the sampler must count them all."""
    monkeypatch.syspath_prepend(str(BENCH.parent))
    from measure import tree_peak_pss_mb

    hold = (
        "import os, time\n"
        "child = os.fork()\n"
        "held = bytearray(64 << 20)\n"
        "held[::4096] = b'x' * (16 << 10)\n"  # one byte a page: every page resident, each process its own
        "time.sleep(0.8)\n"
        "os._exit(0) if child == 0 else os.waitpid(child, 0)\n"
    )
    from_a_thread = (
        "import subprocess, sys, threading\n"
        f"thread = threading.Thread(target=subprocess.run, args=([sys.executable, '-c', {hold!r}],))\n"
        "thread.start()\n"
        "thread.join()\n"
    )
    memory = tree_peak_pss_mb([sys.executable, "-c", from_a_thread], Path.cwd())
    assert memory["tree_mb"] > 2 * 64  # the child of a thread and that child's fork, both holding 64 MB


def test_breakdown_follows_whatever_marks_the_run_writes(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH.parent))
    from workflow import breakdown

    marks = [
        (0.0, 1, "run start"),
        (0.5, 1, "run planned"),
        (2.0, 3, "unit batch_1 process start"),
        (2.1, 4, "unit batch_2 process start"),
        (2.6, 3, "batch_1 start"),  # a unit's mark without the "unit" prefix
        (2.9, 4, "batch_2 start"),
        (3.0, 3, "unit batch_1 masked"),
        (3.9, 4, "unit batch_2 masked"),
        (4.0, 2, "gather start"),
        (4.5, 2, "gather end"),
        (5.0, 1, "run end"),
    ]
    phases = breakdown(marks)
    assert list(phases) == [
        "run start -> run planned",
        "run planned -> first unit starts",
        "first unit starts -> last unit ends",
        "  per unit: process start -> ID start",
        "  per unit: ID start -> masked",
        "last unit ends -> gather start",
        "gather start -> gather end",
        "gather end -> run end",
        "total",
    ]
    assert phases["first unit starts -> last unit ends"] == pytest.approx(1.9)
    assert phases["  per unit: process start -> ID start"] == pytest.approx(0.7)  # median of 0.6 and 0.8
    assert phases["  per unit: ID start -> masked"] == pytest.approx(0.7)  # median of 0.4 and 1.0
    assert phases["total"] == 5.0


def _bench_module(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH.parent))  # run.py imports floor.py beside it
    spec = importlib.util.spec_from_file_location("bench_run", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return bench


def test_slowed_runs_counts_runs_with_twice_the_least_kernel_time(monkeypatch):
    bench = _bench_module(monkeypatch)
    runs = [bench.Run(0.5, 100, 900, kernel) for kernel in (0.30, 0.35, 0.59, 0.60, 1.7)]
    assert bench.slowed_runs(runs) == 2  # 0.60 and 1.7; 0.59 is just under twice 0.30
    assert bench.slowed_runs([bench.Run(0.001, 1, 0, 0.0)] * 3) == 0  # no kernel time measured


# bench/measure.py's _tree_peak leaves the sampled command's stderr pipe open when the command succeeds
@pytest.mark.filterwarnings("ignore:unclosed file:ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_tree_peak_rss_adds_up_forked_processes(monkeypatch, tmp_path):
    bench = _bench_module(monkeypatch)
    both_hold_128_mb = (
        "import os, time\n"
        "child = os.fork()\n"
        "held = bytearray(128 << 20)\n"
        "held[::4096] = b'x' * (32 << 10)\n"  # one byte a page: every page resident
        "time.sleep(0.5)\n"
        "os._exit(0) if child == 0 else os.waitpid(child, 0)\n"
    )
    # More than either process can hold alone (wait4's figure may also include the RSS of
    # this test process, which spawned it: Linux counts the parent's pages at the exec).
    assert bench.tree_peak_rss_mb([sys.executable, "-c", both_hold_128_mb], tmp_path) > 2 * 128


@pytest.mark.bench
def test_full_bench_meets_every_target():
    """The real benchmark (pytest -m bench): a 1.31 GB stack and 256³/512³ maps, every target met."""
    work = BENCH.parent / "out"
    result = subprocess.run(
        [sys.executable, str(BENCH), "--work", str(work)], check=False, capture_output=True, text=True, timeout=3600
    )
    print(result.stdout)
    assert result.returncode == 0, result.stderr[-3000:]
    targets = json.loads((work / "results.json").read_text())["targets"]
    assert targets and [name for name, met in targets.items() if not met] == []


def test_the_identity_check_counts_a_listing_whose_only_change_is_intended(monkeypatch, tmp_path):
    """volumes.star naming its input maps from its own folder (2026-12-05) is an intended change, not a difference."""
    monkeypatch.syspath_prepend(str(BENCH.parent))
    spec = importlib.util.spec_from_file_location("bench_identical", BENCH.parent / "identical.py")
    identical = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(identical)
    head = "data_\nloop_\n_rlnImageName #1\n_rlnImageOriginalName #2\n"
    for run, original in (("baseline", "maps/a.mrc"), ("current", "../../maps/a.mrc")):  # from the job file; its own
        (tmp_path / run / "job").mkdir(parents=True)
        (tmp_path / run / "job" / "volumes.star").write_text(head + f"volumes/a.mrc {original}\n")
    verdicts = identical.compare(tmp_path / "baseline", tmp_path / "current")
    assert verdicts == {"job/volumes.star": identical.ORIGINALS_FROM_LISTING}
    counted = identical.summary([*verdicts.values(), "identical"])
    assert counted == {"identical": 2, "compared": 2, "all_identical": True}
    assert identical.summary(["identical", "different"])["all_identical"] is False


def test_the_identity_check_counts_a_mask_whose_only_change_is_its_label(monkeypatch, tmp_path):
    """A job's mask.mrc labelled 'the mask applied', not 'masked' (2026-12-06), is an intended change; a change of
    its values is not."""
    monkeypatch.syspath_prepend(str(BENCH.parent))
    spec = importlib.util.spec_from_file_location("bench_identical", BENCH.parent / "identical.py")
    identical = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(identical)
    import mrcfile
    import numpy as np

    for run, label, value in (
        ("baseline", "masked", 1),
        ("current", "the mask applied", 1),
        ("other", "the mask applied", 2),
    ):
        (tmp_path / run / "job").mkdir(parents=True)
        with mrcfile.new(tmp_path / run / "job" / "mask.mrc") as mrc:
            mrc.set_data(np.full((4, 4, 4), value, np.float32))
            mrc.header.label[0] = f"maskrun 0.1.0: {label}".encode()
            mrc.header.nlabl = 1
    verdicts = identical.compare(tmp_path / "baseline", tmp_path / "current")
    assert verdicts == {"job/mask.mrc": identical.SAME_BUT_LABEL}
    assert identical.compare(tmp_path / "baseline", tmp_path / "other") == {"job/mask.mrc": "different"}
