"""A cluster run's settings that ask less memory or time for a unit than maskrun estimates it needs.

Each unit's job asks for what maskrun estimates it needs (`unit_mem_mb`, `unit_runtime_minutes`).
A ``set-resources`` of the units' rule replaces that, and so does a ``mem_mb_per_cpu`` default,
which the SLURM executor passes to sbatch instead of ``--mem``: one below the estimate was
taken in silence, and SLURM killed the job hours later, out of memory or at its time limit.
Such a setting is warned of, not refused: the estimates are conservative (a streaming batch
measured ~400 MB of its 1,000), and a user who knows the cluster may know better.
"""

from __future__ import annotations

import math

from maskrun.engine.stream import WORKERS
from maskrun.jobs.plan import JobPlan, Unit
from maskrun.workflow.resource_options import EXPRESSION, RunSettings, Setting, size_megabytes, timespan_seconds
from maskrun.workflow.support import (
    MIN_RUNTIME_MINUTES,
    unit_mem_mb,
    unit_mem_words,
    unit_runtime_minutes,
    unit_runtime_words,
)

MEMORY = ("mem", "mem_mb", "mem_mib")
MIB = 1.048576  # MB in a MiB, as Snakemake converts mem_mib
LEAVE_OUT = "or leave it out (each unit then asks for its own estimate)"


def rule_of(unit: Unit) -> str:
    """The workflow rule that runs ``unit`` (``mask_batch`` or ``mask_map``)."""
    return "mask_batch" if unit.is_batch else "mask_map"


def below_estimates(plan: JobPlan, run: RunSettings) -> list[str]:
    """Warnings, one per setting, for a memory or time limit below what a unit of ``plan`` needs.

    Only on a cluster (a local run's jobs are not killed at their limits), and only for a
    value maskrun can read: an expression (``2000*attempt``), which Snakemake evaluates per
    job, is not checked. Each warning names the setting (the option, or the profile's file
    and key), the value as SLURM gets it, the largest estimate among the rule's units, what
    it is made of, and the fix.
    """
    if run.executor == "local":
        return []
    warnings = []
    for rule in dict.fromkeys(rule_of(unit) for unit in plan.units):
        units = [unit.id for unit in plan.units if rule_of(unit) == rule]
        memory = _memory_asked(run, rule)
        if memory is not None:
            setting, asked, cpus = memory
            unit = max(units, key=lambda u: unit_mem_mb(plan, u))
            needed = unit_mem_mb(plan, unit)
            if asked < needed:
                how = f" ({asked // cpus:,} MB a CPU, {cpus} CPU{'s' * (cpus != 1)})" if cpus else ""
                warnings.append(
                    setting.said(
                        f"{asked:,} MB{how} is below the {needed:,} MB a unit of this job needs by maskrun's estimate "
                        f"({unit}: {unit_mem_words(plan, unit)}); SLURM kills a job that outgrows its memory: raise "
                        f"it to {_memory_fix(setting, needed, cpus)} or more, {LEAVE_OUT}"
                    )
                )
        runtime = run.resource(rule, ("runtime",), defaults=False)
        minutes = _minutes(runtime)
        if runtime is not None and minutes is not None:
            unit = max(units, key=lambda u: unit_runtime_minutes(plan, u))
            needed = unit_runtime_minutes(plan, unit)
            if minutes < needed:
                smaller = rule == "mask_batch" and needed > MIN_RUNTIME_MINUTES  # the floor is any batch's
                smaller_words = " make batches smaller (batch_size)," if smaller else ""
                warnings.append(
                    runtime.said(
                        f"{minutes} min is below the {needed} min a unit of this job needs by maskrun's estimate "
                        f"({unit}: {unit_runtime_words(plan, unit)}); SLURM stops a job at its time limit: raise it "
                        f"to runtime={needed} or more,{smaller_words} {LEAVE_OUT}"
                    )
                )
    return warnings


def _memory_asked(run: RunSettings, rule: str) -> tuple[Setting, int, int] | None:
    """The setting that sizes ``rule``'s jobs' memory, the MB it asks for in all, and the CPUs it is per (0: per job).

    None when the rule's own estimate stands, or the value is an expression. The SLURM
    executor passes ``mem_mb_per_cpu`` (``--mem-per-cpu``) over ``mem_mb``; SLURM multiplies
    it by the job's CPUs: ``cpus_per_task``, else its threads.
    """
    per_cpu = run.resource(rule, ("mem_mb_per_cpu",))
    if per_cpu is not None:
        cpus = _cpus(run, rule)
        return (per_cpu, int(per_cpu.value) * cpus, cpus) if per_cpu.value.isdecimal() else None
    setting = run.resource(rule, MEMORY, defaults=False)
    if setting is None or EXPRESSION.search(setting.value):
        return None
    if setting.name == "mem":  # as Snakemake reads it: a size with its unit, or bare MB
        megabytes = size_megabytes(setting.value)
        return None if megabytes is None else (setting, max(1, math.ceil(megabytes)), 0)
    if not setting.value.isdecimal():
        return None
    number = int(setting.value)
    return setting, int(number * MIB) if setting.name == "mem_mib" else number, 0


def _cpus(run: RunSettings, rule: str) -> int:
    """The CPUs a job of ``rule`` asks for: ``cpus_per_task``, else its ``set-threads``, else the units' workers."""
    for setting in (run.resource(rule, ("cpus_per_task",)), run.threads(rule)):
        if setting is not None and setting.value.isdecimal() and int(setting.value) >= 1:
            return int(setting.value)
    return WORKERS


def _memory_fix(setting: Setting, needed: int, cpus: int) -> str:
    """The setting's value that asks for ``needed`` MB, in its own unit (per CPU for ``cpus``)."""
    if cpus:
        return f"mem_mb_per_cpu={math.ceil(needed / cpus)}"
    if setting.name == "mem":
        return f"mem={math.ceil(needed / 100) / 10:g}GB"
    if setting.name == "mem_mib":
        return f"mem_mib={math.ceil(needed / MIB)}"
    return f"mem_mb={needed}"


def _minutes(setting: Setting | None) -> int | None:
    """A runtime setting in whole minutes, as Snakemake gives it to sbatch; None for an expression."""
    if setting is None or EXPRESSION.search(setting.value):
        return None
    if setting.value.isdecimal():
        return int(setting.value)
    seconds = timespan_seconds(setting.value)
    return None if seconds is None else max(int(round(seconds) / 60), 1)
