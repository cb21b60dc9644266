"""The package's layers point one way: a lower layer never imports a higher one.

config and geometry know nothing of files, io nothing of jobs, formats (particle sets and
map listings, between io and jobs) nothing of planning or masking, jobs nothing of Snakemake;
the CLI and the workflow glue sit on top. Read from the source with ast, so a lazy import
inside a function counts too. No module imports the package face (`maskrun/__init__.py`,
the public API): the version has a module of its own. Below the CLI, code names its own
parameters, never the command line's options.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "maskrun"
LOWER = {  # what each part may import from maskrun, besides itself and _version
    "_version": set(),
    "errors": set(),
    "timeline": set(),
    "compiled": set(),  # numba's njit as maskrun uses it
    "config": {"errors", "timeline", "compiled"},
    "geometry": {"errors", "timeline", "compiled", "config"},
    "io": {"errors", "timeline", "compiled"},
    "formats": {"errors", "timeline", "compiled", "config", "io"},
    "engine": {"errors", "timeline", "compiled", "config", "geometry", "io"},
    "jobs": {"errors", "timeline", "compiled", "config", "geometry", "io", "formats", "engine"},
    "report": {"errors", "timeline", "compiled", "config", "geometry", "io", "formats", "engine", "jobs"},
    "api": {"errors", "timeline", "compiled", "config", "geometry", "io", "formats", "engine", "jobs", "report"},
    "workflow": {"errors", "timeline", "compiled", "config", "geometry", "io", "formats", "engine", "jobs", "report"},
    "cli": {
        "errors",
        "timeline",
        "compiled",
        "config",
        "geometry",
        "io",
        "formats",
        "engine",
        "jobs",
        "report",
        "workflow",
        "api",
    },
}
THIRD_PARTY_BANNED = {  # outside libraries a part must not touch
    # a shape is one model with its geometry (issue 23's registry), so config may use numpy; no files
    "config": {"mrcfile", "starfile", "snakemake", "pandas"},
    "geometry": {"mrcfile", "starfile", "snakemake", "pandas"},
    "io": {"snakemake", "pydantic"},
    "formats": {"snakemake", "pydantic"},
    "engine": {"snakemake", "starfile", "pandas"},
    "jobs": {"snakemake"},
    "api": {"snakemake"},
    "report": {"snakemake"},
}
MODULES = sorted(p for p in PACKAGE.rglob("*.py") if p.name not in ("__main__.py",) and p != PACKAGE / "__init__.py")


def part_of(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            if node.module == "maskrun":  # from maskrun import api, errors, ...
                names |= {f"maskrun.{alias.name}" for alias in node.names}
    return names


def message_strings(path: Path) -> list[str]:
    """A module's string constants (f-strings' literal parts too), docstrings aside."""
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


def option_names(path: Path) -> set[str]:
    """Command-line options (``--overwrite``) in a module's strings, docstrings aside.

    maskrun's options are words in kebab case; another program's that a message may quote
    (RELION's ``--i``, ``--force_header_angpix``, or any in a RELION command line held whole,
    ``relion_star_handler … --select …``) are not taken for them.
    """
    return {
        option
        for text in message_strings(path)
        if not text.startswith("relion_")
        for option in re.findall(r"(?<![\w-])--[a-z][a-z-]+(?![\w])", text)
    }


def job_keys(path: Path) -> set[str]:
    """A job's input keys (``inputs.project_dir``) in a module's strings, docstrings aside."""
    return {key for text in message_strings(path) for key in re.findall(r"\binputs\.[a-z_]+", text)}


def test_every_module_belongs_to_a_known_part():
    assert {part_of(p) for p in MODULES} == set(LOWER)


@pytest.mark.parametrize("path", MODULES, ids=[str(p.relative_to(PACKAGE)) for p in MODULES])
def test_module_imports_only_lower_layers(path):
    part = part_of(path)
    allowed = LOWER[part] | {part, "_version"}
    for name in imported(path):
        assert name != "maskrun", f"{path.relative_to(PACKAGE)} imports the package face; import the module itself"
        parts = name.split(".")
        if parts[0] == "maskrun" and len(parts) > 1:
            assert parts[1] in allowed, f"{path.relative_to(PACKAGE)} ({part}) imports {name}"
        assert parts[0] not in THIRD_PARTY_BANNED.get(part, set()), f"{path.relative_to(PACKAGE)} imports {name}"


def test_a_lower_layer_importing_a_higher_one_is_caught(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from maskrun.jobs.plan import plan_job\n")
    assert "maskrun.jobs.plan" in imported(bad)
    assert "jobs" not in LOWER["io"]


def test_the_package_face_imported_for_its_version_is_caught(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from maskrun import __version__\n")
    assert "maskrun" in imported(bad)
    good = tmp_path / "good.py"
    good.write_text("from maskrun._version import __version__\n")
    assert imported(good) == {"maskrun._version"}


BELOW_THE_CLI = [p for p in MODULES if part_of(p) in ("errors", "config", "geometry", "io", "formats", "engine")]


@pytest.mark.parametrize("path", BELOW_THE_CLI, ids=[str(p.relative_to(PACKAGE)) for p in BELOW_THE_CLI])
def test_code_below_the_cli_names_no_command_line_option(path):
    assert option_names(path) == set(), f"{path.relative_to(PACKAGE)}: raise a SettingError or take a spelling"


BELOW_THE_JOBS = [p for p in MODULES if part_of(p) in ("io", "formats")]


@pytest.mark.parametrize("path", BELOW_THE_JOBS, ids=[str(p.relative_to(PACKAGE)) for p in BELOW_THE_JOBS])
def test_files_and_formats_name_no_job_key(path):
    """A format's fix names its caller's setting as the caller names it (maskrun.formats.setting_names)."""
    assert job_keys(path) == set(), f"{path.relative_to(PACKAGE)}: take the caller's SettingNames"


def test_a_job_key_in_a_message_is_caught(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text('"""Docs may say inputs.project_dir."""\n\n\ndef f(p):\n    return f"{p}: set inputs.project_dir"\n')
    assert job_keys(bad) == {"inputs.project_dir"}


def test_an_option_name_in_a_message_is_caught(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text('"""Docs may say --overwrite."""\n\n\ndef f(p):\n    raise ValueError(f"{p}: pass --overwrite")\n')
    assert option_names(bad) == {"--overwrite"}
    relion = tmp_path / "relion.py"
    quoted = "relion_image_handler --i {p} --o x.mrc --force_header_angpix 1 (or --angpix)"
    relion.write_text(f'def f(p):\n    return f"{quoted}"\n')
    assert option_names(relion) == {"--angpix"}  # maskrun's own --angpix is still caught


def test_fork_and_the_frozen_start_stay_in_the_engine_and_the_console():
    for path in MODULES:
        text, where = path.read_text(), str(path.relative_to(PACKAGE))
        if "os.fork(" in text:
            assert where == "engine/forked_workers.py"
        if "gc.freeze(" in text:
            assert where == "cli/console.py"
    assert "fork" not in (PACKAGE / "io" / "mrc_writer.py").read_text()
