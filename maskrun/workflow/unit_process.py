"""One unit of the workflow in a process of its own: what the mask rules' shell command runs.

    python -m maskrun.workflow.unit_process JOB.yaml UNIT_ID [--parent PID]

A unit run in a thread inside Snakemake shares that process with Snakemake's own
threads, so it cannot fork, and its masking falls back to threaded workers. In a process
of its own it masks exactly as ``maskrun mask`` does (forked workers, see
`maskrun.engine.stream`), locally, with any executor, and on a SLURM node. The price is
its start-up: the interpreter, the imports and the plan of the job (measured in the
bench, `docs/scaling.md`).

With ``--parent`` (Snakemake's PID, given by `maskrun.workflow.support.run_unit_process`)
the unit dies with Snakemake, even when that is SIGKILLed, as a thread would have: no
unit writes on after its run was stopped.
"""

from __future__ import annotations

import argparse
import os
import sys

from maskrun.config.job_file import load_job
from maskrun.engine.forked_workers import die_with_parent
from maskrun.errors import RunFailure, UserError
from maskrun.io.output_space import RESUMES, no_space_failure, out_of_space
from maskrun.io.standard_streams import open_standard_streams
from maskrun.jobs.output_state import remove_own_parts
from maskrun.jobs.plan import log_file
from maskrun.jobs.step_logs import log_interrupted_if_empty
from maskrun.timeline import mark, process_started
from maskrun.workflow.support import INTERRUPTED, run_unit_logged, unit_plan


def main(argv: list[str] | None = None) -> int:
    """Plan the job, mask one unit, write its log; returns the exit status (2 a user error, 1 a failure, 130
    interrupted)."""
    open_standard_streams()
    parser = argparse.ArgumentParser(prog="python -m maskrun.workflow.unit_process", description=__doc__)
    parser.add_argument("job", help="the job file (what the workflow was given with --configfile)")
    parser.add_argument("unit", help="the unit's id: batch_N or map_STEM")
    parser.add_argument("--workers", type=int, help="masking processes (the cores Snakemake gave the unit)")
    parser.add_argument("--parent", type=int, help="a PID to die with (Linux)")
    parser.add_argument("--forked", action="store_true", help=argparse.SUPPRESS)  # by maskrun.workflow.unit_forks
    args = parser.parse_args(argv)
    mark(f"unit {args.unit} process start", process_started())
    if args.parent is not None and sys.platform.startswith("linux"):
        die_with_parent(args.parent)
    job = None
    try:
        job = load_job(args.job)
        plan, saved = unit_plan(job, args.unit)
        mark(f"unit {args.unit} {'read its plan' if saved else 'planned'}")
        unit = plan.unit(args.unit)
        how = "read the saved plan" if saved else "planned the job (no fresh saved plan)"
        how = f"forked from the units' server; {how}" if args.forked else how
        rows = f", rows {unit.first_row}:{unit.stop_row}" if unit.is_batch else ""
        run_unit_logged(plan, args.unit, str(plan.log_path(args.unit)), args.workers, note=f"{how}{rows}")
    except (UserError, RunFailure) as exc:  # one line, also in the unit's log
        print(f"maskrun: error: {exc}", file=sys.stderr)
        return exc.exit_status
    except OSError as exc:  # a full disk before the unit's log began (its plan read): one line too
        if not out_of_space(exc):
            raise
        print(f"maskrun: error: {no_space_failure(exc, RESUMES)}", file=sys.stderr)
        return RunFailure.exit_status
    except KeyboardInterrupt:  # the run was stopped (its log says so); its files are removed
        if job is not None:  # stopped before its log began (while it read the plan): say so there
            log_interrupted_if_empty(log_file(job.output_dir, args.unit), args.unit)
            # and a temporary file made the instant before its writer could remove it (between making it and
            # entering its `with`): a part file of this PID is this unit's
            remove_own_parts(job.output_dir, os.getpid())
        return INTERRUPTED
    mark(f"unit {args.unit} end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
