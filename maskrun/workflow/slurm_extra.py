"""What ``slurm_extra`` may not hold: sbatch's options the SLURM executor sets itself, and the resource to set instead.

snakemake-executor-plugin-slurm refuses, as it submits each job, a ``slurm_extra`` that holds
an option it manages (``--time``, ``--partition``, ``--mem``, ...): ``maskrun run`` failed
every unit (exit 1) after it had written its output folder, where ``maskrun validate`` had
passed it, and advised a fix for another mistake. The plugin's own table of those options
(its ``validation.py``) finds them here, before anything is written or submitted; this module
says, from the plugin's ``submit_string.py`` and ``partitions.py``, which resource sets each.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# the plugin's name of each option it manages -> the resource (and its value's form) that sets it; None: the
# plugin sets it and no resource does (a job's name, its log, its working folder)
INSTEAD: dict[str, str | None] = {
    "job name": None,
    "output file": None,
    "error file": None,
    "parsable output": None,
    "environment export": None,
    "job comment": None,
    "working directory": None,
    "account": "slurm_account=NAME",
    "partition": "slurm_partition=NAME",
    "memory": "mem_mb=MB",
    "memory per CPU": "mem_mb_per_cpu=MB",
    "number of tasks": "tasks=N",
    "tasks per GPU": "tasks_per_gpu=N",
    "CPUs per task": "cpus_per_task=N",
    "CPUs per GPU": "cpus_per_gpu=N",
    "runtime/time limit": "runtime=MINUTES",
    "node constraints": "constraint=FEATURES",
    "quality of service": "qos=NAME",
    "number of nodes": "nodes=N",
    "cluster specification": "slurm_cluster=NAME",
    "generic resources (GRES)": "gres=NAME:N",
    "GPU allocation": "gpu=N",
}
# the plugin's message when it refuses one: "The --runtime/time-limit option is not allowed in the 'slurm_extra' ..."
EXECUTOR_REFUSAL = re.compile(r"The --(.+?) option is not allowed in the 'slurm_extra' parameter")


@dataclass(frozen=True)
class ManagedOption:
    """An option of ``slurm_extra`` that the SLURM executor sets itself."""

    option: str  # as written: --time, -t
    name: str  # the plugin's: runtime/time limit
    instead: str | None  # the resource that sets it (runtime=MINUTES); None when none does

    @property
    def resource(self) -> str | None:
        """The resource's name (``runtime``), if one sets it."""
        return self.instead.partition("=")[0] if self.instead else None


def forbidden_patterns() -> dict[str, str]:
    """The plugin's patterns of the options it refuses in ``slurm_extra``, with its name of each; {} without it."""
    try:  # ~0.4 s (the plugin imports pandas): only for a run that sets slurm_extra
        from snakemake_executor_plugin_slurm.validation import get_forbidden_slurm_options
    except ImportError:  # no plugin: nothing submits the jobs to SLURM, nothing refuses
        return {}
    patterns: dict[str, str] = get_forbidden_slurm_options()
    return patterns


def managed_options(slurm_extra: str) -> list[ManagedOption]:
    """The options of ``slurm_extra`` the SLURM executor refuses there, in the order they are written.

    Found with the plugin's own patterns, so that what it refuses is refused here, and only that.
    """
    found: dict[str, tuple[int, ManagedOption]] = {}
    for pattern, name in forbidden_patterns().items():
        match = re.search(pattern, slurm_extra)
        if match is not None and name not in found:
            option = match[0].rstrip("= \t")
            found[name] = (match.start(), ManagedOption(option, name, INSTEAD.get(name)))
    return [option for _, option in sorted(found.values(), key=lambda item: item[0])]


def refused_option(message: str) -> ManagedOption | None:
    """The option named by the plugin's refusal of a ``slurm_extra`` (its message, as Snakemake logged it); None."""
    said = EXECUTOR_REFUSAL.search(message)
    if said is None:
        return None
    name = next((name for name in INSTEAD if name.replace(" ", "-") == said[1]), said[1])
    return ManagedOption(f"--{said[1]}", name, INSTEAD.get(name))


def refusal_words(options: list[ManagedOption], rule: str | None) -> str:
    """What the SLURM executor does with ``options`` found in a ``slurm_extra`` of ``rule`` (None: a default), and
    the fix: ``sets sbatch's --time itself and refuses it in slurm_extra: take it out and set the resource
    runtime instead (mask_batch:runtime=MINUTES)``."""
    one = len(options) == 1
    it = "it" if one else "them"
    said = f"sets sbatch's {_and([option.option for option in options])} itself and refuses {it} in slurm_extra"
    resources = [option for option in options if option.instead is not None]
    if not resources:
        return f"{said}: take {it} out (no resource sets {it})"
    prefix = f"{rule}:" if rule else ""
    settings = " ".join(f"{prefix}{option.instead}" for option in resources)
    names = f"resource{'s' * (len(resources) > 1)} {_and([str(option.resource) for option in resources])}"
    return f"{said}: take {it} out{',' * (not one)} and set the {names} instead ({settings})"


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"
