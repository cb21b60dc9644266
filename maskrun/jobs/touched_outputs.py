"""Record the times of outputs the workflow touched after writing them, so that a later look need not read them.

Snakemake touches every output of a step once the step ends (its ``check_and_touch_output``: to
keep outputs newer than inputs across clock skew), after maskrun recorded each file's size,
times and checksum. Every later look at the folder (a rerun with nothing to do, ``validate``, a
redo that keeps most units) then found each output's times moved, took it as maybe edited, and
read it to check its checksum: 300 GB of outputs read again at each look.

So, once Snakemake of a run has ended, the launcher records the times such outputs have now:
those whose entry the run wrote (its modification time not before the run started), the same
size, and times moved forward only. The checksum stays the one taken as the file was written;
the run holds the folder's lock all the while.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from maskrun.jobs.plan import JobPlan
from maskrun.jobs.provenance import read_record, write_record
from maskrun.jobs.unit_owners import unit_records

UNIT_ENTRIES = ("output", "saved_masks")


def record_touched_outputs(plan: JobPlan, started_ns: int) -> int:
    """Give the entries of outputs written since ``started_ns`` (``time.time_ns()`` at the launch) the times their
    files have now, when only those moved (see the module's docstring); in unit records and the run record.

    Returns
    -------
    int
        How many entries were given new times.
    """
    moved = 0
    for path, record in unit_records(plan.output_dir):
        entries = [record[key] for key in UNIT_ENTRIES if isinstance(record.get(key), dict)]
        count = _restamp(plan.output_dir, entries, started_ns)
        if count:
            _rewrite(path, record)
            moved += count
    run = read_record(plan.run_record_path)
    if isinstance(run, dict) and isinstance(run.get("outputs"), list):
        count = _restamp(plan.output_dir, [e for e in run["outputs"] if isinstance(e, dict)], started_ns)
        if count:
            _rewrite(plan.run_record_path, run)
            moved += count
    return moved


def _rewrite(path: Path, record: dict[str, Any]) -> None:
    """Write a record again with the times it had: a record is a step's output, and the report's input (run.json);
    newer than the report, it would ask Snakemake to draw that again."""
    stat = path.stat()
    write_record(path, record)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def _restamp(output_dir: Path, entries: list[dict[str, Any]], started_ns: int) -> int:
    count = 0
    for entry in entries:
        recorded = entry.get("mtime_ns")
        if not isinstance(recorded, int) or recorded < started_ns:
            continue  # written by an earlier run: its touch is not this run's to vouch for
        try:
            stat = os.stat(output_dir / str(entry.get("path", "")))
        except OSError:
            continue
        if stat.st_size != entry.get("bytes") or stat.st_mtime_ns < recorded:
            continue
        if stat.st_mtime_ns == recorded and entry.get("ctime_ns", stat.st_ctime_ns) == stat.st_ctime_ns:
            continue
        entry["mtime_ns"] = stat.st_mtime_ns
        if "ctime_ns" in entry:
            entry["ctime_ns"] = stat.st_ctime_ns
        count += 1
    return count
