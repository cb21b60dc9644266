"""The report lists what the run wrote, with sizes, says what to do next in its format's terms, and its version.

A new user's look: the report said what was done, not where the files were nor what to run next.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess

import pytest

import maskrun
from maskrun.cli.main import main
from maskrun.jobs.examples import write_example_maps
from maskrun.jobs.plan import plan_job, size_text
from maskrun.jobs.runner import run_job
from maskrun.report.build import build_report

from job_files import example_folder, job_with, write_job


def reported(job):
    run_job(job)
    return build_report(plan_job(job))


@pytest.fixture(scope="module")
def star_report(tmp_path_factory):
    folder = example_folder(tmp_path_factory.mktemp("outputs"), particles=12, maps=0)
    return folder, reported(write_job(folder, job_with(batch_size=5)))


def test_the_outputs_are_listed_with_their_sizes_and_what_they_hold(star_report):
    folder, report = star_report
    record = json.loads((folder / "results" / "t" / "provenance" / "run.json").read_text())
    sizes = {entry["path"]: entry["bytes"] for entry in record["outputs"]}
    stacks = sum(size for path, size in sizes.items() if path.startswith("stacks/"))
    assert report.outputs == [
        f"stacks/ (3 files, {size_text(stacks)}: batch_00001.mrcs, batch_00002.mrcs, …): the masked particle images",
        f"particles.star ({size_text(sizes['particles.star'])}): the masked particles (RELION STAR)",
        f"mask.mrc ({size_text(sizes['mask.mrc'])}): the mask applied",
        "provenance/run.json: how the run was made (versions, checksums, the job as resolved)",
    ]
    page = report.html.read_text()
    assert page.index("<h2>Warnings</h2>") < page.index("<h2>Outputs</h2>") < page.index("<h2>Figures</h2>")
    assert f"<li>Version: maskrun {maskrun.__version__}</li>" in page


def test_the_next_step_for_relion_runs_from_the_folder_it_names(star_report, tmp_path):
    folder, report = star_report
    found = re.fullmatch(r"RELION: from (\S+), (relion_reconstruct [^,]+), or (\S+) as the input .*", report.next_step)
    assert found and found[1] == str(folder) and found[3] == "results/t/particles.star"
    assert f"Next: {found[0]}" in report.html.read_text()
    if shutil.which("relion_reconstruct") is None:
        pytest.skip("relion_reconstruct (RELION 3.1) is not installed")
    command = shlex.split(found[2])
    command[command.index("--o") + 1] = str(tmp_path / "masked.mrc")  # not into the project folder
    done = subprocess.run(command, cwd=found[1], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and (tmp_path / "masked.mrc").stat().st_size > 1024, done.stderr[-500:]


def test_float16_stacks_sent_to_relion_say_that_relion_31_cannot_read_them_and_the_setting_that_can(tmp_path):
    """The cluster look: RELION 3.1 stops on mode 12 ("does not support half-precision"); the hint did not warn."""
    import mrcfile
    import numpy as np

    from conftest import write_mrc

    folder = example_folder(tmp_path, particles=12, maps=0)
    for path in sorted((folder / "Extract").glob("*.mrcs")):
        write_mrc(path, mrcfile.read(path) / 100, voxel_size=1.5, mode_dtype=np.float16)
    report = reported(write_job(folder, job_with(batch_size=6)))
    assert report.next_step.endswith(
        "particles of a RELION job run there; its stacks are float16 (MRC mode 12), which RELION 4 and 5 read and "
        "RELION 3.1 cannot: for RELION 3.1, run the job again with output.dtype: float32 and another output.dir"
    )
    float32 = reported(write_job(folder, job_with(name="f32", batch_size=6, output__dtype="float32"), "f32.yaml"))
    assert "mode 12" not in float32.next_step


def test_a_cryosparc_set_is_sent_to_import_particle_stack_with_its_star_and_stacks(tmp_path):
    assert main(["example", "particles", "--format", "cs", "--write", str(tmp_path)]) == 0
    report = reported(tmp_path / "particles.yaml")
    out = tmp_path / "results" / "example-particles"
    assert report.next_step.startswith(
        f"cryoSPARC: an Import Particle Stack job, particle meta path {out / 'particles.star'}, particle data path "
        f"{out / 'stacks'}; "
    )
    companion = report.outputs[2]
    assert companion.startswith("particles.star (") and companion.endswith("for cryoSPARC's Import Particle Stack")


def test_maps_are_said_with_their_listing(tmp_path):
    write_example_maps(tmp_path, n_maps=2)
    job = {"version": 1, "name": "maps", "inputs": {"volumes": "maps/*.mrc"}}
    job |= {"mask": {"source": "geometry", "geometry": {"shape": "sphere", "radius": 20, "soft_edge": 4}}}
    report = reported(write_job(tmp_path, job))
    assert report.outputs[0].startswith("volumes/ (2 files, ") and report.outputs[0].endswith(": the masked maps")
    listing = report.outputs[1]
    assert listing.startswith("volumes.star (") and listing.endswith(": the listing of the masked maps")
    assert report.next_step.startswith("volumes/ holds the masked maps (volumes.star lists them)")


def test_a_bare_stack_is_not_sent_to_relion_reconstruct_which_reads_none_of_it(tmp_path):
    """Its STAR has no voltage, Cs or amplitude contrast: RELION 3.1 stops, 'trying to read image with empty file
    name'."""
    example_folder(tmp_path, particles=6)
    job = job_with(inputs={"particles": "Extract/mic_001.mrcs"}, batch_size=None)
    report = reported(write_job(tmp_path, job))
    assert report.outputs[1].endswith(": the masked particles (RELION STAR)")  # what it wrote, not what it read
    out = tmp_path / "results" / "t"
    assert report.next_step.startswith(f"stacks/ holds the masked images; particles.star lists them from {out}, ")
    assert "relion_reconstruct" not in report.next_step


def test_a_scipion_set_is_sent_to_import_particles_with_its_file_and_pixel_size(tmp_path):
    """pwem's import particles gives the set the pixel size typed in its form, not the file's: the step names it."""
    assert main(["example", "particles", "--format", "sqlite", "--write", str(tmp_path)]) == 0
    report = reported(tmp_path / "particles.yaml")
    out = tmp_path / "results" / "example-particles"
    assert report.next_step == (
        f"Scipion: an import particles job, Import from scipion, Particles sqlite file {out / 'particles.sqlite'}, "
        f'pixel size 2 Å/px; it links the stacks: keep {out} where it is (docs/spec.md, "Back into Scipion")'
    )


@pytest.fixture(scope="module")
def scipion_maps(tmp_path_factory):
    """A copy of the shared Scipion project, its SetOfVolumes (2 maps of 20³ at 11.4 Å/px, origins at the box
    centre as pwem's import gives them) and copies of it whose origins are set by hand."""
    import sqlite3

    from conftest import shared_path

    project = tmp_path_factory.mktemp("scipion") / "project"
    shutil.copytree(shared_path("data", "formats", "scipion", "project"), project)
    runs = project / "Runs" / "000003_ProtImportVolumes"
    for name, shifts in (("moved", ((-50, -60, -70.5),) * 2), ("apart", ((-50, -60, -70.5), (0, 0, 0)))):
        shutil.copy(runs / "volumes.sqlite", runs / f"{name}.sqlite")
        with sqlite3.connect(runs / f"{name}.sqlite") as db:
            column = dict(db.execute("SELECT label_property, column_name FROM Classes").fetchall())["_origin._matrix"]
            for item, (x, y, z) in enumerate(shifts, 1):
                matrix = [[1.0, 0.0, 0.0, x], [0.0, 1.0, 0.0, y], [0.0, 0.0, 1.0, z], [0.0, 0.0, 0.0, 1.0]]
                db.execute(f"UPDATE Objects SET {column} = ? WHERE id = ?", (json.dumps(matrix), item))
    (project / "MaskJobs").mkdir()
    return project


def scipion_maps_step(project, listing: str) -> tuple[str, object]:
    job = {"version": 1, "name": listing, "inputs": {"volumes": f"../Runs/000003_ProtImportVolumes/{listing}.sqlite"}}
    job |= {"mask": {"source": "geometry", "geometry": {"shape": "sphere", "radius": 6, "soft_edge": 2}}}
    report = reported(write_job(project / "MaskJobs", job, f"{listing}.yaml"))
    return report.next_step, project / "MaskJobs" / "results" / listing


def test_scipion_maps_are_sent_to_import_volumes_with_the_pattern_and_sampling_rate(scipion_maps):
    """pwem's import volumes takes a pattern of files, not the volumes.sqlite written: the step said "use them where
    you used the inputs"."""
    step, out = scipion_maps_step(scipion_maps, "volumes")
    assert step == (
        f"Scipion: an import volumes job, Import from local file, Files directory {out / 'volumes'}, Pattern *.mrc "
        f"(the files {out / 'volumes'}/*.mrc), Pixel size (sampling rate) 11.4 Å/px; Set origin of coordinates No "
        "(the input set's origin, x, y, z 114, 114, 114 Å, is the box centre, the import's default); it links the "
        f"maps: keep {out} where it is. Import volumes reads no set: volumes.sqlite only lists the masked maps "
        '(docs/spec.md, "Back into Scipion")'
    )


def test_an_origin_set_by_hand_is_given_for_the_form_which_reads_none_from_the_files(scipion_maps):
    step, _ = scipion_maps_step(scipion_maps, "moved")
    assert (
        "; Set origin of coordinates Yes, x, y, z 50, 60, 70.5 Å (the input set's origin, which the import does not "
        "read from the files). Import volumes reads no set" in step
    )
    step, _ = scipion_maps_step(scipion_maps, "apart")
    assert (
        "; the input set's maps have different origins (import_EMD-3197.mrc 50, 60, 70.5 Å; import_phantom_20.mrc "
        "0, 0, 0 Å): import each map on its own (Pattern its name), Set origin of coordinates Yes, x, y, z its "
        "origin." in step
    )
