"""A module's own cache wrappers, for following a cached value through them.

- a **reader** returns what it read from the cache: a name bound to a
  ``get``, or a local dict filled with ``get`` results (``out[d] = cache.get(...)``);
- a **writer** stores one of its parameters (``cache.set(key, value)``);
- a **counter** changes one of its parameters by arithmetic
  (``counts[day][line] += 1``), so a caller's dict passed to it is counted.

Calls resolve within the module only: ``self.m()``, ``helper()``, and
``obj.m()`` where ``obj`` is bound to an instance of a class of the module
(``lcache = LineCache("errors")``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import libcst as cst

from scalelint.model.caches.caching import CacheOp, cache_model
from scalelint.model.entities import params_of

if TYPE_CHECKING:
    from scalelint.model.function import FunctionModel
    from scalelint.model.module import ModuleModel

STORES = frozenset({"set", "add", "setex"})


@dataclass(frozen=True)
class Wrapper:
    """What one project function does with the cache or with its arguments."""

    fn: "FunctionModel"
    op: CacheOp | None  # the cache call inside (reader, writer)
    reads: bool = False
    stores: str | None = None  # writer: the parameter stored
    counts: tuple[tuple[str, str], ...] = ()  # counter: (parameter, the arithmetic)

    def param_at(self, call: cst.Call, name: str) -> cst.BaseExpression | None:
        """The argument a call passes for parameter ``name``."""
        for arg in call.args:
            if arg.keyword is not None and arg.keyword.value == name:
                return arg.value
        positional = [a.value for a in call.args if a.keyword is None and not a.star]
        positional_params = [p.name.value for p in (*self.fn.node.params.posonly_params, *self.fn.node.params.params)
                             if p.name.value not in ("self", "cls")]
        index = positional_params.index(name) if name in positional_params else None
        return positional[index] if index is not None and index < len(positional) else None


def wrappers(module: "ModuleModel", counted: Callable[["FunctionModel", str], str | None]) -> dict[str, Wrapper]:
    """qualname -> wrapper, for every function of the module that is one.
    ``counted(fn, param)`` names the arithmetic ``fn`` does on a parameter."""
    def build() -> dict[str, Wrapper]:
        out: dict[str, Wrapper] = {}
        for fn in module.functions:
            found = _wrapper(fn, counted)
            if found is not None:
                out[fn.qualname] = found
        return out
    # one record per ``counted`` question: callers asking different ones must not share it
    return module.derived(f"cache-wrappers:{counted.__module__}.{counted.__qualname__}", build)


def _params(fn: "FunctionModel") -> list[str]:
    """Named parameters in order, without ``self``/``cls``."""
    return [p.name.value for p in params_of(fn.node) if p.name.value not in ("self", "cls")]


def _wrapper(fn: "FunctionModel", counted: Callable[["FunctionModel", str], str | None]) -> Wrapper | None:
    params = _params(fn)
    ops = cache_model(fn.module).ops(fn)
    for op in ops:
        value = op.value
        if op.method in STORES and isinstance(value, cst.Name) and value.value in params:
            return Wrapper(fn, op, stores=value.value)
    reader = _reader_op(fn, ops)
    if reader is not None:
        return Wrapper(fn, reader, reads=True)
    counts = tuple((p, c) for p in params for c in [counted(fn, p)] if c is not None)
    return Wrapper(fn, None, counts=counts) if counts else None


def _reader_op(fn: "FunctionModel", ops: list[CacheOp]) -> CacheOp | None:
    """The get whose result the function returns (itself or in a dict it fills)."""
    gets = {id(op.call): op for op in ops if op.method == "get"}
    if not gets:
        return None
    holders: dict[str, CacheOp] = {}
    for stmt in fn.stmts:
        node = stmt.node
        if not isinstance(node, cst.SimpleStatementLine):
            continue
        for small in node.body:
            if isinstance(small, cst.Assign) and len(small.targets) == 1 and id(small.value) in gets:
                target = small.targets[0].target
                base = target.value if isinstance(target, cst.Subscript) else target
                if isinstance(base, cst.Name):
                    holders[base.value] = gets[id(small.value)]
            elif isinstance(small, cst.Return) and isinstance(small.value, cst.Name):
                if small.value.value in holders:
                    return holders[small.value.value]
    return None


def resolve(fn: "FunctionModel", call: cst.Call, found: dict[str, Wrapper]) -> Wrapper | None:
    """The module's wrapper a call runs, if any."""
    func = call.func
    if isinstance(func, cst.Name):
        return found.get(func.value)
    if not isinstance(func, cst.Attribute) or not isinstance(func.value, cst.Name):
        return None
    receiver, method = func.value.value, func.attr.value
    if receiver in ("self", "cls") and fn.cls is not None:
        return found.get(f"{fn.cls.name}.{method}")
    bound = cache_model(fn.module).binding(fn, receiver)
    if isinstance(bound, cst.Call) and isinstance(bound.func, cst.Name):
        return found.get(f"{bound.func.value}.{method}")
    return None
