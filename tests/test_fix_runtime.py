"""Every fix is proved by running code: each fix fixture's program runs
before and after the fixer rewrites it, against the real sqlite3 driver where
the fixture uses it and faithful fakes elsewhere (tests/fakedb.py), and must

- return the same values (or raise the same exception) and leave the same
  database, cache and Redis state behind: a result read after its connection
  was closed raises, so a fix that closes too early fails here;
- issue the same queries in the same order and leave no connection open;
- never hold a connection while business logic runs longer than before (and
  not at all where a hold was split);
- be idempotent: fixing the fixed program changes nothing.

Fixes that change behaviour on purpose are checked for what they promise
instead: SL301's added ``delete`` makes the cache transparent (the program
returns what it would return with no cache at all).
"""
from __future__ import annotations

import ast
import asyncio
import inspect
import sqlite3
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from fakedb import Log, Shop, ShopHandle, create_database, dump, install, install_shop, tracked_sqlite3
from helpers import FIXTURES, fix

#: fix families no fake here can run: SL104's eager loading changes how an ORM
#: loads relations (test_eager_fix_runtime.py runs it on SQLAlchemy and sqlite;
#: Django's select_related/prefetch_related is proved by text, compilation and
#: idempotence in test_fixtures.py, Django not being in the test extra)
NEEDS_A_REAL_ORM = frozenset({"SL104"})
FIX_PAIRS = sorted(
    p for p in FIXTURES.glob("*/fixes/*.py")
    if not p.name.endswith(".fixed.py") and p.parent.parent.name not in NEEDS_A_REAL_ORM
)
ARGUMENTS = {
    "dsn": "dbname=test", "order_id": 7, "user_id": 3, "keep": False, "amount": 30,
    "product_id": 1, "price": 35,
}
#: rule families whose fixes change what the program does on purpose, and how
#: many times their functions run in a row (a cache needs a second round to serve)
ROUNDS = {"SL301": 2}


@dataclass
class Call:
    """One function call of a program run: what it returned and what it did."""

    name: str
    log: Log
    result: object


@dataclass
class Run:
    calls: list[Call] = field(default_factory=list)
    #: database, cache and Redis contents at the end
    state: dict = field(default_factory=dict)


def function_names(source: str) -> list[str]:
    return [line.split("(")[0].split("def ", 1)[1] for line in source.splitlines() if line.startswith(("def ", "async def "))]


def run_program(source: str, workdir: Path, monkeypatch: pytest.MonkeyPatch, *, rounds: int = 1, cache: bool = True) -> Run:
    """Run every top-level function of ``source`` in order (``rounds`` times)
    against a fresh shop database; each call gets its own log."""
    workdir.mkdir(parents=True)
    path = str(workdir / "shop.db")
    create_database(path)
    shop = Shop(path, Log())
    shop.cache_enabled = cache
    shop.redis.update({b"user:3:cart": b"1", b"name:ada": b"1", b"report:1": b"x", b"session:9": b"s"})
    shop.cache.update({"product:9": ("old", 1)})
    run = Run()
    try:
        for _ in range(rounds):
            for name in function_names(source):
                run.calls.append(_call(source, name, path, shop, monkeypatch))
        run.state = {"db": dump(path), "cache": dict(shop.cache), "redis": dict(shop.redis)}
    finally:
        shop.close()
    return run


def changed_functions(before: str, after: str) -> set[str]:
    """Names of the top-level functions the fix rewrote."""

    def bodies(source: str) -> dict[str, str]:
        tree = ast.parse(source)
        return {n.name: ast.dump(n) for n in tree.body if isinstance(n, ast.FunctionDef)}

    old, new = bodies(before), bodies(after)
    return {name for name in new if old.get(name) != new[name]}


def _call(source: str, name: str, path: str, shop: Shop, monkeypatch: pytest.MonkeyPatch) -> Call:
    log = Log()
    shop.log = log
    with monkeypatch.context() as patch:
        modules = {**install(log), **install_shop(shop), "sqlite3": tracked_sqlite3(log)}
        modules["app.db"].replica = ShopHandle(shop, "replica")
        modules["app.db"].primary = ShopHandle(shop, "default")
        for mod_name, module in modules.items():
            patch.setitem(sys.modules, mod_name, module)
        namespace: dict = {"__name__": "fixture_under_test"}
        exec(compile(source, "<fixture>", "exec"), namespace)
        func = namespace[name]
        arguments = {**ARGUMENTS, "path": path}
        kwargs = {p: arguments[p] for p in inspect.signature(func).parameters if p in arguments}
        try:
            result = func(**kwargs)
            if inspect.iscoroutine(result):
                result = asyncio.run(result)
            if inspect.isgenerator(result) or isinstance(result, sqlite3.Cursor):
                result = list(result)  # the caller reads what it was handed
        except Exception as exc:  # the same exception must happen after the fix
            result = (type(exc), str(exc))
    return Call(name, log, result)


def _fixed(before_path: Path) -> tuple[str, str, str]:
    """The program, the fixer's output, and the rule code."""
    code = before_path.parent.parent.name
    source = before_path.read_text(encoding="utf-8")
    unsafe = source.startswith("# fix-mode: unsafe")
    after = fix(source, code, unsafe=unsafe, path=before_path.name)
    assert fix(after, code, unsafe=unsafe, path=before_path.name) == after, "fixing fixed code must change nothing"
    return source, after, code


@pytest.mark.parametrize("before_path", FIX_PAIRS, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_fix_keeps_behaviour(before_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source, after, code = _fixed(before_path)
    rounds = ROUNDS.get(code, 1)
    before_run = run_program(source, tmp_path / "before", monkeypatch, rounds=rounds)
    after_run = run_program(after, tmp_path / "after", monkeypatch, rounds=rounds)
    changed = changed_functions(source, after)
    for call in after_run.calls:
        if call.name in changed:
            assert not call.log.open, f"{call.name}: a connection is left open after the fix"
    if code == "SL301":
        uncached = run_program(after, tmp_path / "uncached", monkeypatch, rounds=rounds, cache=False)
        assert [c.result for c in after_run.calls] == [c.result for c in uncached.calls], "the cache serves stale data"
        assert after_run.state["db"] == before_run.state["db"]
        return
    assert after_run.state == before_run.state
    for before, after_call in zip(before_run.calls, after_run.calls, strict=True):
        _same_behaviour(before, after_call, split="split" in before_path.name)


def _same_behaviour(before: Call, after: Call, split: bool) -> None:
    name = before.name
    assert after.result == before.result, name
    assert after.log.queries() == before.log.queries(), name
    work_before = [e for e in before.log.events if e[0] == "work"]
    work_after = [e for e in after.log.events if e[0] == "work"]
    assert [w[1] for w in work_after] == [w[1] for w in work_before], name
    for (_, work, held_before), (_, _, held_after) in zip(work_before, work_after):
        assert held_after <= held_before, f"{name}: {work}() now runs while holding more connections"
    if split:
        assert all(held == 0 for _, _, held in work_after), f"{name}: business logic still runs holding a connection"


def test_sl301_fixture_shows_the_stale_read_it_fixes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The cache check can fail: without the fix the program serves stale data."""
    source = (FIXTURES / "SL301" / "fixes" / "add_delete.py").read_text(encoding="utf-8")
    cached = run_program(source, tmp_path / "cached", monkeypatch, rounds=2)
    uncached = run_program(source, tmp_path / "uncached", monkeypatch, rounds=2, cache=False)
    assert [c.result for c in cached.calls] != [c.result for c in uncached.calls]


def test_sl102_try_finally_fixture_shows_the_leak_it_fixes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The open-connection check can fail: before the fix, the functions that
    raise leave their pool and asyncpg connections open."""
    source = (FIXTURES / "SL102" / "fixes" / "pool_try_finally.py").read_text(encoding="utf-8")
    before = run_program(source, tmp_path / "before", monkeypatch)
    leaked = {call.name for call in before.calls if call.log.open}
    assert leaked == {"checked", "rename"}
