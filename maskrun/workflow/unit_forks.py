"""Units forked from a process that has imported them already: a local run's units start at once.

A unit in a process of its own (`maskrun.workflow.unit_process`) pays about 0.3 s to start
an interpreter and import NumPy, the job models and the engine, once per unit and, with
more units than cores, once per round on the run's critical path. On a local run the
warm Snakemake (`maskrun.workflow.warm_snakemake`) starts this server beside its own
imports (the Snakefile would, for a Snakemake started otherwise by `maskrun run`): one
process that imports what units need, then forks a child per unit that Snakemake runs
(`run_unit`). The child is `unit_process` exactly, as if started anew: same arguments,
same log and exit status, dying with its parent as it would with Snakemake.

The server is single-threaded (forking is safe there); it reads one request a line on
its standard input (``{"id": N, "argv": [...]}``) and answers on a pipe of its own
(``{"id": N, "status": S}``) as each child ends. It dies with Snakemake; when it is not
there (not started, or gone), units start as processes of their own.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import select
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import IO, NoReturn

from maskrun.engine.forked_workers import die_with_parent, fork_into
from maskrun.io.standard_streams import open_standard_streams


class UnitForks:
    """The Snakemake side: start the server, hand it units, wait for their exit statuses."""

    def __init__(self) -> None:
        open_standard_streams()  # in a Snakemake started with one closed, the pipe must not take its number
        read_answers, self._answers_w = os.pipe()
        argv = [sys.executable, "-m", "maskrun.workflow.unit_forks", str(self._answers_w), str(os.getpid())]
        self.process = subprocess.Popen(argv, stdin=subprocess.PIPE, pass_fds=(self._answers_w,))
        os.close(self._answers_w)
        self._answers: IO[bytes] = os.fdopen(read_answers, "rb")
        self._lock = threading.Lock()
        self._waiting: dict[int, tuple[threading.Event, list[int]]] = {}
        self._next = 0
        self._gone = False
        self._reader = threading.Thread(target=self._read_answers, name="maskrun unit forks", daemon=True)
        self._reader.start()

    def run(self, argv: list[str]) -> int | None:
        """Run ``python -m maskrun.workflow.unit_process ARGV`` as a fork: its exit status (None: no server)."""
        done, status = threading.Event(), list[int]()
        with self._lock:
            if self._gone:
                return None
            self._next += 1
            self._waiting[self._next] = (done, status)
            request = json.dumps({"id": self._next, "argv": argv}) + "\n"
            try:
                assert self.process.stdin is not None
                self.process.stdin.write(request.encode())
                self.process.stdin.flush()
            except OSError:
                del self._waiting[self._next]
                self._gone = True
                return None
        done.wait()
        return status[0] if status else None

    def close(self) -> int:
        """End the server once its units are done; its exit status."""
        assert self.process.stdin is not None
        self.process.stdin.close()
        status = self.process.wait()
        self._reader.join()
        return status

    def _read_answers(self) -> None:
        """Hand each answer to the unit that waits for it, until the server ends.

        Reading may also fail (its pipe closed under it, an answer cut short): then the
        server is ended, and its units with it, so that none runs on beside the process
        each waiting unit then starts instead. Either way, no unit waits forever.
        """
        try:
            with self._answers:
                for line in self._answers:
                    answer = json.loads(line)
                    with self._lock:
                        done, status = self._waiting.pop(answer["id"])
                    status.append(answer["status"])
                    done.set()
        except (OSError, ValueError, KeyError):
            self.process.kill()
            self.process.wait()
        finally:
            with self._lock:  # the server ended: whoever waits gets None (and runs the unit as a process)
                self._gone = True
                for done, _ in self._waiting.values():
                    done.set()
                self._waiting.clear()


_FORKS: UnitForks | None = None


def start() -> None:
    """Start the server for this (Snakemake) process; idempotent."""
    global _FORKS
    if _FORKS is None and sys.platform.startswith("linux"):
        _FORKS = UnitForks()


def run_unit(argv: list[str]) -> int | None:
    """A unit's exit status, run as a fork of the server; None when there is no server (start one as a process)."""
    return None if _FORKS is None else _FORKS.run(argv)


def serve(answers_fd: int, client: int) -> int:
    """The server's loop: fork a unit per request, answer each exit status; returns at end of input."""
    from maskrun.workflow import unit_process  # what every unit imports, once

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # it ends with Snakemake, which handles Ctrl-C
    running: dict[int, int] = {}  # pid -> request id
    pending = b""
    open_input = True
    while open_input or running:
        readable, _, _ = select.select([0] if open_input else [], [], [], 0.02 if running else None)
        if readable:
            chunk = os.read(0, 1 << 16)
            open_input = bool(chunk)
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                request = json.loads(line)
                pid = fork_into(functools.partial(_child, unit_process.main, request["argv"], answers_fd, client))
                running[pid] = request["id"]
        while running:
            pid, wait_status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            answer = {"id": running.pop(pid), "status": os.waitstatus_to_exitcode(wait_status)}
            try:
                os.write(answers_fd, (json.dumps(answer) + "\n").encode())
            except OSError:  # no one reads the answers: Snakemake is gone, or has ended this server
                return 1
    return 0


def _child(main: Callable[[list[str]], int], argv: list[str], answers_fd: int, client: int) -> NoReturn:
    """In the fork: become the unit process; never returns.

    Its input is /dev/null, its parent the server, and its output goes where Snakemake's goes
    now (the server may have started before Snakemake's output went to its log).
    """
    status = 1
    try:
        os.close(answers_fd)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        for fd in (1, 2):
            with contextlib.suppress(OSError):  # Snakemake gone: the unit dies with the server anyway
                same = os.open(f"/proc/{client}/fd/{fd}", os.O_WRONLY | os.O_APPEND)
                os.dup2(same, fd)
                os.close(same)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        status = main([*argv, "--parent", str(os.getppid()), "--forked"])
    except SystemExit as stop:
        status = stop.code if isinstance(stop.code, int) else 1
    except KeyboardInterrupt:  # before the unit's own handling: it is interrupted, as it would be there
        status = 130
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)


if __name__ == "__main__":
    open_standard_streams()
    if sys.platform.startswith("linux"):
        die_with_parent(int(sys.argv[2]))  # Snakemake's PID: the server, and so its units, die with it
    sys.exit(serve(int(sys.argv[1]), int(sys.argv[2])))
