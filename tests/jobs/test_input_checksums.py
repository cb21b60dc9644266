"""A local run's stacks hashed by the launcher while the workflow starts; the gather waits for them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from types import SimpleNamespace

import blake3

from maskrun.jobs.examples import write_example_particles
from maskrun.jobs.input_checksums import InputHashing, checksums_path, earlier_checksums, launcher_checksums
from maskrun.jobs.plan import plan_job

from job_files import example_folder, job_with, write_job


def b3(path) -> str:
    with open(path, "rb") as file:
        return blake3.blake3(file.read()).hexdigest()


def test_the_launcher_hashes_every_stack_and_units_then_hash_none(tmp_path):
    example_folder(tmp_path, particles=60)
    plan = plan_job(write_job(tmp_path, job_with(batch_size=25)))
    plan.launcher_pid = os.getpid()
    assert all(plan.hashed_inputs(unit) == [] for unit in plan.units)
    (plan.output_dir / ".maskrun").mkdir(parents=True)
    hashing = InputHashing(plan)
    entries = launcher_checksums(plan)  # waits for the file: this process is the hasher, alive
    hashing.stop()
    assert sorted(entries) == sorted(str(p) for p in plan.particle_set.stack_paths)
    for path, entry in entries.items():
        assert entry["blake3"] == b3(path) and entry["bytes"] == os.path.getsize(path)
        assert entry["mtime_ns"] == os.stat(path).st_mtime_ns


def test_the_gather_waits_for_a_live_launcher_and_not_for_a_dead_one(tmp_path):
    out = tmp_path / "out"
    path = checksums_path(out)
    path.parent.mkdir(parents=True)
    plan = SimpleNamespace(launcher_pid=os.getpid(), output_dir=out)
    entry = {"path": "/x.mrcs", "blake3": "00", "bytes": 1, "mtime_ns": 1}
    late = threading.Timer(0.3, lambda: path.write_text(json.dumps({"pid": os.getpid(), "inputs": {"/x.mrcs": entry}})))
    late.start()
    assert launcher_checksums(plan) == {"/x.mrcs": entry}  # type: ignore[arg-type]

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    plan.launcher_pid = int(dead.stdout)
    assert launcher_checksums(plan) == {}  # type: ignore[arg-type]  # an earlier run's file (another pid): unused
    path.unlink()
    assert launcher_checksums(plan) == {}  # type: ignore[arg-type]  # no file, no launcher: the gather hashes


def test_a_full_disk_leaves_the_gather_hashing_itself_not_waiting(tmp_path, monkeypatch):
    """The launcher's file not written (the disk full): an empty one says so, and the thread prints no traceback."""
    import errno

    import maskrun.jobs.input_checksums as input_checksums

    def write_atomic_on_a_full_disk(path, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(input_checksums, "write_atomic", write_atomic_on_a_full_disk)
    unhandled: list[object] = []
    monkeypatch.setattr(threading, "excepthook", unhandled.append)
    example_folder(tmp_path, particles=20)
    plan = plan_job(write_job(tmp_path, job_with(batch_size=25)))
    plan.launcher_pid = os.getpid()
    (plan.output_dir / ".maskrun").mkdir(parents=True)
    hashing = InputHashing(plan)
    found: list[dict] = []
    gather = threading.Thread(target=lambda: found.append(launcher_checksums(plan)), daemon=True)
    gather.start()
    gather.join(timeout=30)  # it waited for good, its launcher (this process) alive
    assert found == [{}]  # so the gather hashes the inputs itself
    hashing._thread.join()
    assert unhandled == [] and checksums_path(plan.output_dir).read_bytes() == b""


def test_a_run_into_a_hashed_folder_takes_again_the_checksums_of_files_unchanged_since(tmp_path):
    """A resumed or redone run read every stack again (a 300 GB set on a network file system); the checksums
    earlier runs took (the finished record's, a stopped launcher's file, cluster units') are taken again for the
    files still of the size and time they were taken at, and only those."""
    example_folder(tmp_path, particles=60)
    plan = plan_job(write_job(tmp_path, job_with(batch_size=25)))
    plan.launcher_pid = os.getpid()
    stacks = [str(p) for p in plan.particle_set.stack_paths]
    assert len(stacks) >= 3
    (plan.output_dir / "provenance").mkdir(parents=True)
    (plan.output_dir / ".maskrun").mkdir()

    def taken(path: str, digest: str) -> dict:
        stat = os.stat(path)
        return {"path": path, "blake3": digest, "bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns}

    # what each source holds: a digest no file has, so that one taken again is told from one hashed
    (plan.output_dir / "provenance" / "run.json").write_text(json.dumps({"inputs": [taken(stacks[0], "a" * 64)]}))
    launcher = {"pid": 1, "inputs": {stacks[1]: taken(stacks[1], "b" * 64)}}
    checksums_path(plan.output_dir).write_text(json.dumps(launcher))
    unit = {"unit": "batch_00001", "job_sha256": "x", "hashed_inputs": [taken(stacks[2], "c" * 64)]}
    (plan.output_dir / "provenance" / "batch_00001.json").write_text(json.dumps(unit))
    earlier = earlier_checksums(plan)
    assert {path: entry["blake3"][0] for path, entry in earlier.items()} == dict(zip(stacks, "abc", strict=False))
    os.utime(stacks[2], ns=(0, os.stat(stacks[2]).st_mtime_ns + 10**9))  # touched since: hashed again
    hashing = InputHashing(plan, earlier)
    entries = launcher_checksums(plan)
    hashing.stop()
    assert entries[stacks[0]]["blake3"] == "a" * 64 and entries[stacks[1]]["blake3"] == "b" * 64
    assert entries[stacks[2]]["blake3"] == b3(stacks[2])
    assert all(entries[path]["blake3"] == b3(path) for path in stacks[3:])
    # another algorithm asked: none is taken again
    sha = plan_job(write_job(tmp_path, job_with(batch_size=25, provenance={"checksums": "sha256"})))
    sha.launcher_pid = os.getpid()
    hashing = InputHashing(sha, earlier_checksums(sha))
    entries = launcher_checksums(sha)
    hashing.stop()
    assert all("blake3" not in entry and len(entry["sha256"]) == 64 for entry in entries.values())


def test_a_stack_given_back_its_size_and_time_after_an_edit_is_hashed_again(tmp_path):
    """``touch -r`` after an edit: size and modification time as the launcher's file of a stopped run has them, and
    its checksum was taken again into run.json. The change time moved (no user can set it back): hashed."""
    from maskrun.jobs.provenance import input_entry

    example_folder(tmp_path, particles=60)
    plan = plan_job(write_job(tmp_path, job_with(batch_size=25)))
    plan.launcher_pid = os.getpid()
    stacks = [str(p) for p in plan.particle_set.stack_paths]
    (plan.output_dir / ".maskrun").mkdir(parents=True)
    launcher = {"pid": 1, "inputs": {path: input_entry(Path(path)) for path in stacks}}
    checksums_path(plan.output_dir).write_text(json.dumps(launcher))
    stat = os.stat(stacks[0])
    with open(stacks[0], "r+b") as file:
        file.seek(-4, os.SEEK_END)
        last = file.read(4)
        file.seek(-4, os.SEEK_END)
        file.write(bytes(4) if last != bytes(4) else b"\x01\x00\x00\x00")
    os.utime(stacks[0], ns=(stat.st_atime_ns, stat.st_mtime_ns))  # touch -r
    hashing = InputHashing(plan, earlier_checksums(plan))
    entries = launcher_checksums(plan)
    hashing.stop()
    assert all(entries[path]["blake3"] == b3(path) for path in stacks)


def test_an_earlier_checksum_that_is_not_a_digest_is_not_taken_again(tmp_path):
    """``"blake3": null`` or ``12345`` in an earlier record went into run.json as the stack's checksum."""
    write_example_particles(tmp_path, n_particles=50, n_stacks=5)
    plan = plan_job(write_job(tmp_path, job_with(batch_size=25)))
    stacks = [str(p) for p in plan.particle_set.stack_paths]
    (plan.output_dir / "provenance").mkdir(parents=True)

    def taken(path: str, digest: object) -> dict:
        stat = os.stat(path)
        return {"path": path, "blake3": digest, "bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns}

    digests = [None, 12345, "ab" * 16, "G" * 64, "a" * 64]
    record = {"inputs": [taken(path, digest) for path, digest in zip(stacks, digests, strict=False)]}
    (plan.output_dir / "provenance" / "run.json").write_text(json.dumps(record))
    assert {path: entry["blake3"] for path, entry in earlier_checksums(plan).items()} == {stacks[4]: "a" * 64}
