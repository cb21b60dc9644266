"""A run stopped, its stacks changed, then resumed (`run_job`, ``maskrun run``) writes what a fresh run of them writes.

The look: the saved plan holds every stack's header and was fresh while the STAR kept its size
and time, so `run_job` resumed by the old headers: a stack re-extracted as float32 (float16
before) was read as float16 at the old offsets (values of 512 in a set of ±2), one cropped to
another box failed "run again" for ever, and one whose unit had finished failed the gather for
ever ("run the job again to redo the units that read it", which redid nothing). ``maskrun run``
planned anew but kept the finished units as float16 beside float32 ones. And a stack edited then
given back its size and time (``touch -r``) kept its unit, masked from the old content, while the
run recorded the new content's checksum.
"""

from __future__ import annotations

import json
import os
from contextlib import nullcontext
from pathlib import Path

import blake3
import mrcfile
import numpy as np
import pytest

from maskrun.errors import MaskrunWarning, RunFailure
from maskrun.jobs import runner
from maskrun.jobs.examples import write_example_particles
from maskrun.jobs.plan import plan_job

from commands import maskrun, output_bytes
from conftest import write_mrc
from job_files import job_with, write_job

STACKS = 5
JOB = job_with(batch_size=4, report=False, mask__geometry__inner_radius=10, mask__geometry__outer_radius=16)
CROPPED = "the stacks' box is used"  # the STAR's rlnImageSize says 64 px: planning warns of 48 px stacks


def _folder(folder: Path) -> Path:
    """Five float16 stacks of 4 particles, one unit each: the job file."""
    write_example_particles(folder, n_particles=4 * STACKS, n_stacks=STACKS)
    for stack in _stacks(folder):
        _rewrite(stack, np.float16)
    return write_job(folder, JOB)


def _stacks(folder: Path) -> list[Path]:
    return sorted((folder / "Extract").glob("*.mrcs"))


def _rewrite(stack: Path, dtype, box: int | None = None) -> None:
    """The stack written again as ``dtype`` (small values, as RELION's float16 are), cropped to ``box`` if given."""
    with mrcfile.open(stack) as mrc:
        data = mrc.data.astype(np.float64)
    if box is not None:
        cut = (data.shape[-1] - box) // 2
        data = data[:, cut : cut + box, cut : cut + box]
    scaled = data if dtype == np.float32 else (data - data.mean()) / (2 * data.std())
    write_mrc(stack, scaled, voxel_size=2.0, mode_dtype=dtype)


def _change(folder: Path, how: str, stack: str) -> None:
    if how == "float32":  # re-extracted as float32, same STAR
        _rewrite(folder / "Extract" / stack, np.float32)
    elif how == "box":  # the whole set re-extracted at 48 px, same STAR
        for path in _stacks(folder):
            _rewrite(path, np.float16, box=48)
    else:  # edited in place, then given back its size and modification time (touch -r)
        path = folder / "Extract" / stack
        before = path.stat()
        with mrcfile.open(path, "r+") as mrc:
            mrc.data[0] *= -1
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
        assert path.stat().st_ctime_ns != before.st_ctime_ns


def _stopped_after_two_units(job: Path, monkeypatch) -> Path:
    """`run_job` stopped (Ctrl-C) as it starts its third unit: batches 1 and 2 done. The output folder."""
    real, done = runner.run_unit, []

    def run_unit(plan, unit_id, workers=None):
        if len(done) == 2:
            raise KeyboardInterrupt
        done.append(unit_id)
        return real(plan, unit_id, workers)

    monkeypatch.setattr(runner, "run_unit", run_unit)
    with pytest.raises(KeyboardInterrupt):
        runner.run_job(job)
    monkeypatch.undo()
    out = job.parent / "results" / "t"
    assert sorted(p.stem for p in (out / "provenance").glob("batch_*.json")) == ["batch_00001", "batch_00002"]
    return out


def _fresh(folder: Path, how: str, stack: str) -> dict[str, bytes]:
    """What a run of the changed inputs writes, in a folder of its own."""
    job = _folder(folder)
    _change(folder, how, stack)
    with pytest.warns(MaskrunWarning, match=CROPPED) if how == "box" else nullcontext():
        return output_bytes(runner.run_job(job).output_dir)


def _modes(out: Path) -> set[int]:
    modes = set()
    for path in sorted((out / "stacks").glob("*.mrcs")):
        with mrcfile.open(path, header_only=True) as mrc:
            modes.add(int(mrc.header.mode))
    return modes


@pytest.mark.parametrize(
    "how,stack",
    [("float32", "mic_003.mrcs"), ("float32", "mic_001.mrcs"), ("box", "mic_003.mrcs"), ("touch -r", "mic_001.mrcs")],
)
def test_run_job_resumed_after_a_stack_changed_writes_what_a_fresh_run_writes(tmp_path, monkeypatch, how, stack):
    """mic_003 is read by a unit still to do, mic_001 by one done before the stop."""
    job = _folder(tmp_path / "resumed")
    out = _stopped_after_two_units(job, monkeypatch)
    _change(job.parent, how, stack)
    with pytest.warns(MaskrunWarning, match=CROPPED) if how == "box" else nullcontext():
        summary = runner.run_job(job)
    assert output_bytes(out) == _fresh(tmp_path / "fresh", how, stack)
    assert _modes(out) == ({2} if how == "float32" else {12})
    if how != "box":  # (the box: every stack changed)
        assert "masks again" in " ".join(summary.notes)
    changed = job.parent / "Extract" / stack
    record = json.loads((out / "provenance" / "run.json").read_text())
    entry = next(e for e in record["inputs"] if e["path"] == str(changed))
    assert entry["blake3"] == blake3.blake3(changed.read_bytes()).hexdigest()


def test_a_stack_only_given_another_change_time_keeps_its_unit_by_its_checksum(tmp_path, monkeypatch):
    """``chmod`` (or ``rsync -a``) moves a file's change time alone: the unit's own checksum of the stack, taken as it
    read it, equals the stack's now, so the unit is kept, not masked again."""
    job = _folder(tmp_path)
    out = _stopped_after_two_units(job, monkeypatch)
    end = json.loads((out / "provenance" / "batch_00001.json").read_text())["end"]
    stack = tmp_path / "Extract" / "mic_001.mrcs"
    before = stack.stat().st_ctime_ns
    os.chmod(stack, 0o600)
    assert stack.stat().st_ctime_ns != before
    summary = runner.run_job(job)
    assert summary.units_skipped == 2 and not any("masks again" in note for note in summary.notes)
    assert json.loads((out / "provenance" / "batch_00001.json").read_text())["end"] == end


def test_maskrun_run_resuming_after_a_stack_became_float32_writes_every_batch_float32(tmp_path, monkeypatch):
    """The command planned anew, and Snakemake kept the two batches done as float16 (mode 12) beside float32 ones,
    while the note said every batch was float32."""
    job = _folder(tmp_path / "resumed")
    out = _stopped_after_two_units(job, monkeypatch)
    _change(job.parent, "float32", "mic_003.mrcs")
    proc = maskrun("run", job, "--cores", "1")
    assert proc.returncode == 0, proc.stderr
    assert _modes(out) == {2}
    assert output_bytes(out) == _fresh(tmp_path / "fresh", "float32", "mic_003.mrcs")
    assert "masks again 2 units a stopped run had finished" in proc.stderr, proc.stderr


def test_a_unit_refuses_a_stack_whose_header_changed_since_the_plan_read_it(tmp_path):
    """A stack rewritten as float32 while a run goes on (after planning, before its unit): read as planned, the unit
    took the first half of its float32 bytes for the float16 values it had (its file longer, nothing failed)."""
    job = _folder(tmp_path)
    plan = plan_job(job)
    _rewrite(tmp_path / "Extract" / "mic_001.mrcs", np.float32)
    with pytest.raises(RunFailure) as refused:
        runner.run_unit(plan, "batch_00001")
    assert str(refused.value) == (
        f"{tmp_path / 'Extract' / 'mic_001.mrcs'} changed since the run planned the job: its header is not the one "
        "read then (4 x 64 x 64 float16 then, 4 x 64 x 64 float32 now); run the job again, which reads it anew"
    )
    assert not (tmp_path / "results" / "t" / "provenance" / "batch_00001.json").exists()


def test_maskrun_run_resuming_after_a_stack_was_given_another_change_time_keeps_its_unit_and_gathers(
    tmp_path, monkeypatch
):
    """A stack moved away and back (or chmod, rsync -a) between a stop and ``maskrun run``: the resume proved the kept
    unit's stack unchanged by a checksum taken as the unit read it, then the gather, looking only at the launcher's
    checksum of the stack as it is now, refused it ("its change time moved since …"), exit 1, at every run again."""
    job = _folder(tmp_path)
    out = _stopped_after_two_units(job, monkeypatch)
    end = json.loads((out / "provenance" / "batch_00001.json").read_text())["end"]
    stack = tmp_path / "Extract" / "mic_001.mrcs"
    stack.rename(tmp_path / "away.mrcs")
    (tmp_path / "away.mrcs").rename(stack)  # its change time moved, its bytes and modification time did not
    proc = maskrun("run", job, "--cores", "1")
    assert proc.returncode == 0, proc.stderr
    assert json.loads((out / "provenance" / "batch_00001.json").read_text())["end"] == end  # kept
    assert output_bytes(out) == output_bytes(runner.run_job(_folder(tmp_path / "fresh")).output_dir)
