"""The spec's shape and fill tables are the registries' own (`maskrun.config.spec_tables`)."""

from __future__ import annotations

from pathlib import Path

from maskrun.config.spec_tables import fill_table, shape_table

SPEC = Path(__file__).resolve().parents[2] / "docs" / "spec.md"


def test_the_spec_lists_every_shape_as_its_model_describes_it():
    table = shape_table()
    assert table in SPEC.read_text(), "regenerate with: python -m maskrun.config.spec_tables"
    assert table.count("\n| `") == 8 and "| `cylinder` |  | ✓ |" in table and "\\|z\\| ≤ H/2" in table


def test_the_spec_lists_every_fill_with_its_options():
    table = fill_table()
    assert table in SPEC.read_text(), "regenerate with: python -m maskrun.config.spec_tables"
    assert "| `noise` | white Gaussian noise with each image's background mean and σ | `seed` |" in table
