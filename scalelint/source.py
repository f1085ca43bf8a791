"""Reading a Python file's text the way Python would: PEP 263 coding
cookies, BOMs, and clear refusals for binaries and unreadable files."""
from __future__ import annotations

import io
import tokenize
from dataclasses import dataclass

GENERATED_MARKER = "@" + "generated"  # split so this file is not itself "generated"
MAX_BYTES = 4 * 1024 * 1024


class SourceError(Exception):
    """A file that cannot be read as Python source; the message is one line."""


@dataclass(frozen=True)
class SourceText:
    text: str
    encoding: str  # as tokenize names it, e.g. "utf-8", "utf-8-sig", "latin-1"

    def encode(self, text: str) -> bytes:
        return text.encode(self.encoding)


def decode(data: bytes) -> SourceText:
    if b"\x00" in data[:8192]:
        raise SourceError("looks like a binary file (contains NUL bytes), not Python source")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        raise SourceError(f"bad coding cookie: {exc.msg}") from None
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        detail = exc.reason if isinstance(exc, UnicodeDecodeError) else str(exc)
        where = ""
        if isinstance(exc, UnicodeDecodeError):
            line = data[: exc.start].count(b"\n") + 1
            where = f" at line {line}"
        raise SourceError(f"cannot decode as {encoding}{where}: {detail}") from None
    return SourceText(text, encoding)


def is_generated(text: str) -> bool:
    """Files that declare themselves generated in their first lines."""
    head = text[:4096]
    return GENERATED_MARKER in head
