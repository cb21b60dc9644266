"""RELION optics groups matched to the rows one way, by number (``01`` is group 1, as RELION reads them), for all that
is read of them; and a set some of whose groups give no pixel size.

Review 13 (``odd.star``: optics group 1 at 2.806 Å, 2 at 1.5 Å, particles in ``01`` and ``02``): the groups
were checked by number, but the pixel sizes matched by text, so the set was said to give none (``its
rlnImagePixelSize is nan``); ``inputs.pixel_size_angstrom: 2.806``, as that advised, was then taken and
written into every optics row, group 2's 1.5 Å with it: its particles masked at 2.806 Å. A set whose
group 1 is ``nan`` and group 2 1.5 Å, both used, took the key the same way; in the other order, group 1's
size stood for both. Pose-following jobs refused ``01`` (``optics group 01 is not in the optics block``).
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest
import starfile

from maskrun.cli.main import main
from maskrun.errors import MaskrunWarning, UserError
from maskrun.formats.poses import offsets_of
from maskrun.formats.registry import load_particle_set
from maskrun.io.star import Loop
from maskrun.jobs.runner import run_job

from conftest import write_mrc
from job_files import validate_refuses, write_job

OPTICS = "data_optics\nloop_\n_rlnOpticsGroup\n_rlnOpticsGroupName\n_rlnImagePixelSize\n_rlnImageSize\n"
PARTICLES = "data_particles\nloop_\n_rlnImageName\n_rlnOpticsGroup\n_rlnOriginXAngst\n_rlnOriginYAngst\n"
ORIGIN_X = (3.0, -3.0, 3.0, -3.0)  # Å: the rows' x origins, as RELION 3.1 writes them


def two_groups(folder, first="2.0", second="1.5", unused="1.5 16", groups=("01", "01", "02", "02"), stack=True):
    """``particles.star``: optics groups 1 and 2 of pixel sizes ``first`` and ``second`` (text, as written), 3 of
    ``unused`` (size and box) that no particle uses; 4 particles of 16 x 16 px in ``groups``, in a stack whose header
    says 1 Å/px (as RELION writes .mrcs)."""
    if stack:
        write_mrc(folder / "parts.mrcs", np.ones((4, 16, 16)), voxel_size=1.0)
    optics = f"1 og1 {first} 16\n2 og2 {second} 16\n3 og3 {unused}\n"
    rows = "".join(f"{i}@parts.mrcs {group} {x} 0\n" for i, (group, x) in enumerate(zip(groups, ORIGIN_X), 1))
    star = folder / "particles.star"
    star.write_text(f"{OPTICS}{optics}\n{PARTICLES}{rows}")
    return star


def job(radius="5 A", follow=None, **inputs) -> dict:
    geometry = {"shape": "circular", "radius": radius}
    mask = {"source": "geometry", "geometry": geometry, **({"follow": follow} if follow else {})}
    return {"version": 1, "name": "t", "inputs": {"particles": "particles.star", **inputs}, "mask": mask}


def refused(folder, capsys, **changes) -> str:
    """``maskrun validate`` of `job` (``changes``): exit 2, nothing written; its error after the STAR's name."""
    line = validate_refuses(write_job(folder, job(**changes)), capsys)
    prefix = f"maskrun validate: error: {folder / 'particles.star'}: "
    assert line.startswith(prefix), line
    return line.removeprefix(prefix)


def test_groups_written_01_and_02_have_their_own_pixel_sizes(tmp_path, capsys):
    """Not 'gives no pixel size (its rlnImagePixelSize is nan)', and the key that advised is refused, not written."""
    particles = load_particle_set(two_groups(tmp_path))
    assert (particles.pixel_size_angstrom, particles.pixel_sizes_angstrom) == (0.0, (2.0, 1.5))
    assert particles.pixel_size_groups == ("optics group 1 'og1'", "optics group 2 'og2'")
    assert particles.pixel_size_lacking is None
    line = validate_refuses(write_job(tmp_path, job()), capsys)
    assert line.endswith(
        "mask.geometry.radius: is given in Å, but the particles' optics groups have different pixel sizes (2 Å in "
        "optics group 1 'og1', 1.5 Å in optics group 2 'og2'); give it in px, or mask each optics group in a job of "
        "its own"
    )
    assert refused(tmp_path, capsys, pixel_size_angstrom=2.0) == (
        "inputs.pixel_size_angstrom: is for particles whose metadata gives no pixel size (a bare stack, or a set "
        "without one); this RELION STAR gives its own, 2 and 1.5 Å (rlnImagePixelSize): remove it"
    )


def test_groups_of_one_pixel_size_written_01_give_it(tmp_path):
    """Group 3, of another pixel size and box, is no particle's: neither counts, nor warns."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", MaskrunWarning)
        particles = load_particle_set(two_groups(tmp_path, second="2.0", unused="1.5 96"))
    assert (particles.pixel_size_angstrom, particles.pixel_sizes_angstrom, particles.pixel_size_lacking) == (
        2.0,
        (),
        None,
    )


def test_the_box_read_without_stacks_is_of_the_groups_written_01(tmp_path):
    """project-mask reads a set whose stacks are not here from its rlnImageSize: group 3 (96 px) is no particle's; the
    groups matched by text gave NaN for 01 and 02 ('is nan, not a box size in pixels')."""
    particles = load_particle_set(two_groups(tmp_path, unused="1.5 96", stack=False), need_stacks=False)
    assert particles.box_yx == (16, 16) and particles.without_stacks is not None


def test_origins_in_angstrom_are_turned_to_px_by_the_group_written_01(tmp_path, capsys):
    """Each row by its own group's pixel size: 3 Å is 1.5 px in group 1 (2 Å/px), 2 px in group 2 (1.5 Å/px)."""
    particles = load_particle_set(two_groups(tmp_path))
    x, y = offsets_of(particles)
    assert x.tolist() == pytest.approx([1.5, -1.5, 2.0, -2.0]) and y.tolist() == [0.0] * 4
    assert main(["validate", str(write_job(tmp_path, job(radius=5, follow="offsets")))]) == 0


@pytest.mark.parametrize(
    ("first", "second", "said"),
    [
        ("nan", "1.5", "optics group 1 'og1' gives nan, not a pixel size (RELION reads nan as 0 Å/px), where optics "
         "group 2 'og2' gives 1.5 Å; set its rlnImagePixelSize in data_optics"),
        ("2.0", "nan", "optics group 2 'og2' gives nan, not a pixel size (RELION reads nan as 0 Å/px), where optics "
         "group 1 'og1' gives 2 Å; set its rlnImagePixelSize in data_optics"),
        ("2.0", "0", "optics group 2 'og2' gives 0, not a pixel size, where optics group 1 'og1' gives 2 Å; set its "
         "rlnImagePixelSize in data_optics"),
    ],
)  # fmt: skip
def test_a_set_some_of_whose_groups_give_no_pixel_size_is_refused_naming_them(tmp_path, capsys, first, second, said):
    """Whichever group comes first, lengths in px or Å, the key given or not: RELION 3.1.3 reads nan as 0 Å/px and
    goes on; maskrun took one group's size for all, or the key for all."""
    two_groups(tmp_path, first, second, groups=("1", "2", "1", "2"))
    assert refused(tmp_path, capsys, radius=5) == f"rlnImagePixelSize: {said}"
    assert refused(tmp_path, capsys, pixel_size_angstrom=2.0) == (
        f"rlnImagePixelSize: {said} (inputs.pixel_size_angstrom is for a set that gives none)"
    )


def test_a_group_no_particle_uses_counts_for_nothing(tmp_path, capsys):
    """Group 3 gives none and no particle is of it: the set's pixel size is groups 1 and 2's."""
    particles = load_particle_set(two_groups(tmp_path, second="2.0", unused="nan 16"))
    assert particles.pixel_size_angstrom == 2.0


def test_the_given_pixel_size_is_written_only_where_the_groups_give_none(tmp_path):
    """Groups 1 (nan) and 2 (0), the particles', take the key; group 3's 1.5 Å, no particle's, is kept."""
    two_groups(tmp_path, "nan", "0", unused="1.5 16")
    out = run_job(write_job(tmp_path, job(radius="5 A", pixel_size_angstrom=2.5))).output_dir
    optics = starfile.read(out / "particles.star", always_dict=True)["optics"]
    assert optics["rlnImagePixelSize"].tolist() == [2.5, 2.5, 1.5]


def test_origins_in_angstrom_of_groups_without_a_pixel_size_take_the_given_one(tmp_path):
    """They were divided by the groups' nan: 'row 1 has an origin that is not a number'."""
    two_groups(tmp_path, "nan", "nan")
    x, _ = offsets_of(load_particle_set(tmp_path / "particles.star", pixel_size_angstrom=2.5))
    assert x.tolist() == pytest.approx([1.2, -1.2, 1.2, -1.2])
    assert main(["validate", str(write_job(tmp_path, job(radius=5, follow="offsets", pixel_size_angstrom=2.5)))]) == 0


def test_relion30_rows_some_without_a_pixel_size_are_refused_naming_them(tmp_path):
    write_mrc(tmp_path / "parts.mrcs", np.ones((4, 16, 16)), voxel_size=1.0)
    star = tmp_path / "particles.star"
    sizes = ("2.0", "nan", "2.0", "0")
    rows = "".join(f"{i}@parts.mrcs {size} 10000\n" for i, size in enumerate(sizes, 1))
    star.write_text(f"data_\nloop_\n_rlnImageName\n_rlnDetectorPixelSize\n_rlnMagnification\n{rows}")
    with pytest.raises(UserError) as refusal:
        load_particle_set(star)
    assert str(refusal.value) == (
        f"{star}: rlnDetectorPixelSize/rlnMagnification: rows 2, 4 give nan and 0 Å, not pixel sizes, where row 1 "
        "gives 2 Å; fix their rlnDetectorPixelSize and rlnMagnification"
    )


def test_an_optics_block_without_rows_defines_none(tmp_path, capsys):
    two_groups(tmp_path)
    star = tmp_path / "particles.star"
    star.write_text(star.read_text().replace("1 og1 2.0 16\n2 og2 1.5 16\n3 og3 1.5 16\n", ""))
    assert refused(tmp_path, capsys, radius=5) == (
        "rlnOpticsGroup: row 1: optics group 01 is not defined in data_optics, which defines none (4 rows in all, of "
        "groups 01, 02); define the group in data_optics or fix the row's rlnOpticsGroup"
    )


def group_splits(monkeypatch) -> list[str]:
    """The splits of the four rows' ``rlnOpticsGroup`` column made from now on (a list that fills as they are)."""
    splits: list[str] = []
    split = Loop.column_bytes

    def counted(loop, name):
        if name == "rlnOpticsGroup" and len(loop) == 4:
            splits.append(name)
        return split(loop, name)

    monkeypatch.setattr(Loop, "column_bytes", counted)
    return splits


def test_a_read_splits_the_rows_optics_groups_once(tmp_path, monkeypatch):
    """Each split is a line of Python per row (0.1 s at 200,000 rows): the groups' pixel sizes, their names and the
    image-size check take them from the one split of the check that every group is defined."""
    star = two_groups(tmp_path, unused="1.5 24")
    splits = group_splits(monkeypatch)
    particles = load_particle_set(star)
    assert particles.pixel_sizes_angstrom == (2.0, 1.5) and len(splits) == 1


def test_origins_in_angstrom_take_the_groups_the_read_matched(tmp_path, monkeypatch):
    """Poses and origins in Å are read per optics group: they matched the rows to data_optics again (a split of the
    column and its check, 0.3 s a million rows), once for the poses and once for the origins of a job that follows
    them; a set read back from a saved plan, whose groups were not kept, still matches them."""
    star = two_groups(tmp_path, second="2.0")
    particles = load_particle_set(star)
    splits = group_splits(monkeypatch)
    assert offsets_of(particles)[0].tolist() == pytest.approx([1.5, -1.5, 1.5, -1.5]) and not splits
    read_back = dataclasses.replace(particles, optics_groups=None)
    assert offsets_of(read_back)[0].tolist() == pytest.approx([1.5, -1.5, 1.5, -1.5]) and len(splits) == 1
