"""The ``maskrun`` command: a thin shell over the package (docs/spec.md, "Commands and exit status").

Exit status: 0 success, 1 a runtime failure, 2 an invalid request or input, 130 an
interrupt (Ctrl-C). A user mistake is one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import signal
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from maskrun._version import __version__
from maskrun.config.fill import FillParams
from maskrun.config.mask_spec import Compat, MapMaskParams, MaskSpec
from maskrun.config.messages import user_errors
from maskrun.config.shape_params import LENGTH_FIELDS, SHAPES, SHAPES_2D, SHAPES_3D, GeometryParams
from maskrun.engine.one_file import mask_mrc_file
from maskrun.errors import Interrupted, MaskrunWarning, RunFailure, SettingError, Terminated, UserError, UserErrors

GEOMETRY_OPTIONS = LENGTH_FIELDS  # every shape's lengths, from the shape registry


OPTION_FOR_FIELD = {"with": "--fill", "value": "--fill-value", "file": "--mask-file"}


def option_name(loc) -> str:
    """The command-line option for a parameter location (``outer_radius`` → ``--outer-radius``)."""
    names = [str(part) for part in loc if isinstance(part, str)] if isinstance(loc, tuple) else [str(loc)]
    name = names[-1] if names else str(loc)  # ("center", 2) is --center
    return OPTION_FOR_FIELD.get(name, "--" + name.replace("_", "-"))


def option_setting(name: str, value: object) -> str:
    """Options for a setting: ``overwrite=True`` → ``--overwrite``, ``input_kind="stack"`` → ``--input-kind stack``."""
    option = option_name(name)
    return option if value is True else f"{option} {value}"


def _add_mask_parser(commands) -> None:
    p = commands.add_parser(
        "mask",
        help="mask one map or stack directly (like xmipp_transform_mask)",
        description="Mask one MRC map or particle stack into a new float32 file.",
    )
    p.add_argument("input", help="input .mrc/.map volume or .mrcs stack")
    p.add_argument("output", help="output file (written atomically; never the input)")
    _add_geometry_options(p)
    p.add_argument("--mask-file", help="created mask (MRC) to multiply in, instead of a shape")
    p.add_argument("--fill", default="value", help="value|min|max|avg|noise|background (default value)")
    p.add_argument("--fill-value", type=float, help="fill value with --fill value (default 0)")
    p.add_argument("--seed", type=int, help="seed of --fill noise (default 0)")
    p.add_argument(
        "--compat", default="maskrun", help="maskrun|xmipp (xmipp: normalised gaussian, soft masks ignore the fill)"
    )
    p.add_argument(
        "--input-kind",
        default="auto",
        choices=("auto", "stack", "volume"),
        help="auto: .mrcs = stack, .mrc/.map = volume",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    p.set_defaults(handler=_run_mask)


def _length(text: str) -> float | str:
    """A length option: a number of pixels, or text with a unit (``42A``, ``42 Å``, ``12px``) for the models."""
    try:
        return float(text)
    except ValueError:
        return text


def _add_geometry_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("geometry (pixels, or with a unit: 42A, 42Å, 12px; -1 = default from the X size N)")
    g.add_argument("--shape", help=f"{'|'.join(SHAPES_2D)} (2D); {'|'.join(SHAPES_3D)} (3D)")
    for name in GEOMETRY_OPTIONS:  # one option per length of any registered shape
        models = [model for model in SHAPES.values() if name in model.model_fields]
        field = models[0].model_fields[name]
        several = "tuple" in str(field.annotation)  # box_size, center: one number per axis
        takers = "" if len(models) == len(SHAPES) else f"{', '.join(m.model_fields['shape'].default for m in models)}: "
        g.add_argument(
            option_name(name),
            type=_length,
            nargs="+" if several else None,
            metavar=name.split("_")[0][0].upper() if several else None,
            help=f"{takers}{field.description}",
        )
    g.add_argument("--invert", action="store_true", help="keep the outside instead of the inside")


def _validated(type_, data, errors: list[UserError], option: str | None = None, label=None):
    """Validate ``data``; problems go to ``errors`` (``option`` names a bare value)."""
    try:
        return TypeAdapter(type_).validate_python(data)
    except ValidationError as exc:
        for error in user_errors(exc, type_, label or option_name):
            error.field = error.field or option
            errors.append(error)
        return None


def _geometry_given(args: argparse.Namespace) -> dict:
    given = {name: getattr(args, name) for name in GEOMETRY_OPTIONS if getattr(args, name) is not None}
    if "box_size" in given:
        given["box_size"] = given["box_size"][0] if len(given["box_size"]) == 1 else tuple(given["box_size"])
    if "center" in given:
        given["center"] = tuple(given["center"])
    if args.invert:
        given["invert"] = True
    return given


def _mask_request(args: argparse.Namespace) -> tuple[MaskSpec, FillParams, Compat]:
    errors: list[UserError] = []
    given = _geometry_given(args)
    if args.mask_file and (args.shape or given):
        raise UserError("give either --mask-file or --shape with its parameters, not both")
    spec: MaskSpec | None
    if args.mask_file:
        spec = MaskSpec(source="file", file=args.mask_file)
    elif args.shape is None:
        raise UserError("no mask given; add --shape (e.g. --shape circular --radius 40) or --mask-file")
    else:
        geometry = _validated(GeometryParams, {"shape": args.shape, **given}, errors)
        spec = MaskSpec(geometry=geometry) if geometry is not None else None
    fill_data = {"with": args.fill} | ({"value": args.fill_value} if args.fill_value is not None else {})
    fill_data |= {"seed": args.seed} if args.seed is not None else {}
    fill = _validated(FillParams, fill_data, errors)
    compat = _validated(Compat, args.compat, errors, option="--compat")
    if errors:
        raise UserErrors(errors) if len(errors) > 1 else errors[0]
    assert spec is not None and fill is not None and compat is not None  # else errors were raised
    return spec, fill, compat


def _run_mask(args) -> int:
    from maskrun.cli.mask_progress import MaskProgress

    spec, fill, compat = _mask_request(args)
    progress = MaskProgress()
    try:
        result = mask_mrc_file(
            args.input,
            args.output,
            mask=spec,
            fill=fill,
            compat=compat,
            input_kind=args.input_kind,
            overwrite=args.overwrite,
            label=option_name,
            setting=option_setting,
            progress=progress,
        )
    finally:
        progress.finish()
    for note in result.notes:
        print(f"maskrun: note: {result.input}: {note}", file=sys.stderr)
    nz, ny, nx = result.shape_zyx
    what = f"{nz} images of {nx} x {ny}" if result.kind == "stack" else f"a {nx} x {ny} x {nz} volume"
    print(f"masked {what} -> {result.output}")
    return 0


MAP_OPTIONS = {
    "file": "--from-map",
    "threshold": "--threshold",
    "extend_px": "--extend",
    "soft_edge_px": "--soft-edge",
    "lowpass_angstrom": "--lowpass",
    "min_component_voxels": "--min-component-voxels",
    "keep_largest_component": "--keep-largest-component",
    "fill_holes": "--fill-holes",
    "invert": "--invert",
    "and": "--and",
    "or": "--or",
    "and_not": "--and-not",
    "or_not": "--or-not",
    "helix": "--helix",
    "z_percentage": "--z-percentage",
}
COMBINATION_DESTS = {"and": "and_map", "or": "or_map", "and_not": "and_not_map", "or_not": "or_not_map"}
MODEL_OPTIONS = {
    "file": "--from-model",
    "like": "--like",
    "select": "--select",
    "radius": "--radius",
    "molmap_resolution_angstrom": "--molmap",
    "threshold": "--threshold",
    "extend": "--extend",
    "soft_edge": "--soft-edge",
    "invert": "--invert",
}


def _add_make_mask_parser(commands) -> None:
    p = commands.add_parser(
        "make-mask",
        help="write a mask without applying it: from a map (like relion_mask_create) or a shape",
        description="Write a float32 MRC mask: from a map (threshold, extend, soft edge, as relion_mask_create "
        "does, with the same numbers), or from a shape for a box (--box, or --like a map or stack).",
    )
    p.add_argument("output", help="the mask file to write (.mrc)")
    m = p.add_argument_group("from a map (and --soft-edge below, in px)")
    m.add_argument("--from-map", metavar="MAP", help="the map to threshold")
    m.add_argument("--threshold", type=float, help="voxels at or above it seed the mask")
    m.add_argument(
        "--extend",
        type=_length,
        default=0.0,
        help="grow (negative: shrink) the mask by this many px (a model mask: or '2 A')",
    )
    m.add_argument("--lowpass", type=float, help="low-pass the map to this resolution (Å) first")
    m.add_argument("--keep-largest-component", action="store_true", help="drop every component but the largest")
    m.add_argument("--min-component-voxels", type=int, default=0, help="drop components smaller than this")
    m.add_argument("--fill-holes", action="store_true", help="fill cavities enclosed by the mask")
    for name, dest in COMBINATION_DESTS.items():
        m.add_argument(
            MAP_OPTIONS[name],
            dest=dest,
            metavar="MAP2",
            help={
                "and": "seed only where both maps are above the threshold (RELION's --and)",
                "or": "seed where either map is above the threshold (--or)",
                "and_not": "seed where the map is above and MAP2 below the threshold (--and_not)",
                "or_not": "seed where the map is above or MAP2 below the threshold (--or_not)",
            }[name],
        )
    m.add_argument("--helix", action="store_true", help="keep the central part along z (RELION's --helix)")
    m.add_argument("--z-percentage", type=float, help="with --helix: the share of the z size kept (0.1-0.9, 0.3)")
    # --soft-edge (below, with the geometry options) serves map and model masks too
    a = p.add_argument_group("from an atomic model (on the grid of --like MAP; with --extend, --soft-edge, --invert)")
    a.add_argument("--from-model", metavar="MODEL", help="PDB or mmCIF file (its first model)")
    a.add_argument("--select", help="gemmi selection: '//A' (chain A), '//A/100-200', '//*/(ATP)' (default: all atoms)")
    a.add_argument(
        "--molmap",
        type=float,
        metavar="RESOLUTION_A",
        help="a sum of Gaussians (ChimeraX molmap) at this resolution, thresholded at --threshold (a fraction of "
        "its peak, default 0.1); instead of --radius R: spheres of R ('3 A', px, or 'vdw') around every atom",
    )
    s = p.add_argument_group("from a shape (with the geometry options below)")
    s.add_argument(
        "--box",
        type=int,
        nargs="+",
        metavar="N",
        help="box N NY [NZ] (x y z); one N: square or cube, as the shape is 2D or 3D",
    )
    s.add_argument("--like", metavar="FILE", help="take box and voxel size from this map or stack (one image)")
    s.add_argument("--pixel-size", type=float, help="voxel size to record, Å (default: --like's, else 0)")
    _add_geometry_options(p)
    p.add_argument("--overwrite", action="store_true", help="replace an existing file")
    p.set_defaults(handler=_run_make_mask)


def _run_make_mask(args: argparse.Namespace) -> int:
    from maskrun.engine.mask_output import kept_volume, map_levels, mask_from_map_file, write_mask
    from maskrun.io.image_info import read_rows
    from maskrun.io.output_space import check_not_an_input

    inputs = [Path(name) for name in (args.from_map, args.like, args.from_model, *_second_maps(args)) if name]
    check_not_an_input(Path(args.output), inputs)

    if args.from_model:
        return _model_mask(args)
    if args.select or args.molmap is not None:
        option = "--select" if args.select else "--molmap"
        raise UserError("goes with --from-model MODEL; add it, or leave this option out", field=option)
    if not args.from_map and (_second_maps(args) or args.helix or args.z_percentage is not None):
        given = (
            next(MAP_OPTIONS[name] for name, dest in COMBINATION_DESTS.items() if getattr(args, dest))
            if _second_maps(args)
            else ("--helix" if args.helix else "--z-percentage")
        )
        raise UserError("is an option of --from-map; add --from-map MAP --threshold T", field=given)
    args.extend = _pixels_option(args.extend, "--extend")
    if args.from_map and args.soft_edge is not None:
        args.soft_edge = _pixels_option(args.soft_edge, "--soft-edge")
    if args.from_map:
        if args.shape or args.box or args.like:
            raise UserError("give either --from-map (with --threshold) or --shape with --box/--like, not both")
        if args.threshold is None:
            raise UserError("--from-map needs --threshold (voxels at or above it seed the mask)", field="--threshold")
        data = {
            "file": args.from_map,
            "threshold": args.threshold,
            "extend_px": args.extend,
            "soft_edge_px": 0.0 if args.soft_edge is None else args.soft_edge,
            "lowpass_angstrom": args.lowpass,
            "invert": args.invert,
            "keep_largest_component": args.keep_largest_component,
            "min_component_voxels": args.min_component_voxels,
            "fill_holes": args.fill_holes,
            "helix": args.helix,
            **({"z_percentage": args.z_percentage} if args.z_percentage is not None else {}),
            **{name: getattr(args, dest) for name, dest in COMBINATION_DESTS.items() if getattr(args, dest)},
        }
        errors: list[UserError] = []
        params = _validated(MapMaskParams, data, errors, label=lambda loc: MAP_OPTIONS.get(str(loc[-1]), str(loc)))
        if errors:
            raise UserErrors(errors) if len(errors) > 1 else errors[0]
        values, info = mask_from_map_file(params, lambda name: MAP_OPTIONS.get(name.removeprefix("map."), name))
        voxel, origin = info.voxel_size_xyz, info.origin_xyz
        density = read_rows(info, 0, info.shape_zyx[0])
        print(f"maskrun: note: {info.path.name}: {map_levels(density)}", file=sys.stderr)
    else:
        values, voxel, origin = _shape_mask(args)
    path = write_mask(args.output, values, voxel, origin, overwrite=args.overwrite)
    if args.from_map:
        print(f"maskrun: note: {path.name}: {kept_volume(values, voxel)}", file=sys.stderr)
    kept = float(values.mean())
    print(f"wrote {path}: {' x '.join(map(str, values.shape[::-1]))} mask, {kept:.1%} of the box kept")
    return 0


def _second_maps(args: argparse.Namespace) -> list[str]:
    """The second maps given with --and, --or, --and-not, --or-not."""
    return [getattr(args, dest) for dest in COMBINATION_DESTS.values() if getattr(args, dest)]


def _pixels_option(value: float | str, option: str) -> float:
    """``--extend``/``--soft-edge`` of a map mask: pixels (``6`` or ``6 px``); Å only for a model's."""
    if isinstance(value, float):
        return value
    text = value.strip()
    if text.endswith("px") and isinstance(number := _length(text.removesuffix("px")), float):
        return number
    raise UserError(f"'{value}' is not a number of pixels (Å only for a model); write e.g. 6 or '6 px'", field=option)


def _model_mask(args: argparse.Namespace) -> int:
    from maskrun.config.model_mask_params import ModelMaskParams
    from maskrun.engine.mask_output import kept_volume, write_mask
    from maskrun.engine.model_mask_file import mask_from_model_file

    if args.from_map or args.shape or args.box:
        raise UserError("give one of --from-model, --from-map or --shape, not several", field="--from-model")
    if args.like is None:
        raise UserError("--from-model needs --like MAP, the map whose grid (box, voxel size, origin) the mask takes")
    given = {name: getattr(args, name) for name in GEOMETRY_OPTIONS if getattr(args, name) is not None}
    if foreign := set(given) - {"radius", "soft_edge"}:
        raise UserError("is a shape option; a model mask takes --radius or --molmap", field=option_name(min(foreign)))
    data = {
        "file": args.from_model,
        "select": args.select,
        "radius": args.radius,
        "molmap_resolution_angstrom": args.molmap,
        "threshold": args.threshold,
        "extend": args.extend,
        "soft_edge": args.soft_edge,
        "invert": args.invert,
    }
    errors: list[UserError] = []
    label = lambda loc: MODEL_OPTIONS.get(str(loc[-1]) if isinstance(loc, tuple) else str(loc), "--from-model")  # noqa: E731
    params = _validated(ModelMaskParams, {k: v for k, v in data.items() if v is not None}, errors, label=label)
    if errors:
        raise UserErrors(errors) if len(errors) > 1 else errors[0]
    made = mask_from_model_file(params, args.like, lambda name: MODEL_OPTIONS.get(name, name))
    for note in made.notes:
        print(f"maskrun: note: {note}", file=sys.stderr)
    voxel, origin = made.info.voxel_size_xyz, made.info.origin_xyz
    path = write_mask(
        args.output,
        made.values,
        voxel,
        origin,
        overwrite=args.overwrite,
        like=made.info,
    )
    print(f"maskrun: note: {path.name}: {kept_volume(made.values, voxel)}", file=sys.stderr)
    kept = float(made.values.mean())
    print(f"wrote {path}: {' x '.join(map(str, made.values.shape[::-1]))} mask, {kept:.1%} of the box kept")
    return 0


def _shape_mask(args: argparse.Namespace):
    from maskrun.api import make_mask
    from maskrun.io.images import inspect_image

    if args.shape is None:
        raise UserError("no mask given; add --from-map MAP --threshold T, or --shape with --box or --like")
    if (args.box is None) == (args.like is None):
        raise UserError("give the box with --box N [NY [NZ]] or --like FILE (one of them)", field="--box")
    errors: list[UserError] = []
    geometry = _validated(GeometryParams, {"shape": args.shape, **_geometry_given(args)}, errors)
    if errors:
        raise UserErrors(errors) if len(errors) > 1 else errors[0]
    voxel, origin = (0.0, 0.0, 0.0), (0.0, 0.0, 0.0)
    if args.like:
        info = inspect_image(args.like)
        nz, ny, nx = info.shape_zyx
        dims = 3 in geometry.dims and geometry.dims != (2,) and nz > 1 and not str(args.like).endswith(".mrcs")
        box = (nz, ny, nx) if dims else (ny, nx)
        voxel, origin = info.voxel_size_xyz, info.origin_xyz
    else:
        sizes = list(args.box)
        if len(sizes) == 1:
            if geometry.dims == (2, 3):
                raise UserError(f"'{geometry.shape}' exists in 2D and 3D: give --box N N or --box N N N", field="--box")
            sizes *= geometry.dims[0]
        if len(sizes) not in (2, 3) or min(sizes) < 1:
            raise UserError(f"needs 2 or 3 positive sizes (x y [z]); got {args.box}", field="--box")
        box = tuple(sizes[::-1])
    if args.pixel_size is not None:
        if not (math.isfinite(args.pixel_size) and args.pixel_size > 0):
            raise UserError(f"must be a positive number of Å per pixel; got {args.pixel_size:g}", field="--pixel-size")
        voxel = (args.pixel_size,) * 3
    if geometry.lengths_in_angstrom and voxel[0] <= 0:
        raise UserError(
            "is given in Å, but the pixel size is unknown: pass --pixel-size (Å per pixel), or give it in pixels",
            field=option_name(geometry.lengths_in_angstrom[0][0]),
        )
    try:
        values = make_mask(geometry, box, pixel_size=voxel[0])
    except UserError as exc:
        exc.field = option_name(str(exc.field).removeprefix("shape.")) if exc.field else None
        raise
    return values, voxel, origin


def _add_report_parser(commands) -> None:
    p = commands.add_parser(
        "report",
        help="(re)write the report of a finished job",
        description="Write <output>/report/: sampled particles (or map slices) before and "
        "after, the mask's radial profile, warnings, and report.html.",
    )
    p.add_argument("job", help="job file (YAML) of a finished run")
    p.set_defaults(handler=_run_report)


def _run_report(args: argparse.Namespace) -> int:
    from maskrun.jobs.plan import plan_job
    from maskrun.report.build import build_report

    plan = plan_job(args.job)
    if not plan.run_record_path.exists():
        raise UserError(f"{plan.output_dir} holds no finished run; run the job first (maskrun run {args.job})")
    report = build_report(plan)
    for warning in report.warnings:
        print(f"maskrun: warning: {warning}", file=sys.stderr)
    print(f"wrote {report.html}")
    return 0


def _add_validate_parser(commands) -> None:
    p = commands.add_parser(
        "validate",
        help="check a job file and its inputs without running it",
        description="Check a job file, then its inputs: headers, every N@stack "
        "reference, the created mask. Exit 0 when valid, 2 when not.",
    )
    p.add_argument("job", help="job file (YAML)")
    p.set_defaults(handler=_run_validate)


def _run_validate(args) -> int:
    from maskrun.jobs.output_state import check_output_dir, check_room  # job machinery (pandas) only when needed
    from maskrun.jobs.plan import describe_plan, plan_job

    plan = plan_job(args.job)
    finished = check_output_dir(plan)
    if finished is None:
        check_room(plan)
    for line in describe_plan(plan):
        print(line)
    if finished is not None:
        print(f"  finished at {finished.get('end')}: maskrun run has nothing to do")
    return 0


def _add_run_parser(commands) -> None:
    p = commands.add_parser(
        "run",
        help="run a job through the Snakemake workflow",
        usage="maskrun run JOB [--cores N] [--profile NAME|DIR] [--dry-run] [--verbose] [-- snakemake options]",
        description="Validate a job, then run maskrun's Snakemake workflow on it (locally, "
        "or on a cluster with --profile slurm). Extra Snakemake options go "
        "after --.",
    )
    p.add_argument("job", help="job file (YAML)")
    p.add_argument("--cores", default="all", help="cores to use locally (default: all)")
    p.add_argument("--profile", help="Snakemake profile: a bundled one by name (slurm) or a folder")
    p.add_argument("--dry-run", action="store_true", help="show the jobs that would run")
    p.add_argument("--verbose", action="store_true", help="show Snakemake's own log (else in logs/snakemake.log)")
    p.set_defaults(handler=_run_run)


def _run_run(args) -> int:
    from maskrun.workflow.launch import RunRequest, run_workflow

    return run_workflow(
        RunRequest(args.job, args.cores, args.profile, args.dry_run, tuple(args.passthrough), args.verbose)
    )


def _add_example_parser(commands) -> None:
    p = commands.add_parser(
        "example",
        help="print an annotated starter job (or write it with data)",
        description="Print an annotated starter job; with --write, also write synthetic data it runs on.",
    )
    p.add_argument("kind", choices=("particles", "volumes", "expression"), help="expression: maps, a mask expression")
    p.add_argument("--write", metavar="DIR", help="write DIR/<kind>.yaml and example data into DIR")
    p.add_argument(
        "--format",
        default="star",
        choices=("star", "xmd", "cs", "sqlite"),
        help="particles listed as RELION .star, Xmipp .xmd, cryoSPARC .cs or Scipion .sqlite",
    )
    p.set_defaults(handler=_run_example)


def _run_example(args) -> int:
    from maskrun.jobs.examples import starter_job, write_example

    if args.write is None:
        print(starter_job(args.kind), end="")
        return 0
    job = write_example(args.kind, args.write, args.format)
    print(f"wrote {job} and example {args.kind} beside it; run it with: maskrun run {job}")
    return 0


def _add_schema_parser(commands) -> None:
    p = commands.add_parser(
        "schema",
        help="print the job file's JSON Schema (for editors)",
        description="Print the JSON Schema of the job file, for editors' YAML language servers: save it with "
        "'maskrun schema > maskrun-job.schema.json' and start a job with "
        "'# yaml-language-server: $schema=maskrun-job.schema.json'.",
    )
    p.set_defaults(handler=_run_schema)


def _run_schema(args) -> int:
    from maskrun.config.job_schema import job_schema

    print(json.dumps(job_schema(), indent=2, ensure_ascii=False))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="maskrun",
        description="Apply geometrical or created masks to cryo-EM particle stacks and maps.",
        epilog="Exit status: 0 done, 1 runtime failure, 2 a mistake in the request or input (nothing "
        "written), 130 interrupted. Shapes, fills, job files and outputs: docs/spec.md in the "
        "maskrun source.",
    )
    parser.add_argument("--version", action="version", version=f"maskrun {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_mask_parser(commands)
    _add_make_mask_parser(commands)
    _add_report_parser(commands)
    _add_validate_parser(commands)
    _add_run_parser(commands)
    _add_example_parser(commands)
    _add_schema_parser(commands)
    return parser


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    prefix = "warning" if issubclass(category, MaskrunWarning) else category.__name__
    print(f"maskrun: {prefix}: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    Everything after a lone ``--`` is passed through to Snakemake (``maskrun run`` only).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    passthrough = argv[argv.index("--") + 1 :] if "--" in argv else []
    argv = argv[: argv.index("--")] if "--" in argv else argv
    args = build_parser().parse_args(argv)
    if passthrough and args.command != "run":
        build_parser().error("options after -- are passed to snakemake, so only maskrun run takes them")
    args.passthrough = passthrough
    handler: Callable[[argparse.Namespace], int] = args.handler
    previous = signal.signal(signal.SIGTERM, _raise_terminated)  # SLURM's time limit: clean up as for Ctrl-C
    try:
        return _handle(args, handler)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated


def _handle(args: argparse.Namespace, handler: Callable[[argparse.Namespace], int]) -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("always", MaskrunWarning)
        warnings.showwarning = _show_warning
        try:
            return handler(args)
        except UserError as exc:
            if isinstance(exc, SettingError):
                exc = exc.phrased(option_setting)
            for line in str(exc).splitlines():
                print(f"maskrun {args.command}: error: {line}", file=sys.stderr)
            return exc.exit_status
        except (RunFailure, OSError) as exc:
            print(f"maskrun {args.command}: failed: {exc}", file=sys.stderr)
            return 1
        except Interrupted as exc:
            print(f"maskrun {args.command}: {exc}", file=sys.stderr)
            return exc.exit_status
        except KeyboardInterrupt:  # the writer has removed its unfinished file by now
            print(f"maskrun {args.command}: interrupted", file=sys.stderr)
            return 130
        except Terminated:
            print(f"maskrun {args.command}: terminated", file=sys.stderr)
            return 143
