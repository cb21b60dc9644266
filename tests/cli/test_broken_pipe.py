"""``maskrun validate JOB | head -1``: the reader takes its line and goes; maskrun ends quietly, as Unix tools do.

The cryoSPARC user's look: in some runs it printed ``maskrun validate: failed: [Errno 32] Broken
pipe`` and exited 1, as the pipe's buffer had room or not. Here the reader is gone before the
first line, so the failure is certain without the fix.
"""

from __future__ import annotations

import signal
import subprocess
import sys

from job_files import example_folder, job_with, write_job


def test_a_reader_that_stopped_reading_ends_the_command_quietly_with_sigpipes_status(tmp_path):
    job = write_job(example_folder(tmp_path, particles=6, maps=0), job_with(batch_size=2))
    command = [sys.executable, "-m", "maskrun", "validate", str(job)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # the reader is gone: every write to the pipe fails
    with process.stderr:
        err = process.stderr.read().decode()
    assert process.wait(timeout=120) == 128 + signal.SIGPIPE
    assert err == ""
    before = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert before.returncode == 0 and "particles" in before.stdout  # it has lines to write
