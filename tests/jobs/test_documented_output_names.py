"""The output files README.md and docs/spec.md name are those a job writes (a RELION user's look: they said
``stacks/batch_K.mrcs``, and the files are ``batch_00001.mrcs``)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from maskrun.jobs.plan import plan_job

from job_files import PARTICLE_JOB, example_folder, write_job

TOP = Path(__file__).resolve().parents[2]
DOCUMENTS = ("README.md", "docs/spec.md", "maskrun/jobs/templates/projection.yaml")
PER_BATCH = re.compile(r"\b(?:stacks|masks)/[^\s`/()]+\.mrcs")  # a batch's stack or its masks: one file per batch


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> set[str]:
    """The stacks and saved masks a job of three batches writes, from its output folder."""
    folder = example_folder(tmp_path_factory.mktemp("names"), maps=0)
    job = {**PARTICLE_JOB, "mask": {**PARTICLE_JOB["mask"], "follow": "offsets"}, "output": {"save_masks": True}}
    plan = plan_job(write_job(folder, job))
    assert len(plan.units) == 3
    paths = [p for unit in plan.units for p in (plan.unit_output(unit), plan.particle_masks_output(unit))]
    return {path.relative_to(plan.output_dir).as_posix() for path in paths if path is not None}


@pytest.mark.parametrize("document", DOCUMENTS)
def test_every_batch_file_the_documents_name_is_one_a_job_writes(written, document):
    named = set(PER_BATCH.findall((TOP / document).read_text()))
    assert named, f"{document} names no batch file: the pattern no longer finds them"
    assert named <= written, f"{document} names {sorted(named - written)}; a job writes {sorted(written)}"


EXAMPLE_WRITTEN = re.compile(r"maskrun\s+example\s+(\w+)[^`]*?--write\s+([\w.-]+)")
RUN_IN = re.compile(r"maskrun\s+run\s+([\w.-]+)/([\w.-]+\.yaml)")


def test_every_job_the_readme_runs_in_an_example_folder_is_the_one_the_example_writes():
    """A RELION user's look: the README ran ``demo-xmd/particles.yaml`` "as above" for every example, and ``maskrun
    example projection --write demo-projection`` writes ``projection.yaml`` (`write_example`: ``<kind>.yaml``)."""
    text = (TOP / "README.md").read_text()
    kinds: dict[str, set[str]] = {}
    for kind, folder in EXAMPLE_WRITTEN.findall(text):
        kinds.setdefault(folder, set()).add(kind)
    runs = RUN_IN.findall(text)
    assert {"demo-xmd", "demo-projection"} <= {folder for folder, _ in runs}, "the README runs no example job"
    for folder, job in runs:
        written = kinds.get(folder, set())
        assert job.removesuffix(".yaml") in written, f"{folder}/{job}: examples write {sorted(written)} there"
