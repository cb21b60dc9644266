"""Where ``maskrun validate --json OUT`` and ``maskrun run --json OUT`` may write their answer.

A script names the file; it is written whole (atomically) once the command has its answer,
and only where the user named it: never inside the output folder unless named there. It
replaces an earlier answer of these commands at that name (a pipeline runs the same command
again, and again), never another file: maskrun replaces only what it wrote. Nor is it a link
or a special file (the rename would replace the link itself), a folder, an input of the job, a
file the run writes, or in a folder the run keeps its own files in (``stacks/``,
``provenance/``…).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from maskrun.errors import UserError, in_field
from maskrun.io.output_space import check_output_location, is_taken, refuse_folder, refuse_not_a_file
from maskrun.jobs.plan import JobPlan
from maskrun.jobs.plan_file import plan_paths

ANSWERING = ("validate", "run")  # the commands whose answers are replaced: their JSON's "command"
ANSWER_BYTES = 1_000_000  # the free space asked for: a job of 10,000 units answers in about 1 MB
READ_AT_MOST = 64_000_000  # a file larger than this is no answer of maskrun's: not read to tell
FIELD = "--json"  # the option that names the file, in the refusals


def is_answer(path: Path) -> bool:
    """Whether ``path`` is a plain file holding an answer of ``maskrun validate`` or ``run`` (its ``command`` and
    ``maskrun`` keys)."""
    try:
        if not path.is_file() or path.is_symlink() or path.stat().st_size > READ_AT_MOST:
            return False
        answer = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return False
    return isinstance(answer, dict) and answer.get("command") in ANSWERING and "maskrun" in answer


def check_answer_file(path: Path, field: str = FIELD) -> None:
    """Refuse, before any work, an answer's file that is a link, a special file or a folder, a file that is no
    earlier answer (`is_answer`), or in a folder that cannot take it.

    Raises
    ------
    UserError
        Naming the path, ``field`` (the option that named it) and the fix.
    """
    with in_field(field):
        refuse_not_a_file(path)
        refuse_folder(path, "answer")
    if is_taken(path) and not is_answer(path):
        raise UserError(
            "exists, and is not an answer of maskrun validate or run, the only files it replaces: remove it or "
            "choose another name",
            source=str(path),
            field=field,
        )
    check_output_location(path.parent, ANSWER_BYTES, field=field)


def check_answer_beside(plan: JobPlan, path: Path, field: str = FIELD) -> None:
    """Refuse an answer's file that is an input of the job, a file its run writes, or in a folder where the run keeps
    its own files (in the output folder itself it may be).

    Raises
    ------
    UserError
        Naming the path, ``field``, and what it is of the job.
    """
    answer = Path(os.path.realpath(path))
    for input_file in plan.input_files():
        if answer == Path(os.path.realpath(input_file)):
            raise UserError(f"is {input_file}, an input of the job; choose another name", source=str(path), field=field)
    output_dir = Path(os.path.realpath(plan.output_dir))
    outputs = {Path(os.path.realpath(output)) for output in plan.output_files()}
    own = {folder for folder in (output.parent for output in outputs) if folder != output_dir}
    own |= {output_dir / ".snakemake", plan_paths(output_dir)[0].parent}  # Snakemake's state, the saved plan
    if answer in outputs:
        raise UserError(
            "is a file the job's run writes; choose another name (beside the output folder, say)",
            source=str(path),
            field=field,
        )
    folder = next((folder for folder in sorted(own) if answer.is_relative_to(folder)), None)
    if folder is not None:
        raise UserError(
            f"is in {folder}, where the job's run keeps its own files; choose a name outside it (beside the output "
            "folder, say)",
            source=str(path),
            field=field,
        )
