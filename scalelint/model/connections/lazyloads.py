"""Lazy relationship loads inside loops (SL104's N+1 through attributes).

File phase: for each loop over a recognised query result (a Django queryset
``Model.objects...``, SQLAlchemy ``session.scalars(select(Model))``,
``session.query(Model)``, Flask-SQLAlchemy ``Model.query``), publish a
compact record: the element's model as spelled and resolved, the relation
paths the query loads eagerly (``select_related``/``prefetch_related``,
``joinedload``/``selectinload``/...), and the element variable's attribute
chains with their positions. Project phase: join the records with the model
facts of :mod:`scalelint.model.ormmodels` and report chains that reach a
relationship loaded lazily.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Iterator, Sequence

import libcst as cst

from scalelint.model import catalog, dbops
from scalelint.model.dbops import is_class_name
from scalelint.model.connections.loopevidence import loop_evidence, round_helpers
from scalelint.model.connections.loops import local_values, render_chain
from scalelint.model.connections.loopsize import reports_error_each_round
from scalelint.model.connections.work import work_of
from scalelint.model.module import ModuleModel
from scalelint.model.ormmodels import ModelClass, ModelIndex, Relation, project_bases, qualify, qualify_spelled
from scalelint.core.lines import LineIndex
from scalelint.core.walk import dotted, string_value, walk

if TYPE_CHECKING:
    from scalelint.model.source import SourceFile
    from scalelint.model.function import FunctionModel

_WRAPPERS = frozenset({"list", "tuple", "sorted", "reversed"})
#: attribute chains followed per element (``o.customer.address.city``)
_DEPTH = 3
_MAX_CHAINS = 40
_MAX_RESOLVE = 4


@dataclass
class Source:
    """What a loop iterates: instances of one model, with eager-loaded paths."""

    model: str  # as spelled
    qual: str
    orm: str  # django | sqlalchemy
    eager: set[str] = field(default_factory=set)
    eager_all: bool = False  # select_related() without arguments
    manager: str = "objects"  # the Django manager the query starts from
    #: relations followed from ``model`` to what is iterated (``c.orders.all()``
    #: over the element ``c`` of a loop over customers: ("orders",))
    via: tuple[str, ...] = ()
    #: columns or relations the query holds equal to one value (``Order.shop_id == shop.id``,
    #: ``filter_by(shop=shop)``): every row shares that parent
    pinned: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class _Link:
    name: str
    call: cst.Call | None
    node: cst.BaseExpression  # the Attribute (or the Call of a bare name)


def _links(expr: cst.BaseExpression) -> tuple[cst.BaseExpression | None, list[_Link]]:
    """``a.b(x).c`` -> (Name a, [b(x), c]), innermost first; slices are skipped."""
    links: list[_Link] = []
    node: cst.BaseExpression | None = expr
    while node is not None:
        if isinstance(node, cst.Call):
            func = node.func
            if isinstance(func, cst.Attribute):
                links.append(_Link(func.attr.value, node, func))
                node = func.value
            elif isinstance(func, cst.Name):
                links.append(_Link(func.value, node, node))
                node = None
            else:
                break
        elif isinstance(node, cst.Attribute):
            links.append(_Link(node.attr.value, None, node))
            node = node.value
        elif isinstance(node, cst.Subscript) and all(isinstance(s.slice, cst.Slice) for s in node.slice):
            node = node.value
        else:
            break
    links.reverse()
    return node, links


def _positional(call: cst.Call) -> list[cst.BaseExpression] | None:
    """Positional arguments, or None when some are unpacked."""
    if any(a.star for a in call.args):
        return None
    return [a.value for a in call.args if a.keyword is None]


class _Sources:
    """Recognises query results in one function."""

    def __init__(self, fn: "FunctionModel") -> None:
        self.fn = fn
        self.module = fn.module
        #: model instances by local name: the elements of the enclosing loops
        #: (set per loop by loop_records) and parameters annotated with a model
        self.instances: dict[str, Source] = {}

    @cached_property
    def _values(self) -> dict[str, list[cst.BaseExpression]]:
        return local_values(self.fn)

    def of(self, expr: cst.BaseExpression, depth: int = 0) -> Source | None:
        if depth > _MAX_RESOLVE:
            return None
        if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Name) and expr.func.value in _WRAPPERS:
            args = _positional(expr)
            return self.of(args[0], depth + 1) if args and not self.module.imports.imported(expr.func.value) else None
        if isinstance(expr, cst.Name):
            return self._named(expr.value, depth)
        base, links = _links(expr)
        if isinstance(base, cst.Name):
            owner = self.instances.get(base.value)
            if owner is not None:
                return _related(owner, links, self)
            owner = self._annotated(base.value)
            if owner is not None:  # what the caller prefetched is unknown: only a new query's rows
                return _related(owner, links, self, new_query_only=True)
        return self._django(links) or self._alchemy(base, links, depth) or self._django(links, custom=True)

    def _annotated(self, name: str) -> Source | None:
        """A parameter annotated with a model class of the project, never rebound."""
        if name in self._values:
            return None
        params = self.fn.node.params
        param = next((p for p in [*params.posonly_params, *params.params, *params.kwonly_params] if p.name.value == name), None)
        if param is None or param.annotation is None:
            return None
        note = param.annotation.annotation
        text = string_value(note)  # a forward reference: "Customer"
        if text is not None:
            plain = all(part.isidentifier() for part in text.split("."))
            return Source(text.rsplit(".", 1)[-1], qualify_spelled(self.module, text), "") if plain and is_class_name(text) else None
        spelled = dotted(note)
        if spelled is None or not is_class_name(spelled) or not self.module.project_class(note):
            return None
        return Source(spelled.rsplit(".", 1)[-1], qualify(self.module, note), "")

    def _named(self, name: str, depth: int) -> Source | None:
        """A local name bound only to query results of one model (``qs = qs.filter(...)`` allowed)."""
        values = self._values.get(name)
        if not values:
            return None
        found: Source | None = None
        extensions: list[list[_Link]] = []
        for value in values:
            base, links = _links(value)
            if isinstance(base, cst.Name) and base.value == name and links:
                extensions.append(links)
                continue
            source = self.of(value, depth + 1)
            if source is None or (found is not None and (source.qual, source.orm) != (found.qual, found.orm)):
                return None
            if found is None:
                found = source
            else:
                found.eager |= source.eager
                found.eager_all |= source.eager_all
        if found is None:
            return None
        for links in extensions:
            if not self.extend(found, links):
                return None
        return found if found.orm != "django" or self._prefetched_objects(name, found) else None

    def _prefetched_objects(self, name: str, source: Source) -> bool:
        """``prefetch_related_objects(name, "rel")`` in the function adds its lookups;
        False when they cannot be read."""
        for _, call in self.fn.calls():
            if self.module.qualified(call.func) not in catalog.DJANGO_PREFETCH_FUNCTIONS:
                continue
            args = _positional(call)
            if args is None or (args and isinstance(args[0], cst.Name) and args[0].value == name and not self._lookups(source, args[1:])):
                return False
        return True

    def extend(self, source: Source, links: list[_Link]) -> bool:
        """Follow a queryset (or SQLAlchemy statement) chain from ``source``, adding
        the paths it loads eagerly; False when a link is not one it can follow."""
        allowed = catalog.DJANGO_INSTANCE_CHAIN if source.orm == "django" else catalog.SA_INSTANCE_CHAIN
        for link in links:
            if link.call is None or link.name not in allowed:
                return False
            ok = self._django_eager(source, link) if source.orm == "django" else self._sa_options(source, link)
            if not ok:
                return False
        return True

    # -- Django ----------------------------------------------------------------------
    def _django(self, links: list[_Link], *, custom: bool = False) -> Source | None:
        """``Model.objects.filter(...)``; with ``custom``, a queryset chain on another
        attribute of a model class (``Order.published.all()``, tried after SQLAlchemy's
        ``Model.query``): whether that attribute is one of the model's managers is
        known in the project phase (``ModelIndex.manager_eager``)."""
        for i, link in enumerate(links):
            if link.call is not None:
                return None
            owner = link.node.value  # type: ignore[attr-defined]
            rest = links[i + 1 :]
            if custom:  # an attribute of a model class followed by a call
                candidate = link.name not in catalog.DJANGO_MANAGERS and bool(rest) and rest[0].call is not None
                if not (candidate and is_class_name(dotted(owner))):
                    continue
            elif link.name not in catalog.DJANGO_MANAGERS:
                continue
            if not is_class_name(dotted(owner)) or not self.module.project_class(owner) or not rest:
                return None
            source = Source(dotted(owner).rsplit(".", 1)[-1], qualify(self.module, owner), "django", manager=link.name)  # type: ignore[union-attr]
            return source if self.extend(source, rest) else None
        return None

    def _django_eager(self, source: Source, link: _Link) -> bool:
        """Record ``select_related``/``prefetch_related`` paths; False when unreadable."""
        if link.name not in catalog.DJANGO_EAGER_METHODS:
            return True
        args = _positional(link.call)  # type: ignore[arg-type]
        if args is None or any(a.keyword is not None for a in link.call.args):  # type: ignore[union-attr]
            return False
        if not args and link.name == "select_related":
            source.eager_all = True
        return self._lookups(source, args)

    def _lookups(self, source: Source, args: list[cst.BaseExpression]) -> bool:
        """Add ``"rel__sub"`` / ``Prefetch("rel")`` lookups; False when one is not literal."""
        for arg in args:
            text = string_value(arg)
            if text is None and isinstance(arg, cst.Call) and self._prefetch_object(arg.func):
                first = _positional(arg)
                lookup = next((a.value for a in arg.args if a.keyword is not None and a.keyword.value == "lookup"), None)
                text = string_value(first[0]) if first else (string_value(lookup) if lookup is not None else None)
            if not text:
                return False
            source.eager.add(text)
        return True

    def _prefetch_object(self, func: cst.BaseExpression) -> bool:
        qn = self.module.qualified(func)
        return qn in catalog.DJANGO_PREFETCH_OBJECTS or (qn is None and dotted(func) == "Prefetch")

    # -- SQLAlchemy ------------------------------------------------------------------
    def _alchemy(self, base: cst.BaseExpression | None, links: list[_Link], depth: int) -> Source | None:
        for i, link in enumerate(links):
            owner = link.node.value if isinstance(link.node, cst.Attribute) else None
            if link.name == "query" and link.call is None and owner is not None:
                if not is_class_name(dotted(owner)) or not self.module.project_class(owner):
                    return None
                source = Source(dotted(owner).rsplit(".", 1)[-1], qualify(self.module, owner), "sqlalchemy")  # type: ignore[union-attr]
            elif link.call is not None and owner is not None and self._session(owner):
                source = self._session_result(link, links[i + 1 :], depth)
                if source is None:
                    return None
                if link.name == "execute":
                    i += 1  # the .scalars() that follows
            else:
                if link.call is not None:
                    return None
                continue
            return source if self.extend(source, links[i + 1 :]) else None
        return None

    def _session(self, expr: cst.BaseExpression) -> bool:
        handle = work_of(self.fn).handle_of(expr)
        if handle is not None:
            return handle.kind == "session"
        spelled = (dotted(expr) or "").rsplit(".", 1)[-1].lower()
        return "session" in spelled

    def _session_result(self, link: _Link, rest: list[_Link], depth: int) -> Source | None:
        """``session.query(M)``, ``session.scalars(stmt)``, ``session.execute(stmt).scalars()``."""
        args = _positional(link.call)  # type: ignore[arg-type]
        if not args or len(args) != 1:
            return None
        if link.name == "query":
            arg = args[0]
            if not is_class_name(dotted(arg)) or not self.module.project_class(arg):
                return None
            return Source(dotted(arg).rsplit(".", 1)[-1], qualify(self.module, arg), "sqlalchemy")  # type: ignore[union-attr]
        if link.name == "scalars" or (link.name == "execute" and rest and rest[0].name == "scalars" and rest[0].call is not None):
            return self._statement(args[0], depth + 1)
        return None

    def _statement(self, expr: cst.BaseExpression, depth: int) -> Source | None:
        """``select(M).where(...).options(...)``, directly or through a local name."""
        if depth > _MAX_RESOLVE:
            return None
        if isinstance(expr, cst.Name):
            values = self._values.get(expr.value)
            if not values or len(values) != 1:
                return None
            return self._statement(values[0], depth + 1)
        _, links = _links(expr)
        if not links or links[0].name != "select" or links[0].call is None:
            return None
        call = links[0].call
        owner = call.func.value if isinstance(call.func, cst.Attribute) else None
        if self.module.qualified(call.func) not in catalog.SA_SELECTS and not (
            isinstance(owner, cst.Name) and owner.value in catalog.CONVENTIONAL_SESSION_OWNERS
        ):
            return None
        args = _positional(call)
        if not args or len(args) != 1 or not is_class_name(dotted(args[0])) or not self.module.project_class(args[0]):
            return None
        arg = args[0]
        source = Source(dotted(arg).rsplit(".", 1)[-1], qualify(self.module, arg), "sqlalchemy")  # type: ignore[union-attr]
        return source if self.extend(source, links[1:]) else None

    def _sa_options(self, source: Source, link: _Link) -> bool:
        if link.name in _SA_FILTERS:
            source.pinned |= self._pinned(source, link.call)  # type: ignore[arg-type]
            return True
        if link.name != "options":
            return True
        args = _positional(link.call)  # type: ignore[arg-type]
        if args is None:
            return False
        for arg in args:
            paths = self._loader_paths(arg, "")
            if paths is None:
                return False
            source.eager.update(paths)
        return True

    def _pinned(self, source: Source, call: cst.Call) -> set[str]:
        """What a filter holds equal to one value on the rows' own model:
        ``Order.shop_id == x`` and ``filter_by(shop=x)``, also through a local list of
        criteria unpacked into the call (``filter(*criteria)``)."""
        out: set[str] = set()
        for arg in call.args:
            if arg.keyword is not None:
                out.add(arg.keyword.value)
            elif arg.star == "*" and isinstance(arg.value, cst.Name):
                for value in self._values.get(arg.value.value, ()):
                    for element in value.elements if isinstance(value, (cst.List, cst.Tuple)) else ():
                        out |= _equated_column(element.value, source.model)
            elif not arg.star:
                out |= _equated_column(arg.value, source.model)
        return out

    def _loader_paths(self, expr: cst.BaseExpression, prefix: str) -> list[str] | None:
        """Relation paths a loader option loads eagerly (``joinedload(A.b).selectinload(B.c)``
        -> ``b``, ``b__c``); None when the option is not understood."""
        _, links = _links(expr)
        if not links or links[0].call is None:
            return None
        first = self.module.qualified(links[0].call.func)
        if first not in catalog.SA_EAGER_OPTIONS and first != "sqlalchemy.orm.lazyload":
            return None
        out: list[str] = []
        path = prefix
        for link in links:
            if link.call is None:
                return None
            args = _positional(link.call)
            if args is None:
                return None
            if link.name == "options":
                for arg in args:
                    inner = self._loader_paths(arg, path)
                    if inner is None:
                        return None
                    out.extend(inner)
                continue
            if link.name not in catalog.SA_EAGER_OPTION_NAMES and link.name != "lazyload":
                return None
            for arg in args:
                step = _loader_step(arg)
                if step is None:
                    return None
                path = f"{path}__{step}" if path else step
            if link.name != "lazyload":
                out.append(path)
        return out


_SA_FILTERS = frozenset({"filter", "filter_by", "where"})


def _equated_column(expr: cst.BaseExpression, model: str) -> set[str]:
    """``{"shop_id"}`` for ``Order.shop_id == value`` on the model ``Order``."""
    if not isinstance(expr, cst.Comparison) or len(expr.comparisons) != 1:
        return set()
    left = expr.left
    if not isinstance(expr.comparisons[0].operator, cst.Equal) or not isinstance(left, cst.Attribute):
        return set()
    return {left.attr.value} if (dotted(left.value) or "").rsplit(".", 1)[-1] == model else set()


def _loader_step(arg: cst.BaseExpression) -> str | None:
    """``Order.customer`` -> customer; ``"customer.address"`` -> customer__address."""
    text = string_value(arg)
    if text is not None:
        return None if "*" in text or not text else text.replace(".", "__")
    if isinstance(arg, cst.Attribute) and is_class_name(dotted(arg.value)):
        return arg.attr.value
    return None


# -- loops and the element's attribute chains -------------------------------------------
def loop_records(fn: "FunctionModel", ctx: "SourceFile", comprehensions: list[cst.CSTNode]) -> list[dict[str, Any]]:
    """Records for the function's ``for`` loops and comprehensions (as found by
    the loop scanner) over recognised query results."""
    sources = _Sources(fn)
    out: list[dict[str, Any]] = []
    elements: dict[int, tuple[str, Source]] = {}  # loop node -> its element variable and rows
    for stmt in fn.stmts:
        node = stmt.node
        if isinstance(node, cst.For) and node.asynchronous is None:
            sources.instances = _enclosing(elements, [n for kind, n in stmt.context if kind == "loop"], sources)
            record, element = _record(sources, ctx, node, node.iter, node.target, [node.body])
            if record is not None:
                out.append(record)
            if element is not None:
                elements[id(node)] = element
    inside = _loops_holding(comprehensions, [s.node for s in fn.stmts if id(s.node) in elements])
    for comp_node in comprehensions:
        comp = comp_node.for_in  # type: ignore[attr-defined]
        if comp.asynchronous is not None:
            continue
        body = [comp_node.key, comp_node.value] if isinstance(comp_node, cst.DictComp) else [comp_node.elt]  # type: ignore[attr-defined]
        body += [c.test for c in comp.ifs]
        if comp.inner_for_in is not None:
            body.append(comp.inner_for_in)
        sources.instances = _enclosing(elements, inside.get(id(comp_node), []), sources)
        record, _ = _record(sources, ctx, comp_node, comp.iter, comp.target, body)
        if record is not None:
            out.append(record)
    return out


def _enclosing(elements: dict[int, tuple[str, Source]], loops: list[cst.CSTNode], sources: _Sources) -> dict[str, Source]:
    """The element variables of the enclosing loops (outermost first) bound only by their loop."""
    out: dict[str, Source] = {}
    for loop in loops:
        element = elements.get(id(loop))
        if element is not None and len(sources._values.get(element[0], ())) == 1:
            out[element[0]] = element[1]
    return out


def _loops_holding(comprehensions: list[cst.CSTNode], loops: list[cst.CSTNode]) -> dict[int, list[cst.CSTNode]]:
    """For each comprehension, the given loops whose body holds it (outermost first)."""
    if not comprehensions or not loops:
        return {}
    wanted = {id(c) for c in comprehensions}
    out: dict[int, list[cst.CSTNode]] = {}
    for loop in loops:
        for sub in walk(loop.body, into_functions=False):  # type: ignore[attr-defined]
            if id(sub) in wanted:
                out.setdefault(id(sub), []).append(loop)
    return out


def _related(owner: Source, links: list[_Link], sources: _Sources, *, new_query_only: bool = False) -> Source | None:
    """The rows of a relation of a model instance: ``c.orders.all()`` (Django: a
    related manager and a queryset chain) or ``c.orders`` (SQLAlchemy: a loaded
    collection). Paths the instance's own query loaded under the relation carry
    over when the rows come from that cache (``.all()``, or the collection);
    with ``new_query_only`` (an instance whose query is not known here), only
    rows of a new query count (``c.orders.filter(...)``), never the cache's."""
    if not links or links[0].call is not None:
        return None
    relation, rest = links[0].name, links[1:]
    from_cache = all(link.name == "all" for link in rest)
    if new_query_only and from_cache:
        return None
    orm = owner.orm or ("django" if rest else "sqlalchemy")
    if (orm == "django") != bool(rest):
        return None
    source = Source(owner.model, owner.qual, orm, via=(*owner.via, relation))
    if rest and not sources.extend(source, rest):
        return None
    if from_cache:
        prefix = f"{relation}__"
        source.eager |= {path[len(prefix):] for path in owner.eager if path.startswith(prefix)}
    return source


def manager_facts(module: ModuleModel) -> list[dict[str, Any]]:
    """The module's Django manager classes (top-level classes named ``...Manager``
    or deriving from one; views define ``get_queryset`` too) with the relations
    their ``get_queryset()`` loads with every row, when every return of it says so."""
    top = {id(node) for node in module.cst.body if isinstance(node, cst.ClassDef)}
    methods = {fn.qualname: fn for fn in module.functions}
    out: list[dict[str, Any]] = []
    for info in module.classes:
        spelled_bases = [b.value for b in info.node.bases if b.keyword is None]
        if id(info.node) not in top or not any(
            name.endswith("Manager") for name in [info.name, *((dotted(b) or "") for b in spelled_bases)]
        ):
            continue
        getter = methods.get(f"{info.name}.get_queryset")
        loads = _loaded_by_get_queryset(getter) if getter is not None else None
        bases = project_bases(module, info.node)
        fact: dict[str, Any] = {"c": info.name, "q": qualify(module, info.node.name), "b": bases}
        if loads is not None and loads.eager:
            fact["e"] = sorted(loads.eager)
        if loads is not None and loads.eager_all:
            fact["all"] = True
        conditions = _filtered_by_get_queryset(getter) if getter is not None else frozenset()
        if conditions:
            fact["f"] = sorted(conditions)
        if bases or "e" in fact or "all" in fact or "f" in fact:  # something to inherit, loaded or filtered
            out.append(fact)
    return out


def _filtered_by_get_queryset(fn: "FunctionModel") -> frozenset[str]:
    """The literal filters every return of ``get_queryset()`` applies
    (``...filter(deleted_at__isnull=True)``), as ``dbops.literal_conditions`` spells them."""
    shared: frozenset[str] | None = None
    for ret in (node for _, node in fn.nodes if type(node) is cst.Return):
        if ret.value is None:
            return frozenset()
        found = frozenset(c for node in walk(ret.value) if type(node) is cst.Call and isinstance(node.func, cst.Attribute)
                          and node.func.attr.value == "filter" for c in dbops.literal_conditions(node))
        shared = found if shared is None else shared & found
    return shared or frozenset()


def _loaded_by_get_queryset(fn: "FunctionModel") -> Source | None:
    """What every ``return super().get_queryset()...`` of the method loads eagerly
    (the lookups all of them share); None when a return is anything else."""
    sources = _Sources(fn)
    shared: Source | None = None
    for ret in (node for _, node in fn.nodes if type(node) is cst.Return):
        if ret.value is None:
            return None
        _, links = _links(ret.value)
        start = next((i for i, link in enumerate(links) if link.name == "get_queryset" and link.call is not None), None)
        found = Source("", "", "django")
        if start is None or not sources.extend(found, links[start + 1 :]):
            return None
        if shared is None:
            shared = found
        else:
            shared.eager &= found.eager
            shared.eager_all &= found.eager_all
    return shared


def _element(target: cst.BaseExpression, iterable: cst.BaseExpression) -> tuple[str, cst.BaseExpression] | None:
    """The element variable and the query result iterated (``for i, u in enumerate(qs)``)."""
    if isinstance(target, cst.Name):
        return target.value, iterable
    if (
        isinstance(target, cst.Tuple)
        and len(target.elements) == 2
        and isinstance(target.elements[1].value, cst.Name)
        and isinstance(iterable, cst.Call)
        and dotted(iterable.func) == "enumerate"
        and iterable.args
        and iterable.args[0].keyword is None
    ):
        return target.elements[1].value.value, iterable.args[0].value  # type: ignore[union-attr]
    return None


def _record(
    sources: _Sources, ctx: "SourceFile", loop: cst.CSTNode, iterable: cst.BaseExpression,
    target: cst.BaseExpression, body: list[cst.CSTNode],
) -> tuple[dict[str, Any] | None, tuple[str, Source] | None]:
    """The loop's record (when its element's attributes are read), and its element
    variable with the rows it iterates (for loops nested in it)."""
    element = _element(target, iterable)
    if element is None:
        return None, None
    var, iterated = element
    if not _reads_attributes(var, body):
        return None, None
    source = sources.of(iterated)
    if source is None:
        return None, None
    if reports_error_each_round(loop):
        return None, (var, source)  # the error path of a failing form
    chains = _chains(var, body)
    if not chains:
        return None, (var, source)
    spelled = render_chain(iterated)
    line, spans = _locations(ctx, loop, iterable, var, chains, sources.fn)
    record: dict[str, Any] = {
        "m": source.model, "mq": source.qual, "orm": source.orm, "var": var, "fn": sources.fn.qualname,
        "it": f"`{spelled}`" if len(spelled) < 60 and "…" not in spelled else "its items",
        "line": line,
        "acc": [[names, called, steps] for (names, called, _), steps in zip(chains, spans)],
    }
    if source.eager:
        record["eager"] = sorted(source.eager)
    if source.eager_all:
        record["all"] = True
    if source.manager != "objects":
        record["mgr"] = source.manager
    if source.via:
        record["via"] = list(source.via)
    else:
        query = built_query(sources, iterated, source.orm)
        if query is not None:
            record["q"] = {"at": ctx.span(query.receiver, _statement_of(sources.fn, query.receiver))[1], "model": query.model}
    if source.pinned:
        record["pin"] = sorted(source.pinned)
    if not loop_evidence(sources.fn, loop, iterable, sources._values).strong:
        record["low"] = True  # rows of one parent, a relation of one object, I/O each round
    elif helpers := round_helpers(sources.fn, loop):
        record["helpers"] = helpers  # a helper's network I/O is known in the project phase
    if source.orm == "sqlalchemy" and (grouped := _grouping_keys(var, body)):
        record["grp"] = sorted(grouped)
    return record, (var, source)


@dataclass(frozen=True)
class BuiltQuery:
    """A query built in the function itself: where a loader call can be appended."""

    receiver: cst.BaseExpression  # the query expression the call goes after
    model: str  # the model as spelled in it (SQLAlchemy loaders name ``Model.rel``)


#: calls that end a query (what follows them is no longer a query)
_DJANGO_ENDS = frozenset({"iterator"})
_SA_ENDS = frozenset({"all", "unique", "yield_per"})


def built_query(sources: _Sources, expr: cst.BaseExpression, orm: str, depth: int = 0) -> BuiltQuery | None:
    """The query a loop iterates when this function builds it (itself, or a local
    name bound once to it); SQLAlchemy: the statement a session runs."""
    if depth > _MAX_RESOLVE:
        return None
    if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Name) and expr.func.value in _WRAPPERS:
        args = _positional(expr)
        return built_query(sources, args[0], orm, depth + 1) if args and len(args) == 1 else None
    if isinstance(expr, cst.Name):
        values = sources._values.get(expr.value)
        return built_query(sources, values[0], orm, depth + 1) if values and len(values) == 1 else None
    base, links = _links(expr)
    if not links:
        return None
    if orm == "django":
        return _django_query(base, links, expr)
    return _alchemy_query(sources, links, expr, depth)


def _django_query(base: cst.BaseExpression | None, links: list[_Link], expr: cst.BaseExpression) -> BuiltQuery | None:
    if not isinstance(base, cst.Name) or links[-1].call is None:
        return None
    receiver = _before_end(links, expr, _DJANGO_ENDS)
    return BuiltQuery(receiver, dotted(base) or "") if receiver is not None else None


def _alchemy_query(sources: _Sources, links: list[_Link], expr: cst.BaseExpression, depth: int) -> BuiltQuery | None:
    for index, link in enumerate(links):
        owner = link.node.value if isinstance(link.node, cst.Attribute) else None
        if link.call is None or owner is None:
            continue
        args = _positional(link.call)
        if link.name in ("scalars", "execute") and args and len(args) == 1 and sources._session(owner):
            return _statement_query(sources, args[0], depth + 1)
        if link.name == "query" and args and len(args) == 1 and sources._session(owner):
            receiver = _before_end(links, expr, _SA_ENDS)
            return BuiltQuery(receiver, dotted(args[0]) or "") if receiver is not None else None
        return None
    if len(links) > 1 and links[0].name == "query" and links[0].call is None:  # ``Model.query.filter(...)``
        receiver = _before_end(links, expr, _SA_ENDS)
        owner = links[0].node.value  # type: ignore[attr-defined]
        return BuiltQuery(receiver, dotted(owner) or "") if receiver is not None else None
    return None


def _statement_query(sources: _Sources, expr: cst.BaseExpression, depth: int) -> BuiltQuery | None:
    """``select(Model)...`` run by a session, itself or through a local name bound once."""
    if depth > _MAX_RESOLVE:
        return None
    if isinstance(expr, cst.Name):
        values = sources._values.get(expr.value)
        return _statement_query(sources, values[0], depth + 1) if values and len(values) == 1 else None
    _, links = _links(expr)
    if not links or links[0].name != "select" or links[0].call is None:
        return None
    args = _positional(links[0].call)
    return BuiltQuery(expr, dotted(args[0]) or "") if args and len(args) == 1 else None


def _before_end(links: list[_Link], expr: cst.BaseExpression, ends: frozenset[str]) -> cst.BaseExpression | None:
    """The query expression without a final call that ends it (``.all()``, ``.iterator()``)."""
    last = links[-1]
    if last.name not in ends:
        return expr
    if last.call is None or not isinstance(last.call.func, cst.Attribute) or last.call is not expr:
        return None
    return last.call.func.value


_Chain = tuple[list[str], bool, list[cst.Attribute]]


def _locations(
    ctx: "SourceFile", loop: cst.CSTNode, iterable: cst.BaseExpression, var: str, chains: list[_Chain],
    fn: "FunctionModel",
) -> tuple[int, list[list[list[int]]]]:
    """The loop's line and the span of each chain step: found in the source text
    when the loop can be placed there unambiguously (sparing the whole-file
    position pass), else within the statement that holds the loop (its
    positions alone), else from the whole file's positions."""
    if "positions" in ctx.__dict__:
        return ctx.line_of(loop), [[list(ctx.location(n)) for n in nodes] for _, _, nodes in chains]
    found = _by_text(ctx, loop, iterable, var, chains)
    if found is not None:
        return found
    within = loop if isinstance(loop, cst.For) else _statement_of(fn, loop)
    return ctx.line_of(loop, within), [[list(ctx.location(n, within=within)) for n in nodes] for _, _, nodes in chains]


def _statement_of(fn: "FunctionModel", node: cst.CSTNode) -> cst.CSTNode | None:
    """The statement of ``fn`` that evaluates ``node`` (None: not one of its own)."""
    owners = fn.derived("statement_by_node", lambda: {id(sub): stmt.node for stmt, sub in fn.nodes})
    return owners.get(id(node))


def _by_text(
    ctx: "SourceFile", loop: cst.CSTNode, iterable: cst.BaseExpression, var: str, chains: list[_Chain],
) -> tuple[int, list[list[list[int]]]] | None:
    text = ctx.text
    region = _loop_region(ctx, loop, iterable)
    if region is None:
        return None
    start, end, line_start = region
    spans: list[list[list[int]]] = []
    for names, called, _ in chains:
        steps = "".join(rf"\s*\.\s*(?P<s{k}>{re.escape(n)})" for k, n in enumerate(names))
        after = r"(?=\s*\()" if called else (r"(?!\w)(?!\s*[.(])" if len(names) < _DEPTH else r"(?!\w)")
        match = re.compile(rf"(?<![\w.]){re.escape(var)}{steps}{after}").search(text, start, end)
        if match is None:
            return None
        begin = _line_col(text, match.start())
        spans.append([[*begin, *_line_col(text, match.end(f"s{k}"))] for k in range(len(names))])
    return _line_col(text, line_start)[0], spans


def _loop_region(ctx: "SourceFile", loop: cst.CSTNode, iterable: cst.BaseExpression) -> tuple[int, int, int] | None:
    """(start, end, header offset) of the text where the loop body reads the element:
    a comprehension's own text, or the lines indented under a ``for`` header."""
    text = ctx.text
    if not isinstance(loop, cst.For):
        code = ctx.module.code_for_node(loop)
        if isinstance(loop, cst.GeneratorExp) and code not in text:
            code = code[1:-1]  # the parentheses of the call it is the argument of
        start = _unique(text, code)
        return None if start is None else (start, start + len(code), start)
    code = ctx.module.code_for_node(iterable)
    at = _header_offset(ctx, loop, code)
    if at is None:
        return None
    header = text.rfind("\n", 0, at) + 1
    first = text[header:at]
    indent = len(first) - len(first.lstrip())
    position = text.find("\n", at + len(code))
    while position != -1:
        following = text.find("\n", position + 1)
        line = text[position + 1 : following if following != -1 else len(text)]
        stripped = line.lstrip()
        if stripped and not stripped.startswith("#") and len(line) - len(stripped) <= indent:
            return at + len(code), position, header
        position = following
    return at + len(code), len(text), header


def _header_offset(ctx: "SourceFile", loop: cst.For, code: str) -> int | None:
    """Where this loop's iterable is written: the k-th ``for ... in <code>`` header of
    the file, for the k-th ``for`` statement (in source order) iterating that code."""
    text = ctx.text
    headers = []
    at = text.find(code)
    while at != -1:
        if text[text.rfind("\n", 0, at) + 1 : at].lstrip().startswith(("for ", "async for ")):
            headers.append(at)
        at = text.find(code, at + 1)
    same = _loops_by_iterable(ctx.model).get(code, [])
    if len(headers) != len(same):
        return None
    return next((offset for offset, node in zip(headers, same) if node is loop), None)


def _loops_by_iterable(model: ModuleModel) -> dict[str, list[cst.For]]:
    """The module's ``for`` statements by the code of their iterable, in source order."""
    def build() -> dict[str, list[cst.For]]:
        found: dict[str, list[cst.For]] = {}
        for loop in _for_statements(model.cst.body):
            found.setdefault(model.cst.code_for_node(loop.iter), []).append(loop)
        return found

    return model.derived("loops-by-iterable", build)


def _for_statements(body: Sequence[cst.CSTNode]) -> Iterator[cst.For]:
    for stmt in body:
        if isinstance(stmt, cst.For):
            yield stmt
        for name in ("body", "orelse", "finalbody", "handlers", "cases"):
            part = getattr(stmt, name, None)
            if isinstance(part, cst.IndentedBlock):
                yield from _for_statements(part.body)
            elif isinstance(part, (cst.If, cst.Else, cst.Finally)):
                yield from _for_statements([part])
            elif isinstance(part, (tuple, list)):
                yield from _for_statements(part)


def _unique(text: str, code: str) -> int | None:
    at = text.find(code)
    return at if at != -1 and text.find(code, at + 1) == -1 else None


#: the line index of the last text asked about (a loop's steps are placed in the same file)
_LAST_INDEX: list[LineIndex] = []


def _line_col(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of an offset."""
    if not _LAST_INDEX or _LAST_INDEX[0].text is not text:
        _LAST_INDEX[:] = [LineIndex(text)]
    return _LAST_INDEX[0].line_col(offset)


def _reads_attributes(var: str, body: list[cst.CSTNode]) -> bool:
    """Cheap test before resolving the iterable: ``var.<attr>`` occurs in the body."""
    return any(
        isinstance(sub, cst.Attribute) and isinstance(sub.value, cst.Name) and sub.value.value == var
        for part in body
        for sub in walk(part, into_functions=False)
    )


def _chains(var: str, body: list[cst.CSTNode]) -> list[_Chain]:
    """``var.a.b`` chains read in the body: names, whether the last is called, and
    the Attribute node of each step. Empty when the body rebinds ``var``."""
    seen: set[int] = set()
    written: set[int] = set()
    found: dict[tuple[tuple[str, ...], bool], _Chain] = {}
    for part in body:
        for sub in walk(part, into_functions=False):
            if _rebinds(sub, var):
                return []
            if isinstance(sub, (cst.AssignTarget, cst.AugAssign, cst.AnnAssign, cst.Del)):
                written.update(_written_nodes(getattr(sub, "target", sub)))
            if id(sub) in seen or id(sub) in written:
                continue
            called = isinstance(sub, cst.Call) and isinstance(sub.func, cst.Attribute)
            node = sub.func if called else sub  # type: ignore[union-attr]
            steps = _steps(node, var)
            if steps is None:
                continue
            seen.update(id(s) for s in steps)
            names = [s.attr.value for s in steps]
            if names[0] in ("id", "pk") or names[0].endswith("_id") or names[0].startswith("_"):
                continue
            names, nodes = names[:_DEPTH], steps[:_DEPTH]
            called = called and len(steps) <= _DEPTH
            key = (tuple(names), called)
            if key not in found and len(found) < _MAX_CHAINS:
                found[key] = (names, called, nodes)
    return list(found.values())


def _grouping_keys(var: str, body: list[cst.CSTNode]) -> set[str]:
    """Attributes of ``var`` the body groups rows by: ``by_parent[var.parent].append(var)``,
    ``counts[var.parent] += 1``, ``groups.setdefault(var.parent, []).append(var)``."""
    found: set[str] = set()
    for part in body:
        for sub in walk(part, into_functions=False):
            key: cst.BaseExpression | None = None
            if isinstance(sub, cst.Call) and isinstance(sub.func, cst.Attribute):
                receiver = sub.func.value
                if sub.func.attr.value == "setdefault" and sub.args:
                    key = sub.args[0].value
                elif sub.func.attr.value in catalog.CONTAINER_MUTATORS and isinstance(receiver, cst.Subscript):
                    key = _index(receiver)
            elif isinstance(sub, cst.AugAssign) and isinstance(sub.target, cst.Subscript):
                key = _index(sub.target)
            if isinstance(key, cst.Attribute) and isinstance(key.value, cst.Name) and key.value.value == var:
                found.add(key.attr.value)
    return found


def _index(subscript: cst.Subscript) -> cst.BaseExpression | None:
    """The single index of ``d[key]``."""
    if len(subscript.slice) != 1 or not isinstance(subscript.slice[0].slice, cst.Index):
        return None
    return subscript.slice[0].slice.value


def _steps(node: cst.CSTNode, var: str) -> list[cst.Attribute] | None:
    """The Attribute nodes of ``var.a.b.c``, innermost first."""
    steps: list[cst.Attribute] = []
    while isinstance(node, cst.Attribute):
        steps.append(node)
        node = node.value
    if not steps or not isinstance(node, cst.Name) or node.value != var:
        return None
    steps.reverse()
    return steps


def _rebinds(node: cst.CSTNode, var: str) -> bool:
    target: cst.CSTNode | None = None
    if isinstance(node, cst.AssignTarget):
        target = node.target
    elif isinstance(node, (cst.For, cst.CompFor)):
        target = node.target
    elif isinstance(node, cst.NamedExpr):
        target = node.target
    elif isinstance(node, cst.WithItem) and node.asname is not None:
        target = node.asname.name
    elif isinstance(node, (cst.AugAssign, cst.AnnAssign)):
        target = node.target
    return target is not None and var in _bound_names(target)


def _written_nodes(target: cst.CSTNode) -> set[int]:
    """The nodes of an assignment target that are written, not read: the target
    itself and what it unpacks into; a subscript's key and an attribute target's
    base are read (``counts[m.team] += 1`` loads ``m.team``)."""
    if isinstance(target, (cst.Tuple, cst.List)):
        return {id(target)} | {n for el in target.elements for n in _written_nodes(el.value)}
    if isinstance(target, cst.StarredElement):
        return {id(target)} | _written_nodes(target.value)
    if isinstance(target, (cst.Name, cst.Attribute, cst.Subscript)):
        return {id(target)}
    return {id(n) for n in walk(target)}  # ``del`` targets and anything else: all written


def _bound_names(target: cst.CSTNode) -> set[str]:
    """Names a target binds: ``x``, ``a, (b, *c)``; not the names a subscript or
    attribute target only reads (``counts[row.parent] += 1`` keeps ``row``)."""
    if isinstance(target, cst.Name):
        return {target.value}
    if isinstance(target, (cst.Tuple, cst.List)):
        return {name for el in target.elements for name in _bound_names(el.value)}
    if isinstance(target, cst.StarredElement):
        return _bound_names(target.value)
    return set()


# -- project phase ---------------------------------------------------------------------
@dataclass(frozen=True)
class LazyLoad:
    loc: list[int]
    message: str
    #: the attribute read, as written (``o.customer``)
    spelled: str = ""
    #: the loop's other lazy loads, named in the message (related locations)
    others: tuple["LazyLoad", ...] = ()
    #: what loads it with the rows: (method, argument), e.g. ("select_related", "customer"),
    #: ("selectinload", "Order.customer"); None when no loader call serves it
    loader: tuple[str, str] | None = None
    #: the loop record's query built in the same function ({"at": offset, "model": spelled})
    query: dict[str, Any] | None = None
    #: the loop's evidence is weak (scalelint.model.connections.loopevidence): reported at low confidence
    weak: bool = False
    #: the project functions a round of the loop calls (low confidence if one waits on the network)
    helpers: tuple[str, ...] = ()

    def loaders(self) -> list[tuple[str, str]]:
        """The loader calls of this load and the loop's others, in order, once each."""
        found = [load.loader for load in (self, *self.others) if load.loader is not None]
        return list(dict.fromkeys(found))


def lazy_loads(index: ModelIndex, records: list[dict[str, Any]]) -> Iterator[LazyLoad]:
    """Relationship loads per iteration in one file's loop records: one per loop,
    at its first lazy relation, naming the others. A later loop over the same local
    name in the same function sees the objects (and relations) the first one
    loaded, so only the first reports."""
    seen: set[tuple[str, str, str]] = set()
    for record in records:
        loads = []
        for path, load in _record_loads(index, record):
            key = (record.get("fn", ""), record["it"], path)
            if key in seen and record["it"].startswith("`") and record["it"][1:-1].isidentifier():
                continue
            seen.add(key)
            loads.append(load)
        if loads:
            yield _one_per_loop(loads)


def _one_per_loop(loads: list[LazyLoad]) -> LazyLoad:
    """The loop's first lazy load, its message naming the other relations it loads."""
    first, *others = sorted(loads, key=lambda load: (load.loc[0], load.loc[1]))
    if not others:
        return first
    named = ", ".join(f"`{load.spelled}` (line {load.loc[0]})" for load in others)
    return LazyLoad(first.loc, f"{first.message}; the loop also lazy-loads {named}", first.spelled, tuple(others),
                    first.loader, first.query, first.weak, first.helpers)


def _record_loads(index: ModelIndex, record: dict[str, Any]) -> Iterator[tuple[str, LazyLoad]]:
    cls = _iterated_class(index, record)
    if cls is None:
        return
    eager, eager_all = set(record.get("eager", ())), bool(record.get("all"))
    if record["orm"] == "django":  # a related manager is built on the default manager's class
        by_manager = index.manager_eager(cls, "_default_manager" if record.get("via") else record.get("mgr", "objects"))
        if by_manager is None:
            return  # not a manager of the model: not a queryset
        eager |= by_manager[0]
        eager_all |= by_manager[1]
    reported: set[str] = set()
    served = _identity_mapped(index, cls, record)
    for names, called, locs in record["acc"]:
        found = _first_lazy(index, cls, names, called, eager, eager_all, served)
        if found is None:
            continue
        step, path, relation = found
        if path in reported:
            continue
        reported.add(path)
        spelled = ".".join([record["var"], *names[: step + 1]])
        loader = _loader(record, cls, names, step, path, relation, index)
        yield path, LazyLoad(locs[step], _message(record, cls, names, step, path, relation, index), spelled,
                             loader=loader, query=record.get("q"), weak=bool(record.get("low")),
                             helpers=(*record.get("helpers", ()), *([] if record.get("low") else model_methods(index, cls, record))))


def model_methods(index: ModelIndex, cls: ModelClass, record: dict[str, Any]) -> list[str]:
    """The methods of the project's model classes a round calls on the loop's
    element or on an object a single relation of it reaches
    (``notification.notification_template.send()`` over ``Notification`` rows:
    ``app.models.NotificationTemplate.send``, the class its foreign key names),
    as the call graph spells them: whether one waits on the network is its question."""
    out: dict[str, None] = {}
    for names, called, _ in record["acc"]:
        if not called:
            continue
        owner: ModelClass | None = cls
        for name in names[:-1]:
            relation = index.relations(owner).get(name) if owner is not None else None
            owner = index.classes.get(relation.target) if relation is not None and relation.single else None
        if owner is not None and not names[-1].startswith("_"):
            out.setdefault(f"{owner.qual}.{names[-1]}", None)
    return list(out)


def _identity_mapped(index: ModelIndex, cls: ModelClass, record: dict[str, Any]) -> frozenset[str]:
    """Many-to-one relations of the iterated SQLAlchemy rows whose target the
    session's identity map already holds, so reading them runs no query: the
    parent every row shares (the query pins its key, ``Order.shop_id == x``,
    ``filter_by(shop=x)``), the owner of the collection iterated (``for o in
    shop.orders: o.shop``), or the parent the loop groups rows by
    (``by_shop[o.shop].append(o)``: several rows per parent, and the identity
    map loads each parent once, one query per group rather than per row)."""
    if record["orm"] != "sqlalchemy":
        return frozenset()
    pinned = set(record.get("pin", ())) | set(record.get("grp", ()))
    followed = _via(index, record)
    owner = followed[1][-1][0].qual if followed is not None and followed[1] else ""
    single = {name: r for name, r in index.relations(cls).items() if r.kind == "sa" and r.many is not True}
    to_owner = [name for name, r in single.items() if owner and r.target == owner]
    back = set(to_owner) if len(to_owner) == 1 else set()  # the one way back to the owner, not another row of its kind
    return frozenset(name for name in single if name in pinned or f"{name}_id" in pinned or name in back)


def _iterated_class(index: ModelIndex, record: dict[str, Any]) -> ModelClass | None:
    """The model of the rows a loop record iterates: its model, or the target of
    the to-many relations it follows from there."""
    followed = _via(index, record)
    if followed is None or index.orm_of(followed[0]) != record["orm"]:
        return None
    cls: ModelClass | None = followed[0]
    for _, relation, target in followed[1]:
        if relation.single:
            return None
        cls = target
    return cls


def _via(index: ModelIndex, record: dict[str, Any]) -> tuple[ModelClass, list[tuple[ModelClass, Relation, ModelClass | None]]] | None:
    """The record's model and each relation it follows from there, as (class
    left, relation, class reached); None where a name does not resolve."""
    base = index.resolve(record["m"], record.get("mq", ""), record.get("mq", ""))
    cls, steps = base, []
    for name in record.get("via", ()):
        relation = index.relations(cls).get(name) if cls is not None else None
        if cls is None or relation is None:
            return None
        target = index.classes.get(relation.target)
        steps.append((cls, relation, target))
        cls = target
    return (base, steps) if base is not None else None


def _first_lazy(
    index: ModelIndex, cls: ModelClass, names: list[str], called: bool, eager: set[str], eager_all: bool,
    served: frozenset[str] = frozenset(),
) -> tuple[int, str, Relation] | None:
    """The first step of an attribute chain that loads a relationship lazily
    (``served``: the rows' relations the identity map answers)."""
    path = ""
    forward_only = True
    previous: tuple[str, Relation] | None = None  # (class left, relation followed)
    for step, name in enumerate(names):
        relation = index.relations(cls).get(name)
        if relation is None:
            return None
        path = f"{path}__{name}" if path else name
        forward_only = forward_only and relation.kind in ("fk", "o2o")
        if _covered(path, eager) or (eager_all and forward_only) or _back_along_one_to_one(previous, relation) or (
            step == 0 and name in served
        ):
            pass
        elif not _loads(relation, names, step, called):
            return None
        else:
            return step, path, relation
        target = index.classes.get(relation.target)
        if not relation.single or target is None:
            return None
        previous = (cls.qual, relation)
        cls = target
    return None


def _back_along_one_to_one(previous: tuple[str, Relation] | None, relation: Relation) -> bool:
    """``author.bio.author``: Django caches both ends of a one-to-one it loads."""
    if previous is None:
        return False
    left, followed = previous
    return followed.kind in ("o2o", "ro2o") and relation.kind in ("o2o", "ro2o") and relation.target == left


def _covered(path: str, eager: set[str]) -> bool:
    return any(p == path or p.startswith(path + "__") for p in eager)


def _loads(relation: Relation, names: list[str], step: int, called: bool) -> bool:
    """Whether reading ``names[step]`` (and what follows) runs a query."""
    following = names[step + 1] if step + 1 < len(names) else None
    queried = following is not None and called and step + 2 == len(names)
    if relation.kind == "sa":
        if relation.lazy in catalog.SA_LAZY_ON_ACCESS:
            return True
        return relation.lazy in catalog.SA_LAZY_QUERY_OBJECT and queried and following in catalog.SA_DYNAMIC_QUERIES
    if relation.single:
        return True
    return queried and following in catalog.DJANGO_MANAGER_QUERIES


def _message(
    record: dict[str, Any], cls: ModelClass, names: list[str], step: int, path: str, relation: Relation, index: ModelIndex,
) -> str:
    var = record["var"]
    target = index.classes.get(relation.target)
    what = target.name if target is not None else "the related object"
    where = f"once per iteration of the loop over {record['it']} (line {record['line']})"
    spelled = ".".join([var, *names[: step + 1]])
    if relation.kind == "sa":
        if relation.lazy in catalog.SA_LAZY_QUERY_OBJECT:
            return (f"`{spelled}.{names[step + 1]}()` queries {what} {where} (relationship lazy=\"dynamic\"); "
                    f"fetch them for all rows in one query (`where(<fk>.in_(...))`)")
        option = f"{cls.name}.{names[0]}" if step == 0 else path.replace("__", ".")
        outer = _outer_loaders(index, record)
        if outer and step == 0:  # a collection of an outer row: only the outer query can load it
            return (f"`{spelled}` lazy-loads {what} {where}; load it with the outer query: "
                    f"`.options({outer}.selectinload({option}))`")
        return (f"`{spelled}` lazy-loads {what} {where}; load it with the query: "
                f"`.options(selectinload({option}))` or `joinedload(...)`")
    django = _django_loader(index, cls, names, step, relation)
    if django == "select_related":
        return f"`{spelled}` runs a query for {what} {where}; add `select_related(\"{path}\")` to the queryset"
    if relation.single:
        return f"`{spelled}` queries {what} {where}; add `prefetch_related(\"{path}\")` to the queryset"
    method = names[step + 1]
    if django == "prefetch_related":
        return f"`{spelled}.{method}()` queries {what} {where}; add `prefetch_related(\"{path}\")` to the queryset"
    return (f"`{spelled}.{method}()` queries {what} {where} (a prefetch would not serve `{method}()`); "
            f"fetch them for all rows in one query, or prefetch with `Prefetch(\"{path}\", queryset=...)` "
            f"and read `.all()`")


def _django_loader(index: ModelIndex, cls: ModelClass, names: list[str], step: int, relation: Relation) -> str | None:
    """The queryset method that loads a Django relation with the rows: forward
    foreign keys and one-to-ones join (``select_related``), the rest prefetch
    when the code reads what a prefetch serves; None otherwise."""
    if relation.single and relation.kind != "gfk" and all(r in ("fk", "o2o", "ro2o") for r in _kinds(index, cls, names[: step + 1])):
        return "select_related"
    if relation.single or names[step + 1] in catalog.DJANGO_PREFETCH_SERVED:
        return "prefetch_related"
    return None


def _loader(
    record: dict[str, Any], cls: ModelClass, names: list[str], step: int, path: str, relation: Relation, index: ModelIndex,
) -> tuple[str, str] | None:
    """(method, argument) of the call that loads the relation with the loop's query."""
    if relation.kind != "sa":
        method = _django_loader(index, cls, names, step, relation)
        return (method, path) if method is not None else None
    query = record.get("q")
    if step != 0 or relation.lazy not in catalog.SA_LAZY_ON_ACCESS or query is None or not query.get("model"):
        return None  # a nested path needs a chained loader; a dynamic relation is a query object
    return "selectinload", f"{query['model']}.{names[0]}"


def _outer_loaders(index: ModelIndex, record: dict[str, Any]) -> str:
    """``selectinload(Author.books)`` for the relations a record follows from the
    outer query's model ("" when it follows none)."""
    followed = _via(index, record)
    steps = followed[1] if followed is not None else []
    return ".".join(f"selectinload({left.name}.{relation.name})" for left, relation, _ in steps)


def _kinds(index: ModelIndex, cls: ModelClass | None, names: list[str]) -> list[str]:
    """Relation kinds along a chain (for choosing select_related or prefetch_related)."""
    kinds = []
    for name in names:
        relation = index.relations(cls).get(name) if cls is not None else None
        if relation is None:
            break
        kinds.append(relation.kind)
        cls = index.classes.get(relation.target)
    return kinds
