"""What the commands share: option names for parameter fields, the shape options, validation into user errors."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import Any, TypeAlias

from pydantic import TypeAdapter, ValidationError

from maskrun.config.messages import user_errors
from maskrun.config.numeric import PIXEL_SIZE_KEY
from maskrun.config.shape_params import LENGTH_FIELDS, SHAPES, SHAPES_2D, SHAPES_3D, GeometryParams
from maskrun.errors import UserError, UserErrors

# what add_subparsers returns: each command module adds its parser to it
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
GEOMETRY_OPTIONS = LENGTH_FIELDS  # every shape's lengths, from the shape registry
OPTION_FOR_FIELD = {"with": "--fill", "value": "--fill-value", "file": "--mask-file"}
# the lengths xmipp_transform_mask signs (negative: keep the inside), in words
XMIPP_SIGNED_LENGTHS = {
    "radius": "radius",
    "inner_radius": "radius",
    "outer_radius": "radius",
    "box_size": "size",
    "sigma": "sigma",
    "height": "height",
}


def option_name(loc: str | tuple[str | int, ...]) -> str:
    """The command-line option for a parameter location (``outer_radius`` → ``--outer-radius``)."""
    names = [str(part) for part in loc if isinstance(part, str)] if isinstance(loc, tuple) else [str(loc)]
    name = names[-1] if names else str(loc)  # ("center", 2) is --center
    return OPTION_FOR_FIELD.get(name, "--" + name.replace("_", "-"))


OPTION_FOR_SETTING = {("output_dtype", "float32"): "--float32"}  # a setting's value that is an option of its own


def option_setting(name: str, value: object) -> str:
    """Options for a setting: ``overwrite=True`` → ``--overwrite``, ``input_kind="stack"`` → ``--input-kind stack``,
    ``output_dtype="float32"`` → ``--float32``."""
    if isinstance(value, str) and (name, value) in OPTION_FOR_SETTING:
        return OPTION_FOR_SETTING[(name, value)]
    option = option_name(name)
    return option if value is True else f"{option} {value}"


def length(text: str) -> float | str:
    """A length option: a number of pixels, or text with a unit (``42A``, ``42 Å``, ``12px``) for the models."""
    try:
        return float(text)
    except ValueError:
        return text


def add_geometry_options(p: argparse.ArgumentParser) -> None:
    """Add ``--shape``, one option per length of any registered shape, and ``--invert``."""
    g = p.add_argument_group("geometry (pixels, or with a unit: 42A, 42Å, 12px; -1 = default from the X size N)")
    g.add_argument("--shape", help=f"{'|'.join(SHAPES_2D)} (2D); {'|'.join(SHAPES_3D)} (3D)")
    for name in GEOMETRY_OPTIONS:  # one option per length of any registered shape
        models = [model for model in SHAPES.values() if name in model.model_fields]
        field = models[0].model_fields[name]
        several = "tuple" in str(field.annotation)  # box_size, center: one number per axis
        takers = "" if len(models) == len(SHAPES) else f"{', '.join(m.model_fields['shape'].default for m in models)}: "
        g.add_argument(
            option_name(name),
            type=length,
            nargs="+" if several else None,
            metavar=name.split("_")[0][0].upper() if several else None,
            help=f"{takers}{field.description}",
        )
    g.add_argument("--invert", action="store_true", help="keep the outside instead of the inside")


def validated(
    type_: Any,
    data: Any,
    errors: list[UserError],
    option: str | None = None,
    label: Callable[[Any], str] | None = None,
    pixel_size: float | None = None,
) -> Any:
    """Validate ``data``; problems go to ``errors`` (``option`` names a bare value). ``pixel_size`` (Å/px), where
    known: a length in the other unit than its field's is told the number to give (`maskrun.config.numeric`)."""
    try:
        return TypeAdapter(type_).validate_python(data, context={PIXEL_SIZE_KEY: pixel_size})
    except ValidationError as exc:
        for error in user_errors(exc, type_, label or option_name, spelling=option_setting):
            error.field = error.field or option
            errors.append(error)
        return None


def raise_collected(errors: list[UserError]) -> None:
    """Raise the collected errors: one as itself, several together."""
    if errors:
        raise UserErrors(errors) if len(errors) > 1 else errors[0]


def pixel_size_option(value: float | None, option: str = "--pixel-size") -> float | None:
    """``--pixel-size``: None when not given, else a positive, finite number of Å per pixel.

    Raises
    ------
    UserError
        For zero, a negative number, inf or NaN.
    """
    if value is not None and not (math.isfinite(value) and value > 0):
        raise UserError(f"must be a positive number of Å per pixel; got {value:g}", field=option)
    return value


def validated_geometry(args: argparse.Namespace, errors: list[UserError]) -> Any:
    """The shape the options give (`GeometryParams`), or None with its problems added to ``errors``.

    A negative length is how ``xmipp_transform_mask`` says "keep the inside" (``--mask
    circular -20``): its refusal says what the length and its sign are here (`xmipp_sign_hint`).
    """
    given = geometry_given(args)
    found: list[UserError] = []
    geometry = validated(GeometryParams, {"shape": args.shape, **given}, found)
    model = SHAPES.get(args.shape) if isinstance(args.shape, str) else None
    foreign = [option_name(name) for name in given if model is not None and name not in model.model_fields]
    unused = [error for error in found if error.field in foreign]  # "does not apply to shape ...": no sign to tell
    if len(unused) > 1:  # one line for the shape's foreign options, as one line for one
        fields = ", ".join(str(error.field) for error in unused)
        message = unused[0].message.replace("does not apply", "do not apply", 1)
        unused = [UserError(message, source=unused[0].source, field=fields)]
    errors += unused + [xmipp_sign_hint(error, given) for error in found if error.field not in foreign]
    return geometry


def xmipp_sign_hint(error: UserError, given: dict[str, Any]) -> UserError:
    """``error`` with Xmipp's sign convention told, when it refuses a negative length of `XMIPP_SIGNED_LENGTHS`.

    Xmipp keeps the inside of a shape given negative lengths and the outside of one given
    positive lengths; here lengths are positive and ``--invert`` keeps the outside.
    """
    for name, word in XMIPP_SIGNED_LENGTHS.items():
        value = given.get(name)
        numbers = value if isinstance(value, tuple) else (value,)
        if error.field != option_name(name) or not all(isinstance(v, int | float) for v in numbers):
            continue
        if any(v < 0 for v in numbers):
            option = f"{option_name(name)} {' '.join(f'{abs(v):g}' for v in numbers)}"
            return UserError(
                f"{error.message}; Xmipp's negative {word} (keep the inside) is a positive one here: {option}; "
                f"Xmipp's positive {word} (keep the outside) is {option} --invert",
                source=error.source,
                field=error.field,
            )
    return error


def geometry_given(args: argparse.Namespace) -> dict[str, Any]:
    """The shape parameters given on the command line, as the shape models take them."""
    given = {name: getattr(args, name) for name in GEOMETRY_OPTIONS if getattr(args, name) is not None}
    if "box_size" in given:
        given["box_size"] = given["box_size"][0] if len(given["box_size"]) == 1 else tuple(given["box_size"])
    if "center" in given:
        given["center"] = tuple(given["center"])
    if args.invert:
        given["invert"] = True
    return given
