"""What a job will do: its inputs checked, its mask resolved, its work cut into units.

A unit is one batch of particles (read from as many stacks as its rows reference) or
one map. Planning reads metadata and image headers only (a million STAR rows in about
3 s); `maskrun.jobs.plan_file` saves the plan so that Snakemake and every unit read it
instead of planning again.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path, PurePath
from typing import Any

import numpy as np

from maskrun.config.job_file import Job, size_in_bytes
from maskrun.config.mask_description import describe_mask
from maskrun.config.mask_spec import MaskSpec
from maskrun.config.path_text import expand_path
from maskrun.config.projection_params import ProjectionParams
from maskrun.engine.apply import fill_left_out_notes
from maskrun.engine.created_mask import VOXEL_TOLERANCE, VoxelSizeMismatch
from maskrun.engine.half_map_files import fitting_half_maps, half_maps_voxel_size, header_fix, refuse_other_voxel_size
from maskrun.engine.map_as_mask import MapAsMask
from maskrun.engine.model_mask_file import MapGrid, map_grid
from maskrun.engine.one_file import check_fill_stored, job_file_key, prepare_mask
from maskrun.engine.projected_masks import (
    axis_order_note,
    check_projection_volume,
    projection_header,
    read_projection_volume,
    warn_if_not_a_mask,
)
from maskrun.errors import (
    AllOrNothingWarning,
    BoxCutWarning,
    EdgeCutWarning,
    MaskrunWarning,
    SettingError,
    UncheckedVoxelSizeWarning,
    UserError,
    WholeBoxWarning,
    first_named,
    held_warnings,
)
from maskrun.formats.map_set import GLOB_CHARS, VolumeSet
from maskrun.formats.particle_set import ParticleSet, ReadOptions
from maskrun.formats.poses import PSI_PRIOR, offsets_of, poses_of, psi_of, records_offsets, takes_psi_prior
from maskrun.formats.registry import (
    load_particle_set,
    load_volume_set,
    map_set_output,
    particle_format,
    particle_path,
    volumes_with_metadata,
    with_metadata,
)
from maskrun.formats.setting_names import SettingNames
from maskrun.geometry.box_edge import touches_the_box_edge
from maskrun.geometry.masks import Mask
from maskrun.io.float16_rounding import FLOAT16
from maskrun.io.image_info import ImageInfo
from maskrun.io.images import inspect_image
from maskrun.io.model_file import model_format
from maskrun.io.mrc_writer import written_dtype
from maskrun.io.paths import check_project_dir, file_not_found, is_file, real_paths_and_identities
from maskrun.io.pixel_size import PLACEHOLDER_ANGSTROM, usable_pixel_size
from maskrun.jobs.given_job import load_given_job
from maskrun.jobs.job_paths import RELATIVE_FIX, refuse_paths_from_elsewhere
from maskrun.jobs.mask_warnings import edge_advice, hard_edge_warning

UNIT_BYTES = 2_000_000_000  # the default batch: at most this much masked output per unit
JOB_NAMES = SettingNames(  # how the formats' fixes name a job's settings: by their keys
    particles="inputs.particles",
    project_dir="inputs.project_dir",
    passthrough="inputs.passthrough",
    image_column="inputs.image_column",
    optics="inputs.optics",
    volumes="inputs.volumes",
    pixel_size_angstrom="inputs.pixel_size_angstrom",
    run="job",
)


MaskKey = tuple[tuple[int, ...], float]  # what a mask is made for: a stored box and voxel size (`JobPlan.mask_key`)


REPORT_FIGURES = ("particles.png", "map.png", "profile.png", "check.png")  # any report's, by name


@dataclass(frozen=True)
class Unit:
    """One workflow job's worth of work.

    ``stacks`` are the indices (into the set's ``stack_paths``) of the stacks a batch
    reads; ``hashed`` those whose checksums it takes (the stacks it reads first).
    """

    id: str
    first_row: int = 0
    stop_row: int = 0
    map_index: int = -1
    stacks: tuple[int, ...] = ()
    hashed: tuple[int, ...] = ()

    @property
    def is_batch(self) -> bool:
        return self.map_index < 0


@dataclass
class JobPlan:
    """A loaded job with its inputs and units; output locations derive from it.

    ``projection_coarsening``: how much coarser than the box a ``source: projection`` job
    projects its 3D mask (1: as ``relion_project``; `maskrun.engine.projection_sampling`);
    ``projector``: that projector, when planning built it (not saved: a plan read from its
    file has none, and the units build their own); ``projection_in_full_because``: why
    ``sampling: auto`` kept the full projector (None otherwise), for the job's description.
    """

    job: Job
    particles: ParticleSet | None
    volumes: VolumeSet | None
    units: list[Unit]
    launcher_pid: int | None = None
    """The `maskrun run` of a local run: it hashes the stacks and maps (`maskrun.jobs.input_checksums`),
    and its Snakemake forks the units (`maskrun.workflow.unit_forks`). None: the units hash, and start anew."""
    projection_coarsening: float = 1
    projector: Any = field(default=None, repr=False, compare=False)
    projection_in_full_because: str | None = None
    warnings: list[str] = field(default_factory=list)
    """What planning warned of (shown then), for the run record's and the report's warnings."""
    kept_all_or_nothing_said: list[bool] = field(default_factory=list)
    """Whether planning's warnings said the job's mask keeps everything (True), nothing (False), or neither (empty):
    a shape's or map's mask's `AllOrNothingWarning`, an expression's whole-box sentence. The run record and the
    report do not say it again in general words (`maskrun.jobs.mask_warnings.keeps_nothing_or_everything`)."""
    notes: list[str] = field(default_factory=list)
    """What planning found worth a note (the particles' reading's first: several pixel sizes, a header that
    disagrees; a model term's atoms selected, some outside the box: `Mask.notes`), shown by ``validate`` and
    ``run``, kept in the run record and listed by the report."""
    launcher_command: list[str] | None = None
    """The ``maskrun run ...`` command a saved plan was made by (the run record's ``command``); None without one."""
    launched: str | None = None
    """When that command saved the plan (ISO, UTC): units whose records start before it were masked by an earlier run
    (the run record's ``resumed``); None without one."""
    placements: np.ndarray | None = field(default=None, repr=False, compare=False)
    """Where each particle's mask goes, for masks that follow the particles (projected, ``mask.follow``): float64
    ``(5, n)``, rows rot, tilt, psi (degrees) and origin x, y (px, RELION's; `maskrun.formats.poses`); 0 where
    the job does not use them. Read once in planning and saved with the plan: a unit takes its own columns
    without reading the metadata (4 s for a million STAR rows). None for other jobs."""

    def placed(self, rows: slice | np.ndarray) -> tuple[np.ndarray, ...]:
        """rot, tilt, psi (degrees), origin x and y (px) of particles ``rows`` (set order), each contiguous float64."""
        if self.placements is None:
            raise ValueError(f"{self.job.path}: its masks do not follow the particles; it has no placements")
        return tuple(np.ascontiguousarray(values[rows], dtype=np.float64) for values in self.placements)

    @property
    def output_dir(self) -> Path:
        return self.job.output_dir

    @property
    def image_infos(self) -> list[ImageInfo]:
        """The headers of the files the units read: each stack of a particle job, each map of a map job."""
        return list(self.particle_set.stacks.values()) if self.particles is not None else self.volume_set.maps

    @cached_property
    def output_dtype(self) -> np.dtype:
        """What the masked images are written as (`written_by`)."""
        return written_by(self.job, self.image_infos)

    @property
    def particle_set(self) -> ParticleSet:
        """The particles of a particle job (`particles`, known to be there)."""
        if self.particles is None:
            raise ValueError(f"{self.job.path} is a map job; it has no particle set")
        return self.particles

    @property
    def volume_set(self) -> VolumeSet:
        """The maps of a map job (`volumes`, known to be there)."""
        if self.volumes is None:
            raise ValueError(f"{self.job.path} is a particle job; it has no maps")
        return self.volumes

    @cached_property
    def _unit_of_id(self) -> dict[str, Unit]:  # a lookup per unit over 10,000 units was quadratic
        return {unit.id: unit for unit in self.units}

    def unit(self, unit_id: str) -> Unit:
        found = self._unit_of_id.get(unit_id)
        if found is not None:
            return found
        raise UserError(f"no unit '{unit_id}' in this job (it has {self.units[0].id} … {self.units[-1].id})")

    def with_metadata(self) -> JobPlan:
        """This plan with its particle metadata read (a plan read from its file has the images' places only).

        The gather and the report need the metadata (to write it back, to show offsets);
        the units do not. It is read once: the plan keeps it, so that the gather and the
        report, which share the Snakefile's plan in Snakemake's process, do not read it twice.
        """
        inputs = self.job.spec.inputs
        with warnings.catch_warnings():  # planning gave the reading's warnings, and keeps them (``warnings``)
            warnings.simplefilter("ignore", MaskrunWarning)
            if self.volumes is not None:
                if not self.volumes.has_metadata:
                    assert inputs.volumes is not None
                    self.volumes = volumes_with_metadata(
                        self.volumes, inputs.volumes, self.job.folder, JOB_NAMES, _project_dir(self.job)
                    )
            elif not self.particle_set.has_metadata:
                self.particles = with_metadata(self.particle_set, read_options(self.job))
        return self

    def unit_output(self, unit: Unit) -> Path:
        if unit.is_batch:
            return self.output_dir / "stacks" / f"{unit.id}.mrcs"
        return self.output_dir / "volumes" / f"{self.volume_set.maps[unit.map_index].stem}.mrc"

    def particle_masks_output(self, unit: Unit) -> Path | None:
        """Where a batch's per-particle masks (projected or following) are saved (``output.save_masks``), if they are.

        A fixed mask is saved once (`mask_outputs`), whatever ``save_masks`` says.
        """
        per_particle = self.job.mask.projection is not None or self.job.mask.follow is not None
        if not per_particle or not self.job.spec.output.save_masks or not unit.is_batch:
            return None
        return self.output_dir / "masks" / f"{unit.id}.mrcs"

    def record_path(self, unit: Unit) -> Path:
        return self.output_dir / "provenance" / f"{unit.id}.json"

    @property
    def run_record_path(self) -> Path:
        return self.output_dir / "provenance" / "run.json"

    def log_path(self, unit_id: str) -> Path:
        """The log of a unit, or of ``"gather"``."""
        return log_file(self.output_dir, unit_id)

    @property
    def report_dir(self) -> Path:
        """Where the report of the run goes (``<output>/report``)."""
        return self.output_dir / "report"

    def report_outputs(self) -> list[Path]:
        """The files the report writes: ``report.html``, its figures and its log (of the workflow's report step)."""
        names = ["report.html", "particles.png" if self.particles is not None else "map.png", "profile.png"]
        names += ["check.png"] if self.job.check is not None else []  # a job's figures: some of `REPORT_FIGURES`
        return [self.report_dir / name for name in names] + [self.log_path("report")]

    @property
    def lock_path(self) -> Path:
        """maskrun's own run lock (see `maskrun.jobs.run_lock`)."""
        return lock_file(self.output_dir)

    def unit_grid(self, unit: Unit) -> tuple[tuple[int, ...], tuple[float, float, float], tuple[float, float, float]]:
        """What one mask covers in a unit: its box (an image ``(ny, nx)`` or a map ``(nz, ny, nx)``),
        voxel size and origin (x, y, z; a particle's box has none)."""
        if unit.is_batch:
            return self.particle_set.box_yx, (self.particle_set.pixel_size_angstrom,) * 3, (0.0, 0.0, 0.0)
        info = self.volume_set.maps[unit.map_index]
        return info.shape_zyx, info.voxel_size_xyz, info.origin_xyz

    def mask_key(self, unit: Unit) -> MaskKey:
        """What a unit's mask is made for: its stored box and voxel size (along x, at which a shape's lengths
        resolve). Units of one key share a mask; maps of one box at two voxel sizes do not."""
        shape, voxel, _ = self.unit_grid(unit)
        return tuple(shape), float(voxel[0])

    def mask_outputs(self) -> dict[Path, Unit]:
        """Where the mask of each box and voxel size is saved (``mask.mrc``, or one each), and a unit it is for.

        One each is ``masks/mask_NXxNYxNZ.mrc``, its box along x, y, z, as maskrun tells
        sizes everywhere (``mask_60x70x64_stored_zxy.mrc`` when maps of one box along x, y, z
        store their axes in more than one order; ``mask_64x64x64_2A.mrc`` and ``mask_64x64x64_3A.mrc``, its
        voxel size in Å, when maps of one box differ in voxel size). None for projected masks: each particle
        has its own (`particle_masks_output`).
        """
        return {path: units[0] for path, (units, _) in self._saved_masks().items()}

    def mask_units(self) -> dict[Path, list[Unit]]:
        """The units each saved mask (`mask_outputs`) was applied to, in set order."""
        return {path: units for path, (units, _) in self._saved_masks().items()}

    def saved_mask(self, path: Path) -> Path:
        """Where the mask `mask_outputs` saves as ``path`` is read back: there, or, when only that is there, under
        the name maskrun 0.1.0 gave it (its box in storage order: ``mask_64x70x60.mrc`` for a 60 x 70 x 64 map
        stored as z, y, x), in an output folder a run of it filled."""
        older = self._saved_masks()[path][1]
        return older if not path.exists() and older.exists() else path

    def _saved_masks(self) -> dict[Path, tuple[list[Unit], Path]]:
        """Each saved mask's path, with the units it is for and the path older runs saved it under."""
        if self.job.mask.projection is not None:
            return {}
        groups: dict[MaskKey, list[Unit]] = {}
        for unit in self.units:
            groups.setdefault(self.mask_key(unit), []).append(unit)
        if len(groups) == 1:
            return {(path := self.output_dir / "mask.mrc"): (next(iter(groups.values())), path)}
        along: dict[MaskKey, tuple[int, ...]] = {}  # each box along x, y, z (an image's: x, y)
        axes: dict[MaskKey, tuple[int, ...]] = {}
        for key, units in groups.items():
            info = None if units[0].is_batch else self.volume_set.maps[units[0].map_index]
            along[key] = key[0][::-1] if info is None else info.box_xyz
            axes[key] = (1, 2, 3) if info is None else info.axis_map
        names: dict[MaskKey, str] = {}
        for key in groups:
            name = "x".join(map(str, along[key]))
            other_order = any(along[k] == along[key] and k[0] != key[0] for k in groups)
            if other_order and axes[key] != (1, 2, 3):
                name += "_stored_" + "".join("xyz"[axis - 1] for axis in axes[key])
            names[key] = name
        masks = self.output_dir / "masks"
        older = {key: masks / f"mask_{'x'.join(map(str, key[0][::-1]))}.mrc" for key in groups}
        for key, voxel in _voxel_texts(names).items():  # one box at several voxel sizes: a mask each
            names[key] += f"_{voxel}A"
            older[key] = masks / f"mask_{names[key]}.mrc"  # none: older runs saved one of them, for them all
        return {masks / f"mask_{name}.mrc": (groups[key], older[key]) for key, name in names.items()}

    @property
    def check_output(self) -> Path | None:
        """Where the gather writes the ``check:`` of the mask (``check/check.json``); None without one."""
        return self.output_dir / "check" / "check.json" if self.job.check is not None else None

    def output_files(self) -> list[Path]:
        """Every file a run of this plan writes under its final name."""
        files = [
            self.run_record_path,
            self.log_path("gather"),
            self.log_path("snakemake"),
            self.lock_path,
            *self.mask_outputs(),
            *[path for path in [self.check_output] if path is not None],
        ]
        files += self.metadata_outputs + (self.report_outputs() if self.job.spec.report else [])
        for unit in self.units:
            files += [self.unit_output(unit), self.record_path(unit), self.log_path(unit.id)]
            files += [path for path in [self.particle_masks_output(unit)] if path is not None]
        return files

    def input_files(self) -> list[Path]:
        """Every file a run of this plan reads: the job file, metadata (a passthrough too), stacks or maps, the mask."""
        files = [self.job.path]
        if self.particles is not None:
            files += [self.particles.source, *self.particles.stack_paths]
            files += [p for p in [read_options(self.job).passthrough] if p is not None]  # joined to a .cs set
        else:
            files += [self.volume_set.listing] if self.volume_set.listing else []
            files += [info.path for info in self.volume_set.maps]
        files += self.job.mask.input_files
        files += [self.job.check.half1, self.job.check.half2] if self.job.check is not None else []
        return list(dict.fromkeys(files))

    def shared_files(self) -> list[Path]:
        """The input files every unit depends on, whatever else they are: the job file, metadata (a passthrough,
        a maps' listing), the mask's files and the half-maps. A map that is also the mask's (or a term's) is one:
        changed, it changes every unit's mask, not only its own unit's output."""
        files = [self.job.path]
        if self.particles is not None:
            files += [self.particles.source, *[p for p in [read_options(self.job).passthrough] if p is not None]]
        else:
            files += [self.volume_set.listing] if self.volume_set.listing else []
        files += self.job.mask.input_files
        files += [self.job.check.half1, self.job.check.half2] if self.job.check is not None else []
        return list(dict.fromkeys(files))

    def unit_files(self, unit: Unit) -> list[Path]:
        """The stacks or the map ``unit`` reads."""
        if unit.is_batch:
            return [self.particle_set.stack_paths[s] for s in unit.stacks]
        return [self.volume_set.maps[unit.map_index].path]

    def hashed_inputs(self, unit: Unit) -> list[Path]:
        """The input files whose checksums ``unit`` takes while it masks.

        Each stack or map is hashed by the first unit that reads it, beside its masking,
        so the gather need not read it again; the small inputs (job file, metadata, mask
        file) are hashed by the gather. None when another process hashes them
        (`launcher_pid`).
        """
        if self.launcher_pid is not None:
            return []
        if unit.is_batch:
            return [self.particle_set.stack_paths[s] for s in unit.hashed]
        maps = self.volume_set.maps
        path = maps[unit.map_index].path
        first = next(i for i, info in enumerate(maps) if info.path == path)
        return [path] if first == unit.map_index else []

    def input_formats(self) -> dict[Path, str]:
        """The format detected for every input file (for the run record); a model's, by its name (``pdb``,
        ``mmcif.gz``…), as gemmi read it."""
        formats: dict[Path, str] = {self.job.path: "yaml"}
        if self.particles is not None:
            formats[self.particles.source] = self.particles.format
            formats.update({path: info.format for path, info in self.particles.stacks.items()})
            formats.update({p: self.particles.format for p in [read_options(self.job).passthrough] if p is not None})
        else:
            if self.volume_set.listing is not None:
                formats[self.volume_set.listing] = self.volume_set.listing.suffix.lstrip(".")
            formats.update({info.path: info.format for info in self.volume_set.maps})
        expression = self.job.mask.expression
        for _, leaf in expression.leaves("") if expression is not None else []:
            if leaf.model is not None:  # the mask's other files are MRC, the record's default
                formats[leaf.model.file] = model_format(leaf.model.file)
        return formats

    @property
    def metadata_outputs(self) -> list[Path]:
        """Every metadata file the run writes: `metadata_output`, and any its format writes beside it
        (a ``.cs``'s RELION STAR)."""
        if self.particles is not None:
            return [self.output_dir / name for name in particle_format(self.particles.format).OUTPUTS]
        name = map_set_output(self.volume_set)
        return [self.output_dir / name] if name is not None else []

    @property
    def metadata_output(self) -> Path | None:
        """The main metadata file the run writes (``particles.star``, ``volumes.xmd``, …); None for one map."""
        return next(iter(self.metadata_outputs), None)


def log_file(output_dir: Path, step: str) -> Path:
    """The log of a workflow step (a unit's id, ``gather``, ``report``) in an output folder: `JobPlan.log_path`."""
    return output_dir / "logs" / f"{step}.log"


def lock_file(output_dir: Path) -> Path:
    """An output folder's run lock: `JobPlan.lock_path`."""
    return output_dir / ".maskrun.lock"


def _voxel_texts(names: dict[MaskKey, str]) -> dict[MaskKey, str]:
    """The voxel size of each mask whose name others share (``2``, ``3.54``), as finely as tells them apart.

    ``names``: each mask's name so far, by its key (`JobPlan.mask_key`: box and voxel size). Six figures, else
    as a header's float32 holds it (``2.06`` and ``2.0600002``), else in full.
    """
    texts: dict[MaskKey, str] = {}
    for name in set(names.values()):
        keys = [key for key, same in names.items() if same == name]
        if len(keys) < 2:
            continue
        for text in (lambda v: f"{v:g}", lambda v: str(np.float32(v)), repr):
            if len({text(key[1]) for key in keys}) == len(keys):
                break
        texts |= {key: text(key[1]) for key in keys}
    return texts


def read_options(job: Job) -> ReadOptions:
    """What the job says about reading its particles beyond the file, its paths resolved."""
    inputs = job.spec.inputs
    passthrough = job.resolve(inputs.passthrough) if inputs.passthrough is not None else None
    return ReadOptions(
        job.folder,
        inputs.image_column,
        _project_dir(job),
        passthrough,
        inputs.optics,
        names=JOB_NAMES,
        pixel_size_angstrom=inputs.pixel_size_angstrom,
    )


def _project_dir(job: Job) -> Path | None:
    project = job.spec.inputs.project_dir
    if project is None:
        return None
    check_project_dir(job.resolve(project), "inputs.project_dir")
    return job.resolve(project)


def plan_job(job: Job | str | os.PathLike[str]) -> JobPlan:
    """Load a job's inputs, check them against the mask, and cut the work into units.

    The `MaskrunWarning` s raised meanwhile (a shape cut by the box, a map mask met by noise)
    are kept in the plan's ``warnings`` and raised again, as they came, for the caller; not
    when the job is refused (`maskrun.errors.held_warnings`).

    Raises
    ------
    UserError
        For any problem with the job, its inputs, or the mask for the inputs' box.
    """
    with held_warnings() as caught:  # a refused job prints its one error line only
        plan, warned_by = _planned(job)
        found = dict.fromkeys(str(w.message) for w in caught if issubclass(w.category, MaskrunWarning))
        said = {message: for_the_maps(plan, warned_by.get(message, []), message) for message in found}
        plan.warnings = list(said.values())
        plan.kept_all_or_nothing_said = _kept_all_or_nothing_said(caught)
        for index, w in enumerate(caught):  # shown as the record keeps them: of some boxes' maps, saying which
            if str(w.message) in said and said[str(w.message)] != str(w.message):
                caught[index] = warnings.WarningMessage(
                    MaskrunWarning(said[str(w.message)]), MaskrunWarning, w.filename, w.lineno, source=w.source
                )
    return plan


def for_the_maps(plan: JobPlan, units: list[Unit], message: str) -> str:
    """A warning of some of a set's maps only (a shape cut by the smaller box), saying which; else as it is.

    ``units``: those whose mask gave it. Planning's warnings are kept so for the run record and the
    report (shown as planning finds them, in the mask's own words), and the report's of each box's mask.
    """
    groups = [group for group in map_groups(plan).values() if any(unit in group for unit in units)]
    if not groups or len(groups) == len(map_groups(plan)):
        return message
    return f"for {' and '.join(maps_words(plan, group, named=True) for group in groups)}: {message}"


def _kept_all_or_nothing_said(caught: list[warnings.WarningMessage]) -> list[bool]:
    """What planning's warnings said the whole mask keeps: everything (True), nothing (False); each once, sorted."""
    return sorted({w.message.keeps_all for w in caught if isinstance(w.message, AllOrNothingWarning | WholeBoxWarning)})


def _planned(job: Job | str | os.PathLike[str]) -> tuple[JobPlan, dict[str, list[Unit]]]:
    """The plan, and which units' masks gave each warning their making raised (by its message)."""
    job = job if isinstance(job, Job) else load_given_job(job)
    spec = job.spec
    source = str(job.path)
    try:
        refuse_paths_from_elsewhere(job)
        if spec.inputs.kind == "particles":
            inputs = spec.inputs
            assert inputs.particles is not None  # Inputs holds exactly one of the two
            given = {"inputs.particles": inputs.particles, "inputs.passthrough": inputs.passthrough}
            for field_name, named in given.items():
                if named is None:
                    continue
                file = job.resolve(named)
                file = particle_path(file)[1] if field_name == "inputs.particles" else file  # a block@file's file
                if not is_file(file):
                    raise file_not_found(file, RELATIVE_FIX, field_name)
            particles = load_particle_set(job.resolve(inputs.particles), **vars(read_options(job)))
            dtype = written_by(job, particles.stacks.values())
            units = batch_units(
                particles, batch_rows(len(particles), particles.box_yx, spec.batch_size, dtype.itemsize)
            )
            plan = JobPlan(job, particles, None, units, notes=list(particles.notes))  # run shows them, as validate
            plan.output_dtype = dtype  # worked out for the batches' sizes: not again
            plan.notes += filter(None, [mixed_float16_note(job, particles.stacks.values())])
            checked = units[:1]  # every batch has the same box
        else:
            assert spec.inputs.volumes is not None
            volumes = load_volume_set(spec.inputs.volumes, job.folder, JOB_NAMES, _project_dir(job))
            units = [Unit(f"map_{info.stem}", map_index=i) for i, info in enumerate(volumes.maps)]
            plan = JobPlan(job, None, volumes, units, notes=list(volumes.notes))
            plan.notes += filter(None, [mixed_float16_note(job, volumes.maps, "map")])
            checked = units
        check_no_model_term_on_images(plan)  # before the mask is built, which refuses it without the way that works
        check_no_half_map_as_mask(plan)  # before the mask file is read: a half-map's values may look a mask's
        try:
            check_fill_stored(job.fill, plan.output_dtype)
        except SettingError as exc:
            error = exc.phrased(lambda _, value: f"output.dtype: {value}")
            error.field = "fill.value"
            raise error from None
        warned_by: dict[str, list[Unit]] = {}
        for unit in checked:  # the mask must fit every box before any work starts
            with warnings.catch_warnings(record=True) as found:
                warnings.simplefilter("always")
                mask = _fitting_mask(plan, unit)
                if not any(isinstance(w.message, BoxCutWarning) for w in found):  # else a shape's radius said it
                    _warn_if_cut_by_the_box(plan, mask)
            for w in found:  # raised again as they came, kept with the maps they are of
                if isinstance(w.message, EdgeCutWarning):  # _warn_if_cut_by_the_box says it, in the source's words
                    continue
                message = _said_of_the_inputs(plan, w.message)
                category = type(message) if isinstance(message, Warning) else w.category
                warnings.warn_explicit(message, category, w.filename, w.lineno, source=w.source)
                warned_by.setdefault(str(message), []).append(unit)
            left_out = fill_left_out_notes(mask, job.fill, spec.compat, lambda name, value: f"{name}: {value}")
            plan.notes += [n for n in [*mask.notes, *left_out] if n not in plan.notes]
        plan.notes += [n for n in _shape_axes_notes(plan) if n not in plan.notes]
        # a particle job's units share one box, so the loop's last mask is every unit's; maps go on to no Fourier
        # processing and are not warned. The report's words, said before the run
        hard_edge = hard_edge_warning(job.mask, mask.values) if plan.particles is not None else None
        if hard_edge is not None:
            warnings.warn(hard_edge, MaskrunWarning, stacklevel=2)
        if job.mask.projection is not None:
            poses = poses_of(plan.particle_set)  # every particle has a pose
            plan.placements = np.stack(
                [poses.rot_deg, poses.tilt_deg, poses.psi_deg, poses.origin_x_px, poses.origin_y_px]
            )
            from maskrun.engine.projection_sampling import choose_coarsening  # scipy: projected jobs only

            header = projection_header(job.mask.projection.file)  # read once: for the note and the volume
            volume = projection_volume(plan, header)
            warn_if_not_a_mask(volume, job.mask.projection.file)
            turned = axis_order_note(header)
            plan.notes += [turned] if turned else []
            chosen = choose_coarsening(volume, job.mask.projection)
            plan.projection_coarsening, plan.projector, plan.projection_in_full_because = chosen
        if job.mask.follow is not None:
            if plan.particles is None:
                raise UserError("places the shape at each particle's centre: it needs particles", field="mask.follow")
            plan.placements, prior = _followed_placements(plan.particle_set, job.mask.follow)
            plan.notes += [prior] if prior else []
        check_one_grid_per_box(plan)
        check_inputs_are_spared(plan)
        check_half_maps_fit(plan)
        if job.check is not None:  # copies refused, dependent halves warned of, before any unit masks
            from maskrun.engine.mask_check import check_halves_independent  # scipy.fft: check jobs only

            dependent = check_halves_independent(job.check.half1, job.check.half2, ("check.half1", "check.half2"))
            if dependent is not None:
                warnings.warn(dependent, MaskrunWarning, stacklevel=2)
        return plan, warned_by
    except UserError as exc:
        exc.source = exc.source or source
        raise


def _followed_placements(particles: ParticleSet, follow: str) -> tuple[np.ndarray, str]:
    """Each particle's in-plane angle (``follow: pose``) and origin, as `JobPlan.placements` holds them, and
    the note saying a helical extraction's ``rlnAnglePsiPrior`` is taken as psi ("" when it is not).

    A helical extraction is extracted at each segment's picked centre: without origins, each
    shape turns about the box centre.

    Raises
    ------
    UserError
        When the set records none, or one is not a number: the format's refusal, on the
        field ``mask.follow``, with the other fix, removing it.
    """
    unused = np.zeros(len(particles))
    prior = follow == "pose" and takes_psi_prior(particles)
    try:
        psi = psi_of(particles) if follow == "pose" else unused  # every in-plane angle a number
        x, y = offsets_of(particles, needed=not prior)  # recorded, and every one a number
    except UserError as exc:
        raise UserError(
            f"{exc.message}; or remove mask.follow to mask every particle alike", source=exc.source, field="mask.follow"
        ) from None
    note = ""
    if prior:
        centred = "" if records_offsets(particles) else " about the box centre, where extraction centred each segment"
        note = (
            f"{particles.source.name} has no rlnAnglePsi: the shape is turned by each particle's {PSI_PRIOR} "
            f"(the helical segment's picked direction, the psi RELION's refinement starts from){centred}"
        )
    return np.stack([unused, unused, psi, x, y]), note


def check_half_maps_fit(plan: JobPlan) -> float | None:
    """Refuse a ``check:`` whose half-maps do not fit the job's maps and each other; their voxel size.

    All that headers and paths tell (`maskrun.engine.half_map_files`): both exist and are 3D
    maps of the maps' one box (a cube of an even size), two files of different values, whose
    voxel sizes agree within 1 % with each other and with the maps' (the saved mask's). The
    check's voxel size is the halves' header's, else the maps'. None without ``check:``.

    Raises
    ------
    UserError
        Naming the half-map, its field (``check.half2``) and the fix.
    """
    check = plan.job.check
    if check is None:
        return None
    fields = ("check.half1", "check.half2")
    boxes = {info.shape_zyx for info in plan.volume_set.maps}
    for name, path in zip(fields, (check.half1, check.half2)):
        if not is_file(path):
            raise file_not_found(path, "give an existing half-map", name)
        shape = inspect_image(path).shape_zyx
        if boxes != {shape}:
            raise UserError(
                f"half-map box {' x '.join(map(str, shape[::-1]))} is not the job's maps' one box; the mask "
                "is checked on the maps' grid: give half-maps of that box",
                source=str(path),
                field=name,
            )
    halves = fitting_half_maps(check.half1, check.half2, fields)
    _, maps_voxel_xyz, _ = plan.unit_grid(next(iter(plan.mask_outputs().values())))
    maps_voxel = usable_pixel_size(maps_voxel_xyz[0])
    if maps_voxel is not None:
        for info, name in zip(halves, fields):
            remedy = "give half-maps of the job's maps (the mask is saved and checked at their voxel size)"
            refuse_other_voxel_size(info, maps_voxel, "the job's maps'", name, remedy)
    voxel = half_maps_voxel_size(*halves, field=fields[1]) or maps_voxel
    if voxel is None:
        first = halves[0].path
        raise UserError(
            "the header gives no voxel size, nor do the job's maps'; set it in the headers "
            f"({header_fix(first, 'A')}, A the voxel size in Å)",
            source=str(first),
            field=fields[0],
        )
    return voxel


def available_cores() -> int:
    """The cores this process may use (its CPU affinity: a SLURM allocation's, say)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def written_by(job: Job, images: Iterable[ImageInfo]) -> np.dtype:
    """What a job writes its masked images as: float16 when every stack (or map) it reads is float16 and
    ``output.dtype`` is ``same``, else float32 (`maskrun.io.mrc_writer.written_dtype`)."""
    return written_dtype((info.dtype for info in images), job.spec.output.dtype == "same")


def mixed_float16_note(job: Job, images: Iterable[ImageInfo], noun: str = "stack") -> str | None:
    """A note for a set that mixes float16 with other modes: `written_by` writes it all as float32.

    ``output.dtype: same`` keeps float16 only when every stack (or map, ``noun``) is float16;
    a set of some float16 stacks was written all float32 without a word.
    """
    if job.spec.output.dtype != "same":  # float32 asked for
        return None
    dtypes = [info.dtype for info in images]
    half = sum(written_dtype([dtype]) == FLOAT16 for dtype in dtypes)
    if half in (0, len(dtypes)):
        return None
    others = sorted({dtype.name for dtype in dtypes if written_dtype([dtype]) != FLOAT16})
    return (
        f"{half} of {len(dtypes)} {noun}s {'is' if half == 1 else 'are'} float16, the others {' and '.join(others)}: "
        f"the masked {noun}s are all float32 (a set is written as float16 only when every {noun} is)"
    )


def batch_rows(
    n_rows: int, box_yx: tuple[int, int], batch_size: int | str | None, itemsize: int = 4, cores: int | None = None
) -> int:
    """Particles per batch: as given, as many as fill a size, or by default units of at most
    `UNIT_BYTES` of masked output, as many as a multiple of the cores (at least one per core).

    ``itemsize`` is the bytes of one written value: 4 (float32), or 2 for float16 output.
    """
    image_bytes = itemsize * box_yx[0] * box_yx[1]
    if isinstance(batch_size, int):
        return batch_size
    if isinstance(batch_size, str):
        return max(1, size_in_bytes(batch_size) // image_bytes)
    cores = cores or available_cores()
    units = cores * max(1, math.ceil(n_rows * image_bytes / (cores * UNIT_BYTES)))
    return max(1, math.ceil(n_rows / units))


def batch_units(particles: ParticleSet, rows: int) -> list[Unit]:
    """Cut the set into batches of ``rows`` particles, each with the stacks it reads and those it hashes."""
    n = len(particles)
    stacks_of_row = particles.stack_of_row
    stacks, first_rows = np.unique(stacks_of_row, return_index=True)
    units = []
    for k in range(math.ceil(n / rows)):
        first, stop = k * rows, min(n, (k + 1) * rows)
        read = np.unique(stacks_of_row[first:stop])
        hashed = stacks[(first_rows >= first) & (first_rows < stop)]
        units.append(Unit(f"batch_{k + 1:05d}", first, stop, -1, tuple(read.tolist()), tuple(hashed.tolist())))
    return units


def check_inputs_are_spared(plan: JobPlan) -> None:
    """Refuse a plan that would write over one of its own inputs (resolved through links).

    Raises
    ------
    UserError
        Naming the output, the input it would replace, and the fix.
    """
    paths = plan.input_files()
    looked = real_paths_and_identities(paths)  # each stack looked at once, its folder resolved once
    inputs = {real: path for path, (real, _) in zip(paths, looked)}
    files = {file: path for path, (_, file) in zip(paths, looked) if file is not None}
    internal = os.path.realpath(plan.output_dir / ".snakemake")
    outputs = plan.output_files()
    for output, (real, identity) in zip(outputs, real_paths_and_identities(outputs)):
        if real in inputs:
            raise UserError(
                f"the run would write {output} over its input {inputs[real]}; maskrun never overwrites "
                "an input: choose another output.dir (or move the input)",
                field="output.dir",
            )
        if (linked := files.get(identity or (-1, -1))) is not None:
            raise UserError(
                f"{output} is another name (a hard link) of the input {linked}, and the run would write it; maskrun "
                "never overwrites an input: remove that name from the output folder, or choose another output.dir",
                field="output.dir",
            )
    _check_outputs_out_of_reach_of_globs(plan)
    for real, path in inputs.items():
        if real == internal or real.startswith(internal + os.sep):
            raise UserError(
                f"input {path} lies in Snakemake's state folder {internal}; move it out", field="output.dir"
            )


def _check_outputs_out_of_reach_of_globs(plan: JobPlan) -> None:
    """Refuse an output that a glob of ``inputs.volumes`` matches: the next run would take it for a map to mask.

    (``volumes: "maps/*.mrc"`` with ``output.dir: maps``: the run writes ``maps/mask.mrc``, and
    every later run then reads it as an input, and refuses to write over it.)
    """
    entries = plan.job.spec.inputs.volumes
    patterns = [entries] if isinstance(entries, str) else list(entries or [])
    for entry in (str(e) for e in patterns if GLOB_CHARS & set(str(e))):
        pattern = os.path.abspath(plan.job.folder / expand_path(entry))
        for output in plan.output_files():
            if not output.name.startswith(".") and PurePath(os.path.abspath(output)).match(pattern):
                raise UserError(
                    f"the run would write {output}, which the pattern '{entry}' matches: the next run would read it "
                    "as a map to mask; choose an output.dir the pattern does not reach",
                    field="output.dir",
                )


def input_identities(plan: JobPlan) -> dict[tuple[int, int], Path]:
    """Every file the plan reads, by device and inode (`file_identity`): the same file under another name, a hard
    link, is found by it."""
    paths = plan.input_files()
    return {file: path for path, (_, file) in zip(paths, real_paths_and_identities(paths)) if file is not None}


def check_no_model_term_on_images(plan: JobPlan) -> None:
    """Refuse a model term in a job on particle images, proposing the way that works: the model's 3D mask made
    with ``make-mask --from-model``, projected onto each particle (``mask.source: projection``).

    Raises
    ------
    UserError
        Naming the term's file.
    """
    expression = plan.job.mask.expression
    if plan.particles is None or expression is None:
        return
    for where, leaf in expression.leaves(""):
        if leaf.model is not None:
            raise UserError(
                "a model term places atoms on a map's grid, and the inputs are particle images; make a 3D mask "
                f"from the model (maskrun make-mask model_mask.mrc --from-model {leaf.model.file.name} --like MAP "
                "--radius '3 A') and project it onto each particle with mask.source: projection "
                "(mask.projection.file: model_mask.mrc), or use the term in a job that masks maps",
                field=f"mask.expression.{where}.model.file",
            )


def check_no_half_map_as_mask(plan: JobPlan) -> None:
    """Refuse a mask file (``mask.file``, an expression's ``file`` term) that is the very file a ``check:`` gives as a
    half-map: a half-map is no mask, as check-mask refuses it (a map term may make the mask from it).

    Raises
    ------
    MapAsMask
        Naming the mask's field and the half-map's.
    """
    check = plan.job.check
    if check is None:
        return
    for path, key in _files_of_the_mask(plan.job.mask):
        if key.endswith("map.file") or not is_file(path):
            continue  # a map the mask is made from, or missing (the mask's making says so)
        for half, name in ((check.half1, "check.half1"), (check.half2, "check.half2")):
            if is_file(half) and os.path.samefile(path, half):
                raise MapAsMask(
                    f"is the same file as {name}, a half-map, not a mask",
                    str(path),
                    "give the mask, have the job make it from the map (mask.source: map), or make one",
                    source=str(path),
                    field=key,
                )


def check_one_grid_per_box(plan: JobPlan) -> None:
    """Refuse maps of one box and voxel size with different origins (or axis orders) when the mask places atoms
    (an expression's model term): their masks would differ, and a job saves one mask per box and voxel size.

    Raises
    ------
    UserError
        Naming the two maps.
    """
    expression = plan.job.mask.expression
    if plan.volumes is None or expression is None or not expression.has_model:
        return
    first: dict[MaskKey, tuple[MapGrid, ImageInfo]] = {}
    for unit in plan.units:
        info = plan.volume_set.maps[unit.map_index]
        grid, other = first.setdefault(plan.mask_key(unit), (map_grid(info), info))
        if map_grid(info) != grid:
            differ = (
                f"not an axis order (stored as {info.stored_axes} and {other.stored_axes})"
                if info.axis_map != other.axis_map
                else f"not a voxel size ({_voxels_text(info)} and {_voxels_text(other)})"
                if map_grid(info).step_zyx_angstrom != grid.step_zyx_angstrom
                else "not an origin"
            )
            raise UserError(
                f"{info.path.name} and {other.path.name} share a stored box but {differ}, so a model term "
                "would place its atoms differently in each, and the job saves one mask per box and voxel size; "
                "mask them in separate jobs",
                field="mask.expression",
            )


def _voxels_text(info: ImageInfo) -> str:
    """A map's voxel size along x, y, z: ``2 x 2 x 2.5 Å``."""
    return " x ".join(f"{v:g}" for v in info.voxel_size_xyz) + " Å"


def unit_mask(plan: JobPlan, unit: Unit) -> tuple[Mask, dict[str, Any] | None]:
    """The mask for a unit's box (built once per box shape and cached) and its resolved geometry.

    Projected masks differ from particle to particle: their 3D mask is checked against the
    box and pixel size here, and the box's mask is all ones (`projection_volume` gives the 3D mask).
    """
    shape, voxel, _ = plan.unit_grid(unit)
    if plan.job.mask.projection is not None:
        check_projection_volume_of(plan)
        return Mask(np.ones(tuple(shape), np.float32), True), None
    if unit.is_batch:
        for path, field in _files_of_the_mask(plan.job.mask):
            _refuse_a_3d_map_on_images(path, plan.particle_set.box_yx, field)
    grid = None if unit.is_batch else plan.volume_set.maps[unit.map_index]
    return prepare_mask(plan.job.mask, tuple(shape), voxel, plan.job.spec.compat, label=job_file_key, grid=grid)


def _files_of_the_mask(spec: MaskSpec) -> list[tuple[Path, str]]:
    """The map and mask files a job's mask is made of, each with its key (``mask.map.file``,
    ``mask.expression.all_of.0.map.file``, ``mask.file``)."""
    if spec.map is not None:
        return [(spec.map.file, "mask.map.file")]
    if spec.file is not None:
        return [(spec.file, "mask.file")]
    if spec.expression is None:
        return []
    found = []
    for key, leaf in spec.expression.leaves(""):
        if leaf.map is not None:
            found.append((leaf.map.file, f"mask.expression.{key}.map.file"))
        elif leaf.file is not None:
            found.append((leaf.file, f"mask.expression.{key}.file"))
    return found


def _refuse_a_3d_map_on_images(path: Path, box_yx: tuple[int, int], field: str) -> None:
    """Refuse a 3D map or mask file on particles (``mask.map``, ``mask.file``, an expression's ``map`` or ``file``
    term, named by ``field``): a particle image takes a 3D mask projected at its pose (``source: projection``),
    whatever the map's box; a 2D mask of their box does too.

    Raises
    ------
    UserError
        When the file is 3D (more than one slice), naming the particles' box and both fixes.
    """
    if not is_file(path) or model_format(path) != "unknown":
        return  # the mask's making refuses it, naming the field: a missing file, an atomic model
    info = inspect_image(path)
    nz, ny, nx = info.shape_zyx
    if nz == 1:
        return  # a 2D map: a mask of the images' box, or map_mask says of which box
    noun = "map" if field.endswith("map.file") else "mask"
    box = f"{box_yx[1]} × {box_yx[0]}"
    fits = (ny, nx) == tuple(box_yx) and nz == nx
    said = f"a 3D {noun} of the particles' {box} box" if fits else f"a 3D {noun}, and the particles are {box}"
    cube = "" if fits else f" of their box ({box} × {box_yx[1]}, resampled or re-boxed)"
    projected = "particle images take a 3D mask projected at each one's pose"
    as_projection = "give it as mask.source: projection (mask.projection.file)"
    if field == "mask.map.file":
        fix = (
            f"a map makes a 3D mask, and {projected}; make the 3D mask{cube} from it with maskrun make-mask (the "
            f"same threshold and edges) and {as_projection}, or give a 2D mask as mask.source: file"
        )
    elif field == "mask.file":
        fix = f"{projected}; {f'remake it{cube} and ' if cube else ''}{as_projection}, or give a 2D mask of their box"
    else:
        fix = (
            f"{projected}; make the expression's 3D mask{cube} (a job masking the map writes it as mask.mrc) and "
            f"{as_projection}, or give this term a 2D {noun} of their box"
        )
    raise UserError(f"{noun} is {nx} × {ny} × {nz} (x × y × z), {said}: {fix}", source=str(info.path), field=field)


def _fitting_mask(plan: JobPlan, unit: Unit) -> Mask:
    """The job's mask for ``unit``'s box, checked to fit it; for particles of several pixel sizes, say so when that
    is why not, and for particles whose pixel size is only their header's 1 Å/px, that it may not be theirs.

    Raises
    ------
    UserError
        As `unit_mask` does; for a length in Å or a projected mask on particles whose optics
        groups differ in pixel size, naming the sizes and the fix; for a length in Å on
        particles whose only pixel size is their header's, 1 Å/px (RELION's placeholder) or none,
        and a mask file of another voxel size on them (1 Å/px), proposing
        ``inputs.pixel_size_angstrom``.
    """
    header_only = plan.particles is not None and plan.particle_set.pixel_size_from_header
    placeholder = header_only and plan.particle_set.pixel_size_angstrom == PLACEHOLDER_ANGSTROM
    length_in_angstrom = plan.job.mask.first_length_in_angstrom
    if plan.particles is not None and plan.particle_set.header_is_no_pixel_size and length_in_angstrom is not None:
        raise UserError(
            f"is given in Å, but {plan.particle_set.only_header_said}; set {JOB_NAMES.pixel_size_angstrom} to the "
            "images' pixel size (Å per pixel), or give the length in px",
            source=str(plan.job.path),
            field=f"mask.{length_in_angstrom}",
        )
    several = plan.particle_set.pixel_sizes_angstrom if plan.particles is not None else ()
    if several and plan.job.mask.projection is not None:
        raise UserError(
            f"the particles' {plan.particle_set.pixel_sizes_differ}, and a projected 3D mask fits one; "
            f"{_one_job_per_pixel_size(plan.particle_set)}",
            source=str(plan.particle_set.source),
            field="mask.projection.file",
        )
    try:
        return unit_mask(plan, unit)[0]
    except VoxelSizeMismatch as exc:  # a mask file of the particles' box: their header's 1 Å may be the placeholder
        if plan.particles is None and exc.image_angstrom > 0:  # maps: said of the input map, not of "images"
            raise exc.of_the_map(plan.volume_set.maps[unit.map_index].path.name) from None
        if not placeholder:
            raise
        raise exc.over_placeholder().phrased(lambda _, value: f"{JOB_NAMES.pixel_size_angstrom}: {value}") from None
    except UserError as exc:
        if not several:
            raise
        shape, _, _ = plan.unit_grid(unit)
        voxel = (several[0],) * 3
        try:  # the mask a single pixel size would give: then the sizes are why
            prepare_mask(plan.job.mask, tuple(shape), voxel, plan.job.spec.compat, label=job_file_key)
        except UserError:
            raise exc from None
        raise UserError(
            f"is given in Å, but the particles' {plan.particle_set.pixel_sizes_differ}; give it in px, or "
            f"{_one_job_per_pixel_size(plan.particle_set)}",
            source=str(plan.job.path),
            field=exc.field,
        ) from None


def _warn_if_cut_by_the_box(plan: JobPlan, mask: Mask) -> None:
    """Warn of a job's mask whose kept region the box edge cuts (`touches_the_box_edge`), as it is planned, so that
    ``maskrun validate`` says it as ``maskrun run`` does; a projected mask, which has no one mask of the box, is
    judged by the report on the sampled particles' own."""
    spec = plan.job.mask
    if spec.projection is not None:
        return
    inverted = any(p is not None and p.invert for p in (spec.geometry, spec.map))
    cut = touches_the_box_edge(mask.values, inverted, edge_advice(spec, mask.values, mask.edge_terms))
    if cut is not None:
        warnings.warn(cut, MaskrunWarning, stacklevel=2)


def _said_of_the_inputs(plan: JobPlan, warning: Warning | str) -> Warning | str:
    """A warning that a mask file's (or mask map's) voxel size could not be checked (`UncheckedVoxelSizeWarning`,
    in the words of a caller that knows nothing of the images), said of the job's inputs: for particles of several
    pixel sizes, which of them it fits (`_of_the_pixel_sizes`); for particles or maps of none, why they have none
    and the setting or header that would have it checked. Any other warning as it is."""
    if not isinstance(warning, UncheckedVoxelSizeWarning):
        return warning
    noun = "mask map" if warning.what == "map" else "mask"
    unchecked = f"{warning.source}: the {noun}'s {warning.mask_angstrom:g} Å/px is not checked against the"
    if plan.particles is None:
        lacking = [info.path for info in plan.volume_set.maps if info.voxel_size_xyz[0] <= 0]
        if not lacking:
            return warning
        names = first_named([path.name for path in lacking], NAMED)
        if len(lacking) == 1:
            why = f"map: {names}'s header gives no voxel size; set it in its header"
        else:
            why = f"maps: the headers of {names} give no voxel size; set it in each"
        return MaskrunWarning(
            f"{unchecked} {why} ({header_fix(lacking[0], 'A')}, A the voxel size in Å) to have it checked"
        )
    particles = plan.particle_set
    if particles.pixel_sizes_angstrom:
        return _of_the_pixel_sizes(plan, warning)
    why = f": {particles.only_header_said}" if particles.header_is_no_pixel_size else ", whose pixel size is unknown"
    return MaskrunWarning(
        f"{unchecked} images{why}; set {JOB_NAMES.pixel_size_angstrom} to the images' pixel size (Å per pixel) to "
        "have it checked"
    )


def _of_the_pixel_sizes(plan: JobPlan, warning: UncheckedVoxelSizeWarning) -> MaskrunWarning:
    """A warning that a mask file's voxel size could not be checked, said of particles of several pixel sizes:
    which of them it fits (``the mask's 1.06 Å/px fits only optics group 1 'og1' (1.06 Å)``)."""
    particles = plan.particle_set
    several = particles.pixel_sizes_angstrom
    named = len(particles.pixel_size_groups) == len(several)
    fit = [
        f"{particles.pixel_size_groups[i]} ({size:g} Å)" if named else f"the particles of {size:g} Å"
        for i, size in enumerate(several)
        if abs(warning.mask_angstrom - size) <= VOXEL_TOLERANCE * size
    ]
    fits = f"fits only {' and '.join(fit)}" if fit else "fits none of the particles"
    return MaskrunWarning(
        f"{warning.source}: the {warning.what}'s {warning.mask_angstrom:g} Å/px {fits}: the particles' "
        f"{particles.pixel_sizes_differ}, and the {warning.what} applies pixel for pixel to every image; to mask "
        f"each pixel size with a {warning.what} made for it, {_one_job_per_pixel_size(particles)}"
    )


def _one_job_per_pixel_size(particles: ParticleSet) -> str:
    """How to mask particles of several pixel sizes: ``mask each optics group in a job of its own``."""
    what = "the particles of each pixel size" if particles.pixel_sizes_field else "each optics group"
    return f"mask {what} in a job of its own"


def projection_volume(plan: JobPlan, header: ImageInfo | None = None) -> np.ndarray:
    """The 3D mask of ``mask.source: projection``, checked against the particles (a particle job's only); ``header``:
    its `projection_header`, when the caller read it already."""
    projection, particles = _projected(plan)
    return read_projection_volume(projection.file, particles.box_yx, particles.pixel_size_angstrom, header=header)


def check_projection_volume_of(plan: JobPlan) -> None:
    """`projection_volume`'s checks that the 3D mask's header answers (box, pixel size), without reading its values
    (64 MB at 256³, for each unit: its projector reads them, once a process)."""
    projection, particles = _projected(plan)
    check_projection_volume(projection.file, particles.box_yx, particles.pixel_size_angstrom)


def _projected(plan: JobPlan) -> tuple[ProjectionParams, ParticleSet]:
    """The ``mask.projection`` section and the particles it is projected for (refused for maps)."""
    projection = plan.job.mask.projection
    assert projection is not None
    if plan.particles is None:
        raise UserError(
            "projects a 3D mask at each particle's pose: it masks particles, not maps; use source: file for maps",
            field="mask.source",
        )
    return projection, plan.particle_set


def size_text(nbytes: float) -> str:
    """``1.57 MB``: a number of bytes in words, to 3 figures."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if nbytes >= scale:
            return f"{nbytes / scale:.3g} {unit}"
    return f"{nbytes:.0f} B"


def planned_mask(plan: JobPlan) -> dict[str, Any]:
    """The mask section as the run record's ``job_resolved`` will hold it (the first unit's shape, the sampling
    chosen), for `describe_mask`."""
    mask = plan.job.mask
    data: dict[str, Any] = mask.model_dump(mode="json", by_alias=True)
    if mask.expression is not None:
        data["expression"] = mask.expression.record()
    if mask.projection is not None:
        data["projection"]["coarsening"] = plan.projection_coarsening
        if plan.projection_in_full_because is not None:
            data["projection"]["in_full_because"] = plan.projection_in_full_because
    if mask.geometry is not None:
        with warnings.catch_warnings():  # planning built this mask and gave its warnings (a shape cut by the box)
            warnings.simplefilter("ignore", MaskrunWarning)
            data["geometry"] = unit_mask(plan, plan.units[0])[1]
    return data


def map_groups(plan: JobPlan) -> dict[MaskKey, list[Unit]]:
    """A map job's units by what a shape resolves on (their stored box and voxel size), in set order; {} for
    particles."""
    groups: dict[MaskKey, list[Unit]] = {}
    for unit in plan.units if plan.particles is None else []:
        groups.setdefault(plan.mask_key(unit), []).append(unit)
    return groups


def masks_per(plan: JobPlan) -> str:
    """What a map set's saved masks are one each of: ``box``, or ``box and voxel size`` when maps of one box
    differ in voxel size (`JobPlan.mask_outputs`)."""
    boxes = [box for box, _ in map_groups(plan)]
    return "box" if len(boxes) == len(set(boxes)) else "box and voxel size"


NAMED = 3  # maps named in a sentence about some of a set's maps, before "and N more"


def maps_words(plan: JobPlan, units: list[Unit], named: bool = False) -> str:
    """``the 20 x 20 x 20 maps``: maps of one box, as ``validate`` and the report name them; the voxel size too
    (``at 2 Å/px``) when they share one that other maps of their box do not; with ``named``, which maps they are.
    """
    info = plan.volume_set.maps[units[0].map_index]
    box = plan.unit_grid(units[0])[0]
    voxels = {float(plan.unit_grid(u)[1][0]) for u in units}
    of_box = {float(plan.unit_grid(u)[1][0]) for u in plan.units if plan.unit_grid(u)[0] == box}
    words = f"the {_box_text(info)} maps" + (
        f" at {next(iter(voxels)):g} Å/px" if len(of_box) > len(voxels) == 1 else ""
    )
    if not named:
        return words
    names = [plan.volume_set.maps[u.map_index].path.name for u in units]
    return f"{words} ({first_named(names, NAMED)})"


def mask_lines(plan: JobPlan, mask: dict[str, Any], geometry_of: Callable[[Unit], dict[str, Any] | None]) -> list[str]:
    """``mask: ...``, as ``validate`` and the report say it; for a shape on maps of several boxes or voxel sizes,
    ``mask for the 20 x 20 x 20 maps: ...``, one line each (its lengths resolve per map).

    ``mask``: the mask section as resolved (`planned_mask`, or a run record's); ``geometry_of``:
    a unit's resolved shape.
    """
    groups = map_groups(plan) if plan.job.mask.geometry is not None else {}
    if len(groups) < 2:
        return [f"mask: {describe_mask(mask, _pixel_size(plan))}"]
    return [
        f"mask for {maps_words(plan, units)}: " + describe_mask(mask | {"geometry": geometry_of(units[0])}, voxel)
        for (_, voxel), units in groups.items()
    ]


def _shape_axes_notes(plan: JobPlan) -> list[str]:
    """How a shape lies in each map stored in another axis order: along its stored axes, as RELION reads it.

    A shape's x is the columns' axis (`maskrun.engine.one_file`: masks apply to the data as
    stored); a viewer that reads the header (ChimeraX) shows the map, and the mask, along x,
    y, z. For ``mask.geometry`` the shape is restated along those, when that changes its words.
    """
    mask = plan.job.mask
    terms = [] if mask.expression is None else [leaf for _, leaf in mask.expression.leaves("")]
    if plan.particles is not None or (mask.geometry is None and not any(t.geometry is not None for t in terms)):
        return []
    notes = []
    for unit in plan.units:
        info = plan.volume_set.maps[unit.map_index]
        if info.axis_map == (1, 2, 3):
            continue
        note = (
            f"{info.path.name} stores its axes as {info.stored_axes} (mapc, mapr, maps = "
            f"{', '.join(map(str, info.axis_map))}): a shape is laid along the stored axes, as RELION reads the map, "
            f"so the shape's x, y, z are the map's {info.stored_axes}"
        )
        resolved = unit_mask(plan, unit)[1]
        if resolved is not None:
            voxel = float(plan.unit_grid(unit)[1][0])
            along = describe_mask({"geometry": _along_xyz(resolved, info.axis_map)}, voxel)
            if along != describe_mask({"geometry": resolved}, voxel):
                note += f"; along the map's x, y, z: {along}"
        notes.append(note)
    return list(dict.fromkeys(notes))


def _along_xyz(geometry: dict[str, Any], axis_map: tuple[int, int, int]) -> dict[str, Any]:
    """A resolved shape's three-number fields (``center``, ``box_size``…) moved from the stored axes to x, y, z."""
    moved = dict(geometry)
    for key, value in geometry.items():
        if isinstance(value, list | tuple) and len(value) == 3:
            along = [value[0]] * 3
            for stored, axis in enumerate(axis_map):
                along[axis - 1] = value[stored]
            moved[key] = along
    return moved


def _box_text(info: ImageInfo) -> str:
    """A map's box along x, y, z (``70 x 64 x 60``), saying how it is stored when that is in another order."""
    stored = f", stored as {info.stored_axes}" if info.axis_map != (1, 2, 3) else ""
    return " x ".join(map(str, info.box_xyz)) + stored


def _pixel_size(plan: JobPlan) -> float:
    if plan.particles is not None:
        return plan.particle_set.pixel_size_angstrom
    return float(plan.volume_set.maps[0].voxel_size_xyz[0])


def described_mask(plan: JobPlan) -> list[str]:
    """The job's mask as ``validate`` says it: ``mask: raised_cosine: inner radius 20 px (40 Å), …``, a line for
    each box and voxel size a shape resolves on (`mask_lines`)."""
    with warnings.catch_warnings():  # planning built these masks and gave their warnings, of the maps they are of
        warnings.simplefilter("ignore", MaskrunWarning)
        return mask_lines(plan, planned_mask(plan), lambda unit: unit_mask(plan, unit)[1])


def described_fill(plan: JobPlan) -> str:
    """The job's fill as ``validate`` says it: ``value 0``, ``noise (seed 3)``, ``avg``."""
    fill = plan.job.fill
    words = fill.with_ + (f" {fill.value:g}" if fill.with_ == "value" else "")
    return words + (f" (seed {fill.seed})" if fill.with_ == "noise" else "")


def describe_plan(plan: JobPlan) -> list[str]:
    """A few lines saying what a job will do (``maskrun validate`` prints them)."""
    spec = plan.job.spec
    lines = [f"{plan.job.path}: valid"]
    if plan.particles is not None:
        p = plan.particles
        kind = particle_format(p.format).LABEL
        dropped = f", {p.dropped_rows} disabled row{'s' * (p.dropped_rows != 1)} dropped" if p.dropped_rows else ""
        stacks = f"{len(p.stack_paths)} stack" + ("s" if len(p.stack_paths) > 1 else "")
        pixel = p.pixel_size_said
        count = f"{len(p)} particle{'s' * (len(p) != 1)}"
        lines.append(f"  {count} ({kind}, {stacks}{dropped}), box {p.box_yx[1]} x {p.box_yx[0]} px, {pixel}")
        lines += [f"  note: {note}" for note in p.notes]
    else:
        lines.append(
            f"  {len(plan.volume_set.maps)} map{'s' if len(plan.volume_set.maps) > 1 else ''}: "
            + ", ".join(f"{i.path.name} ({_box_text(i)})" for i in plan.volume_set.maps[:5])
            + (" …" if len(plan.volume_set.maps) > 5 else "")
        )
    lines += [f"  {line}" for line in described_mask(plan)]
    said = plan.particles.notes if plan.particles is not None else []
    lines += [f"  note: {note}" for note in plan.notes if note not in said]  # the particles' were said above
    lines.append(f"  fill: {described_fill(plan)}; compat: {spec.compat}")
    if plan.job.check is not None:
        check = plan.job.check
        search = ", as a focused mask" if check.focused else ""
        search += ", with a search around it" if check.search else ""
        lines.append(f"  check: the mask judged by {check.half1.name} + {check.half2.name} after the run{search}")
    what = "batch" if plan.particles is not None else "map"
    plural = "es" if what == "batch" else "s"
    half = plan.output_dtype == FLOAT16
    size = " (float16, as the input)" if half else ""
    if plan.particles is not None:
        ny, nx = plan.particle_set.box_yx
        rows = max(u.stop_row - u.first_row for u in plan.units)
        each = f"{size_text(rows * ny * nx * plan.output_dtype.itemsize)} each{', float16 as the input' * half}"
        size = f" of up to {rows} particle{'s' * (rows != 1)} ({each})"
    lines.append(f"  {len(plan.units)} {what}{plural if len(plan.units) > 1 else ''}{size} -> {plan.output_dir}")
    return lines
