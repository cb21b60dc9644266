"""The resources a run's jobs will ask for, checked before anything is submitted.

``maskrun run JOB --profile slurm -- --set-resources mask_batch:runtime=60`` hands the option
to Snakemake, which takes a misspelt rule in silence (it sets nothing), a misspelt resource as
a custom one that nothing reads, and ``runtime=1s`` as a minute: the mistake showed late, inside
SLURM, in Snakemake's terms. Here ``--set-resources``, ``--default-resources`` and
``--set-threads`` (given after ``--``, or else in the profile's ``config.yaml``, as Snakemake
takes them) are held to maskrun's rules, to the resources the SLURM executor plugin reads
(on SLURM only: locally a custom resource throttles jobs), and to the forms of value
Snakemake and sbatch take. An expression (``2*attempt*1000``), which Snakemake evaluates
per job, is taken as it is; so is a text value (a partition).
"""

from __future__ import annotations

import difflib
import math
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from maskrun.errors import UserError
from maskrun.workflow.rule_names import local_rules, workflow_rules
from maskrun.workflow.slurm_extra import managed_options, refusal_words

# Snakemake's standard resources (sizes: MB, or with a unit; runtime: minutes, or with a unit)
SIZES = ("mem", "disk")
# a number with a fraction and no unit: Snakemake reads bare digits as minutes, but "1.5" as seconds (humanfriendly's)
BARE_FRACTION = re.compile(r"(\d+\.\d*|\.\d+)$")
WHOLE_MB = ("mem_mb", "mem_mib", "disk_mb", "disk_mib")
# what snakemake-executor-plugin-slurm 2.x reads of a job's resources (its submit_string.py, partitions.py)
SLURM_WHOLE = ("mem_mb_per_cpu", "cpus_per_task", "cpus_per_gpu", "nodes", "tasks", "tasks_per_node", "tasks_per_gpu")
SLURM_TEXT = (
    "slurm_partition",
    "slurm_account",
    "slurm_cluster",
    "cluster",
    "clusters",
    "constraint",
    "qos",
    "slurm_extra",
    "gres",
    "gpu_model",
    "mpi",
)
KNOWN = ("runtime", *SIZES, *WHOLE_MB, "tmpdir", *SLURM_WHOLE, "gpu", *SLURM_TEXT)
# another executor (cluster-generic) may read resources of any name, and locally a custom one throttles jobs
# (--resources io=1 with mask_map:io=1)
CHECKED_EXECUTORS = ("slurm",)
OPTIONS = ("set-resources", "default-resources", "set-threads")
# Snakemake's options that share a prefix with those: an abbreviation is one of them only if it is no other's
SIBLINGS = (
    "--set-resources",
    "--set-threads",
    "--set-scatter",
    "--set-resource-scopes",
    "--default-resources",
    "--default-res",
    "--default-storage-provider",
    "--default-storage-prefix",
)
EXAMPLE = "mask_batch:runtime=60"
# a value Snakemake evaluates per job: arithmetic or a call, or a name of the job's (attempt, input, threads, ...)
EXPRESSION = re.compile(r"[*+/()]|\b(?:attempt|input|threads|wildcards|rulename)\b")


@dataclass(frozen=True)
class Setting:
    """One resource setting: ``mask_batch:runtime=60`` of ``--set-resources``, and where it was given."""

    option: str  # set-resources, default-resources or set-threads
    entry: str
    profile: Path | None = None  # the profile file it came from; None for the command line

    def refuse(self, message: str) -> UserError:
        if self.profile is None:
            return UserError(message, field=f"--{self.option} {self.entry}")
        return UserError(message, source=str(self.profile), field=f"{self.option}: {self.entry}")

    def said(self, message: str) -> str:
        """``message`` on one line after the setting, as `refuse` words it: for a warning."""
        return str(self.refuse(message))

    @property
    def rule(self) -> str | None:
        """The rule a ``set-resources`` or ``set-threads`` entry is for; None for ``default-resources``."""
        if self.option == "default-resources":
            return None
        return self.entry.partition(":" if self.option == "set-resources" else "=")[0].strip()

    @property
    def name(self) -> str:
        """The resource it sets (``runtime`` of ``mask_batch:runtime=60``); ``threads`` for ``set-threads``."""
        return "threads" if self.option == "set-threads" else self._assignment.partition("=")[0].strip()

    @property
    def value(self) -> str:
        """Its value as given, less the quotes around a text (``debug`` of ``slurm_partition='debug'``)."""
        return self._assignment.partition("=")[2].strip().strip("'\"")

    @property
    def _assignment(self) -> str:
        return self.entry.partition(":")[2] if self.option == "set-resources" else self.entry


@dataclass(frozen=True)
class RunSettings:
    """A run's executor and the resource settings its jobs get: those after ``--``, else the profile's."""

    executor: str = "local"
    settings: tuple[Setting, ...] = ()

    def resource(self, rule: str, names: Sequence[str], defaults: bool = True) -> Setting | None:
        """The setting of one of ``names`` that a job of ``rule`` gets: its ``set-resources``, else the default.

        A rule's own resources (a unit's ``mem_mb`` and ``runtime``) win over a default, as in
        Snakemake: look those up with ``defaults=False``. The last setting given wins.
        """
        for option in ("set-resources", "default-resources")[: 2 if defaults else 1]:
            found = [s for s in self.settings if s.option == option and s.rule in (rule, None) and s.name in names]
            if found:
                return found[-1]
        return None

    def threads(self, rule: str) -> Setting | None:
        """The ``set-threads`` entry for ``rule``, if any."""
        found = [s for s in self.settings if s.option == "set-threads" and s.rule == rule]
        return found[-1] if found else None


@dataclass(frozen=True)
class ProfileKeys:
    """A run's profile file and its keys, read once for every check of the run (none without a profile)."""

    file: Path | None = None
    keys: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, profile: str | None) -> ProfileKeys:
        """The keys of ``profile`` (a folder, or a name of Snakemake's own profile folders), if any."""
        found = find_profile_file(profile) if profile else None
        return cls(found, read_profile(found) if found is not None else {})


def check_resource_options(run: RunSettings, profile: ProfileKeys) -> list[str]:
    """Refuse a resource setting of a run that Snakemake would take in silence, or SLURM refuse late.

    Parameters
    ----------
    run
        The run's executor and settings (`run_settings`).
    profile
        The keys of the profile Snakemake is given (`ProfileKeys.of`).

    Returns
    -------
    list of str
        Notes: the profile's settings a command-line option drops (it replaces the profile's
        key whole, as in Snakemake: ``-- --default-resources runtime=60`` loses the profile's
        partition).

    Raises
    ------
    maskrun.errors.UserError
        Naming the option (or the profile's file and key), the entry and the fix: a rule the
        workflow does not have, a resource the executor does not read, a value of the wrong form.
    """
    notes = []
    for option in OPTIONS:
        # a command-line option replaces the profile's key whole, as in Snakemake (else the run has all of it)
        used = {_setting_name(setting.entry) for setting in run.settings if setting.option == option}
        dropped = [entry for entry in profile_entries(profile.keys.get(option)) if _setting_name(entry) not in used]
        if dropped:
            notes.append(
                f"--{option} replaces the profile's {option} whole, as Snakemake takes it: this run does not "
                f"use {', '.join(dropped)}; give {'it' if len(dropped) == 1 else 'them'} after -- too if it needs "
                f"{'it' if len(dropped) == 1 else 'them'}"
            )
    for setting in run.settings:
        _check(setting, run.executor)
    return notes


def run_settings(extra: Sequence[str], profile: ProfileKeys) -> RunSettings:
    """The executor and resource settings a run's jobs get (`check_resource_options` checks their form)."""
    given = passed_options(extra)
    for option, example in (("set-resources", EXAMPLE), ("set-threads", "mask_batch=4")):
        if option in given and not given[option]:  # Snakemake takes one or more (nargs="+"); --default-resources none
            raise UserError(
                f"needs at least one entry, such as {example}; or leave the option out", field=f"--{option}"
            )
    settings = tuple(setting for option in OPTIONS for setting in _settings(option, given, profile))
    return RunSettings(_executor(given, profile.keys), settings)


def _settings(option: str, given: dict[str, list[str]], profile: ProfileKeys) -> list[Setting]:
    """An option's settings for the run: those after ``--`` (they replace the profile's key), else the profile's."""
    if option in given:
        return [Setting(option, entry) for entry in given[option]]
    return [Setting(option, entry, profile.file) for entry in profile_entries(profile.keys.get(option))]


def _setting_name(entry: str) -> str:
    """What a setting sets: ``mask_batch:runtime`` of ``mask_batch:runtime=60``, ``runtime`` of ``runtime=60``."""
    return entry.partition("=")[0].strip()


def run_executor(extra: Sequence[str], profile: ProfileKeys) -> str:
    """The Snakemake executor of a run (``local``, ``slurm``, ...): ``--executor`` after ``--``, or the profile's."""
    return _executor(passed_options(extra), profile.keys)


def _executor(given: dict[str, list[str]], in_profile: dict[str, Any]) -> str:
    return (given.get("executor") or [""])[0] or _text(in_profile.get("executor")) or "local"


def passed_options(extra: Sequence[str]) -> dict[str, list[str]]:
    """The values of ``--set-resources``, ``--default-resources``, ``--set-threads`` and ``--executor`` in ``extra``.

    As Snakemake's parser reads them: ``--opt A B`` takes the words up to the next option,
    ``--opt=A`` one; an unambiguous abbreviation (``--default-resource``) is the option.
    """
    found: dict[str, list[str]] = {}
    words = list(extra)
    for i, word in enumerate(words):
        name, equals, value = word.partition("=")
        option = _option(name)
        if option is None:
            continue
        values = [value] if equals else list(_until_option(words[i + 1 :]))
        if option == "executor":
            found[option] = values[:1]
        else:
            found[option] = values  # the last one given wins, as in argparse
    return found


def _option(word: str) -> str | None:
    if word in ("-e", "--executor"):
        return "executor"
    if not word.startswith("--") or len(word) < 6:
        return None
    matches = {name for name in SIBLINGS if name.startswith(word)}
    if word in SIBLINGS:
        matches = {word}
    if len(matches) != 1:
        return None
    name = matches.pop().removeprefix("--")
    return "default-resources" if name == "default-res" else name if name in OPTIONS else None


def _until_option(words: Sequence[str]) -> Iterator[str]:
    for word in words:
        if word.startswith("-"):
            return
        yield word


def find_profile_file(profile: str) -> Path | None:
    """The YAML file of a profile (``config.yaml``, ``profile.yaml``, ``profile.v9+.yaml``), as Snakemake picks it."""
    folder = Path(profile).expanduser()
    if not folder.is_dir():
        config_home = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
        found = [base / "snakemake" / profile for base in (config_home, Path("/etc/xdg"))]
        folder = next((path for path in found if path.is_dir()), folder)
    if not folder.is_dir():
        return None
    pattern = re.compile(r"(?:profile|config)(?:\.v(\d+)\+)?\.yaml")
    candidates = [(int(m[1] or 0), path) for path in folder.iterdir() if (m := pattern.fullmatch(path.name))]
    usable = sorted((major, path.name, path) for major, path in candidates if major <= 9)
    return usable[-1][2] if usable else None


def read_profile(path: Path) -> dict[str, Any]:
    """A profile's keys, or none when it cannot be read (Snakemake then says why, in its own words)."""
    try:
        loaded = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def profile_entries(value: object) -> list[str]:
    """A profile key's settings as Snakemake writes them for its parser: ``RULE:NAME=VALUE``, ``NAME=VALUE``."""
    if isinstance(value, list):
        return [str(item) for item in value]
    if isinstance(value, dict):
        entries = []
        for key, inner in value.items():
            if isinstance(inner, dict):  # set-resources: {rule: {name: value}}
                entries += [f"{key}:{name}={_text(v)}" for name, v in inner.items()]
            else:
                entries.append(f"{key}={_text(inner)}")
        return entries
    return []


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _check(setting: Setting, executor: str) -> None:
    if setting.option == "set-threads":
        rule, equals, count = setting.entry.partition("=")
        if not equals:
            raise setting.refuse("give RULE=THREADS, such as mask_batch=4")
        _check_rule(setting, rule.strip(), executor)
        if not _whole(count, 1):
            raise setting.refuse(f"threads are a whole number from 1: give one, such as {rule.strip()}=4")
        return
    rule, assignment = "mask_batch", setting.entry
    if setting.option == "set-resources":
        rule, colon, assignment = setting.entry.partition(":")
        if not colon or "=" not in assignment:
            raise setting.refuse(f"give RULE:RESOURCE=VALUE, such as {EXAMPLE}")
        rule = rule.strip()
        _check_rule(setting, rule, executor)
    name, equals, value = assignment.partition("=")
    name = name.strip()
    if not equals:
        raise setting.refuse("give RESOURCE=VALUE, such as runtime=60")
    if executor in CHECKED_EXECUTORS and name not in KNOWN:
        if name in ("threads", "cpus", "cores"):
            raise setting.refuse(
                f"threads are not a resource: set them with --set-threads {rule}=4 "
                "(or the resource cpus_per_task on SLURM)"
            )
        close = _close(name, KNOWN)
        raise setting.refuse(
            f"the SLURM executor reads no resource '{name}'{close}"
            + ("" if close else f"; the resources it reads are {', '.join(KNOWN)}")
        )
    if executor in CHECKED_EXECUTORS and name == "slurm_extra":
        _check_slurm_extra(setting, rule if setting.option == "set-resources" else None, value.strip().strip("'\""))
    problem = value_problem(name, value.strip().strip("'\""))
    if problem is not None:
        raise setting.refuse(problem)


def _check_slurm_extra(setting: Setting, rule: str | None, value: str) -> None:
    """Refuse a ``slurm_extra`` holding an option the SLURM executor sets itself: it refuses it as it submits."""
    options = managed_options(value)
    if options:
        raise setting.refuse(f"the SLURM executor {refusal_words(options, rule)}")


def _check_rule(setting: Setting, rule: str, executor: str) -> None:
    rules = [name for name in workflow_rules() if name != "all"]
    units = [name for name in rules if name not in local_rules()]
    if rule not in rules:
        raise setting.refuse(
            f"maskrun's workflow has no rule '{rule}'{_close(rule, rules)}; its rules are {', '.join(rules)} "
            "(mask_batch masks a batch of particles, mask_map a map)"
        )
    if executor != "local" and rule in local_rules():
        raise setting.refuse(
            f"{rule} runs on this host, not as a cluster job, so this asks nothing of the cluster; "
            f"set the units' rules, {' and '.join(units)}"
        )


def _close(word: str, names: Sequence[str]) -> str:
    """`` (did you mean NAME?)`` for a close name, else nothing."""
    close = difflib.get_close_matches(word, names, n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def value_problem(name: str, value: str) -> str | None:
    """What is wrong with a resource's value, and the fix; None when Snakemake and SLURM take it as meant.

    An expression (``2*attempt*1000``, ``max(input.size_mb, 1000)``: Snakemake evaluates it per
    job) is taken as it is: only its job can tell its value.
    """
    if EXPRESSION.search(value):
        return None
    if name == "runtime":
        seconds = timespan_seconds(value)
        if seconds is None:
            return (
                f"runtime '{value}' is not a time: give minutes (runtime=60) or a time with its unit "
                "(runtime=2h, runtime=90m)"
            )
        if BARE_FRACTION.match(value):  # 90.5 s pass the minute, but no one means seconds without saying so
            number = float(value)
            hours = f", for {value} hours runtime={math.ceil(number * 60)} or runtime={value}h" * (number < 24)
            return (
                f"runtime '{value}' is read by Snakemake as {value} seconds (a number without a unit is minutes "
                f"only when whole): for {value} minutes give runtime={math.ceil(number)}{hours}"
            )
        if seconds < 60:
            read = f"{value} minutes" if value.isdecimal() else f"{seconds:g} second{'s' * (seconds != 1)}"
            return (
                f"runtime '{value}' is {read}, under a minute (SLURM's time limits are whole minutes): give "
                "minutes (runtime=60) or a time with its unit (runtime=2h)"
            )
        return None
    if name in SIZES:
        if size_megabytes(value) is None:
            return f"{name} '{value}' is not a size: give one with its unit ({name}=4GB, {name}=500MB)"
        return None
    if name in WHOLE_MB or name in SLURM_WHOLE or name == "gpu":
        least = 0 if name == "gpu" else 1
        if _whole(value, least):
            return None
        unit = " of megabytes" if name.startswith(("mem", "disk")) else ""
        example = f"{name}=4000" if unit else f"{name}=2"
        size = ", or mem=4GB for a size with its unit" if name.startswith("mem") else ""
        return f"{name} '{value}' is not a whole number{unit} from {least}: give one ({example}){size}"
    if not value:
        return f"{name} is empty: give its value, or leave the setting out"
    return None


def _whole(value: object, least: int) -> bool:
    text = str(value).strip().strip("'\"")
    return text.isdecimal() and int(text) >= least


def timespan_seconds(value: str) -> float | None:
    """A runtime in seconds as Snakemake reads it: bare digits are minutes, else a time with its unit."""
    if value.isdecimal():
        return int(value) * 60.0
    from humanfriendly import InvalidTimespan, parse_timespan  # what Snakemake reads it with

    try:
        return float(parse_timespan(value))
    except InvalidTimespan:
        return None


def size_megabytes(value: str) -> float | None:
    """A size in MB as Snakemake reads ``mem``/``disk``: bare digits are MB, else a size with its unit."""
    if value.isdecimal():
        return float(value) if int(value) >= 1 else None
    from humanfriendly import InvalidSize, parse_size  # what Snakemake reads it with

    try:
        megabytes = parse_size(value) / 1e6
    except InvalidSize:
        return None
    return float(megabytes) if megabytes > 0 else None
