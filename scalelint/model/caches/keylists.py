"""Collections the code read back from the cache itself (SL307).

A loop over such a collection walks a key list the application keeps for
itself (``keys = cache.get("lines_keys")``, or a module method returning one,
``keys = self.get_cache_keys()``): its length is what the code chose to record
under one key — dates of a rolling window, nodes of a cluster, shards — not
rows or request input, so a round trip per item is a weak sign.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

from scalelint.model.caches.caching import cache_model
from scalelint.model.caches.wrappers import resolve, wrappers

if TYPE_CHECKING:
    from scalelint.model.function import FunctionModel

#: how many local assignments and comprehensions one collection is followed through
MAX_DEPTH = 4


def read_from_cache(fn: "FunctionModel", expr: cst.BaseExpression,
                    values: dict[str, list[cst.BaseExpression]], depth: int = 0) -> bool:
    """Whether ``expr`` (a loop's collection) is a value read from the cache: a
    ``get`` on a cache client, a call of a module function or method that returns
    one, a local name every assignment of which is such a value, or a
    comprehension over one (``[k.split("_")[-1] for k in keys]``)."""
    if depth > MAX_DEPTH:
        return False
    if isinstance(expr, (cst.ListComp, cst.SetComp, cst.GeneratorExp)):
        return read_from_cache(fn, expr.for_in.iter, values, depth + 1)
    if isinstance(expr, cst.Name):
        assigned = values.get(expr.value, [])
        return bool(assigned) and all(read_from_cache(fn, value, values, depth + 1) for value in assigned)
    if not isinstance(expr, cst.Call):
        return False
    model = cache_model(fn.module)
    if isinstance(expr.func, cst.Attribute) and expr.func.attr.value == "get" \
            and model.client_of(expr.func.value, fn) is not None:
        return True
    found = resolve(fn, expr, wrappers(fn.module, _no_counts))
    return found is not None and found.reads


def _no_counts(fn: "FunctionModel", param: str) -> str | None:
    return None
