"""check-mask --search and the verdict give one answer: the search's rows reach the verdict's mask when none is
fine, the verdict's mask is judged beside them in their terms (it grows from the mask's core, they from its 0.5
contour), and the last line is the one command to run."""

from __future__ import annotations

import json
import shlex

import mrcfile
import numpy as np
import pytest
from scipy import ndimage

from maskrun.cli.main import main

from conftest import shared_path, write_mrc

VOXEL = 3.54


@pytest.fixture(scope="module")
def look(tmp_path_factory):
    """The newcomer's look: half-maps of ref_model.mrc plus smooth noise as strong as its signal, and the mask
    ``make-mask auto.mrc --from-map ref_model.mrc --threshold auto --extend 3 --soft-edge 6`` (28 % of the box)."""
    ref_model = shared_path("data", "public", "ref_model.mrc")
    with mrcfile.open(ref_model, permissive=True) as mrc:
        density = np.asarray(mrc.data, dtype=np.float32)
    folder = tmp_path_factory.mktemp("look")
    rng = np.random.default_rng(0)
    halves = []
    for i in (1, 2):
        noise = ndimage.gaussian_filter(rng.normal(0, 1, density.shape), 1.0).astype(np.float32)
        halves.append(write_mrc(folder / f"h{i}.mrc", density + noise * (density.std() / noise.std()), VOXEL))
    mask = folder / "auto.mrc"
    made = ["make-mask", str(mask), "--from-map", str(ref_model), "--threshold", "auto", "--extend", "3"]
    assert main([*made, "--soft-edge", "6"]) == 0
    return halves, mask


def test_a_search_whose_every_row_is_too_loose_reaches_the_verdicts_mask_and_names_it(look):
    """The look: the verdict 'shrink the mask by 17.7 Å (extend by -5 px)' from the mask's core (--threshold 0.99),
    the grid from its 0.5 contour reaching -2 px only, every row too loose, and a last line 'the tightest that is not
    too tight is extend -2 px … or follow the verdict's advice'. Here one edge only, as the grid's own rule is not the
    point: its rows go on past -2 px toward the verdict's mask, and the answer is that mask, with its command."""
    from maskrun.engine.mask_advice import CONFLICT
    from maskrun.engine.mask_check import check_mask
    from maskrun.engine.mask_search import search_masks
    from maskrun.jobs.make_mask_commands import remake_command, search_command

    (h1, h2), mask = look
    check = check_mask(h1, h2, mask)
    assert check.verdict == CONFLICT
    remake = check.reasons[0].remake
    assert remake is not None and remake.threshold == pytest.approx(0.99) and remake.extend_px < -2
    found = search_masks(check, extends_px=(-2.0, 0.0), soft_edges_px=(6.0,))
    tried = found[0]
    assert all(c.verdict == "too loose" for c in tried if c.extend_px >= -2)  # the look's grid: no answer in it
    tightest = min(tried, key=lambda c: c.extend_px)
    assert tightest.extend_px <= -8  # the rows reach toward the verdict's mask ...
    verdict = found.verdict_mask
    assert verdict is not None and verdict.threshold == remake.threshold and verdict.extend_px == remake.extend_px
    # ... until one keeps as little as it, or is too tight
    assert tightest.kept_fraction <= verdict.kept_fraction or tightest.verdict == "too tight"
    from maskrun.engine.search_answer import search_answer

    answer = search_answer(found)
    assert answer is not None and answer.verdict == "too loose"  # the tightest not too tight, of all tried
    assert answer.kept_fraction == min(c.kept_fraction for c in [*tried, verdict] if c.verdict == "too loose")
    if answer is verdict:  # the verdict's own line, word for word
        assert search_command(answer, str(mask), found) == remake_command(remake, str(mask))


@pytest.mark.system  # 44 candidates at 100³: half a minute (CI runs it: pytest -m system)
def test_check_mask_search_ends_with_the_one_command_the_verdict_and_the_search_agree_on(look, tmp_path, capsys):
    (h1, h2), mask = look
    out = tmp_path / "check.json"
    assert (
        main(
            ["check-mask", "--half1", str(h1), "--half2", str(h2), "--mask", str(mask), "--search", "--json", str(out)]
        )
        == 0
    )
    stdout = capsys.readouterr().out
    lines = [line for line in stdout.strip().splitlines() if not line.startswith("wrote ")]
    report = json.loads(out.read_text())
    verdict_make_it = next(line.strip() for line in lines if line.strip().startswith("make it: "))
    assert "--threshold 0.99 --extend -5" in verdict_make_it  # the look's advice, from the mask's core
    search = report["search"]
    assert lines[-1] == f"make it: {search['make_it']}"  # the last line: one command
    assert "or follow the verdict's advice" not in stdout and "widen the search by hand" not in stdout
    assert "from the core of " in stdout and "not from the contour the rows grow from" in stdout
    assert search["verdict_mask"]["threshold"] == pytest.approx(0.99)
    assert min(c["extend_px"] for c in search["candidates"]) <= -8  # past the grid's -2 px, toward that mask
    answer = search["answer"]
    loose = [c for c in [*search["candidates"], search["verdict_mask"]] if c["verdict"] == "too loose"]
    assert answer["kept_fraction"] == min(c["kept_fraction"] for c in loose)
    if answer == search["verdict_mask"]:
        assert lines[-1] == verdict_make_it
    # the command given makes the mask the search judged: its check says the same of it
    command = shlex.split(search["make_it"])[1:]
    made = tmp_path / "made.mrc"
    assert main([command[0], str(made), *command[2:]]) == 0
    capsys.readouterr()
    assert (
        main(
            [
                "check-mask",
                "--half1",
                str(h1),
                "--half2",
                str(h2),
                "--mask",
                str(made),
                "--json",
                str(out),
                "--overwrite",
            ]
        )
        == 0
    )
    capsys.readouterr()
    again = json.loads(out.read_text())
    assert again["resolution_angstrom"] == pytest.approx(answer["resolution_angstrom"], abs=1e-3)
