"""Aggregate queries on a cache's miss path (SL308): what recomputing an entry costs.

An aggregate is an ORM call of the catalog's aggregate methods on a query chain
(``Model.objects....aggregate()``, ``session.query(...)....count()``) or SQL
that groups or counts (``GROUP BY``, ``COUNT(``). It is found in the statements
between a cache read and its store, in a ``get_or_set`` builder (a lambda or a
named function), and one call down in a function or method of the same module
(``stats = self._compute_stats()``): the usual way a miss path is written.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

from scalelint.core.walk import walk
from scalelint.model import catalog
from scalelint.model.caches.caching import cache_model

if TYPE_CHECKING:
    from scalelint.model.function import FunctionModel


def aggregate_between(fn: "FunctionModel", first: int, last: int) -> str | None:
    """The aggregate run by the statements after ``first`` up to ``last`` (ordinals),
    directly or in a helper of this module they call, as named in messages."""
    calls = [call for stmt, call in fn.calls() if first < stmt.ordinal <= last]
    return _aggregate_in(fn, calls, helpers=True)


def builder_aggregate(fn: "FunctionModel", builder: cst.BaseExpression) -> str | None:
    """The aggregate a ``get_or_set(key, builder)`` builder runs: a lambda's own
    calls, or the body of the module's function it names."""
    if isinstance(builder, cst.Lambda):
        return _aggregate_in(fn, [n for n in walk(builder.body) if isinstance(n, cst.Call)], helpers=True)
    helper = module_function(fn, builder)
    if helper is None:
        return None
    found = _aggregate_in(helper, [call for _, call in helper.calls()], helpers=False)
    return f"{found} in {helper.node.name.value}()" if found is not None else None


def module_function(fn: "FunctionModel", expr: cst.BaseExpression) -> "FunctionModel | None":
    """The function or method of ``fn``'s module an expression names
    (``helper``, ``self._compute``, ``cls.build``), else None."""
    target = cache_model(fn.module).function_ref(expr, fn)
    if target is None:
        return None
    prefix = f"{fn.module.module_name}." if fn.module.module_name else ""
    if not target.startswith(prefix):
        return None
    qualname = target[len(prefix):]
    return next((other for other in fn.module.functions if other.qualname == qualname and other is not fn), None)


def _aggregate_in(fn: "FunctionModel", calls: list[cst.Call], helpers: bool) -> str | None:
    for call in calls:
        found = _aggregate_call(fn, call)
        if found is not None:
            return found
    if not helpers:
        return None
    for call in calls:
        helper = module_function(fn, call.func)
        if helper is None:
            continue
        found = _aggregate_in(helper, [inner for _, inner in helper.calls()], helpers=False)
        if found is not None:
            return f"{found} in {helper.node.name.value}()"
    return None


def _aggregate_call(fn: "FunctionModel", call: cst.Call) -> str | None:
    if not isinstance(call.func, cst.Attribute):
        return None
    method = call.func.attr.value
    if method in catalog.AGGREGATE_QUERY_METHODS and _query_chain(call):
        return f"{method}()"
    sql = cache_model(fn.module).entities.sql_of(call)
    if sql is not None and catalog.SQL_AGGREGATE.search(sql.text):
        return "an aggregate query"
    return None


def _query_chain(call: cst.Call) -> bool:
    """``Model.objects....count()`` / ``session.query(...)....count()``: an ORM query, not ``list.count(x)``."""
    text = cst.Module([]).code_for_node(call.func)
    return ".objects" in text or ".query(" in text or "select(" in text or ".filter(" in text
