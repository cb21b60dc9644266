"""The report of a finished job: figures, warnings and parameters in ``<output>/report/``.

It reads only what it shows: a deterministic sample of particles (`maskrun.report.sample`:
24 at most, evenly spread over the set) from the input stacks and the masked ones, or every
map and its masked copy (one at a time), and the saved masks. A summary (data, mask and fill
in px and Å, time, warnings) heads the page; every figure has a caption. The warnings also go
into the run record: those ``validate`` and the run's start judged already
(`maskrun.report.before_run`) come in the plan's, in the same words, and are listed once.
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
from maskrun.jobs.mask_warnings import check_warning
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
from maskrun.report.before_run import data_pixel_size, voxel_size_warning
from maskrun.report.outputs import next_step, output_lines
from maskrun.report.particle_warnings import centring_warning, sample_warnings
from maskrun.report.projected import box_cut_warning, followed_cut_warning, followed_sample, sampled_masks
from maskrun.report.rings import radial_profile
from maskrun.report.sample import sampled_inputs, sampled_rows
from maskrun.report.summary import summary_lines


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
    pixel = data_pixel_size(plan)
    signal = None
    each_round = False  # projected masks: whether each sampled particle's own mask is round about its centre
    if plan.particles is not None:
        sampled = sampled_rows(len(plan.particle_set))  # the rows validate judged the mask on
        inputs, outputs = sampled_inputs(plan, sampled), _sampled_outputs(plan, sampled)
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
        report.warnings += sample_warnings(plan, _only(masks), inputs, sampled, projected and each_round)
        report.warnings += [w for w in [centring_warning(plan, _only(masks))] if w]
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
    report.warnings += [w for w in [voxel_size_warning(plan)] if w]
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


def _save(report: Report, name: str, png: bytes) -> None:
    path = report.folder / name
    write_atomic(path, png)
    report.figures[name] = path


def _sampled_outputs(plan: JobPlan, rows: np.ndarray) -> np.ndarray:
    """The masked images of particles ``rows`` (set order), as float32, from their batches' outputs."""
    outputs = []
    for row in rows:
        unit = next(u for u in plan.units if u.first_row <= row < u.stop_row)
        masked = inspect_image(plan.unit_output(unit))
        with MappedRows(masked) as mapped:
            outputs.append(mapped.rows(row - unit.first_row, row - unit.first_row + 1)[0].astype(np.float32))
    return np.array(outputs)


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
