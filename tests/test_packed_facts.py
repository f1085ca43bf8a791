"""A run holds each file's fact families marshalled until the project phase
decodes the one a rule reads (issue 18: memory flat in project size)."""
from __future__ import annotations

import marshal
from pathlib import Path

import pytest

from scalelint.core.findings import FileResult
from scalelint.engine.config import Config
from scalelint.engine.registry import load_registry
from scalelint.engine.runner import Runner, RunSettings
from scalelint.project import ProjectIndex


def _result() -> FileResult:
    result = FileResult("pkg/a.py")
    result.facts = {"__suppressions__": [], "__context__": "request", "SL101": {"calls": [["f", 1, (2, 3)]]},
                    "SL301": [], "flow": {"functions": {"f": [1, 2]}}}
    return result


def test_pack_moves_the_families_to_bytes_and_keeps_the_bookkeeping() -> None:
    result = _result()
    before = result.project_facts()
    result.pack()
    assert result.facts == {"__suppressions__": [], "__context__": "request"}
    assert result.packed is not None and set(result.packed) == {"SL101", "SL301", "flow"}
    assert all(isinstance(raw, bytes) for raw in result.packed.values())
    assert result.project_facts() == before
    result.pack()  # idempotent
    assert result.project_facts() == before


def test_index_decodes_a_family_when_read_and_forgets_it_on_release() -> None:
    result = _result()
    result.pack()
    index = ProjectIndex()
    index.add("pkg/a.py", result.facts, "", result.packed)
    index.add("pkg/b.py", {"SL101": {"calls": []}})  # facts given as values
    assert list(index.facts("SL101")) == [("pkg/a.py", {"calls": [["f", 1, (2, 3)]]}), ("pkg/b.py", {"calls": []})]
    assert list(index.facts("SL301")) == [("pkg/a.py", [])]  # an empty family is still published
    facts = index.files["pkg/a.py"]
    first = facts.get("flow")
    assert facts.get("flow") is first  # decoded once until released
    assert facts["__context__"] == "request" and "flow" in facts and "other" not in facts
    assert facts.get("other", 7) == 7
    with pytest.raises(KeyError):
        facts["other"]
    index.release()
    again = facts.get("flow")
    assert again == first and again is not first
    assert index.files["pkg/b.py"].get("SL101") == {"calls": []}  # values are never released


def test_a_run_hands_the_project_phase_packed_facts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "app.py").write_text(
        "import psycopg2\n\n\ndef load():\n    conn = psycopg2.connect('dsn')\n    return conn.cursor().fetchall()\n")
    added: list[tuple[str, dict, dict | None]] = []
    original = ProjectIndex.add

    def spy(self, path, facts, identity="", packed=None):
        added.append((path, dict(facts), packed))
        original(self, path, facts, identity, packed)

    monkeypatch.setattr(ProjectIndex, "add", spy)
    monkeypatch.chdir(tmp_path)
    Runner(Config(root=tmp_path), load_registry().select(None), RunSettings(paths=["."], use_cache=False, jobs=1)).run()
    (path, facts, packed), = [a for a in added if a[0] == "app.py"]
    assert packed and all(isinstance(raw, bytes) for raw in packed.values())
    assert all(key.startswith("__") for key in facts)
    assert all(marshal.loads(raw) is not None for raw in packed.values())


def test_release_drops_the_structures_not_kept_and_they_are_built_again() -> None:
    index = ProjectIndex()
    builds: list[str] = []

    def build(name: str):
        return lambda: builds.append(name) or [name]

    kept, dropped = index.derived("kept", build("kept")), index.derived("dropped", build("dropped"))
    index.release(keep={"kept"})
    assert index.derived("kept", build("kept")) is kept
    again = index.derived("dropped", build("dropped"))
    assert again == dropped and again is not dropped
    assert builds == ["kept", "dropped", "dropped"]


def test_a_structure_that_later_rules_declare_is_built_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "views.py").write_text(
        "def pay(order_id):\n    order = Order.objects.using('replica').get(id=order_id)\n"
        "    order.paid = True\n    order.save()\n")
    builds: list[str] = []
    original = ProjectIndex.derived

    def spy(self, name, build):
        if name not in self._derived:
            builds.append(name)
        return original(self, name, build)

    monkeypatch.setattr(ProjectIndex, "derived", spy)
    monkeypatch.chdir(tmp_path)
    rules = load_registry().select(["SL201", "SL202", "SL203", "SL101"])
    Runner(Config(root=tmp_path), rules, RunSettings(paths=["."], use_cache=False, jobs=1)).run()
    assert builds.count("flow-findings") == 1
    assert builds.count("summaries") <= 1


def test_the_call_graph_keeps_compact_function_records() -> None:
    from scalelint.model.connections.summaries import CallGraph

    events = [["q", [2, 4, 2, 9], 1], ["d", "isdigit", [3, 1, 3, 9], "ch.isdigit()"]]
    arms = [[1, [[5, 0]], -1]]
    published = [("a.py", {"module": "a", "classes": {"C": []}, "functions": {
        "f": [1, None, ["a.g"], None, 3, "e", [], [], {}, events, arms],
        "g": [5, ["requests.get()", "http", 6, 0], [], None, 6, "", [], [], {}],
    }})]
    graph = CallGraph(published)
    f, g = graph.functions["a.f"], graph.functions["a.g"]
    assert not hasattr(f, "__dict__")  # slotted: one small record per function of the project
    assert f.events == events and f.arms == arms and f.events is not f.events  # decoded when read
    assert g.events == [] and g.arms == [] and not g.decorators and not g.enqueues and not g.arguments
    assert "functions" not in graph.modules["a"] and graph.modules["a"]["classes"] == {"C": []}
    assert graph.callers == {"a.g": ["a.f"]} and graph.io_chain("a.f") is not None
    assert published[0][1]["functions"]  # the facts it was given are left as they were


def _project_with_both_graphs(tmp_path: Path) -> list:
    (tmp_path / "views.py").write_text(
        "import helpers\n\n\ndef pay(order_id):\n    order = Order.objects.using('replica').get(id=order_id)\n"
        "    order.paid = True\n    order.save()\n    helpers.notify()\n")
    (tmp_path / "helpers.py").write_text("import requests\n\n\ndef notify():\n    requests.post('http://x')\n")
    return load_registry().select(["SL101", "SL103", "SL201", "SL202", "SL203", "SL204", "SL306"])


def test_the_flow_graph_is_dropped_before_the_call_graph_is_built(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rules = _project_with_both_graphs(tmp_path)
    live_at_build: dict[str, set[str]] = {}
    original = ProjectIndex.derived

    def spy(self, name, build):
        if name not in self._derived:
            live_at_build.setdefault(name, set(self._derived))
        return original(self, name, build)

    monkeypatch.setattr(ProjectIndex, "derived", spy)
    monkeypatch.chdir(tmp_path)
    Runner(Config(root=tmp_path), rules, RunSettings(paths=["."], use_cache=False, jobs=1)).run()
    assert live_at_build == {"flow-findings": set(), "summaries": set()}


def test_project_findings_keep_the_registered_order_of_the_rules(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rules = _project_with_both_graphs(tmp_path)
    monkeypatch.chdir(tmp_path)

    def run() -> list[tuple[str, int, str]]:
        found = Runner(Config(root=tmp_path), rules, RunSettings(paths=["."], use_cache=False, jobs=1)).run().findings
        return [(f.path, f.line, f.code) for f in found]

    reordered = run()
    monkeypatch.setattr(Runner, "_lifetime_order", lambda self, registered: list(range(len(registered))))
    assert reordered == run() and {code for _, _, code in reordered} >= {"SL201"}
