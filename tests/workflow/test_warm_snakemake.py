"""The Snakemake that `maskrun run` starts before planning: it runs what it is told, or nothing."""

from __future__ import annotations

import importlib.metadata

from maskrun.workflow.warm_snakemake import WarmSnakemake


def test_it_runs_the_snakemake_it_is_told_with_its_output_in_the_log(tmp_path):
    warm = WarmSnakemake()
    log = tmp_path / "snakemake.log"
    process = warm.run(["--version"], log)
    assert process.wait(timeout=120) == 0
    assert log.read_text().strip() == importlib.metadata.version("snakemake")
    warm.discard()  # handed a run: left alone
    assert process.returncode == 0


def test_discarded_before_its_order_it_ends_having_written_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    warm = WarmSnakemake()
    warm.discard()
    assert warm.process.returncode is not None
    assert list(tmp_path.iterdir()) == []
