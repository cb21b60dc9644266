"""``maskrun run``: validate a job, then drive the Snakemake workflow and summarise.

The workflow runs as ``python -m snakemake`` with the same interpreter, exactly as a user
would run ``snakemake -s workflow/Snakefile --configfile JOB.yaml --cores N``: profiles and
every Snakemake flag work, and the CLI stays a thin shell. Snakemake's state
(``.snakemake/``) lives in the output folder, beside what it tracks.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from maskrun.errors import RunFailure
from maskrun.jobs.plan import JobPlan, plan_job
from maskrun.jobs.provenance import read_record
from maskrun.jobs.runner import check_output_dir, unit_done

WORKFLOW = Path(__file__).resolve().parent  # the Snakefile, its rules and profiles ship in the package


@dataclass
class RunRequest:
    job: str
    cores: str = "all"
    profile: str | None = None
    dry_run: bool = False
    extra: tuple[str, ...] = ()


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

    A folder that exists wins over a bundled name; anything else goes to Snakemake as it is
    (it also looks profiles up by name in its own config folders).
    """
    if Path(profile).is_dir() or profile not in bundled_profiles():
        return profile
    return str(WORKFLOW / "profiles" / profile)


def snakemake_command(plan: JobPlan, request: RunRequest) -> list[str]:
    """The ``snakemake`` command line for a job (also what the README shows)."""
    argv = [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(snakefile()),
        "--configfile",
        str(plan.job.path),
        "--directory",
        str(plan.output_dir),
        "--cores",
        str(request.cores),
    ]
    if request.profile:
        # the workflow profile would replace the cluster profile's keys one by one
        argv += ["--profile", resolve_profile(request.profile), "--workflow-profile", "none"]
    if plan.run_record_path.exists():  # finished before, and output.overwrite: true
        argv.append("--forceall")
    if request.dry_run:
        argv.append("--dry-run")
    return argv + list(request.extra)


def run_workflow(request: RunRequest) -> int:
    """Validate, run the workflow, print a summary; returns the exit status.

    Raises
    ------
    maskrun.errors.UserError
        For an invalid job or input, before Snakemake starts (exit 2).
    RunFailure
        When the workflow fails, naming the failed units' logs (exit 1).
    """
    plan = plan_job(request.job)
    check_output_dir(plan)
    plan.output_dir.mkdir(parents=True, exist_ok=True)
    argv = snakemake_command(plan, request)
    start = time.perf_counter()
    process = subprocess.Popen(argv)
    try:
        status = process.wait()
    except KeyboardInterrupt:
        # A terminal's Ctrl-C reaches snakemake too; a second SIGINT would cut its clean-up
        # short, so forward one only if the signal was sent to maskrun alone.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGINT)
            process.wait()
        raise RunFailure("interrupted; run the same command again to finish the missing units") from None
    seconds = time.perf_counter() - start
    if status != 0:
        failed = [u for u in plan.units if not unit_done(plan, u)]
        logs = ", ".join(str(plan.output_dir / "logs" / f"{u.id}.log") for u in failed[:3])
        detail = f"; unfinished: {len(failed)} units (logs: {logs})" if failed and not request.dry_run else ""
        raise RunFailure(f"snakemake exited with status {status}{detail}")
    if not request.dry_run:
        print(summary(plan, seconds))
    return 0


def summary(plan: JobPlan, seconds: float) -> str:
    """One line: what was masked, where it went, how long it took."""
    record = read_record(plan.run_record_path) or {}
    if plan.particles is not None:
        batches = len(plan.units)
        what = f"{len(plan.particles)} particles in {batches} batch{'es' if batches > 1 else ''}"
    else:
        what = f"{len(plan.volume_set.maps)} map{'s' if len(plan.volume_set.maps) > 1 else ''}"
    target = plan.metadata_output or plan.unit_output(plan.units[0])
    outputs = len(record.get("outputs", []))
    return (
        f"maskrun run: masked {what} -> {target} ({outputs} files, provenance in "
        f"{plan.run_record_path.parent}) in {seconds:.1f} s"
    )
