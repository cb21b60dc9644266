"""Whose units an unfinished output folder holds, and a run of another job file refused over them.

A run stopped before its gather leaves its units' outputs and records (``provenance/<unit>.json``,
each naming itself) and no run record. The next run into the folder resumes the units of its
job as it resolves (`maskrun.jobs.same_job.is_run_of`, whichever file it is read from: a copy
or a renamed job file that resolves alike resumes them), and redoes those its own job file made
before an edit: the user who edited the job and runs it again means the edit. Units another
job file made are that job's work, which its own run would resume: a run of another job is
refused over them, as over another job's finished folder, unless ``output.overwrite: true``.

A unit's record names its job file (``job_file``, its absolute path as given; see
`maskrun.jobs.same_job.same_job_file`). A record without one (written by maskrun before its
records said) is told by the lock its killed run left, else taken as this job file's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from maskrun.config.job_file import Job
from maskrun.errors import UserError, first_named
from maskrun.jobs.plan import JobPlan, lock_file
from maskrun.jobs.provenance import read_record
from maskrun.jobs.run_lock import read_holder
from maskrun.jobs.same_job import is_run_of, same_job_file


def unit_records(output_dir: Path) -> list[tuple[Path, dict[str, Any]]]:
    """maskrun's unit records in ``<output>/provenance/``: a file named after the unit it records, in name order.

    A copy the user keeps under another name (``batch_00001.v1.json``), a link, or the run record is not one.
    """
    folder = output_dir / "provenance"
    found = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        record = read_record(path) if path.is_file() and not path.is_symlink() else None
        if isinstance(record, dict) and "job_sha256" in record and record.get("unit") == path.stem:
            found.append((path, record))
    return found


@dataclass(frozen=True)
class UnitOwners:
    """The units of an output folder (their ids), by the job that made them."""

    this_job: list[str] = field(default_factory=list)  # of the job as it resolves now: resumed
    edited: list[str] = field(default_factory=list)  # of this job file before an edit: redone
    others: dict[str, list[str]] = field(default_factory=dict)  # by another job file: that job's to resume

    @property
    def of_this_job_file(self) -> bool:
        """Whether any unit is this job's or its job file's (so what their run gathered is this job's to redo)."""
        return bool(self.this_job or self.edited)


def unit_owners(job: Job, output_dir: Path) -> UnitOwners:
    """Sort the unit records of ``output_dir`` by the job that made them (see the module's notes)."""
    holder = read_holder(lock_file(output_dir))
    lock_job = holder.job if holder is not None else ""
    owners = UnitOwners()
    for path, record in unit_records(output_dir):
        if is_run_of(record, job):
            owners.this_job.append(path.stem)
            continue
        made_by = record.get("job_file") or lock_job
        if not isinstance(made_by, str) or not made_by or same_job_file(made_by, job.path):
            owners.edited.append(path.stem)
        else:
            owners.others.setdefault(made_by, []).append(path.stem)
    return owners


def refuse_another_jobs_units(plan: JobPlan, owners: UnitOwners) -> None:
    """Refuse a run (without ``output.overwrite: true``) into a folder holding units another job file made
    (``owners``: `unit_owners` of the plan's job and output folder).

    Raises
    ------
    UserError
        Naming the folder, the other job file and its units, and the fixes: resume that job,
        choose another ``output.dir``, or set ``output.overwrite: true`` to discard them.
    """
    others = owners.others
    if not others:
        return
    (other, units), *more = sorted(others.items(), key=lambda item: -len(item[1]))
    also = "".join(f", and {len(ids)} of {name}" for name, ids in more)
    fix = "choose another output.dir, or set output.overwrite: true to discard them"
    if Path(other).is_file():
        fix = f"resume it with maskrun run {other}, {fix}"
    else:  # moved or renamed, and edited: as another job file (a rename alone resolves alike, and resumes)
        fix = f"that job file is no longer there (moved or renamed since); {fix}"
    raise UserError(
        f"{plan.output_dir} holds an unfinished run of another job file, {other}: {len(units)} finished "
        f"unit{'s' * (len(units) != 1)} ({first_named(units)}){also}; {fix}",
        source=str(plan.job.path),
        field="output.dir",
    )
