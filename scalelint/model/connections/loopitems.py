"""What a loop iterates when it is not rows (SL104): values of one document or one edit.

SL104's contract is a query once per iteration of a loop over rows or
objects. Some loops look the same but walk values whose number is set by one
document or one edit, not by how much data the application holds:

- the items of a document the function parses: ``json.loads(...)``, matches of
  a regular expression (``re.findall``), elements of an HTML/XML tree
  (``soup.find_all(...)``), the lines of a text (``text.splitlines()``);
- the delta of one edit: a set difference (``added = new - old``; not
  ``rows - {actor}``, as big as ``rows``) or the items of one collection missing
  from another (``[x for x in new if x not in old]``, unless ``new`` is a query).

The values are followed through local names, subscripts and ``.get()``,
mapping views, wrappers (``list``, ``sorted``, ``enumerate``), comprehensions
(filtered or mapped, never bigger), ``+``/``&``/``|`` of such values, a local
list grown from them (``found.append(tag["id"])`` in a loop over ``soup.find_all``)
and the returns of the module's own plain functions. A parameter is never such a value
(its callers may pass rows): ``for subtest in suite["subtests"]`` over a
``suite`` parameter stays an N+1 candidate.

A request's payload stays a candidate (``for pk in request.data["ids"]:
Model.objects.get(pk=pk)``, like ``serializer.validated_data`` of a
``many=True`` serializer): a bulk endpoint receives as many rows as its client
sends, and one ``filter(pk__in=ids)`` is the fix.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

from scalelint.core.walk import dotted, walk
from scalelint.model import catalog
from scalelint.model.connections.loopsize import fixed_size, growths, local_values

if TYPE_CHECKING:
    from scalelint.model.function import FunctionModel, Stmt

Values = dict[str, list[cst.BaseExpression]]
#: how many names, subscripts and calls are followed
_MAX_DEPTH = 12
#: how many expressions one question may look at
_MAX_STEPS = 200
_WRAPPERS = frozenset({"enumerate", "sorted", "reversed", "list", "tuple", "set", "frozenset", "iter", "zip"})
_MAPPING_VIEWS = frozenset({"items", "keys", "values", "get", "getlist", "pop", "copy"})
_COMPREHENSIONS = (cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp)


def not_rows(iterable: cst.BaseExpression, fn: "FunctionModel", local: Values) -> bool:
    """Whether ``iterable`` yields values of one document or one edit, not rows (see the module doc)."""
    return _Walk().not_rows(iterable, fn, local, 0, frozenset())


class _Walk:
    """One question's walk through names, helpers and values, with a bounded number of steps
    (names with several values each could otherwise multiply the work): out of steps, the
    answer is no (the loop stays a candidate)."""

    def __init__(self) -> None:
        self.steps = _MAX_STEPS

    def not_rows(
        self, iterable: cst.BaseExpression, fn: "FunctionModel", local: Values, depth: int, seen: frozenset[str]
    ) -> bool:
        """``seen``: the local names being resolved (``xs = list(set(xs) & known)`` refers to
        itself: its other values decide)."""
        self.steps -= 1
        if depth > _MAX_DEPTH or self.steps < 0:
            return False
        return self._not_rows(iterable, fn, local, depth, seen)

    def _not_rows(
        self, iterable: cst.BaseExpression, fn: "FunctionModel", local: Values, depth: int, seen: frozenset[str]
    ) -> bool:
        if isinstance(iterable, cst.BinaryOperation):
            if isinstance(iterable.operator, cst.Subtract):
                # a set difference of two versions (``new - old``): what one edit added or
                # removed; minus a few literal items (``subscribers - {actor}``) is as big as before
                return not fixed_size(iterable.right, fn, local) or self.not_rows(iterable.left, fn, local, depth + 1, seen)
            if isinstance(iterable.operator, cst.BitAnd):
                return any(self.not_rows(side, fn, local, depth + 1, seen) for side in (iterable.left, iterable.right))
            if isinstance(iterable.operator, (cst.Add, cst.BitOr)):
                return all(
                    _empty(side) or self.not_rows(side, fn, local, depth + 1, seen) for side in (iterable.left, iterable.right)
                )
            return False
        if isinstance(iterable, _COMPREHENSIONS):
            source = iterable.for_in.iter
            return (_delta(iterable) and not _queried(source, local)) or self.not_rows(source, fn, local, depth + 1, seen)
        if isinstance(iterable, cst.IfExp):  # ``json.loads(body) if body is not None else None``
            branches = [b for b in (iterable.body, iterable.orelse) if not _none(b)]
            return bool(branches) and all(self.not_rows(b, fn, local, depth + 1, seen) for b in branches)
        if isinstance(iterable, cst.Name):
            # a parameter counts only when the function rebinds it (``data = json.loads(data)``)
            name = iterable.value
            if name in seen:
                return True
            inner = seen | {name}
            values = [v for v in local.get(name, ()) if not _empty(v)]
            grown = growths(fn).get(name, [])
            if not values and not grown:
                return False
            return all(self.not_rows(v, fn, local, depth + 1, inner) for v in values) and all(
                self._grows_with_items(stmt, added, fn, local, depth, inner) for stmt, added in grown
            )
        if isinstance(iterable, cst.Subscript):
            return self.not_rows(iterable.value, fn, local, depth + 1, seen)
        if isinstance(iterable, cst.Call):
            func = iterable.func
            qualified = fn.module.qualified(func) or ""
            if qualified in catalog.DOCUMENT_PARSERS:
                return True
            spelled = dotted(func) or ""
            if spelled in _WRAPPERS:
                return bool(iterable.args) and self.not_rows(iterable.args[0].value, fn, local, depth + 1, seen)
            if isinstance(func, cst.Attribute):
                method = func.attr.value
                if method in catalog.DOCUMENT_ITEM_METHODS:
                    return True
                if method in _MAPPING_VIEWS:
                    return self.not_rows(func.value, fn, local, depth + 1, seen)
            helper = _module_function(fn, func)
            if helper is not None:
                returns = [n.value for n in walk(helper.node.body, into_functions=False) if isinstance(n, cst.Return)]
                if any(v is None for v in returns):
                    return False
                values = [v for v in returns if v is not None and not _empty(v)]
                inner = local_values(helper)
                return bool(values) and all(self.not_rows(v, helper, inner, depth + 1, frozenset()) for v in values)
        return False

    def _grows_with_items(
        self, stmt: "Stmt", added: cst.BaseExpression | None, fn: "FunctionModel", local: Values, depth: int,
        seen: frozenset[str],
    ) -> bool:
        """``names.append(tag["id"])`` in a loop over a document's items (or a fixed-size
        collection), or ``names.extend(items)``: the collection holds values of one document."""
        if added is not None and not self.not_rows(added, fn, local, depth + 1, seen):
            return False
        loops = [node for kind, node in stmt.context if kind == "loop"]
        return all(
            isinstance(node, cst.For)
            and (fixed_size(node.iter, fn, local) or self.not_rows(node.iter, fn, local, depth + 1, seen))
            for node in loops
        )


def _queried(expr: cst.BaseExpression, local: Values) -> bool:
    """``Order.objects.filter(...)``, ``session.scalars(...)``, ``Model.query.all()`` (or a
    local name bound to one): rows, however the comprehension filters them."""
    values = local.get(expr.value, []) if isinstance(expr, cst.Name) else [expr]
    return any(
        isinstance(node, cst.Attribute) and node.attr.value in catalog.QUERY_CHAIN_ATTRIBUTES
        for value in values
        for node in walk(value, into_functions=False)
    )


def _none(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "None"


def _empty(expr: cst.BaseExpression) -> bool:
    """``[]``, ``set()``, ``{}``: a collection the code starts empty."""
    if isinstance(expr, (cst.List, cst.Tuple, cst.Set, cst.Dict)):
        return not expr.elements
    return isinstance(expr, cst.Call) and not expr.args and dotted(expr.func) in ("list", "set", "dict", "tuple")


def _delta(comp: cst.BaseExpression) -> bool:
    """``[x for x in new if x not in old]``: the items of one collection missing from another."""
    for_in = getattr(comp, "for_in", None)
    if not isinstance(for_in, cst.CompFor) or not isinstance(for_in.target, cst.Name):
        return False
    target = for_in.target.value
    return any(
        isinstance(cond.test, cst.Comparison)
        and isinstance(cond.test.left, cst.Name)
        and cond.test.left.value == target
        and any(isinstance(c.operator, cst.NotIn) for c in cond.test.comparisons)
        for cond in for_in.ifs
    )


def _module_function(fn: "FunctionModel", func: cst.BaseExpression) -> "FunctionModel | None":
    """The module's own plain (not method) function a call names."""
    if not isinstance(func, cst.Name):
        return None
    for other in fn.module.functions:
        if other.cls is None and other.name == func.value and other.qualname == other.name:
            return other
    return None
