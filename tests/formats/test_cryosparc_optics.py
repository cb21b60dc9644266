"""The optics groups of the RELION STAR written beside a masked ``.cs``: one per exposure group and distinct optics,
each particle in its own, and what is left out (beam tilt too) said (maskrun.formats.cryosparc_optics)."""

from __future__ import annotations

import shutil
import subprocess
import warnings

import numpy as np
import pytest
import starfile

from maskrun.config.optics import Optics
from maskrun.errors import MaskrunWarning
from maskrun.formats.cryosparc import star_tables
from maskrun.formats.poses import poses_of
from maskrun.formats.registry import load_particle_set
from maskrun.jobs.plan import JOB_NAMES
from maskrun.jobs.runner import run_job

from conftest import write_mrc
from job_files import job_with, write_job
from pose_sets import PIXEL, RELION_PROJECT, float32_poses, random_poses, relion_projections, soft_ellipsoid, write_cs

BOX = 32
COUNT = 12
JOB = job_with(name="cs", inputs__particles="p.cs", mask__geometry__inner_radius=8, mask__geometry__outer_radius=12)
EXPOSURE = np.array([7, 3, 3, 7, 3, 7, 7, 3, 3, 3, 7, 7])  # the first row's group is not the first in order
OPTICS = {3: (300.0, 2.7, 0.1), 7: (200.0, 2.0, 0.07)}  # exposure group: kV, Cs mm, amplitude contrast


def rewrite(path, extra=(), **values):
    """The ``.cs`` at ``path`` with fields ``extra`` (dtype descriptions) added and ``values`` set (``ctf__cs_mm``)."""
    records = np.load(path)
    added = [spec for spec in extra if spec[0] not in records.dtype.names]  # the set's own defocus is replaced
    out = np.zeros(len(records), dtype=records.dtype.descr + added)
    for name in records.dtype.names:
        out[name] = records[name]
    for name, value in values.items():
        out[name.replace("__", "/")] = value
    with open(path, "wb") as file:
        np.save(file, out)
    return path


def two_exposure_groups(folder, poses=None, **values):
    """12 particles in exposure groups 7 and 3 (`EXPOSURE`) with their own voltage, Cs and amplitude contrast."""
    source = write_cs(folder, poses or float32_poses(random_poses(COUNT, seed=21)), BOX)
    rng = np.random.default_rng(8)
    per_row = np.array([OPTICS[group] for group in EXPOSURE])
    defocus = {"ctf__df1_A": rng.uniform(9000, 12000, COUNT), "ctf__df2_A": rng.uniform(8000, 9000, COUNT)}
    defocus["ctf__df_angle_rad"] = rng.uniform(-np.pi, np.pi, COUNT)
    extra = [("ctf/exp_group_id", "<u4"), ("ctf/df1_A", "<f4"), ("ctf/df2_A", "<f4"), ("ctf/df_angle_rad", "<f4")]
    extra += [(name, *spec) for name, *spec in values.pop("extra", [])]
    return rewrite(
        source,
        extra,
        ctf__exp_group_id=EXPOSURE,
        ctf__accel_kv=per_row[:, 0],
        ctf__cs_mm=per_row[:, 1],
        ctf__amp_contrast=per_row[:, 2],
        **defocus,
        **values,
    )


def companion(folder):
    """Run the job on ``folder/p.cs``: the output folder and its particles.star read by starfile."""
    out = run_job(write_job(folder, JOB)).output_dir
    return out, starfile.read(out / "particles.star", always_dict=True)


def tables(records, optics=None):
    """star_tables of ``records`` (no images needed), read as a job reads them: its optics and particles blocks as
    text columns."""
    names = [f"{i + 1}@s.mrcs" for i in range(len(records))]
    blocks = star_tables(records, names, PIXEL, BOX, optics=optics, names=JOB_NAMES)
    return blocks["optics"], blocks["particles"]


def records_with(count, **fields):
    """A bare .cs table: the optics fields at 300 kV, 2.7 mm, 0.1, a defocus, and ``fields``
    (``ctf__tilt_A=(("<f4", (2,)), 0.0)``: the dtype, or the dtype and shape, and the value)."""
    base = {"blob/psize_A": ("<f4", PIXEL), "ctf/accel_kv": ("<f4", 300), "ctf/cs_mm": ("<f4", 2.7)}
    base |= {"ctf/amp_contrast": ("<f4", 0.1), "ctf/df1_A": ("<f4", 15000), "ctf/df2_A": ("<f4", 14800)}
    base |= {"ctf/df_angle_rad": ("<f4", 0.5)}
    base |= {name.replace("__", "/"): spec for name, spec in fields.items()}
    kinds = {name: kind if isinstance(kind, tuple) else (kind,) for name, (kind, _) in base.items()}
    records = np.zeros(count, dtype=[(name, *kind) for name, kind in kinds.items()])
    for name, (_, value) in base.items():
        records[name] = value
    return records


def test_two_exposure_groups_give_two_optics_groups_with_their_own_optics(tmp_path):
    two_exposure_groups(tmp_path)
    _, blocks = companion(tmp_path)
    optics, particles = blocks["optics"], blocks["particles"]
    assert list(optics["rlnOpticsGroup"]) == [1, 2]
    assert list(optics["rlnOpticsGroupName"]) == ["opticsGroup3", "opticsGroup7"]
    for row, group in enumerate((3, 7)):
        voltage, cs, contrast = OPTICS[group]
        assert optics["rlnVoltage"][row] == voltage and optics["rlnSphericalAberration"][row] == cs
        assert optics["rlnAmplitudeContrast"][row] == pytest.approx(contrast, abs=1e-6)
        assert optics["rlnImagePixelSize"][row] == PIXEL and optics["rlnImageSize"][row] == BOX
    np.testing.assert_array_equal(particles["rlnOpticsGroup"], np.where(EXPOSURE == 3, 1, 2))
    assert "rlnBeamTiltX" not in optics.columns  # no tilt refined: the block stays as it was


def test_one_exposure_group_keeps_the_single_group_block(tmp_path):
    """One exposure group with one optics: the optics block is the one maskrun always wrote, byte for byte."""
    source = write_cs(tmp_path, float32_poses(random_poses(6)), BOX)
    rewrite(source, [("ctf/exp_group_id", "<u4"), ("ctf/tilt_A", "<f4", (2,))], ctf__exp_group_id=23)
    out = run_job(write_job(tmp_path, JOB)).output_dir
    text = (out / "particles.star").read_text()
    optics = text.split("data_particles")[0].split("loop_\n")[1].splitlines()
    assert optics == [
        "_rlnOpticsGroup #1",
        "_rlnOpticsGroupName #2",
        "_rlnImagePixelSize #3",
        "_rlnImageSize #4",
        "_rlnImageDimensionality #5",
        "_rlnVoltage #6",
        "_rlnSphericalAberration #7",
        "_rlnAmplitudeContrast #8",
        "1 opticsGroup1 1.5 32 2 300.000000 2.700000 0.100000",
        "",
    ]
    assert set(starfile.read(out / "particles.star")["particles"]["rlnOpticsGroup"]) == {1}


def test_beam_tilt_splits_optics_groups_but_is_not_written_while_its_sign_is_unknown():
    """Rows of different ctf/tilt_A are different optics groups (RELION's CtfRefine fits each); no rlnBeamTilt."""
    records = records_with(4, ctf__tilt_A=(("<f4", (2,)), 0.0))
    records["ctf/tilt_A"][2:] = [2700.0, -1350.0]
    with pytest.warns(MaskrunWarning, match=r"ctf/tilt_A not written to the RELION particles\.star .*CtfRefine"):
        optics, particles = tables(records)
    assert particles.column("rlnOpticsGroup") == ["1", "1", "2", "2"]
    assert not any("BeamTilt" in column for column in optics.columns)


def test_an_exposure_group_with_two_optics_is_split_and_no_group_mixes_optics():
    """Within exposure group 5 two Cs; without exposure groups, voltages and pixel sizes alone make the groups."""
    records = records_with(6, ctf__exp_group_id=("<u4", 5))
    records["ctf/cs_mm"] = [2.7, 2.7, 0.01, 2.7, 0.01, 2.7]
    optics, particles = tables(records)
    assert optics.column("rlnOpticsGroupName") == ["opticsGroup5_1", "opticsGroup5_2"]
    assert optics.column("rlnSphericalAberration") == ["0.010000", "2.700000"]
    assert particles.column("rlnOpticsGroup") == ["2", "2", "1", "2", "1", "2"]
    bare = records_with(4)
    bare["ctf/accel_kv"] = [300, 200, 300, 300]
    bare["blob/psize_A"] = [PIXEL, PIXEL, PIXEL, 1.31]
    optics, particles = tables(bare)
    assert optics.column("rlnOpticsGroupName") == ["opticsGroup1", "opticsGroup2", "opticsGroup3"]
    assert optics.column("rlnVoltage") == ["200.000000", "300.000000", "300.000000"]
    assert optics.column("rlnImagePixelSize") == ["1.5", "1.31", "1.5"]
    assert particles.column("rlnOpticsGroup") == ["3", "1", "3", "2"]


def test_the_origins_in_angstrom_follow_each_groups_pixel_size(tmp_path):
    """Two pixel sizes: each group's rlnImagePixelSize, and RELION's STAR route reads back the .cs's origins in px."""
    written = float32_poses(random_poses(COUNT, seed=22))
    source = write_cs(tmp_path, written, BOX)
    psize = np.where(np.arange(COUNT) % 3 == 0, 1.31, PIXEL)
    rewrite(source, blob__psize_A=psize, alignments3D__psize_A=psize)
    own = poses_of(load_particle_set(source))
    out, blocks = companion(tmp_path)
    assert sorted(blocks["optics"]["rlnImagePixelSize"]) == [1.31, PIXEL]
    read = poses_of(load_particle_set(out / "particles.star"))
    np.testing.assert_allclose(read.origin_x_px, own.origin_x_px, atol=1e-6)
    np.testing.assert_allclose(read.origin_y_px, own.origin_y_px, atol=1e-6)
    np.testing.assert_allclose(read.origin_x_px, written["x"], atol=1e-5)  # the .cs shifts, in its rows' pixels


def test_optics_missing_in_some_rows_are_filled_from_inputs_optics_or_warned():
    records = records_with(4)
    records["ctf/accel_kv"] = [300, 0, 300, np.nan]  # 0 and NaN: not set
    example = r"inputs\.optics, with your microscope's values, e\.g\. \{voltage_kv: 300\}$"
    with pytest.warns(MaskrunWarning, match=r"has no ctf/accel_kv in some rows: .*" + example):
        optics, _ = tables(records)
    assert "rlnVoltage" not in optics.columns
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        optics, particles = tables(records, optics=Optics(voltage_kv=300))
    assert optics.column("rlnVoltage") == ["300.000000"] and set(particles.column("rlnOpticsGroup")) == {"1"}


def test_aberrations_without_an_established_conversion_are_left_out_with_a_warning():
    pair, four = ("<f4", (2,)), ("<f4", (4,))
    records = records_with(3, ctf__trefoil_A=(pair, 0.0), ctf__anisomag=(four, 0.0), ctf__tilt_A=(pair, 0.0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # all 0, as cryoSPARC writes them unrefined: nothing to say
        tables(records)
    records["ctf/anisomag"][:, 0] = 0.01
    records["ctf/trefoil_A"] = 120.0
    with pytest.warns(MaskrunWarning, match=r"ctf/trefoil_A, ctf/anisomag not written to the RELION particles\.star"):
        optics, _ = tables(records)
    assert not any("Zernike" in c or "MagMat" in c for c in optics.columns)
    records["ctf/tilt_A"] = [100.0, 0.0]
    with pytest.warns(MaskrunWarning, match=r"ctf/tilt_A, ctf/trefoil_A, ctf/anisomag not written"):
        optics, _ = tables(records)
    assert "rlnBeamTiltX" not in optics.columns


def relion_reads(out) -> int:
    if shutil.which("relion_image_handler") is None:
        pytest.skip("RELION 3.1.3 is not installed")
    done = subprocess.run(
        ["relion_image_handler", "--i", "particles.star", "--o", "stats", "--stats"], cwd=out, capture_output=True
    )
    return done.returncode


def hand_written_star(folder, blocks, name, optics_of_row) -> str:
    """The companion STAR's particles with the optics ``optics_of_row`` gives each row, written by hand."""
    particles = blocks["particles"]
    groups = sorted(set(optics_of_row))
    lines = ["data_optics", "loop_", "_rlnOpticsGroup", "_rlnImagePixelSize", "_rlnImageSize"]
    lines += ["_rlnImageDimensionality", "_rlnVoltage", "_rlnSphericalAberration", "_rlnAmplitudeContrast"]
    lines += [f"{g + 1} {PIXEL} {BOX} 2 {v} {c} {a}" for g, (v, c, a) in enumerate(groups)]
    labels = ["rlnImageName", "rlnAngleRot", "rlnAngleTilt", "rlnAnglePsi", "rlnOriginXAngst", "rlnOriginYAngst"]
    labels += ["rlnDefocusU", "rlnDefocusV", "rlnDefocusAngle"]
    lines += ["", "data_particles", "loop_"] + [f"_{label}" for label in labels] + ["_rlnOpticsGroup"]
    for row, optics in enumerate(optics_of_row):
        values = [str(particles[label][row]) for label in labels]
        lines.append(" ".join(values) + f" {groups.index(optics) + 1}")
    (folder / name).write_text("\n".join(lines) + "\n")
    return name


@pytest.mark.skipif(RELION_PROJECT is None, reason="relion_project (RELION 3.1) is not installed")
def test_relion_projects_each_particle_with_its_own_groups_ctf(tmp_path):
    """relion_project --ctf at the companion STAR gives the projections of the particles written by hand with each
    one's own voltage, Cs and amplitude contrast, and not those with the first row's for all (the single group)."""
    two_exposure_groups(tmp_path)
    out, blocks = companion(tmp_path)
    write_mrc(out / "map.mrc", soft_ellipsoid(BOX), voxel_size=PIXEL)
    ours = relion_projections(out, "particles.star")
    own = [OPTICS[group] for group in EXPOSURE]
    reference = relion_projections(out, hand_written_star(out, blocks, "own.star", own))
    first_rows = relion_projections(out, hand_written_star(out, blocks, "first.star", [own[0]] * COUNT))
    scale = np.abs(reference).max()
    assert np.abs(ours - reference).max() <= 1e-4 * scale
    other = EXPOSURE != EXPOSURE[0]  # noqa: SIM300 (the rows whose group is not the first row's)
    assert np.abs(ours[other] - first_rows[other]).max() > 0.05 * scale  # the other group's CTF is its own
