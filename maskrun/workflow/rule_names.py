"""The rules of maskrun's Snakefile, read from its source: which exist, and which run on the submitting host.

Read rather than listed, so that a rule added to ``rules/*.smk`` is known to the checks of
``--set-resources`` (`maskrun.workflow.resource_options`) and to the dry run's summary at once.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

WORKFLOW = Path(__file__).resolve().parent
RULE = re.compile(r"^(?:rule|checkpoint)\s+(\w+)\s*:", re.M)
LOCALRULES = re.compile(r"^localrules:((?:[ \t]*\w+,?)*(?:\n[ \t]+\w+,?)*)", re.M)  # on its line, or one a line


def _sources() -> list[str]:
    return [path.read_text() for path in [WORKFLOW / "Snakefile", *sorted((WORKFLOW / "rules").glob("*.smk"))]]


@functools.cache
def workflow_rules() -> tuple[str, ...]:
    """The names of the workflow's rules, in the order the sources define them (``all`` included)."""
    return tuple(name for text in _sources() for name in RULE.findall(text))


@functools.cache
def local_rules() -> frozenset[str]:
    """The rules that run on the submitting host with any executor (the workflow's ``localrules``)."""
    return frozenset(
        name for text in _sources() for block in LOCALRULES.findall(text) for name in re.findall(r"\w+", block)
    )


def unit_rules() -> tuple[str, ...]:
    """The rules whose jobs a cluster runs: the units' (``mask_batch``, ``mask_map``)."""
    return tuple(name for name in workflow_rules() if name not in local_rules())
