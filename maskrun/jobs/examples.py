"""Small synthetic data to try maskrun on: a phantom map and noisy projections of it.

The particles are spread over several stacks, as RELION spreads a project over one stack
per micrograph, and listed in a RELION 3.1 STAR file with an optics block.
"""

from __future__ import annotations

import filecmp
import os
import shutil
import socket
import tempfile
from importlib import resources
from pathlib import Path

import mrcfile
import numpy as np
import pandas as pd
import starfile

from maskrun.errors import UserError
from maskrun.formats.registry import convert_example
from maskrun.geometry.grid import coordinate_grid
from maskrun.io.output_space import check_output_location, is_taken
from maskrun.io.processes import process_alive

PIXEL_SIZE_ANGSTROM = 2.0
EXAMPLE_BYTES = 2_200_000  # the largest example's data: two 64³ maps (volumes, expression), 2.1 MB


def phantom_volume(box: int = 64) -> np.ndarray:
    """A blobby, asymmetric float32 phantom centred in a ``box``³ volume."""
    z, y, x = coordinate_grid((box, box, box))
    volume = np.zeros((box, box, box), dtype=np.float64)
    scale = box / 64
    for (cx, cy, cz), sigma, weight in [
        ((0, 0, 0), 9, 1.0),
        ((8, 4, -3), 5, 0.8),
        ((-7, -6, 5), 4, 0.9),
        ((2, -10, -8), 3, 0.6),
    ]:
        r2 = (x - cx * scale) ** 2 + (y - cy * scale) ** 2 + (z - cz * scale) ** 2
        volume += weight * np.exp(-r2 / (2 * (sigma * scale) ** 2))
    return volume.astype(np.float32)


def _write_mrc(path: Path, data: np.ndarray, stack: bool) -> None:
    with mrcfile.new(path, overwrite=True) as mrc:
        mrc.set_data(data)
        if stack:
            mrc.set_image_stack()
        mrc.voxel_size = PIXEL_SIZE_ANGSTROM
        mrc.header.label[0] = b"maskrun example data"
        mrc.header.nlabl = 1


def write_example_particles(
    folder: str | Path, n_particles: int = 60, n_stacks: int = 3, box: int = 64, seed: int = 0
) -> Path:
    """Write ``particles.star`` and ``Extract/mic_NNN.mrcs`` stacks into ``folder``.

    Returns
    -------
    Path
        The STAR file.
    """
    folder = Path(folder)
    (folder / "Extract").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    volume = phantom_volume(box)
    views = [volume.sum(axis=axis) for axis in range(3)]
    rows = []
    per_stack = np.array_split(np.arange(n_particles), n_stacks)
    for stack_index, members in enumerate(per_stack):
        images = []
        for _ in members:
            view = np.rot90(views[rng.integers(3)], k=int(rng.integers(4)))
            shift = rng.integers(-3, 4, size=2)
            images.append(np.roll(view, tuple(shift), axis=(0, 1)) + rng.normal(0, 2.0, view.shape))
        name = f"Extract/mic_{stack_index + 1:03d}.mrcs"
        _write_mrc(folder / name, np.asarray(images, dtype=np.float32), stack=True)
        for position in range(len(members)):
            rows.append(
                {
                    "rlnImageName": f"{position + 1:06d}@{name}",
                    "rlnMicrographName": f"Micrographs/mic_{stack_index + 1:03d}.mrc",
                    "rlnCoordinateX": float(rng.integers(100, 3900)),
                    "rlnCoordinateY": float(rng.integers(100, 3900)),
                    "rlnAngleRot": round(float(rng.uniform(-180, 180)), 3),
                    "rlnAngleTilt": round(float(rng.uniform(0, 180)), 3),
                    "rlnAnglePsi": round(float(rng.uniform(-180, 180)), 3),
                    "rlnOriginXAngst": 0.0,
                    "rlnOriginYAngst": 0.0,
                    "rlnDefocusU": round(float(rng.uniform(9000, 25000)), 1),
                    "rlnDefocusV": round(float(rng.uniform(9000, 25000)), 1),
                    "rlnDefocusAngle": round(float(rng.uniform(0, 180)), 2),
                    "rlnOpticsGroup": 1,
                }
            )
    optics = pd.DataFrame(
        [
            {
                "rlnOpticsGroup": 1,
                "rlnOpticsGroupName": "opticsGroup1",
                "rlnAmplitudeContrast": 0.1,
                "rlnSphericalAberration": 2.7,
                "rlnVoltage": 300.0,
                "rlnImagePixelSize": PIXEL_SIZE_ANGSTROM,
                "rlnImageSize": box,
                "rlnImageDimensionality": 2,
            }
        ]
    )
    star = folder / "particles.star"
    starfile.write({"optics": optics, "particles": pd.DataFrame(rows)}, star, overwrite=True)
    return star


def write_example_projection(folder: str | Path, n_particles: int = 60, box: int = 64, seed: int = 2) -> Path:
    """Write ``particles.star`` (true projections of the phantom at their poses, with noise), ``Extract/``
    stacks and ``masks/domain3d.mrc`` (a soft sphere around one of the phantom's domains).

    Each image is the phantom projected at its row's rot/tilt/psi and drawn at its origin
    (±3 px), so the projected masks of ``maskrun example projection`` fit the particles.

    Returns
    -------
    Path
        The STAR file.
    """
    from maskrun.geometry.projection import SliceProjector  # scipy.fft: only this example projects

    folder = Path(folder)
    star = write_example_particles(folder, n_particles=n_particles, box=box, seed=seed)
    blocks = starfile.read(star, always_dict=True)
    particles = blocks["particles"]
    rng = np.random.default_rng(seed)
    origins = rng.uniform(-3, 3, (2, n_particles))
    particles["rlnAngleTilt"] = np.round(np.degrees(np.arccos(rng.uniform(-1, 1, n_particles))), 3)
    particles["rlnOriginXAngst"] = np.round(origins[0] * PIXEL_SIZE_ANGSTROM, 3)
    particles["rlnOriginYAngst"] = np.round(origins[1] * PIXEL_SIZE_ANGSTROM, 3)
    views = SliceProjector(phantom_volume(box), workers=1).project(
        particles["rlnAngleRot"],
        particles["rlnAngleTilt"],
        particles["rlnAnglePsi"],
        particles["rlnOriginXAngst"] / PIXEL_SIZE_ANGSTROM,
        particles["rlnOriginYAngst"] / PIXEL_SIZE_ANGSTROM,
    )
    images = views + rng.normal(0, 2.0, views.shape).astype(np.float32)
    stacks = particles["rlnImageName"].str.split("@").str[1]
    for name in stacks.unique():
        _write_mrc(folder / name, images[(stacks == name).to_numpy()], stack=True)
    starfile.write({"optics": blocks["optics"], "particles": particles}, star, overwrite=True)
    z, y, x = coordinate_grid((box, box, box))
    centre = np.array([8.0, 4.0, -3.0]) * box / 64  # the phantom's second domain, x y z
    r = np.sqrt((x - centre[0]) ** 2 + (y - centre[1]) ** 2 + (z - centre[2]) ** 2)
    radius, edge = 9.0 * box / 64, 4.0
    domain = np.where(r <= radius, 1.0, 0.5 * (1 + np.cos(np.pi * np.clip((r - radius) / edge, 0, 1))))
    (folder / "masks").mkdir(exist_ok=True)
    _write_mrc(folder / "masks" / "domain3d.mrc", domain.astype(np.float32), stack=False)
    return star


def write_example_maps(folder: str | Path, n_maps: int = 2, box: int = 64, seed: int = 1) -> list[Path]:
    """Write ``maps/class_N.mrc``: the phantom with a little noise, one map per class."""
    folder = Path(folder)
    (folder / "maps").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for index in range(n_maps):
        volume = phantom_volume(box) + rng.normal(0, 0.05, (box, box, box)).astype(np.float32)
        path = folder / "maps" / f"class_{index + 1}.mrc"
        _write_mrc(path, volume, stack=False)
        paths.append(path)
    return paths


def write_example_ligand(folder: str | Path, box: int = 64) -> Path:
    """Write ``ligand.pdb``: six carbon atoms in a ring on the phantom's third blob, for ``box``³ maps."""
    import gemmi

    centre = (np.array([-7.0, -6.0, 5.0]) * box / 64 + box // 2) * PIXEL_SIZE_ANGSTROM  # x y z, Å
    structure, model, chain, residue = gemmi.Structure(), gemmi.Model(1), gemmi.Chain("L"), gemmi.Residue()
    residue.name, residue.seqid, residue.het_flag = "LIG", gemmi.SeqId(1, " "), "H"
    for index, angle in enumerate(np.linspace(0, 2 * np.pi, 6, endpoint=False)):
        atom = gemmi.Atom()
        atom.name, atom.element = f"C{index + 1}", gemmi.Element("C")
        atom.pos = gemmi.Position(*(centre + 1.4 * np.array([np.cos(angle), np.sin(angle), 0.0])))
        residue.add_atom(atom)
    chain.add_residue(residue)
    model.add_chain(chain)
    structure.add_model(model)
    path = Path(folder) / "ligand.pdb"
    structure.write_pdb(str(path))
    return path


def starter_job(kind: str, fmt: str = "star") -> str:
    """The annotated starter job for ``"particles"``, ``"volumes"``, ``"expression"`` or ``"projection"``, as YAML text.

    The template's ``{shapes}`` and ``{fills}`` comments list the shapes for its data (the
    hard-edged ones for an expression, whose terms are binary) and the fills, from their
    registries; a particle job reads ``particles.<fmt's suffix>``, the file `write_example`
    writes (``fmt`` is for particles: the example maps are MRC files).
    """
    from maskrun.config.fill import FILL_KINDS
    from maskrun.config.shape_params import SHAPES, SHAPES_2D, SHAPES_3D
    from maskrun.formats.registry import particle_format

    template = resources.files("maskrun.jobs").joinpath("templates", f"{kind}.yaml").read_text()
    template = template.replace("particles: particles.star", f"particles: particles{particle_format(fmt).SUFFIXES[0]}")
    each = "image" if kind in ("particles", "projection") else "map"
    fills = f"{' | '.join(FILL_KINDS)} (from each {each} itself; docs/spec.md, Fills)"
    template = template.replace("{fills}", fills)
    shapes = SHAPES_2D if kind == "particles" else SHAPES_3D
    if kind == "expression":
        shapes = tuple(name for name in SHAPES_3D if SHAPES[name].hard_edged)
    return template.replace("{shapes}", " | ".join(shapes))


def write_example(kind: str, folder: str | Path, fmt: str = "star") -> Path:
    """Write the starter job and the synthetic data it runs on into ``folder``.

    ``fmt`` (particles only) lists the particles as RELION ``star``, Xmipp ``xmd``,
    cryoSPARC ``cs`` or Scipion ``sqlite``, and the job reads that file. Everything is
    written in a hidden folder inside ``folder`` first and moved into place only when none
    of its names is taken by another file: the example never replaces a file (a project's
    own ``particles.star`` or ``Extract/`` stacks, say); one with the very bytes it would
    write (the maps of ``volumes`` and ``expression``, in one folder) is left as it is.

    Raises
    ------
    UserError
        If the job file, or any file the example writes, exists already (it may be the user's),
        a file is where it writes a folder (``folder`` itself, ``Extract/``), or the folder (or
        its nearest existing parent) is read-only or too full (`check_output_location`);
        nothing is written then.
    """
    folder = Path(folder)
    job = folder / f"{kind}.yaml"
    if job.exists():
        raise UserError("exists already; remove it or choose another folder", source=str(job))
    text = starter_job(kind, fmt)
    existing = folder  # the folder, or the nearest of its parents that is there
    while not is_taken(existing) and existing.parent != existing:
        existing = existing.parent
    if not existing.is_dir():
        raise UserError(
            "is a file, not a folder the example can be written into; choose another folder", source=str(existing)
        )
    check_output_location(folder, EXAMPLE_BYTES)
    folder.mkdir(parents=True, exist_ok=True)
    _clear_stale_staging(folder)
    staging = Path(tempfile.mkdtemp(prefix=f"{STAGING}{socket.gethostname()}-{os.getpid()}-", dir=folder))
    try:
        _write_example_data(kind, staging, fmt)
        (staging / job.name).write_text(text)
        written = sorted(
            (p.relative_to(staging) for p in staging.rglob("*") if p.is_file()), key=lambda p: p == Path(job.name)
        )
        for relative in list(written):
            for parent in reversed(relative.parents[:-1]):  # Extract/ of Extract/mic_001.mrcs, outermost first
                if is_taken(folder / parent) and not (folder / parent).is_dir():
                    raise UserError(
                        f"is a file where the {kind} example writes a folder; move it away or choose another folder",
                        source=str(folder / parent),
                    )
            taken = folder / relative
            if taken.is_file() and not taken.is_symlink() and filecmp.cmp(taken, staging / relative, shallow=False):
                written.remove(relative)  # the same example data, written before: kept as it is
            elif is_taken(taken):
                raise UserError(
                    f"exists already, and the {kind} example writes a file of that name; remove it or choose "
                    "another folder",
                    source=str(taken),
                )
        for relative in written:  # the job file last
            (folder / relative).parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / relative, folder / relative)
    except OSError as exc:  # a full disk, say: named as the file it would be, not the hidden staging one
        staged = Path(os.fsdecode(exc.filename)) if exc.filename is not None else None
        if staged is None or staged.is_relative_to(staging):
            exc.filename = str(folder / staged.relative_to(staging)) if staged is not None else str(folder)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return job


STAGING = ".maskrun-example-"  # + host-pid-random: the folder an example is written into before it is moved out


def _clear_stale_staging(folder: Path) -> None:
    """Remove the staging folders that examples written on this host left when killed (their process is gone)."""
    host = socket.gethostname()
    for staging in folder.glob(f"{STAGING}*"):
        owner, _, rest = staging.name.removeprefix(STAGING).rpartition("-")[0].rpartition("-")
        if owner == host and rest.isdigit() and not process_alive(int(rest)):
            shutil.rmtree(staging, ignore_errors=True)


def _write_example_data(kind: str, folder: Path, fmt: str) -> None:
    """The synthetic data of the ``kind`` example, in ``folder``."""
    if kind == "particles":
        convert_example(write_example_particles(folder), fmt)
    elif kind == "projection":
        write_example_projection(folder)
    else:
        write_example_maps(folder)
    if kind == "expression":
        write_example_ligand(folder)
