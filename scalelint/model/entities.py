"""Which entities (tables, ORM models) a function reads and writes.

Evidence only: SQL text (``scalelint.model.sql``), Django manager chains
(``Product.objects...``), SQLAlchemy sessions, statements and
``Model.query``. An entity is named by its singular snake-case form, so the
table ``products`` and the model ``Product`` meet as ``product`` while
``product_stats`` stays ``product_stat``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Callable, Iterable, Iterator

import libcst as cst

from scalelint.core.lazyre import lazy_compile
from scalelint.model import catalog
from scalelint.model.dbops import is_class_name
from scalelint.model.sql import SqlInfo, parse_sql
from scalelint.core.walk import dotted, names_in, string_value, walk

if TYPE_CHECKING:
    from scalelint.model.function import FunctionModel, Stmt
    from scalelint.model.module import ModuleModel

_CAMEL = lazy_compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_LOGGERS = frozenset({"logger", "log", "logging", "LOG", "LOGGER", "print", "warn", "warning"})


def entity_name(spelled: str) -> str:
    """``Product``/``products``/``ProductVariant`` -> ``product``/``product``/``product_variant``."""
    snake = _CAMEL.sub("_", spelled.rsplit(".", 1)[-1]).lower()
    head, _, last = snake.rpartition("_")
    return f"{head}_{_singular(last)}" if head else _singular(last)


def _singular(word: str) -> str:
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "ches", "shes", "uses")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        return word[:-1]
    return word


@dataclass(frozen=True)
class Read:
    entity: str
    single: bool  # one row (``get()``, ``first()``, ``fetchrow``), not a list or an aggregate
    #: a query of the entity itself (``Model.objects``, ``session.query(Model)``, ``FROM t``),
    #: not of some of its columns joined into something else
    plain: bool = True
    #: counts, sums, annotations: statistics over the rows rather than the rows
    aggregate: bool = False
    #: the only columns the value depends on (``values_list("user_id")`` plus the
    #: filtered ones), when the query names them; None when it reads whole rows
    columns: frozenset[str] | None = None


@dataclass(frozen=True)
class EntityWrite:
    entity: str
    model: str  # as spelled (class or table), for messages
    kind: str  # key of catalog.WRITE_KINDS
    method: str
    call: cst.Call
    stmt: "Stmt"
    verb: str = ""  # SQL verb
    insert: bool = False  # adds a new row: keys of existing rows stay valid
    #: the only columns it changes, when the call names them (``update(active=False)``)
    columns: frozenset[str] | None = None

    def describe(self) -> str:
        template = catalog.WRITE_KINDS[self.kind].describe
        verb = {"insert": "INSERT INTO", "delete": "DELETE FROM"}.get(self.verb, self.verb.upper())
        return template.format(verb=verb, table=self.model, model=self.model, method=self.method)


class EntityReader:
    """Reads and writes of entities in one module's functions."""

    def __init__(self, module: "ModuleModel") -> None:
        self.module = module
        self._functions: dict[int, _FunctionEntities] = {}

    def function_reads(self, fn: "FunctionModel") -> list[Read]:
        """What the function's own statements read, in order."""
        return self.of(fn).reads

    def of(self, fn: "FunctionModel") -> "_FunctionEntities":
        found = self._functions.get(id(fn))
        if found is None:
            found = self._functions[id(fn)] = _FunctionEntities(self, fn)
        return found

    @cached_property
    def _cls_refs(self) -> dict[int, str]:
        """id of each ``cls`` name in a classmethod of a module class -> that class."""
        out: dict[int, str] = {}
        for info in self.module.classes:
            for stmt in info.node.body.body:
                if not isinstance(stmt, cst.FunctionDef) or not _is_classmethod(stmt):
                    continue
                for sub in walk(stmt.body):
                    if isinstance(sub, cst.Name) and sub.value == "cls":
                        out[id(sub)] = info.name
        return out

    def model_spelling(self, expr: cst.BaseExpression) -> str | None:
        """How an expression spells a class: ``Product``, ``models.Product``, or
        for ``cls`` in a classmethod the class it is defined in."""
        if isinstance(expr, cst.Name) and expr.value == "cls":
            return self._cls_refs.get(id(expr))
        return dotted(expr)

    # -- single expressions -------------------------------------------------------
    def sql_of(self, call: cst.Call) -> SqlInfo | None:
        """The SQL a call runs, when its first argument reads as SQL."""
        if not call.args or call.args[0].keyword is not None:
            return None
        func = dotted(call.func) or ""
        if func.split(".")[0] in _LOGGERS or func.rsplit(".", 1)[-1] in _LOGGERS:
            return None
        arg = call.args[0].value
        if isinstance(arg, cst.Call) and arg.args and (dotted(arg.func) or "").rsplit(".", 1)[-1] == "text":
            arg = arg.args[0].value
        text = string_value(arg)
        if text is None and isinstance(arg, cst.Name):
            value = self.module.global_values.get(arg.value)
            text = string_value(value) if value is not None else None
        return parse_sql(text) if text else None

    def django_root(self, expr: cst.BaseExpression) -> tuple[str, list[cst.Call]] | None:
        """For a chain ``Model.objects.a(...).b(...)``: the model and the calls, innermost first."""
        calls: list[cst.Call] = []
        node = expr
        while True:
            kind = type(node)
            if kind is cst.Call:
                calls.append(node)
                node = node.func
            elif kind is cst.Attribute:
                if node.attr.value in catalog.DJANGO_MANAGERS:
                    model = self.model_spelling(node.value)
                    if is_class_name(model) and self.module.project_class(node.value):
                        calls.reverse()
                        return model.rsplit(".", 1)[-1], calls  # type: ignore[union-attr]
                    return None
                node = node.value
            elif kind is cst.Subscript:
                node = node.value
            else:
                return None

    def sa_query_root(self, expr: cst.BaseExpression) -> str | None:
        """``session.query(Model)...``, ``Model.query...``, ``select(Model)...``: the model."""
        node = expr
        while True:
            kind = type(node)
            if kind is cst.Call:
                func = node.func
                if node.args and isinstance(func, cst.Attribute):
                    method = func.attr.value
                    receiver = (dotted(func.value) or "").rsplit(".", 1)[-1].lower()
                    reads = (method in catalog.SA_SESSION_READS and "session" in receiver) or (
                        method == "select" and receiver == "db"  # Flask-SQLAlchemy's db.select
                    )
                    model = self._model_in(node.args[0].value) if reads else None
                    if model is None and method in _SA_EXECUTES and "session" in receiver:
                        model = self.sa_query_root(node.args[0].value)  # session.execute(select(Model)...)
                    if model is not None:
                        return model
                if node.args and self.module.qualified(func) in catalog.SA_SELECTS:
                    model = self._model_in(node.args[0].value)
                    if model is not None:
                        return model
                node = func
            elif kind is cst.Attribute:
                spelled = self.model_spelling(node.value)
                if node.attr.value == "query" and is_class_name(spelled) and self.module.project_class(node.value):
                    return (spelled or "").rsplit(".", 1)[-1]
                node = node.value
            elif kind is cst.Subscript:
                node = node.value
            else:
                return None

    def _sa_plain(self, call: cst.Call) -> bool:
        """The query selects the model itself (``session.query(User)``, ``select(User)``,
        ``User.query``), not columns of it."""
        node: cst.BaseExpression = call
        while isinstance(node, (cst.Call, cst.Attribute, cst.Subscript)):
            if isinstance(node, cst.Call) and node.args and isinstance(node.func, cst.Attribute) and node.func.attr.value in (
                "query", "select"
            ):
                return self._plain_model(node.args[0].value)
            if isinstance(node, cst.Call) and node.args and self.module.qualified(node.func) in catalog.SA_SELECTS:
                return self._plain_model(node.args[0].value)
            if isinstance(node, cst.Attribute) and node.attr.value == "query":
                return True
            node = node.func if isinstance(node, cst.Call) else node.value
        return False

    def _plain_model(self, expr: cst.BaseExpression) -> bool:
        spelled = self.model_spelling(expr)
        return is_class_name(spelled) and "." not in (spelled or ".")

    def _model_in(self, expr: cst.BaseExpression) -> str | None:
        """The model named by a query argument: ``User``, ``User.id``, ``User.name.label("n")``."""
        node = expr
        if isinstance(node, cst.Name) and node.value == "cls":
            return self.model_spelling(node)
        while dotted(node) is None:
            if isinstance(node, cst.Call):
                node = node.func
            elif isinstance(node, cst.Attribute):
                node = node.value
            else:
                return None
        parts = (dotted(node) or "").split(".")
        model = next((p for p in parts if is_class_name(p)), None)
        if model is None:
            return None
        imported = self.module.imports.names.get(parts[0])
        return model if imported is None or self.module.project_import(imported) else None

    def reads_in(self, node: cst.CSTNode) -> set[str]:
        """Entities read by the expressions under ``node`` (not nested functions)."""
        return self.reads_of(walk(node, into_functions=False))

    def reads_of(self, nodes: Iterable[cst.CSTNode]) -> set[str]:
        return {read.entity for read in self.read_list(nodes)}

    def read_list(self, nodes: Iterable[cst.CSTNode]) -> list[Read]:
        """Reads by these nodes (given outermost first, as ``walk`` yields them),
        in the order met: for one query, its main entity first."""
        found: list[Read] = []
        skip: set[int] = set()  # inner links of a chain already seen, or of a write
        for sub in nodes:
            if id(sub) in skip:
                continue
            kind = type(sub)  # exact types: isinstance() on LibCST's ABCs is a Python-level call
            if kind is cst.Attribute:
                spelled = self.model_spelling(sub.value) if sub.attr.value in _MODEL_READ_ATTRS else None
                if is_class_name(spelled) and self.module.project_class(sub.value):
                    found.append(Read(entity_name(spelled), False))  # type: ignore[arg-type]
                continue
            if kind is not cst.Call:
                continue
            sql = self.sql_of(sub)
            if sql is not None:
                single = self._method(sub) in _SINGLE_ROW
                aggregate = bool(_SQL_AGGREGATE.search(sql.text))
                found.extend(
                    Read(entity_name(t), single, True, aggregate)
                    for t in (sql.table, *sql.tables_read)
                    if sql.verb == "select" or t != sql.table
                )
                continue
            method = self._method(sub)
            root = self.django_root(sub)
            if root is not None:
                skip.update(_chain_ids(sub))
                if not (method in catalog.DJANGO_WRITE_METHODS and root[1][-1] is sub):
                    methods = {self._method(c) for c in root[1]}
                    found.append(Read(
                        entity_name(root[0]), bool(methods & _SINGLE_ROW), True, bool(methods & _ORM_AGGREGATES),
                        _django_columns(root[1]),
                    ))
                continue
            model = self.sa_query_root(sub)
            if model is not None:
                skip.update(_chain_ids(sub))
                if method not in ("update", "delete"):
                    aggregate = any(self._method(c) in _ORM_AGGREGATES for c in _chain_calls(sub))
                    found.append(Read(entity_name(model), method in _SINGLE_ROW, self._sa_plain(sub), aggregate))
                continue
            qn = self.module.qualified(sub.func)
            if qn in catalog.DJANGO_MODEL_READERS and sub.args:
                first = dotted(sub.args[0].value)
                if is_class_name(first):
                    found.append(Read(entity_name(first), qn.endswith("get_object_or_404")))  # type: ignore[arg-type]
        return found

    def dataflow(
        self, fn: "FunctionModel", before: int, value: cst.BaseExpression,
        opaque: "Callable[[cst.BaseExpression], bool] | None" = None,
    ) -> list[cst.CSTNode]:
        """The expressions a value derives from in the function, before statement
        ``before``: the value itself, what its names were bound to, and calls made
        on them (``cur.execute(...)`` before ``cur.fetchone()``), transitively.
        A bound expression ``opaque`` accepts (a remote API's response) is where
        the value comes from elsewhere: neither it nor what it was called with is followed."""
        names = set(names_in(value))
        out: list[cst.CSTNode] = [value]
        local = self.of(fn).local_names
        for earlier in reversed([s for s in fn.stmts if s.ordinal < before]):
            for name, bound in bindings(earlier.node):
                if name in names and opaque is not None and opaque(bound):
                    continue
                if name in names:
                    names.update(names_in(bound))
                    out.append(bound)
            for part in earlier.header_parts():
                if isinstance(part, (cst.FunctionDef, cst.ClassDef)):
                    continue
                for sub in walk(part, into_functions=False):
                    if isinstance(sub, cst.AugAssign) and dotted(sub.target) in names:
                        names.update(names_in(sub.value))
                        out.append(sub.value)
                    elif isinstance(sub, cst.Call) and isinstance(sub.func, cst.Attribute):
                        head = (dotted(sub.func.value) or "").split(".")[0]
                        if head in names and head in local:  # a local mutated by a call (cursor, list)
                            out.append(sub)
                            for arg in sub.args:
                                names.update(names_in(arg.value))
        return out

    @staticmethod
    def _method(call: cst.Call) -> str:
        return call.func.attr.value if isinstance(call.func, cst.Attribute) else ""



class _FunctionEntities:
    """One function's model instances and entity writes."""

    def __init__(self, reader: EntityReader, fn: "FunctionModel") -> None:
        self.reader = reader
        self.fn = fn

    @cached_property
    def instances(self) -> list[tuple[int, str, tuple[str, bool] | None]]:
        """(ordinal, local name, (model, new)) for each binding of a local name,
        None when the value is not a known model instance; ``new`` when it was
        just constructed (saving it inserts)."""
        out: list[tuple[int, str, tuple[str, bool] | None]] = []
        for param in params_of(self.fn.node):
            model = _annotation_model(param.annotation)
            if model:
                out.append((-1, param.name.value, (model, False)))
        for stmt in self.fn.stmts:
            iterated = isinstance(stmt.node, cst.For)
            for target, value in bindings(stmt.node):
                out.append((stmt.ordinal, target, self._instance_of(value, iterated)))
        return out

    def instance_model(self, name: str, before: int) -> tuple[str, bool] | None:
        """The model of the instance a local name holds before a statement, and whether it is new."""
        found = None
        for ordinal, target, instance in self.instances:
            if target == name and ordinal < before:
                found = instance
        return found

    def _instance_of(self, value: cst.BaseExpression, iterated: bool = False) -> tuple[str, bool] | None:
        if isinstance(value, cst.Await):
            value = value.expression
        if isinstance(value, cst.Subscript):  # get_or_create(...)[0]
            value = value.value
        if not isinstance(value, cst.Call):
            return None
        root = self.reader.django_root(value)
        if root is not None:
            method = EntityReader._method(value)
            if iterated or method in catalog.DJANGO_INSTANCE_METHODS or method in ("get_or_create", "update_or_create"):
                return root[0], False
            return None
        spelled = dotted(value.func)
        qn = self.reader.module.qualified(value.func)
        if qn in catalog.DJANGO_MODEL_READERS and value.args:
            first = dotted(value.args[0].value)
            return (first.rsplit(".", 1)[-1], False) if is_class_name(first) else None  # type: ignore[union-attr]
        if is_class_name(spelled) and self.reader.module.project_class(value.func):
            return spelled.rsplit(".", 1)[-1], True  # type: ignore[union-attr]
        fetched = self._fetched_by_classmethod(value)
        if fetched is not None:
            return fetched, False
        sa = self.reader.sa_query_root(value)
        if sa is not None and (iterated or EntityReader._method(value) in _SA_INSTANCE_METHODS):
            return sa, False
        return None

    def _fetched_by_classmethod(self, call: cst.Call) -> str | None:
        """``Group.get_by_or_404(id=x)``, ``User.find(...)``: a project model's own
        fetcher (a classmethod named like one) returns a row of that model."""
        func = call.func
        if not isinstance(func, cst.Attribute) or not func.attr.value.startswith(_FETCHER_PREFIXES):
            return None
        owner = dotted(func.value)
        if not is_class_name(owner) or not self.reader.module.project_class(func.value):
            return None
        return owner.rsplit(".", 1)[-1]  # type: ignore[union-attr]

    @cached_property
    def local_names(self) -> frozenset[str]:
        """Parameters and every name the function binds."""
        return frozenset(param_names(self.fn.node)) | {name for _, name, _ in self.instances}

    @cached_property
    def reads(self) -> list[Read]:
        return self.reader.read_list(node for _, node in self.fn.nodes)

    @cached_property
    def writes(self) -> list[EntityWrite]:
        out: list[EntityWrite] = []
        for stmt, call in self.fn.calls():
            write = self._write(stmt, call)
            if write is not None:
                out.append(write)
        return out

    def _write(self, stmt: "Stmt", call: cst.Call) -> EntityWrite | None:
        reader = self.reader
        sql = reader.sql_of(call)
        if sql is not None:
            if sql.is_write:
                insert = sql.verb == "insert" and not sql.upsert
                return EntityWrite(entity_name(sql.table), sql.table, "sql", "execute", call, stmt, sql.verb, insert)
            return None
        method = EntityReader._method(call)
        if not method:
            return None
        root = reader.django_root(call)
        if root is not None:
            model, calls = root
            kind = catalog.DJANGO_WRITE_METHODS.get(method)
            if kind is None or calls[-1] is not call:
                return None
            insert = method.removeprefix("a") in _DJANGO_INSERTS
            columns = _keywords(call) if kind == "qs_update" else None
            return EntityWrite(entity_name(model), model, kind, method, call, stmt, insert=insert, columns=columns)
        receiver = call.func.value  # type: ignore[attr-defined]
        if method in ("save", "asave", "delete", "adelete") and isinstance(receiver, cst.Name):
            instance = self._receiver_model(receiver.value, stmt)
            if instance is not None:
                model, new = instance
                kind = "save" if "save" in method else "instance_delete"
                columns = None
                if kind == "save" and not new:
                    columns = _update_fields(call) or self._assigned_fields(receiver.value)
                return EntityWrite(
                    entity_name(model), model, kind, method, call, stmt, insert=new and kind == "save", columns=columns
                )
            return None
        if method in ("update", "delete") and reader.sa_query_root(receiver) is not None:
            model = reader.sa_query_root(receiver)
            columns = _mapping_keys(call.args[0].value) if method == "update" and call.args else None
            return EntityWrite(entity_name(model), model, "sa_bulk", f"{model} query.{method}()", call, stmt,  # type: ignore[arg-type]
                               columns=columns)
        recv_name = (dotted(receiver) or "").rsplit(".", 1)[-1].lower()
        if "session" in recv_name and call.args:
            arg = call.args[0].value
            if method == "execute" and isinstance(arg, cst.Call):
                stmt_model = self._sa_statement_model(arg)
                if stmt_model is not None:
                    verb, model = stmt_model
                    columns = _values_columns(arg) if verb == "update" else None
                    return EntityWrite(entity_name(model), model, "sa_bulk", f"{verb}({model})", call, stmt,
                                       columns=columns)
            if method in catalog.SA_SESSION_ADDS or method == "delete":
                instance = self._arg_model(arg, stmt)
                if instance is not None:
                    model, new = instance
                    kind = "sa_delete" if method == "delete" else "sa_add"
                    return EntityWrite(entity_name(model), model, kind, method, call, stmt, insert=new and kind == "sa_add")
        return None

    def _assigned_fields(self, name: str) -> frozenset[str] | None:
        """The fields a ``save()`` of a fetched instance changes, when the function
        shows them all: the name is bound once, here, to a row read from the
        database, and is otherwise only read, given attributes (``user.last_login =
        now``) and saved; passed to a call or asked a method, it may change more."""
        bound = [i for _, target, i in self.instances if target == name]
        if len(bound) != 1 or bound[0] is None or bound[0][1] or name in param_names(self.fn.node):
            return None
        assigned: set[str] = set()
        for node in walk(self.fn.node.body):
            kind = type(node)
            if kind is cst.Call and isinstance(node.func, cst.Attribute) and isinstance(node.func.value, cst.Name) \
                    and node.func.value.value == name and node.func.attr.value not in ("save", "asave"):
                return None
            if kind is cst.Arg and isinstance(node.value, cst.Name) and node.value.value == name:
                return None
            if kind is cst.Attribute and node.attr.value == "__dict__" and isinstance(node.value, cst.Name) \
                    and node.value.value == name:
                return None  # ``user.__dict__.update(data)``: any field
            if kind in (cst.AssignTarget, cst.AugAssign, cst.AnnAssign):
                target = node.target
                if isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) and target.value.value == name:
                    assigned.add(target.attr.value)
                elif not isinstance(target, cst.Name) and any(
                        type(n) is cst.Name and n.value == name for n in walk(target)):
                    return None  # setattr through a subscript or a tuple target: not shown
        return frozenset(assigned) or None

    def _receiver_model(self, name: str, stmt: "Stmt") -> tuple[str, bool] | None:
        if name == "self" and self.fn.cls is not None:
            if self.fn.name in ("save", "delete", "asave", "adelete"):
                return None  # an override calling the base implementation
            return self.fn.cls.name, False
        return self.instance_model(name, stmt.ordinal)

    def _arg_model(self, arg: cst.BaseExpression, stmt: "Stmt") -> tuple[str, bool] | None:
        if isinstance(arg, cst.Name):
            return self.instance_model(arg.value, stmt.ordinal)
        if isinstance(arg, cst.Call):
            spelled = dotted(arg.func)
            if is_class_name(spelled) and self.reader.module.project_class(arg.func):
                return spelled.rsplit(".", 1)[-1], True  # type: ignore[union-attr]
        return None

    def _sa_statement_model(self, expr: cst.Call) -> tuple[str, str] | None:
        node: cst.BaseExpression = expr
        while isinstance(node, cst.Call):
            qn = self.reader.module.qualified(node.func)
            if qn in catalog.SA_WRITE_STATEMENTS and node.args:
                first = dotted(node.args[0].value)
                if is_class_name(first):
                    return qn.rsplit(".", 1)[-1], first.rsplit(".", 1)[-1]  # type: ignore[union-attr]
                return None
            func = node.func
            node = func.value if isinstance(func, cst.Attribute) else func
        return None

#: attributes of a model class that read it (``Product.query``, ``Product.__table__``)
_MODEL_READ_ATTRS = catalog.DJANGO_MANAGERS | {"query", "__table__"}


def _chain_ids(call: cst.Call) -> Iterator[int]:
    """Ids of the calls and attributes along a method chain's receiver."""
    node: cst.BaseExpression = call
    while isinstance(node, (cst.Call, cst.Attribute, cst.Subscript)):
        yield id(node)
        node = node.func if isinstance(node, cst.Call) else node.value


def known_columns(reads: Iterable[Read]) -> dict[str, list[str]]:
    """Entity -> the columns read of it, for entities every read of which names its columns."""
    found: dict[str, set[str]] = {}
    unknown: set[str] = set()
    for read in reads:
        if read.columns is None:
            unknown.add(read.entity)
        else:
            found.setdefault(read.entity, set()).update(read.columns)
    return {entity: sorted(cols) for entity, cols in found.items() if entity not in unknown}


#: query methods that turn rows into statistics
_ORM_AGGREGATES = frozenset({"annotate", "aggregate", "count", "group_by", "having", "acount", "aaggregate"})
_SQL_AGGREGATE = lazy_compile(r"\bGROUP\s+BY\b|\b(?:COUNT|SUM|AVG|MIN|MAX)\s*\(", re.I)


#: QuerySet methods whose arguments name the columns a query reads
_COLUMN_METHODS = frozenset({"values", "values_list", "only"})
_FILTER_METHODS = frozenset({"filter", "exclude", "get", "order_by", "aget"})


def _django_columns(calls: list[cst.Call]) -> frozenset[str] | None:
    """Columns a QuerySet chain depends on, when it selects named columns only."""
    selected: set[str] = set()
    named = False
    for call in calls:
        method = call.func.attr.value if isinstance(call.func, cst.Attribute) else ""
        if method in _COLUMN_METHODS:
            names = [string_value(a.value) for a in call.args if a.keyword is None]
            if not names or None in names:
                return None  # values() without arguments: whole rows
            named = True
            selected.update(n.split("__")[0].lstrip("-") for n in names if n)
        elif method in _FILTER_METHODS:
            for arg in call.args:
                if arg.keyword is not None:
                    selected.add(arg.keyword.value.split("__")[0])
                elif string_value(arg.value):
                    selected.add((string_value(arg.value) or "").split("__")[0].lstrip("-"))
                else:
                    return None  # Q objects and expressions: columns unknown
    return frozenset(selected) if named else None


def _keywords(call: cst.Call) -> frozenset[str] | None:
    """``update(active=False, name=x)`` -> {active, name}; None with ``**kwargs``."""
    if any(a.keyword is None for a in call.args):
        return None
    return frozenset(a.keyword.value for a in call.args if a.keyword is not None) or None


def _mapping_keys(expr: cst.BaseExpression) -> frozenset[str] | None:
    """``{"last_login": now}`` / ``{User.last_login: now}`` -> {last_login}; None
    unless every key is a string or a column attribute."""
    if not isinstance(expr, cst.Dict) or not expr.elements:
        return None
    names = []
    for el in expr.elements:
        if not isinstance(el, cst.DictElement):
            return None
        key = string_value(el.key)
        if key is None and isinstance(el.key, cst.Attribute):
            key = el.key.attr.value
        if key is None:
            return None
        names.append(key)
    return frozenset(names)


def _values_columns(statement: cst.Call) -> frozenset[str] | None:
    """The columns an ``update(Model).where(...).values(...)`` statement sets: the
    keywords or mapping keys of its one ``values()`` call."""
    found: frozenset[str] | None = None
    for call in _chain_calls(statement):
        if isinstance(call.func, cst.Attribute) and call.func.attr.value == "values":
            if found is not None:
                return None
            if len(call.args) == 1 and call.args[0].keyword is None:
                found = _mapping_keys(call.args[0].value)
            else:
                found = _keywords(call)
            if found is None:
                return None
    return found


def _update_fields(call: cst.Call) -> frozenset[str] | None:
    """``save(update_fields=["name"])`` -> {name}."""
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == "update_fields" and isinstance(arg.value, (cst.List, cst.Tuple)):
            names = [string_value(el.value) for el in arg.value.elements]
            return frozenset(names) if names and None not in names else None  # type: ignore[arg-type]
    return None


def _chain_calls(call: cst.Call) -> Iterator[cst.Call]:
    node: cst.BaseExpression = call
    while isinstance(node, (cst.Call, cst.Attribute, cst.Subscript)):
        if isinstance(node, cst.Call):
            yield node
        node = node.func if isinstance(node, cst.Call) else node.value


#: Django manager methods that insert rows
_DJANGO_INSERTS = frozenset({"create", "get_or_create", "bulk_create"})
#: methods that read a single row
_SINGLE_ROW = frozenset({
    "get", "first", "last", "earliest", "latest", "aget", "afirst", "alast", "one", "one_or_none",
    "scalar_one", "scalar_one_or_none", "get_one", "first_or_404", "get_or_404", "fetchone", "fetchrow",
    "fetchval",
})
#: how a model's classmethods fetching one row are named (``get_by_id``, ``find_one``)
_FETCHER_PREFIXES = ("get", "find", "first", "one")
#: session methods running a statement given as first argument
_SA_EXECUTES = frozenset({"execute", "scalars", "scalar", "scalar_one", "scalar_one_or_none"})
_SA_INSTANCE_METHODS = frozenset({"get", "first", "one", "one_or_none", "scalar_one", "scalar", "get_one"})


def params_of(node: cst.FunctionDef) -> Iterator[cst.Param]:
    """The named parameters of a function (not ``*args``/``**kwargs``)."""
    p = node.params
    yield from p.posonly_params
    yield from p.params
    yield from p.kwonly_params


def param_names(node: cst.FunctionDef) -> set[str]:
    """Every parameter name, ``*args``/``**kwargs`` included."""
    names = {p.name.value for p in params_of(node)}
    for star in (node.params.star_arg, node.params.star_kwarg):
        if isinstance(star, cst.Param):
            names.add(star.name.value)
    return names


def _annotation_model(annotation: cst.Annotation | None) -> str | None:
    if annotation is None:
        return None
    expr = annotation.annotation
    spelled = string_value(expr) if isinstance(expr, cst.SimpleString) else dotted(expr)
    return spelled.rsplit(".", 1)[-1] if is_class_name(spelled) else None


def bindings(stmt: cst.CSTNode) -> Iterator[tuple[str, cst.BaseExpression]]:
    """(name, value) for ``x = v``, ``x, _ = v``, ``for x in v``, ``with v as x``."""
    if isinstance(stmt, cst.SimpleStatementLine):
        for small in stmt.body:
            if isinstance(small, cst.Assign):
                for target in small.targets:
                    yield from _names_bound(target.target, small.value)
            elif isinstance(small, cst.AnnAssign) and small.value is not None:
                yield from _names_bound(small.target, small.value)
    elif isinstance(stmt, cst.For):
        for name in _target_names(stmt.target):
            yield name, stmt.iter
    elif isinstance(stmt, cst.With):
        for item in stmt.items:
            if item.asname is not None:
                for name in _target_names(item.asname.name):
                    yield name, item.item


def _names_bound(target: cst.BaseExpression, value: cst.BaseExpression) -> Iterator[tuple[str, cst.BaseExpression]]:
    if isinstance(target, cst.Name):
        yield target.value, value
    elif isinstance(target, (cst.Tuple, cst.List)) and target.elements:
        first = target.elements[0].value
        if isinstance(first, cst.Name):  # obj, created = Model.objects.get_or_create(...)
            yield first.value, value


def _target_names(target: cst.BaseExpression) -> Iterator[str]:
    if isinstance(target, cst.Name):
        yield target.value
    elif isinstance(target, (cst.Tuple, cst.List)):
        for el in target.elements:
            yield from _target_names(el.value)


def _is_classmethod(node: cst.FunctionDef) -> bool:
    return any(dotted(d.decorator) == "classmethod" for d in node.decorators)
