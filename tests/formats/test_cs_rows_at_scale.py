"""A cryoSPARC set's rows are resolved per distinct stack, not per row (issue 21: reading 1M rows vectorised).

The cryoSPARC look: 200,000 particles in 200 stacks took 8.7 s to validate (the same set as
STAR 2.95 s): each row's ``blob/path`` was joined to its folder and made absolute, 15 of the
21 s profiled. Each distinct text is now decoded and looked up once, the rows take their
stack's by its code.
"""

from __future__ import annotations

import os
import warnings

import numpy as np

from maskrun.errors import CompanionStarWarning
from maskrun.formats.registry import load_particle_set

from conftest import write_mrc

STACKS, PER_STACK = 4, 5000


def shuffled_set(folder):
    """``STACKS`` stacks of ``PER_STACK`` 2x2 images and a ``.cs`` of all their images in a random order; stack 0
    is named two ways (``>s0.mrcs`` and ``s0.mrcs``, both beside the ``.cs``): one file."""
    rng = np.random.default_rng(3)
    for s in range(STACKS):
        write_mrc(folder / f"s{s}.mrcs", np.full((PER_STACK, 2, 2), s, np.float32), voxel_size=1.5)
    stack = np.repeat(np.arange(STACKS), PER_STACK)
    index = np.tile(np.arange(PER_STACK), STACKS)
    order = rng.permutation(len(stack))
    stack, index = stack[order], index[order]
    records = np.zeros(len(stack), dtype=[("uid", "<u8"), ("blob/path", "S12"), ("blob/idx", "<u4")])
    records["uid"] = np.arange(len(stack)) + 1
    texts = np.array([b">s0.mrcs", b"s0.mrcs", *(f"s{s}.mrcs".encode() for s in range(1, STACKS))])
    records["blob/path"] = texts[np.where(stack == 0, rng.integers(0, 2, len(stack)), stack + 1)]
    records["blob/idx"] = index
    path = folder / "p.cs"
    with open(path, "wb") as file:
        np.save(file, records)
    return path, stack, index


def test_each_stack_is_looked_up_once_and_each_row_keeps_its_own(tmp_path, monkeypatch):
    path, stack, index = shuffled_set(tmp_path)
    made_absolute = []
    abspath = os.path.abspath

    def counted(name):
        if str(name).endswith(".mrcs"):
            made_absolute.append(name)
        return abspath(name)

    monkeypatch.setattr(os.path, "abspath", counted)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CompanionStarWarning)  # no optics: not what is tested
        particles = load_particle_set(path)
    assert len(made_absolute) <= STACKS + 1  # once per distinct text (stack 0 has two), not per row (20,000)
    assert [p.name for p in particles.stack_paths] == [f"s{s}.mrcs" for s in dict.fromkeys(stack.tolist())]
    of_row = [particles.stack_paths[k].name for k in particles.stack_of_row]
    assert of_row == [f"s{s}.mrcs" for s in stack.tolist()]
    np.testing.assert_array_equal(particles.image_index, index)
    texts = np.load(path)["blob/path"]
    expected = [f"{i + 1}@{t.decode().lstrip('>')}" for i, t in zip(index.tolist(), texts)]
    assert particles.rows.column("rlnImageName") == expected
