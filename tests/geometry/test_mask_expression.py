"""Mask expressions in jobs (``mask.source: expression``): terms combined, then extended and softened once.

One map term equals ``mask.map``; map AND map equals ``relion_mask_create --and`` and make-mask's
``--and``; and-not a sphere equals a brute-force numpy computation; models work alone; bad
terms are refused in one line naming the key, writing nothing; the run record lists every
term's file with its checksum and every parameter.
"""

from __future__ import annotations

import gzip
import html
import json
import re
import warnings
from pathlib import Path

import blake3
import mrcfile
import numpy as np
import pytest
import yaml

from maskrun.cli.main import main
from maskrun.config.expression_params import ExpressionParams
from maskrun.config.mask_spec import MaskSpec
from maskrun.engine.expression_mask import expression_mask
from maskrun.engine.one_file import job_file_key
from maskrun.errors import MaskrunWarning, UserError
from maskrun.jobs.plan import plan_job
from maskrun.jobs.runner import run_job
from maskrun.report.build import build_report

from conftest import write_mrc
from job_files import validate_refuses, write_job
from test_map_mask import relion_required  # noqa: F401 (a fixture)
from test_map_mask_combine import EXTEND, SOFT_EDGE, THRESHOLD, make_mask, relion_mask, two_maps
from test_model_mask import write_ensemble, write_model

SHAPE = (40, 44, 48)  # z, y, x


def map_job(mask: dict, name: str = "e", volumes: str | list[str] = "A.mrc") -> dict:
    return {
        "version": 1,
        "name": name,
        "inputs": {"volumes": volumes},
        "mask": mask,
        "fill": {"with": "value", "value": 0},
    }


def expression(*, extend_px: float = EXTEND, soft_edge_px: float = SOFT_EDGE, **groups) -> dict:
    return {"source": "expression", "expression": {**groups, "extend_px": extend_px, "soft_edge_px": soft_edge_px}}


def map_term(name: str = "A.mrc", threshold: float = THRESHOLD, **more) -> dict:
    return {"map": {"file": name, "threshold": threshold, **more}}


def saved_mask(tmp_path, mask: dict, name: str) -> np.ndarray:
    with warnings.catch_warnings():  # random density reaches the box edge: warned of as the job is planned
        warnings.filterwarnings("ignore", "the mask's kept region touches the box edge", MaskrunWarning)
        summary = run_job(write_job(tmp_path, map_job(mask, name), f"{name}.yaml"))
    return mrcfile.read(summary.output_dir / "mask.mrc")


def test_one_map_term_equals_mask_map_exactly(tmp_path):
    two_maps(tmp_path, SHAPE)
    params = {"file": "A.mrc", "threshold": THRESHOLD, "lowpass_angstrom": 9, "fill_holes": True}
    theirs = saved_mask(tmp_path, {"source": "map", "map": {**params, "extend_px": 2, "soft_edge_px": 4}}, "map")
    ours = saved_mask(tmp_path, expression(all_of=[{"map": params}], extend_px=2, soft_edge_px=4), "expr")
    assert (theirs == 1).sum() > 0 and (theirs > 0).sum() > (theirs == 1).sum()  # a soft edge, and a core
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("rule", ["2 sigma", "40 kDa", "auto"])
def test_a_map_term_takes_a_threshold_rule_as_mask_map_does_and_says_the_number_it_chose(tmp_path, capsys, rule):
    """A term refused '3 sigma' ("input should be a valid number") where mask.map took it; the spec's table says a
    term keeps what mask.map's step 2 keeps."""
    two_maps(tmp_path, SHAPE)
    params = {"file": "A.mrc", "threshold": rule, "lowpass_angstrom": 9}
    job = write_job(tmp_path, map_job(expression(all_of=[{"map": params}], extend_px=2, soft_edge_px=4)))
    assert main(["validate", str(job)]) == 0
    said = [line for line in capsys.readouterr().out.splitlines() if "map.threshold" in line]
    assert len(said) == 1 and said[0].startswith(f"  note: mask.expression.all_of.0.map.threshold '{rule}' is ")
    chosen = float(said[0].split(" is ")[1].split(":")[0])
    theirs = saved_mask(tmp_path, {"source": "map", "map": {**params, "extend_px": 2, "soft_edge_px": 4}}, "map")
    ours = saved_mask(tmp_path, expression(all_of=[{"map": params}], extend_px=2, soft_edge_px=4), "expr")
    numbered = saved_mask(tmp_path, expression(all_of=[map_term("A.mrc", chosen, lowpass_angstrom=9)], extend_px=2,
                                               soft_edge_px=4), "num")  # fmt: skip
    assert 0 < (ours == 1).sum() < ours.size
    np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(ours, numbered)


def test_map_and_map_equals_make_mask_and(tmp_path):
    two_maps(tmp_path, SHAPE)
    ours = saved_mask(tmp_path, expression(all_of=[map_term("A.mrc"), map_term("B.mrc")]), "and")
    theirs = make_mask(tmp_path, "--and", str(tmp_path / "B.mrc"))
    alone = make_mask(tmp_path)
    assert not np.array_equal(theirs, alone)  # B matters
    for name in ("A.mrc", "B.mrc"):  # no voxel sits exactly at the threshold, where ≥ and RELION's > differ
        assert not (mrcfile.read(tmp_path / name) == THRESHOLD).any()
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize(
    "groups,relion",
    [
        ({"all_of": [map_term("A.mrc"), map_term("B.mrc")]}, "--and"),
        ({"any_of": [map_term("A.mrc"), map_term("B.mrc")]}, "--or"),
        ({"all_of": [map_term("A.mrc")], "none_of": [map_term("B.mrc")]}, "--and_not"),
        ({"any_of": [map_term("A.mrc"), {"none_of": [map_term("B.mrc")]}]}, "--or_not"),
    ],
    ids=["and", "or", "and_not", "or_not"],
)
def test_combinations_equal_relion_mask_create(tmp_path, relion_required, groups, relion):  # noqa: F811
    shape = (48, 48, 48)
    two_maps(tmp_path, shape)
    theirs = relion_mask(tmp_path, relion, "B.mrc")
    ours = saved_mask(tmp_path, expression(**groups), relion.strip("-"))
    assert 0 < ours.sum() < ours.size
    assert np.abs(ours - theirs).max() <= 1e-5


def brute_force_soft_edge(binary: np.ndarray, extend: float, width: float) -> np.ndarray:
    """Extend by every voxel closer than ``extend``, then a raised cosine over 0 < d < width: by all distances."""
    points = np.indices(binary.shape).reshape(3, -1).T.astype(np.float64)

    def nearest(kept: np.ndarray) -> np.ndarray:
        inside = points[kept.ravel()]
        return np.array(
            [np.sqrt(((inside - p) ** 2).sum(axis=1)).min() for p in points],
        ).reshape(binary.shape)

    grown = binary | (nearest(binary) < extend)
    d = nearest(grown)
    return np.where(grown, 1.0, np.where(d < width, 0.5 + 0.5 * np.cos(np.pi * d / width), 0.0))


def test_map_and_not_a_sphere_equals_brute_force(tmp_path):
    shape = (18, 20, 22)
    density = np.random.default_rng(5).random(shape).astype(np.float32)
    write_mrc(tmp_path / "A.mrc", density, voxel_size=2.0)
    centre_xyz, radius = (2.0, -1.0, 1.0), 6.0
    sphere = {"geometry": {"shape": "sphere", "radius": radius, "center": list(centre_xyz)}}
    mask = expression(all_of=[map_term("A.mrc", 0.55)], none_of=[sphere], extend_px=1.5, soft_edge_px=3)
    ours = saved_mask(tmp_path, mask, "notsphere")
    k, j, i = np.indices(shape)
    r2 = (i - 11 - centre_xyz[0]) ** 2 + (j - 10 - centre_xyz[1]) ** 2 + (k - 9 - centre_xyz[2]) ** 2
    binary = (density >= 0.55) & ~(r2 <= radius**2)
    expected = brute_force_soft_edge(binary, 1.5, 3.0)
    assert ((ours == 1) != binary).any()  # the extension grew it
    assert np.abs(ours - expected).max() <= 1e-6


def test_a_model_term_alone_runs_and_is_recorded(tmp_path, capsys):
    write_mrc(tmp_path / "A.mrc", np.ones((24, 24, 24), np.float32), voxel_size=1.0)
    with mrcfile.open(tmp_path / "A.mrc", "r+") as mrc:
        mrc.header.origin = (10.0, 20.0, 30.0)
    atoms = np.array([[22.0, 31.0, 42.0], [25.5, 33.0, 41.0]])  # x y z, Å, within the shifted box
    write_model(tmp_path / "ligand.cif", atoms)
    job = write_job(tmp_path, map_job(expression(all_of=[{"model": {"file": "ligand.cif", "radius": "3 A"}}])))
    assert main(["run", str(job), "--cores", "1"]) == 0
    out = tmp_path / "results" / "e"
    saved = mrcfile.read(out / "mask.mrc")
    k, j, i = np.indices(saved.shape)
    centres = np.stack([i + 10.0, j + 20.0, k + 30.0], axis=-1)  # voxel centres, x y z Å
    inside = np.zeros(saved.shape, bool)
    for atom in atoms:
        inside |= ((centres - atom) ** 2).sum(axis=-1) <= 9
    assert np.abs(saved - brute_force_soft_edge(inside, EXTEND, SOFT_EDGE)).max() <= 1e-6
    np.testing.assert_array_equal(mrcfile.read(out / "volumes" / "A.mrc"), saved)  # the map was all ones
    record = json.loads((out / "provenance" / "run.json").read_text())
    entry = next(e for e in record["inputs"] if e["path"] == str(tmp_path / "ligand.cif"))
    assert entry["blake3"] == blake3.blake3((tmp_path / "ligand.cif").read_bytes()).hexdigest()
    model = record["job_resolved"]["mask"]["expression"]["all_of"][0]["model"]
    assert model == {"file": str(tmp_path / "ligand.cif"), "radius": "3 A", "extend": 0.0}
    assert (
        "expression model ligand.cif [spheres of 3 px (3 Å)]; then extend 2 px (2 Å)"
        in (out / "report" / "report.html").read_text()
    )


def test_a_model_term_selects_in_the_model_its_selection_names(tmp_path, capsys):
    """select '/2' is model 2 of an ensemble, in validate and run alike; a model the file lacks is refused."""
    write_mrc(tmp_path / "A.mrc", np.ones((20, 20, 20), np.float32), voxel_size=1.0)
    first = np.array([[5.0, 5.0, 5.0], [14.0, 5.0, 5.0]])
    write_ensemble(tmp_path / "nmr.pdb", [first, first + [0.0, 9.0, 9.0]], chains=["A", "B"])
    term = {"model": {"file": "nmr.pdb", "radius": 2, "select": "/2/B"}}
    job = write_job(tmp_path, map_job(expression(all_of=[term], extend_px=0, soft_edge_px=0)))
    assert main(["validate", str(job)]) == 0
    saved = mrcfile.read(run_job(job).output_dir / "mask.mrc")
    k, j, i = np.indices(saved.shape)
    np.testing.assert_array_equal(saved == 1, (i - 14) ** 2 + (j - 14) ** 2 + (k - 14) ** 2 <= 4)
    term["model"]["select"] = "/7/B"
    job = write_job(tmp_path, map_job(expression(all_of=[term]), name="seven"), "seven.yaml")
    line = validate_refuses(job, capsys)
    assert "mask.expression.all_of.0.model.select: '/7/B' selects no atom: nmr.pdb holds no such model" in line
    assert main(["run", str(job), "--cores", "1"]) == 2
    assert not (tmp_path / "results" / "seven").exists()


def model_mostly_outside(tmp_path, **more) -> tuple:
    """A 16³ map and a model of 3 atoms, 2 beyond its box in x, as the term of a job; the warning's start."""
    write_mrc(tmp_path / "A.mrc", np.ones((16, 16, 16), np.float32), voxel_size=1.0)
    write_model(tmp_path / "m.pdb", np.array([[14.0, 8.0, 8.0], [18.0, 8.0, 8.0], [21.0, 8.0, 8.0]]))
    job = map_job(expression(all_of=[{"model": {"file": "m.pdb", "radius": 3}}], extend_px=0, soft_edge_px=0))
    return write_job(tmp_path, {**job, **more}), "m.pdb: 2 of the 3 atoms lie outside the box of A.mrc (atoms: x 14…21"


def test_a_model_term_mostly_outside_the_box_warns_in_validate_and_run(tmp_path, capsys):
    """validate and run said nothing (make-mask only a note); in one process too, the mask cached by then."""
    job, outside = model_mostly_outside(tmp_path, report=False)
    assert main(["validate", str(job)]) == 0
    assert f"maskrun: warning: {outside}" in capsys.readouterr().err
    with pytest.warns(MaskrunWarning) as given:  # and that the mask, where the model is, touches the box edge
        summary = run_job(job)
    assert any(str(w.message).startswith(outside) for w in given)
    warned = json.loads((summary.output_dir / "provenance" / "run.json").read_text())["warnings"]
    assert any(w.startswith(outside) and "the model is likely not fitted in this map" in w for w in warned)


def test_a_model_term_s_notes_are_shown_by_validate_and_run_and_kept_by_the_record_and_report(tmp_path, capsys):
    """make-mask printed them; a job said nothing of the atoms selected, or of some outside the box."""
    write_mrc(tmp_path / "A.mrc", np.ones((16, 16, 16), np.float32), voxel_size=1.0)
    write_model(tmp_path / "m.pdb", np.array([[6.0, 8.0, 8.0], [9.0, 8.0, 8.0], [21.0, 8.0, 8.0]]), chains="AAB")
    term = {"model": {"file": "m.pdb", "radius": 3, "select": "//A,B"}}
    job = write_job(tmp_path, map_job(expression(all_of=[term], extend_px=0, soft_edge_px=0)))
    notes = ["m.pdb: 3 atoms selected by '//A,B' of 3 in model 1", "m.pdb: 1 of the 3 atoms selected by '//A,B' lie "
             "outside the box of A.mrc"]  # fmt: skip
    assert main(["validate", str(job)]) == 0
    shown = capsys.readouterr()
    assert [line for line in shown.out.splitlines() if "note:" in line] == [f"  note: {n}" for n in notes]
    assert "warning" not in shown.err
    assert main(["run", str(job), "--cores", "1"]) == 0
    assert [line for line in capsys.readouterr().err.splitlines() if "note:" in line] == [
        f"maskrun: note: {n}" for n in notes
    ]
    out = tmp_path / "results" / "e"
    record = json.loads((out / "provenance" / "run.json").read_text())
    assert record["notes"] == notes and record["warnings"] == []
    page = (out / "report" / "report.html").read_text()
    warnings_section = page[page.index("<h2>Warnings</h2>") : page.index("<h2>Figures</h2>")]
    for note in notes:
        assert f'<li class="note">note: {html.escape(note)}</li>' in warnings_section
    assert "<li>Warnings: 0 (and 2 notes, listed with them)</li>" in page


def test_the_box_edge_advice_for_a_model_term_speaks_of_the_model(tmp_path):
    """It was a shape's: 'make it smaller or move its centre', and a model has no centre to move."""
    from maskrun.jobs.plan import plan_job

    job, outside = model_mostly_outside(tmp_path, report=False)
    with pytest.warns(MaskrunWarning) as given:  # as the job is planned (validate, run)
        plan_job(job)
    assert any(str(w.message).startswith(outside) for w in given)
    edge = next(str(w.message) for w in given if "touches the box edge" in str(w.message))
    assert edge.endswith(
        "its edge is cut by the box; where mask.expression.all_of.0 (model m.pdb, spheres of 3 px) reaches it, check "
        "that the model is fitted in this map (the right map, its origin), select only the atoms inside the box, or "
        "make its radius or extend smaller"
    )


def test_the_box_edge_advice_blames_the_terms_that_keep_voxels_there_in_their_own_terms(tmp_path):
    """The look: a map term's noise reached the box edge, and the advice blamed a none_of model (which only
    subtracts: 'check that the model is fitted') or, without it, said 'move its centre' of a thresholded map."""
    density = np.zeros((16, 16, 16), np.float32)
    density[:, 6:10, 6:10] = 1.0  # a rod through the box along z: the map term reaches two faces
    write_mrc(tmp_path / "A.mrc", density, voxel_size=1.0)
    write_model(tmp_path / "m.pdb", np.array([[8.0, 8.0, 8.0]]))
    outside = {"model": {"file": "m.pdb", "radius": 2}}
    for none_of in ([outside], []):
        mask = expression(all_of=[map_term("A.mrc", 0.5)], none_of=none_of, extend_px=1, soft_edge_px=0)
        with pytest.warns(MaskrunWarning) as given:
            plan_job(write_job(tmp_path, map_job(mask)))
        edge = next(str(w.message) for w in given if "touches the box edge" in str(w.message))
        assert edge.endswith(
            "its edge is cut by the box; where mask.expression.all_of.0 (A.mrc ≥ 0.5) reaches it, raise its threshold, "
            "low-pass it (lowpass_angstrom) or set keep_largest_component: true; if the density itself reaches the "
            "box edge, the data need a larger box; or make mask.expression.extend_px smaller"
        )
        assert "model" not in edge and "centre" not in edge


def test_a_shape_term_s_own_warning_names_the_term(tmp_path, capsys):
    """The look: 'warning: center [200.0, 0.0, 0.0] lies outside the box' did not say which term."""
    two_maps(tmp_path, SHAPE)
    far = {"geometry": {"shape": "sphere", "radius": 3, "center": [200, 0, 0]}}
    job = write_job(tmp_path, map_job(expression(all_of=[map_term()], none_of=[far])))
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        assert main(["validate", str(job)]) == 0
    err = capsys.readouterr().err
    assert (
        "maskrun: warning: mask.expression.none_of.0 (sphere): center [200.0, 0.0, 0.0] lies outside the box "
        "[48, 44, 40]" in err
    )


def test_every_term_file_is_an_input_with_its_checksum_and_parameters(tmp_path):
    two_maps(tmp_path, SHAPE)
    write_mrc(tmp_path / "soft.mrc", np.full(SHAPE, 0.75, np.float32), voxel_size=1.5)
    write_model(tmp_path / "m.pdb", np.array([[30.0, 33.0, 36.0]]))
    write_model(tmp_path / "n.cif", np.array([[20.0, 23.0, 26.0]]))
    (tmp_path / "n.cif.gz").write_bytes(gzip.compress((tmp_path / "n.cif").read_bytes()))
    models = [{"model": {"file": "m.pdb", "radius": 4}}, {"model": {"file": "n.cif.gz", "radius": 4}}]
    mask = expression(
        all_of=[{"file": "soft.mrc"}],
        any_of=[map_term("A.mrc"), *models],
        none_of=[{"all_of": [map_term("B.mrc", 0.5), {"geometry": {"shape": "box", "box_size": "30 A"}}]}],
    )
    everywhere = "mask.expression.all_of.0 (mask soft.mrc ≥ 0.5) keeps every voxel of the box, so it changes nothing"
    with pytest.warns(MaskrunWarning, match=re.escape(everywhere)):
        summary = run_job(write_job(tmp_path, map_job(mask)))
    record = json.loads((summary.output_dir / "provenance" / "run.json").read_text())
    hashed = {e["path"]: e["blake3"] for e in record["inputs"]}
    for name in ("A.mrc", "B.mrc", "soft.mrc", "m.pdb", "n.cif.gz"):
        assert hashed[str(tmp_path / name)] == blake3.blake3((tmp_path / name).read_bytes()).hexdigest()
    formats = {Path(e["path"]).name: e["format"] for e in record["inputs"]}  # models were "mrc"
    assert formats == {"job.yaml": "yaml", "A.mrc": "mrc", "B.mrc": "mrc", "soft.mrc": "mrc", "m.pdb": "pdb"} | {
        "n.cif.gz": "mmcif.gz"
    }
    resolved = record["job_resolved"]["mask"]["expression"]
    assert resolved["none_of"][0]["all_of"][1]["geometry"]["box_size"] == "30 A"
    assert resolved["any_of"][0]["map"]["file"] == str(tmp_path / "A.mrc")
    assert resolved["extend_px"] == EXTEND and resolved["soft_edge_px"] == SOFT_EDGE
    again = ExpressionParams.model_validate(resolved)  # the record reads back as the same expression
    assert again == MaskSpec.model_validate(mask).expression.with_paths(lambda p: tmp_path / p)
    assert {e["path"] for e in record["outputs"]} >= {"mask.mrc"}


def test_the_record_holds_each_term_s_chosen_threshold_and_reads_back_as_the_job_giving_the_same_mask(tmp_path):
    """The look: a map term kept its rule ('20 kDa') with no number, where mask.map records both; job_resolved fed
    back as a job was refused ("fill: 'seed' is used only with 'with: noise'")."""
    two_maps(tmp_path, SHAPE)
    mask = expression(all_of=[map_term("A.mrc", "2 sigma")], none_of=[map_term("B.mrc", "1e3 A3", lowpass_angstrom=9)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MaskrunWarning)
        first = run_job(write_job(tmp_path, map_job(mask, "first"), "first.yaml"))
    resolved = json.loads((first.output_dir / "provenance" / "run.json").read_text())["job_resolved"]
    terms = resolved["mask"]["expression"]
    for term, rule in ((terms["all_of"][0], "2 sigma"), (terms["none_of"][0], "1e3 A3")):
        assert isinstance(term["map"]["threshold"], float)
        assert term["map"].pop("threshold_rule")["rule"] == rule  # what the run resolved: no setting to read back
    assert resolved["fill"] == {"with": "value", "value": 0.0}  # no seed: it is used only with noise
    again = {**resolved, "name": "again", "output": {**resolved["output"], "dir": str(tmp_path / "again")}}
    job = tmp_path / "again.yaml"
    job.write_text(yaml.safe_dump(again))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MaskrunWarning)
        second = run_job(job)
    np.testing.assert_array_equal(
        mrcfile.read(second.output_dir / "mask.mrc"), mrcfile.read(first.output_dir / "mask.mrc")
    )
    assert 0 < (mrcfile.read(first.output_dir / "mask.mrc") == 1).mean() < 1


WHOLE = "the mask keeps the whole box, so the output equals the input: "


@pytest.mark.parametrize(
    "term,said",
    [
        (
            map_term(threshold=-1),
            "its one term, mask.expression.all_of.0 (A.mrc ≥ -1), keeps every voxel; raise the threshold -1 (the "
            "map's median is 0.0008036, its 99th percentile 0.9884)",
        ),
        (
            {"geometry": {"shape": "sphere", "radius": 200}},
            "its one term, mask.expression.all_of.0 (sphere), keeps every voxel; make it smaller than the box",
        ),
        (
            {"model": {"file": "m.pdb", "radius": "200 A"}},
            "its one term, mask.expression.all_of.0 (model m.pdb, spheres of 200 A), keeps every voxel; make the "
            "radius (200 Å) or the extend smaller",
        ),
    ],
    ids=["map", "shape", "model"],
)
def test_an_expression_keeping_the_whole_box_names_its_term_and_the_fix(tmp_path, term, said):
    """It said "the mask made from A.mrc keeps everything: the output equals the input" (of a term, which is
    no output), then "the mask keeps everything" again, and that its edge touches the box edge."""
    two_maps(tmp_path, SHAPE)
    write_model(tmp_path / "m.pdb", np.array([[30.0, 33.0, 36.0]]))
    job = write_job(tmp_path, map_job(expression(all_of=[term], extend_px=0, soft_edge_px=0)))
    with pytest.warns(MaskrunWarning) as warned:
        summary = run_job(job)
        report = build_report(plan_job(job))
    assert WHOLE + said in [str(w.message) for w in warned]
    record = json.loads((summary.output_dir / "provenance" / "run.json").read_text())
    shown = [w for w in record["warnings"] if "radius 200 px is larger than half the box" not in w]  # the sphere's
    assert shown == [WHOLE + said] and report.warnings == record["warnings"]
    assert "the mask keeps everything" not in (summary.output_dir / "report" / "report.html").read_text()


def test_terms_keeping_every_voxel_or_none_say_what_they_do_in_the_expression():
    """A term keeping the whole box in all_of changes nothing; one keeping nothing in none_of removes nothing."""
    sphere = {"shape": "sphere", "radius": 5}
    params = ExpressionParams.model_validate(
        {
            "all_of": [{"geometry": sphere}, {"geometry": {"shape": "box", "box_size": 100}}],
            "none_of": [{"geometry": {**sphere, "center": [40, 0, 0]}}],
        }
    )
    with pytest.warns(MaskrunWarning) as warned:
        expression_mask(params, (32, 32, 32), (1.0, 1.0, 1.0), "maskrun", job_file_key)
    said = [str(w.message) for w in warned]
    assert said == [
        "mask.expression.none_of.0 (sphere): center [40.0, 0.0, 0.0] lies outside the box [32, 32, 32]",  # its own
        "mask.expression.all_of.1 (box) keeps every voxel of the box, so it changes nothing; make it smaller than "
        "the box",
        "mask.expression.none_of.0 (sphere) keeps no voxel of the box, so it removes nothing; make it larger, or "
        "move its centre into the box",
    ]
    grown = ExpressionParams.model_validate({"any_of": [{"geometry": sphere}], "extend_px": 40})
    with pytest.warns(MaskrunWarning) as warned:
        expression_mask(grown, (32, 32, 32), (1.0, 1.0, 1.0), "maskrun", job_file_key)
    assert [str(w.message) for w in warned] == [
        WHOLE + "mask.expression.extend_px (40 px) grows the 1.6% of the box its terms keep over all of it; make it "
        "smaller"
    ]


def test_a_2d_expression_masks_particles(tmp_path):
    from job_files import PARTICLE_JOB, example_folder

    example_folder(tmp_path, particles=10, maps=1)
    ring = {"geometry": {"shape": "crown", "inner_radius": 4, "outer_radius": 12}}
    dot = {"geometry": {"shape": "circular", "radius": 2}}
    job = dict(PARTICLE_JOB, mask=expression(any_of=[ring, dot], extend_px=0, soft_edge_px=0))
    summary = run_job(write_job(tmp_path, job))
    saved = mrcfile.read(summary.output_dir / "mask.mrc")
    ny, nx = saved.shape[-2:]
    j, i = np.indices((ny, nx))
    r2 = (i - nx // 2) ** 2 + (j - ny // 2) ** 2
    np.testing.assert_array_equal(saved.reshape(ny, nx), ((r2 >= 16) & (r2 <= 144)) | (r2 <= 4))


SPHERE = {"shape": "sphere", "radius": 5}
AWAY = {"geometry": {**SPHERE, "center": [12, 0, 0]}}  # in the box, apart from a centred sphere
OUTSIDE = {"geometry": {**SPHERE, "center": [40, 0, 0]}}  # keeps no voxel of a 32³ box
EMPTIED_BY = {
    "a term keeping nothing": (
        {"all_of": [{"geometry": SPHERE}, OUTSIDE]},
        "mask.expression.all_of.1 (sphere) keeps no voxel; make it larger, or move its centre into the box",
    ),
    "terms apart": (
        {"all_of": [{"geometry": SPHERE}, AWAY]},
        "mask.expression.all_of.1 (sphere) has no voxel in common with mask.expression.all_of.0 (sphere); check "
        "that they overlap (a shape's centre, a model's fit in the map)",
    ),
    "any_of apart": (
        {"all_of": [{"geometry": SPHERE}], "any_of": [AWAY, {"geometry": {**SPHERE, "center": [-12, 0, 0]}}]},
        "mask.expression.any_of (sphere or sphere) has no voxel in common with mask.expression.all_of.0 (sphere)",
    ),
    "any_of of nothing": (
        {"all_of": [{"geometry": SPHERE}], "any_of": [OUTSIDE, OUTSIDE]},
        "no term of mask.expression.any_of keeps a voxel: mask.expression.any_of.0 (sphere) keeps no voxel; make "
        "it larger, or move its centre into the box; mask.expression.any_of.1 (sphere) keeps no voxel; make",
    ),
    "none_of over all": (
        {"all_of": [{"geometry": SPHERE}], "none_of": [{"geometry": {**SPHERE, "radius": 8}}]},
        "mask.expression.none_of.0 (sphere) covers every voxel kept by mask.expression.all_of.0 (sphere); make it "
        "smaller",
    ),
    "none_of terms together over all": (  # neither alone: the core is left by the crown, the shell by the sphere
        {
            "any_of": [{"geometry": SPHERE}],
            "none_of": [
                {"geometry": {**SPHERE, "radius": 3}},
                {"geometry": {"shape": "crown", "inner_radius": 2, "outer_radius": 9}},
            ],
        },
        "mask.expression.none_of.0 (sphere) and mask.expression.none_of.1 (crown) together cover every voxel kept "
        "by mask.expression.any_of; make them smaller",
    ),
    "none_of of the box": (
        {"any_of": [{"geometry": SPHERE}], "none_of": [{"geometry": {"shape": "box", "box_size": 100}}]},
        "mask.expression.none_of.0 (box) keeps every voxel, so it removes every voxel; make it smaller than the box",
    ),
    "a nested group": (
        {"all_of": [{"geometry": SPHERE}, {"all_of": [AWAY, OUTSIDE]}]},
        "mask.expression.all_of.1.all_of.1 (sphere) keeps no voxel; make it larger, or move its centre into the box",
    ),
}


@pytest.mark.parametrize("groups,cause", EMPTIED_BY.values(), ids=EMPTIED_BY.keys())
def test_an_expression_keeping_no_voxel_names_the_term_that_empties_it(groups, cause):
    """It said only "the combined terms keep no voxel; check each term's threshold…", whatever the term."""
    params = ExpressionParams.model_validate(groups)
    with pytest.raises(UserError) as refused, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a sphere outside the box says so as it is made
        expression_mask(params, (32, 32, 32), (1.0, 1.0, 1.0), "maskrun", job_file_key)
    assert str(refused.value).startswith(f"mask.expression: the combined terms keep no voxel: {cause}"), refused.value


REFUSALS = {
    "soft edge on a term": (
        {"all_of": [map_term(soft_edge_px=3)]},
        "mask.expression.all_of.0.map.soft_edge_px: the soft edge is applied once",
    ),
    "soft shape": (
        {"all_of": [map_term()], "none_of": [{"geometry": {"shape": "gaussian", "sigma": 3}}]},
        "mask.expression.none_of.0.geometry.shape: 'gaussian' has no sharp boundary",
    ),
    "two kinds in a term": (
        {"all_of": [{**map_term(), "file": "B.mrc"}]},
        "mask.expression.all_of.0: a term is one of map, geometry, file, model, or a group",
    ),
    "other box": ({"all_of": [map_term(), map_term("C.mrc")]}, "mask.expression.all_of.1.map.file: map is 44 × 40"),
    "other voxel size": (  # it said "differs from the images'" of a map job
        {"any_of": [map_term(), {"file": "D.mrc"}]},
        "mask.expression.any_of.1.file: mask voxel size 1.8 Å differs from the input map A.mrc's 1.5 Å by more than "
        "1%; resample the mask to 1.5 Å/px, or, if it was made for A.mrc (its box is the same), only its header is "
        "wrong: make it again at 1.5 Å/px",
    ),
    "empty result": (
        {"all_of": [map_term()], "none_of": [map_term(threshold=THRESHOLD - 0.1)]},
        f"mask.expression: the combined terms keep no voxel: mask.expression.none_of.0 (A.mrc ≥ {THRESHOLD - 0.1:g}) "
        "covers every voxel kept by mask.expression.all_of.0 (A.mrc",
    ),
    "model outside": (
        {"all_of": [map_term(), {"model": {"file": "far.pdb", "radius": 3}}]},
        "mask.expression.all_of.1.model.file: all 1 atoms lie outside the map's box",
    ),
    "missing map": (
        {"all_of": [map_term("gone.mrc")]},
        "gone.mrc: mask.expression.all_of.0.map.file: file not found; check the path",
    ),
    "no groups": ({}, "mask.expression: nothing to combine"),
    "file term as a section": (  # it said "input is not a valid path for <class 'pathlib.Path'>"
        {"all_of": [map_term(), {"file": {"file": "B.mrc"}}]},
        "mask.expression.all_of.1.file: a file term is the path itself, not a section as map: and model: are; "
        "write file: B.mrc",
    ),
    "model as a map term": (  # it was taken for metadata: "is a text file, not an MRC image (… a STAR file?)"
        {"all_of": [map_term(), map_term("far.pdb", 0.1)]},
        "far.pdb: mask.expression.all_of.1.map.file: is an atomic model, not a map; a model term places it on the "
        "map's grid: write model: {file: far.pdb, radius: 3 A}",
    ),
    "model as a file term": (
        {"all_of": [map_term()], "none_of": [{"file": "far.pdb"}]},
        "far.pdb: mask.expression.none_of.0.file: is an atomic model, not a map; a model term places it",
    ),
}


@pytest.mark.parametrize("groups,words", REFUSALS.values(), ids=REFUSALS.keys())
def test_bad_expressions_are_refused_in_one_line(tmp_path, capsys, groups, words):
    two_maps(tmp_path, SHAPE)
    write_mrc(tmp_path / "C.mrc", np.zeros((40, 40, 44), np.float32), voxel_size=1.5)
    write_mrc(tmp_path / "D.mrc", np.zeros(SHAPE, np.float32), voxel_size=1.8)
    write_model(tmp_path / "far.pdb", np.array([[500.0, 0.0, 0.0]]))
    job = write_job(tmp_path, map_job(expression(**groups)))
    assert words in validate_refuses(job, capsys)
    assert main(["run", str(job), "--cores", "1"]) == 2
    assert not (tmp_path / "results").exists()


def test_a_map_term_of_another_origin_than_the_input_map_is_warned_of(tmp_path, capsys):
    """The look: AK.mrc (origin 0) as a map term of a job masking AK_org.mrc (origin (6, -3, 4.5) Å) was combined
    voxel for voxel silently, while a model term is placed by the input map's origin."""
    two_maps(tmp_path, SHAPE)
    data = mrcfile.read(tmp_path / "A.mrc")
    write_mrc(tmp_path / "moved.mrc", data, voxel_size=1.5)
    with mrcfile.open(tmp_path / "moved.mrc", "r+") as mrc:
        mrc.header.origin = (6.0, -3.0, 4.5)
    write_model(tmp_path / "m.pdb", np.array([[20.0, 20.0, 20.0]]))
    model = {"model": {"file": "m.pdb", "radius": 3}}
    for volumes, none_of, said in (("moved.mrc", [model], True), ("A.mrc", [model], False)):
        job = write_job(tmp_path, map_job(expression(all_of=[map_term("A.mrc")], none_of=none_of), volumes=volumes))
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            assert main(["validate", str(job)]) == 0
        err = capsys.readouterr().err
        words = (
            f"maskrun: warning: mask.expression.all_of.0 (A.mrc ≥ {THRESHOLD:g}): A.mrc's origin (0, 0, 0) Å is not "
            "the input map moved.mrc's (6, -3, 4.5) Å; it is combined voxel for voxel, its origin unused, while the "
            "model term is placed by moved.mrc's origin: if the two maps are not on one grid, resample A.mrc onto "
            "moved.mrc's first"
        )
        assert (words in err) == said, err


def test_a_model_term_refuses_maps_of_one_box_with_other_origins(tmp_path, capsys):
    for name, origin in (("A.mrc", 0.0), ("B.mrc", 5.0)):
        write_mrc(tmp_path / name, np.ones((16, 16, 16), np.float32), voxel_size=1.0)
        with mrcfile.open(tmp_path / name, "r+") as mrc:
            mrc.header.origin = (origin, origin, origin)
    write_model(tmp_path / "m.pdb", np.array([[8.0, 8.0, 8.0]]))
    mask = expression(all_of=[{"model": {"file": "m.pdb", "radius": 3}}])
    job = write_job(tmp_path, map_job(mask, volumes=["A.mrc", "B.mrc"]))
    assert "B.mrc and A.mrc share a stored box but not an origin" in validate_refuses(job, capsys)


def test_the_expression_reads_as_written_in_the_spec():
    spec = """
source: expression
expression:
  all_of:
    - map: {file: map.mrc, threshold: 0.02}
  any_of: []
  none_of:
    - map: {file: micelle.mrc, threshold: 0.01}
    - geometry: {shape: sphere, radius: 12 A, center: [0, 0, 40]}
  extend_px: 3
  soft_edge_px: 6
"""
    params = MaskSpec.model_validate(yaml.safe_load(spec)).expression
    assert params is not None
    assert params.describe() == "map.mrc ≥ 0.02 and not (micelle.mrc ≥ 0.01 or sphere)"
    assert [p.name for p in params.files] == ["map.mrc", "micelle.mrc"]


def test_the_expression_example_validates_meets_the_schema_and_runs(tmp_path, capsys):
    jsonschema = pytest.importorskip("jsonschema")
    from maskrun.config.job_schema import job_schema
    from maskrun.jobs.examples import starter_job

    assert main(["example", "expression", "--write", str(tmp_path / "demo")]) == 0
    job = tmp_path / "demo" / "expression.yaml"
    validator = jsonschema.Draft202012Validator(job_schema())
    assert list(validator.iter_errors(yaml.safe_load(starter_job("expression")))) == []
    assert main(["validate", str(job)]) == 0
    out = capsys.readouterr().out
    assert (  # each term's sizes in px and Å, as mask.geometry's line gives them (it said "and not sphere")
        "mask: expression (class_1.mrc ≥ 0.3 or model ligand.pdb [spheres of 1.5 px (3 Å)]) and not sphere [radius "
        "8 px (16 Å), centre shifted by (2, -10, -8) px]; then extend 2 px (4 Å), soft edge 4 px (8 Å)" in out
    )
    summary = run_job(job)
    saved = mrcfile.read(summary.output_dir / "mask.mrc")
    k, j, i = np.indices(saved.shape)
    hole = saved[((i - 34) ** 2 + (j - 22) ** 2 + (k - 24) ** 2) <= 4]  # beyond the extension and soft edge
    assert hole.max() == 0 and (saved[28:36, 28:36, 28:36] == 1).all()
    assert saved.max() == 1 and 0 < saved.mean() < 1


def test_a_model_term_in_a_particle_job_is_refused(tmp_path, capsys):
    from job_files import PARTICLE_JOB, example_folder

    example_folder(tmp_path, particles=4, maps=1)
    write_model(tmp_path / "m.pdb", np.array([[10.0, 10.0, 10.0]]))
    job = write_job(tmp_path, dict(PARTICLE_JOB, mask=expression(all_of=[{"model": {"file": "m.pdb", "radius": 3}}])))
    line = validate_refuses(job, capsys)
    assert line.endswith(
        "mask.expression.all_of.0.model.file: a model term places atoms on a map's grid, and the inputs are "
        "particle images; make a 3D mask from the model (maskrun make-mask model_mask.mrc --from-model m.pdb --like "
        "MAP --radius '3 A') and project it onto each particle with mask.source: projection (mask.projection.file: "
        "model_mask.mrc), or use the term in a job that masks maps"
    ), line


def test_the_one_line_expression_gives_each_term_s_sizes_in_px_and_angstrom():
    """The look: 'AK.mrc ≥ 0.1 and sphere' for a sphere of radius 12 px centred at (5, 0, 0), where mask.geometry
    says 'sphere: radius 12 px (18 Å), centre shifted by 5, 0, 0 px'; a model's 'spheres of 3 px' without Å."""
    from maskrun.config.mask_description import expression_text

    terms = {
        "all_of": [{"map": {"file": "AK.mrc", "threshold": 0.1, "extend_px": 2, "lowpass_angstrom": 9}}],
        "any_of": [
            {"geometry": {"shape": "sphere", "radius": 12, "center": [5, 0, 0]}},
            {"model": {"file": "m.pdb", "radius": 3, "select": "//B", "extend": "3 A"}},
        ],
        "none_of": [{"geometry": {"shape": "box", "box_size": "30 A"}}],
        "soft_edge_px": 4,
    }
    assert expression_text(terms, 1.5) == (
        "expression AK.mrc ≥ 0.1 [low-passed to 9 Å, extend 2 px (3 Å)] and (sphere [radius 12 px (18 Å), centre "
        "shifted by (5, 0, 0) px] or model m.pdb [select //B, spheres of 3 px (4.5 Å), extend 2 px (3 Å)]) and not "
        "box [box size 20 px (30 Å)]; then soft edge 4 px (6 Å)"
    )
    assert expression_text(terms, 0).startswith("expression AK.mrc ≥ 0.1 [low-passed to 9 Å, extend 2 px] and (sphere "
                                                 "[radius 12 px, centre shifted by (5, 0, 0) px] or")  # fmt: skip


@pytest.mark.parametrize(
    "model,said",
    [
        ({"file": "m.cif", "select": "//B", "radius": 4}, "model m.cif [//B], spheres of 4 px"),
        ({"file": "m.cif", "radius": "vdw"}, "model m.cif, van der Waals spheres"),
        ({"file": "m.cif", "molmap_resolution_angstrom": 6}, "model m.cif, molmap 6 Å ≥ 0.1 of its peak"),
        (
            {"file": "m.cif", "molmap_resolution_angstrom": 8, "threshold": 0.3},
            "model m.cif, molmap 8 Å ≥ 0.3 of its peak",
        ),
    ],
)
def test_a_model_term_is_described_with_its_radius_or_molmap(model, said):
    """validate's summary said 'model m.cif [//B]', not how large a mask the term makes."""
    from maskrun.config.expression_params import ExpressionParams

    assert ExpressionParams.model_validate({"all_of": [{"model": model}]}).describe() == said
