"""What an output folder holds before a run starts, and getting it ready without losing anything.

A folder is finished when its run record (``provenance/run.json``) is there: it is written
last. A finished folder is the record's job's: the same job (as it resolves, whatever its
comments, layout or ``output.overwrite``: `maskrun.jobs.same_job`) with the same inputs and
outputs has nothing left to do; a changed job, inputs or outputs need ``output.overwrite: true``,
and a run that starts over first retires the old run whole (its record, metadata, unit records,
report and the outputs its record lists), so that the folder never looks finished while it is
not, nor holds an old report of outputs that are gone. It never replaces a file that is not as
the old run's record has it: an output the user edited or saved over is theirs. An unfinished
folder is its units' job's (`maskrun.jobs.unit_owners`). Temporary files (``.NAME.part-PID``)
left by a killed run are removed by the next one, which holds the run lock.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from maskrun.config.job_file import Job
from maskrun.errors import UserError, first_named
from maskrun.io.atomic import part_of
from maskrun.io.mrc_reader import inspect_mrc
from maskrun.io.mrc_writer import is_maskrun_label
from maskrun.io.output_space import MARGIN_BYTES, check_output_location, is_taken
from maskrun.io.paths import file_identity
from maskrun.io.processes import process_alive
from maskrun.jobs.plan import REPORT_FIGURES, JobPlan, Unit, input_identities
from maskrun.jobs.plan_file import plan_paths
from maskrun.jobs.provenance import read_record, recorded_checksum, same_content, same_ctime
from maskrun.jobs.same_job import first_change, is_run_of, job_file_holds_run, moved_folder, resolved_otherwise
from maskrun.jobs.unit_owners import UnitOwners, refuse_another_jobs_units, unit_owners, unit_records

PARTIAL_PATTERN = ".*.part-*"
NEVER_REPLACED = "maskrun never replaces a file it did not write (output.overwrite: true or not)"


def check_output_dir(plan: JobPlan) -> dict[str, Any] | None:
    """Decide what a run may do with its output folder.

    Returns
    -------
    dict or None
        The run record when the folder holds this very job, finished, with its inputs and
        outputs as they were (nothing to do); None when the run should go ahead.

    Raises
    ------
    UserError
        When the folder holds a finished run of another job, or of this job before it or
        its inputs or outputs changed, or the units of an unfinished run of another job file
        (`refuse_another_jobs_units`), and the job does not say ``output.overwrite: true``; or
        files the run would write that no run of maskrun wrote, or that are not as the finished
        run's record has them, whatever it says (see `check_no_foreign_files`,
        `check_finished_outputs`).
    """
    record = read_record(plan.run_record_path)
    overwrite = plan.job.spec.output.overwrite
    if record is None:
        owners = unit_owners(plan.job, plan.output_dir)  # its unit records read once, for both checks
        if not overwrite:
            refuse_another_jobs_units(plan, owners)
        check_no_foreign_files(plan, owners)
        return None
    if not is_run_of(record, plan.job):
        if overwrite:
            check_finished_outputs(plan, record)
            return None
        owner = record.get("job_file", "another job")
        moved = moved_folder(record, plan.job)
        if moved is not None:
            raise UserError(_moved_words(plan.job, record, *moved), source=str(plan.job.path), field="output.dir")
        which = (
            f"{owner} as its paths resolved then: $VARIABLES or ~ in them named other files when it ran"
            if resolved_otherwise(record)
            else f"this job file before it was edited{_what_changed(record, plan.job)}"
            if owner == str(plan.job.path)
            else f"{owner}, not of this job as written{_what_differs(record, plan.job)}"
        )
        raise UserError(
            f"{plan.output_dir} holds a finished run of {which}; choose another output.dir, or set "
            "output.overwrite: true to replace it",
            source=str(plan.job.path),
            field="output.dir",
        )
    if overwrite:
        check_finished_outputs(plan, record)
        return None
    changes = changed_files(plan.job, record, by_change_time=False)  # not by change time: see changed_files
    if changes:
        fix = "set output.overwrite: true to redo it, or choose another output.dir"
        edited = _edited(changes)
        if edited:  # what the redo would write over is not maskrun's any more (`check_finished_outputs`)
            fix = f"{edited}: move {_it_or_them(changes)} away or delete {_it_or_them(changes)}, then {fix}"
        raise UserError(
            f"{_changes_words(changes, record)}; {fix}",
            source=str(plan.job.path),
            field="output.overwrite",
        )
    return record


def check_no_foreign_files(plan: JobPlan, owners: UnitOwners) -> None:
    """Refuse to write over a file of the output folder that an unfinished run of maskrun did not write (``owners``:
    its units, by the job that made them, `maskrun.jobs.unit_owners.unit_owners`).

    With no run record in the folder, a file the run would write under its final name is
    maskrun's only when unit records account for it: a unit's output, saved masks, record and
    log when its record is there (a run killed after that unit); the metadata, the masks and the
    check's JSON when a unit record of this job, or of its job file before an edit, is there
    (killed while gathering, or resumed after a partial loss; `maskrun.jobs.unit_owners`); the
    logs, and unit outputs whose MRC labels say maskrun masked them, when the folder holds a
    unit record, the saved plan, the run lock or Snakemake's state (stopped before a unit's
    record was written), and so is the report (``report/``) there. Anything else is the user's:
    ``particles.star``, ``mask.mrc`` or ``report/report.html`` kept in ``output.dir: .``, say.

    ``output.overwrite: true`` replaces the metadata, masks and check an unfinished run of
    another job file left (its unit records are there: without it, `check_output_dir` refused
    them), and what a run redoing a finished one left when stopped after removing that run's
    records (logs, report, check, and unit outputs and masks whose MRC labels are maskrun's);
    never a file no run of maskrun accounts for: a user who copied a job with ``overwrite:
    true`` and pointed it at a RELION job's folder would lose that job's ``particles.star``.

    Raises
    ------
    UserError
        Naming, for each kind of file in the way, the first, the others of its kind, and the fix:
        another ``output.dir``, or ``output.overwrite: true`` for what a run of maskrun left;
        another ``output.dir`` or moving the file away for one maskrun did not write,
        ``output.overwrite`` or not.
    """
    overwrite = plan.job.spec.output.overwrite
    mine = {plan.lock_path}
    recorded = 0
    for unit in plan.units:
        record = read_record(plan.record_path(unit))
        if isinstance(record, dict) and record.get("unit") == unit.id and "job_sha256" in record:
            mine |= {plan.record_path(unit), plan.unit_output(unit), plan.log_path(unit.id)}
            mine |= {path for path in [plan.particle_masks_output(unit)] if path is not None}  # output.save_masks
            recorded += 1
    if owners.of_this_job_file or (owners.others and overwrite):  # (their run was killed while gathering)
        mine |= {*plan.metadata_outputs, *plan.mask_outputs(), *[p for p in [plan.check_output] if p is not None]}
    # a run leaves its saved plan first: a run stopped before its first unit (Ctrl-C at once, a
    # Snakemake option mistyped) has left only that and its logs, which the same command may replace
    saved_plan = plan_paths(plan.output_dir)[0].exists()
    # (not Snakemake's .snakemake/: any Snakemake run of the user's in this folder leaves one, and maskrun's runs
    # save their plan before Snakemake starts)
    traces = recorded or saved_plan or plan.lock_path.exists()
    unit_logs = [plan.log_path(unit.id) for unit in plan.units] + [plan.log_path("gather")]
    particle_masks = [plan.particle_masks_output(unit) for unit in plan.units]
    labelled = [plan.unit_output(unit) for unit in plan.units] + [p for p in particle_masks if p is not None]
    labelled = [path for path in labelled if _written_by_maskrun(path)]
    # what a run of maskrun left that no record accounts for (a redo stopped after retiring the finished run, before
    # its own records), told by what it holds: output.overwrite: true replaces it, and the refusal says so
    left_over = {*labelled, *(path for path in plan.mask_outputs() if _written_by_maskrun(path))}
    left_over |= {path for path in unit_logs if _is_maskrun_log(path)}
    left_over |= set(plan.report_outputs()) if _is_maskrun_report(plan.report_dir / "report.html") else set()
    left_over |= {path for path in [plan.check_output] if path is not None and _is_maskrun_check(path)}
    if traces:  # a unit killed between writing its output and its record
        mine |= {*unit_logs, plan.log_path("snakemake"), *plan.report_outputs(), *labelled}  # (the report it redoes)
    if overwrite:
        mine |= left_over
    conflicts: list[tuple[Path, str]] = []
    for path in plan.output_files():
        if path in mine or not is_taken(path):
            continue
        if path in left_over:
            fix = "exists, left by a run of maskrun that no record accounts for; set output.overwrite: true to replace "
            fix += "it, or choose another output.dir"
        else:
            fix = f"exists and was not written by maskrun; {NEVER_REPLACED}: choose another output.dir, or move the "
            fix += "file away"
        conflicts.append((path, fix))
    _refuse_conflicts(plan, conflicts)


def check_finished_outputs(plan: JobPlan, record: dict[str, Any]) -> None:
    """Refuse to redo a finished run (``output.overwrite: true``) over a file that is not what a run of maskrun wrote.

    A file at a name the run writes is maskrun's when it is as the finished run's record
    has it (an output it lists: its size, and its checksum once its modification time moved;
    `_as_recorded`), when it is a unit record, a maskrun log or the record's report (its
    page, and the figures the page embeds byte for byte), or, for what the record does not
    list, when it tells it is maskrun's (an MRC file's labels, a check's JSON). Anything else
    is the user's: their own ``mask.mrc`` saved over the run's, a stack edited in place, a
    link.

    Raises
    ------
    UserError
        Naming, for each kind, the first such file and the others, and the fix: move it away
        or delete it, or choose another ``output.dir``.
    """
    out, end = plan.output_dir, record.get("end")
    listed = {out / str(e.get("path", "")): e for e in record.get("outputs", []) if isinstance(e, dict)}
    recorded_units = {path for path, _ in unit_records(out)}
    logs = {plan.log_path(step) for step in [*(unit.id for unit in plan.units), "gather", "report"]}
    page = plan.report_dir / "report.html"
    embedding = page.read_bytes() if _is_maskrun_report(page) else None
    conflicts: list[tuple[Path, str]] = []
    for path in plan.output_files():
        if path in (plan.run_record_path, plan.lock_path) or not is_taken(path):
            continue
        if path.is_symlink() or not path.is_file():
            ours = False  # maskrun writes no links (an output name that is a folder is refused before)
        elif path in listed:
            if not _as_recorded(path, listed[path]):
                conflicts.append(
                    (
                        path,
                        f"changed since the run it replaces finished at {end}: it is not the file that run wrote, and ",
                    )
                )
                continue
            ours = True
        elif path.parent == plan.run_record_path.parent:
            ours = path in recorded_units
        elif path == plan.log_path("snakemake"):
            ours = True  # Snakemake's own words; the finished run's (a user's log would not be named so)
        elif path in logs:
            ours = _is_maskrun_log(path)
        elif path == page:
            ours = embedding is not None
        elif path.parent == plan.report_dir:  # a figure: the page embeds it, or the run stopped before the page
            figure = base64.b64encode(path.read_bytes())
            ours = figure in embedding if embedding is not None else not page.exists() and _ran_with_report(record)
        elif plan.check_output is not None and path == plan.check_output:
            ours = _is_maskrun_check(path)
        else:
            ours = _written_by_maskrun(path)  # an MRC file a run of maskrun labelled; metadata the record lacks: not
        if not ours:
            conflicts.append((path, "exists and was not written by maskrun; "))  # (as check_no_foreign_files says)
    _refuse_conflicts(
        plan,
        [
            (path, f"{why}{NEVER_REPLACED}: move it away or delete it, or choose another output.dir")
            for path, why in conflicts
        ],
    )


def _refuse_conflicts(plan: JobPlan, conflicts: list[tuple[Path, str]]) -> None:
    """Refuse the files in the way, each ``(path, what is wrong and the fix)``: every kind, its first and the others
    (all found in one run, not one a run)."""
    if not conflicts:
        return
    kinds: dict[str, list[Path]] = {}
    for path, fix in conflicts:
        kinds.setdefault(fix, []).append(path)
    said = []
    for fix, paths in kinds.items():
        alike = [str(other) for other in paths[1:]]
        said.append(f"{paths[0]} {fix}" + (f"; {len(alike)} more such: {first_named(alike)}" if alike else ""))
    raise UserError("; and ".join(said), source=str(plan.job.path), field="output.dir")


def check_report_folder(plan: JobPlan) -> None:
    """Refuse to draw a report (``maskrun report``) over files of ``report/`` that maskrun did not write.

    A job with ``report: true`` had its run refuse them before it started (`check_no_foreign_files`);
    with ``report: false`` the run left ``report/`` alone, so its files are maskrun's only when
    ``report.html``, written last, is a maskrun report.

    Raises
    ------
    UserError
        Naming the first such file and the fix.
    """
    html = plan.report_dir / "report.html"
    if plan.job.spec.report or _is_maskrun_report(html):
        return
    _refuse_others_in_report(plan, "the job says report: false, so its run left report/ alone", "maskrun report")


def _refuse_others_in_report(plan: JobPlan, why: str, writer: str) -> None:
    """Refuse the first file of ``report/`` that the report would write over: "... not from maskrun's report (why)"."""
    _refuse_taken_by_others(
        plan,
        [path for path in plan.report_outputs() if path.parent == plan.report_dir],
        f"maskrun's report ({why}); {writer} would write over it: move it away first",
        "report",
    )


def _refuse_taken_by_others(plan: JobPlan, paths: list[Path], not_from: str, field: str) -> None:
    """Refuse the first of ``paths`` in use (`is_taken`): "PATH exists and is not from <not_from>", naming ``field``."""
    for path in paths:
        if is_taken(path):
            raise UserError(f"{path} exists and is not from {not_from}", source=str(plan.job.path), field=field)


def report_missing(plan: JobPlan) -> bool:
    """Whether a finished run of a job that asks for a report lacks it (stopped while drawing it, or a full disk).

    The run record is written before the report is drawn, so such a folder looks finished:
    its run then draws the report instead of saying there is nothing to do. (Also when the
    run was made with ``report: false``, which is not an edit: `check_report_to_draw` then
    guards the folder as ``maskrun report`` does.)
    """
    return plan.job.spec.report and not _is_maskrun_report(plan.report_dir / "report.html")


def check_report_to_draw(plan: JobPlan, record: dict[str, Any]) -> None:
    """Refuse to draw a finished run's missing report over files of ``report/`` that its run did not write.

    A run made with ``report: true`` refused such files before it started, so what ``report/``
    holds is its own unfinished report. One made with ``report: false`` (the job as written in
    its record) left ``report/`` alone: what is there is the user's, as for `check_report_folder`.

    Raises
    ------
    UserError
        Naming the first such file and the fix.
    """
    if _ran_with_report(record):
        return
    _refuse_others_in_report(plan, "the run was made with report: false, so it left report/ alone", "maskrun")


def _ran_with_report(record: dict[str, Any]) -> bool:
    """Whether a run record's job, as written, asked for a report (``report: false`` left ``report/`` alone)."""
    try:
        written = yaml.safe_load(str(record.get("job_as_written", "")))
    except yaml.YAMLError:
        written = None
    return isinstance(written, dict) and written.get("report", True) is not False


def _is_maskrun_report(path: Path) -> bool:
    """Whether ``path`` is a page `maskrun.report.build` wrote (its title says so)."""
    try:
        with open(path, "rb") as file:
            return b"<title>maskrun report: " in file.read(200)
    except OSError:
        return False


def _is_maskrun_log(path: Path) -> bool:
    """Whether ``path`` is a unit's or the gather's log (its first line: ``<time> start <unit>``)."""
    try:
        with open(path, "rb") as file:
            first = file.readline(200)
    except OSError:
        return False
    return re.match(rb"\d{4}-\d\d-\d\dT[\d:.]+[+-]\d\d:\d\d start [\w.-]+\n", first) is not None


def _is_maskrun_check(path: Path) -> bool:
    """Whether ``path`` is a half-map check's JSON maskrun wrote (its verdict and measures)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and {"verdict", "measures", "reasons"} <= data.keys()


def _written_by_maskrun(path: Path) -> bool:
    """Whether an MRC file's labels (header bytes 224-1024) include one maskrun adds (to masked data or a mask)."""
    try:
        with open(path, "rb") as file:
            labels = file.read(1024)[224:]
    except OSError:
        return False
    return any(is_maskrun_label(label) for label in _labels(labels))


def _labels(raw: bytes) -> list[bytes]:
    return [raw[i : i + 80] for i in range(0, len(raw), 80)]


def finished_run(job: Job) -> dict[str, Any]:
    """The run record of this very job, finished, with its inputs and outputs as they were: what its report draws.

    A report drawn from a run of the job before it or its inputs changed would mix the two
    (the run's numbers beside the job as written now), so it is refused, as ``maskrun run``
    refuses to call such a folder finished.

    Raises
    ------
    UserError
        When the output folder holds no finished run, a run of another job or of this job
        before it was edited, or an input or output changed since the run.
    """
    record = read_record(job.output_dir / "provenance" / "run.json")
    again = f"maskrun run {job.path}"
    if record is None:
        raise UserError(f"{job.output_dir} holds no finished run; run the job first ({again})")
    redo = f"run the job again first ({again}, with output.overwrite: true)"
    if not is_run_of(record, job):
        owner = record.get("job_file", "another job")
        if owner == str(job.path):
            raise UserError(
                f"{job.output_dir} holds a finished run of this job file before it was edited"
                f"{_what_changed(record, job)}; its report would "
                f"mix the run with the job as written now: {redo}, or restore the job file",
                source=str(job.path),
            )
        moved = moved_folder(record, job)
        if moved is not None:
            raise UserError(_moved_words(job, record, *moved), source=str(job.path), field="output.dir")
        raise UserError(
            f"{job.output_dir} holds a finished run of {owner}, not of this job as written{_what_differs(record, job)}"
            "; make the report "
            f"with that job file, or {redo}",
            source=str(job.path),
            field="output.dir",
        )
    changes = changed_files(job, record, by_change_time=False)
    if changes:
        if _edited(changes):  # a redo never writes over it
            redo = f"move {_it_or_them(changes)} away or delete {_it_or_them(changes)}, then {redo}"
        raise UserError(
            f"{_changes_words(changes, record)}; its report would mix the run with the files as they are now: {redo}",
            source=str(job.path),
        )
    return record


def _moved_words(job: Job, record: dict[str, Any], where: Path, now: Path) -> str:
    """A finished run of this job as it was in another folder (`moved_folder`), in words: where it was, and the fix."""
    owner = str(record.get("job_file"))
    if job_file_holds_run(record):
        back = f"; use the original in {where}, or"
    elif Path(owner).is_file():  # neither the original nor the folder moved back is the job that ran
        back = ", and the original was edited since into another job;"
    else:
        back = f"; move the folder back to {where}, or"
    return (
        f"{job.output_dir} holds a finished run of this job as it was in {where} ({owner}), before the folder was "
        f"moved or copied to {now}: the run's record names its job file and inputs in {where}, so it is not taken as "
        f"this job's here{back} set output.overwrite: true to redo it here (every unit masked again), or "
        "choose another output.dir"
    )


def _what_differs(record: dict[str, Any], job: Job) -> str:
    """`` (mask.geometry.radius differs)``: the first setting in which the recorded job is not ``job``, when told."""
    key = first_change(record, job)
    return f" ({key} differs)" if key else ""


def _what_changed(record: dict[str, Any], job: Job) -> str:
    """`` (mask.geometry.radius changed)``: the first setting the edit changed, when the record tells."""
    key = first_change(record, job)
    return f" ({key} changed)" if key else ""


CHANGED, GONE = "changed", "is gone or cannot be read"  # how a file differs from its record


@dataclass(frozen=True)
class ChangedFile:
    """An input or output of a finished run that is not as its record has it.

    ``kind``: ``input`` or ``output``; ``how``: ``changed``, or ``is gone or cannot be read``;
    ``edited``: an output still there that a redo would not replace (`_as_recorded`: not
    maskrun's any more, edited in place or saved over).
    """

    kind: str
    path: Path
    how: str
    edited: bool = False


def changed_files(job: Job, record: dict[str, Any], by_change_time: bool = True) -> list[ChangedFile]:
    """Every input and output that is not as the run record says (inputs first); empty when all are as they were.

    One rule for both (`_unchanged`): sizes first; then the checksum of each file whose
    modification time (and, ``by_change_time``, change time) moved since it was recorded
    (touched, or copied without its times, with the same bytes, it has not changed), so an
    untouched folder is told without reading a file; with no checksum recorded
    (``provenance.checksums: none``) a moved time is a change, since nothing tells it from an
    edit. Whether a changed output is one a redo would replace is another question,
    `_as_recorded`'s (``edited``).

    Without ``by_change_time`` (a finished folder looked at without ``output.overwrite``), a
    file given back its modification time after an edit (``touch -r``) is not told: the change
    time moves also on ``chmod -R`` and in a copy by ``rsync -a`` or ``cp -a``, and the record
    keeps the old one, so every later look would hash those files again, each time.
    """
    changes = []
    # not the job file, the run's or this one: the job is the same by its recipe (`is_run_of`), wherever its file is
    # now or whatever comments it holds; a job file written to a temporary folder, gone since, is no changed input
    job_files = {str(job.path), str(record.get("job_file"))}
    entries = [("input", Path(e["path"]), e) for e in record.get("inputs", []) if str(e["path"]) not in job_files]
    entries += [("output", job.output_dir / e["path"], e) for e in record.get("outputs", [])]
    for kind, path, entry in entries:
        try:
            stat = path.stat()
        except OSError:
            changes.append(ChangedFile(kind, path, GONE))
            continue
        if kind == "output" and not path.is_file():
            changes.append(ChangedFile(kind, path, GONE))
            continue
        known = entry if "mtime_ns" in entry else entry | {"mtime_ns": stat.st_mtime_ns}  # older records: size alone
        if not _unchanged(path, known, by_change_time):
            changes.append(ChangedFile(kind, path, CHANGED, edited=kind == "output" and not _as_recorded(path, known)))
    return changes


def _changes_words(changes: list[ChangedFile], record: dict[str, Any]) -> str:
    """``input A changed since this job finished at END; 2 more such: B, C; and output D changed``: each kind of
    change (inputs apart from outputs, changed apart from gone), its first file and the others, in one line."""
    kinds: dict[tuple[str, str], list[Path]] = {}
    for change in changes:
        kinds.setdefault((change.kind, change.how), []).append(change.path)
    said: list[str] = []
    for (kind, how), paths in kinds.items():
        since = f" since this job finished at {record.get('end')}" if not said else ""
        others = [str(path) for path in paths[1:]]
        said.append(
            f"{kind} {paths[0]} {how}{since}" + (f"; {len(others)} more such: {first_named(others)}" if others else "")
        )
    return "; and ".join(said)


def _edited(changes: list[ChangedFile]) -> str:
    """What to say of the outputs a redo would not replace (``it is not the file the run wrote``), or ``""``."""
    edited = [change.path for change in changes if change.edited]
    if not edited:
        return ""
    if edited != [change.path for change in changes if change.kind == "output" and change.how == CHANGED]:
        return f"output{'s' * (len(edited) > 1)} {first_named(edited)} {_are(edited)} not what the run wrote"
    if len(edited) > 1:
        return "the outputs changed are not the files the run wrote"
    if len(changes) > 1:
        return "the output changed is not the file the run wrote"
    return "it is not the file the run wrote"


def _are(paths: list[Path]) -> str:
    return "are" if len(paths) > 1 else "is"


def _it_or_them(changes: list[ChangedFile]) -> str:
    return "them" if sum(change.edited for change in changes) > 1 else "it"


def units_to_redo(plan: JobPlan, record: dict[str, Any]) -> list[Unit]:
    """The units a redo of a finished run (``output.overwrite: true``, ``record``: its run record) masks again.

    Every unit, unless the job is the same (`is_run_of`: as it resolves), the run had the same
    units, and no input changed but stacks or maps the units read: a changed metadata file,
    mask file, half-map or passthrough may change any unit, or the plan, also when it is a map
    a unit reads too (`JobPlan.shared_files`: the mask's map, a term's, a half-map). Then only the units
    that read a changed stack or map, and those whose record or output is not as the run left it
    (`_unit_kept`); the others are kept, and the resumed run's `unit_done` skips them (the
    gather still checks that what each unit read is as it read it).
    """
    every = list(plan.units)
    if not is_run_of(record, plan.job) or record.get("units") != [unit.id for unit in plan.units]:
        return every
    changed = {change.path for change in changed_files(plan.job, record) if change.kind == "input"}
    read = {path for unit in plan.units for path in plan.unit_files(unit)}
    if not changed <= read or changed & set(plan.shared_files()):  # a map that is also the mask's: every unit
        return every
    return [unit for unit in plan.units if changed & set(plan.unit_files(unit)) or not _unit_kept(plan, unit)]


@dataclass(frozen=True)
class Redo:
    """What a redo of the finished run in the output folder masks again (`planned_redo`).

    ``units``: those masked again, in plan order; ``own``: how many of them read a changed
    stack or map or have an output not as recorded (the others Snakemake masks again by its
    own rules); ``every``: the job's units.
    """

    units: list[Unit]
    own: int
    every: int


def planned_redo(plan: JobPlan, rerun: Callable[[list[Unit]], list[Unit]] | None = None) -> Redo | None:
    """What a redo of the finished run in the output folder will mask (``output.overwrite: true``); None when the
    folder holds no finished run, or the job does not redo it.

    ``rerun``: given the units the redo keeps, those the workflow will mask again all the same
    (its own rules: an input newer than the output, other code), counted with the redo's.
    """
    record = read_record(plan.run_record_path)
    if record is None or not plan.job.spec.output.overwrite:
        return None
    redo, every = units_to_redo(plan, record), len(plan.units)
    also = rerun([unit for unit in plan.units if unit not in redo]) if rerun is not None and len(redo) < every else []
    return Redo([unit for unit in plan.units if unit in redo or unit in also], len(redo), every)


def describe_redo(plan: JobPlan, redo: Redo | None) -> str | None:
    """A redo (`planned_redo`) in words, for ``validate`` and ``run --dry-run``; None without one."""
    if redo is None:
        return None
    every, own = redo.every, redo.own
    unit = "unit" if every == 1 else "units"
    if len(redo.units) == every:
        return f"output.overwrite: true: redoes the finished run in {plan.output_dir}, all {every} {unit}"
    gathers = f"gathers{' and reports' if plan.job.spec.report else ''} again"
    if not redo.units:
        return (
            f"output.overwrite: true: redoes the finished run in {plan.output_dir}: with nothing changed, it only "
            + gathers
        )
    named = f" ({first_named([u.id for u in redo.units])})"
    return (
        f"output.overwrite: true: redoes the finished run in {plan.output_dir}: masks {len(redo.units)} of its "
        f"{every} {unit} again{named}{_why_redone(own, len(redo.units) - own)}, keeps the others, and {gathers}"
    )


def _why_redone(own: int, also: int) -> str:
    """Why units are masked again: ``, those that read a changed stack …``, or, with ``also`` units Snakemake masks
    again by its own rules, how many of each."""
    why = "read a changed stack or map or whose output is not as recorded"
    if not also:
        return f", those that {why}"
    return (
        f": {own} that {why}, {also} that Snakemake masks again by its own rules (an input newer than the output, "
        "a stack touched, or other code)"
    )


def _unit_kept(plan: JobPlan, unit: Unit) -> bool:
    """Whether a finished unit is as its run left it: its record this job's, of the same rows and files, its
    output (and saved masks) as the record has them (`_unchanged`), and its output of the dtype this plan writes.

    The dtype is the set's, not the unit's (a set is written as float16 only when every stack or
    map is): one stack re-extracted as float32 makes every unit's output float32, and a unit kept
    as float16 would differ from a fresh run's.
    """
    record = read_record(plan.record_path(unit))
    if not isinstance(record, dict) or record.get("unit") != unit.id or not is_run_of(record, plan.job):
        return False
    if unlike_the_plan(plan, unit, record) is not None:
        return False
    files = [(plan.unit_output(unit), record.get("output"))]
    masks = plan.particle_masks_output(unit)
    files += [(masks, record.get("saved_masks"))] if masks is not None else []
    return all(
        isinstance(entry, dict) and plan.output_dir / str(entry.get("path", "")) == path and _unchanged(path, entry)
        for path, entry in files
    )


def unlike_the_plan(plan: JobPlan, unit: Unit, record: dict[str, Any]) -> str | None:
    """Why a finished unit's record is not of this plan's unit (other rows or files, its output of another type than
    the set is written as now), in words; None when it is. A redo (`_unit_kept`) and a resume
    (`maskrun.jobs.kept_units`) mask such a unit again."""
    rows = [unit.first_row, unit.stop_row] if unit.is_batch else None
    files = sorted({str(path) for path in plan.unit_files(unit)})
    if record.get("rows") != rows or sorted(record.get("inputs", [])) != files:
        return "its rows or files are not the job's as planned now"
    if not _written_as(plan.unit_output(unit), plan.output_dtype):
        return f"the job's output is {plan.output_dtype.name} now (a stack or map of another type since)"
    return None


def _written_as(path: Path, dtype: np.dtype) -> bool:
    """Whether an MRC file's data are of ``dtype`` (its header's mode; False when it cannot be read)."""
    try:
        written = inspect_mrc(path).dtype
    except (OSError, ValueError, UserError):  # gone, not an MRC file, cut short: redone
        return False
    return written is not None and written.newbyteorder("=") == dtype.newbyteorder("=")


def retire_run(plan: JobPlan) -> list[Path]:
    """Remove a finished run about to be redone: its record, metadata, unit records, outputs, logs and report; but
    the units the redo keeps (`units_to_redo`: the same job, and only stacks or maps some units read changed).

    All at the redo's start, so that a redo that fails or is stopped leaves only its own
    units, and the units it keeps, beside the user's files: not the old run's report or mask
    describing outputs that are gone, nor its stacks beside the new ones as if part of them, nor
    a unit whose input changed. Only maskrun's records go
    (any run's: the old run may have had other units), and the outputs its record lists only
    as it has them (size and checksum: an output the user replaced since is theirs, and so is
    one the new job reads); the report's page and the figures it embeds byte for byte (a
    picture the user put in ``report/`` stays). Whatever else ``provenance/`` holds is not
    maskrun's and stays.

    Returns
    -------
    list of Path
        The old run's outputs removed that this run does not write again (for a note: another
        job's run replaced under ``output.overwrite: true`` loses them all).
    """
    record = read_record(plan.run_record_path)
    redo = units_to_redo(plan, record) if isinstance(record, dict) else list(plan.units)
    kept = [unit for unit in plan.units if unit not in redo]
    keep = {plan.record_path(unit) for unit in kept} | {plan.log_path(unit.id) for unit in kept}
    keep |= {plan.unit_output(unit) for unit in kept}
    keep |= {path for unit in kept if (path := plan.particle_masks_output(unit)) is not None}
    removed = _remove_recorded_outputs(plan, keep) + _remove_old_report(plan)
    plan.run_record_path.unlink(missing_ok=True)
    for path in plan.metadata_outputs:
        path.unlink(missing_ok=True)
    for path, _ in unit_records(plan.output_dir):
        if path not in keep:
            path.unlink(missing_ok=True)
    for folder in (plan.run_record_path.parent, plan.report_dir):
        with contextlib.suppress(OSError):  # gone, or holding what is not maskrun's
            folder.rmdir()
    return removed


def _remove_recorded_outputs(plan: JobPlan, keep: set[Path]) -> list[Path]:
    """Delete the files the run record says its run wrote (outputs; unit, gather and report logs) as it has them,
    but those of ``keep``.

    Returns the outputs removed that this plan will not write again.
    """
    record = read_record(plan.run_record_path)
    if not isinstance(record, dict):
        return []
    removed = []
    kept = set(plan.output_files())
    spared = input_identities(plan)  # a new job may read what the old run wrote (its half-maps, a stack)
    candidates = [(plan.output_dir / str(entry.get("path", "")), entry) for entry in record.get("outputs", [])]
    steps = [*(str(unit) for unit in record.get("units", [])), "gather", "report"]
    candidates += [(plan.log_path(step), None) for step in steps]
    for path, entry in candidates:
        if path in keep or not _removable(plan, path) or file_identity(path) in spared:
            continue
        if entry is None and not _is_maskrun_log(path):
            continue
        if entry is None or _as_recorded(path, entry):  # an output the user replaced since is theirs
            path.unlink(missing_ok=True)
            if entry is not None and path not in kept:
                removed.append(path)
    return removed


def _remove_old_report(plan: JobPlan) -> list[Path]:
    """Delete the old report: its maskrun page and the figures it embeds; returns those this run does not draw again.

    A figure is the old report's when it has a report figure's name and the page embeds it
    byte for byte (the page carries each figure inline): a picture the user put in
    ``report/``, or a copy of a figure under another name, stays.
    """
    page_path = plan.report_dir / "report.html"
    if not _removable(plan, page_path) or not _is_maskrun_report(page_path):
        return []
    page, kept, removed = page_path.read_bytes(), set(plan.output_files()), []
    for figure in (plan.report_dir / name for name in REPORT_FIGURES):
        if _removable(plan, figure) and base64.b64encode(figure.read_bytes()) in page:
            figure.unlink()
            removed += [figure] if figure not in kept else []
    page_path.unlink()
    removed += [page_path] if page_path not in kept else []
    return removed


def _unchanged(path: Path, entry: dict[str, Any], by_change_time: bool = True) -> bool:
    """Whether a file is as a record's entry has it: its size, and, unless its modification and change times are
    those recorded, its checksum (none recorded, ``provenance.checksums: none``: a moved time cannot be told from
    an edit, so the file has changed). The change time (`same_ctime`) tells a file edited and given back its
    modification time (``touch -r``), or renamed over one of its size and time; an entry without it, as before."""
    try:
        stat = path.stat()
    except OSError:
        return False
    if stat.st_size != entry.get("bytes"):
        return False
    same_times = entry.get("mtime_ns") == stat.st_mtime_ns and (not by_change_time or same_ctime(entry, stat))
    return same_times or same_content(entry, path)


def _as_recorded(path: Path, entry: dict[str, Any]) -> bool:
    """Whether an output is still the one a run record lists, so that maskrun may replace or remove it: `_unchanged`,
    or, with no checksum recorded (``provenance.checksums: none``), of its size and, for an MRC file, with maskrun's
    label.

    Not `_unchanged` alone: this asks whose file it is, not whether it changed. Without a checksum,
    every touched output would otherwise be the user's, and a ``checksums: none`` folder could not be
    redone without removing files by hand; the label tells maskrun's MRC file from one saved over it.
    """
    if _unchanged(path, entry):
        return True
    if recorded_checksum(entry) is not None or not path.is_file() or path.stat().st_size != entry.get("bytes"):
        return False
    return path.suffix.lower() not in (".mrc", ".mrcs") or _written_by_maskrun(path)


def remove_stale_units(plan: JobPlan) -> list[Path]:
    """Delete the units an unfinished earlier run left that this plan has not (call while holding the lock).

    A run killed after some units, whose job was then edited (another ``batch_size``, fewer
    maps), leaves those units' outputs, records and logs; the new run writes others, and
    they would stay beside its outputs as if part of them. A unit is such a leftover when its
    record (``provenance/<unit>.json``, naming itself) is maskrun's and its unit is not one of
    this plan's; its output goes only as the record has it (size and checksum), so a file the
    user put in its place stays, and never when this plan reads it (then its record and log stay too).

    Returns
    -------
    list of Path
        The unit outputs removed.
    """
    planned = {unit.id for unit in plan.units}
    spared = None  # the edited job may read a leftover unit's output; asked only when there is one (a stat an input)
    removed = []
    for path, record in unit_records(plan.output_dir):
        if path.stem in planned:
            continue
        entry = record.get("output")
        output = plan.output_dir / str(entry.get("path", "")) if isinstance(entry, dict) else None
        spared = input_identities(plan) if spared is None else spared
        if output is not None and output.exists() and file_identity(output) in spared:
            continue  # its record and log stay too: they tell where the input came from
        if isinstance(entry, dict) and output is not None and _removable(plan, output) and _as_recorded(output, entry):
            output.unlink(missing_ok=True)
            removed.append(output)
        plan.log_path(path.stem).unlink(missing_ok=True)
        path.unlink(missing_ok=True)
    return removed


def _removable(plan: JobPlan, path: Path) -> bool:
    """A plain file inside the output folder (not a link, not reached through ``..``)."""
    return path.resolve().is_relative_to(plan.output_dir.resolve()) and path.is_file() and not path.is_symlink()


def output_folders(output_dir: Path) -> list[Path]:
    """The folders a run writes files into: the output folder, its subfolders and maskrun's own ``.maskrun/``."""
    subfolders = ("stacks", "volumes", "provenance", "logs", "masks", "report", "check")
    return [output_dir, *(output_dir / sub for sub in subfolders), plan_paths(output_dir)[0].parent]


def remove_own_parts(output_dir: Path, pid: int) -> None:
    """Delete the temporary files (``.NAME.part-PID``) process ``pid`` left in a run's folders.

    For a unit stopped the instant after a writer made its file and before the writer's
    ``with`` could remove it: only that process's files, in the run's own folders (not a
    walk of the whole output folder).
    """
    for folder in output_folders(output_dir):
        for path in folder.glob(f".*.part-{pid}"):
            path.unlink(missing_ok=True)


def remove_partial_files(plan: JobPlan) -> list[Path]:
    """Delete temporary files left in the output folder by a killed run (call while holding the lock).

    Only maskrun's: ``.NAME.part-PID`` where NAME is a file the run writes there (or any name in
    its own ``.maskrun/``), and PID is no live process (a live one may be another maskrun
    command writing into this folder now); and SQLite's ``-journal`` beside such a set. A
    user's ``.thesis.part-final`` or ``.data.part-99`` is not a temporary file of this run, and
    stays.
    """
    removed = []
    ours = {*plan.output_files(), *plan.report_outputs()}
    own_folder = plan_paths(plan.output_dir)[0].parent
    for folder in output_folders(plan.output_dir):
        for path in folder.glob(PARTIAL_PATTERN):
            found = part_of(path)
            if found is None or (folder != own_folder and folder / found[0] not in ours):
                continue
            if path.is_file() and not process_alive(found[1]):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                removed.append(path)
    return removed


def planned_bytes(plan: JobPlan) -> int:
    """Bytes the images of a run will take (float32 or float16, with a 1 KB header each), less what is done."""
    total = 0
    for unit in plan.units:
        output = plan.unit_output(unit)
        if output.exists():
            continue
        if unit.is_batch:
            ny, nx = plan.particle_set.box_yx
            total += 1024 + (unit.stop_row - unit.first_row) * ny * nx * plan.output_dtype.itemsize
        else:
            total += 1024 + int(np.prod(plan.volume_set.maps[unit.map_index].shape_zyx)) * plan.output_dtype.itemsize
    return total


def _refuse_shared_folder(folder: Path) -> None:
    """Refuse the file system's root or the home folder itself: a run fills its folder with stacks/, logs/, ..."""
    resolved = folder.resolve()
    shared_folders = ((Path(resolved.anchor), "the file system's root"), (Path.home().resolve(), "your home folder"))
    for shared, what in shared_folders:
        if resolved == shared:
            raise UserError(
                f"{folder} is {what}, and a run fills its output folder with stacks, logs, a report and its "
                f"own records; give the job a folder of its own (e.g. {Path.home() / 'maskrun' / 'JOB_NAME'})",
                field="output.dir",
            )


def check_room(plan: JobPlan) -> None:
    """Refuse an output folder that is a file, read-only, or too full for the run, or a thing in the way (exit 2).

    The file system's root and the home folder are refused too: they hold the user's files.

    In the way: a file (or a link pointing nowhere) where the run makes a folder (``stacks/``,
    its own ``.maskrun/``, Snakemake's ``.snakemake/``), or a folder where it keeps its lock
    file (``.maskrun.lock``). Found only as the run makes them, they failed it (exit 1) after
    `maskrun validate` said the job was valid.

    Raises
    ------
    UserError
        Naming the folder and the fix.
    """
    own = {plan_paths(plan.output_dir)[0].parent, plan.output_dir / ".snakemake"}  # the saved plan's, Snakemake's
    try:
        _refuse_shared_folder(plan.output_dir)
        check_output_location(plan.output_dir, planned_bytes(plan), field="output.dir", margin_bytes=MARGIN_BYTES)
        for folder in sorted({path.parent for path in plan.output_files()} | own):
            if is_taken(folder) and not folder.is_dir():
                raise UserError(
                    f"{folder} is a file where the run writes a folder; move it away or choose another output.dir",
                    field="output.dir",
                )
        if plan.lock_path.is_dir():
            raise UserError(
                f"{plan.lock_path} is a folder where the run keeps its lock file; move it away or choose another "
                "output.dir",
                field="output.dir",
            )
    except UserError as exc:
        exc.source = str(plan.job.path)
        raise
