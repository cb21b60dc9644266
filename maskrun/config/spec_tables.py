"""The tables of docs/spec.md that the registries generate: shapes and fills.

``python -m maskrun.config.spec_tables`` prints them; `tests/config/test_spec_tables.py` holds the
spec to them, so a new shape or fill cannot be left out of the contract. Each shape's row
comes from its model: dimensions, its own parameters with their descriptions, its docstring's
first line (the mask value m), and whether it takes a ``soft_edge``.
"""

from __future__ import annotations

from maskrun.config.fill import FILL_KINDS
from maskrun.config.shape_params import SHAPES

_COMMON = ("shape", "center", "invert", "soft_edge", "lengths_in_angstrom")


def shape_table() -> str:
    """The Shapes table, one row a registered shape, as Markdown."""
    rows = [
        "| shape | 2D | 3D | parameters (−1: the default) | mask value m (not inverted) | `soft_edge` |",
        "|---|---|---|---|---|---|",
    ]
    for tag, model in SHAPES.items():
        fields = [n for n in model.model_fields if n not in _COMMON]
        parameters = "; ".join(f"`{n}`: {model.model_fields[n].description}" for n in fields)
        value = (model.__doc__ or "").strip().split("\n\n")[0].replace("``", "`").replace("\n", " ")
        value = value.replace("|", "\\|")  # a cell of a Markdown table
        marks = ["✓" if d in model.dims else "" for d in (2, 3)]
        edge = "✓" if model.hard_edged else "soft already"
        rows.append(f"| `{tag}` | {marks[0]} | {marks[1]} | {parameters} | {value} | {edge} |")
    return "\n".join(rows) + "\n"


def fill_table() -> str:
    """The Fills table, one row a registered fill, as Markdown."""
    rows = ["| `fill.with` | what replaces the masked-out part | its options |", "|---|---|---|"]
    for kind in FILL_KINDS.values():
        options = ", ".join(f"`{o}`" for o in kind.takes)
        rows.append(f"| `{kind.name}` | {kind.words} | {options} |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(shape_table())
    print(fill_table())
