"""A job whose masks follow the particles refuses a set that records no origins, and a cryoSPARC set's refusals
name the passthrough beside it that holds what it lacks.

The cryoSPARC look: ``follow: offsets`` on a restacked ``.cs`` given without its passthrough
ran, every mask at the box centre; cryoSPARC writes ``J7_passthrough_particles.cs`` beside
``J7_particles.cs``, and neither the refusal of poses nor the warning of missing optics
named it.
"""

from __future__ import annotations

import shutil
import warnings

import numpy as np
import pytest

from maskrun.cli.main import main
from maskrun.errors import CompanionStarWarning
from maskrun.formats.registry import load_particle_set
from maskrun.jobs.plan import JOB_NAMES

from job_files import validate_refuses, write_job
from pose_sets import random_poses, write_cs, write_soft_ellipsoid, write_stack

BOX = 32


def restacked(folder, beside: bool = True, keep: bool = False):
    """A set as cryoSPARC's Restack writes it: ``J7_particles.cs`` (uid, blob) and, if ``beside``,
    ``J7_passthrough_particles.cs`` (poses, CTF, in another order); the whole set as ``p.cs`` if ``keep``."""
    full = write_cs(folder, random_poses(6, seed=2), BOX)
    records = np.load(full)
    blob = [name for name in records.dtype.names if name == "uid" or name.startswith("blob/")]
    rest = [name for name in records.dtype.names if not name.startswith("blob/")]
    with open(folder / "J7_particles.cs", "wb") as file:
        np.save(file, np.ascontiguousarray(records[blob]))
    if beside:
        with open(folder / "J7_passthrough_particles.cs", "wb") as file:
            np.save(file, np.ascontiguousarray(records[rest][::-1]))
    if not keep:
        full.unlink()
    return folder / "J7_particles.cs"


def job(particles: str, mask: dict, **inputs) -> dict:
    return {"version": 1, "name": "t", "inputs": {"particles": particles, **inputs}, "mask": mask}


FOLLOW = {"source": "geometry", "geometry": {"shape": "circular", "radius": 10}, "follow": "offsets"}
PROJECTION = {"source": "projection", "projection": {"file": "mask3d.mrc"}}


def test_follow_offsets_without_shifts_names_the_passthrough_beside(tmp_path, capsys):
    cs = restacked(tmp_path)
    line = validate_refuses(write_job(tmp_path, job(cs.name, FOLLOW)), capsys)
    assert line == (
        f"maskrun validate: error: {cs}: mask.follow: has no alignments3D/shift or alignments2D/shift: these "
        "particles' origins (shifts) are in their passthrough J7_passthrough_particles.cs beside it; give it as "
        "inputs.passthrough; or remove mask.follow to mask every particle alike"
    )
    given = job(cs.name, FOLLOW, passthrough="J7_passthrough_particles.cs")
    assert main(["validate", str(write_job(tmp_path, given, "given.yaml"))]) == 0


def test_follow_offsets_without_shifts_or_a_passthrough_is_refused(tmp_path, capsys):
    cs = restacked(tmp_path, beside=False)
    line = validate_refuses(write_job(tmp_path, job(cs.name, FOLLOW)), capsys)
    assert line.endswith(
        "has no alignments3D/shift or alignments2D/shift: these particles have no origins (shifts); take the "
        "particles output of a 3D refinement or a 2D classification, or give the passthrough .cs that holds them "
        "as inputs.passthrough (they live there after Restack, Downsample or Extract); or remove mask.follow to mask "
        "every particle alike"
    )


def test_a_projected_mask_names_the_passthrough_beside_as_follow_does(tmp_path, capsys):
    cs = restacked(tmp_path)
    write_soft_ellipsoid(tmp_path / "mask3d.mrc", BOX)
    line = validate_refuses(write_job(tmp_path, job(cs.name, PROJECTION)), capsys)
    assert line.endswith(
        "has no alignments3D/pose: these particles' 3D poses are in their passthrough J7_passthrough_particles.cs "
        "beside it; give it as inputs.passthrough"
    )


def test_a_passthrough_beside_without_the_fields_is_not_named(tmp_path, capsys):
    cs = restacked(tmp_path)
    records = np.load(tmp_path / "J7_passthrough_particles.cs")
    with open(tmp_path / "J7_passthrough_particles.cs", "wb") as file:
        np.save(file, np.ascontiguousarray(records[["uid", "ctf/accel_kv"]]))
    assert "give the passthrough .cs that holds them as inputs.passthrough" in validate_refuses(
        write_job(tmp_path, job(cs.name, FOLLOW)), capsys
    )


@pytest.mark.parametrize("which", ["another job's", "other particles'"])
def test_a_passthrough_that_would_not_join_is_not_named(tmp_path, capsys, which):
    """Another job's passthrough (J9 beside J7), or one lacking some of the particles' uids, is no fix to give."""
    cs = restacked(tmp_path)
    passthrough = tmp_path / "J7_passthrough_particles.cs"
    if which == "another job's":
        passthrough.rename(tmp_path / "J9_passthrough_particles.cs")
    else:
        records = np.load(passthrough)
        records["uid"][0] += 1
        with open(passthrough, "wb") as file:
            np.save(file, records)
    line = validate_refuses(write_job(tmp_path, job(cs.name, FOLLOW)), capsys)
    assert "passthrough_particles.cs" not in line
    assert "give the passthrough .cs that holds them as inputs.passthrough" in line


def test_a_passthrough_of_the_same_job_under_another_prefix_is_named(tmp_path, capsys):
    """cryoSPARC's export names the particles cryosparc_P12_J7_001_particles.cs and the passthrough
    P12_J7_passthrough_particles.cs: one job, J7."""
    cs = restacked(tmp_path)
    cs = cs.rename(tmp_path / "cryosparc_P12_J7_001_particles.cs")
    (tmp_path / "J7_passthrough_particles.cs").rename(tmp_path / "P12_J7_passthrough_particles.cs")
    line = validate_refuses(write_job(tmp_path, job(cs.name, FOLLOW)), capsys)
    assert "are in their passthrough P12_J7_passthrough_particles.cs beside it; give it as inputs.passthrough" in line


def companion_star_warnings(cs, **options) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_particle_set(cs, **options)
    return [str(w.message) for w in caught if issubclass(w.category, CompanionStarWarning)]


def missing_optics_said(cs, **names) -> str:
    (said,) = [w for w in companion_star_warnings(cs, **names) if "has no ctf/accel_kv" in w]
    assert said.startswith(f"{cs} has no ctf/accel_kv, ctf/cs_mm, ctf/amp_contrast: the RELION particles.star")
    return said


def test_the_missing_optics_warning_names_the_passthrough_beside(tmp_path):
    cs = restacked(tmp_path)
    assert (
        "RELION refuses it; their passthrough J7_passthrough_particles.cs beside it holds them: give it as "
        "inputs.passthrough, or give them as inputs.optics" in missing_optics_said(cs, names=JOB_NAMES)
    )
    said = missing_optics_said(cs)  # a caller that names neither setting: neither is proposed
    assert said.endswith("RELION refuses it; write them into the .cs, with your microscope's values")


def extracted(folder):
    """A set as cryoSPARC v4's extraction writes it: ``J12/extracted_particles.cs`` (uid, blob) and
    ``J12/J12_passthrough_particles.cs`` (CTF, poses): neither name says the other's."""
    job_folder = folder / "J12"
    job_folder.mkdir()
    cs = restacked(job_folder).rename(job_folder / "extracted_particles.cs")
    (job_folder / "J7_passthrough_particles.cs").rename(job_folder / "J12_passthrough_particles.cs")
    return cs


def test_a_v4_extraction_is_told_of_the_passthrough_its_job_folder_holds(tmp_path, capsys):
    """J12/extracted_particles.cs: the passthrough was looked for by the main file's name alone, never found; the
    warning said only "give them as inputs.optics", and the STAR then had no defocus, silently."""
    cs = extracted(tmp_path)
    optics, defocus = companion_star_warnings(cs, names=JOB_NAMES)
    assert "passthrough J12_passthrough_particles.cs beside it holds them: give it as inputs.passthrough" in optics
    assert defocus == (
        f"{cs} has no ctf/df1_A, ctf/df2_A, ctf/df_angle_rad: the RELION particles.star written beside it has no "
        "defocus (rlnDefocusU/V/Angle), so RELION cannot correct their CTF; their passthrough "
        "J12_passthrough_particles.cs beside it holds them: give it as inputs.passthrough"
    )
    line = validate_refuses(write_job(tmp_path, job(str(cs), FOLLOW)), capsys)
    assert "are in their passthrough J12_passthrough_particles.cs beside it; give it as inputs.passthrough" in line
    given = job(str(cs), FOLLOW, passthrough=str(cs.parent / "J12_passthrough_particles.cs"))
    assert companion_star_warnings(cs, names=JOB_NAMES, passthrough=cs.parent / "J12_passthrough_particles.cs") == []
    assert main(["validate", str(write_job(tmp_path, given, "given.yaml"))]) == 0


def test_a_v4_passthrough_given_as_the_particles_names_the_extraction_beside(tmp_path, capsys):
    cs = extracted(tmp_path)
    line = validate_refuses(write_job(tmp_path, job(str(cs.parent / "J12_passthrough_particles.cs"), FOLLOW)), capsys)
    assert line.endswith(
        "it is a passthrough: give extracted_particles.cs (with the blob slot) as inputs.particles, and this one as "
        "inputs.passthrough"
    )


def without_fields(path, *dropped):
    records = np.load(path)
    with open(path, "wb") as file:
        np.save(file, np.ascontiguousarray(records[[n for n in records.dtype.names if n not in dropped]]))


DEFOCUS = ("ctf/df1_A", "ctf/df2_A", "ctf/df_angle_rad")


def test_a_set_without_defocus_is_warned_of_with_or_without_a_passthrough(tmp_path):
    """The companion STAR of a set without ctf/df* has no defocus: it was written so silently."""
    cs = restacked(tmp_path, beside=False)  # no optics either: warned of apart
    (said,) = [w for w in companion_star_warnings(cs, names=JOB_NAMES) if "no defocus" in w]
    assert said == (
        f"{cs} has no ctf/df1_A, ctf/df2_A, ctf/df_angle_rad: the RELION particles.star written beside it has no "
        "defocus (rlnDefocusU/V/Angle), so RELION cannot correct their CTF; if cryoSPARC estimated their CTF, give "
        "the passthrough .cs that holds them as inputs.passthrough (cryoSPARC keeps it there after Extract, Restack "
        "or Downsample)"
    )
    restacked(tmp_path)
    passthrough = tmp_path / "J7_passthrough_particles.cs"
    without_fields(passthrough, "ctf/df2_A")
    (said,) = companion_star_warnings(cs, names=JOB_NAMES, passthrough=passthrough)  # it holds the optics
    assert said.startswith(f"{cs} has no ctf/df2_A, nor has its passthrough {passthrough}: the RELION particles.star")
    (said,) = companion_star_warnings(cs, passthrough=passthrough)  # a caller without the setting: no setting named
    assert said.endswith("estimated their CTF, take the .cs that holds it (or its passthrough, joined on uid)")


def test_micrographs_a_passthrough_beside_holds_are_named_and_none_anywhere_is_no_warning(tmp_path):
    """A refinement's J20_008_particles.cs has no location/micrograph_path, its passthrough beside does: the STAR
    had no rlnMicrographName, and nothing said so. An imported stack has no micrographs: nothing to say."""
    cs = restacked(tmp_path, keep=True).rename(tmp_path / "J7_008_particles.cs")
    full = np.load(tmp_path / "p.cs")
    with open(cs, "wb") as file:  # the whole set (CTF, poses), without micrographs
        np.save(file, full)
    assert companion_star_warnings(cs, names=JOB_NAMES) == []
    passthrough = tmp_path / "J7_passthrough_particles.cs"
    records = np.load(passthrough)
    micrographs = np.zeros(len(records), dtype=records.dtype.descr + [("location/micrograph_path", "S16")])
    for name in records.dtype.names:
        micrographs[name] = records[name]
    micrographs["location/micrograph_path"] = b"J3/mic_1.mrc"
    with open(passthrough, "wb") as file:
        np.save(file, micrographs)
    (said,) = companion_star_warnings(cs, names=JOB_NAMES)
    assert said == (
        f"{cs} has no location/micrograph_path: the RELION particles.star written beside it has no "
        "rlnMicrographName (RELION's CtfRefine and Bayesian polishing group particles by micrograph); their "
        "passthrough J7_passthrough_particles.cs beside it holds it: give it as inputs.passthrough"
    )
    assert companion_star_warnings(cs, names=JOB_NAMES, passthrough=passthrough) == []


def test_coordinates_a_passthrough_beside_holds_are_named_with_the_micrographs_in_one_warning(tmp_path):
    """The location slot (micrograph, centre fractions, micrograph shape) in the passthrough beside: one warning
    names what it holds and both columns the STAR then lacks; given, the STAR has them."""
    cs = restacked(tmp_path, keep=True).rename(tmp_path / "J7_008_particles.cs")
    with open(cs, "wb") as file:  # the whole set (CTF, poses), without its location
        np.save(file, np.load(tmp_path / "p.cs"))
    passthrough = tmp_path / "J7_passthrough_particles.cs"
    records = np.load(passthrough)
    location = [
        ("location/micrograph_path", "S16"),
        ("location/micrograph_shape", "<u4", (2,)),
        ("location/center_x_frac", "<f4"),
        ("location/center_y_frac", "<f4"),
    ]
    located = np.zeros(len(records), dtype=records.dtype.descr + location)
    for name in records.dtype.names:
        located[name] = records[name]
    located["location/micrograph_path"] = b"J3/mic_1.mrc"
    located["location/micrograph_shape"] = (4092, 5760)
    located["location/center_x_frac"], located["location/center_y_frac"] = 0.25, 0.5
    with open(passthrough, "wb") as file:
        np.save(file, located)
    (said,) = companion_star_warnings(cs, names=JOB_NAMES)
    assert said == (
        f"{cs} has no location/micrograph_path, location/center_x_frac, location/center_y_frac, "
        "location/micrograph_shape: the RELION particles.star written beside it has no rlnMicrographName (RELION's "
        "CtfRefine and Bayesian polishing group particles by micrograph) and no rlnCoordinateX/Y (RELION finds each "
        "particle on its micrograph by them, to re-extract or polish it); their passthrough "
        "J7_passthrough_particles.cs beside it holds them: give it as inputs.passthrough"
    )
    assert companion_star_warnings(cs, names=JOB_NAMES, passthrough=passthrough) == []
    rows = load_particle_set(cs, passthrough=passthrough).rows
    assert rows.column("rlnCoordinateX") == ["1440.000000"] * 6 and rows.column("rlnCoordinateY") == ["2046.000000"] * 6


@pytest.mark.parametrize("kind", ["star", "stack"])
def test_follow_offsets_on_a_set_without_origins_is_refused(tmp_path, capsys, kind):
    """As a .cs: they ran with every mask at the box centre."""
    stack = write_stack(tmp_path, 4, BOX)
    particles, words = stack, "a bare stack records no particle origins; give a set from a 3D refinement or a 2D"
    if kind == "star":  # an extraction's STAR: images, no alignment
        (tmp_path / "p.star").write_text(
            "data_\nloop_\n_rlnImageName\n" + "".join(f"{i}@{stack}\n" for i in range(1, 5))
        )
        particles = "p.star"
        words = (
            "has no rlnOriginXAngst/rlnOriginYAngst (or rlnOriginX/rlnOriginY) columns: these particles have no "
            "recorded origins; take the set from a 3D refinement or a 2D classification (RELION's Refine3D, "
            "Class3D or Class2D)"
        )
    assert words in validate_refuses(write_job(tmp_path, job(particles, FOLLOW)), capsys)


def test_a_set_without_shifts_still_runs_masks_that_do_not_follow(tmp_path):
    cs = restacked(tmp_path, beside=False)
    shutil.copy(cs, tmp_path / "copy.cs")

    plain = {"source": "geometry", "geometry": {"shape": "circular", "radius": 10}}
    assert main(["validate", str(write_job(tmp_path, job("copy.cs", plain)))]) == 0


def project(folder, particles, out, *options) -> int:
    return main(["project-mask", str(folder / "mask3d.mrc"), str(particles), str(folder / out), *options])


def test_project_mask_takes_the_passthrough_as_a_job_does(tmp_path, capsys):
    """It had no --passthrough: a restacked set's poses, there, could not be projected."""
    cs = restacked(tmp_path, keep=True)
    write_soft_ellipsoid(tmp_path / "mask3d.mrc", BOX)
    assert project(tmp_path, tmp_path / "p.cs", "whole.mrcs") == 0
    assert project(tmp_path, cs, "joined.mrcs", "--passthrough", str(tmp_path / "J7_passthrough_particles.cs")) == 0
    assert (tmp_path / "joined.mrcs").read_bytes() == (tmp_path / "whole.mrcs").read_bytes()
    capsys.readouterr()
    assert project(tmp_path, cs, "none.mrcs") == 2
    assert (
        capsys.readouterr()
        .err.strip()
        .endswith(
            "these particles' 3D poses are in their passthrough J7_passthrough_particles.cs beside it; give it as "
            "--passthrough"
        )
    )
    assert project(tmp_path, tmp_path / "mask3d.mrc", "none.mrcs", "--passthrough", str(cs)) == 2
    assert capsys.readouterr().err.strip().endswith("is no .cs; drop --passthrough")
    assert project(tmp_path, cs, "none.mrcs", "--passthrough", str(tmp_path / "gone.cs")) == 2
    assert capsys.readouterr().err.strip() == (
        f"maskrun project-mask: error: {tmp_path / 'gone.cs'}: --passthrough: file not found; check the path"
    )
    assert not (tmp_path / "none.mrcs").exists()


def test_a_passthrough_given_as_the_particles_is_told_where_it_goes(tmp_path, capsys):
    """It said only "use the .cs of the job's particle output": the file given was still wanted, as the passthrough."""
    restacked(tmp_path)
    passthrough = tmp_path / "J7_passthrough_particles.cs"
    line = validate_refuses(write_job(tmp_path, job(passthrough.name, FOLLOW)), capsys)
    assert line.endswith(
        "has no blob/path, blob/idx fields: it does not say where the images are; it is a passthrough: give "
        "J7_particles.cs (with the blob slot) as inputs.particles, and this one as inputs.passthrough"
    )
    write_soft_ellipsoid(tmp_path / "mask3d.mrc", BOX, voxel_size=None)
    assert project(tmp_path, passthrough, "m.mrcs") == 2
    assert capsys.readouterr().err.strip().endswith("as PARTICLES, and this one as --passthrough")


def test_a_project_dir_without_the_stacks_first_folder_is_named(tmp_path, capsys):
    """It repeated "give the cryoSPARC project folder as inputs.project_dir", the folder given being the wrong one."""
    project = tmp_path / "P3"
    (project / "J5" / "imported").mkdir(parents=True)
    (project / "J7").mkdir()
    cs = restacked(project / "J7", beside=False)
    stack = project / "J7" / "particles.mrcs"
    stack.rename(project / "J5" / "imported" / "particles.mrcs")
    records = np.load(cs)
    records["blob/path"] = b"J5/imported/particles.mrcs"
    (tmp_path / "elsewhere").mkdir()
    with open(tmp_path / "elsewhere" / "J7_particles.cs", "wb") as file:
        np.save(file, records)
    plain = {"source": "geometry", "geometry": {"shape": "circular", "radius": 10}}
    wrong = job("elsewhere/J7_particles.cs", plain, project_dir="P3/J7")
    assert validate_refuses(write_job(tmp_path, wrong), capsys).endswith(
        f"; inputs.project_dir {project / 'J7'} does not hold J5/; give the cryoSPARC project folder, the one "
        "holding J5/"
    )
    assert validate_refuses(write_job(tmp_path, job("elsewhere/J7_particles.cs", plain)), capsys).endswith(
        "; give the cryoSPARC project folder as inputs.project_dir (the one holding J5/)"
    )
    right = job("elsewhere/J7_particles.cs", plain, project_dir="P3")
    assert main(["validate", str(write_job(tmp_path, right))]) == 0
