"""What the Snakemake workflow asks of maskrun: the plan, unit inputs, resources, logged steps.

The Snakefile stays a thin shell: it loads the job through maskrun's own models (one
source of truth), names files, runs each unit in a process of its own
(`run_unit_process`) and calls `gather_logged` / `maskrun.report.logged.report_logged`. Nothing here imports Snakemake.
"""

from __future__ import annotations

import hashlib
import importlib
import math
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from maskrun._version import __version__
from maskrun.config.job_file import Job, load_job
from maskrun.engine.stream import BUFFER_BYTES, WORKERS
from maskrun.errors import RunFailure, UserError
from maskrun.io.processes import process_alive
from maskrun.jobs.plan import JobPlan, Unit, lock_file, log_file, plan_job
from maskrun.jobs.plan_file import cache_folder, load_saved_plan, saved_plan_change
from maskrun.jobs.provenance import now, read_record, recorded_checksum
from maskrun.jobs.run_lock import run_in_progress
from maskrun.jobs.runner import gather, run_unit
from maskrun.jobs.source_commit import source_commit
from maskrun.jobs.source_digest import source_digest
from maskrun.jobs.step_logs import FAILED, REFUSED, logged_step
from maskrun.report.matplotlib_home import give_matplotlib_a_home
from maskrun.timeline import mark
from maskrun.workflow import unit_forks
from maskrun.workflow.snakemake_log import slurm_run_id

if TYPE_CHECKING:
    pass

# a file the run planned from (metadata, a bare stack, a mask file) moved or deleted while units ran: not a mistake in
# the job but a failure (exit 1), which the units finished survive (`maskrun.workflow.launch` counts them)
GONE_DURING_RUN = "is gone (moved or deleted) during the run"
GONE_FIX = (
    "the run stops, and keeps the units it finished: put the file back where it was and run the job again to resume"
)
INTERRUPTED = 130  # a unit process's exit status after SIGINT (Ctrl-C)
BASE_MEM_MB = 1000  # measured ~400 MB in a SLURM job (its two Snakemakes ~120 MB each, the unit and its workers)
DISK_MB_PER_SECOND = 100  # a conservative streaming rate, for runtime requests
MIN_RUNTIME_MINUTES = 10  # a queue's scheduling granularity; a job's start-up alone can take a minute on a busy node
START_MINUTES = 2  # a unit's start on its node: two Snakemakes and the unit's process, beside its I/O


def load_plan(config: dict[str, Any], configfiles: list[Any]) -> JobPlan:
    """Plan the job whose file Snakemake was given with ``--configfile``.

    Raises
    ------
    UserError
        Without a ``--configfile``, when ``--config`` overrides change the job (edit the
        job file instead, so that it stays the record of what ran), or for any invalid
        job or input.
    """
    mark("snakemake plan start")
    if not configfiles:
        raise UserError("the workflow needs a job file: snakemake -s workflow/Snakefile --configfile JOB.yaml")
    job_path = Path(configfiles[-1])
    job = load_job(job_path)
    if yaml.safe_load(job.text) != config:
        raise UserError(
            "--config overrides are not used by maskrun: edit the job file instead, so that "
            "it stays the record of what ran",
            source=str(job_path),
        )
    # maskrun run saved it; plain snakemake may not have. During a run the run's plan is the one its rules were
    # made by, even if the job or its inputs changed since: a cluster node's unit then refuses the change
    # (`unit_plan`) without the parse planning the job anew
    saved = load_saved_plan(job, stale_too=run_in_progress(lock_file(job.output_dir)))
    mark("snakemake read the plan" if saved is not None else "snakemake planned")
    return saved if saved is not None else plan_job(job)


def unit_plan(job: Job, unit_id: str) -> tuple[JobPlan, bool]:
    """The plan a unit masks by, and whether it is the saved one: the fresh saved plan, or the job planned now.

    While a ``maskrun run`` holds the output folder (its run lock), the saved plan is that
    run's: a unit that finds it stale (the job file edited, the metadata or mask file
    changed since the run planned the job) stops, rather than mask by the changed job
    beside units that masked by the planned one. Without a saved plan, or with a stale one
    and no run in progress (plain ``snakemake --configfile``), the unit plans the job itself.

    Raises
    ------
    UserError
        For such a change, also written to the unit's log as its `REFUSED` line.
    """
    saved = load_saved_plan(job)
    if saved is not None:
        return saved, True
    change = saved_plan_change(job) if run_in_progress(lock_file(job.output_dir)) else None
    if change is None:
        return plan_job(job), False
    error: UserError | RunFailure
    if Path(change).is_absolute() and not os.path.lexists(change):  # a file, not the job's text: a failure
        error = RunFailure(f"{change} {GONE_DURING_RUN}, after the run planned the job; {GONE_FIX}")
        said = FAILED
    else:
        error = UserError(
            f"{change} changed during the run, after the run planned the job; the run stops so as not to mix the "
            "two versions in one output folder: run it again to redo the job with the change, or undo the change",
            source=str(job.path),
        )
        said = REFUSED
    log = log_file(job.output_dir, unit_id)
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(f"{now()} start {unit_id}\n{now()}{said} {' '.join(str(error).splitlines())}\n")
    raise error


def launched_here(plan: JobPlan, main_process: bool) -> bool:
    """Whether this is the main Snakemake of a local `maskrun run`: its saved plan names the live launcher.

    There, the Snakefile starts the units' server (`maskrun.workflow.unit_forks`) and preloads the report.
    """
    return main_process and plan.launcher_pid is not None and process_alive(plan.launcher_pid)


def start_unit_forks() -> None:
    """Start the units' server (`maskrun.workflow.unit_forks`) for this Snakemake."""
    unit_forks.start()


def preload_report(plan: JobPlan) -> None:
    """Import the report's modules (matplotlib: ~0.4 s) in a thread while the units mask, for a job with a report.

    Snakemake's own process idles while the units run in theirs; the report step then starts at once.
    """
    if plan.job.spec.report:
        give_matplotlib_a_home(cache_folder(plan.output_dir))  # Snakemake started by hand in a read-only home
        threading.Thread(target=importlib.import_module, args=("maskrun.report.build",), daemon=True).start()


def unit_inputs(plan: JobPlan, unit_id: str) -> list[str]:
    """Files a unit reads, less a batch's stacks: its map, the metadata, the mask file.

    A batch's stacks (hundreds to tens of thousands) are its `stacks_stamp` instead: as input
    files, Snakemake's DAG spent ~0.1 ms on each (2.1 s for 20,000 stacks) before any unit ran.
    Not the job file: the rule's params hold the job as it resolves, which Snakemake compares
    instead; by its time, an edit that leaves the job the same (a comment, ``output.overwrite:
    true`` added for a redo) redid every unit, where a redo keeps those whose inputs did not change.
    """
    unit = plan.unit(unit_id)
    files: list[Path] = []
    if unit.is_batch:
        files.append(plan.particle_set.source)
    else:
        files.append(plan.volume_set.maps[unit.map_index].path)
    files += plan.job.mask.input_files
    return [str(f) for f in dict.fromkeys(files)]


def stacks_stamp(plan: JobPlan, unit_id: str) -> str:
    """A digest of a batch's stacks as they are now (path, size, modification time); empty for a map.

    The rule's ``params``: Snakemake reruns a finished unit whose params changed, so a stack
    changed between a killed run and its resume (the mtime its input files were compared by)
    redoes the units that read it, and only those.
    """
    unit = plan.unit(unit_id)
    if not unit.is_batch:
        return ""
    digest = hashlib.sha256()
    for s in unit.stacks:
        path = plan.particle_set.stack_paths[s]
        try:
            stat = os.stat(path)
            digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
        except OSError:
            digest.update(f"{path}\0missing\n".encode())
    return digest.hexdigest()


def rerun_by_snakemake(plan: JobPlan, units: list[Unit]) -> list[Unit]:
    """Of finished units a redo keeps (``units``), those Snakemake will mask again all the same, by its own rules:
    an input of the unit's rule (`unit_inputs`: the metadata, its map, the mask's files) newer than its output or
    record (a touched STAR), its stacks not of the size and time its record says it read them (`stacks_stamp`), or
    its record made by other code (`code_stamp`). For ``validate`` and ``run --dry-run`` to count what will run.
    """
    reruns = []
    code = code_stamp()
    for unit in units:
        record = read_record(plan.record_path(unit))
        outputs = [plan.unit_output(unit), plan.record_path(unit)]
        try:
            oldest = min(path.stat().st_mtime_ns for path in outputs)
            newest = max((os.stat(path).st_mtime_ns for path in unit_inputs(plan, unit.id)), default=0)
        except OSError:
            reruns.append(unit)
            continue
        if newest > oldest or not isinstance(record, dict) or _code_of(record) not in (None, code):
            reruns.append(unit)
            continue
        read = {str(e.get("path")): e for e in record.get("inputs_read", []) if isinstance(e, dict)}
        for path in plan.unit_files(unit) if unit.is_batch else []:
            try:
                stat = path.stat()
            except OSError:
                stat = None
            seen = read.get(str(path), {})
            if stat is None or (seen.get("bytes"), seen.get("mtime_ns")) != (stat.st_size, stat.st_mtime_ns):
                reruns.append(unit)
                break
    return reruns


def _code_of(record: dict[str, Any]) -> str | None:
    """`code_stamp` of the code that wrote a unit record, from its versions; None when it does not tell."""
    versions = record.get("versions")
    if not isinstance(versions, dict) or not versions.get("maskrun") or not versions.get("maskrun_source_sha256"):
        return None
    return _stamp(versions["maskrun"], versions.get("maskrun_commit"), versions["maskrun_source_sha256"])


def code_stamp() -> str:
    """The code that masks the units, for their rules' params: ``maskrun 0.1.0``, its commit where known, and its
    files' digest (`maskrun.jobs.source_digest`).

    Snakemake redoes a finished unit whose params changed: a run resumed by another maskrun
    (another version, a checkout at another commit, or one edited since) redoes the units the
    first masked, rather than keep them beside its own, so that the output is one code's, byte
    for byte (the stacks' MRC labels name the version).
    """
    return _stamp(__version__, source_commit(), source_digest())


def _stamp(version: str, commit: str | None, digest: str) -> str:
    """``maskrun VERSION [COMMIT] source DIGEST``: a code's stamp, this process's (`code_stamp`) or a record's."""
    return f"maskrun {version}" + (f" {commit}" if commit else "") + f" source {digest}"


def unit_threads(plan: JobPlan, cores: int | None) -> int:
    """Cores for each unit: the engine's workers, shared out when units run side by side.

    Two units on two cores mask with one worker each (four processes would only contend);
    one unit gets both. On a cluster (``cores`` unknown) every unit asks for `WORKERS`.
    """
    if not cores:
        return WORKERS
    return max(1, min(WORKERS, cores // max(1, min(cores, len(plan.units)))))


def run_unit_process(plan: JobPlan, unit_id: str, workers: int) -> None:
    """Mask one unit in a process of its own (`maskrun.workflow.unit_process`), which dies with this one.

    On a local run the process is forked from the units' server (`maskrun.workflow.unit_forks`),
    which has imported what it needs; otherwise it is started anew.

    Raises
    ------
    RunFailure
        When the unit fails; its log names the cause.
    """
    argv = [str(plan.job.path), unit_id, "--workers", str(workers)]
    status = unit_forks.run_unit(argv)
    if status is None:
        command = [sys.executable, "-m", "maskrun.workflow.unit_process", *argv, "--parent", str(os.getpid())]
        status = subprocess.run(command, check=False).returncode
    if status in (INTERRUPTED, -signal.SIGINT):
        raise RunFailure(f"unit {unit_id} was interrupted; the next run does it")
    if status != 0:
        raise RunFailure(f"unit {unit_id} failed (exit status {status}); see {plan.log_path(unit_id)}")


def _unit_megabytes(plan: JobPlan, unit: Unit, itemsize: int = 4) -> float:
    """A unit's images or map in MB, at ``itemsize`` bytes a value (4: float32, as a map is held)."""
    if unit.is_batch:
        ny, nx = plan.particle_set.box_yx
        return (unit.stop_row - unit.first_row) * ny * nx * itemsize / 1e6
    nz, ny, nx = plan.volume_set.maps[unit.map_index].shape_zyx
    return nz * ny * nx * itemsize / 1e6


def _unit_megabytes_moved(plan: JobPlan, unit_id: str) -> float:
    """What a unit reads and writes, in MB: its values at the output's size, twice (a float16 set's half float32's;
    a set of 8- or 16-bit integers, written as float32, counted at that)."""
    return 2 * _unit_megabytes(plan, plan.unit(unit_id), plan.output_dtype.itemsize)


def unit_mem_mb(plan: JobPlan, unit_id: str) -> int:
    """Memory to ask for: streaming keeps a batch flat; a map's mask is held whole (float32).

    A batch of projected masks also holds the 3D mask's transform (made before its workers
    fork, so shared) and, in each worker, a buffer's projections, masks and their temporaries.
    """
    unit = plan.unit(unit_id)
    held = 0 if unit.is_batch else 2 * _unit_megabytes(plan, unit)
    if unit.is_batch and plan.job.mask.projection is not None:
        from maskrun.geometry.projection import projector_peak_bytes

        nx = plan.particle_set.box_yx[1]
        held = (projector_peak_bytes(nx, plan.projection_coarsening) + WORKERS * 3 * BUFFER_BYTES) / 1e6
    return int(BASE_MEM_MB + held)


def unit_runtime_minutes(plan: JobPlan, unit_id: str) -> int:
    """Wall time to ask for: every byte read and written at a conservative rate, tripled; at least 10 minutes.

    A shared filesystem under a hundred jobs can be slower than the rate assumed: raise it with
    ``set-resources`` (the SLURM profile says how) rather than a job killed at its limit.
    """
    seconds = _unit_megabytes_moved(plan, unit_id) / DISK_MB_PER_SECOND
    return max(MIN_RUNTIME_MINUTES, int(START_MINUTES + math.ceil(3 * seconds / 60)))


def unit_mem_words(plan: JobPlan, unit_id: str) -> str:
    """What `unit_mem_mb`'s estimate of a unit is made of, in words (``1,000 MB for its processes and ...``)."""
    unit = plan.unit(unit_id)
    held = unit_mem_mb(plan, unit_id) - BASE_MEM_MB
    processes = f"{BASE_MEM_MB:,} MB for its processes"
    if unit.is_batch and plan.job.mask.projection is not None:
        size = plan.particle_set.box_yx[1]
        sampling = "in full" if plan.projection_coarsening == 1 else f"at 1/{plan.projection_coarsening:g}"
        return f"{processes} and {held:,} MB for the 3D mask's projector ({size} px, {sampling}) and workers' buffers"
    if unit.is_batch:
        return f"{processes}, which a batch streams through whatever its size"
    nz, ny, nx = plan.volume_set.maps[unit.map_index].shape_zyx
    return f"{processes} and {held:,} MB for its {nx} x {ny} x {nz} map, held twice"


def unit_runtime_words(plan: JobPlan, unit_id: str) -> str:
    """What `unit_runtime_minutes`'s estimate of a unit is made of, in words."""
    megabytes = _unit_megabytes_moved(plan, unit_id)
    size = f"{megabytes / 1000:.3g} GB" if megabytes >= 1000 else f"{megabytes:.3g} MB"
    rate = f"{size} read and written at {DISK_MB_PER_SECOND} MB/s, tripled"
    if unit_runtime_minutes(plan, unit_id) == MIN_RUNTIME_MINUTES:
        return f"at least {MIN_RUNTIME_MINUTES} min for any unit; its {rate}, and its start, take less"
    return f"{rate}, and {START_MINUTES} min to start"


def final_targets(plan: JobPlan) -> list[str]:
    """What the workflow's default target asks for: the run record and the output metadata."""
    targets = [plan.run_record_path]
    if plan.metadata_output is not None:
        targets.append(plan.metadata_output)
    if plan.job.spec.report:
        targets.append(plan.report_dir / "report.html")
    return [str(t) for t in targets]


def report_figures(plan: JobPlan) -> dict[str, str]:
    """The report's figure files, by role, for the workflow's report() flags."""
    folder = plan.report_dir
    data = "particles.png" if plan.particles is not None else "map.png"
    return {"data": str(folder / data), "profile": str(folder / "profile.png")}


def run_unit_logged(
    plan: JobPlan, unit_id: str, log_path: str, workers: int | None = None, note: str | None = None
) -> None:
    """Mask one unit, writing what happened (or the traceback) to ``log_path``, after ``note``."""

    def step() -> str:
        record = run_unit(plan, unit_id, workers)
        checksum = recorded_checksum(record["output"])
        return f"wrote {record['output']['path']}" + (f" ({checksum[0]} {checksum[1]})" if checksum else "")

    smaller = "use a smaller batch_size" if plan.unit(unit_id).is_batch else None  # a stack past a file-size limit
    logged_step(log_path, unit_id, step, note, smaller)


def gather_logged(plan: JobPlan, log_path: str) -> None:
    """Write the output metadata and the run record, logging to ``log_path``."""

    def step() -> str:
        record = gather(plan, slurm_run_id=_this_runs_slurm_id(plan))
        units = len(record["units"])
        return f"gathered {units} unit{'s' * (units != 1)} into {plan.output_dir}"

    logged_step(log_path, "gather", step)


def _this_runs_slurm_id(plan: JobPlan) -> str | None:
    """The SLURM run id the running Snakemake logged, from its own log of this run (the newest in
    ``.snakemake/log/``: it is running, so none is newer), when it runs the SLURM executor."""
    logs = list((plan.output_dir / ".snakemake" / "log").glob("*.snakemake.log"))
    try:
        return slurm_run_id(max(logs, key=lambda path: path.stat().st_mtime).read_text(errors="replace"))
    except (OSError, ValueError):  # no log (Snakemake's log turned off): nothing said
        return None


def release_scheduler_timers() -> None:
    """Cancel the timers Snakemake's scheduler left waiting, so that its process ends now.

    Snakemake's job-rate limiter (``--max-jobs-per-timespan``, by default 100/1s) starts a
    non-daemon ``threading.Timer`` of one timespan at every scheduling round; the last one
    holds the interpreter open for up to a second after the workflow is done. The
    Snakefile's ``onsuccess``/``onerror`` hooks call this: they run once scheduling ended,
    when the timers' only effect (waking the scheduler) no longer matters.
    """
    for thread in threading.enumerate():
        if isinstance(thread, threading.Timer):
            thread.cancel()
