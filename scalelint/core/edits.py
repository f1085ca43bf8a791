"""Applying fixes: non-overlapping text edits, applied back to front."""
from __future__ import annotations

from scalelint.core.findings import Edit, Fix


def apply_edits(text: str, fixes: list[Fix]) -> tuple[str, int]:
    """Apply as many fixes as do not overlap an earlier-chosen one (an edit
    identical to one already chosen is shared, not an overlap).
    Returns the new text and how many fixes were applied."""
    chosen = choose_fixes(fixes)
    # an edit two fixes share (the same import added) is made once
    edits = sorted({e for fix in chosen for e in fix.edits}, key=lambda e: (e.start, e.end), reverse=True)
    for edit in edits:
        text = text[: edit.start] + edit.text + text[edit.end :]
    return text, len(chosen)


def choose_fixes(fixes: list[Fix]) -> list[Fix]:
    """The fixes apply_edits applies: each that overlaps no earlier one."""
    chosen: list[Fix] = []
    taken: set[Edit] = set()
    for fix in sorted(fixes, key=lambda f: min(e.start for e in f.edits)):
        own = [e for e in fix.edits if e not in taken]  # identical edits are shared, not conflicting
        if any(_overlaps((a.start, a.end), (b.start, b.end)) for a in own for b in taken):
            continue
        chosen.append(fix)
        taken.update(own)
    return chosen


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    # touching insertions at the same point also conflict (order would be ambiguous)
    return a[0] < b[1] and b[0] < a[1] or a[0] == b[0]
