"""A built wheel, installed in a fresh virtual environment, runs jobs as the checkout does.

The workflow (Snakefile, rules, profiles) ships inside the package, so ``maskrun run``
needs no checkout. The wheel is built and installed once for the module (about 40 s with
a warm pip cache); its outputs must be byte-identical to the checkout's, provenance
checksums included. With a SLURM cluster up, the wheel also runs the job through the
bundled ``slurm`` profile, named as a user would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from commands import FAST_POLLS, cluster_is_up, output_bytes
from conftest import REPO

pytestmark = pytest.mark.system  # a wheel built and installed: minutes; CI runs it (pytest -m system)


def run(argv, cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # the wheel's maskrun, not a checkout's
    proc = subprocess.run([str(a) for a in argv], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)
    assert proc.returncode == 0, f"{argv}: {proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def wheel_maskrun(tmp_path_factory) -> Path:
    """The ``maskrun`` command of a fresh venv holding only the built wheel and its dependencies."""
    work = tmp_path_factory.mktemp("wheel")
    run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", work / "dist", REPO], cwd=work)
    (wheel,) = (work / "dist").glob("maskrun-*.whl")
    venv.create(work / "venv", with_pip=True)
    run([work / "venv" / "bin" / "python", "-m", "pip", "install", "-q", wheel], cwd=work)
    return work / "venv" / "bin" / "maskrun"


def example_run(command: list, folder: Path, kind: str, *extra: str) -> Path:
    folder.mkdir(parents=True)
    run([*command, "example", kind, "--write", "demo"], cwd=folder)
    proc = run([*command, "run", f"demo/{kind}.yaml", *extra], cwd=folder)
    assert "maskrun run: masked" in proc.stdout
    return folder / "demo" / "results" / f"example-{kind}"


def checksums(output: Path) -> list:
    record = json.loads((output / "provenance" / "run.json").read_text())
    return sorted((entry["path"], entry["blake3"], entry["bytes"]) for entry in record["outputs"])


@pytest.mark.parametrize("kind", ["particles", "volumes"])
def test_wheel_runs_the_example_job_byte_identical_to_the_checkout(wheel_maskrun, tmp_path, kind):
    site = run([wheel_maskrun.parent / "python", "-c", "import maskrun; print(maskrun.__file__)"], cwd=tmp_path)
    assert str(REPO) not in site.stdout  # the installed copy, not this checkout
    from_wheel = example_run([wheel_maskrun], tmp_path / "wheel", kind)
    from_checkout = example_run([sys.executable, "-m", "maskrun"], tmp_path / "checkout", kind)
    files = output_bytes(from_wheel)
    assert len(files) >= 2 and files == output_bytes(from_checkout)
    assert checksums(from_wheel) == checksums(from_checkout)


def test_wheel_finds_the_bundled_slurm_profile_by_name(wheel_maskrun, tmp_path):
    code = "from maskrun.workflow.launch import resolve_profile; print(resolve_profile('slurm'))"
    profile = Path(run([wheel_maskrun.parent / "python", "-c", code], cwd=tmp_path).stdout.strip())
    assert "site-packages" in profile.parts and "executor: slurm" in (profile / "config.yaml").read_text()
    if not cluster_is_up():
        return  # the run below needs a cluster; test_slurm.py requires one in CI
    on_cluster = example_run(
        [wheel_maskrun],
        tmp_path / "slurm",
        "particles",
        "--profile",
        "slurm",
        "--",
        *FAST_POLLS,
    )
    local = example_run([sys.executable, "-m", "maskrun"], tmp_path / "local", "particles")
    assert output_bytes(on_cluster) == output_bytes(local)
