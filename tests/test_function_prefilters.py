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


def test_session_spans_are_walked_only_in_functions_calling_a_session() -> None:
    """SL101/SL103's session spans: a function none of whose calls runs on (or hands
    on) a session it uses is not walked; walking it anyway finds no span."""
    from scalelint.model.connections.sessions import _SpanWalker

    walked = skipped = 0
    for model in _models():
        for fn in model.functions:
            walker = _SpanWalker(fn)
            if not walker.refs:
                continue
            if walker.triggered():
                walked += 1
                continue
            skipped += 1
            assert _SpanWalker(fn).walked() == [], (model.path, fn.qualname)
    assert walked > 10 and skipped > 10


def test_loop_queries_are_scanned_only_in_functions_with_a_loop() -> None:
    """SL104's scan: a function without a ``for`` or a comprehension is not walked;
    walking it anyway finds no query per iteration and no comprehension."""
    from scalelint.model.connections.loops import LoopScanner

    scanned = skipped = 0
    for model in _models():
        for fn in model.functions:
            if LoopScanner(fn).loops():
                scanned += 1
                continue
            skipped += 1
            full = LoopScanner(fn)
            assert full.scanned() == [] and full.comprehensions == [], (model.path, fn.qualname)
    assert scanned > 10 and skipped > 10
