"""Tasks shared with forked processes: results in process order, errors and kills reach the caller."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from maskrun.engine.forked_workers import ForkedCall, ThreadCall, call_in_background, can_fork, run_forked
from maskrun.engine.workers import Forks, Threads


def test_each_process_does_every_nth_task_and_results_come_in_process_order():
    results = run_forked(list(range(10)), 3, lambda share: (os.getpid(), list(share)))
    assert [share for _, share in results] == [[0, 3, 6, 9], [1, 4, 7], [2, 5, 8]]
    pids = [pid for pid, _ in results]
    assert pids[0] == os.getpid() and len(set(pids)) == 3


def test_one_process_runs_here_without_forking(monkeypatch):
    monkeypatch.setattr(os, "fork", lambda: pytest.fail("forked"))
    assert run_forked(["a", "b"], 1, list) == [["a", "b"]]


def _fail_on_five(share):
    if 5 in share:
        raise OSError(28, "No space left on device")
    return len(share)


def test_an_error_in_a_forked_process_is_raised_here_with_its_type():
    with pytest.raises(OSError, match="No space left") as caught:
        run_forked(list(range(8)), 2, _fail_on_five)  # 5 is in the child's share
    assert caught.value.errno == 28


def test_a_killed_forked_process_is_an_error_here():
    def die_in_child(share):
        if 1 in share:
            os.kill(os.getpid(), signal.SIGKILL)
        return share

    with pytest.raises(RuntimeError, match="ended without a result"):
        run_forked([0, 1], 2, die_in_child)


def test_an_error_here_kills_the_forked_processes_and_waits_for_them(monkeypatch):
    parent, forked, real_fork = os.getpid(), [], os.fork

    def fork():
        pid = real_fork()
        if pid:
            forked.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", fork)

    def slow_children(share):
        if os.getpid() != parent:
            time.sleep(60)
        raise KeyboardInterrupt

    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        run_forked([0, 1, 2], 3, slow_children)
    assert time.monotonic() - start < 30
    assert len(forked) == 2
    for pid in forked:  # killed and waited for: no longer a child of this process
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)


def test_fork_here_only_while_no_other_thread_runs():
    assert can_fork()  # pytest runs tests in its one thread, on Linux


def test_no_fork_while_another_thread_runs(another_thread):
    assert another_thread.is_alive() and not can_fork()


def test_a_forked_call_returns_its_result_or_raises_its_error():
    assert ForkedCall(lambda: os.getpid()).result() != os.getpid()
    with pytest.raises(OSError, match="No space left"):
        ForkedCall(lambda: _fail_on_five([5])).result()


def test_a_forked_call_dies_with_its_parent(tmp_path):
    """Even a SIGKILLed parent takes its forked calls along: nothing writes on after a killed command."""
    pid_file = tmp_path / "pid"
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import os, time, pathlib\n"
            "from maskrun.engine.forked_workers import ForkedCall\n"
            f"call = ForkedCall(lambda: time.sleep(60))\n"
            f"pathlib.Path({str(pid_file)!r}).write_text(str(call._pid))\n"
            "time.sleep(60)\n",
        ]
    )
    deadline = time.monotonic() + 30
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    child = int(pid_file.read_text())
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    while _alive(child):
        assert time.monotonic() < deadline, "the forked call outlived its parent"
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has ended (its parent, init, reaps it in time)


def test_work_in_the_background_uses_a_thread_when_forking_is_unsafe(another_thread):
    call = call_in_background(lambda: threading.get_ident())
    assert isinstance(call, ThreadCall) and call.result() != threading.get_ident()


def test_work_in_the_background_is_forked_when_safe():
    call = call_in_background(os.getpid)
    assert isinstance(call, ForkedCall) and call.result() != os.getpid()


def _pid_and_worker():
    worker = object()  # made once per worker, in its own thread or process
    return lambda task: (task, os.getpid(), id(worker), threading.get_ident())


@pytest.mark.parametrize("strategy", [Forks, Threads])
def test_both_strategies_give_results_in_task_order_and_progress_from_here_only(strategy):
    tasks, fractions = ["a" * n for n in range(1, 10)], []
    results = strategy(3).run(tasks, _pid_and_worker, fractions.append)
    assert [task for task, *_ in results] == tasks
    workers = {(pid, worker) for _, pid, worker, _ in results}
    if strategy is Forks:
        assert len({pid for pid, _ in workers}) == 3 and len(workers) == 3
        mine = [t for t, pid, *_ in results if pid == os.getpid()]
        assert fractions == [sum(map(len, mine[: i + 1])) / sum(map(len, mine)) for i in range(len(mine))]
    else:
        assert {pid for pid, _ in workers} == {os.getpid()} and len(workers) <= 3
        assert fractions == sorted(fractions) and fractions[-1] == 1.0 and len(fractions) == len(tasks)


@pytest.mark.parametrize("strategy", [Forks, Threads])
def test_both_strategies_raise_a_worker_error_here(strategy):
    def start():
        def task(n: str) -> str:
            if n == "ccc":
                raise ValueError("task ccc failed")
            return n

        return task

    with pytest.raises(ValueError, match="task ccc failed"):
        strategy(2).run(["a", "bb", "ccc", "dddd"], start)
