"""Project functions that build a new pool-owning client on every call and hand
it to their caller (SL106 across modules).

``def redis_instance(): return redis.Redis.from_url(URL)`` owns no client: each
call builds one (and its connection pool). On its own it is a factory, and
where the client lives is its caller's choice; called per request or per task
(``ri = redis_instance(); ri.get(key)``), it is a client built per call.

File phase: a module publishes its factories (``factory_builds``: the
constructions a function returns fresh, by the function's dotted name) and the
calls its functions make into the project whose result they use and drop
(``factory_calls``: bound to a local or called on, not kept on ``self``, a
global or returned). Project phase: the rule pairs them through the call graph
(``summaries.CallGraph.resolve``), so a re-export or an import alias still
reaches the factory.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator

import libcst as cst

from scalelint.core.walk import walk
from scalelint.model import catalog
from scalelint.model.connections.summaries import call_target

if TYPE_CHECKING:
    from scalelint.model.function import FunctionModel, Stmt


@dataclass(frozen=True)
class FactoryCall:
    """A call into the project whose result the caller uses and drops."""

    target: str  # the dotted project name called (resolved in the project phase)
    stmt: "Stmt"
    call: cst.Call


def factory_builds(fn: "FunctionModel") -> list[tuple["Stmt", cst.Call]]:
    """The client constructions (catalog.CLIENT_CONSTRUCTORS) the function returns
    fresh: ``return redis.Redis(...)``, or bound to a local it returns that is not
    declared ``global``/``nonlocal`` (a memo). The caller decides whether the
    function runs once (``lru_cache``, start-up)."""
    returned, kept = _returned_and_kept(fn)
    found: list[tuple["Stmt", cst.Call]] = []
    for stmt, call in fn.calls():
        if catalog.CLIENT_CONSTRUCTORS.get(fn.module.qualified(call.func) or "") is None:
            continue
        node = stmt.node
        if not isinstance(node, cst.SimpleStatementLine):
            continue
        for small in node.body:
            value = getattr(small, "value", None)
            if isinstance(value, cst.Await):
                value = value.expression
            if value is not call:
                continue
            if isinstance(small, cst.Return):
                found.append((stmt, call))
            elif isinstance(small, cst.Assign) and all(
                isinstance(t.target, cst.Name) and t.target.value in returned and t.target.value not in kept
                for t in small.targets
            ):
                found.append((stmt, call))
    return found


def factory_calls(fn: "FunctionModel") -> Iterator[FactoryCall]:
    """Calls into the project whose result the function uses and drops: bound to a
    local name that is neither returned nor declared global, or called on
    directly (``get_client().get(key)``); the first such call of each target."""
    returned, kept = _returned_and_kept(fn)
    seen: set[str] = set()
    for stmt, call in fn.calls():
        if not _used_and_dropped(stmt, call, returned | kept):
            continue
        target = call_target(fn, call)
        if target is not None and target not in seen:
            seen.add(target)
            yield FactoryCall(target, stmt, call)


def _used_and_dropped(stmt: "Stmt", call: cst.Call, outliving: set[str]) -> bool:
    node = stmt.node
    if not isinstance(node, cst.SimpleStatementLine):
        return False
    for small in node.body:
        if isinstance(small, cst.Assign):
            value = small.value.expression if isinstance(small.value, cst.Await) else small.value
            if value is call:
                return all(isinstance(t.target, cst.Name) and t.target.value not in outliving for t in small.targets)
    for child in walk(node):
        if type(child) is cst.Attribute and child.value is call:
            return True  # ``get_client().get(key)``
    return False


def _returned_and_kept(fn: "FunctionModel") -> tuple[set[str], set[str]]:
    """Local names the function returns, and names declared ``global``/``nonlocal``."""
    returned: set[str] = set()
    kept: set[str] = set()
    for node in walk(fn.node.body):
        kind = type(node)
        if kind is cst.Global or kind is cst.Nonlocal:
            kept.update(n.name.value for n in node.names)
        elif kind is cst.Return and type(node.value) is cst.Name:
            returned.add(node.value.value)
    return returned, kept
