"""``check-mask --search``'s answer: the one mask to make, in words (a table and its last lines) and as JSON data.

The search (`maskrun.engine.mask_search`) grows its candidates from the given mask's 0.5
contour; the verdict's ``make it`` size grows from the mask's core (where it is at least 0.99
of its top) when the mask has a soft edge. A look read the verdict's "shrink the mask by 17.7 Å
(extend by -5 px)" over a search table whose every row was too loose and whose last line said
"the tightest that is not too tight is extend -2 px … or follow the verdict's advice": two
answers, counted from two contours. The verdict's mask is now judged beside the candidates and
said in the table's terms (`verdict_words`), and `search_answer` picks one mask of them all.
"""

from __future__ import annotations

from dataclasses import asdict

from maskrun.engine.mask_search import CONTOUR, Candidate, Search


def search_answer(search: Search, given_fine: bool = False) -> Candidate | None:
    """The mask the search's last line says to make, of the grid's candidates and the verdict's mask.

    The tightest fine (`Search.best`, which may be the verdict's mask); none when the given mask
    is fine and no tighter one is (keep it); else the tightest (least kept) that is too loose only
    (not too tight, no hard edge), whose solvent costs least; else the verdict's mask, the advice
    the check tried; else None (the verdict advises no size: its reasons say what to do).
    """
    if search.best is not None:
        return search.best
    if given_fine:
        return None
    masks = search.tried + ([search.verdict_mask] if search.verdict_mask is not None else [])
    loose = [c for c in masks if c.verdict == "too loose"]
    if loose:
        return min(loose, key=lambda c: c.kept_fraction)
    return search.verdict_mask


def made_words(candidate: Candidate, mask_name: str, voxel_size_angstrom: float) -> str:
    """How a candidate is made from the given mask: ``extend -2 px (-7.08 Å), soft edge 3 px (10.62 Å) from the 0.5
    contour of M`` (the verdict's: ``from the core of M, where it is at least 0.99``)."""
    where = (
        f"the 0.5 contour of {mask_name}"
        if candidate.threshold == CONTOUR
        else f"the core of {mask_name}, where it is at least {candidate.threshold:g}"
    )
    return (
        f"extend {candidate.extend_px:g} px ({candidate.extend_px * voxel_size_angstrom:g} Å), soft edge "
        f"{candidate.soft_edge_px:g} px ({candidate.soft_edge_px * voxel_size_angstrom:g} Å) from {where}"
    )


def verdict_words(search: Search, mask_name: str, voxel_size_angstrom: float) -> str | None:
    """The verdict's mask in the table's terms: how it is made (and from which contour), what it keeps and its
    verdict, and the candidate of the nearest edge that keeps as much; None without a verdict's mask."""
    verdict = search.verdict_mask
    if verdict is None:
        return None
    res = f"{verdict.resolution_angstrom:.2f} Å" if verdict.resolution_angstrom else "no resolution"
    words = (
        f"the verdict's mask (its make it line): {made_words(verdict, mask_name, voxel_size_angstrom)}"
        + (", not from the contour the rows grow from" if verdict.threshold != CONTOUR else "")
        + f"; it keeps {verdict.kept_fraction:.1%} of the box: {res}, {verdict.verdict}"
    )
    if not search.tried:
        return words
    edge = min({c.soft_edge_px for c in search.tried}, key=lambda e: abs(e - verdict.soft_edge_px))
    near = min(
        (c for c in search.tried if c.soft_edge_px == edge), key=lambda c: abs(c.kept_fraction - verdict.kept_fraction)
    )
    return (
        f"{words}; of the rows, extend {near.extend_px:g} px, soft edge {near.soft_edge_px:g} px keeps the nearest "
        f"share ({near.kept_fraction:.1%})"
    )


def instead_words(answer: Candidate, verdict: Candidate | None) -> str:
    """Why the search's answer is not the verdict's mask, when there is one: ``; the verdict's mask keeps 61.4 % of
    the box and is too loose: make this one instead`` ("" when the answer is the verdict's, or there is none)."""
    if verdict is None or answer is verdict:
        return ""
    return f"; the verdict's mask keeps {verdict.kept_fraction:.1%} of the box and is {verdict.verdict}: make this one"


def search_summary(
    search: Search, voxel_size_angstrom: float, mask_name: str, given_fine: bool = False, conflict: bool = False
) -> str:
    """A table of the candidates, the verdict's mask in its terms, and the mask to make (`search_answer`) in words.

    ``given_fine``: the checked mask is fine; ``conflict``: its verdict is `CONFLICT` (no mask
    passes both tests), so that none is fine is no surprise, and the tightest mask that is not too
    tight (too loose only) is named instead. The caller prints the command that makes the answer
    after these lines.
    """
    lines = ["", f"search (masks grown from the 0.5 contour of {mask_name} by 'extend', softened by 'edge'):"]
    lines.append(f"{'extend px':>10} {'edge px':>8} {'kept':>7} {'res. Å':>7} {'rand.FSC':>9}  verdict")
    for c in search.tried:
        res = f"{c.resolution_angstrom:.2f}" if c.resolution_angstrom else "-"
        lines.append(
            f"{c.extend_px:>10g} {c.soft_edge_px:>8g} {c.kept_fraction:>7.1%} {res:>7} "
            f"{c.phase_randomised_fsc_max:>9.3f}  {c.verdict}"
        )
    verdict = verdict_words(search, mask_name, voxel_size_angstrom)
    lines += [verdict] if verdict is not None else []
    answer = search_answer(search, given_fine)
    theirs = answer is not None and answer is search.verdict_mask
    if search.best is not None:
        which = "the verdict's mask, " if theirs else ""
        made = made_words(search.best, mask_name, voxel_size_angstrom)
        lines.append(f"tightest fine mask: {which}{made}{instead_words(search.best, search.verdict_mask)}")
    elif given_fine:
        lines.append(f"no candidate tighter than {mask_name} is fine: keep it as it is")
    else:
        why = ", as the verdict found no size of the mask that is" if conflict else ""
        if answer is None:
            lines.append(f"no candidate is fine{why}: see the reasons above")
        elif answer.verdict == "too loose":
            made = "the verdict's mask" if theirs else made_words(answer, mask_name, voxel_size_angstrom)
            lines.append(
                f"no candidate is fine{why}: the tightest that is not too tight is {made} (too loose only, keeping "
                f"{answer.kept_fraction:.1%} of the box){instead_words(answer, search.verdict_mask)}"
            )
        else:
            lines.append(
                f"no candidate is fine{why}, and none is too loose only: make the verdict's mask ({answer.verdict} "
                "as tried here)"
            )
    return "\n".join(lines)


def search_json(
    search: Search, given_fine: bool = False, make_it: str | None = None, note: str | None = None
) -> dict[str, object]:
    """The search as JSON-ready data: the candidates, the tightest fine, the verdict's mask, and the answer
    (`search_answer`); ``make_it``: the command that makes the answer, if any; ``note``: `grown_all_round_note`'s."""
    answer = search_answer(search, given_fine)
    found: dict[str, object] = {
        "candidates": [asdict(c) for c in search.tried],
        "tightest_fine": asdict(search.best) if search.best else None,
        "verdict_mask": asdict(search.verdict_mask) if search.verdict_mask else None,
        "answer": asdict(answer) if answer else None,
    }
    if answer is not None and make_it is not None:
        found["make_it"] = make_it
    if note is not None:
        found["note"] = note
    return found
