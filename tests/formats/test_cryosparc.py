"""cryoSPARC .cs particle sets: read, masked, and written back as .cs (blob fields only) with a RELION STAR."""

from __future__ import annotations

import shutil
import subprocess
import warnings

import mrcfile
import numpy as np
import pytest
import starfile
import yaml

from maskrun.cli.main import main
from maskrun.config.optics import Optics
from maskrun.errors import MaskrunWarning
from maskrun.formats.cryosparc import star_tables
from maskrun.io.star import write_metadata
from maskrun.jobs.runner import run_job

from conftest import shared_path, write_mrc
from job_files import validate_refuses, write_job

MASK = {"source": "geometry", "geometry": {"shape": "raised_cosine", "inner_radius": 100, "outer_radius": 130}}


def job(particles: str, **inputs) -> dict:
    return {
        "version": 1,
        "name": "cs",
        "inputs": {"particles": particles, **inputs},
        "mask": MASK,
        "fill": {"with": "avg"},
        "batch_size": 3,
    }


@pytest.fixture
def empiar(tmp_path):
    for name in ("empiar_10076_7.cs", "empiar_10076_7.mrc", "empiar_10076_7.star"):
        shutil.copy(shared_path("data", "public", name), tmp_path / name)
    return tmp_path


def all_images(output_dir, star_name="particles.star", project=None):
    """The images an output STAR names, its paths read from ``project`` (as RELION run there would), else its folder."""
    blocks = starfile.read(output_dir / star_name, always_dict=True)
    names = next(b for b in blocks.values() if "rlnImageName" in getattr(b, "columns", ()))["rlnImageName"]

    def image(name):
        index, stack = name.split("@")
        data = mrcfile.read((project or output_dir) / stack)
        return data.reshape(-1, *data.shape[-2:])[int(index) - 1]

    return np.array([image(name) for name in names])


def test_a_cs_set_runs_and_matches_the_same_particles_through_star(empiar):
    from_cs = run_job(write_job(empiar, job("empiar_10076_7.cs"), "cs.yaml")).output_dir
    star_job = job("empiar_10076_7.star") | {"name": "star"}
    from_star = run_job(write_job(empiar, star_job, "star.yaml")).output_dir
    # the STAR route's references are relative to the input's folder, as the input's were
    np.testing.assert_array_equal(all_images(from_cs), all_images(from_star, project=empiar))
    original, masked = np.load(empiar / "empiar_10076_7.cs"), np.load(from_cs / "particles.cs", allow_pickle=False)
    assert masked.dtype.names == original.dtype.names and len(masked) == 7
    for name in original.dtype.names:
        if not name.startswith("blob/path"):
            assert masked.dtype.fields[name][0] == original.dtype.fields[name][0], name
        if name not in ("blob/path", "blob/idx", "blob/shape"):
            assert masked[name].tobytes() == original[name].tobytes(), name
    assert list(masked["blob/path"][:4]) == [b">stacks/batch_00001.mrcs"] * 3 + [b">stacks/batch_00002.mrcs"]
    assert list(masked["blob/idx"]) == [0, 1, 2, 0, 1, 2, 0]
    star = starfile.read(from_cs / "particles.star")
    assert float(star["optics"]["rlnImagePixelSize"][0]) == pytest.approx(1.31, abs=1e-4)
    assert star["particles"]["rlnDefocusU"].iloc[0] == pytest.approx(15301.1, abs=0.01)


def test_the_refinement_cs_validates_until_its_missing_stacks(tmp_path, capsys):
    source = shared_path("data", "public", "cryosparc_P12_J24_001_particles.cs")
    shutil.copy(source, tmp_path / "particles.cs")
    assert main(["validate", str(write_job(tmp_path, job("particles.cs")))]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "stack 'J19/extract/20150917_05196_DNA-TET-25k-DE20_raw.region_000" in err[0]
    assert "give the cryoSPARC project folder as inputs.project_dir" in err[0]


def test_a_project_dir_that_is_not_a_folder_is_refused(empiar, capsys):
    """A wrong inputs.project_dir is no longer passed over in silence (the stacks found elsewhere)."""
    (empiar / "a_file").write_text("")
    for given, words in (("no_such_dir", "no such folder"), ("a_file", "is a file, not a folder")):
        line = validate_refuses(write_job(empiar, job("empiar_10076_7.cs", project_dir=given)), capsys)
        assert line.startswith(f"maskrun validate: error: {empiar / given}: inputs.project_dir: {words}; "), line
        assert "give the project folder the set's relative stack paths start from" in line
        assert "or leave it out to have it found upward from the set" in line


def test_a_zero_row_cs_and_a_cs_without_blobs_exit_2(empiar, capsys):
    records = np.load(empiar / "empiar_10076_7.cs")
    with open(empiar / "empty.cs", "wb") as file:
        np.save(file, records[:0])
    no_blob = records[[n for n in records.dtype.names if not n.startswith("blob/")]]
    with open(empiar / "noblob.cs", "wb") as file:
        np.save(file, np.ascontiguousarray(no_blob))
    for name, words in (("empty.cs", "holds no particles (0 rows)"), ("noblob.cs", "has no blob/path, blob/idx")):
        assert main(["validate", str(write_job(empiar, job(name), f"{name}.yaml"))]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and words in err[0]


def test_paths_relative_to_the_project_and_a_passthrough_joined_on_uid(empiar, tmp_path):
    project = tmp_path / "P1"
    (project / "J5" / "extract").mkdir(parents=True)
    shutil.move(empiar / "empiar_10076_7.mrc", project / "J5" / "extract" / "particles.mrc")
    records = np.load(empiar / "empiar_10076_7.cs")
    records["blob/path"] = b"J5/extract/particles.mrc"
    (project / "J7").mkdir()
    with open(project / "J7" / "particles.cs", "wb") as file:
        np.save(file, records[::-1])  # another order: the join is on uid
    location = np.zeros(7, dtype=[("uid", "<u8"), ("location/micrograph_path", "S20")])
    location["uid"] = records["uid"]
    location["location/micrograph_path"] = [f"J2/mic_{i}.mrc".encode() for i in range(7)]
    with open(project / "J7" / "passthrough.cs", "wb") as file:
        np.save(file, location)
    out = run_job(write_job(project / "J7", job("particles.cs", passthrough="passthrough.cs"))).output_dir
    star = starfile.read(out / "particles.star")["particles"]
    assert list(star["rlnMicrographName"]) == [f"J2/mic_{i}.mrc" for i in range(6, -1, -1)]
    assert len(np.load(out / "particles.cs").dtype.names) == len(records.dtype.names)  # passthrough fields stay out


def save(path, records):
    with open(path, "wb") as file:
        np.save(file, records, allow_pickle=records.dtype.hasobject)
    return path.name


def refused(folder, name, capsys) -> str:
    """``maskrun validate`` on a job for ``name``: exit 2, one line, the folder's files unchanged."""
    return validate_refuses(write_job(folder, job(name), f"{name}.yaml"), capsys)


def test_an_empty_or_truncated_cs_exits_2_naming_the_file(empiar, capsys):
    (empiar / "empty.cs").write_bytes(b"")
    assert f"{empiar / 'empty.cs'}: is empty (0 bytes)" in refused(empiar, "empty.cs", capsys)
    (empiar / "cut.cs").write_bytes((empiar / "empiar_10076_7.cs").read_bytes()[:900])
    line = refused(empiar, "cut.cs", capsys)
    assert "cut.cs: cannot be read as a cryoSPARC .cs (a NumPy file)" in line
    assert line.endswith("; copy the file again, or export it again from cryoSPARC")
    whole = (empiar / "empiar_10076_7.cs").read_bytes()
    (empiar / "short.cs").write_bytes(whole[: len(whole) - 300])  # the header whole, rows missing
    line = refused(empiar, "short.cs", capsys)
    assert "could only read" in line and line.endswith("; copy the file again, or export it again from cryoSPARC")


def test_a_negative_blob_idx_is_refused_when_validating(empiar, capsys):
    records = np.load(empiar / "empiar_10076_7.cs")
    fields = [(n, "<i4" if n == "blob/idx" else records.dtype[n]) for n in records.dtype.names]
    signed = records.astype(fields)
    signed["blob/idx"][[2, 4]] = -1
    line = refused(empiar, save(empiar / "signed.cs", signed), capsys)
    assert "signed.cs: blob/idx: row 3 (index 2): -1 is negative (2 rows in all)" in line and "fix the index" in line


def test_a_blob_path_not_utf8_or_stored_as_objects_is_refused(empiar, capsys):
    records = np.load(empiar / "empiar_10076_7.cs")
    records["blob/path"][1] = b"caf\xe9.mrc"
    line = refused(empiar, save(empiar / "latin1.cs", records), capsys)
    assert "latin1.cs: blob/path: row 2 (index 1): b'caf\\xe9.mrc' is not UTF-8 text" in line
    objects = np.zeros(7, dtype=[("uid", "<u8"), ("blob/path", "O"), ("blob/idx", "<u4")])
    objects["blob/path"] = "empiar_10076_7.mrc"
    assert "stores Python objects" in refused(empiar, save(empiar / "objects.cs", objects), capsys)


def test_a_unicode_blob_path_is_read_and_written_back_as_bytes(empiar):
    records = np.load(empiar / "empiar_10076_7.cs")
    fields = [(n, "<U70" if n == "blob/path" else records.dtype[n]) for n in records.dtype.names]
    save(empiar / "unicode.cs", records.astype(fields))
    out = run_job(write_job(empiar, job("unicode.cs"), "unicode.yaml")).output_dir
    from_star = run_job(write_job(empiar, job("empiar_10076_7.star") | {"name": "star"}, "star.yaml")).output_dir
    np.testing.assert_array_equal(all_images(out), all_images(from_star, project=empiar))
    written = np.load(out / "particles.cs", allow_pickle=False)
    assert written.dtype["blob/path"].kind == "S" and written["blob/path"][0] == b">stacks/batch_00001.mrcs"


def without_optics(folder):
    """The example's .cs without ctf/accel_kv, ctf/cs_mm and ctf/amp_contrast, as ``bare.cs``."""
    records = np.load(folder / "empiar_10076_7.cs")
    kept = [n for n in records.dtype.names if n not in ("ctf/accel_kv", "ctf/cs_mm", "ctf/amp_contrast")]
    return save(folder / "bare.cs", np.ascontiguousarray(records[kept]))


def test_a_cs_without_optics_warns_naming_the_fields_and_the_fix(empiar, capsys):
    job_file = write_job(empiar, job(without_optics(empiar)))
    assert main(["validate", str(job_file)]) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("maskrun: warning:")]
    assert len(warnings) == 1
    assert "has no ctf/accel_kv, ctf/cs_mm, ctf/amp_contrast" in warnings[0] and "RELION refuses it" in warnings[0]
    assert warnings[0].endswith(
        "give them as inputs.optics, with your microscope's values, e.g. "
        "{voltage_kv: 300, cs_mm: 2.7, amplitude_contrast: 0.1}"
    )  # an example to replace, not values to copy


def test_a_refused_job_prints_its_error_line_only(empiar, capsys):
    """The companion STAR's warning is noise beside a refusal: the job writes no STAR."""
    write_mrc(empiar / "small_mask.mrc", np.ones((1, 64, 64)))
    data = job(without_optics(empiar)) | {"mask": {"source": "file", "file": "small_mask.mrc"}}
    line = validate_refuses(write_job(empiar, data), capsys)  # one line, nothing written
    assert "mask.file: mask is 64 × 64 × 1 (x × y × z) but the images are 320 × 320" in line


def test_project_mask_and_make_mask_do_not_warn_of_a_star_they_do_not_write(tmp_path, capsys):
    """make-mask --like the set warned that "the RELION particles.star written beside it" lacked them, and proposed a
    job's inputs.optics."""
    from pose_sets import random_poses, soft_ellipsoid, write_cs

    cs = write_cs(tmp_path, random_poses(3), 32)
    records = np.load(cs)
    kept = [n for n in records.dtype.names if n not in ("ctf/accel_kv", "ctf/cs_mm", "ctf/amp_contrast")]
    save(cs, np.ascontiguousarray(records[kept]))
    write_mrc(tmp_path / "mask3d.mrc", soft_ellipsoid(32), stack=False)
    assert main(["validate", str(write_job(tmp_path, job(cs.name)))]) == 0
    assert "has no ctf/accel_kv" in capsys.readouterr().err  # a job writes the STAR: it is warned of
    out = tmp_path / "masks.mrcs"
    assert main(["project-mask", str(tmp_path / "mask3d.mrc"), str(cs), str(out)]) == 0
    said = capsys.readouterr().err.splitlines()  # the off-centre ellipsoid reaches the 32 px box's edge: said so
    assert [line for line in said if "reach the box edge" not in line] == [] and mrcfile.read(out).shape == (3, 32, 32)
    disc = tmp_path / "disc.mrc"
    assert main(["make-mask", str(disc), "--shape", "circular", "--radius", "8", "--like", str(cs)]) == 0
    assert capsys.readouterr().err == "" and mrcfile.read(disc).shape == (32, 32)


@pytest.mark.parametrize(
    ("optics", "words"),
    [
        ({"voltage_kv": 3}, "inputs.optics.voltage_kv"),
        ({"cs_mm": -1}, "inputs.optics.cs_mm"),
        ({"amplitude_contrast": 7}, "inputs.optics.amplitude_contrast"),
        ({"voltage": 300}, "did you mean 'voltage_kv'?"),
        ({"cs_mm": ".nan"}, "inputs.optics.cs_mm"),
    ],
)
def test_inputs_optics_out_of_range_exits_2(empiar, capsys, optics, words):
    text = yaml.safe_dump(job("empiar_10076_7.cs", optics=optics)).replace("'.nan'", ".nan")
    assert main(["validate", str(write_job(empiar, text))]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0]


def relion_reads(star, folder) -> int:
    """Exit status of RELION 3.1.3 reading every particle of ``star`` through its optics group."""
    if shutil.which("relion_image_handler") is None:
        pytest.skip("RELION 3.1.3 is not installed")
    done = subprocess.run(
        ["relion_image_handler", "--i", star.name, "--o", "stats", "--stats"], cwd=folder, capture_output=True
    )
    return done.returncode


def test_relion_reads_the_star_with_supplied_optics_and_refuses_it_without(empiar):
    without_optics(empiar)
    with pytest.warns(MaskrunWarning, match="has no ctf/accel_kv"):
        out = run_job(write_job(empiar, job("bare.cs"))).output_dir
    records = np.load(out / "particles.cs")
    names = [f"{i + 1}@{bytes(p).decode()[1:]}" for i, p in zip(records["blob/idx"], records["blob/path"])]
    supplied = Optics(voltage_kv=300, cs_mm=2.7, amplitude_contrast=0.1)
    write_metadata(star_tables(records, names, 1.31, 320, optics=supplied), out / "supplied.star", ["# version 30001"])
    optics = starfile.read(out / "supplied.star")["optics"]
    assert (optics["rlnVoltage"][0], optics["rlnSphericalAberration"][0], optics["rlnAmplitudeContrast"][0]) == (
        300,
        2.7,
        0.1,
    )
    assert relion_reads(out / "supplied.star", out) == 0
    assert relion_reads(out / "particles.star", out) == 1


def test_the_cs_own_optics_win_over_inputs_optics(empiar):
    records = np.load(empiar / "empiar_10076_7.cs")
    blocks = star_tables(records, ["1@a.mrc"] * 7, 1.31, 320, optics=Optics(voltage_kv=200, cs_mm=0.01))
    assert blocks["optics"].column("rlnVoltage")[0] == f"{float(records['ctf/accel_kv'][0]):.6f}"


def test_a_job_with_inputs_optics_writes_a_star_relion_reads(empiar):
    without_optics(empiar)
    optics = {"voltage_kv": 300, "cs_mm": 2.7, "amplitude_contrast": 0.1}
    out = run_job(write_job(empiar, job("bare.cs", optics=optics))).output_dir
    assert relion_reads(out / "particles.star", out) == 0


def test_a_stack_name_too_long_for_the_filesystem_is_a_missing_stack_exit_2(tmp_path, capsys):
    assert main(["example", "particles", "--format", "cs", "--write", str(tmp_path)]) == 0
    capsys.readouterr()
    records = np.load(tmp_path / "particles.cs")
    fields = [(n, "S400" if n == "blob/path" else records.dtype[n]) for n in records.dtype.names]
    long_named = records.astype(fields)
    long_named["blob/path"][0] = b"y" * 300 + b".mrcs"  # ENAMETOOLONG from the filesystem
    save(tmp_path / "particles.cs", long_named)
    assert main(["validate", str(tmp_path / "particles.yaml")]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "blob/path: stack 'yyy" in err and "not found" in err


def shape_warnings(caught) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, MaskrunWarning) and "blob/shape" in str(w.message)]


@pytest.mark.parametrize("said", [(40, 40), (32, 32)])
def test_a_wrong_blob_shape_is_warned_of_once_and_written_as_the_stacks(tmp_path, said):
    """The output's blob/shape is the stacks' (MRC header), 32 x 32; a .cs that said otherwise is told so, once."""
    from pose_sets import random_poses, write_cs

    cs = write_cs(tmp_path, random_poses(4), 32)
    records = np.load(cs)
    records["blob/shape"][1:] = said  # the first row right: one warning for the set, naming the first wrong row
    save(cs, records)
    data = job(cs.name) | {"mask": {"source": "geometry", "geometry": {"shape": "circular", "radius": 12}}}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = run_job(write_job(tmp_path, data | {"report": False})).output_dir
    assert (np.load(out / "particles.cs")["blob/shape"] == (32, 32)).all()
    if said == (32, 32):
        assert shape_warnings(caught) == []
    else:
        assert shape_warnings(caught) == [
            f"{cs}: blob/shape is [40, 40] in 3 of 4 rows (row 2 (index 1) first), but the images in the stacks are "
            "[32, 32] (ny, nx, from their MRC headers); the written particles.cs carries the stacks' true shape, "
            "[32, 32]"
        ]


def test_a_blob_shape_not_two_numbers_a_row_is_refused(tmp_path, capsys):
    """It is rewritten in the output: one number a row could not take the box (a traceback at the gather)."""
    from numpy.lib.recfunctions import drop_fields

    from pose_sets import random_poses, write_cs

    cs = write_cs(tmp_path, random_poses(3), 32)
    records = np.load(cs)
    flat = np.zeros(3, dtype=drop_fields(records, "blob/shape", usemask=False).dtype.descr + [("blob/shape", "<u4")])
    for name in records.dtype.names:
        flat[name] = records[name][:, 0] if name == "blob/shape" else records[name]
    save(cs, flat)
    line = validate_refuses(write_job(tmp_path, job(cs.name)), capsys)
    assert line.endswith("p.cs: blob/shape: must be 2 numbers per row, not uint32; cryoSPARC writes 2 uint32 here")


def test_a_wrong_blob_shape_read_again_from_the_saved_plan_is_not_warned_of_twice(tmp_path):
    """The gather and the report read the .cs again (its metadata is not in the saved plan): planning gave the
    warning, and saved it for the run record and the report, so the reading again says nothing."""
    from maskrun.config.job_file import load_job
    from maskrun.jobs.plan import plan_job
    from maskrun.jobs.plan_file import load_saved_plan, save_plan

    from pose_sets import random_poses, write_cs

    cs = write_cs(tmp_path, random_poses(4), 32)
    records = np.load(cs)
    records["blob/shape"] = 40
    save(cs, records)
    circle = {"source": "geometry", "geometry": {"shape": "circular", "radius": 12}}
    job_file = write_job(tmp_path, job(cs.name) | {"mask": circle, "report": False})
    with pytest.warns(MaskrunWarning, match="blob/shape is"):
        save_plan(plan_job(job_file))
    saved = load_saved_plan(load_job(job_file))
    assert saved is not None and not saved.particle_set.has_metadata
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plan = saved.with_metadata()
    assert plan.particle_set.has_metadata and shape_warnings(caught) == []
    assert sum("blob/shape is [40, 40]" in w for w in plan.warnings) == 1
