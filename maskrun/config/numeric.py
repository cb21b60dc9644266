"""A numeric setting of a job refuses a boolean (``soft_edge: yes`` is not a 1 px edge), and one whose name carries
its unit (``lowpass_angstrom``, ``extend_px``) a number written with a unit, saying the number to give.

Pydantic's lax mode reads ``True`` as 1, so ``soft_edge: yes`` (YAML 1.1's true), meant as
"a soft edge, please", gave a 1 px edge, and ``version: true`` passed as version 1. Every
numeric field of the job models carries `number` with what to give instead (a model term's
lengths, which may also be ``vdw``, are checked by their own validator, through `refuse_a_boolean`), by kind of
field (`LENGTH`, `PIXELS`, `FRACTION`, ...): a boolean is refused with that fix, spelt as
the job file writes it by `maskrun.config.messages`. Lax mode stays otherwise: an int is a
float, and a length written as text is converted before (`maskrun.config.shape_base`).

A field named for its unit (`UNITS`: ``_angstrom``, ``_px``, ``_kv``, ``_mm``) takes a number in
that unit, as its name says: ``lowpass_angstrom: 15 A`` (the right unit, written out) is told
``write the number alone: 15``, and ``15 px`` or ``1.5 nm`` the conversion to Å (``extend_px: 1 nm``:
to px, through Å and the pixel size, which is the data's; docs/spec.md, "The job file"), where
Pydantic said only "unable to parse string as a number".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BeforeValidator, ValidationInfo

LENGTH = "give a length in px, '12 px' or '42 A'"
CENTER = "give x y (images) or x y z (maps), in px or with a unit: ['12 px', '42 A']"
WIDTH = "give a width in px, '12 px' or '42 A'"
PIXELS = "give a number of pixels, 0 for none"
FRACTION = "give a fraction between 0 and 1, 0.1 say"
Z_FRACTION = "give a fraction from 0.1 to 0.9 (0.3 = 30 %), or leave it out"
FILL_VALUE = "give the fill value, 0 say"
COUNT = "give a whole number, 0 or more"
ANGSTROM = "give a number of Å, 15 say, or leave it out"
PIXEL_SIZE = "give the pixel size in Å/px, 1.06 say, or leave it out"
VOLTAGE = "give the voltage in kV, 300 say, or leave it out"
CS = "give the spherical aberration in mm, 2.7 say, or leave it out"
BATCH = 'give a number of particles, 10000 say, or a size such as "2 GB"'
VERSION = "write version: 1"


class NotANumber(ValueError):
    """A boolean given where a number goes; ``fix`` says what to give (`LENGTH`, ...)."""

    def __init__(self, value: bool, fix: str):
        super().__init__(f"got {str(value).lower()}, not a number; {fix}")
        self.value = value
        self.fix = fix


def refuse_a_boolean(value: Any, fix: str) -> None:
    """Raise `NotANumber` with ``fix`` when ``value`` is a boolean (NumPy's too, from the Python API)."""
    if isinstance(value, bool | np.bool_):
        raise NotANumber(bool(value), fix)


@dataclass(frozen=True)
class Unit:
    """A unit a field's name may end in: its symbol, how users write it (lower case), and how a message says it."""

    symbol: str
    spellings: frozenset[str]
    holds: str  # what a field in it does: "counts pixels", "is in Å"
    amount: str  # what to give: "the number of pixels"


PX = Unit("px", frozenset({"px", "pix", "pixel", "pixels"}), "counts pixels", "pixels")
ANGSTROM_UNIT = Unit(
    "Å", frozenset({"a", "å", "ang", "angstrom", "angstroms", "ångström", "ångströms"}), "is in Å", "Å"
)
UNITS = {  # a field named <...>_<suffix> is in that unit
    "px": PX,
    "angstrom": ANGSTROM_UNIT,
    "kv": Unit("kV", frozenset({"kv"}), "is in kV", "kV"),
    "mm": Unit("mm", frozenset({"mm"}), "is in mm", "mm"),
}
# a unit no field is named in, but one to convert from
NM = Unit("nm", frozenset({"nm", "nanometer", "nanometers", "nanometre", "nanometres"}), "is in nm", "nm")
# a number in one unit as a number in another: its fix (the pixel size is the data's, not known here)
CONVERSIONS: dict[tuple[str, str], Callable[[float], str]] = {
    ("Å", "px"): lambda n: f"{n:g} ÷ the pixel size (Å/px)",
    ("px", "Å"): lambda n: f"{n:g} × the pixel size (Å/px)",
    ("nm", "Å"): lambda n: f"{n * 10:g}",
    ("nm", "px"): lambda n: f"{n * 10:g} ÷ the pixel size (Å/px), {n:g} nm being {n * 10:g} Å",
}
NOT_LENGTHS = frozenset({"pixel_size_angstrom"})  # named in Å but per pixel: no length converts to one (nm/px does)
_WITH_UNIT = re.compile(r"\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([^\d\s.+-].*?)\s*")
_PER_PIXEL = re.compile(r"\s*/\s*(px|pix|pixel)$", re.IGNORECASE)  # a pixel size's "Å/px": its unit is the field's too


def unit_of(field: str) -> Unit | None:
    """The unit ``field``'s name ends in (``lowpass_angstrom``: Å), if any."""
    return UNITS.get(field.rsplit("_", 1)[-1].lower()) if "_" in field else None


def _unit_written(text: str) -> Unit | None:
    # composed: an Å typed as A and a combining ring, or as the Ångström sign (U+212B), is the letter Å
    written = unicodedata.normalize("NFC", _PER_PIXEL.sub("", text)).lower()
    return next((u for u in (*UNITS.values(), NM) if written in u.spellings), None)


def refuse_a_unit(value: Any, field: str, fix: str) -> None:
    """Refuse ``value`` when it is a number written with a unit (``"15 A"``) for ``field``, whose name says its unit:
    the number alone for its own unit, the conversion for another, else what to give (``fix``)."""
    unit = unit_of(field)
    if unit is None or not isinstance(value, str):
        return
    try:
        float(value)  # a number as YAML leaves some in text ('2e1'): the field's own validation takes it
        return
    except ValueError:
        pass
    match = _WITH_UNIT.fullmatch(value)
    if match is None:
        return
    amount, written = float(match.group(1)), _unit_written(match.group(2))
    if written == unit:
        raise ValueError(f"'{value}': {field} {unit.holds} already; write the number alone: {amount:g}")
    convert = CONVERSIONS.get((written.symbol, unit.symbol)) if written is not None else None
    if written is None or convert is None or (field in NOT_LENGTHS and written != NM):
        raise ValueError(f"got '{value}', not a number; {fix}")
    instead = f"give the number of {unit.amount}, {convert(amount)}"
    raise ValueError(f"'{value}' is in {written.symbol}, but {field} {unit.holds}: {instead}")


def _refuse_bools(fix: str) -> Any:
    def refuse(value: Any, info: ValidationInfo) -> Any:
        for item in value if isinstance(value, list | tuple) else (value,):  # a centre's or a box's numbers too
            refuse_a_boolean(item, fix)
        if info.field_name is not None:
            refuse_a_unit(value, info.field_name, fix)
        return value

    return refuse


def number(fix: str) -> BeforeValidator:
    """The mark of a numeric field (``Annotated[float, number(FRACTION)]``): a boolean, alone or in a list, is
    refused with ``fix``, and so is a number written with a unit where the field's name says its unit
    (`refuse_a_unit`); anything else goes on to the field's own validation."""
    return BeforeValidator(_refuse_bools(fix))
