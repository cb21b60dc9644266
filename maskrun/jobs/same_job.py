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
spelling of it resolves to the same job. A finished run's job is told by its recipe alone, never by
its file's place; a project folder moved whole resolves to other paths, which `moved_folder` tells
apart from another job, so that the refusal names the folders.
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
        return ran.recipe() == job.recipe() and not resolved_otherwise(record, ran)
    if "job_recipe_sha256" in record:
        return bool(record["job_recipe_sha256"] == job.recipe_sha256)
    return bool(record.get("job_sha256") == job.sha256)


def resolved_otherwise(record: dict[str, Any], ran: Job | None = None) -> bool:
    """Whether a run record's job names paths by the environment (``$DATA``, ``~``) that resolved otherwise when it
    ran than they do now (``ran``: `recorded_job` of it, when the caller has it).

    Its text read now resolves in this run's environment, as the job being run does, whatever
    dataset it ran on: the recipe taken as it ran (``job_recipe_sha256``) tells another dataset's run.
    """
    ran = recorded_job(record) if ran is None else ran
    then = record.get("job_recipe_sha256")
    if ran is None or not isinstance(then, str) or not ("$" in ran.text or "~" in ran.text):
        return False
    return bool(then != ran.recipe_sha256)


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
    """The first key (``mask.geometry.radius``) whose value differs between the recorded job and ``job``, if known:
    of a job in a folder moved or copied since (`moved_folder`), the first beside the paths that moved with it."""
    ran = recorded_job(record)
    if ran is None:
        return None
    recipe, folders = ran.recipe(), _moved_folders(ran, job)
    if folders is not None:
        return _first_difference(_moved(recipe, *map(str, folders)), job.recipe(), "") or _first_difference(
            recipe, job.recipe(), ""
        )
    return _first_difference(recipe, job.recipe(), "")


def moved_folder(record: dict[str, Any], job: Job) -> tuple[Path, Path] | None:
    """``(where, now)``: the folder a run record's job and its files were in and the one ``job``'s are in, when the
    two resolve alike but for that folder (a project folder moved or copied whole: its job file, inputs and output
    folder with it); None otherwise."""
    ran = recorded_job(record)
    folders = None if ran is None else _moved_folders(ran, job)
    if ran is None or folders is None:
        return None
    return folders if _moved(ran.recipe(), *map(str, folders)) == job.recipe() else None


def _moved_folders(ran: Job, job: Job) -> tuple[Path, Path] | None:
    """The job files' own folders, less the trailing names they share (``demo/jobs`` and ``moved/jobs``: ``demo``
    and ``moved``); None when they are one."""
    where, now = ran.folder, job.folder
    while where.name == now.name and where != where.parent and now != now.parent:
        where, now = where.parent, now.parent
    return None if where == now else (where, now)


def _moved(value: object, where: str, now: str) -> object:
    """``value`` with every path in or at ``where`` read in or at ``now``."""
    if isinstance(value, dict):
        return {key: _moved(item, where, now) for key, item in value.items()}
    if isinstance(value, list):
        return [_moved(item, where, now) for item in value]
    if isinstance(value, str) and (value == where or value.startswith(where.rstrip(os.sep) + os.sep)):
        return now + value[len(where) :]
    return value


def _first_difference(old: object, new: object, where: str) -> str | None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in [*old, *(k for k in new if k not in old)]:
            found = _first_difference(old.get(key), new.get(key), f"{where}.{key}" if where else str(key))
            if found:
                return found
        return None
    return (where or "the job") if old != new else None
