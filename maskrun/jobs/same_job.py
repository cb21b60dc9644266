"""Whether a run record (a run's or a unit's) is of a given job: the same job as it resolves (`Job.recipe`).

A job file edited in ways that do not change the outputs (a comment, formatting, key
order, a default written out, ``output.overwrite``, ``report``) is still the job that ran.
A run record keeps the job as written: it is read again with this maskrun, so that both
sides resolve alike (a field added by a later version gets its default in both). A record
whose text no longer reads (another version's) or that lacks it (a unit's) is compared by
its ``job_recipe_sha256``, and a record older than that by the text's own sha256.

A job *file* is told by its absolute path as given, or as the same file reached another way
(`same_job_file`): the same file edited is still that file; a copy, or the file moved or
renamed, is another. Its relative paths start at its real folder (`Job.folder`), so every
spelling of it resolves to the same job.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from maskrun.config.job_file import Job, parse_job
from maskrun.errors import UserError


def recorded_job(record: dict[str, Any]) -> Job | None:
    """The job a run record holds as written, read as from its job file; None when it does not read."""
    text, path = record.get("job_as_written"), record.get("job_file")
    if not isinstance(text, str) or not isinstance(path, str):
        return None
    try:
        return parse_job(Path(path), text)
    except (UserError, ValueError, TypeError):
        return None


def is_run_of(record: dict[str, Any], job: Job) -> bool:
    """Whether ``record`` (a run's or a unit's) is of ``job`` as it resolves now."""
    ran = recorded_job(record)
    if ran is not None:
        return ran.recipe() == job.recipe()
    if "job_recipe_sha256" in record:
        return bool(record["job_recipe_sha256"] == job.recipe_sha256)
    return bool(record.get("job_sha256") == job.sha256)


def same_job_file(recorded: object, path: Path) -> bool:
    """Whether ``recorded`` (a record's or a lock's ``job_file``) names the job file at ``path``: the same absolute
    path, or another name of the same file (a link, a folder reached another way)."""
    if not isinstance(recorded, str) or not recorded:
        return False
    if recorded == str(path):
        return True
    try:
        return os.path.samefile(recorded, path)
    except OSError:  # gone: moved or renamed since
        return False


def first_change(record: dict[str, Any], job: Job) -> str | None:
    """The first key (``mask.geometry.radius``) whose value differs between the recorded job and ``job``, if known."""
    ran = recorded_job(record)
    return None if ran is None else _first_difference(ran.recipe(), job.recipe(), "")


def _first_difference(old: object, new: object, where: str) -> str | None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in [*old, *(k for k in new if k not in old)]:
            found = _first_difference(old.get(key), new.get(key), f"{where}.{key}" if where else str(key))
            if found:
                return found
        return None
    return (where or "the job") if old != new else None
