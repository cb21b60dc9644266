"""The ``particles.cs`` a job writes, loaded by cryosparc-tools as cryoSPARC loads a ``.cs``.

The other ``.cs`` tests read outputs with ``np.load``; cryoSPARC's own reader
(``cryosparc.Dataset.load``) checks more (a ``uid`` field, field names of the form
``group/name``, shapes it can hold). Here every output row must come back with the input's
uid, fields, types and values, but for the three ``blob`` fields maskrun rewrites, and each
row's ``blob/path`` and ``blob/idx`` must point at that same particle, masked.
"""

from __future__ import annotations

import shutil

import mrcfile
import numpy as np
from cryosparc.dataset import Dataset

from maskrun.jobs.examples import write_example
from maskrun.jobs.runner import run_job

from conftest import shared_path

REWRITTEN = ("blob/path", "blob/idx", "blob/shape")


def image(folder, blob_path, index):
    """The image a ``.cs`` row names: ``blob/path`` (``>`` = beside the ``.cs`` file) at ``blob/idx``."""
    path = blob_path.decode() if isinstance(blob_path, bytes) else str(blob_path)
    with mrcfile.mmap(folder / path.removeprefix(">"), permissive=True) as mrc:
        return np.array(mrc.data[index])


def check_loaded(given, written):
    """``written`` (a masked set's ``particles.cs``) loaded by cryosparc-tools holds ``given``'s rows; returns both."""
    before, after = Dataset.load(given), Dataset.load(written)
    assert len(after) == len(before) > 0
    assert after.fields() == before.fields()
    assert np.array_equal(after["uid"], before["uid"])
    for name in before.fields():
        if name not in REWRITTEN:
            assert after[name].dtype == before[name].dtype, name
            assert np.array_equal(after[name], before[name], equal_nan=after[name].dtype.kind == "f"), name
    assert {str(p) for p in after["blob/path"]} <= {f">stacks/batch_{k:05d}.mrcs" for k in range(1, 100)}
    return before, after


def test_an_example_cs_set_comes_back_as_cryosparc_loads_it_with_each_row_its_own_particle_masked(tmp_path):
    job = write_example("particles", tmp_path, "cs")
    out = run_job(job).output_dir
    before, after = check_loaded(tmp_path / "particles.cs", out / "particles.cs")
    with mrcfile.open(out / "mask.mrc") as mrc:
        mask = np.array(mrc.data)
    kept, cut = mask == 1, mask == 0
    assert kept.any() and cut.any()
    for row in (0, 17, len(after) - 1):
        original = image(tmp_path, before["blob/path"][row], before["blob/idx"][row])
        masked = image(out, after["blob/path"][row], after["blob/idx"][row])
        assert tuple(after["blob/shape"][row]) == masked.shape == original.shape
        assert np.array_equal(masked[kept], original[kept]) and not masked[cut].any()  # the job's fill: 0


def test_a_real_cs_set_comes_back_as_cryosparc_loads_it(tmp_path):
    for name in ("empiar_10076_7.cs", "empiar_10076_7.mrc"):
        shutil.copy(shared_path("data", "public", name), tmp_path / name)
    job = tmp_path / "job.yaml"
    job.write_text(
        "version: 1\nname: real\ninputs: {particles: empiar_10076_7.cs}\nreport: false\n"
        "mask: {source: geometry, geometry: {shape: circular, radius: 100}}\nfill: {with: value, value: 0}\n"
    )
    out = run_job(job).output_dir
    before, after = check_loaded(tmp_path / "empiar_10076_7.cs", out / "particles.cs")
    for row in range(len(after)):
        original = image(tmp_path, before["blob/path"][row], before["blob/idx"][row])
        masked = image(out, after["blob/path"][row], after["blob/idx"][row])
        centre = masked.shape[0] // 2
        assert masked[centre, centre] == original[centre, centre] and masked[0, 0] == 0
