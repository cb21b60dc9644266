"""Legal but suspicious requests warn (docs/spec.md, "Shapes" and "Created masks") and still run."""

from __future__ import annotations

import json

import numpy as np
import pytest

from maskrun.cli.main import main
from maskrun.errors import MaskrunWarning

from conftest import write_mrc


@pytest.mark.parametrize(
    "options,warning",
    [
        (["--shape", "circular", "--radius", "50"], "keeps everything"),
        (["--shape", "circular", "--radius", "3", "--center", "40", "0", "--invert"], "lies outside the box"),
        (["--shape", "crown", "--inner-radius", "30", "--outer-radius", "31"], "keeps nothing"),
        (["--shape", "raised_cosine", "--inner-radius", "5", "--outer-radius", "15"], "larger than half the box"),
    ],
)
def test_suspicious_geometry_warns_and_runs(capsys, tmp_path, small_stack, options, warning):
    assert main(["mask", str(small_stack), str(tmp_path / "o.mrcs"), *options]) == 0
    err = capsys.readouterr().err
    assert "maskrun: warning: " in err and warning in err


def test_created_mask_with_unknown_voxel_size_warns(capsys, tmp_path, small_stack):
    mask = write_mrc(tmp_path / "m.mrc", np.full((1, 24, 24), 0.5), voxel_size=0)
    assert main(["mask", str(small_stack), str(tmp_path / "o.mrcs"), "--mask-file", str(mask)]) == 0
    assert "the mask's voxel size is unknown" in capsys.readouterr().err


def test_validate_gives_a_jobs_mask_warnings_once(capsys, tmp_path):
    """The second look: each mask warning came twice, from planning and again from describing the plan's mask.

    A shape keeping the whole box has no edge in it: it was also said to be cut by the box edge.
    """
    from job_files import example_folder, job_with, write_job

    example_folder(tmp_path, particles=30, maps=0)
    geometry = {"shape": "circular", "radius": 400}
    assert main(["validate", str(write_job(tmp_path, job_with(mask__geometry=geometry)))]) == 0
    warned = [line for line in capsys.readouterr().err.splitlines() if line.startswith("maskrun: warning:")]
    assert warned == ["maskrun: warning: the circular mask keeps everything: the output equals the input"]


EDGE_CUT = "the mask's kept region touches the box edge"


@pytest.mark.parametrize(
    "geometry, said",
    [
        # a soft edge reaching past the box: the report said so after the run, validate said nothing
        ({"shape": "circular", "radius": 20, "soft_edge": 20}, EDGE_CUT),
        ({"shape": "box", "box_size": 40, "center": [20, 0], "soft_edge": 4}, EDGE_CUT),
        # a radius past half the box: said once, in the shape's words, not again as a cut edge at the end
        ({"shape": "circular", "radius": 40, "soft_edge": 4}, "radius 40 px is larger than half the box (32 px)"),
    ],
)
def test_validate_says_the_box_cuts_the_mask_as_run_does_once(capsys, tmp_path, geometry, said):
    """A mask cut by the box edge was a warning of the run's report only: validate was silent on ``radius: 100,
    soft_edge: 100`` over a 256 px box, and said 'radius 180 px is larger than half the box' where run said it
    twice (that, and the report's cut edge). One rule, the mask's border, judged as the job is planned."""
    from job_files import example_folder, job_with, write_job

    example_folder(tmp_path, particles=12, maps=0)
    job = write_job(tmp_path, job_with(mask__geometry=geometry, report=True))

    def warned() -> list[str]:  # the hard edge and the report's check of its sample (a tight mask) aside
        err = capsys.readouterr().err.splitlines()
        others = ("hard-edged", "the mask is tight")
        return [line for line in err if line.startswith("maskrun: warning:") and not any(o in line for o in others)]

    assert main(["validate", str(job)]) == 0
    in_validate = warned()
    assert len(in_validate) == 1 and said in in_validate[0]
    assert main(["run", str(job), "--cores", "1"]) == 0
    assert [line for line in warned() if "box edge" in line] == in_validate  # (the report's others aside)
    recorded = json.loads((tmp_path / "results" / "t" / "provenance" / "run.json").read_text())["warnings"]
    assert [w for w in recorded if "box edge" in w] == [in_validate[0].removeprefix("maskrun: warning: ")]


def test_run_and_report_say_once_that_a_shape_keeps_the_whole_box_and_nothing_of_its_edge(capsys, tmp_path):
    """The look: "keeps everything" came twice in run, beside "cut by the box edge" and "a hard-edged mask ... adds
    ringing; give the shape a soft edge": a mask keeping every pixel has no edge in the box."""
    from job_files import example_folder, job_with, write_job

    example_folder(tmp_path, particles=30, maps=0)
    job = write_job(tmp_path, job_with(mask__geometry={"shape": "circular", "radius": 400}))
    said = "the circular mask keeps everything: the output equals the input"
    assert main(["run", str(job), "--cores", "1"]) == 0
    warned = [line for line in capsys.readouterr().err.splitlines() if line.startswith("maskrun: warning:")]
    assert warned == [f"maskrun: warning: {said}"]
    out = tmp_path / "results" / job_with()["name"]
    assert json.loads((out / "provenance" / "run.json").read_text())["warnings"] == [said]
    page = (out / "report" / "report.html").read_text()
    assert said in page and "keeps everything" not in page.replace(said, "")
    assert "cut by the box" not in page and "hard-edged" not in page
    assert main(["report", str(job)]) == 0  # drawn again: the same one warning
    assert json.loads((out / "provenance" / "run.json").read_text())["warnings"] == [said]


@pytest.mark.parametrize(("radius", "invert", "said"), [(40, False, "keeps everything"), (40, True, "keeps nothing")])
def test_a_shape_keeping_all_or_nothing_is_not_said_to_be_cut_by_the_box(
    capsys, tmp_path, small_stack, radius, invert, said
):
    options = ["--shape", "circular", "--radius", str(radius), *(["--invert"] if invert else [])]
    assert main(["mask", str(small_stack), str(tmp_path / "o.mrcs"), *options]) == 0
    warned = [line for line in capsys.readouterr().err.splitlines() if line.startswith("maskrun: warning:")]
    assert len(warned) == 1 and f"the circular mask {said}: " in warned[0]


@pytest.mark.parametrize(
    ("mask", "said"),
    [
        (np.zeros((4, 4)), "the mask keeps nothing: every pixel is replaced by the fill"),
        (np.zeros((4, 4, 4)), "the mask keeps nothing: every voxel is replaced by the fill"),
        (np.ones((4, 4, 4)), "the mask keeps everything: the output equals the input"),
        (np.eye(4), None),
    ],
)
def test_the_run_records_warning_of_a_mask_keeping_all_or_nothing_says_what_it_did(mask, said):
    """A map's mask said "every pixel"."""
    from maskrun.jobs.mask_warnings import keeps_nothing_or_everything

    assert keeps_nothing_or_everything(mask) == said


def test_a_low_passed_map_masks_warning_gives_the_low_passed_maps_levels(capsys, tmp_path):
    """The median and 99th percentile were the file's, while the threshold met the map low-passed."""
    from maskrun.geometry.map_mask import low_pass

    from job_files import job_with, write_job

    rng = np.random.default_rng(5)
    density = rng.standard_normal((24, 24, 24)).astype(np.float32)
    write_mrc(tmp_path / "map.mrc", density, voxel_size=2.0)
    mask = {"source": "map", "map": {"file": "map.mrc", "threshold": -5, "lowpass_angstrom": 10}}
    job = job_with(inputs__particles=None, inputs__volumes="map.mrc", mask=mask)
    assert main(["validate", str(write_job(tmp_path, job))]) == 0
    low, high = np.percentile(low_pass(density.astype(np.float64), 10, 2.0), [50, 99])
    assert high < 0.5 * np.percentile(density, 99)  # the low-pass matters here
    assert (
        f"keeps everything: the output equals the input; raise the threshold -5 (the map's median after low-pass to "
        f"10 Å is {low:.4g}, its 99th percentile {high:.4g})\n" in capsys.readouterr().err  # no extend can shrink it
    )


def test_a_map_mask_keeping_everything_is_said_once_in_the_run_record(tmp_path):
    """The record gave the map's warning and, again, "the mask keeps everything: the output equals the input"."""
    from maskrun.jobs.runner import run_job

    from job_files import job_with, write_job

    write_mrc(tmp_path / "map.mrc", np.random.default_rng(2).standard_normal((16, 16, 16)), voxel_size=2.0)
    mask = {"source": "map", "map": {"file": "map.mrc", "threshold": -100}}
    job = write_job(tmp_path, job_with(inputs__particles=None, inputs__volumes="map.mrc", mask=mask, report=False))
    with pytest.warns(MaskrunWarning, match="the mask made from map.mrc keeps everything"):
        summary = run_job(job)
    warned = json.loads((summary.output_dir / "provenance" / "run.json").read_text())["warnings"]
    assert len(warned) == 1 and warned[0].startswith(
        "the mask made from map.mrc keeps everything: the output equals the input; raise the threshold -100 (the map's"
    )


@pytest.mark.parametrize(
    "mask, advice",
    [
        # a helix's map mask reaches the z faces whatever its threshold: the helical crop was never named
        (
            {"source": "map", "map": {"file": "rod.mrc", "threshold": 0.3, "soft_edge_px": 2}},
            "it reaches only the box's two z faces, as a density running along z (a helix) does: set "
            "mask.map.helix: true to keep the central mask.map.z_percentage of the box along z (RELION's --helix; "
            "a fraction, 0.3 by default)",
        ),
        # a crop reaching past the box: its z_percentage or soft edge, not the threshold
        (
            {
                "source": "map",
                "map": {"file": "rod.mrc", "threshold": 0.3, "soft_edge_px": 6, "helix": True, "z_percentage": 0.9},
            },
            "it reaches only the box's z faces, where the helical crop ends: make mask.map.z_percentage or "
            "mask.map.soft_edge_px smaller",
        ),
        # a cylinder of the default height N: "make it smaller or move its centre" named neither; then "(by default
        # the box, N)" named no size
        (
            {"source": "geometry", "geometry": {"shape": "cylinder", "radius": 6, "soft_edge": 2}},
            "it reaches only the box's two z faces: make mask.geometry.height smaller (by default the box, 32 px)",
        ),
        # reaching the x and y faces too: the advice as before
        (
            {"source": "map", "map": {"file": "rod.mrc", "threshold": 0.3, "extend_px": 12}},
            "raise mask.map.threshold or make its extend_px and soft_edge_px smaller; if the density itself reaches "
            "the box edge, the data need a larger box",
        ),
        (
            {"source": "geometry", "geometry": {"shape": "cylinder", "radius": 15, "soft_edge": 2}},
            "make it smaller or move its centre",
        ),
    ],
)
def test_a_mask_running_along_z_through_the_box_is_told_of_the_helical_crop_or_the_height(
    capsys, tmp_path, mask, advice
):
    """A fibril's map mask was told to raise its threshold or use a larger box, a full-height cylinder to be made
    smaller or moved: both reach only the z faces, which the helical crop (RELION's --helix) or the height fixes."""
    from job_files import job_with, write_job

    _, y, x = np.mgrid[:32, :32, :32] - 16
    write_mrc(tmp_path / "rod.mrc", np.exp(-(x**2 + y**2) / (2 * 3.0**2)).astype(np.float32), voxel_size=2.0)
    job = job_with(inputs__particles=None, inputs__volumes="rod.mrc", mask=mask, report=False)
    assert main(["validate", str(write_job(tmp_path, job))]) == 0
    warned = [line for line in capsys.readouterr().err.splitlines() if "touches the box edge" in line]
    assert len(warned) == 1 and warned[0].startswith("maskrun: warning: the mask's kept region touches the box edge")
    assert warned[0].endswith("its edge is cut by the box; " + advice)


def test_a_long_particles_map_mask_reaching_the_z_faces_keeps_the_threshold_advice(capsys, tmp_path):
    """An ellipsoid's map mask (σz 34 px in a 64 px box, review 13b's mm.yaml) reaching only the z faces was told
    only to set mask.map.helix: its slices' sums fall towards the faces (0.62 of the median), a helix's do not: the
    threshold and larger-box advice stands, and the helical crop is not named."""
    from job_files import job_with, write_job

    z, y, x = np.mgrid[:64, :64, :64] - 32
    ellipsoid = np.exp(-(x**2 / (2 * 7**2) + y**2 / (2 * 7**2) + z**2 / (2 * 34**2))).astype(np.float32)
    write_mrc(tmp_path / "long.mrc", ellipsoid, voxel_size=2.0)
    mask = {"source": "map", "map": {"file": "long.mrc", "threshold": 0.6, "extend_px": 2, "soft_edge_px": 3}}
    job = job_with(inputs__particles=None, inputs__volumes="long.mrc", mask=mask, report=False)
    assert main(["validate", str(write_job(tmp_path, job))]) == 0
    warned = [line for line in capsys.readouterr().err.splitlines() if "touches the box edge" in line]
    assert len(warned) == 1 and "helix" not in warned[0]
    assert warned[0].endswith(
        "its edge is cut by the box; raise mask.map.threshold or make its extend_px and soft_edge_px smaller; if the "
        "density itself reaches the box edge, the data need a larger box"
    )


@pytest.mark.parametrize(
    "inputs, mask, said",
    [
        (
            {"particles": "stack.mrcs"},
            {"source": "file", "file": "disc.mrc"},
            "disc.mrc: the mask's 1.5 Å/px is not checked against the images: the particles' only pixel size would "
            "be their stack header's, which gives none; set inputs.pixel_size_angstrom to the images' pixel size "
            "(Å per pixel) to have it checked",
        ),
        (
            {"volumes": ["map.mrc"]},
            {"source": "file", "file": "ball.mrc"},
            "ball.mrc: the mask's 1.5 Å/px is not checked against the map: map.mrc's header gives no voxel size; set "
            "it in its header (relion_image_handler --i map.mrc --o map_fixed.mrc --force_header_angpix A, A the "
            "voxel size in Å) to have it checked",
        ),
        (
            {"volumes": ["map.mrc", "map2.mrc"]},
            {"source": "map", "map": {"file": "ball.mrc", "threshold": 0.5}},
            "ball.mrc: the mask map's 1.5 Å/px is not checked against the maps: the headers of map.mrc, map2.mrc "
            "give no voxel size; set it in each (relion_image_handler --i map.mrc --o map_fixed.mrc "
            "--force_header_angpix A, A the voxel size in Å) to have it checked",
        ),
    ],
    ids=["bare-stack", "map", "mask-map-on-maps"],
)
def test_a_mask_file_on_data_of_no_pixel_size_says_what_is_not_checked_and_the_fix(
    capsys, tmp_path, inputs, mask, said
):
    """The warning was the engine's, in words of images: 'the images' voxel size is unknown, so the mask's pixel size
    cannot be checked against the images', for maps too, and for a mask map, with no fix."""
    from job_files import write_job

    rng = np.random.default_rng(0)
    write_mrc(tmp_path / "stack.mrcs", rng.normal(size=(4, 16, 16)), voxel_size=0)
    for name in ("map.mrc", "map2.mrc"):
        write_mrc(tmp_path / name, rng.normal(size=(16, 16, 16)), voxel_size=0)
    write_mrc(tmp_path / "disc.mrc", np.ones((1, 16, 16)), voxel_size=1.5)
    write_mrc(tmp_path / "ball.mrc", np.pad(np.ones((8, 8, 8)), 4), voxel_size=1.5)
    job = {"version": 1, "name": "t", "inputs": inputs, "mask": mask, "fill": {"with": "value", "value": 0}}
    assert main(["validate", str(write_job(tmp_path, job))]) == 0
    warned = [line for line in capsys.readouterr().err.splitlines() if line.startswith("maskrun: warning:")]
    assert warned == [f"maskrun: warning: {tmp_path / said}"]
    if "particles" in inputs:  # the fix it names: the size given, the mask is checked and fits
        job["inputs"]["pixel_size_angstrom"] = 1.5
        assert main(["validate", str(write_job(tmp_path, job))]) == 0
        assert "maskrun: warning:" not in capsys.readouterr().err


HARD_EDGE = "a hard-edged mask on particles headed for Fourier-space processing"


@pytest.mark.parametrize(
    "changes, fix",
    [
        ({"mask__geometry": {"shape": "circular", "radius": 20}}, "(mask.geometry.soft_edge: 6)"),
        ({"mask__geometry": {"shape": "circular", "radius": 20}, "compat": "xmipp"}, "(mask.geometry.soft_edge: 6)"),
        (
            {"mask__geometry": {"shape": "raised_crown", "inner_radius": 5, "outer_radius": 20, "border_decay": 0}},
            "(mask.geometry.border_decay: 3, half the edge's width)",
        ),
        ({"mask": {"source": "file", "file": "hard.mrc"}}, "relion_mask_create's width_soft_edge"),
        ({"mask__geometry": {"shape": "circular", "radius": 20, "soft_edge": 4}}, None),
        ({"mask__geometry": {"shape": "circular", "radius": 400}}, None),  # keeps the whole box: no edge in it
        ({"inputs": {"volumes": "maps/*.mrc"}, "mask__geometry": {"shape": "sphere", "radius": 20}}, None),
    ],
)
def test_validate_says_the_reports_hard_edge_warning_before_the_run(capsys, tmp_path, changes, fix):
    """A hard-edged mask on particles was told of in the report only, after the run; validate was silent.

    Planning says it now, in the report's words with the job file's setting to soften it, and
    the run says it once at its start (the report's is the same sentence). Maps are not warned
    of, nor a soft mask, as the report does not warn of them.
    """
    from job_files import example_folder, job_with, write_job

    example_folder(tmp_path, particles=12, maps=1)
    disc = (np.hypot(*np.mgrid[-32:32, -32:32]) <= 20).astype(np.float32)
    write_mrc(tmp_path / "hard.mrc", disc[None], voxel_size=2.0, stack=False)
    job = write_job(tmp_path, job_with(**changes, report=True, batch_size=6))
    assert main(["validate", str(job)]) == 0
    warned = [line for line in capsys.readouterr().err.splitlines() if HARD_EDGE in line]
    if fix is None:
        assert warned == []
        return
    assert len(warned) == 1 and warned[0].startswith("maskrun: warning: ") and fix in warned[0]
    assert main(["run", str(job), "--cores", "1"]) == 0
    assert [line for line in capsys.readouterr().err.splitlines() if HARD_EDGE in line] == warned  # once
    recorded = json.loads((tmp_path / "results" / "t" / "provenance" / "run.json").read_text())["warnings"]
    assert [w for w in recorded if HARD_EDGE in w] == [warned[0].removeprefix("maskrun: warning: ")]
