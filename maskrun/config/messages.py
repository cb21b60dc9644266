"""Turn Pydantic validation errors into one-line messages a user can act on.

A raw `ValidationError` never reaches the user. Each problem becomes a `UserError` whose
field is written the way the user wrote it (``mask.geometry.outer_radius`` in a job file,
``--outer-radius`` on the command line), with a did-you-mean for misspelt keys and choices,
where a key written at the wrong depth belongs, and the form a value given for a whole
section was likely meant in. A problem that another explains (the section "missing" whose
key was written elsewhere) goes unsaid.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from maskrun.config.numeric import NotANumber, UnitMismatch
from maskrun.config.shape_params import SHAPES, SHAPES_2D, SHAPES_3D, XMIPP_MASK_TYPES
from maskrun.errors import FieldError, Spelling, UserError

SHAPE_TAGS = frozenset(SHAPES)
Loc = tuple[str | int, ...]
Label = Callable[[Loc], str]


# the words users write for a choice or a field, by what it is called here: a did-you-mean offers it where it is one
SYNONYMS = {"mean": "avg", "average": "avg", "minimum": "min", "maximum": "max", "disc": "circular", "ball": "sphere"}
SYNONYMS |= {word: "volumes" for word in ("map", "maps", "map_file", "map_files")}  # the README says "maps"
SYNONYMS |= {word: "particles" for word in ("stack", "stacks", "images")}
SYNONYMS |= {"type": "shape", "mask_type": "shape"}  # a shape's name is its type in Xmipp's --mask and RELION's words
# other programs' words for a random fill (and Xmipp's rand_avg, its users' guess), which a fill choice here says as
RANDOM_FILLS = ("rand", "rand_avg", "random", "randn", "gaussian_noise")
XMIPP_KEYS = {"substitute": "with"}  # xmipp_transform_mask's names that a field here has under another name
SECTION_TYPES = ("model_type", "model_attributes_type", "dict_type")  # a section given something else


def yaml_setting(name: str, value: object) -> str:
    """A setting as a job file writes it: ``with: avg``, ``value: 5``, ``inputs: {particles: a.star}``."""
    return f"{name}: {_flow(value)}"


def as_written(value: object) -> str:
    """``value`` as a job file writes it, to echo it in a message: YAML's ``true``, ``false`` and ``null`` for
    Python's True, False and None (``follow: true`` was echoed as 'True', which no job file holds), else ``str``.

    Examples
    --------
    >>> as_written(True), as_written(None), as_written("offset"), as_written(2.5)
    ('true', 'null', 'offset', '2.5')
    """
    return _flow(value) if value is None or isinstance(value, bool) else str(value)


def not_a_number(value: bool, fix: str, written: str | None = None) -> str:
    """Why a boolean is refused where a number goes, echoing it as the file wrote it (``written``, YAML's text),
    with how YAML read it where that differs: ``got yes (true), not a number; give a width in px, ...``.

    Examples
    --------
    >>> not_a_number(True, "write version: 1"), not_a_number(False, "give a number, 0 say", "no")
    ('got true, not a number; write version: 1', 'got no (false), not a number; give a number, 0 say')
    """
    read = as_written(value)
    shown = read if written is None or written.lower() == read else f"{written} ({read})"
    return f"got {shown}, not a number; {fix}"


def echoed(value: object) -> str:
    """``value`` after ``got``: YAML's spelling of a boolean or null (`as_written`), else its repr (text quoted)."""
    return as_written(value) if value is None or isinstance(value, bool) else repr(value)


def _flow(value: object) -> str:
    """``value`` as YAML on one line (flow style)."""
    import yaml  # only for a message: a mask made in Python loads no job-file reader

    listed = str(yaml.safe_dump([value], default_flow_style=True, sort_keys=False, width=1_000_000)).strip()
    return listed[1:-1]  # a scalar alone would be dumped as a document, with its end marker


def _shape_home(root_type: Any, raw_loc: Loc) -> Loc | None:
    """Where the shape named by an unknown key at ``raw_loc`` goes (``mask.geometry``): the first field, at most two
    sections in from where the key was written, that takes a shape; None for a key that names no shape."""
    if raw_loc[-1] not in SHAPE_TAGS or _shape_tag(raw_loc[:-1]):
        return None
    where = raw_loc[:-1]
    for section in _field_names(root_type, where):
        if _shape_named(_type_at(root_type, where + (section,)), raw_loc[-1]):
            return where + (section,)
    for section in _field_names(root_type, where):
        for inner in _field_names(root_type, where + (section,)):
            if _shape_named(_type_at(root_type, where + (section, inner)), raw_loc[-1]):
                return where + (section, inner)
    return None


def _misplaced_home(root_type: Any, raw_loc: Loc) -> Loc | None:
    """Where an unknown key at ``raw_loc`` belongs, as a location of its own field: at the top level (a top-level key
    of the job written inside a section), in a section beside it (one level too far out), or None."""
    name = str(raw_loc[-1])
    if len(raw_loc) > 1 and name in _field_names(root_type, ()):
        return (name,)
    if _shape_tag(raw_loc[:-1]):  # a key of another shape: said as that
        return None
    section = _section_holding(root_type, raw_loc[:-1], name, _field_names(root_type, raw_loc[:-1]))
    return raw_loc[:-1] + (section, name) if section is not None else None


def did_you_mean(word: str, choices: Sequence[str]) -> str:
    """``"; did you mean 'x'?"`` when a choice is close to ``word`` (or is its usual other name), else ``""``."""
    names = [str(c) for c in choices]
    close = difflib.get_close_matches(str(word), names, n=1, cutoff=0.6)
    if not close and SYNONYMS.get(str(word).lower()) in names:
        close = [SYNONYMS[str(word).lower()]]
    return f"; did you mean '{close[0]}'?" if close else ""


def user_errors(
    exc: ValidationError,
    root_type: Any,
    label: Label,
    source: str | None = None,
    spelling: Spelling = yaml_setting,
    written: Mapping[str, str] | None = None,
) -> list[UserError]:
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
    spelling
        Writes a setting the way the user gives it (``with: value`` in a job, ``--fill value``
        on the command line), for the fixes proposed.
    written
        The text of each YAML boolean as the file wrote it (``yes``), by its field as ``label`` writes it: a
        boolean refused where a number goes is echoed so.
    """
    problems: list[UserError] = []
    errors = exc.errors(include_url=False)
    explained = _explained(errors, root_type)
    for err in errors:
        if _is_explained(err, explained):
            continue
        raw_loc = tuple(err["loc"])
        loc = _written_loc(raw_loc, key_last=err["type"] == "extra_forbidden")
        message, loc = _message(err, raw_loc, loc, root_type, label, spelling, written or {})
        problem = UserError(message, source=source, field=label(loc) if loc else None)
        if str(problem) not in map(str, problems):  # each member of a union may say the same
            problems.append(problem)
    return problems


def _explained(errors: list[ErrorDetails], root_type: Any) -> set[tuple[Loc, str]]:
    """(where, field) of the fields whose absence an unknown key explains: the field it was likely misspelt for,
    and the field, written at the wrong depth, that it is, with every section holding it (each "missing" goes
    unsaid: a top-level ``geometry:`` is told to go under ``mask:``, not also that ``mask:`` is missing)."""
    explained = set()
    for e in errors:
        if e["type"] != "extra_forbidden":
            continue
        raw_loc = tuple(e["loc"])
        names = _field_names(root_type, raw_loc[:-1])
        explained |= {(raw_loc[:-1], name) for name in names if did_you_mean(str(raw_loc[-1]), [name])}
        home = _misplaced_home(root_type, raw_loc) or _shape_home(root_type, raw_loc)
        if home is not None:
            explained |= {(home[:depth], str(home[depth])) for depth in range(len(home))}
    return explained


def _is_explained(err: ErrorDetails, explained: set[tuple[Loc, str]]) -> bool:
    """Whether ``err`` only follows from a key written elsewhere: its field missing, or the section it belongs in
    left empty or refused for lacking it (``source 'geometry' needs a 'geometry' section``)."""
    raw_loc = tuple(err["loc"])
    if err["type"] == "missing":
        return (raw_loc[:-1], str(raw_loc[-1]) if raw_loc else "") in explained
    names = [name for where, name in explained if where and where == raw_loc]
    if not names:
        return False
    if err["type"] in SECTION_TYPES:
        return err.get("input") is None  # its keys were all written elsewhere
    error = str(err.get("ctx", {}).get("error"))
    return err["type"] == "value_error" and any(f"'{name}'" in error for name in names)


def _written_loc(raw_loc: Loc, key_last: bool) -> Loc:
    """A location as the user wrote it: without the union members' tags Pydantic adds (``circular`` in
    ``mask.geometry.circular.radius``), but with the last part when it is a key the user wrote (``mask.circular``)."""
    kept = [p for p in raw_loc[: len(raw_loc) - key_last] if p not in SHAPE_TAGS and not _union_member(p)]
    return (*kept, *raw_loc[len(raw_loc) - key_last :])


def _union_member(part: str | int) -> bool:
    """Whether a location part names a member of a union (``tuple[float, float]``), not a field."""
    return isinstance(part, str) and "[" in part


def _message(
    err: ErrorDetails,
    raw_loc: Loc,
    loc: Loc,
    root_type: Any,
    label: Label,
    spelling: Spelling,
    booleans: Mapping[str, str],
) -> tuple[str, Loc]:
    kind, ctx, value = err["type"], err.get("ctx", {}), err.get("input")
    if kind == "extra_forbidden":
        where = f" in {label(loc[:-1])}" if loc[:-1] else ""
        name = str(raw_loc[-1])
        if name in XMIPP_KEYS:
            hint = _xmipp_key(root_type, raw_loc, value, label, spelling)
            if hint:
                return f"unknown field '{loc[-1]}'{where}; {hint}", loc
        if len(raw_loc) > 1 and _misplaced_home(root_type, raw_loc) == (name,):  # before a did-you-mean
            return f"unknown field '{loc[-1]}'{where}; {name} belongs at the top level: unindent it", loc
        if (home := _shape_home(root_type, raw_loc)) is not None:  # a shape's name as a key: mask: {circular: ...}
            form = {"shape": name} | (value if isinstance(value, dict) else {})
            inside = f" in {label(_written_loc(home[:-1], False))}:" if home[:-1] != raw_loc[:-1] else ""
            shape = spelling(str(home[-1]), form)
            return f"unknown field '{name}'{where}; {name} is a shape: write it{inside} as {shape}", loc
        allowed = _field_names(root_type, raw_loc[:-1])
        common: list[str] = [n for n in ("soft_edge", "center", "invert") if n in allowed]
        allowed = [n for n in allowed if n not in common and n != "shape"] + common
        written = [label((n,)) for n in allowed]
        hint = did_you_mean(label(loc[-1:]), written)
        owner = _shape_tag(raw_loc[:-1])
        if owner:
            return f"does not apply to shape '{owner}', which takes {', '.join(written)}{hint}", loc
        section = _section_holding(root_type, raw_loc[:-1], str(raw_loc[-1]), allowed)
        if not hint and section is not None:  # written one level too far out, as an unindented line is
            hint = f"; it belongs in {label(loc[:-1] + (section,))}: indent it under {section}:"
        return f"unknown field '{loc[-1]}'{where}{hint or '; remove it'}", loc
    if kind in ("too_short", "too_long") and ctx.get("field_type") == "Tuple":  # a centre's x y [z]
        count = ctx.get("actual_length")
        return f"has {count} value{'' if count == 1 else 's'}; give x y (images) or x y z (maps)", loc
    if kind == "missing":
        if loc and isinstance(loc[-1], int):  # an item of a tuple
            return "has too few values; give x y (images) or x y z (maps)", loc[:-1]
        return "is required but missing; add it", loc
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        expected = [t.strip(" '") for t in str(ctx.get("expected_tags", "")).split(",") if t.strip(" '")]
        expected = expected or list(dict.fromkeys(SHAPES_2D + SHAPES_3D))  # never "choose one of" nothing
        discriminator = ctx.get("discriminator", "'shape'").strip("'")
        loc = loc + (discriminator,)
        if kind == "union_tag_not_found":
            misspelt = _misspelt_for(value, discriminator, _members(_type_at(root_type, raw_loc)))
            if misspelt is not None:  # the key that was meant as it, named as every other typo is
                where = f" in {label(loc[:-1])}" if loc[:-1] else ""
                return f"unknown field '{misspelt}'{where}; did you mean '{discriminator}'?", loc[:-1] + (misspelt,)
            return f"is required; choose one of {', '.join(expected)}", loc
        given = value.get(discriminator, "") if isinstance(value, dict) else ""  # pydantic's tag is its str()
        tag = as_written(given) if given is None or isinstance(given, bool) else str(ctx.get("tag"))
        xmipp = XMIPP_MASK_TYPES.get(tag)
        if xmipp is not None and xmipp.instead:  # the file's field: mask.file in a job, --mask-file on the command line
            hint = "; " + xmipp.instead.format(file=label(loc[:-2] + ("file",)))
        else:
            hint = did_you_mean(tag, expected)
        return f"unknown shape '{tag}'{hint} (shapes: {', '.join(expected)})", loc
    if kind == "literal_error":
        expected = [t.strip(" '") for t in str(ctx.get("expected", "")).replace(" or ", ",").split(",")]
        expected = [t for t in expected if t]
        hint = (
            did_you_mean(value, expected)
            or _random_fill(value, expected)
            or _number_for_a_choice(root_type, raw_loc, value, spelling)
        )
        return f"'{as_written(value)}' is not one of {', '.join(expected)}{hint}", loc
    if kind == "value_error":
        error = ctx.get("error")
        if isinstance(error, FieldError):  # a check across fields that names the one at fault
            return error.message, loc + (error.field,)
        if isinstance(error, NotANumber):
            return not_a_number(error.value, error.fix, booleans.get(label(loc)) if loc else None), loc
        if isinstance(error, UnitMismatch) and loc:  # a command's option by its name, a job's key by the field's
            shown = label(loc)
            return error.named(error.field if shown.rsplit(".", 1)[-1] == error.field else shown), loc
        return str(ctx.get("error", err["msg"])), loc
    if kind in SECTION_TYPES and not isinstance(value, dict):
        section = _section_given_a_value(
            _type_at(root_type, raw_loc), str(loc[-1]) if loc else "", value, _required(root_type, raw_loc)
        )
        if section is not None:
            return section, loc
    meaning = _description(root_type, raw_loc)
    return f"{err['msg'][0].lower()}{err['msg'][1:]} (got {echoed(value)}){f': {meaning}' if meaning else ''}", loc


def _misspelt_for(value: object, name: str, members: Sequence[Any]) -> str | None:
    """The key of ``value`` (a mapping given for a tagged union of ``members``) that no member has and that is
    likely ``name`` misspelt (or its usual other name), if any: ``shpe`` for a missing ``shape``."""
    if not isinstance(value, dict):
        return None
    known = {field for m in members if isinstance(m, type) and issubclass(m, BaseModel) for field in _visible_fields(m)}
    return next((str(key) for key in value if str(key) not in known and did_you_mean(str(key), [name])), None)


def _xmipp_key(root_type: Any, raw_loc: Loc, value: object, label: Label, spelling: Spelling) -> str | None:
    """``Xmipp's substitute is with here: with: avg``: the field an Xmipp name given at ``raw_loc`` is here."""
    name, ours = str(raw_loc[-1]), XMIPP_KEYS[str(raw_loc[-1])]
    where = raw_loc[:-1]
    if ours not in _field_names(root_type, where):  # the section holding it, beside ``where`` (fill, at the top)
        section = _section_holding(root_type, where, ours, _field_names(root_type, where))
        if section is None:
            return None
        where += (section,)
    model = _model_in(_type_at(root_type, where))
    form = _choice_form(model, value) if model is not None else None
    if form is None:
        return None
    field = label(tuple(p for p in where + (ours,) if p not in SHAPE_TAGS))
    if where != raw_loc[:-1]:  # in a section of its own: that section with its keys
        return f"Xmipp's {name} is {field} here: {spelling(str(where[-1]), form)}"
    return f"Xmipp's {name} is {field} here: {' and '.join(spelling(k, v) for k, v in form.items())}"


def _random_fill(value: object, expected: Sequence[str]) -> str:
    """``; a random fill is 'noise' here: …``, where ``value`` is a random fill in another program's words
    (`RANDOM_FILLS`) and ``noise`` is among the ``expected`` choices (a fill's).

    Examples
    --------
    >>> _random_fill("rand_avg", ["avg", "noise"])[:33], _random_fill("rand", ["sphere"])
    ("; a random fill is 'noise' here: ", '')
    """
    if str(value).lower() not in RANDOM_FILLS or "noise" not in expected:
        return ""
    return (
        "; a random fill is 'noise' here: Gaussian noise with the mean and standard deviation of each image outside "
        "the mask"
    )


def _number_for_a_choice(root_type: Any, raw_loc: Loc, value: object, spelling: Spelling) -> str:
    """``; to give the value 5: with: value and value: 5``, where a choice names a field beside it that takes
    ``value`` (a fill of 5 is the fill ``value`` with its ``value``)."""
    owner = _type_at(root_type, raw_loc[:-1])
    model = _model_in(owner) if owner is not None else None
    if model is None or not raw_loc:
        return ""
    form = _choice_form(model, value)
    if form is None or len(form) < 2:
        return ""
    (choice, named), (field, given) = form.items()
    if choice != raw_loc[-1]:  # a value for another setting (follow: turn), not for the choice that names a field
        return ""
    return f"; to give the {named} {given}: {spelling(choice, named)} and {spelling(field, given)}"


def _visible_fields(model: type[BaseModel]) -> dict[str, Any]:
    """A model's fields as the user writes them (by alias), with their types; internal ones left out."""
    return {f.alias or name: f.annotation for name, f in model.model_fields.items() if not f.exclude}


def _choices(tp: Any) -> list[Any]:
    """The values of the ``Literal`` in ``tp``, if any."""
    return [v for m in _members(tp) if typing.get_origin(m) is typing.Literal for v in typing.get_args(m)]


def _takes(tp: Any, value: object) -> bool:
    """Whether a plain field (not a section, not a choice) of type ``tp`` takes ``value`` as it is."""
    if value is None or _choices(tp) or any(isinstance(m, type) and issubclass(m, BaseModel) for m in _members(tp)):
        return False
    if isinstance(value, bool) and bool not in _members(tp):  # pydantic takes true as 1: never meant as a number
        return False
    try:
        TypeAdapter(tp).validate_python(value)
    except (ValidationError, TypeError):
        return False
    return True


def _shape_named(tp: Any, value: object) -> dict[str, object] | None:
    """``{shape: value}`` when ``value`` is the tag of a shape that ``tp`` (a field's type) takes."""
    shapes = [m for m in _members(tp) if isinstance(m, type) and issubclass(m, BaseModel) and "shape" in m.model_fields]
    named = _scalar(value) and any(value in _choices(m.model_fields["shape"].annotation) for m in shapes)
    return {"shape": value} if named else None


def _choice_form(model: type[BaseModel], value: object) -> dict[str, object] | None:
    """The keys of ``model`` that a bare ``value`` was likely meant as: the field whose choice it is
    (``{with: avg}``), a section whose kind it names (``{geometry: {shape: circular}}``), or the first plain field
    that takes it, with the choice that names that field (``{with: value, value: 5}``, ``{source: file, file: m}``)."""
    fields = _visible_fields(model)
    for name, tp in fields.items():
        if _scalar(value) and value in _choices(tp):
            return {name: value}
    for name, tp in fields.items():
        if (shape := _shape_named(tp, value)) is not None:
            return {name: shape}
    for name, tp in fields.items():
        if _takes(tp, value):
            chooser = next((c for c, ctp in fields.items() if name in _choices(ctp)), None)
            return ({chooser: name} if chooser else {}) | {name: value}
    return None


def _scalar(value: object) -> bool:
    return isinstance(value, str | int | float | bool)


def _required(root_type: Any, raw_loc: Loc) -> bool:
    """Whether the field at ``raw_loc`` must be given (it has no default)."""
    owner = _type_at(root_type, raw_loc[:-1])
    model = _model_in(owner) if owner is not None and raw_loc else None
    fields = {f.alias or name: f for name, f in model.model_fields.items()} if model is not None else {}
    field = fields.get(str(raw_loc[-1])) if raw_loc else None
    return field is None or field.is_required()


def _section_given_a_value(tp: Any, name: str, value: object, required: bool) -> str | None:
    """Why a value given where a section goes is refused, with the section's keys and the form likely meant."""
    models = [m for m in _members(tp) if isinstance(m, type) and issubclass(m, BaseModel)]
    if not models:
        return None
    if len(models) == 1:
        keys = ", ".join(_visible_fields(models[0]))
        form = _choice_form(models[0], value) if value is not None else None
    else:  # a tagged union: its tag, then the member's own keys
        keys = "shape, then the shape's own keys"
        form = _shape_named(tp, value)
    if value is None:
        return f"is empty; indent its keys ({keys}) under {name}:" + ("" if required else f", or leave {name} out")
    if form is not None:
        return f"is a section, not a value: write {yaml_setting(name, form)} (its keys: {keys})"
    return f"is a section, not a value ({echoed(value)}); give its keys: {keys}"


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
        if any(isinstance(m, type) and issubclass(m, BaseModel) and name in _visible_fields(m) for m in members):
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
