"""``maskrun example projection`` (issue 25): a starter job for projected masks that runs on generated data,
each particle masked by the domain mask projected at its own pose."""

from __future__ import annotations

import mrcfile
import numpy as np
import starfile

from maskrun.cli.main import main
from maskrun.jobs.runner import run_job


def test_the_projection_example_validates_runs_and_masks_each_particle_by_its_own_projection(tmp_path, capsys):
    demo = tmp_path / "demo"
    assert main(["example", "projection", "--write", str(demo)]) == 0
    job = demo / "projection.yaml"
    assert "source: projection" in job.read_text() and "{fills}" not in job.read_text()
    assert main(["validate", str(job)]) == 0
    assert "60 particles (RELION STAR, 3 stacks)" in capsys.readouterr().out
    summary = run_job(job)
    out = summary.output_dir
    assert summary.units_run == 3
    masks = np.concatenate([mrcfile.read(p) for p in sorted((out / "masks").glob("*.mrcs"))])
    masked = np.concatenate([mrcfile.read(p) for p in sorted((out / "stacks").glob("*.mrcs"))])
    particles = starfile.read(demo / "particles.star")["particles"]
    images = np.concatenate(
        [mrcfile.read(demo / name) for name in particles["rlnImageName"].str.split("@").str[1].unique()]
    )
    np.testing.assert_allclose(masked, images * masks, atol=1e-5)
    # the masks are the domain mask projected at each particle's pose (project-mask gives the same ones) ...
    assert (
        main(
            [
                "project-mask",
                str(demo / "masks" / "domain3d.mrc"),
                str(demo / "particles.star"),
                str(tmp_path / "check.mrcs"),
                "--soft-edge",
                "4",
            ]
        )
        == 0
    )
    np.testing.assert_allclose(masks, mrcfile.read(tmp_path / "check.mrcs"), atol=1e-5)
    # ... and differ from particle to particle: each keeps a part of its own image, not one fixed disc
    kept = (masks > 0.5).mean(axis=(1, 2))
    assert kept.min() > 0.02 and kept.max() < 0.5
    assert np.abs(masks - masks.mean(axis=0)).max() > 0.9


def test_the_projection_example_is_a_star_set(tmp_path, capsys):
    assert main(["example", "projection", "--format", "cs", "--write", str(tmp_path / "demo")]) == 2
    assert "RELION STAR: leave --format out" in capsys.readouterr().err
    assert not (tmp_path / "demo").exists()
