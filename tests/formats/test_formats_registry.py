"""The format registry: every particle format is one module, found by suffix, and a new one plugs in alone."""

from __future__ import annotations

import shutil
import types
from pathlib import Path

import numpy as np
import pytest

import maskrun.formats.registry as registry
from maskrun.errors import MaskrunWarning, UserError
from maskrun.formats.particle_set import Masked, ParticleSet, ReadOptions, checked_stacks, resolve_references
from maskrun.formats.registry import MAP_LISTINGS, PARTICLE_FORMATS, load_particle_set, load_volume_set
from maskrun.io.star import Loop, read_metadata, write_metadata
from maskrun.jobs.plan import describe_plan, plan_job
from maskrun.jobs.runner import run_job

from job_files import example_folder, job_with, write_job


def test_names_and_suffixes_are_unique_and_every_format_writes_something():
    names = [f.NAME for f in PARTICLE_FORMATS]
    suffixes = [s for f in PARTICLE_FORMATS for s in f.SUFFIXES]
    assert len(set(names)) == len(names) and len(set(suffixes)) == len(suffixes)
    assert all(f.OUTPUTS and f.LABEL for f in PARTICLE_FORMATS)
    assert all(f.MAP_OUTPUT.startswith("volumes.") for f in MAP_LISTINGS)


def test_an_unknown_suffix_names_every_format_read(tmp_path):
    with pytest.raises(UserError, match=r"must be a \.star, \.xmd, \.cs, \.sqlite, \.mrcs or \.stk file, not '\.txt'"):
        load_particle_set(tmp_path / "particles.TXT")


def test_a_listing_is_written_in_its_format_whatever_the_case_of_its_suffix(tmp_path):
    example_folder(tmp_path, particles=10, maps=2)
    listing = Loop.from_columns({"image": ["maps/class_1.mrc", "maps/class_2.mrc"]})
    write_metadata({"noname": listing}, tmp_path / "maps.XMD", ["# XMIPP_STAR_1 *"])
    volumes = load_volume_set("maps.XMD", tmp_path)
    assert registry.map_set_output(volumes) == "volumes.xmd"


# A format that is not maskrun's: one "N@stack" reference a line. All it takes is this module.
def _read_lst(path: Path, options: ReadOptions) -> ParticleSet:
    texts = path.read_bytes().split()
    references = np.array(texts, dtype=bytes)
    stack_paths, stack_of_row, image_index, _ = resolve_references(references, path, "line", [path.parent])
    stacks, box = checked_stacks(stack_paths, stack_of_row, image_index, references, path, "line")
    rows = Loop.from_columns({"image": [t.decode() for t in texts]})
    pixel = stacks[stack_paths[0]].voxel_size_xyz[0]
    return ParticleSet(
        path, "lst", {}, [], "", "image", rows, stack_paths, stack_of_row, image_index, stacks, box, pixel
    )


def _write_lst(particles: ParticleSet, masked: Masked, output_dir: Path, project_dir: Path | None) -> list[Path]:
    target = output_dir / "particles.lst"
    target.write_text("".join(f"{name}\n" for name in masked.image_names))
    return [target]


LST = types.SimpleNamespace(
    NAME="lst",
    LABEL="plain list",
    SUFFIXES=(".lst",),
    OUTPUTS=("particles.lst",),
    read_particles=_read_lst,
    write_particles=_write_lst,
)


def test_a_new_format_is_one_module_added_to_the_registry(tmp_path, monkeypatch):
    monkeypatch.setattr(registry, "PARTICLE_FORMATS", (*PARTICLE_FORMATS, LST))
    example_folder(tmp_path, particles=30, maps=0)
    names = read_metadata(tmp_path / "particles.star")[0]["particles"]
    assert isinstance(names, Loop)
    (tmp_path / "particles.lst").write_text("\n".join(names.column("rlnImageName")) + "\n")
    job = write_job(tmp_path, job_with(inputs__particles="particles.lst", batch_size=12))
    assert "30 particles (plain list, 3 stacks)" in describe_plan(plan_job(job))[1]
    summary = run_job(job)
    written = (summary.output_dir / "particles.lst").read_text().split()
    assert written[:2] == ["000001@stacks/batch_00001.mrcs", "000002@stacks/batch_00001.mrcs"]
    assert len(written) == 30 and written[-1] == "000006@stacks/batch_00003.mrcs"
    shutil.rmtree(summary.output_dir)


def test_a_new_format_that_does_not_take_a_pixel_size_refuses_one_rather_than_ignore_it(tmp_path, monkeypatch):
    monkeypatch.setattr(registry, "PARTICLE_FORMATS", (*PARTICLE_FORMATS, LST))
    example_folder(tmp_path, particles=3, maps=0)
    names = read_metadata(tmp_path / "particles.star")[0]["particles"]
    assert isinstance(names, Loop)
    (tmp_path / "particles.lst").write_text("\n".join(names.column("rlnImageName")) + "\n")
    with pytest.raises(UserError) as caught:
        registry.load_particle_set(tmp_path / "particles.lst", tmp_path, pixel_size_angstrom=2.0)
    assert str(caught.value).endswith("a plain list set does not take a pixel size: remove it")


def test_stacks_found_in_two_folders_are_used_with_a_warning_naming_both(tmp_path):
    project = example_folder(tmp_path / "copy", particles=30, maps=0)
    (tmp_path / "Extract").mkdir()
    shutil.move(project / "Extract" / "mic_002.mrcs", tmp_path / "Extract" / "mic_002.mrcs")  # only a parent has it
    with pytest.warns(MaskrunWarning, match=r"the stacks were found in 2 folders \(2 in .*copy, 1 in ") as caught:
        particles = load_particle_set(project / "particles.star", project)
    assert len(caught) == 1 and "fix the paths or run from the project folder" in str(caught[0].message)
    assert particles.stack_paths[1] == tmp_path / "Extract" / "mic_002.mrcs"
