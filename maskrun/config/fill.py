"""The ``fill:`` section: what replaces the masked-out part of each image or map."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

FillChoice = Literal["value", "min", "max", "avg", "noise", "background"]


class FillParams(BaseModel):
    """What replaces the masked-out part: ``out = m·input + (1 − m)·fill`` (see docs/spec.md, "Fills").

    ``value`` goes with ``with: value``; ``seed`` with ``with: noise`` (a job's top-level
    ``seed`` sets it too).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, allow_inf_nan=False)

    with_: FillChoice = Field("value", alias="with")
    value: float = 0.0
    seed: int = Field(0, ge=0)

    @model_validator(mode="after")
    def _options_of_their_fill(self) -> Self:
        if self.with_ != "value" and "value" in self.model_fields_set:
            raise ValueError(
                f"'value' is used only with 'with: value', not 'with: {self.with_}'; remove value or set with: value"
            )
        if self.with_ != "noise" and "seed" in self.model_fields_set:
            raise ValueError(f"'seed' is used only with 'with: noise', not 'with: {self.with_}'; remove it")
        return self

    @property
    def is_zero(self) -> bool:
        return self.with_ == "value" and self.value == 0.0
