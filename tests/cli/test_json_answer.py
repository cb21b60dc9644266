"""The plumbing of ``--json`` (validate, run): the warnings and notes kept from standard error as it is written."""

from __future__ import annotations

import io
import json
import subprocess
import sys

from maskrun.cli.json_answer import SaidLines


def test_warnings_and_notes_are_kept_as_written_and_everything_passes_through():
    stream = io.StringIO()
    said = SaidLines(stream)
    written = [
        "maskrun: warning: a mask cut ",  # print() writes a line in pieces
        "by the box\n",
        "\r3/9 units done   ",  # a progress line on a terminal, cleared before the next line
        "\r                 \rmaskrun: note: 2 disabled rows dropped\n",
        "maskrun run: masked 9 particles\n",
        "maskrun: warning: not ended by a newline",
    ]
    for text in written:
        assert said.write(text) == len(text)
    assert stream.getvalue() == "".join(written)
    assert said.warnings == ["a mask cut by the box"]
    assert said.notes == ["2 disabled rows dropped"]


def test_with_a_dash_stdout_holds_the_answer_alone_whoever_printed_there(tmp_path):
    """The command's lines, and a child process's (Snakemake's, a unit's: they write to the file descriptor, not to
    Python's stream), go to standard error while the command works."""
    script = tmp_path / "command.py"
    script.write_text(
        "import subprocess, sys\n"
        "from maskrun.cli.json_answer import JsonAnswer\n"
        "answer = JsonAnswer('-', lambda *said: {})\n"
        "with answer.kept():\n"
        "    print('a line of the command')\n"
        "    subprocess.run([sys.executable, '-c', 'print(\"a child process line\")'], check=True)\n"
        "print('after', file=sys.stderr)\n"
        "answer.give({'command': 'run'})\n"
    )
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"command": "run"}
    assert proc.stderr == "a line of the command\na child process line\nafter\n"
