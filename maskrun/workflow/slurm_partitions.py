"""The SLURM partitions a run's jobs ask for, and their CPUs, checked against what ``sinfo`` lists before anything runs.

A ``slurm_partition`` the cluster does not have was taken by ``maskrun run --dry-run`` with a
note and exit status 0, and by a run only once sbatch refused every unit's job; so was a
``cpus_per_task`` above what any node of the partition has ("More processors requested than
permitted"). The settings are checked where SLURM's commands are: on a machine without
``sinfo``, or when it does not answer (the controller down), the run goes on with a note that
they were not checked.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field

from maskrun.errors import UserError
from maskrun.workflow.resource_options import EXPRESSION, RunSettings, Setting
from maskrun.workflow.rule_names import unit_rules

SINFO_TIMEOUT_S = 10
# a job that names a cluster of a federation may ask for a partition this host's sinfo does not list
CLUSTER_RESOURCES = ("slurm_cluster", "cluster", "clusters")


@dataclass(frozen=True)
class Partitions:
    """The cluster's partitions as ``sinfo`` lists them (hidden ones too), its default, or why it could not say."""

    names: tuple[str, ...] = ()
    default: str | None = None
    unknown_because: str | None = None  # None when sinfo listed them
    cpus: dict[str, int] = field(default_factory=dict)  # the most CPUs a node of each partition has, where listed


def partitions() -> Partitions:
    """The cluster's partitions, its default one and their nodes' CPUs (``sinfo --all --exact -h -o '%P %c'``).

    ``--all``: a hidden partition is not listed by default, yet a job may ask for it.
    ``--exact``: a partition's nodes of different sizes on lines of their own (else the
    fewest CPUs, with a ``+``). The default partition is starred.
    """
    sinfo = shutil.which("sinfo")
    if sinfo is None:
        return Partitions(unknown_because="sinfo is not on this machine's PATH (SLURM's commands are not here)")
    try:
        listed = subprocess.run(
            [sinfo, "--all", "--exact", "-h", "-o", "%P %c"],
            capture_output=True,
            text=True,
            timeout=SINFO_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as error:
        return Partitions(unknown_because=f"sinfo did not answer ({error})")
    rows = [line.split() for line in listed.stdout.splitlines() if line.strip()]
    if listed.returncode != 0 or not rows:
        said = " ".join(listed.stderr.split()) or f"exit status {listed.returncode}, no partitions listed"
        return Partitions(unknown_because=f"sinfo did not answer ({said})")
    default = next((row[0].rstrip("*") for row in rows if row[0].endswith("*")), None)
    cpus: dict[str, int] = {}
    for name, *count in rows:
        if count and count[0].isdecimal():
            cpus[name.rstrip("*")] = max(cpus.get(name.rstrip("*"), 0), int(count[0]))
    return Partitions(tuple(sorted({row[0].rstrip("*") for row in rows})), default, cpus=cpus)


def check_partitions(run: RunSettings) -> list[str]:
    """Refuse a ``slurm_partition`` ``sinfo`` does not list, or a ``cpus_per_task`` no node of it has; on SLURM only.

    Checked: the partition each unit rule's jobs get (its ``set-resources``, else
    ``default-resources``; a list ``a,b`` name by name), unless it is an expression, which
    Snakemake evaluates per job, or the jobs name a cluster (``slurm_cluster``), whose
    partitions this host's ``sinfo`` may not list; and the ``cpus_per_task`` they get (a whole
    number: it is what the SLURM executor asks sbatch for, whatever the threads) against the
    largest node of that partition, or of the cluster's default. Threads, which Snakemake
    caps at the submitting host's cores, are not checked.

    Returns
    -------
    list of str
        Notes: a setting not checked, because ``sinfo`` is not installed or did not answer.

    Raises
    ------
    maskrun.errors.UserError
        Naming the setting (the option, or the profile's file and key), what ``sinfo`` lists
        and the fix: before anything is written or submitted (exit 2).
    """
    if run.executor != "slurm":
        return []
    checked = [rule for rule in unit_rules() if run.resource(rule, CLUSTER_RESOURCES) is None]
    asked = dict.fromkeys(
        setting
        for rule in checked
        if (setting := run.resource(rule, ("slurm_partition",))) is not None
        and setting.value
        and not EXPRESSION.search(setting.value)
    )
    cpus = {
        rule: setting
        for rule in checked
        if (setting := run.resource(rule, ("cpus_per_task",))) is not None and setting.value.isdecimal()
    }
    if not asked and not cpus:
        return []
    known = partitions()
    if known.unknown_because is not None:
        unchecked = f"not checked against the cluster's partitions: {known.unknown_because}"
        return [setting.said(unchecked) for setting in dict.fromkeys([*asked, *cpus.values()])]
    for setting in asked:
        missing = [name for name in setting.value.split(",") if name.strip() and name.strip() not in known.names]
        if missing:
            raise _unknown(setting, missing[0].strip(), known)
    for rule, setting in cpus.items():
        _check_cpus(run, rule, setting, known)
    return []


def _check_cpus(run: RunSettings, rule: str, setting: Setting, known: Partitions) -> None:
    """Refuse the ``cpus_per_task`` of ``rule``'s jobs when no node of their partition (or partitions) has as many."""
    partition = run.resource(rule, ("slurm_partition",))
    if partition is not None and partition.value:
        if EXPRESSION.search(partition.value):
            return
        names = [name.strip() for name in partition.value.split(",") if name.strip()]
        where = f"partition {names[0]}" if len(names) == 1 else f"partitions {', '.join(names)}"
    else:
        names = [known.default] if known.default else []
        where = f"partition {known.default} (the cluster's default)"
    most = max((known.cpus.get(name, 0) for name in names), default=0)
    asked = int(setting.value)
    if most == 0 or asked <= most:  # sinfo did not say
        return
    raise setting.refuse(
        f"each {rule} job asks for {asked} CPUs, and no node of {where} has more than {most} (sinfo -o '%P %c'), "
        f"so sbatch would refuse it: set cpus_per_task to {most} or fewer, or use a partition with larger nodes"
    )


def _unknown(setting: Setting, name: str, known: Partitions) -> UserError:
    listed = ", ".join(f"{p} (the default)" if p == known.default else p for p in known.names)
    default = f" for the cluster's default, {known.default}" if known.default else " for the cluster's default"
    return setting.refuse(
        f"SLURM has no partition '{name}': sinfo lists {listed}; set slurm_partition to one of those, or leave "
        f"it out{default}"
    )
