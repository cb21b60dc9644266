"""maskrun from Python: masks as arrays, arrays and files masked, jobs loaded and run.

The same numbers as the ``maskrun`` command: these functions call the engine the command
runs. Shapes are given as a shape model (`maskrun.Circular`, ...) or as a mapping written
like a job file's ``mask.geometry`` section (``{"shape": "circular", "radius": 20}``).
A mistake in what is passed raises `maskrun.UserError` (a `ValueError`) naming the
parameter and the fix.
"""

from __future__ import annotations

import functools
import math
import os
import sys
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, ParamSpec, TypeVar

import numpy as np
from pydantic import TypeAdapter, ValidationError

from maskrun.config.fill import FillChoice, FillParams
from maskrun.config.mask_spec import Compat, MaskSpec
from maskrun.config.messages import user_errors
from maskrun.config.shape_params import GeometryParams, _Shape
from maskrun.engine.apply import fill_to_apply, mask_rows
from maskrun.errors import FieldError, UserError, UserErrors
from maskrun.geometry.masks import Mask, build_mask

if TYPE_CHECKING:  # the rest is imported where it is used: a mask made in Python loads no file, job or report code
    from maskrun.config.job_file import Job, OutputDtype
    from maskrun.engine.one_file import MaskResult
    from maskrun.jobs.runner import RunSummary

DataKind = Literal["auto", "stack", "volume"]
"""How 3D data are read: ``mask_array``'s ``kind``, ``mask_file``'s ``input_kind``."""

ShapeLike = _Shape | Mapping[str, Any]
"""A shape model, or a mapping written like a job file's ``mask.geometry``."""


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _warns_at_the_caller(function: Callable[_P, _R]) -> Callable[_P, _R]:
    """Show the warnings of a call at the caller's line, each message once a call.

    The engine's warnings name its own lines, and a job's units build the same mask each (a
    shape cut by the box, once per unit): a script's author sees each message once, where
    the script called maskrun. The caller's filters apply as they are: ``error`` raises
    where the engine warns (a refusal's checks hold theirs: `maskrun.errors.held_warnings`),
    before anything is written.
    """

    @functools.wraps(function)
    def call(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        caller = sys._getframe(1)
        registry = caller.f_globals.setdefault("__warningregistry__", {})
        module = caller.f_globals.get("__name__", "__main__")
        shown: set[tuple[type[Warning], str]] = set()
        with warnings.catch_warnings():  # restores the caller's showwarning after the call
            outer = warnings.showwarning

            def show(message: Warning | str, category: type[Warning], *_: Any, **__: Any) -> None:
                if (category, str(message)) in shown:
                    return
                shown.add((category, str(message)))
                warnings.showwarning = outer
                try:
                    warnings.warn_explicit(
                        message, category, caller.f_code.co_filename, caller.f_lineno, module, registry
                    )
                finally:
                    warnings.showwarning = show

            warnings.showwarning = show
            return function(*args, **kwargs)

    return call


def _parameter(loc: tuple[str | int, ...] | str) -> str:
    return ".".join(str(part) for part in loc) if isinstance(loc, tuple) else str(loc)


def _validated(type_: Any, data: Any, what: str) -> Any:
    try:
        return TypeAdapter(type_).validate_python(data)
    except ValidationError as exc:
        errors = user_errors(exc, type_, lambda loc: f"{what}.{_parameter(loc)}" if loc else what)
        for error in errors:
            error.field = error.field or what  # a bare value (compat='relion') is named too
        raise (errors[0] if len(errors) == 1 else UserErrors(errors)) from None


def _shape_model(shape: ShapeLike) -> _Shape:
    if isinstance(shape, _Shape):
        return shape
    if not isinstance(shape, Mapping):
        raise UserError(
            f"must be a shape model or a mapping such as {{'shape': 'circular'}}, not {type(shape).__name__}",
            field="shape",
        )
    model: _Shape = _validated(GeometryParams, dict(shape), "shape")
    return model


def _fill(fill: FillChoice | FillParams, fill_value: float | None, seed: int | None = None) -> FillParams:
    if isinstance(fill, FillParams):
        if fill_value is not None or seed is not None:
            raise UserError("give the value and seed inside FillParams, or as arguments, not both", field="fill")
        return fill
    data: dict[str, Any] = {"with": fill} | ({"value": fill_value} if fill_value is not None else {})
    data |= {"seed": seed} if seed is not None else {}
    params: FillParams = _validated(FillParams, data, "fill")
    return params


def _resolved_mask(shape: _Shape, box: tuple[int, ...], compat: Compat, pixel_size: float = 0.0) -> Mask:
    _validated(Compat, compat, "compat")
    if not (
        isinstance(pixel_size, int | float)
        and not isinstance(pixel_size, bool)
        and math.isfinite(pixel_size)
        and pixel_size >= 0
    ):
        raise UserError(f"must be a number of Å per pixel ≥ 0 (0: unknown), not {pixel_size!r}", field="pixel_size")
    try:
        resolved = shape.resolve(n_x=box[-1], ndim=len(box), pixel_size_angstrom=pixel_size)
    except FieldError as exc:
        raise UserError(exc.message, field=f"shape.{exc.field}") from None
    return build_mask(resolved, box, compat)


def _box(box: tuple[int, ...] | list[int]) -> tuple[int, ...]:
    if not isinstance(box, tuple | list | np.ndarray):
        hint = f"; for a square or a cube write ({box}, {box}) or ({box}, {box}, {box})" if isinstance(box, int) else ""
        raise UserError(f"must be a tuple (ny, nx) or (nz, ny, nx) of whole pixels, not {box!r}{hint}", field="box")
    sizes = tuple(box)
    if len(sizes) not in (2, 3) or not all(isinstance(n, int | np.integer) and n > 0 for n in sizes):
        raise UserError(f"must be (ny, nx) or (nz, ny, nx) in positive whole pixels, got {box!r}", field="box")
    return tuple(int(n) for n in sizes)


@_warns_at_the_caller
def make_mask(
    shape: ShapeLike, box: tuple[int, ...] | list[int], *, compat: Compat = "maskrun", pixel_size: float = 0.0
) -> np.ndarray:
    """Make the mask of a shape for a box, with ``-1`` defaults resolved for that box.

    Parameters
    ----------
    shape
        A shape model, or a mapping like a job file's ``mask.geometry``.
    box
        ``(ny, nx)`` for particle images, ``(nz, ny, nx)`` for maps (array order).
    compat
        ``"xmipp"`` makes the gaussian Xmipp's normalised density.
    pixel_size
        Å per pixel, for lengths written in Å (``{"radius": "42 A"}``).

    Returns
    -------
    numpy.ndarray
        Read-only float32 weights of shape ``box``: 1 keeps a pixel, 0 replaces it by the fill.

    Raises
    ------
    UserError
        For an unknown shape or parameter, a shape that does not exist in ``len(box)``
        dimensions, or defaults that resolve into an invalid shape.

    Warns
    -----
    MaskrunWarning
        When the mask keeps nothing or everything, or is cut by the box edge.

    Examples
    --------
    >>> import maskrun
    >>> disc = maskrun.make_mask({"shape": "circular"}, (8, 8))  # radius -1 -> 8 // 2
    >>> int(disc.sum()), disc.dtype.name, disc.flags.writeable
    (47, 'float32', False)
    >>> maskrun.make_mask(maskrun.Sphere(radius=1), (3, 3, 3)).sum()
    np.float32(7.0)
    """
    dims = _box(box)
    return _resolved_mask(_shape_model(shape), dims, compat, pixel_size).values


@_warns_at_the_caller
def mask_array(
    data: np.ndarray,
    mask: ShapeLike | np.ndarray,
    *,
    fill: FillChoice | FillParams = "value",
    fill_value: float | None = None,
    compat: Compat = "maskrun",
    kind: DataKind = "auto",
    seed: int | None = None,
) -> np.ndarray:
    """Mask an image, a stack of images or a volume: ``m·data + (1 − m)·fill``.

    Parameters
    ----------
    data
        An image ``(ny, nx)``, a stack ``(n, ny, nx)`` or a volume ``(nz, ny, nx)``. It is
        not modified.
    mask
        A shape (model or mapping) or a weight array: ``(ny, nx)`` for images and stacks,
        ``(nz, ny, nx)`` for a volume, or, with ``kind="stack"``, ``(n, ny, nx)`` like
        ``data``: one mask per image (``maskrun project-mask``'s output, say), each image
        filled from itself, as a job's projected masks are.
    fill, fill_value
        ``"value"`` (``fill_value``, default 0), or each image's (the volume's) own
        ``"min"``, ``"max"`` or ``"avg"``, ``"background"`` (the (1 − m)-weighted mean) or
        ``"noise"`` (Gaussian, with the mean and σ outside the mask); or a `maskrun.FillParams`.
    compat
        ``"xmipp"``: Xmipp's normalised gaussian, and soft masks ignore the fill.
    seed
        Seeds ``"noise"`` (with each image's position in ``data``; default 0).
    kind
        Whether 3D ``data`` is a ``"stack"`` or a ``"volume"``; ``"auto"`` decides from a
        weight array's dimensions (2D: stack; 3D of another shape than ``data``: volume,
        refused as not fitting) or a shape's (circular: stack, sphere and cylinder: volume).
        A 3D weight array of ``data``'s shape is a volume's mask when ``data`` is a cube
        (as a job takes a cube for a map); ``"auto"`` asks otherwise, and for shapes of
        both dimensionalities.

    Returns
    -------
    numpy.ndarray
        A new float32 array of ``data``'s shape; the same numbers as ``maskrun mask`` on
        ``data`` written to an MRC file.

    Raises
    ------
    UserError
        For a mask that does not fit the data, an ambiguous ``kind``, or an invalid
        shape or fill.

    Examples
    --------
    >>> import numpy as np, maskrun
    >>> image = np.arange(16, dtype=np.float32).reshape(4, 4)
    >>> maskrun.mask_array(image, {"shape": "box", "box_size": 2}, fill="value", fill_value=-1)
    array([[-1., -1., -1., -1.],
           [-1.,  5.,  6., -1.],
           [-1.,  9., 10., -1.],
           [-1., -1., -1., -1.]], dtype=float32)
    """
    _validated(Compat, compat, "compat")
    source = np.asarray(data)
    if source.ndim not in (2, 3) or source.size == 0:
        raise UserError(f"must be an image (ny, nx), a stack or a volume (3D); got shape {source.shape}", field="data")
    if source.dtype.kind not in "biuf":
        fix = "pass data.real if its imaginary part is 0" if source.dtype.kind == "c" else "convert it to numbers first"
        raise UserError(f"holds {source.dtype} values; images hold real numbers: {fix}", field="data")
    if not isinstance(mask, np.ndarray | _Shape | Mapping) or (isinstance(mask, Mapping) and "source" in mask):
        given = "a job file's mask section ({'source': ...})" if isinstance(mask, Mapping) else type(mask).__name__
        raise UserError(
            f"takes a shape (a model, or a mapping such as {{'shape': 'circular'}}) or a weight array, not {given}; "
            "maskrun.mask_file takes a maskrun.MaskSpec or the path of a mask file",
            field="mask",
        )
    volume = _is_volume(source, mask, kind)
    rows = source if source.ndim == 3 else source[np.newaxis]
    if not volume and isinstance(mask, np.ndarray) and mask.ndim == 3 and mask.shape == source.shape:
        return _mask_each(
            np.ascontiguousarray(rows), _array_mask(mask, rows.shape), _fill(fill, fill_value, seed), compat
        )
    box = rows.shape if volume else rows.shape[1:]
    images = len(rows) if source.ndim == 3 else 0
    built = (
        _array_mask(mask, box, images)
        if isinstance(mask, np.ndarray)
        else _resolved_mask(_shape_model(mask), box, compat)
    )
    params = _fill(fill, fill_value, seed)
    applied = fill_to_apply(built, params, compat)
    volume_fill = None
    if volume:
        from maskrun.engine.stream import whole_volume_fill

        volume_fill = (
            np.zeros(1)
            if applied is None
            else whole_volume_fill(lambda a, b: rows[a:b], rows.shape[0], rows.shape[1:], params, mask=built)
        )
    out = np.empty(rows.shape, dtype=np.float32)
    mask_rows(np.ascontiguousarray(rows), out, built, applied, volume_fill)
    return out if source.ndim == 3 else out[0]


def _is_volume(source: np.ndarray, mask: ShapeLike | np.ndarray, kind: str) -> bool:
    _validated(DataKind, kind, "kind")
    if source.ndim == 2 or kind != "auto":
        if source.ndim == 2 and kind == "volume":
            raise UserError("a 2D image cannot be a volume; pass kind='auto' or a 3D array", field="kind")
        return kind == "volume"
    if isinstance(mask, np.ndarray):
        if mask.ndim != 3 or mask.shape != source.shape:
            return mask.ndim == 3
        if len(set(source.shape)) == 1:  # a cube is a map, as in a job's inputs.volumes (docs/spec.md)
            return True
        raise UserError(
            f"3D data with a weight array of their shape {source.shape} may be a volume and its mask, or "
            f"{source.shape[0]} images and one mask each; pass kind='volume' or kind='stack'",
            field="kind",
        )
    shape = _shape_model(mask)
    if shape.dims != (2, 3):
        return shape.dims == (3,)
    raise UserError(
        f"3D data with a '{shape.shape}' mask may be a stack of images or a volume; pass kind='stack' or kind='volume'",
        field="kind",
    )


def _mask_each(rows: np.ndarray, masks: Mask, fill: FillParams, compat: Compat) -> np.ndarray:
    """Mask each image by its own mask, filled from the whole image, as a job's projected masks are."""
    from maskrun.engine.per_image import apply_each

    blended = None if fill.is_zero or (compat == "xmipp" and not masks.binary) else fill
    out = np.empty(rows.shape, dtype=np.float32)
    return apply_each(rows, out, masks.values, blended, 0)


def _array_mask(values: np.ndarray, box: tuple[int, ...], images: int = 0) -> Mask:
    if values.shape != box:
        per_image = f" (one mask for every image) or {(images, *box)} (one each)" if images and len(box) == 2 else ""
        raise UserError(
            f"mask array is {values.shape} but the data need {box}{per_image}; make it with "
            f"maskrun.make_mask(shape, {box})",
            field="mask",
        )
    if values.dtype.kind not in "biuf":
        raise UserError(f"mask array holds {values.dtype} values; give weights between 0 and 1", field="mask")
    from maskrun.engine.created_mask import checked_weights

    return checked_weights(values.astype(np.float32), None, "mask")  # a copy: the caller's array stays as it is


@_warns_at_the_caller
def mask_file(
    input: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    mask: ShapeLike | MaskSpec | str | os.PathLike[str],
    fill: FillChoice | FillParams = "value",
    fill_value: float | None = None,
    seed: int | None = None,
    compat: Compat = "maskrun",
    input_kind: DataKind = "auto",
    overwrite: bool = False,
    pixel_size: float | None = None,
    output_dtype: OutputDtype = "same",
) -> MaskResult:
    """Mask an MRC map or particle stack into a new float32 (float16 input: float16) MRC file, as ``maskrun mask`` does.

    Parameters
    ----------
    input, output
        The MRC file to read (never modified) and the one to write (atomically).
    mask
        A shape (model or mapping), a path to a created mask (MRC), or a `maskrun.MaskSpec`.
    fill, fill_value, seed, compat
        As for `mask_array` (``seed``: ``maskrun mask --seed``).
    input_kind
        ``"auto"``: ``.mrcs`` and single images are stacks, ``.mrc``/``.map`` volumes.
    overwrite
        Replace an existing output file.
    pixel_size
        The data's pixel size (Å), instead of its header's: lengths in Å are converted at it,
        and the output header carries it. Without it, lengths in Å are converted at the
        header's: on a stack whose header says 1 Å/px (RELION's placeholder in particle
        stacks), or a header without one, they are refused (`UserError`); on a map at 1 Å/px
        they draw a `maskrun.MaskrunWarning`.
    output_dtype
        ``"same"``: float16 input (MRC mode 12) is written as float16, any other mode as
        float32; ``"float32"``: float32 whatever the input.

    Returns
    -------
    MaskResult
        The kind of data, its shape, the resolved geometry, and notes about the header.

    Raises
    ------
    UserError
        For every mistake in the request or the input; nothing is written then.
    RunFailure
        When the output found no room (a full device or quota, a file-size limit): the
        message says what to do; no partial output is left.
    """
    from maskrun.config.job_file import OutputDtype
    from maskrun.engine.one_file import mask_mrc_file
    from maskrun.io.output_space import AGAIN

    for name, path in (("input", input), ("output", output)):
        if not isinstance(path, str | os.PathLike):
            raise UserError(
                f"must be a path (str or pathlib.Path) to an MRC file, not {type(path).__name__}", field=name
            )
    _validated(Compat, compat, "compat")
    _validated(DataKind, input_kind, "input_kind")
    _validated(OutputDtype, output_dtype, "output_dtype")
    if not isinstance(overwrite, bool | np.bool_):  # overwrite='no' would be true, and replace the output
        raise UserError(f"must be True or False, not {overwrite!r}", field="overwrite")
    spec = _file_mask(mask)
    with _space_failures(AGAIN):
        return mask_mrc_file(
            input,
            output,
            mask=spec,
            fill=_fill(fill, fill_value, seed),
            compat=compat,
            input_kind=input_kind,
            overwrite=overwrite,
            label=_parameter_label,
            pixel_size=_pixel_size(pixel_size),
            output_dtype=output_dtype,
        )


def _file_mask(mask: Any) -> MaskSpec:
    """``mask_file``'s mask as a `MaskSpec`: a shape, a created mask's path, or a `MaskSpec` itself."""
    if isinstance(mask, MaskSpec):
        return mask
    if isinstance(mask, str | os.PathLike):
        return MaskSpec(source="file", file=Path(mask))
    if isinstance(mask, Mapping) and "source" in mask and "shape" not in mask:
        raise UserError(
            "is written like a job file's mask section ({'source': ...}), which mask_file takes as "
            "maskrun.MaskSpec.model_validate(mask); a mapping here is a shape, such as {'shape': 'circular'}",
            field="mask",
        )
    if not isinstance(mask, _Shape | Mapping):
        array = "; for a weight array, mask the data with maskrun.mask_array" if isinstance(mask, np.ndarray) else ""
        raise UserError(
            "takes a shape (a model, or a mapping such as {'shape': 'circular'}), a maskrun.MaskSpec, or the "
            f"path of a mask MRC file, not {type(mask).__name__}{array}",
            field="mask",
        )
    return MaskSpec(geometry=_shape_model(mask))


def _pixel_size(value: float | None) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise UserError(f"must be a number of Å per pixel, such as 1.5, not {value!r}", field="pixel_size")
    if not (math.isfinite(value) and value > 0):
        raise UserError(f"must be a positive number of Å per pixel; got {value:g}", field="pixel_size")
    return float(value)


def _parameter_label(name: str) -> str:
    if name == "pixel_size":
        return name
    return "mask" if name == "file" else f"mask.{name}" if name.startswith("map.") else f"shape.{name}"


@_warns_at_the_caller
def validate_job(job: str | os.PathLike[str] | Job) -> dict[str, Any]:
    """Check a job, its inputs and its output folder without running it, as ``maskrun validate`` does; nothing written.

    The job is planned (every stack header and ``N@stack``, every row, the mask for the
    data's box), its output folder looked at as `run_job` looks at it (a finished run, another
    job's folder, files in the way, the room), and, for a run with work to do, the report's
    sample judged as `run_job` judges it before its first unit.

    Parameters
    ----------
    job
        The job file, or a job `maskrun.load_job` loaded.

    Returns
    -------
    dict
        What ``maskrun validate --json`` answers (docs/spec.md, "Answers for scripts"):
        ``valid`` (True), ``output_dir``, ``state`` (``to run``, ``finished``, ``report
        missing``, ``redo``), ``inputs``, ``units``, ``outputs``, ``mask``, ``fill``,
        ``warnings`` (each message warned, as the command's ``maskrun: warning:`` lines) and
        ``notes``. A redo's ``units`` are those `run_job` masks again (no Snakemake runs
        there to mask others by its own rules, which ``maskrun validate`` counts too).

    Raises
    ------
    UserError
        What ``maskrun validate`` refuses (exit 2), with the same message; a missing stack
        too, which `maskrun.load_job` does not look for.

    Warns
    -----
    MaskrunWarning
        What the command shows as ``maskrun: warning:``, each message once, at the caller's
        line; none when the job is refused.
    """
    from maskrun.errors import MaskrunWarning, held_warnings
    from maskrun.jobs.validate_answer import validate_answer
    from maskrun.jobs.validation import validate
    from maskrun.report.before_run import say_before_the_run

    _refuse_not_a_job(job)
    with held_warnings() as caught:  # kept for the answer, and shown as they came; none when refused
        checked = validate(job, before=say_before_the_run)
        said = [str(w.message) for w in caught if issubclass(w.category, MaskrunWarning)]
    return validate_answer(checked.plan, checked.finished, checked.redo, said, [])


@_warns_at_the_caller
def run_job(job: str | os.PathLike[str] | Job) -> RunSummary:
    """Run a job file in this process, unit by unit, without Snakemake.

    Units already done for the same job text are skipped (an interrupted run resumes), but
    those whose stacks or map changed since they read them (a stack re-extracted, or edited and
    given back its size and time); a finished run of the same job and inputs is left as it is.
    With ``report: true`` the report is drawn once the run is gathered, and a finished run's
    missing report is drawn, each logged to ``logs/report.log`` as ``maskrun run``'s report
    step logs it.

    Parameters
    ----------
    job
        The job file, or a job `maskrun.load_job` loaded.

    Returns
    -------
    RunSummary
        ``output_dir`` (the job's output folder), ``units_run`` and ``units_skipped`` (the
        units masked now, and those a run before had done), ``items`` (the particles or maps
        of the job), ``seconds`` (the time the run took), ``notes``: what ``maskrun run``
        prints as ``maskrun: note:`` (the STAR written lacks the microscope's values, say),
        given here, not as warnings, as `mask_file` gives its own in ``MaskResult.notes``;
        ``gathered`` (False when a finished run of the same job was left as it was),
        ``metadata``, ``run_record`` and ``report`` (None where the job writes none).

    Raises
    ------
    OutputFolderBusy
        When another run holds the output folder (another thread of this process too): a
        `UserError` to retry later, not to fix; nothing is written then.
    UserError
        For an invalid job or input; nothing is written then.
    RunFailure
        When the output found no room (a full device or quota, a file-size limit): the
        message says what to do; the units done stay done, and a run again resumes.

    Warns
    -----
    MaskrunWarning
        What the command shows as ``maskrun: warning:`` (a mask cut by the box, say), each
        message once, at the caller's line.
    """
    from maskrun.config import job_file
    from maskrun.io.output_space import RESUMES
    from maskrun.jobs.plan_file import load_or_plan
    from maskrun.jobs.provenance import read_record
    from maskrun.jobs.runner import run_job as _run_job
    from maskrun.report.before_run import say_before_the_run
    from maskrun.report.logged import draw_missing_report, report_logged

    _refuse_not_a_job(job)
    loaded = job if isinstance(job, job_file.Job) else job_file.load_job(job)
    with _space_failures(RESUMES):
        summary = _run_job(loaded, before=say_before_the_run)  # a tight mask told before the units, as `run` does
        if loaded.spec.report:
            plan = load_or_plan(loaded)[0]  # the plan the run saved: not planned again
            if summary.gathered:  # a new run record: its report, as maskrun run's report step draws it
                report_logged(plan, plan.log_path("report"))
            else:  # a finished run stopped while drawing its report lacks it
                draw_missing_report(plan, read_record(plan.run_record_path) or {})
    return summary


def _refuse_not_a_job(job: object) -> None:
    """Refuse what an API function was given as its job unless a job file's path or a `Job` (naming its type)."""
    from maskrun.config import job_file

    if not isinstance(job, str | os.PathLike | job_file.Job):
        raise UserError(f"must be a job file's path or a maskrun.Job, not {type(job).__name__}", field="job")


@contextmanager
def _space_failures(then: str) -> Iterator[None]:
    """End the call with the command's line, a `RunFailure`, where a file finds no room to grow.

    A full device or disk quota, or a file-size limit (``ulimit -f``), would raise a bare ``OSError``.
    """
    from maskrun.io.output_space import no_space_failure, out_of_space

    try:
        yield
    except OSError as exc:
        if not out_of_space(exc):
            raise
        raise no_space_failure(exc, then) from None
