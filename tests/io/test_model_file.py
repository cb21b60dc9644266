"""A model file that is no model, or a gzip file cut short, is refused in one line naming it and what is wrong."""

from __future__ import annotations

import gzip

import gemmi
import numpy as np
import pytest

from maskrun.errors import UserError
from maskrun.io.atomic_model import read_atomic_model
from maskrun.io.model_file import model_format

from commands import digest, maskrun, refused_line
from conftest import write_mrc


def _model(path):
    """A model of three carbon atoms near (5, 5, 5) Å, as PDB or mmCIF by the name (``.gz`` gzipped)."""
    structure = gemmi.Structure()
    model = gemmi.Model(1)
    chain = gemmi.Chain("A")
    for number, xyz in enumerate([(5.0, 5.0, 5.0), (6.5, 5.0, 5.0), (5.0, 6.5, 5.5)], start=1):
        residue = gemmi.Residue()
        residue.name, residue.seqid = "ALA", gemmi.SeqId(number, " ")
        atom = gemmi.Atom()
        atom.name, atom.element, atom.pos = "C", gemmi.Element("C"), gemmi.Position(*xyz)
        residue.add_atom(atom)
        chain.add_residue(residue)
    model.add_chain(chain)
    structure.add_model(model)
    structure.setup_entities()
    plain = path.with_name(path.name.removesuffix(".gz"))
    if plain.suffix == ".pdb":
        structure.write_pdb(str(plain))
    else:
        structure.make_mmcif_document().write_file(str(plain))
    if path.name.endswith(".gz"):
        path.write_bytes(gzip.compress(plain.read_bytes()))
        plain.unlink()
    return path


@pytest.mark.parametrize("name", ["m.pdb.gz", "m.cif.gz"])
@pytest.mark.parametrize("kept", ["all but the trailer", "half"])  # the trailer only: gemmi read every atom
def test_a_truncated_gzip_model_is_refused(tmp_path, name, kept):
    path = _model(tmp_path / name)
    data = path.read_bytes()
    path.write_bytes(data[:-8] if kept == "all but the trailer" else data[: len(data) // 2])
    with pytest.raises(UserError) as refused:
        read_atomic_model(path, field="model.file")
    assert str(refused.value) == (
        f"{path}: model.file: truncated gzip file: its compressed stream ends before gzip's end-of-stream marker; "
        "re-download it, or check it with gunzip -t"
    )


def test_a_gzip_model_with_a_bad_checksum_is_refused(tmp_path):
    path = _model(tmp_path / "m.pdb.gz")
    data = bytearray(path.read_bytes())
    data[-8] ^= 0xFF  # the CRC of the text
    path.write_bytes(bytes(data))
    with pytest.raises(UserError, match=r"m\.pdb\.gz: model\.file: damaged gzip file \(CRC check failed.*gunzip -t"):
        read_atomic_model(path, field="model.file")


def _not_models(tmp_path):
    write_mrc(tmp_path / "map.pdb", np.zeros((8, 8, 8)))
    (tmp_path / "map.pdb.gz").write_bytes(gzip.compress((tmp_path / "map.pdb").read_bytes()))
    (tmp_path / "random.pdb.gz").write_bytes(np.random.default_rng(0).bytes(500))
    (tmp_path / "readme.pdb").write_text("Models for the paper\nsee the methods section\n")
    (tmp_path / "run.cif").write_text("data_optics\nloop_\n_rlnOpticsGroup #1\n1\n")
    (tmp_path / "empty.pdb").write_bytes(b"")
    _model(tmp_path / "model.pdb").rename(tmp_path / "model_pdb.cif")
    (tmp_path / "model.txt").write_text((tmp_path / "model_pdb.cif").read_text())
    return {
        "map.pdb": "not a PDB/mmCIF model: it is an MRC map; give the atomic model (.pdb, .cif) here",
        "map.pdb.gz": "not a PDB/mmCIF model: it is an MRC map; give the atomic model (.pdb, .cif) here",
        "random.pdb.gz": "not a PDB/mmCIF model: it holds binary data, not text; give the atomic model",
        "readme.pdb": "not a PDB/mmCIF model: no line of it is a PDB record (ATOM, HETATM, HEADER…); it begins "
        "'Models for the paper'",
        "run.cif": "not a PDB/mmCIF model: it has no _atom_site table, where an mmCIF model lists its atoms; it "
        "begins 'data_optics'",
        "empty.pdb": "not a PDB/mmCIF model: the file is empty",
        "model_pdb.cif": "not a PDB/mmCIF model: it is PDB text, not mmCIF (it begins",
        "model.txt": "not a PDB/mmCIF model by its name: gemmi tells a model's format by the extension; name it .pdb",
    }


def test_files_that_are_no_model_are_refused_saying_what_they_are(tmp_path):
    for name, words in _not_models(tmp_path).items():
        with pytest.raises(UserError) as refused:
            read_atomic_model(tmp_path / name, field="model.file")
        assert str(refused.value).startswith(f"{tmp_path / name}: model.file: {words}"), refused.value


def test_make_mask_refuses_a_map_named_pdb_and_a_cut_gzip_in_one_line(tmp_path):
    like = write_mrc(tmp_path / "like.mrc", np.zeros((10, 10, 10)), voxel_size=1.0)
    write_mrc(tmp_path / "map.pdb", np.zeros((8, 8, 8)))
    cut = _model(tmp_path / "m.cif.gz")
    cut.write_bytes(cut.read_bytes()[:-8])
    before = digest(tmp_path)
    for model, words in [
        (tmp_path / "map.pdb", "--from-model: not a PDB/mmCIF model: it is an MRC map"),
        (cut, "--from-model: truncated gzip file: "),
    ]:
        line = refused_line(
            maskrun("make-mask", tmp_path / "out.mrc", "--from-model", model, "--like", like, "--radius", "2")
        )
        assert line.startswith(f"maskrun make-mask: error: {model}: {words}"), line
    assert digest(tmp_path) == before


def _cut_pdb(path, columns, tail=""):
    """``_model``'s PDB text cut inside its last ATOM record, after ``columns`` of it, then ``tail``."""
    lines = _model(tmp := path.with_name("whole.pdb")).read_text().splitlines()
    tmp.unlink()
    last = max(number for number, line in enumerate(lines) if line.startswith("ATOM"))
    path.write_text("\n".join([*lines[:last], lines[last][:columns]]) + tail)
    return path


@pytest.mark.parametrize(
    "columns,tail,words",
    [
        (3, "", "its last line, 4, is a record name cut short: 'ATO' (ATOM?)"),
        (50, "", "line 4 is an ATOM record cut at column 50, before its coordinates end (column 54): 'ATOM      3  C"),
        # gemmi counts the line's end in its length: CRLF let 53 columns through, a z of 5.50 read as 5.5
        (53, "\r\nEND\r\n", "line 4 is an ATOM record cut at column 53, before its coordinates end (column 54)"),
        (57, "", "its last line, 4, is an ATOM record cut at column 57, inside its occupancy (columns 55-60)"),
        (63, "\n", "its last line, 4, is an ATOM record cut at column 63, inside its B-factor (columns 61-66)"),
    ],
)
def test_a_pdb_model_cut_inside_a_record_is_refused_naming_the_line(tmp_path, columns, tail, words):
    path = _cut_pdb(tmp_path / "m.pdb", columns, tail)
    gz = tmp_path / "m.pdb.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    for model in (path, gz):
        with pytest.raises(UserError) as refused:
            read_atomic_model(model, field="model.file")
        assert str(refused.value).startswith(f"{model}: model.file: truncated PDB file: {words}"), refused.value
        assert str(refused.value).endswith("; re-download or re-export the model")


def test_make_mask_refuses_a_cut_pdb_model_in_one_line_writing_nothing(tmp_path):
    like = write_mrc(tmp_path / "like.mrc", np.zeros((10, 10, 10)), voxel_size=1.0)
    model = _cut_pdb(tmp_path / "m.pdb", 3)
    before = digest(tmp_path)
    line = refused_line(
        maskrun("make-mask", tmp_path / "out.mrc", "--from-model", model, "--like", like, "--radius", "2")
    )
    assert line == (
        f"maskrun make-mask: error: {model}: --from-model: truncated PDB file: its last line, 4, is a record name "
        "cut short: 'ATO' (ATOM?); re-download or re-export the model"
    )
    assert digest(tmp_path) == before


# records stopping where a field ends, the file without END or a last line end: many tools write them so
# (gemmi counts the line end in a record's length: 54 columns and nothing after are too short to it)
@pytest.mark.parametrize("columns,tail", [(54, "\n"), (60, ""), (66, ""), (78, ""), (78, "\nEND\n")])
def test_a_pdb_model_whose_records_stop_after_a_field_reads_every_atom(tmp_path, columns, tail):
    read = read_atomic_model(_cut_pdb(tmp_path / "m.pdb", columns, tail))
    np.testing.assert_allclose(read.positions_xyz_angstrom, [[5, 5, 5], [6.5, 5, 5], [5, 6.5, 5.5]], atol=1e-3)


@pytest.mark.parametrize("name", ["m.pdb.gz", "m.cif"])
def test_a_sound_model_reads_as_before(tmp_path, name):
    read = read_atomic_model(_model(tmp_path / name))
    np.testing.assert_allclose(read.positions_xyz_angstrom, [[5, 5, 5], [6.5, 5, 5], [5, 6.5, 5.5]], atol=1e-3)


@pytest.mark.parametrize(
    "name,format",
    [
        ("7abc.pdb", "pdb"),
        ("7abc.ENT", "pdb"),
        ("7abc.pdb.gz", "pdb.gz"),
        ("7abc.cif", "mmcif"),
        ("7abc.mmcif.gz", "mmcif.gz"),
        ("model.txt", "unknown"),
        ("model.gz", "unknown"),
    ],
)
def test_model_format_is_read_from_the_name_as_gemmi_reads_it(name, format):
    assert model_format(name) == format
