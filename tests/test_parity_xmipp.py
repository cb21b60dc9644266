"""Parity with the real xmipp_transform_mask on the 120 reference cases (docs/spec.md, "Parity with Xmipp").

Each case runs through ``maskrun mask`` itself (option parsing included), then compares:
for binary shapes the set of changed pixels must equal Xmipp's; for every case the values
must agree within 1e-5 · max(1, max|input|).
"""

from __future__ import annotations

import json

import mrcfile
import numpy as np
import pytest

from maskrun.cli.main import main
from maskrun.config.shape_params import BINARY_SHAPES

from conftest import SHARED

GOLDEN = SHARED / "golden" / "xmipp"
CASES_FILE = GOLDEN / "cases.json"
CASES = json.loads(CASES_FILE.read_text())["cases"] if CASES_FILE.exists() else []


def cli_args(case: dict) -> list[str]:
    """The ``maskrun mask`` options that express a case's job-file parameters."""
    spec = case["maskrun"]
    mask = spec["mask"]
    args: list[str] = []
    if mask["source"] == "file":
        args += ["--mask-file", str(GOLDEN / mask["file"])]
    else:
        for key, value in mask["geometry"].items():
            option = "--" + key.replace("_", "-")
            if key == "invert":
                args += [option] if value else []
            elif isinstance(value, list):
                args += [option, *map(str, value)]
            else:
                args += [option, str(value)]
    fill = spec.get("fill", {})
    if "with" in fill:
        args += ["--fill", fill["with"]]
    if "value" in fill:
        args += ["--fill-value", str(fill["value"])]
    if "compat" in spec:
        args += ["--compat", spec["compat"]]
    return args


def test_all_cases_present():
    if not CASES_FILE.exists():
        pytest.skip(f"{CASES_FILE} is absent")
    assert len(CASES) == 120


@pytest.mark.parametrize(
    "case",
    CASES or [pytest.param(None, marks=pytest.mark.skip(reason="../shared absent"))],
    ids=[c["id"] for c in CASES] or ["no-shared"],
)
def test_xmipp_case(case, tmp_path):
    source = GOLDEN / case["input"]
    out = tmp_path / case["expected"]
    status = main(["mask", str(source), str(out), *cli_args(case)])
    assert status == 0

    original = mrcfile.read(source).astype(np.float32)
    expected = mrcfile.read(GOLDEN / case["expected"])
    got = mrcfile.read(out)
    assert got.dtype == np.float32 and got.shape == expected.shape == original.shape

    tolerance = 1e-5 * max(1.0, float(np.abs(original).max()))
    worst = float(np.abs(got.astype(np.float64) - expected).max())
    assert worst <= tolerance, f"max difference {worst:g} > {tolerance:g}"

    geometry = case["maskrun"]["mask"].get("geometry", {})
    if geometry.get("shape") in BINARY_SHAPES:
        changed_by_us = got != original
        changed_by_xmipp = expected != original
        assert np.array_equal(changed_by_us, changed_by_xmipp), (
            f"{int((changed_by_us != changed_by_xmipp).sum())} pixels differ in the changed set"
        )
