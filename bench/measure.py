"""Timing a command the way the benchmarks do: wall time, peak memory, kernel time, fair page cache."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import NamedTuple


class Run(NamedTuple):
    seconds: float  # wall
    peak_rss_mb: float  # of the largest process (see `tree_peak_rss_mb` for all together)
    waits: int  # voluntary context switches (for thread workers, mostly the GIL passing between them)
    kernel_s: float  # CPU time in the kernel: when this VM's memory is slow to hand out, it balloons


def timed(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> Run:
    """Wall seconds, peak RSS, voluntary context switches and kernel CPU time of one child process.

    ``env``: variables to add to this process's environment for it.
    """
    t0 = time.perf_counter()
    environment = None if env is None else os.environ | env
    process = subprocess.Popen(argv, cwd=cwd, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - t0
    _exit_if_failed(argv, process, status)
    return Run(seconds, usage.ru_maxrss / 1024, usage.ru_nvcsw, usage.ru_stime)


def tree_peak_rss_mb(argv: list[str], cwd: Path) -> float:
    """Peak resident memory of a command and its child processes together, sampled every 5 ms.

    maskrun's workers are forked processes, and `timed`'s peak (wait4) is that of the
    largest process only. Pages the processes share (NumPy, the mask) count once per
    process here, so this is an upper bound.
    """
    peak_kb, _, usage = _tree_peak(argv, cwd, _rss_kb, 0.005)
    return max(peak_kb, usage.ru_maxrss) / 1024


def tree_peak_pss_mb(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> dict:
    """Peak memory of a command's whole process tree, shared pages counted once, sampled every 20 ms.

    PSS (proportional set size, /proc/PID/smaps_rollup) splits each shared page among the
    processes that map it, so a tree of forked workers and of processes that map the same
    file adds up to what it really holds. Returns the peak of the sum (``tree_mb``), each
    command line's share at that moment (``by_process``, for the breakdown) and the wall
    time of the command (``seconds``, sampling included). ``env``: as for `timed`.
    """
    t0 = time.perf_counter()
    peak_kb, by_process_kb, _ = _tree_peak(argv, cwd, _pss_kb, 0.02, env)
    return {
        "tree_mb": peak_kb / 1024,
        "by_process": {name: kb / 1024 for name, kb in by_process_kb.items()},
        "seconds": time.perf_counter() - t0,
    }


def _tree_peak(
    argv: list[str], cwd: Path, kb_of, interval_s: float, env: dict[str, str] | None = None
) -> tuple[int, dict[str, int], os.struct_rusage]:
    """Run a command, sampling ``kb_of(pid)`` over its whole process tree every ``interval_s``.

    Returns the peak of the tree's sum, each command name's part of it at that moment (names
    are read only when the peak rises), and the command's resource usage. Stops the bench
    if the command fails.
    """
    environment = None if env is None else os.environ | env
    process = subprocess.Popen(argv, cwd=cwd, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak_kb, by_process = 0, {}
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        shares = {p: kb_of(p) for p in (process.pid, *descendants(process.pid))}
        if sum(shares.values()) > peak_kb:
            peak_kb, by_process = sum(shares.values()), {}
            for p, kb in shares.items():
                name = _command_name(p)
                by_process[name] = by_process.get(name, 0) + kb
        time.sleep(interval_s)
    _exit_if_failed(argv, process, status)
    return peak_kb, by_process, usage


def _pss_kb(pid: int) -> int:
    return _proc_kb(pid, "smaps_rollup", "Pss:")


def _rss_kb(pid: int) -> int:
    return _proc_kb(pid, "status", "VmRSS:")


def _proc_kb(pid: int, file: str, key: str) -> int:
    """A ``key: N kB`` line of ``/proc/PID/file`` (0 once the process has ended)."""
    try:
        text = Path(f"/proc/{pid}/{file}").read_text()
    except OSError:  # ended between the listing and the reading
        return 0
    return next((int(line.split()[1]) for line in text.splitlines() if line.startswith(key)), 0)


def _command_name(pid: int) -> str:
    """A short name for a process: ``python -m X`` gives X, anything else its program."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return "?"
    if "-m" in argv[:-1]:
        return argv[argv.index("-m") + 1]
    return Path(argv[0]).name


def _exit_if_failed(argv: list[str], process: subprocess.Popen, status: int) -> None:
    """Stop the bench with the command's last stderr if it failed (``status`` from wait4)."""
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"failed: {' '.join(argv)}\n{process.stderr.read().decode()[-2000:]}")


def descendants(pid: int) -> list[int]:
    """Every descendant of ``pid`` (children, their children, ...)."""
    direct = []  # a thread's children are listed under that thread (Snakemake starts jobs from threads)
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            direct += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue
    return direct + [grandchild for child in direct for grandchild in descendants(child)]


def prime_page_cache(folder: Path, nbytes: int) -> None:
    """Write and delete ``nbytes`` of scratch data just before a timed run.

    Virtual machines that hand freed memory back to their host (free page reporting) make
    the next allocation of that memory 2-4 x slower: a copy that takes 0.45 s right after
    a file was deleted takes 1.9 s three seconds later. Every method writes a file the
    size of the stack, so each gets the same, warm conditions: the figures then measure
    maskrun and dd rather than when the host last took memory back.
    """
    scratch = folder / "scratch"
    subprocess.run(
        ["dd", "if=/dev/zero", f"of={scratch}", "bs=4M", f"count={nbytes // (4 << 20) + 1}", "status=none"], check=True
    )
    scratch.unlink()
