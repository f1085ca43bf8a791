"""``--add-noqa``: mark every current finding with a ``# noqa: CODE``
comment at the end of its statement, merged into an existing one (into the
line's ``# scalelint: ignore[...]`` when it has one: the style it already uses)."""
from __future__ import annotations

import io
import re
import tokenize
from collections import defaultdict

from scalelint.core.findings import Finding
from scalelint.core.lazyre import lazy_compile
from scalelint.core.lines import split_lines

_EXISTING = lazy_compile(r"#\s*noqa:\s*(?P<codes>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*)", re.I)
#: a line's own ``# scalelint: ignore[...]`` (the suppression parser reads it
#: before any ``# noqa`` later in the same comment, so codes go into it)
_SCALELINT_LINE = lazy_compile(r"#\s*scalelint\s*:\s*ignore\[(?P<codes>[^\]]*)\]", re.I)
#: a bare ``# noqa`` (no codes): the suppression parser stops at it, so a ``# noqa:
#: CODE`` after it is never read (and with ``bare-noqa = "ignore"`` it suppresses nothing)
_BARE = lazy_compile(r"#\s*noqa\b(?!\s*:)", re.I)


def statement_ends(text: str) -> dict[int, int]:
    """For each line, the last physical line of the logical line holding it."""
    ends: dict[int, int] = {}
    start = None
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if start is None and tok.type not in (tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT):
                start = tok.start[0]
            if tok.type in (tokenize.NEWLINE, tokenize.ENDMARKER) and start is not None:
                for line in range(start, tok.start[0] + 1):
                    ends[line] = tok.start[0]
                start = None
    except (tokenize.TokenError, SyntaxError):
        pass
    return ends


def with_codes(body: str, codes: set[str]) -> str | None:
    """A line (without its line end) with ``codes`` added to its ``#
    scalelint: ignore[...]`` or ``# noqa: ...``, else a new ``# noqa`` at its
    end; None when it names them all already."""
    own = _SCALELINT_LINE.search(body)
    match = own or _EXISTING.search(body)
    if not match:
        if _BARE.search(body):  # left as it is (other tools read it): scalelint's own style after it
            return f"{body}  # scalelint: ignore[{', '.join(sorted(codes))}]"
        return f"{body}  # noqa: {', '.join(sorted(codes))}"
    present = {c.upper() for c in re.findall(r"[A-Z]+[0-9]+", match.group("codes"), re.I)}
    if present >= codes:
        return None
    merged = ", ".join(sorted(present | codes))
    if own:
        return body[: own.start("codes")] + merged + body[own.end("codes"):]
    return body[: match.start()] + "# noqa: " + merged + body[match.end():]


def codes_by_line(findings: list[Finding], ends: dict[int, int]) -> dict[int, set[str]]:
    """The codes each line gets: a finding's goes on the last line of its statement."""
    wanted: dict[int, set[str]] = defaultdict(set)
    for f in findings:
        wanted[ends.get(f.line, f.line)].add(f.code)
    return wanted


def add_noqa(text: str, findings: list[Finding], ends: dict[int, int] | None = None) -> tuple[str, int]:
    """The text with noqa comments added, and how many lines changed
    (``ends``: the text's statement_ends, when the caller has them)."""
    wanted = codes_by_line(findings, statement_ends(text) if ends is None else ends)
    lines = split_lines(text, keepends=True)
    changed = 0
    for number, codes in wanted.items():
        if not 0 < number <= len(lines):
            continue
        raw = lines[number - 1]
        body = raw.rstrip("\r\n")
        new = with_codes(body, codes)
        if new is None:
            continue
        lines[number - 1] = new + raw[len(body):]
        changed += 1
    return "".join(lines), changed
