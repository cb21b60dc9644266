"""``maskrun report JOB``: refused (exit 2, one line, nothing written) when the run is not this job's as it is now."""

from __future__ import annotations

import os

import pytest

from maskrun.cli.main import main

from job_files import example_folder, finished_particle_job, job_with, write_job


@pytest.fixture
def finished(tmp_path):
    """A finished particle job (run in-process, no report yet): its folder, job file and output folder."""
    return finished_particle_job(tmp_path)


def refused(job, out, capsys) -> str:
    """``maskrun report JOB``: exit 2, one stderr line (returned), and the output folder unchanged, byte for byte."""
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    capsys.readouterr()
    assert main(["report", str(job)]) == 2
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert not (out / "report").exists()
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0]
    return err[0]


def test_the_report_of_this_very_run_is_written(finished, capsys):
    _, job, out = finished
    assert main(["report", str(job)]) == 0
    assert (out / "report" / "report.html").exists()


def test_an_edited_job_file_is_refused(finished, capsys):
    folder, job, out = finished
    write_job(folder, job_with(report=False, mask__geometry__outer_radius=30))
    err = refused(job, out, capsys)
    edited = f"{out} holds a finished run of this job file before it was edited"
    assert err.startswith(f"maskrun report: error: {job}: {edited}")
    assert f"run the job again first (maskrun run {job}, with output.overwrite: true)" in err


def test_another_job_into_the_same_folder_is_refused(finished, capsys):
    folder, job, out = finished
    other = write_job(folder, job_with(report=False, output__dir=str(out), fill__value=1), "other.yaml")
    err = refused(other, out, capsys)
    assert f"holds a finished run of {job}, not of this job as written" in err and "output.dir" in err


@pytest.mark.parametrize("which", ["input", "output"])
def test_a_changed_input_or_output_is_refused(finished, capsys, which):
    folder, job, out = finished
    path = folder / "Extract" / "mic_002.mrcs" if which == "input" else out / "particles.star"
    data = bytearray(path.read_bytes())
    if which == "input":  # same size, another last pixel, a later time
        data[-4:] = b"\x00\x00\x80\x3f" if data[-4:] != b"\x00\x00\x80\x3f" else b"\x00\x00\x00\x40"
    else:
        data += b"\n"
    path.write_bytes(bytes(data))
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    err = refused(job, out, capsys)
    assert f"{which} {path} changed since this job finished at" in err
    assert "its report would mix the run with the files as they are now" in err


def test_a_job_never_run_is_refused(tmp_path, capsys):
    folder = example_folder(tmp_path, particles=30, maps=0)
    job = write_job(folder, job_with())
    assert main(["report", str(job)]) == 2
    assert "holds no finished run; run the job first" in capsys.readouterr().err
    assert not (folder / "results").exists()


@pytest.mark.parametrize("name", ["report.html", "particles.png"])
def test_a_users_file_in_report_of_a_job_without_report_is_refused(finished, capsys, name):
    _, job, out = finished
    users = out / "report" / name
    users.parent.mkdir()
    users.write_text("the user's own file\n")
    capsys.readouterr()
    assert main(["report", str(job)]) == 2
    assert users.read_text() == "the user's own file\n" and [p.name for p in users.parent.iterdir()] == [name]
    err = capsys.readouterr().err
    assert err == (
        f"maskrun report: error: {job}: report: {users} exists and is not from maskrun's report (the job says "
        "report: false, so its run left report/ alone); maskrun report would write over it: move it away first\n"
    )


def test_maskruns_own_report_is_drawn_again(finished, capsys):
    _, job, out = finished
    assert main(["report", str(job)]) == 0
    (out / "report" / "profile.png").write_bytes(b"stale")
    assert main(["report", str(job)]) == 0
    assert (out / "report" / "profile.png").read_bytes().startswith(b"\x89PNG")
