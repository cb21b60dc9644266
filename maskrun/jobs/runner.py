"""Run a job: mask each unit (a particle batch or a map), then gather metadata and provenance.

`run_unit` and `gather` are what the Snakemake workflow calls, one per workflow job;
`run_job` runs the same steps in-process, one unit after another, so maskrun is usable
from Python without a workflow engine. A unit's provenance record is written last, so it
marks the unit done: a rerun after an interruption redoes only the missing units.
"""

from __future__ import annotations

import functools
import os
import sys
import time
import warnings
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from maskrun.config.job_file import Job
from maskrun.engine.forked_workers import call_in_background
from maskrun.engine.mask_output import write_mask
from maskrun.engine.one_file import mask_mrc_file, nonfinite_count
from maskrun.engine.stream import Masking, Piece, write_masked
from maskrun.errors import MaskrunWarning, RunFailure, UserError, first_named, held_warnings
from maskrun.formats.particle_set import ParticleSet
from maskrun.formats.registry import written_formats
from maskrun.io.atomic import write_atomic
from maskrun.io.float16_rounding import FLOAT16
from maskrun.io.image_info import MappedRows
from maskrun.io.images import inspect_image
from maskrun.io.mrc_writer import MrcStreamWriter, made_by, stored_labels
from maskrun.jobs.given_job import load_given_job
from maskrun.jobs.input_checksums import earlier_checksums, launcher_checksums
from maskrun.jobs.kept_units import SAME_CONTENT_AS, TIMES, forget_changed_units
from maskrun.jobs.mask_warnings import check_warning, mask_warnings
from maskrun.jobs.output_metadata import images_named_from, resolved_job, write_output_metadata
from maskrun.jobs.output_state import (
    check_output_dir,
    check_room,
    remove_partial_files,
    remove_stale_units,
    retire_run,
)
from maskrun.jobs.plan import JobPlan, Unit, check_half_maps_fit, plan_job, unit_mask
from maskrun.jobs.plan_file import image_changed_since_read, load_or_plan, save_plan
from maskrun.jobs.projected_unit import particle_masks_writer, unit_following_masking, unit_projected_masking
from maskrun.jobs.provenance import (
    environment,
    hash_inputs,
    input_entry,
    now,
    output_entry,
    read_record,
    same_content,
    seen_entry,
    slurm_job,
    still_matches,
    write_record,
)
from maskrun.jobs.run_lock import RunLock
from maskrun.jobs.same_job import is_run_of
from maskrun.timeline import mark

# what each output of a run record's ``outputs`` is (its ``role``)
MASKED, PARTICLE_MASKS, METADATA, MASK, CHECK = "masked", "masks", "metadata", "mask", "check"


@dataclass
class RunSummary:
    """What `run_job` did.

    Attributes
    ----------
    output_dir
        The job's output folder.
    units_run, units_skipped
        The units masked now, and those a run before had done.
    items
        The particles or maps of the job.
    seconds
        The time the call took.
    notes
        What ``maskrun run`` prints as ``maskrun: note:`` (none for a finished run).
    gathered
        Whether this call gathered the run (wrote its metadata and run record): False when
        the folder held a finished run of this very job with its inputs and outputs as they
        were, so nothing was done (``maskrun run``'s "nothing to do").
    metadata
        The output metadata (``particles.star``, ``particles.cs``, ``volumes.star``, …);
        None for a job of one map, which writes none.
    run_record
        ``provenance/run.json``.
    report
        ``report/report.html``; None for a job with ``report: false``.
    """

    output_dir: Path
    units_run: int
    units_skipped: int
    items: int
    seconds: float
    notes: list[str] = field(default_factory=list)
    gathered: bool = True
    metadata: Path | None = None
    run_record: Path | None = None
    report: Path | None = None


def unit_done(plan: JobPlan, unit: Unit) -> bool:
    """Whether a unit finished, for this very job (as it resolves), and its output is still there."""
    record = read_record(plan.record_path(unit))
    return record is not None and is_run_of(record, plan.job) and plan.unit_output(unit).exists()


def run_unit(plan: JobPlan, unit_id: str, workers: int | None = None) -> dict[str, Any]:
    """Mask one unit and write its output and provenance record; returns the record.

    The stacks or map that `JobPlan.hashed_inputs` gives this unit are hashed beside the
    masking, in a forked process (a thread where forking is unsafe), while their pages are
    in memory. The output is hashed once it is complete: its header, which comes first in
    the file, holds statistics of the whole output, so it cannot be hashed as it is written.
    ``workers`` is how many processes mask (default `maskrun.engine.stream.WORKERS`): the
    cores the workflow gave the unit.
    """
    start, t0 = now(), time.perf_counter()
    unit = plan.unit(unit_id)
    output = plan.unit_output(unit)
    output.parent.mkdir(parents=True, exist_ok=True)
    spec = plan.job.spec
    checksums = spec.provenance.checksums
    seen = [_seen(path) for path in sorted(set(plan.unit_files(unit)), key=str)]  # the gather checks them unchanged
    check_read_as_planned(plan, unit, seen)
    hashing = call_in_background(functools.partial(hash_inputs, plan.hashed_inputs(unit), checksums))
    try:
        if unit.is_batch:
            particles = plan.particle_set
            mask, resolved = unit_mask(plan, unit)
            _, voxel, _ = plan.unit_grid(unit)
            shape = (unit.stop_row - unit.first_row, *particles.box_yx)
            with ExitStack() as files:  # closed in turn: the stacks, the output, the saved masks (if any)
                masks_writer = particle_masks_writer(plan, unit)  # output.save_masks
                if masks_writer is not None:
                    files.enter_context(masks_writer)
                writer = files.enter_context(MrcStreamWriter(output, shape, "stack", voxel, dtype=plan.output_dtype))
                maps = files.enter_context(ExitStack())
                masking: Masking
                if spec.mask.projection is not None:
                    masking = unit_projected_masking(plan, unit)
                elif spec.mask.follow is not None:
                    masking = unit_following_masking(plan, unit, mask)
                else:
                    masking = Masking.of(mask, plan.job.fill, spec.compat, first_index=unit.first_row)
                pieces = batch_pieces(particles, unit.first_row, unit.stop_row, maps)
                write_masked(writer, pieces, masking, workers, masks_writer=masks_writer)
            nonfinite = nonfinite_count(writer)
        else:
            source = plan.volume_set.maps[unit.map_index].path
            result = mask_mrc_file(
                source,
                output,
                mask=plan.job.mask,
                fill=plan.job.fill,
                compat=spec.compat,
                input_kind="volume",
                overwrite=True,
                image_index=unit.map_index,
                workers=workers,
                check_space=False,  # the run checked its whole output's room before it started
                doubt_header_pixel_size=False,  # a job has no setting for a map's pixel size: its header holds it
                output_dtype="same" if plan.output_dtype == FLOAT16 else "float32",  # float16 only if all maps are
            )
            resolved, nonfinite = result.resolved_geometry, result.nonfinite_pixels
        t_masked = time.perf_counter()
        mark(f"unit {unit.id} masked")
        hashed = hashing.result()
    finally:
        hashing.kill()
    t_hashed = time.perf_counter()
    mark(f"unit {unit.id} inputs hashed")
    written = output_entry(output, plan.output_dir, checksums, all_cores=True)
    masks_path = plan.particle_masks_output(unit)
    masks_entry = output_entry(masks_path, plan.output_dir, checksums, all_cores=True) if masks_path else None
    mark(f"unit {unit.id} output hashed")
    record = {
        "unit": unit.id,
        "job_file": str(plan.job.path),  # whose unit it is, for a later run of another job into the folder
        "job_sha256": plan.job.sha256,
        "job_recipe_sha256": plan.job.recipe_sha256,
        "resolved_geometry": resolved,
        "rows": [unit.first_row, unit.stop_row] if unit.is_batch else None,
        "inputs": [entry["path"] for entry in seen],
        "inputs_read": seen,  # size and modification time as the unit read them
        "hashed_inputs": list(hashed.values()),
        "output": written,
        **({"saved_masks": masks_entry} if masks_entry else {}),
        "nonfinite_pixels": nonfinite,
        "start": start,
        "end": now(),
        "seconds": {
            "masking": round(t_masked - t0, 3),
            "waiting_for_input_checksums": round(t_hashed - t_masked, 3),
            "output_checksum": round(time.perf_counter() - t_hashed, 3),
        },
        **environment(),
        **slurm_job(),
    }
    write_record(plan.record_path(unit), record)
    return record


def check_read_as_planned(plan: JobPlan, unit: Unit, seen: list[dict[str, Any]]) -> None:
    """Refuse to read a stack or map whose header is no longer the one the plan read (its place in the file, its
    type, its shape): the unit would read its values at the old header's offsets, as the old type.

    ``seen``: the unit's files as it is about to read them (`seen_entry`). Only a file whose size
    or times moved since the plan read its header (`ImageInfo.file_stat`) has it read again; one
    touched, or edited in its values alone, is read as planned (the gather and the next run tell
    its change).

    Raises
    ------
    RunFailure
        Naming the file, what its header says now, and the fix.
    """
    infos = (
        {str(path): plan.particle_set.stacks[path] for path in plan.unit_files(unit)}
        if unit.is_batch
        else {str(plan.unit_files(unit)[0]): plan.volume_set.maps[unit.map_index]}
    )
    for entry in seen:
        info = infos.get(entry["path"])
        now = (entry["bytes"], entry["mtime_ns"], entry.get("ctime_ns"))
        if info is None or info.file_stat is None or info.file_stat == now:
            continue
        try:
            header = inspect_image(info.path)
        except UserError as exc:
            if not info.format.endswith(".gz") and entry["bytes"] < info.data_end:
                continue  # cut short: the reader says so, in its words
            header, said = None, str(exc)
        if header is not None and header.layout == info.layout:
            continue
        if header is not None:
            said = f"{header.shape_zyx[0]} x {header.shape_zyx[1]} x {header.shape_zyx[2]} {header.dtype.name} now"
        planned = f"{info.shape_zyx[0]} x {info.shape_zyx[1]} x {info.shape_zyx[2]} {info.dtype.name}"
        raise RunFailure(
            f"{info.path} changed since the run planned the job: its header is not the one read then ({planned} "
            f"then, {said}); run the job again, which reads it anew"
        )


def _seen(path: Path) -> dict[str, Any]:
    try:
        return seen_entry(path)
    except OSError as exc:
        raise RunFailure(
            f"{path} cannot be read ({exc.strerror}); it was there when the job was planned: restore it, or run the "
            "job again"
        ) from None


def batch_pieces(particles: ParticleSet, first: int, stop: int, maps: ExitStack) -> list[Piece]:
    """The images of rows ``first:stop``, in row order, as row ranges of mapped stacks.

    Consecutive rows that address consecutive images of one stack form one range; each
    stack is mapped once (``maps`` closes them).
    """
    stacks, indices = particles.stack_of_row[first:stop], particles.image_index[first:stop]
    breaks = (np.nonzero((np.diff(stacks) != 0) | (np.diff(indices) != 1))[0] + 1).tolist()
    mapped: dict[int, MappedRows] = {}
    pieces = []
    for run_start, run_stop in zip([0, *breaks], [*breaks, stop - first]):
        stack = int(stacks[run_start])
        if stack not in mapped:
            mapped[stack] = maps.enter_context(MappedRows(particles.stacks[particles.stack_paths[stack]]))
        image = int(indices[run_start])
        pieces.append((mapped[stack], image, image + run_stop - run_start))
    return pieces


def gather(plan: JobPlan, started: str | None = None, slurm_run_id: str | None = None) -> dict[str, Any]:
    """Write the output metadata and the run record once every unit is done.

    ``slurm_run_id`` is the id the workflow's SLURM executor gave this run (each job's name in
    ``squeue``), recorded as it is.
    """
    missing = [u.id for u in plan.units if not unit_done(plan, u)]
    if missing:
        units = "unit has" if len(missing) == 1 else "units have"
        raise RunFailure(
            f"{len(missing)} {units} not finished for this job as it is ({first_named(missing)}); run the job again"
        )
    records = [record for u in plan.units if (record := read_record(plan.record_path(u))) is not None]
    hashed = {entry["path"]: entry for record in records for entry in record.get("hashed_inputs", [])}
    hashed |= launcher_checksums(plan)
    check_inputs_as_read(records, hashed)
    plan = plan.with_metadata()
    # the check first: halves that fail it (copies scaled apart, say) leave no metadata, mask or record
    # behind, so that the job, its check: fixed, runs again without output.overwrite
    with warnings.catch_warnings():  # planning gave the masks' warnings, said of the particles (several pixel sizes)
        warnings.simplefilter("ignore", MaskrunWarning)
        built = {path: unit_mask(plan, unit)[0].values for path, unit in plan.mask_outputs().items()}  # once, for both
    report = job_check_report(plan, built) if plan.job.check is not None else None
    metadata_paths = write_output_metadata(plan)
    saved_masks = write_masks(plan, built)
    masks = list(saved_masks)
    out = plan.output_dir
    inputs, formats = plan.input_files(), plan.input_formats()
    outputs = [record["output"] | {"role": MASKED} for record in records]  # hashed when each unit wrote it
    outputs += [r["saved_masks"] | {"role": PARTICLE_MASKS} for r in records if "saved_masks" in r]  # save_masks
    checksums = plan.job.spec.provenance.checksums
    check = write_job_check(plan, report) if report is not None else None
    check_files = [Path(check["json"])] if check else []
    for role, paths in ((METADATA, metadata_paths), (MASK, masks), (CHECK, check_files)):
        outputs += [output_entry(path, out, checksums) | {"role": role} for path in paths]
    applied = _masked_maps(plan)
    for entry in outputs:  # a saved mask of several: the maps it masked
        entry.update({"maps": applied[entry["path"]]} if entry["path"] in applied else {})
    output_formats = written_formats()  # the metadata formats, by suffix; images are MRC
    for entry in outputs:
        entry["format"] = output_formats.get(Path(entry["path"]).suffix, "mrc")
    input_entries = []
    mask_files = set(plan.job.mask.input_files)
    for path in inputs:  # hashed by the units as they read them, unless changed since
        entry = hashed.get(str(path))
        if entry is None or not still_matches(entry, path, checksums):
            entry = input_entry(path, checksums)
        entry = {key: value for key, value in entry.items() if key != SAME_CONTENT_AS}  # the resume's proof: not kept
        input_entries.append(entry | {"format": formats.get(path, "mrc")} | _made_by(path, mask_files))
    record = {
        "job_file": str(plan.job.path),
        "job_sha256": plan.job.sha256,
        "job_recipe_sha256": plan.job.recipe_sha256,
        "job_as_written": plan.job.text,
        "job_resolved": resolved_job(plan, records),
        "checksums": checksums,
        "units": [u.id for u in plan.units],
        "inputs": input_entries,
        "outputs": outputs,
        "metadata_image_paths_relative_to": None if (named := images_named_from(plan)) is None else str(named),
        "nonfinite_pixels": sum(r.get("nonfinite_pixels", 0) for r in records),
        # the report, when made, adds its own checks
        "warnings": list(
            dict.fromkeys(
                plan.warnings
                + mask_warnings(saved_masks.values(), plan.kept_all_or_nothing_said)
                + (check or {}).get("warnings", [])
                + [w for w in [check and check_warning(check)] if w]
            )
        ),
        "notes": plan.notes,  # planning's (the particles', a model term's atoms), shown as the run started
        **({"check": check} if check else {}),
        "start": started or min(r["start"] for r in records),
        **_resumed(records, started or plan.launched),
        "end": now(),
        **environment(),
        **({"slurm_run_id": slurm_run_id} if slurm_run_id else {}),
        # the user's `maskrun run ...`, and what ran the gather (Snakemake) beside it
        **({"command": plan.launcher_command, "engine_command": sys.argv} if plan.launcher_command else {}),
    }
    write_record(plan.run_record_path, record)
    return record


def _resumed(records: list[dict[str, Any]], this_run: str | None) -> dict[str, Any]:
    """``{"resumed": ...}`` when some units were masked before this run started (an interrupted run, resumed): which,
    and when this run started; else {} (and without the run's start, which a saved plan of old lacks)."""
    if this_run is None:
        return {}
    start = datetime.fromisoformat(this_run)
    earlier = [record["unit"] for record in records if datetime.fromisoformat(record["start"]) < start]
    return {"resumed": {"this_run_start": this_run, "units_from_earlier_runs": earlier}} if earlier else {}


def _masked_maps(plan: JobPlan) -> dict[str, list[str]]:
    """The maps each saved mask was applied to (their paths, as the run record's inputs give them), by the mask's
    path as its outputs give it, when a map job saves several (one per box and voxel size); else {}."""
    saved = plan.mask_units()
    if plan.particles is not None or len(saved) < 2:
        return {}
    maps = plan.volume_set.maps
    return {
        str(path.relative_to(plan.output_dir)): [str(maps[u.map_index].path) for u in units]
        for path, units in saved.items()
    }


def check_inputs_as_read(records: list[dict[str, Any]], hashed: dict[str, dict[str, Any]]) -> None:
    """Refuse to gather units whose stacks or map changed since they read them (``inputs_read``).

    Their outputs were masked from the files as they were; a run record would describe the
    files as they are. A file touched, or copied back without its times, whose checksum
    (``hashed``: by path) is unchanged, has not changed, when that checksum was taken of the
    file as the unit saw it: the same size and modification and change times. A checksum
    taken after an edit that gave the file back its size and modification time (``touch -r``,
    ``cp -p``) proves nothing of what the unit read, so that file is refused.

    Raises
    ------
    RunFailure
        Naming the first such file, the unit, what changed and the fix; nothing is written.
    """
    for record in records:
        for seen in record.get("inputs_read", []):
            path = Path(seen["path"])
            if still_matches(seen, path):
                continue
            known = hashed.get(seen["path"], {})
            times = [seen.get(key) for key in TIMES]
            # taken as the unit read it, or now, of a content a resume proved the same as then (`units_read_changed`)
            as_seen = [known.get(key) for key in TIMES] == times or times in known.get(SAME_CONTENT_AS, [])
            if as_seen and same_content(known, path):
                continue
            stat = path.stat() if path.exists() else None
            what = (
                "gone now"
                if stat is None
                else f"{seen['bytes']} bytes then, {stat.st_size} now"
                if stat.st_size != seen["bytes"]
                else "rewritten since, the same size"
                if stat.st_mtime_ns != seen["mtime_ns"]
                else "rewritten since, with its size and modification time given back"
                if as_seen  # its checksum as the unit read it differs
                else "its change time moved since (an edit given back its size and modification time, touch -r or "
                "cp -p, or a chmod), and no checksum taken as the unit read it shows it unchanged"
            )
            raise RunFailure(
                f"{path} changed since unit {record['unit']} read it ({what}), so the run is not recorded as "
                "finished: restore it, or run the job again to redo the units that read it"
            )


HOW_FOCUSED = "set check.focused: true in the job (check-mask --focused)"  # a mask of part of the particle


def job_check_report(plan: JobPlan, masks: dict[Path, np.ndarray]) -> dict[str, Any]:
    """``check-mask`` (with ``--search`` if asked) of the mask the job saves, with its half-maps, as JSON data.

    Made from the mask's values (``masks``, as `write_masks` takes them) before ``mask.mrc`` is
    written: the same float32 values, built once.

    Raises
    ------
    UserError
        Half-maps that no longer fit (`check_half_maps_fit`), or that only their FSC shows
        are not independent; naming the file and its field (``check.half2``).
    """
    from maskrun.engine.mask_check import check_json, check_mask_values

    check = plan.job.check
    assert check is not None
    voxel = check_half_maps_fit(plan)
    assert voxel is not None
    path, values = next(iter(masks.items()))
    fields = ("check.half1", "check.half2")
    with held_warnings() as caught:  # kept for the run record (dependent halves, say), and shown as they came
        result = check_mask_values(check.half1, check.half2, values, path, voxel, fields=fields, focused=check.focused)
        found = [str(w.message) for w in caught if issubclass(w.category, MaskrunWarning)]
    report = check_json(result, HOW_FOCUSED)
    report["warnings"] = found
    if check.search:
        from maskrun.engine.mask_search import grown_all_round_note, search_masks
        from maskrun.engine.search_answer import search_answer, search_json
        from maskrun.jobs.make_mask_commands import search_command

        search, fine = search_masks(result), result.verdict == "fine"
        answer = search_answer(search, fine)
        make_it = None if answer is None else search_command(answer, str(path), search)
        report["search"] = search_json(search, fine, make_it, grown_all_round_note(result))
    return report


def write_job_check(plan: JobPlan, report: dict[str, Any]) -> dict[str, Any]:
    """Write ``check/check.json``; its gist for the run record."""
    import json

    path = plan.check_output
    assert path is not None
    path.parent.mkdir(exist_ok=True)
    write_atomic(path, json.dumps(report, indent=1) + "\n")
    gist = {
        key: report[key]
        for key in ("verdict", "reasons", "notes", "resolution_angstrom", "randomise_from_angstrom", "warnings")
    }
    if plan.job.check is not None and plan.job.check.search:
        gist["tightest_fine"] = report["search"]["tightest_fine"]
        if "make_it" in report["search"]:
            gist["make_it"] = report["search"]["make_it"]
        if "note" in report["search"]:
            gist["search_note"] = report["search"]["note"]
    return gist | {"json": str(path)}


def _made_by(path: Path, mask_files: set[Path]) -> dict[str, str]:
    """``{"made_by": "make-mask …"}`` for a mask file of the job that ``maskrun make-mask`` made (its labels say how:
    the map, threshold, extend and edge it came from), else nothing: the record's checksum alone would not say."""
    if path not in mask_files or not path.suffix.lower().startswith((".mrc", ".map")):
        return {}
    made = made_by(stored_labels(path))
    return {"made_by": made} if made else {}


MASK_APPLIED = "the mask applied"  # a saved mask's MRC label: not masked data, as the stacks' and maps' say


def write_masks(plan: JobPlan, masks: dict[Path, np.ndarray]) -> dict[Path, np.ndarray]:
    """Save the mask of each box (``masks``: its values by `JobPlan.mask_outputs` path), exactly as applied, with the
    data's voxel size (``mask.mrc``).

    Returns each file written with its mask's values (for the masks' own warnings).
    """
    written = {}
    for path, unit in plan.mask_outputs().items():
        _, voxel, origin = plan.unit_grid(unit)
        like = None if unit.is_batch else plan.volume_set.maps[unit.map_index]  # placed where its maps are
        # the run checked its whole output's room before it started; a full disk now is a failure, not a mistake
        written_path = write_mask(
            path, masks[path], voxel, origin, overwrite=True, like=like, check_space=False, holds=MASK_APPLIED
        )
        written[written_path] = masks[path]
    return written


def run_job(job: str | os.PathLike[str] | Job, before: Callable[[JobPlan], object] | None = None) -> RunSummary:
    """Run a whole job in this process, unit by unit, then gather.

    ``before`` is called with the plan of a run that has work to do, before any unit (the API
    says there what the report would warn of, `maskrun.report.before_run`); whatever it adds to
    the plan's warnings is saved with the plan.

    Units already done for the same job text are skipped (resuming an interrupted run), but
    those whose stacks or map changed since they read them (`units_read_changed`); a saved
    plan whose stacks or maps moved since it read their headers is made again. A finished run
    of the same job and inputs is left as it is (nothing to do); with ``output.overwrite:
    true`` a finished run is redone (the units whose inputs changed, `units_to_redo`).

    Raises
    ------
    UserError
        For any invalid job or input, or an output folder that is another job's, is
        read-only or too full (nothing is written then); or another run in the folder.
    """
    t0 = time.perf_counter()
    started = now()
    job = job if isinstance(job, Job) else load_given_job(job)
    plan, saved = load_or_plan(job)
    if saved and image_changed_since_read(plan) is not None:  # its headers may be stale: read them anew
        plan = plan_job(job)
    items = len(plan.particles) if plan.particles is not None else len(plan.volume_set.maps)
    summary = functools.partial(
        RunSummary,
        plan.output_dir,
        metadata=plan.metadata_output,
        run_record=plan.run_record_path,
        report=plan.report_dir / "report.html" if plan.job.spec.report else None,
    )
    if check_output_dir(plan) is not None:
        return summary(0, len(plan.units), items, time.perf_counter() - t0, gathered=False)
    check_room(plan)
    if before is not None:
        before(plan)
    notes = list(plan.notes)
    with RunLock(plan.lock_path, str(plan.job.path)):
        remove_partial_files(plan)
        if plan.run_record_path.exists():  # finished, and overwrite: true
            retire_run(plan)
        else:  # resumed (or new): the units a stopped run finished that read what has changed since
            notes += [note] if (note := forget_changed_units(plan, earlier_checksums(plan))) else []
        remove_stale_units(plan)
        save_plan(plan)
        skipped = 0
        for unit in plan.units:
            if unit_done(plan, unit):
                skipped += 1
                continue
            run_unit(plan, unit.id)
        gather(plan, started)
    return summary(len(plan.units) - skipped, skipped, items, time.perf_counter() - t0, notes)
