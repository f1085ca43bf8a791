"""Regular expressions compiled on first use.

A module-level ``re.compile`` runs at import, and a one-file run (pre-commit,
editor on save) imports every rule module its file can match while using few
of their patterns: compiling them all cost about a tenth of that run's own
time. ``lazy_compile`` returns a stand-in that compiles on first use and then
answers straight from the compiled pattern's bound methods.
"""
from __future__ import annotations

import re
from typing import Any

_METHODS = ("match", "fullmatch", "search", "finditer", "findall", "sub", "subn", "split")


class LazyPattern:
    def __init__(self, pattern: str | bytes, flags: int = 0) -> None:
        self.pattern = pattern
        self.flags = flags

    def __getattr__(self, name: str) -> Any:
        """Only reached for what is not set yet, i.e. on first use."""
        compiled = re.compile(self.pattern, self.flags)
        for method in _METHODS:
            setattr(self, method, getattr(compiled, method))
        return getattr(compiled, name)


def lazy_compile(pattern: str | bytes, flags: int = 0) -> LazyPattern:
    return LazyPattern(pattern, flags)
