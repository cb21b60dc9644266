"""The workflow's support functions that need no workflow run."""

import signal
import subprocess
import sys
import threading
import time

from maskrun.workflow.support import release_scheduler_timers


def test_release_scheduler_timers_cancels_a_pending_timer_so_the_process_can_end():
    fired = []
    timer = threading.Timer(60, lambda: fired.append(True))
    timer.start()
    other = threading.Thread(target=time.sleep, args=(0.2,))
    other.start()
    release_scheduler_timers()
    timer.join(timeout=5)
    assert not timer.is_alive()
    assert fired == []
    assert other.is_alive()  # other threads are left alone
    other.join()


def test_a_unit_killed_soon_after_ctrl_c_has_its_interrupted_line_on_disk(tmp_path):
    """Ctrl-C reaches Snakemake and the units at once, and a unit dies with the units' server (SIGKILL) if
    Snakemake ends first: its log must say it was interrupted before it has unwound."""
    started, log = tmp_path / "started", tmp_path / "batch_00001.log"
    script = f"""
import pathlib, time
from maskrun.jobs.step_logs import logged_step
def step():
    pathlib.Path({str(started)!r}).touch()
    try:
        time.sleep(60)
    finally:
        time.sleep(30)  # a slow unwinding: workers joined, files removed
logged_step({str(log)!r}, "batch_00001", step, note="forked from the units' server")
"""
    process = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.monotonic() + 30
    while not started.exists():
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)
    process.send_signal(signal.SIGINT)
    time.sleep(0.5)
    process.kill()  # the server's death takes its units with it
    process.wait(timeout=30)
    lines = log.read_text().splitlines()
    assert lines[0].endswith(" start batch_00001") and lines[1] == "forked from the units' server"
    assert lines[-1].endswith(" interrupted batch_00001: not done; the next run does it") and len(lines) == 3


def test_a_stopped_steps_log_says_it_was_stopped_unless_it_says_how_it_ended(tmp_path):
    from maskrun.jobs.step_logs import log_stopped

    logs = {
        "killed": "2026-12-07T06:00:00.000+00:00 start report\n",
        "done": "2026-12-07T06:00:00.000+00:00 start report\nwrote x\n2026-12-07T06:00:01.000+00:00 done report\n",
        "failed": "2026-12-07T06:00:00.000+00:00 start gather\n2026-12-07T06:00:01.000+00:00 failed: x changed\n",
        "traceback": "2026-12-07T06:00:00.000+00:00 start report\n"
        "Traceback (most recent call last):\n  x\nOSError: y\n",
        "empty": "",
    }
    for name, text in logs.items():
        (tmp_path / name).write_text(text)
        log_stopped(tmp_path / name, "report")
    log_stopped(tmp_path / "absent", "report")
    for name in ("killed", "empty", "absent"):
        lines = (tmp_path / name).read_text().splitlines()
        assert lines[:-1] == logs.get(name, "").splitlines()
        assert lines[-1].endswith(" interrupted report: not done; the next run does it")
    for name in ("done", "failed", "traceback"):
        assert (tmp_path / name).read_text() == logs[name]
