"""The ``volumes.star`` written for a list or glob of maps: every path in it resolves from its own folder."""

from __future__ import annotations

import os

import numpy as np
import starfile

from maskrun.formats.map_set import read_map_paths, write_plain_listing

from conftest import write_mrc


def listing_of(maps, output_dir):
    output_dir.mkdir(parents=True)
    (target,) = write_plain_listing(maps, [f"volumes/{m.path.name}" for m in maps.maps], output_dir)
    return starfile.read(target)


def test_the_original_maps_resolve_from_the_listing_folder_wherever_they_lie(tmp_path):
    jobs, shared = tmp_path / "project" / "MaskJobs", tmp_path / "shared" / "maps"
    for folder in (jobs / "maps", shared):
        folder.mkdir(parents=True)
        write_mrc(folder / f"{folder.parent.name}.mrc", np.zeros((4, 4, 4)))
    maps = read_map_paths(["maps/MaskJobs.mrc", "../../shared/maps/shared.mrc"], jobs, "inputs.volumes")
    out = jobs / "results" / "t"
    table = listing_of(maps, out)
    assert table["rlnImageOriginalName"].tolist() == ["../../maps/MaskJobs.mrc", "../../../../shared/maps/shared.mrc"]
    for name, info in zip(table["rlnImageOriginalName"], maps.maps, strict=True):
        assert os.path.samefile(out / name, info.path)  # as rlnImageName: from the listing's folder


def test_a_map_no_relative_path_reaches_is_named_absolute(tmp_path):
    jobs, elsewhere = tmp_path / "jobs", tmp_path / "elsewhere"
    (jobs / "maps").mkdir(parents=True)
    (elsewhere / "results").mkdir(parents=True)
    (jobs / "results").symlink_to(elsewhere / "results")  # ../../maps from jobs/results/t is elsewhere/maps
    write_mrc(jobs / "maps" / "a.mrc", np.zeros((4, 4, 4)))
    maps = read_map_paths(["maps/a.mrc"], jobs, "inputs.volumes")
    table = listing_of(maps, jobs / "results" / "t")
    assert table["rlnImageOriginalName"].tolist() == [str(jobs / "maps" / "a.mrc")]


def test_a_map_not_found_names_the_folder_its_path_is_written_from(tmp_path):
    """It said 'paths are relative to the job file', words of a job in the formats: the folder is what it knows."""
    import pytest

    from maskrun.errors import UserError

    write_mrc(tmp_path / "a.mrc", np.zeros((4, 4, 4)))
    with pytest.raises(UserError) as refused:
        read_map_paths(["a.mrc", "maps/b.mrc"], tmp_path, "inputs.volumes")
    assert str(refused.value) == (
        f"inputs.volumes: map {tmp_path / 'maps' / 'b.mrc'} not found; check the path (its path is relative to "
        f"{tmp_path})"
    )
