"""Fixes are tested by running code, not only by comparing text: every fix
fixture's functions run before and after the fix against fake drivers, and
must issue the same queries in the same order, leave no connection open
after the fix, and never hold a connection while business logic runs when
the fix split a hold."""
from __future__ import annotations

import inspect
import sys
from pathlib import Path

import pytest

from fakedb import Log, install
from helpers import FIXTURES

FIX_PAIRS = sorted(p for p in FIXTURES.glob("SL1*/fixes/*.py") if not p.name.endswith(".fixed.py"))
ARGUMENTS = {"dsn": "dbname=test", "path": ":memory:", "order_id": 7, "user_id": 3, "keep": False}


def run_module(source: str, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Log, object]]:
    """Run every top-level function of ``source``; (name, log, result or exception type)."""
    outcomes = []
    names = [line.split("(")[0][4:] for line in source.splitlines() if line.startswith("def ")]
    for name in names:
        log = Log()
        with monkeypatch.context() as patch:
            for mod_name, module in install(log).items():
                patch.setitem(sys.modules, mod_name, module)
            namespace: dict = {"__name__": "fixture_under_test"}
            exec(compile(source, "<fixture>", "exec"), namespace)
            func = namespace[name]
            params = inspect.signature(func).parameters
            kwargs = {p: ARGUMENTS[p] for p in params if p in ARGUMENTS}
            try:
                result = func(**kwargs)
            except Exception as exc:  # the same exception must happen after the fix
                result = type(exc)
        outcomes.append((name, log, result))
    return outcomes


@pytest.mark.parametrize("before_path", FIX_PAIRS, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_fix_keeps_behaviour(before_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    after_path = before_path.with_name(before_path.stem + ".fixed.py")
    before = run_module(before_path.read_text(), monkeypatch)
    after = run_module(after_path.read_text(), monkeypatch)
    for (name, log_before, result_before), (_, log_after, result_after) in zip(before, after):
        assert result_after == result_before, name
        assert log_after.queries() == log_before.queries(), name
        assert not log_after.open, f"{name}: a connection is left open after the fix"
        work_before = [e for e in log_before.events if e[0] == "work"]
        work_after = [e for e in log_after.events if e[0] == "work"]
        assert [w[1] for w in work_after] == [w[1] for w in work_before], name
        for (_, work, held_before), (_, _, held_after) in zip(work_before, work_after):
            assert held_after <= held_before, f"{name}: {work}() now runs while holding more connections"
        if "split" in before_path.name:
            assert all(held == 0 for _, _, held in work_after), f"{name}: business logic still runs holding a connection"
