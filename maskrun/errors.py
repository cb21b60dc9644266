"""Errors and warnings that maskrun shows to its users.

A user mistake (a bad parameter, a missing or malformed input) is a `UserError`: the
command prints it on one line and exits with status 2 before anything is written. A
failure while running (disk full, a killed job) is a `RunFailure`: exit status 1.
"""

from __future__ import annotations

import signal
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

Spelling = Callable[[str, object], str]
"""How a front end writes "set this parameter to this value": ``(name, value) -> text``."""


def keyword_setting(name: str, value: object) -> str:
    """Spell a setting as a Python keyword argument (``overwrite=True``), as the API takes it.

    Parameters
    ----------
    name
        The parameter, as the engine names it (``overwrite``, ``input_kind``).
    value
        The value that fixes the mistake.

    Returns
    -------
    str
        ``name=value`` with the value's repr.

    Examples
    --------
    >>> keyword_setting("input_kind", "stack")
    "input_kind='stack'"
    """
    return f"{name}={value!r}"


def first_named(names: Sequence[object], shown: int = 3) -> str:
    """Name the first ``shown`` of ``names`` for a message, and count the rest.

    Examples
    --------
    >>> first_named(["a", "b"]), first_named(["a", "b", "c", "d", "e"])
    ('a, b', 'a, b, c and 2 more')
    """
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(str(name) for name in names[:shown]) + more


class UserError(ValueError):
    """A mistake in what the user asked for or supplied; exit status 2.

    A `ValueError`, so that Python callers of the API may catch it as one.

    Parameters
    ----------
    message
        What is wrong and how to fix it, in one sentence.
    source
        The file (or ``"command line"``) the mistake is in, if any.
    field
        The key path or option that holds the mistake, if any.
    """

    exit_status = 2

    def __init__(self, message: str, *, source: str | None = None, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.source = source
        self.field = field

    def __str__(self) -> str:
        """``source: field: message``, leaving out what is not known; a path's line breaks escaped.

        A file name may hold any character but ``/``: a newline in one (from damaged metadata,
        say) would split the one-line message.
        """
        source = self.source if self.source is None or self.source.isprintable() else repr(self.source)[1:-1]
        return ": ".join(part for part in (source, self.field, self.message) if part)


@contextmanager
def in_field(field: str | None) -> Iterator[None]:
    """Name ``field`` in a `UserError` of the block that names none: a file's own error ("file not found"), in a job.

    Raises
    ------
    UserError
        The block's, with ``field`` where it had none.
    """
    try:
        yield
    except UserError as error:
        if error.field is None:
            error.field = field
        raise


class UserErrors(UserError):
    """Several user mistakes found at once (every problem of a job file is reported)."""

    def __init__(self, errors: list[UserError]):
        super().__init__("; ".join(e.message for e in errors))
        self.errors = errors

    def __str__(self) -> str:
        """One line per mistake."""
        return "\n".join(str(e) for e in self.errors)


class OutputFolderBusy(UserError):
    """Another run holds the output folder's lock: the job is not wrong, the folder is busy; exit status 2.

    A scheduler tells it from a mistake in the job (which another try will not fix) by its
    class, and waits or retries. What the lock says of its holder is data: ``pid`` and ``host``
    (None where the lock could not be read: a run taking it this instant), ``started``, its
    ``job`` file, and ``this_process``: the holder is this very process (another thread of it,
    running the same output folder), which only waiting for that call clears.

    Parameters
    ----------
    message
        What holds the folder and what to do, in one sentence.
    lock
        The lock file (``<output>/.maskrun.lock``), named as the message's source.
    pid, host, started, job
        The holder, as its lock names it.
    this_process
        Whether the holder is this process.
    field
        The key path the message names, if any.
    """

    def __init__(
        self,
        message: str,
        *,
        lock: str,
        pid: int | None = None,
        host: str | None = None,
        started: str | None = None,
        job: str | None = None,
        this_process: bool = False,
        source: str | None = None,
        field: str | None = None,
    ):
        super().__init__(message, source=lock if source is None else source, field=field)
        self.lock, self.pid, self.host, self.started, self.job = lock, pid, host, started, job
        self.this_process = this_process


class FieldError(ValueError):
    """A parameter that is invalid once defaults are resolved against the real box size.

    Raised by the geometry layer, which knows field names but not whether they came from
    a job file or from command-line options; the caller turns it into a `UserError`.
    """

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class SettingError(UserError):
    """A mistake that a setting of the caller fixes (``overwrite``, ``input_kind``), named by field.

    Raised by the engine, which knows its own parameters but not whether they came from
    command-line options, API arguments or job-file keys. Its message spells the setting as
    a Python keyword (what the API takes); a front end rephrases it with `phrased`.

    Parameters
    ----------
    template
        The message, with ``{setting}`` where the fix is spelt (``pass {setting} to replace it``);
        nothing else in it is a placeholder, so it may hold paths with braces.
    setting
        The parameter that fixes it, as the engine names it.
    value
        The value to set it to.
    source
        The file the mistake is in, if any.
    """

    def __init__(self, template: str, *, setting: str, value: object, source: str | None = None):
        super().__init__(template.replace("{setting}", keyword_setting(setting, value)), source=source)
        self.template = template
        self.setting = setting
        self.value = value

    def phrased(self, spelling: Spelling) -> UserError:
        """Spell the setting as the caller's front end takes it, in an otherwise equal error.

        Parameters
        ----------
        spelling
            ``(name, value) -> text``, such as the command line's ``--overwrite``.

        Returns
        -------
        UserError
            With the same source and field.
        """
        message = self.template.replace("{setting}", spelling(self.setting, self.value))
        return UserError(message, source=self.source, field=self.field)


class RunFailure(Exception):
    """A runtime failure (I/O error, a failed workflow job); exit status 1."""

    exit_status = 1


class Interrupted(Exception):
    """The run was stopped by Ctrl-C (exit 130) or SIGTERM (exit 143) and can be resumed."""

    def __init__(self, message: str, exit_status: int = 130):
        super().__init__(message)
        self.exit_status = exit_status


class Terminated(BaseException):
    """Raised by maskrun's SIGTERM and SIGHUP handlers, as KeyboardInterrupt is by SIGINT's (exit 143, 129).

    A BaseException, so that no ``except Exception`` stops it on its way out; files being
    written are removed as it passes. ``signum``: the signal (SIGHUP: a login session's end).
    """

    def __init__(self, signum: int = signal.SIGTERM):
        super().__init__(signum)
        self.signum = signum

    @property
    def exit_status(self) -> int:
        """128 + the signal's number, as a shell reports a process the signal ended."""
        return 128 + self.signum

    @property
    def word(self) -> str:
        """What happened, for the last line: ``terminated``, or ``hung up`` (SIGHUP)."""
        return "hung up" if self.signum == signal.SIGHUP else "terminated"


class MaskrunWarning(UserWarning):
    """Something legal but probably unintended (a mask that keeps nothing, say)."""


def all_or_nothing_does(keeps_all: bool, unit: str = "pixel", alone: bool = False) -> str:
    """Say what a mask keeping everything or nothing does to the data it is applied to, or is when written alone.

    A mask written ``alone`` (``make-mask``) has no input to equal and no fill: it is all 1 or all 0.

    Parameters
    ----------
    keeps_all
        Whether it keeps the whole box (all 1), else nothing (all 0).
    unit
        ``"pixel"`` (2D) or ``"voxel"`` (3D).
    alone
        Whether the mask is written, not applied.

    Returns
    -------
    str
        The consequence, for the sentence ``… keeps everything: <it>``.

    Examples
    --------
    >>> all_or_nothing_does(True), all_or_nothing_does(False, "voxel")
    ('the output equals the input', 'every voxel is replaced by the fill')
    >>> all_or_nothing_does(False, alone=True)
    'it is 0 over the whole box'
    """
    if alone:
        return f"it is {1 if keeps_all else 0} over the whole box"
    return "the output equals the input" if keeps_all else f"every {unit} is replaced by the fill"


class AllOrNothingWarning(MaskrunWarning):
    """A mask that keeps nothing or the whole box: ``{subject} keeps everything: {what that does}[; {advice}]``.

    What it keeps is data (``keeps_all``), and so is what to change (``fix``, without the
    sentence around it, for a caller that says it its own way: a mask expression names the
    term that made such a mask). The message says what the mask does to the data it is
    applied to (`all_or_nothing_does`); `alone` says it of a mask written alone.

    Parameters
    ----------
    subject
        The mask, as the sentence begins (``the sphere mask``, ``the mask made from A.mrc``).
    keeps_all
        Whether it keeps the whole box, else nothing.
    fix
        What to change.
    unit
        ``"pixel"`` or ``"voxel"``.
    advice
        What the message says after the consequence, if anything (the fix, in its words).
    written_alone
        Whether the mask is written alone (`alone`), not applied.
    """

    def __init__(
        self,
        subject: str,
        keeps_all: bool,
        fix: str,
        *,
        unit: str = "pixel",
        advice: str | None = None,
        written_alone: bool = False,
    ):
        said = f"{subject} keeps {'everything' if keeps_all else 'nothing'}: "
        said += all_or_nothing_does(keeps_all, unit, written_alone)
        super().__init__(said + (f"; {advice}" if advice else ""))
        self.subject, self.keeps_all, self.fix = subject, keeps_all, fix
        self.unit, self.advice, self.written_alone = unit, advice, written_alone

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled and copied as made (a forked worker's warning reaches its parent so)."""
        keywords = {"unit": self.unit, "advice": self.advice, "written_alone": self.written_alone}
        return (_all_or_nothing, (self.subject, self.keeps_all, self.fix, keywords))

    def alone(self) -> AllOrNothingWarning:
        """Give the same warning of a mask written alone, not applied: ``it is 1 (0) over the whole box``."""
        return AllOrNothingWarning(
            self.subject, self.keeps_all, self.fix, unit=self.unit, advice=self.advice, written_alone=True
        )


class WholeBoxWarning(MaskrunWarning):
    """A mask expression's mask that keeps the whole box, said with the terms that made it so.

    What it keeps is data (``keeps_all``), as an `AllOrNothingWarning`'s, for a caller that
    must not say it again in general words.
    """

    keeps_all = True


def _all_or_nothing(subject: str, keeps_all: bool, fix: str, keywords: dict[str, Any]) -> AllOrNothingWarning:
    return AllOrNothingWarning(subject, keeps_all, fix, **keywords)


class BoxCutWarning(MaskrunWarning):
    """A shape whose radius reaches past half the box, in the shape's words.

    ``radius 180 px is larger than half the box (128 px): the mask is cut by the box edge``: a
    job, which judges its mask's cut by the box from the mask itself, then says no more of it.
    """


class EdgeCutWarning(MaskrunWarning):
    """A shape whose kept region the box edge cuts (moved by its centre, or as large as the box), in the shape's words.

    ``maskrun mask`` and ``maskrun make-mask`` say it; a job drops it and judges its whole
    mask in the words of its source (`maskrun.geometry.box_edge.touches_the_box_edge`), as an
    expression's shape terms are judged by the mask they make together.
    """


class UncheckedVoxelSizeWarning(MaskrunWarning):
    """A mask file's (or mask map's) voxel size that could not be checked: the images have none.

    Its size (``mask_angstrom``), its file (``source``) and what it is (``what``: ``mask`` or
    ``map``) are data, for a caller that knows why the images have none and words it so (a job:
    which of its particles' several pixel sizes the mask fits, or the setting or header that
    would give its particles or maps one).
    """

    def __init__(self, message: str, source: str = "", mask_angstrom: float = 0.0, what: str = "mask"):
        super().__init__(message)
        self.source, self.mask_angstrom, self.what = source, mask_angstrom, what


class CompanionStarWarning(MaskrunWarning):
    """A warning about the RELION STAR written beside a cryoSPARC ``.cs`` output (optics left out, say).

    A set read but not written back (``maskrun project-mask``, ``make-mask --like``) gives none.
    """


@contextmanager
def held_warnings() -> Iterator[list[warnings.WarningMessage]]:
    """Hold the warnings of a block, and show them when it ends; drop them when it raises a `UserError`.

    A refused command prints its one error line only: a warning about what it would have
    written (the companion STAR's optics) is noise beside the refusal. The list of warnings
    held is yielded; they are shown as they came (`warnings.warn_explicit`), under the
    caller's filters, after the block, each message once.
    """
    held: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                yield caught
            finally:
                held = list(caught)
    except UserError:
        raise
    except BaseException:  # a failure or an interruption: what was found so far is still worth seeing
        _show(held)
        raise
    _show(held)


def _show(held: list[warnings.WarningMessage]) -> None:
    """Show held warnings in order, each message once (the maps of a set may each find the same)."""
    shown = set()
    for w in held:
        if (w.category, str(w.message)) not in shown:
            shown.add((w.category, str(w.message)))
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)
