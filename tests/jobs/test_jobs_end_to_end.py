"""Whole jobs in-process: real RELION sets, an Xmipp round trip, map sets, provenance, resume."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import blake3
import mrcfile
import numpy as np
import pandas as pd
import pytest
import starfile

from maskrun.config.shape_params import Circular
from maskrun.errors import MaskrunWarning
from maskrun.formats.particle_set import split_reference
from maskrun.formats.registry import load_particle_set
from maskrun.geometry.masks import build_mask
from maskrun.io.star import read_metadata
from maskrun.jobs.provenance import sha256_of
from maskrun.jobs.runner import run_job

from conftest import shared_path, write_mrc
from job_files import example_folder, job_with, write_job

PUBLIC_METADATA = {
    "relion31.star": ["optics", "particles"],
    "empiar_10076_7.star": [""],
    "FinalRefinement-OriginalParticles-PfCRT.star": ["images"],
    "postprocess.star": ["general", "fsc", "guinier"],
    "input_particles.xmd": ["noname"],
    "test.xmd": ["noname"],
}


@pytest.mark.parametrize("name,blocks", PUBLIC_METADATA.items(), ids=list(PUBLIC_METADATA))
def test_every_public_metadata_file_is_read(name, blocks):
    read, _ = read_metadata(shared_path("data", "public", name))
    assert list(read) == blocks


def test_starfile_writer_fails_on_a_real_xmd_so_maskrun_writes_its_own():
    blocks, _ = read_metadata(shared_path("data", "public", "test.xmd"))
    table = blocks["noname"].frame()
    assert "\t" in table["classificationData"].iloc[0]  # a quoted vector value holding a tab
    with pytest.raises(Exception, match="need to escape"):
        starfile.to_string({"noname": table})


@pytest.mark.parametrize("name", PUBLIC_METADATA, ids=list(PUBLIC_METADATA))
def test_metadata_reads_as_starfile_reads_it_every_value_as_text(name):
    """maskrun's fast reader gives starfile's blocks, names, columns and values (as text), value for value."""
    path = shared_path("data", "public", name)
    labels = sorted(set(re.findall(r"^[ \t]*_([^\s#]+)", path.read_text(errors="replace"), re.MULTILINE)))
    expected = starfile.read(path, always_dict=True, parse_as_string=labels)
    read, _ = read_metadata(path)
    assert list(read) == list(expected)
    for name, block in expected.items():
        if isinstance(block, pd.DataFrame):
            assert read[name].frame().values.tolist() == block.astype(str).values.tolist()
            assert read[name].columns == list(block.columns)
        else:
            assert read[name] == {key: str(value) for key, value in block.items()}


def masked_reference(original: np.ndarray, radius: float) -> np.ndarray:
    mask = build_mask(Circular(radius=radius).resolve(original.shape[-1], 2), original.shape)
    return np.where(mask.keep, original, np.float32(0))


@pytest.mark.parametrize(
    "name,count,stack", [("relion31.star", 5, "relion31.mrcs"), ("empiar_10076_7.star", 7, "empiar_10076_7.mrc")]
)
def test_real_relion_set_end_to_end(tmp_path, name, count, stack):
    star = shared_path("data", "public", name)
    job = write_job(
        tmp_path,
        job_with(inputs__particles=str(star), batch_size=3, mask__geometry={"shape": "circular", "radius": 60}),
    )
    summary = run_job(job)
    assert summary.items == count and summary.units_run == -(-count // 3)
    out_star = tmp_path / "results" / "t" / "particles.star"
    before = starfile.read(star, always_dict=True)
    after = starfile.read(out_star, always_dict=True)
    assert list(after) == list(before)
    for block in before:
        assert list(after[block].columns) == list(before[block].columns)
        assert len(after[block]) == len(before[block])
        # other paths (rlnMicrographName, rlnImageOriginalName: files not shipped here) name the same files from
        # the output's place; every other value is as it was
        paths = ["rlnMicrographName", "rlnImageOriginalName"]
        others = [c for c in before[block].columns if c != "rlnImageName" and c not in paths]
        pd.testing.assert_frame_equal(after[block][others], before[block][others])
        for column in (c for c in paths if c in before[block].columns):
            for was, now in zip(before[block][column], after[block][column], strict=True):
                if not isinstance(was, str):  # a number (empiar_10076_7's micrograph names): not a path, kept
                    assert now == was
                    continue
                index, path = split_reference(was) if "@" in was else (None, was)
                assert (split_reference(now) if "@" in now else (None, now)) == (index, str(star.parent / path))
    with mrcfile.open(star.parent / stack, permissive=True) as m:
        originals = m.data.copy()
    for row, reference in enumerate(after["particles" if "particles" in after else ""]["rlnImageName"]):
        index, path = split_reference(reference)
        assert Path(path).is_absolute()  # the output lies outside the input's folder, which its paths were from
        with mrcfile.open(path) as m:
            masked = m.data.reshape(-1, *originals.shape[-2:])[index]  # a 1-image stack reads as 2D
            assert m.voxel_size.x == pytest.approx(load_particle_set(star).pixel_size_angstrom, rel=1e-5)
        assert np.array_equal(masked, masked_reference(originals[row], 60))


XMD = """# XMIPP_STAR_1 *
# a hand-made native Xmipp file
data_noname
loop_
 _image
 _enabled
 _anglePsi
 _shiftX
 _classificationData
 _micrograph
{rows}
"""


def test_xmd_round_trip_keeps_every_label_and_drops_disabled_rows(tmp_path, rng):
    write_mrc(tmp_path / "parts.mrcs", rng.normal(size=(6, 32, 32)))
    enabled = [1, -1, 1, 1, 0, 1]
    rows = "\n".join(
        f" {i + 1:06d}@parts.mrcs {e} {10.5 * i:.6f} {-1.25 * i:.6f} ' 1.0\t {i}.0  3.0 ' mic_{i}.mrc"
        for i, e in enumerate(enabled)
    )
    (tmp_path / "parts.xmd").write_text(XMD.format(rows=rows))
    job = write_job(
        tmp_path, job_with(inputs__particles="parts.xmd", mask__geometry={"shape": "circular", "radius": 12})
    )
    run_job(job)
    out = tmp_path / "results" / "t" / "particles.xmd"
    text = out.read_text()
    assert text.startswith("# XMIPP_STAR_1 *\n") and "_image\n" in text  # Xmipp style, labels unnumbered
    before, _ = read_metadata(tmp_path / "parts.xmd")
    after, _ = read_metadata(out)
    table = before["noname"].frame()
    kept = table[table["enabled"].astype(int) > 0].reset_index(drop=True)
    assert list(after["noname"].columns) == list(kept.columns)
    assert len(after["noname"]) == 4
    others = [c for c in kept.columns if c != "image"]
    pd.testing.assert_frame_equal(after["noname"].frame()[others], kept[others])
    # relative to the folder the input's references were relative to, as Xmipp reads them
    assert starfile.read(out)["image"].tolist() == [f"{i:06d}@results/t/stacks/batch_00001.mrcs" for i in range(1, 5)]


def test_bare_stack_gives_a_relion_star_with_optics(tmp_path, rng):
    write_mrc(tmp_path / "bare.mrcs", rng.normal(size=(5, 32, 32)), voxel_size=1.7)
    run_job(
        write_job(
            tmp_path,
            job_with(inputs__particles="bare.mrcs", batch_size=2, mask__geometry={"shape": "circular", "radius": 12}),
        )
    )
    star = starfile.read(tmp_path / "results" / "t" / "particles.star", always_dict=True)
    assert list(star) == ["optics", "particles"]
    assert star["optics"]["rlnImagePixelSize"].iloc[0] == pytest.approx(1.7)
    assert star["particles"]["rlnImageName"].tolist()[-1] == "000001@stacks/batch_00003.mrcs"


@pytest.mark.parametrize(
    "volumes,listing",
    [
        (["maps/class_1.mrc", "maps/class_2.mrc"], "volumes.star"),
        ("maps/*.mrc", "volumes.star"),
        ("maps/class_2.mrc", None),
        ("maps.star", "volumes.star"),
    ],
)
def test_map_sets(tmp_path, volumes, listing):
    example_folder(tmp_path)
    (tmp_path / "maps.star").write_text(
        "data_model_classes\nloop_\n_rlnReferenceImage\n_rlnClassDistribution\n"
        "maps/class_1.mrc 0.6\nmaps/class_2.mrc 0.4\n"
    )
    job = write_job(
        tmp_path,
        job_with(inputs__particles=None, inputs__volumes=volumes, mask__geometry={"shape": "sphere", "radius": 20}),
    )
    run_job(job)
    out = tmp_path / "results" / "t"
    expected = ["class_2.mrc"] if volumes == "maps/class_2.mrc" else ["class_1.mrc", "class_2.mrc"]
    assert sorted(p.name for p in (out / "volumes").iterdir()) == expected
    assert (out / "volumes.star").exists() == (listing is not None)
    if volumes == "maps.star":  # named as the input named its maps: from the folder RELION runs in
        table = starfile.read(out / "volumes.star")
        assert table["rlnReferenceImage"].tolist() == ["results/t/volumes/class_1.mrc", "results/t/volumes/class_2.mrc"]
        assert table["rlnClassDistribution"].tolist() == [0.6, 0.4]
    elif listing is not None:  # every name in the listing resolves from its folder
        table = starfile.read(out / "volumes.star")
        assert all((out / name).is_file() for name in table["rlnImageName"])
        originals = [(out / name).resolve() for name in table["rlnImageOriginalName"]]
        assert originals == [(tmp_path / "maps" / name).resolve() for name in expected]


def numbers_in(node):
    if isinstance(node, dict):
        for value in node.values():
            yield from numbers_in(value)
    elif isinstance(node, list):
        for value in node:
            yield from numbers_in(value)
    elif isinstance(node, (int, float)) and not isinstance(node, bool):
        yield node


def test_provenance_resolves_defaults_and_checksums_match(tmp_path):
    example_folder(tmp_path, particles=30)
    job = write_job(tmp_path, job_with(mask__geometry={"shape": "crown", "inner_radius": 4}, batch_size=20))
    with pytest.warns(MaskrunWarning, match="touches the box edge"):  # the default outer radius, N // 2, reaches it
        run_job(job)
    out = tmp_path / "results" / "t"
    run = json.loads((out / "provenance" / "run.json").read_text())
    geometry = run["job_resolved"]["mask"]["geometry"]
    assert geometry == {
        "center": [0.0, 0.0],
        "invert": False,
        "shape": "crown",
        "inner_radius": 4.0,
        "outer_radius": 32.0,
    }
    assert -1 not in list(numbers_in(run["job_resolved"]))
    assert run["job_sha256"] == sha256_of(job) and run["job_as_written"] == job.read_text()
    assert {e["path"] for e in run["outputs"]} == {
        "stacks/batch_00001.mrcs",
        "stacks/batch_00002.mrcs",
        "particles.star",
        "mask.mrc",  # the mask as applied
    }
    for entry in run["outputs"]:
        assert entry["blake3"] == blake3.blake3((out / entry["path"]).read_bytes()).hexdigest()
    for entry in run["inputs"]:
        assert entry["blake3"] == blake3.blake3(Path(entry["path"]).read_bytes()).hexdigest()
    assert set(run["versions"]) >= {"maskrun", "python", "numpy", "mrcfile", "snakemake"}
    batch = json.loads((out / "provenance" / "batch_00002.json").read_text())
    assert batch["rows"] == [20, 30]
    assert batch["output"]["blake3"] == blake3.blake3((out / "stacks/batch_00002.mrcs").read_bytes()).hexdigest()


def test_same_job_twice_gives_identical_images_and_metadata(tmp_path):
    example_folder(tmp_path, particles=30)
    for name in ("a", "b"):
        run_job(write_job(tmp_path, job_with(name=name, fill={"with": "avg"}), f"{name}.yaml"))
    a, b = tmp_path / "results" / "a", tmp_path / "results" / "b"
    internal = ("provenance", ".maskrun")  # records with times, the saved plan with paths
    files = sorted(str(p.relative_to(a)) for p in a.rglob("*") if p.is_file() and not set(internal) & set(p.parts))
    assert files == ["mask.mrc", "particles.star", "stacks/batch_00001.mrcs", "stacks/batch_00002.mrcs"]
    for name in files:
        # the STAR names each job's own stacks, from the input's folder: results/a/stacks/..., results/b/...
        same = (b / name).read_bytes().replace(b"@results/b/", b"@results/a/")
        assert (a / name).read_bytes() == same, name
    assert b"000001@results/a/stacks/batch_00001.mrcs" in (a / "particles.star").read_bytes()


def test_interrupted_run_resumes_only_missing_units(tmp_path):
    example_folder(tmp_path, particles=60)
    job = write_job(tmp_path, job_with(batch_size=20))
    run_job(job)
    out = tmp_path / "results" / "t"
    reference = {p: p.read_bytes() for p in [*out.rglob("*.mrcs"), out / "particles.star"]}
    (out / "provenance" / "run.json").unlink()  # as if killed during batch 2
    (out / "provenance" / "batch_00002.json").unlink()
    (out / "stacks" / "batch_00002.mrcs").unlink()
    summary = run_job(job)
    assert (summary.units_run, summary.units_skipped) == (1, 2)
    assert all(path.read_bytes() == data for path, data in reference.items())


def test_overwrite_true_redoes_a_finished_run(tmp_path):
    """A redo of the same job, nothing changed, keeps its unit and gathers again; of another job, masks it again."""
    example_folder(tmp_path, particles=20)
    run_job(write_job(tmp_path, job_with()))
    summary = run_job(write_job(tmp_path, job_with(output={"overwrite": True})))
    assert summary.units_run == 0 and summary.units_skipped == 1 and summary.gathered
    summary = run_job(write_job(tmp_path, job_with(output={"overwrite": True}, fill={"with": "value", "value": 1})))
    assert summary.units_run == 1 and summary.units_skipped == 0


def test_job_means_the_same_from_any_working_directory(tmp_path, monkeypatch):
    example_folder(tmp_path / "project", particles=10)
    job = write_job(tmp_path / "project", job_with())
    monkeypatch.chdir(tmp_path)
    assert run_job(os.path.relpath(job)).output_dir == tmp_path / "project" / "results" / "t"
    shutil.rmtree(tmp_path / "project" / "results")
    monkeypatch.chdir(tmp_path / "project")
    assert run_job("job.yaml").output_dir == tmp_path / "project" / "results" / "t"


def test_a_listings_other_files_resolve_from_a_listing_written_outside_its_folder(tmp_path):
    """A listing's other paths (a half-map, a mask) stayed relative to its folder in the output's, pointing nowhere:
    written outside the folder its paths start from, the listing names every file there by its absolute path."""
    project = example_folder(tmp_path / "project")
    (project / "maps.star").write_text(
        "data_model_classes\nloop_\n_rlnReferenceImage\n_rlnMaskName\n_rlnClassDistribution\n"
        "maps/class_1.mrc maps/class_2.mrc 0.6\nmaps/class_2.mrc missing.mrc 0.4\n"
    )
    mask = {"shape": "sphere", "radius": 20}
    job = job_with(inputs__particles=None, inputs__volumes="maps.star", mask__geometry=mask, output__dir="../out")
    run_job(write_job(project, job))
    table = starfile.read(tmp_path / "out" / "volumes.star")
    assert table["rlnReferenceImage"].tolist() == [str(tmp_path / "out" / "volumes" / f"class_{i}.mrc") for i in (1, 2)]
    assert table["rlnMaskName"].tolist() == [str(project / "maps" / "class_2.mrc"), "missing.mrc"]  # no file: kept
    assert table["rlnClassDistribution"].tolist() == [0.6, 0.4]


def test_a_listings_other_files_stay_relative_to_the_project_in_a_listing_written_inside_it(tmp_path):
    """The listing written inside the folder its paths start from (the default results/t/) names the masked maps
    from there, as its input did, and leaves every other path (a mask, a missing file) as it was."""
    project = example_folder(tmp_path / "project")
    (project / "maps.star").write_text(
        "data_model_classes\nloop_\n_rlnReferenceImage\n_rlnMaskName\n_rlnClassDistribution\n"
        "maps/class_1.mrc maps/class_2.mrc 0.6\nmaps/class_2.mrc missing.mrc 0.4\n"
    )
    job = job_with(
        inputs__particles=None, inputs__volumes="maps.star", mask__geometry={"shape": "sphere", "radius": 20}
    )
    out = run_job(write_job(project, job)).output_dir
    table = starfile.read(out / "volumes.star")
    assert table["rlnReferenceImage"].tolist() == [f"results/t/volumes/class_{i}.mrc" for i in (1, 2)]
    assert table["rlnMaskName"].tolist() == ["maps/class_2.mrc", "missing.mrc"]
    assert all((project / name).is_file() for name in [*table["rlnReferenceImage"], table["rlnMaskName"][0]])
    assert table["rlnClassDistribution"].tolist() == [0.6, 0.4]
