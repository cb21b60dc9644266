"""maskrun check-mask: the JSON and summary it writes, the verdicts, and every refusal (exit 2, one line)."""

from __future__ import annotations

import json
import math
import os
import shlex
import stat

import numpy as np
import pytest
from fsc_phantoms import phantom_halves, soft_mask

from maskrun.cli.main import main
from maskrun.geometry.fsc import masked_fsc

from conftest import shared_path, write_mrc

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
    for name, params in {"tight": (0.4, 0, 0), "fine": (0.05, 2, 8), "loose": (0.01, 16, 8)}.items():
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
    expected = masked_fsc(phantom[0], phantom[1], soft_mask(phantom[2], 0.05, 2, 8), VOXEL)
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


def test_a_fine_mask_cut_flat_after_its_edge_was_made_is_a_hard_edge(tmp_path, capsys, maps, phantom):
    """A soft mask with one face cut off by a plane had passed as fine: its edge width is the farthest reach."""
    mask = soft_mask(phantom[2], 0.05, 2, 8)
    mask[: np.flatnonzero(mask.max(axis=(1, 2)) > 0.99)[0] + 3] = 0  # the lowest slices of its core, cut off
    cut = write_mrc(tmp_path / "cut.mrc", mask, voxel_size=VOXEL)
    out = tmp_path / "cut.json"
    status, stdout, err = check(capsys, "--half1", maps["h1"], "--half2", maps["h2"], "--mask", cut, "--json", out)
    assert status == 0, err
    report = json.loads(out.read_text())
    # softened from half the edge it is also too loose (a tighter mask resolves further): that leads, with the line
    assert [r["verdict"] for r in report["reasons"]] in (["hard edge"], ["too loose", "hard edge"]), stdout
    assert report["measures"]["hard_surface_fraction"] > 0.05
    assert "of the mask's surface drops from over 0.5 to 0" in stdout and "soften the mask after cutting it" in stdout


def test_a_mask_within_the_padding_limit_is_too_loose_when_a_tighter_one_resolves_further(tmp_path, capsys, phantom):
    """The verdict look: a mask that cost shells of resolution, within the padding limit, was judged fine."""
    wide = write_mrc(tmp_path / "wide.mrc", soft_mask(phantom[2], 0.05, 4, 8), voxel_size=VOXEL)
    h1, h2 = (write_mrc(tmp_path / f"{n}.mrc", half, voxel_size=VOXEL) for n, half in zip("ab", phantom[:2]))
    out = tmp_path / "wide.json"
    status, _stdout, err = check(capsys, "--half1", h1, "--half2", h2, "--mask", wide, "--json", out)
    assert status == 0, err
    report = json.loads(out.read_text())
    assert report["measures"]["padding_angstrom"] < 24.0  # within the limit: the padding alone calls it fine
    assert report["verdict"] == "too loose" and report["resolution_angstrom"] == pytest.approx(7.11, abs=0.01)
    measured = report["reasons"][0]["measured"]
    assert measured.startswith("the mask made 3 px tighter (its core shrunk, the same soft edge) is not too tight and ")
    assert "resolves to 4.00 Å against 7.11 Å (14 shells further; at 6.74 Å its corrected FSC is 0.143 + " in measured
    assert (
        report["reasons"][0]["suggestion"]
        == "shrink the mask by 6 Å (extend by -3 px), or let the check search around it: the solvent it keeps adds "
        f"noise (solvent fraction {report['measures']['solvent_fraction']:.1%})"
    )


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
    err = refused(
        capsys, "--half1", maps["h1"], "--half2", other, "--mask", maps["fine"], match="voxel size 1 Å differs"
    )
    assert (
        "--half2: " in err and "relion_image_handler --i other.mrc --o other_fixed.mrc --force_header_angpix 2" in err
    )
    assert "give the voxel size" not in err  # the fix offered is one that exists
    near = write_mrc(tmp_path / "near.mrc", phantom[1], voxel_size=VOXEL * 1.005)  # within 1 %, as jobs take masks
    status, _, err = check(capsys, "--half1", maps["h1"], "--half2", near, "--mask", maps["fine"])
    assert status == 0, err


def test_a_mask_of_another_voxel_size_is_refused(tmp_path, capsys, maps, phantom):
    other = write_mrc(tmp_path / "m3.mrc", soft_mask(phantom[2], 0.05, 4, 8), voxel_size=VOXEL * 1.2)
    out = tmp_path / "never.json"
    argv = ["--half1", maps["h1"], "--half2", maps["h2"], "--mask", other, "--json", out]
    err = refused(
        capsys, *argv, match="m3.mrc: --mask: voxel size 2.4 Å differs from the half-maps' 2 Å by more than 1%"
    )
    assert "resample the mask to 2 Å" in err and "--force_header_angpix 2)" in err
    assert not out.exists()
    # --angpix overrides the halves' headers: the mask is held to it
    status, _, err = check(capsys, *argv[:6], "--angpix", 2.4)
    assert status == 0, err
    fine = ["--half1", maps["h1"], "--half2", maps["h2"], "--mask", maps["fine"], "--angpix", 2.4]
    refused(capsys, *fine, match="fine.mrc: --mask: voxel size 2 Å differs from the given 2.4 Å")


def test_a_mask_outside_zero_one_is_refused(tmp_path, capsys, maps, phantom):
    bad = write_mrc(tmp_path / "bad.mrc", phantom[2], voxel_size=VOXEL)
    refused(capsys, "--half1", maps["h1"], "--half2", maps["h2"], "--mask", bad, match="outside [0, 1]")
    # a mask of another scale (0 and 255): a mask, not a map, told to give one of 0 to 1
    scaled = write_mrc(tmp_path / "scaled.mrc", 255 * soft_mask(phantom[2], 0.05, 2, 8), voxel_size=VOXEL)
    err = refused(capsys, "--half1", maps["h1"], "--half2", maps["h2"], "--mask", scaled, match="outside [0, 1]")
    assert err.startswith(f"maskrun check-mask: error: {scaled}: --mask: mask values run from 0 to 255")
    assert "give a mask (1 = keep, 0 = solvent)" in err and "looks like a map" not in err


def test_a_resampled_masks_overshoot_is_refused_with_its_own_fix(tmp_path, capsys, maps):
    """The verdict look: a mask resampled by relion_image_handler runs from -0.006 to 1.015; the fix offered was
    any mask, not the resampling's."""
    import mrcfile

    values = mrcfile.read(maps["fine"]).copy()
    values[0, 0, 0], values[values.shape[0] // 2, values.shape[1] // 2, values.shape[2] // 2] = -0.0061, 1.015
    overshot = write_mrc(tmp_path / "resampled.mrc", values, voxel_size=VOXEL)
    err = refused(capsys, "--half1", maps["h1"], "--half2", maps["h2"], "--mask", overshot, match="outside [0, 1]")
    assert err == (
        f"maskrun check-mask: error: {overshot}: --mask: mask values run from -0.0061 to 1.015, outside [0, 1]; a "
        "resampled mask overshoots so: resample the map and make the mask again at its new size (maskrun make-mask or "
        "relion_mask_create), or clip these values to [0, 1]\n"
    )


def test_one_file_given_as_both_halves_is_refused_from_the_headers(tmp_path, capsys, maps, monkeypatch):
    import maskrun.engine.mask_check

    def computed(*args, **kwargs):
        raise AssertionError("the FSC was computed for a mistake the paths show")

    monkeypatch.setattr(maskrun.engine.mask_check, "HalfMaps", computed)
    link = tmp_path / "link.mrc"
    link.symlink_to(maps["h1"])
    for other in (maps["h1"], link):
        err = refused(capsys, "--half1", maps["h1"], "--half2", other, "--mask", maps["fine"], match="--half2: ")
        assert "is the same file as --half1; give the other half-map" in err


def test_a_copy_of_a_half_is_refused_before_any_fsc(tmp_path, capsys, maps, phantom, monkeypatch):
    import maskrun.engine.mask_check

    def computed(*args, **kwargs):
        raise AssertionError("the FSC was computed for a mistake the values show at once")

    monkeypatch.setattr(maskrun.engine.mask_check, "HalfMaps", computed)
    copy = write_mrc(tmp_path / "copy.mrc", phantom[0], voxel_size=VOXEL)
    err = refused(capsys, "--half1", maps["h1"], "--half2", copy, "--mask", maps["fine"], match="copy.mrc: --half2: ")
    assert "holds the same values as h1.mrc; give the other, independently refined half-map" in err


def test_halves_that_agree_at_every_resolution_are_refused_in_one_line(tmp_path, capsys, maps, phantom):
    scaled = write_mrc(tmp_path / "scaled.mrc", 2 * phantom[0], voxel_size=VOXEL)
    out = tmp_path / "never.json"
    argv = ["--half1", maps["h1"], "--half2", scaled, "--mask", maps["fine"], "--json", out]
    err = refused(capsys, *argv, match="scaled.mrc: --half2: its unmasked FSC with h1.mrc never falls below 0.8")
    assert "give the other, independently refined half-map" in err and not out.exists()


def test_an_existing_json_is_kept_without_overwrite(tmp_path, capsys, maps):
    out = tmp_path / "kept.json"
    out.write_text("precious")
    refused(
        capsys, "--half1", maps["h1"], "--half2", maps["h2"], "--mask", maps["fine"], "--json", out, match="--overwrite"
    )
    assert out.read_text() == "precious"


def fine_check(maps) -> list:
    """check-mask's arguments for the fine mask on the two halves."""
    return ["--half1", maps["h1"], "--half2", maps["h2"], "--mask", maps["fine"]]


@pytest.mark.parametrize("option,name", [("--json", "out.json"), ("--figure", "out.png")])
def test_a_folder_as_output_is_refused_before_the_check(tmp_path, capsys, maps, option, name):
    (tmp_path / name).mkdir()
    err = refused(capsys, *fine_check(maps), option, tmp_path / name, "--overwrite", match="")
    assert err == f"maskrun check-mask: error: {tmp_path / name}: is a folder; give a file name for the output\n"
    assert list((tmp_path / name).iterdir()) == []


@pytest.mark.parametrize("kind", ["link", "dangling link", "named pipe"])
def test_a_link_or_a_pipe_as_the_json_is_refused_whatever_overwrite_says(tmp_path, capsys, maps, kind):
    """The API look: ``--json /dev/stdout --overwrite`` (a link), run as root, replaced the system's /dev/stdout
    with a plain file; a FIFO was swapped for a file the same way."""
    out, target = tmp_path / "out.json", tmp_path / "target.json"
    if kind == "named pipe":
        os.mkfifo(out)
    else:
        if kind == "link":
            target.write_text("theirs")
        out.symlink_to(target)
    for overwrite in ([], ["--overwrite"]):
        err = refused(capsys, *fine_check(maps), "--json", out, *overwrite, match=f"{out}: is a ")
        assert "not a file" in err and "give the path of a file" in err
    assert out.is_symlink() if kind != "named pipe" else stat.S_ISFIFO(out.lstat().st_mode)
    assert not target.exists() or target.read_text() == "theirs"


def test_json_to_standard_output_with_the_words_on_standard_error(tmp_path, capsys, maps, monkeypatch):
    """``--json -``: a script reads the JSON from stdout, as the other tools of a pipe write theirs."""
    monkeypatch.chdir(tmp_path)
    status, stdout, err = check(capsys, *fine_check(maps), "--json", "-")
    assert status == 0, err
    assert json.loads(stdout)["verdict"] == "fine"
    assert "verdict: fine" in err and not (tmp_path / "-").exists()


@pytest.mark.parametrize("option,name", [("--json", "c.json"), ("--figure", "c.png")])
def test_a_read_only_folder_is_refused_before_the_check(tmp_path, capsys, maps, monkeypatch, option, name):
    """The trust look: ``--json RO/c.json`` on a read-only file system computed every curve first, then failed
    (exit 1) naming a temporary file (``[Errno 30] Read-only file system: 'ro/.c.json.part-4937'``)."""
    import os

    from maskrun.engine import mask_check

    (tmp_path / "ro").mkdir()
    real_access = os.access
    # root writes anywhere: the check is what is tested here
    monkeypatch.setattr(os, "access", lambda p, mode: False if p == tmp_path / "ro" else real_access(p, mode))
    monkeypatch.setattr(mask_check, "check_mask", lambda *a: pytest.fail("the curves were computed first"))
    err = refused(capsys, *fine_check(maps), option, tmp_path / "ro" / name, match="")
    assert err == (
        f"maskrun check-mask: error: {option}: {tmp_path / 'ro'} is not writable (read-only folder or filesystem); "
        "choose an output folder you can write to\n"
    )
    assert list((tmp_path / "ro").iterdir()) == []


def test_outputs_in_a_missing_folder_are_written_making_it(tmp_path, capsys, maps):
    """As make-mask and mask make the folder of their output (the look: check-mask alone refused "its folder does not
    exist"); a check that fails makes none."""
    json_file, figure = tmp_path / "new" / "deeper" / "c.json", tmp_path / "new" / "c.png"
    status, stdout, err = check(capsys, *fine_check(maps), "--json", json_file, "--figure", figure)
    assert status == 0, err
    assert json.loads(json_file.read_text())["verdict"] == "fine" and figure.read_bytes()[:4] == b"\x89PNG"
    assert f"wrote {json_file}" in stdout and f"wrote {figure}" in stdout


def test_the_json_is_never_an_input(capsys, maps):
    refused(capsys, *fine_check(maps), "--json", maps["h1"], match="input")


def test_an_odd_box_is_refused(tmp_path, capsys, phantom):
    odd = [write_mrc(tmp_path / f"{n}.mrc", phantom[0][:63, :63, :63], voxel_size=VOXEL) for n in ("a", "b", "m")]
    err = refused(capsys, "--half1", odd[0], "--half2", odd[1], "--mask", odd[2], match="not a cube of an even size")
    assert "which maskrun's FSC shells need (relion_postprocess takes odd boxes; maskrun does not yet)" in err
    assert "(RELION's)" not in err  # the verdict look: relion_postprocess 3.1.3 runs on a 63³ box


def test_a_map_without_voxel_size_needs_angpix(tmp_path, capsys, maps, phantom):
    bare = [write_mrc(tmp_path / f"{n}.mrc", a, voxel_size=0.0) for n, a in (("a", phantom[0]), ("b", phantom[1]))]
    refused(capsys, "--half1", bare[0], "--half2", bare[1], "--mask", maps["fine"], match="give --angpix")
    status, stdout, _ = check(capsys, "--half1", bare[0], "--half2", bare[1], "--mask", maps["fine"], "--angpix", 2)
    assert status == 0 and "2 Å/px" in stdout
    refused(capsys, "--half1", bare[0], "--half2", bare[1], "--mask", maps["fine"], "--angpix", -1, match="--angpix")


def assert_remade_is_fine(tmp_path, capsys, maps, source, best) -> None:
    """The mask a search names, made with make-mask from ``source``, is fine when checked on its own."""
    remade = tmp_path / "remade.mrc"
    options = ["--threshold", "0.5", "--extend", str(best["extend_px"]), "--soft-edge", str(best["soft_edge_px"])]
    assert main(["make-mask", str(remade), "--from-map", str(source), *options]) == 0
    capsys.readouterr()
    status, stdout, _ = check(capsys, "--half1", maps["h1"], "--half2", maps["h2"], "--mask", remade)
    assert status == 0 and "verdict: fine" in stdout


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
    assert_remade_is_fine(tmp_path, capsys, maps, maps["tight"], best)


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
    inked = np.flatnonzero((image[..., :3] < 0.9).any(axis=(1, 2)))
    assert image.shape[0] - 1 - inked[-1] <= 60  # the verdict ends the figure: no blank band (the look: 40 %)
    status, _, err = check(
        capsys, "--half1", maps["h1"], "--half2", maps["h2"], "--mask", maps["tight"], "--figure", figure
    )
    assert status == 2 and "--overwrite" in err


@pytest.mark.parametrize(("suffix", "magic"), [(".pdf", b"%PDF"), (".svg", b"<?xml"), (".PNG", b"\x89PNG")])
def test_figure_is_written_in_the_format_its_name_says(tmp_path, capsys, maps, suffix, magic):
    figure = tmp_path / f"check{suffix}"
    status, _, err = check(
        capsys, "--half1", maps["h1"], "--half2", maps["h2"], "--mask", maps["fine"], "--figure", figure
    )
    assert status == 0, err
    assert figure.read_bytes().startswith(magic)


def test_a_figure_name_of_no_format_is_refused_before_any_work(tmp_path, capsys, maps, monkeypatch):
    import maskrun.engine.mask_check

    def computed(*args, **kwargs):
        raise AssertionError("the check ran for a figure it cannot write")

    monkeypatch.setattr(maskrun.engine.mask_check, "check_mask", computed)
    out = tmp_path / "check.json"
    for name in ("check.jpg", "check"):
        argv = ["--half1", maps["h1"], "--half2", maps["h2"], "--mask", maps["fine"], "--json", out]
        err = refused(capsys, *argv, "--figure", tmp_path / name, match=f"{name}: --figure: names no figure format")
        assert "end the name with .png, .pdf or .svg" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in maps.values())


def test_one_file_for_both_outputs_is_refused_before_the_check(tmp_path, capsys, maps):
    both = tmp_path / "out.png"
    refused(capsys, *fine_check(maps), "--json", both, "--figure", both, match="named by both --json and --figure")
    assert not both.exists()


def test_a_half_map_given_with_the_full_map_is_warned_of_and_independent_halves_are_not(
    tmp_path, capsys, maps, phantom
):
    """The verdict look: half1 with the full map (the halves' mean) was judged 'fine' at Nyquist, without a word."""
    full = write_mrc(tmp_path / "run_class001.mrc", (phantom[0] + phantom[1]) / 2, voxel_size=VOXEL)
    status, stdout, err = check(capsys, "--half1", maps["h1"], "--half2", full, "--mask", maps["fine"])
    assert status == 0 and "verdict:" in stdout  # the verdict follows the warning
    assert (
        err.startswith("maskrun: warning: h1.mrc and run_class001.mrc: the half-maps' FSC rests at 0.7")
        and "give the other half (run_half2_class001_unfil.mrc)" in err
    )
    assert err.count("\n") == 1
    status, _, err = check(capsys, "--half1", maps["h1"], "--half2", maps["h2"], "--mask", maps["fine"])
    assert status == 0 and err == ""


@pytest.mark.parametrize(
    ("value", "words"), [(0.0, "nothing (every value is 0)"), (1.0, "the whole box (every value is 1)")]
)
def test_a_mask_keeping_nothing_or_the_whole_box_is_refused(tmp_path, capsys, maps, value, words):
    """The verdict look: an all-zero mask was told to 'extend the mask by 12 Å', an all-one mask to widen its edge."""
    flat = write_mrc(tmp_path / "flat.mrc", np.full((BOX,) * 3, value, np.float32), voxel_size=VOXEL)
    out = tmp_path / "never.json"
    err = refused(capsys, "--half1", maps["h1"], "--half2", maps["h2"], "--mask", flat, "--json", out, match="flat.mrc")
    assert f"the mask keeps {words}: there is no mask to check" in err and not out.exists()


def test_search_never_names_a_mask_looser_than_a_fine_given_one(tmp_path, capsys, phantom, maps):
    """The verdict look: a fine mask's search named 'tightest fine' a candidate keeping 30.7 % against its 27.4 %."""
    given = write_mrc(tmp_path / "given.mrc", soft_mask(phantom[2], 0.1, 2, 6), voxel_size=VOXEL)
    out = tmp_path / "search.json"
    argv = ["--half1", maps["h1"], "--half2", maps["h2"], "--mask", given, "--json", out, "--search"]
    status, stdout, err = check(capsys, *argv)
    assert status == 0 and "verdict: fine" in stdout, err
    report = json.loads(out.read_text())
    kept = float(soft_mask(phantom[2], 0.1, 2, 6).mean(dtype=np.float64))
    fine = [c for c in report["search"]["candidates"] if c["verdict"] == "fine"]
    assert any(c["kept_fraction"] > kept for c in fine)  # fine candidates looser than the mask: never named
    best = report["search"]["tightest_fine"]
    if best is None:
        assert f"no candidate tighter than {given} is fine: keep it as it is" in stdout
    else:  # a tighter candidate fine (no longer too tight by a noisy shell): the least kept, and less than the mask
        assert best["kept_fraction"] < kept
        assert best["kept_fraction"] == min(c["kept_fraction"] for c in fine)


def test_a_search_around_a_fine_mask_goes_past_a_hard_edged_candidate_to_a_much_tighter_fine_one(
    tmp_path, capsys, phantom
):
    """The second verdict look: AK at 1.5 Å/px, a fine mask (a hard mask's advice, --extend -4 --soft-edge 7.33)
    searched: every fine candidate kept more than it, the only tighter one (extend -2, edge 3) was a hard edge, and
    the search said "keep it as it is" at 4.80 Å, while 8 px further in was fine at 3.20 Å. Here at 1 Å/px, where
    3 px is too hard an edge for the resolution, as at AK's (the search now tries the least edge instead)."""
    from maskrun.geometry.map_mask import MapMaskSteps, mask_from_map

    halves = [write_mrc(tmp_path / f"h{i}.mrc", phantom[i], voxel_size=1.0) for i in (0, 1)]
    hard = soft_mask(phantom[2], 0.1, 10, 0)
    given_values = mask_from_map(hard, MapMaskSteps(threshold=0.5, extend_px=-4, soft_edge_px=6))
    given = write_mrc(tmp_path / "given.mrc", given_values, voxel_size=1.0)
    out = tmp_path / "search.json"
    status, stdout, err = check(
        capsys, "--half1", halves[0], "--half2", halves[1], "--mask", given, "--json", out, "--search"
    )
    assert status == 0 and "verdict: fine" in stdout, err
    report = json.loads(out.read_text())
    kept = float(given_values.mean(dtype=np.float64))
    grid = [c for c in report["search"]["candidates"] if c["extend_px"] >= -2]
    tighter = [c for c in grid if c["kept_fraction"] < kept]
    assert all(c["verdict"] != "fine" for c in tighter)  # the look's case: none on the grid
    assert all(c["soft_edge_px"] > 3.0 for c in report["search"]["candidates"])  # 3 px: narrower than the least
    best = report["search"]["tightest_fine"]
    assert best is not None and best["extend_px"] < -2, stdout
    assert best["kept_fraction"] < kept / 2 and best["resolution_angstrom"] < report["resolution_angstrom"]
    assert "keep it as it is" not in stdout and "tightest fine mask: extend" in stdout
    assert_remade_is_fine(tmp_path, capsys, {"h1": halves[0], "h2": halves[1]}, given, best)
    # bounded as the rounds past a fine tightest candidate are: TIGHTER_ROUNDS_MAX
    from maskrun.engine import mask_search
    from maskrun.engine.mask_check import check_mask

    checked = check_mask(halves[0], halves[1], given)
    capped, advised = mask_search.TIGHTER_ROUNDS_MAX, mask_search._further_extends
    try:
        mask_search._further_extends = lambda *args: []
        mask_search.TIGHTER_ROUNDS_MAX = 1
        tried, *_ = mask_search.search_masks(checked, extends_px=(-2.0,), soft_edges_px=(3.0,))
    finally:
        mask_search.TIGHTER_ROUNDS_MAX, mask_search._further_extends = capped, advised
    assert [c.extend_px for c in tried] == [-4.0, -2.0]  # one round past the grid's -2, fine or not


@pytest.mark.system  # 7 s of searching: CI runs it (pytest -m system)
def test_search_around_a_loose_mask_shrinks_it_as_far_as_the_verdict_advises(tmp_path, capsys, maps):
    """The verdict look: 'shrink by 28 Å (extend by -7.9 px)', then a search reaching -2 px only: 'no candidate'."""
    out = tmp_path / "search.json"
    argv = ["--half1", maps["h1"], "--half2", maps["h2"], "--mask", maps["loose"], "--json", out, "--search"]
    status, stdout, err = check(capsys, *argv)
    assert status == 0 and "verdict: too loose" in stdout, err
    advised = float(stdout.split("(extend by -")[1].split(" px)")[0])
    search = json.loads(out.read_text())["search"]
    extends = sorted({c["extend_px"] for c in search["candidates"]})
    assert extends[0] <= -advised
    best = search["tightest_fine"]
    assert best is not None and best["extend_px"] < -2  # found only past the fixed grid
    assert_remade_is_fine(tmp_path, capsys, maps, maps["loose"], best)


def test_where_no_mask_can_pass_the_check_says_so_once_and_the_search_does_not_send_the_user_by_hand(tmp_path, capsys):
    """The RELION user's look: signal to 44 Å only, "too tight → extend by 40 Å" before and after extending by 40 Å,
    "too loose" beyond, and a search ending "no candidate is fine: … widen the search by hand"."""
    import mrcfile
    from fsc_phantoms import low_resolution_halves

    from maskrun.geometry.map_mask import MapMaskSteps, mask_from_map

    with mrcfile.open(shared_path("data", "public", "ref_model.mrc"), permissive=True) as mrc:
        density = np.asarray(mrc.data, dtype=np.float32)
    h1, h2, signal = low_resolution_halves(density, 3.54, 44.0, noise=0.3)
    halves = [write_mrc(tmp_path / f"h{i}.mrc", half, voxel_size=3.54) for i, half in ((1, h1), (2, h2))]
    steps = MapMaskSteps(threshold=0.1 * float(signal.max()), extend_px=3, soft_edge_px=6)
    mask = write_mrc(tmp_path / "mask.mrc", mask_from_map(signal, steps), voxel_size=3.54)
    out = tmp_path / "check.json"
    status, stdout, err = check(
        capsys, "--half1", halves[0], "--half2", halves[1], "--mask", mask, "--json", out, "--search"
    )
    assert status == 0, err
    report = json.loads(out.read_text())
    assert report["verdict"] == "tight and loose conflict" and len(report["reasons"]) == 1
    assert "verdict: tight and loose conflict" in stdout
    assert report["reasons"][0]["measured"].endswith("past the reliable density (limit 42.5 Å)")
    assert report["reasons"][0]["suggestion"].endswith("(unmasked) reaches past it")
    assert report["search"]["tightest_fine"] is None
    assert "widen the search by hand" not in stdout
    assert "no candidate is fine, as the verdict found no size of the mask that is: " in stdout


def test_a_missing_or_unreadable_mask_file_names_the_option(tmp_path, capsys, maps):
    text = tmp_path / "notes.mrc"
    text.write_text("data_\nloop_\n_rlnImageName\n")
    for mask, words in ((tmp_path / "missing.mrc", "file not found"), (text, "is a text file")):
        err = refused(capsys, "--half1", maps["h1"], "--half2", maps["h2"], "--mask", mask, match=f"{mask}: --mask: ")
        assert words in err


def test_a_search_judges_each_candidate_once(tmp_path, capsys, maps, monkeypatch):
    """The search measured its best candidate again each round (four transforms) to decide whether to go on."""
    from maskrun.engine import mask_search

    calls = []
    real = mask_search.judged
    monkeypatch.setattr(mask_search, "judged", lambda *given: calls.append(1) or real(*given))
    out = tmp_path / "search.json"
    check(capsys, "--half1", maps["h1"], "--half2", maps["h2"], "--mask", maps["tight"], "--json", out, "--search")
    search = json.loads(out.read_text())["search"]
    assert search["tightest_fine"] is not None and search["verdict_mask"] is not None
    assert len(calls) == len(search["candidates"]) + 1  # and the verdict's mask, judged beside them


def _fibril_halves(box: int = 48, voxel: float = 2.0, seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Half-maps of a two-strand fibril along z through the box (make_fibril.py's in small), and its signal."""
    z, y, x = (axis * voxel for axis in np.mgrid[:box, :box, :box] - box // 2)
    signal = np.zeros((box,) * 3, np.float32)
    for strand in range(2):
        for k in range(-13, 14):
            turn = np.radians(-1.2 * k + 180 * strand)
            signal += np.exp(-((x - 12 * np.cos(turn)) ** 2 + (y - 12 * np.sin(turn)) ** 2 + (z - 4.75 * k) ** 2) / 32)
    rng = np.random.default_rng(seed)
    half1, half2 = (signal + rng.normal(0, 0.05, signal.shape).astype(np.float32) for _ in range(2))
    return half1, half2, signal


def test_a_helical_z_cropped_mask_is_not_told_to_lower_its_threshold(capsys, tmp_path):
    """A relion_mask_create --helix --z_percentage 0.3 mask was 'too tight: 65.7% of the reliable density outside
    the mask → remake the mask from the map at a lower threshold': all of it the helix beyond the crop, left out by
    design. That share is said, and the density between the mask's z ends is judged."""
    from maskrun.geometry.map_mask import MapMaskSteps, mask_from_map

    half1, half2, signal = _fibril_halves()
    helical = mask_from_map(signal, MapMaskSteps(threshold=0.2, extend_px=3, soft_edge_px=5, helix=True))
    paths = [write_mrc(tmp_path / f"{n}.mrc", v, voxel_size=2.0) for n, v in (("h1", half1), ("h2", half2))]
    mask = write_mrc(tmp_path / "rh.mrc", helical, voxel_size=2.0)
    out_json = tmp_path / "check.json"
    status, out, _ = check(capsys, "--half1", paths[0], "--half2", paths[1], "--mask", mask, "--json", out_json)
    assert status == 0 and "lower threshold" not in out
    measures = json.loads(out_json.read_text())["measures"]
    summary = next(line for line in out.splitlines() if line.startswith("solvent fraction"))
    beyond = summary.split("; ")[-2]
    share = float(beyond.split("%")[0])
    assert 50 < share < 80  # the crop keeps the central 30 % of z and its soft edge
    assert beyond == (
        f"{share:.1f}% of the reliable density lies beyond the mask's z ends, left out as a helical z crop leaves it "
        "out by design (not counted)"
    )
    assert summary.endswith("; of the density between them, 0.0% outside the mask")
    assert measures["density_beyond_z_ends_fraction"] == pytest.approx(share / 100, abs=0.001)
    assert measures["density_outside_fraction"] == 0.0


def test_density_left_out_beyond_a_masks_z_ends_counts_unless_it_runs_through_the_box():
    """A particle's density above a mask cut short in z is left out by the mask, not by a helical crop."""
    from maskrun.geometry.mask_verdict import left_out

    density = np.zeros((16, 16, 16), bool)
    density[2:14, 6:10, 6:10] = True  # a blob taller than the mask, not reaching the box's z faces
    inside = np.zeros_like(density)
    inside[5:11] = True
    counted, beyond = left_out(density, inside)
    assert beyond == 0.0 and counted is density
    density[:, 6:10, 6:10] = True  # a rod along z through every slice: a helix
    counted, beyond = left_out(density, inside)
    assert beyond == pytest.approx(10 / 16) and counted.sum() == 6 * 16
    density[:5] = density[11:] = False
    density[:5, 7:9, 7:9] = density[11:, 7:9, 7:9] = True  # still in every slice, a quarter as thick beyond the mask
    counted, beyond = left_out(density, inside)
    assert beyond == 0.0 and counted is density


def _elongated_halves(box: int = 64, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Half-maps of an elongated particle, not a helix (review 13b's make.py): an ellipsoid of σ 7, 7, 34 px, whose
    density reaches every z slice of the box but falls towards its ends."""
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    z, y, x = np.indices((box,) * 3) - box // 2
    envelope = np.exp(-(x**2 / (2 * 7**2) + y**2 / (2 * 7**2) + z**2 / (2 * 34**2)))
    texture = ndimage.gaussian_filter(rng.normal(size=(box,) * 3), 1.0)
    signal = envelope * (1 + 0.5 * texture / texture.std())
    half1, half2 = (signal + rng.normal(0, 0.15, signal.shape) for _ in range(2))
    return half1.astype(np.float32), half2.astype(np.float32)


def test_a_particles_density_beyond_a_mask_cut_short_in_z_counts_though_it_reaches_every_slice(capsys, tmp_path):
    """A cylinder mask cut at z ±22 px on an elongated ellipsoid (σz 34 px in a 64 px box) was said to leave 24.5%
    of the density 'beyond the mask's z ends … (not counted)', as a helical crop would, and judged fine: the crop
    rule asked only that the density reach every slice. The particle's density falls towards its ends, a helix's
    does not: it counts, and the mask is too tight. Its ends reach far past the mask, as a focused mask's other
    domain would: one line says how to check a focused mask as one (--focused); only then are they left out."""
    from scipy import ndimage

    half1, half2 = _elongated_halves()
    z, y, x = np.indices(half1.shape) - half1.shape[0] // 2
    short = ndimage.gaussian_filter(((np.hypot(x, y) <= 16) & (np.abs(z) <= 22)).astype(np.float32), 1.5)
    paths = [write_mrc(tmp_path / f"{n}.mrc", v, voxel_size=2.0) for n, v in (("h1", half1), ("h2", half2))]
    mask = write_mrc(tmp_path / "short.mrc", short, voxel_size=2.0)
    out_json = tmp_path / "check.json"
    given = ("--half1", paths[0], "--half2", paths[1], "--mask", mask, "--json", out_json)
    status, out, _ = check(capsys, *given)
    report = json.loads(out_json.read_text())
    assert status == 0 and "z ends" not in out
    assert report["measures"]["density_beyond_z_ends_fraction"] == 0.0
    assert report["measures"]["density_outside_fraction"] == pytest.approx(0.245, abs=0.01)
    assert report["verdict"] != "fine"
    # its two ends reach past half the randomisation resolution: parts (docs/spec.md, "Parts left out"), counted
    measures = report["measures"]
    assert measures["density_left_out_parts"] >= 2 and not measures["focused"]
    assert measures["density_left_out_fraction"] == pytest.approx(measures["density_outside_fraction"], abs=0.01)
    hint = report["notes"][0]
    assert hint.startswith(f"the density left out lies in {measures['density_left_out_parts']} parts (")
    assert hint.endswith(
        ": if the mask is of part of the particle (a focused mask), run check-mask with --focused (check.focused: "
        "true in a job)"
    )
    assert f"  note: {hint}" in out.splitlines()
    # checked as a focused mask (its two ends left out by design): not counted, not too tight by them
    status, out, _ = check(capsys, *given, "--overwrite", "--focused")
    report = json.loads(out_json.read_text())
    measures = report["measures"]
    assert status == 0 and measures["focused"]
    assert measures["density_left_out_fraction"] == pytest.approx(0.245, abs=0.01)
    assert measures["density_left_out_parts"] >= 2 and measures["density_outside_fraction"] < 0.01
    assert not any(r["verdict"] == "too tight" for r in report["reasons"]), report["reasons"]
    assert "left out by design" in report["notes"][0]
    assert f"note: the mask leaves out {measures['density_left_out_fraction']:.1%} of the reliable density" in out


def test_a_search_around_a_focused_mask_judges_its_candidates_as_focused_masks(capsys, tmp_path):
    """--search with --focused: each candidate leaves the other domain out by design, as the mask does; without
    it, the other domain counts for every candidate (none fine)."""
    centres = [(0.0, dy, side * 12 + dx) for side in (-1, 1) for dx, dy in ((0, 0), (2, 4), (-2, -4))]
    half1, half2, signal = phantom_halves(64, noise=1.0, blob_sigma_px=3.0, centres=centres)
    first = np.where(np.arange(64)[None, None, :] < 32, signal, 0)
    paths = [write_mrc(tmp_path / f"h{n}.mrc", v, voxel_size=1.5) for n, v in ((1, half1), (2, half2))]
    mask = write_mrc(tmp_path / "domain.mrc", soft_mask(first, 0.05, 2, 6), voxel_size=1.5)
    out = tmp_path / "check.json"
    given = ("--half1", paths[0], "--half2", paths[1], "--mask", mask, "--json", out, "--search", "--overwrite")
    searches = {}
    for focused in ((), ("--focused",)):
        assert check(capsys, *given, *focused)[0] == 0
        searches[bool(focused)] = json.loads(out.read_text())["search"]
    assert not [c for c in searches[False]["candidates"] if c["verdict"] == "fine"]
    fine = [c for c in searches[True]["candidates"] if c["verdict"] == "fine"]
    assert fine and searches[True]["tightest_fine"] is not None


def test_a_search_whose_tightest_candidate_is_fine_goes_on_tighter_until_one_is_not(maps):
    """The verdict look: the grid's tightest candidate (-2 px) was named 'tightest fine', while 4 px tighter was fine
    and resolved 3.31 Å against 3.84; the grid ran from there only looser."""
    from maskrun.engine.mask_check import check_mask
    from maskrun.engine.mask_search import search_masks

    check = check_mask(maps["h1"], maps["h2"], maps["tight"])
    tried, _, _ = search_masks(check, extends_px=(8.0,), soft_edges_px=(6.0,))
    best = min((c for c in tried if c.verdict == "fine"), key=lambda c: c.kept_fraction)  # the grid's own
    assert best is not None and best.extend_px < 8.0  # past the grid's only, and fine, candidate
    assert best.verdict == "fine"
    tighter = [c for c in tried if c.extend_px == best.extend_px - 2.0]
    assert tighter and all(c.verdict != "fine" for c in tighter)  # stopped where 2 px tighter is not fine
    assert sorted(c.extend_px for c in tried) == [best.extend_px - 2.0 + 2.0 * k for k in range(len(tried))]
    # at most TIGHTER_ROUNDS_MAX rounds past the tightest tried (the review: 24 candidates became 44)
    from maskrun.engine import mask_search

    capped, advised = mask_search.TIGHTER_ROUNDS_MAX, mask_search._further_extends
    try:  # the rounds alone: no candidate found too loose by a tighter one (that rule has its own steps)
        mask_search._further_extends = lambda *args: []
        rounds = {}
        for mask_search.TIGHTER_ROUNDS_MAX in (1, 2):
            tried, best, _ = search_masks(check, extends_px=(8.0,), soft_edges_px=(6.0,))
            rounds[mask_search.TIGHTER_ROUNDS_MAX] = sorted(c.extend_px for c in tried)
    finally:
        mask_search.TIGHTER_ROUNDS_MAX, mask_search._further_extends = capped, advised
    assert rounds == {1: [6.0, 8.0], 2: [4.0, 6.0, 8.0]}


def test_a_hard_edges_advice_is_tried_and_keeps_the_masks_size(tmp_path, capsys, maps, phantom):
    """The verdict look: 'widen the soft edge to 6 px', with no size to make it at; widened outward alone
    (make-mask --extend 0 --soft-edge 6) the mask was too loose. The advice now keeps the mask's 0.5 contour, tried
    on the half-maps, and says how to make it."""
    hard = write_mrc(tmp_path / "hard.mrc", soft_mask(phantom[2], 0.05, 5, 0), voxel_size=VOXEL)
    status, stdout, err = check(capsys, "--half1", maps["h1"], "--half2", maps["h2"], "--mask", hard)
    assert status == 0 and "verdict: hard edge" in stdout, err
    assert (
        "; about its 0.5 contour, shrunk by 3 px (half the edge) so that the mask keeps its size: made so, it is not "
        "too tight"
    ) in stdout
    made = [line.split("make it: ", 1)[1] for line in stdout.splitlines() if "make it: " in line]
    assert made == [f"maskrun make-mask OUT.mrc --from-map {hard} --threshold 0.5 --extend -3 --soft-edge 6.00"]
    softened = tmp_path / "softened.mrc"
    assert main(shlex.split(made[0].replace("OUT.mrc", str(softened)))[1:]) == 0
    capsys.readouterr()
    status, stdout, _ = check(capsys, "--half1", maps["h1"], "--half2", maps["h2"], "--mask", softened)
    assert status == 0 and "verdict: fine" in stdout
    import mrcfile

    kept = [int((mrcfile.read(path) >= 0.5).sum()) for path in (hard, softened)]
    assert abs(kept[1] - kept[0]) <= 0.05 * kept[0], kept  # the mask keeps its size (in volume), as the advice says
    outward = tmp_path / "outward.mrc"  # the advice as it read before: the edge widened outward alone
    assert main(["make-mask", str(outward), "--from-map", str(hard), "--threshold", "0.99", "--soft-edge", "6"]) == 0
    capsys.readouterr()
    assert "verdict: too loose" in check(capsys, "--half1", maps["h1"], "--half2", maps["h2"], "--mask", outward)[1]


def test_a_partly_soft_masks_hard_edge_advice_keeps_its_size_too(tmp_path, capsys, maps, phantom):
    """The review: the advice was made from the mask's core (values ≥ 0.99), dropping its soft part: a fine mask with
    a face cut off, followed, kept half its voxels above 0.5, though the words said its 0.5 contour stayed."""
    import mrcfile

    values = soft_mask(phantom[2], 0.05, 2, 8)
    values[:18] = 0  # a face cut off without a soft edge, through the mask's soft part
    cut = write_mrc(tmp_path / "cut.mrc", values, voxel_size=VOXEL)
    status, stdout, err = check(capsys, "--half1", maps["h1"], "--half2", maps["h2"], "--mask", cut)
    assert status == 0 and "hard edge" in stdout, err
    made = [line.split("make it: ", 1)[1] for line in stdout.splitlines() if "make it: " in line]
    assert len(made) == 1 and "--threshold 0.5 " in made[0], stdout
    softened = tmp_path / "softened.mrc"
    assert main(shlex.split(made[0].replace("OUT.mrc", str(softened)))[1:]) == 0
    kept = [int((mrcfile.read(path) >= 0.5).sum()) for path in (cut, softened)]
    assert abs(kept[1] - kept[0]) <= 0.1 * kept[0], kept


def test_a_search_never_tries_nor_advises_an_edge_narrower_than_the_hard_edge_rules_least(tmp_path, phantom):
    """The verdict look (AK at 1.5 Å/px): --search named masks with 3 px (4.5 Å) soft edges where the hard-edge rule's
    least was 4.8 Å, the larger of 3 px and the resolution: a tighter candidate passed its own rule, counted at its own
    resolution. The phantom's halves at 1 Å/px (its resolution past 3 px): no edge tried is narrower than that least."""
    from maskrun.engine.mask_check import check_mask
    from maskrun.engine.mask_search import search_masks
    from maskrun.geometry.mask_verdict import least_edge_angstrom

    half1, half2, signal = phantom
    h1, h2 = (write_mrc(tmp_path / f"h{i}.mrc", h, voxel_size=1.0) for i, h in ((1, half1), (2, half2)))
    mask = write_mrc(tmp_path / "mask.mrc", soft_mask(signal, 0.05, 4, 8), voxel_size=1.0)
    check = check_mask(h1, h2, mask)
    least_px = least_edge_angstrom(check.measures.resolution_angstrom, 1.0)
    assert least_px > 3.0  # the case: 3 px is narrower than the least
    tried, best, _ = search_masks(check, extends_px=(-2.0, 0.0, 2.0), soft_edges_px=(3.0, 6.0))
    assert {c.soft_edge_px for c in tried} == {math.ceil(100 * least_px) / 100, 6.0}
    assert best is None or best.soft_edge_px >= least_px
