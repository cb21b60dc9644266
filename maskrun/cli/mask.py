"""``maskrun mask IN OUT``: mask one map or stack directly, as ``xmipp_transform_mask`` does."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import cast

from maskrun.cli.format_suffixes import take_format_suffixes
from maskrun.cli.options import (
    Commands,
    add_geometry_options,
    geometry_given,
    option_name,
    option_setting,
    pixel_size_option,
    raise_collected,
    validated,
    validated_geometry,
)
from maskrun.cli.xmipp_meanings import xmipp_meaning_note
from maskrun.config.fill import FILL_KINDS, NOISE_AT_A_SOFT_EDGE, FillParams
from maskrun.config.mask_spec import Compat, MaskSpec
from maskrun.config.shape_params import SHAPES, XMIPP_MASK_TYPES
from maskrun.engine.one_file import decide_kind, mask_mrc_file
from maskrun.errors import UserError
from maskrun.formats.references import marked_kind
from maskrun.io.image_info import Kind
from maskrun.io.images import inspect_image, metadata_kind


def add_parser(commands: Commands) -> None:
    """Add ``maskrun mask`` to the subcommands ``commands``."""
    p = commands.add_parser(
        "mask",
        help="mask one map or stack directly (like xmipp_transform_mask)",
        description="Mask one MRC map or particle stack into a new float32 file (float16 for float16 input).",
    )
    p.add_argument("input", help="input .mrc/.map volume, .mrcs stack, or SPIDER file")
    p.add_argument("output", help="output file (written atomically; never the input)")
    add_geometry_options(p)
    p.add_argument(
        "--pixel-size",
        type=float,
        help="the data's pixel size, Å, instead of its header's (RELION writes 1 in particle stacks): lengths in Å "
        "are converted at it, and the output header carries it",
    )
    p.add_argument(
        "--mask-file",
        help="created mask to multiply in, instead of a shape: MRC, or SPIDER (.spi, .xmp, .vol: Xmipp's masks)",
    )
    p.add_argument(
        "--fill",
        default="value",
        help="; ".join(f"{kind.name}: {kind.words}" for kind in FILL_KINDS.values())
        + f" (default: value 0). {NOISE_AT_A_SOFT_EDGE}",
    )
    p.add_argument("--fill-value", type=float, help="fill value with --fill value (default 0)")
    p.add_argument("--seed", type=int, help="seed of --fill noise (default 0)")
    p.add_argument(
        "--compat",
        help="maskrun|xmipp (xmipp: normalised gaussian, soft masks ignore the fill; default maskrun, with a note "
        "where Xmipp's same words give other numbers)",
    )
    p.add_argument(
        "--input-kind",
        default="auto",
        choices=("auto", "stack", "volume"),
        help="auto: .mrcs, or a header marking a stack (ispg 0, mz 1) = stack; else volume; SPIDER: its header",
    )
    p.add_argument(
        "--float32",
        action="store_true",
        help="write float16 input (MRC mode 12, as RELION's --float16 writes) as float32 too; without it, float16 "
        "input is written as float16, any other mode as float32",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    p.set_defaults(handler=run, kind_of=input_kind)


def input_kind(args: argparse.Namespace) -> Kind | None:
    """Whether the input is a stack or a map, as masking it decides (`decide_kind`); None if it cannot be read."""
    if args.input_kind != "auto":
        return cast(Kind, args.input_kind)
    try:
        return decide_kind(inspect_image(args.input))[0]
    except (UserError, OSError, ValueError):
        return None


def _mask_request(args: argparse.Namespace) -> tuple[MaskSpec, FillParams, Compat]:
    errors: list[UserError] = []
    given = geometry_given(args)
    if args.mask_file:
        _refuse_a_mask_type(args.mask_file, input_kind(args))
    if args.mask_file and (args.shape or given):
        raise UserError("give either --mask-file or --shape with its parameters, not both")
    spec: MaskSpec | None
    if args.mask_file:
        spec = MaskSpec(source="file", file=args.mask_file)
    elif args.shape is None:
        raise UserError("no mask given; add --shape (e.g. --shape circular --radius 40) or --mask-file")
    else:
        geometry = validated_geometry(args, errors)
        spec = MaskSpec(geometry=geometry) if geometry is not None else None
    fill_data = {"with": args.fill} | ({"value": args.fill_value} if args.fill_value is not None else {})
    fill_data |= {"seed": args.seed} if args.seed is not None else {}
    fill = validated(FillParams, fill_data, errors)
    compat = validated(Compat, args.compat or "maskrun", errors, option="--compat")
    raise_collected(errors)
    assert spec is not None and fill is not None and compat is not None  # else errors were raised
    return spec, fill, compat


def _refuse_a_mask_type(mask_file: str, kind: Kind | None) -> None:
    """Refuse a mask file that is no file but an xmipp_transform_mask ``--mask TYPE`` (``--mask`` abbreviates
    ``--mask-file``): ``--mask circular`` would be told that the file ``circular`` is not found. Xmipp's circular
    on a map (``kind``) is the sphere here."""
    xmipp = XMIPP_MASK_TYPES.get(mask_file)
    if Path(mask_file).exists() or (mask_file not in SHAPES and xmipp is None):
        return
    if mask_file in ("binary_file", "real_file"):
        words = f"xmipp_transform_mask's --mask {mask_file} FILE is --mask-file FILE here"
    elif mask_file in SHAPES:
        shape = xmipp.maps if xmipp is not None and kind == "volume" else mask_file
        words = f"xmipp_transform_mask's --mask TYPE is --shape TYPE here: --shape {shape} with its lengths"
    else:
        assert xmipp is not None
        words = f"xmipp_transform_mask's --mask TYPE is --shape TYPE here; {xmipp.instead}"
    raise UserError(
        f"'{mask_file}' is no file but an Xmipp mask type; {words}",
        field="--mask-file",
    )


def _refuse_an_image_reference(given: str) -> None:
    """Refuse Xmipp's ``N@stack`` (one image of a stack) as the input, which would be told that no file of that
    name is found: ``maskrun mask`` reads whole files, and a job masks a set's images by reference."""
    number, at, stack = given.partition("@")
    if not at or not number.isdigit() or not stack or Path(given).exists():
        return
    raise UserError(
        f"is image {int(number)} of {stack} (Xmipp's N@stack), no file; maskrun mask takes whole files: give {stack} "
        "(every image is masked), or list the images in a .xmd or STAR file and run a job with inputs.particles "
        "(a job masks a set's images by reference)",
        source=given,
    )


def _take_marked_kind(args: argparse.Namespace, fmt: str) -> None:
    """Read the input as its Xmipp format suffix says (``parts.mrc:mrcs`` a stack, ``vol.mrcs:mrc`` a map), as
    Xmipp reads it, where ``--input-kind`` is auto; refuse a suffix that says the other kind than it."""
    kind = marked_kind(fmt)
    if kind is None:
        return
    if args.input_kind == "auto":
        args.input_kind = kind
    elif args.input_kind != kind:
        said = "a stack of images" if kind == "stack" else "a map"
        raise UserError(
            f"is marked :{fmt} ({said}), and --input-kind {args.input_kind} reads it as the other; drop one",
            source=args.input,
            field="--input-kind",
        )


def run(args: argparse.Namespace) -> int:
    """Carry out ``maskrun mask``; returns the exit status."""
    from maskrun.cli.mask_progress import MaskProgress

    marked = take_format_suffixes(args, ("input", "mask_file"), ("output",))
    _take_marked_kind(args, marked.get("input", ""))
    _refuse_an_image_reference(args.input)
    if kind := metadata_kind(args.input):
        raise UserError(
            f"is {kind} metadata file, not an image; give the stack it lists (maskrun mask masks one image file), "
            f"or, to mask the particles it lists, run a job with inputs.particles: {args.input} "
            "(maskrun example particles prints one; then maskrun run JOB)",
            source=args.input,
        )
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
            pixel_size=pixel_size_option(args.pixel_size),
            output_dtype="float32" if args.float32 else "same",
        )
    finally:
        progress.finish()
    for note in result.notes:
        print(f"maskrun: note: {result.input}: {note}", file=sys.stderr)
    differs = xmipp_meaning_note(args.shape, fill, args.compat)
    if differs is not None:
        print(f"maskrun: note: {differs}", file=sys.stderr)
    nz, ny, nx = result.shape_zyx
    box = " x ".join(map(str, result.box_xyz))  # x, y, z as make-mask and validate say it, not the stored order
    what = f"{nz} image{'s' * (nz != 1)} of {nx} x {ny}" if result.kind == "stack" else f"a {box} volume"
    written = " (float16, as the input)" if result.dtype == "float16" else ""
    print(f"masked {what} -> {result.output}{written}")
    return 0
