"""Provenance records (docs/spec.md, "Provenance"): what ran, on what, with which versions, and checksums.

Records are JSON files under ``<output>/provenance/``; the images and metadata themselves
carry nothing volatile, so the same job on the same inputs gives byte-identical outputs.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import socket
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from maskrun._version import __version__
from maskrun.io.atomic import write_atomic
from maskrun.jobs.source_commit import source_commit
from maskrun.jobs.source_digest import source_digest

PACKAGES = ("numpy", "mrcfile", "snakemake", "pydantic", "starfile", "blake3")


CHECKSUMS = ("blake3", "sha256")


def blake3_of(path: str | os.PathLike[str], all_cores: bool = False) -> str:
    """Hex BLAKE3 of a file (what ``b3sum`` prints), hashed through a memory map.

    ``all_cores`` hashes on every core (BLAKE3 is a tree hash): for an output, once the
    masking is done. Never in a forked process: the thread pool of the process it was
    forked from does not exist in the fork, and the hash would wait for it for ever.
    """
    import blake3  # only the processes that hash pay for the import

    digest = blake3.blake3(max_threads=blake3.blake3.AUTO if all_cores else 1)
    if os.path.getsize(path):  # an empty file cannot be mapped
        digest.update_mmap(path)
    return digest.hexdigest()


def checksum_of(path: str | os.PathLike[str], algorithm: str, all_cores: bool = False) -> str:
    """Hex digest of a file with ``algorithm`` (``blake3`` or ``sha256``); see `blake3_of` for ``all_cores``."""
    return blake3_of(path, all_cores) if algorithm == "blake3" else sha256_of(path)


def recorded_checksum(entry: dict[str, Any]) -> tuple[str, str] | None:
    """``(algorithm, hex digest)`` of a record's file entry, whichever algorithm wrote it; None without one."""
    for algorithm in CHECKSUMS:
        if algorithm in entry:
            return algorithm, entry[algorithm]
    return None


def sha256_of(path: str | os.PathLike[str], block_bytes: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in blocks into one buffer (memory stays flat)."""
    digest = hashlib.sha256()
    buffer = bytearray(block_bytes)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as handle:
        while size := handle.readinto(buffer):
            digest.update(view[:size])
    return digest.hexdigest()


def file_entry(
    path: Path, relative_to: Path | None = None, algorithm: str = "blake3", all_cores: bool = False
) -> dict[str, Any]:
    """``{"path", ALGORITHM, "bytes"}`` for a file (path relative to ``relative_to`` when inside it).

    ``algorithm`` is ``blake3``, ``sha256`` or ``none`` (no checksum: path and size only);
    the entry's key names it.
    """
    shown = str(path)
    if relative_to is not None and path.is_relative_to(relative_to):
        shown = str(path.relative_to(relative_to))
    entry = {"path": shown}
    if algorithm != "none":
        entry[algorithm] = checksum_of(path, algorithm, all_cores)
    return entry | {"bytes": path.stat().st_size}


def input_entry(path: Path, algorithm: str = "blake3", all_cores: bool = False) -> dict[str, Any]:
    """`file_entry` of an input, with the modification time it had before it was hashed."""
    return output_entry(path, None, algorithm, all_cores)


def output_entry(
    path: Path, relative_to: Path | None, algorithm: str = "blake3", all_cores: bool = False
) -> dict[str, Any]:
    """`file_entry` of an output, with the modification time it had before it was hashed: a later look at the folder
    hashes only the files whose time moved since (`maskrun.jobs.output_state`), so that one edited in place at the
    same size is told (inputs alike, `input_entry`). And its change time (``ctime_ns``): a file edited and given its
    time back (``touch -r``), or renamed over another of its size and time, has a new change time, which no user can
    set back (`still_matches`)."""
    stat = path.stat()
    return file_entry(path, relative_to, algorithm, all_cores) | {"mtime_ns": stat.st_mtime_ns} | _ctime(stat)


def hash_inputs(paths: list[Path], algorithm: str = "blake3") -> dict[str, dict[str, Any]]:
    """`input_entry` of each file, by path."""
    return {str(path): input_entry(path, algorithm) for path in paths}


def still_matches(entry: dict[str, Any], path: Path, algorithm: str | None = None) -> bool:
    """Whether a file has the size, modification time and change time an earlier `input_entry` saw (and, given
    ``algorithm``, whether the entry holds a checksum of that kind).

    The change time (``ctime_ns``) moves on any write, on ``touch -r`` and on a rename, and
    cannot be set back: a file edited and given back its size and modification time, or
    stacks swapped by name that share both, no longer match. An entry without one (written
    by an older maskrun) is told by size and modification time, as then.
    """
    if algorithm is not None and algorithm != "none" and algorithm not in entry:
        return False
    try:
        stat = path.stat()
    except OSError:
        return False
    return stat.st_size == entry.get("bytes") and stat.st_mtime_ns == entry.get("mtime_ns") and same_ctime(entry, stat)


def same_ctime(entry: dict[str, Any], stat: os.stat_result) -> bool:
    """Whether a file's change time is the one an entry holds (True for an entry without one, of an older maskrun)."""
    return "ctime_ns" not in entry or entry["ctime_ns"] == stat.st_ctime_ns


def _ctime(stat: os.stat_result) -> dict[str, int]:
    return {"ctime_ns": stat.st_ctime_ns}


def seen_entry(path: Path) -> dict[str, Any]:
    """``{"path", "bytes", "mtime_ns", "ctime_ns"}`` of a file as it is now: what a unit read, for `still_matches`
    later."""
    stat = path.stat()
    return {"path": str(path), "bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns} | _ctime(stat)


def same_content(entry: dict[str, Any], path: Path) -> bool:
    """Whether a file still has the checksum an entry holds (False without one)."""
    recorded = recorded_checksum(entry)
    return recorded is not None and checksum_of(path, recorded[0], all_cores=True) == recorded[1]


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def environment() -> dict[str, Any]:
    """maskrun's version, commit (`source_commit`: None where it cannot be told) and code's digest (`source_digest`:
    it tells uncommitted changes), Python's and the libraries' versions, host and command line."""
    versions: dict[str, str | None] = {
        "maskrun": __version__,
        "maskrun_commit": source_commit(),
        "maskrun_source_sha256": source_digest(),
        "python": platform.python_version(),
    }
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {"versions": versions, "host": socket.gethostname(), "platform": platform.platform(), "command": sys.argv}


SLURM_VARIABLES = {"SLURM_JOB_ID": "job_id", "SLURMD_NODENAME": "node"}


def slurm_job() -> dict[str, Any]:
    """``{"slurm": {"job_id", "node"}}`` of the SLURM job this process runs in (what of it SLURM set), else {}:
    which job ran a unit, and on which node."""
    found = {key: os.environ[name] for name, key in SLURM_VARIABLES.items() if os.environ.get(name)}
    return {"slurm": found} if found else {}


def write_record(path: Path, record: dict[str, Any]) -> Path:
    """Write a record atomically; it is the last thing a unit writes, so it marks the unit done."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_atomic(path, json.dumps(record, indent=1, sort_keys=False) + "\n")


def read_record(path: Path) -> dict[str, Any] | None:
    """A record, or ``None`` if it is missing or unreadable (an interrupted write)."""
    try:
        record: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return record
