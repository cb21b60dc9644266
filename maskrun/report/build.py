"""The report of a finished job: figures, warnings and parameters in ``<output>/report/``.

It reads only what it shows: a deterministic sample of particles (`SAMPLE` of them, evenly
spread over the set) from the input stacks and the masked ones, or every map and its masked
copy (one at a time), and the saved masks. A summary (data, mask and fill in px and Å, time,
warnings) heads the page; every figure has a caption. The warnings also go into the run record.
"""

from __future__ import annotations

import base64
import html
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from maskrun.errors import UserError, first_named
from maskrun.io.atomic import write_atomic
from maskrun.io.image_info import ImageInfo, MappedRows, in_xyz_order, read_rows
from maskrun.io.images import inspect_image
from maskrun.jobs.mask_warnings import check_warning, hard_edge_warning
from maskrun.jobs.plan import (
    NAMED,
    JobPlan,
    MaskKey,
    Unit,
    for_the_maps,
    map_groups,
    maps_words,
    mask_lines,
    masks_per,
    planned_mask,
)
from maskrun.jobs.provenance import read_record, write_record
from maskrun.report import checks, figures
from maskrun.report.outputs import next_step, output_lines
from maskrun.report.projected import (
    box_cut_warning,
    followed_cut_warning,
    followed_sample,
    resolved_shape,
    sampled_masks,
)
from maskrun.report.rings import radial_profile
from maskrun.report.summary import summary_lines

SAMPLE = 24


@dataclass
class Report:
    """What a report holds: its figure files, its warnings, its page."""

    folder: Path
    figures: dict[str, Path] = field(default_factory=dict)
    captions: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """Planning's notes (a model term's atoms selected, some outside the box), listed under the warnings."""
    summary: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    """The files the run wrote, with their sizes (`maskrun.report.outputs`), and what to do next with them."""
    next_step: str = ""

    @property
    def html(self) -> Path:
        return self.folder / "report.html"


def build_report(plan: JobPlan) -> Report:
    """Write the figures and ``report.html`` of a finished job; add the warnings to its run record."""
    plan = plan.with_metadata()  # the particles' offsets, for the centring check
    report = Report(plan.report_dir, warnings=list(plan.warnings), notes=list(plan.notes))  # planning's first
    report.folder.mkdir(parents=True, exist_ok=True)
    projected = plan.job.mask.projection is not None  # each particle's own mask: no saved mask of the box
    paths = _mask_paths(plan)
    masks = {} if projected else _saved_masks(plan, paths)
    pixel = (
        plan.particle_set.pixel_size_angstrom
        if plan.particles is not None
        else plan.volume_set.maps[0].voxel_size_xyz[0]
    )
    signal = None
    each_round = False  # projected masks: whether each sampled particle's own mask is round about its centre
    if plan.particles is not None:
        inputs, outputs, sampled = _sampled_particles(plan)
        if projected:
            poses = plan.placed(slice(None))  # for the montage's masks and the box-edge check
            shown = sampled_masks(plan, sampled, poses)
            # the sampled particles' mean mask, for the profile and the checks
            masks = {plan.mask_key(plan.units[0]): shown.mean(axis=0)}
            report.warnings += [w for w in [box_cut_warning(plan, poses)] if w]
            # the mean mask is judged by rings only when each particle's own mask is round about its centre
            *_, origin_x, origin_y = (values[sampled] for values in poses)
            each_round = all(checks.is_round(m, (-x, -y)) for m, x, y in zip(shown, origin_x, origin_y))
        else:
            shown = followed_sample(plan, sampled) if plan.job.mask.follow is not None else _only(masks)
            if plan.job.mask.follow is not None:  # each particle's own shape, placed (and turned): cut by the box?
                report.warnings += [w for w in [followed_cut_warning(plan)] if w]
        _save(report, "particles.png", figures.montage(inputs, outputs, shown))
        report.captions["particles.png"] = (
            f"{_sampled_text(sampled, len(plan.particle_set))}: each input (with "
            + ("its own mask's" if shown.ndim == 3 else "the mask's")
            + " 0.5 contour in yellow and its outer edge in orange) beside its masked image"
        )
        mean_image = np.nanmean(inputs, axis=0)
        signal = radial_profile(mean_image)
        centred = _centred(plan, inputs, sampled) if plan.job.mask.follow is not None else None
        turned = _turned(plan, inputs, sampled) if plan.job.mask.follow == "pose" else None
        report.warnings += _particle_warnings(plan, _only(masks), inputs, centred, turned, projected and each_round)
    else:
        _save(report, "map.png", figures.map_rows(_map_views(plan, masks)))
        names = [info.path.name for info in plan.volume_set.maps]
        report.captions["map.png"] = (
            f"{'the map' if len(names) == 1 else f'all {len(names)} maps'} ({', '.join(names)}), one row each, "
            "named on the left: central XY, "
            "XZ and YZ slices of the input (with the mask's 0.5 contour in yellow and its outer edge in orange) "
            "beside the masked ones, and the masked map's maximum projection along Z"
        )
    groups = map_groups(plan)  # each saved mask's maps
    panels = [
        figures.ProfilePanel(
            *radial_profile(mask), key[1] if groups else pixel, signal, _title(plan, groups, paths, key)
        )
        for key, mask in masks.items()
    ]
    _save(report, "profile.png", figures.profile_plot(panels))
    report.captions["profile.png"] = (
        "the mask's mean value in rings around the box centre, by radius in px"
        + (" (and Å, top)" if any(panel.pixel_size > 0 for panel in panels) else "")
        + ("; in red, the sampled inputs' mean image, scaled to 0-1" if signal is not None else "")
        + (f"; one panel per {masks_per(plan)}, named by its mask file and its maps" if len(panels) > 1 else "")
    )
    # a mask cut by the box: planning said it, of the maps whose masks it cut (`touches_the_box_edge`), or for
    # projected masks box_cut_warning
    found: dict[str, list[Unit]] = {}  # each warning, with the maps whose masks gave it
    for key, mask in masks.items():
        kept = checks.keeps_nothing_or_everything(mask, plan.kept_all_or_nothing_said)
        if kept:
            found.setdefault(kept, []).extend(groups.get(key, []))
    report.warnings += [for_the_maps(plan, units, warning) for warning, units in found.items()]
    if plan.job.mask.input_file is not None:
        report.warnings += [w for w in [checks.voxel_size_mismatch(mask_voxel_of(plan), pixel)] if w]
    record = read_record(plan.run_record_path)
    if plan.job.check is not None:  # the gather checked the first saved mask, as here
        saved = _check_figure(plan, report, plan.saved_mask(next(iter(paths.values()))))
        report.warnings += [*saved.get("warnings", []), *[w for w in [check_warning(saved)] if w]]
    report.warnings = list(dict.fromkeys(report.warnings))
    report.summary = summary_lines(
        record or {}, _data_text(plan, pixel), _mask_text(plan, record or {}), len(report.warnings), len(report.notes)
    )
    report.outputs, report.next_step = output_lines(plan, record or {}), next_step(plan)
    _write_html(plan, report)
    if record is not None:
        record["warnings"] = report.warnings
        write_record(plan.run_record_path, record)
    return report


def _only(masks: dict[MaskKey, np.ndarray]) -> np.ndarray:
    """The one mask of a particle job's box."""
    (mask,) = masks.values()
    return mask


def _title(plan: JobPlan, groups: dict[MaskKey, list[Unit]], paths: dict[MaskKey, Path], key: MaskKey) -> str:
    """A profile panel's title, where a set's maps have several saved masks (one per box and voxel size): the mask's
    file and the maps it masked, named; else none."""
    if len(groups) < 2:
        return ""
    return f"{paths[key].name}: {maps_words(plan, groups[key], named=True)}"


def _mask_text(plan: JobPlan, record: dict[str, Any]) -> list[str]:
    """The summary's mask lines, as ``validate`` words them, from the run record's mask as resolved: for a shape
    on maps of several boxes or voxel sizes, one line each, with each one's lengths as the run resolved them."""
    mask = record.get("job_resolved", {}).get("mask") or planned_mask(plan)
    each = mask.get("geometry_per_unit", {})
    lines = mask_lines(plan, mask, lambda unit: each.get(unit.id, mask.get("geometry")))
    return [line[:1].upper() + line[1:] for line in lines]


def _check_figure(plan: JobPlan, report: Report, mask_path: Path) -> dict[str, Any]:
    """The check's figure (``check.png``): the four FSC curves, the verdict and reasons, the mask over the map.

    Drawn from the check the gather made and saved (``check/check.json``), over the mean of
    the half-maps read again (the check itself, transforms included, is not redone).
    Returns the saved check.
    """
    from maskrun.report.fsc_figure import fsc_figure

    check, saved_path = plan.job.check, plan.check_output
    assert check is not None and saved_path is not None
    saved: dict[str, Any] = json.loads(saved_path.read_text())
    half1, half2, mask = (_whole(path) for path in (check.half1, check.half2, mask_path))
    title = f"{mask_path.name} on {check.half1.name} + {check.half2.name}"
    _save(report, "check.png", fsc_figure(saved, np.add(half1, half2) / 2, mask, title))
    report.captions["check.png"] = (
        f"the mask judged by the half-maps' FSC ({check.half1.name}, {check.half2.name}): verdict {saved['verdict']}; "
        "the unmasked, masked, phase-randomised masked and corrected curves (as relion_postprocess), and the "
        "mask's 0.5 contour (yellow) and outer edge (orange) over the halves' mean"
    )
    return saved


def _whole(path: Path) -> np.ndarray:
    """All rows (slices) of an image file."""
    info = inspect_image(path)
    return read_rows(info, 0, info.shape_zyx[0])


def _mask_paths(plan: JobPlan) -> dict[MaskKey, Path]:
    """Where each saved mask is (`JobPlan.mask_outputs`), by `JobPlan.mask_key`; {} for projected masks."""
    return {plan.mask_key(unit): path for path, unit in plan.mask_outputs().items()}


def _saved_masks(plan: JobPlan, paths: dict[MaskKey, Path]) -> dict[MaskKey, np.ndarray]:
    """The saved mask of each box and voxel size (``mask.mrc``, or one each under ``masks/``), by `JobPlan.mask_key`
    as ``paths`` lists them; a particle's as one image.

    Raises
    ------
    UserError
        When a mask is not there, in the folder of a run finished by a maskrun that saved one mask per box (maps of
        one box at two voxel sizes got the first one's): proposing to run the job again.
    """
    masks = {}
    for key, path in paths.items():
        saved = plan.saved_mask(path)
        if not saved.exists():  # else the run record, which lists every mask saved, said it is gone
            raise UserError(
                f"{path} is not there: the run was made by an older maskrun, which saved one mask per box, where "
                "maps of one box at several voxel sizes now get one each; run the job again with "
                "output.overwrite: true",
                source=str(plan.job.path),
                field="output.overwrite",
            )
        mask = _whole(saved)
        masks[key] = mask[0] if plan.particles is not None else mask
    return masks


def _map_views(plan: JobPlan, masks: dict[MaskKey, np.ndarray]) -> list[Any]:
    """Per map, in set order: its name, its input, masked and mask slices (its own box's and voxel size's), and the
    masked projection."""
    views = []
    for unit in plan.units:
        info = plan.volume_set.maps[unit.map_index]
        stored = (read_rows(info, 0, info.shape_zyx[0]), _whole(plan.unit_output(unit)), masks[plan.mask_key(unit)])
        volume, masked, mask = (in_xyz_order(a, info.axis_map) for a in stored)  # drawn as x, y, z, as stored or not
        slices = [figures.central_slices(a) for a in (volume, masked, mask)]
        views.append((info.path.name, *slices, np.nanmax(masked, axis=0)))
    return views


def _sampled_text(rows: np.ndarray, total: int) -> str:
    """``"24 particles sampled evenly from 600"``, never the list of rows."""
    if len(rows) == total:
        return f"all {total} particles" if total > 1 else "the particle"
    return f"{len(rows)} particles sampled evenly from {total} (the first and last included)"


def _data_text(plan: JobPlan, pixel: float) -> str:
    """What was masked: the particles or maps, their box and pixel size (each map's, where they differ; the
    particles' sizes, where their optics groups differ)."""
    if plan.particles is not None:
        particles = plan.particle_set
        ny, nx = particles.box_yx
        stacks = len(particles.stack_paths)
        count = f"{len(particles)} particle{'s' * (len(particles) != 1)}"
        return f"{count} of {nx} x {ny} px in {stacks} stack{'s' * (stacks > 1)}, {particles.pixel_size_said}"
    size = f", {pixel:g} Å/px" if pixel > 0 else ", pixel size unknown"
    maps = plan.volume_set.maps
    kinds: dict[tuple[Any, ...], list[ImageInfo]] = {}
    for info in maps:
        kinds.setdefault((info.box_xyz, info.axis_map, info.voxel_size_xyz[0]), []).append(info)
    if len(kinds) > 1:  # each kind of map with its own box and voxel size
        return f"{len(maps)} maps: " + "; ".join(_maps_text(infos) for infos in kinds.values())
    boxes = sorted({" x ".join(map(str, info.box_xyz)) for info in maps})
    text = f"{len(maps)} map{'s' * (len(maps) > 1)} of {', '.join(boxes)} px"
    others = [info for info in maps if info.axis_map != (1, 2, 3)]
    if others:  # sizes and figures are along x, y, z; the file's own order differs
        more = f" and {len(others) - 1} more" if len(others) > 1 else ""
        text += f" (x × y × z; {others[0].path.name}{more} stored as {others[0].stored_axes})"
    return text + size


def _maps_text(infos: list[ImageInfo]) -> str:
    """``a.mrc, b.mrc (20 x 20 x 20 px, 11.4 Å/px)``: maps of one box and voxel size, the first few named."""
    names = first_named([info.path.name for info in infos], NAMED)
    info = infos[0]
    stored = f", stored as {info.stored_axes}" if info.axis_map != (1, 2, 3) else ""
    voxel = info.voxel_size_xyz[0]
    size = f"{voxel:g} Å/px" if voxel > 0 else "pixel size unknown"
    return f"{names} ({' x '.join(map(str, info.box_xyz))} px{stored}, {size})"


def mask_voxel_of(plan: JobPlan) -> float:
    """The voxel size of a created mask's or a mask map's file."""
    source = plan.job.mask.input_file
    return inspect_image(source).voxel_size_xyz[0] if source is not None else 0.0


def _save(report: Report, name: str, png: bytes) -> None:
    path = report.folder / name
    write_atomic(path, png)
    report.figures[name] = path


def _sampled_particles(plan: JobPlan) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    particles = plan.particle_set
    rows = np.unique(np.linspace(0, len(particles) - 1, min(SAMPLE, len(particles))).round().astype(int))
    inputs, outputs = [], []
    for row in rows:
        stack = particles.stacks[particles.stack_paths[particles.stack_of_row[row]]]
        index = int(particles.image_index[row])
        with MappedRows(stack) as mapped:
            inputs.append(mapped.rows(index, index + 1)[0].astype(np.float32))
        unit = next(u for u in plan.units if u.first_row <= row < u.stop_row)
        masked = inspect_image(plan.unit_output(unit))
        with MappedRows(masked) as mapped:
            outputs.append(mapped.rows(row - unit.first_row, row - unit.first_row + 1)[0].astype(np.float32))
    return np.array(inputs), np.array(outputs), rows


TIGHT_PROJECTED = (
    "where the sampled particles' mean mask is below 0.5; widen the 3D mask (or lower projection.threshold, widen "
    "projection.soft_edge_px), unless it leaves out part of the particle on purpose"
)
TIGHT_SCALED = (  # threshold and soft_edge_px act only in mode support (and are refused with scaled)
    "where the sampled particles' mean mask is below 0.5; widen the 3D mask (or use projection.mode: support, whose "
    "threshold and soft edge widen it), unless it leaves out part of the particle on purpose"
)
TIGHT_FOLLOWING = (
    "where the shape, placed at each particle's recorded centre, is below 0.5; make the shape larger, unless it "
    "leaves out part of the particle on purpose"
)
NOT_ROUND = "judged pixel by pixel: it is not round, and a radius would mean nothing for it"
TIGHT_FIXED_2D = (
    f"where the mask is below 0.5 ({NOT_ROUND}); widen it where the particles' signal lies past it (particles.png "
    "shows where), unless it leaves out part of the particle on purpose"
)


def tight_following_2d(turned: bool) -> str:
    """The tight warning's ending for a shape that follows and is not round: judged on the images lined up with it."""
    how = "moved to the box centre by its recorded origin" + (" and turned back by its psi" if turned else "")
    return (
        f"where the shape is below 0.5, each particle {how} ({NOT_ROUND.replace('it is', 'the shape is')}); make "
        "the shape larger where the signal lies past it, unless it leaves out part of the particle on purpose "
        "(a filament running on past a box's ends does)"
    )


def _particle_warnings(
    plan: JobPlan,
    mask: np.ndarray,
    sample: np.ndarray,
    centred: np.ndarray | None = None,
    turned: np.ndarray | None = None,
    projected_round: bool = False,
) -> list[str]:
    """The hard-edge, tight-mask and centring warnings, worded for fixed, projected or following masks.

    ``mask`` is the saved mask of the box (for ``follow``: the shape at the box centre) or,
    for projected masks, the sampled particles' mean one. ``sample``: the sampled particles
    (`checks.tight_on_sample`). ``centred``, for ``follow``: the sampled particles, each moved
    to the box centre by its recorded origin, which the shape at the centre is judged against
    (as sampled, each particle lies where its offset put it: a shape keeping all but 0.6 % of
    each particle was called tight at 6 %); ``turned``, for ``follow: pose``: each also turned
    back by its psi.

    The tight check's rings mean something only for a mask round about the box centre
    (`checks.is_round`): any other (a box, an ellipse, a shape off the centre) is judged pixel
    by pixel on the images lined up with it (`checks.tight_in_2d`), with no radius; projected
    masks, each particle's own, only when each is round about its particle's centre
    (``projected_round``: the sampled masks' mean is then judged by rings, as before), else not
    at all: the particles' images, each seen at another angle, do not line up with one mask.
    """
    spec = plan.job.mask
    geometry, projection = spec.geometry, spec.projection
    gaussian = geometry is not None and geometry.shape == "gaussian"  # told its sigma too
    hard_edge = hard_edge_warning(spec, mask)  # as planning said it: the same sentence, said once
    advice = None
    if projection is not None:
        advice = TIGHT_PROJECTED if projection.mode == "support" else TIGHT_SCALED
    elif spec.follow is not None:
        advice = TIGHT_FOLLOWING
    judged = geometry is None or not geometry.invert  # an inverted mask keeps the outside: tightness has no meaning
    follows = projection is not None or spec.follow is not None  # each mask follows its particle's origin
    tight = None
    if not judged or (projection is not None and not projected_round):
        tight = None
    elif projection is not None or checks.is_round(mask):
        tight = checks.tight_on_sample(mask, sample if centred is None else centred, advice, gaussian)
    elif spec.follow is not None:
        aligned = turned if turned is not None else centred
        assert aligned is not None  # build_report centres (and turns) the sample of a shape that follows
        tight = checks.tight_in_2d(mask, aligned, tight_following_2d(turned is not None))
    else:
        tight = checks.tight_in_2d(mask, sample, TIGHT_FIXED_2D)
    found = [
        hard_edge,
        tight,
        # the origins (2 s to read for a million rows) only where the check is made
        checks.centres_near_the_contour(particle_offsets_px(plan), mask) if judged and not follows else None,
    ]
    return [w for w in found if w]


def _centred(plan: JobPlan, inputs: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """The sampled inputs, each moved by its recorded origin so that its particle sits at the box centre."""
    from scipy import ndimage

    *_, x, y = plan.placed(rows)  # the particle lies at the centre less its origin (planning read them)
    moved = [ndimage.shift(np.nan_to_num(image), (dy, dx), order=1) for image, dx, dy in zip(inputs, x, y)]
    return np.stack(moved)


def _turned(plan: JobPlan, inputs: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """The sampled inputs lined up with the unturned shape (``follow: pose``): each particle's pixel under its own
    shape's point (x', y') brought to where the shape at the box centre has that point; NaN where no pixel maps.

    The inverse of `maskrun.geometry.turned_shape.turned_mask` as the job placed it: the shape's centre
    (its ``center`` less the particle's origin) and its turn by −psi about it.
    """
    from scipy import ndimage

    shape = resolved_shape(plan)
    cx, cy = (float(shape.center[0]), float(shape.center[1])) if shape.center is not None else (0.0, 0.0)
    _, _, psi, origin_x, origin_y = plan.placed(rows)
    ny, nx = inputs.shape[-2:]
    v, u = np.indices((ny, nx), dtype=np.float64)
    u, v = u - nx // 2 - cx, v - ny // 2 - cy  # the unturned shape's own frame
    aligned = []
    for image, angle, ox, oy in zip(inputs, -psi, origin_x, origin_y):
        c, s = np.cos(np.radians(angle)), np.sin(np.radians(angle))
        x, y = u * c - v * s, u * s + v * c  # the frame turned back: x' = x c + y s, y' = -x s + y c inverted
        rows_at, cols_at = y + ny // 2 + cy - oy, x + nx // 2 + cx - ox
        aligned.append(
            ndimage.map_coordinates(np.nan_to_num(image), [rows_at, cols_at], order=1, cval=np.nan, mode="constant")
        )
    return np.stack(aligned)


def particle_offsets_px(plan: JobPlan) -> np.ndarray | None:
    """Each particle's recorded origin (x, y) in px, as masks that follow read it (`formats.poses.offsets_of`).

    None for a set that records none (a bare stack) or holds an origin that is not a number.
    """
    from maskrun.formats.poses import offsets_of
    from maskrun.formats.registry import particle_format

    particles = plan.particle_set
    if getattr(particle_format(particles.format), "read_offsets", None) is None:
        return None
    try:
        x, y = offsets_of(particles)
    except UserError:
        return None
    return np.stack([x, y], axis=1)


def _write_html(plan: JobPlan, report: Report) -> None:
    images = "".join(
        f'<figure><img alt="{html.escape(name)}" src="data:image/png;base64,'
        f'{base64.b64encode(path.read_bytes()).decode()}"><figcaption>{html.escape(name)}: '
        f"{html.escape(report.captions.get(name, ''))}</figcaption></figure>"
        for name, path in report.figures.items()
    )
    outputs = "".join(f"<li>{html.escape(line)}</li>" for line in report.outputs)
    warnings = "".join(f"<li>{html.escape(w)}</li>" for w in report.warnings)
    warnings += "".join(f'<li class="note">note: {html.escape(n)}</li>' for n in report.notes)
    summary = "".join(f"<li>{html.escape(line)}</li>" for line in report.summary)
    record = read_record(plan.run_record_path) or {}
    resolved = json.dumps(record.get("job_resolved", {}), indent=1)
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>maskrun report: {html.escape(plan.job.spec.name)}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1200px}} img{{max-width:100%}}
pre{{background:#f6f8fa;padding:1em;overflow:auto}} .warn li{{color:#9a6700}} .warn li.note{{color:inherit}}</style>
</head>
<body><h1>maskrun report: {html.escape(plan.job.spec.name)}</h1>
<p>{html.escape(str(plan.job.path))} &rarr; {html.escape(str(plan.output_dir))}</p>
<h2>Summary</h2><ul>{summary}</ul>
<h2>Warnings</h2><ul class="warn">{warnings or "<li>none</li>"}</ul>
<h2>Outputs</h2><ul>{outputs}</ul>
<p>Next: {html.escape(report.next_step)}</p>
<h2>Figures</h2>{images}
<h2>Job as written</h2><pre>{html.escape(plan.job.text)}</pre>
<h2>Job as resolved</h2><pre>{html.escape(resolved)}</pre>
</body></html>
"""
    write_atomic(report.html, page)
