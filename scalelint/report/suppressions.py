"""``# scalelint: ignore[SL101]`` and ``# noqa: SL101`` comments.

A comment on any physical line of a logical line (a statement, or a compound
statement's header) covers the whole logical line, so a suppression can sit
on a multi-line statement's first line.
"""
from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass, field

from scalelint.core.lazyre import lazy_compile


_SCALELINT = lazy_compile(r"#\s*scalelint\s*:\s*ignore\b(?:\[(?P<codes>[^\]]*)\])?", re.I)
_NOQA = lazy_compile(r"#\s*noqa\b(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*))?", re.I)
_CODE = lazy_compile(r"[A-Z]+[0-9]+")


@dataclass
class Suppression:
    line: int  # where the comment is
    column: int  # 1-based column of the comment
    first_line: int  # logical line covered
    last_line: int
    codes: tuple[str, ...]  # empty: everything (bare)
    style: str  # "scalelint" | "noqa"
    used: set[str] = field(default_factory=set)

    def covers(self, line: int, code: str) -> bool:
        if not self.first_line <= line <= self.last_line:
            return False
        return not self.codes or code in self.codes

    def to_json(self) -> list:
        return [self.line, self.column, self.first_line, self.last_line, list(self.codes), self.style]

    @classmethod
    def from_json(cls, data: list) -> "Suppression":
        return cls(data[0], data[1], data[2], data[3], tuple(data[4]), data[5])


def may_have_suppressions(text: str) -> bool:
    lowered = text.lower()
    return "scalelint" in lowered or "noqa" in lowered


def parse_suppressions(text: str, prefix: str = "SL") -> list[Suppression]:
    """Suppression comments of a file. ``noqa`` comments naming only other
    tools' codes are not ours and are dropped."""
    if not may_have_suppressions(text):
        return []
    found: list[Suppression] = []
    pending: list[tuple[int, int, tuple[str, ...], str]] = []
    logical_start: int | None = None
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return []
    for tok in tokens:
        if logical_start is None and tok.type not in (tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT):
            logical_start = tok.start[0]
        if tok.type == tokenize.COMMENT:
            parsed = _parse_comment(tok.string, prefix)
            if parsed is not None:
                codes, style = parsed
                pending.append((tok.start[0], tok.start[1] + 1, codes, style))
        if tok.type in (tokenize.NEWLINE, tokenize.ENDMARKER) or (tok.type == tokenize.NL and logical_start is None):
            end = tok.start[0]
            for line, col, codes, style in pending:
                first = logical_start if logical_start is not None else line
                found.append(Suppression(line, col, min(first, line), max(end, line), codes, style))
            pending = []
            logical_start = None
    return found


def _parse_comment(comment: str, prefix: str) -> tuple[tuple[str, ...], str] | None:
    match = _SCALELINT.search(comment)
    if match:
        raw = match.group("codes")
        codes = tuple(c.upper() for c in _CODE.findall(raw.upper())) if raw else ()
        return codes, "scalelint"
    match = _NOQA.search(comment)
    if match:
        raw = match.group("codes")
        if raw is None:
            return (), "noqa"
        ours = tuple(c.upper() for c in _CODE.findall(raw.upper()) if c.upper().startswith(prefix))
        if not ours:
            return None
        return ours, "noqa"
    return None
