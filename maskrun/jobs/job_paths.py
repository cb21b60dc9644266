"""The files a job names, looked for from the job file's folder, as every path in a job is.

A path written from the folder the user works in, not from the job's (``particles.star`` in a
job kept in ``MaskJobs/``), is not found; when it names a file from the working folder, the
refusal says how the job's folder writes it (``did you mean ../particles.star?``).
"""

from __future__ import annotations

import os
from pathlib import Path

from maskrun.config.job_file import Job, JobFile, path_texts
from maskrun.config.path_text import expand_path
from maskrun.formats.map_set import GLOB_CHARS
from maskrun.io.paths import file_not_found, is_file

RELATIVE_FIX = "check the path (paths are relative to the job file)"
FOLDER_KEYS = {"dir", "project_dir"}  # folders: the output's may not be there yet


def written_files(spec: JobFile) -> list[tuple[str, str]]:
    """Each file the job names, as its key path (``inputs.volumes.1``, ``mask.expression.all_of.0.map.file``) and
    the path as written, in the job's order."""
    data = spec.model_dump(mode="json", by_alias=True, exclude_none=True)
    return [(field, text) for field, key, text in path_texts(data) if key not in FOLDER_KEYS]


def from_working_folder(written: str, folder: Path) -> str | None:
    """``written`` (a relative path that names no file from ``folder``) as ``folder`` would write it, when it names
    a file from the working folder: ``../particles.star``; None when it names none there (or is absolute)."""
    relative = Path(expand_path(written))
    if relative.is_absolute() or not is_file(Path(os.path.abspath(relative))):
        return None
    return os.path.relpath(os.path.abspath(relative), folder).replace("$", "$$")  # as a job writes a literal $


def refuse_paths_from_elsewhere(job: Job) -> None:
    """Refuse a file the job names that is not found from its folder but is from the working folder.

    Raises
    ------
    UserError
        ``<path>: <field>: file not found; check the path (paths are relative to the job file); did you mean
        <the file, from the job's folder>?``
    """
    for field, written in written_files(job.spec):
        if GLOB_CHARS & set(written) or is_file(job.resolve(written)):
            continue
        there = from_working_folder(written, job.folder)
        if there is not None:
            raise file_not_found(job.resolve(written), f"{RELATIVE_FIX}; did you mean {there}?", field)
