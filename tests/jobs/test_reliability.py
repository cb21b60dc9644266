"""Nothing lost, ever: inputs never overwritten, bad input refused before any work, NaN contained.

The matrix below runs each case through the real command in a child process and checks
what a user sees: the exit status, one stderr line naming the file and the cause, no
traceback, no file left behind, and every input byte for byte as it was.
"""

from __future__ import annotations

import io
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import mrcfile
import numpy as np
import pytest
import yaml

from maskrun.cli.main import main
from maskrun.jobs.examples import write_example_maps
from maskrun.jobs.runner import run_job

from commands import digest, maskrun
from conftest import write_mrc
from job_files import example_folder, job_with, write_job

# Each case makes its files in a folder and returns the command's arguments.
Case = Callable[[Path], list]


def _particles(folder: Path, **changes) -> list:
    example_folder(folder, particles=12, maps=0)
    return ["run", write_job(folder, job_with(**changes))]


def _maps_in_place(folder: Path) -> list:
    write_example_maps(folder, n_maps=2)
    (folder / "maps").rename(folder / "volumes")
    job = job_with(
        inputs__particles=None, inputs__volumes="volumes/*.mrc", mask__geometry={"shape": "sphere"}, output__dir="."
    )
    return ["run", write_job(folder, job)]


def _job_bytes(raw: bytes) -> Case:
    def make(folder: Path) -> list:
        example_folder(folder, particles=12, maps=0)
        path = folder / "job.yaml"
        path.write_bytes(raw)
        return ["validate", path]

    return make


VALID_JOB = yaml.safe_dump(job_with(), sort_keys=False)


def _output_dir_is_a_file(folder: Path) -> list:
    args = _particles(folder, output__dir="out")
    (folder / "out").write_text("not a folder\n")
    return args


def _output_parent_is_a_file(folder: Path) -> list:
    args = _particles(folder, output__dir="taken/out")
    (folder / "taken").write_text("not a folder\n")
    return args


def _short_star_row(folder: Path) -> list:
    args = _particles(folder)
    star = folder / "particles.star"
    lines = star.read_text().splitlines()
    last = max(i for i, line in enumerate(lines) if "@Extract/" in line)
    lines[last] = " ".join(lines[last].split()[:-3])
    star.write_text("\n".join(lines) + "\n")
    return args


def _created_mask(values: np.ndarray) -> Case:
    def make(folder: Path) -> list:
        stack = write_mrc(folder / "in.mrcs", np.random.default_rng(0).normal(size=(3, 16, 16)))
        mask = write_mrc(folder / "mask.mrc", values.reshape(1, 16, 16))
        return ["mask", stack, folder / "out.mrcs", "--mask-file", mask]

    return make


def _mask_option(*options: str) -> Case:
    def make(folder: Path) -> list:
        stack = write_mrc(folder / "in.mrcs", np.random.default_rng(0).normal(size=(3, 16, 16)))
        return ["mask", stack, folder / "out.mrcs", *options]

    return make


def _other_job_in_finished_folder(folder: Path) -> list:
    args = _particles(folder, output__dir="shared-out")
    assert main(["run", str(args[1]), "--cores", "1"]) == 0
    other = write_job(folder, job_with(output__dir="shared-out", fill={"with": "avg"}), "other.yaml")
    return ["run", other]


def _changed_input_after_finish(folder: Path) -> list:
    args = _particles(folder)
    assert main(["run", str(args[1]), "--cores", "1"]) == 0
    stack = folder / "Extract" / "mic_001.mrcs"
    with mrcfile.open(stack, "r+") as mrc:
        mrc.data[0, 0, 0] += 1
    return args


NAN_IN_MASK = np.full(256, 0.5, np.float32)
NAN_IN_MASK[7] = np.nan

MATRIX: list[tuple[str, Case, int, str]] = [
    # (id, case, exit status, words on stderr)
    (
        "particles-output-over-input-star",
        lambda f: _particles(f, output__dir="."),
        2,
        "would write {f}/particles.star over its input",
    ),
    ("maps-output-over-input-maps", _maps_in_place, 2, "would write {f}/volumes/class_1.mrc over its input"),
    ("job-binary-garbage", _job_bytes(bytes(range(200, 256)) * 4), 2, "job.yaml: is not UTF-8 text (byte 0"),
    ("job-utf16-bom", _job_bytes(VALID_JOB.encode("utf-16")), 2, "job.yaml: is UTF-16 text (byte 0"),
    ("job-latin1-comment", _job_bytes(b"# caf\xe9\n" + VALID_JOB.encode()), 2, "job.yaml: is not UTF-8 text (byte 5"),
    (
        "radius-inf",
        lambda f: _particles(f, mask__geometry={"shape": "circular", "radius": float("inf")}),
        2,
        "mask.geometry.radius: input should be a finite number",
    ),
    (
        "fill-value-nan",
        lambda f: _particles(f, fill={"with": "value", "value": float("nan")}),
        2,
        "fill.value: input should be a finite number",
    ),
    ("output-dir-is-a-file", _output_dir_is_a_file, 2, "{f}/out is a file"),
    ("output-parent-is-a-file", _output_parent_is_a_file, 2, "{f}/taken is a file"),
    (
        "star-row-too-short",
        _short_star_row,
        2,
        "particles.star: line 45 has 10 values but data_particles has 13 columns",
    ),
    ("created-mask-nan", _created_mask(NAN_IN_MASK), 2, "mask.mrc: --mask-file: mask holds 1 NaN or inf values"),
    (
        "created-mask-above-one",
        _created_mask(np.full(256, 1.5, np.float32)),
        2,
        "mask values span [1.5, 1.5], outside [0, 1]",
    ),
    (
        "mask-radius-inf",
        _mask_option("--shape", "circular", "--radius", "inf"),
        2,
        "--radius: input should be a finite number",
    ),
    (
        "mask-output-parent-is-a-file",
        lambda f: (
            _mask_option("--shape", "circular")(f)[:2] + [Path(f / "in.mrcs") / "out.mrcs", "--shape", "circular"]
        ),
        2,
        "{f}/in.mrcs is a file",
    ),
    (
        "other-job-in-finished-folder",
        _other_job_in_finished_folder,
        2,
        "holds a finished run of {f}/job.yaml, not of this job as written (fill.with differs)",
    ),
    (
        "input-changed-after-finish",
        _changed_input_after_finish,
        2,
        "input {f}/Extract/mic_001.mrcs changed since this job finished",
    ),
]


@pytest.mark.parametrize("name,case,status,words", MATRIX, ids=[row[0] for row in MATRIX])
def test_bad_input_is_refused_cleanly(tmp_path, name, case, status, words):
    args = case(tmp_path)
    before = digest(tmp_path)
    proc = maskrun(*args, "--cores", "1") if args[0] == "run" else maskrun(*args)
    assert proc.returncode == status, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert words.format(f=tmp_path) in lines[0]
    assert digest(tmp_path) == before  # inputs untouched, nothing written or left behind


def test_a_finished_job_run_again_has_nothing_to_do(tmp_path):
    args = _particles(tmp_path)
    first = maskrun(*args, "--cores", "1")
    assert first.returncode == 0, first.stderr
    before = digest(tmp_path)
    again = maskrun(*args, "--cores", "1")
    assert again.returncode == 0 and "nothing to do" in again.stdout and "finished at 20" in again.stdout
    assert digest(tmp_path) == before
    validated = maskrun("validate", args[1])
    assert validated.returncode == 0 and "maskrun run has nothing to do" in validated.stdout


def test_overwrite_starts_over_and_retires_the_old_record_first(tmp_path, monkeypatch):
    from maskrun.jobs import runner

    args = _particles(tmp_path, output__overwrite=True)
    assert main(["run", str(args[1]), "--cores", "1"]) == 0
    out = tmp_path / "results" / "t"
    write_job(tmp_path, job_with(output__overwrite=True, mask__geometry__outer_radius=27))  # another job: all redone
    seen = []

    def first_unit_sees_no_record(plan, unit_id):
        seen.append((plan.run_record_path.exists(), plan.metadata_output.exists()))
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "run_unit", first_unit_sees_no_record)
    with pytest.raises(KeyboardInterrupt):
        runner.run_job(args[1])
    assert seen == [(False, False)] and not (out / "provenance").exists()  # nothing looks finished
    monkeypatch.undo()
    assert main(["run", str(args[1]), "--cores", "1"]) == 0 and (out / "provenance" / "run.json").exists()


def test_read_only_output_folder_is_refused_before_work(tmp_path, monkeypatch, capsys):
    args = _particles(tmp_path, output__dir="ro/out")
    (tmp_path / "ro").mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == tmp_path / "ro" else real_access(p, mode))
    assert main([str(a) for a in args]) == 2  # root may write anywhere: the check is what is tested here
    assert f"{tmp_path}/ro is not writable" in capsys.readouterr().err
    assert not (tmp_path / "ro" / "out").exists()


def test_a_full_disk_is_refused_before_work(tmp_path, monkeypatch, capsys):
    args = _particles(tmp_path)
    monkeypatch.setattr(shutil, "disk_usage", lambda p: shutil._ntuple_diskusage(10**12, 10**12 - 10**6, 10**6))
    assert main([str(a) for a in args]) == 2
    # the output (12 particles of 64²: 0.2 MB) and the run's margin, apart (the look: "needs about 17 MB")
    assert "the output needs about 0.2 MB, and a margin of 17 MB is kept free, but" in capsys.readouterr().err
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize("free_mb, written", [(5, True), (1.5, False)])
def test_one_file_needs_its_size_and_a_small_margin_free(tmp_path, monkeypatch, capsys, free_mb, written):
    """The trust look: with 5 MB free, make-mask refused a 1 MB mask, saying "the output needs about 18 MB": a run's
    16 MB margin (its logs and records), taken for the mask's size. One file keeps 1 MB spare (and 2 %)."""
    like = write_example_maps(tmp_path, n_maps=1)[0]  # 64³: a 1.0 MB mask
    free = int(free_mb * 1e6)
    monkeypatch.setattr(shutil, "disk_usage", lambda p: shutil._ntuple_diskusage(10**12, 10**12 - free, free))
    out = tmp_path / "m.mrc"
    status = main(["make-mask", str(out), "--shape", "sphere", "--radius", "20", "--like", str(like)])
    assert (status, out.exists()) == ((0, True) if written else (2, False))
    if not written:
        assert capsys.readouterr().err == (
            f"maskrun make-mask: error: the output needs about 1.0 MB, and a margin of 1.1 MB is kept free, but "
            f"{tmp_path} has 1.5 MB free; free some space or choose another output folder\n"
        )


def test_enospc_while_writing_is_exit_1_with_nothing_left(tmp_path, monkeypatch, capsys):
    from maskrun.io import mrc_writer

    stack = write_mrc(tmp_path / "in.mrcs", np.random.default_rng(0).normal(size=(6, 16, 16)))

    def full(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(mrc_writer.os, "pwrite", full)
    assert main(["mask", str(stack), str(tmp_path / "out.mrcs"), "--shape", "circular"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and re.fullmatch(  # the file, not the bare errno; a failure, not a mistake: exit 1
        rf"maskrun mask: failed: {tmp_path}/out\.mrcs: no space left on its device \(\d+(\.\d)? MB free\); free some "
        "and run it again",
        err[0],
    ), err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mrcs"]


# --- non-finite values -------------------------------------------------------------------------


def _stack_with_nan(tmp_path: Path) -> tuple[Path, np.ndarray]:
    data = np.random.default_rng(3).normal(2.0, 1.0, (4, 16, 16)).astype(np.float32)
    data[1, 8, 8] = np.nan  # kept by a centred disc
    data[1, 0, 0] = np.inf  # outside it
    data[2, 0, 1] = np.nan  # outside it
    return write_mrc(tmp_path / "in.mrcs", data), data


@pytest.mark.parametrize("fill", ["avg", "min", "max"])
def test_one_nan_does_not_poison_an_image(tmp_path, capsys, fill):
    path, data = _stack_with_nan(tmp_path)
    assert (
        main(["mask", str(path), str(tmp_path / "o.mrcs"), "--shape", "circular", "--radius", "5", "--fill", fill]) == 0
    )
    err = capsys.readouterr().err
    assert "maskrun: note: " in err  # the inf and NaN outside the mask are counted too (issue 22)
    assert "3 NaN or inf pixels in the input (in images 2, 3): 1 kept where the mask keeps the input, 2 given" in err
    with mrcfile.open(tmp_path / "o.mrcs") as mrc:
        out = mrc.data.copy()
        header = (float(mrc.header.dmin), float(mrc.header.dmax), float(mrc.header.dmean), float(mrc.header.rms))
    assert np.isnan(out[1, 8, 8]) and np.count_nonzero(~np.isfinite(out)) == 1
    for i in (1, 2):
        finite = data[i][np.isfinite(data[i])].astype(np.float64)
        expected = {"avg": finite.mean(), "min": finite.min(), "max": finite.max()}[fill]
        assert out[i, 0, 0] == pytest.approx(expected, rel=1e-6) and out[i, 0, 1] == out[i, 0, 0]
    values = out[np.isfinite(out)].astype(np.float64)
    assert header[:2] == (values.min(), values.max())
    assert header[2] == pytest.approx(values.mean(), rel=1e-6) and header[3] == pytest.approx(values.std(), rel=1e-6)


def test_soft_mask_gives_the_fill_where_it_drops_a_nan(tmp_path):
    path, _ = _stack_with_nan(tmp_path)
    assert (
        main(
            [
                "mask",
                str(path),
                str(tmp_path / "o.mrcs"),
                "--shape",
                "raised_cosine",
                "--inner-radius",
                "3",
                "--outer-radius",
                "6",
                "--fill",
                "value",
                "--fill-value",
                "7",
            ]
        )
        == 0
    )
    out = mrcfile.read(tmp_path / "o.mrcs")
    assert out[1, 0, 0] == 7 and out[2, 0, 1] == 7  # m = 0 there: the fill, not 0 · NaN
    assert np.isnan(out[1, 8, 8])  # m = 1: the input as it is
    assert np.count_nonzero(~np.isfinite(out)) == 1


def test_a_nan_in_a_volume_keeps_the_header_finite(tmp_path):
    volume = np.random.default_rng(4).normal(size=(12, 12, 12)).astype(np.float32)
    volume[6, 6, 6] = np.nan
    path = write_mrc(tmp_path / "v.mrc", volume)
    assert (
        main(["mask", str(path), str(tmp_path / "o.mrc"), "--shape", "sphere", "--radius", "4", "--fill", "avg"]) == 0
    )
    with mrcfile.open(tmp_path / "o.mrc") as mrc:
        assert np.isfinite([mrc.header.dmin, mrc.header.dmax, mrc.header.dmean, mrc.header.rms]).all()
        assert mrc.data[0, 0, 0] == pytest.approx(np.nanmean(volume.astype(np.float64)), rel=1e-6)


# --- axis order ---------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", [False, True], ids=["volume", "stack"])
def test_permuted_axes_keep_their_voxel_size_order_and_origin(tmp_path, stack):
    data = np.random.default_rng(5).normal(size=(6, 10, 14)).astype(np.float32)
    path = tmp_path / ("in.mrcs" if stack else "in.mrc")
    with mrcfile.new(path) as mrc:
        mrc.set_data(data)
        if stack:
            mrc.set_image_stack()
        mrc.header.mapc, mrc.header.mapr, mrc.header.maps = 3, 1, 2
        mrc.header.mx, mrc.header.my, mrc.header.mz = 10, 6, 14
        mrc.header.cella = (12.0, 9.0, 35.0)  # x 1.2, y 1.5, z 2.5 Å/voxel
        mrc.header.origin = (1.0, 2.0, 3.0)
        mrc.nstart = (4, 5, 6)
    shape = ["--shape", "box", "--box-size", "4"]
    assert (
        main(["mask", str(path), str(tmp_path / "o.mrc"), *shape] + (["--input-kind", "stack"] if stack else [])) == 0
    )
    with mrcfile.open(path) as src, mrcfile.open(tmp_path / "o.mrc") as out:
        assert (int(out.header.mapc), int(out.header.mapr), int(out.header.maps)) == (3, 1, 2)
        assert tuple(out.voxel_size.tolist()) == pytest.approx(tuple(src.voxel_size.tolist()))
        assert tuple(out.voxel_size.tolist()) == pytest.approx((1.2, 1.5, 2.5))
        assert tuple(out.header.origin.tolist()) == (1.0, 2.0, 3.0) and tuple(out.nstart.tolist()) == (4, 5, 6)
        assert out.data.shape == data.shape  # masked as stored
        assert mrcfile.validate(str(tmp_path / "o.mrc"), print_file=io.StringIO())


def test_an_input_touched_or_copied_without_its_times_is_not_a_change(tmp_path):
    """Same bytes, new modification time (touch, cp without -p): the finished run has nothing to do."""
    args = _particles(tmp_path)
    assert main([*map(str, args), "--cores", "1"]) == 0
    stack = tmp_path / "Extract" / "mic_001.mrcs"
    os.utime(stack, ns=(stack.stat().st_atime_ns, stack.stat().st_mtime_ns + 10**9))
    proc = maskrun(*args, "--cores", "1")
    assert proc.returncode == 0, proc.stderr
    assert "nothing to do" in proc.stdout


def test_an_edited_job_file_says_it_is_this_job_before_its_edit(tmp_path):
    args = _particles(tmp_path)
    assert main([*map(str, args), "--cores", "1"]) == 0
    job = Path(args[1])
    job.write_text(job.read_text().replace("outer_radius: 28", "outer_radius: 26"))  # a comment would not count
    proc = maskrun(*args, "--cores", "1")
    assert proc.returncode == 2
    edited = "holds a finished run of this job file before it was edited (mask.geometry.outer_radius changed); "
    assert edited + "choose another output.dir" in proc.stderr


def test_masks_of_a_placed_map_sit_where_the_map_does(tmp_path):
    """nxstart… and the axis order of a map are kept in every mask made for it, as in its masked copy (ChimeraX
    places a map by them: a mask without them is drawn voxels away)."""
    data = np.random.default_rng(6).normal(size=(8, 10, 12)).astype(np.float32)
    path = tmp_path / "map.mrc"
    with mrcfile.new(path) as mrc:
        mrc.set_data(data)
        mrc.header.mapc, mrc.header.mapr, mrc.header.maps = 3, 1, 2
        mrc.header.mx, mrc.header.my, mrc.header.mz = 10, 8, 12
        mrc.header.cella = (12.0, 12.0, 30.0)
        mrc.nstart = (-2, 5, 7)
    made = {
        "like.mrc": ["--shape", "sphere", "--radius", "3", "--like", str(path)],
        "from_map.mrc": ["--from-map", str(path), "--threshold", "0.5"],
    }
    for name, options in made.items():
        assert main(["make-mask", str(tmp_path / name), *options]) == 0
    job = {
        "version": 1,
        "name": "placed",
        "inputs": {"volumes": "map.mrc"},
        "mask": {"source": "geometry", "geometry": {"shape": "sphere", "radius": 2}},
        "report": False,
    }
    out = run_job(write_job(tmp_path, job)).output_dir
    with mrcfile.open(path) as src:
        for mask in [tmp_path / "like.mrc", tmp_path / "from_map.mrc", out / "mask.mrc", out / "volumes" / "map.mrc"]:
            with mrcfile.open(mask) as m:
                assert tuple(m.nstart.tolist()) == (-2, 5, 7), mask
                assert (int(m.header.mapc), int(m.header.mapr), int(m.header.maps)) == (3, 1, 2), mask
                assert m.voxel_size.tolist() == src.voxel_size.tolist() and m.data.shape == data.shape, mask
