"""Units forked from the units' server: the unit process exactly, without its start-up."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from maskrun.config.job_file import load_job
from maskrun.jobs.plan import plan_job
from maskrun.jobs.plan_file import save_plan
from maskrun.workflow.unit_forks import UnitForks

from job_files import example_folder, job_with, slow_blocks_env, write_job

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forks and PR_SET_PDEATHSIG: Linux")


def test_a_forked_unit_masks_logs_and_exits_as_the_unit_process_does(tmp_path):
    example_folder(tmp_path, particles=40)
    job = write_job(tmp_path, job_with(batch_size=20))
    plan = plan_job(load_job(job))
    save_plan(plan)
    plan.log_path("batch_00002").parent.mkdir(parents=True)  # Snakemake makes it, for the rule's log:
    forks = UnitForks()
    try:
        assert forks.run([str(job), "batch_00002", "--workers", "1"]) == 0
        assert forks.run([str(job), "batch_00009", "--workers", "1"]) == 2  # no such unit: a user error
    finally:
        ended = forks.close()
    assert ended == 0  # its input closed: the server ends
    record = json.loads(plan.record_path(plan.unit("batch_00002")).read_text())
    assert record["rows"] == [20, 40] and plan.unit_output(plan.unit("batch_00002")).exists()
    assert "forked from the units' server; read the saved plan, rows 20:40" in plan.log_path("batch_00002").read_text()
    assert not plan.record_path(plan.unit("batch_00001")).exists()


def test_the_server_dies_with_the_process_that_started_it(tmp_path):
    started = subprocess.run(
        [sys.executable, "-c", "from maskrun.workflow.unit_forks import UnitForks; print(UnitForks().process.pid)"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    server = int(started.stdout)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(server, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    with pytest.raises(ProcessLookupError):
        os.kill(server, 0)


def test_a_forked_unit_writes_where_its_client_writes_now_not_where_it_did_at_the_start(tmp_path):
    log = tmp_path / "engine.log"
    script = f"""
import os, sys
from maskrun.workflow.unit_forks import UnitForks
forks = UnitForks()  # started while stderr is the terminal (here: a pipe), as in the warm Snakemake
fd = os.open({str(log)!r}, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.dup2(fd, 2)  # then Snakemake's output goes to its log
print(forks.run([{str(tmp_path / "missing.yaml")!r}, "batch_00001"]), flush=True)
forks.close()
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.stdout.strip() == "2", proc.stderr
    assert "missing.yaml" in log.read_text() and "maskrun: error:" in log.read_text()
    assert "missing.yaml" not in proc.stderr


def test_a_unit_interrupted_by_sigint_is_not_done_and_logs_no_traceback(tmp_path, monkeypatch, capfd):
    example_folder(tmp_path, particles=40)
    job = write_job(tmp_path, job_with(batch_size=40))
    plan = plan_job(load_job(job))
    save_plan(plan)
    log = plan.log_path("batch_00001")
    log.parent.mkdir(parents=True)
    monkeypatch.setenv("PYTHONPATH", slow_blocks_env(tmp_path, 5)["PYTHONPATH"])  # a unit of seconds (one block)
    forks = UnitForks()
    status: list[int | None] = []
    try:
        asked = threading.Thread(target=lambda: status.append(forks.run([str(job), "batch_00001", "--workers", "1"])))
        asked.start()
        deadline = time.monotonic() + 60
        while not list((plan.output_dir / "stacks").glob(".batch_00001.mrcs.part-*")):  # it masks
            assert time.monotonic() < deadline
            time.sleep(0.02)
        (unit,) = children(forks.process.pid)
        os.kill(unit, signal.SIGINT)  # as Ctrl-C, passed on by maskrun run to Snakemake's session
        asked.join(timeout=60)
    finally:
        forks.close()
    assert status == [130]
    assert log.read_text().splitlines()[-1].endswith("interrupted batch_00001: not done; the next run does it")
    assert "Traceback" not in log.read_text() + "".join(capfd.readouterr())
    assert not plan.record_path(plan.unit("batch_00001")).exists()
    assert not plan.unit_output(plan.unit("batch_00001")).exists()
    assert not list(plan.output_dir.rglob(".*.part-*"))


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def test_a_unit_interrupted_right_after_making_its_temporary_file_removes_it(tmp_path, monkeypatch):
    """CI's race (the last session): SIGINT between a writer making its part file and entering the `with` that
    removes it left the file. The unit removes its own PID's part files, in the run's folders, and no one else's."""
    from maskrun.workflow import unit_process

    example_folder(tmp_path, particles=40)
    job = write_job(tmp_path, job_with(batch_size=40))
    plan = plan_job(load_job(job))
    save_plan(plan)
    stacks = plan.output_dir / "stacks"
    stacks.mkdir(parents=True)
    others = [stacks / ".batch_00001.mrcs.part-1", plan.output_dir / ".thesis.part-final"]
    for path in others:
        path.write_bytes(b"not this unit's")
    mine = stacks / f".batch_00001.mrcs.part-{os.getpid()}"

    def interrupted_while_writing(*args, **kwargs):
        mine.write_bytes(b"\0" * 1024)  # made, and the interrupt comes before any `with` could remove it
        raise KeyboardInterrupt

    monkeypatch.setattr(unit_process, "run_unit_logged", interrupted_while_writing)
    assert unit_process.main([str(job), "batch_00001"]) == 130
    assert not mine.exists()
    assert all(path.read_bytes() == b"not this unit's" for path in others)


def test_a_client_whose_answers_pipe_is_replaced_under_it_hangs_no_unit(tmp_path):
    """The warm Snakemake started with its standard output closed: the answers' pipe took descriptor 1, and the
    dup2 of Snakemake's log onto it closed it. Its reader died, and every unit after waited forever (the run hung
    until killed). Now no unit waits: each gets None, so that Snakemake starts it as a process of its own."""
    script = f"""
import json, os
from maskrun.workflow.unit_forks import UnitForks
forks = UnitForks()
log = os.open({str(tmp_path / "engine.log")!r}, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.dup2(log, forks._answers.fileno())  # as Snakemake's log took descriptor 1, the pipe's
print(json.dumps([forks.run([{str(tmp_path / "missing.yaml")!r}, "batch_00001"]) for _ in range(3)]), flush=True)
print(forks.close(), flush=True)
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    statuses, ended = proc.stdout.splitlines()
    assert set(json.loads(statuses)) <= {2, None} and json.loads(statuses)[-1] is None  # 2: the answer read before
    # the server ended: killed by the client's reader, or on its own first when its answer found no reader (under
    # load the reader may meet the broken descriptor after the server met the closed pipe)
    assert int(ended) in (-signal.SIGKILL, 1)
    assert "Traceback" not in proc.stderr, proc.stderr


def test_a_server_whose_answers_no_one_reads_ends_without_a_traceback(tmp_path):
    read_answers, answers = os.pipe()
    server = subprocess.Popen(
        [sys.executable, "-m", "maskrun.workflow.unit_forks", str(answers), str(os.getpid())],
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        pass_fds=(answers,),
        text=True,
    )
    os.close(answers)
    os.close(read_answers)  # its client is gone: an answer finds no reader
    request = json.dumps({"id": 1, "argv": [str(tmp_path / "missing.yaml"), "batch_00001"]})
    _, err = server.communicate(request + "\n", timeout=120)
    assert server.returncode == 1
    assert "Traceback" not in err, err
