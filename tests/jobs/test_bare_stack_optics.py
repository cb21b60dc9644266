"""A bare stack's STAR, which RELION 3.1 reads only with the microscope's voltage, Cs and amplitude contrast.

The report fixer: RELION 3.1.3's ``relion_reconstruct`` and ``relion_image_handler`` read no
image of the ``particles.star`` written for a bare ``.mrcs`` ("trying to read image with empty
file name"): its optics lacked them, and a stack records none. A job gives them as
``inputs.optics``, as for a cryoSPARC set; without them, ``validate`` notes the gap.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest
import starfile

from maskrun.cli.main import main
from maskrun.jobs.runner import run_job

from conftest import write_mrc
from job_files import write_job

OPTICS = {"voltage_kv": 300, "cs_mm": 2.7, "amplitude_contrast": 0.1}


def bare_job(folder, rng, **inputs: object):
    write_mrc(folder / "particles.mrcs", rng.normal(0, 1, (4, 32, 32)), voxel_size=2.0)
    job = {"version": 1, "name": "b", "inputs": {"particles": "particles.mrcs", **inputs}, "report": False}
    job["mask"] = {"source": "geometry", "geometry": {"shape": "circular", "radius": 10, "soft_edge": 3}}
    return write_job(folder, job)


def test_the_microscope_given_is_in_the_written_star_and_relion_reads_it(tmp_path, rng):
    out = run_job(bare_job(tmp_path, rng, optics=OPTICS)).output_dir
    optics = starfile.read(out / "particles.star", always_dict=True)["optics"]
    assert optics["rlnVoltage"].tolist() == [300.0] and optics["rlnSphericalAberration"].tolist() == [2.7]
    assert optics["rlnAmplitudeContrast"].tolist() == [0.1] and optics["rlnImagePixelSize"].tolist() == [2.0]
    if shutil.which("relion_reconstruct") is None:
        pytest.skip("relion_reconstruct (RELION 3.1) is not installed")
    done = subprocess.run(
        ["relion_reconstruct", "--i", "particles.star", "--o", "rec.mrc"], cwd=out, capture_output=True, text=True
    )
    assert done.returncode == 0 and (out / "rec.mrc").is_file(), done.stdout + done.stderr


def test_without_the_microscope_validate_notes_what_relion_needs(tmp_path, rng, capsys):
    assert main(["validate", str(bare_job(tmp_path, rng))]) == 0
    said = capsys.readouterr()
    assert (
        "the particles.star written lists the masked images without rlnVoltage, rlnSphericalAberration, "
        "rlnAmplitudeContrast (a stack records no microscope), and RELION 3.1's programs read no image of such a "
        "STAR; give them as inputs.optics, with your microscope's values, e.g. {voltage_kv: 300, cs_mm: 2.7, "
        "amplitude_contrast: 0.1}"
    ) in said.out + said.err
    assert main(["validate", str(bare_job(tmp_path, rng, optics=OPTICS))]) == 0
    said = capsys.readouterr()
    assert "rlnVoltage" not in said.out + said.err
