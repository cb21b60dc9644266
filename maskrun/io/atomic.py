"""Write a file atomically: under a temporary name beside it, renamed to its final name when complete.

Every file maskrun gives a final name (MRC outputs, masks, metadata, provenance records,
the saved plan, report files) is written so. The temporary name is ``.NAME.part-PID``,
in the target's own folder (a rename within a file system is atomic): a failed or killed
write never leaves a truncated file under the final name, and the next run of a job
removes what a killed one left (`maskrun.jobs.output_state.PARTIAL_PATTERN`).
"""

from __future__ import annotations

import contextlib
import glob
import os
from pathlib import Path


def unlinked(path: str | os.PathLike[str]) -> str | os.PathLike[str]:
    """``path``, any file of that name removed first: a file opened there for writing is then a new one.

    For what is written in place (logs, line by line as a step runs): opening an existing name
    with ``"w"`` truncates its file, and through a hard link that file may be another name's
    (an input's, say). Removing the name first leaves the other name's file as it was.
    """
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    return path


def remove_stale_parts(path: str | os.PathLike[str]) -> list[Path]:
    """Delete what killed writers of ``path`` left beside it: ``.NAME.part-PID`` whose process is gone.

    For the commands that write one file (``maskrun mask``, ``make-mask``, ``project-mask``):
    a killed one leaves a hidden temporary file as large as its output, which nothing else
    would remove (a run removes its own, `maskrun.jobs.output_state.remove_partial_files`).
    Only this name's, and only where the PID is a whole number no live process holds.
    """
    from maskrun.io.processes import process_alive

    path = Path(path)
    removed = []
    for part in path.parent.glob(f".{glob.escape(path.name)}.part-*"):
        found = part_of(part)
        if found is not None and not process_alive(found[1]) and part.is_file() and not part.is_symlink():
            with contextlib.suppress(FileNotFoundError):
                part.unlink()
            removed.append(part)
    return removed


def name_final(exc: BaseException | None, path: str | os.PathLike[str], tmp: str | os.PathLike[str]) -> None:
    """Name ``path`` in an `OSError` met while writing it under ``tmp``, when it names no file or ``tmp``.

    ``os.write`` and ``os.pwrite`` name no file (a full disk: ``[Errno 28] No space left on
    device``); the temporary name is gone once the write failed. The final name is the one
    the user knows.
    """
    if isinstance(exc, OSError) and (exc.filename is None or os.fspath(exc.filename) == os.fspath(tmp)):
        exc.filename = os.fspath(path)


def part_of(part: Path) -> tuple[str, int] | None:
    """The final name and the writer's PID of a temporary file (`part_path`'s ``.NAME.part-PID``, or SQLite's
    ``-journal`` beside one); None for any other name (a user's ``.thesis.part-final``)."""
    final, separator, writer = part.name.removeprefix(".").rpartition(".part-")
    writer = writer.removesuffix("-journal")
    if not part.name.startswith(".") or not separator or not writer.isdigit():
        return None
    return final, int(writer)


def part_path(path: str | os.PathLike[str]) -> Path:
    """The temporary name ``path`` is written under: ``.NAME.part-PID`` in the same folder."""
    path = Path(path)
    return path.with_name(f".{path.name}.part-{os.getpid()}")


class AtomicFile:
    """A file being written under its temporary name (`part_path`) until `commit` renames it.

    Use as a context manager, which gives the temporary path to write, renames it to
    ``path`` when the block ends without an exception and deletes it otherwise::

        with AtomicFile(target) as tmp:
            tmp.write_bytes(data)

    or call `commit` and `discard` at the right time (a writer that outlives one block).
    """

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self.tmp = part_path(self.path)

    def commit(self) -> Path:
        """Give the complete file its final name (replacing any file of that name)."""
        try:
            os.replace(self.tmp, self.path)
        except BaseException as exc:
            self.discard()
            name_final(exc, self.path, self.tmp)
            raise
        return self.path

    def discard(self) -> None:
        """Delete the temporary file, if it is there."""
        self.tmp.unlink(missing_ok=True)

    def __enter__(self) -> Path:
        return self.tmp

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.discard()
            name_final(exc, self.path, self.tmp)


def write_atomic(path: str | os.PathLike[str], data: str | bytes) -> Path:
    """Write ``data`` (text as UTF-8) to ``path`` atomically; returns ``path``."""
    with AtomicFile(path) as tmp:
        tmp.write_bytes(data.encode() if isinstance(data, str) else data)
    return Path(path)
