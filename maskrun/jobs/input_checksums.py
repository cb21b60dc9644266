"""The checksums of a local run's stacks and maps, taken by the launcher while the workflow starts.

On a local run (`JobPlan.launcher_pid`), one core is idle from the moment `maskrun run` has
saved the plan until the first units start: Snakemake finishes starting on the other. The
launcher hashes the stacks and maps then, in a thread of its own on one core (BLAKE3 holds
no GIL), where otherwise the first unit to read each file would hash it beside its masking
and the unit holding a large stack would finish last. The saved plan names the launcher's
PID, so that the units hash none; the gather takes the launcher's checksums from
``<output>/.maskrun/input_checksums.json``, waiting for the file while the launcher lives.
An entry that is missing, or for a file changed since, the gather hashes itself.
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
from maskrun.jobs.provenance import input_entry

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

    def __init__(self, plan: JobPlan) -> None:
        self._files = image_files(plan)
        self._algorithm = plan.job.spec.provenance.checksums
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
                entries[str(path)] = input_entry(path, self._algorithm)  # one core: the other starts Snakemake
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
