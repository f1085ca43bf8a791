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


def add_noqa(text: str, findings: list[Finding], ends: dict[int, int] | None = None) -> tuple[str, int]:
    """The text with noqa comments added, and how many lines changed
    (``ends``: the text's statement_ends, when the caller has them)."""
    ends = statement_ends(text) if ends is None else ends
    wanted: dict[int, set[str]] = defaultdict(set)
    for f in findings:
        wanted[ends.get(f.line, f.line)].add(f.code)
    lines = split_lines(text, keepends=True)
    changed = 0
    for number, codes in wanted.items():
        if not 0 < number <= len(lines):
            continue
        raw = lines[number - 1]
        body = raw.rstrip("\r\n")
        newline = raw[len(body):]
        own = _SCALELINT_LINE.search(body)
        match = own or _EXISTING.search(body)
        if match:
            present = {c.upper() for c in re.findall(r"[A-Z]+[0-9]+", match.group("codes"), re.I)}
            merged = ", ".join(sorted(present | codes))
            if present >= codes:
                continue
            if own:
                body = body[: own.start("codes")] + merged + body[own.end("codes"):]
            else:
                body = body[: match.start()] + "# noqa: " + merged + body[match.end():]
        else:
            body = f"{body}  # noqa: {', '.join(sorted(codes))}"
        lines[number - 1] = body + newline
        changed += 1
    return "".join(lines), changed
