"""A numeric setting of a job refuses a boolean (``soft_edge: yes`` is not a 1 px edge), and one whose name carries
its unit (``lowpass_angstrom``, ``extend_px``) takes a number written in that unit, and refuses one written in another
with the number to give.

Pydantic's lax mode reads ``True`` as 1, so ``soft_edge: yes`` (YAML 1.1's true), meant as
"a soft edge, please", gave a 1 px edge, and ``version: true`` passed as version 1. Every
numeric field of the job models carries `number` with what to give instead (a model term's
lengths, which may also be ``vdw``, are checked by their own validator, through `refuse_a_boolean`), by kind of
field (`LENGTH`, `PIXELS`, `FRACTION`, ...): a boolean is refused with that fix, spelt as
the job file writes it by `maskrun.config.messages`. Lax mode stays otherwise: an int is a
float, and a length written as text is converted before (`maskrun.config.shape_base`).

A field named for its unit (`UNITS`: ``_angstrom``, ``_px``, ``_kv``, ``_mm``) takes a number in
that unit, as its name says, alone or written with that unit: ``lowpass_angstrom: 15 A`` (or ``15 Å``, ``15A``) is
15, ``extend_px: 6 px`` is 6. A number in another unit is refused with the number to give (``15 px`` or ``1.5 nm``
on ``lowpass_angstrom``, ``extend_px: 10 A``): computed where the pixel size is known (`PIXEL_SIZE_KEY` in the
validation context: ``give 7.63, 10 Å at 1.31 Å/px (rounded to 0.01 px)``), else the conversion in words (``10 ÷ the
pixel size (Å/px)``; docs/spec.md, "The job file"), where Pydantic said only "unable to parse string as a number".
"""

from __future__ import annotations

import math
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
# a number in one unit as a number in another: its fix, where the pixel size is not known
CONVERSIONS: dict[tuple[str, str], Callable[[float], str]] = {
    ("Å", "px"): lambda n: f"{n:g} ÷ the pixel size (Å/px)",
    ("px", "Å"): lambda n: f"{n:g} × the pixel size (Å/px)",
    ("nm", "Å"): lambda n: f"{n * 10:g}",
    ("nm", "px"): lambda n: f"{n * 10:g} ÷ the pixel size (Å/px), {n:g} nm being {n * 10:g} Å",
}
PIXEL_SIZE_KEY = "pixel_size_angstrom"  # the validation context's pixel size (Å/px), where the caller knows it
DECIMALS = 2  # of a number converted through the pixel size: a hundredth of a pixel or Å
NOT_LENGTHS = frozenset({"pixel_size_angstrom"})  # named in Å but per pixel: no length converts to one (nm/px does)
NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"  # as a job or an option writes one: no inf, nan or 1_000
PLAIN_NUMBER = re.compile(rf"\s*({NUMBER})\s*")
WITH_UNIT = re.compile(rf"\s*({NUMBER})\s*([^\d\s.+-].*?)\s*")
LENGTH_UNITS = (PX, ANGSTROM_UNIT)  # a shape's lengths, make-mask's --extend: pixels, or Å at the pixel size
_PER_PIXEL = re.compile(r"\s*/\s*(px|pix|pixel)$", re.IGNORECASE)  # a pixel size's "Å/px": its unit is the field's too


def unit_of(field: str) -> Unit | None:
    """The unit ``field``'s name ends in (``lowpass_angstrom``: Å), if any."""
    return UNITS.get(field.rsplit("_", 1)[-1].lower()) if "_" in field else None


def unit_written(text: str, per_pixel: bool = False) -> Unit | None:
    """The unit ``text`` spells, as users write it (`Unit.spellings`, any case), if any; ``per_pixel``: a pixel
    size's ``Å/px`` is its ``Å`` (a pixel size's field, named in Å, is in Å per pixel)."""
    # composed: an Å typed as A and a combining ring, or as the Ångström sign (U+212B), is the letter Å
    written = unicodedata.normalize("NFC", _PER_PIXEL.sub("", text) if per_pixel else text).lower()
    return next((u for u in (*UNITS.values(), NM) if written in u.spellings), None)


def with_unit_pattern(units: tuple[Unit, ...], optional: bool = False, per_pixel: bool = False) -> str:
    """A regular expression (Python's and ECMAScript's alike, for a JSON Schema) of a number written in one of
    ``units``, as `unit_written` reads them; ``optional``: or the number alone; ``per_pixel``: ``/px`` after it."""
    spellings = sorted({s for unit in units for s in unit.spellings}, key=len, reverse=True)
    if ANGSTROM_UNIT in units:  # the forms NFC composes to Å: the Ångström sign, A and a combining ring
        spellings += ["\u212b", "[aA]\u030a"]
    written = "|".join(_any_case(s) if not s.startswith(("\\", "[")) else s for s in spellings)
    unit = f"(?:{written})" + ("(?:\\s*/\\s*(?:[pP][xX]|[pP][iI][xX](?:[eE][lL])?))?" if per_pixel else "")
    return rf"^\s*{NUMBER}\s*{unit}{'?' if optional else ''}\s*$"


def _any_case(spelling: str) -> str:
    return "".join(f"[{c}{c.upper()}]" if c.upper() != c else re.escape(c) for c in spelling)


class UnitMismatch(ValueError):
    """A number written in a unit other than its field's: the message says the number to give; `named` says it of
    the field as the caller names it (``--lowpass``)."""

    def __init__(self, value: str, written: Unit, field: str, unit: Unit, instead: str):
        self.value, self.written, self.field, self.unit, self.instead = value, written, field, unit, instead
        super().__init__(self.named(field))

    def named(self, name: str) -> str:
        """The message, the field called ``name``."""
        return f"'{self.value}' is in {self.written.symbol}, but {name} {self.unit.holds}: {self.instead}"


def in_field_unit(value: Any, field: str, fix: str, pixel_size_angstrom: float | None = None) -> Any:
    """``value`` for ``field``, whose name says its unit: a number written in that unit (``"15 A"`` for
    ``lowpass_angstrom``, ``"6 px"`` for ``extend_px``) is the number; anything else is returned as it is, for the
    field's own validation.

    ``pixel_size_angstrom``: the data's pixel size (Å/px) where the caller knows it, to say the number of another
    unit converted.

    Raises
    ------
    UnitMismatch
        For a number in another unit that converts to the field's: the number to give, computed at
        ``pixel_size_angstrom`` where that is known (and the conversion needs it), else the conversion in words.
    ValueError
        For a number in a unit that converts to none of the field's, with ``fix``.
    """
    unit = unit_of(field)
    if unit is None or not isinstance(value, str):
        return value
    try:
        float(value)  # a number as YAML leaves some in text ('2e1'): the field's own validation takes it
        return value
    except ValueError:
        pass
    match = WITH_UNIT.fullmatch(value)
    if match is None:
        return value
    amount, written = float(match.group(1)), unit_written(match.group(2), per_pixel=field in NOT_LENGTHS)
    if written == unit:
        return amount
    convert = CONVERSIONS.get((written.symbol, unit.symbol)) if written is not None else None
    if written is None or convert is None or (field in NOT_LENGTHS and written != NM):
        raise ValueError(f"got '{value}', not a number; {fix}")
    known = _converted(amount, written, unit, pixel_size_angstrom)
    instead = f"give {known}" if known is not None else f"give the number of {unit.amount}, {convert(amount)}"
    raise UnitMismatch(value, written, field, unit, instead)


def needs_pixel_size(error: object) -> bool:
    """Whether ``error`` (a validation error's cause) says a conversion that the pixel size would give as a number."""
    return isinstance(error, UnitMismatch) and "the pixel size (Å/px)" in str(error)


def _converted(amount: float, written: Unit, unit: Unit, pixel_size: float | None) -> str | None:
    """``amount`` of ``written`` in ``unit`` through ``pixel_size``, with how it came (``7.63, 10 Å at 1.31 Å/px
    (rounded to 0.01 px)``); None where the conversion needs no pixel size or it is not known."""
    if pixel_size is None or not pixel_size > 0 or unit.symbol not in ("px", "Å") or written.symbol == unit.symbol:
        return None
    if unit.symbol == "Å" and written.symbol != "px":  # nm to Å: no pixel size in it
        return None
    angstrom = amount * 10 if written == NM else amount
    pixel_size = float(f"{pixel_size:.6g}")  # as said: a header's float32 1.3099999 is 1.31, and 6 px at it 7.86
    exact = amount * pixel_size if unit.symbol == "Å" else angstrom / pixel_size
    rounded = round(exact, DECIMALS)
    given = f"{amount:g} nm ({angstrom:g} Å)" if written == NM else f"{amount:g} {written.symbol}"
    said = f"{rounded:g}, {given} at {pixel_size:.6g} Å/px"
    if not math.isclose(rounded, exact, rel_tol=1e-9, abs_tol=1e-12):
        said += f" (rounded to {10**-DECIMALS:g} {unit.symbol})"
    return said


def _refuse_bools(fix: str) -> Any:
    def refuse(value: Any, info: ValidationInfo) -> Any:
        for item in value if isinstance(value, list | tuple) else (value,):  # a centre's or a box's numbers too
            refuse_a_boolean(item, fix)
        if info.field_name is not None:
            context = info.context if isinstance(info.context, dict) else {}
            return in_field_unit(value, info.field_name, fix, context.get(PIXEL_SIZE_KEY))
        return value

    return refuse


def number(fix: str) -> BeforeValidator:
    """The mark of a numeric field (``Annotated[float, number(FRACTION)]``): a boolean, alone or in a list, is
    refused with ``fix``; where the field's name says its unit, a number written in it is the number, and one in
    another unit refused with the number to give (`in_field_unit`, at the validation context's `PIXEL_SIZE_KEY`);
    anything else goes on to the field's own validation."""
    return BeforeValidator(_refuse_bools(fix))
