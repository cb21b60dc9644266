"""Counts in what maskrun prints agree with their nouns: 1 image, 1 particle, 1 batch; 2 images, 2 particles."""

from __future__ import annotations

import numpy as np
import pytest

from maskrun.cli.main import main
from maskrun.errors import MaskrunWarning
from maskrun.jobs.examples import write_example_particles
from maskrun.jobs.plan import plan_job
from maskrun.workflow.launch import summary

from conftest import write_mrc
from job_files import job_with, write_job


@pytest.mark.parametrize(("images", "words"), [(1, "masked 1 image of 16 x 16"), (2, "masked 2 images of 16 x 16")])
def test_maskrun_mask_counts_its_images(tmp_path, capsys, images, words):
    stack = write_mrc(tmp_path / "in.mrcs", np.ones((images, 16, 16)))
    assert main(["mask", str(stack), str(tmp_path / "out.mrcs"), "--shape", "circular", "--radius", "5"]) == 0
    assert capsys.readouterr().out.startswith(f"{words} -> ")


@pytest.mark.parametrize(("particles", "noun"), [(1, "particle"), (2, "particles")])
def test_a_job_of_one_particle_says_particle(tmp_path, capsys, particles, noun):
    write_example_particles(tmp_path, n_particles=particles, n_stacks=1, box=32)
    job = write_job(tmp_path, job_with(batch_size=1000))
    assert main(["validate", str(job)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].startswith(f"  {particles} {noun} (RELION STAR, 1 stack)")
    assert lines[-1].startswith(f"  1 batch of up to {particles} {noun} (")
    with pytest.warns(MaskrunWarning, match="larger than half the box"):  # each planning warns, not the first alone
        plan = plan_job(job)
    assert summary(plan, 1.0).startswith(f"maskrun run: masked {particles} {noun} in 1 batch -> ")
