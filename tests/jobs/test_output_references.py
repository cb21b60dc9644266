"""The output metadata names the masked stacks as the input named its own: from the same project folder."""

from __future__ import annotations

import shutil
import subprocess

import mrcfile
import numpy as np
import pytest
import starfile

from commands import maskrun
from conftest import write_mrc

STAR = """
data_optics

loop_
_rlnOpticsGroup #1
_rlnImagePixelSize #2
_rlnImageSize #3
_rlnImageDimensionality #4
_rlnVoltage #5
_rlnSphericalAberration #6
_rlnAmplitudeContrast #7
1 2.000000 32 2 300.0 2.7 0.1

data_particles

loop_
_rlnImageName #1
_rlnMicrographName #2
_rlnOpticsGroup #3
{rows}
"""


@pytest.fixture
def project(tmp_path):
    """A RELION project: stacks under Extract/, the set in Refine3D/job045/, every path from the project folder."""
    images = np.random.default_rng(3).normal(0, 1, (5, 32, 32)).astype(np.float32)
    (tmp_path / "Extract" / "job012").mkdir(parents=True)
    write_mrc(tmp_path / "Extract" / "job012" / "mic1.mrcs", images, voxel_size=2.0)
    rows = "\n".join(f"{i:06d}@Extract/job012/mic1.mrcs MotionCorr/job002/mic1.mrc 1" for i in range(1, 6))
    (tmp_path / "Refine3D" / "job045").mkdir(parents=True)
    (tmp_path / "Refine3D" / "job045" / "run_data.star").write_text(STAR.format(rows=rows))
    (tmp_path / "MaskJobs").mkdir()
    return tmp_path


def job_text(output: str | None = None) -> str:
    text = (
        "version: 1\nname: class3\ninputs:\n  particles: ../Refine3D/job045/run_data.star\n"
        "mask:\n  geometry:\n    shape: circular\n    radius: 10\nbatch_size: 3\nreport: false\n"
    )
    return text + (f"output:\n  dir: {output}\n" if output else "")


def test_a_relion_project_reads_the_output_from_its_own_folder(project):
    (project / "MaskJobs" / "job.yaml").write_text(job_text())
    proc = maskrun("run", "MaskJobs/job.yaml", "--cores", "2", cwd=project)
    assert proc.returncode == 0, proc.stderr
    out = project / "MaskJobs" / "results" / "class3"
    names = starfile.read(out / "particles.star", always_dict=True)["particles"]["rlnImageName"].tolist()
    stacks = [f"MaskJobs/results/class3/stacks/batch_0000{k}.mrcs" for k in (1, 1, 1, 2, 2)]
    assert names == [f"{i:06d}@{s}" for i, s in zip([1, 2, 3, 1, 2], stacks, strict=True)]
    original = mrcfile.read(project / "Extract" / "job012" / "mic1.mrcs")
    for k, name in enumerate(names):
        index, stack = name.split("@")
        masked = mrcfile.read(project / stack)[int(index) - 1]  # from the project folder, as RELION reads it
        assert masked[16, 16] == original[k, 16, 16] and masked[0, 0] == 0
    if shutil.which("relion_image_handler"):  # RELION itself, run in the project folder
        stats = subprocess.run(
            ["relion_image_handler", "--i", "MaskJobs/results/class3/particles.star", "--stats"],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert stats.returncode == 0, stats.stdout + stats.stderr
        assert stats.stdout.count("MaskJobs/results/class3/stacks/batch_0000") == 5


def test_an_output_outside_the_project_is_named_by_absolute_paths(project, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("scratch") / "masked"
    (project / "MaskJobs" / "job.yaml").write_text(job_text(str(elsewhere)))
    proc = maskrun("run", "MaskJobs/job.yaml", "--cores", "1", cwd=project)
    assert proc.returncode == 0, proc.stderr
    names = starfile.read(elsewhere / "particles.star", always_dict=True)["particles"]["rlnImageName"].tolist()
    assert names[0] == f"000001@{elsewhere / 'stacks' / 'batch_00001.mrcs'}"
    assert all(mrcfile.read(name.split("@")[1]).shape == (3 if k < 3 else 2, 32, 32) for k, name in enumerate(names))
