"""What a SLURM run's jobs will ask for, from Snakemake's dry run: one line per rule, with its count of jobs.

``maskrun run JOB --profile slurm --dry-run`` said how many jobs would run, not what each
asks of the cluster; a partition, runtime or memory that SLURM refuses or cuts short
showed only once the run was submitted. Snakemake's dry run prints every job with its
threads and resources (`maskrun.workflow.snakemake_log`); this module words them as the
SLURM executor turns them into sbatch's options: ``-p``, ``--cpus-per-task``, ``--mem``
(or ``--mem-per-cpu``), ``-t``, and the others a profile may set.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from maskrun.workflow.rule_names import local_rules
from maskrun.workflow.slurm_partitions import Partitions, partitions
from maskrun.workflow.snakemake_log import JobBlock, job_blocks

OTHERS = ("slurm_account", "qos", "constraint", "gres", "gpu", "nodes", "tasks", "slurm_extra")


def describe_requests(dry_run_output: str) -> list[str]:
    """Lines for ``maskrun run --dry-run`` on SLURM: per rule, its jobs' count and request; [] without job blocks."""
    by_rule: dict[str, list[JobBlock]] = {}
    for block in job_blocks(dry_run_output):
        if block.rule not in local_rules():
            by_rule.setdefault(block.rule, []).append(block)
    if not by_rule:
        return []
    lines = ["  SLURM jobs (sbatch's requests, each):"]
    known: Partitions | None = None
    for rule, blocks in by_rule.items():
        partition = _values(blocks, _resource("slurm_partition"))
        known = known if known is not None else partitions()
        if not partition:
            partition = f"{known.default} (the cluster's default)" if known.default else "the cluster's default"
        elif known.names and partition not in known.names:  # an expression's, which the run's check cannot evaluate
            partition += f" (not one sinfo lists: {', '.join(known.names)})"
        cpus = _values(blocks, lambda b: b.resources.get("cpus_per_task") or str(b.threads))
        per_cpu = _values(blocks, _resource("mem_mb_per_cpu"))
        memory = f"{per_cpu} MB a CPU" if per_cpu else f"{_values(blocks, _resource('mem_mb'))} MB"
        runtime = _values(blocks, _resource("runtime"))
        asked = [f"partition {partition}", f"{cpus} CPU{'s' * (cpus != '1')}", memory, f"{runtime} min"]
        asked += [f"{name}={value}" for name in OTHERS if (value := _values(blocks, _resource(name)))]
        count = len(blocks)
        lines.append(f"    {rule}: {count} job{'s' * (count != 1)}, {', '.join(asked)}")
    here = [rule for rule in local_rules() if rule != "all" and f"rule {rule}:" in dry_run_output]
    if here:
        lines.append(f"    {' and '.join(sorted(here))}: on this host, not in SLURM")
    return lines


def _resource(name: str) -> Callable[[JobBlock], str | None]:
    return lambda block: block.resources.get(name)


def _values(blocks: Sequence[JobBlock], value: Callable[[JobBlock], str | None]) -> str:
    """One value, or the range (``1000-2400``) or the list of the values across a rule's jobs; "" when unset."""
    found = sorted({str(v) for block in blocks if (v := value(block)) not in (None, "")})
    if not found:
        return ""
    if len(found) > 1 and all(v.isdecimal() for v in found):
        numbers = sorted(int(v) for v in found)
        return f"{numbers[0]}-{numbers[-1]}"
    return "/".join(found)
