"""The project phase of SL201-SL203 builds its flow graph one component of the
project's dataflow at a time (issue 18: memory flat in project size)."""
from __future__ import annotations

import gc
import weakref
from pathlib import Path

import pytest

from scalelint.engine.config import Config
from scalelint.engine.registry import load_registry
from scalelint.engine.runner import Runner, RunSettings
from scalelint.model.flow import flowgraph
from scalelint.model.flow.components import components


def _facts(module: str, functions: dict[str, list[str]], instances: dict[str, str] | None = None,
           empty: tuple[str, ...] = ()) -> dict:
    """Dataflow facts as ModuleFlow.to_json writes them, reduced to what components read:
    each function's call sites, by callee."""
    sites: dict[str, list] = {}
    out: dict[str, list] = {}
    for name, callees in functions.items():
        keys = []
        for callee in callees:
            key = f"s{len(sites)}"
            sites[key] = [callee, callee.rsplit(".", 1)[-1], [], {}, {}, 0, [], [1, 0, 1, 5], 0]
            keys.append(key)
        out[f"{module}.{name}"] = [name, [], {}, [], [], keys, [], [], ""]
    return {"module": module, "functions": out, "empty": list(empty), "origins": {}, "writes": {}, "sites": sites,
            "conds": {}, "instances": instances or {}}


def _groups(published: list[tuple[str, dict]]) -> list[tuple[str, ...]]:
    return [component.paths for component in components(published)]


def test_modules_that_never_call_one_another_are_apart() -> None:
    published = [
        ("a.py", _facts("a", {"f": ["b.g"]})),
        ("c.py", _facts("c", {"h": ["requests.get"]})),
        ("b.py", _facts("b", {"g": []})),
        ("d.py", _facts("d", {"k": ["c.h"]})),
    ]
    assert _groups(published) == [("a.py", "b.py"), ("c.py", "d.py")]
    assert [c.positions for c in components(published)] == [(0, 2), (1, 3)]


def test_a_call_through_a_module_level_instance_joins_the_module_it_is_read_from() -> None:
    published = [
        ("views.py", _facts("views", {"pay": ["services.billing.charge"]})),
        ("services.py", _facts("services", {}, instances={"billing": "billing.Billing"})),
        ("billing.py", _facts("billing", {"Billing.charge": []})),
        ("other.py", _facts("other", {"x": []})),
    ]
    assert _groups(published) == [("views.py", "services.py", "billing.py"), ("other.py",)]


def test_a_module_consulted_without_the_instance_still_joins() -> None:
    # the lookup stops at a known module that lacks the name: the answer depends on that module
    published = [
        ("views.py", _facts("views", {"pay": ["services.missing.charge"]})),
        ("services.py", _facts("services", {})),
    ]
    assert _groups(published) == [("views.py", "services.py")]


def test_modules_that_define_one_name_are_together() -> None:
    published = [
        ("one/tasks.py", _facts("tasks", {"run": []})),
        ("x.py", _facts("x", {"y": []})),
        ("two/tasks.py", _facts("tasks", {"other": []})),
        ("p.py", _facts("p", {}, empty=(".q",))),
        ("q.py", _facts("p2", {}, empty=("p.q",))),
    ]
    assert _groups(published) == [("one/tasks.py", "two/tasks.py"), ("x.py",), ("p.py", "q.py")]


def _two_apps(root: Path) -> None:
    for app in ("shop", "blog"):
        (root / f"{app}_views.py").write_text(
            f"from app import db\nfrom {app}_helpers import balance_of\n\n\ndef withdraw(user_id, amount):\n"
            "    if balance_of(user_id) >= amount:\n"
            "        db.primary.execute('UPDATE accounts SET balance = balance - %s WHERE user_id = %s', amount, user_id)\n")
        (root / f"{app}_helpers.py").write_text(
            "from app import db\n\n\ndef balance_of(user_id):\n"
            "    return db.replica.query('SELECT balance FROM accounts WHERE user_id = %s', user_id)\n")


def test_each_component_graph_is_gone_before_the_next_is_built(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _two_apps(tmp_path)
    built: list[tuple[set[str], bool]] = []  # (paths, was the previous graph still alive)
    last: list[weakref.ref] = []
    original = flowgraph.Graph.__init__

    def spy(self, flows) -> None:
        original(self, flows)
        if any(flow.ctx is not None for flow in self.flows.values()):
            return  # a file phase's graph of one module
        gc.collect()
        built.append((set(self.flows), bool(last) and last[-1]() is not None))
        last.append(weakref.ref(self))

    monkeypatch.setattr(flowgraph.Graph, "__init__", spy)
    monkeypatch.chdir(tmp_path)
    rules = load_registry().select(["SL201"])
    found = Runner(Config(root=tmp_path), rules, RunSettings(paths=["."], use_cache=False, jobs=1)).run().findings
    assert sorted(sorted(paths) for paths, _ in built) == [["blog_helpers.py", "blog_views.py"],
                                                          ["shop_helpers.py", "shop_views.py"]]
    assert not any(alive for _, alive in built)
    assert sorted(f.path for f in found) == ["blog_views.py", "shop_views.py"]
