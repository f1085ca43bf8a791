"""Cache deletes done through the project's helpers, across modules (SL306).

File phase (:func:`invalidation_facts`): the functions of a module that
delete cache keys themselves and write nothing (``reset()`` calling
``delete_memoized(f)``), with the words of the keys they delete; the
functions that write the database; and, per function, its project calls and
own writes in statement order.

Project phase (:class:`Invalidators`): which call targets reach a deleting
helper (through helpers calling helpers) and which write, resolved through
the project call graph. The rule joins the cache family and the connections
family here, as the model families never import each other.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import libcst as cst

from scalelint.core.walk import dotted
from scalelint.model import catalog
from scalelint.model.caches.caching import CacheModel, cache_model
from scalelint.model.caches.invalidators import deleted_keys, words
from scalelint.model.connections.summaries import CallGraph, call_target
from scalelint.model.connections.work import work_of
from scalelint.model.connections.writes import session_write

if TYPE_CHECKING:
    from scalelint.model.function import FunctionModel, Stmt
    from scalelint.model.module import ModuleModel

#: how many helper calls deep a delete is followed (``clean()`` -> ``reset()`` -> delete)
MAX_DEPTH = 4


def _qualified(module: "ModuleModel", qualname: str) -> str:
    return f"{module.module_name}.{qualname}" if module.module_name else qualname


def _own_write(fn: "FunctionModel", cm: CacheModel) -> str | None:
    """The first database write of the function's own statements, as spelled."""
    writes = cm.entities.of(fn).writes
    if writes:
        return writes[0].describe()
    return next((label for _, call in fn.calls() if (label := session_write(fn, call)) is not None), None)


def invalidation_facts(module: "ModuleModel", locate: Any) -> dict[str, Any]:
    """``deleters``: qualified name -> [first delete, key words]; ``writers``:
    qualified name -> the write; ``paths``: qualified name -> its events in order,
    each ``["call", target, words, line, col, end line, end col, tx, ordinal, end]`` or
    ``["write", description, words, line, tx, ordinal, end]`` (``tx``: the ordinal of
    the statement opening its transaction, 0 for none; ``end``: see :func:`_events`)."""
    cm = cache_model(module)
    deleters: dict[str, list[Any]] = {}
    writers: dict[str, str] = {}
    paths: dict[str, list[list[Any]]] = {}
    for fn in module.functions:
        name = _qualified(module, fn.qualname)
        write = _own_write(fn, cm)
        if write is not None:
            writers[name] = write
        elif (deleted := deleted_keys(cm, fn)) is not None:
            deleters[name] = [deleted[0], sorted(deleted[1])]
        events = _events(fn, cm, locate)
        if events:
            paths[name] = events
    return {k: v for k, v in (("deleters", deleters), ("writers", writers), ("paths", paths)) if v}


def _events(fn: "FunctionModel", cm: CacheModel, locate: Any, *, every: bool = False) -> list[list[Any]]:
    """The function's project calls and own writes, in statement order, each ending
    with its statement's ordinal and the ordinal of the ``return``/``raise`` that
    ends its branch (0: none), so a later event on another branch is told apart.
    Only a path of two events or more, one of them a call, is read by the project
    phase: any other function gets [] before its events are placed (positions and
    transactions are the costly part), unless ``every``."""
    writes = {id(w.call): w for w in cm.entities.of(fn).writes}
    kinds: list[tuple["Stmt", cst.Call, str, Any]] = []
    for stmt, call in fn.calls():
        if id(call) in writes:
            kinds.append((stmt, call, "own", writes[id(call)]))
        elif (label := session_write(fn, call)) is not None:
            kinds.append((stmt, call, "session", label))
        elif (target := call_target(fn, call)) is not None:
            kinds.append((stmt, call, "call", target))
    if not every and (len(kinds) < 2 or not any(kind == "call" for _, _, kind, _ in kinds)):
        return []
    work = work_of(fn)
    by_node = {id(stmt.node): stmt for stmt in fn.stmts}
    events: list[list[Any]] = []
    for stmt, call, kind, what in kinds:
        tx = work.transaction_of(stmt)
        opened = tx.first if tx is not None else 0
        order = [stmt.ordinal, _branch_end(stmt, by_node)]
        if kind == "own":
            events.append(["write", what.describe(), sorted(words(what.entity)), locate(call, stmt)[0], opened, *order])
        elif kind == "session":
            events.append(["write", what, sorted(_call_words(call)), locate(call, stmt)[0], opened, *order])
        else:
            events.append(["call", what, sorted(_call_words(call)), *locate(call, stmt), opened, *order])
    return events


def _branch_end(stmt: "Stmt", by_node: dict[int, "Stmt"]) -> int:
    """The ordinal of the ``return``/``raise`` closing the innermost block around the
    statement that ends with one (0: the path goes on after every enclosing block)."""
    blocks = [stmt.block]
    blocks += [outer.block for _, node in reversed(stmt.context) if (outer := by_node.get(id(node))) is not None]
    for block in blocks:
        last = block[-1] if block else None
        if isinstance(last, cst.SimpleStatementLine) and any(isinstance(s, (cst.Return, cst.Raise)) for s in last.body):
            end = by_node.get(id(last))
            return end.ordinal if end is not None else 0
    return 0


def _call_words(call: cst.Call) -> set[str]:
    """Words of what a call writes: its receiver, its method and its plain arguments."""
    parts = [dotted(call.func) or ""]
    parts += [dotted(arg.value) or "" for arg in call.args if arg.keyword is None]
    return set().union(*(words(p) for p in parts))


@dataclass(frozen=True)
class Deleter:
    """A call target that reaches a cache delete: the chain down to it and the keys' words."""

    chain: tuple[str, ...]  # qualified names from the target to the deleting helper
    first: str  # the delete as spelled
    words: frozenset[str]


class Invalidators:
    """The project's deleting helpers and writing functions, by call target."""

    def __init__(self, graph: CallGraph, published: list[tuple[str, dict[str, Any]]]) -> None:
        self.graph = graph
        self.deleters = {name: d for _, facts in published for name, d in facts.get("deleters", {}).items()}
        self.writers = {name: w for _, facts in published for name, w in facts.get("writers", {}).items()}
        self._memo: dict[str, Deleter | None] = {}
        self._paths = {path for path, _ in published}  # files whose functions the facts describe

    def deleter(self, target: str) -> Deleter | None:
        """The deleting helper a call of ``target`` reaches, if any."""
        key = self.graph.resolve(target) or target
        return self._deleter(key, MAX_DEPTH, frozenset())

    def _deleter(self, key: str, depth: int, seen: frozenset[str]) -> Deleter | None:
        if key in self._memo:
            return self._memo[key]
        found: Deleter | None = None
        if key in self.deleters:
            first, keys = self.deleters[key]
            found = Deleter((key,), first, frozenset(keys))
        elif depth > 0 and key in self.graph.functions and key not in self.writers and key not in seen:
            below = [d for t in self.graph.functions[key].targets
                     if (d := self._deleter(self.graph.resolve(t) or t, depth - 1, seen | {key})) is not None]
            if below:
                found = Deleter((key, *below[0].chain), below[0].first, frozenset().union(*(d.words for d in below)))
        if not seen:
            self._memo[key] = found
        return found

    def writes(self, target: str) -> str | None:
        """What a call of ``target`` writes: a project function writing the database, or a
        data-access object's write method the graph cannot place (``repo.update(x)``)."""
        key = self.graph.resolve(target) or target
        if key in self.writers:
            return self.writers[key]
        if key in self.graph.functions and self.graph.functions[key].path in self._paths:
            return None  # a function whose own statements are known: it writes nothing
        owner, _, method = target.rpartition(".")
        verb = method.split("_", 1)[0]
        if owner and verb in catalog.PROJECT_WRITE_VERBS and target not in self.deleters:
            return f"{owner.rsplit('.', 1)[-1]}.{method}()"
        return None
