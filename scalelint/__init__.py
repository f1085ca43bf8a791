"""scalelint: find what breaks first when traffic grows, before it does.

The public API (``check_paths``, ``check_source``, ``CheckResult``) lives in
``scalelint.api`` and is imported on first use, so ``import scalelint`` (and
the command line's start) stays cheap.
"""
from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"
__all__ = ["CheckResult", "__version__", "check_paths", "check_source"]
_PUBLIC = frozenset({"CheckResult", "check_paths", "check_source"})


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:  # the faces room, reached lazily by name (not an import of the core room)
        return getattr(importlib.import_module("scalelint.api"), name)
    raise AttributeError(f"module 'scalelint' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _PUBLIC)
