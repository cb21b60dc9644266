"""``maskrun project-mask MASK3D PARTICLES OUT.mrcs``: each particle's own mask, a 3D mask projected at its pose."""

from __future__ import annotations

import argparse
import dataclasses
import functools
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from maskrun.cli.options import Commands, length, option_name, raise_collected, validated
from maskrun.config.projection_params import DEFAULT_SOFT_EDGE_PX, DEFAULT_THRESHOLD, ProjectionParams
from maskrun.errors import UserError, held_warnings
from maskrun.formats.setting_names import SettingNames

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy as np

    from maskrun.formats.particle_set import ParticleSet
    from maskrun.formats.poses import Poses
    from maskrun.io.image_info import ImageInfo

OPTIONS = {"mode": "--mode", "threshold": "--threshold", "soft_edge_px": "--soft-edge", "file": "MASK3D"}
# how the formats' fixes name this command's settings: a job's project_dir, passthrough and image_column are options
OPTION_NAMES = SettingNames(
    particles="PARTICLES", project_dir="--project-dir", passthrough="--passthrough", image_column="--image-column"
)


def add_parser(commands: Commands) -> None:
    """Add ``maskrun project-mask`` to the subcommands ``commands``."""
    p = commands.add_parser(
        "project-mask",
        help="write each particle's mask: a 3D mask projected at its pose and origin",
        description="Project a 3D mask at every particle's orientation and origin (as relion_project "
        "--i MASK3D --ang PARTICLES does) and write one 2D mask per particle, in particle order: "
        "'support' (default) keeps the pixels above --threshold of each projection's peak with a soft edge "
        "of --soft-edge px; 'scaled' is the projection divided by its peak; --raw writes the projections "
        "themselves. Poses come from RELION STAR (3.0 or 3.1+), cryoSPARC .cs, Xmipp .xmd or a Scipion set. "
        "The particles' stacks need not be here: without them the box and pixel size come from the metadata, "
        "else from MASK3D (a note says which).",
    )
    p.add_argument("mask3d", metavar="MASK3D", help="the 3D mask (MRC), of the particles' box and pixel size")
    p.add_argument("particles", metavar="PARTICLES", help="the particles with poses (.star, .cs, .xmd, .sqlite)")
    p.add_argument("output", metavar="OUT.mrcs", help="the stack of masks to write, one per particle")
    p.add_argument("--raw", action="store_true", help="write the projections (line integrals), not masks")
    p.add_argument("--mode", choices=("support", "scaled"), help="how a projection becomes a mask (default support)")
    p.add_argument(
        "--threshold",
        type=float,
        help=f"support: the fraction of each projection's peak kept (default {DEFAULT_THRESHOLD:g})",
    )
    p.add_argument(
        "--soft-edge",
        type=length,
        help=f"support: raised-cosine edge width in px, 6 or '6 px' (default {DEFAULT_SOFT_EDGE_PX:g})",
    )
    p.add_argument("--project-dir", help="where the set's relative stack paths start (cryoSPARC, Scipion)")
    p.add_argument(
        "--passthrough",
        dest="passthrough_cs",  # main's args.passthrough is what follows a lone --, for Snakemake
        metavar="FILE",
        help="a cryoSPARC set's passthrough .cs, joined on uid: where its poses are after Restack, Downsample or "
        "Extract (as a job's inputs.passthrough)",
    )
    p.add_argument(
        "--image-column",
        metavar="NAME",
        help="a .star or .xmd set's column of the particles' images (default rlnImageName or image; Xmipp "
        "programs write several) (as a job's inputs.image_column)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing OUT.mrcs")
    p.set_defaults(handler=run)


@dataclass
class _Request:
    """A checked ``project-mask`` request: what to project, at which poses, into which file."""

    output: Path
    params: ProjectionParams
    particles: ParticleSet
    poses: Poses
    volume: np.ndarray
    box_yx: tuple[int, int]
    pixel_size_angstrom: float
    note: str | None = None  # where the box and pixel size came from, when the stacks were not all found
    turned: str | None = None  # the 3D mask stored in another axis order (`axis_order_note`)


def run(args: argparse.Namespace) -> int:
    """Carry out ``maskrun project-mask``; returns the exit status."""
    import numpy as np

    from maskrun.cli.format_suffixes import take_format_suffixes
    from maskrun.engine.projected_masks import ProjectedMasks
    from maskrun.errors import MaskrunWarning
    from maskrun.geometry.projected_cut import projected_cut_warning
    from maskrun.geometry.projected_mask import cut_by_box
    from maskrun.io.mrc_writer import MrcStreamWriter

    take_format_suffixes(args, ("mask3d",), ("output",))
    with held_warnings():  # until every check passed: a refused command prints its one error line only
        request = _checked(args)
    output, poses = request.output, request.poses
    count, (ny, nx) = len(poses), request.box_yx
    if request.note is not None:
        print(f"maskrun: note: {request.particles.source}: {request.note}", file=sys.stderr)
    if request.turned is not None:
        print(f"maskrun: note: {request.turned}", file=sys.stderr)
    output.parent.mkdir(parents=True, exist_ok=True)
    projected = ProjectedMasks(request.volume, request.params, raw=args.raw)
    pixel = request.pixel_size_angstrom
    angles = (poses.rot_deg, poses.tilt_deg, poses.psi_deg, poses.origin_x_px, poses.origin_y_px)
    holds = "projections made by project-mask --raw" if args.raw else "masks projected by project-mask"
    cut = []  # whether each mask reaches the box edge, as a job's report judges its sample (projections: not masks)
    with MrcStreamWriter(output, (count, ny, nx), "stack", (pixel, pixel, pixel), holds=holds) as writer:
        for _, block in projected.blocks(*angles):
            writer.write(block)
            cut += [] if args.raw else [cut_by_box(block)]
    what = "projections" if args.raw else f"{request.params.mode} masks"
    print(f"wrote {output}: {count} {what} of {nx} x {ny}, in particle order", file=sys.stdout)
    if cut:
        said = projected_cut_warning(np.concatenate(cut), poses.origin_x_px, poses.origin_y_px, nx, count)
        if said is not None:
            warnings.warn(f"{args.mask3d}: {said}", MaskrunWarning, stacklevel=1)
    return 0


def _checked(args: argparse.Namespace) -> _Request:
    """Every check of the request, before anything is written (a `UserError` for the first mistake)."""
    from maskrun.engine.projected_masks import (
        axis_order_note,
        projection_header,
        read_projection_volume,
        warn_if_not_a_mask,
    )
    from maskrun.formats.poses import poses_of
    from maskrun.formats.registry import load_particle_set
    from maskrun.io.atomic import remove_stale_parts
    from maskrun.io.mrc_writer import check_mrc_name, warn_of_a_stack_named_mrc
    from maskrun.io.output_space import (
        check_not_an_input,
        check_output_location,
        refuse_folder,
        refuse_taken,
    )
    from maskrun.io.paths import check_project_dir, file_not_found, is_file

    output = Path(args.output)
    passthrough = Path(args.passthrough_cs) if args.passthrough_cs else None
    inputs = [Path(args.mask3d), Path(args.particles), *([passthrough] if passthrough else [])]
    check_not_an_input(output, inputs)
    errors: list[UserError] = []
    given = {"threshold": args.threshold, "soft_edge_px": args.soft_edge}  # None: the default (scaled refuses them)
    if args.raw:  # as scaled refuses a threshold: an option that would change nothing is a misunderstanding
        options = {"--mode": args.mode, "--threshold": args.threshold, "--soft-edge": args.soft_edge}
        making = [option for option, value in options.items() if value is not None]
        if making:
            raise UserError(
                f"{', '.join(making)} make{'s' * (len(making) == 1)} masks, and --raw writes the projections "
                f"themselves; drop {'it' if len(making) == 1 else 'them'} or --raw",
                field="--raw",
            )
    data = {"file": args.mask3d, "mode": args.mode or "support", **{k: v for k, v in given.items() if v is not None}}
    voxel = _voxel_size(args.mask3d) if isinstance(args.soft_edge, str) else None  # to say '6 A' in px
    params = validated(
        ProjectionParams,
        data,
        errors,
        label=lambda loc: OPTIONS.get(str(loc[-1]), option_name(loc)),
        pixel_size=voxel,
    )
    raise_collected(errors)
    assert params is not None  # validated gives a model when it collected no error
    check_mrc_name(output, "stack")
    refuse_folder(output)
    refuse_taken(output, args.overwrite)
    remove_stale_parts(output)  # a killed project-mask's temporary file, as large as its output
    project_dir = Path(args.project_dir) if args.project_dir else None
    if project_dir is not None:
        check_project_dir(project_dir, "--project-dir")
    if passthrough is not None and not is_file(passthrough):
        raise file_not_found(passthrough, field="--passthrough")
    if passthrough is not None and Path(args.particles).suffix.lower() != ".cs":
        raise UserError(
            f"joins a cryoSPARC set with its passthrough .cs, and {args.particles} is no .cs; drop --passthrough",
            field="--passthrough",
        )
    if args.image_column is not None and Path(args.particles).suffix.lower() not in (".star", ".xmd"):
        raise UserError(
            f"picks a column of a .star or .xmd set, and {args.particles} is neither; drop --image-column",
            field="--image-column",
        )
    particles = load_particle_set(
        args.particles,
        image_column=args.image_column,
        project_dir=project_dir,
        passthrough=passthrough,
        written_back=False,  # nor warned of the STAR written beside a .cs: this command writes none
        need_stacks=False,
        names=OPTION_NAMES,
    )
    check_not_an_input(output, [*inputs, *particles.stack_paths])  # the particles' own stacks, too
    header = functools.cache(lambda: projection_header(args.mask3d, field="MASK3D"))  # read once, where first needed
    box, pixel, box_from, note = _frame(particles, args.mask3d, header)
    if pixel != particles.pixel_size_angstrom:  # the 3D mask's: Å origins and .cs shifts are read at it
        particles = dataclasses.replace(particles, pixel_size_angstrom=pixel)
    poses = poses_of(particles)  # its fixes name the options too: the set keeps OPTION_NAMES
    volume = read_projection_volume(args.mask3d, box, pixel, field="MASK3D", box_from=box_from, header=header())
    if not args.raw:  # raw projections of a map are what --raw is for
        warn_if_not_a_mask(volume, args.mask3d)
    ny, nx = box
    warn_of_a_stack_named_mrc(output, len(poses))
    check_output_location(output.parent, 1024 + len(poses) * ny * nx * 4)
    return _Request(output, params, particles, poses, volume, box, pixel, note, axis_order_note(header()))


def _voxel_size(mask3d: str) -> float | None:
    """The 3D mask's voxel size, the particles' pixel size (Å/px), when its header gives one; None when it gives
    none or is no image that can be read (MASK3D is refused for that later)."""
    from maskrun.io.images import inspect_image

    try:
        voxel = inspect_image(mask3d).voxel_size_xyz[0]
    except (UserError, OSError):
        return None
    return voxel if voxel > 0 else None


def _frame(
    particles: ParticleSet, mask3d: str, header: Callable[[], ImageInfo]
) -> tuple[tuple[int, int], float, str, str | None]:
    """The particles' box and pixel size, where the box was read when not from the stacks, and the note saying so.

    From the stacks when every one is found (as a job reads them); else from the metadata,
    and what it lacks from the 3D mask's header (``header()``, read when needed: a cube N³
    gives N × N), as relion_project takes them from the STAR and the map alone.
    """
    from maskrun.engine.projected_masks import projection_frame
    from maskrun.io.paths import broken_link_said

    how = particles.without_stacks
    box, pixel = particles.box_yx, particles.pixel_size_angstrom
    if how is None:
        if pixel or particles.pixel_sizes_angstrom:
            return box, pixel, "", None
        # neither the metadata nor the stacks' headers give one (Xmipp's .xmd, say): the 3D mask's, as without the
        # stacks, so that the masks' header is the same either way
        mask_pixel = projection_frame(mask3d, field="MASK3D", header=header())[1]
        said = (
            f"the pixel size ({mask_pixel:g} Å) from the 3D mask's header: neither the metadata nor the stacks give it"
        )
        return box, mask_pixel, "", said if mask_pixel else None
    several = bool(particles.pixel_sizes_angstrom)  # optics groups of different pixel sizes: each row's is known
    if not how.box_field or not (pixel or several):
        mask_box, mask_pixel = projection_frame(mask3d, field="MASK3D", header=header())
        box = box if how.box_field else mask_box
        pixel = pixel or (0.0 if several else mask_pixel)
    ny, nx = box
    box_said = f"the box ({nx} x {ny}) from {how.box_field or 'the 3D mask'}"
    if several:
        field = particles.pixel_sizes_field
        pixel_said = f"each row's pixel size from {field}" if field else "each optics group's pixel size"
    elif particles.pixel_size_angstrom:
        pixel_said = f"the pixel size ({pixel:g} Å) from {how.pixel_field or 'the metadata'}"
    elif pixel:
        pixel_said = f"the pixel size ({pixel:g} Å) from the 3D mask's header"
    else:
        pixel_said = "no pixel size (neither the metadata nor the 3D mask's header gives one)"
    first = how.missing[0]
    broken = broken_link_said(first)  # the stack's link is there: --project-dir would find nothing elsewhere
    if how.named == 1:
        absent = (
            f"its stack {first} {broken or 'is not found (--project-dir finds it elsewhere)'}: projected without it"
        )
    else:
        why = f", which {broken}" if broken else "; --project-dir finds them elsewhere"
        absent = (
            f"{len(how.missing)} of its {how.named} stacks are not found ({first} first{why}): projected without them"
        )
    note = f"{absent}, {box_said}, {pixel_said}"
    box_from = f"{how.box_field} in {particles.source.name}" if how.box_field else ""
    return box, pixel, box_from, note
