"""The JSON Schema of the job file, for editors: completion, hover and checks while typing.

Generated from the job-file models (`maskrun.config.job_file.JobFile`), so it follows them;
what only the models can check (exactly one of ``inputs.particles`` and ``inputs.volumes``,
``outer_radius`` above ``inner_radius``, files that exist) is left to ``maskrun validate``.
Lengths may be written with a unit (``"42 A"``, ``"12 px"``), which the shape models read
before they validate, and a field named for its unit (``lowpass_angstrom``, ``extend_px``) may
write its number in that unit (``"15 A"``, ``"6 px"``); the schema says so.
"""

from __future__ import annotations

import copy
from typing import Any

from maskrun.config.job_file import JobFile
from maskrun.config.numeric import LENGTH_UNITS, NOT_LENGTHS, unit_of, with_unit_pattern
from maskrun.config.shape_params import LENGTH_FIELDS

SCHEMA_ID = "https://maskrun.invalid/schema/job-v1.json"
WITH_UNIT = {  # the shape models' own rule: Python's and ECMAScript's regexes read the pattern alike
    "type": "string",
    "pattern": with_unit_pattern(LENGTH_UNITS, optional=True),
    "description": "a length with a unit: '42 A' (Å, converted with the data's pixel size) or '12 px'",
}


def _with_units(schema: dict[str, Any], text: dict[str, Any] = WITH_UNIT) -> dict[str, Any]:
    """Let a number (or each number of a list) be written as ``text`` says: a length with a unit by default."""
    if schema.get("type") in ("number", "integer"):
        return {"anyOf": [schema, text]}
    if schema.get("type") == "array":
        if isinstance(schema.get("items"), dict):  # a list of any length (a centre's 2 or 3 numbers)
            schema = {**schema, "items": _with_units(schema["items"], text)}
        items = [_with_units(item, text) for item in schema.get("prefixItems", [])]
        return {**schema, "prefixItems": items} if items else schema
    if "anyOf" in schema:
        return {**schema, "anyOf": [_with_units(option, text) for option in schema["anyOf"]]}
    return schema


def _in_its_unit(name: str) -> dict[str, Any] | None:
    """The text a field named for its unit takes (``lowpass_angstrom: 15 A``), None for another field."""
    unit = unit_of(name)
    if unit is None:
        return None
    per_pixel = name in NOT_LENGTHS
    return {
        "type": "string",
        "pattern": with_unit_pattern((unit,), per_pixel=per_pixel),
        "description": f"the number in {unit.symbol}{'/px' if per_pixel else ''}, written with its unit: "
        f"'15 {unit.symbol}{'/px' if per_pixel else ''}'",
    }


def job_schema() -> dict[str, Any]:
    """The job file's JSON Schema (draft 2020-12), as ``maskrun schema`` prints it.

    Returns
    -------
    dict
        A schema that every valid job file meets and that refuses unknown keys.
    """
    schema = copy.deepcopy(JobFile.model_json_schema(mode="validation"))
    for model in schema.get("$defs", {}).values():
        properties = model.get("properties", {})
        for name, text in ((name, _in_its_unit(name)) for name in list(properties)):
            if text is not None:
                properties[name] = _with_units(properties[name], text)
        if "shape" not in properties:
            continue
        properties.pop("lengths_in_angstrom", None)  # internal: where lengths in Å wait for the pixel size
        for name in LENGTH_FIELDS:
            if name in properties:
                properties[name] = _with_units(properties[name])
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **schema,
        "title": "maskrun job file",
        "description": "A maskrun job (docs/spec.md, 'The job file'); check it fully with 'maskrun validate JOB.yaml'.",
    }
