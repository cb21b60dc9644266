"""``maskrun run``: validate a job, then drive the Snakemake workflow and summarise.

The workflow runs as ``python -m snakemake`` with the same interpreter, exactly as a user
would run ``snakemake -s workflow/Snakefile --configfile JOB.yaml --cores N``: profiles and
every Snakemake flag work, and the CLI stays a thin shell. Snakemake's state
(``.snakemake/``) lives in the output folder, beside what it tracks.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, NoReturn

from maskrun.engine.forked_workers import die_with_parent
from maskrun.errors import Interrupted, MaskrunWarning, RunFailure, Terminated, UserError, first_named, held_warnings
from maskrun.io.output_space import MARGIN_BYTES, RESUMES, no_space_failure
from maskrun.jobs.answer_file import check_answer_beside
from maskrun.jobs.input_checksums import InputHashing, earlier_checksums
from maskrun.jobs.kept_units import forget_changed_units, units_read_changed
from maskrun.jobs.output_state import (
    check_output_dir,
    check_room,
    describe_redo,
    planned_redo,
    remove_partial_files,
    remove_stale_units,
    report_missing,
    retire_run,
)
from maskrun.jobs.plan import JobPlan, describe_plan, plan_job
from maskrun.jobs.plan_file import cache_folder, save_plan
from maskrun.jobs.provenance import now, read_record
from maskrun.jobs.run_lock import RunLock, read_holder, run_in_progress, took_over_note
from maskrun.jobs.runner import unit_done
from maskrun.jobs.step_logs import (
    log_interrupted_if_empty,
    log_stopped,
    logged_done,
    logged_failure,
    logged_refusal,
    written_since,
)
from maskrun.jobs.touched_outputs import record_touched_outputs
from maskrun.report.before_run import say_before_the_run
from maskrun.report.logged import draw_missing_report
from maskrun.timeline import mark, process_started
from maskrun.workflow import run_answer
from maskrun.workflow.cache_homes import cache_note, snakemake_cache_environment
from maskrun.workflow.cluster_requests import describe_requests
from maskrun.workflow.engine_warnings import EngineWarnings
from maskrun.workflow.profile_keys import refuse_unknown_profile_keys
from maskrun.workflow.progress import ProgressLine
from maskrun.workflow.resource_options import ProfileKeys, RunSettings, check_resource_options, run_settings
from maskrun.workflow.run_answer import RunEnd
from maskrun.workflow.run_skipping_options import (
    REDO,
    forcing_options,
    refuse_run_skipping_keys,
    refuse_run_skipping_options,
    refuse_targets,
)
from maskrun.workflow.slurm_failures import cluster_failures, describe
from maskrun.workflow.slurm_partitions import check_partitions
from maskrun.workflow.slurm_queue import SlurmQueue, slurm_jobs_in
from maskrun.workflow.snakemake_log import job_blocks
from maskrun.workflow.support import GONE_DURING_RUN, GONE_FIX, final_targets, rerun_by_snakemake, unit_inputs
from maskrun.workflow.unit_requests import below_estimates
from maskrun.workflow.warm_snakemake import WarmSnakemake

INT_GRACE_S = 5.0  # after Ctrl-C, Snakemake's time to stop its units and end before it is killed
CLUSTER_INT_GRACE_S = 30.0  # the same on a cluster, where its executor cancels the jobs it submitted
TERM_GRACE_S = 2.0  # after SIGTERM, Snakemake's time to end before it is killed
CLUSTER_TERM_GRACE_S = 20.0  # on a cluster, to cancel its jobs: within SLURM's 30 s from a time limit's SIGTERM
RESUME = "run the same command again to finish the missing units"
FINISHED = "the same command finds nothing to do"
DRAWS_REPORT = "run the same command again to draw it"
GATHERS = "run the same command again to gather them (it masks none again)"
INTERRUPTED = f"interrupted; {RESUME}"
WORKFLOW = Path(__file__).resolve().parent  # the Snakefile, its rules and profiles ship in the package


@dataclass
class RunRequest:
    """A ``maskrun run``: its job, options, and the file its answer goes to (``--json OUT``), checked once the job is
    planned (`check_answer_beside`)."""

    job: str
    cores: str = "all"
    profile: str | None = None
    dry_run: bool = False
    extra: tuple[str, ...] = ()
    verbose: bool = False
    answer_file: Path | None = None


def snakefile() -> Path:
    path = WORKFLOW / "Snakefile"
    if not path.is_file():
        raise RunFailure(
            f"{path} not found: this maskrun installation is incomplete; reinstall it "
            "(pip install --force-reinstall maskrun)"
        )
    return path


def bundled_profiles() -> list[str]:
    """Names of the profiles that ship with maskrun (``default``, ``slurm``)."""
    return sorted(p.name for p in (WORKFLOW / "profiles").iterdir() if (p / "config.yaml").is_file())


def resolve_profile(profile: str) -> str:
    """A profile folder, or the name of a bundled profile (``slurm``), as a path Snakemake reads.

    A bare name is looked for as Snakemake looks for it: a folder of the working folder, then
    Snakemake's own profile folders (``$XDG_CONFIG_HOME/snakemake/NAME``, else
    ``~/.config/snakemake/NAME``; ``/etc/xdg/snakemake/NAME``, a facility's). A profile found
    there wins over a bundled profile of its name, as it would for ``snakemake --profile NAME``,
    with a note naming both (`_shadowing_profile`); a folder of a bundled profile's name that
    holds no profile (``slurm/`` for sbatch's logs, say) does not hide the bundled one.

    Raises
    ------
    maskrun.errors.UserError
        For a profile that is none of these, or a folder without ``config.yaml`` (or
        ``profile.yaml``): before anything runs (exit 2), not from Snakemake after it started.
    """
    folder = Path(profile).expanduser()
    if folder.is_dir():
        is_profile = _holds_profile(folder)
        if not is_profile and profile in bundled_profiles():
            return str(_snakemakes_own_profile(profile) or WORKFLOW / "profiles" / profile)
        if not is_profile:
            raise UserError(f"{folder} holds no config.yaml, so it is not a Snakemake profile; add one or fix the path")
        return profile
    if profile in bundled_profiles():
        return str(_snakemakes_own_profile(profile) or WORKFLOW / "profiles" / profile)
    if "/" not in profile and any(base.is_dir() for base in _profile_homes(profile)):
        return profile
    raise UserError(
        f"no Snakemake profile '{profile}': give a bundled one ({', '.join(bundled_profiles())}) or a folder "
        "holding a profile's config.yaml"
    )


def _profile_homes(name: str) -> list[Path]:
    """Snakemake's own folders for a profile of a bare name: the user's, then the site's."""
    config_home = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return [base / "snakemake" / name for base in (config_home, Path("/etc/xdg"))]


def _holds_profile(folder: Path) -> bool:
    return any((folder / name).is_file() for name in ("config.yaml", "profile.yaml"))


def _snakemakes_own_profile(name: str) -> Path | None:
    """The first of Snakemake's own folders for ``name`` that holds a profile, if any."""
    return next((folder for folder in _profile_homes(name) if _holds_profile(folder)), None)


def _shadowing_profile(profile: str, resolved: str) -> str | None:
    """A note when a profile of the user's or the site's (``resolved``, `resolve_profile`'s: in the working
    folder or Snakemake's own folders) takes the place of a bundled profile of its name."""
    bundled = WORKFLOW / "profiles" / profile
    if profile not in bundled_profiles() or resolved == str(bundled):
        return None
    return (
        f"maskrun: note: --profile {profile}: using the profile in {Path(resolved).expanduser().resolve()}, as "
        f"snakemake --profile {profile} would, not maskrun's bundled '{profile}' (to use the bundled one, give its "
        f"path: --profile {bundled})"
    )


def snakemake_command(plan: JobPlan, request: RunRequest, directory: Path | None = None) -> list[str]:
    """The ``snakemake`` command line for a job (also what the README shows).

    ``directory`` is where Snakemake keeps its state (default: the output folder); a dry
    run gives it a scratch folder, so that it leaves nothing behind. ``request.profile`` is
    the folder `run_workflow` resolved it to.
    """
    argv = [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(snakefile()),
        "--configfile",
        str(plan.job.path),
        "--directory",
        str(directory or plan.output_dir),
        "--cores",
        str(request.cores),
        # maskrun records every input's BLAKE3; with any profile, Snakemake hashes none again
        "--max-checksum-file-size",
        "0",
    ]
    if request.profile:
        # the workflow profile would replace the cluster profile's keys one by one
        argv += ["--profile", request.profile, "--workflow-profile", "none"]
    if request.dry_run:
        argv.append("--dry-run")
    return argv + list(request.extra)


def run_workflow(request: RunRequest) -> RunEnd:
    """Validate, run the workflow, print a summary; returns how it ended (exit status 0).

    A finished run of the same job and inputs is left alone ("nothing to do", exit 0). The
    run holds the output folder's run lock; a lock left by a killed run is taken over, with
    Snakemake's own lock and the killed run's temporary files, so that the same command
    resumes where it stopped.

    Raises
    ------
    maskrun.errors.UserError
        For an invalid job or input, a resource option that names no rule or resource of the
        run or has a value of the wrong form (`check_resource_options`), a partition
        ``sinfo`` does not list (`check_partitions`), an output folder that is another
        job's, read-only or too full, or a live run in the folder; before Snakemake starts
        (exit 2). A unit's memory or time limit set below maskrun's estimate is a warning
        (`warn_below_estimates`).
    RunFailure
        When the workflow fails, naming the logs of the units that failed (exit 1).
    Interrupted
        On Ctrl-C (exit 130) or SIGTERM (exit 143), once Snakemake has stopped and the
        temporary files are gone.
    """
    mark("run start", process_started())
    request, settings = checked_settings(request)
    die_with_us = functools.partial(_stop_with_parent, os.getpid()) if sys.platform == "linux" else None
    warm = None if request.dry_run else WarmSnakemake(die_with_us, _runs_here(request))  # imports beside the plan
    try:
        return _run(request, warm, settings)
    except KeyboardInterrupt:  # before Snakemake was handed the run (while it runs: see _run)
        raise Interrupted(INTERRUPTED, 130) from None
    finally:
        if warm is not None:
            warm.discard()


def checked_settings(request: RunRequest) -> tuple[RunRequest, RunSettings]:
    """A run's profile resolved, and the settings its jobs will get, checked before anything is written or submitted.

    Notes (on stderr) name a profile folder that takes a bundled profile's place, the
    profile's settings an option after ``--`` drops, and a partition ``sinfo`` could not be
    asked about. ``maskrun validate --profile`` checks the same.

    Returns
    -------
    RunRequest, RunSettings
        The request with its profile as the folder Snakemake reads; the executor and the
        resource settings its jobs get (`maskrun.workflow.resource_options.run_settings`).

    Raises
    ------
    maskrun.errors.UserError
        For a profile that is not there (`resolve_profile`), a resource setting that names
        no rule or resource of the run or has a value of the wrong form
        (`check_resource_options`), or a partition ``sinfo`` does not list
        (`check_partitions`).
    """
    if request.profile:
        # once, for all that follows (a name becomes the folder Snakemake reads): not there, exit 2, nothing written
        resolved = resolve_profile(request.profile)
        if (shadowing := _shadowing_profile(request.profile, resolved)) is not None:
            print(shadowing, file=sys.stderr)
        request = replace(request, profile=resolved)
    refuse_run_skipping_options(request.extra)  # -n, --touch: Snakemake would mask nothing, and exit 0
    profile = ProfileKeys.of(request.profile)  # its file read once, for every check below
    refuse_run_skipping_keys(profile.keys, profile.file)  # until: [mask_batch], dryrun: true
    refuse_unknown_profile_keys(profile)  # latency_wait: Snakemake's parser would refuse it once the run started
    settings = run_settings(request.extra, profile)
    notes = check_resource_options(settings, profile)  # a typo would show only in SLURM, late
    notes += check_partitions(settings)  # sbatch would refuse every unit's job
    for note in notes:
        print(f"maskrun: note: {note}", file=sys.stderr)
    return request, settings


def warn_below_estimates(plan: JobPlan, settings: RunSettings) -> None:
    """Warn of a unit's memory or time limit set below maskrun's estimate of its needs (`below_estimates`)."""
    for warning in below_estimates(plan, settings):
        warnings.warn(warning, MaskrunWarning, stacklevel=2)


def _note_removed(plan: JobPlan, removed: list[Path]) -> None:
    """Say which outputs of the run being replaced are gone for good (this run does not write them again)."""
    if not removed:
        return
    names = first_named([path.relative_to(plan.output_dir) for path in removed])
    print(
        f"maskrun: note: output.overwrite: true: removed {len(removed)} output{'s' * (len(removed) != 1)} of the run "
        f"this one replaces, which it does not write again ({names})",
        file=sys.stderr,
    )


def _draw_missing_report(plan: JobPlan, record: dict[str, Any]) -> Path | None:
    """Draw the report a finished run lacks (`draw_missing_report`), showing its warnings; its page, or None."""
    report = draw_missing_report(plan, record)
    if report is None:
        return None
    for warning in report.warnings:
        print(f"maskrun: warning: {warning}", file=sys.stderr)
    return Path(report.html)


def _run(request: RunRequest, warm: WarmSnakemake | None, settings: RunSettings) -> RunEnd:
    started_s = process_started() or time.time()  # the command's start, for its answer's seconds (`RunEnd`)
    argv: list[str] = []
    executor = settings.executor
    with held_warnings():  # a run refused before it starts prints its one error line only
        plan = plan_job(request.job)
        mark("run planned")
        if request.answer_file is not None:  # not over an input or an output: refused before any work
            check_answer_beside(plan, request.answer_file)
        if executor != "local":
            _refuse_a_dollar_in_paths(plan, executor)
        finished = check_output_dir(plan)
        if finished is None:  # a limit below a unit's needs: SLURM would kill its job, late
            warn_below_estimates(plan, settings)
            say_before_the_run(plan)  # a tight mask, which the report would say after the run
        if finished is None and warm is not None:
            argv = snakemake_command(plan, request)
            if request.extra:
                _refuse_options_snakemake_refuses(argv)
            check_room(plan)
    if finished is not None:
        if forced := forcing_options(request.extra):  # Snakemake is not started: they would go unsaid
            print(f"maskrun: note: {' '.join(forced)} after -- redoes nothing here: {REDO}", file=sys.stderr)
        drawn = _draw_missing_report(plan, finished)
        if drawn is not None:
            print(
                f"maskrun run: {plan.job.path} had finished at {finished.get('end')} without its report: wrote {drawn}"
            )
            return RunEnd(run_answer.REPORT_DRAWN, plan, time.time() - started_s)
        print(f"maskrun run: nothing to do: {plan.job.path} finished at {finished.get('end')} -> {plan.output_dir}")
        return RunEnd(run_answer.NOTHING_TO_DO, plan, time.time() - started_s)
    if warm is None:
        return _dry_run(plan, request, executor, started_s)  # the notes among the plan's lines
    with RunLock(plan.lock_path, str(plan.job.path)) as lock:
        for note in plan.notes:  # once the folder is this run's: a run refused for another's says its one line only
            print(f"maskrun: note: {note}", file=sys.stderr)
        _clear_killed_runs_leftovers(plan, lock)
        remove_partial_files(plan)
        earlier = earlier_checksums(plan)  # before a redo retires the run record
        if plan.run_record_path.exists():  # finished, and output.overwrite: true: start over
            _note_removed(plan, retire_run(plan))
        else:  # resumed: the units the stopped run finished that read what changed since are masked again
            if (again := forget_changed_units(plan, earlier)) is not None:
                print(f"maskrun: note: {again}", file=sys.stderr)
        remove_stale_units(plan)
        plan.launcher_pid = os.getpid() if _runs_here(request) else None
        plan.launcher_command = ["maskrun", *sys.argv[1:]]  # what the user typed, for the run record
        plan.launched = now()
        save_plan(plan)  # Snakemake and every unit read it instead of planning again
        mark("run plan saved")
        hashing = InputHashing(plan, earlier) if plan.launcher_pid else None  # while Snakemake starts; see its module
        started, t0, started_ns = time.time(), time.perf_counter(), time.time_ns()
        engine_log = plan.log_path("snakemake")
        engine_log.parent.mkdir(parents=True, exist_ok=True)
        caches = snakemake_cache_environment(cache_folder(plan.output_dir))  # a read-only home's
        if (moved := cache_note(caches, cache_folder(plan.output_dir))) is not None:
            print(f"maskrun: note: {moved}", file=sys.stderr)
        process = warm.run(argv[3:], None if request.verbose else engine_log, caches)  # argv: python -m snakemake ...
        mark("run snakemake started")
        lock.record_child(process.pid)
        on_slurm = plan.launcher_pid is None and executor == "slurm"
        queue = SlurmQueue(plan.output_dir, [unit.id for unit in plan.units]) if on_slurm else None
        progress = ProgressLine(plan, sys.stderr, queue)  # asks squeue only while it shows on a terminal
        said = EngineWarnings(None if request.verbose else engine_log)  # what the log alone would hold
        try:
            with _suspended_together(warm):
                while process.poll() is None:
                    progress.update()
                    said.update()
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        process.wait(timeout=0.25)  # not a sleep: returns as soon as Snakemake ends
            status = process.wait()
            mark("run snakemake ended")
            record_touched_outputs(plan, started_ns)
            progress.finish()
            said.finish()
        except (KeyboardInterrupt, Terminated) as stopped:
            for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # a second one would cut the clean-up short
                signal.signal(signum, signal.SIG_IGN)
            progress.finish()
            said.finish()
            _stop_hashing(hashing)
            submitted = slurm_jobs_in(plan.output_dir, ending=False) if on_slurm else None
            if not isinstance(stopped, Terminated):
                _stop(warm, signal.SIGINT, INT_GRACE_S if plan.launcher_pid else CLUSTER_INT_GRACE_S)
            elif plan.launcher_pid is None:  # its jobs would run on, orphaned, and be submitted again by a rerun
                _stop(warm, signal.SIGINT, CLUSTER_TERM_GRACE_S)
            else:
                _stop(warm, signal.SIGTERM, TERM_GRACE_S)
            _clear_snakemake_locks(plan)  # Snakemake has ended: a lock it left (killed) is stale
            remove_partial_files(plan)
            record_touched_outputs(plan, started_ns)  # the units done: a resume keeps them without reading them
            _log_stopped_steps(plan, started)
            cancelled = _cancelled_words(plan.output_dir, submitted)
            word, code = (
                ("interrupted", 130) if not isinstance(stopped, Terminated) else (stopped.word, stopped.exit_status)
            )
            if plan.run_record_path.exists() and not report_missing(plan):  # it came as the run ended: nothing is left
                raise Interrupted(
                    f"{word} as the run ended: every output is written{cancelled}; {FINISHED}", code
                ) from None
            if plan.run_record_path.exists():  # the run is recorded; its report is not drawn
                raise Interrupted(
                    f"{word} while drawing the report: every other output is written{cancelled}; {DRAWS_REPORT}", code
                ) from None
            if all(unit_done(plan, unit) for unit in plan.units):  # stopped while gathering: no unit is missing
                raise Interrupted(f"{word} while gathering: every unit is masked{cancelled}; {GATHERS}", code) from None
            raise Interrupted(f"{word}{cancelled}; {RESUME}", code) from None
        if status != 0:
            remove_partial_files(plan)
            _failed(plan, status, started, None if request.verbose else engine_log)
        _refuse_unfinished(plan, None if request.verbose else engine_log)
    print(summary(plan, time.perf_counter() - t0))
    mark("run end")
    record = read_record(plan.run_record_path) or {}
    for warning in record.get("warnings", []):
        if warning not in plan.warnings:  # planning's were shown as it warned
            print(f"maskrun: warning: {warning}", file=sys.stderr)
    html = plan.report_dir / "report.html"
    if plan.job.spec.report and html.exists():
        print(f"maskrun run: report: {html}")
    nonfinite = record.get("nonfinite_pixels", 0)
    if nonfinite:
        print(
            f"maskrun: note: {nonfinite} NaN or inf pixels in the inputs, kept where the mask keeps the input and "
            "given the fill elsewhere (see the unit records in provenance/); fills and header statistics use the "
            "finite pixels only",
            file=sys.stderr,
        )
    return RunEnd(run_answer.FINISHED, plan, time.time() - started_s)


def _refuse_unfinished(plan: JobPlan, engine_log: Path | None) -> None:
    """Fail a run that Snakemake ended with status 0 without writing what the job's run writes last.

    A run starts with no run record (a finished one is left alone, or retired first), and the
    gather writes it, with the outputs, then the report is drawn. An option that had Snakemake
    run no unit or part of the job (given in a profile, say, where `refuse_run_skipping_options`
    does not look) ends it with status 0 all the same: maskrun would have said it masked
    everything over a folder that holds none of it.

    Raises
    ------
    RunFailure
        Naming the first file missing, how many units are done, Snakemake's log, and the likely cause.
    """
    missing = [Path(target) for target in final_targets(plan) if not Path(target).is_file()]
    if read_record(plan.run_record_path) is not None and not missing:
        return
    named = missing[0] if missing else plan.run_record_path
    done = sum(plan.record_path(unit).exists() for unit in plan.units)
    see = f"; see {engine_log}" if engine_log is not None else ""
    raise RunFailure(
        f"snakemake ended with status 0 without writing {named}: the run did not finish ({done} of "
        f"{len(plan.units)} units done{see}); an option given after -- or set in the profile may have told Snakemake "
        "to run only part of the job: leave it out and run again (the run resumes where it stopped)"
    )


def _dry_run(plan: JobPlan, request: RunRequest, executor: str, started_s: float) -> RunEnd:
    """Say what a run would do: maskrun's summary and the jobs Snakemake would run; write nothing.

    Snakemake plans the workflow in a scratch folder (the workflow names its files by
    absolute paths), so that the output folder is not created; with a copy of what an
    earlier run recorded there (Snakemake's metadata: each output's params, and its marks of the
    jobs a kill left unfinished), so that it counts the units an edit of the job or a changed
    stack would redo, and those a killed run's Snakemake had not recorded as done, as the run
    will; and, for a resume, forced, the units the run masks again as what they read changed
    since (`units_read_changed`: a stack given back its size and time after an edit, say).

    Raises
    ------
    maskrun.errors.UserError
        When Snakemake's parser refuses an option given after ``--`` (one line, exit 2).
    RunFailure
        When Snakemake cannot plan the workflow (its output is shown).
    """
    with tempfile.TemporaryDirectory(prefix="maskrun-dry-run-") as scratch:
        for kept in ("metadata", "incomplete"):  # the units a killed run left half-recorded are masked again too
            history = plan.output_dir / ".snakemake" / kept
            if history.is_dir():
                shutil.copytree(history, Path(scratch) / ".snakemake" / kept)
        argv = snakemake_command(plan, request, Path(scratch))
        if not plan.run_record_path.exists():  # a resume masks these again (`_run`): counted so
            changed = units_read_changed(plan, earlier_checksums(plan))
            forced = [str(plan.record_path(change.unit)) for change in changed]
            extra = len(argv) - len(request.extra)
            argv = argv[:extra] + (["--forcerun", *forced] if forced else []) + argv[extra:]
        caches = snakemake_cache_environment(Path(scratch) / "maskrun-cache")  # a read-only home's
        proc = subprocess.run(argv, check=False, capture_output=True, text=True, env={**os.environ, **caches})
    refused = _parser_refusal(proc.stderr) if proc.returncode == 2 else None
    if refused is not None:  # one line, exit 2, as the run says it (not Snakemake's whole usage)
        raise _refused_option(refused)
    if proc.returncode:
        print(proc.stdout + proc.stderr, file=sys.stderr)
        raise RunFailure(f"snakemake --dry-run exited with status {proc.returncode}")
    jobs = _job_stats(proc.stdout + proc.stderr)
    for line in describe_plan(plan)[1:]:
        print(line)
    masks = [str(path) for path in plan.mask_outputs()][:1]  # none for projected masks: each particle has its own
    print(f"  outputs: {', '.join([str(plan.metadata_output or plan.unit_output(plan.units[0])), *masks])}")
    redo = planned_redo(plan, functools.partial(rerun_by_snakemake, plan))
    if redo is not None:
        print(f"  {describe_redo(plan, redo)}")
    holder = read_holder(plan.lock_path) if run_in_progress(plan.lock_path) else None
    if holder is not None:
        print(f"  note: another maskrun run holds this output folder ({holder.describe()}): a run now is refused")
    if not _runs_here(request) and executor == "slurm":
        for line in describe_requests(proc.stdout + proc.stderr):
            print(line)
    counts = {rule: count for rule, count in jobs.items() if rule not in ("all", "total")}  # `all` runs nothing
    if not jobs:  # Snakemake printed no job table (--quiet, say): say nothing we do not know
        print("maskrun run --dry-run: snakemake planned the workflow (it printed no job counts); nothing was written")
        return RunEnd(run_answer.DRY_RUN, plan, time.time() - started_s, None, redo)
    total, listed = sum(counts.values()), ", ".join(f"{rule} {count}" for rule, count in counts.items())
    print(f"maskrun run --dry-run: snakemake would run {total} job{'s' * (total != 1)} ({listed}); nothing was written")
    return RunEnd(run_answer.DRY_RUN, plan, time.time() - started_s, counts, redo)


# Snakemake's words for a job's input file gone as the job was to start (after its --latency-wait)
GONE_INPUT = re.compile(r"^OSError: Missing files after \d+ seconds\..*\n(?P<path>.+?) \(missing locally", re.M)


def _gone_input(engine_text: str) -> str | None:
    """The input file Snakemake found gone as a unit was to start, from its log; None when it found none."""
    found = GONE_INPUT.search(engine_text)
    return found["path"] if found else None


def _job_stats(output: str) -> dict[str, int]:
    """Rule → number of jobs, from the ``Job stats`` table a Snakemake dry run prints."""
    if "Job stats:" not in output:
        return {}
    table = output[output.index("Job stats:") :].split("\n\n")[0]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.MULTILINE)}


def _failed(plan: JobPlan, status: int, started: float, engine_log: Path | None = None) -> NoReturn:
    """Raise the failure of a workflow that ended with ``status`` (not 0), naming the logs of the steps that ran in
    this attempt and did not finish: the units', or else the gather's or the report's; in one line when each of
    those logs ends on one (a refusal or a failure)."""
    engine_text = _engine_text(plan, engine_log, started)
    ran = _jobs_started(engine_text)
    own = [log for u in plan.units if _failed_here(log := plan.log_path(u.id), started) and (ran is None or log in ran)]
    # a cluster job that never ran maskrun (sbatch refused it) or was cut off (cancelled, time limit) leaves its
    # log empty: SLURM's log is named instead, and Snakemake's reason quoted
    failed = [_cluster_log(log) or log for log in own]
    reason = _job_failure(engine_log) if any(log.stat().st_size == 0 for log in own) else None
    what = f"{len(failed)} unit{'s' if len(failed) > 1 else ''} failed"
    step = None if failed else next((s for s in ("gather", "report") if _failed_here(plan.log_path(s), started)), None)
    if step is not None:  # the units were done: the gather failed, or the report did
        failed, what = [plan.log_path(step)], f"the {step} failed"
    detail = f"; {what} (log{'s' if len(failed) > 1 else ''}: {first_named(failed)})" if failed else ""
    if reason is not None:
        detail += f"; {reason}"
    gone = _gone_input(engine_text) if not failed else None
    if gone is not None and Path(gone) in set(
        plan.input_files()
    ):  # Snakemake found a unit's input gone before the unit started: as the unit says it
        done = sum(plan.record_path(unit).exists() for unit in plan.units)
        raise RunFailure(
            f"{gone} {GONE_DURING_RUN}, after the run planned the job; {GONE_FIX}; {done} of {len(plan.units)} units "
            "finished and kept"
        )
    if not failed:
        logs = sorted((plan.output_dir / ".snakemake" / "log").glob("*.snakemake.log"), key=lambda p: p.stat().st_mtime)
        shown_engine = engine_log or (logs[-1] if logs else None)
        see = f" (see {shown_engine})" if shown_engine is not None else ""
        done = sum(plan.record_path(unit).exists() for unit in plan.units)  # a unit's record marks it done
        detail = f"; {done} of {len(plan.units)} units done, none failed{see}" if done else f"; no unit started{see}"
    mistakes = [mistake for log in failed if (mistake := logged_refusal(log)) is not None]
    if failed and len(mistakes) == len(failed):  # a step found a mistake in the job only as it ran: exit 2
        raise UserError(mistakes[0])
    in_slurm = cluster_failures(engine_text, {unit.id for unit in plan.units})
    if in_slurm:  # sbatch refused a unit's job, or SLURM ended one (time limit, memory): say so, and the fix
        rest = [log for log in own if log.stem not in {failure.unit for failure in in_slurm}]
        more = f"; {len(rest)} more failed (logs: {', '.join(map(str, rest[:3]))})" if rest else ""
        raise RunFailure(f"{describe(in_slurm)}{more}")
    causes = [cause for log in failed if (cause := logged_failure(log) or logged_refusal(log)) is not None]
    if failed and len(causes) == len(failed):  # each log ends on one line that says what went wrong
        if GONE_DURING_RUN in causes[0]:  # the units finished are kept for the resume: say how many
            done = sum(plan.record_path(unit).exists() for unit in plan.units)
            detail += f"; {done} of {len(plan.units)} units finished and kept"
        raise RunFailure(f"{causes[0]}{detail}")
    full = _space_failure(plan, engine_log, failed)
    if full is not None:  # Snakemake's own files, or a step's log that could not take its last line
        raise RunFailure(f"{full}{detail}")
    refused = _usage_error(engine_log) if status == 2 and not failed else None
    if refused is not None:  # its own argparse refused an option given after --: the user's mistake
        raise _refused_option(refused)
    shown_log = failed[0] if failed else engine_log
    if shown_log is not None and shown_log.exists():  # the log is not on the terminal: show its end
        tail = shown_log.read_text(errors="replace").rstrip().splitlines()[-15:]
        print("\n".join(f"  | {line}" for line in tail), file=sys.stderr)
    raise RunFailure(f"snakemake exited with status {status}{detail}")


# a step's own line (`no_space_failure`), as Snakemake quotes it, or as a unit's process printed it
NO_SPACE = re.compile(
    r"^(?:maskrun: error: )?(?P<line>.*?: (?:no space left on its device|your disk quota on its device is full"
    r"|larger than (?:this session's file-size limit|its file system takes in one file))\b.*)$",
    re.M,
)
# Snakemake's own: "... ([Errno 28] No space left on device: 'FILE')", or "... for the directory FOLDER"
SPACE_ERROR = re.compile(
    r"\[Errno (?P<errno>28|122|27)\] [^\n]*?(?:: '(?P<file>[^'\n]+)'|for the directory (?P<folder>\S+)|$)", re.M
)


def _space_failure(plan: JobPlan, engine_log: Path | None, failed: list[Path]) -> str | None:
    """The one line a full device (or disk quota, or file-size limit) gives a failed workflow, when the steps' logs
    could not say it.

    Snakemake's log holds a step's own line (`no_space_failure`: its log was empty) or
    Snakemake's errno for its own files (``.snakemake/``: metadata, markers). When no log
    could be written at all (``--verbose``'s on the terminal, or the disk too full), a device
    too full for a run to start (`maskrun.io.output_space.MARGIN_BYTES`) is named when a step
    failed without a word (no line saying why, no traceback).
    """
    text = engine_log.read_text(errors="replace") if engine_log is not None and engine_log.exists() else ""
    if (own := NO_SPACE.search(text)) is not None:
        return own.group("line").strip()
    if (found := SPACE_ERROR.search(text)) is not None:
        named = found.group("file") or (found.group("folder") or "").rstrip(".") or plan.output_dir
        return str(no_space_failure(OSError(int(found.group("errno")), "", named), RESUMES))
    silent = not failed or any(not _says_why(log) for log in failed)
    free = shutil.disk_usage(plan.output_dir).free if plan.output_dir.is_dir() else None
    if silent and free is not None and free < MARGIN_BYTES:
        return str(no_space_failure(OSError(errno.ENOSPC, ""), RESUMES, plan.output_dir))
    return None


def _jobs_started(engine_text: str) -> set[Path] | None:
    """The logs of the jobs this Snakemake started (its job blocks' ``log:``), or None where its log cannot say.

    A unit's log written during the attempt by another process (a killed run's job still
    running on a node) is not this attempt's failure: such a unit, done a moment later, was
    blamed. A Snakemake that could not lock the folder started none. A log without job blocks
    (``--quiet``) says nothing of them: None.
    """
    blocks = job_blocks(engine_text)
    if not blocks:
        return set() if "LockException" in engine_text else None
    return {Path(block.fields["log"]) for block in blocks if "log" in block.fields}


def _says_why(log: Path) -> bool:
    """Whether a failed step's log tells what went wrong: its last line (a refusal, a failure) or a traceback."""
    if logged_failure(log) is not None or logged_refusal(log) is not None:
        return True
    try:
        return "Traceback (most recent call last)" in log.read_text(errors="replace")
    except OSError:
        return False


def _failed_here(log: Path, started: float) -> bool:
    """Whether a step's log was written by this attempt and does not end saying the step was done."""
    return written_since(log, started) and not logged_done(log)


def _cluster_log(unit_log: Path) -> Path | None:
    """A unit's newest SLURM log (``.snakemake/slurm_logs/rule_*/UNIT/JOBID.log``), when its own log is empty.

    A job that SLURM cancelled, or killed at its time or memory limit, leaves maskrun's log
    empty; SLURM writes why in its own.
    """
    if unit_log.stat().st_size:
        return None
    output_dir, unit_id = unit_log.parent.parent, unit_log.stem
    logs = list((output_dir / ".snakemake" / "slurm_logs").glob(f"rule_*/{unit_id}/*.log"))
    return max(logs, key=lambda p: p.stat().st_mtime) if logs else None


def _engine_text(plan: JobPlan, engine_log: Path | None, started: float) -> str:
    """Snakemake's log of this attempt: maskrun's copy, or (``--verbose``: on the terminal) Snakemake's own file."""
    if engine_log is None:
        own = [
            log
            for log in (plan.output_dir / ".snakemake" / "log").glob("*.snakemake.log")
            if written_since(log, started)
        ]
        engine_log = max(own, key=lambda p: p.stat().st_mtime) if own else None
    try:
        return engine_log.read_text(errors="replace") if engine_log is not None else ""
    except OSError:
        return ""


def _job_failure(engine_log: Path | None) -> str | None:
    """Snakemake's message for the first cluster job that failed (``SLURM sbatch failed ...``), on one line."""
    if engine_log is None or not engine_log.exists():
        return None
    found = re.search(
        r"Error in rule \w+:\n\s+message: (.*?)\n\s+(?:\w[\w ]*:|For further)",
        engine_log.read_text(errors="replace"),
        re.S,
    )
    if found is None:
        return None
    message = " ".join(found.group(1).split())
    if message == "None":  # a job run in Snakemake's process (the gather) has no message of its own
        return None
    # the SLURM executor runs it on without a space after its own sentence
    return re.sub(r"\s*For further error details see the cluster/cloud log.*$", "", message)


def _usage_error(engine_log: Path | None) -> str | None:
    """The message of Snakemake's command-line parser (``...: error: unrecognized arguments: --x``), if it ended so."""
    if engine_log is None or not engine_log.exists():
        return None
    return _parser_refusal(engine_log.read_text(errors="replace"))


def _parser_refusal(output: str) -> str | None:
    """The message Snakemake's argparse ended ``output`` with, if it did: it refused an option given after ``--``."""
    lines = output.rstrip().splitlines()
    last = lines[-1] if lines else ""
    return last.split(": error: ", 1)[1] if ": error: " in last else None


def _refuse_options_snakemake_refuses(argv: list[str]) -> None:
    """Parse a run's ``python -m snakemake`` command line with Snakemake's own parser, before anything is written.

    Only for options given after ``--`` (importing the parser takes about a second): the warm
    Snakemake parses them only once the plan is saved, and a run it then refused had written its
    plan and log for nothing.

    Raises
    ------
    UserError
        When Snakemake's parser refuses the command line (an unknown option, a bad value), or
        it holds a target (`refuse_targets`).
    """
    import io

    from snakemake.cli import parse_args

    said = io.StringIO()
    try:
        with contextlib.redirect_stderr(said), contextlib.redirect_stdout(io.StringIO()):
            parsed = parse_args(argv[3:])[1]
    except SystemExit as stop:
        refused = _parser_refusal(said.getvalue()) if stop.code not in (0, None) else None
        if refused is not None:
            raise _refused_option(refused) from None
        return
    except Exception as refusal:  # its own checks of a value past argparse (--resources x): their words, one line
        raise _refused_option(" ".join(str(refusal).split()) or type(refusal).__name__) from None
    refuse_targets(parsed.targets)  # only its parser tells a target from an option's value (--forcerun RULE)


def _refused_option(refused: str) -> UserError:
    return UserError(f"snakemake refused an option given after --: {refused}; see snakemake --help")


def _refuse_a_dollar_in_paths(plan: JobPlan, executor: str) -> None:
    """Refuse a run on a cluster whose output folder or input files have a ``$`` in their path.

    The SLURM executor hands each job's command line to a shell (``sbatch --wrap``), which
    reads ``$5`` in ``runs/$5`` as a variable: every job looked in ``runs/`` and failed (a
    job's ``$$`` is a literal ``$``, docs/spec.md). Locally no shell reads the paths.

    Raises
    ------
    UserError
        Naming the path, and the fix.
    """
    inputs = dict.fromkeys([str(plan.job.path), *(name for unit in plan.units for name in unit_inputs(plan, unit.id))])
    for path in [plan.output_dir, *map(Path, inputs)]:
        if "$" in str(path):
            raise UserError(
                f"has a '$' in its path, which the shell the {executor} executor runs each job in reads as a "
                "variable; rename the folder, or run this job locally (without --profile)",
                source=str(path),
            )


def _runs_here(request: RunRequest) -> bool:
    """Whether the units run on this machine: no profile and no executor given (a cluster's run does not)."""
    executor = any(arg in ("--executor", "-e") or arg.startswith("--executor=") for arg in request.extra)
    return request.profile is None and not executor


def _log_stopped_steps(plan: JobPlan, started: float) -> None:
    """Say "interrupted" in the logs of this attempt's steps that do not say how they ended (`log_stopped`).

    A unit stopped before its process wrote a line (not yet started, or killed as Snakemake
    ended) leaves the log Snakemake created for it empty; the gather and the report, which run
    in Snakemake's own process, and the units of a local run, killed with it, leave their
    ``start`` line and nothing after it. Called once Snakemake and its units are gone (on a
    cluster, a unit's job may still be ending on its node: only its empty log is written).
    """
    for unit in plan.units:
        if written_since(log := plan.log_path(unit.id), started):
            (log_stopped if plan.launcher_pid else log_interrupted_if_empty)(log, unit.id)
    for step in ("gather", "report"):
        if written_since(log := plan.log_path(step), started):
            log_stopped(log, step)


def _stop_hashing(hashing: InputHashing | None) -> None:
    if hashing is not None:
        hashing.stop()


def _stop(warm: WarmSnakemake, signum: int, grace_s: float) -> None:
    """Stop Snakemake and its units after an interrupt (the caller ignores further stops first); returns once
    Snakemake has ended.

    Snakemake leads a session of its own (see `maskrun.workflow.warm_snakemake`), so that
    only maskrun gets a terminal's Ctrl-C, or any SIGINT. Snakemake and its units then get
    it once, from here, at once: the units stop (an interrupted unit is not done; its log
    says so) and Snakemake ends cleanly within ``grace_s`` (`INT_GRACE_S`; on a cluster,
    where it cancels the jobs it submitted, `CLUSTER_INT_GRACE_S`). SIGTERM means stop now
    (``kill``, SLURM's ``scancel`` and time limit), and so does SIGHUP: locally, Snakemake
    alone gets SIGTERM and ``grace_s`` (`TERM_GRACE_S`) to end (its graceful stop would wait
    for the running units); on a cluster it gets SIGINT, as for Ctrl-C, and
    `CLUSTER_TERM_GRACE_S` to cancel the jobs it submitted (left running, they would write on
    after maskrun said it stopped, and a rerun would submit them again). Then whatever is left
    of its session is SIGKILLed; what a killed Snakemake leaves, the next run clears, and the
    units it stopped are redone.
    """
    if signum == signal.SIGINT:
        warm.signal_group(signal.SIGINT)
    else:
        warm.process.send_signal(signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):  # Snakemake's signal handlers can deadlock
        warm.process.wait(timeout=grace_s)
    warm.signal_group(signal.SIGKILL)  # no unit writes on once maskrun says it stopped
    warm.process.wait()


@contextlib.contextmanager
def _suspended_together(warm: WarmSnakemake) -> Iterator[None]:
    """While Snakemake runs, Ctrl-Z (SIGTSTP) stops its session with maskrun; ``fg``/``bg`` continue both.

    The terminal stops maskrun's process group only, and Snakemake's session is not in it.
    """

    def suspend(signum: int, frame: object) -> None:
        warm.signal_group(signal.SIGSTOP)
        os.kill(os.getpid(), signal.SIGSTOP)

    def resume(signum: int, frame: object) -> None:
        warm.signal_group(signal.SIGCONT)

    previous = signal.signal(signal.SIGTSTP, suspend), signal.signal(signal.SIGCONT, resume)
    try:
        yield
    finally:
        signal.signal(signal.SIGTSTP, previous[0])
        signal.signal(signal.SIGCONT, previous[1])


def _stop_with_parent(parent: int) -> None:
    """In the Snakemake child: die with maskrun (even when it is SIGKILLed), never run on orphaned.

    SIGKILL, not SIGTERM: Snakemake 9's SIGTERM handler can deadlock on its scheduler's lock
    when the signal arrives while it selects jobs (seen: an orphan hung for good). What a
    killed Snakemake leaves (its lock, temporary files, incomplete markers) the next run
    clears, as after any kill.
    """
    die_with_parent(parent)


ORPHAN_WAIT_S = 60.0  # SLURM's KillWait is 30 s by default: a cancelled job may take that long to end


def cancel_orphaned_jobs(output_dir: Path, wait_s: float = ORPHAN_WAIT_S) -> list[str]:
    """Cancel this user's SLURM jobs whose working folder is ``output_dir``, and wait for them to end.

    Snakemake runs in ``output_dir``, and so does every job it submits (``squeue``'s ``%Z``).
    Only a run holding the folder's lock submits there, so when a killed run's lock is taken
    over, such jobs are the killed run's: left, they would mask the units the new run
    submits again, and write them after it has finished. Nothing happens where ``squeue`` is
    not installed or does not answer.

    Returns
    -------
    list of str
        The cancelled jobs' IDs.
    """
    scancel = shutil.which("scancel")
    jobs = slurm_jobs_in(output_dir) if scancel is not None else None
    jobs = [job for job in jobs or () if job != os.environ.get("SLURM_JOB_ID")]  # a launcher's own sbatch job
    if scancel is None or not jobs:
        return []
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        subprocess.run([scancel, *jobs], capture_output=True, timeout=10)
    deadline = time.monotonic() + wait_s
    while set(jobs) & set(slurm_jobs_in(output_dir) or ()) and time.monotonic() < deadline:
        time.sleep(0.5)
    return jobs


def _cancelled_words(output_dir: Path, submitted: list[str] | None) -> str:
    """What became of a stopped run's SLURM jobs (``submitted``: those listed as it was stopped; None: ``squeue``
    did not answer), for its last line: a user looks in ``squeue`` otherwise. Nothing where ``squeue`` does not
    answer now."""
    listed = slurm_jobs_in(output_dir, ending=False) if submitted else None
    if not submitted or listed is None:
        return ""
    left = [job for job in listed if job in submitted]
    if left:
        return f"; {len(left)} of its SLURM jobs still listed: scancel {' '.join(left)}"
    count = len(submitted)
    return f"; its {count} SLURM job{'s are' if count > 1 else ' is'} no longer queued or running"


def _clear_snakemake_locks(plan: JobPlan) -> bool:
    """Remove the locks a killed Snakemake left (what ``snakemake --unlock`` does); whether there were any."""
    locks = plan.output_dir / ".snakemake" / "locks"
    found = list(locks.glob("*")) if locks.is_dir() else []
    for path in found:
        path.unlink(missing_ok=True)
    return bool(found)


def _clear_killed_runs_leftovers(plan: JobPlan, lock: RunLock) -> None:
    """Once the run holds the folder's lock: clear what a killed run left there, and say so.

    maskrun holds its run lock whenever its Snakemake runs in the folder, and only such a
    Snakemake submits cluster jobs from it. So with the lock taken over from a killed run
    (`RunLock.took_over`), or with none found (a killed run's lock deleted by hand, as maskrun
    advises when it was held from another host), Snakemake's own locks there are stale, and
    this user's SLURM jobs working in the folder are orphans: left, Snakemake would refuse to
    start, and the orphans would mask the units this run submits again, and write them after
    it has finished. A Snakemake that ended, or that maskrun stopped (cancelling its jobs),
    leaves no lock: without a takeover or a lock of its, ``squeue`` is not asked.
    """
    cleared = _clear_snakemake_locks(plan)
    if lock.took_over is not None:
        print(f"maskrun: note: {took_over_note(lock.took_over, plan.job.path)}", file=sys.stderr)
    elif cleared:
        print(
            "maskrun: note: a killed run left Snakemake's lock in this output folder, and no maskrun run holds the "
            "folder (its run lock was deleted): cleared it; resuming where that run stopped",
            file=sys.stderr,
        )
    if lock.took_over is None and not cleared:  # no Snakemake was killed here, so none left jobs: squeue not asked
        return
    orphans = cancel_orphaned_jobs(plan.output_dir)
    if orphans:
        print(
            f"maskrun: note: cancelled the killed run's cluster jobs still queued or running "
            f"({', '.join(orphans)}): they would mask the same units again, beside this run's",
            file=sys.stderr,
        )


def summary(plan: JobPlan, seconds: float) -> str:
    """One line: what was masked, where it went, how long it took, and the mask check's verdict (``check:``)."""
    record = read_record(plan.run_record_path) or {}
    if plan.particles is not None:
        batches = len(plan.units)
        count = len(plan.particles)
        what = f"{count} particle{'s' * (count != 1)} in {batches} batch{'es' if batches > 1 else ''}"
    else:
        what = f"{len(plan.volume_set.maps)} map{'s' if len(plan.volume_set.maps) > 1 else ''}"
    earlier = len(record.get("resumed", {}).get("units_from_earlier_runs", []))
    if earlier:  # a resumed run: not all of it was masked now
        what += f" ({earlier} of {'them' if plan.particles is None else 'the batches'} masked by an earlier run)"
    target = plan.metadata_output or plan.unit_output(plan.units[0])
    outputs = len(record.get("outputs", []))
    verdict = record.get("check", {}).get("verdict")
    return (
        f"maskrun run: masked {what} -> {target} ({outputs} files, provenance in "
        f"{plan.run_record_path.parent}) in {seconds:.1f} s" + (f"; the mask's check: {verdict}" if verdict else "")
    )
