"""Each particle's pose in one convention, whatever format recorded it (docs/spec.md, "Poses").

The convention is RELION's: Euler angles ``rot, tilt, psi`` in degrees (ZYZ,
`maskrun.geometry.projection.euler_matrices`) and the origin ``(x, y)`` in pixels of the
particle images, the shift that centres the particle (``rlnOriginX/Y``): the particle's
centre is at ``box // 2 − origin``. Each format module that records poses has
``read_poses(particles)``; `poses_of` dispatches on the set's format.

Per format (all verified against each other in tests/formats/test_poses.py):

* RELION STAR 3.0: ``rlnAngleRot/Tilt/Psi``, ``rlnOriginX/Y`` (px);
  3.1+: ``rlnOriginXAngst/YAngst`` divided by the ``rlnImagePixelSize`` of the row's
  optics group.
* Xmipp ``.xmd``: ``angleRot/Tilt/Psi``, ``shiftX/Y`` (px): the same numbers as RELION's
  (Scipion's converters copy them across unchanged).
* cryoSPARC ``.cs``: ``alignments3D/pose`` is a rotation vector ``v`` whose matrix is
  ``Aᵀ`` (A = RELION's); ``alignments3D/shift`` is the origin in pixels of the
  alignment box (``alignments3D/psize_A``), rescaled to the image pixels.
* Scipion ``_transform._matrix`` of a set with ``_alignment`` = ``Projection``: the
  4×4 matrix ``[[Aᵀ, Aᵀ·o], [0, 1]]`` with ``o = (x, y, z)`` the origin in pixels.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from maskrun.errors import UserError
from maskrun.formats.particle_set import ParticleSet
from maskrun.formats.star_optics import particle_groups
from maskrun.io.pixel_size import usable_pixel_sizes
from maskrun.io.star import Loop

GIMBAL_DEG = 1e-6  # a tilt this close to 0 or 180 degrees leaves only one in-plane angle


@dataclass(frozen=True)
class Poses:
    """One pose per particle, in row order (RELION's convention; see the module's docstring).

    ``read_from``: where each part (`POSE_PARTS`: rot, tilt, psi, x, y) was read, as the
    format names it (``rlnAngleTilt``, ``alignments3D/pose``, ``_transform._matrix``), for the
    refusal of a row whose pose is not a number; () when not said.
    """

    rot_deg: np.ndarray
    tilt_deg: np.ndarray
    psi_deg: np.ndarray
    origin_x_px: np.ndarray
    origin_y_px: np.ndarray
    read_from: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.rot_deg)


def poses_of(particles: ParticleSet) -> Poses:
    """The poses of a particle set, one per row.

    Raises
    ------
    UserError
        When the format records no poses or the set has none (or some rows lack them).
    """
    from maskrun.formats.registry import particle_format  # the registry imports every format, this among them

    module = particle_format(particles.format)
    reader = getattr(module, "read_poses", None)
    if reader is None:
        raise UserError(
            f"a {module.LABEL} records no particle poses; give a set from a 3D refinement (STAR, .cs, .xmd, Scipion)",
            source=str(particles.source),
            field=particles.setting_names.particles,
        )
    poses: Poses = reader(particles)
    _check_finite(poses, particles)
    return poses


def offsets_of(particles: ParticleSet, needed: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Each particle's origin (x, y) in px (RELION's convention), from a 3D or a 2D alignment.

    A set that records no origin gives 0 (the particle sits at the box centre), unless they
    are ``needed`` (masks that follow them): then it is refused, by the format's
    ``no_offsets`` (naming the fields it lacks and where they are), as poses are.

    Raises
    ------
    UserError
        When an origin is not a number, or the set records none and they are ``needed``.
    """
    from maskrun.formats.registry import particle_format

    module = particle_format(particles.format)
    reader = getattr(module, "read_offsets", None)
    if needed:
        refusal = module.no_offsets(particles) if hasattr(module, "no_offsets") else None
        if reader is None:
            refusal = UserError(
                f"a {module.LABEL} records no particle origins; give a set from a 3D refinement or a 2D "
                "classification (STAR, .cs, .xmd, Scipion)",
                source=str(particles.source),
            )
        if refusal is not None:
            raise refusal
    if reader is None:
        zeros = np.zeros(len(particles))
        return zeros, zeros
    x, y = reader(particles)
    bad = ~(np.isfinite(x) & np.isfinite(y))
    if bad.any():
        raise UserError(
            f"{particles.row_name(int(np.flatnonzero(bad)[0]))} has an origin that is not a number; fix or drop it",
            source=str(particles.source),
        )
    return x, y


PSI_PRIOR = "rlnAnglePsiPrior"


def takes_psi_prior(particles: ParticleSet) -> bool:
    """Whether `psi_of` reads a STAR's ``rlnAnglePsiPrior``: the set has it and no ``rlnAnglePsi``.

    A helical extraction writes each segment's picked direction there, the psi RELION's
    refinement starts from; it records no psi and, extracted at the picked centres, no origins.
    """
    if particles.format != "star" or not particles.has_metadata:
        return False
    columns = particles.rows.columns
    return "rlnAnglePsi" not in columns and PSI_PRIOR in columns


def records_offsets(particles: ParticleSet) -> bool:
    """Whether the set records origins: `offsets_of` would not refuse it when they are needed."""
    from maskrun.formats.registry import particle_format

    module = particle_format(particles.format)
    if getattr(module, "read_offsets", None) is None:
        return False
    return not hasattr(module, "no_offsets") or module.no_offsets(particles) is None


def psi_of(particles: ParticleSet) -> np.ndarray:
    """Each particle's in-plane angle psi in degrees (RELION's): a STAR's ``rlnAnglePsi`` or an XMD's ``anglePsi``
    alone (a 2D classification writes it without rot and tilt), a format's ``read_psi`` (a ``.cs``'s
    ``alignments2D/pose``, a Scipion ``2D`` set's matrix), else the psi of the full 3D poses. A STAR
    without ``rlnAnglePsi`` gives its ``rlnAnglePsiPrior`` (`takes_psi_prior`).

    An XMD without ``angleTilt`` holds a 2D alignment (Scipion's Xmipp plugin reads it so), whose
    ``anglePsi`` turns the other way: Scipion's plugins map one 2D transform to Xmipp's
    ``anglePsi`` = −(its angle) and to RELION's ``rlnAnglePsi`` = +(its angle), the shifts to
    ``shiftX/Y`` and ``rlnOriginX/Y`` alike; so RELION's psi is −``anglePsi`` there.

    Raises
    ------
    UserError
        When the set records no in-plane angle, or a row's is not a number.
    """
    from maskrun.formats.registry import particle_format

    reader = getattr(particle_format(particles.format), "read_psi", None)
    psi: np.ndarray
    if reader is not None:  # .cs and Scipion: 2D alignments as well as 3D poses
        column = None
        psi = reader(particles)
    else:
        rows = particles.rows
        names = ("rlnAnglePsi", "anglePsi", PSI_PRIOR)
        column = next((c for c in names if particles.has_metadata and c in rows.columns), None)
        if column is None and particles.has_metadata:
            raise _no_psi(particles)
        psi = rows.numbers(column) if column is not None else poses_of(particles).psi_deg
        if column == "anglePsi" and "angleTilt" not in rows.columns:
            psi = -psi  # an Xmipp 2D alignment: the opposite sense (see the docstring)
    bad = ~np.isfinite(psi)
    if bad.any():
        raise UserError(
            f"{particles.row_name(int(np.flatnonzero(bad)[0]))} has an in-plane angle that is not a number; "
            "fix or drop it",
            source=str(particles.source),
            field=column,
        )
    return psi


def _no_psi(particles: ParticleSet) -> UserError:
    """The refusal of a STAR, XMD or bare stack without in-plane angles, naming both alignments that give them."""
    from maskrun.formats.registry import particle_format

    if particles.format in ("star", "xmd"):
        star = f"rlnAnglePsi column (nor {PSI_PRIOR}, a helical extraction's, taken in its place)"
        lacks = star if particles.format == "star" else "anglePsi column"
        return UserError(
            f"has no {lacks}: these particles have no in-plane angles; take the set from a 3D refinement "
            "or a 2D classification (RELION's Refine3D, Class3D or Class2D)",
            source=str(particles.source),
            field=particles.block_name or None,
        )
    return UserError(
        f"a {particle_format(particles.format).LABEL} records no particle poses; give a set from a 3D refinement "
        "or a 2D classification (STAR, .cs, .xmd, Scipion)",
        source=str(particles.source),
    )


def no_table_offsets(particles: ParticleSet, shifts: tuple[tuple[str, str], ...], takes: str) -> UserError | None:
    """The refusal of a STAR/XMD table that has none of the origin columns ``shifts`` (pairs, the first named
    first), saying which set ``takes`` them; None when it has one."""
    rows = particles.rows
    if any(name in rows.columns for pair in shifts for name in pair):
        return None
    named = " (or ".join("/".join(pair) for pair in shifts) + ")" * (len(shifts) - 1)
    return UserError(
        f"has no {named} columns: these particles have no recorded origins; take the set from {takes}",
        source=str(particles.source),
        field=particles.block_name or None,
    )


def offsets_from_table(
    particles: ParticleSet, shifts_px: tuple[str, str], shifts_angstrom: tuple[str, str] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Origins in px from a STAR/XMD table (in Å per optics group where given); 0 without the columns."""
    x, y, *_ = _table_poses(particles, (), shifts_px, shifts_angstrom)
    return x, y


def _table_poses(
    particles: ParticleSet,
    angles: tuple[str, ...],
    shifts_px: tuple[str, str],
    shifts_angstrom: tuple[str, str] | None,
) -> list[np.ndarray]:
    """Origin x, y in px (0 without the columns), then the ``angles`` columns, the table's lines split once."""
    rows = particles.rows
    shifts = _shift_columns(particles, shifts_px, shifts_angstrom)
    in_angstrom = shifts == shifts_angstrom
    present = [name for name in shifts if name in rows.columns]
    values = dict(zip([*present, *angles], rows.numbers_of([*present, *angles])))
    zeros = np.zeros(len(rows))
    x, y = (values.get(name, zeros) for name in shifts)
    if in_angstrom:
        pixel = _row_pixel_sizes(particles, shifts)
        x, y = x / pixel, y / pixel
    return [x, y, *(values[name] for name in angles)]


def _shift_columns(
    particles: ParticleSet, shifts_px: tuple[str, str], shifts_angstrom: tuple[str, str] | None
) -> tuple[str, str]:
    """The origin columns a STAR/XMD table's origins are read from: in Å when it has both, else in px."""
    if shifts_angstrom is not None and all(name in particles.rows.columns for name in shifts_angstrom):
        return shifts_angstrom
    return shifts_px


def poses_from_table(
    particles: ParticleSet,
    angles: tuple[str, str, str],
    shifts_px: tuple[str, str],
    shifts_angstrom: tuple[str, str] | None = None,
) -> Poses:
    """Poses from a STAR/XMD table's columns: ``angles`` in degrees, shifts in px (or in Å, per optics group)."""
    rows = particles.rows
    missing = [name for name in angles if name not in rows.columns]
    if missing:
        raise UserError(
            f"has no {'/'.join(missing)} column: these particles have no 3D poses "
            "(take the set from a 3D refinement, Refine3D or Class3D)",
            source=str(particles.source),
            field=particles.setting_names.particles,
        )
    x, y, rot, tilt, psi = _table_poses(particles, angles, shifts_px, shifts_angstrom)
    return Poses(rot, tilt, psi, x, y, (*angles, *_shift_columns(particles, shifts_px, shifts_angstrom)))


def angles_of_transposed(matrices_t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """RELION's ``(rot, tilt, psi)`` in degrees of rotations given as ``Aᵀ`` (shape ``(n, 3, 3)``).

    ``Aᵀ`` is scipy's intrinsic ``ZYZ`` rotation by ``(rot, tilt, psi)``. At tilt 0 or 180
    (gimbal lock) only rot + psi (tilt 0) or psi − rot (tilt 180) is defined: it is put in psi,
    with rot 0, so that psi is the image's in-plane angle there too (``follow: pose`` turns by
    it); the rotation, hence the projection, is the same.
    """
    from scipy.spatial.transform import Rotation  # 0.15 s to import: only for .cs and Scipion poses

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "Gimbal lock detected": the angles still give the rotation
        angles = Rotation.from_matrix(matrices_t).as_euler("ZYZ", degrees=True)
    rot, tilt, psi = angles[:, 0], angles[:, 1], angles[:, 2]
    top, bottom = np.abs(tilt) < GIMBAL_DEG, np.abs(tilt - 180) < GIMBAL_DEG
    psi = np.where(top, psi + rot, np.where(bottom, psi - rot, psi))
    psi = (psi + 180) % 360 - 180
    rot = np.where(top | bottom, 0.0, rot)
    return rot, tilt, psi


def _row_pixel_sizes(particles: ParticleSet, columns: tuple[str, str]) -> np.ndarray | float:
    """Each row's pixel size, for its origins in Å (``columns``): its optics group's ``rlnImagePixelSize`` (the groups
    as the reader matched them, `ParticleSet.optics_groups`; matched here for a set read back from a saved plan), else
    the set's (where the group's is unusable: the caller's, for a set that gives none).

    Raises
    ------
    UserError
        When a row has none but the stack header's 1 Å/px (RELION's placeholder) or none, proposing the caller's
        pixel size setting; when it has none at all (a set read without its stacks).
    """
    optics, rows = particles.blocks.get("optics"), particles.rows
    groups = particles.optics_groups or particle_groups(particles.blocks, rows, particles.source, particles.row_names)
    own = usable = None
    if groups is not None and isinstance(optics, Loop) and "rlnImagePixelSize" in optics.columns:
        own = optics.numbers("rlnImagePixelSize")
        usable = usable_pixel_sizes(own)
        if usable[groups.used_rows()].all():
            of_own: np.ndarray = own[groups.optics_row_of_each()]
            return of_own
    if particles.header_is_no_pixel_size:  # the header's 1 Å/px would move each mask its origin in Å, in px
        setting = particles.setting_names.pixel_size_angstrom
        fix = "set the optics groups' rlnImagePixelSize"
        fix = f"set {setting} to the images' pixel size (Å per pixel)" if setting else fix
        raise UserError(
            f"origins are in Å ({'/'.join(columns)}), but {particles.only_header_said}; {fix}",
            source=str(particles.source),
        )
    fallback = particles.pixel_size_angstrom  # the caller's, the header's, or the metadata's own
    if not fallback:
        raise UserError(
            "origins are in Å but no pixel size is known; add rlnImagePixelSize to the optics block",
            source=str(particles.source),
        )
    if groups is None or own is None or usable is None:
        return fallback
    # the groups that give none take the set's: at a read, every group the particles use (a read refuses some giving
    # none); some only in a STAR changed since the saved plan a run in progress goes on by (`reread_metadata`)
    of_row: np.ndarray = np.where(usable, own, fallback)[groups.optics_row_of_each()]
    return of_row


POSE_PARTS = ("rot angle", "tilt angle", "psi angle", "x origin", "y origin")  # as each format's reader gives them


def pose_parts(parts: list[str]) -> str:
    """Parts of a pose (`POSE_PARTS`) in words, each noun once.

    Examples
    --------
    >>> pose_parts(["rot angle", "tilt angle", "psi angle"]), pose_parts(["tilt angle"])
    ('rot, tilt and psi angles', 'tilt angle')
    >>> pose_parts(["psi angle", "x origin", "y origin"])
    'psi angle and x and y origins'
    """
    groups = []
    for noun in ("angle", "origin"):
        names = [part.removesuffix(f" {noun}") for part in parts if part.endswith(f" {noun}")]
        if names:
            listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
            groups.append(f"{listed} {noun}{'s' * (len(names) > 1)}")
    return " and ".join(groups)


def _check_finite(poses: Poses, particles: ParticleSet) -> None:
    values = np.stack([poses.rot_deg, poses.tilt_deg, poses.psi_deg, poses.origin_x_px, poses.origin_y_px])
    unusable = ~np.isfinite(values)
    bad = unusable.any(axis=0)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        parts = [name for name, missing in zip(POSE_PARTS, unusable[:, row], strict=True) if missing]
        read_from = [poses.read_from[POSE_PARTS.index(part)] for part in parts] if poses.read_from else []
        named = f" ({', '.join(dict.fromkeys(read_from))})" if read_from else ""
        count = int(bad.sum())
        verb = "are missing or not numbers" if len(parts) > 1 else "is missing or not a number"
        raise UserError(
            f"{particles.row_name(row)} has no usable pose: its {pose_parts(parts)}{named} {verb}"
            + (
                f" ({count} {particles.rows_word} in all); fix or drop those {particles.rows_word}"
                if count > 1
                else f"; fix or drop that {particles.rows_word[:-1]}"
            ),
            source=str(particles.source),
            field=particles.setting_names.particles,
        )
