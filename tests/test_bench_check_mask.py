"""bench/check_mask.py runs end to end on small maps and reports its figures and targets."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench" / "check_mask.py"


def test_bench_check_mask_reports_times_and_targets(tmp_path):
    result = subprocess.run(
        [sys.executable, str(BENCH), "--box", "48", "--reps", "1", "--work", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "results.json").read_text())
    assert report["box"] == 48 and report["maskrun_s"] > 0 and report["maskrun_cpu_s"] > 0
    assert report["verdict"] in {"fine", "too tight", "hard edge", "too loose", "tight and loose conflict"}
    assert "check-mask 48³ <= 10 s" in report["targets"]
    if shutil.which("relion_postprocess"):
        assert report["relion_s"] > 0 and report["ratio"] == report["relion_s"] / report["maskrun_s"]
        assert report["median_ratio"] == report["relion_median_s"] / report["maskrun_median_s"]
        assert "check-mask >= 3 x faster than relion_postprocess (48³)" in report["targets"]
    assert "check-mask 48³" in result.stdout
