"""bench/mask_expression.py runs at a small size and reports every figure with its target."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "bench" / "mask_expression.py"


@pytest.mark.system
def test_expression_bench_reports_each_term_the_expression_and_the_ratio(tmp_path):
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--size", "48", "--atoms", "200", "--reps", "1", "--work", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    report = json.loads(done.stdout)
    for name in ("map_alone_s", "model_alone_s", "sphere_alone_s", "expression_s"):
        assert report[name] > 0
    slowest = max(report[n] for n in ("map_alone_s", "model_alone_s", "sphere_alone_s"))
    assert report["ratio_to_slowest_term"] == pytest.approx(report["expression_s"] / slowest, abs=0.02)
    assert report["target_ratio"] == 2.0 and done.returncode == (0 if report["meets_target"] else 1)
