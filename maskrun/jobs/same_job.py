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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from maskrun.config.job_file import Job, load_job, parse_job
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
    """The first key (``mask.geometry.radius``) whose value differs between the recorded job and ``job``, if known.

    Of a job in a folder moved or copied since, whose paths may have moved with it or not (`moved_folder`), the first
    that differs however the folders are read (an edit), else the first that differs as written.
    """
    ran = recorded_job(record)
    if ran is None:
        return None
    recipe, current = ran.recipe(), job.recipe()
    as_written = list(_differences(recipe, current, ""))
    mapped = [set(_differences(_moved(recipe, *map(str, pair)), current, "")) for pair in _moved_folders(ran, job)]
    edited = [key for key in as_written if all(key in differ for differ in mapped)]
    return next(iter(edited or as_written), None)


def moved_folder(record: dict[str, Any], job: Job) -> tuple[Path, Path] | None:
    """``(where, now)``: the folder a run record's job and its files were in and the one ``job``'s are in, when the
    two resolve alike but for that folder (a project folder moved or copied whole: its job file, inputs and output
    folder with it); None otherwise. The job files' own folders are tried first, then up through the trailing names
    they share, so that a path outside the folder that moved stays as it was."""
    ran = recorded_job(record)
    if ran is None:
        return None
    recipe, current = ran.recipe(), job.recipe()
    return next((pair for pair in _moved_folders(ran, job) if _moved(recipe, *map(str, pair)) == current), None)


def job_file_holds_run(record: dict[str, Any]) -> bool:
    """Whether the job file a run record names is still there and still the job that ran (not edited since into
    another job, `is_run_of`)."""
    path = record.get("job_file")
    if not isinstance(path, str) or not Path(path).is_file():
        return False
    try:
        return is_run_of(record, load_job(path))
    except UserError:  # it no longer reads: edited since
        return False


def _moved_folders(ran: Job, job: Job) -> list[tuple[Path, Path]]:
    """The folders a project may have moved from and to: the job files' own, then each pair of their parents while
    they share the trailing names (``demo/jobs`` and ``moved/jobs``: those, then ``demo`` and ``moved``); none when
    the job files' folders are one."""
    where, now = ran.folder, job.folder
    pairs = [] if where == now else [(where, now)]
    while pairs and where.name == now.name and where != where.parent and now != now.parent:
        where, now = where.parent, now.parent
        pairs.append((where, now))
    return pairs


def _moved(value: object, where: str, now: str) -> object:
    """``value`` with every path in or at ``where`` read in or at ``now``."""
    if isinstance(value, dict):
        return {key: _moved(item, where, now) for key, item in value.items()}
    if isinstance(value, list):
        return [_moved(item, where, now) for item in value]
    if isinstance(value, str) and (value == where or value.startswith(where.rstrip(os.sep) + os.sep)):
        return now + value[len(where) :]
    return value


def _differences(old: object, new: object, where: str) -> Iterator[str]:
    """Every key (``mask.geometry.radius``) whose value differs between ``old`` and ``new``, in ``old``'s order."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in [*old, *(k for k in new if k not in old)]:
            yield from _differences(old.get(key), new.get(key), f"{where}.{key}" if where else str(key))
    elif old != new:
        yield where or "the job"
