"""The job file (docs/spec.md, "The job file"): YAML validated into strict Pydantic models.

Every problem is reported as ``job.yaml: key.path: what is wrong; how to fix it``; a
Pydantic `ValidationError` never reaches the user. Paths in a job file are relative to
the job file's folder, so a job means the same thing wherever it is run from.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from maskrun.config.check_spec import CheckSpec
from maskrun.config.fill import FillParams
from maskrun.config.mask_spec import Compat, MaskSpec
from maskrun.config.messages import not_a_number, user_errors
from maskrun.config.numeric import BATCH, COUNT, PIXEL_SIZE, PIXEL_SIZE_KEY, VERSION, needs_pixel_size, number
from maskrun.config.optics import Optics
from maskrun.config.path_text import expand_path, unknown_home, unset_variable
from maskrun.config.shape_base import with_lengths_in_angstrom
from maskrun.config.shape_params import SHAPES, SHAPES_2D, SHAPES_3D
from maskrun.errors import FieldError, UserError, UserErrors

SUPPORTED_VERSIONS = (1,)
# the keys whose values are paths, wherever they are (a mask expression's terms nest ``file``)
PATH_KEYS = {"particles", "volumes", "project_dir", "passthrough", "dir", "file", "and", "or", "and_not", "or_not"}
PATH_KEYS |= {"half1", "half2"}
NAME_PATTERN = re.compile(r"[A-Za-z0-9_.-]+")
_SIZE = re.compile(r"\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([kKMGT]i?B|B)\s*")
_SIZE_UNITS = {"B": 1, "kB": 1e3, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12}
_SIZE_UNITS |= {"KiB": 2**10, "kiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}


def size_in_bytes(text: str) -> int:
    """``"2 GB"`` → 2000000000; ``"512 MiB"`` → 536870912.

    Raises
    ------
    ValueError
        When the text is not a positive number with a unit (B, kB, MB, GB, TB, KiB, MiB, GiB, TiB).
    """
    match = _SIZE.fullmatch(text)
    if match is None or match.group(2) not in _SIZE_UNITS:
        raise ValueError(
            f"'{text}' is neither a number of particles nor a size; write e.g. 10000 or \"2 GB\" (units B, kB, MB, "
            "GB, TB, KiB, MiB, GiB, TiB)"
        )
    size = int(float(match.group(1)) * _SIZE_UNITS[match.group(2)])
    if size < 1:
        raise ValueError(f"'{text}' is no size; a batch must hold at least one particle")
    return size


def _no_null(schema: dict[str, Any]) -> None:
    """A folder left out takes its default, but one given must be a string: so says the schema, as the model."""
    schema.pop("anyOf", None)
    schema.pop("default", None)
    schema["type"] = "string"


def _folder_given(value: object, or_else: str) -> object:
    """A folder given explicitly as YAML's null (``dir: ~``, ``dir:``) or as ``''`` refused: it would silently mean
    the default (or the job file's folder)."""
    if value is None:
        raise ValueError(f"is empty: YAML reads a bare ~ (or nothing) as no value, not the home folder; {or_else}")
    if isinstance(value, str) and not value.strip():  # '' would be the job file's own folder, unsaid
        raise ValueError(f"is empty; {or_else}")
    return value


class Inputs(BaseModel):
    """Exactly one of a particle set or a set of maps."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    particles: str | None = None
    volumes: str | list[str] | None = None
    image_column: str | None = None  # the metadata column of the images to mask (default rlnImageName / image)
    # where relative stack paths start (cryoSPARC, Xmipp); default: found upward
    project_dir: str | None = Field(None, json_schema_extra=_no_null)
    passthrough: str | None = None  # a cryoSPARC passthrough .cs joined on uid (micrographs, for the STAR)
    optics: Optics | None = None  # voltage, Cs, amplitude contrast for a .cs that lacks them (its STAR)
    # the pixel size (Å/px) of a bare stack or a set whose metadata gives none, which the stacks' headers alone give
    # (RELION writes 1 Å there): for lengths in Å, the masked stacks' headers and the written metadata; the range a
    # metadata value must have to be used
    pixel_size_angstrom: Annotated[float | None, number(PIXEL_SIZE)] = Field(None, ge=0.01, le=100, allow_inf_nan=False)

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if (self.particles is None) == (self.volumes is None):
            which = "both" if self.particles is not None else "neither"
            raise ValueError(f"give exactly one of particles or volumes ({which} given)")
        if isinstance(self.volumes, list) and not self.volumes:
            raise ValueError("volumes is an empty list; list at least one map")
        if self.volumes is not None and self.pixel_size_angstrom is not None:
            raise ValueError(
                "pixel_size_angstrom is the particles' pixel size (of a bare stack, or a set whose metadata gives "
                "none); a map job takes each map's voxel size from its header: remove it"
            )
        return self

    @field_validator("project_dir", mode="before")
    @classmethod
    def _project_dir_given(cls, value: object) -> object:
        return _folder_given(
            value,
            "give the folder ('~', quoted, for the home folder), or leave project_dir out to have it found upward",
        )

    @property
    def kind(self) -> Literal["particles", "volumes"]:
        return "particles" if self.particles is not None else "volumes"


OutputDtype = Literal["same", "float32"]
"""What masked images are written as: ``same`` writes float16 input (MRC mode 12) as float16 and every other mode as
float32; ``float32`` writes float32 whatever the input."""


class Output(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    dir: str | None = Field(None, json_schema_extra=_no_null)
    overwrite: bool = False
    save_masks: bool = False  # projected or following masks: each particle's mask, as applied, in masks/<batch>.mrcs
    dtype: OutputDtype = "same"  # same: float16 images (all of them) written as float16; float32: always float32

    @field_validator("dir", mode="before")
    @classmethod
    def _dir_given(cls, value: object) -> object:
        return _folder_given(value, "give a folder (~/maskrun/NAME, say), or leave dir out for results/NAME")

    @field_validator("dtype", mode="before")
    @classmethod
    def _no_float16_asked(cls, value: object) -> object:
        if value == "float16":  # the choices' nearest spelling would be float32, the opposite of what is meant
            raise ValueError(
                "'float16' is not a choice: float16 images are written as float16 by default (same), and other modes "
                "are not rounded to it; write same, or leave dtype out"
            )
        return value


class Provenance(BaseModel):
    """What the run record holds beyond the job: the checksums of every input and output."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    checksums: Literal["blake3", "sha256", "none"] = "blake3"  # blake3: verifiable with b3sum; ~5 × sha256's speed


class JobFile(BaseModel):
    """A maskrun job, as written (before paths are resolved)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    version: Annotated[Literal[1], number(VERSION)]
    name: str
    inputs: Inputs
    mask: MaskSpec
    fill: FillParams = FillParams()
    output: Output = Output()
    # particles per workflow job (10000), or a size ("2 GB"); default: units of about 1-2 GB, at least one per core
    batch_size: Annotated[int | str | None, number(BATCH)] = None
    provenance: Provenance = Provenance()
    seed: Annotated[int, number(COUNT)] = Field(0, ge=0)
    report: bool = True  # figures, warnings and report.html in <output>/report/
    compat: Compat = "maskrun"
    check: CheckSpec | None = None  # map jobs: judge the mask by two half-maps' FSC (check-mask)

    @model_validator(mode="after")
    def _check_needs_maps(self) -> Self:
        if self.check is not None and self.inputs.kind != "volumes":
            raise ValueError("check (half-maps judging the mask) is for map jobs (inputs.volumes); remove it")
        return self

    @model_validator(mode="after")
    def _masks_saved_per_particle(self) -> Self:
        """``output.save_masks`` for a mask that is one for every image (a shape not following, a file, a map) would
        silently save nothing: refused, saying where that mask is."""
        if self.output.save_masks and self.mask.source != "projection" and self.mask.follow is None:
            raise FieldError(
                "output.save_masks",
                "only masks made for each particle — mask.source: projection or mask.follow — are saved per particle; "
                "the mask applied is saved as mask.mrc already: remove save_masks",
            )
        return self

    @field_validator("batch_size", mode="before")
    @classmethod
    def _batch_size_not_float(cls, value: object) -> object:
        if isinstance(value, float):
            raise ValueError('must be a number of particles or a size such as "2 GB"')
        return value

    @field_validator("batch_size")
    @classmethod
    def _batch_size(cls, value: int | str | None) -> int | str | None:
        if isinstance(value, int) and value < 1:
            raise ValueError(f'{value} particles per batch; give at least 1 (or a size such as "2 GB")')
        if isinstance(value, str):
            size_in_bytes(value)
        return value

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not NAME_PATTERN.fullmatch(value):
            raise ValueError(
                f"'{value}' may use only letters, digits, _ . and - (it names the output folder); rename it"
            )
        if not value.strip("."):  # results/.. is the job file's own folder: a run wrote its outputs there
            where = {".": "results/ itself", "..": "the job file's own folder (results/..)"}
            why = (
                f"would put the output in {where[value]}, not in a folder of its own"
                if value in where
                else f"is dots only: its output folder, results/{value}, would be hidden and easily taken for . or .."
            )
            raise ValueError(f"'{value}' {why}; give the name a letter or digit (my-job)")
        return value


@dataclass(frozen=True)
class Job:
    """A validated job and where it lives; paths resolve against ``folder``."""

    path: Path
    text: str
    spec: JobFile

    @property
    def folder(self) -> Path:
        """The job file's real folder (links resolved), where its relative paths start.

        As the system, RELION and ``open()`` resolve ``..`` in ``MJ/../Refine3D`` through the folder a
        link ``MJ`` points to, and so that every spelling of one job file (a linked folder, a link to the
        file) resolves to the same job (`recipe`): ``path`` stays as given, for messages.
        """
        return Path(os.path.realpath(self.path)).parent

    @property
    def sha256(self) -> str:
        """The job file's text's sha256: what a run record keeps as ``job_sha256``."""
        return hashlib.sha256(self.text.encode()).hexdigest()

    def recipe(self) -> dict[str, Any]:
        """The job as it resolves, in what decides its outputs: what makes two job files the same job.

        Every field with its default filled in, so comments, formatting, key order and values
        written out at their defaults do not count, nor what does not change the outputs:
        ``output.overwrite``, ``report`` and ``name`` (the output folder, which ``name`` names
        by default, is given as resolved). The top-level ``seed`` is in the fill, where it
        acts (`fill`). Paths are absolute; lengths given in Å are in it as given (a model's
        dump leaves them out: `with_lengths_in_angstrom`).
        """
        spec = self.spec
        data = spec.model_dump(mode="json", by_alias=True, exclude={"name", "report", "output", "seed"})
        inputs = spec.inputs
        paths = {"particles": inputs.particles, "project_dir": inputs.project_dir, "passthrough": inputs.passthrough}
        data["inputs"] |= {key: str(self.resolve(value)) for key, value in paths.items() if value is not None}
        if inputs.volumes is not None:
            volumes = [inputs.volumes] if isinstance(inputs.volumes, str) else inputs.volumes
            data["inputs"]["volumes"] = [str(self.resolve(value)) for value in volumes]
        data["mask"] = with_lengths_in_angstrom(self.mask, self.mask.model_dump(mode="json", by_alias=True))
        data["fill"] = self.fill.model_dump(mode="json", by_alias=True)
        # focused is left out when false: the recipes of checked jobs from before it stay as they were
        data["check"] = (
            self.check.model_dump(mode="json", exclude={"focused"} if not self.check.focused else None)
            if (self.check is not None)
            else None
        )
        data["output"] = {"dir": str(self.output_dir), "save_masks": spec.output.save_masks}
        if spec.output.dtype != "same":  # left out at its default: the recipes of jobs from before it stay as they were
            data["output"]["dtype"] = spec.output.dtype
        return data

    @property
    def recipe_sha256(self) -> str:
        """The sha256 of `recipe` as canonical JSON: a run record's ``job_recipe_sha256``."""
        canonical = json.dumps(self.recipe(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()

    def resolve(self, relative: str | os.PathLike[str]) -> Path:
        """A path from the job file (``~`` and ``$VAR`` expanded), made absolute against the job file's folder."""
        return Path(os.path.abspath(self.folder / expand_path(str(relative))))

    @property
    def check(self) -> CheckSpec | None:
        """The check section with the half-maps' paths made absolute."""
        return self.spec.check.with_paths(self.resolve) if self.spec.check is not None else None

    @property
    def output_dir(self) -> Path:
        return self.resolve(self.spec.output.dir or Path("results") / self.spec.name)

    @property
    def fill(self) -> FillParams:
        """The fill section, with the job's top-level ``seed`` for noise."""
        fill = self.spec.fill
        if fill.with_ == "noise" and "seed" in self.spec.model_fields_set:
            return fill.model_copy(update={"seed": self.spec.seed})
        return fill

    @property
    def mask(self) -> MaskSpec:
        """The mask section with a created mask's, mask map's or expression's paths (a second map's too) made
        absolute."""
        mask = self.spec.mask
        if mask.file is not None:
            return mask.model_copy(update={"file": self.resolve(mask.file)})
        if mask.map is not None:
            params = mask.map.model_copy(update={"file": self.resolve(mask.map.file)})
            if params.combination is not None:
                params = params.with_second_map(self.resolve(params.combination[1]))
            return mask.model_copy(update={"map": params})
        if mask.projection is not None:
            projection = mask.projection.model_copy(update={"file": self.resolve(mask.projection.file)})
            return mask.model_copy(update={"projection": projection})
        if mask.expression is not None:
            return mask.model_copy(update={"expression": mask.expression.with_paths(self.resolve)})
        return mask


def job_key(loc: tuple[str | int, ...]) -> str:
    """A key path as written in a job file (``mask.geometry.outer_radius``)."""
    return ".".join(str(part) for part in loc)


PixelSizeOf = Callable[["Inputs", Path], float | None]
"""The data's pixel size (Å/px) a job's inputs give, read from its files (the job file's folder given), or None where
they give none or cannot be read: for a length in another unit than its field's to be told the number to give."""


def load_job(path: str | os.PathLike[str], pixel_size_of: PixelSizeOf | None = None) -> Job:
    """Read and validate a job file (``pixel_size_of``: as `parse_job`).

    Raises
    ------
    UserError
        For a missing file, bad YAML, an unknown version, or any invalid field; a
        `UserErrors` lists every problem when there are several.
    """
    if not isinstance(path, str | os.PathLike):
        raise UserError(f"must be a job file's path (str or pathlib.Path), not {type(path).__name__}", field="path")
    shown = str(path)
    path = Path(os.path.abspath(path))
    if not path.is_file():
        raise UserError(_job_not_found(path), source=shown)
    return parse_job(path, _read_text(path, shown), shown, pixel_size_of)


JOB_SUFFIXES = (".yaml", ".yml")
NAMED_JOBS = 4  # the job files a message names, the others counted


def _job_not_found(path: Path) -> str:
    """Why no job is read at ``path``, naming the job files in its folder (or in it, a folder) when there are some.

    ``maskrun example projection --write demo-projection`` writes ``projection.yaml``: a user
    who ran ``demo-projection/particles.yaml``, as the README's other examples run, was told
    only to check the path.
    """
    folder = path if path.is_dir() else path.parent
    try:
        found = sorted(p.name for p in folder.iterdir() if p.suffix.lower() in JOB_SUFFIXES and p.is_file())
    except OSError:  # no such folder, or not one that can be listed
        found = []
    named = ", ".join(found[:NAMED_JOBS]) + (f" and {len(found) - NAMED_JOBS} more" if len(found) > NAMED_JOBS else "")
    if path.is_dir():
        if found:
            which = "one of its job files" if len(found) > 1 else "its job file"
            return f"is a folder, not a job file; give {which}: {named}"
        return "is a folder, not a job file; give a job file (maskrun example particles prints a starter job)"
    if found:
        return f"job file not found; check the path: that folder has {named}"
    return "job file not found; check the path (maskrun example particles prints a starter job)"


def parse_job(path: Path, text: str, shown: str | None = None, pixel_size_of: PixelSizeOf | None = None) -> Job:
    """Validate a job file's text as if read from ``path`` (absolute: relative paths start at its folder).

    A length written in another unit than its field's (``extend_px: 10 A``) is refused with the number to give
    where the pixel size is known: ``inputs.pixel_size_angstrom``, else what ``pixel_size_of`` reads from the inputs
    (asked only then: it reads files, which this layer does not); else with the conversion in words.

    Raises
    ------
    UserError
        As `load_job` does, naming ``shown`` (default: ``path``).
    """
    shown = str(path) if shown is None else shown
    data, booleans = _yaml_data(text, shown)
    if not isinstance(data, dict):
        raise UserError(
            "must be a YAML mapping of keys (version, name, inputs, mask, ...); see maskrun example particles",
            source=shown,
        )
    _check_version(data, shown, booleans)
    pixel_size = _given_pixel_size(data)
    try:
        try:
            spec = JobFile.model_validate(data, context={PIXEL_SIZE_KEY: pixel_size})
        except ValidationError as exc:
            read = _data_pixel_size(exc, data, path, pixel_size_of) if pixel_size is None else None
            if read is None:
                raise
            spec = JobFile.model_validate(data, context={PIXEL_SIZE_KEY: read})  # refused again, with the numbers
    except ValidationError as exc:
        errors = user_errors(exc, JobFile, job_key, source=shown, written=booleans)
        raise (errors[0] if len(errors) == 1 else UserErrors(errors)) from None
    _check_shape_fits_inputs(spec, shown)
    _check_path_variables(data, shown)
    return Job(path, text, spec)


def _given_pixel_size(data: Mapping[str, Any]) -> float | None:
    """``inputs.pixel_size_angstrom`` as the job gives it, when it is a pixel size (else None: its own field says)."""
    inputs = data.get("inputs")
    given = inputs.get("pixel_size_angstrom") if isinstance(inputs, Mapping) else None
    try:
        value = Inputs.model_validate({"particles": "p", "pixel_size_angstrom": given}).pixel_size_angstrom
    except ValidationError:
        return None
    return value


def _data_pixel_size(
    exc: ValidationError, data: Mapping[str, Any], path: Path, pixel_size_of: PixelSizeOf | None
) -> float | None:
    """The pixel size ``pixel_size_of`` reads from the job's inputs, when a length in another unit than its field's
    was refused in words that it would give as a number, and the inputs are valid; else None."""
    if pixel_size_of is None or not any(needs_pixel_size(e.get("ctx", {}).get("error")) for e in exc.errors()):
        return None
    try:
        inputs = Inputs.model_validate(data.get("inputs"))
    except ValidationError:
        return None
    return pixel_size_of(inputs, Path(os.path.realpath(path)).parent)


def _yaml_data(text: str, shown: str) -> tuple[Any, dict[str, str]]:
    """The job's YAML as Python data, and the text of each boolean in it as written (`written_booleans`).

    Raises
    ------
    UserError
        For text that is not YAML (a tab said as one: YAML takes none), or a key given twice
        in one mapping (YAML keeps the last silently: a second ``geometry:`` would replace the first).
    """
    loader = None
    try:
        loader = yaml.SafeLoader(text)  # reading starts here: a character YAML does not take is refused here
        node = loader.get_single_node()
        if node is not None:
            _refuse_repeated_keys(node, shown)
        if node is None:
            return None, {}
        return loader.construct_document(node), written_booleans(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        if mark is not None and "'\\t'" in problem:
            line = text.splitlines()[mark.line] if mark.line < len(text.splitlines()) else ""
            where = f"line {mark.line + 1}"
            if "\t" in line[: len(line) - len(line.lstrip())]:
                raise UserError(
                    f"a tab indents {where}: YAML indents with spaces; replace the tab with spaces", source=shown
                ) from None
            raise UserError(
                f"{where} holds a tab (column {mark.column + 1}): YAML separates with spaces; replace it with a space",
                source=shown,
            ) from None
        raise UserError(
            f"is not valid YAML ({problem}); check indentation and colons",
            source=shown,
            field=f"line {mark.line + 1}" if mark else None,
        ) from None
    finally:
        if loader is not None:
            loader.dispose()


def _refuse_repeated_keys(
    node: yaml.Node, shown: str, where: tuple[str, ...] = (), seen: set[int] | None = None
) -> None:
    """Refuse a key given twice in one mapping of the YAML tree under ``node``, naming it and both its lines.

    ``seen`` holds the nodes walked already: an alias (``*name``) names its anchor's node again, or itself.
    """
    seen = set() if seen is None else seen
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        first: dict[tuple[str, str], int] = {}
        for key, value in node.value:
            name = (key.tag, str(key.value)) if isinstance(key, yaml.ScalarNode) else None
            if name is not None and name[1] != "<<":  # a merge key may repeat
                line = key.start_mark.line + 1
                if name in first:
                    lines = f"(lines {first[name]} and {line})" if first[name] != line else f"on line {line}"
                    raise UserError(
                        f"is given twice {lines}, and YAML would keep only the last; keep one",
                        source=shown,
                        field=job_key(where + (name[1],)),
                    )
                first[name] = line
            _refuse_repeated_keys(value, shown, where + (str(key.value),), seen)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _refuse_repeated_keys(item, shown, where + (str(index),), seen)


def written_booleans(node: yaml.Node, where: str = "") -> dict[str, str]:
    """The text of each YAML boolean under ``node`` as written (``yes``, ``off``, ``true``) by its key path
    (``mask.geometry.soft_edge``; an item of a list under the list's key too, ``center`` as ``center.0``), for a
    refusal to echo it as the user wrote it."""
    found: dict[str, str] = {}
    if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:bool":
        found[where] = str(node.value)
    elif isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                found |= written_booleans(value, f"{where}.{key.value}" if where else str(key.value))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            inner = written_booleans(item, f"{where}.{index}")
            found |= inner | ({where: next(iter(inner.values()))} if inner and where not in found else {})
    return found


def _check_path_variables(data: dict[str, Any], shown: str) -> None:
    """Refuse a path naming an environment variable that is not set: it would be taken as a folder's name."""
    for field, _, item in path_texts(data):
        if (name := unset_variable(item)) is not None:
            raise UserError(
                f"'{item}' names {name}, which is not set in this environment; set it, or write the path out",
                source=shown,
                field=field,
            )
        if (home := unknown_home(item)) is not None:
            raise UserError(
                f"'{item}' begins with {home}, the home folder of a user this machine does not have; fix the "
                "name, or write the path out",
                source=shown,
                field=field,
            )


def path_texts(data: Mapping[str, Any], where: str = "") -> Iterator[tuple[str, str, str]]:
    """Each path a job's data (as read, or a model's dump) holds, in its order: the field (``inputs.volumes.1``,
    ``mask.expression.all_of.0.map.file``), its key (`PATH_KEYS`) and the text as written."""
    for key, value in data.items():
        loc = f"{where}{key}"
        items = list(enumerate(value)) if isinstance(value, list) else [(None, value)]
        for index, item in items:
            field = loc if index is None else f"{loc}.{index}"
            if isinstance(item, dict):
                yield from path_texts(item, f"{field}.")
            elif isinstance(item, str) and key in PATH_KEYS:
                yield field, key, item


def _read_text(path: Path, shown: str) -> str:
    """The job file as text: UTF-8, with or without a byte-order mark."""
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        kind = "UTF-16" if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else "not UTF-8"
        raise UserError(
            f"is {kind} text (byte {exc.start}: {raw[exc.start : exc.start + 1]!r}); save the job file as UTF-8",
            source=shown,
        ) from None


def _check_version(data: dict[str, Any], shown: str, booleans: Mapping[str, str]) -> None:
    reads = ", ".join(map(str, SUPPORTED_VERSIONS))
    if "version" not in data:
        raise UserError(
            f"is required; add 'version: {SUPPORTED_VERSIONS[-1]}' as the first line", source=shown, field="version"
        )
    if isinstance(data["version"], bool):  # True == 1: it would pass as version 1
        raise UserError(not_a_number(data["version"], VERSION, booleans.get("version")), source=shown, field="version")
    if data["version"] not in SUPPORTED_VERSIONS:
        raise UserError(
            f"{data['version']!r} is not a job-file version this maskrun reads (it reads "
            f"{reads}); write the job for version {SUPPORTED_VERSIONS[-1]} or upgrade maskrun",
            source=shown,
            field="version",
        )


def _check_shape_fits_inputs(spec: JobFile, shown: str) -> None:
    geometry = spec.mask.geometry
    if geometry is None:
        return
    shape = str(geometry.shape)
    if spec.inputs.kind == "particles" and shape not in SHAPES_2D:
        raise UserError(
            f"'{geometry.shape}' is a 3D shape but the inputs are particle images; use {SHAPES[shape].instead}",
            source=shown,
            field="mask.geometry.shape",
        )
    if spec.inputs.kind == "volumes" and shape not in SHAPES_3D:
        raise UserError(
            f"'{shape}' is a 2D shape but the inputs are volumes; use '{SHAPES[shape].instead}'",
            source=shown,
            field="mask.geometry.shape",
        )
