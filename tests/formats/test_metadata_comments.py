"""Comment lines of a STAR or ``.xmd`` set written back: each block's own stay in front of it (RELION 3.1+ writes
``# version 30001`` before every block; Xmipp's header and users' notes sit before a ``data_`` line), read back by
starfile and by RELION 3.1.3; a file with only a header is written as before."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import starfile

from maskrun.io.star import Loop, read_metadata, write_metadata
from maskrun.jobs.runner import run_job

from conftest import shared_path
from job_files import example_folder, job_with, write_job

RELION_5 = """
# version 50001

data_optics

loop_
_rlnOpticsGroup #1
_rlnImagePixelSize #2
1 2.000000
# between two rows: inside the block, not kept
2 2.000000
# after the optics block's rows: in front of the next block, kept there

# version 50001
# picked by hand from mic 3: a note for the particles

data_particles

loop_
_rlnImageName #1
# among the labels: not kept
_rlnOpticsGroup #2
1@a.mrcs 1
2@a.mrcs 1
# after the last block: not kept
"""

RELION_5_WRITTEN = """# version 50001

data_optics

loop_
_rlnOpticsGroup #1
_rlnImagePixelSize #2
1 2.000000
2 2.000000

# after the optics block's rows: in front of the next block, kept there
# version 50001
# picked by hand from mic 3: a note for the particles

data_particles

loop_
_rlnImageName #1
_rlnOpticsGroup #2
1@a.mrcs 1
2@a.mrcs 1

"""


def test_each_block_keeps_its_own_comments_in_front_of_it(tmp_path):
    (tmp_path / "in.star").write_text(RELION_5)
    blocks, comments = read_metadata(tmp_path / "in.star")
    assert comments == {
        "optics": ["# version 50001"],
        "particles": [
            "# after the optics block's rows: in front of the next block, kept there",
            "# version 50001",
            "# picked by hand from mic 3: a note for the particles",
        ],
    }
    write_metadata(blocks, tmp_path / "out.star", comments)
    assert (tmp_path / "out.star").read_text() == RELION_5_WRITTEN
    assert list(starfile.read(tmp_path / "out.star", always_dict=True)) == ["optics", "particles"]


def test_a_file_with_only_its_header_is_written_as_before(tmp_path):
    """The layout of every file maskrun wrote before block comments were kept (bench/identical.py pins it); this test
    passes before and after."""
    blocks, comments = read_metadata(shared_path("data", "public", "test.xmd"))
    write_metadata(blocks, tmp_path / "out.xmd", comments)
    text = (tmp_path / "out.xmd").read_text()
    assert text.startswith(
        "# XMIPP_STAR_1 *\n# CAREFUL if re3d is last label this does not work\n\ndata_noname\n\nloop_\n_image\n"
    )
    loop = Loop.from_columns({"rlnImageName": ["1@a.mrcs"]})
    write_metadata({"optics": {"rlnX": "1"}, "particles": loop}, tmp_path / "new.star", ["# version 30001"])
    assert (tmp_path / "new.star").read_text() == (
        "# version 30001\n\ndata_optics\n\n_rlnX 1\n\ndata_particles\n\nloop_\n_rlnImageName #1\n1@a.mrcs\n\n"
    )


def commented_classes(folder: Path) -> Path:
    """An Xmipp CL2D ``classes.xmd`` whose class blocks carry notes in front of them, as users and scripts leave."""
    example_folder(folder, particles=20, maps=0)
    star = starfile.read(folder / "particles.star", always_dict=True)["particles"]
    rows = [f"{name} 1" for name in star["rlnImageName"]]
    text = "# XMIPP_STAR_1 *\n#\ndata_classes\nloop_\n _ref\n _image\n _classCount\n1 000001@classes.stk 10\n"
    text += "2 000002@classes.stk 10\n"
    for k in (1, 2):
        text += f"# class {k}: kept after screening\ndata_class{k:06d}_images\nloop_\n _image\n _enabled\n"
        text += "\n".join(rows[(k - 1) * 10 : k * 10]) + "\n"
    (folder / "classes.xmd").write_text(text)
    return folder / "classes.xmd"


def test_a_masked_xmd_block_is_written_back_with_every_block_s_comments_in_place(tmp_path):
    commented_classes(tmp_path)
    run_job(write_job(tmp_path, job_with(inputs__particles="class000002_images@classes.xmd", report=False)))
    written = tmp_path / "results" / "t" / "particles.xmd"
    heads = [line for line in written.read_text().splitlines() if line.startswith(("#", "data_"))]
    assert heads == [
        "# XMIPP_STAR_1 *",
        "#",
        "data_classes",
        "# class 1: kept after screening",
        "data_class000001_images",
        "# class 2: kept after screening",
        "data_class000002_images",
    ]
    assert "2 000002@classes.stk 10\n\n# class 1: kept after screening\n\ndata_class000001_images\n" in (
        written.read_text()
    )
    read = starfile.read(written, always_dict=True)
    assert list(read) == ["classes", "class000001_images", "class000002_images"]
    assert read["class000002_images"]["image"].tolist()[0] == "000001@results/t/stacks/batch_00001.mrcs"


def test_a_relion_set_keeps_its_version_line_before_each_block_and_relion_reads_it(tmp_path):
    for name in ("relion31.star", "relion31.mrcs"):
        shutil.copy(shared_path("data", "public", name), tmp_path / name)
    star = tmp_path / "relion31.star"
    star.write_text(
        star.read_text().replace("# version 30001\n\ndata_particles", "# version 30001\n# re-picked\n\ndata_particles")
    )
    job = job_with(inputs__particles="relion31.star", mask__geometry={"shape": "circular", "radius": 100})
    out = run_job(write_job(tmp_path, job | {"report": False})).output_dir
    text = (out / "particles.star").read_text()
    assert text.startswith("# version 30001\n\ndata_optics\n\nloop_\n")
    assert "\n\n# version 30001\n# re-picked\n\ndata_particles\n\nloop_\n" in text
    assert len(starfile.read(out / "particles.star", always_dict=True)["particles"]) == 5
    if shutil.which("relion_star_handler") is None:
        return  # RELION 3.1 is not installed: starfile's reading above is the check
    done = subprocess.run(
        ["relion_star_handler", "--i", "particles.star", "--o", "copy.star"],
        cwd=out,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(starfile.read(out / "copy.star", always_dict=True)["particles"]) == 5
