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
import os
import pickle
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from typing import NoReturn, TypeVar

Task = TypeVar("Task")
Result = TypeVar("Result")


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
    children: list[tuple[int, int]] = []  # (pid, read end of its pipe), until it has been waited for
    try:
        for i in range(1, processes):
            read_fd, write_fd = os.pipe()
            try:
                pid = os.fork()
            except OSError:
                os.close(read_fd)
                os.close(write_fd)
                raise
            if pid == 0:
                os.close(read_fd)
                _child(tasks[i::processes], run, write_fd)
            os.close(write_fd)
            children.append((pid, read_fd))
        results: list[Result] = [run(tasks[0::processes])]
        errors: list[BaseException] = []
        while children:
            pid, read_fd = children[0]
            with open(read_fd, "rb", closefd=False) as pipe:
                payload = pipe.read()
            os.close(read_fd)
            os.waitpid(pid, 0)
            children.pop(0)
            if not payload:
                errors.append(RuntimeError(f"worker process {pid} ended without a result (killed?)"))
                continue
            ok, value = pickle.loads(payload)  # (True, run()'s result) or (False, its exception)
            if ok:
                results.append(value)
            else:
                errors.append(value)
        if errors:
            raise errors[0]
        return results
    finally:
        for pid, read_fd in children:  # left only by an error or an interrupt in this process
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            with contextlib.suppress(OSError):
                os.close(read_fd)


def _child(share: Sequence[Task], run: Callable[[Sequence[Task]], Result], write_fd: int) -> NoReturn:
    """Do one share in a forked process, send back its result or error, and end the process."""
    status = 1
    try:
        try:
            payload = pickle.dumps((True, run(share)))
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
