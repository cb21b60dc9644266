"""A cluster run's failure in the user's terms: which unit, what SLURM said, and the fix.

Snakemake's SLURM executor reports a job that sbatch refused (``SLURM sbatch failed. The
error message was '...'``) and one SLURM ended (``SLURM-job '95' failed, SLURM status is:
'TIMEOUT'``) in its own log, while the unit's log is empty or stops mid-way. This module
reads those reports (`maskrun.workflow.snakemake_log`), takes the job's state from them, from
SLURM's log of the job (``CANCELLED ... DUE TO TIME LIMIT``), or else from ``sacct`` or
``squeue``, and words the one line ``maskrun run`` ends on. A job that failed because its
unit did (state ``FAILED``) is left to the unit's own log, which says why.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from maskrun.errors import first_named
from maskrun.workflow.slurm_extra import EXECUTOR_REFUSAL, refused_option
from maskrun.workflow.snakemake_log import ErrorBlock, JobBlock, error_blocks, job_blocks, slurm_logs

RESUME = "run the same command again: the run resumes where it stopped"
REFUSED = re.compile(
    r"^SLURM sbatch failed\. The error message was '(.*?)'\.?$|^(?:SLURM )?[Jj]ob submission failed", re.S
)
STATE = re.compile(r"^SLURM-job '(\d+)' failed.*?SLURM status is: '(\w+)'")
STATES_TOLD = ("TIMEOUT", "OUT_OF_MEMORY", "CANCELLED", "NODE_FAIL", "BOOT_FAIL", "PREEMPTED", "DEADLINE")
# what sbatch's refusal names → the fix ({option}: "-- --set-resources RULE")
SBATCH_FIXES = (
    (
        ("partition",),
        "set a partition that exists (sinfo lists them), as slurm_partition in the profile's default-resources "
        "or with {option}:slurm_partition=NAME",
    ),
    (
        ("account",),
        "set an account you may use, as slurm_account in the profile's default-resources or with "
        "{option}:slurm_account=NAME",
    ),
    (("qos",), "set a QOS you may use with {option}:qos=NAME, or leave it out"),
    (
        ("memory", "node configuration"),
        "ask for less memory (sinfo -o '%P %m' lists the nodes' MB) with {option}:mem_mb=MB, or use another partition",
    ),
    (
        ("processors", "cpu"),
        "ask for fewer CPUs with {cpus} (sinfo -o '%P %c' lists the nodes' CPUs)",
    ),
    (
        ("time",),
        "ask for a runtime within the partition's limit (sinfo -o '%P %l' lists them) with {option}:runtime=MINUTES",
    ),
)
OUT_OF_MEMORY = re.compile(r"oom[_-]kill|out-of-memory|out of memory|exceeded job memory limit", re.I)


@dataclass
class ClusterFailure:
    """One unit's cluster job that SLURM refused or ended."""

    unit: str
    rule: str
    state: str  # SLURM's (TIMEOUT, ...), or REFUSED: sbatch would not queue it
    said: str  # what SLURM said: sbatch's error lines, or the job's ID and state
    asked: dict[str, str]  # the resources the job asked for, as Snakemake printed them
    log: str | None = None  # SLURM's log of the job


def cluster_failures(engine_text: str, unit_ids: set[str]) -> list[ClusterFailure]:
    """The units' jobs that SLURM refused or ended, from Snakemake's log (``engine_text``), in its order."""
    jobs: dict[str, JobBlock] = {block.jobid: block for block in job_blocks(engine_text) if block.jobid}
    logs = slurm_logs(engine_text)
    failures = []
    for error in error_blocks(engine_text):
        unit = next((Path(log).stem for log in error.logs if Path(log).stem in unit_ids), None)
        if unit is None:
            continue
        asked = jobs[error.jobid].resources if error.jobid in jobs else {}
        failure = _failure(error, unit, asked, logs)
        if failure is not None:
            failures.append(failure)
    return failures


def _failure(error: ErrorBlock, unit: str, asked: dict[str, str], logs: dict[str, str]) -> ClusterFailure | None:
    refused = REFUSED.match(error.message)
    if refused is not None:
        lines = (refused[1] or error.message).splitlines()
        said = "; ".join(dict.fromkeys(line.removeprefix("sbatch: error: ").strip() for line in lines if line.strip()))
        return ClusterFailure(unit, error.rule, "REFUSED", said, asked)
    found = STATE.match(error.message)
    job_id = found[1] if found else error.external_jobid
    if job_id is None:
        return None
    slurm_log = logs.get(job_id) or next((log for log in error.logs if "slurm_logs" in Path(log).parts), None)
    state = found[2] if found else job_state(job_id)
    said = _log_text(slurm_log)
    if state == "CANCELLED" and "DUE TO TIME LIMIT" in said:
        state = "TIMEOUT"
    elif state == "CANCELLED" and "DUE TO PREEMPTION" in said:
        state = "PREEMPTED"
    elif state in ("FAILED", "CANCELLED") and OUT_OF_MEMORY.search(said):
        state = "OUT_OF_MEMORY"
    if state not in STATES_TOLD:
        return None
    return ClusterFailure(unit, error.rule, state, f"job {job_id}: {state}", asked, slurm_log)


def _log_text(path: str | None) -> str:
    try:
        return Path(path).read_text(errors="replace") if path else ""
    except OSError:
        return ""


def job_state(job_id: str) -> str | None:
    """A SLURM job's state from ``sacct`` (accounting), or else ``squeue`` (while SLURM still lists it); None."""
    queries = [
        ["sacct", "-n", "-X", "-P", "-j", job_id, "-o", "State"],
        ["squeue", "-h", "-j", job_id, "--states=all", "-o", "%T"],
    ]
    for query in queries:
        if shutil.which(query[0]) is None:
            continue
        try:
            answer = subprocess.run(query, capture_output=True, text=True, timeout=10, check=True).stdout.split()
        except (OSError, subprocess.SubprocessError):
            continue
        if answer:
            return answer[0]  # "CANCELLED by 0" says who, too
    return None


def describe(failures: list[ClusterFailure]) -> str | None:
    """The line ``maskrun run`` ends on for these failures: the first kind's units, what SLURM said, the fix."""
    if not failures:
        return None
    first = failures[0]
    same = [f for f in failures if (f.state, f.said) == (first.state, first.said)]
    units = _units(sorted(f.unit for f in same))
    fix = _fix(first)
    others = len(failures) - len(same)
    more = f"; {others} more unit{'s' * (others != 1)} failed in SLURM otherwise" if others else ""
    executor_refused = EXECUTOR_REFUSAL.search(first.said) if first.state == "REFUSED" else None
    if executor_refused is not None:  # its check of slurm_extra, before sbatch (an expression's value)
        return (
            f'the SLURM executor refused to submit {units}: it said "{executor_refused[0]}"; {fix}, then run the same '
            f"command again{more}"
        )
    if first.state == "REFUSED":
        return (
            f'SLURM refused to queue {units}: sbatch said "{first.said}"; {fix}, then run the same command again{more}'
        )
    what = {
        "TIMEOUT": f"SLURM stopped {units} at its time limit",
        "OUT_OF_MEMORY": f"SLURM stopped {units} for using more memory than it asked for",
        "CANCELLED": f"SLURM cancelled {units}",
        "NODE_FAIL": f"the node running {units} failed",
        "BOOT_FAIL": f"the node for {units} failed to start",
        "PREEMPTED": f"SLURM preempted {units} for other work",
        "DEADLINE": f"SLURM stopped {units} at its deadline",
    }[first.state]
    asked = {"TIMEOUT": ("runtime", "min"), "OUT_OF_MEMORY": ("mem_mb", "MB")}.get(first.state)
    value = first.asked.get(asked[0], "") if asked else ""
    details = [f"{value} {asked[1]}" if asked and value.isdecimal() else "", first.said]
    details.append(f"SLURM's log: {first.log}" if first.log else "")
    return f"{what} ({'; '.join(filter(None, details))}); {fix}{more}"


def _cpus_setting(asked: dict[str, str], option: str, rule: str) -> str:
    """The setting that gave a job its CPUs, as the SLURM executor picks it: ``cpus_per_task``, a GPU job's
    ``cpus_per_gpu``, else the rule's threads (``--set-threads`` changes nothing of a job that sets cpus_per_task)."""
    if asked.get("cpus_per_task", "").lstrip("-").isdecimal():
        return f"{option}:cpus_per_task=N (it sets the CPUs asked, whatever the threads)"
    gpu_job = asked.get("gpu") not in (None, "", "0") or "gpu" in asked.get("gres", "")
    if gpu_job and asked.get("cpus_per_gpu", "").isdecimal():
        return f"{option}:cpus_per_gpu=N (it sets the CPUs asked, whatever the threads)"
    return f"-- --set-threads {rule}=N"


def _units(units: list[str]) -> str:
    if len(units) == 1:
        return f"unit {units[0]}"
    return f"units {first_named(units)}"


def _fix(failure: ClusterFailure) -> str:
    rule, said = failure.rule, failure.said.lower()
    option = f"-- --set-resources {rule}"
    if failure.state in ("TIMEOUT", "OUT_OF_MEMORY"):
        name, least = ("runtime", 10) if failure.state == "TIMEOUT" else ("mem_mb", 2000)
        asked = failure.asked.get(name, "")
        more = max(2 * int(asked), least) if asked.isdecimal() else least
        return f"ask for more with {option}:{name}={more} (or set-resources in your profile), and {RESUME}"
    if failure.state == "PREEMPTED" or failure.state.endswith("_FAIL"):
        return (
            f"{RESUME} (uncomment slurm-requeue: true in your copy of the SLURM profile to have SLURM requeue such "
            "jobs itself)"
        )
    if failure.state != "REFUSED":  # cancelled, a deadline: by someone's choice
        return RESUME
    managed = refused_option(failure.said)  # the executor's refusal: its words name a time, a partition, ...
    if managed is not None:
        instead = (
            f" and use the resource {managed.resource} instead ({option}:{managed.instead}, or set-resources in your "
            "profile)"
            if managed.instead
            else " (no resource sets it)"
        )
        return f"the executor sets the {managed.name} itself: take that option out of slurm_extra{instead}"
    for words, fix in SBATCH_FIXES:
        if any(word in said for word in words):
            return fix.format(option=option, rule=rule, cpus=_cpus_setting(failure.asked, option, rule))
    return f"fix what sbatch names, in the profile or with {option}:RESOURCE=VALUE"
