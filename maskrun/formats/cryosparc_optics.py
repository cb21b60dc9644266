"""The optics block of a cryoSPARC set's companion RELION STAR: one optics group per distinct optics.

cryoSPARC keeps the optics in every row (``ctf/accel_kv``, ``ctf/cs_mm``, ``ctf/amp_contrast``,
``blob/psize_A``) and fits the higher-order aberrations per exposure group (``ctf/exp_group_id``):
``ctf/tilt_A``, ``ctf/trefoil_A``, ``ctf/tetra_A``, ``ctf/anisomag``. RELION 3.1 keeps them per
optics group, each particle naming its group (``rlnOpticsGroup``, the group's 1-based row in the
optics block). Rows share a group when they share the exposure group (where the set has one: a
group RELION's CtfRefine can then fit apart, as cryoSPARC did) and every value the block
carries; a value that differs inside an exposure group splits it (``opticsGroup<id>_<k>``), so
each particle keeps its own optics exactly, never the first row's.

Beam tilt. RELION's beam-tilt phase is 2π·Cs·λ²·|k|²·(k·τ), Cs in Å and τ in radians
(``TiltHelper::insertTilt``: odd Zernike coefficients ``Cs[mm]·20000·λ²·π·tilt[mrad]/3``;
``selfApplyBeamTilt`` in src/fftw.cpp: ``0.360°·Cs[mm]·10⁷·λ²``), the axial coma B = Cs·τ of a
beam tilted by τ. cryoSPARC stores that third-order coefficient as a length, ``ctf/tilt_A`` (Å),
and reports the beam tilt as it divided by Cs (cryoSPARC forum, "Understanding values of
beamtilt"): the size would be rlnBeamTiltX/Y [mrad] = 1000 · tilt_A ÷ (Cs [mm] · 10⁷ Å/mm). Its
sign and axes are not established (cryoSPARC's code is not public, and a tilt of the wrong sign
doubles the coma RELION would then correct), so it is not written: rows of different tilt are in
different optics groups, each of which RELION's CtfRefine can fit, and a warning says so.

Left out, with a warning when a row of any optics group holds anything but 0: ``ctf/trefoil_A``
and ``ctf/tetra_A`` (which basis, sign and axes cryoSPARC's coefficients use is not public, and
RELION's ``rlnOddZernike``/``rlnEvenZernike`` need all three), ``ctf/anisomag`` (all 0 when
unrefined, so not the matrix itself, as pyem's unused conversion would copy it into
``rlnMagMat``; whether RELION's matrix is identity plus it, its transpose or its inverse is not
established) and ``ctf/shift_A``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from maskrun.config.optics import Optics
from maskrun.errors import CompanionStarWarning
from maskrun.formats.setting_names import NO_NAMES, SettingNames
from maskrun.io.pixel_size import usable_pixel_size

OPTICS_FIELDS = (  # RELION label, .cs field, Optics key
    ("rlnVoltage", "ctf/accel_kv", "voltage_kv"),
    ("rlnSphericalAberration", "ctf/cs_mm", "cs_mm"),
    ("rlnAmplitudeContrast", "ctf/amp_contrast", "amplitude_contrast"),
)
EXAMPLE_OPTICS = {"voltage_kv": 300, "cs_mm": 2.7, "amplitude_contrast": 0.1}  # the warning's example, not a default
GROUP_FIELD = "ctf/exp_group_id"
TILT_FIELD = "ctf/tilt_A"
LEFT_OUT_FIELDS = (TILT_FIELD, "ctf/trefoil_A", "ctf/tetra_A", "ctf/anisomag", "ctf/shift_A")


@dataclass(frozen=True)
class OpticsGroups:
    """The optics block's columns (text, one value per group) and each row's group, 0-based."""

    table: dict[str, list[str]]
    group_of_row: np.ndarray

    def particle_column(self) -> list[str]:
        """``rlnOpticsGroup`` of every row, as text."""
        count = len(self.table["rlnOpticsGroup"])
        if count == 1:
            return ["1"] * len(self.group_of_row)
        labels: list[str] = np.array(self.table["rlnOpticsGroup"])[self.group_of_row].tolist()
        return labels


def optics_groups(
    records: np.ndarray,
    pixel_size: float,
    box: int,
    optics: Optics | None = None,
    where: str | None = None,
    beside: Callable[[list[str]], Path | None] | None = None,
    setting_names: SettingNames = NO_NAMES,
) -> OpticsGroups:
    """The RELION 3.1 optics groups of a ``.cs`` set (module docstring): one per exposure group and optics.

    Parameters
    ----------
    pixel_size
        The set's pixel size in Å, for rows whose ``blob/psize_A`` is missing or unusable.
    box
        The images' box size in pixels (``rlnImageSize``).
    optics
        The caller's (a job's ``inputs.optics``): voltage, Cs and amplitude contrast where the
        ``.cs`` has none (absent, not a number, or a voltage ≤ 0).
    where
        The ``.cs``, named in warnings.
    beside
        Finds the passthrough ``.cs`` beside the set that holds fields it lacks (the set has
        none given), for the warning to name.
    setting_names
        How the caller names ``optics`` and the passthrough, for the warning's fix.

    Warns
    -----
    CompanionStarWarning
        When voltage, Cs or amplitude contrast is in neither the ``.cs`` nor ``optics``
        (RELION refuses the STAR: its column is left out), and when the set holds
        aberrations the STAR leaves out.
    """
    names = records.dtype.names or ()
    supplied = optics.model_dump() if optics is not None else {}
    count = len(records)
    pixel_texts, pixel_codes = _star_pixels(records, pixel_size)
    keys = {star: _optics_column(records, cs, supplied.get(key)) for star, cs, key in OPTICS_FIELDS}
    keys["rlnImagePixelSize"] = np.array([float(text) for text in pixel_texts])[pixel_codes]
    exposure = _number_column(records, GROUP_FIELD)
    tilt_A = _tilt_A(records) if TILT_FIELD in names else None
    ordered = ([exposure] if exposure is not None else []) + list(keys.values())
    ordered += [tilt_A[:, 0], tilt_A[:, 1]] if tilt_A is not None else []
    first, group_of_row = _groups(ordered, count)
    table = {
        "rlnOpticsGroup": [str(g + 1) for g in range(len(first))],
        "rlnOpticsGroupName": _group_names(len(first), exposure[first] if exposure is not None else None),
        "rlnImagePixelSize": [pixel_texts[code] for code in pixel_codes[first]],
        "rlnImageSize": [str(box)] * len(first),
        "rlnImageDimensionality": ["2"] * len(first),
    }
    missing = []
    for star, cs, _ in OPTICS_FIELDS:
        values = keys[star][first]
        if np.isnan(values).any():
            missing.append((cs, bool(np.isnan(values).all())))
        else:
            table[star] = [f"{value:.6f}" for value in values.tolist()]
    found = beside([cs for cs, _ in missing]) if beside is not None and missing else None
    _warn_of_missing(missing, where, found, setting_names)
    representatives = records[first]
    left_out = [name for name in LEFT_OUT_FIELDS if name in names and _holds_nonzero(representatives, name)]
    _warn_of_left_out(left_out, where)
    return OpticsGroups(table, group_of_row)


def star_pixel_sizes(records: np.ndarray, pixel_size: float) -> np.ndarray:
    """Each row's pixel size in Å as its optics group's ``rlnImagePixelSize`` says it (origins in Å use it)."""
    texts, codes = _star_pixels(records, pixel_size)
    sizes: np.ndarray = np.array([float(text) for text in texts])[codes]
    return sizes


def _star_pixels(records: np.ndarray, pixel_size: float) -> tuple[list[str], np.ndarray]:
    """The distinct ``rlnImagePixelSize`` texts and each row's: ``blob/psize_A`` when usable, else ``pixel_size``."""
    own = _number_column(records, "blob/psize_A")
    if own is None:
        return [float32_text(pixel_size)], np.zeros(len(records), dtype=np.intp)
    values, codes = _factorize(own)
    texts = [float32_text(usable_pixel_size(value) or pixel_size) for value in values.tolist()]
    distinct = list(dict.fromkeys(texts))  # two unusable values both give the set's
    remap = np.array([distinct.index(text) for text in texts])
    return distinct, remap[codes]


def float32_text(value: float) -> str:
    """The shortest decimal that reads back as ``value``: ``1.31`` for ``blob/psize_A`` 1.31, not float32's
    1.309998; a value that is no float32 keeps all its digits."""
    single = np.float32(value)
    if float(single) == value:
        return np.format_float_positional(single, unique=True, trim="0")
    return repr(float(value))


def _number_column(records: np.ndarray, name: str) -> np.ndarray | None:
    """A field of one number per row as float64; None when absent or not that (read_cs refuses the latter)."""
    if name not in (records.dtype.names or ()):
        return None
    values = records[name]
    if values.dtype.kind not in "iuf" or values.ndim != 1:
        return None
    column: np.ndarray = np.asarray(values, dtype=np.float64)
    return column


def _optics_column(records: np.ndarray, name: str, supplied: float | None) -> np.ndarray:
    """An optics field per row; ``supplied`` (else NaN) where absent, not finite, or a voltage ≤ 0 (unset)."""
    fill = math.nan if supplied is None else float(supplied)
    column = _number_column(records, name)
    if column is None:
        return np.full(len(records), fill)
    unset = ~np.isfinite(column)
    if name == "ctf/accel_kv":
        unset |= column <= 0
    return np.where(unset, fill, column) if unset.any() else column


def _tilt_A(records: np.ndarray) -> np.ndarray | None:
    """``ctf/tilt_A`` as (n, 2) float64, a value that is not a number read as 0; None when all 0 (as unrefined)."""
    values = records[TILT_FIELD]
    if values.dtype.kind not in "iuf" or values.shape[1:] != (2,) or not np.any(values):
        return None
    tilt: np.ndarray = np.asarray(values, dtype=np.float64)
    return np.where(np.isfinite(tilt), tilt, 0.0)


def _holds_nonzero(records: np.ndarray, name: str) -> bool:
    """Whether a numeric field holds anything but 0 in ``records`` (one row of each optics group: cryoSPARC
    writes these per exposure group, and a pass over a million rows costs ~18 ms a field)."""
    values = records[name]
    return values.dtype.kind in "iuf" and bool(np.any(values))


def _factorize(column: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The sorted distinct values of ``column`` and each row's index among them (one value: no sort)."""
    if len(column) and (column == column[0]).all():  # NaN ≠ NaN: such a column takes np.unique's path
        return column[:1].copy(), np.zeros(len(column), dtype=np.intp)
    values, codes = np.unique(column, return_inverse=True)  # NaNs count as one value
    return values, codes.reshape(-1)


def _groups(columns: list[np.ndarray], count: int) -> tuple[np.ndarray, np.ndarray]:
    """One row of each distinct combination of ``columns`` (ordered by them, first column first), and each
    row's combination, 0-based. A column that is constant within the groups so far splits none and costs
    no sort: one exposure group is a few ms at 10⁶ rows, and optics that follow the exposure groups too."""
    first = np.zeros(1, dtype=np.intp)
    codes = np.zeros(count, dtype=np.intp)
    for column in columns:
        if (column[first][codes] == column).all():  # NaN ≠ NaN: such a column is sorted
            continue
        if len(first) == 1:  # the first column that splits: its values are the groups (NaNs count as one)
            _, first, codes = np.unique(column, return_index=True, return_inverse=True)
        else:
            values, inverse = np.unique(column, return_inverse=True)
            combined = codes * len(values) + inverse.reshape(-1)
            _, first, codes = np.unique(combined, return_index=True, return_inverse=True)
        codes = codes.reshape(-1)
    return first, codes


def _group_names(count: int, exposure_ids: np.ndarray | None) -> list[str]:
    """``opticsGroup<exposure group>`` (``_<k>`` when optics split it); ``opticsGroup<n>`` without exposure groups.

    One group keeps the name maskrun always gave it, ``opticsGroup1``.
    """
    if exposure_ids is None or count == 1:
        return [f"opticsGroup{n + 1}" for n in range(count)]
    ids = [str(int(value)) if value.is_integer() else repr(value) for value in exposure_ids.tolist()]
    names = []
    for position, group in enumerate(ids):
        if ids.count(group) == 1:
            names.append(f"opticsGroup{group}")
        else:
            names.append(f"opticsGroup{group}_{ids[: position + 1].count(group)}")
    return names


def _warn_of_missing(
    missing: list[tuple[str, bool]], where: str | None, beside: Path | None = None, names: SettingNames = NO_NAMES
) -> None:
    if not missing:
        return
    fields = ", ".join(cs for cs, _ in missing)
    keys = [key for _, cs, key in OPTICS_FIELDS if cs in {name for name, _ in missing}]
    example = ", ".join(f"{key}: {EXAMPLE_OPTICS[key]}" for key in keys)
    rows = "" if all(everywhere for _, everywhere in missing) else " in some rows"
    passthrough = (
        f"their passthrough {beside.name} beside it holds them: give it as {names.passthrough}, or "
        if beside and names.passthrough
        else ""
    )
    values = f"give them as {names.optics}" if names.optics else "write them into the .cs"
    fix = f"{passthrough}{values}, with your microscope's values" + (f", e.g. {{{example}}}" if names.optics else "")
    warnings.warn(
        f"{where or 'the .cs'} has no {fields}{rows}: the RELION particles.star written beside it lacks them and "
        f"RELION refuses it; {fix}",
        CompanionStarWarning,
        stacklevel=4,
    )


def _warn_of_left_out(fields: list[str], where: str | None) -> None:
    if fields:
        warnings.warn(
            f"{where or 'the .cs'}: {', '.join(fields)} not written to the RELION particles.star beside it (no "
            "established conversion to RELION's conventions), so RELION does not correct for them; refine them "
            "in RELION (CtfRefine) if they matter",
            CompanionStarWarning,
            stacklevel=4,
        )
