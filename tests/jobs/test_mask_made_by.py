"""A mask made by ``maskrun make-mask`` says how in its MRC labels, and a job's run record carries it.

The facility look: a job given a map-derived mask (``mask.file``, ``mask.projection.file``) recorded
the file's checksum only, and its one label said "a mask made by make-mask": neither named the map,
threshold, extend or edge it came from.
"""

from __future__ import annotations

import json
import shlex

import mrcfile

from maskrun.cli.main import main
from maskrun.io.mrc_writer import made_by, stored_labels
from maskrun.jobs.examples import write_example_maps
from maskrun.jobs.runner import run_job

from job_files import job_with, write_job


def labels_of(path) -> list[str]:
    with mrcfile.open(path, header_only=True) as mrc:
        header = mrc.header
        return [bytes(label).decode().strip() for label in header.label[: int(header.nlabl)]]


def test_a_made_mask_says_how_and_a_job_given_it_records_that(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_example_maps(tmp_path, n_maps=1)
    typed = ["make-mask", "mask.mrc", "--from-map", "maps/class_1.mrc", "--threshold", "2 sigma", "--extend", "2"]
    typed += ["--soft-edge", "4", "--overwrite"]
    assert main(typed) == 0
    labels = labels_of(tmp_path / "mask.mrc")
    assert labels[-1] == "maskrun 0.1.0: a mask made by make-mask" and all(len(label) <= 80 for label in labels)
    how = made_by(stored_labels(tmp_path / "mask.mrc"))
    assert how is not None and how.startswith(
        "make-mask mask.mrc --from-map maps/class_1.mrc --threshold '2 sigma' --extend 2 --soft-edge 4; "
        "threshold '2 sigma' = "
    )
    assert "--overwrite" not in how
    job = write_job(
        tmp_path,
        job_with(inputs={"volumes": "maps/*.mrc"}, mask={"source": "file", "file": "mask.mrc"}, batch_size=None),
    )
    out = run_job(job).output_dir
    record = json.loads((out / "provenance" / "run.json").read_text())
    (entry,) = [e for e in record["inputs"] if e["path"].endswith("mask.mrc")]
    assert entry["made_by"] == how
    assert all("made_by" not in e for e in record["inputs"] if not e["path"].endswith("mask.mrc"))


def test_a_long_command_is_cut_every_80_characters_and_read_back_whole(tmp_path):
    from argparse import Namespace

    from maskrun.cli.make_mask import RECIPE_LABELS, recipe_labels

    # the review: a path over 80 characters came back with a space where it was cut
    words = ["make-mask", "m.mrc", "--from-map", "/data/" + "x y" * 40 + "/run_class001.mrc", "--threshold", "0.02"]
    labels = recipe_labels(Namespace(argv=words))
    assert len(labels) == 3 and all(len(label) <= 80 for label in labels)
    assert made_by([*labels, "maskrun 9.9: a mask made by make-mask"]) == shlex.join(words)
    many = recipe_labels(Namespace(argv=["make-mask", *(["--select", "chain A and resi 1-300"] * 40)]))
    assert len(many) == RECIPE_LABELS and many[-1].endswith("...")
    assert made_by(["a label of RELION's", "maskrun 0.1.0: masked"]) is None
    long = ["make-mask", str(tmp_path / ("a long folder " * 8) / "m.mrc"), "--shape", "circular", "--box", "16", "16"]
    (tmp_path / ("a long folder " * 8)).mkdir()
    assert main(long) == 0
    assert made_by(stored_labels(tmp_path / ("a long folder " * 8) / "m.mrc")) == shlex.join(long)
