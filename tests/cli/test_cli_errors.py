"""Every user mistake: exit 2, one line naming the parameter and the fix, nothing written."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from maskrun.cli.main import main

from conftest import write_mrc


def run(capsys, *argv):
    status = main(["mask", *map(str, argv)])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture
def mask_2d_wrong_size(tmp_path):
    return write_mrc(tmp_path / "mask_small.mrc", np.ones((1, 16, 16)), voxel_size=1.5)


@pytest.fixture
def mask_2d_wrong_voxel(tmp_path):
    return write_mrc(tmp_path / "mask_voxel.mrc", np.ones((1, 24, 24)), voxel_size=3.0)


ERROR_CASES = [
    # (id, extra args, words the message must contain)
    ("sphere-on-particles", ["--shape", "sphere"], ["--shape", "'sphere'", "use 'circular'"]),
    ("cylinder-on-particles", ["--shape", "cylinder"], ["--shape", "'cylinder'"]),
    (
        "other-shape-parameter",
        ["--shape", "crown", "--inner-radius", "2", "--radius", "5"],
        ["--radius", "does not apply to shape 'crown'", "--outer-radius"],
    ),
    (
        "raised-cosine-r1-ge-r2",
        ["--shape", "raised_cosine", "--inner-radius", "8", "--outer-radius", "6"],
        ["--outer-radius", "greater than inner_radius", "(inner 8 > outer 6)"],
    ),
    (
        "raised-cosine-r1-eq-r2",
        ["--shape", "raised_cosine", "--inner-radius", "6", "--outer-radius", "6"],
        ["--outer-radius", "greater than inner_radius"],
    ),
    (
        "crown-r1-gt-r2",
        ["--shape", "crown", "--inner-radius", "9", "--outer-radius", "4"],
        ["--outer-radius", "at least inner_radius"],
    ),
    (
        "crown-default-outer-too-small",
        ["--shape", "crown", "--inner-radius", "20"],
        ["--outer-radius", "N // 2 = 12", "set outer_radius"],
    ),
    (
        "raised-crown-w-gt-r1",
        ["--shape", "raised_crown", "--inner-radius", "3", "--outer-radius", "9", "--border-decay", "4"],
        ["--border-decay", "must not exceed inner_radius"],
    ),
    ("sigma-zero", ["--shape", "gaussian", "--sigma", "0"], ["--sigma", "must be > 0, or -1"]),
    ("sigma-negative", ["--shape", "gaussian", "--sigma", "-3"], ["--sigma", "must be > 0"]),
    ("radius-zero", ["--shape", "circular", "--radius", "0"], ["--radius", "must be > 0"]),
    ("box-size-zero", ["--shape", "box", "--box-size", "0"], ["--box-size", "must be > 0"]),
    ("misspelt-shape", ["--shape", "circualr"], ["--shape", "did you mean 'circular'"]),
    ("misspelt-fill", ["--shape", "circular", "--fill", "avrg"], ["--fill", "did you mean 'avg'"]),
    (
        "fill-value-with-avg",
        ["--shape", "circular", "--fill", "avg", "--fill-value", "3"],
        ["'value' is used only with 'with: value'"],
    ),
    (  # the review: float16 wording for float32 output, and "--float32" as the fix
        "fill-value-beyond-float32",
        ["--shape", "circular", "--fill", "value", "--fill-value", "1e39"],
        ["--fill-value: is beyond the range of float32 (±3.40282e+38), in which images are written; got 1e+39"],
    ),
    ("no-mask", [], ["no mask given", "--shape"]),
    ("centre-wrong-length", ["--shape", "circular", "--center", "1", "2", "3"], ["--center", "needs 2 numbers"]),
    ("compat-unknown", ["--shape", "circular", "--compat", "relion"], ["--compat", "maskrun, xmipp"]),
]


@pytest.mark.parametrize("extra,words", [c[1:] for c in ERROR_CASES], ids=[c[0] for c in ERROR_CASES])
def test_bad_parameters_exit_2_with_one_line(capsys, tmp_path, small_stack, extra, words):
    from commands import digest

    out = tmp_path / "out" / "masked.mrcs"
    before = digest(tmp_path)
    status, _, stderr = run(capsys, small_stack, out, *extra)
    assert status == 2
    assert digest(tmp_path) == before  # the input as it was, nothing written
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    for word in words:
        assert word in lines[0]
    assert not out.parent.exists()


def test_circular_on_volume_names_sphere(capsys, tmp_path, small_volume):
    status, _, err = run(capsys, small_volume, tmp_path / "o.mrc", "--shape", "circular")
    assert status == 2 and len(err.splitlines()) == 1
    assert "'circular' is a 2D shape, but this .mrc file is read as one 24 x 22 x 20 volume" in err
    assert "pass --input-kind stack if it is a stack of particle images, or use 'sphere' for a map" in err
    status, _, err = run(capsys, small_volume, tmp_path / "o.mrc", "--shape", "circular", "--input-kind", "volume")
    assert status == 2 and "'circular' is not a shape for volumes (3D); use 'sphere'" in err  # asked for: no hint


def test_created_mask_of_wrong_size(capsys, tmp_path, small_stack, mask_2d_wrong_size):
    out = tmp_path / "o.mrcs"
    status, _, err = run(capsys, small_stack, out, "--mask-file", mask_2d_wrong_size)
    assert status == 2
    assert "--mask-file: mask is 16 × 16 × 1 (x × y × z) but the images are 24 × 24 (x × y)" in err
    assert "re-create the mask" in err and not out.exists()


def test_created_mask_of_wrong_voxel_size(capsys, tmp_path, small_stack, mask_2d_wrong_voxel):
    out = tmp_path / "o.mrcs"
    status, _, err = run(capsys, small_stack, out, "--mask-file", mask_2d_wrong_voxel)
    assert status == 2
    assert "voxel size 3 Å differs from the images' 1.5 Å by more than 1%" in err and not out.exists()
    # the same box: made for these images, with a wrong header, as likely as made for others
    assert err.strip().endswith(
        "resample the mask to the images' pixel size, or, if it was made for these images (its box is theirs), "
        "only its header is wrong: make it again at 1.5 Å/px (maskrun make-mask's pixel size) or set 1.5 Å in "
        "its header"
    )
    assert len(err.strip().splitlines()) == 1


def test_missing_input(capsys, tmp_path):
    status, _, err = run(capsys, tmp_path / "nothere.mrcs", tmp_path / "o.mrcs", "--shape", "circular")
    assert status == 2 and "nothere.mrcs: file not found; check the path" in err


def test_not_an_mrc_file(capsys, tmp_path):
    junk = tmp_path / "junk.mrc"
    junk.write_bytes(b"hello" * 10)
    status, _, err = run(capsys, junk, tmp_path / "o.mrc", "--shape", "sphere")
    assert status == 2 and "junk.mrc" in err and len(err.strip().splitlines()) == 1


def test_output_equal_to_input_is_refused(capsys, small_stack):
    before = small_stack.read_bytes()
    status, _, err = run(capsys, small_stack, small_stack, "--shape", "circular")
    assert status == 2 and "is the input file" in err and "choose another output name" in err
    assert small_stack.read_bytes() == before


def test_existing_output_needs_overwrite(capsys, tmp_path, small_stack):
    out = tmp_path / "o.mrcs"
    out.write_bytes(b"keep me")
    status, _, err = run(capsys, small_stack, out, "--shape", "circular")
    assert status == 2 and "pass --overwrite" in err and out.read_bytes() == b"keep me"
    assert run(capsys, small_stack, out, "--shape", "circular", "--overwrite")[0] == 0
    assert out.read_bytes() != b"keep me"


def test_console_script_prints_no_traceback(tmp_path, small_stack):
    proc = subprocess.run(
        [sys.executable, "-m", "maskrun", "mask", str(small_stack), str(tmp_path / "o.mrcs"), "--shape", "sphere"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1


def test_several_mistakes_are_all_reported(capsys, tmp_path, small_stack):
    status, _, err = run(
        capsys, small_stack, tmp_path / "o.mrcs", "--shape", "gaussian", "--sigma", "0", "--fill", "mx"
    )
    lines = err.strip().splitlines()
    assert status == 2 and len(lines) == 2
    assert "--sigma" in lines[0] and "--fill" in lines[1]


def test_an_interrupt_is_one_line_and_status_130(capsys, monkeypatch, small_stack, tmp_path):
    from maskrun.cli import mask as mask_command

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(mask_command, "mask_mrc_file", interrupted)
    status, out, err = run(capsys, small_stack, tmp_path / "o.mrcs", "--shape", "circular")
    assert (status, out, err) == (130, "", "maskrun mask: interrupted\n")


def test_a_stack_written_as_mrc_is_warned_of_for_relion(capsys, tmp_path, small_stack):
    assert main(["mask", str(small_stack), str(tmp_path / "out.mrc"), "--shape", "circular"]) == 0
    err = capsys.readouterr().err
    assert "is read by RELION as one volume" in err and "name it out.mrcs" in err
    assert main(["mask", str(small_stack), str(tmp_path / "out.mrcs"), "--shape", "circular"]) == 0
    assert "RELION" not in capsys.readouterr().err


def test_a_mistyped_option_gets_the_option_it_was_likely_meant_as(capsys, tmp_path):
    with pytest.raises(SystemExit) as stop:
        main(["make-mask", str(tmp_path / "m.mrc"), "--shape", "sphere", "--box", "16", "--extnd", "3", "--jsn"])
    assert stop.value.code == 2
    assert capsys.readouterr().err.splitlines() == [
        "maskrun make-mask: error: unrecognized options: --extnd (did you mean --extend?), --jsn; "
        "see maskrun make-mask --help"
    ]
    assert not (tmp_path / "m.mrc").exists()


@pytest.mark.parametrize(
    ("relion", "meant"),
    [
        (["--ini_threshold", "0.0003"], "--threshold"),
        (["--extend_inimask", "3"], "--extend"),
        (["--width_soft_edge=6"], "--soft-edge"),
        (["--angpix", "3.54"], "--pixel-size"),
        (["--and_not", "b.mrc"], "--and-not"),
        (["--z_percentage", "0.3"], "--z-percentage"),
        (["--box_size", "64"], "--box"),
        (["--denovo"], "--shape"),
    ],
)
def test_a_relion_option_is_one_line_naming_maskrun_s(capsys, tmp_path, relion, meant):
    """relion_mask_create's names, as a RELION user types them: no usage block, the maskrun option named."""
    with pytest.raises(SystemExit) as stop:
        main(["make-mask", str(tmp_path / "m.mrc"), "--from-map", "ref.mrc", *relion])
    assert stop.value.code == 2
    assert capsys.readouterr().err.splitlines() == [
        f"maskrun make-mask: error: unrecognized option: {relion[0]} (did you mean {meant}?); "
        "see maskrun make-mask --help"
    ]
    assert not (tmp_path / "m.mrc").exists()


def test_an_unknown_option_before_the_output_is_named_without_the_output_as_its_value(capsys, tmp_path):
    """A look at the new features: '--angpix 11.4 OUT' was shown as 'unrecognized arguments: --angpix OUT'."""
    with pytest.raises(SystemExit) as stop:
        main(["make-mask", "--from-map", "ref.mrc", "--threshold", "0.5", "--angpix", "11.4", str(tmp_path / "m.mrc")])
    assert stop.value.code == 2
    assert capsys.readouterr().err.splitlines() == [
        "maskrun make-mask: error: unrecognized option: --angpix (did you mean --pixel-size?); "
        "see maskrun make-mask --help"
    ]


def test_relion_s_input_option_is_named_though_it_is_a_prefix_of_several(capsys, tmp_path):
    with pytest.raises(SystemExit) as stop:
        main(["make-mask", str(tmp_path / "m.mrc"), "--i", "ref.mrc", "--ini_threshold", "0.01"])
    assert stop.value.code == 2
    assert capsys.readouterr().err.splitlines() == [
        "maskrun make-mask: error: ambiguous option: --i could match --inner-radius, --invert (did you mean "
        "--from-map?); see maskrun make-mask --help"
    ]


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (
            ["make-mask"],
            "maskrun make-mask: error: the following arguments are required: output; see maskrun make-mask --help",
        ),
        ([], "maskrun: error: the following arguments are required: COMMAND; see maskrun --help"),
        (
            ["mask", "a.mrcs", "b.mrcs", "--seed", "x"],
            "maskrun mask: error: argument --seed: invalid int value: 'x'; see maskrun mask --help",
        ),
    ],
)
def test_other_command_line_mistakes_are_one_line_too(capsys, argv, line):
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    assert capsys.readouterr().err.splitlines() == [line]


def test_a_refused_request_prints_its_error_line_only(capsys, tmp_path, small_stack):
    """A warning found before the refusal (a shape cut by the box) is not shown beside it."""
    taken = write_mrc(tmp_path / "taken.mrcs", np.zeros((4, 24, 24)))
    before = taken.read_bytes()
    wide = ["--shape", "raised_cosine", "--inner-radius", "10", "--outer-radius", "40"]
    status, _, err = run(capsys, small_stack, taken, *wide)
    assert status == 2 and err.splitlines() == [
        f"maskrun mask: error: {taken}: exists already; pass --overwrite to replace it, or choose another name"
    ]
    assert taken.read_bytes() == before
    status, _, err = run(capsys, small_stack, tmp_path / "new.mrcs", *wide)  # accepted: the warning is shown
    assert status == 0 and "warning: outer_radius 40 px is larger than half the box" in err


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (
            ["--half1", "h1.mrc", "--half2", "h2.mrc", "--mask", "m.mrc", "--pixel-size", "1.0"],
            "unrecognized option: --pixel-size (did you mean --angpix?)",
        ),
        (
            ["--i", "h1.mrc", "--half2", "h2.mrc", "--mask", "m.mrc"],
            "the following arguments are required: --half1; unrecognized option: --i (did you mean --half1?)",
        ),
        (
            ["--i", "h1.mrc", "--i2", "h2.mrc", "--mask", "m.mrc", "--angpix=1"],
            "the following arguments are required: --half1, --half2; "
            "unrecognized options: --i (did you mean --half1?), --i2 (did you mean --half2?)",
        ),
    ],
)
def test_check_mask_names_its_options_for_relion_s_and_the_other_commands(capsys, argv, line):
    """relion_postprocess's --i/--i2 and make-mask's --pixel-size: the missing option named with what was typed."""
    with pytest.raises(SystemExit) as stop:
        main(["check-mask", *argv])
    assert stop.value.code == 2
    assert capsys.readouterr().err.splitlines() == [f"maskrun check-mask: error: {line}; see maskrun check-mask --help"]


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (
            ["mask", "--i", "in.mrcs", "--o", "out.mrcs"],
            "maskrun mask: error: ambiguous option: --i could match --inner-radius, --invert, --input-kind (give "
            "the input and output as positional arguments: maskrun mask input output ...); see maskrun mask --help",
        ),
        (
            ["mask", "in.mrcs", "--o", "out.mrcs"],
            "maskrun mask: error: ambiguous option: --o could match --outer-radius, --overwrite (give the input "
            "and output as positional arguments: maskrun mask input output ...); see maskrun mask --help",
        ),
        (
            ["make-mask", "--from-map", "ref.mrc", "--o", "m.mrc"],
            "maskrun make-mask: error: ambiguous option: --o could match --or, --or-not, --outer-radius, --overwrite "
            "(give the output as a positional argument: maskrun make-mask output ...); see maskrun make-mask --help",
        ),
    ],
)
def test_an_ambiguous_input_or_output_option_says_they_are_positional(capsys, argv, line):
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    assert capsys.readouterr().err.splitlines() == [line]


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (
            ["project-mask", "m.mrc", "p.star", "--o"],
            "give the input and output as positional arguments: maskrun project-mask MASK3D PARTICLES OUT.mrcs ...",
        ),
        (["check-mask", "--half1", "a.mrc", "--half2", "b.mrc", "--mask", "m.mrc", "--o"], "did you mean --json?"),
    ],
)
def test_relion_s_output_option_is_never_taken_for_overwrite(capsys, tmp_path, argv, said):
    """The second look, serious: --o was the one option starting so in project-mask, argparse read it as
    --overwrite, and `project-mask MASK STAR --o keep.mrcs` replaced the existing keep.mrcs."""
    kept = tmp_path / "keep.mrcs"
    kept.write_bytes(b"precious")
    with pytest.raises(SystemExit) as stop:
        main([*argv, str(kept)])
    assert stop.value.code == 2
    (line,) = capsys.readouterr().err.splitlines()
    command = argv[0]
    assert line == (
        f"maskrun {command}: error: option --o is not read as --overwrite here (RELION's --o names a file); {said}; "
        f"see maskrun {command} --help"
    )
    assert kept.read_bytes() == b"precious"


@pytest.mark.parametrize("command", ["mask", "make-mask"])
def test_an_output_that_is_a_link_is_refused_with_overwrite_and_its_target_kept(capsys, tmp_path, small_stack, command):
    """The rename that makes an output whole would replace the link itself (``/dev/stdout``: the system's link)."""
    target = write_mrc(tmp_path / "theirs.mrcs", np.zeros((4, 24, 24)))
    before = target.read_bytes()
    link = tmp_path / "latest.mrcs"
    link.symlink_to(target)
    shape = ["--shape", "circular", "--radius", "5"]
    argv = [small_stack, link, *shape] if command == "mask" else [link, *shape, "--box", "24"]
    status = main([command, *map(str, argv), "--overwrite"])
    err = capsys.readouterr().err
    assert status == 2 and err.splitlines() == [
        f"maskrun {command}: error: {link}: is a symbolic link (to {target}), not a file: maskrun writes an output "
        "whole and renames it into place, which would replace the link itself, not write through it; give the path "
        "of a file"
    ]
    assert link.is_symlink() and target.read_bytes() == before
