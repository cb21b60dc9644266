"""The ``mask.expression`` section: a mask made of terms combined with and / or / not (docs/spec.md,
"Mask expressions").

A term is one of a map with its threshold (``map:``, as ``mask.map``), a hard-edged shape
(``geometry:``, as ``mask.geometry``), a created mask file (``file:``, made binary at 0.5)
or an atomic model (``model:``, as ``make-mask --from-model``), or a nested group. A group
keeps the voxels that are in every term of ``all_of``, in at least one term of ``any_of``
and in no term of ``none_of`` (an empty list asks nothing). Each term is binary; the
extension and the soft edge apply once, to the combined result.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from maskrun.config.model_mask_params import VDW, ModelMaskParams
from maskrun.config.numeric import ANGSTROM, COUNT, number
from maskrun.config.pixel_count import PixelCount
from maskrun.config.shape_base import parse_length
from maskrun.config.shape_params import LENGTH_FIELDS, GeometryParams
from maskrun.config.threshold import Threshold, threshold_rule
from maskrun.errors import FieldError

if TYPE_CHECKING:
    from maskrun.config.mask_spec import MapMaskParams

GROUPS = ("all_of", "any_of", "none_of")
LEAVES = ("map", "geometry", "file", "model")
FILE_TERM_THRESHOLD = 0.5  # a created mask file's term: the voxels at or above its 0.5 contour
_ONCE = "the {what} is applied once, to the whole expression: set mask.expression.{where} instead"
_MAP_REFUSED = {
    "soft_edge_px": _ONCE.format(what="soft edge", where="soft_edge_px"),
    "invert": "a term is not inverted: list it under none_of instead",
    "helix": "the helical crop is not available in an expression; use mask.map",
    "z_percentage": "the helical crop is not available in an expression; use mask.map",
    **{
        name: "combine maps with all_of, any_of and none_of instead"
        for name in ("and", "or", "and_not", "or_not", "and_", "or_")
    },
}
_MODEL_REFUSED = {
    "soft_edge": _ONCE.format(what="soft edge", where="soft_edge_px"),
    "invert": "a term is not inverted: list it under none_of instead",
}


def _refuse(data: Any, refused: dict[str, str]) -> Any:
    if isinstance(data, dict):
        for name, why in refused.items():
            if name in data and data[name] not in (None, False, 0, 0.0, "0"):
                raise FieldError(name, why)
    return data


class MapTerm(BaseModel):
    """A map thresholded as ``mask.map`` does (low-pass, extension and clean-up too): a binary mask.

    `maskrun.config.mask_spec.MapMaskParams` says what each field means.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    file: Path
    threshold: Threshold  # a number, or a rule: '3 sigma', '250 kDa', '1.2e6 A3', 'auto'
    extend_px: PixelCount = 0.0
    lowpass_angstrom: Annotated[float | None, number(ANGSTROM)] = Field(None, gt=0)
    keep_largest_component: bool = False
    min_component_voxels: Annotated[int, number(COUNT)] = Field(0, ge=0)
    fill_holes: bool = False

    @model_validator(mode="before")
    @classmethod
    def _binary_only(cls, data: Any) -> Any:
        return _refuse(data, _MAP_REFUSED)

    def as_map_params(self) -> MapMaskParams:
        """The ``mask.map`` parameters that make this term."""
        from maskrun.config.mask_spec import MapMaskParams  # mask_spec holds the expression section

        return MapMaskParams(**self.model_dump())


class ModelTerm(ModelMaskParams):
    """Spheres around a model's atoms, or its molmap, thresholded: binary (no soft edge, no inversion)."""

    @model_validator(mode="before")
    @classmethod
    def _binary_only(cls, data: Any) -> Any:
        return _refuse(data, _MODEL_REFUSED)


class Term(BaseModel):
    """One term: exactly one of ``map``, ``geometry``, ``file``, ``model``, or a nested group."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    map: MapTerm | None = None
    geometry: GeometryParams | None = None
    file: Path | None = None
    model: ModelTerm | None = None
    all_of: tuple[Term, ...] = ()
    any_of: tuple[Term, ...] = ()
    none_of: tuple[Term, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _file_is_a_path(cls, data: Any) -> Any:
        given = data.get("file") if isinstance(data, dict) else None
        if isinstance(given, dict):  # written as map: and model: are, {file: …}
            path = next((v for v in given.values() if isinstance(v, str)), "mask.mrc")
            raise FieldError(
                "file",
                f"a file term is the path itself, not a section as map: and model: are; write file: {path}",
            )
        return data

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        leaves = [name for name in LEAVES if getattr(self, name) is not None]
        groups = [name for name in GROUPS if name in self.model_fields_set]
        if len(leaves) > 1 or (leaves and groups):
            raise ValueError(
                f"a term is one of map, geometry, file, model, or a group (all_of, any_of, none_of); "
                f"this one has {', '.join(leaves + groups)}: split it into separate terms"
            )
        if not leaves and not any(getattr(self, name) for name in GROUPS):
            raise ValueError("nothing to combine; give one of map, geometry, file, model, all_of, any_of, none_of")
        shape = self.geometry
        if shape is not None and not shape.hard_edged:
            raise FieldError(
                "geometry.shape",
                f"'{shape.shape}' has no sharp boundary, and every term is binary; use a hard-edged shape "
                "(circular, sphere, box, crown, cylinder) and mask.expression.soft_edge_px",
            )
        if shape is not None and getattr(shape, "soft_edge", None):
            raise FieldError("geometry.soft_edge", _ONCE.format(what="soft edge", where="soft_edge_px"))
        return self

    @property
    def kind(self) -> str:
        """``map``, ``geometry``, ``file``, ``model`` or ``group``."""
        return next((name for name in LEAVES if getattr(self, name) is not None), "group")

    def with_paths(self, resolve: Callable[[Path], Path]) -> Term:
        """This term with every file path passed through ``resolve`` (made absolute by a job)."""
        if self.map is not None:
            return self.model_copy(update={"map": self.map.model_copy(update={"file": resolve(self.map.file)})})
        if self.model is not None:
            return self.model_copy(update={"model": self.model.model_copy(update={"file": resolve(self.model.file)})})
        if self.file is not None:
            return self.model_copy(update={"file": resolve(self.file)})
        return self.model_copy(update={g: tuple(t.with_paths(resolve) for t in getattr(self, g)) for g in GROUPS})

    def leaves(self, where: str) -> Iterator[tuple[str, Term]]:
        """Every leaf term under this one, with its key path (``all_of.0``) from ``where``."""
        if self.kind != "group":
            yield where, self
            return
        for group in GROUPS:
            for index, term in enumerate(getattr(self, group)):
                yield from term.leaves(f"{where}.{group}.{index}" if where else f"{group}.{index}")

    @property
    def files(self) -> list[Path]:
        """The file each leaf reads, in the order written."""
        paths = []
        for _, leaf in self.leaves(""):
            path = leaf.file or (leaf.map.file if leaf.map else None) or (leaf.model.file if leaf.model else None)
            if path is not None:
                paths.append(path)
        return list(dict.fromkeys(paths))

    @property
    def has_model(self) -> bool:
        """Whether a leaf is an atomic model (its mask depends on the map's origin)."""
        return any(leaf.model is not None for _, leaf in self.leaves(""))

    def describe(self, pixel_size: float | None = None) -> str:
        """The expression in one line: ``map.mrc ≥ 0.02 and not sphere``.

        With ``pixel_size`` (Å per pixel; 0 when unknown), each term's sizes too, in px and Å
        as ``validate``'s geometry line gives them: ``not sphere radius 12 px (18 Å), centre
        shifted by (5, 0, 0) px``; a map term's low-pass and extend, a model's radius and extend.
        """
        sized = pixel_size is not None
        size = pixel_size or 0.0
        if self.map is not None:
            text = f"{self.map.file.name} ≥ {threshold_rule(self.map.threshold).text}"
            details = [f"low-passed to {self.map.lowpass_angstrom:g} Å"] if sized and self.map.lowpass_angstrom else []
            if sized and self.map.extend_px:
                details.append(f"extend {_px_and_angstrom(self.map.extend_px, size)}")
            return _with_details(text, details)
        if self.model is not None:
            model = self.model
            if model.molmap_resolution_angstrom is not None:
                how = f"molmap {model.molmap_resolution_angstrom:g} Å ≥ {model.molmap_threshold:g} of its peak"
            elif model.radius is None or model.radius == VDW:
                how = "van der Waals spheres"
            elif sized:
                how = f"spheres of {_given_length(model.radius, size)}"
            else:
                radius = f"{model.radius:g} px" if isinstance(model.radius, float) else model.radius
                how = f"spheres of {radius}"
            if not sized:
                selected = f" [{model.select}]" if model.select else ""
                return f"model {model.file.name}{selected}, {how}"
            details = [f"select {model.select}"] if model.select else []
            details.append(how)
            if model.extend:
                details.append(f"extend {_given_length(model.extend, size)}")
            return _with_details(f"model {model.file.name}", details)
        if self.file is not None:
            return f"mask {self.file.name} ≥ {FILE_TERM_THRESHOLD:g}"
        if self.geometry is not None:
            shape = f"{'not ' if self.geometry.invert else ''}{self.geometry.shape}"
            return _with_details(shape, _shape_sizes(self.geometry, size)) if sized else shape
        parts = []
        if self.all_of:
            parts.append(" and ".join(_bracketed(t, pixel_size) for t in self.all_of))
        if self.any_of:
            text = " or ".join(_bracketed(t, pixel_size) for t in self.any_of)
            others = bool(self.all_of or self.none_of)
            parts.append(f"({text})" if others and len(self.any_of) > 1 else text)
        if self.none_of:
            text = " or ".join(_bracketed(t, pixel_size) for t in self.none_of)
            parts.append(f"not ({text})" if len(self.none_of) > 1 else f"not {text}")
        return " and ".join(parts)


def _with_details(text: str, details: list[str]) -> str:
    """A term and its sizes, bracketed so that the line's ``and`` and ``or`` stay readable."""
    return f"{text} [{', '.join(details)}]" if details else text


def _px_and_angstrom(pixels: float, pixel_size: float) -> str:
    """``12 px (18 Å)``; the Å only when the pixel size is known."""
    return f"{pixels:.4g} px ({pixels * pixel_size:.4g} Å)" if pixel_size > 0 else f"{pixels:.4g} px"


def _given_length(value: float | str, pixel_size: float) -> str:
    """A length as a model term takes it (px, or ``'4 A'``), in px and Å: ``2.667 px (4 Å)``."""
    parsed = parse_length(value)
    if parsed is None or not parsed[1]:  # pixels
        return _px_and_angstrom(parsed[0] if parsed is not None else float(value), pixel_size)
    angstrom = parsed[0]
    return f"{angstrom / pixel_size:.4g} px ({angstrom:.4g} Å)" if pixel_size > 0 else f"{angstrom:.4g} Å"


def _shape_sizes(shape: GeometryParams, pixel_size: float) -> list[str]:
    """A shape term's lengths as given (the box's defaults left out), in px and Å, and its centre's shift."""
    in_angstrom = dict(shape.lengths_in_angstrom)
    given = shape.model_dump()
    parts = []
    for name in (n for n in LENGTH_FIELDS if n != "center"):
        if name in in_angstrom:
            value = in_angstrom[name]
            angstroms = value if isinstance(value, tuple) else (value,)
            texts = [_given_length(f"{a} A", pixel_size) for a in angstroms]
        elif isinstance(given.get(name), int | float | tuple) and given[name] not in (-1, None):
            pixels = given[name] if isinstance(given[name], tuple) else (given[name],)
            texts = [_px_and_angstrom(float(p), pixel_size) for p in pixels]
        else:
            continue
        parts.append(f"{name.replace('_', ' ')} {' x '.join(texts)}")
    center = in_angstrom.get("center") or given.get("center")
    if isinstance(center, tuple) and any(center):
        unit = " Å" if "center" in in_angstrom else " px"
        parts.append(f"centre shifted by ({', '.join(f'{c:g}' for c in center)}){unit}")
    return parts


def _bracketed(term: Term, pixel_size: float | None = None) -> str:
    text = term.describe(pixel_size)
    return f"({text})" if term.kind == "group" and " " in text.replace(" ≥ ", "") else text


class ExpressionParams(Term):
    """The ``mask.expression`` section: a group of terms, then an extension and a soft edge, once.

    ``extend_px`` grows (negative: shrinks) the combined binary mask by every voxel closer
    than that; ``soft_edge_px`` adds a raised-cosine edge outside it, as ``mask.map`` does.
    """

    extend_px: PixelCount = 0.0
    soft_edge_px: PixelCount = Field(0.0, ge=0)

    @model_validator(mode="after")
    def _a_group(self) -> Self:
        if self.kind != "group":
            raise ValueError(
                f"the expression itself is a group: list its {self.kind} term under all_of (or any_of, none_of)"
            )
        return self

    def with_paths(self, resolve: Callable[[Path], Path]) -> ExpressionParams:
        """These parameters with every term's file made absolute by ``resolve``."""
        resolved = super().with_paths(resolve)
        assert isinstance(resolved, ExpressionParams)
        return resolved

    def record(self) -> dict[str, Any]:
        """Every parameter, as JSON, in a form that reads back (for the run record)."""
        data: dict[str, Any] = _drop_unused(self.model_dump(mode="json", by_alias=True, exclude_none=True))
        for where, leaf in self.leaves(""):
            if leaf.geometry is not None:  # lengths written in Å stay in Å (their pixels depend on the data)
                entry = _at(data, where)["geometry"]
                for name, value in leaf.geometry.lengths_in_angstrom:
                    entry[name] = [f"{v:g} A" for v in value] if isinstance(value, tuple) else f"{value:g} A"
        return data


def _at(data: dict[str, Any], where: str) -> Any:
    """The dump of the term at key path ``where`` (``all_of.0.any_of.1``)."""
    node: Any = data
    for part in where.split("."):
        node = node[int(part)] if part.isdigit() else node[part]
    return node


def _drop_unused(data: Any) -> Any:
    """A term dump without the fields a term refuses (a map's z_percentage, always dumped)."""
    if isinstance(data, list):
        return [_drop_unused(item) for item in data]
    if not isinstance(data, dict):
        return data
    out = {key: _drop_unused(value) for key, value in data.items() if not (isinstance(value, list) and not value)}
    if isinstance(out.get("model"), dict):
        out["model"] = {k: v for k, v in out["model"].items() if k not in _MODEL_REFUSED}
    return out
