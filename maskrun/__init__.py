"""maskrun: apply geometrical or created masks to cryo-EM particle stacks and maps.

The Python API (see docs/spec.md for what each parameter means)::

    import maskrun
    disc = maskrun.make_mask({"shape": "circular", "radius": 20}, (64, 64))
    masked = maskrun.mask_array(stack, disc, fill="avg")
    maskrun.mask_file("in.mrcs", "out.mrcs", mask={"shape": "circular"}, fill="avg")
    answer = maskrun.validate_job("job.yaml")  # what `maskrun validate --json` answers; writes nothing
    summary = maskrun.run_job("job.yaml")

Names are imported on first use, so that the ``maskrun`` command can start by importing
its own modules only (`maskrun.cli.console`); ``dir()``, IDEs and type checkers see them all.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from maskrun._version import __version__ as __version__

_WHERE = {
    "Box": "maskrun.config.shape_params",
    "Circular": "maskrun.config.shape_params",
    "Crown": "maskrun.config.shape_params",
    "Cylinder": "maskrun.config.shape_params",
    "FillParams": "maskrun.config.fill",
    "Gaussian": "maskrun.config.shape_params",
    "MaskResult": "maskrun.engine.one_file",
    "MaskSpec": "maskrun.config.mask_spec",
    "MaskrunWarning": "maskrun.errors",
    "OutputFolderBusy": "maskrun.errors",
    "RaisedCosine": "maskrun.config.shape_params",
    "RaisedCrown": "maskrun.config.shape_params",
    "RunFailure": "maskrun.errors",
    "RunSummary": "maskrun.jobs.runner",
    "Sphere": "maskrun.config.shape_params",
    "UserError": "maskrun.errors",
    "load_job": "maskrun.config.job_file",
    "make_mask": "maskrun.api",
    "mask_array": "maskrun.api",
    "mask_file": "maskrun.api",
    "run_job": "maskrun.api",
    "validate_job": "maskrun.api",
}

__all__ = sorted([*_WHERE, "__version__"])

if TYPE_CHECKING:  # what the lazy names below are, for IDEs and type checkers (as-imports re-export)
    from maskrun.api import make_mask as make_mask
    from maskrun.api import mask_array as mask_array
    from maskrun.api import mask_file as mask_file
    from maskrun.api import run_job as run_job
    from maskrun.api import validate_job as validate_job
    from maskrun.config.fill import FillParams as FillParams
    from maskrun.config.job_file import load_job as load_job
    from maskrun.config.mask_spec import MaskSpec as MaskSpec
    from maskrun.config.shape_params import Box as Box
    from maskrun.config.shape_params import Circular as Circular
    from maskrun.config.shape_params import Crown as Crown
    from maskrun.config.shape_params import Cylinder as Cylinder
    from maskrun.config.shape_params import Gaussian as Gaussian
    from maskrun.config.shape_params import RaisedCosine as RaisedCosine
    from maskrun.config.shape_params import RaisedCrown as RaisedCrown
    from maskrun.config.shape_params import Sphere as Sphere
    from maskrun.engine.one_file import MaskResult as MaskResult
    from maskrun.errors import MaskrunWarning as MaskrunWarning
    from maskrun.errors import OutputFolderBusy as OutputFolderBusy
    from maskrun.errors import RunFailure as RunFailure
    from maskrun.errors import UserError as UserError
    from maskrun.jobs.runner import RunSummary as RunSummary


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        value = getattr(import_module(_WHERE[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'maskrun' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
