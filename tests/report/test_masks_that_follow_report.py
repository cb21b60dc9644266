"""The report's checks on shapes that are not round or that follow (the helical look, findings 1 and 2): a long box
turned by each segment's psi is judged on the segments turned back, never by rings or a radius; each particle's own
placed and turned shape is checked against the box edge."""

from __future__ import annotations

import json
import shutil
import subprocess
import warnings
from pathlib import Path

import mrcfile
import numpy as np
import pytest
import yaml

from maskrun.api import run_job
from maskrun.cli.main import main
from maskrun.engine.following_masks import followed_masks
from maskrun.errors import MaskrunWarning
from maskrun.jobs.plan import plan_job
from maskrun.report import checks
from maskrun.report.particle_warnings import turned_sample
from maskrun.report.projected import followed_sample, resolved_shape

N, PIXEL, COUNT = 128, 1.5, 120
needs_relion = pytest.mark.skipif(shutil.which("relion_project") is None, reason="relion_project not installed")


def helical_segments(folder: Path, psi: np.ndarray, seed: int = 7) -> None:
    """The look's repro (make_segments.py): a rod along z with a helix of blobs, projected by relion_project at tilt
    90 at the given psi, origins ±4 px, noise as strong as the signal: refine.star, segs.mrcs."""
    z, y, x = np.meshgrid(*(np.arange(N) - N // 2,) * 3, indexing="ij")
    rod = np.exp(-(x**2 + y**2) / (2 * 6.0**2))
    for k in range(-20, 21):
        ph = np.radians(k * 25)
        rod += 0.6 * np.exp(-((x - 8 * np.cos(ph)) ** 2 + (y - 8 * np.sin(ph)) ** 2 + (z - k * 3.2) ** 2) / 12.5)
    with mrcfile.new(folder / "rod.mrc", overwrite=True) as m:
        m.set_data(rod.astype(np.float32))
        m.voxel_size = PIXEL
    rng = np.random.default_rng(seed)
    rot, tilt = rng.uniform(-180, 180, COUNT), 90 + rng.normal(0, 3, COUNT)
    ox, oy = rng.uniform(-4, 4, COUNT), rng.uniform(-4, 4, COUNT)
    tilt[:12] = 90
    ox[:12] = oy[:12] = 0
    columns = "ImageName MicrographName AngleRot AngleTilt AnglePsi OriginXAngst OriginYAngst OpticsGroup DefocusU"
    lines = [
        "data_optics", "loop_", "_rlnOpticsGroupName", "_rlnOpticsGroup", "_rlnVoltage", "_rlnSphericalAberration",
        "_rlnAmplitudeContrast", "_rlnImagePixelSize", "_rlnImageSize", "_rlnImageDimensionality",
        f"opticsGroup1 1 300 2.7 0.1 {PIXEL} {N} 2", "", "data_particles", "loop_",
        *(f"_rln{c}" for c in columns.split()),
    ]  # fmt: skip
    for i in range(COUNT):
        lines.append(
            f"{i + 1:06d}@segs.mrcs mic1.mrc {rot[i]:.4f} {tilt[i]:.4f} {psi[i]:.4f} {ox[i] * PIXEL:.4f} "
            f"{oy[i] * PIXEL:.4f} 1 15000"
        )
    (folder / "refine.star").write_text("\n".join(lines) + "\n")
    subprocess.run(
        ["relion_project", "--i", "rod.mrc", "--ang", "refine.star", "--o", "clean", "--angpix", str(PIXEL)],
        cwd=folder, check=True, capture_output=True,
    )  # fmt: skip
    clean = mrcfile.read(folder / "clean.mrcs").astype(np.float32)
    noise = np.random.default_rng(3).normal(0, clean.std(), clean.shape).astype(np.float32)
    with mrcfile.new(folder / "segs.mrcs", overwrite=True) as m:
        m.set_data(clean + noise)
        m.voxel_size = PIXEL


def job(folder: Path, name: str, geometry: dict, follow: str | None = "pose") -> Path:
    mask = {"source": "geometry", "geometry": geometry} | ({"follow": follow} if follow else {})
    path = folder / f"{name}.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "name": name,
                "inputs": {"particles": "refine.star"},
                "mask": mask,
                "fill": {"with": "background"},
            }
        )
    )
    return path


def warnings_of(path: Path) -> list[str]:
    with warnings.catch_warnings():  # planning's (a tube cut by the box) are in the run record too
        warnings.simplefilter("ignore", MaskrunWarning)
        out = run_job(path).output_dir
    return list(json.loads((out / "provenance" / "run.json").read_text())["warnings"])


@pytest.fixture(scope="module")
def segments(tmp_path_factory):
    if shutil.which("relion_project") is None:
        pytest.skip("relion_project not installed")
    folder = tmp_path_factory.mktemp("helix")
    rng = np.random.default_rng(7)
    psi = np.concatenate([[0, 15, 30, 45, 60, 75, 90, 120, 150, 180, -45, -90], rng.uniform(-180, 180, COUNT - 12)])
    helical_segments(folder, psi)
    return folder


def tight_share(warnings: list[str]) -> int:
    tight = [w for w in warnings if "the mask is tight" in w]
    return int(tight[0].split("tight: ")[1].split("%")[0]) if tight else 0


@needs_relion
def test_long_boxes_turned_by_psi_are_judged_on_the_segments_turned_back(segments):
    """maskrun said 62 %, 62 % and 51 % (rings of a long box drop below 0.5 at its half-width); each particle's own
    mask leaves out 15.6 %, 9.6 % and 4.2 % of its clean signal, mostly the filament past the box's ends."""
    found = {
        size: warnings_of(job(segments, f"box{size[0]}", {"shape": "box", "box_size": list(size), "soft_edge": 5}))
        for size in ((110, 30), (118, 30), (400, 41))
    }
    assert 0 < tight_share(found[(110, 30)]) <= 20
    assert tight_share(found[(118, 30)]) <= 15 and tight_share(found[(400, 41)]) == 0
    for said in found.values():
        tight = [w for w in said if "the mask is tight" in w]
        assert all("radius of" not in w and "larger box" not in w and "turned back by its psi" in w for w in tight)


@needs_relion
def test_validate_says_the_reports_tight_warning_of_a_turned_box_before_the_run(segments, capsys):
    """The report's check of a shape that follows (the segments turned back by their psi) is made on the same
    sample by validate, before the run: the same sentence, which the report then finds again."""
    path = job(segments, "early110", {"shape": "box", "box_size": [110, 30], "soft_edge": 5})
    assert main(["validate", str(path)]) == 0
    err = capsys.readouterr().err.splitlines()
    said = [line.removeprefix("maskrun: warning: ") for line in err if "the mask is tight" in line]
    assert len(said) == 1 and "turned back by its psi" in said[0]
    assert [w for w in warnings_of(path) if "the mask is tight" in w] == said


@needs_relion
def test_each_particles_own_turned_shape_is_checked_against_the_box_edge(segments):
    """The 118 x 30 box reaches the box edge on 72 of 120 segments, turned by their psi; nothing said so."""
    warnings = warnings_of(job(segments, "edge118", {"shape": "box", "box_size": [118, 30], "soft_edge": 5}))
    cut = [w for w in warnings if "reach the box edge" in w]
    assert len(cut) == 1 and "% of the particles' masks reach the box edge (all particles): " in cut[0]
    share = int(cut[0].split("%")[0])
    assert 50 <= share <= 70  # 72 of 120 (60 %) with the look's draws of psi and origins
    assert "turned by its psi" in cut[0] and "offset and psi put its ends or corners past it" in cut[0]
    # 118 x 30 with a soft edge of 5, turned, reaches 66 px from its centre, plus the origins' 4-5 px
    needed = int(cut[0].split("a box of at least ")[1].split(" px")[0])
    assert cut[0].endswith(f"make the shape smaller, or re-extract the particles in a box of at least {needed} px")
    assert 140 <= needed <= 150
    # a tube longer than any box: planning's warning for the unturned shape stays; no larger box is offered
    tube = warnings_of(job(segments, "tube", {"shape": "box", "box_size": [400, 41], "soft_edge": 5}))
    assert any("touches the box edge" in w for w in tube)
    cut = [w for w in tube if "reach the box edge" in w]
    assert (
        len(cut) == 1 and cut[0].startswith("100%") and "larger box" not in cut[0] and "box of at least" not in cut[0]
    )
    # a disc well inside the box, whatever the offsets: nothing
    assert not [w for w in warnings_of(job(segments, "disc", {"shape": "circular", "radius": 40})) if "box edge" in w]


@needs_relion
def test_the_segments_turned_back_line_up_with_the_unturned_shape(segments):
    """`turned_sample` undoes what the job did: each particle's own mask, turned back, is the shape at the centre."""
    path = job(segments, "lineup", {"shape": "box", "box_size": [60, 20], "soft_edge": 4, "center": [3, -2]})
    plan = plan_job(path)
    rows = np.arange(0, COUNT, 10)
    own = followed_sample(plan, rows)
    turned = turned_sample(plan, own, rows)
    unturned = followed_masks(resolved_shape(plan), (N, N), np.zeros(1), np.zeros(1), "maskrun")[0]
    assert not np.allclose(own, unturned)  # offsets and psi moved and turned them
    difference = np.nanmax(np.abs(turned - unturned), axis=(1, 2))
    assert difference.max() < 0.3  # linear interpolation across a soft edge of 4 px, nothing more
    assert np.nanmean(np.abs(turned - unturned)) < 0.01


@needs_relion
def test_a_fixed_box_on_a_filament_gets_no_radius_or_larger_box(tmp_path):
    """Segments at psi ≈ 0 in a fixed 110 x 60 box: 'tight: 33 % … even a radius of 61 px … would keep 94.6 %: use
    that radius, or re-extract the particles in a larger box'; the share left out is the filament past the ends."""
    helical_segments(tmp_path, np.random.default_rng(2).normal(0, 3, COUNT))
    warnings = warnings_of(job(tmp_path, "fixed", {"shape": "box", "box_size": [110, 60], "soft_edge": 5}, None))
    tight = [w for w in warnings if "the mask is tight" in w]
    assert len(tight) == 1 and "a radius of" not in tight[0] and "larger box" not in tight[0]
    assert "judged pixel by pixel" in tight[0] and 8 <= tight_share(tight) <= 16  # each particle's own: 12.7 %


def test_only_a_mask_round_about_the_box_centre_is_judged_by_rings():
    y, x = np.mgrid[:64, :64] - 32
    r = np.hypot(x, y)
    for round_mask in (r <= 6, r <= 30, np.exp(-(r**2) / 50), (r >= 5) & (r <= 20)):
        assert checks.is_round(np.asarray(round_mask, dtype=float))
    for other in ((abs(x) <= 10) & (abs(y) <= 10), (abs(x) <= 15) & (abs(y) <= 5), np.hypot(x - 5, y) <= 8):
        assert not checks.is_round(other.astype(float))
    assert checks.is_round((np.hypot(x - 5, y) <= 8).astype(float), (5.0, 0.0))  # about its own centre
