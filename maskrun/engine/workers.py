"""Run a list of tasks on several cores: `Forks` (processes) or `Threads`, behind one interface.

Both take the tasks, a ``start`` that makes one worker's task function (called once in
each worker, in its own thread or process, so that what it allocates, a buffer say, is
the worker's own), and an optional ``progress``; both return the task functions' results
in the order of the tasks, or raise the first error after stopping every worker.

`Forks` shares the tasks round-robin between this process and forked copies of it
(`maskrun.engine.forked_workers.run_forked`): each has its own GIL, so a task's short
NumPy steps do not wait on each other's. `Threads` take the next task as they come free;
the only choice where forking is not safe (`maskrun.engine.forked_workers.can_fork`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence, Sized
from typing import Any, TypeVar

from maskrun.engine.forked_workers import run_forked

Task = TypeVar("Task", bound=Sized)  # its length is its weight, for progress: rows, say
Result = TypeVar("Result")
Start = Callable[[], Callable[[Task], Result]]  # generic: Start[Task, Result]
Progress = Callable[[float], None]


class Forks:
    """This process and ``count - 1`` forked copies of it, each with a fixed share of the tasks.

    ``progress`` is called in this process only, with the fraction of its own share done
    (the round-robin keeps the shares in step).
    """

    def __init__(self, count: int):
        self.count = max(1, count)

    def run(self, tasks: Sequence[Task], start: Start[Task, Result], progress: Progress | None = None) -> list[Result]:
        processes, parent = max(1, min(self.count, len(tasks))), os.getpid()

        def run_share(share: Sequence[Task]) -> list[Result]:
            meter = _Meter(share, progress if os.getpid() == parent else None)
            do = start()
            return [meter.done(task, do(task)) for task in share]

        shares = run_forked(tasks, processes, run_share)
        results: list[Any] = [None] * len(tasks)
        for i, share in enumerate(shares):
            results[i::processes] = share
        return results


class Threads:
    """``count`` threads of this process, each taking the next task as it comes free.

    On an error in a worker or an interrupt in this thread, the others stop after their
    current task, and the error is raised here once they have.
    """

    def __init__(self, count: int):
        self.count = max(1, count)

    def run(self, tasks: Sequence[Task], start: Start[Task, Result], progress: Progress | None = None) -> list[Result]:
        lock, failed, errors = threading.Lock(), threading.Event(), []
        queue, meter = iter(enumerate(tasks)), _Meter(tasks, progress)
        results: list[Any] = [None] * len(tasks)

        def work() -> None:
            do = None
            try:
                while not failed.is_set():
                    with lock:  # an iterator is not thread-safe
                        i, task = next(queue, (-1, None))
                    if task is None:
                        return
                    do = do or start()
                    results[i] = do(task)
                    with lock:
                        meter.done(task, None)
            except BaseException as exc:  # raised below, in the caller's thread
                errors.append(exc)
                failed.set()

        threads = [threading.Thread(target=work, name=f"maskrun-{i}", daemon=True) for i in range(self.count)]
        for thread in threads:
            thread.start()
        try:
            for thread in threads:
                thread.join()
        finally:
            failed.set()  # on an interrupt, let the workers stop before the caller cleans up
            for thread in threads:
                thread.join()
        if errors:
            raise errors[0]
        return results


class _Meter:
    """Calls ``progress`` with the fraction of ``tasks`` done, by their lengths."""

    def __init__(self, tasks: Sequence[Sized], progress: Progress | None):
        self.progress, self.finished = progress, 0
        self.total = max(1, sum(len(task) for task in tasks)) if progress is not None else 1

    def done(self, task: Sized, result: Result) -> Result:
        if self.progress is not None:
            self.finished += len(task)
            self.progress(min(1.0, self.finished / self.total))
        return result
