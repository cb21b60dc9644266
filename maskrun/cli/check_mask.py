"""``maskrun check-mask``: the FSC curves of two half-maps with a mask, and a verdict on the mask."""

from __future__ import annotations

import argparse
import functools
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from maskrun.cli.options import Commands

# how a user checks a mask of part of the particle as one, told when the density a mask leaves out lies in parts
HOW_FOCUSED = "run check-mask with --focused (check.focused: true in a job)"
# what the free-space check asks for: at 64³ the JSON is 10 KB (with --search, more), a figure 0.1-0.2 MB
JSON_BYTES = 100_000
FIGURE_BYTES = 1_000_000


def add_parser(commands: Commands) -> None:
    """Add ``check-mask`` to the ``maskrun`` subcommands."""
    p = commands.add_parser(
        "check-mask",
        help="judge a mask by the FSC of two half-maps (as relion_postprocess computes it)",
        description="FSC per shell of the unmasked, masked and phase-randomised masked half-maps and the "
        "corrected FSC, as RELION 3.1.3's relion_postprocess computes them; the resolution at 0.143; and a "
        "verdict on the mask (too tight, hard edge, too loose, fine, or a tight and loose conflict: no mask can pass "
        "both on these half-maps) with what to change.",
    )
    p.add_argument("--half1", required=True, metavar="H1", help="first half-map (MRC)")
    p.add_argument("--half2", required=True, metavar="H2", help="second half-map, same box and voxel size")
    p.add_argument("--mask", required=True, metavar="M", help="the mask (values in [0, 1]), same box")
    p.add_argument(
        "--json",
        metavar="OUT",
        help="write the curves, measures and verdict to this JSON file (-: to standard output, the summary then "
        "going to standard error)",
    )
    p.add_argument("--angpix", type=float, help="voxel size in Å (default: the half-maps' header)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random phases (default 0, as RELION)")
    p.add_argument(
        "--figure",
        metavar="OUT",
        help="draw the four curves, the verdict and the mask over the map (.png, .pdf or .svg, as the name ends)",
    )
    p.add_argument(
        "--search",
        action="store_true",
        help=(
            "also try the mask's 0.5 contour extended by -2..8 px and softened by 3..12 px, and the verdict's mask "
            "beside them; report the tightest fine (trying tighter while the tightest tried is fine; where none is, on "
            "toward the verdict's mask), the last line the one make-mask command to run"
        ),
    )
    p.add_argument(
        "--focused",
        action="store_true",
        help="the mask is of part of the particle (one domain, or without the micelle): the density it leaves out "
        "in parts reaching past a margin is left out by design, not counted as too tight nor grown over",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing --json or --figure file")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Check the mask; print the summary, write the JSON if asked. Returns the exit status."""
    from maskrun.cli.format_suffixes import take_format_suffixes
    from maskrun.engine.heap import reuse_freed_memory, small_pages_for_arrays
    from maskrun.engine.mask_check import check_json, check_mask, check_summary
    from maskrun.errors import SettingError, UserError
    from maskrun.io.atomic import write_atomic
    from maskrun.io.output_space import (
        check_not_an_input,
        check_output_location,
        is_taken,
        refuse_folder,
        refuse_not_a_file,
    )
    from maskrun.jobs.make_mask_commands import remake_command, remap_command
    from maskrun.report.figure_formats import figure_format

    take_format_suffixes(args, ("half1", "half2", "mask"))
    to_stdout = args.json == "-"  # the JSON is the output a script reads; the words go to stderr
    out = Path(args.json) if args.json and not to_stdout else None
    say = functools.partial(print, file=sys.stderr if to_stdout else sys.stdout)
    figure = Path(args.figure) if args.figure else None
    image_format = figure_format(figure, "--figure") if figure is not None else None
    if out is not None and figure is not None and out.resolve() == figure.resolve():
        raise UserError(
            "is named by both --json and --figure: give each its own file", source=str(out), field="--figure"
        )
    for path in (out, figure):
        if path is None:
            continue
        check_not_an_input(path, [Path(args.half1), Path(args.half2), Path(args.mask)])
        refuse_not_a_file(path)
        refuse_folder(path)
        if is_taken(path) and not args.overwrite:
            raise SettingError(
                "exists; maskrun never replaces a file unless asked: add {setting} or choose another name",
                setting="overwrite",
                value=True,
                source=str(path),
            )
        # a read-only or full folder refused now, not once the curves are computed; a missing one is made (as
        # make-mask and mask make theirs)
        size = JSON_BYTES if path == out else FIGURE_BYTES
        check_output_location(path.parent, size, field="--json" if path == out else "--figure")
    reuse_freed_memory()
    small_pages_for_arrays()
    try:
        fields = ("--half1", "--half2", "--mask")
        check = check_mask(args.half1, args.half2, args.mask, args.angpix, args.seed, fields, args.focused)
    except UserError as exc:
        exc.message = exc.message.replace("give the voxel size", "give --angpix")
        exc.field = "--angpix" if exc.field == "voxel size" else exc.field
        raise
    mask = str(check.mask)
    remade = lambda remake: remake_command(remake, mask)  # noqa: E731
    say(check_summary(check, remade, HOW_FOCUSED, lambda remap: remap_command(mask, remap)))
    report = check_json(check, HOW_FOCUSED)
    if args.search:
        from maskrun.engine.mask_advice import CONFLICT
        from maskrun.engine.mask_search import grown_all_round_note, search_masks
        from maskrun.engine.search_answer import search_answer, search_json, search_summary
        from maskrun.jobs.make_mask_commands import search_command

        search = search_masks(check)
        voxel, fine = check.curves.voxel_size_angstrom, check.verdict == "fine"
        say(search_summary(search, voxel, str(check.mask), fine, check.verdict == CONFLICT))
        note = grown_all_round_note(check)
        if note is not None:
            say(f"note: {note}")
        answer = search_answer(search, fine)
        make_it = None if answer is None else search_command(answer, str(check.mask), search)
        if make_it is not None:  # the last line: the one command to run
            say(f"make it: {make_it}")
        report["search"] = search_json(search, fine, make_it, note)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(out, json.dumps(report, indent=1) + "\n")
        say(f"wrote {out}")
    if to_stdout:
        sys.stdout.write(json.dumps(report, indent=1) + "\n")
    if figure is not None and image_format is not None:
        from maskrun.report.fsc_figure import check_figure

        drawn = check_figure(check, image_format)
        figure.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(figure, drawn)
        say(f"wrote {figure}")
    return 0
