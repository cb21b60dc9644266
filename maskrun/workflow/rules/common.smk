# Load and validate the job through maskrun's own models (the one source of truth), and
# name the workflow's files. Functions only: the rules live in mask.smk.
from maskrun.report.logged import report_logged
from maskrun.workflow.support import (
    code_stamp,
    final_targets,
    gather_logged,
    launched_here,
    load_plan,
    preload_report,
    release_scheduler_timers,
    report_figures,
    run_unit_process,
    stacks_stamp,
    start_unit_forks,
    unit_inputs,
    unit_mem_mb,
    unit_runtime_minutes,
    unit_threads,
)

PLAN = load_plan(config, workflow.configfiles)
if launched_here(PLAN, workflow.is_main_process):  # by a local maskrun run
    start_unit_forks()
    preload_report(PLAN)
OUT = str(PLAN.output_dir)
CODE = code_stamp()
BATCHES = [unit.id for unit in PLAN.units if unit.is_batch]
MAP_STEMS = [unit.id.removeprefix("map_") for unit in PLAN.units if not unit.is_batch]


def unit_outputs():
    """Every unit's masked file and provenance record, for the gather job."""
    files = [str(PLAN.unit_output(unit)) for unit in PLAN.units]
    return files + [str(PLAN.record_path(unit)) for unit in PLAN.units]


def gather_outputs():
    targets = {"record": str(PLAN.run_record_path)}
    if PLAN.metadata_output is not None:
        targets["metadata"] = str(PLAN.metadata_output)
    return targets


def local_cores():
    """--cores of a local run; None for a cluster run and inside its jobs (threads as asked).

    Asked when a job is made, not when this file is read: the executor is known only then.
    A dry run's executor is Snakemake's local dry-run one whatever was asked; there, --jobs
    (a cluster profile's: maskrun gives a local run --cores alone) marks a cluster run, so
    that the dry run shows the threads its jobs will ask for.
    """
    try:
        if workflow.dryrun and workflow.resource_settings.nodes is not None:
            return None
        return workflow.cores if workflow.is_main_process and workflow.local_exec else None
    except Exception:  # no --cores (a lint)
        return None
