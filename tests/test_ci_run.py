"""CI runs what a contributor runs, then what the default run leaves out (the system tests)."""

from __future__ import annotations

import re
import tomllib

from conftest import REPO


def test_ci_runs_the_readme_test_command_first_then_the_system_tests():
    readme = (REPO / "README.md").read_text()
    (command,) = re.findall(r"^python3 -m venv \.venv && .*pytest(?: -n auto --dist loadfile)?$", readme, flags=re.M)
    steps = [line for line in (REPO / ".ci" / "run").read_text().splitlines() if "pytest" in line]
    assert steps[0] == command
    # the system tests, in two runs side by side: the one that mostly waits on SLURM's clock, and all the others
    assert steps[1:] == [
        ".venv/bin/python -m pytest -m 'system and waits and not slow and not bench' >\"$waits_log\" 2>&1 & waits=$!",
        ".venv/bin/python -m pytest -m 'system and not waits and not slow and not bench' || status=$?",
    ]
    assert 'wait "$waits" || status=$?' in (REPO / ".ci" / "run").read_text()  # its failure fails CI too


def test_the_default_run_leaves_out_exactly_what_ci_runs_second():
    options = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    addopts = options["addopts"]
    assert addopts[addopts.index("-m") + 1] == "not bench and not slow and not system"
    assert any(marker.startswith("system:") for marker in options["markers"])
