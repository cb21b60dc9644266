"""What Snakemake's log says of its jobs: each job's block (rule, threads, resources) and each error's.

Snakemake 9 prints a job as ``rule NAME:`` (``localrule NAME:``) followed by indented
``key: value`` lines, in a run's log and in a dry run's output alike, and a failed job as
``Error in rule NAME:`` with its message (which may span lines: sbatch's own) and the
job's logs. maskrun reads these to say what a cluster job asked for (the dry run) and why
one failed (`maskrun.workflow.slurm_failures`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

JOB = re.compile(r"^(?:local)?rule (?P<rule>\w+):\n(?P<body>(?:    .*(?:\n|$))+)", re.M)
ERROR = re.compile(
    r"^Error in rule (?P<rule>\w+):\n(?P<body>.*?)(?=^\[|^Shutting down|^Will exit|^Exiting|^Complete log|\Z)",
    re.M | re.S,
)
FIELD = re.compile(r"^    (\w[\w ]*): (.*)$", re.M)
MESSAGE = re.compile(
    r"^    message: (.*?)(?=^    (?:sbatch call|jobid|input|output|log|external_jobid):|\Z)", re.M | re.S
)
SLURM_RUN = re.compile(r"^SLURM run ID: (\S+)$", re.M)
SUBMITTED = re.compile(r"^Job (\d+) has been submitted with SLURM jobid (\d+) \(log: (.*)\)\.$", re.M)


@dataclass
class JobBlock:
    """One job as Snakemake announced it."""

    rule: str
    fields: dict[str, str]

    @property
    def jobid(self) -> str | None:
        return self.fields.get("jobid")

    @property
    def threads(self) -> int:
        """The job's threads (Snakemake leaves out the line for one)."""
        text = self.fields.get("threads", "1")
        return int(text) if text.isdecimal() else 1

    @property
    def resources(self) -> dict[str, str]:
        """``resources: tmpdir=/tmp, mem_mb=1000, ...`` as a mapping (values as printed)."""
        pairs = (item.partition("=") for item in self.fields.get("resources", "").split(", "))
        return {name: value for name, equals, value in pairs if equals}


@dataclass
class ErrorBlock:
    """One failed job as Snakemake reported it."""

    rule: str
    message: str  # its lines stripped; "None" for a job that failed in Snakemake's own process
    jobid: str | None = None
    external_jobid: str | None = None  # the cluster's job ID (SLURM's), once it was submitted
    logs: list[str] = field(default_factory=list)


def job_blocks(text: str) -> list[JobBlock]:
    """Every job block in ``text`` (a log, or a dry run's output), in order."""
    return [JobBlock(m["rule"], dict(FIELD.findall(m["body"]))) for m in JOB.finditer(text)]


def error_blocks(text: str) -> list[ErrorBlock]:
    """Every ``Error in rule`` block in ``text``, in order."""
    errors = []
    for found in ERROR.finditer(text):
        body = found["body"]
        message = MESSAGE.search(body)
        fields = dict(FIELD.findall(body))
        logs = fields.get("log", "").removesuffix(" (check log file(s) for error details)")
        errors.append(
            ErrorBlock(
                found["rule"],
                "\n".join(line.strip() for line in message[1].strip().splitlines()) if message else "None",
                fields.get("jobid"),
                fields.get("external_jobid"),
                [path for path in logs.split(", ") if path],
            )
        )
    return errors


def slurm_logs(text: str) -> dict[str, str]:
    """SLURM job ID → the log the SLURM executor named for it as it submitted the job."""
    return {m[2]: m[3] for m in SUBMITTED.finditer(text)}


def slurm_run_id(text: str) -> str | None:
    """The id the SLURM executor gave the run (``SLURM run ID: …``, each of its jobs' name), if it says one."""
    found = SLURM_RUN.search(text)
    return found.group(1) if found else None
