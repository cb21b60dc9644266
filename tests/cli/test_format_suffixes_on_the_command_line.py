"""Xmipp's format suffix on the command line (docs/spec.md, "Format suffixes").

``maskrun mask Runs/…/particles.mrcs:mrcs out.mrcs …`` said "file not found", where a job takes
the name so (Scipion names files ``x.mrcs:mrcs``, ``v.mrc:mrc``). Every file a command reads
now takes it, read as Xmipp reads the name: ``parts.mrc:mrcs`` is a stack. A file a command
writes is refused with it, in one line naming the name to give.
"""

from __future__ import annotations

import mrcfile
import numpy as np
import pytest
from fsc_phantoms import phantom_halves, soft_mask

from maskrun.cli.main import main

from conftest import shared_path, write_mrc

PARTICLES = "Runs/000002_ProtImportParticles/extra/particles.mrcs"


def refused(argv: list[str], capsys) -> str:
    """``maskrun ARGV``: exit 2 and one stderr line (returned)."""
    assert main(argv) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in lines[0]
    return lines[0]


@pytest.fixture
def scipion_project(monkeypatch):
    monkeypatch.chdir(shared_path("data", "formats", "scipion", "project"))


def test_mask_reads_a_scipion_name_with_its_suffix_as_the_file(scipion_project, tmp_path):
    shape = ["--shape", "circular", "--radius", "20", "--fill", "avg"]
    assert main(["mask", f"{PARTICLES}:mrcs", str(tmp_path / "a.mrcs"), *shape]) == 0
    assert main(["mask", PARTICLES, str(tmp_path / "b.mrcs"), *shape]) == 0
    assert np.array_equal(mrcfile.read(tmp_path / "a.mrcs"), mrcfile.read(tmp_path / "b.mrcs"))


def test_a_stack_named_mrc_is_read_as_its_suffix_says(tmp_path, rng, capsys):
    """cryoSPARC's ``_particles.mrc`` (ispg 1: a volume by its header), named ``:mrcs`` by Scipion: Xmipp reads a
    stack, and so does maskrun mask; without the suffix the 2D shape is refused on a volume."""
    write_mrc(tmp_path / "parts.mrc", rng.normal(0, 1, (3, 24, 24)), stack=False)
    out = tmp_path / "o.mrcs"
    assert main(["mask", f"{tmp_path / 'parts.mrc'}:mrcs", str(out), "--shape", "circular", "--radius", "5"]) == 0
    assert mrcfile.read(out).shape == (3, 24, 24)
    line = refused(
        ["mask", f"{tmp_path / 'parts.mrc'}:mrcs", str(out), "--overwrite", "--shape", "circular", "--radius", "5"]
        + ["--input-kind", "volume"],
        capsys,
    )
    assert line.endswith(
        "--input-kind: is marked :mrcs (a stack of images), and --input-kind volume reads it as the other; drop one"
    )


def test_make_mask_takes_like_and_from_map_with_a_suffix_and_mask_its_mask_file(scipion_project, tmp_path):
    mask = tmp_path / "m.mrc"
    assert main(["make-mask", str(mask), "--like", f"{PARTICLES}:mrcs", "--shape", "circular", "--radius", "20"]) == 0
    assert mrcfile.read(mask).shape == (64, 64)
    out = tmp_path / "o.mrcs"
    assert main(["mask", f"{PARTICLES}:mrcs", str(out), "--mask-file", f"{mask}:mrc"]) == 0
    volume = "Runs/000003_ProtImportVolumes/extra/import_phantom_20.mrc"
    map_mask = tmp_path / "v.mrc"
    assert main(["make-mask", str(map_mask), "--from-map", f"{volume}:mrc", "--threshold", "0.5"]) == 0
    assert mrcfile.read(map_mask).shape == (20, 20, 20)


def test_check_mask_and_project_mask_read_their_maps_with_a_suffix(tmp_path, capsys):
    half1, half2, signal = phantom_halves(32)
    h1, h2 = write_mrc(tmp_path / "h1.mrc", half1, voxel_size=2.0), write_mrc(tmp_path / "h2.mrc", half2, 2.0)
    mask = write_mrc(tmp_path / "m.mrc", soft_mask(signal, 0.2, 3, 4), voxel_size=2.0)
    assert main(["check-mask", "--half1", f"{h1}:mrc", "--half2", f"{h2}:mrc", "--mask", f"{mask}:mrc"]) == 0
    assert "verdict:" in capsys.readouterr().out
    assert main(["example", "projection", "--write", str(tmp_path / "ex")]) == 0
    out = tmp_path / "p.mrcs"
    mask3d, particles = tmp_path / "ex" / "masks" / "domain3d.mrc", tmp_path / "ex" / "particles.star"
    assert main(["project-mask", f"{mask3d}:mrc", str(particles), str(out)]) == 0
    assert mrcfile.read(out).shape[1:] == mrcfile.read(mask3d).shape[1:]


@pytest.mark.parametrize(
    ("command", "written", "name"),
    [
        (["mask", PARTICLES, "OUT", "--shape", "circular", "--radius", "20"], "o.mrcs:mrcs", "o.mrcs"),
        (["mask", PARTICLES, "OUT", "--shape", "circular", "--radius", "20"], "o.stk:spi", "o.mrcs"),
        (["make-mask", "OUT", "--box", "64", "64", "--shape", "circular", "--radius", "20"], "m.xmp:spi", "m.mrc"),
        (["project-mask", "M3D", "Runs/000002_ProtImportParticles/particles.sqlite", "OUT"], "p.mrcs:mrcs", "p.mrcs"),
    ],
)
def test_an_output_named_with_a_suffix_is_refused_naming_the_name_to_give(
    scipion_project, tmp_path, capsys, command, written, name
):
    mask3d = write_mrc(tmp_path / "m3.mrc", np.ones((64, 64, 64), np.float32), voxel_size=2.0)
    target = tmp_path / written
    argv = [str(target) if word == "OUT" else str(mask3d) if word == "M3D" else word for word in command]
    line = refused(argv, capsys)
    fix = f"name the output {tmp_path / name}"
    assert line.endswith(
        f"{target}: ends in Xmipp's format suffix ':{written.rpartition(':')[2]}', which tells Xmipp how to read a "
        f"file and is no part of its name: {fix}" + ("" if written.endswith(":mrcs") else " (maskrun writes MRC)")
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m3.mrc"]
