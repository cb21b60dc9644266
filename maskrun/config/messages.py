"""Turn Pydantic validation errors into one-line messages a user can act on.

A raw `ValidationError` never reaches the user. Each problem becomes a `UserError` whose
field is written the way the user wrote it (``mask.geometry.outer_radius`` in a job file,
``--outer-radius`` on the command line), with a did-you-mean for misspelt keys and choices.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from maskrun.config.shape_params import SHAPES, SHAPES_2D, SHAPES_3D, XMIPP_MASK_TYPES
from maskrun.errors import FieldError, UserError

SHAPE_TAGS = frozenset(SHAPES)
Loc = tuple[str | int, ...]
Label = Callable[[Loc], str]


SYNONYMS = {"mean": "avg", "average": "avg", "minimum": "min", "maximum": "max", "disc": "circular", "ball": "sphere"}


def did_you_mean(word: str, choices: Sequence[str]) -> str:
    """``"; did you mean 'x'?"`` when a choice is close to ``word`` (or is its usual other name), else ``""``."""
    names = [str(c) for c in choices]
    close = difflib.get_close_matches(str(word), names, n=1, cutoff=0.6)
    if not close and SYNONYMS.get(str(word).lower()) in names:
        close = [SYNONYMS[str(word).lower()]]
    return f"; did you mean '{close[0]}'?" if close else ""


def user_errors(exc: ValidationError, root_type: Any, label: Label, source: str | None = None) -> list[UserError]:
    """One `UserError` per problem in ``exc``.

    Parameters
    ----------
    exc
        The validation error.
    root_type
        The model class or type that was validated (to list the allowed field names).
    label
        Writes a location (tag-free key path) the way the user wrote it.
    source
        The file the values came from, if any.
    """
    problems: list[UserError] = []
    errors = exc.errors(include_url=False)
    misspelt = {  # (where, field) that an unknown key beside it probably meant: its "missing" goes unsaid
        (tuple(e["loc"][:-1]), name)
        for e in errors
        if e["type"] == "extra_forbidden"
        for name in _field_names(root_type, tuple(e["loc"][:-1]))
        if did_you_mean(str(e["loc"][-1]), [name])
    }
    for err in errors:
        if err["type"] == "missing" and (tuple(err["loc"][:-1]), err["loc"][-1]) in misspelt:
            continue
        raw_loc = tuple(err["loc"])
        loc = tuple(p for p in raw_loc if p not in SHAPE_TAGS and not _union_member(p))
        message, loc = _message(err, raw_loc, loc, root_type, label)
        problem = UserError(message, source=source, field=label(loc) if loc else None)
        if str(problem) not in map(str, problems):  # each member of a union may say the same
            problems.append(problem)
    return problems


def _union_member(part: str | int) -> bool:
    """Whether a location part names a member of a union (``tuple[float, float]``), not a field."""
    return isinstance(part, str) and "[" in part


def _message(err: ErrorDetails, raw_loc: Loc, loc: Loc, root_type: Any, label: Label) -> tuple[str, Loc]:
    kind, ctx, value = err["type"], err.get("ctx", {}), err.get("input")
    if kind == "extra_forbidden":
        allowed = _field_names(root_type, raw_loc[:-1])
        common: list[str] = [n for n in ("soft_edge", "center", "invert") if n in allowed]
        allowed = [n for n in allowed if n not in common and n != "shape"] + common
        written = [label((n,)) for n in allowed]
        hint = did_you_mean(label(loc[-1:]), written)
        owner = _shape_tag(raw_loc[:-1])
        if owner:
            return f"does not apply to shape '{owner}', which takes {', '.join(written)}{hint}", loc
        where = f" in {label(loc[:-1])}" if loc[:-1] else ""
        section = _section_holding(root_type, raw_loc[:-1], str(raw_loc[-1]), allowed)
        if not hint and section is not None:  # written one level too far out, as an unindented line is
            hint = f"; it belongs in {label(loc[:-1] + (section,))}: indent it under {section}:"
        return f"unknown field '{loc[-1]}'{where}{hint or '; remove it'}", loc
    if kind == "missing":
        if loc and isinstance(loc[-1], int):  # an item of a tuple
            return "has too few values; give x y (images) or x y z (maps)", loc[:-1]
        return "is required but missing; add it", loc
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        expected = [t.strip(" '") for t in str(ctx.get("expected_tags", "")).split(",") if t.strip(" '")]
        expected = expected or list(dict.fromkeys(SHAPES_2D + SHAPES_3D))  # never "choose one of" nothing
        loc = loc + (ctx.get("discriminator", "'shape'").strip("'"),)
        if kind == "union_tag_not_found":
            return f"is required; choose one of {', '.join(expected)}", loc
        tag = str(ctx.get("tag"))
        if tag in XMIPP_MASK_TYPES:  # the file's field: mask.file in a job, --mask-file on the command line
            hint = "; " + XMIPP_MASK_TYPES[tag].format(file=label(loc[:-2] + ("file",)))
        else:
            hint = did_you_mean(tag, expected)
        return f"unknown shape '{tag}'{hint} (shapes: {', '.join(expected)})", loc
    if kind == "literal_error":
        expected = [t.strip(" '") for t in str(ctx.get("expected", "")).replace(" or ", ",").split(",")]
        expected = [t for t in expected if t]
        return (f"'{value}' is not one of {', '.join(expected)}{did_you_mean(value, expected)}"), loc
    if kind == "value_error":
        error = ctx.get("error")
        if isinstance(error, FieldError):  # a check across fields that names the one at fault
            return error.message, loc + (error.field,)
        return str(ctx.get("error", err["msg"])), loc
    meaning = _description(root_type, raw_loc)
    return f"{err['msg'][0].lower()}{err['msg'][1:]} (got {value!r}){f': {meaning}' if meaning else ''}", loc


def _description(root_type: Any, raw_loc: Loc) -> str | None:
    """The field's own description (``Field(description=...)``): what its value means, for a value out of range."""
    owner = _type_at(root_type, raw_loc[:-1])
    model = _model_in(owner) if owner is not None else None
    field = model.model_fields.get(str(raw_loc[-1])) if model is not None and raw_loc else None
    return field.description if field is not None else None


def _shape_tag(raw_loc: Loc) -> str | None:
    tags = [p for p in raw_loc if p in SHAPE_TAGS]
    return tags[-1] if tags else None


def _type_at(root_type: Any, raw_loc: Loc) -> Any:
    """The type of the field at ``raw_loc`` (None where the location leaves the models)."""
    tp = root_type
    for part in raw_loc:
        tp = _step(tp, part)
        if tp is None:
            return None
    return tp


def _field_names(root_type: Any, raw_loc: Loc) -> list[str]:
    tp = _type_at(root_type, raw_loc)
    model = _model_in(tp) if tp is not None else None
    if model is None:
        return []
    return [f.alias or name for name, f in model.model_fields.items() if not f.exclude]


def _section_holding(root_type: Any, raw_loc: Loc, name: str, sections: list[str]) -> str | None:
    """The one of ``sections`` (fields at ``raw_loc``) whose model, or any member of its union, has a field ``name``."""
    owner = _type_at(root_type, raw_loc)
    if owner is None:
        return None
    for section in sections:
        inner = _step(owner, section)
        members = _members(inner) if inner is not None else []
        if any(isinstance(m, type) and issubclass(m, BaseModel) and name in m.model_fields for m in members):
            return section
    return None


def _members(tp: Any) -> list[Any]:
    """Strip Annotated and unions down to the concrete member types."""
    if typing.get_origin(tp) is typing.Annotated:
        return _members(typing.get_args(tp)[0])
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return [m for arg in typing.get_args(tp) for m in _members(arg)]
    return [tp]


def _model_in(tp: Any) -> type[BaseModel] | None:
    models = [m for m in _members(tp) if isinstance(m, type) and issubclass(m, BaseModel)]
    return models[0] if len(models) == 1 else None


def _step(tp: Any, part: str | int) -> Any:
    members = _members(tp)
    models = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]
    if isinstance(part, str) and part in SHAPE_TAGS:
        tagged = [m for m in models if "shape" in m.model_fields and m.model_fields["shape"].default == part]
        return tagged[0] if tagged else None
    if len(models) == 1:
        fields = models[0].model_fields
        for name, info in fields.items():
            if part in (name, info.alias):
                return info.annotation
        return None
    for m in members:
        if typing.get_origin(m) in (list, tuple, dict) and isinstance(part, int | str):
            args = typing.get_args(m)
            if typing.get_origin(m) is tuple and args and args[-1] is Ellipsis:
                return args[0]  # tuple[Term, ...]: every item a Term
            return args[-1] if args else None
    return None
