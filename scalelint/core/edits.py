"""Applying fixes: non-overlapping text edits, applied back to front."""
from __future__ import annotations

from scalelint.core.findings import Fix


def apply_edits(text: str, fixes: list[Fix]) -> tuple[str, int]:
    """Apply as many fixes as do not overlap an earlier-chosen one.
    Returns the new text and how many fixes were applied."""
    chosen = choose_fixes(fixes)
    edits = sorted((e for fix in chosen for e in fix.edits), key=lambda e: (e.start, e.end), reverse=True)
    for edit in edits:
        text = text[: edit.start] + edit.text + text[edit.end :]
    return text, len(chosen)


def choose_fixes(fixes: list[Fix]) -> list[Fix]:
    """The fixes apply_edits applies: each that overlaps no earlier one."""
    chosen: list[Fix] = []
    taken: list[tuple[int, int]] = []
    for fix in sorted(fixes, key=lambda f: min(e.start for e in f.edits)):
        spans = [(e.start, e.end) for e in fix.edits]
        if any(_overlaps(a, b) for a in spans for b in taken):
            continue
        chosen.append(fix)
        taken.extend(spans)
    return chosen


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    # touching insertions at the same point also conflict (order would be ambiguous)
    return a[0] < b[1] and b[0] < a[1] or a[0] == b[0]
