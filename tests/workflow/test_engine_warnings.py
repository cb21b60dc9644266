"""Warnings Snakemake writes only into its log are shown on the terminal, once."""

from __future__ import annotations

import contextlib
import io

from maskrun.workflow.engine_warnings import EngineWarnings

SAID = (
    "You are running snakemake in a SLURM job context. This is not recommended, as it may lead to unexpected "
    "behavior. If possible, please run Snakemake directly on the login node."
)


def test_the_slurm_job_context_warning_is_shown_once(tmp_path):
    log = tmp_path / "snakemake.log"
    log.write_text("Building DAG of jobs...\n")
    shown = io.StringIO()
    warnings = EngineWarnings(log, shown, poll_s=0)
    warnings.update()
    assert shown.getvalue() == ""
    log.write_text(f"Building DAG of jobs...\n{SAID}\nSLURM run ID: x\n")
    warnings.update()
    warnings.finish()
    assert shown.getvalue() == f"maskrun: warning: snakemake: {SAID}\n"


def test_nothing_is_shown_without_a_log_or_the_warning(tmp_path):
    shown = io.StringIO()
    EngineWarnings(None, shown).finish()
    EngineWarnings(tmp_path / "absent.log", shown).finish()
    assert shown.getvalue() == ""


def test_shown_on_standard_error_as_it_is_when_made_so_run_json_keeps_it(tmp_path):
    """``maskrun run --json`` reads standard error as the run writes it for its warnings; the engine's went to the
    stream standard error was when maskrun's modules were imported, past it."""
    log = tmp_path / "snakemake.log"
    log.write_text(f"{SAID}\n")
    said = io.StringIO()
    with contextlib.redirect_stderr(said):
        EngineWarnings(log).finish()
    assert said.getvalue() == f"maskrun: warning: snakemake: {SAID}\n"
