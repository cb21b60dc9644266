"""The installed command's start: imports under a paused, then frozen, garbage collector."""

from __future__ import annotations

import gc
import subprocess
import sys
from importlib.metadata import entry_points

import pytest

import maskrun
from maskrun.cli import console


def python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)


def test_installed_command_and_python_m_start_through_console():
    (script,) = entry_points(group="console_scripts", name="maskrun")
    assert script.value == "maskrun.cli.console:main"
    proc = subprocess.run(
        [sys.executable, "-m", "maskrun", "example", "particles"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "mask:" in proc.stdout


def test_package_import_is_light_so_the_freeze_covers_every_heavy_import():
    heavy = "{'numpy', 'pydantic', 'maskrun.cli.main'}"
    proc = python(f"import sys, maskrun.cli.console; print(sorted({heavy} & set(sys.modules)))")
    assert proc.stdout.strip() == "[]", proc.stderr


def test_main_freezes_the_imports_and_collects_later_objects():
    proc = python(
        "import gc, sys\n"
        "from maskrun.cli import console\n"
        "sys.argv = ['maskrun', 'example', 'particles']\n"
        "status = console.main()\n"
        "frozen = gc.get_freeze_count()\n"
        "cycle = []; cycle.append(cycle); del cycle\n"
        "print('|', status, gc.isenabled(), 'numpy' in sys.modules, frozen > 10000, gc.collect())\n"
    )
    assert proc.returncode == 0, proc.stderr
    *facts, collected = proc.stdout.split("|")[-1].split()
    assert facts == ["0", "True", "True", "True"]
    assert int(collected) >= 1  # the cycle made after the freeze


def test_frozen_imports_leaves_a_disabled_collector_disabled():
    gc.disable()
    try:
        with console.frozen_imports():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.unfreeze()
        gc.enable()


def test_frozen_imports_restores_the_collector_after_an_error():
    with pytest.raises(ImportError), console.frozen_imports():
        import maskrun.no_such_module  # noqa: F401
    gc.unfreeze()
    assert gc.isenabled()


def test_public_names_load_on_first_use():
    proc = python(
        "import sys, maskrun; print('maskrun.api' in sys.modules); maskrun.mask_file; "
        "print('maskrun.api' in sys.modules)"
    )
    assert proc.stdout.split() == ["False", "True"], proc.stderr
    from maskrun import api

    assert maskrun.mask_file is api.mask_file
    with pytest.raises(AttributeError, match="no attribute 'mask_mrc_file'"):
        maskrun.mask_mrc_file


def test_the_command_line_starts_without_scipy_pandas_matplotlib_snakemake_or_gemmi():
    heavy = "{'scipy', 'pandas', 'matplotlib', 'snakemake', 'gemmi'}"
    proc = python(
        f"import sys; from maskrun.cli import main; main.build_parser(); print(sorted({heavy} & set(sys.modules)))"
    )
    assert proc.stdout.strip() == "[]", proc.stdout + proc.stderr  # each costs 0.1-0.5 s of every command's start


@pytest.mark.parametrize(
    ("module", "line"),
    [
        ("pydantic", "maskrun: interrupted"),  # the command line's imports
        ("maskrun.cli.options", "maskrun: interrupted"),  # the parser's, as it is built
        ("maskrun.config.job_file", "maskrun validate: interrupted"),  # the command's work has begun
    ],
)
def test_ctrl_c_while_the_command_starts_ends_it_with_one_line_and_130(tmp_path, module, line):
    """SIGINT as a module imports (before, it gave a traceback from inside pydantic, or was ignored)."""
    proc = subprocess.run(
        [sys.executable, "-c", STARTING.format(module=module, signal="SIGINT")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (proc.returncode, proc.stderr) == (130, line + "\n")


@pytest.mark.parametrize(("signame", "status", "word"), [("SIGTERM", 143, "terminated"), ("SIGHUP", 129, "hung up")])
def test_sigterm_or_sighup_while_the_command_starts_ends_it_with_one_line(tmp_path, signame, status, word):
    """The safety look: a SIGTERM in a run's first 0.2 s ended it without a word."""
    proc = subprocess.run(
        [sys.executable, "-c", STARTING.format(module="pydantic", signal=signame)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (proc.returncode, proc.stderr) == (status, f"maskrun: {word}\n")


STARTING = """
import builtins, os, signal, sys
from maskrun.cli import console
real_import = builtins.__import__
def interrupting_import(name, *args, **kwargs):
    if name == "{module}" and name not in sys.modules:
        os.kill(os.getpid(), signal.{signal})
    return real_import(name, *args, **kwargs)
builtins.__import__ = interrupting_import
sys.argv = ["maskrun", "validate", "job.yaml"]
sys.exit(console.main())
"""
