"""Help picking a map threshold: make-mask's notes, and warnings for map masks that keep nothing or everything."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys

import mrcfile
import pytest

from maskrun.cli.main import main
from maskrun.jobs.examples import write_example_maps

from conftest import REPO
from job_files import write_job


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("threshold")
    write_example_maps(folder / "demo", n_maps=1)
    return folder


def make_mask(folder, args: list[str]):
    return subprocess.run(
        [sys.executable, "-m", "maskrun", "make-mask", *args], cwd=folder, capture_output=True, text=True, timeout=300
    )


def readme_make_mask() -> list[str]:
    line = next(x for x in (REPO / "README.md").read_text().splitlines() if x.startswith("maskrun make-mask mask.mrc"))
    return shlex.split(line.split("#")[0])[2:]


def test_the_readme_example_makes_a_sensible_mask_and_says_how_much_it_keeps(demo):
    done = make_mask(demo, readme_make_mask())
    assert done.returncode == 0, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 2 and all(line.startswith("maskrun: note: ") for line in lines)
    assert re.search(r"class_1\.mrc: values from -?[\d.]+ to [\d.]+; percentiles 50%: .*99%: .*mean \+ 3σ = ", lines[0])
    mask = mrcfile.read(demo / "mask.mrc")
    share = float(mask.mean())
    assert 0.05 < share < 0.5 and max(mask[0].max(), mask[:, 0].max(), mask[:, :, 0].max()) == 0
    kept = float(mask.sum(dtype="float64")) * 2.0**3
    assert f"mask.mrc: keeps {kept:.4g} Å³, {share:.1%} of the box" in lines[1]


def test_a_mask_remade_at_a_given_threshold_is_not_told_the_maps_percentiles(demo):
    """check-mask's make-it lines remake a mask from the mask (`--from-map mask.mrc --threshold 0.5`): its values in
    [0, 1] and the threshold given, the map's range and percentiles (help to choose a threshold) were noise. They are
    left out there; a threshold rule on the same mask still gets them."""
    assert make_mask(demo, ["source.mrc", *readme_make_mask()[1:]]).returncode == 0  # the README's mask
    remade = make_mask(demo, ["remade.mrc", "--from-map", "source.mrc", "--threshold", "0.5", "--soft-edge", "6"])
    assert remade.returncode == 0, remade.stderr
    [line] = remade.stderr.strip().splitlines()
    assert line.startswith("maskrun: note: remade.mrc: keeps ")
    ruled = make_mask(demo, ["ruled.mrc", "--from-map", "source.mrc", "--threshold", "1 sigma"])
    assert ruled.returncode == 0, ruled.stderr
    assert "maskrun: note: source.mrc: values from 0 to 1; percentiles 50%: " in ruled.stderr


def test_a_map_mask_that_keeps_everything_warns_with_where_to_look(demo):
    done = make_mask(demo, ["all.mrc", "--from-map", "demo/maps/class_1.mrc", "--threshold", "0.02", "--extend", "3"])
    assert done.returncode == 0
    warnings = [line for line in done.stderr.splitlines() if line.startswith("maskrun: warning: ")]
    assert len(warnings) == 1 and "the mask made from class_1.mrc keeps everything" in warnings[0]
    assert "raise the threshold 0.02 (the map's median is" in warnings[0]


def map_job(name: str, threshold: float, extend: float) -> dict:
    return {
        "version": 1,
        "name": name,
        "inputs": {"volumes": "demo/maps/class_1.mrc"},
        "mask": {
            "source": "map",
            "map": {"file": "demo/maps/class_1.mrc", "threshold": threshold, "extend_px": extend},
        },
        "report": False,
    }


def test_a_job_whose_map_mask_keeps_everything_warns(demo, capsys):
    assert main(["run", str(write_job(demo, map_job("all", 0.02, 3), "all.yaml")), "--cores", "1"]) == 0
    assert "maskrun: warning: the mask made from class_1.mrc keeps everything" in capsys.readouterr().err


def test_the_warning_lands_in_the_run_record_without_a_report(demo):
    assert main(["run", str(write_job(demo, map_job("record", 0.02, 3), "record.yaml")), "--cores", "1"]) == 0
    record = json.loads((demo / "results" / "record" / "provenance" / "run.json").read_text())
    # the map's own warning; or, its mask made (and cached) by an earlier test of this process, the record's words
    assert any("keeps everything: the output equals the input" in w for w in record.get("warnings", []))
