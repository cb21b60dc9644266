"""How the caller of a format names its settings, for the fixes the format's messages propose.

A format knows that a stack not found is found from the project folder, or that a
cryoSPARC set's poses may be in its passthrough; it does not know what the user calls
those settings: a job's keys (``inputs.project_dir``), a command's options
(``--project-dir``), or nothing at all (``make-mask --like`` takes neither). The caller
says it with `SettingNames`, in `maskrun.formats.particle_set.ReadOptions`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SettingNames:
    """The caller's names for the settings a format's fixes propose; None for a setting the caller lacks.

    A message whose fix is a setting the caller lacks proposes what the user can do without
    it: the format's own fix, or, where that setting alone would do, `lacking` (`without`).

    Attributes
    ----------
    particles
        The particle set itself (``inputs.particles``, ``PARTICLES``, ``--like``); None:
        "the particles".
    project_dir
        The folder relative stack paths start in.
    passthrough
        A cryoSPARC set's passthrough ``.cs``, joined on ``uid``.
    image_column
        The column of a ``.star`` or ``.xmd`` set that holds the images.
    optics
        Voltage, Cs and amplitude contrast for the RELION STAR written beside a ``.cs``.
    volumes
        The maps (a listing, paths or a glob): the field of a map listing's errors.
    pixel_size_angstrom
        The particles' pixel size (Å/px), for a set that has none but its stacks' headers' (a
        bare stack, a set whose metadata gives none; RELION writes 1 Å there whatever the pixel size).
    run
        What the caller calls one of its runs (``job``): a set of several box sizes is split
        into one each. None: the set must be of one box size.
    lacking
        The caller's fix where only a setting it lacks would do, said after what is needed
        and ``", and "``: ``"make-mask takes none: give --like one of its stacks"``. None:
        the format's own fix, without the setting.
    """

    particles: str | None = None
    project_dir: str | None = None
    passthrough: str | None = None
    image_column: str | None = None
    optics: str | None = None
    volumes: str | None = None
    pixel_size_angstrom: str | None = None
    run: str | None = None
    lacking: str | None = None

    @property
    def the_particles(self) -> str:
        """The particle set as the caller names it, else ``the particles``."""
        return self.particles or "the particles"

    def without(self, needed: str, own_fix: str) -> str:
        """The fix where the setting that would do is one the caller lacks: what is ``needed`` and `lacking`, or
        the format's ``own_fix`` when the caller gives no `lacking`.

        Examples
        --------
        >>> SettingNames(lacking="make-mask takes none: give a map").without("it needs the folder", "fix the path")
        'it needs the folder, and make-mask takes none: give a map'
        >>> SettingNames().without("it needs the folder", "fix the path")
        'fix the path'
        """
        return f"{needed}, and {self.lacking}" if self.lacking else own_fix


NO_NAMES = SettingNames()  # a caller that names no setting: every fix is worded without one
