"""``check:`` in a map job: the saved mask judged by two half-maps, as check-mask does."""

from __future__ import annotations

import json

import numpy as np
import pytest
from fsc_phantoms import phantom_halves

from maskrun.engine.mask_check import check_json, check_mask
from maskrun.errors import UserError
from maskrun.jobs.plan import plan_job
from maskrun.jobs.runner import run_job
from maskrun.report.summary import check_text

from commands import maskrun, refused_line
from conftest import write_mrc
from job_files import validate_refuses, write_job

VOXEL = 2.0


@pytest.fixture
def folder(tmp_path):
    half1, half2, signal = phantom_halves(64, noise=1.5, blob_sigma_px=3.0)
    write_mrc(tmp_path / "h1.mrc", half1, voxel_size=VOXEL)
    write_mrc(tmp_path / "h2.mrc", half2, voxel_size=VOXEL)
    write_mrc(tmp_path / "avg.mrc", (half1 + half2) / 2, voxel_size=VOXEL)
    write_mrc(tmp_path / "signal.mrc", signal / signal.max(), voxel_size=VOXEL)
    return tmp_path


def job(check: dict | None, inputs: dict | None = None, tight: bool = False) -> dict:
    made = {"threshold": 0.5, "extend_px": 0, "soft_edge_px": 2} if tight else {}
    return {
        "version": 1,
        "name": "checked",
        "inputs": inputs or {"volumes": "avg.mrc"},
        "mask": {
            "source": "map",
            "map": {"file": "signal.mrc", "threshold": 0.05, "extend_px": 2, "soft_edge_px": 8} | made,
        },
        "fill": {"with": "value", "value": 0},
        **({"check": check} if check else {}),
    }


def test_a_map_job_checks_its_mask(folder):
    summary = run_job(write_job(folder, job({"half1": "h1.mrc", "half2": "h2.mrc", "search": True})))
    record = json.loads((summary.output_dir / "provenance" / "run.json").read_text())
    saved = json.loads((summary.output_dir / "check" / "check.json").read_text())
    expected = check_json(check_mask(folder / "h1.mrc", folder / "h2.mrc", summary.output_dir / "mask.mrc"))
    assert saved["fsc"] == expected["fsc"] and saved["verdict"] == expected["verdict"]
    assert record["check"]["verdict"] == expected["verdict"]
    assert record["check"]["resolution_angstrom"] == expected["resolution_angstrom"]
    assert "tightest_fine" in record["check"] and saved["search"]["candidates"]
    best = saved["search"]["tightest_fine"]
    assert best is not None  # made from the mask applied, the file the search tried it around (the verdict look)
    make_it = (
        f"maskrun make-mask OUT.mrc --from-map {summary.output_dir / 'mask.mrc'} --threshold 0.5 "
        f"--extend {best['extend_px']:g} --soft-edge {best['soft_edge_px']:g}"
    )
    assert saved["search"]["make_it"] == record["check"]["make_it"] == make_it
    assert f"make it with {make_it}, and give it to the job as mask.source: file" in check_text(record["check"])
    assert str(summary.output_dir / "check" / "check.json") in [
        str(summary.output_dir / entry["path"]) for entry in record["outputs"]
    ]
    assert {entry["path"]: entry["role"] for entry in record["outputs"]}["check/check.json"] == "check"
    inputs = [entry["path"] for entry in record["inputs"]]
    assert str(folder / "h1.mrc") in inputs and str(folder / "h2.mrc") in inputs
    assert saved["verdict"] == "fine" and not [w for w in record["warnings"] if "check" in w]


def test_half_maps_of_another_box_are_refused_before_any_work(folder):
    write_mrc(folder / "small.mrc", np.zeros((32, 32, 32), np.float32), voxel_size=VOXEL)
    path = write_job(folder, job({"half1": "h1.mrc", "half2": "small.mrc"}))
    with pytest.raises(UserError, match=r"check\.half2") as caught:
        plan_job(path)
    assert "not the job's maps' one box" in str(caught.value)
    assert not (folder / "results").exists()


def test_a_missing_half_map_is_refused(folder):
    with pytest.raises(UserError, match=r"nope\.mrc: check\.half1: file not found; give an existing half-map"):
        plan_job(write_job(folder, job({"half1": "nope.mrc", "half2": "h2.mrc"})))


def test_check_is_for_map_jobs_only(folder):
    with pytest.raises(UserError, match=r"check .*for map jobs"):
        plan_job(write_job(folder, job({"half1": "h1.mrc", "half2": "h2.mrc"}, {"particles": "p.star"})))


def test_validate_says_the_mask_will_be_checked(folder):
    from maskrun.jobs.plan import describe_plan

    lines = describe_plan(plan_job(write_job(folder, job({"half1": "h1.mrc", "half2": "h2.mrc"}))))
    assert "  check: the mask judged by h1.mrc + h2.mrc after the run" in lines


def test_the_report_shows_the_check_curves_and_verdict(folder, monkeypatch):
    import matplotlib.image

    import maskrun.engine.mask_check
    from maskrun.report.build import build_report

    path = write_job(folder, job({"half1": "h1.mrc", "half2": "h2.mrc"}))
    summary = run_job(path)

    def checked_again(*args, **kwargs):
        raise AssertionError("the report checks the mask again instead of drawing the gather's check.json")

    monkeypatch.setattr(maskrun.engine.mask_check, "check_mask", checked_again)
    report = build_report(plan_job(path))
    figure = summary.output_dir / "report" / "check.png"
    assert report.figures["check.png"] == figure and matplotlib.image.imread(figure).shape[1] > 1000
    verdict = json.loads((summary.output_dir / "check" / "check.json").read_text())["verdict"]
    page = report.html.read_text()
    assert "check.png" in page and f"verdict {verdict}" in page
    resolution = json.loads((summary.output_dir / "check" / "check.json").read_text())["resolution_angstrom"]
    assert f"<li>Check: {verdict}, resolution {resolution:.2f} Å (corrected FSC 0.143" in page  # not only a caption


@pytest.mark.parametrize(
    ("verdict", "best", "ending"),
    [
        ("fine", None, "; no mask the search tried is fine and tighter: keep this one"),
        ("too tight", None, "; no mask the search tried is fine"),
        (
            "too tight",
            {"extend_px": 4.0, "soft_edge_px": 6.0, "kept_fraction": 0.231},
            "; tightest fine mask from the search: extend 4 px, soft edge 6 px from the 0.5 contour of the mask "
            "applied, not from the job's mask settings (keeps 23.1% of the box)",
        ),
    ],
)
def test_the_reports_check_line_gives_the_searchs_answer(verdict, best, ending):
    from maskrun.report.summary import check_text

    gist = {"verdict": verdict, "resolution_angstrom": 9.8333, "tightest_fine": best}
    assert check_text(gist) == f"{verdict}, resolution 9.83 Å (corrected FSC 0.143, as relion_postprocess){ending}"
    del gist["tightest_fine"]  # no search asked
    assert check_text(gist) == f"{verdict}, resolution 9.83 Å (corrected FSC 0.143, as relion_postprocess)"


def test_the_reports_check_line_gives_the_searchs_answer_where_none_is_fine_and_the_verdicts_contour():
    """The search names one mask to make where none is fine (the tightest not too tight, or the verdict's), and the
    verdict's mask grows from the mask's core, not its 0.5 contour: the report said 'no mask … is fine' alone, and
    would have called the verdict's mask's core its 0.5 contour."""
    from maskrun.report.summary import check_text

    make_it = "maskrun make-mask OUT.mrc --from-map out/mask.mrc --threshold 0.99 --extend -5 --soft-edge 6.00"
    gist = {"verdict": "tight and loose conflict", "resolution_angstrom": 50.57, "tightest_fine": None}
    assert check_text(gist | {"make_it": make_it}).endswith(
        f"; no mask the search tried is fine; the search's answer: make it with {make_it}, and give it to the job as "
        "mask.source: file"
    )
    best = {"extend_px": -5.0, "soft_edge_px": 6.0, "kept_fraction": 0.086, "threshold": 0.99}
    assert "extend -5 px, soft edge 6 px from the core (at least 0.99) of the mask applied" in check_text(
        gist | {"verdict": "too loose", "tightest_fine": best}
    )


def test_a_check_that_finds_fault_is_a_warning_of_the_run_and_the_report(folder):
    from maskrun.report.build import build_report
    from maskrun.workflow.launch import summary

    path = write_job(folder, job({"half1": "h1.mrc", "half2": "h2.mrc"}, tight=True))
    out = run_job(path).output_dir
    saved = json.loads((out / "check" / "check.json").read_text())
    assert saved["verdict"] == "too tight"
    first = saved["reasons"][0]
    expected = f"the mask's check says too tight: {first['measured']} → {first['suggestion']}"
    warning = json.loads((out / "provenance" / "run.json").read_text())["warnings"][-1]
    assert warning.startswith(expected) and "\n" not in warning
    assert "extend the mask by" in warning
    plan = plan_job(path)
    assert summary(plan, 1.0).endswith("in 1.0 s; the mask's check: too tight")
    report = build_report(plan)
    assert warning in report.warnings
    page = report.html.read_text()
    assert f"Warnings: {len(report.warnings)}" in page and "the mask&#x27;s check says too tight: " in page
    assert warning in json.loads((out / "provenance" / "run.json").read_text())["warnings"]


def test_one_file_given_as_both_halves_is_refused_at_validate(folder, capsys):
    (folder / "same.mrc").symlink_to(folder / "h1.mrc")
    for other in ("h1.mrc", "same.mrc"):
        line = validate_refuses(write_job(folder, job({"half1": "h1.mrc", "half2": other})), capsys)
        assert f"{folder / other}: check.half2: is the same file as check.half1; give the other half-map" in line


def test_a_half_map_or_a_map_as_the_jobs_mask_file_is_refused_with_how_to_make_a_mask(folder, capsys):
    """check-mask's rule for its mask, in a job whose mask is a file: the file given as check.half1 is no mask, and a
    map's values (no plateau at their top) are not to be rescaled to [0, 1]."""
    (folder / "link.mrc").symlink_to(folder / "h2.mrc")
    for given, half in (("h1.mrc", "check.half1"), ("link.mrc", "check.half2")):
        checked = job({"half1": "h1.mrc", "half2": "h2.mrc"}) | {"mask": {"source": "file", "file": given}}
        line = validate_refuses(write_job(folder, checked), capsys)
        assert line == (
            f"maskrun validate: error: {folder / given}: mask.file: is the same file as {half}, a half-map, not a "
            "mask: give the mask, have the job make it from the map (mask.source: map), or make one with maskrun "
            f"make-mask OUT.mrc --from-map {folder / given} --threshold auto --soft-edge 6"
        )
    checked = job({"half1": "h1.mrc", "half2": "h2.mrc"}) | {"mask": {"source": "file", "file": "avg.mrc"}}
    line = validate_refuses(write_job(folder, checked), capsys)
    assert line.startswith(f"maskrun validate: error: {folder / 'avg.mrc'}: mask.file: mask values run from ")
    assert line.endswith(
        "this looks like a map, not a mask: make a mask from it with maskrun make-mask OUT.mrc --from-map "
        f"{folder / 'avg.mrc'} --threshold auto --soft-edge 6"
    )
    assert "rescale" not in line


def test_a_copy_of_a_half_is_refused_at_validate(folder, capsys):
    import mrcfile

    write_mrc(folder / "copy.mrc", mrcfile.read(folder / "h1.mrc"), voxel_size=VOXEL)
    line = validate_refuses(write_job(folder, job({"half1": "h1.mrc", "half2": "copy.mrc"})), capsys)
    assert f"{folder / 'copy.mrc'}: check.half2: holds the same values as h1.mrc" in line


def test_a_half_of_another_voxel_size_is_refused_at_validate_with_a_fix_a_job_can_take(folder, capsys):
    import mrcfile

    write_mrc(folder / "h2_px.mrc", mrcfile.read(folder / "h2.mrc"), voxel_size=VOXEL * 1.2)
    line = validate_refuses(write_job(folder, job({"half1": "h1.mrc", "half2": "h2_px.mrc"})), capsys)
    assert (
        f"{folder / 'h2_px.mrc'}: check.half2: voxel size 2.4 Å differs from the job's maps' 2 Å by more than 1%"
        in line
    )
    assert "relion_image_handler --i h2_px.mrc --o h2_px_fixed.mrc --force_header_angpix 2)" in line
    assert "give the voxel size" not in line and "--angpix" not in line.replace("--force_header_angpix", "")
    write_mrc(folder / "h2_near.mrc", mrcfile.read(folder / "h2.mrc"), voxel_size=VOXEL * 1.005)  # within 1 %
    plan_job(write_job(folder, job({"half1": "h1.mrc", "half2": "h2_near.mrc"})))


def test_halves_of_one_voxel_size_other_than_the_maps_are_refused(folder, capsys):
    import mrcfile

    for n in (1, 2):
        write_mrc(folder / f"px{n}.mrc", mrcfile.read(folder / f"h{n}.mrc"), voxel_size=3.0)
    line = validate_refuses(write_job(folder, job({"half1": "px1.mrc", "half2": "px2.mrc"})), capsys)
    assert f"{folder / 'px1.mrc'}: check.half1: voxel size 3 Å differs from the job's maps' 2 Å" in line


def test_halves_without_a_voxel_size_take_the_maps_and_none_anywhere_is_refused(folder, capsys):
    import mrcfile

    from maskrun.jobs.plan import check_half_maps_fit

    for n in (1, 2):
        write_mrc(folder / f"bare{n}.mrc", mrcfile.read(folder / f"h{n}.mrc"), voxel_size=0.0)
    checked = job({"half1": "bare1.mrc", "half2": "bare2.mrc"})
    assert check_half_maps_fit(plan_job(write_job(folder, checked))) == VOXEL
    for name in ("avg.mrc", "signal.mrc"):
        write_mrc(folder / name, mrcfile.read(folder / name), voxel_size=0.0)
    with pytest.raises(UserError) as caught:  # and no warning beside the refusal (warnings are errors here)
        plan_job(write_job(folder, checked))
    line = str(caught.value)
    assert f"{folder / 'bare1.mrc'}: check.half1: the header gives no voxel size, nor do the job's maps'" in line
    assert "relion_image_handler --i bare1.mrc --o bare1_fixed.mrc --force_header_angpix A" in line


def test_a_stack_as_a_half_is_refused(folder, capsys):
    import mrcfile

    write_mrc(folder / "h2.mrcs", mrcfile.read(folder / "h2.mrc"), voxel_size=VOXEL)
    line = validate_refuses(write_job(folder, job({"half1": "h1.mrc", "half2": "h2.mrcs"})), capsys)
    assert "check.half2: is not a 3D map" in line


def scaled_copy(folder):
    import mrcfile

    return write_mrc(folder / "scaled.mrc", 2 * mrcfile.read(folder / "h1.mrc"), voxel_size=VOXEL)


def test_halves_only_the_fsc_shows_are_copies_leave_no_gathered_output_and_the_fixed_job_runs(folder):
    scaled_copy(folder)
    out = folder / "results" / "checked"
    with pytest.raises(UserError, match=r"scaled\.mrc: check\.half2: its unmasked FSC with h1\.mrc never falls below"):
        run_job(write_job(folder, job({"half1": "h1.mrc", "half2": "scaled.mrc"})))
    for gathered in ("mask.mrc", "check", "provenance/run.json"):
        assert not (out / gathered).exists(), gathered
    assert not (out / "volumes").exists()  # refused at planning: no map was masked first (they were, until the gather)
    summary = run_job(write_job(folder, job({"half1": "h1.mrc", "half2": "h2.mrc"})))  # no output.overwrite
    assert summary.output_dir == out and (out / "mask.mrc").is_file() and (out / "check" / "check.json").is_file()


def test_maskrun_run_refuses_such_halves_in_one_line_with_exit_2(folder):
    scaled_copy(folder)
    proc = maskrun("run", write_job(folder, job({"half1": "h1.mrc", "half2": "scaled.mrc"})), "--cores", 1)
    line = refused_line(proc)
    assert line.startswith(f"maskrun run: error: {folder / 'scaled.mrc'}: check.half2: its unmasked FSC with h1.mrc")
    out = folder / "results" / "checked"
    assert not (out / "mask.mrc").exists() and not (out / "provenance" / "run.json").exists()
    proc = maskrun("run", write_job(folder, job({"half1": "h1.mrc", "half2": "h2.mrc"})), "--cores", 1)
    assert proc.returncode == 0, proc.stderr
    assert (out / "mask.mrc").is_file() and (out / "provenance" / "run.json").is_file()


def test_a_check_json_the_run_did_not_write_is_never_replaced(folder):
    kept = folder / "results" / "checked" / "check" / "check.json"
    kept.parent.mkdir(parents=True)
    kept.write_text("precious")
    with pytest.raises(UserError, match=r"output\.dir: .*check\.json exists and was not written by maskrun"):
        run_job(write_job(folder, job({"half1": "h1.mrc", "half2": "h2.mrc"})))
    assert kept.read_text() == "precious"


def test_a_half_map_with_the_full_map_is_warned_of_in_the_run_record_and_once_on_the_terminal(folder):
    """The verdict look: a job checked with half1 and the full map said 'the mask's check: fine', without a word."""
    data = job({"half1": "h1.mrc", "half2": "avg.mrc"})
    data["inputs"] = {"volumes": "h2.mrc"}
    proc = maskrun("run", write_job(folder, data), "--cores", "1")
    assert proc.returncode == 0, proc.stderr
    record = json.loads((folder / "results" / "checked" / "provenance" / "run.json").read_text())
    found = [w for w in record["warnings"] if "FSC rests at 0.7" in w]
    assert len(found) == 1 and found[0].startswith("h1.mrc and avg.mrc: the half-maps' FSC rests at 0.7")
    assert proc.stderr.count("FSC rests at 0.7") == 1, proc.stderr
    assert record["check"]["warnings"] == found


def test_copies_are_refused_and_a_full_map_warned_of_by_validate_before_anything_is_masked(folder, capsys):
    """Halves only their FSC shows are copies failed a job at its gather, once every map was masked."""
    from maskrun.cli.main import main

    scaled_copy(folder)
    line = validate_refuses(write_job(folder, job({"half1": "h1.mrc", "half2": "scaled.mrc"})), capsys)
    assert "check.half2: its unmasked FSC with h1.mrc never falls below 0.8" in line
    data = job({"half1": "h1.mrc", "half2": "avg.mrc"})
    data["inputs"] = {"volumes": "h2.mrc"}
    assert main(["validate", str(write_job(folder, data))]) == 0
    err = capsys.readouterr().err
    assert "h1.mrc and avg.mrc: the half-maps' FSC rests at 0.7" in err
    # validate prints no verdict: the warning spoke of "the verdict below"
    assert "any verdict on a mask from these halves assumes they are independent" in err and "below" not in err


def test_a_job_checks_a_focused_mask_as_one_only_when_told(tmp_path):
    """A job's mask of one domain of a two-domain particle: its check counts the other domain (too tight) and its
    warning says how to check it as a focused mask (check.focused); with ``focused: true`` that domain is left out
    by design (docs/spec.md, "Parts left out")."""
    centres = [(0.0, dy, side * 12 + dx) for side in (-1, 1) for dx, dy in ((0, 0), (2, 4), (-2, -4))]
    half1, half2, signal = phantom_halves(64, noise=1.0, blob_sigma_px=3.0, centres=centres)
    first = np.where(np.arange(64)[None, None, :] < 32, signal, 0)
    for name, values in (("h1", half1), ("h2", half2), ("avg", (half1 + half2) / 2), ("first", first / first.max())):
        write_mrc(tmp_path / f"{name}.mrc", values, voxel_size=1.5)
    spec = job({"half1": "h1.mrc", "half2": "h2.mrc"})
    spec["mask"]["map"] = {"file": "first.mrc", "threshold": 0.05, "extend_px": 2, "soft_edge_px": 6}
    checks = {}
    for focused in (False, True):
        spec["check"]["focused"] = focused
        spec["output"] = {"dir": f"out_{focused}"}
        out = run_job(write_job(tmp_path, spec)).output_dir
        saved = json.loads((out / "check" / "check.json").read_text())
        record = json.loads((out / "provenance" / "run.json").read_text())
        checks[focused] = saved, record
    (saved, record) = checks[False]
    assert saved["verdict"] != "fine" and not saved["measures"]["focused"]
    hint = saved["notes"][0]
    assert hint.startswith("the density left out lies in 1 part (") and hint.endswith(
        "if the mask is of part of the particle (a focused mask), set check.focused: true in the job "
        "(check-mask --focused)"
    )
    assert record["check"]["notes"] == [hint]
    assert record["warnings"][-1].startswith("the mask's check says ") and record["warnings"][-1].endswith(hint)
    (saved, record) = checks[True]
    assert saved["verdict"] == "fine" and saved["measures"]["focused"]
    assert saved["measures"]["density_outside_fraction"] == 0.0 and saved["measures"]["density_left_out_parts"] == 1
    assert "left out by design" in saved["notes"][0] and not [w for w in record["warnings"] if "check" in w]


def test_validate_says_a_focused_mask_is_checked_as_one_and_refuses_a_focused_that_is_no_yes_or_no(folder, capsys):
    from maskrun.jobs.plan import describe_plan

    spec = job({"half1": "h1.mrc", "half2": "h2.mrc", "focused": True})
    lines = describe_plan(plan_job(write_job(folder, spec)))
    assert "  check: the mask judged by h1.mrc + h2.mrc after the run, as a focused mask" in lines
    line = validate_refuses(write_job(folder, job({"half1": "h1.mrc", "half2": "h2.mrc", "focused": "maybe"})), capsys)
    assert "check.focused" in line and "maybe" in line, line


def test_focused_left_at_false_keeps_a_checked_jobs_recipe_as_before_it(folder):
    """A checked job's recipe (its identity: a finished run of it has nothing to do) gained `focused: false` in CI's
    run, so every checked job finished before `check.focused` would have been redone; false is left out of it."""
    from maskrun.config.job_file import load_job

    plain = load_job(write_job(folder, job({"half1": "h1.mrc", "half2": "h2.mrc"})))
    halves = {"half1": str(folder / "h1.mrc"), "half2": str(folder / "h2.mrc")}
    assert plain.recipe()["check"] == halves | {"search": False}
    told = load_job(write_job(folder, job({"half1": "h1.mrc", "half2": "h2.mrc", "focused": True}), "f.yaml"))
    assert told.recipe()["check"]["focused"] is True and told.recipe_sha256 != plain.recipe_sha256
