"""A job never writes over a file its inputs name, even with ``output.overwrite: true``: a cryoSPARC
passthrough ``.cs`` named like the ``particles.cs`` the run writes is refused at planning (Snakemake
deleted it before the gather, which then failed on the missing file)."""

from __future__ import annotations

import shutil

import yaml

from maskrun.cli.main import main

from commands import digest, maskrun, refused_line


def _passthrough_job(folder, output_dir: str) -> object:
    assert main(["example", "particles", "--format", "cs", "--write", str(folder)]) == 0
    shutil.copy(folder / "particles.cs", folder / "J5_particles.cs")
    job = yaml.safe_load((folder / "particles.yaml").read_text())
    job["inputs"] |= {"particles": "J5_particles.cs", "passthrough": "particles.cs"}
    job["output"] = {"dir": output_dir, "overwrite": True}
    (folder / "particles.yaml").write_text(yaml.safe_dump(job))
    return folder / "particles.yaml"


def test_a_passthrough_where_the_run_writes_its_cs_is_refused(tmp_path):
    job = _passthrough_job(tmp_path, ".")
    before = digest(tmp_path)
    line = refused_line(maskrun("run", job, "--cores", "1"))
    assert line == (
        f"maskrun run: error: {job}: output.dir: the run would write {tmp_path / 'particles.cs'} over its input "
        f"{tmp_path / 'particles.cs'}; maskrun never overwrites an input: choose another output.dir (or move the input)"
    )
    assert digest(tmp_path) == before


def test_the_passthrough_is_recorded_among_the_inputs(tmp_path):
    job = _passthrough_job(tmp_path, "out")
    proc = maskrun("run", job, "--cores", "1")
    assert proc.returncode == 0, proc.stderr
    record = yaml.safe_load((tmp_path / "out" / "provenance" / "run.json").read_text())
    entry = next(e for e in record["inputs"] if e["path"] == str(tmp_path / "particles.cs"))
    assert entry["format"] == "cs" and entry["bytes"] == (tmp_path / "particles.cs").stat().st_size
