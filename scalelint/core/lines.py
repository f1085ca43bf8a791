"""Lines as CPython's tokenizer counts them: only ``\\n``, ``\\r\\n`` and ``\\r``
end a line. (``str.splitlines`` also splits on form feeds, ``\\x1c``-``\\x1e``,
``\\x85`` and U+2028/2029, which Python allows inside a line and a string.)"""
from __future__ import annotations

import bisect
import re

_BREAK = re.compile(r"\r\n|\r|\n")


def split_lines(text: str, keepends: bool = False) -> list[str]:
    """The file's lines, like ``str.splitlines`` but on Python's line ends only."""
    if "\r" not in text:  # the common case, at C speed: split on "\n" alone
        lines = text.split("\n")
        last = lines.pop()  # "" when the text ends with a line end (or is empty)
        if keepends:
            lines = [line + "\n" for line in lines]
        if last:
            lines.append(last)
        return lines
    lines = []
    start = 0
    for match in _BREAK.finditer(text):
        lines.append(text[start : match.end() if keepends else match.start()])
        start = match.end()
    if start < len(text):
        lines.append(text[start:])
    return lines


class LineIndex:
    """Offset <-> 1-based line and column of one text."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0, *(match.end() for match in _BREAK.finditer(text))]

    def line_col(self, offset: int) -> tuple[int, int]:
        """1-based line and 1-based column (in characters) of an offset."""
        line = bisect.bisect_right(self.starts, offset) - 1
        return line + 1, offset - self.starts[line] + 1

    def line_start(self, line: int) -> int:
        return self.starts[line - 1]

    def line_text(self, line: int) -> str:
        """The text of a 1-based line, without its line end."""
        start = self.starts[line - 1]
        end = self.starts[line] if line < len(self.starts) else len(self.text)
        return self.text[start:end].rstrip("\r\n")
