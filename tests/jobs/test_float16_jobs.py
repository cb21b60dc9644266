"""A particle job over float16 stacks (RELION 4/5's Extract ``--float16``) writes its stacks as float16.

Every stack of the set float16: the batches are float16 (mode 12), masked in float32 and
rounded once, with the header statistics of the values stored; a set mixing modes, and
``output.dtype: float32``, write float32 as before. Masks saved stay float32. (The data are
small: mrcfile's ``validate`` sums a float16 file's squares in float16.)
"""

from __future__ import annotations

import json

import mrcfile
import numpy as np
import pytest

from maskrun.api import run_job
from maskrun.cli.main import main
from maskrun.jobs.examples import write_example_maps
from maskrun.jobs.output_state import planned_bytes
from maskrun.jobs.plan import plan_job

from commands import maskrun
from conftest import assert_header_describes, write_mrc
from job_files import example_folder, job_with, validate_refuses, write_job
from pose_sets import PIXEL, random_poses, write_star31


def as_float16(folder, stacks=None):
    """Rewrite the example's stacks (or ``stacks`` of them) as float16 of small values, as RELION's are."""
    for path in sorted((folder / "Extract").glob("*.mrcs")):
        if stacks is not None and path.name not in stacks:
            continue
        with mrcfile.open(path) as mrc:
            data, voxel = mrc.data.astype(np.float64), mrc.voxel_size.x
        write_mrc(path, (data - data.mean()) / (2 * data.std()), voxel_size=float(voxel), mode_dtype=np.float16)


@pytest.fixture
def folder(tmp_path):
    folder = example_folder(tmp_path, particles=18, maps=0)
    as_float16(folder)
    return folder


def inputs_in_order(job_path) -> np.ndarray:
    """The job's particle images in row order, as stored."""
    particles = plan_job(job_path).particle_set
    stacks = {path: mrcfile.read(path) for path in particles.stack_paths}
    return np.array(
        [stacks[particles.stack_paths[s]][i] for s, i in zip(particles.stack_of_row, particles.image_index)]
    )


def batches(out):
    return sorted((out / "stacks").glob("*.mrcs"))


def test_float16_stacks_are_masked_into_float16_stacks(folder, capsys):
    job = write_job(folder, job_with(batch_size=6, report=False))
    assert main(["validate", str(job)]) == 0
    said = capsys.readouterr().out
    assert "3 batches of up to 6 particles (49.2 kB each, float16 as the input)" in said and "note:" not in said
    out = run_job(job).output_dir
    mask = mrcfile.read(out / "mask.mrc")
    assert mask.dtype == np.float32  # the mask applied stays float32
    expected = (inputs_in_order(job).astype(np.float32) * mask).astype(np.float16)
    written = []
    for path in batches(out):
        assert mrcfile.validate(path) is True
        with mrcfile.open(path) as mrc:
            assert int(mrc.header.mode) == 12 and mrc.data.dtype == np.float16
            written.append(mrc.data.copy())
        assert_header_describes(path, written[-1])
        assert path.stat().st_size == 1024 + 6 * 64 * 64 * 2
    assert np.array_equal(np.concatenate(written), expected)


MIXED = (
    "1 of 3 stacks is float16, the others float32: the masked stacks are all float32 (a set is written as float16 "
    "only when every stack is)"
)


def test_a_set_mixing_float16_with_float32_stacks_is_written_as_float32_and_a_note_says_so(tmp_path, capsys):
    """The cluster look: a set of some float16 stacks was written all float32, the rule told in the spec alone."""
    folder = example_folder(tmp_path, particles=18, maps=0)
    as_float16(folder, stacks={"mic_001.mrcs"})
    job = write_job(folder, job_with(batch_size=6, report=False))
    assert main(["validate", str(job)]) == 0
    assert f"  note: {MIXED}\n" in capsys.readouterr().out
    out = run_job(job).output_dir
    assert {int(mrcfile.open(p, header_only=True).header.mode) for p in batches(out)} == {2}
    assert json.loads((out / "provenance" / "run.json").read_text())["notes"] == [MIXED]
    assert plan_job(write_job(folder, job_with(output__dtype="float32"), "f32.yaml")).notes == []  # asked for


def test_a_map_set_mixing_float16_with_float32_maps_is_noted(tmp_path):
    maps = write_example_maps(tmp_path, n_maps=3, box=32)
    with mrcfile.open(maps[0]) as mrc:
        data, voxel = mrc.data.astype(np.float64), float(mrc.voxel_size.x)
    write_mrc(maps[0], (data - data.mean()) / data.std(), voxel_size=voxel, mode_dtype=np.float16)
    job = {"version": 1, "name": "m", "inputs": {"volumes": "maps/*.mrc"}, "report": False}
    job |= {"mask": {"geometry": {"shape": "sphere", "radius": 10}}}
    notes = plan_job(write_job(tmp_path, job)).notes
    assert (
        "1 of 3 maps is float16, the others float32: the masked maps are all float32 (a set is written as float16 "
        "only when every map is)"
    ) in notes


def test_output_dtype_float32_keeps_float16_stacks_float32(folder):
    job = write_job(folder, job_with(batch_size=6, report=False, output__dtype="float32"))
    out = run_job(job).output_dir
    written = np.concatenate([mrcfile.read(p) for p in batches(out)])
    assert written.dtype == np.float32
    assert np.array_equal(written, inputs_in_order(job).astype(np.float32) * mrcfile.read(out / "mask.mrc"))


def test_a_batch_size_in_bytes_counts_float16_output_bytes(folder):
    plan = plan_job(write_job(folder, job_with(batch_size="49152 B")))  # six float16 64² images, three float32
    assert [u.stop_row - u.first_row for u in plan.units] == [6, 6, 6]
    assert planned_bytes(plan) == 3 * (1024 + 6 * 64 * 64 * 2)
    plan = plan_job(write_job(folder, job_with(batch_size="49152 B", output__dtype="float32")))
    assert [u.stop_row - u.first_row for u in plan.units] == [3] * 6


@pytest.mark.parametrize(
    "value, words",
    [("float64", "'float64' is not one of same, float32"), ("float16", "written as float16 by default (same)")],
)
def test_an_unknown_output_dtype_is_refused(folder, capsys, value, words):
    line = validate_refuses(write_job(folder, job_with(output__dtype=value)), capsys)
    assert "job.yaml: output.dtype: " in line and words in line


def test_a_fill_value_float16_cannot_hold_is_refused_naming_the_way_out(folder, capsys):
    line = validate_refuses(write_job(folder, job_with(fill__value=-1e5)), capsys)
    assert line.startswith(f"maskrun validate: error: {folder / 'job.yaml'}: fill.value: the fill value -100000 is")
    assert line.endswith("(output.dtype: float32)")
    assert main(["validate", str(write_job(folder, job_with(fill__value=-1e5, output__dtype="float32")))]) == 0


def test_a_map_job_over_float16_maps_writes_float16_maps(tmp_path):
    maps = write_example_maps(tmp_path, box=32)
    for path in maps:
        with mrcfile.open(path) as mrc:
            data, voxel = mrc.data.astype(np.float64), float(mrc.voxel_size.x)
        write_mrc(path, (data - data.mean()) / data.std(), voxel_size=voxel, mode_dtype=np.float16)
    job = {"version": 1, "name": "m", "inputs": {"volumes": "maps/*.mrc"}, "report": False}
    job |= {"mask": {"geometry": {"shape": "sphere", "radius": 10}}}
    out = run_job(write_job(tmp_path, job)).output_dir
    mask = mrcfile.read(out / "mask.mrc")
    assert mask.dtype == np.float32
    for path in maps:
        written = mrcfile.read(out / "volumes" / path.name)
        assert written.dtype == np.float16
        assert np.array_equal(written, (mrcfile.read(path).astype(np.float32) * mask).astype(np.float16))


def test_masks_that_follow_write_float16_stacks_and_save_float32_masks(tmp_path):
    box, count = 32, 6
    write_star31(tmp_path, random_poses(count, seed=3, max_origin_px=4), box, name="particles.star")
    images = np.random.default_rng(5).normal(0.0, 0.5, (count, box, box))
    write_mrc(tmp_path / "particles.mrcs", images, voxel_size=PIXEL, mode_dtype=np.float16)
    job = {
        "version": 1,
        "name": "f",
        "inputs": {"particles": "particles.star"},
        "mask": {"geometry": {"shape": "raised_cosine", "inner_radius": 6, "outer_radius": 10}, "follow": "offsets"},
        "output": {"save_masks": True},
        "batch_size": 3,
        "report": False,
    }
    out = run_job(write_job(tmp_path, job)).output_dir
    written = np.concatenate([mrcfile.read(p) for p in batches(out)])
    masks = np.concatenate([mrcfile.read(p) for p in sorted((out / "masks").glob("batch_*.mrcs"))])
    assert written.dtype == np.float16 and masks.dtype == np.float32
    source = mrcfile.read(tmp_path / "particles.mrcs").astype(np.float32)
    assert np.array_equal(written, (source * masks).astype(np.float16))
    for path in batches(out):
        assert_header_describes(path, mrcfile.read(path))


def test_a_run_resumed_from_a_plan_saved_before_float16_output_writes_float32_alike(folder):
    """The review: units done by a maskrun that wrote float32 only, the rest done by this one, made one set of
    float32 and float16 batches. A saved plan without an output type is such a run's: its units stay float32."""
    import json

    from maskrun.jobs.plan_file import load_saved_plan, plan_paths, save_plan

    job = write_job(folder, job_with(batch_size=6, report=False))
    plan_json = save_plan(plan_job(job))
    assert load_saved_plan(plan_job(job).job) is not None
    data = json.loads(plan_json.read_text())
    data.pop("output_dtype", None)  # as a maskrun before float16 output saved it
    plan_json.write_text(json.dumps(data))
    assert plan_json == plan_paths(plan_job(job).output_dir)[0]
    out = run_job(job).output_dir
    for path in batches(out):
        with mrcfile.open(path, header_only=True) as mrc:
            assert int(mrc.header.mode) == 2


def test_a_float16_units_runtime_estimate_counts_the_bytes_it_moves(folder):
    """SLURM's time limit is asked for by the bytes a unit reads and writes: a float16 batch moves half a float32's."""
    from maskrun.workflow.support import unit_runtime_words

    half = plan_job(write_job(folder, job_with(batch_size=6)))
    full = plan_job(write_job(folder, job_with(batch_size=6, output__dtype="float32"), "full.yaml"))
    assert "its 0.0983 MB read and written at" in unit_runtime_words(half, "batch_00001")  # 2 × 6 × 64² × 2 bytes
    assert "its 0.197 MB read and written at" in unit_runtime_words(full, "batch_00001")


def test_a_redo_after_one_stack_became_float32_writes_every_batch_float32(folder):
    """A set is float16 only when every stack is: one stack re-extracted as float32 makes every batch float32. A redo
    that masked only that stack's unit kept the others float16 (mode 12), while its note said all were float32."""
    from maskrun.jobs.output_state import units_to_redo
    from maskrun.jobs.provenance import read_record

    job = write_job(folder, job_with(batch_size=6, report=False, output__overwrite=True))
    out = run_job(job).output_dir
    stack = folder / "Extract" / "mic_001.mrcs"
    with mrcfile.open(stack) as mrc:
        data, voxel = mrc.data.astype(np.float32), float(mrc.voxel_size.x)
    write_mrc(stack, data, voxel_size=voxel, mode_dtype=np.float32)
    plan = plan_job(job)
    assert len(units_to_redo(plan, read_record(plan.run_record_path))) == len(plan.units) == 3
    said = maskrun("run", job, "--cores", "1")
    assert said.returncode == 0 and "masked by an earlier run" not in said.stdout, said.stderr
    for path in batches(out):
        with mrcfile.open(path) as mrc:
            assert int(mrc.header.mode) == 2, path
