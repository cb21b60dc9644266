"""Maps of one box at several voxel sizes get a saved mask each, named, recorded and drawn.

Two copies of one map re-headed to 2 and 3 Å/px, masked with ``radius: 12 A``, were each masked
right (6 and 4 px), but only the first one's mask was saved (``mask.mrc``), and the report drew it
over both maps and profiled it alone.
"""

from __future__ import annotations

import json
import shutil

import mrcfile
import numpy as np
import pytest
import yaml

from maskrun.cli.main import main
from maskrun.jobs.plan import plan_job
from maskrun.jobs.runner import run_job
from maskrun.report import figures
from maskrun.report.build import build_report

from conftest import write_mrc
from job_files import write_job

SPHERE = {"source": "geometry", "geometry": {"shape": "sphere", "radius": "12 A", "soft_edge": 1}}


def maps_job(folder, maps: dict[str, tuple[int, float]], name="vox"):
    """A job over maps named ``maps`` (each: its cube's edge and voxel size), of one noise map cut to size."""
    data = np.random.default_rng(0).normal(size=(32, 32, 32))
    for file, (edge, voxel) in maps.items():
        write_mrc(folder / file, data[:edge, :edge, :edge], voxel_size=voxel)
    job = {"version": 1, "name": name, "inputs": {"volumes": list(maps)}, "mask": SPHERE, "report": False}
    return write_job(folder, job, f"{name}.yaml")


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    folder = tmp_path_factory.mktemp("vox")
    job = maps_job(folder, {"a2.mrc": (32, 2.0), "b3.mrc": (32, 3.0)})
    out = run_job(job).output_dir
    return folder, job, out


def test_each_voxel_size_gets_its_mask_saved_under_a_name_that_says_it(finished):
    folder, _, out = finished
    assert not (out / "mask.mrc").exists()
    assert sorted(p.name for p in (out / "masks").iterdir()) == ["mask_32x32x32_2A.mrc", "mask_32x32x32_3A.mrc"]
    for voxel, stem in ((2.0, "a2"), (3.0, "b3")):
        with mrcfile.open(out / "masks" / f"mask_32x32x32_{voxel:g}A.mrc") as mrc:
            mask, saved_voxel = mrc.data.copy(), float(mrc.voxel_size.x)
        assert saved_voxel == pytest.approx(voxel)
        masked = mrcfile.read(out / "volumes" / f"{stem}.mrc")
        np.testing.assert_allclose(masked, mrcfile.read(folder / f"{stem}.mrc") * mask, rtol=1e-6, atol=1e-6)
    kept = [(mrcfile.read(out / "masks" / f"mask_32x32x32_{v}A.mrc") >= 0.5).sum() for v in (2, 3)]
    assert kept[0] > 3 * kept[1]  # a radius of 6 px, then 4 px: (6 / 4)³ = 3.4


def test_the_run_record_says_which_maps_each_mask_masked(finished):
    folder, _, out = finished
    record = json.loads((out / "provenance" / "run.json").read_text())
    masks = {e["path"]: e["maps"] for e in record["outputs"] if e["path"].startswith("masks/")}
    assert masks == {
        "masks/mask_32x32x32_2A.mrc": [str(folder / "a2.mrc")],
        "masks/mask_32x32x32_3A.mrc": [str(folder / "b3.mrc")],
    }


def test_the_report_draws_each_maps_own_mask_and_says_which_file_masked_which(finished, monkeypatch):
    _, job, out = finished
    drawn: dict[str, list] = {}
    monkeypatch.setattr(
        figures, "map_rows", lambda rows, f=figures.map_rows: drawn.setdefault("maps", rows) and f(rows)
    )
    monkeypatch.setattr(
        figures, "profile_plot", lambda p, f=figures.profile_plot: drawn.setdefault("panels", p) and f(p)
    )
    report = build_report(plan_job(job))
    for (_, _, _, mask_slices, _), voxel in zip(drawn["maps"], (2, 3)):
        saved = mrcfile.read(out / "masks" / f"mask_32x32x32_{voxel}A.mrc")
        np.testing.assert_array_equal(mask_slices[0], figures.central_slices(saved)[0])  # XY: its own mask
    assert [(p.title, p.pixel_size) for p in drawn["panels"]] == [
        ("mask_32x32x32_2A.mrc: the 32 x 32 x 32 maps at 2 Å/px (a2.mrc)", 2.0),
        ("mask_32x32x32_3A.mrc: the 32 x 32 x 32 maps at 3 Å/px (b3.mrc)", 3.0),
    ]
    assert "; one panel per box and voxel size, named by its mask file and its maps" in report.captions["profile.png"]
    assert report.outputs[2] == (
        "masks/ (2 files, 264 kB: mask_32x32x32_2A.mrc, mask_32x32x32_3A.mrc): the mask applied to each box and "
        "voxel size: mask_32x32x32_2A.mrc to the 32 x 32 x 32 maps at 2 Å/px (a2.mrc); mask_32x32x32_3A.mrc to "
        "the 32 x 32 x 32 maps at 3 Å/px (b3.mrc)"
    )


def test_a_voxel_size_is_named_only_where_a_box_has_several_and_as_finely_as_tells_them_apart(tmp_path):
    maps = {"a.mrc": (32, 2.0), "b.mrc": (32, 3.0), "c.mrc": (16, 2.0), "d.mrc": (32, 2.0)}
    plan = plan_job(maps_job(tmp_path, maps, "mixed"))
    assert {
        p.name: [plan.volume_set.maps[u.map_index].path.name for u in units] for p, units in plan.mask_units().items()
    } == {
        "mask_32x32x32_2A.mrc": ["a.mrc", "d.mrc"],
        "mask_32x32x32_3A.mrc": ["b.mrc"],
        "mask_16x16x16.mrc": ["c.mrc"],
    }
    close = plan_job(maps_job(tmp_path, {"e.mrc": (16, 2.06), "f.mrc": (16, 2.0600001)}, "close"))
    assert sorted(p.name for p in close.mask_outputs()) == ["mask_16x16x16_2.0600002A.mrc", "mask_16x16x16_2.06A.mrc"]


def test_maps_of_one_box_and_voxel_size_keep_their_one_mask_mrc(tmp_path):
    job = maps_job(tmp_path, {"a.mrc": (16, 2.0), "b.mrc": (16, 2.0)}, "same")
    out = run_job(job).output_dir
    assert (out / "mask.mrc").is_file() and not (out / "masks").exists()
    record = json.loads((out / "provenance" / "run.json").read_text())
    (entry,) = [e for e in record["outputs"] if e["path"] == "mask.mrc"]
    assert set(entry) == {"path", "blake3", "bytes", "mtime_ns", "ctime_ns", "role", "format"}  # no maps: one mask
    assert entry["role"] == "mask"


def test_the_report_of_a_run_that_saved_one_mask_for_both_voxel_sizes_says_to_run_again(tmp_path, capsys):
    """An older maskrun saved ``mask.mrc`` only: its report was "…mask_32x32x32_2A.mrc: file not found; check the
    path", as if the user had mistyped it."""
    job = maps_job(tmp_path, {"a2.mrc": (32, 2.0), "b3.mrc": (32, 3.0)}, "older")
    out = run_job(job).output_dir
    shutil.move(out / "masks" / "mask_32x32x32_2A.mrc", out / "mask.mrc")
    shutil.rmtree(out / "masks")
    record_path = out / "provenance" / "run.json"
    record = json.loads(record_path.read_text())
    saved = next(e for e in record["outputs"] if e["path"].startswith("masks/"))
    record["outputs"] = [e for e in record["outputs"] if not e["path"].startswith("masks/")]
    record["outputs"].append({k: v for k, v in saved.items() if k != "maps"} | {"path": "mask.mrc"})
    record_path.write_text(json.dumps(record))
    assert main(["report", str(job)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"maskrun report: error: {job}: output.overwrite: {out / 'masks' / 'mask_32x32x32_2A.mrc'} is not there: "
        "the run was made by an older maskrun, which saved one mask per box, where maps of one box at several "
        "voxel sizes now get one each; run the job again with output.overwrite: true"
    )


def test_a_model_term_places_its_atoms_on_each_voxel_size_in_a_mask_of_its_own(tmp_path, capsys):
    """Maps of one box at 2 and 3 Å/px were refused: "b3.mrc and a2.mrc share a stored box but not an origin" (they
    share it: they differ in voxel size), as a job saved one mask per box."""
    atom = "ATOM      1  CA  ALA A   1      32.000  32.000  32.000  1.00  0.00           C"
    (tmp_path / "m.pdb").write_text(f"{atom}\nEND\n")
    job = maps_job(tmp_path, {"a2.mrc": (32, 2.0), "b3.mrc": (32, 3.0)}, "model")
    model = {"source": "expression", "expression": {"any_of": [{"model": {"file": "m.pdb", "radius": 6}}]}}
    write_job(tmp_path, {**yaml.safe_load(job.read_text()), "mask": model}, job.name)
    assert main(["validate", str(job)]) == 0
    out = run_job(job).output_dir
    for voxel in (2, 3):
        kept = np.argwhere(mrcfile.read(out / "masks" / f"mask_32x32x32_{voxel}A.mrc") >= 0.5)
        np.testing.assert_allclose(kept.mean(axis=0), [32 / voxel] * 3, atol=0.5)  # the atom, 32 Å from the origin
