"""Snakemake started before the job is planned, told what to run once the plan is saved.

    python -m maskrun.workflow.warm_snakemake      (started by `maskrun run`, not by hand)

A Snakemake start spends about a second importing Snakemake, its plugins and the
workflow's maskrun modules, on one core, before it reads the Snakefile. `maskrun run`
starts this process first, so those imports run beside its planning of the job; the
process (with ``--unit-forks``, a local run's, also starts the units' server,
`maskrun.workflow.unit_forks`, so that it imports beside them) then waits for one line on
its standard input: a JSON object with ``argv`` (the
arguments of ``python -m snakemake``, unchanged), ``log`` (a file for its output, or
null to keep the terminal) and ``env`` (entries for its environment: the cache folders
of `maskrun.workflow.cache_homes`). It writes nothing before that line: when planning fails, or
there is nothing to do, the launcher closes the pipe (the process ends) or kills it.

The process leads a session of its own, with the units Snakemake starts: a Ctrl-C at the
terminal (or any SIGINT to the launcher's process group) reaches the launcher alone, which
then signals this whole group once (`WarmSnakemake.signal_group`), as it does for a SIGINT sent
to its PID. So Snakemake and the units see one interrupt, at one moment, whoever sent it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from maskrun.io.atomic import unlinked
from maskrun.io.standard_streams import open_standard_streams


class WarmSnakemake:
    """The launcher's handle on a warm Snakemake process (see the module)."""

    def __init__(self, preexec_fn: Callable[[], None] | None = None, unit_forks: bool = False) -> None:
        argv = [sys.executable, "-m", "maskrun.workflow.warm_snakemake", *(["--unit-forks"] if unit_forks else [])]
        self.process = subprocess.Popen(argv, stdin=subprocess.PIPE, preexec_fn=preexec_fn, start_new_session=True)
        self.started = False

    def run(self, argv: list[str], log: Path | None, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        """Hand the process its Snakemake arguments (those after ``python -m snakemake``), and entries to add to its
        environment (``env``); returns it."""
        order = json.dumps({"argv": argv, "log": None if log is None else str(log), "env": env or {}}) + "\n"
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(order.encode())
            self.process.stdin.close()
        except BrokenPipeError:  # it died while importing: its exit status tells
            pass
        self.started = True
        return self.process

    def signal_group(self, signum: int) -> None:
        """Send ``signum`` to the process and everything it started (Snakemake, its units' server and units)."""
        with contextlib.suppress(ProcessLookupError):  # all gone already
            os.killpg(self.process.pid, signum)

    def discard(self) -> None:
        """End the process unless it was handed a run; it has written nothing."""
        if self.started:
            return
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if self.process.stdin is not None:
            with contextlib.suppress(BrokenPipeError):  # it ended (after a Ctrl-C, say)
                self.process.stdin.close()


def main() -> int:
    """Import Snakemake and the workflow's modules, then run the Snakemake the launcher asks for.

    A SIGINT (from the launcher) before Snakemake runs ends the process at once, with status
    130, no traceback and nothing written (its units' server dies with it); from then on
    Snakemake handles it as its own.
    """
    signal.signal(signal.SIGINT, _end_interrupted)
    open_standard_streams()  # before its units' server takes a pipe, which the log's dup2 would close
    import snakemake.cli

    import maskrun.workflow.support  # noqa: F401  # the Snakefile imports it
    from maskrun.timeline import mark

    if "--unit-forks" in sys.argv[1:]:  # a local run: the units' server imports beside this one
        from maskrun.workflow import unit_forks

        handler = signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server starts ignoring it (its units do not)
        unit_forks.start()
        signal.signal(signal.SIGINT, handler)
    snakemake.cli.get_argument_parser()  # collects every plugin: the slow part of a start
    mark("warm snakemake imported")
    line = sys.stdin.readline()
    if not line:
        return 0
    order = json.loads(line)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    if order["log"] is not None:
        log = os.open(unlinked(order["log"]), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
    os.environ.update(order.get("env", {}))  # before Snakemake looks for its cache folder (a read-only home's)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # from here on, as plain snakemake
    sys.argv = ["snakemake", *order["argv"]]
    mark("warm snakemake runs")
    try:
        snakemake.cli.main(order["argv"])
    except KeyboardInterrupt:  # while it started or ended; while it runs jobs its scheduler stops them
        print("snakemake: interrupted (Ctrl-C)", file=sys.stderr)
        return 130
    return 0


def _end_interrupted(signum: int, frame: object) -> None:
    os._exit(130)


if __name__ == "__main__":
    sys.exit(main())
