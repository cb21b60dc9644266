"""A finished folder's outputs are checked as its inputs are, and a redo never replaces what is not maskrun's.

A facility manager's look: under ``output.overwrite: true`` a user's own ``mask.mrc`` (or stack)
saved over a finished run's was replaced without a word; a stack negated in place at its size
left "nothing to do" and ``maskrun report`` wrote a report of the changed folder; a redo that
failed left the old report, mask and stacks beside its own units, and ``validate`` of the old job
called its own mask foreign.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from maskrun.api import run_job
from maskrun.jobs import provenance, runner
from maskrun.jobs.examples import write_example_maps
from maskrun.jobs.output_state import check_output_dir
from maskrun.jobs.plan import plan_job

from commands import digest, maskrun, refused_line
from conftest import write_mrc
from job_files import example_folder, job_with, write_job


def _finished(folder: Path, **changes) -> tuple[Path, Path]:
    """A finished particle job of 12 particles in 3 units, with its report: its job file and output folder."""
    example_folder(folder, particles=12, maps=0)
    job = write_job(folder, job_with(output__dir="out", batch_size=4, **changes))
    return job, run_job(job).output_dir


def _later(path: Path) -> None:
    """Give ``path`` a later modification time, as any write does (the tests' writes may share a clock tick)."""
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))


def _negated_in_place(stack: Path) -> None:
    """``relion_image_handler --multiply_constant -1`` copied back over the stack: its size, its header, other data."""
    data = bytearray(stack.read_bytes())
    values = np.frombuffer(bytes(data[1024:]), dtype=np.float32)
    data[1024:] = (-values).tobytes()
    stack.write_bytes(bytes(data))
    _later(stack)


def test_overwrite_true_refuses_a_users_file_at_a_name_the_redo_writes(tmp_path):
    job, out = _finished(tmp_path)
    mask, edited = out / "mask.mrc", out / "stacks" / "batch_00002.mrcs"
    write_mrc(mask, np.full((64, 64), 0.5))  # the user's hand-made mask, saved over the run's
    _negated_in_place(edited)
    new = out / "stacks" / "batch_00004.mrcs"  # a name the old run did not write, the redo does
    write_mrc(new, np.ones((3, 64, 64)))
    write_job(tmp_path, job_with(output__dir="out", batch_size=3, output__overwrite=True))
    before = digest(tmp_path)
    never = "maskrun never replaces a file it did not write (output.overwrite: true or not): move it away or delete it"
    for command in ("validate", "run"):
        line = refused_line(maskrun(command, job, *(["--cores", "1"] if command == "run" else [])))
        assert line.startswith(f"maskrun {command}: error: {job}: output.dir: {mask} changed since the run it replaces")
        assert (
            f"it is not the file that run wrote, and {never}, or choose another output.dir; 1 more such: {edited}"
            in (line)
        )
        assert line.endswith(
            f"; and {new} exists and was not written by maskrun; {never}, or choose another output.dir"
        )
        assert digest(tmp_path) == before


def test_a_redo_goes_ahead_over_its_own_outputs_untouched_or_only_touched(tmp_path):
    job, out = _finished(tmp_path, report=False)
    _later(out / "stacks" / "batch_00001.mrcs")  # touched: the same bytes
    write_job(tmp_path, job_with(output__dir="out", batch_size=4, report=False, output__overwrite=True))
    assert check_output_dir(plan_job(job)) is None


def test_an_output_edited_in_place_at_its_size_is_told_and_its_report_refused(tmp_path):
    job, out = _finished(tmp_path)
    stack = out / "stacks" / "batch_00002.mrcs"
    _negated_in_place(stack)
    page = (out / "report" / "report.html").read_bytes()
    line = refused_line(maskrun("run", job, "--cores", "1"))
    assert f"output {stack} changed since this job finished at" in line
    assert line.endswith(
        "it is not the file the run wrote: move it away or delete it, then set output.overwrite: true to redo it, or "
        "choose another output.dir"
    )
    line = refused_line(maskrun("report", job))
    assert f"output {stack} changed since this job finished at" in line and "move it away or delete it, then" in line
    assert (out / "report" / "report.html").read_bytes() == page


def test_nothing_to_do_reads_no_output_unless_its_time_moved(tmp_path, monkeypatch):
    job, out = _finished(tmp_path, report=False)
    plan = plan_job(job)

    def no_hashing(*args, **kwargs):
        raise AssertionError("an untouched folder was hashed")

    monkeypatch.setattr(provenance, "checksum_of", no_hashing)
    assert check_output_dir(plan) is not None  # nothing to do, told by sizes and times
    monkeypatch.undo()
    _later(out / "stacks" / "batch_00003.mrcs")  # touched, copied back without its time: the same bytes
    assert check_output_dir(plan) is not None


def test_a_failed_redo_leaves_only_its_own_units_and_the_old_job_is_valid_again(tmp_path, monkeypatch):
    job, out = _finished(tmp_path)
    original = job.read_text()
    notes = out / "report" / "my_notes.txt"  # the user's: stays
    notes.write_text("kept\n")
    write_job(
        tmp_path, job_with(output__dir="out", batch_size=4, output__overwrite=True, mask__geometry__inner_radius=18)
    )
    real = runner.batch_pieces

    def failing(particles, first, stop, maps):
        if first == 4:
            raise RuntimeError("a unit failing for the test")
        return real(particles, first, stop, maps)

    monkeypatch.setattr(runner, "batch_pieces", failing)
    with pytest.raises(RuntimeError, match="failing for the test"):
        run_job(job)
    monkeypatch.undo()
    # no old run record, report or mask describing outputs that are gone, no old stacks beside the new one
    left = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file() and ".maskrun" not in p.parts)
    assert left == [  # (run in this process: no logs)
        "provenance/batch_00001.json",
        "report/my_notes.txt",
        "stacks/batch_00001.mrcs",
    ]
    job.write_text(original)
    proc = maskrun("validate", job)
    assert proc.returncode == 0, proc.stderr


def test_a_redo_stopped_while_gathering_leaves_a_mask_the_old_job_file_may_replace(tmp_path):
    """`validate` of the job file reverted said its own folder's mask.mrc 'exists and is not from a run of this job'."""
    job, out = _finished(tmp_path, report=False)
    original = job.read_text()
    edited = job_with(output__dir="out", batch_size=4, report=False, mask__geometry__inner_radius=18)
    run_job(write_job(tmp_path, edited | {"output": {"dir": "out", "overwrite": True}}))
    (out / "provenance" / "run.json").unlink()  # the edited job's units, stopped while gathering: their mask is there
    job.write_text(original)
    proc = maskrun("validate", job)
    assert proc.returncode == 0, proc.stderr


def test_every_changed_input_and_output_is_named_in_one_refusal(tmp_path):
    """The folders look: a user who had edited three stacks (or whose three outputs were touched) was told of the
    first only, fixed it, ran again and was told of the next."""
    job, out = _finished(tmp_path, report=False)
    stacks = sorted((tmp_path / "Extract").glob("*.mrcs"))
    outputs = sorted((out / "stacks").glob("*.mrcs"))
    for path in [*stacks, *outputs[:2]]:
        _negated_in_place(path)
        _later(path)
    outputs[2].unlink()
    line = refused_line(maskrun("validate", job))
    assert (
        f"input {stacks[0]} changed since this job finished at" in line
        and f"; 2 more such: {stacks[1]}, {stacks[2]}; and output {outputs[0]} changed; 1 more such: {outputs[1]}; "
        f"and output {outputs[2]} is gone or cannot be read; the outputs changed are not the files the run wrote: "
        "move them away or delete them, then set output.overwrite: true to redo it"
        in line
    )


def test_without_checksums_a_touched_output_has_changed_as_a_touched_input_has_and_a_redo_replaces_it(tmp_path):
    """``provenance.checksums: none``: an input whose time moved was a change and an output's was not (its MRC
    label stood for its checksum); both ask whether the file is as recorded, so both are changes now, and the
    redo, which asks whether the file is maskrun's, replaces the labelled output."""
    job, out = _finished(tmp_path, report=False, provenance__checksums="none")
    output = out / "stacks" / "batch_00002.mrcs"
    _later(output)
    line = refused_line(maskrun("validate", job))
    assert f"output {output} changed since this job finished at" in line
    assert line.endswith("; set output.overwrite: true to redo it, or choose another output.dir")
    write_job(
        tmp_path,
        job_with(output__dir="out", batch_size=4, report=False, provenance__checksums="none", output__overwrite=True),
    )
    assert check_output_dir(plan_job(job)) is None


def test_a_redo_keeps_only_units_of_the_same_job_whose_inputs_and_outputs_are_as_recorded(tmp_path):
    """What `units_to_redo` keeps: a stack changed redoes the units that read it, a unit output gone or a record
    unreadable its unit; a changed STAR (it may change every unit, or the plan) or a changed job, every unit."""
    from maskrun.jobs.output_state import units_to_redo
    from maskrun.jobs.provenance import read_record

    job, out = _finished(tmp_path, report=False)

    def redone() -> list[str]:
        plan = plan_job(job)
        return [unit.id for unit in units_to_redo(plan, read_record(plan.run_record_path))]

    assert redone() == []  # nothing changed: a redo only gathers again
    _negated_in_place(tmp_path / "Extract" / "mic_003.mrcs")  # rows 8-11: the third unit's
    assert redone() == ["batch_00003"]
    star = tmp_path / "particles.star"
    text = star.read_text()
    star.write_text(text.replace("Micrographs/mic_001.mrc", "Micrographs/mic_009.mrc", 1))
    assert redone() == ["batch_00001", "batch_00002", "batch_00003"]  # every unit
    star.write_text(text)  # put back: its time moved, its checksum is the recorded one
    assert redone() == ["batch_00003"]
    (out / "stacks" / "batch_00001.mrcs").unlink()
    assert redone() == ["batch_00001", "batch_00003"]
    job.write_text(job.read_text().replace("outer_radius: 28", "outer_radius: 27"))
    plan = plan_job(job)
    assert len(units_to_redo(plan, read_record(plan.run_record_path))) == 3


def _scaled_in_place(volume: Path) -> None:
    """A map's values times 0.9, at its size (a mask of it at the same threshold is smaller)."""
    data = bytearray(volume.read_bytes())
    data[1024:] = (np.frombuffer(bytes(data[1024:]), dtype=np.float32) * np.float32(0.9)).tobytes()
    volume.write_bytes(bytes(data))
    _later(volume)


def test_a_changed_map_that_is_also_the_masks_map_redoes_every_unit(tmp_path):
    """``mask.source: map`` over ``volumes: maps/*.mrc``: the mask's map is an input too. Changed, it changes every
    map's mask; a redo that masked its own unit only kept the other maps with the old mask (25,241 voxels off)."""
    from maskrun.jobs.output_state import units_to_redo
    from maskrun.jobs.provenance import read_record

    write_example_maps(tmp_path, n_maps=2)
    job = write_job(
        tmp_path,
        {
            "version": 1,
            "name": "m",
            "inputs": {"volumes": "maps/*.mrc"},
            "mask": {"source": "map", "map": {"file": "maps/class_1.mrc", "threshold": 0.3}},
            "fill": {"with": "value", "value": 0},
            "output": {"dir": "out", "overwrite": True},
            "report": False,
        },
    )
    run_job(job)
    second = tmp_path / "maps" / "class_2.mrc"
    before = second.read_bytes()
    _scaled_in_place(second)  # only read by its own unit
    plan = plan_job(job)
    assert [unit.id for unit in units_to_redo(plan, read_record(plan.run_record_path))] == ["map_class_2"]
    second.write_bytes(before)
    _scaled_in_place(tmp_path / "maps" / "class_1.mrc")  # the mask's map as well
    plan = plan_job(job)
    assert [unit.id for unit in units_to_redo(plan, read_record(plan.run_record_path))] == [
        "map_class_1",
        "map_class_2",
    ]


def test_a_finished_folder_whose_inputs_only_changed_their_change_time_is_looked_at_without_hashing(
    tmp_path, monkeypatch
):
    """``chmod -R g+w`` of a project (a facility sharing it) moves every file's change time, and the run record
    keeps the old ones: a look without output.overwrite that told files by change time hashed them all again,
    at every look; it tells them by size and modification time, as it did."""
    import maskrun.jobs.output_state as output_state

    example_folder(tmp_path, particles=20, maps=0)
    job = write_job(tmp_path, job_with(batch_size=10, report=False))
    first = run_job(job)
    for stack in (tmp_path / "Extract").glob("*.mrcs"):
        stack.chmod(0o664)  # the change time moves, nothing else
    hashed: list[object] = []
    monkeypatch.setattr(output_state, "same_content", lambda entry, path: hashed.append(path) or True)
    plan = plan_job(job)
    assert check_output_dir(plan) is not None and hashed == []  # nothing to do, no file read
    assert first.units_run == 2
