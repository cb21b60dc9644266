"""Share a list of tasks between this process and forked copies of it: parallel Python without the GIL.

NumPy releases the GIL inside each step, but masking a block takes several short steps
(copy, per-image means, substitution, four reductions), and between them two threads
hand the GIL to each other: ~900 waits on the GIL for a 1.31 GB stack, which cost the
circular + avg mask 0.04-0.05 s of its 0.59 s (measured against the same loop in two
processes, whose output was the same bytes). Forked processes each have their own GIL;
they share the memory-mapped input and the output file as it was at the fork.

Forking is only safe while no other thread of the process could hold a lock the copy
needs, so `can_fork` says whether this process runs any other Python thread (OpenBLAS's
own threads handle forks themselves). It also says no off Linux: on macOS, NumPy's BLAS
(Accelerate) may not be used again in a forked copy.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import pickle
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Generic, NoReturn, TypeVar

Task = TypeVar("Task")
Result = TypeVar("Result")
PR_SET_PDEATHSIG = 1  # <sys/prctl.h>


def can_fork() -> bool:
    """Whether tasks can go to forked processes here: Linux, and no other Python thread running."""
    return sys.platform.startswith("linux") and threading.active_count() == 1


def run_forked(tasks: Sequence[Task], processes: int, run: Callable[[Sequence[Task]], Result]) -> list[Result]:
    """Run ``run(tasks[i::processes])`` in process ``i``: this process is 0, the others are forked.

    Parameters
    ----------
    tasks
        The work, shared out round-robin so that every process gets a like amount.
    processes
        How many processes in all, this one included.
    run
        Does one share. What it returns in a forked process, and the exception it raises
        there, are pickled back to this one.

    Returns
    -------
    list
        The results of processes ``0 .. processes - 1``, in that order.

    Raises
    ------
    BaseException
        The first error raised by any process, in process order. On an error or an
        interrupt in this process, the forked ones are killed before it propagates.
    """
    calls: list[ForkedCall[Result]] = []
    try:
        for i in range(1, processes):
            calls.append(ForkedCall(functools.partial(run, tasks[i::processes])))
        results: list[Result] = [run(tasks[0::processes])]
        errors: list[BaseException] = []
        for call in calls:
            ok, value = call.outcome()
            if ok:
                results.append(value)  # type: ignore[arg-type]  # ok: a result, not an error
            else:
                errors.append(value)  # type: ignore[arg-type]  # not ok: the error
        if errors:
            raise errors[0]
        return results
    finally:
        for call in calls:  # only those left by an error or an interrupt in this process
            call.kill()


class _Call(Generic[Result]):
    """Work started beside this process's own: wait for it with `result` (or `outcome`)."""

    def outcome(self) -> tuple[bool, Result | BaseException]:
        """Wait for the call: ``(True, its result)`` or ``(False, the exception it raised)``."""
        raise NotImplementedError

    def result(self) -> Result:
        """Wait for the call and return its result, or raise its exception."""
        ok, value = self.outcome()
        if not ok:
            raise value  # type: ignore[misc]
        return value  # type: ignore[return-value]

    def kill(self) -> None:
        """Stop the call if it can be and still runs (a no-op once it has been waited for)."""


class ForkedCall(_Call[Result]):
    """``fn()`` running in a forked copy of this process, from the moment this is made.

    The copy dies with this process, even when this one is SIGKILLed (Linux's parent-death
    signal), so that no worker writes on after the command that started it has gone.
    """

    def __init__(self, fn: Callable[[], Result]):
        parent = os.getpid()
        read_fd, write_fd = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            os.close(read_fd)
            os.close(write_fd)
            raise
        if pid == 0:
            os.close(read_fd)
            _child(fn, write_fd, parent)
        os.close(write_fd)
        self._pid: int | None = pid
        self._read_fd = read_fd

    def outcome(self) -> tuple[bool, Result | BaseException]:
        with open(self._read_fd, "rb", closefd=False) as pipe:
            payload = pipe.read()
        pid = self._reap()
        if not payload:
            return False, RuntimeError(f"worker process {pid} ended without a result (killed?)")
        outcome: tuple[bool, Result | BaseException] = pickle.loads(payload)
        return outcome

    def kill(self) -> None:
        if self._pid is not None:
            with contextlib.suppress(OSError):
                os.kill(self._pid, signal.SIGKILL)
            self._reap()

    def _reap(self) -> int:
        pid, self._pid = self._pid, None
        if pid is None:
            raise RuntimeError("the forked call was already waited for")
        with contextlib.suppress(OSError):
            os.close(self._read_fd)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
        return pid


class ThreadCall(_Call[Result]):
    """``fn()`` in a thread: `ForkedCall`'s interface where forking is not safe (`can_fork`).

    Only for work that releases the GIL (file reads, hashing). It cannot be stopped: `kill`
    does nothing, and the thread (a daemon) ends with its work or the process.
    """

    def __init__(self, fn: Callable[[], Result]):
        self._outcome: tuple[bool, Result | BaseException] | None = None

        def target() -> None:
            try:
                self._outcome = (True, fn())
            except BaseException as exc:  # handed to the caller by outcome()
                self._outcome = (False, exc)

        self._thread = threading.Thread(target=target, name="maskrun-call", daemon=True)
        self._thread.start()

    def outcome(self) -> tuple[bool, Result | BaseException]:
        self._thread.join()
        assert self._outcome is not None
        return self._outcome


def call_in_background(fn: Callable[[], Result]) -> ForkedCall[Result] | ThreadCall[Result]:
    """Start ``fn()`` beside this process's own work: forked when `can_fork`, else in a thread.

    A forked call leaves this process with one thread, so that it can still fork its
    masking workers (a thread would stop that).
    """
    return ForkedCall(fn) if can_fork() else ThreadCall(fn)


def _child(fn: Callable[[], Result], write_fd: int, parent: int) -> NoReturn:
    """Run ``fn`` in a forked process, send back its result or error, and end the process."""
    status = 1
    try:
        die_with_parent(parent)
        try:
            payload = pickle.dumps((True, fn()))
            status = 0
        except BaseException as exc:  # sent to the parent, which raises it
            try:
                payload = pickle.dumps((False, exc))
            except Exception:
                payload = pickle.dumps((False, RuntimeError(f"{type(exc).__name__}: {exc}")))
        with open(write_fd, "wb") as pipe:
            pipe.write(payload)
    finally:
        os._exit(status)  # never back into the parent's code: no cleanup, no atexit, no second commit


def die_with_parent(parent: int) -> None:
    """Ask Linux to SIGKILL this process when its parent ``parent`` (a PID) dies.

    prctl's PR_SET_PDEATHSIG; if ``parent`` is already gone, this process ends at once.
    Linux only (the caller checks).
    """
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the request was in place
        os._exit(1)


def fork_into(child: Callable[[], NoReturn]) -> int:
    """Fork; the copy runs ``child``, which ends the process (``os._exit``); returns the copy's PID.

    For a single-threaded server whose copies are processes of their own
    (`maskrun.workflow.unit_forks`); the caller checks `can_fork`.
    """
    pid = os.fork()
    if pid == 0:
        child()
    return pid
