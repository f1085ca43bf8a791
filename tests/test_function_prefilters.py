"""Function-level prefilters skip a family's costly per-function work where
the function lacks the family's trigger; what they publish must be what the
full computation would have published, on every fixture of the repository."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import libcst as cst
import pytest

from helpers import FIXTURES
from scalelint.model.caches.caching import cache_model
from scalelint.model.module import ModuleModel, Recognition
from scalelint.rules.invalidation_paths import _events

FILES = sorted(p for p in FIXTURES.rglob("*.py"))


def _models() -> list[ModuleModel]:
    models = []
    for path in FILES:
        try:
            module = cst.parse_module(path.read_text(encoding="utf-8"))
        except (cst.ParserSyntaxError, UnicodeDecodeError):
            continue
        models.append(ModuleModel(module, path=str(path), module_name=path.stem, recognition=Recognition()))
    return models


def _locate(call: cst.Call, stmt: Any) -> list[int]:
    return [stmt.ordinal, len(call.args), 0, 0]


def test_sl306_paths_are_the_full_events_of_the_functions_the_project_phase_reads() -> None:
    """A function whose project calls and writes make no path of two events with a
    call among them publishes no path, and is never placed; every other function
    publishes exactly its full events."""
    kept = skipped = 0
    for model in _models():
        cm = cache_model(model)
        for fn in model.functions:
            full = _events(fn, cm, _locate, every=True)
            read = len(full) > 1 and any(e[0] == "call" for e in full)
            assert _events(fn, cm, _locate) == (full if read else []), (model.path, fn.qualname)
            kept += read
            skipped += bool(full) and not read
    assert kept > 10 and skipped > 10  # the fixtures exercise both sides
