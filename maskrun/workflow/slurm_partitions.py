"""The SLURM partitions a run's jobs ask for, checked against those ``sinfo`` lists before anything runs.

A ``slurm_partition`` the cluster does not have was taken by ``maskrun run --dry-run`` with a
note and exit status 0, and by a run only once sbatch refused every unit's job. The setting
is checked where SLURM's commands are: on a machine without ``sinfo``, or when it does not
answer (the controller down), the run goes on with a note that the partition was not checked.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass

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


def partitions() -> Partitions:
    """The cluster's partitions and its default one (``sinfo --all -h -o %P``; the default is starred).

    ``--all``: a hidden partition is not listed by default, yet a job may ask for it.
    """
    sinfo = shutil.which("sinfo")
    if sinfo is None:
        return Partitions(unknown_because="sinfo is not on this machine's PATH (SLURM's commands are not here)")
    try:
        listed = subprocess.run(
            [sinfo, "--all", "-h", "-o", "%P"], capture_output=True, text=True, timeout=SINFO_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.SubprocessError) as error:
        return Partitions(unknown_because=f"sinfo did not answer ({error})")
    words = listed.stdout.split()
    if listed.returncode != 0 or not words:
        said = " ".join(listed.stderr.split()) or f"exit status {listed.returncode}, no partitions listed"
        return Partitions(unknown_because=f"sinfo did not answer ({said})")
    default = next((name.rstrip("*") for name in words if name.endswith("*")), None)
    return Partitions(tuple(sorted({name.rstrip("*") for name in words})), default)


def check_partitions(run: RunSettings) -> list[str]:
    """Refuse a ``slurm_partition`` for the units' jobs that ``sinfo`` does not list; with the SLURM executor only.

    Checked: the partition each unit rule's jobs get (its ``set-resources``, else
    ``default-resources``; a list ``a,b`` name by name), unless it is an expression, which
    Snakemake evaluates per job, or the jobs name a cluster (``slurm_cluster``), whose
    partitions this host's ``sinfo`` may not list.

    Returns
    -------
    list of str
        Notes: a partition set but not checked, because ``sinfo`` is not installed or did not answer.

    Raises
    ------
    maskrun.errors.UserError
        Naming the setting (the option, or the profile's file and key), the partitions
        ``sinfo`` lists and the fix: before anything is written or submitted (exit 2).
    """
    if run.executor != "slurm":
        return []
    asked = dict.fromkeys(
        setting
        for rule in unit_rules()
        if (setting := run.resource(rule, ("slurm_partition",))) is not None
        and setting.value
        and not EXPRESSION.search(setting.value)
        and run.resource(rule, CLUSTER_RESOURCES) is None
    )
    if not asked:
        return []
    known = partitions()
    if known.unknown_because is not None:
        unchecked = f"not checked against the cluster's partitions: {known.unknown_because}"
        return [setting.said(unchecked) for setting in asked]
    for setting in asked:
        missing = [name for name in setting.value.split(",") if name.strip() and name.strip() not in known.names]
        if missing:
            raise _unknown(setting, missing[0].strip(), known)
    return []


def _unknown(setting: Setting, name: str, known: Partitions) -> UserError:
    listed = ", ".join(f"{p} (the default)" if p == known.default else p for p in known.names)
    default = f" for the cluster's default, {known.default}" if known.default else " for the cluster's default"
    return setting.refuse(
        f"SLURM has no partition '{name}': sinfo lists {listed}; set slurm_partition to one of those, or leave "
        f"it out{default}"
    )
