"""maskrun check-mask: the JSON and summary it writes, the verdicts, and every refusal (exit 2, one line)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from fsc_phantoms import phantom_halves, soft_mask

from maskrun.cli.main import main
from maskrun.geometry.fsc import masked_fsc

from conftest import write_mrc

BOX, VOXEL = 64, 2.0


@pytest.fixture(scope="module")
def phantom():
    return phantom_halves(BOX, noise=1.5, blob_sigma_px=3.0)


@pytest.fixture
def maps(tmp_path, phantom):
    half1, half2, signal = phantom
    paths = {
        "h1": write_mrc(tmp_path / "h1.mrc", half1, voxel_size=VOXEL),
        "h2": write_mrc(tmp_path / "h2.mrc", half2, voxel_size=VOXEL),
    }
    for name, params in {"tight": (0.4, 0, 0), "fine": (0.05, 4, 8), "loose": (0.01, 16, 8)}.items():
        paths[name] = write_mrc(tmp_path / f"{name}.mrc", soft_mask(signal, *params), voxel_size=VOXEL)
    return paths


def check(capsys, *argv):
    status = main(["check-mask", *map(str, argv)])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_json_holds_the_curves_and_the_verdict(tmp_path, capsys, maps, phantom):
    out = tmp_path / "check.json"
    status, stdout, err = check(
        capsys, "--half1", maps["h1"], "--half2", maps["h2"], "--mask", maps["fine"], "--json", out
    )
    assert status == 0, err
    report = json.loads(out.read_text())
    shells = BOX // 2 + 1
    for name in ("unmasked", "masked", "phase_randomised_masked", "corrected"):
        assert len(report["fsc"][name]) == shells
    expected = masked_fsc(phantom[0], phantom[1], soft_mask(phantom[2], 0.05, 4, 8), VOXEL)
    np.testing.assert_allclose(report["fsc"]["masked"], expected.masked, atol=1e-5)
    np.testing.assert_allclose(report["fsc"]["corrected"], expected.corrected, atol=1e-5)
    assert report["randomise_from_angstrom"] == pytest.approx(BOX * VOXEL / expected.randomise_from_shell, rel=1e-4)
    assert report["resolution_angstrom"] == pytest.approx(expected.resolution_angstrom, abs=1e-4)
    assert report["verdict"] == "fine" and report["reasons"] == []
    assert report["shell_resolution_angstrom"][0] is None
    assert "verdict: fine" in stdout and f"wrote {out}" in stdout


def test_a_tight_hard_mask_is_too_tight_with_suggestions(capsys, maps):
    status, stdout, _ = check(capsys, "--half1", maps["h1"], "--half2", maps["h2"], "--mask", maps["tight"])
    assert status == 0
    assert "verdict: too tight" in stdout
    assert "extend the mask by" in stdout
    assert "hard edge" in stdout and "widen the soft edge to" in stdout


def test_a_loose_mask_is_too_loose(tmp_path, capsys, maps):
    out = tmp_path / "loose.json"
    status, _stdout, _ = check(
        capsys, "--half1", maps["h1"], "--half2", maps["h2"], "--mask", maps["loose"], "--json", out
    )
    assert status == 0
    report = json.loads(out.read_text())
    assert report["verdict"] == "too loose"
    assert report["measures"]["padding_angstrom"] > 20
    assert "shrink the mask by" in report["reasons"][0]["suggestion"]


def refused(capsys, *argv, match: str) -> str:
    status, _stdout, err = check(capsys, *argv)
    assert status == 2
    assert len(err.strip().splitlines()) == 1, err
    assert match in err
    return err


def test_maps_of_different_boxes_are_refused(tmp_path, capsys, maps, phantom):
    small = write_mrc(tmp_path / "small.mrc", phantom[1][:32, :32, :32], voxel_size=VOXEL)
    out = tmp_path / "never.json"
    err = refused(capsys, "--half1", maps["h1"], "--half2", small, "--mask", maps["fine"], "--json", out, match="box")
    assert "small.mrc" in err
    assert not out.exists()


def test_maps_of_different_voxel_sizes_are_refused(tmp_path, capsys, maps, phantom):
    other = write_mrc(tmp_path / "other.mrc", phantom[1], voxel_size=1.0)
    refused(capsys, "--half1", maps["h1"], "--half2", other, "--mask", maps["fine"], match="voxel size 1 Å differs")


def test_a_mask_outside_zero_one_is_refused(tmp_path, capsys, maps, phantom):
    bad = write_mrc(tmp_path / "bad.mrc", phantom[2], voxel_size=VOXEL)
    refused(capsys, "--half1", maps["h1"], "--half2", maps["h2"], "--mask", bad, match="outside [0, 1]")


def test_identical_halves_are_refused(capsys, maps):
    refused(capsys, "--half1", maps["h1"], "--half2", maps["h1"], "--mask", maps["fine"], match="never falls below 0.8")


def test_an_existing_json_is_kept_without_overwrite(tmp_path, capsys, maps):
    out = tmp_path / "kept.json"
    out.write_text("precious")
    refused(
        capsys, "--half1", maps["h1"], "--half2", maps["h2"], "--mask", maps["fine"], "--json", out, match="--overwrite"
    )
    assert out.read_text() == "precious"


def test_the_json_is_never_an_input(capsys, maps):
    refused(
        capsys,
        "--half1",
        maps["h1"],
        "--half2",
        maps["h2"],
        "--mask",
        maps["fine"],
        "--json",
        maps["h1"],
        match="input",
    )


def test_an_odd_box_is_refused(tmp_path, capsys, phantom):
    odd = [write_mrc(tmp_path / f"{n}.mrc", phantom[0][:63, :63, :63], voxel_size=VOXEL) for n in ("a", "b", "m")]
    refused(capsys, "--half1", odd[0], "--half2", odd[1], "--mask", odd[2], match="not a cube of an even size")


def test_a_map_without_voxel_size_needs_angpix(tmp_path, capsys, maps, phantom):
    bare = [write_mrc(tmp_path / f"{n}.mrc", a, voxel_size=0.0) for n, a in (("a", phantom[0]), ("b", phantom[1]))]
    refused(capsys, "--half1", bare[0], "--half2", bare[1], "--mask", maps["fine"], match="give --angpix")
    status, stdout, _ = check(capsys, "--half1", bare[0], "--half2", bare[1], "--mask", maps["fine"], "--angpix", 2)
    assert status == 0 and "2 Å/px" in stdout
    refused(capsys, "--half1", bare[0], "--half2", bare[1], "--mask", maps["fine"], "--angpix", -1, match="--angpix")


def test_search_finds_a_fine_mask_around_a_tight_one(tmp_path, capsys, maps):
    out = tmp_path / "search.json"
    argv = ["--half1", maps["h1"], "--half2", maps["h2"], "--mask", maps["tight"], "--json", out, "--search"]
    status, stdout, err = check(capsys, *argv)
    assert status == 0, err
    search = json.loads(out.read_text())["search"]
    best = search["tightest_fine"]
    fine = [c for c in search["candidates"] if c["verdict"] == "fine"]
    assert best is not None and best["kept_fraction"] == min(c["kept_fraction"] for c in fine)
    assert "tightest fine mask" in stdout
    # the mask it names is fine when checked on its own
    remade = tmp_path / "remade.mrc"
    options = ["--threshold", "0.5", "--extend", str(best["extend_px"]), "--soft-edge", str(best["soft_edge_px"])]
    assert main(["make-mask", str(remade), "--from-map", str(maps["tight"]), *options]) == 0
    capsys.readouterr()
    status, stdout, _ = check(capsys, "--half1", maps["h1"], "--half2", maps["h2"], "--mask", remade)
    assert status == 0 and "verdict: fine" in stdout


def test_figure_is_a_png_of_the_curves_and_slices(tmp_path, capsys, maps):
    import matplotlib.image

    figure = tmp_path / "check.png"
    status, stdout, err = check(
        capsys, "--half1", maps["h1"], "--half2", maps["h2"], "--mask", maps["tight"], "--figure", figure
    )
    assert status == 0, err
    assert f"wrote {figure}" in stdout
    image = matplotlib.image.imread(figure)
    assert image.shape[0] >= 500 and image.shape[1] >= 1000  # curves and three slices side by side
    assert image[..., :3].std() > 0.05  # something is drawn
    status, _, err = check(
        capsys, "--half1", maps["h1"], "--half2", maps["h2"], "--mask", maps["tight"], "--figure", figure
    )
    assert status == 2 and "--overwrite" in err
