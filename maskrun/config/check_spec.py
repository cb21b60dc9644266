"""The ``check:`` section of a map job: judge the job's mask by the FSC of two half-maps (docs/spec.md)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, ConfigDict


class CheckSpec(BaseModel):
    """``check: {half1: h1.mrc, half2: h2.mrc}``: after the run, ``check-mask`` of the saved mask.

    The half-maps (paths relative to the job file) must have the box of the job's maps; the
    result is ``check/check.json`` in the output folder and ``check`` in the run record.
    ``search`` also tries masks around it (``check-mask --search``); ``focused`` judges it as a
    mask of part of the particle (``check-mask --focused``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    half1: Path
    half2: Path
    search: bool = False
    focused: bool = False

    def with_paths(self, resolve: Callable[[Path], Path]) -> CheckSpec:
        """These paths made absolute by ``resolve``."""
        return self.model_copy(update={"half1": resolve(self.half1), "half2": resolve(self.half2)})
