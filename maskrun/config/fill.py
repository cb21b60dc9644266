"""The ``fill:`` section: what replaces the masked-out part of each image or map."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal, Self

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from maskrun.config.numeric import COUNT, FILL_VALUE, number

FillChoice = Literal["value", "min", "max", "avg", "noise", "background"]  # the names of FILL_KINDS


@dataclass(frozen=True)
class FillKind:
    """One fill as users meet it: its name, what it puts in, and the options that go with it.

    How it is computed is its rule in `maskrun.engine.fills.FILLS`.
    """

    name: str
    words: str  # for the report's summary, the CLI's help and the example jobs' comments
    takes: tuple[str, ...] = ()  # the FillParams fields that go with it


FILL_KINDS: dict[str, FillKind] = {
    kind.name: kind
    for kind in (
        FillKind("value", "a constant", ("value",)),
        FillKind("min", "each image's own minimum"),
        FillKind("max", "each image's own maximum"),
        FillKind("avg", "each image's own mean"),
        FillKind("background", "each image's mean outside the mask"),
        FillKind("noise", "white Gaussian noise with each image's background mean and σ", ("seed",)),
    )
}


NOISE_AT_A_SOFT_EDGE = (
    "noise is white (each pixel on its own) where a real background is often correlated, and across a soft edge "
    "m·image + (1 − m)·noise spreads less than either (0.71 × the background's σ at m = 0.5); docs/spec.md, Fills"
)


class FillParams(BaseModel):
    """What replaces the masked-out part: ``out = m·input + (1 − m)·fill`` (see docs/spec.md, "Fills").

    ``value`` goes with ``with: value``; ``seed`` with ``with: noise`` (a job's top-level
    ``seed`` sets it too). ``noise`` is white: each pixel drawn on its own, with the mean and σ
    of the image's pixels where m = 0, not the background's texture; through a soft edge it is
    blended as any fill is, so the spread dips there (`NOISE_AT_A_SOFT_EDGE`).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, allow_inf_nan=False)

    with_: FillChoice = Field("value", alias="with")
    value: Annotated[float, number(FILL_VALUE)] = 0.0
    seed: Annotated[int, number(COUNT)] = Field(0, ge=0)

    @field_validator("value")
    @classmethod
    def _a_float32(cls, value: float) -> float:
        beyond = beyond_range(value, np.dtype(np.float32))
        if beyond is None:
            return value
        raise ValueError(f"{beyond}, in which images are written; got {value:g}")

    @model_validator(mode="after")
    def _options_of_their_fill(self) -> Self:
        for option in sorted(self.model_fields_set - {"with_"} - set(FILL_KINDS[self.with_].takes)):
            owner = next(kind.name for kind in FILL_KINDS.values() if option in kind.takes)
            raise ValueError(
                f"'{option}' is used only with 'with: {owner}', not 'with: {self.with_}'; "
                f"remove {option} or set with: {owner}"
            )
        return self

    @property
    def is_zero(self) -> bool:
        return self.with_ == "value" and self.value == 0.0


def beyond_range(value: float, dtype: np.dtype) -> str | None:
    """Why a fill ``value`` cannot go into images of ``dtype``, or None if it can.

    The one rule for both of its checks (`FillParams` for float32, in which every image is
    masked; `maskrun.engine.one_file.check_fill_stored` for float16 output): the fill is
    blended in float32 and stored in ``dtype``, and must not become inf there. A value that
    rounds to the largest finite one (below 65520 in float16) is kept, rounded as any value is.
    """
    with np.errstate(over="ignore"):
        if np.isfinite(np.float32(value).astype(dtype)):
            return None
    return f"is beyond the range of {dtype.name} (±{float(np.finfo(dtype).max):g})"
