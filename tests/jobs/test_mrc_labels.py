"""The label maskrun adds to an MRC file says what the file holds: masked data, or the mask applied.

The saved ``mask.mrc`` was labelled ``maskrun 0.1.0: masked``, as the masked stacks are,
which it is not.
"""

from __future__ import annotations

import mrcfile
import numpy as np
import pytest

import maskrun
from maskrun.cli.main import main
from maskrun.io.mrc_writer import made_by, stored_labels
from maskrun.jobs.runner import run_job

from conftest import write_mrc
from job_files import example_folder, job_with, write_job


def labels(path) -> list[str]:
    with mrcfile.open(path, header_only=True, permissive=True) as mrc:
        return [bytes(label).decode().strip() for label in mrc.header.label[: mrc.header.nlabl]]


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    folder = example_folder(tmp_path_factory.mktemp("labels"), particles=12)
    return run_job(write_job(folder, job_with(batch_size=6))).output_dir


def test_masked_stacks_say_masked_and_the_saved_mask_says_it_is_the_mask_applied(finished):
    out = finished
    assert labels(out / "stacks" / "batch_00001.mrcs")[-1] == f"maskrun {maskrun.__version__}: masked"
    assert labels(out / "mask.mrc") == [f"maskrun {maskrun.__version__}: the mask applied"]


def test_a_run_redone_knows_the_old_runs_mask_by_its_label(tmp_path):
    """Redone for maps of two boxes (``masks/``), with ``provenance.checksums: none``: the old ``mask.mrc`` is
    maskrun's by its size and label, and goes, as the old run's other outputs do."""
    write_mrc(tmp_path / "a.mrc", np.ones((16, 16, 16)), voxel_size=2.0)
    job = {"version": 1, "name": "m", "inputs": {"volumes": ["a.mrc"]}, "provenance": {"checksums": "none"}}
    job |= {"mask": {"source": "geometry", "geometry": {"shape": "sphere", "radius": 4}}}
    out = run_job(write_job(tmp_path, job)).output_dir
    assert (out / "mask.mrc").is_file()
    write_mrc(tmp_path / "b.mrc", np.ones((12, 12, 12)), voxel_size=2.0)
    job |= {"inputs": {"volumes": ["a.mrc", "b.mrc"]}, "output": {"overwrite": True}}
    run_job(write_job(tmp_path, job))
    assert not (out / "mask.mrc").exists()  # a file of the user's would have stayed
    assert sorted(p.name for p in (out / "masks").iterdir()) == ["mask_12x12x12.mrc", "mask_16x16x16.mrc"]


def test_make_mask_says_it_made_a_mask(tmp_path, capsys):
    out = tmp_path / "m.mrc"
    typed = ["make-mask", str(out), "--shape", "sphere", "--radius", "4", "--box", "16", "16", "16"]
    assert main(typed) == 0
    written = labels(out)
    assert written[-1] == f"maskrun {maskrun.__version__}: a mask made by make-mask"
    assert made_by(stored_labels(out)) == " ".join(typed)  # how it was made, in the labels before its own
