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
