"""The annotated example jobs in configs/ are valid and run (they read the shared folder).

The jobs name their data as ``../../shared/...`` (the shared folder beside a checkout), so
each test runs a copy whose shared paths point at the suite's shared folder
(``MASKRUN_SHARED``, else ``../shared``), and skips when that folder is absent.
"""

from __future__ import annotations

import contextlib
import json
import warnings
from pathlib import Path

import mrcfile
import numpy as np
import pytest
import starfile
import yaml

from maskrun.cli.main import main
from maskrun.config.job_file import load_job
from maskrun.errors import MaskrunWarning
from maskrun.jobs.examples import starter_job
from maskrun.jobs.plan import plan_job
from maskrun.jobs.runner import run_job
from maskrun.report.build import build_report

from conftest import REPO, SHARED, shared_path

CONFIGS = sorted((REPO / "configs").glob("*.yaml"))
SHARED_AS_WRITTEN = "../../shared/"


def relocated(config: Path, folder: Path) -> Path:
    """A copy of ``config`` in ``folder/configs`` that reads the suite's shared folder, with what its comment
    asks the user to bring (`BROUGHT`)."""
    shared_path()
    text = config.read_text()
    assert SHARED_AS_WRITTEN in text, f"{config.name} names no shared data"
    copy = folder / "configs" / config.name
    copy.parent.mkdir(parents=True, exist_ok=True)
    copy.write_text(text.replace(SHARED_AS_WRITTEN, f"{SHARED.resolve()}/"))
    if config.name in BROUGHT:
        BROUGHT[config.name](copy)
    return copy


def cryosparc_project(copy: Path) -> None:
    """What cryosparc_projection.yaml asks its user to bring: the refinement's stacks, not shipped, under its
    inputs.project_dir (here files of zeros, sparse on disk, each as long as its rows' largest blob/idx needs),
    and the 3D mask, made by the make-mask command its comment gives."""
    job = yaml.safe_load(copy.read_text())
    records = np.load(job["inputs"]["particles"])
    paths, of_row = np.unique(records["blob/path"], return_inverse=True)
    counts = np.zeros(len(paths), dtype=np.int64)
    np.maximum.at(counts, of_row, records["blob/idx"].astype(np.int64) + 1)
    ny, nx = (int(n) for n in records["blob/shape"][0])
    for path, count in zip(paths, counts):
        stack = copy.parent / job["inputs"]["project_dir"] / path.decode()
        stack.parent.mkdir(parents=True, exist_ok=True)
        with mrcfile.new_mmap(stack, shape=(int(count), ny, nx), mrc_mode=2, fill=None) as mrc:
            mrc.set_image_stack()
            mrc.voxel_size = float(records["blob/psize_A"][0])
    (command,) = [
        line.split("#", 1)[1].split() for line in copy.read_text().splitlines() if "maskrun make-mask ../" in line
    ]
    (copy.parent / command[2]).parent.mkdir(parents=True, exist_ok=True)
    with contextlib.chdir(copy.parent):
        assert main(command[1:]) == 0


BROUGHT = {"cryosparc_projection.yaml": cryosparc_project}  # configs whose data is not all shipped


def test_there_are_example_configs():
    assert len(CONFIGS) >= 4


@pytest.mark.parametrize("config", CONFIGS, ids=[c.name for c in CONFIGS])
def test_config_validates(capsys, tmp_path, config):
    copy = relocated(config, tmp_path)
    assert main(["validate", str(copy)]) == 0, capsys.readouterr().err
    assert f"{copy}: valid" in capsys.readouterr().out


WARNED = {  # what the configs that warn warn of: each one's comment says so
    "xmipp_created_mask.yaml": "the mask's kept region touches the box edge",  # Xmipp's test mask
}
PLANNED = {"xmipp_created_mask.yaml"}  # warned of as the job is planned (validate says it too), not by the report


@pytest.mark.parametrize("config", CONFIGS, ids=[c.name for c in CONFIGS])
def test_a_config_warns_only_of_what_its_comment_says(tmp_path, config):
    """A new user learns from these jobs: a soft edge, a mask inside the box, unless the comment says why not."""
    copy = relocated(config, tmp_path)
    with warnings.catch_warnings(record=True) as said:  # planning's, raised in-process
        warnings.simplefilter("always", MaskrunWarning)
        run_job(copy)
        report = build_report(plan_job(copy))
    record = json.loads((report.folder.parent / "provenance" / "run.json").read_text())
    expected = WARNED.get(config.name)
    assert [w[: len(expected)] for w in record["warnings"]] == ([expected] if expected else [])
    planned = {str(w.message) for w in said}
    assert planned == (set(record["warnings"]) if config.name in PLANNED else set())  # the report says it once
    comments = " ".join(line for line in config.read_text().splitlines() if line.startswith("#"))
    assert ("Expect one warning" in comments) == (expected is not None)


def test_a_config_runs_and_writes_where_it_says(tmp_path):
    copy = relocated(REPO / "configs" / "relion31_particles.yaml", tmp_path)
    summary = run_job(copy)
    out = tmp_path / "results" / "relion31-circular"
    assert summary.output_dir.resolve() == out.resolve()
    assert len(starfile.read(out / "particles.star")["particles"]) == 5


@pytest.mark.system  # a whole job of 2019 particles of 180² (262 MB written); the default run validates
# and runs this config in the tests above
def test_the_cryosparc_projection_config_masks_the_refinements_particles_at_their_own_poses(tmp_path, capsys):
    """The .cs example of a projected mask (none was shipped): the shared refinement's 2019 particles, their poses
    the .cs's alignments3D/pose and /shift, masked and written back as particles.cs and its companion STAR. One
    stack holds ones: its particles' masked images are their masks, each where its own pose puts the domain."""
    copy = relocated(REPO / "configs" / "cryosparc_projection.yaml", tmp_path)
    job = yaml.safe_load(copy.read_text())
    source = np.load(job["inputs"]["particles"])
    first = source["blob/path"][0].decode()
    rows = np.flatnonzero(source["blob/path"] == source["blob/path"][0])
    with mrcfile.open(copy.parent / job["inputs"]["project_dir"] / first, "r+") as mrc:
        mrc.data[:] = 1
    capsys.readouterr()
    assert main(["validate", str(copy)]) == 0
    said = capsys.readouterr().out
    assert "2019 particles (cryoSPARC .cs, 50 stacks), box 180 x 180 px, 2.95 Å/px" in said
    assert "domain3d.mrc projected at each particle's pose: support above 0.05" in said
    out = run_job(copy).output_dir
    written = np.load(out / "particles.cs")
    assert written.dtype.names == source.dtype.names and list(written["uid"]) == list(source["uid"])
    for name in ("alignments3D/pose", "alignments3D/shift", "ctf/df1_A"):
        assert written[name].tobytes() == source[name].tobytes()
    assert sorted(set(written["blob/path"])) == [f">stacks/batch_0000{i}.mrcs".encode() for i in (1, 2, 3)]
    star = starfile.read(out / "particles.star")
    particles = star["particles"]
    assert len(particles) == 2019 and float(star["optics"]["rlnImagePixelSize"][0]) == 2.95
    assert {"rlnAngleRot", "rlnAngleTilt", "rlnAnglePsi", "rlnOriginXAngst", "rlnOriginYAngst"} <= set(particles)
    assert list(particles["rlnRandomSubset"]) == list(source["alignments3D/split"] + 1)  # cryoSPARC's half-sets
    assert set(written["blob/path"][rows]) == {b">stacks/batch_00001.mrcs"}
    with mrcfile.mmap(out / "stacks" / "batch_00001.mrcs", permissive=True) as batch:
        masks = np.array(batch.data[written["blob/idx"][rows]])
    kept = (masks > 0.5).mean(axis=(1, 2))
    assert masks.min() >= 0 and masks.max() <= 1 and kept.min() > 0.01 and kept.max() < 0.1  # a 24 px sphere's
    assert np.abs(masks - masks.mean(axis=0)).max() > 0.9  # each particle's own: the domain moves with the pose


@pytest.mark.parametrize("kind", ["particles", "volumes"])
def test_starter_jobs_parse_and_are_annotated(tmp_path, kind):
    path = tmp_path / f"{kind}.yaml"
    path.write_text(starter_job(kind))
    job = load_job(path)
    assert job.spec.inputs.kind == kind
    assert sum(line.strip().startswith("#") or " # " in line for line in path.read_text().splitlines()) >= 10


def test_example_write_gives_a_valid_job(capsys, tmp_path):
    assert main(["example", "particles", "--write", str(tmp_path / "demo")]) == 0
    assert main(["validate", str(tmp_path / "demo" / "particles.yaml")]) == 0
    assert "60 particles (RELION STAR, 3 stacks)" in capsys.readouterr().out
    assert main(["example", "particles", "--write", str(tmp_path / "demo")]) == 2  # never clobbers a job


@pytest.mark.parametrize("fmt,kind", [("xmd", "Xmipp XMD"), ("cs", "cryoSPARC .cs"), ("sqlite", "Scipion set")])
def test_example_in_every_particle_format_validates_and_runs(capsys, tmp_path, fmt, kind):
    assert main(["example", "particles", "--format", fmt, "--write", str(tmp_path / "demo")]) == 0
    job = tmp_path / "demo" / "particles.yaml"
    assert f"particles: particles.{fmt}" in job.read_text()
    assert main(["validate", str(job)]) == 0
    assert f"60 particles ({kind}, 3 stacks" in capsys.readouterr().out
    summary = run_job(job)
    assert (summary.output_dir / f"particles.{fmt}").is_file() and summary.units_run == 3


@pytest.mark.parametrize("fmt", ["xmd", "cs", "sqlite"])
def test_printed_example_reads_the_format_asked_for(capsys, fmt):
    assert main(["example", "particles", "--format", fmt]) == 0
    out = capsys.readouterr().out
    assert f"particles: particles.{fmt} " in out and "particles.star" not in out.split("particles:")[1].split("\n")[0]


def test_example_maps_refuse_a_particle_format(capsys, tmp_path):
    assert main(["example", "volumes", "--format", "cs", "--write", str(tmp_path / "demo")]) == 2
    err = capsys.readouterr().err
    assert (
        err == "maskrun example: error: --format: lists particles; the example maps are MRC files: leave --format out\n"
    )
    assert not (tmp_path / "demo").exists()
