"""Reading a Python file's text the way Python would: PEP 263 coding
cookies, BOMs, and clear refusals for binaries and unreadable files."""
from __future__ import annotations

import ast
import codecs
import io
import re
import tokenize
from dataclasses import dataclass

from scalelint.engine.guard import parser_gave_up
from scalelint.core.lazyre import lazy_compile

GENERATED_MARKER = "@" + "generated"  # split so this file is not itself "generated"
MAX_BYTES = 1024 * 1024  # one file's budget: checking costs about 10 s and 0.5 GB per MiB
_COOKIE = lazy_compile(rb"^[ \t\f]*#.*?coding[:=]", re.M)


class SourceError(Exception):
    """A file that cannot be read as Python source; the message is one line."""


@dataclass(frozen=True)
class SourceText:
    text: str
    encoding: str  # as tokenize names it, e.g. "utf-8", "utf-8-sig", "latin-1"

    def encode(self, text: str) -> bytes:
        return text.encode(self.encoding)


def decode(data: bytes) -> SourceText:
    """The file's text, decoded as CPython would; SourceError for what it refuses."""
    nul = data.find(b"\x00")
    if 0 <= nul < 8192:
        raise SourceError("looks like a binary file (contains NUL bytes), not Python source")
    if nul >= 0:  # CPython refuses a NUL byte anywhere
        line = data.count(b"\n", 0, nul) + 1
        raise SourceError(f"cannot be Python source: a NUL byte at line {line}")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        head = data[len(codecs.BOM_UTF8):] if data.startswith(codecs.BOM_UTF8) else data
        if _COOKIE.search(b"\n".join(head.splitlines()[:2])):
            if head is not data:
                raise SourceError("a UTF-8 BOM and a coding cookie that names another encoding (CPython refuses it)") from None
            raise SourceError(f"bad coding cookie: {exc.msg}") from None
        encoding = "utf-8"  # no cookie: undecodable bytes are reported below
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


#: CPython refusals no grammar version lifts (limits of its tokenizer and
#: parser): LibCST is never asked, and its native parser could overflow the stack
_FINAL_SYNTAX_ERRORS = ("too many nested parentheses", "too many levels of indentation", "too many statically nested blocks")


def syntax_error_message(exc: SyntaxError) -> str:
    return f"syntax error at line {exc.lineno}, column {exc.offset or 1}: {exc.msg}"


def final_syntax_error(exc: SyntaxError) -> bool:
    return any(part in (exc.msg or "") for part in _FINAL_SYNTAX_ERRORS)


def syntax_error(text: str, path: str) -> str | None:
    """A one-line syntax error message from CPython's own (fast) parser, for
    files the prefilter keeps away from LibCST; None when the file parses."""
    try:
        compile(text, path, "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
        return None
    except SyntaxError as exc:
        if final_syntax_error(exc):
            return syntax_error_message(exc)
        message = syntax_error_message(exc)
    except (RecursionError, MemoryError) as exc:
        return parser_gave_up(exc)
    except ValueError as exc:
        return f"cannot parse: {exc}"
    # newer grammar than this interpreter's (PEP 695 on 3.11, say): LibCST
    # decides, under the guard (its native parser recurses per nesting level)
    return None if _libcst_accepts(text) else message


def _libcst_accepts(text: str) -> bool:
    import libcst

    from scalelint.engine.guard import TooComplex, run_guarded

    try:
        run_guarded(lambda: libcst.parse_module(text))
    except (libcst.ParserSyntaxError, TooComplex, RecursionError):
        return False
    return True


def is_generated(text: str) -> bool:
    """Files that declare themselves generated in their first lines."""
    head = text[:4096]
    return GENERATED_MARKER in head
