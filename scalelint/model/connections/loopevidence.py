"""How strong the evidence is that a loop's query matters (SL104's confidence).

A query once per round costs what the loop's size makes it cost. The code
shows that size only sometimes; what the loop iterates is the evidence:

- strong: the rows of a query over a table (``Order.objects.filter(name__in=
  values)``, ``session.scalars(select(Order))``, ``Model.query``, a view's
  ``self.queryset``, also through local names, ``list()``/``set()`` and ``+``),
  a request's payload (``request.data[...]``, ``request.POST.getlist(...)``),
  a collection annotated as instances of a class (``lines: Iterable[OrderLine]``,
  ``users: list[User]``) and the items of each element of an enclosing loop
  (``for subtest in suite["subtests"]`` inside ``for suite in ...``: the rounds
  multiply);
- weak: the rows of a query pinned to one parent (every filter an equality
  with one value the function holds: ``filter(user=request.user, book=book)``,
  ``Model.query.filter(Model.owner == owner)``), a relation of one object
  (``obj.children.all()``, ``order.items``), a parameter or local value of
  unknown provenance (ids, names, a payload's items).

Whatever the loop iterates, a round that also does network I/O (HTTP, cloud
SDKs, e-mail, Slack/API clients, directly or through the module's helpers)
spends its time there, not in the query: weak too. The project functions a
round calls (``round_helpers``) are asked in the project phase, where the call
graph knows whether one waits on the network; so are, for loops over a model's
rows, the model methods a round calls on an element or along its foreign keys
(scalelint.model.connections.lazyloads.model_methods).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import libcst as cst

from scalelint.core.walk import dotted, walk
from scalelint.model import catalog
from scalelint.model.connections.loopsize import param_names
from scalelint.model.connections.work import root_name, work_of

if TYPE_CHECKING:
    from scalelint.model.function import FunctionModel

Values = dict[str, list[cst.BaseExpression]]
#: what a loop iterates, strongest first
QUERY, REQUEST, ROWS, NESTED = "query", "request", "rows", "nested"
PINNED, RELATION, PARAMETER, LOCAL = "pinned", "relation", "parameter", "local"
STRONG = frozenset({QUERY, REQUEST, ROWS, NESTED})
_ORDER = (QUERY, REQUEST, ROWS, NESTED, PINNED, RELATION, PARAMETER, LOCAL)
_MAX_DEPTH = 6
_WRAPPERS = frozenset({"list", "tuple", "set", "frozenset", "sorted", "reversed", "enumerate", "iter", "zip"})
_VIEWS = frozenset({"items", "keys", "values", "get", "getlist", "pop", "copy"})
#: generic collection annotations whose item type names what a parameter holds
_COLLECTIONS = frozenset({
    "list", "List", "set", "Set", "frozenset", "FrozenSet", "tuple", "Tuple", "Iterable", "Iterator", "Sequence",
    "Collection", "MutableSequence", "AbstractSet", "QuerySet", "Optional", "Union",
})
#: item types that are plain values, not instances of the application's classes
_PLAIN = frozenset({
    "str", "int", "float", "bool", "bytes", "dict", "Dict", "tuple", "Tuple", "list", "List", "Any", "UUID",
    "Decimal", "datetime", "date", "Mapping", "None", "object", "Callable", "T",
})
#: attributes of a request that hold what its client sent
_REQUEST_PAYLOADS = frozenset({"data", "POST", "GET", "query_params", "json", "form", "args", "FILES", "values"})
#: the framework's own name for a view's (or filter set's) query over its table
_VIEW_QUERYSETS = frozenset({"queryset", "get_queryset"})
#: filter lookups that compare with one value (``user=x``, ``user_id=x``, ``user__exact=x``)
_EQUALITY_LOOKUPS = ("", "exact", "id", "pk")


@dataclass(frozen=True)
class LoopEvidence:
    """What a loop iterates, and what else each round waits on."""

    source: str
    #: the network I/O each round also does ("http", "mail", ...), else "" (asked only of strong sources)
    io: str = ""

    @property
    def strong(self) -> bool:
        return self.source in STRONG and not self.io


def loop_evidence(fn: "FunctionModel", loop: cst.CSTNode, iterable: cst.BaseExpression, local: Values) -> LoopEvidence:
    """The evidence for a query in ``loop`` (a ``for`` statement or comprehension over ``iterable``)."""
    source = _Classifier(fn, local, _outer_targets(fn, loop)).of(iterable, 0)
    # weak already: the loop body's calls need no classifying
    return LoopEvidence(source, _round_io(fn, loop) if source in STRONG else "")


class _Classifier:
    def __init__(self, fn: "FunctionModel", local: Values, outer: frozenset[str]) -> None:
        self.fn, self.local, self.outer = fn, local, outer
        self.params = param_names(fn)
        #: local names being resolved (a name assigned from itself)
        self.resolving: set[str] = set()

    def of(self, expr: cst.BaseExpression, depth: int) -> str:
        if depth > _MAX_DEPTH:
            return LOCAL
        if isinstance(expr, cst.Await):
            return self.of(expr.expression, depth + 1)
        if isinstance(expr, cst.BinaryOperation):
            return _strongest(self.of(side, depth + 1) for side in (expr.left, expr.right))
        if isinstance(expr, (cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp)):
            return self.of(expr.for_in.iter, depth + 1)
        if _request_payload(expr):
            return REQUEST
        if _query(expr, self.local):
            return PINNED if _pinned(expr) else QUERY
        base = _under_lazy_methods(expr)
        if base is not expr:  # ``mine.filter(...).distinct()``: the rows of what it filters
            kind = self.of(base, depth + 1)
            if kind not in STRONG and self._filters_class_call(base):
                kind = QUERY  # ``Edition.viewer_objects(user)`` filtered like a queryset: rows of a table
            return PINNED if kind == QUERY and _pinned(expr) else kind
        if isinstance(expr, cst.Call):
            func = expr.func
            if isinstance(func, cst.Name) and func.value in _WRAPPERS and expr.args:
                return self.of(expr.args[0].value, depth + 1)
            if isinstance(func, cst.Attribute) and func.attr.value in _VIEWS:
                return self.of(func.value, depth + 1)
        root = root_name(expr)
        if root is None:
            return LOCAL
        if root in self.outer:
            return NESTED  # the items of each element of an enclosing loop: rounds multiply
        if isinstance(expr, cst.Name):
            return self._name(root, depth)
        if root == "self" or root in self.params or len(self.local.get(root, ())) == 1:
            return RELATION if _relation_like(expr) else PARAMETER if root in self.params else LOCAL
        return LOCAL

    def _name(self, name: str, depth: int) -> str:
        annotated = _annotation(self.fn, name)
        if annotated is not None and _instances(annotated):
            return ROWS
        if name in self.resolving:
            return LOCAL  # ``books = set(list(books.filter(...)))``: its other values decide
        values = [v for v in self.local.get(name, ()) if not _empty(v)]
        if values:
            self.resolving.add(name)
            found = _strongest(self.of(v, depth + 1) for v in values)
            self.resolving.discard(name)
            return found
        return PARAMETER if name in self.params else LOCAL

    def _filters_class_call(self, base: cst.BaseExpression) -> bool:
        """``Model.method(...)``, or a local name bound to one."""
        values = self.local.get(base.value, []) if isinstance(base, cst.Name) else [base]
        return any(
            isinstance(v, cst.Call) and isinstance(v.func, cst.Attribute) and _capitalized((_chain(v.func.value) or [""])[-1])
            for v in values
        )


def _strongest(kinds) -> str:
    found = list(kinds)
    return min(found, key=_ORDER.index) if found else LOCAL


def _under_lazy_methods(expr: cst.BaseExpression) -> cst.BaseExpression:
    """What a chain of lazy queryset methods (``.filter(...).distinct()``) is called on (``expr`` if none)."""
    while (isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute)
           and expr.func.attr.value in catalog.DJANGO_LAZY_METHODS):
        expr = expr.func.value
    return expr


def _chain(expr: cst.BaseExpression) -> list[str]:
    """The attribute and method names of a call chain, outermost last (``a.b(x).c`` -> [a, b, c])."""
    names: list[str] = []
    while True:
        if isinstance(expr, cst.Call):
            expr = expr.func
        elif isinstance(expr, cst.Attribute):
            names.append(expr.attr.value)
            expr = expr.value
        elif isinstance(expr, cst.Subscript):
            expr = expr.value
        elif isinstance(expr, cst.Name):
            names.append(expr.value)
            return names[::-1]
        else:
            return names[::-1]


def _capitalized(name: str) -> bool:
    return name[:1].isupper()


def _query(expr: cst.BaseExpression, local: Values) -> bool:
    """Rows of a query over a table: ``Order.objects...``, ``models.Order.viewer_objects(u).filter(...)``,
    ``Order.query...``, ``session.scalars(select(...))``, ``select(...)``, ``self.queryset``."""
    names = _chain(expr)
    if not names:
        return False
    if names[0] == "self" and len(names) >= 2 and names[1] in _VIEW_QUERYSETS:
        return True
    classes = [i for i, name in enumerate(names) if _capitalized(name)]
    if classes and any(n in ("objects", "query") or n in catalog.DJANGO_LAZY_METHODS for n in names[classes[-1] + 1:]):
        return True
    if any(n in _CURSOR_ROWS for n in names):
        return True
    return any(_statement_call(call, local) for call in _calls(expr))


#: cursor methods returning a result's rows
_CURSOR_ROWS = frozenset({"fetchall", "fetchmany"})


def _calls(expr: cst.BaseExpression) -> list[cst.Call]:
    """The calls of a chain (``session.query(A).filter(...).all()``: all three)."""
    found = []
    while isinstance(expr, (cst.Call, cst.Attribute, cst.Subscript)):
        if isinstance(expr, cst.Call):
            found.append(expr)
            expr = expr.func
        else:
            expr = expr.value
    return found


def _statement_call(call: cst.Call, local: Values) -> bool:
    """``session.query(Order)``, ``session.scalars(select(Order))`` (also of a local
    statement), ``conn.execute("SELECT ...")``."""
    if not isinstance(call.func, cst.Attribute) or not call.args:
        return False
    method, first = call.func.attr.value, call.args[0].value
    if isinstance(first, cst.Name) and len(local.get(first.value, ())) == 1:
        first = local[first.value][0]
    if method == "query":
        return _capitalized(root_name(first) or "")
    if method in ("scalars", "execute", "exec"):
        if isinstance(first, (cst.SimpleString, cst.ConcatenatedString)):
            text = first.evaluated_value if isinstance(first, cst.SimpleString) else None
            return isinstance(text, str) and text.lstrip()[:6].upper() in ("SELECT", "WITH R", "WITH")
        return any(isinstance(n, cst.Call) and (dotted(n.func) or "").rsplit(".", 1)[-1] == "select" for n in walk(first))
    return False


def _pinned(expr: cst.BaseExpression) -> bool:
    """Every row shares one parent: a filter that equates a column with one value the
    function holds (``user=request.user``, ``Model.owner == owner``), not a constant, a
    literal, a set of values (``__in``) or a value computed by a call."""
    for node in walk(expr, into_functions=False):
        if not isinstance(node, cst.Call) or not isinstance(node.func, cst.Attribute):
            continue
        if node.func.attr.value in ("filter", "filter_by", "get", "where"):
            for arg in node.args:
                if arg.keyword is not None and _equality_lookup(arg.keyword.value) and _held_value(arg.value):
                    return True
                if arg.keyword is None and isinstance(arg.value, cst.Comparison) and len(arg.value.comparisons) == 1:
                    comp = arg.value.comparisons[0]
                    if isinstance(comp.operator, cst.Equal) and isinstance(arg.value.left, cst.Attribute) and _held_value(
                            comp.comparator):
                        return True
    return False


def _equality_lookup(keyword: str) -> bool:
    parts = keyword.split("__")
    return len(parts) == 1 or (len(parts) == 2 and parts[1] in _EQUALITY_LOOKUPS)


def _held_value(value: cst.BaseExpression) -> bool:
    """A name or an attribute of one (``book``, ``request.user``, ``self.alert_group``), not a
    constant (``States.ADDING``, ``True``)."""
    if not isinstance(value, (cst.Name, cst.Attribute)):
        return False
    last = value.value if isinstance(value, cst.Name) else value.attr.value
    return not last.isupper() and last not in ("True", "False", "None") and root_name(value) is not None


def _relation_like(expr: cst.BaseExpression) -> bool:
    """``obj.children.all()``, ``order.items``: an attribute (or manager call) of one object."""
    return isinstance(expr, (cst.Attribute, cst.Call)) and len(_chain(expr)) >= 2


def _request_payload(expr: cst.BaseExpression) -> bool:
    names = _chain(expr)
    if any(n in catalog.DECLARED_FIELD_MAPPINGS for n in names) and not any(n in ("items", "keys", "values") for n in names):
        return True
    return len(names) >= 2 and names[0] == "request" and names[1] in _REQUEST_PAYLOADS


def _annotation(fn: "FunctionModel", name: str) -> cst.BaseExpression | None:
    params = fn.node.params
    for param in (*params.posonly_params, *params.params, *params.kwonly_params):
        if param.name.value == name:
            return param.annotation.annotation if param.annotation is not None else None
    for node in walk(fn.node.body, into_functions=False):
        if isinstance(node, cst.AnnAssign) and isinstance(node.target, cst.Name) and node.target.value == name:
            return node.annotation.annotation
    return None


def _instances(annotation: cst.BaseExpression) -> bool:
    """``list[User]``, ``Iterable["OrderLine"]``, ``QuerySet``, ``list[User] | None``: a
    collection of instances of a class (not of ``dict``, ``str``, ``tuple``)."""
    if isinstance(annotation, cst.BinaryOperation):
        return _instances(annotation.left) or _instances(annotation.right)
    if isinstance(annotation, (cst.Name, cst.Attribute)):
        return (dotted(annotation) or "").rsplit(".", 1)[-1] == "QuerySet"
    if not isinstance(annotation, cst.Subscript):
        return False
    outer = (dotted(annotation.value) or "").rsplit(".", 1)[-1]
    if outer not in _COLLECTIONS:
        return False
    for element in annotation.slice:
        item = element.slice
        if not isinstance(item, cst.Index):
            continue
        value = item.value
        if isinstance(value, cst.SimpleString):
            spelled = value.evaluated_value if isinstance(value.evaluated_value, str) else ""
        elif isinstance(value, cst.Subscript):
            if _instances(value):
                return True
            continue
        else:
            spelled = dotted(value) or ""
        last = spelled.rsplit(".", 1)[-1]
        if outer == "QuerySet" or (_capitalized(last) and last not in _PLAIN and not last.isupper()):
            return True
    return False


def _empty(expr: cst.BaseExpression) -> bool:
    if isinstance(expr, (cst.List, cst.Tuple, cst.Set, cst.Dict)):
        return not expr.elements
    return isinstance(expr, cst.Call) and not expr.args and dotted(expr.func) in ("list", "set", "dict", "tuple")


def _outer_targets(fn: "FunctionModel", loop: cst.CSTNode) -> frozenset[str]:
    """Names bound by the loops around ``loop`` (and by a comprehension's earlier ``for``)."""
    names: set[str] = set()
    for stmt in fn.stmts:
        node = stmt.node
        if isinstance(node, cst.For) and node is not loop and any(sub is loop for sub in walk(node.body)):
            names |= {n.value for n in walk(node.target) if isinstance(n, cst.Name)}
    comp = getattr(loop, "for_in", None)
    while isinstance(comp, cst.CompFor) and comp.inner_for_in is not None:
        names |= {n.value for n in walk(comp.target) if isinstance(n, cst.Name)}
        comp = comp.inner_for_in
    return frozenset(names)


def round_helpers(fn: "FunctionModel", loop: cst.CSTNode) -> list[str]:
    """The project functions a round of the loop calls (dotted names, as the call
    graph knows them): whether one of them waits on the network is a question for
    the project phase (scalelint.model.connections.summaries.CallGraph.network_io)."""
    from scalelint.model.connections.summaries import call_target

    body = loop.body if isinstance(loop, cst.For) else loop
    work = work_of(fn)
    out: dict[str, None] = {}
    for node in walk(body, into_functions=False):
        if isinstance(node, cst.Call) and _helper_call(node) and work.classify(node).kind in ("business", "unknown"):
            target = call_target(fn, node)
            if target is not None:
                out.setdefault(target, None)
    return list(out)


def _helper_call(call: cst.Call) -> bool:
    """A call shaped like a helper's (``notify(order)``, ``partners.notify(order)``,
    ``self.notify(order)``), not a link of a query chain (``Order.objects.get(...)``,
    ``qs.filter(...).exists()``), which the loop scan has already judged."""
    func = call.func
    return isinstance(func, cst.Name) or (isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name))


def _round_io(fn: "FunctionModel", loop: cst.CSTNode) -> str:
    """The network I/O a round of the loop does (directly or through the module's helpers), or ""."""
    body = loop.body if isinstance(loop, cst.For) else loop
    work = work_of(fn)
    for node in walk(body, into_functions=False):
        if isinstance(node, cst.Call):
            info = work.classify(node)
            if info.kind == "io" and info.category in catalog.NETWORK_IO_CATEGORIES:
                return info.category
    return ""
