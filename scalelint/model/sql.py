"""SQL text as evidence: a string that reads as SQL tells us the receiver is
a database handle, which tables it reads or writes, and whether it locks."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from scalelint.core.lazyre import lazy_compile

_IDENT = r'[`"\[]?([A-Za-z_][A-Za-z0-9_$]*)[`"\]]?(?:\s*\.\s*[`"\[]?([A-Za-z_][A-Za-z0-9_$]*)[`"\]]?)?'
_SELECT = lazy_compile(r"^\s*(?:WITH\b.*?\)\s*)?SELECT\b.+?\bFROM\s+" + _IDENT, re.I | re.S)
_INSERT = lazy_compile(r"^\s*(?:INSERT|REPLACE)\s+(?:OR\s+\w+\s+)?(?:IGNORE\s+)?INTO\s+" + _IDENT, re.I | re.S)
_UPDATE = lazy_compile(r"^\s*UPDATE\s+(?:ONLY\s+)?" + _IDENT + r"\s+(?:AS\s+\w+\s+|\w+\s+)?SET\b", re.I | re.S)
_DELETE = lazy_compile(r"^\s*DELETE\s+FROM\s+(?:ONLY\s+)?" + _IDENT, re.I | re.S)
_JOIN = lazy_compile(r"\bJOIN\s+" + _IDENT, re.I)
_FROM_MORE = lazy_compile(r"\bFROM\s+" + _IDENT, re.I)
_LOCK = lazy_compile(r"\bFOR\s+(?:NO\s+KEY\s+)?(?:UPDATE|SHARE)\b|\bLOCK\s+IN\s+SHARE\s+MODE\b", re.I)
_EXPLICIT_LOCK = lazy_compile(
    r"^\s*LOCK\s+(?:TABLE\s+)?\w|\bpg_(?:try_)?advisory_(?:xact_)?lock(?:_shared)?\s*\(|\bGET_LOCK\s*\(", re.I
)
_RETURNING = lazy_compile(r"\bRETURNING\b", re.I)
_ON_CONFLICT = lazy_compile(r"\bON\s+(?:CONFLICT|DUPLICATE\s+KEY)\b", re.I)
_SQL_KEYWORDS = frozenset({"select", "where", "set", "values", "from", "join", "on", "as", "lateral"})
#: words that follow FROM/INTO in prose, never a table ("Select a file from the list")
_PROSE = frozenset({"the", "a", "an", "this", "that", "these", "those", "your", "my", "our", "their",
                    "his", "her", "its", "each", "every", "any", "some", "all", "here", "there", "which"})
_KEYWORD_CASE = lazy_compile(r"^\s*(?:WITH|with|SELECT|select|INSERT|insert|REPLACE|replace|UPDATE|update|DELETE|delete)\b")


@dataclass(frozen=True)
class SqlInfo:
    verb: str  # "select" | "insert" | "update" | "delete"
    table: str  # the main table (lower case, schema dropped)
    tables_read: tuple[str, ...]
    locks: bool  # SELECT ... FOR UPDATE / FOR SHARE
    upsert: bool  # INSERT ... ON CONFLICT / ON DUPLICATE KEY
    text: str

    @property
    def is_write(self) -> bool:
        return self.verb in ("insert", "update", "delete")

    @property
    def where(self) -> str:
        """The WHERE clause text (empty when there is none)."""
        match = re.search(r"\bWHERE\b(.*)", self.text, re.I | re.S)
        return match.group(1) if match else ""


def _name(match: re.Match[str]) -> str | None:
    name = (match.group(2) or match.group(1)).lower()
    return None if name in _SQL_KEYWORDS or name in _PROSE else name


def takes_explicit_lock(text: str) -> bool:
    """``LOCK TABLE ...``, ``SELECT pg_advisory_xact_lock(...)``, ``GET_LOCK(...)``."""
    return bool(_EXPLICIT_LOCK.search(text))


@lru_cache(maxsize=4096)
def parse_sql(text: str) -> SqlInfo | None:
    """What a SQL string does, or None when the text does not read as SQL."""
    if len(text) < 10 or not _KEYWORD_CASE.match(text):
        return None  # "Select ..." in sentence case is prose, not SQL
    for verb, pattern in (("select", _SELECT), ("insert", _INSERT), ("update", _UPDATE), ("delete", _DELETE)):
        match = pattern.match(text)
        if match:
            table = _name(match)
            if table is None:
                return None
            read = {table} if verb == "select" else set()
            for extra in (_JOIN, _FROM_MORE):
                for m in extra.finditer(text):
                    name = _name(m)
                    if name:
                        read.add(name)
            if verb == "delete":
                read.discard(table)
            return SqlInfo(
                verb, table, tuple(sorted(read)), bool(_LOCK.search(text)),
                bool(_ON_CONFLICT.search(text)), text,
            )
    return None
