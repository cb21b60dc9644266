"""Atomic models (PDB, mmCIF; also gzipped) read with gemmi: atom positions, elements and radii.

One model of the file is read: the first (the first of an NMR ensemble), or the one the
selection names (``/2``: model 2); every atom of it, alternative conformations and hydrogens
included, unless a selection narrows it. Selections use gemmi's syntax
(https://gemmi.readthedocs.io/en/latest/analysis.html#selections): ``/model/chain/residues/atoms``,
e.g. ``//A`` (chain A), ``//A/100-200`` (its residues 100 to 200), ``//*/(ATP)`` (every ATP),
``//*//CA`` (alpha carbons), ``[S]`` (sulphur atoms), ``/2/A`` (chain A of model 2).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from maskrun.errors import UserError
from maskrun.io.model_file import check_pdb_records, checked_head, why_no_atoms, why_unreadable
from maskrun.io.paths import file_not_found, is_file


@dataclass(frozen=True)
class AtomicModel:
    """The atoms maskrun uses from a model file, after the selection.

    ``positions_xyz_angstrom`` is ``(n, 3)`` float64 in the file's Cartesian frame;
    ``atomic_numbers`` (0 for an unknown element) and ``vdw_radii_angstrom`` (gemmi's
    element van der Waals radii) are ``(n,)``. ``atoms_in_model`` counts the atoms of the
    model read (number ``model_number``, as the file numbers it) before the selection;
    ``model_named`` says whether the selection named it (else it is the first of the file's
    ``models_in_file``).
    """

    path: Path
    positions_xyz_angstrom: np.ndarray
    atomic_numbers: np.ndarray
    vdw_radii_angstrom: np.ndarray
    atoms_in_model: int
    selection: str | None
    model_number: str
    model_named: bool
    models_in_file: int

    @property
    def which_model(self) -> str:
        """The model read, in words: ``model 2``, or ``model 1, the first of 2`` when the file holds more."""
        if self.model_named or self.models_in_file == 1:
            return f"model {self.model_number}"
        return f"model {self.model_number}, the first of {self.models_in_file}"


def read_atomic_model(
    path: str | os.PathLike[str],
    select: str | None = None,
    *,
    field: str = "file",
    select_field: str = "select",
) -> AtomicModel:
    """Read one model of a PDB or mmCIF file, keeping the atoms ``select`` names.

    The model is the first of the file, unless ``select`` names one (``/2/A``: chain A of
    model 2, as gemmi numbers models); a model the file does not hold selects no atom.

    Parameters
    ----------
    path
        A ``.pdb``/``.ent``/``.cif``/``.mmcif`` file (``.gz`` too).
    select
        A gemmi selection, or None for every atom.
    field, select_field
        How the user named the file and the selection, for messages.

    Raises
    ------
    UserError
        If the file is missing, not a model (`maskrun.io.model_file`: a truncated gzip file,
        a PDB file with a record cut short, a map, other text) or holds no atoms, the
        selection is not gemmi's syntax, or it selects no atom (a model the file does not hold,
        say).
    """
    gemmi = _gemmi()
    path = Path(path)
    if not is_file(path):
        raise file_not_found(path, "give a PDB or mmCIF file", field)
    head = checked_head(path, field)
    check_pdb_records(path, field)
    try:
        structure = gemmi.read_structure(str(path))
    except (RuntimeError, ValueError, OSError, UnicodeDecodeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(why_unreadable(head, path, reason), source=str(path), field=field) from None
    if len(structure) == 0:
        _refuse_no_atoms(head, path, field)
    model, named = structure[0], False
    selection = None
    if select is not None:
        try:
            selection = gemmi.Selection(select)
        except (RuntimeError, ValueError) as exc:
            raise UserError(
                f"'{select}' is not a gemmi selection ({exc}); write e.g. '//A' (chain A), '//A/100-200' "
                "(its residues 100-200) or '//*/(ATP)' (every ATP)",
                field=select_field,
            ) from None
        # copy_model_selection ignores the selection's model part: take the model it names here
        chosen = list(selection.models(structure))
        if len(chosen) < len(structure):
            if not chosen:
                held = ", ".join(_model_number(m) for m in structure)
                raise UserError(
                    f"'{select}' selects no atom: {path.name} holds no such model (its models: {held}); "
                    "name one of them, or leave the model out ('//A') for the first",
                    field=select_field,
                )
            model, named = chosen[0], True
    atoms_in_model = model.count_atom_sites()
    if atoms_in_model == 0 and not named:
        _refuse_no_atoms(head, path, field)
    number = _model_number(model)
    positions, numbers, radii = _atoms_of(model if selection is None else selection.copy_model_selection(model))
    read = AtomicModel(path, positions, numbers, radii, atoms_in_model, select, number, named, len(structure))
    if not len(positions):
        chains = ", ".join(dict.fromkeys(chain.name for chain in model))
        raise UserError(
            f"'{select}' selects none of the {atoms_in_model} atoms of {read.which_model} of {path.name}, whose "
            f"chains are {chains or 'none'} (author names, as selections use); {_selection_fix(str(select))}",
            field=select_field,
        )
    if not np.isfinite(positions).all():
        raise UserError("has atoms whose coordinates are not finite; fix the model", source=str(path), field=field)
    return read


def _selection_fix(select: str) -> str:
    """How to fix a selection that selects nothing: gemmi's syntax, said first when it reads like prose.

    gemmi reads ``chain A`` (PyMOL's, ChimeraX's words) as a chain literally named "chain A":
    words with a space and no ``/`` are rarely meant so.
    """
    syntax = "gemmi syntax: '//A' (chain A), '//A/100-200' (its residues 100-200), '//*/(ATP)' (every ATP)"
    if "/" not in select and " " in select.strip():
        chain = re.fullmatch(r"\s*chain\s+(\S+)\s*", select, re.IGNORECASE)
        instead = f"write '//{chain.group(1)}' for chain {chain.group(1)}; " if chain else ""
        return f"gemmi reads '{select}' as the name of a chain, not as words; {instead}{syntax}"
    return f"check the chain, residue and atom names ({syntax})"


def _refuse_no_atoms(head: bytes, path: Path, field: str) -> None:
    """Refuse a file whose first model has no atom: no model at all (other text), or a model file without atoms."""
    why = why_no_atoms(head, path) or "holds no atoms; give a PDB or mmCIF file with coordinates"
    raise UserError(why, source=str(path), field=field)


def _model_number(model: Any) -> str:
    """A model's number as the file gives it (gemmi 0.7's ``num``; ``name``, text, before)."""
    number = getattr(model, "num", None)
    return str(number if number is not None else model.name)


def _atoms_of(model: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions (n, 3) in Å, atomic numbers and van der Waals radii of every atom of a gemmi model."""
    atoms = [site.atom for site in model.all()]
    positions = np.array([atom.pos.tolist() for atom in atoms], np.float64).reshape(-1, 3)
    numbers = np.array([atom.element.atomic_number for atom in atoms], np.int64)
    return positions, numbers, _vdw_radii()[numbers]


def _vdw_radii() -> np.ndarray:
    """gemmi's van der Waals radius of every element by atomic number (0, unknown: 1 Å), to 3 decimals."""
    gemmi = _gemmi()
    return np.array([round(gemmi.Element(number).vdw_r, 3) for number in range(119)])


def _gemmi() -> Any:
    """gemmi, imported when a model is read (no other command needs it)."""
    import gemmi

    return gemmi
