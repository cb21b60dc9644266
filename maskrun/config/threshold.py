"""A map mask's threshold: a number, or a rule that chooses one from the map (docs/spec.md, "Masks from maps").

``threshold`` may be a number (a density value), a σ level (``"3 sigma"``, ``"3σ"``), an
enclosed mass (``"250 kDa"``, ``"1.2 MDa"``, at 0.81 Da/Å³) or volume (``"1.2e6 A3"``,
``"1.2e6 Å³"``, ``"800 nm3"``), or ``"auto"``. `threshold_rule` reads the text; the number is
chosen where the map is read (`maskrun.geometry.threshold_choice`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import AfterValidator

from maskrun.config.numeric import number

PROTEIN_DALTON_PER_A3 = 0.81  # RELION's and cisTEM's protein density
DALTONS = {"da": 1.0, "kda": 1e3, "mda": 1e6}
CUBIC_ANGSTROMS = {"a3": 1.0, "å3": 1.0, "å³": 1.0, "a^3": 1.0, "å^3": 1.0, "a³": 1.0, "nm3": 1e3, "nm³": 1e3}
SIGMAS = ("sigma", "σ", "sd", "rmsd")
_AMOUNT = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(\S*)\s*$")
EXAMPLES = "a number, '3 sigma', '250 kDa', '1.2e6 A3' or 'auto'"

RuleKind = Literal["value", "sigma", "volume", "auto"]


@dataclass(frozen=True)
class ThresholdRule:
    """How to choose a threshold: ``value`` (the number itself), ``sigma`` (mean + amount × σ),
    ``volume`` (enclose ``amount`` Å³; a mass is turned into its volume) or ``auto``."""

    kind: RuleKind
    amount: float = 0.0
    text: str = ""


def threshold_rule(value: float | str) -> ThresholdRule:
    """The rule a ``threshold`` stands for.

    Raises
    ------
    ValueError
        For text that is none of the forms, or a volume or mass that is not positive.

    Examples
    --------
    >>> threshold_rule("3 sigma")
    ThresholdRule(kind='sigma', amount=3.0, text='3 sigma')
    >>> round(threshold_rule("250 kDa").amount)
    308642
    """
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise ValueError(f"threshold {value} is not a finite number; give {EXAMPLES}")
        return ThresholdRule("value", float(value), f"{value:g}")
    text = str(value).strip()
    if text.lower() == "auto":
        return ThresholdRule("auto", 0.0, "auto")
    match = _AMOUNT.match(text)
    if match is None:
        raise ValueError(f"threshold '{text}' is none of {EXAMPLES}")
    amount, unit = float(match.group(1)), match.group(2).lower()
    if not unit:
        return ThresholdRule("value", amount, text)
    if unit in SIGMAS:
        return ThresholdRule("sigma", amount, text)
    if unit in DALTONS or unit in CUBIC_ANGSTROMS:
        if amount <= 0:
            raise ValueError(f"threshold '{text}' encloses nothing; give a positive mass or volume")
        volume = amount * DALTONS[unit] / PROTEIN_DALTON_PER_A3 if unit in DALTONS else amount * CUBIC_ANGSTROMS[unit]
        return ThresholdRule("volume", volume, text)
    raise ValueError(f"threshold '{text}': unknown unit '{match.group(2)}'; give {EXAMPLES}")


def _checked(value: float | str) -> float | str:
    threshold_rule(value)
    return value


Threshold = Annotated[float | str, number(f"give {EXAMPLES}"), AfterValidator(_checked)]
"""A ``threshold`` field: a number, or text `threshold_rule` reads (checked when the job is read)."""
