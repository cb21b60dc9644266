"""What a cryoSPARC user is told of a ``.cs`` that cannot be read as it is (the cryoSPARC v4 user's look).

Each said less, or the wrong thing: a stack missing among found ones was blamed on the project
folder; a ``>`` path not beside the ``.cs`` said only "file not found"; a text or gzip file was
"a pickled column"; ``blob/shape`` was "2 float32"; a ``blob/idx`` beyond its stack was named as
a STAR reference (``'100@…'``); the CSDAT refusal lacked cryosparc-tools' conversion; repeated
``uid``s passed silently.
"""

from __future__ import annotations

import gzip
import warnings

import numpy as np
import numpy.lib.recfunctions
import pytest

from maskrun.cli.main import main
from maskrun.errors import CompanionStarWarning, MaskrunWarning

from conftest import write_mrc
from job_files import validate_refuses, write_job

PER_STACK = 5


def job(particles: str, **inputs) -> dict:
    circle = {"source": "geometry", "geometry": {"shape": "circular", "radius": 3}}
    return {"version": 1, "name": "t", "inputs": {"particles": particles, **inputs}, "mask": circle}


def project(folder, stacks: int = 4, beside: bool = False):
    """``P1/J12/extracted_particles.cs`` of ``stacks`` stacks of 5 images: project-relative
    (``J12/extract/…``), or ``>``-relative (``>extract/…``) when ``beside``. Returns the ``.cs``."""
    job_folder = folder / "P1" / "J12"
    (job_folder / "extract").mkdir(parents=True)
    for s in range(stacks):
        write_mrc(job_folder / "extract" / f"{s:06d}_mic.mrc", np.zeros((PER_STACK, 8, 8), np.float32), stack=True)
    fields = [("uid", "<u8"), ("blob/path", "S40"), ("blob/idx", "<u4"), ("blob/shape", "<u4", (2,))]
    fields += [("blob/psize_A", "<f4"), ("ctf/accel_kv", "<f4"), ("ctf/cs_mm", "<f4"), ("ctf/amp_contrast", "<f4")]
    fields += [("ctf/df1_A", "<f4"), ("ctf/df2_A", "<f4"), ("ctf/df_angle_rad", "<f4")]
    records = np.zeros(stacks * PER_STACK, dtype=fields)
    records["uid"] = np.arange(len(records)) + 100
    prefix = ">" if beside else "J12/"
    records["blob/path"] = [f"{prefix}extract/{i // PER_STACK:06d}_mic.mrc".encode() for i in range(len(records))]
    records["blob/idx"] = np.arange(len(records)) % PER_STACK
    records["blob/shape"] = 8
    records["blob/psize_A"], records["ctf/accel_kv"], records["ctf/cs_mm"] = 1.5, 300, 2.7
    records["ctf/amp_contrast"], records["ctf/df1_A"], records["ctf/df2_A"] = 0.1, 15000, 14800
    return save(job_folder / "extracted_particles.cs", records)


def save(path, records):
    with open(path, "wb") as file:
        np.save(file, records)
    return path


def refusal(folder, particles, capsys, **inputs) -> str:
    return validate_refuses(write_job(folder, job(str(particles), **inputs)), capsys)


def test_a_stack_missing_among_found_ones_is_said_missing_not_blamed_on_the_project_folder(tmp_path, capsys):
    """It said "give the cryoSPARC project folder as inputs.project_dir (the one holding J12/)": P1 holds J12/,
    and 3 of the 4 stacks were found there."""
    cs = project(tmp_path)
    (cs.parent / "extract" / "000002_mic.mrc").unlink()
    assert refusal(tmp_path, cs, capsys) == (
        f"maskrun validate: error: {cs}: blob/path: row 11 (index 10): stack 'J12/extract/000002_mic.mrc' not found "
        f"in {tmp_path / 'P1'}, where 3 of its 4 stacks are; restore it, or fix the path"
    )
    (cs.parent / "extract" / "000000_mic.mrc").unlink()
    assert refusal(tmp_path, cs, capsys).endswith(
        f"row 1 (index 0): stack 'J12/extract/000000_mic.mrc' not found in {tmp_path / 'P1'}, where 2 of its 4 "
        "stacks are; 2 are missing: restore them, or fix the paths"
    )


def test_a_set_whose_stacks_are_all_elsewhere_is_still_told_of_the_project_folder(tmp_path, capsys):
    cs = project(tmp_path)
    away = tmp_path / "away" / "extracted_particles.cs"
    away.parent.mkdir()
    cs.rename(away)
    assert refusal(tmp_path, away, capsys).endswith(
        "; give the cryoSPARC project folder as inputs.project_dir (the one holding J12/)"
    )


def test_a_cs_copied_away_from_its_stacks_is_told_what_the_arrow_means(tmp_path, capsys):
    """It said only "…/extract/000000_mic.mrc: file not found; check the path", naming neither the .cs nor the row."""
    cs = project(tmp_path, beside=True)
    away = tmp_path / "away" / "particles.cs"
    away.parent.mkdir()
    away.write_bytes(cs.read_bytes())
    assert refusal(tmp_path, away, capsys) == (
        f"maskrun validate: error: {away}: blob/path: row 1 (index 0): stack '>extract/000000_mic.mrc' not found: "
        f"'>' paths are in the .cs's own folder, and {away.parent / 'extract' / '000000_mic.mrc'} is not there, nor "
        "are its other 3 stacks; keep the .cs beside its stacks: give the one in their folder, or copy them beside it"
    )
    (cs.parent / "extract" / "000003_mic.mrc").unlink()
    assert refusal(tmp_path, cs, capsys).endswith(
        f"row 16 (index 15): stack '>extract/000003_mic.mrc' not found: '>' paths are in the .cs's own folder, and "
        f"{cs.parent / 'extract' / '000003_mic.mrc'} is not there; restore it, or fix the path"
    )


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (
            b"data_optics\nloop_\n_rlnOpticsGroup\n1\n",
            "is text, not a cryoSPARC .cs (a binary NumPy file): it begins 'data_optics'; it looks like a RELION "
            "STAR file: name it .star",
        ),
        (
            gzip.compress(b"anything"),
            "is gzip-compressed, not a cryoSPARC .cs (a NumPy file): decompress it (gunzip) and give the file inside",
        ),
        (
            bytes(np.random.default_rng(0).integers(0, 256, 2000, dtype=np.uint8)),
            "is not a NumPy file (no NumPy header), so no cryoSPARC .cs: damaged, or another kind; copy the file "
            "again, or export it again from cryoSPARC",
        ),
    ],
    ids=["text", "gzip", "random"],
)
def test_a_file_that_is_no_numpy_file_is_told_what_it_is(tmp_path, capsys, content, said):
    """Each was said to "store Python objects (a pickled column)": NumPy's pickle fallback for what is not .npy."""
    (tmp_path / "p.cs").write_bytes(content)
    assert refusal(tmp_path, "p.cs", capsys) == f"maskrun validate: error: {tmp_path / 'p.cs'}: {said}"


def test_the_csdat_refusal_gives_cryosparc_tools_conversion(tmp_path, capsys):
    (tmp_path / "J7_particles.cs").write_bytes(b"\x95CSDAT" + bytes(100))
    assert refusal(tmp_path, "J7_particles.cs", capsys).endswith(
        "or convert it with cryosparc-tools: Dataset.load('J7_particles.cs').save('J7_particles_numpy.cs') writes one"
    )


def with_field(cs, name, dtype):
    """The ``.cs`` with ``name`` replaced (or added) as ``dtype`` (zeros)."""
    records = np.load(cs)
    kept = [name_ for name_ in records.dtype.names if name_ != name]
    out = np.zeros(len(records), dtype=[*np.lib.recfunctions.repack_fields(records[kept]).dtype.descr, (name, *dtype)])
    for name_ in kept:
        out[name_] = records[name_]
    return save(cs, out)


def test_a_field_of_the_wrong_type_names_the_type_cryosparc_writes(tmp_path, capsys):
    """blob/shape and ctf/exp_group_id are uint32 in cryoSPARC; the refusal said float32."""
    cs = with_field(project(tmp_path), "blob/shape", ("<u4",))
    assert refusal(tmp_path, cs, capsys).endswith(
        "blob/shape: must be 2 numbers per row, not uint32; cryoSPARC writes 2 uint32 here"
    )
    with_field(cs, "blob/shape", ("<u4", (2,)))
    with_field(cs, "ctf/exp_group_id", ("<u4", (2,)))
    assert refusal(tmp_path, cs, capsys).endswith(
        "ctf/exp_group_id: must be a number (one per row), not ('<u4', (2,)); cryoSPARC writes uint32 here"
    )


def test_an_index_beyond_its_stack_is_named_as_the_cs_holds_it(tmp_path, capsys):
    """blob/idx 99 was said as '100@J12/…', the STAR's 1-based reference the .cs does not hold."""
    cs = project(tmp_path)
    records = np.load(cs)
    records["blob/idx"][7] = 99
    save(cs, records)
    assert refusal(tmp_path, cs, capsys).endswith(
        "blob/idx: row 8 (index 7): 99 is beyond the end of 000001_mic.mrc, which holds 5 images; fix the index or "
        "the stack"
    )


def repeated_uid(cs):
    records = np.load(cs)
    records["uid"][3] = records["uid"][2]
    return save(cs, records)


def test_a_repeated_uid_is_warned_of(tmp_path, capsys):
    """cryoSPARC keys particles by uid: two rows of one uid are one particle to it. They passed silently."""
    cs = repeated_uid(project(tmp_path))
    assert main(["validate", str(write_job(tmp_path, job(str(cs))))]) == 0
    assert (
        f"maskrun: warning: {cs}: uid 102 is in row 3 (index 2) and row 4 (index 3): cryoSPARC keys particles by "
        "uid, so rows that share one are one particle to it; each row is masked and written back as it is; if they "
        "are one particle twice, keep one row of each uid"
    ) in capsys.readouterr().err


def test_a_passthrough_repeating_a_particles_uid_is_refused_and_one_repeated_in_the_set_joins(tmp_path, capsys):
    """Joined on uid, a passthrough with one particle's uid in two rows gives that particle either row's fields."""
    cs = project(tmp_path)
    records = np.load(cs)
    passthrough = np.zeros(len(records), dtype=[("uid", "<u8"), ("location/micrograph_path", "S20")])
    passthrough["uid"] = records["uid"][::-1]
    passthrough["location/micrograph_path"] = [f"J3/mic_{i}.mrc".encode() for i in range(len(records))]
    given = save(cs.parent / "J12_passthrough_particles.cs", np.concatenate([passthrough, passthrough[2:3]]))
    assert refusal(tmp_path, cs, capsys, passthrough=str(given)) == (
        f"maskrun validate: error: {given}: uid: {passthrough['uid'][2]} is in row 3 (index 2) and row 21 (index 20): "
        "the passthrough is joined on uid, and which of its rows goes with that particle is ambiguous; give the "
        "passthrough the particles' own job wrote (cryoSPARC writes each uid once)"
    )
    save(given, passthrough)
    repeated_uid(cs)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from maskrun.formats.registry import load_particle_set

        particles = load_particle_set(cs, passthrough=given)
    said = [str(w.message) for w in caught if not issubclass(w.category, CompanionStarWarning)]
    assert [w.category for w in caught if str(w.message) in said] == [MaskrunWarning]
    assert "uid 102 is in row 3 (index 2) and row 4 (index 3)" in said[0]
    micrographs = particles.rows.column("rlnMicrographName")
    assert micrographs[2] == micrographs[3] == "J3/mic_17.mrc"  # the passthrough's row of uid 102, reversed
