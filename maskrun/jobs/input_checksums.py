"""The checksums of a local run's stacks and maps, taken by the launcher while the workflow starts.

On a local run (`JobPlan.launcher_pid`), one core is idle from the moment `maskrun run` has
saved the plan until the first units start: Snakemake finishes starting on the other. The
launcher hashes the stacks and maps then, in a thread of its own on one core (BLAKE3 holds
no GIL), where otherwise the first unit to read each file would hash it beside its masking
and the unit holding a large stack would finish last. The saved plan names the launcher's
PID, so that the units hash none; the gather takes the launcher's checksums from
``<output>/.maskrun/input_checksums.json``, waiting for the file while the launcher lives.
An entry that is missing, or for a file changed since, the gather hashes itself.

A run into a folder that earlier runs hashed (a stopped run resumed, a finished one redone)
takes again the checksums they took of the files still of the size and modification time they
had then (`earlier_checksums`), as the gather takes a unit's: a resumed run of a 300 GB set
on a network file system read all of it again before.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from maskrun.io.atomic import write_atomic
from maskrun.io.processes import process_alive
from maskrun.jobs.plan import JobPlan
from maskrun.jobs.provenance import input_entry, read_record, still_matches
from maskrun.jobs.unit_owners import unit_records

POLL_S = 0.05


def checksums_path(output_dir: Path) -> Path:
    """Where the launcher writes the checksums of a run's stacks and maps."""
    return output_dir / ".maskrun" / "input_checksums.json"


def image_files(plan: JobPlan) -> list[Path]:
    """The stacks or maps a run reads (each once, in plan order): what the units would hash."""
    if plan.particles is not None:
        return list(plan.particles.stack_paths)
    return list(dict.fromkeys(info.path for info in plan.volume_set.maps))


class InputHashing:
    """Hash a plan's stacks and maps in a background thread and write them for the gather.

    The plan's ``launcher_pid`` must be this process's PID, and the plan saved so, before
    the workflow starts.
    """

    def __init__(self, plan: JobPlan, earlier: dict[str, dict[str, Any]] | None = None) -> None:
        """``earlier``: checksums taken by earlier runs into the folder (`earlier_checksums`), read before this
        run removed anything; those of files unchanged since are taken again rather than hashed."""
        self._files = image_files(plan)
        self._algorithm = plan.job.spec.provenance.checksums
        self._earlier = earlier or {}
        self._path = checksums_path(plan.output_dir)
        self._stop = threading.Event()
        self._path.unlink(missing_ok=True)
        self._thread = threading.Thread(target=self._hash, name="maskrun input checksums", daemon=True)
        self._thread.start()

    def _hash(self) -> None:
        entries: dict[str, dict[str, Any]] = {}
        try:
            for path in self._files:
                if self._stop.is_set():
                    return
                entry = self._earlier.get(str(path))
                if entry is None or not still_matches(entry, path, self._algorithm):
                    entry = input_entry(path, self._algorithm)  # one core: the other starts Snakemake
                entries[str(path)] = entry
        except OSError:
            pass  # the gather hashes what is missing, and names any file it cannot read
        finally:
            if not self._stop.is_set():  # even partial: the gather waits for this file
                try:
                    write_atomic(self._path, json.dumps({"pid": os.getpid(), "inputs": entries}))
                except OSError:  # a full disk: an empty file (no data to store) has the gather hash them itself
                    with contextlib.suppress(OSError):
                        self._path.touch()

    def stop(self) -> None:
        """Stop after the file being hashed (a run that was interrupted has no gather to wait)."""
        self._stop.set()


def earlier_checksums(plan: JobPlan) -> dict[str, dict[str, Any]]:
    """The checksums earlier runs into ``plan``'s folder took of its stacks and maps, by path: the finished run's
    record (read before a redo retires it), the launcher's file of a stopped run, and unit records (a cluster run's
    units hash what they read). Whoever took them: `InputHashing` takes again only those whose file still has the
    size and modification and change times recorded (`still_matches`); an entry whose checksum is not a hex digest
    of the algorithm's length (``null``, a number, cut short) is not taken."""
    wanted = {str(path) for path in image_files(plan)}
    if plan.job.spec.provenance.checksums == "none" or not plan.output_dir.is_dir():
        return {}
    found: list[Any] = []
    for _, record in unit_records(plan.output_dir):
        found += record.get("hashed_inputs", [])
    with contextlib.suppress(OSError, ValueError, AttributeError):  # none, or what a full disk left (empty)
        found += list(json.loads(checksums_path(plan.output_dir).read_text()).get("inputs", {}).values())
    finished = read_record(plan.run_record_path)
    found += finished.get("inputs", []) if isinstance(finished, dict) else []
    return {
        entry["path"]: entry
        for entry in found
        if isinstance(entry, dict)
        and entry.get("path") in wanted
        and _a_digest(entry, plan.job.spec.provenance.checksums)
    }


HEX_DIGITS = {"blake3": 64, "sha256": 64}  # a digest's length in hex digits, by algorithm


def _a_digest(entry: dict[str, Any], algorithm: str) -> bool:
    """Whether an entry holds a hex digest of ``algorithm``'s length (not ``null``, a number, a truncated string)."""
    value = entry.get(algorithm)
    return (
        isinstance(value, str)
        and len(value) == HEX_DIGITS.get(algorithm, -1)
        and all(c in "0123456789abcdef" for c in value)
    )


def launcher_checksums(plan: JobPlan) -> dict[str, dict[str, Any]]:
    """The launcher's input entries by path (`InputHashing`), once it wrote them; {} without a hasher.

    Waits for the file while the process named by ``plan.launcher_pid`` lives; a file
    another process wrote (an earlier run's) is not used.
    """
    if plan.launcher_pid is None:
        return {}
    path = checksums_path(plan.output_dir)
    while not path.exists() and process_alive(plan.launcher_pid):
        time.sleep(POLL_S)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    inputs: dict[str, dict[str, Any]] = data.get("inputs", {})
    return inputs if data.get("pid") == plan.launcher_pid else {}
