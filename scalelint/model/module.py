"""The per-file semantic model: imports, module and class level bindings,
functions, and what an expression *is* according to the library catalog."""
from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Callable, Iterator, TypeVar

import libcst as cst

from scalelint.model import catalog
from scalelint.model.catalog import Resource
from scalelint.model.function import ClassInfo, FunctionModel
from scalelint.model.names import ImportTable
from scalelint.core.walk import dotted, forget_walks, preorder, small_statements, walk



@dataclass(frozen=True)
class Recognition:
    """Project-specific recognition knobs from config (rules.md)."""

    connection_factories: tuple[str, ...] = ()
    replica_handles: tuple[str, ...] = ()
    replica_aliases: tuple[str, ...] = ()
    primary_handles: tuple[str, ...] = ()
    cache_clients: tuple[str, ...] = ()
    critical_caches: tuple[str, ...] = ()
    evicting_caches: tuple[str, ...] = ()
    invalidation_helpers: tuple[str, ...] = ()
    event_publishers: tuple[str, ...] = ()
    io_functions: tuple[str, ...] = ()
    lock_helpers: tuple[str, ...] = ()


T = TypeVar("T")


class ModuleModel:
    """Everything rules ask about one module. Built lazily, once per file."""

    def __init__(
        self,
        module: cst.Module,
        *,
        path: str = "<string>",
        module_name: str = "",
        recognition: Recognition | None = None,
    ) -> None:
        self.cst = module
        self.path = path
        self.module_name = module_name
        self.recognition = recognition or Recognition()
        package = module_name.rpartition(".")[0] if not path.endswith("__init__.py") else module_name
        self.imports = ImportTable(package)
        self.globals: dict[str, Resource] = {}
        self.global_values: dict[str, cst.BaseExpression] = {}
        self.classes: list[ClassInfo] = []
        self._functions: list[FunctionModel] = []
        self._defs: dict[str, cst.FunctionDef] = {}
        self._defs_by_name: dict[str, list[str]] = {}  # simple name -> qualnames
        self._summary_cache: dict[str, Resource | None] = {}
        self._summary_stack: set[str] = set()
        self._derived: dict[str, Any] = {}
        self._collect()

    def derived(self, name: str, build: Callable[[], T]) -> T:
        """What the rules share about this module (its dataflow, cache model,
        call classification...), built on first use and kept with the model."""
        found = self._derived.get(name)
        if found is None:
            found = self._derived[name] = build()
        return found

    def release(self) -> None:
        """The file is done: drop what was derived from it and the references
        between this model and its functions. They form cycles, which would
        leave the whole tree to the cyclic garbage collector instead of
        freeing it now."""
        for fn in self.__dict__.get("_functions", ()):
            fn.__dict__.clear()
        self.__dict__.clear()
        forget_walks()

    # -- construction ---------------------------------------------------------
    def _collect(self) -> None:
        for small in small_statements(self.cst.body):
            self.imports.add_statement(small)
        self._scan_body(self.cst.body, None, "", FunctionModel)
        for stmt in self.cst.body:  # module-level bindings, in order
            for target, value in _simple_assignments(stmt):
                self.global_values[target] = value
                resource = self.resource_of(value)
                if resource is not None:
                    self.globals[target] = resource

    def _scan_body(self, body, cls: ClassInfo | None, prefix: str, factory) -> None:
        for stmt in body:
            for node in _defs_in(stmt):
                if isinstance(node, cst.ClassDef):
                    bases = [self.qualified_or_spelled(_generic_origin(b.value)) or "" for b in node.bases]
                    info = ClassInfo(node, node.name.value, bases)
                    self.classes.append(info)
                    self._scan_body(node.body.body, info, f"{prefix}{node.name.value}.", factory)
                else:
                    qualname = f"{prefix}{node.name.value}"
                    fn = factory(self, node, qualname, cls)
                    self._functions.append(fn)
                    self._defs.setdefault(qualname, node)
                    self._defs_by_name.setdefault(node.name.value, []).append(qualname)
                    if isinstance(node.body, cst.IndentedBlock):
                        self._scan_body(node.body.body, None, f"{qualname}.<locals>.", factory)

    def class_attributes(self, info: ClassInfo) -> dict[str, Resource]:
        """``self.x = <resource>`` anywhere in the class's methods (computed once)."""
        if info.attributes is not None:
            return info.attributes
        info.attributes = {}
        for sub in small_statements(info.node.body.body):
            if isinstance(sub, cst.Assign) and len(sub.targets) == 1:
                target = sub.targets[0].target
                if (
                    isinstance(target, cst.Attribute)
                    and isinstance(target.value, cst.Name)
                    and target.value.value == "self"
                ):
                    resource = self.resource_of(sub.value, None, info)
                    if resource is not None:
                        info.attributes[target.attr.value] = resource
        return info.attributes

    @cached_property
    def _preorder(self) -> list[cst.CSTNode]:
        return preorder(self.cst)

    @cached_property
    def _by_type(self) -> dict[type, list[cst.CSTNode]]:
        index: dict[type, list[cst.CSTNode]] = {}
        for node in self._preorder:
            found = index.get(type(node))
            if found is None:
                index[type(node)] = [node]
            else:
                found.append(node)
        return index

    def nodes_of(self, *kinds: type) -> list[cst.CSTNode]:
        """Every node of the module whose exact type is one of ``kinds``, in the
        order of a pre-order walk: one walk of the file that the rules share
        instead of a walk each."""
        if len(kinds) == 1:
            return self._by_type.get(kinds[0], [])
        return [node for node in self._preorder if type(node) in kinds]

    @property
    def functions(self) -> list["FunctionModel"]:
        """Every function, method and nested function, in source order."""
        return self._functions

    # -- names ------------------------------------------------------------------
    def qualified(self, expr: cst.BaseExpression) -> str | None:
        """The import-resolved qualified name of a Name/Attribute chain."""
        return self.imports.resolve(expr)

    def qualified_or_spelled(self, expr: cst.BaseExpression) -> str | None:
        return self.imports.resolve(expr) or dotted(expr)

    def callee(self, call: cst.Call) -> str | None:
        return self.qualified(call.func)

    # -- what a value is ----------------------------------------------------------
    def resource_of(
        self,
        expr: cst.BaseExpression | None,
        env: dict[str, Resource] | None = None,
        cls: ClassInfo | None = None,
    ) -> Resource | None:
        """What the catalog says this expression evaluates to (None: unknown)."""
        if expr is None:
            return None
        if isinstance(expr, cst.Await):
            return self.resource_of(expr.expression, env, cls)
        if isinstance(expr, cst.Name):
            if env is not None and expr.value in env:
                return env[expr.value]
            if expr.value in self.globals:
                return self.globals[expr.value]
            qn = self.qualified(expr)
            return catalog.OBJECTS.get(qn) if qn else None
        if isinstance(expr, cst.Attribute):
            if cls is not None and isinstance(expr.value, cst.Name) and expr.value.value == "self":
                found = self.class_attributes(cls).get(expr.attr.value)
                if found is not None:
                    return found
            qn = self.qualified(expr)
            return catalog.OBJECTS.get(qn) if qn else None
        if isinstance(expr, cst.Subscript):
            qn = self.qualified(expr.value)
            return catalog.MAPPINGS.get(qn) if qn else None
        if isinstance(expr, cst.Call):
            return self._call_result(expr, env, cls)
        return None

    def _call_result(self, call: cst.Call, env, cls) -> Resource | None:
        found = self._made_by(call, env, cls)
        if found is not None and found.kind in catalog.BINDABLE_KINDS and not found.borrowed:
            if self._binds_borrowed(call, env, cls):
                return found.evolve(borrowed=True)
        return found

    def _binds_borrowed(self, call: cst.Call, env, cls) -> bool:
        """``Session(bind=conn)``, ``sessionmaker(bind=op.get_bind())``,
        ``Session(bind=..., join_transaction_mode=...)``: bound to a connection that
        someone else checked out, so it checks out none of its own."""
        keywords = {arg.keyword.value: arg.value for arg in call.args if arg.keyword is not None}
        if any(k in catalog.JOINS_CONNECTION_KEYWORDS for k in keywords):
            return True
        positional = call.args[0].value if call.args and call.args[0].keyword is None and not call.args[0].star else None
        bind = keywords.get("bind", positional)
        return bind is not None and self._a_connection(bind, env, cls)

    def _a_connection(self, expr: cst.BaseExpression, env, cls) -> bool:
        """An existing connection: a recognised one, ``op.get_bind()``,
        ``session.connection()``, or a name that says so (``conn``, ``db_connection``)."""
        found = self.resource_of(expr, env, cls)
        if found is not None:
            return found.kind == "connection"
        if isinstance(expr, cst.Call):
            if self.qualified(expr.func) in catalog.BORROWED_CONNECTION_CALLS:
                return True
            return isinstance(expr.func, cst.Attribute) and expr.func.attr.value in catalog.BORROWED_CONNECTION_METHODS
        spelled = dotted(expr)
        last = spelled.rsplit(".", 1)[-1].lower() if spelled else ""
        return last in catalog.CONNECTION_NAMES or last.endswith(catalog.CONNECTION_NAME_SUFFIXES)

    def _made_by(self, call: cst.Call, env, cls) -> Resource | None:
        func = call.func
        qn = self.qualified(func)
        if qn is not None:
            found = catalog.CALL_RESULTS.get(qn)
            if found is not None:
                return found
            if qn in catalog.CLOSING_WRAPPERS and call.args:  # closing(conn): `with` closes it
                inner = self.resource_of(call.args[0].value, env, cls)
                if inner is not None and inner.kind in ("connection", "cursor"):
                    return inner.evolve(with_closes=True, with_is_transaction=False, no_context_manager=False)
                return None
            if qn in self.recognition.connection_factories:
                return catalog.IN_HOUSE
        if isinstance(func, cst.Attribute):
            receiver = self.resource_of(func.value, env, cls)
            method = func.attr.value
            if receiver is not None:
                return catalog.METHOD_RESULTS.get(
                    (receiver.kind, receiver.library, method)
                ) or catalog.METHOD_RESULTS.get((receiver.kind, "*", method))
            return self._conventional_method(func, qn)
        if isinstance(func, cst.Name):
            callee = self.resource_of(func, env, cls)
            if callee is not None and callee.kind in catalog.CALLABLE_KINDS:
                return callee.evolve(kind=catalog.CALLABLE_KINDS[callee.kind])
            name = func.value
            if name in self.recognition.connection_factories:
                return catalog.IN_HOUSE
            defined = None if self.imports.imported(name) else self._defs_by_name.get(name)
            if defined is not None:  # the module's own function decides, not the convention
                return self.function_returns(defined[0]) if len(defined) == 1 else None
            if name in catalog.CONVENTIONAL_FACTORY_NAMES and self._conventional_factory(name):
                return catalog.IN_HOUSE
        return None

    def _conventional_method(self, func: cst.Attribute, qn: str | None) -> Resource | None:
        spelled = dotted(func.value)
        if spelled is None:
            return None
        if spelled in self.recognition.connection_factories or dotted(func) in self.recognition.connection_factories:
            return catalog.IN_HOUSE
        last = spelled.rsplit(".", 1)[-1].lower()
        method = func.attr.value
        if qn is not None and not self.project_import(qn):
            return None  # a known library's attribute: only the catalog speaks for it
        if method == "connect" and last in catalog.CONVENTIONAL_DB_RECEIVERS:
            return catalog.IN_HOUSE
        if method == "getconn" and catalog.CONVENTIONAL_POOL_FRAGMENT in last:
            return catalog.IN_HOUSE_POOL_CONN
        if method in catalog.CONVENTIONAL_FACTORY_NAMES and last in catalog.CONVENTIONAL_DB_RECEIVERS:
            return catalog.IN_HOUSE
        return None

    def project_import(self, qn: str) -> bool:
        """An import that is not a known third-party library (so in-house code)."""
        head = qn.split(".")[0]
        return head not in _KNOWN_LIBRARY_ROOTS and head not in _STDLIB

    def project_class(self, expr: cst.BaseExpression) -> bool:
        """Not a class of a known library (``Order`` from our models, not ``Decimal``):
        defined here, or imported from the project's own code."""
        qn = self.qualified(expr)
        return qn is None or self.project_import(qn)

    def _conventional_factory(self, name: str) -> bool:
        """A conventionally named factory is a database one unless its import says
        otherwise: generic names (``get_connection``) need a database-ish module
        (``app.db``), since mail, Redis and queue clients use them too."""
        target = self.imports.names.get(name)
        if target is None:
            return True
        if not self.project_import(target):
            return False
        if name in catalog.DB_NAMED_FACTORIES:
            return True
        return any(part in catalog.DB_MODULE_PARTS for part in target.lower().split(".")[:-1])

    def function_returns(self, qualname: str) -> Resource | None:
        """Summary: the resource a module-level function returns, if any."""
        if qualname in self._summary_cache:
            return self._summary_cache[qualname]
        if qualname in self._summary_stack:
            return None
        self._summary_stack.add(qualname)
        node = self._defs[qualname]
        found: Resource | None = None
        env: dict[str, Resource] = {}
        shared = _stored_names(node)
        for sub in walk(node.body, into_functions=False):
            if isinstance(sub, cst.Assign) and len(sub.targets) == 1 and isinstance(sub.targets[0].target, cst.Name):
                res = self.resource_of(sub.value, env)
                if res is not None:
                    env[sub.targets[0].target.value] = res
            elif isinstance(sub, cst.Return) and sub.value is not None:
                if isinstance(sub.value, cst.Name) and sub.value.value in shared:
                    continue  # also kept on `g` (or another object) that closes it: a shared handle
                res = self.resource_of(sub.value, env)
                if res is not None and res.kind in ("connection", "session", "cursor"):
                    found = res
        self._summary_stack.discard(qualname)
        self._summary_cache[qualname] = found
        return found


_STDLIB: frozenset[str] = getattr(sys, "stdlib_module_names", frozenset())
_KNOWN_LIBRARY_ROOTS = frozenset({
    "os", "sys", "json", "re", "time", "datetime", "logging", "typing", "collections",
    "functools", "itertools", "pathlib", "subprocess", "socket", "ssl", "http", "urllib",
    "requests", "httpx", "aiohttp", "urllib3", "boto3", "botocore", "google", "azure",
    "django", "flask", "fastapi", "starlette", "sqlalchemy", "redis", "celery", "kombu",
    "sqlite3", "psycopg2", "psycopg", "psycopg_pool", "pymysql", "MySQLdb", "mysql",
    "oracledb", "cx_Oracle", "asyncpg", "aiosqlite", "pyodbc", "pymongo", "motor",
    "pandas", "numpy", "websocket", "websockets", "grpc", "paramiko", "ftplib", "smtplib",
    "xmlrpc", "selenium", "playwright", "tornado", "twisted", "gevent", "asyncio",
    "threading", "multiprocessing", "concurrent", "contextlib", "io", "tempfile", "shutil",
    "ldap", "ldap3", "kafka", "confluent_kafka", "pika", "zmq", "elasticsearch", "opensearchpy",
    "stripe", "emails", "pymemcache", "memcache", "cachetools", "aiocache", "dogpile", "flask_caching",
    "flask_sqlalchemy", "alembic", "peewee", "pony", "tortoise", "databases", "ormar",
    "sqlmodel", "neo4j", "cassandra", "clickhouse_driver", "snowflake", "pyspark",
    # formatting, parsing, validation and id utilities (no project code behind them)
    "humanize", "babel", "arrow", "pendulum", "dateutil", "pytz", "zoneinfo", "markdown", "bleach",
    "jinja2", "slugify", "shortuuid", "ulid", "yaml", "orjson", "ujson", "simplejson", "pydantic",
    "attrs", "attr", "marshmallow", "uuid", "decimal", "math", "hashlib", "hmac", "base64", "string",
})


def _stored_names(node: cst.FunctionDef) -> set[str]:
    """Local names a function also stores on an object (``g.db = conn``,
    ``ctx["db"] = conn``, ``setattr(g, "db", conn)``): whoever owns that object
    (Flask's app context, closed at teardown) owns the handle."""
    stored: set[str] = set()
    for sub in walk(node.body, into_functions=False):
        if isinstance(sub, cst.Assign) and isinstance(sub.value, cst.Name):
            if any(isinstance(t.target, (cst.Attribute, cst.Subscript)) for t in sub.targets):
                stored.add(sub.value.value)
        elif (
            isinstance(sub, cst.Call)
            and isinstance(sub.func, cst.Name)
            and sub.func.value == "setattr"
            and len(sub.args) == 3
            and isinstance(sub.args[2].value, cst.Name)
        ):
            stored.add(sub.args[2].value.value)
    return stored


def _simple_assignments(stmt: cst.BaseStatement) -> Iterator[tuple[str, cst.BaseExpression]]:
    if isinstance(stmt, cst.SimpleStatementLine):
        for small in stmt.body:
            if isinstance(small, cst.Assign) and len(small.targets) == 1:
                target = small.targets[0].target
                if isinstance(target, cst.Name):
                    yield target.value, small.value
            elif isinstance(small, cst.AnnAssign) and small.value is not None:
                if isinstance(small.target, cst.Name):
                    yield small.target.value, small.value


def _defs_in(stmt: cst.BaseStatement) -> Iterator[cst.FunctionDef | cst.ClassDef]:
    """Function and class definitions at this statement's level (also inside
    if/try/with blocks, as in ``if TYPE_CHECKING:`` or version switches)."""
    if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
        yield stmt
        return
    if isinstance(stmt, cst.SimpleStatementLine):
        return
    for block in _blocks_of(stmt):
        for inner in block:
            yield from _defs_in(inner)


def _blocks_of(stmt: cst.BaseStatement) -> Iterator:
    """The statement lists directly inside a compound statement."""
    body = getattr(stmt, "body", None)
    if isinstance(body, cst.IndentedBlock):
        yield body.body
    elif isinstance(body, cst.SimpleStatementSuite):
        return
    for name in ("orelse", "finalbody"):
        part = getattr(stmt, name, None)
        if part is None:
            continue
        if isinstance(part, cst.If):
            yield [part]
        elif isinstance(getattr(part, "body", None), cst.IndentedBlock):
            yield part.body.body
    for handler in getattr(stmt, "handlers", ()) or ():
        if isinstance(handler.body, cst.IndentedBlock):
            yield handler.body.body
    for case in getattr(stmt, "cases", ()) or ():
        if isinstance(case.body, cst.IndentedBlock):
            yield case.body.body


def _generic_origin(base: cst.BaseExpression) -> cst.BaseExpression:
    """A base class as named: ``RepositoryBase[Customer]`` is ``RepositoryBase``."""
    return base.value if isinstance(base, cst.Subscript) else base
