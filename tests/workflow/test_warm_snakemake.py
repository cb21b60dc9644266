"""The Snakemake that `maskrun run` starts before planning: it runs what it is told, or nothing."""

from __future__ import annotations

import importlib.metadata
import os
import signal
import time

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


def test_it_leads_a_session_of_its_own_and_a_sigint_before_its_order_ends_it_quietly(tmp_path, monkeypatch, capfd):
    monkeypatch.chdir(tmp_path)
    warm = WarmSnakemake()
    assert os.getsid(warm.process.pid) == warm.process.pid  # a terminal's Ctrl-C does not reach it, maskrun's does
    time.sleep(0.3)  # importing Snakemake
    warm.signal_group(signal.SIGINT)
    assert warm.process.wait(timeout=60) == 130
    warm.discard()
    assert capfd.readouterr() == ("", "")  # no traceback
    assert list(tmp_path.iterdir()) == []
