"""Helpers to write job files and example data for tests."""

from __future__ import annotations

from pathlib import Path

import yaml

from maskrun.jobs.examples import write_example_maps, write_example_particles

PARTICLE_JOB = {
    "version": 1,
    "name": "t",
    "inputs": {"particles": "particles.star"},
    "mask": {"source": "geometry", "geometry": {"shape": "raised_cosine", "inner_radius": 20, "outer_radius": 28}},
    "fill": {"with": "value", "value": 0},
    "batch_size": 25,
}


def example_folder(folder: Path, particles: int = 60, maps: int = 2) -> Path:
    """Example particles (3 stacks) and maps in ``folder``."""
    write_example_particles(folder, n_particles=particles)
    write_example_maps(folder, n_maps=maps)
    return folder


def write_job(folder: Path, job: dict | str, name: str = "job.yaml") -> Path:
    path = folder / name
    path.write_text(job if isinstance(job, str) else yaml.safe_dump(job, sort_keys=False))
    return path


def validate_refuses(job_file: Path, capsys) -> str:
    """``maskrun validate JOB``: exit 2, one stderr line (returned), and the job's folder unchanged, byte for byte."""
    from maskrun.cli.main import main

    folder = job_file.parent
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert main(["validate", str(job_file)]) == 2
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0]
    return err[0]


def job_with(**changes) -> dict:
    """PARTICLE_JOB with changes keyed by path, ``mask__geometry__radius=5``; None removes a key."""
    job = yaml.safe_load(yaml.safe_dump(PARTICLE_JOB))
    for dotted, value in changes.items():
        *parents, key = dotted.split("__")
        node = job
        for part in parents:
            node = node.setdefault(part, {})
        if value is None:
            node.pop(key, None)
        else:
            node[key] = value
    return job


def slow_blocks_env(folder: Path, seconds: float) -> dict[str, str]:
    """An environment whose Python sleeps ``seconds`` before masking each block (a sitecustomize hook):
    a long run to interrupt or watch, in maskrun and in the Snakemake it starts."""
    import os

    hook = folder / "hook"
    hook.mkdir(exist_ok=True)
    (hook / "sitecustomize.py").write_text(
        "import time\n"
        "import maskrun.engine.stream as stream\n"
        "real = stream.mask_rows\n"
        "def mask_rows(*args, **kwargs):\n"
        f"    time.sleep({seconds})\n"
        "    return real(*args, **kwargs)\n"
        "stream.mask_rows = mask_rows\n"
    )
    # the hook first, then what was there (a worktree's maskrun, say, over the installed one)
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(hook), os.environ.get("PYTHONPATH")]))}


def finished_particle_job(folder: Path) -> tuple[Path, Path, Path]:
    """A finished particle job of 30 example particles, run in-process without a report: its folder, job file
    and output folder."""
    from maskrun.jobs.runner import run_job

    folder = example_folder(folder, particles=30, maps=0)
    job = write_job(folder, job_with(report=False))
    return folder, job, run_job(job).output_dir


def stored_zxy(path: Path, volume_zyx, voxel: float = 2.0) -> Path:
    """Write a map given along (z, y, x) with its axes stored as z, x, y (mapc, mapr, maps = 3, 1, 2)."""
    import mrcfile
    import numpy as np

    stored = np.ascontiguousarray(np.transpose(volume_zyx, (1, 2, 0)))  # (sections y, rows x, columns z)
    with mrcfile.new(path, overwrite=True) as mrc:
        mrc.set_data(stored.astype(np.float32))
        nz, ny, nx = volume_zyx.shape
        mrc.header.mapc, mrc.header.mapr, mrc.header.maps = 3, 1, 2
        mrc.header.mx, mrc.header.my, mrc.header.mz = nx, ny, nz
        mrc.header.cella = (nx * voxel, ny * voxel, nz * voxel)
    return path
