"""The units a stopped run finished that its resume masks again: what they read is not what is there now.

A resumed run (``maskrun run`` or `maskrun.jobs.runner.run_job` again, without
``output.overwrite``) keeps the units the stopped run finished. Snakemake reruns one only
when its rule's inputs or params changed: a stack's size or modification time
(`maskrun.workflow.support.stacks_stamp`). A stack edited, then given back both (``touch -r``,
or a copy made with ``cp -p`` over it), was kept, and the run recorded the stack's new checksum
beside output masked from its old content. Its change time moved, which no user can set back:
such a unit is masked again, unless a checksum taken of the file as the unit read it (its size
and times) equals its checksum now (``chmod -R`` moves the change time alone). So is a unit
whose rows, files or output type are no longer the plan's (a stack re-extracted as float32
makes every batch float32). The files' stats now are those the plan read their headers at
(`ImageInfo.file_stat`): this asks nothing more of the file system but a proof's checksums.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from maskrun.jobs.output_state import unlike_the_plan
from maskrun.jobs.plan import JobPlan, Unit
from maskrun.jobs.provenance import input_entry, read_record, recorded_checksum
from maskrun.jobs.same_job import is_run_of

TIMES = ("bytes", "mtime_ns", "ctime_ns")  # what tells a version of a file from another, in a record's entry
# an input entry's earlier stats (each TIMES) at which the file was proven to hold the content it has now
SAME_CONTENT_AS = "same_content_as"


@dataclass(frozen=True)
class ChangedUnit:
    """A finished unit a resume masks again, and why (``its stack X changed since it read it …``)."""

    unit: Unit
    why: str


def units_read_changed(plan: JobPlan, earlier: dict[str, dict[str, Any]]) -> list[ChangedUnit]:
    """The units an earlier run of this job finished whose stacks or map changed since they read them, or whose rows,
    files or output type are not this plan's.

    ``earlier``: checksums earlier runs took of the stacks and maps, by path
    (`maskrun.jobs.input_checksums.earlier_checksums`). A file whose size and modification time
    are those the unit read, and whose change time alone moved, is hashed now when one of them
    was taken of it as the unit read it: equal, the unit is kept, and ``earlier`` takes the new
    checksum (the launcher's hashing then takes it rather than hash the file again), with the stats the
    unit read it at (``same_content_as``), for the gather's check of what each unit read.
    """
    now = image_stats(plan)
    proofs: dict[str, bool] = {}
    changed = []
    for unit in plan.units:
        record = read_record(plan.record_path(unit))
        if not isinstance(record, dict) or not is_run_of(record, plan.job) or not plan.unit_output(unit).exists():
            continue  # not done: masked anyway
        why = _why_changed(plan, unit, record, now, earlier, proofs)
        if why is not None:
            changed.append(ChangedUnit(unit, why))
    return changed


def image_stats(plan: JobPlan) -> dict[str, tuple[int, int, int] | None]:
    """Each stack's or map's ``(bytes, mtime_ns, ctime_ns)`` as the plan read its header, by path."""
    return {str(info.path): info.file_stat for info in plan.image_infos}


def _why_changed(
    plan: JobPlan,
    unit: Unit,
    record: dict[str, Any],
    now: dict[str, tuple[int, int, int] | None],
    earlier: dict[str, dict[str, Any]],
    proofs: dict[str, bool],
) -> str | None:
    unlike = unlike_the_plan(plan, unit, record)
    if unlike is not None:
        return unlike
    for seen in record.get("inputs_read", []):
        path = str(seen["path"])
        stat = now.get(path)
        if stat is None or (seen.get("bytes"), seen.get("mtime_ns")) != stat[:2]:
            return f"{path} changed since it read it"
        if "ctime_ns" not in seen or seen["ctime_ns"] == stat[2]:  # (a record of old: told by size and time)
            continue
        if path not in proofs:
            proofs[path] = _proven_unchanged(path, seen, stat, earlier)
        if not proofs[path]:
            return (
                f"{path} changed since it read it (its size and modification time are the same, its change time "
                "moved, and no checksum taken as it read it shows the same content)"
            )
    return None


def _proven_unchanged(
    path: str, seen: dict[str, Any], stat: tuple[int, int, int], earlier: dict[str, dict[str, Any]]
) -> bool:
    """Whether a checksum taken of the file as the unit read it (``seen``: its size and times) equals its checksum now,
    hashed now, the file as it is (``stat``: as the plan read its header); if so, ``earlier`` takes the new one."""
    known = earlier.get(path, {})
    then = recorded_checksum(known)
    if then is None or [known.get(key) for key in TIMES] != [seen.get(key) for key in TIMES]:
        return False
    try:
        entry = input_entry(Path(path), then[0], all_cores=True)
    except OSError:
        return False
    if (entry["bytes"], entry["mtime_ns"], entry.get("ctime_ns")) != stat or recorded_checksum(entry) != then:
        return False
    # the gather checks the unit's read against the checksum taken now: it says the content was this at those times
    proven = [*known.get(SAME_CONTENT_AS, []), [seen.get(key) for key in TIMES]]
    earlier[path] = entry | {SAME_CONTENT_AS: proven}
    return True


def forget_changed_units(plan: JobPlan, earlier: dict[str, dict[str, Any]]) -> str | None:
    """A resume's first step (call while holding the run lock): forget the units it masks again
    (`units_read_changed`, `forget_units`); returns their note (`changed_units_note`), None when there are none."""
    changed = units_read_changed(plan, earlier)
    forget_units(plan, changed)
    return changed_units_note(changed)


def forget_units(plan: JobPlan, changed: list[ChangedUnit]) -> None:
    """Delete the records of the units to mask again (call while holding the run lock): a unit is done while its record
    is there, for Snakemake (an output of its rule) as for `maskrun.jobs.runner.run_job`. Its output stays until the
    unit writes the new one over it, which then is its; a run stopped before is resumed alike."""
    for change in changed:
        plan.record_path(change.unit).unlink(missing_ok=True)


def changed_units_note(changed: list[ChangedUnit]) -> str | None:
    """``masks again 2 units a stopped run had finished (batch_00001: …)``, or None when there are none."""
    if not changed:
        return None
    units = "unit" if len(changed) == 1 else "units"
    first = changed[0]
    others = f" and {len(changed) - 1} more" if len(changed) > 1 else ""
    return (
        f"masks again {len(changed)} {units} a stopped run had finished, as what they read is not what is there now "
        f"({first.unit.id}{others}: {first.why})"
    )
