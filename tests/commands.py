"""Helpers for tests that run maskrun as users do: the command, its refusals, output digests, the cluster."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

# a sitecustomize.py that makes the unit of particles 10.. fail (in Snakemake's processes too)
FAIL_BATCH_2 = """
import maskrun.jobs.runner as runner
real = runner.batch_pieces
def batch_pieces(particles, first, stop, maps):
    if first == 10:
        raise RuntimeError("a unit failing for the test")
    return real(particles, first, stop, maps)
runner.batch_pieces = batch_pieces
"""


def maskrun(*args: object, cwd: Path | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    """``python -m maskrun ARGS`` in a subprocess, its output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "maskrun", *map(str, args)], capture_output=True, text=True, timeout=timeout, cwd=cwd
    )


def start_run(job: Path, *extra: str, env: dict[str, str] | None = None, new_session: bool = False) -> subprocess.Popen:
    """``maskrun run JOB --cores 1 EXTRA`` started in a subprocess, its output piped as text (``new_session``: in a
    process group of its own, as a terminal's job)."""
    return subprocess.Popen(
        [sys.executable, "-m", "maskrun", "run", str(job), "--cores", "1", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=new_session,
    )


def wait_for_units(out: Path, count: int, process: subprocess.Popen, seconds: float = 120) -> None:
    """Wait until a running ``maskrun run`` (``process``) has finished ``count`` units of the output folder ``out``."""
    deadline = time.monotonic() + seconds
    while len(list((out / "provenance").glob("batch_*.json"))) < count:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.02)


def refused_line(proc: subprocess.CompletedProcess) -> str:
    """The one stderr line of a refusal: exit 2, no traceback."""
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


def digest(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder`` (outside Snakemake's own state)."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and ".snakemake" not in p.parts
    }


def output_bytes(folder: Path) -> dict[str, bytes]:
    """Every image and metadata file of an output folder (provenance and logs differ by design).

    A STAR's or XMD's references to the masked stacks are read from the output folder
    (``N@stacks/batch_K.mrcs``): written from the input's folder, they name each output folder.
    """
    return {
        str(p.relative_to(folder)): _REFERENCE.sub(rb"\1\2", p.read_bytes())
        if p.suffix in (".star", ".xmd")
        else p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
        and p.suffix in (".mrcs", ".mrc", ".star", ".xmd")
        and not {"provenance", "logs", ".snakemake"} & set(p.relative_to(folder).parts)
    }


_REFERENCE = re.compile(rb"(\d+@)\S*?(stacks/batch_\d+\.mrcs)")


# Snakemake's SLURM executor waits 40 s before its first status check and 10 s between rounds (right for a
# cluster's controller); a test's units take seconds on the one-node cluster, so it asks every second
FAST_POLLS = ("--slurm-init-seconds-before-status-checks", "1", "--seconds-between-status-checks", "1")


def cluster_is_up() -> bool:
    """Whether a SLURM cluster with an idle (or mixed) node answers."""
    if shutil.which("sinfo") is None:
        return False
    proc = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=30)
    return proc.returncode == 0 and any(s in proc.stdout.split() for s in ("idle", "mixed"))
