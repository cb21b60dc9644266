"""``maskrun make-mask OUT``: write a mask from a map (as ``relion_mask_create``), an atomic model or a shape."""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from maskrun.cli.format_suffixes import take_format_suffixes
from maskrun.cli.options import (
    GEOMETRY_OPTIONS,
    Commands,
    add_geometry_options,
    length,
    option_name,
    pixel_size_option,
    raise_collected,
    validated,
    validated_geometry,
)
from maskrun.cli.xmipp_meanings import xmipp_meaning_note
from maskrun.config.mask_spec import Compat, MapMaskParams
from maskrun.errors import AllOrNothingWarning, FieldError, MaskrunWarning, UserError
from maskrun.formats.setting_names import SettingNames
from maskrun.io.image_info import ImageInfo
from maskrun.io.mrc_writer import MADE_BY_MAKE_MASK
from maskrun.io.pixel_size import PLACEHOLDER_ANGSTROM

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
# the three kinds of mask, by the option that asks for one, and what each needs besides
MODES = {"map": "--from-map", "model": "--from-model", "shape": "--shape"}
MODE_DESTS = {"map": "from_map", "model": "from_model", "shape": "shape"}
MODE_USAGE = {
    "map": "--from-map MAP --threshold T",
    "model": "--from-model MODEL --like MAP --radius R",
    "shape": "--shape S with --box N or --like FILE",
}
MASK_OF = {"map": "a mask from a map", "model": "a mask from a model", "shape": "a mask of a shape"}
MAP: tuple[str, ...] = ("map",)
MODEL: tuple[str, ...] = ("model",)
SHAPE: tuple[str, ...] = ("shape",)
# every option of make-mask (by argparse dest, in the parser's order; not --overwrite) and the kinds of mask that
# use it: any other kind refuses it, as it would ignore it (checked against run, _model_mask and _shape_mask)
OPTION_MODES: dict[str, tuple[str, tuple[str, ...]]] = {
    "from_map": ("--from-map", MAP),
    "threshold": ("--threshold", ("map", "model")),
    "extend": ("--extend", ("map", "model")),
    "lowpass": ("--lowpass", MAP),
    "keep_largest_component": ("--keep-largest-component", MAP),
    "min_component_voxels": ("--min-component-voxels", MAP),
    "fill_holes": ("--fill-holes", MAP),
    **{dest: (MAP_OPTIONS[name], MAP) for name, dest in COMBINATION_DESTS.items()},
    "helix": ("--helix", MAP),
    "z_percentage": ("--z-percentage", MAP),
    "from_model": ("--from-model", MODEL),
    "select": ("--select", MODEL),
    "molmap": ("--molmap", MODEL),
    "box": ("--box", SHAPE),
    "like": ("--like", ("model", "shape")),
    "pixel_size": ("--pixel-size", ("map", "shape")),
    "shape": ("--shape", SHAPE),
    **{name: (option_name(name), SHAPE) for name in GEOMETRY_OPTIONS},
    "radius": ("--radius", ("model", "shape")),
    "soft_edge": ("--soft-edge", ("map", "model", "shape")),
    "invert": ("--invert", ("map", "model", "shape")),
    "compat": ("--compat", SHAPE),
}
# why a kind of mask has no use for an option, where "takes none of its steps" (map), "draws no shape" (shape),
# "uses no atomic model" (model) or "does not use it" (an option of two kinds) would say less
NO_USE = {
    ("pixel_size", "model"): "takes its --like map's voxel size",
    ("box", "model"): "takes its --like map's box",
    ("box", "map"): "takes the map's box",
    ("like", "map"): "takes the map's box, voxel size and origin",
    ("extend", "shape"): "is not grown or shrunk (change the shape's lengths)",
}
OWNER_NO_USE: dict[tuple[str, ...], str] = {
    MAP: "takes none of its steps",
    SHAPE: "draws no shape",
    MODEL: "uses no atomic model",
}
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


# how the formats' fixes name make-mask's settings: --like is the set, and a job's project_dir, passthrough and
# image_column it has no option for; where only one of those would do, it proposes what it takes instead
LIKE_NAMES = SettingNames(
    particles="--like", lacking="make-mask takes none: give --like one of its stacks, or a map of the particles' box"
)
MADE = MADE_BY_MAKE_MASK  # its MRC label's words (masked data say "masked")
RECIPE_LABELS = 8  # of an MRC header's 10, for how the mask was made (maskrun's own label is one more)


def recipe_labels(args: argparse.Namespace, chosen: str = "") -> tuple[str, ...]:
    """How the mask was made, as MRC labels: the command as typed (without ``--overwrite``), then, for a threshold
    a rule chose, its number; cut every 80 ASCII characters (a long path anywhere), at most `RECIPE_LABELS`
    (`maskrun.io.mrc_writer.made_by` reads them back whole).

    A mask given to a job (``mask.file``, ``mask.projection.file``) is recorded there by its
    checksum only: its labels keep the map, threshold, extend and edge it came from, for anyone
    who reads its header (``relion_image_handler``, ``mrcfile``, ``header`` of IMOD).
    """
    import shlex

    typed = [word for word in getattr(args, "argv", None) or [] if word != "--overwrite"]
    text = shlex.join(typed) + (f"; {chosen}" if chosen else "")
    text = text.encode("ascii", "replace").decode()  # MRC labels are ASCII: a path's 'é' becomes '?'
    pieces = [text[i : i + 80] for i in range(0, len(text), 80)]  # `made_by` joins them as they are
    if len(pieces) > RECIPE_LABELS:
        pieces = [*pieces[: RECIPE_LABELS - 1], pieces[RECIPE_LABELS - 1][:77] + "..."]
    return tuple(pieces)


THIN_LIKE = 4  # a --like volume this many times thinner than wide (ispg 0) looks like a stack of images


def add_parser(commands: Commands) -> None:
    """Add ``maskrun make-mask`` to the subcommands ``commands``."""
    p = commands.add_parser(
        "make-mask",
        help="write a mask without applying it: from a map (like relion_mask_create) or a shape",
        description="Write a float32 MRC mask: from a map (threshold, extend, soft edge, as relion_mask_create "
        "does, with the same numbers), or from a shape for a box (--box, or --like a map, stack or particle set).",
    )
    p.add_argument("output", help="the mask file to write (.mrc)")
    m = p.add_argument_group("from a map (and --soft-edge below: px, or '6 A')")
    m.add_argument("--from-map", metavar="MAP", help="the map to threshold")
    m.add_argument(
        "--threshold",
        type=number_or_text,
        help="voxels at or above it seed the mask: a number, or a rule choosing one: '3 sigma', '250 kDa' "
        "(at 0.81 Da/Å³), '1.2e6 A3', 'auto'",
    )
    m.add_argument(
        "--extend",
        type=length,
        help="grow (negative: shrink) the mask by this many px, or by a length in Å ('2 A') (default 0)",
    )
    m.add_argument("--lowpass", type=length, help="low-pass the map to this resolution first, Å: 15, '15 A' or 15Å")
    m.add_argument("--keep-largest-component", action="store_true", help="drop every component but the largest")
    m.add_argument("--min-component-voxels", type=int, help="drop components smaller than this (default 0)")
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
    m.add_argument(
        "--z-percentage",
        type=float,
        help="with --helix: the share of the z size kept, a fraction (0.1-0.9; default 0.3 = 30 %%)",
    )
    # --soft-edge (below, with the geometry options) serves map and model masks too
    a = p.add_argument_group("from an atomic model (on the grid of --like MAP; with --extend, --soft-edge, --invert)")
    a.add_argument(
        "--from-model", metavar="MODEL", help="PDB or mmCIF file (its first model, or the one --select names)"
    )
    a.add_argument(
        "--select",
        help="gemmi selection: '//A' (chain A), '//A/100-200', '//*/(ATP)', '/2/A' (chain A of model 2; without a "
        "model number, of the first) (default: every atom of the first model)",
    )
    a.add_argument(
        "--molmap",
        type=length,
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
    s.add_argument(
        "--like",
        metavar="FILE",
        help="take box and voxel size from this map or stack (one image), or particle set (STAR, .cs, .xmd, "
        ".sqlite: its images' box, its optics' pixel size)",
    )
    s.add_argument(
        "--pixel-size",
        type=float,
        help="voxel size, Å: a shape's to record (default: --like's, else 0); for --from-map, the map's instead of "
        "its header's (as RELION's --angpix), which the mask carries",
    )
    add_geometry_options(p)
    p.add_argument(
        "--compat",
        help="with --shape: maskrun|xmipp (xmipp: the gaussian is Xmipp's normalised density, as maskrun mask "
        "--compat xmipp makes it; default maskrun)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing file")
    p.set_defaults(handler=run)


@contextmanager
def _written_alone() -> Iterator[None]:
    """Say a mask keeping everything or nothing as what make-mask writes, 1 or 0 over the whole box: it applies the
    mask to no data, so there is no output to equal an input and no fill (`AllOrNothingWarning.alone`).

    The block's warnings are held and given after it, as they came; dropped when it raises
    (a refused command prints its one error line only).
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for w in caught:
        message = w.message.alone() if isinstance(w.message, AllOrNothingWarning) else w.message
        warnings.warn_explicit(message, w.category, w.filename, w.lineno, source=w.source)


def run(args: argparse.Namespace) -> int:
    """Carry out ``maskrun make-mask``; returns the exit status."""
    from maskrun.engine.mask_output import kept_volume, map_levels, mask_from_map_file, write_mask
    from maskrun.io.images import inspect_image
    from maskrun.io.output_space import check_not_an_input, refuse_taken
    from maskrun.io.paths import file_not_found, is_file

    take_format_suffixes(args, ("from_map", "like", *COMBINATION_DESTS.values()), ("output",))
    mode = _mode(args)
    inputs = [Path(name) for name in (args.from_map, args.like, args.from_model, *_second_maps(args)) if name]
    check_not_an_input(Path(args.output), inputs)
    refuse_taken(Path(args.output), args.overwrite)  # before the work and its notes (write_mask checks again)

    if mode == "model":
        return _model_mask(args)
    rule = ""  # a threshold rule's number, for the mask's labels
    differs = None  # the note of a shape whose Xmipp words give other numbers (`xmipp_meaning_note`)
    if mode == "map":
        if not is_file(Path(args.from_map)):  # named with its option, before any step reads its header
            raise file_not_found(Path(args.from_map), field="--from-map")
        pixel_size = pixel_size_option(args.pixel_size)
        args.extend = _pixels_option(0.0 if args.extend is None else args.extend, "--extend", args.from_map, pixel_size)
        if args.soft_edge is not None:
            args.soft_edge = _pixels_option(args.soft_edge, "--soft-edge", args.from_map, pixel_size)
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
            "min_component_voxels": args.min_component_voxels or 0,
            "fill_holes": args.fill_holes,
            "helix": args.helix,
            **({"z_percentage": args.z_percentage} if args.z_percentage is not None else {}),
            **{name: getattr(args, dest) for name, dest in COMBINATION_DESTS.items() if getattr(args, dest)},
        }
        errors: list[UserError] = []
        known = _voxel_size(args.from_map, pixel_size) if isinstance(args.lowpass, str) else None  # for '6 px'
        params = validated(
            MapMaskParams, data, errors, label=lambda loc: MAP_OPTIONS.get(str(loc[-1]), str(loc)), pixel_size=known
        )
        raise_collected(errors)
        _check_map_voxel_size(params, pixel_size)
        # before the mask: the map low-passed for these numbers is the one the mask is made of, low-passed once
        levels = map_levels(params, pixel_size or inspect_image(params.file).voxel_size_xyz[0])
        with _written_alone():
            values, info = mask_from_map_file(
                params, lambda name: MAP_OPTIONS.get(name.removeprefix("map."), name), pixel_size
            )
        voxel, origin = info.voxel_size_xyz, info.origin_xyz
        like: ImageInfo | None = info
        if levels is not None:
            print(f"maskrun: note: {levels}", file=sys.stderr)
        if isinstance(params.threshold, str):
            from maskrun.engine.created_mask import map_threshold

            chosen = map_threshold(params, info.voxel_size_xyz[0])
            print(f"maskrun: note: threshold '{chosen.rule}' is {chosen.value:.6g}: {chosen.told}", file=sys.stderr)
            rule = f"threshold '{chosen.rule}' = {chosen.value:.6g}"
    else:
        values, voxel, origin, like = _shape_mask(args)
        differs = xmipp_meaning_note(args.shape, None, args.compat)
    labels = recipe_labels(args, rule)
    path = write_mask(
        args.output, values, voxel, origin, overwrite=args.overwrite, like=like, holds=MADE, labels=labels
    )
    if args.from_map:
        print(f"maskrun: note: {path.name}: {kept_volume(values, voxel)}", file=sys.stderr)
    if differs is not None:
        print(f"maskrun: note: {differs}", file=sys.stderr)
    print(f"wrote {path}: {_box_words(values, like)} mask, {kept_words(values)}")
    return 0


PEAK_BELOW_ONE = 0.999  # a mask whose largest value is below this keeps no pixel whole: its share is said otherwise


def kept_words(values: np.ndarray) -> str:
    """How much of the box a mask keeps, in words: its mean (``12.5% of the box kept``), or, for a mask whose peak is
    below 1 (Xmipp's normalised gaussian, ``--compat xmipp``: its values sum to 1, and its mean says 0.0%), the share
    of the box above half its peak.

    Examples
    --------
    >>> kept_words(np.array([[0.0, 1.0], [0.5, 0.5]]))
    '50.0% of the box kept'
    >>> kept_words(np.array([[0.0, 0.002], [0.0015, 0.0005]]))
    'its peak 0.002 (not 1), 50.0% of the box above half of it'
    """
    peak = float(values.max()) if values.size else 0.0
    if 0 < peak < PEAK_BELOW_ONE:
        share = float(np.count_nonzero(values >= peak / 2)) / values.size
        return f"its peak {peak:.3g} (not 1), {share:.1%} of the box above half of it"
    return f"{float(values.mean()):.1%} of the box kept"


def number_or_text(text: str) -> float | str:
    """``--threshold``: a number, or a rule's text (checked by the map mask's model)."""
    try:
        return float(text)
    except ValueError:
        return text


def _given(args: argparse.Namespace) -> list[str]:
    """The options typed on the command line (by dest, in the parser's order): none has a default of its own."""
    return [dest for dest in OPTION_MODES if getattr(args, dest) is not None and getattr(args, dest) is not False]


def _mode(args: argparse.Namespace) -> str:
    """The kind of mask asked for (``map``, ``model`` or ``shape``), its options checked: one line for another's."""
    given = _given(args)
    modes = [mode for mode, dest in MODE_DESTS.items() if dest in given]
    if len(modes) > 1:
        got = " and ".join(MODES[m] for m in modes)
        raise UserError(f"give one of --from-model, --from-map or --shape, not several (got {got})")
    if not modes:
        for dest in given:
            option, owners = OPTION_MODES[dest]
            if len(owners) == 1:
                raise UserError(
                    f"is an option of {MODES[owners[0]]}; add {MODE_USAGE[owners[0]]}, or leave it out", field=option
                )
        usage = list(MODE_USAGE.values())
        raise UserError(f"no mask given; add {', '.join(usage[:-1])}, or {usage[-1]}")
    mode = modes[0]
    for dest in given:
        option, owners = OPTION_MODES[dest]
        if mode not in owners:
            why = NO_USE.get((dest, mode)) or OWNER_NO_USE.get(owners, "does not use it")
            of = " and ".join(MODES[owner] for owner in owners)
            raise UserError(f"is an option of {of}; {MASK_OF[mode]} {why}, leave it out", field=option)
    return mode


def _second_maps(args: argparse.Namespace) -> list[str]:
    """The second maps given with --and, --or, --and-not, --or-not."""
    return [getattr(args, dest) for dest in COMBINATION_DESTS.values() if getattr(args, dest)]


def _pixels_option(value: float | str, option: str, map_path: str | None, pixel_size: float | None) -> float:
    """``--extend``/``--soft-edge`` of a map mask in pixels: ``6``, ``"6 px"``, or ``"9 A"`` at the map's voxel size.

    The map's voxel size is ``pixel_size`` (``--pixel-size``) when given, else its header's.
    """
    from maskrun.config.shape_base import angstrom_to_pixels, parse_length
    from maskrun.io.images import inspect_image

    if isinstance(value, float):
        return value
    try:
        parsed = parse_length(value)
    except ValueError:
        raise UserError(f"'{value}' is not a length; write e.g. 6 (px), '6 px' or '9 A'", field=option) from None
    assert parsed is not None  # text
    number, in_angstrom = parsed
    if not in_angstrom:
        return number
    voxel = pixel_size or (inspect_image(map_path).voxel_size_xyz[0] if map_path else 0.0)
    if voxel <= 0:
        raise UserError(
            "is given in Å, but the map's voxel size is 0 in its header; pass --pixel-size (Å per voxel), or give it "
            "in pixels",
            field=option,
        )
    return angstrom_to_pixels(number, voxel)


def _voxel_size(path: str, pixel_size: float | None) -> float | None:
    """The voxel size of the map at ``path`` (``pixel_size``, --pixel-size, when given), when it has one; None when
    it is not a map that can be read (its option says so later) or gives none."""
    from maskrun.io.images import inspect_image

    if pixel_size is not None:
        return pixel_size
    try:
        voxel = inspect_image(path).voxel_size_xyz[0]
    except (UserError, OSError):
        return None
    return voxel if voxel > 0 else None


def _check_map_voxel_size(params: MapMaskParams, pixel_size: float | None) -> None:
    """Refuse the steps that need a voxel size the map's header does not give; warn of one the given replaces.

    Raises
    ------
    UserError
        A low-pass, or a threshold that is a volume or a mass, without ``--pixel-size`` for a
        map whose header gives no voxel size, proposing ``--pixel-size``.
    """
    from maskrun.config.threshold import threshold_rule
    from maskrun.io.images import inspect_image
    from maskrun.io.pixel_size import given_over_header

    info = inspect_image(params.file)
    header = info.voxel_size_xyz[0]
    if pixel_size is not None:
        differs = given_over_header(header, pixel_size, "--pixel-size")
        if differs:
            text, warn = differs
            print(f"maskrun: {'warning' if warn else 'note'}: {info.path}: {text}", file=sys.stderr)
        return
    if header > 0:
        return
    fix = "pass --pixel-size (Å per voxel, as RELION's --angpix)"
    if params.lowpass_angstrom:
        raise UserError(
            f"a low-pass needs the map's voxel size, and its header gives none; {fix}, or leave out the low-pass",
            source=str(info.path),
            field="--lowpass",
        )
    rule = threshold_rule(params.threshold)
    if rule.kind == "volume":
        raise UserError(
            f"'{rule.text}' needs the map's voxel size, and its header gives none; {fix}, or give a number",
            source=str(info.path),
            field="--threshold",
        )


def _model_mask(args: argparse.Namespace) -> int:
    from maskrun.config.model_mask_params import ModelMaskParams
    from maskrun.engine.mask_output import kept_volume, write_mask
    from maskrun.engine.model_mask_file import mask_from_model_file

    if args.like is None:
        raise UserError("--from-model needs --like MAP, the map whose grid (box, voxel size, origin) the mask takes")
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
    known = _voxel_size(args.like, None) if isinstance(args.molmap, str) else None  # to say '6 px' in Å
    params = validated(
        ModelMaskParams, {k: v for k, v in data.items() if v is not None}, errors, label=label, pixel_size=known
    )
    raise_collected(errors)
    with _written_alone():
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
        holds=MADE,
        labels=recipe_labels(args),
    )
    print(f"maskrun: note: {path.name}: {kept_volume(made.values, voxel)}", file=sys.stderr)
    print(f"wrote {path}: {_box_words(made.values, made.info)} mask, {kept_words(made.values)}")
    return 0


def _box_words(values: np.ndarray, like: ImageInfo | None) -> str:
    """The mask's box along x, y, z (``60 x 70 x 64``): ``values`` are stored as ``like`` stores its axes, if given."""
    box = like.box_xyz if like is not None and values.ndim == 3 else values.shape[::-1]
    return " x ".join(map(str, box))


def _shape_mask(
    args: argparse.Namespace,
) -> tuple[np.ndarray, tuple[float, float, float], tuple[float, float, float], ImageInfo | None]:
    """The shape's mask, its voxel size and origin, and the map (``--like``) whose placement it takes, if any."""
    from maskrun.api import make_mask
    from maskrun.engine.one_file import decide_kind, refuse_angstrom_at_the_header, two_d_shape_on_a_volume
    from maskrun.io.images import inspect_image, metadata_kind

    if (args.box is None) == (args.like is None):
        raise UserError("give the box with --box N [NY [NZ]] or --like FILE (one of them)", field="--box")
    errors: list[UserError] = []
    geometry = validated_geometry(args, errors)
    compat = validated(Compat, args.compat or "maskrun", errors, option="--compat")
    raise_collected(errors)
    assert compat is not None  # else errors were raised
    pixel_size = pixel_size_option(args.pixel_size)
    voxel, origin = (0.0, 0.0, 0.0), (0.0, 0.0, 0.0)
    like = None
    box: tuple[int, ...]
    first_length = geometry.first_length_in_angstrom
    if args.like and metadata_kind(args.like):
        box, pixel = _particle_set_grid(args.like, pixel_size, first_length and option_name(first_length))
        voxel = (pixel, pixel, pixel)
    elif args.like:
        info = inspect_image(args.like)
        nz, ny, nx = info.shape_zyx
        kind = decide_kind(info)[0]
        if 3 not in geometry.dims and kind == "volume":  # as maskrun mask refuses it
            raise UserError(
                two_d_shape_on_a_volume(geometry.shape, geometry.instead, info, f"give --box {nx} {ny}"),
                source=str(args.like),
            )
        named_a_stack = info.says_a_stack  # .mrcs, a SPIDER stack: never a map
        # a shape of 2D and 3D takes the file as maskrun mask reads it: a stack's images get the 2D mask
        dims = nz > 1 and ((geometry.dims == (3,) and not named_a_stack) or kind == "volume")
        box = (nz, ny, nx) if dims else (ny, nx)
        try:  # a 3D shape on images: refused before any word on their pixel size
            geometry.refuse_if_not_in(len(box))
        except FieldError as exc:
            raise UserError(exc.message, field="--shape") from None
        voxel, origin = info.voxel_size_xyz, info.origin_xyz
        # a map: the mask sits where it does, stored in its axis order, at --pixel-size if given
        like = (info if pixel_size is None else info.with_voxel_size(pixel_size)) if dims else None
        stack_words = _looks_like_a_stack(info, geometry.dims, geometry.instead) if dims else None
        if stack_words:
            print(f"maskrun: warning: {args.like}: {stack_words}", file=sys.stderr)
        elif geometry.dims == (2, 3) and not dims and not named_a_stack and info.marks_a_stack:
            print(  # a .mrcs says it is a stack by its name; an .mrc only by its header
                f"maskrun: note: {args.like}: read as a stack of {nz} images of {nx} x {ny} (its header marks one: "
                f"ispg 0, mz 1): the {geometry.shape} mask is 2D, {nx} x {ny}; for a 3D mask give --box {nx} {ny} {nz}",
                file=sys.stderr,
            )
        if dims and info.axis_map != (1, 2, 3):
            print(
                f"maskrun: note: {args.like}: stores its axes as {info.stored_axes} (mapc, mapr, maps = "
                f"{', '.join(map(str, info.axis_map))}): the shape is laid along the stored axes, as RELION reads the "
                f"map, so its x, y, z are the map's {info.stored_axes}; the mask keeps that order",
                file=sys.stderr,
            )
        if pixel_size is not None:
            _warn_given_over(args.like, info.voxel_size_xyz[0], pixel_size, "its header gives")
        elif first_length is not None:  # as maskrun mask refuses them on this file; a map's 1 Å/px warned of below
            refuse_angstrom_at_the_header(info, first_length, option_name, stack=not dims)
    else:
        sizes = list(args.box)
        if len(sizes) == 1:
            if geometry.dims == (2, 3):
                raise UserError(f"'{geometry.shape}' exists in 2D and 3D: give --box N N or --box N N N", field="--box")
            sizes *= geometry.dims[0]
        if len(sizes) not in (2, 3) or min(sizes) < 1:
            raise UserError(f"needs 2 or 3 positive sizes (x y [z]); got {args.box}", field="--box")
        box = tuple(sizes[::-1])
    if pixel_size is not None:
        voxel = (pixel_size, pixel_size, pixel_size)
    if first_length is not None and voxel[0] <= 0:
        raise UserError(
            "is given in Å, but the pixel size is unknown: pass --pixel-size (Å per pixel), or give it in pixels",
            field=option_name(first_length),
        )
    # not a particle set's: its metadata's 1 Å/px is its pixel size, and one whose stacks' headers alone gave it
    # refused lengths in Å (`_particle_set_grid`)
    if args.like and args.pixel_size is None and voxel[0] == PLACEHOLDER_ANGSTROM and not metadata_kind(args.like):
        said, words = _placeholder_words(first_length is not None)
        print(f"maskrun: {said}: {args.like}: {words}", file=sys.stderr)
    try:
        with _written_alone():
            values = make_mask(geometry, box, compat=compat, pixel_size=voxel[0])
    except UserError as exc:
        exc.field = option_name(str(exc.field).removeprefix("shape.")) if exc.field else None
        raise
    return values, voxel, origin, like


def _placeholder_words(lengths_in_angstrom: bool) -> tuple[str, str]:
    """What to say of ``--like``'s 1 Å/px (`PLACEHOLDER_ANGSTROM`), a map's or stack's header, the mask's pixel size:
    ``(kind, words)``.

    A stack's header holds RELION's placeholder, which the mask records: a job on the particles
    (2.8 Å/px, say) then refuses it. A warning when lengths in Å were converted at it (a map's:
    at a stack's they were refused, `refuse_angstrom_at_the_header`), else a note.
    """
    instead = (
        "give --like the particle set (.star/.cs: it carries the optics' pixel size) or --pixel-size (Å per pixel)"
    )
    if lengths_in_angstrom:
        return "warning", (
            "lengths in Å were converted at its header's 1 Å/px, the placeholder RELION writes in particle stacks "
            "(and many programs when they do not know it), and the mask records it; if that is not the pixel size, "
            f"{instead}, or give the lengths in pixels"
        )
    return "note", (
        "its header gives 1 Å/px, the placeholder RELION writes in particle stacks (and many programs when they do "
        f"not know it), and the mask records it; if that is not the pixel size, {instead}"
    )


def _looks_like_a_stack(info: ImageInfo, dims: tuple[int, ...], instead: str) -> str | None:
    """Why a file ``--like`` takes for a map, to make a 3D mask of its box, looks like a stack of images; None if not.

    cryoSPARC writes its particle stacks as ``…_particles.mrc`` (ispg 0, mz 1: MRC2014's mark of
    a stack); a map only a few slices thick looks like one too, whatever its ispg (stacks saved
    as .mrc with ispg 1 exist). Only a warning: a thin volume is a volume, and the mask is made
    as asked. A SPIDER header says which it holds (ISTACK): none is warned of.
    """

    nz, ny, nx = info.shape_zyx
    if info.declared_kind is not None:
        return None
    if info.marks_a_stack:
        why = "its header marks one: ispg 0, mz 1"
    elif nz * THIN_LIKE <= min(nx, ny):  # ispg 1 too: cryoDRGN's empiar_10076_7.mrc, 7 images of 320², says 1
        ispg_0 = "ispg 0, and " if info.format.startswith("mrc") and info.ispg == 0 else ""
        why = f"{ispg_0}{nz} slices against {nx} x {ny}"
    else:
        return None
    two_d = f"--box {nx} {ny}" if 2 in dims else f"--shape {instead.split()[0]} --box {nx} {ny}"
    return (
        f"it looks like a stack of {nz} images of {nx} x {ny} ({why}; cryoSPARC writes particle stacks as .mrc), "
        f"and the mask is 3D, {nx} x {ny} x {nz}: for a 2D mask give --like the set (.cs/.star) or {two_d}; "
        "for a 3D mask give --like a map"
    )


def _particle_set_grid(
    path: str, pixel_size: float | None, length_in_angstrom: str | None = None
) -> tuple[tuple[int, int], float]:
    """The box (ny, nx) of a particle set's images and its pixel size (``pixel_size`` if given), for ``--like``.

    ``length_in_angstrom``: the option of the first length given in Å, if any (``--radius``).

    Raises
    ------
    UserError
        As `maskrun.formats.registry.load_particle_set` (stacks not found, of several boxes); for
        optics groups of several pixel sizes without ``--pixel-size``; and, without it, on
        ``length_in_angstrom`` when the set's only pixel size is its stacks' headers' 1 Å/px or
        none, as a job on the set refuses it.
    """
    from maskrun.formats.registry import load_particle_set

    particles = load_particle_set(path, written_back=False, names=LIKE_NAMES)
    if length_in_angstrom and pixel_size is None and particles.header_is_no_pixel_size:
        raise UserError(
            f"is given in Å, but {particles.only_header_said}: pass --pixel-size (Å per pixel), or give it in pixels",
            source=path,
            field=length_in_angstrom,
        )
    if particles.pixel_sizes_angstrom and pixel_size is None:
        raise UserError(
            f"its {particles.pixel_sizes_differ}, and a mask has one; give a "
            "set of one pixel size, or the one to record with --pixel-size",
            source=path,
            field="--like",
        )
    if pixel_size is not None:
        _warn_given_over(path, particles.pixel_size_angstrom, pixel_size, "its particles' pixel size is")
    return particles.box_yx, pixel_size or particles.pixel_size_angstrom


def _warn_given_over(like: str, found: float, given: float, its: str) -> None:
    """Warn (`MaskrunWarning`) that ``--pixel-size`` replaces the pixel size of ``--like`` more than 1 % off; not
    a header's 1 Å/px, the value programs write when they do not know it, which ``--pixel-size`` is for."""
    from maskrun.io.pixel_size import given_over_header

    differs = given_over_header(found, given, "--pixel-size")
    if differs is None:
        return
    text, warn = differs
    if warn:
        warnings.warn(f"{like}: " + text.replace("its header gives", its, 1), MaskrunWarning, stacklevel=2)
