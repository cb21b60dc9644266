"""RELION 4/5 particle sets as RELION writes them: tomography sets (tilt-image stacks, subtomograms), a path alone
naming a file of many images, particles of an optics group data_optics lacks, and boxes told by optics group.

The RELION 5 look: a tilt series' particles (each row a stack of 11 tilt images) were masked
as one image each, the first, and the written STAR still said 11 frames (exit 0); particles of
an undefined optics group took another group's pixel size, where RELION 3.1.3 stops.
"""

from __future__ import annotations

import json
import sys
import warnings

import numpy as np
import pytest

from maskrun.cli.main import main
from maskrun.errors import MaskrunWarning, UserError
from maskrun.formats.registry import load_particle_set
from maskrun.jobs.plan import JOB_NAMES

from conftest import write_mrc
from job_files import validate_refuses, write_job

GENERAL_2D = "data_general\n\n_rlnTomoSubTomosAre2DStacks 1\n\n"
OPTICS = "data_optics\nloop_\n" + "".join(
    f"_{c}\n"
    for c in ("rlnOpticsGroup", "rlnOpticsGroupName", "rlnImagePixelSize", "rlnImageSize", "rlnImageDimensionality")
)
JOB = {
    "version": 1,
    "name": "t",
    "inputs": {"particles": "Extract/job010/particles.star"},
    "mask": {"source": "geometry", "geometry": {"shape": "circular", "radius": 3}},
    "fill": {"with": "value", "value": 0},
}


def stack(path, data):
    """``write_mrc`` into a folder made for it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_mrc(path, data, stack=path.suffix == ".mrcs")


def write_star(folder, optics: str, rows: list[str], columns=("rlnImageName", "rlnOpticsGroup"), general="") -> None:
    """``folder/Extract/job010/particles.star`` (RELION 3.1+) and the job ``folder/job.yaml`` that masks it."""
    star = folder / "Extract" / "job010" / "particles.star"
    star.parent.mkdir(parents=True, exist_ok=True)
    labels = "".join(f"_{c}\n" for c in columns)
    star.write_text(f"{general}{OPTICS}{optics}\ndata_particles\nloop_\n{labels}" + "".join(f"{r}\n" for r in rows))
    write_job(folder, JOB)


def tilt_series(folder, general=GENERAL_2D, dimensionality=2, name="Extract/job010/TS_01/{p}_stack2d.mrcs", z=3):
    """Two particles of a RELION 5 tomography set, each a file of ``z`` images (or a volume) named alone."""
    rows = []
    for p in (1, 2):
        path = name.format(p=p)
        stack(folder / path, np.ones((z, 8, 8), np.float32))
        rows.append(f"TS_01 TS_01/{p} 1 {path}")
    write_star(folder, f"1 optics1 5.4 8 {dimensionality}\n", rows, ("rlnTomoName", "rlnTomoParticleName",
               "rlnOpticsGroup", "rlnImageName"), general)  # fmt: skip


def nothing_written(folder, capsys, command: str) -> str:
    """``maskrun COMMAND job.yaml``: exit 2, one line (returned), nothing written."""
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert main([command, str(folder / "job.yaml")]) == 2
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0]
    return err[0].removeprefix(f"maskrun {command}: error: ")


@pytest.mark.parametrize(
    ("general", "dimensionality", "what"),
    [
        (GENERAL_2D, 2, "RELION 5 subtomogram particles (data_general: rlnTomoSubTomosAre2DStacks 1, each a stack "
         "of 2D tilt images)"),
        (GENERAL_2D.replace(" 1\n", " 0\n"), 3, "RELION 5 subtomogram particles (data_general: "
         "rlnTomoSubTomosAre2DStacks 0, each a 3D subtomogram)"),
        ("", 3, "RELION 4 pseudo-subtomogram particles (data_optics: rlnImageDimensionality 3, each a 3D subtomogram)"),
    ],
)  # fmt: skip
def test_a_tomography_set_is_refused_naming_what_it_is(tmp_path, capsys, general, dimensionality, what):
    tilt_series(tmp_path, general, dimensionality)
    star = tmp_path / "Extract" / "job010" / "particles.star"
    said = (
        f"{star}: {what}: maskrun masks 2D particle images, one per row, not subtomograms; to mask their average, "
        "give its map as inputs.volumes"
    )
    assert nothing_written(tmp_path, capsys, "validate") == said
    assert nothing_written(tmp_path, capsys, "run") == said
    with pytest.raises(UserError, match=r"one per row, not subtomograms; to mask their average, mask its map$"):
        load_particle_set(star)  # a caller without a maps setting


def test_a_path_alone_naming_a_stack_of_several_images_is_refused(tmp_path, capsys):
    """The tilt stacks without data_general (a STAR edited, or written by another program): each row one file."""
    tilt_series(tmp_path, general="")
    said = validate_refuses(tmp_path / "job.yaml", capsys)
    assert said == (
        f"maskrun validate: error: {tmp_path / 'Extract/job010/particles.star'}: rlnImageName: row 1: "
        "'Extract/job010/TS_01/1_stack2d.mrcs' names the whole of 1_stack2d.mrcs, which holds 3 images of 8 x 8, not "
        "one image (2 rows in all); name one image per row, as N@stack (000001@Extract/job010/TS_01/1_stack2d.mrcs)"
    )
    assert nothing_written(tmp_path, capsys, "run") == said.removeprefix("maskrun validate: error: ")


def test_a_path_alone_naming_a_volume_is_refused_proposing_the_maps_setting(tmp_path, capsys):
    tilt_series(tmp_path, general="", name="Extract/job010/TS_01/{p}_data.mrc", z=8)
    assert validate_refuses(tmp_path / "job.yaml", capsys).endswith(
        ": rlnImageName: row 1: 'Extract/job010/TS_01/1_data.mrc' names the whole of 1_data.mrc, which holds 8 x 8 x 8 "
        "(a volume, or 8 images), not one image (2 rows in all); if those are maps, give the set as inputs.volumes; "
        "else name one image per row, as N@stack (000001@Extract/job010/TS_01/1_data.mrc)"
    )


def test_a_path_alone_naming_a_file_of_one_image_is_that_image(tmp_path, capsys):
    """As before: a bare ``.mrc`` of one 2D image is image 1 (Xmipp's and RELION's single-image files)."""
    rows = []
    for p in (1, 2):
        stack(tmp_path / f"Extract/job010/p{p}.mrc", np.full((1, 8, 8), p, np.float32))
        rows.append(f"Extract/job010/p{p}.mrc 1")
    rows.append("000001@Extract/job010/p1.mrc 1")  # the same image by number
    write_star(tmp_path, "1 og1 2.0 8 2\n", rows)
    particles = load_particle_set(tmp_path / "Extract" / "job010" / "particles.star")
    assert [p.name for p in particles.stack_paths] == ["p1.mrc", "p2.mrc"]
    assert particles.image_index.tolist() == [0, 0, 0] and particles.stack_of_row.tolist() == [0, 1, 0]
    assert main(["validate", str(tmp_path / "job.yaml")]) == 0


def test_particles_of_an_optics_group_data_optics_lacks_are_refused(tmp_path, capsys):
    """RELION 3.1.3: 'The following optics groups were not defined in …: 2, 2'; maskrun gave them group 1's pixel
    size."""
    stack(tmp_path / "Extract/job010/a.mrcs", np.ones((2, 8, 8), np.float32))
    stack(tmp_path / "Extract/job010/b.mrcs", np.ones((2, 8, 8), np.float32))
    rows = ["000001@Extract/job010/a.mrcs 1", "000002@Extract/job010/a.mrcs 01"]  # 01 is group 1, as RELION reads it
    rows += ["000001@Extract/job010/b.mrcs 2", "000002@Extract/job010/b.mrcs 2"]
    write_star(tmp_path, "1 og1 1.06 8 2\n", rows)
    said = (
        f"{tmp_path / 'Extract/job010/particles.star'}: rlnOpticsGroup: row 3: optics group 2 is not defined in "
        "data_optics, which defines 1 (2 rows in all); define the group in data_optics or fix the row's rlnOpticsGroup"
    )
    assert nothing_written(tmp_path, capsys, "validate") == said
    assert nothing_written(tmp_path, capsys, "run") == said
    star = tmp_path / "Extract" / "job010" / "particles.star"
    star.write_text(star.read_text().replace("b.mrcs 2\n", "b.mrcs 3\n", 1))  # two groups undefined: both named
    with pytest.raises(
        UserError, match=r": row 3: optics group 3 is not defined .* \(2 rows in all, of groups 3, 2\);"
    ):
        load_particle_set(star)
    star.write_text(star.read_text().replace("1 og1 1.06 8 2\n", "1 og1 1.06 8 2\n2 og2 1.06 8 2\n3 og3 1.06 8 2\n"))
    assert len(load_particle_set(star)) == 4


def boxes_by_group(folder, groups_boxes: list[tuple[int, int]]) -> None:
    """A stack and two particles per (optics group, box) pair; every group defined, of its first box."""
    optics, rows = {}, []
    for k, (group, box) in enumerate(groups_boxes):
        stack(folder / f"Extract/job010/m{k}.mrcs", np.ones((2, box, box), np.float32))
        optics.setdefault(group, f"{group} og{group} 1.0 {box} 2\n")
        rows += [f"00000{i}@Extract/job010/m{k}.mrcs {group}" for i in (1, 2)]
    write_star(folder, "".join(optics[g] for g in sorted(optics)), rows)


@pytest.mark.parametrize(
    ("groups_boxes", "said"),
    [
        ([(1, 64), (2, 96)], "optics group 1 'og1' is 64 x 64 px, optics group 2 'og2' 96 x 96); mask each box size "
         "in its own job, splitting the set by optics group: relion_star_handler --i Extract/job010/particles.star "
         "--o Extract/job010/particles_og2.star --select rlnOpticsGroup --minval 2 --maxval 2"),
        ([(2, 96), (3, 96), (1, 64)], "optics groups 2 'og2', 3 'og3' are 96 x 96 px, optics group 1 'og1' 64 x 64); "
         "mask each box size in its own job, splitting the set by optics group: relion_star_handler --i "
         "Extract/job010/particles.star --o Extract/job010/particles_og1.star --select rlnOpticsGroup --minval 1 "
         "--maxval 1"),
        ([(1, 64), (2, 96), (3, 64), (4, 96)], "optics groups 1 'og1', 3 'og3' are 64 x 64 px, optics groups 2 'og2', "
         "4 'og4' 96 x 96); mask each box size in its own job, splitting the set by optics group: relion_star_handler "
         "--i Extract/job010/particles.star --o Extract/job010/particles_og2.star --select rlnOpticsGroup --minval 2 "
         "--maxval 2"),
        ([(1, 64), (2, 96), (3, 96)], "optics group 1 'og1' is 64 x 64 px, optics groups 2 'og2', 3 'og3' 96 x 96); "
         "mask each box size in its own job, splitting the set by optics group: relion_star_handler --i "
         "Extract/job010/particles.star --o Extract/job010/particles_og2-3.star --select rlnOpticsGroup --minval 2 "
         "--maxval 3"),
    ],
)  # fmt: skip
def test_boxes_that_follow_the_optics_groups_are_told_by_group_with_the_relion_command_that_splits_them(
    tmp_path, capsys, groups_boxes, said
):
    """The stacks were named (mic_001.mrcs is 64 x 64, mic_003.mrcs is 96 x 96): RELION users know their boxes by
    optics group, and split a set by relion_star_handler (3.1's --select/--minval/--maxval)."""
    boxes_by_group(tmp_path, groups_boxes)
    star = tmp_path / "Extract" / "job010" / "particles.star"
    assert nothing_written(tmp_path, capsys, "validate") == f"{star}: optics groups have different box sizes ({said}"


def test_boxes_that_do_not_follow_the_optics_groups_are_told_by_stack(tmp_path, capsys):
    boxes_by_group(tmp_path, [(1, 64), (1, 96), (2, 64)])  # group 1 holds both
    assert nothing_written(tmp_path, capsys, "validate") == (
        f"{tmp_path / 'Extract/job010/particles.star'}: stacks have different box sizes (m0.mrcs is 64 x 64, m1.mrcs "
        "is 96 x 96); mask each box size in its own job"
    )


def test_an_optics_image_size_other_than_the_stacks_box_is_a_warning_in_validate_and_run(tmp_path, capsys):
    boxes_by_group(tmp_path, [(1, 16), (2, 16)])
    star = tmp_path / "Extract" / "job010" / "particles.star"
    star.write_text(star.read_text().replace("2 og2 1.0 16 2", "2 krios2_2023 1.0 24 2"))
    said = (
        f"maskrun: warning: {star}: rlnImageSize: 24 px in optics group 2 'krios2_2023', but the stacks are 16 x 16 "
        "px; the stacks' box is used"
    )
    assert main(["validate", str(tmp_path / "job.yaml")]) == 0
    assert [line for line in capsys.readouterr().err.splitlines() if "rlnImageSize" in line] == [said]
    assert main(["run", str(tmp_path / "job.yaml"), "--cores", "1"]) == 0
    assert [line for line in capsys.readouterr().err.splitlines() if "rlnImageSize" in line] == [said]
    run = json.loads((tmp_path / "results" / "t" / "provenance" / "run.json").read_text())
    assert [w for w in run["warnings"] if "rlnImageSize" in w] == [said.removeprefix("maskrun: warning: ")]
    star.write_text(star.read_text().replace("2 krios2_2023 1.0 24 2", "2 krios2_2023 1.0 16 2"))
    with warnings.catch_warnings():
        warnings.simplefilter("error", MaskrunWarning)
        assert load_particle_set(star).box_yx == (16, 16)


def test_the_checks_run_no_line_of_python_per_row(tmp_path):
    """Vectorised: the checks of 100,000 rows run a few lines of their own modules per stack and optics group, refusing
    or not, none per row (their column is split by `maskrun.io.star`, as every column read is: the optics groups'
    once per read, test_optics_groups_by_number.py)."""
    from maskrun.formats.particle_set import RowNames, refuse_whole_files
    from maskrun.formats.references import bare_references
    from maskrun.formats.star_optics import boxes_by_group, of_used_groups, particle_groups, warn_of_image_sizes
    from maskrun.io.star import Loop

    n, stacks = 100_000, 100
    lines = [b"%06d@m%d.mrcs %d" % (i % 1000 + 1, i // 1000, i // 50_000 + 1) for i in range(n)]
    table = Loop(["rlnImageName", "rlnOpticsGroup"], lines)
    blocks = {"optics": Loop(["rlnOpticsGroup", "rlnImageSize"], [b"1 8", b"2 9"])}
    infos = {tmp_path / f"m{s}.mrcs": _info(tmp_path / f"m{s}.mrcs", 1000) for s in range(stacks)}
    paths, stack_of_row = list(infos), np.arange(n) // 1000
    references = np.array(table.column_bytes("rlnImageName"))
    ours = ("star_optics.py", "particle_set.py", "references.py")
    lines_run = 0

    def trace(frame, event, arg):
        if not frame.f_code.co_filename.endswith(ours):
            return None

        def count(frame, event, arg):
            nonlocal lines_run
            lines_run += event == "line"
            return count

        return count

    before = sys.gettrace()
    sys.settrace(trace)
    try:
        groups = particle_groups(blocks, table, tmp_path / "p.star", RowNames())
        bare = bare_references(references)
        refuse_whole_files(infos, paths, stack_of_row, bare, references, tmp_path, "x")
        with pytest.warns(MaskrunWarning):
            warn_of_image_sizes(blocks, groups, (8, 8), tmp_path)
        assert groups is not None
        used, sizes = of_used_groups(blocks["optics"], groups, "rlnImageSize")
        each = groups.optics_row_of_each()
        by_group = boxes_by_group(groups, stack_of_row, [(8, 8)] * 50 + [(9, 9)] * 50, tmp_path, None, JOB_NAMES)
        with pytest.raises(UserError, match=r"holds 1000 images of 8 x 8, not one image \(50000 rows in all\)"):
            refuse_whole_files(infos, paths, stack_of_row, np.arange(n) >= 50_000, references, tmp_path, "x")
        with pytest.raises(UserError, match=r"row 50001: optics group 2 is not defined .* \(50000 rows in all\)"):
            particle_groups({"optics": Loop(["rlnOpticsGroup"], [b"1"])}, table, tmp_path, RowNames())
    finally:
        sys.settrace(before)
    assert by_group is not None and "optics group 1 is 8 x 8 px, optics group 2 9 x 9" in by_group.message
    assert (used, sizes.tolist(), each[[0, -1]].tolist()) == ([0, 1], [8, 9], [0, 1])
    assert lines_run < 1000  # a few per stack (100) and group: a Python loop over the rows would run 100,000


def _info(path, nz: int):
    """The header of an MRC stack of ``nz`` 8 x 8 images."""
    from maskrun.io.image_info import ImageInfo

    return ImageInfo(path, (nz, 8, 8), np.dtype(np.float32), 2, 1024, (1.0,) * 3, (0.0,) * 3, (0, 0, 0), 0, (), ())
