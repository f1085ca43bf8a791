"""``# scalelint: ignore[SL101]``, ``# noqa: SL101`` and
``# scalelint: ignore-file[SL104]`` comments.

A comment on any physical line of a logical line (a statement, or a compound
statement's header) covers the whole logical line, so a suppression can sit
on a multi-line statement's first line. A file-level comment covers the
whole file when it stands in the file's header (comments, blank lines and
the module docstring before the first statement); further down it covers
nothing (SL002 says so).

A bare ``# noqa`` is shared with other tools; ``bare-noqa`` in the config
decides what it means to scalelint (``BARE_NOQA``).
"""
from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass, field

from scalelint.core.lazyre import lazy_compile


_SCALELINT = lazy_compile(r"#\s*scalelint\s*:\s*ignore(?P<file>-file)?\b(?:\[(?P<codes>[^\]]*)\])?", re.I)
_NOQA = lazy_compile(r"#\s*noqa\b(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*))?", re.I)
_CODE = lazy_compile(r"[A-Z]+[0-9]+")
_WORD = lazy_compile(r"noqa|scalelint", re.I)  # what every suppression comment names
_LINE_END = lazy_compile(r"[\r\n]")

#: what a bare ``# noqa`` does: hide our findings and be reported (SL001) when
#: it hid one; hide them silently; or mean nothing to scalelint
BARE_NOQA = ("report", "suppress", "ignore")
WHOLE_FILE = 10**9  # the last line a file-level suppression covers


@dataclass
class Suppression:
    line: int  # where the comment is
    column: int  # 1-based column of the comment
    first_line: int  # logical line covered
    last_line: int
    codes: tuple[str, ...]  # empty: everything (bare)
    style: str  # "scalelint" | "noqa" | "file" | "file-late" (below the header: covers nothing)
    used: set[str] = field(default_factory=set)

    @property
    def bare(self) -> bool:
        return not self.codes

    def covers(self, line: int, code: str) -> bool:
        if self.style == "file-late" or not self.first_line <= line <= self.last_line:
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


def parse_suppressions(text: str, prefix: str = "SL", bare_noqa: str = "report") -> list[Suppression]:
    """Suppression comments of a file. ``noqa`` comments naming only other
    tools' codes are not ours and are dropped, and so are bare ones when
    ``bare_noqa`` is "ignore"."""
    if not may_have_suppressions(text) or not _has_our_comment(text, prefix, bare_noqa):
        return []
    return _scan_tokens(text, prefix, bare_noqa)


def _scan_tokens(text: str, prefix: str, bare_noqa: str) -> list[Suppression]:
    """The suppressions of the tokenized file, with the logical lines they cover."""
    found: list[Suppression] = []
    pending: list[tuple[int, int, tuple[str, ...], str]] = []
    logical_start: int | None = None
    in_header = True  # before the first statement (the docstring aside)
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return []
    for tok in tokens:
        if logical_start is None and tok.type not in (tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT):
            logical_start = tok.start[0]
        if tok.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT, tokenize.STRING, tokenize.ENCODING):
            in_header = False
        if tok.type == tokenize.COMMENT:
            parsed = _parse_comment(tok.string, prefix, bare_noqa)
            if parsed is None:
                continue
            codes, style = parsed
            if style == "file":
                line, col = tok.start[0], tok.start[1] + 1
                found.append(Suppression(line, col, 1, WHOLE_FILE, codes, "file") if in_header
                             else Suppression(line, col, line, line, codes, "file-late"))
            else:
                pending.append((tok.start[0], tok.start[1] + 1, codes, style))
        if tok.type in (tokenize.NEWLINE, tokenize.ENDMARKER) or (tok.type == tokenize.NL and logical_start is None):
            end = tok.start[0]
            for line, col, codes, style in pending:
                first = logical_start if logical_start is not None else line
                found.append(Suppression(line, col, min(first, line), max(end, line), codes, style))
            pending = []
            logical_start = None
    return found


def _has_our_comment(text: str, prefix: str, bare_noqa: str) -> bool:
    """Whether any ``#`` could start a comment that ``_parse_comment``
    accepts. A comment runs from its ``#`` to the next line break, so trying
    every ``#`` of the lines that name a suppression finds every comment the
    tokenizer would (and some inside strings, which tokenizing sorts out).
    Most files that mention ``noqa`` only silence other tools: they skip the
    tokenizer."""
    tried: set[int] = set()
    for word in _WORD.finditer(text):
        line_start = max(text.rfind("\n", 0, word.start()), text.rfind("\r", 0, word.start())) + 1
        if line_start in tried:
            continue
        tried.add(line_start)
        line_end = _LINE_END.search(text, word.end())
        line = text[line_start:line_end.start() if line_end else len(text)]
        at = line.find("#")
        while at >= 0:
            if _parse_comment(line[at:], prefix, bare_noqa) is not None:
                return True
            at = line.find("#", at + 1)
    return False


def _is_ours(code: str, prefix: str) -> bool:
    """Whether a ``noqa`` code is one of ours: the prefix followed only by digits
    (``SL101``), not another tool's code that starts with the same letters
    (Ruff's ``SLF001``, flake8-slots' ``SLOT002``)."""
    return code.startswith(prefix) and code[len(prefix):].isdigit()


def _parse_comment(comment: str, prefix: str, bare_noqa: str) -> tuple[tuple[str, ...], str] | None:
    match = _SCALELINT.search(comment)
    if match:
        raw = match.group("codes")
        codes = tuple(c.upper() for c in _CODE.findall(raw.upper())) if raw else ()
        return codes, "file" if match.group("file") else "scalelint"
    match = _NOQA.search(comment)
    if match:
        raw = match.group("codes")
        if raw is None:
            return None if bare_noqa == "ignore" else ((), "noqa")
        ours = tuple(c for c in _CODE.findall(raw.upper()) if _is_ours(c, prefix))
        if not ours:
            return None
        return ours, "noqa"
    return None
