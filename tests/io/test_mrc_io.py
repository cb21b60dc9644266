"""MRC reading and writing: modes, headers kept, statistics, chunking, atomic writes."""

from __future__ import annotations

import os
from pathlib import Path

import mrcfile
import numpy as np
import pytest

import maskrun
from maskrun.config.fill import FillParams
from maskrun.config.mask_spec import MaskSpec
from maskrun.config.shape_params import Circular, RaisedCosine, Sphere
from maskrun.engine import stream as mask_stream
from maskrun.engine.one_file import mask_mrc_file
from maskrun.errors import RunFailure
from maskrun.io.image_info import MappedRows, read_rows
from maskrun.io.images import inspect_image
from maskrun.io.mrc_writer import MrcStreamWriter

from conftest import write_mrc

CIRCLE = MaskSpec(geometry=Circular(radius=8))


@pytest.mark.parametrize("dtype,mode", [(np.int8, 0), (np.int16, 1), (np.float32, 2), (np.uint16, 6), (np.float16, 12)])
def test_every_supported_mode_reads_as_float32(tmp_path, rng, dtype, mode):
    data = rng.integers(0, 100, (3, 10, 12)).astype(dtype)
    path = write_mrc(tmp_path / f"m{mode}.mrcs", data, mode_dtype=dtype)
    info = inspect_image(path)
    assert info.mode == mode and info.shape_zyx == (3, 10, 12)
    rows = read_rows(info, 1, 3)
    assert rows.dtype == np.float32 and np.array_equal(rows, data[1:3].astype(np.float32))
    if mode not in (2, 12):  # float16 is written back as float16 (tests/engine/test_float16_output.py)
        assert any(f"mode {mode}" in note for note in info.notes)


def test_mapped_rows_read_the_file_as_stored_and_read_only(tmp_path, rng):
    data = rng.normal(size=(7, 6, 5)).astype(">f4")  # big-endian files are read as they are
    path = tmp_path / "s.mrcs"
    with mrcfile.new(path) as mrc:
        mrc.set_data(data)
    with MappedRows(inspect_image(path)) as rows:
        assert np.array_equal(rows.rows(2, 5), data[2:5])
        with pytest.raises(ValueError, match="read-only"):
            rows.rows(0, 1)[0, 0, 0] = 1
        with pytest.raises(IndexError):
            rows.rows(5, 8)


def test_a_stack_truncated_since_its_header_was_read_is_a_run_failure_naming_it(tmp_path):
    path = write_mrc(tmp_path / "s.mrcs", np.ones((8, 16, 16), np.float32))
    info = inspect_image(path)
    os.truncate(path, 1024 + 3 * 16 * 16 * 4)  # another program cut it: mmap would say only "length is greater"
    with pytest.raises(RunFailure, match=f"^{path} is now 4096 bytes, shorter than the 9216 its header said"):
        MappedRows(info)


def test_released_rows_leave_memory_while_the_data_stay_readable(tmp_path):
    path = tmp_path / "big.mrcs"
    with mrcfile.new_mmap(path, (64, 256, 256), mrc_mode=2) as mrc:
        mrc.data[:] = 1
    with MappedRows(inspect_image(path)) as rows:
        resident = []
        for start in range(0, 64, 8):
            assert rows.rows(start, start + 8).sum() == 8 * 256 * 256  # touches every page
            resident.append(_mapped_resident_kb(path))
            rows.release(start, start + 8)
        assert rows.rows(0, 8).sum() == 8 * 256 * 256  # released rows read back from the page cache
    segment_kb = 8 * 256 * 256 * 4 // 1024
    assert segment_kb <= max(resident) <= 2 * segment_kb  # one segment mapped at a time, not 16 MB


def _mapped_resident_kb(path) -> int:
    """Resident kB of this process's mappings of ``path`` (from /proc/self/smaps)."""
    total, inside = 0, False
    with open("/proc/self/smaps") as smaps:
        lines = smaps.readlines()
    for line in lines:
        if line[0] in "0123456789abcdef" and "-" in line.split()[0]:
            inside = line.rstrip().endswith(str(path))
        elif inside and line.startswith("Rss:"):
            total += int(line.split()[1])
    return total


def test_output_keeps_voxel_size_origin_nstart_and_has_true_statistics(tmp_path, rng):
    src = tmp_path / "v.mrc"
    with mrcfile.new(src) as mrc:
        mrc.set_data(rng.normal(5.0, 2.0, (12, 14, 16)).astype(np.int16))
        mrc.voxel_size = (1.7, 1.8, 1.9)
        mrc.header.origin = (10.0, -4.0, 3.5)
        mrc.nstart = (-2, 3, 1)
    out = tmp_path / "o.mrc"
    mask_mrc_file(src, out, mask=MaskSpec(geometry=Sphere(radius=5)), fill=FillParams(**{"with": "avg"}))
    with mrcfile.open(out) as mrc:
        assert mrc.header.mode == 2 and mrc.is_volume()
        assert np.allclose(tuple(mrc.voxel_size.tolist()), (1.7, 1.8, 1.9))
        assert tuple(mrc.header.origin.tolist()) == (10.0, -4.0, 3.5)
        assert tuple(mrc.nstart.tolist()) == (-2, 3, 1)
        data = mrc.data.astype(np.float64)
        assert mrc.header.dmin == pytest.approx(data.min()) and mrc.header.dmax == pytest.approx(data.max())
        assert mrc.header.dmean == pytest.approx(data.mean(), rel=1e-6)
        assert mrc.header.rms == pytest.approx(data.std(), rel=1e-6)
        labels = [bytes(label).decode().strip() for label in mrc.header.label[: mrc.header.nlabl]]
    assert labels[:-1] == list(inspect_image(src).labels)  # the input's labels are kept
    assert labels[-1] == f"maskrun {maskrun.__version__}: masked"  # and ours carries no date


def test_stack_output_keeps_voxel_size_unlike_xmipp(tmp_path, small_stack):
    out = tmp_path / "o.mrcs"
    mask_mrc_file(small_stack, out, mask=CIRCLE)
    with mrcfile.open(out) as mrc:
        assert mrc.is_image_stack() and mrc.voxel_size.x == pytest.approx(1.5)


def test_same_job_twice_gives_identical_bytes(tmp_path, small_stack):
    a, b = tmp_path / "a" / "o.mrcs", tmp_path / "b" / "o.mrcs"
    spec = MaskSpec(geometry=RaisedCosine(inner_radius=4, outer_radius=9))
    mask_mrc_file(small_stack, a, mask=spec, fill=FillParams(**{"with": "avg"}))
    mask_mrc_file(small_stack, b, mask=spec, fill=FillParams(**{"with": "avg"}))
    assert a.read_bytes() == b.read_bytes()


def test_result_does_not_depend_on_chunk_size(tmp_path, small_stack, small_volume, monkeypatch):
    whole = tmp_path / "whole.mrcs"
    mask_mrc_file(small_stack, whole, mask=CIRCLE, fill=FillParams(**{"with": "max"}))
    whole_vol = tmp_path / "whole.mrc"
    sphere = MaskSpec(geometry=Sphere(radius=6))
    mask_mrc_file(small_volume, whole_vol, mask=sphere, fill=FillParams(**{"with": "avg"}))
    monkeypatch.setattr(mask_stream, "BLOCK_BYTES", 1)  # one image / one z-slice per block and per buffer
    monkeypatch.setattr(mask_stream, "BUFFER_BYTES", 1)
    split, split_vol = tmp_path / "split.mrcs", tmp_path / "split.mrc"
    mask_mrc_file(small_stack, split, mask=CIRCLE, fill=FillParams(**{"with": "max"}))
    mask_mrc_file(small_volume, split_vol, mask=sphere, fill=FillParams(**{"with": "avg"}))
    assert mrcfile.read(split).tobytes() == mrcfile.read(whole).tobytes()
    assert np.allclose(mrcfile.read(split_vol), mrcfile.read(whole_vol), rtol=0, atol=1e-6)


def test_failed_write_leaves_neither_final_nor_temporary_file(tmp_path):
    out = tmp_path / "o.mrcs"
    with pytest.raises(RuntimeError), MrcStreamWriter(out, (3, 4, 4), "stack") as writer:
        writer.write(np.zeros((2, 4, 4), np.float32))
        raise RuntimeError("killed half-way")
    assert list(tmp_path.iterdir()) == []


def test_incomplete_write_is_not_committed(tmp_path):
    out = tmp_path / "o.mrcs"
    writer = MrcStreamWriter(out, (3, 4, 4), "stack")
    writer.write(np.zeros((2, 4, 4), np.float32))
    with pytest.raises(ValueError, match="wrote 2 of 3 rows"):
        writer.commit()
    writer.abort()
    assert list(tmp_path.iterdir()) == []


def test_truncated_file_is_a_user_error(tmp_path, rng):
    path = write_mrc(tmp_path / "t.mrcs", rng.normal(size=(3, 8, 8)))
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(Exception, match="truncated: the header promises 3 x 8 x 8 float32"):
        inspect_image(path)


def _through_mrcfile(monkeypatch, path):
    from maskrun.io import mrc_reader

    monkeypatch.setattr(mrc_reader, "_plain_header", lambda head: (None, []))
    info = mrc_reader.inspect_mrc(path)
    monkeypatch.undo()
    return info


def test_a_plain_header_reads_as_mrcfile_reads_it_and_odd_ones_go_through_mrcfile(tmp_path, rng, monkeypatch):
    from maskrun.io.mrc_reader import inspect_mrc

    plain = write_mrc(
        tmp_path / "plain.mrcs", rng.normal(size=(3, 8, 8)).astype(np.float32), voxel_size=1.5, stack=True
    )
    with mrcfile.open(plain, "r+") as mrc:
        mrc.header.origin = (1.0, 2.0, 3.0)
        mrc.header.nxstart = 4
    assert inspect_mrc(plain) == _through_mrcfile(monkeypatch, plain)
    big = tmp_path / "big.mrc"  # big-endian, as old SGI and some EMAN2 files are
    with mrcfile.new(big) as mrc:
        mrc.set_data(np.arange(64, dtype=">f4").reshape(4, 4, 4))
    bad_id = tmp_path / "bad_id.mrc"
    raw = bytearray(plain.read_bytes())
    raw[208:212] = b"XXXX"
    bad_id.write_bytes(bytes(raw))
    for odd in (big, bad_id):
        info = inspect_mrc(odd)
        assert info == _through_mrcfile(monkeypatch, odd)
    assert inspect_mrc(big).dtype == np.dtype(">f4")
    assert "no MAP ID in its header (some programs write none): read as MRC" in inspect_mrc(bad_id).notes


def _with_header_bytes(source, path, where: slice, value: bytes):
    raw = bytearray(source.read_bytes())
    raw[where] = value
    path.write_bytes(bytes(raw))
    return path


def test_a_header_without_map_id_or_machine_stamp_is_noted_in_maskruns_words(tmp_path, rng):
    """A RELION user's look: a valid older RELION stack (no "MAP ", a zero stamp) was noted as mrcfile says it, "Map
    ID string not found - not an MRC file, or file is corrupt", and "Unrecognised machine stamp: 0x00 ..."."""
    from maskrun.io.mrc_reader import inspect_mrc

    data = rng.normal(size=(3, 8, 8)).astype(np.float32)
    plain = write_mrc(tmp_path / "plain.mrcs", data, stack=True)
    old = _with_header_bytes(plain, tmp_path / "old.mrcs", slice(208, 216), bytes(8))  # as relion31.mrcs
    assert inspect_mrc(old).notes[:2] == (
        "no MAP ID in its header (some programs write none): read as MRC",
        "no machine stamp in its header (some programs write none): read as little-endian",
    )
    odd = _with_header_bytes(plain, tmp_path / "odd.mrcs", slice(212, 216), b"\x12\x34\x00\x00")
    assert (
        inspect_mrc(odd).notes[0]
        == "its header's machine stamp 0x12 0x34 0x00 0x00 names no byte order: read as little-endian"
    )
    big = tmp_path / "big.mrcs"
    with mrcfile.new(big) as mrc:
        mrc.set_data(data.astype(">f4"))
    unstamped = _with_header_bytes(big, tmp_path / "unstamped.mrcs", slice(212, 216), bytes(4))
    # a stamp that says little-endian: "MAP\0" (read as MAP, as mrcfile reads it) takes it through mrcfile
    wrong = _with_header_bytes(big, tmp_path / "wrong.mrcs", slice(208, 216), b"MAP\x00\x44\x44\x00\x00")
    assert (
        inspect_mrc(unstamped).notes[0]
        == "no machine stamp in its header (some programs write none): read as big-endian"
    )
    assert (
        inspect_mrc(wrong).notes[0]
        == "its header's machine stamp says little-endian, but its mode reads only as big-endian: read so"
    )
    for path in (old, odd, unstamped, wrong):
        info = inspect_mrc(path)
        assert not any("corrupt" in n or "Unrecognised" in n or "Machine stamp" in n for n in info.notes), info.notes
        np.testing.assert_array_equal(read_rows(info, 0, 3), data)


def test_every_shared_mrc_header_reads_the_same_both_ways(monkeypatch):
    from maskrun.io.mrc_reader import inspect_mrc

    from conftest import shared_path

    paths = [
        p
        for folder in ("data/public", "golden/xmipp", "golden/relion_mask_create")
        for p in sorted(shared_path(*folder.split("/")).glob("*"))
        if p.suffix in (".mrc", ".mrcs", ".map")
    ]
    assert len(paths) > 20
    for path in paths:
        assert inspect_mrc(path) == _through_mrcfile(monkeypatch, path), path


def test_an_mrc_name_is_told_by_its_suffix_as_pathlib_tells_it():
    """`named_mrc` reads the suffix without building a path (thousands of stacks a plan): as ``Path.suffix``."""
    from maskrun.io.mrc_reader import MRC_SUFFIXES, named_mrc

    names = ["a.mrcs", "A.MRC.gz", "a.map.GZ", ".mrc", ".mrcs.gz", "..mrcs", "a..mrc", "a.mrcs.", "a.mrcsx", "mrc"]
    names += ["a.gz", ".gz", "a.mrc.gz.gz", "a.rec", "x.st", "b.ali.gz", "a.spi", "a.mrc ", "dir.mrc/a"]
    told = {name: named_mrc(Path(name)) for name in names}
    assert told == {name: Path(Path(name).name.lower().removesuffix(".gz")).suffix in MRC_SUFFIXES for name in names}
    assert [name for name, said in told.items() if said] == [
        "a.mrcs", "A.MRC.gz", "a.map.GZ", "..mrcs", "a..mrc", "a.rec", "x.st", "b.ali.gz"
    ]  # fmt: skip
