"""Cache clients and what a module does with them: every cache call (which
client, which key template, what expiry), memoizing decorators, and the
version keys a key embeds. Library knowledge comes from the catalog's cache
section; naming conventions (``cache``, ``redis``, ``REDIS_*``, ``*_cache``)
count only for calls shaped like a cache call, on names not bound to
something else (a dict named ``cache`` is not a client).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Iterator, Sequence

import libcst as cst

from scalelint.model import catalog
from scalelint.model.dbops import words as dbops_words
from scalelint.model.caches.cachekeys import KeyReader, literal_template, reference
from scalelint.model.catalog import CacheLibrary
from scalelint.model.entities import EntityReader, bindings, param_names, params_of
from scalelint.model.ioclients import does_io, io_client_kind
from scalelint.model.ormmodels import model_facts
from scalelint.core.walk import dotted, string_value, walk

if TYPE_CHECKING:
    from scalelint.model.function import FunctionModel, Stmt
    from scalelint.model.module import ModuleModel

#: containers and other values that make a conventionally named variable *not* a client
_NOT_CLIENT_CALLS = frozenset({
    "dict", "set", "list", "tuple", "frozenset", "defaultdict", "OrderedDict", "Counter", "WeakValueDictionary",
    "WeakKeyDictionary", "ContextVar", "local", "LRUCache", "TTLCache", "LFUCache", "Cache", "lru_cache",
})
_NOT_CLIENT_NODES = (cst.Dict, cst.Set, cst.List, cst.Tuple, cst.DictComp, cst.SetComp, cst.ListComp,
                     cst.SimpleString, cst.Integer, cst.Lambda)


@dataclass(frozen=True)
class CacheClient:
    library: CacheLibrary
    spelled: str  # the receiver as written (``cache``, ``caches["sessions"]``, ``self.redis``)
    qualified: str | None = None  # import-resolved name, when it has one
    alias: str | None = None  # ``caches["alias"]``
    #: a name imported from another module of the project and used like a
    #: client: a client only if that module defines one (checked project-wide)
    imported: bool = False

    def names(self) -> tuple[str, ...]:
        """The spellings config may use for this client."""
        out = [self.spelled]
        if self.qualified:
            out.append(self.qualified)
        if self.alias:
            out.append(self.alias)
        last = self.spelled.rsplit(".", 1)[-1]
        if last != self.spelled:
            out.append(last)
        return tuple(out)


@dataclass(eq=False)
class CacheOp:
    """One call on a cache client."""

    call: cst.Call
    client: CacheClient
    method: str
    stmt: "Stmt"
    key: cst.BaseExpression | None
    template: str | None

    def arg(self, position: int | None, keywords: tuple[str, ...]) -> cst.Arg | None:
        for arg in self.call.args:
            if arg.keyword is not None and arg.keyword.value in keywords:
                return arg
        if position is None:
            return None
        positional = [a for a in self.call.args if a.keyword is None and not a.star]
        return positional[position] if position < len(positional) else None

    @property
    def value(self) -> cst.BaseExpression | None:
        """The value written (second argument of set-like calls)."""
        position = 2 if self.method in ("setex", "psetex") else 1
        arg = self.arg(position, ("value", "default"))
        return arg.value if arg is not None else None

    def expiry(self) -> str:
        """ttl | default | forever | no-cache | unknown, per the library's semantics."""
        lib = self.client.library
        if self.method in lib.ttl_always:
            return "ttl"
        if self.method in lib.ttl_less_writes:
            return "forever"
        spec = lib.ttl_arg(self.method)
        if spec is None:
            return "unknown"
        keywords, position = spec
        arg = self.arg(position, keywords)
        if arg is None or (arg.keyword is not None and spelling(arg.value) == "False"):
            return lib.omitted
        spelled = spelling(arg.value)
        if spelled in lib.forever_values:
            return "forever"
        if spelled in lib.no_cache_values:
            return "no-cache"
        return "ttl"


    def lifetime(self, module: "ModuleModel") -> float | None:
        """The entry's TTL in seconds where the code spells it (literals,
        arithmetic, module constants, ``timedelta``); None when it does not."""
        if self.expiry() != "ttl":
            return None
        if self.method in ("setex", "psetex"):
            arg, scale = self.arg(1, ("time",)), 0.001 if self.method == "psetex" else 1.0
        else:
            spec = self.client.library.ttl_arg(self.method)
            arg = self.arg(spec[1], spec[0]) if spec is not None else None
            keyword = arg.keyword.value if arg is not None and arg.keyword is not None else None
            if keyword in ("exat", "pxat", "keepttl"):
                return None  # an instant, or the old TTL: not a lifetime spelled here
            scale = 0.001 if keyword == "px" else 1.0
        value = seconds_of(arg.value, module) if arg is not None else None
        return value * scale if value is not None else None


_TIMEDELTA_UNITS = {"weeks": 604800.0, "days": 86400.0, "hours": 3600.0, "minutes": 60.0, "seconds": 1.0,
                    "milliseconds": 0.001}


def seconds_of(expr: cst.BaseExpression, module: "ModuleModel", depth: int = 0) -> float | None:
    """A number of seconds spelled by ``expr``: a literal, arithmetic on them, a
    module-level constant, ``timedelta(...)`` (with ``.total_seconds()``)."""
    if depth > 4:
        return None
    if isinstance(expr, (cst.Integer, cst.Float)):
        return float(expr.evaluated_value)
    if isinstance(expr, cst.Name):
        bound = module.global_values.get(expr.value)
        return seconds_of(bound, module, depth + 1) if bound is not None else None
    if isinstance(expr, cst.BinaryOperation):
        left, right = seconds_of(expr.left, module, depth + 1), seconds_of(expr.right, module, depth + 1)
        if left is None or right is None:
            return None
        return _arithmetic(expr.operator, left, right)
    if isinstance(expr, cst.Call):
        return _call_seconds(expr, module, depth)
    return None


def _arithmetic(operator: cst.BaseBinaryOp, left: float, right: float) -> float | None:
    if isinstance(operator, cst.Multiply):
        return left * right
    if isinstance(operator, cst.Add):
        return left + right
    if isinstance(operator, cst.Subtract):
        return left - right
    if isinstance(operator, (cst.Divide, cst.FloorDivide)) and right:
        return left / right if isinstance(operator, cst.Divide) else float(left // right)
    return None


def _call_seconds(call: cst.Call, module: "ModuleModel", depth: int) -> float | None:
    func = call.func
    if isinstance(func, cst.Attribute) and func.attr.value == "total_seconds" and not call.args:
        return seconds_of(func.value, module, depth + 1)
    spelled = dotted(func) or ""
    if spelled in ("int", "float") and len(call.args) == 1:
        return seconds_of(call.args[0].value, module, depth + 1)
    if spelled.rsplit(".", 1)[-1] != "timedelta":
        return None
    total = 0.0
    for position, arg in enumerate(call.args):
        unit = arg.keyword.value if arg.keyword is not None else ("days", "seconds")[position] if position < 2 else None
        value = seconds_of(arg.value, module, depth + 1)
        if unit not in _TIMEDELTA_UNITS or value is None:
            return None
        total += value * _TIMEDELTA_UNITS[unit]
    return total


@dataclass(frozen=True)
class Memo:
    """A memoizing decorator on a function."""

    fn: "FunctionModel"
    decorator: cst.Decorator
    qualified: str | None  # in-process memoizers (functools, cachetools)
    client: CacheClient | None  # shared-cache memoizers (Flask-Caching, dogpile, aiocache)
    method: str

    @property
    def per_instance(self) -> bool:
        """A cache each instance owns (``cachetools.cachedmethod``), not one per function."""
        rule = catalog.IN_PROCESS_MEMOIZERS.get(self.qualified or "")
        return rule is not None and rule.per_instance

    @property
    def call(self) -> cst.Call | None:
        dec = self.decorator.decorator
        return dec if isinstance(dec, cst.Call) else None

    def keyword(self, name: str, position: int | None = None) -> cst.BaseExpression | None:
        """The decorator's argument passed by keyword ``name`` or at ``position``."""
        call = self.call
        if call is None:
            return None
        positional = [a.value for a in call.args if a.keyword is None]
        if position is not None and position < len(positional):
            return positional[position]
        return next((a.value for a in call.args if a.keyword is not None and a.keyword.value == name), None)


def spelling(expr: cst.BaseExpression) -> str:
    if isinstance(expr, cst.Name):
        return expr.value
    if isinstance(expr, cst.Integer):
        return str(int(expr.value.replace("_", ""), 0))
    return ""


#: qualified names the catalog knows as cache clients, their constructors and mappings
_CATALOGUED_CLIENTS = (*catalog.CACHE_CONSTRUCTORS, *catalog.CACHE_OBJECTS, *catalog.CACHE_MAPPINGS)

def cache_model(module: "ModuleModel") -> "CacheModel":
    """The module's cache model, built once and shared by every cache rule."""
    return module.derived("cache-model", lambda: CacheModel(module))


class CacheModel:
    def __init__(self, module: "ModuleModel") -> None:
        self.module = module
        self.entities = EntityReader(module)
        self._ops: dict[int, list[CacheOp]] = {}
        self._locals: dict[int, list[tuple[int, str, cst.BaseExpression]]] = {}
        self._key_functions: dict[str, str] | None = None

    # -- clients ------------------------------------------------------------------
    @cached_property
    def _configured(self) -> frozenset[str]:
        return frozenset(self.module.recognition.cache_clients)

    @cached_property
    def _imports_catalogued_client(self) -> bool:
        """Whether some import can resolve to a client the catalog knows: without
        one (and without configured clients) no expression here is a client by
        qualified name, however it is bound."""
        targets = set(self.module.imports.names.values())
        return any(key == t or key.startswith(t + ".") for key in _CATALOGUED_CLIENTS for t in targets)

    @cached_property
    def _has_client_factory(self) -> bool:
        """Whether the module imports or defines a project function named for a
        client factory (``redis_instance``, ``get_redis``)."""
        names = [n for n, qn in self.module.imports.names.items() if self.module.project_import(qn)]
        names.extend(f.name for f in self.module.functions if f.cls is None)
        return any(_factory_name(n) for n in names)

    @cached_property
    def _class_bindings(self) -> dict[str, dict[str, cst.BaseExpression]]:
        """Per class: ``self.x = value`` in its methods and ``x = value`` in its body."""
        out: dict[str, dict[str, cst.BaseExpression]] = {}
        for info in self.module.classes:
            attrs: dict[str, cst.BaseExpression] = {}
            for stmt in info.node.body.body:
                for name, value in bindings(stmt):
                    attrs.setdefault(name, value)
            for sub in _small_statements_in_order(_suite(info.node.body)):
                if isinstance(sub, cst.Assign) and len(sub.targets) == 1:
                    target = sub.targets[0].target
                    if isinstance(target, cst.Attribute) and dotted(target.value) == "self":
                        attrs.setdefault(target.attr.value, sub.value)
            out[info.name] = attrs
        return out

    def class_binding(self, cls: str, attr: str) -> cst.BaseExpression | None:
        """The first value bound to ``self.<attr>`` (or a class attribute) in a class of this module."""
        return self._class_bindings.get(cls, {}).get(attr)

    def local_bindings(self, fn: "FunctionModel") -> list[tuple[int, str, cst.BaseExpression]]:
        """(ordinal, name, value) for every local binding, in order."""
        found = self._locals.get(id(fn))
        if found is None:
            found = [(s.ordinal, name, value) for s in fn.stmts for name, value in bindings(s.node)]
            self._locals[id(fn)] = found
        return found

    def binding(self, fn: "FunctionModel | None", name: str, before: int | None = None) -> cst.BaseExpression | None:
        """The value last bound to a local name before a statement (else the global)."""
        if fn is not None:
            value = None
            for ordinal, bound, expr in self.local_bindings(fn):
                if bound == name and (before is None or ordinal < before):
                    value = expr
            if value is not None:
                return value
            if name in param_names(fn.node):
                return None
        return self.module.global_values.get(name)

    def _attr_binding(self, expr: cst.Attribute, fn: "FunctionModel | None") -> cst.BaseExpression | None:
        if fn is not None and fn.cls is not None and dotted(expr.value) in ("self", "cls"):
            return self._class_bindings.get(fn.cls.name, {}).get(expr.attr.value)
        return None

    def client_of(self, expr: cst.BaseExpression, fn: "FunctionModel | None" = None, depth: int = 0) -> CacheClient | None:
        """The cache client an expression is, by config, qualified name or binding."""
        if depth > 4 or not (self._configured or self._imports_catalogued_client or self._has_client_factory):
            return None
        if isinstance(expr, cst.Await):
            return self.client_of(expr.expression, fn, depth + 1)
        spelled = self._spell(expr)
        qn = self.module.qualified(expr) if isinstance(expr, (cst.Name, cst.Attribute)) else None
        found = self._known_client(expr, fn, depth, qn)
        if found is not None:
            return CacheClient(found.library, spelled, found.qualified or qn, found.alias)
        if spelled and self._is_configured(spelled, qn):
            return CacheClient(_library_by_name(spelled, fn), spelled, qn)
        return None

    def _known_client(self, expr, fn, depth, qn) -> CacheClient | None:
        if isinstance(expr, cst.Subscript):
            mapping = self.module.qualified(expr.value)
            library = catalog.CACHE_MAPPINGS.get(mapping or "")
            if library is None:
                return None
            alias = _subscript_text(expr)
            return CacheClient(library, self._spell(expr), mapping, alias or None)
        if isinstance(expr, cst.Call):
            return self._call_client(expr, fn, depth)
        if qn is not None and qn in catalog.CACHE_OBJECTS and not self._shadowed(fn, expr):
            return CacheClient(catalog.CACHE_OBJECTS[qn], self._spell(expr), qn)
        value: cst.BaseExpression | None = None
        if isinstance(expr, cst.Name):
            annotated = self._param_annotation(fn, expr.value)
            if annotated is not None:
                return annotated
            value = self.binding(fn, expr.value)
        elif isinstance(expr, cst.Attribute):
            value = self._attr_binding(expr, fn)
        if value is not None and value is not expr:
            return self.client_of(value, None if self.is_global(fn, expr) else fn, depth + 1)
        return None

    def _shadowed(self, fn: "FunctionModel | None", expr: cst.BaseExpression) -> bool:
        """An imported name the function rebinds locally (``cache = {}``): no longer the import."""
        return isinstance(expr, cst.Name) and fn is not None and not self.is_global(fn, expr)

    def is_global(self, fn: "FunctionModel | None", expr: cst.BaseExpression) -> bool:
        """A bare name the function reads but never binds (a module-level name)."""
        return isinstance(expr, cst.Name) and fn is not None and not any(
            name == expr.value for _, name, _ in self.local_bindings(fn)
        )

    def _call_client(self, call: cst.Call, fn, depth) -> CacheClient | None:
        qn = self.module.qualified(call.func)
        library = catalog.CACHE_CONSTRUCTORS.get(qn or "")
        if library is not None:
            return CacheClient(library, self._spell(call), qn)
        spelled = dotted(call.func) or ""
        if (isinstance(call.func, cst.Name) and _factory_name(spelled) and not call.args
                and (qn is None or self.module.project_import(qn))):
            return CacheClient(_library_by_name(spelled, fn), self._spell(call), qn)  # ri = redis_instance()
        if isinstance(call.func, cst.Attribute) and call.func.attr.value in catalog.CACHE_SELF_METHODS:
            inner = self.client_of(call.func.value, fn, depth + 1)
            if inner is not None and inner.library is not catalog.UNKNOWN_CACHE:
                return inner
        return None

    def _param_annotation(self, fn: "FunctionModel | None", name: str) -> CacheClient | None:
        if fn is None:
            return None
        for param in params_of(fn.node):
            if param.name.value == name and param.annotation is not None:
                ann = param.annotation.annotation
                if isinstance(ann, cst.Subscript):
                    ann = ann.value
                qn = self.module.qualified(ann) if isinstance(ann, (cst.Name, cst.Attribute)) else None
                library = catalog.CACHE_CONSTRUCTORS.get(qn or "")
                if library is not None:
                    return CacheClient(library, name, qn)
        return None

    def _is_configured(self, spelled: str, qn: str | None) -> bool:
        configured = self._configured
        if not configured:
            return False
        last = spelled.rsplit(".", 1)[-1]
        return spelled in configured or last in configured or (qn is not None and qn in configured)

    def conventional(self, expr: cst.BaseExpression, method: str, call: cst.Call, fn: "FunctionModel | None") -> CacheClient | None:
        """A client by naming convention, only for a cache-shaped call."""
        least = catalog.CACHE_CALL_SHAPES.get(method)
        if least is None or len(call.args) < least:
            return None
        glob = method == "keys" and glob_pattern(call)
        if method == "keys" and not glob and string_value(call.args[0].value) is None:
            return None
        spelled = dotted(expr)
        if spelled is None:
            return None
        last = spelled.rsplit(".", 1)[-1]
        if not glob and not conventional_name(last):
            return None  # a key-glob argument is shape enough: no mapping's keys() takes one
        head = spelled.split(".")[0]
        qn = self.module.qualified(expr)
        if qn is not None and not self.module.project_import(qn):
            return None  # a library's own attribute (functools.cache): only the catalog speaks
        bound = self._attr_binding(expr, fn) if isinstance(expr, cst.Attribute) else (
            self.binding(fn, head) if head == spelled else None
        )
        if bound is not None and _not_a_client(bound, self.module):
            return None
        if isinstance(expr, cst.Name) and fn is not None and self._param_is_container(fn, expr.value):
            return None
        return CacheClient(_library_by_name(spelled, fn), spelled, qn)

    def _imported(self, expr: cst.BaseExpression, method: str, call: cst.Call) -> CacheClient | None:
        """A project name imported from another module, called like a client."""
        least = catalog.CACHE_CALL_SHAPES.get(method)
        if least is None or len(call.args) < least or not isinstance(expr, cst.Name):
            return None
        qn = self.module.qualified(expr)
        if qn is None or not self.module.project_import(qn):
            return None
        return CacheClient(catalog.UNKNOWN_CACHE, expr.value, qn, imported=True)

    def _param_is_container(self, fn: "FunctionModel", name: str) -> bool:
        for param in params_of(fn.node):
            if param.name.value == name:
                if param.default is not None and isinstance(param.default, _NOT_CLIENT_NODES):
                    return True
                ann = param.annotation.annotation if param.annotation is not None else None
                if isinstance(ann, cst.Subscript):
                    ann = ann.value
                return (dotted(ann) or "").rsplit(".", 1)[-1].lower() in ("dict", "mapping", "mutablemapping", "set")
        return False

    @staticmethod
    def _spell(expr: cst.BaseExpression) -> str:
        spelled = dotted(expr)
        if spelled is not None:
            return spelled
        if isinstance(expr, cst.Subscript):
            return f"{dotted(expr.value) or '?'}[{_subscript_text(expr)!r}]"
        if isinstance(expr, cst.Call):
            return f"{dotted(expr.func) or '?'}()"
        return "?"

    # -- operations -------------------------------------------------------------
    def ops(self, fn: "FunctionModel") -> list[CacheOp]:
        """Every cache call evaluated by the function's own statements."""
        found = self._ops.get(id(fn))
        if found is None:
            found = self._ops[id(fn)] = list(self._collect_ops(fn))
        return found

    def _collect_ops(self, fn: "FunctionModel") -> Iterator[CacheOp]:
        for stmt, call in fn.calls():
            op = self.op_of(fn, stmt, call)
            if op is not None:
                yield op

    def op_of(self, fn: "FunctionModel", stmt: "Stmt", call: cst.Call) -> CacheOp | None:
        """``call`` as a cache operation of ``fn`` at ``stmt`` (None: not a cache call).
        Also reads calls outside the function's own statements that run in its
        scope (the body of a lambda handed to ``transaction.on_commit``)."""
        func = call.func
        if not isinstance(func, cst.Attribute):
            return None
        method = func.attr.value
        client = (
            self.client_of(func.value, fn)
            or self.conventional(func.value, method, call, fn)
            or self._imported(func.value, method, call)
        )
        if client is None:
            return None
        key = _key_arg(call, method)
        template = self.key_template(key, fn, stmt.ordinal) if key is not None else None
        return CacheOp(call, client, method, stmt, key, template)

    def deleted_templates(self, op: CacheOp, fn: "FunctionModel") -> Iterator[str | None]:
        """The template of each key deleted (None for one we cannot read)."""
        exprs: list[cst.BaseExpression] = []
        for arg in op.call.args:
            if arg.keyword is not None and arg.keyword.value not in ("key", "keys", "name"):
                continue
            value = arg.value
            if isinstance(value, cst.Name):
                bound = self.binding(fn, value.value, op.stmt.ordinal)
                if isinstance(bound, (cst.List, cst.Tuple, cst.Set)):
                    value = bound
            if isinstance(value, (cst.List, cst.Tuple, cst.Set)):
                exprs.extend(el.value for el in value.elements)
            elif isinstance(value, (cst.ListComp, cst.GeneratorExp, cst.SetComp)):
                exprs.append(value.elt)
            else:
                exprs.append(value)
            if op.method == "hdel":
                break
        for expr in exprs:
            yield self.key_template(expr, fn, op.stmt.ordinal)

    def key_template(self, expr: cst.BaseExpression, fn: "FunctionModel | None", before: int | None = None) -> str | None:
        return self._reader(fn, before).template(expr)

    def _reader(self, fn: "FunctionModel | None", before: int | None, depth: int = 0) -> KeyReader:
        def resolve_name(name: cst.Name) -> str | None:
            if depth > 3:
                return None
            value = self.binding(fn, name.value, before)
            if value is not None:
                local = fn is not None and not self.is_global(fn, name)
                return self._reader(fn if local else None, before if local else None, depth + 1).template(value)
            qn = self.module.qualified(name)
            if qn is not None and self.module.project_import(qn):
                return reference(qn)
            return None

        def resolve_call(call: cst.Call) -> str | None:
            if depth > 3:
                return None
            spelled = dotted(call.func)
            if spelled is None:
                return None
            head, _, rest = spelled.partition(".")
            if head in ("self", "cls") and fn is not None and fn.cls is not None:
                spelled = f"{fn.cls.name}.{rest}"
            if spelled in self.key_functions:
                return self.key_functions[spelled]
            qn = self.module.qualified(call.func)
            if qn is not None and self.module.project_import(qn):
                return reference(qn)
            return None

        def resolve_attr(attr: cst.Attribute) -> str | None:
            """A class attribute read through ``self``/``cls`` (``self.KEY_PREFIX``)."""
            if depth > 3:
                return None
            value = self._attr_binding(attr, fn)
            if value is None or not attr.attr.value.isupper():
                return None
            return self._reader(None, None, depth + 1).template(value)

        return KeyReader(resolve_name, resolve_call, resolve_attr)

    @property
    def key_functions(self) -> dict[str, str]:
        """Functions and methods that build a key (``product_key``,
        ``KeyMapper.language_key``): qualname -> template of what they return."""
        if self._key_functions is not None:
            return self._key_functions
        out: dict[str, str] = {}
        self._key_functions = out  # a key function calling another sees those found so far
        for fn in self.module.functions:
            if "<locals>" in fn.qualname or len(getattr(fn.node.body, "body", ())) > 3:
                continue  # key builders are short functions and methods
            returns = [s for s in _small_statements_in_order(_suite(fn.node.body), into_scopes=False)
                       if isinstance(s, cst.Return) and s.value]
            if len(returns) == 1:
                template = self._reader(fn, None, 1).template(returns[0].value)  # type: ignore[arg-type]
                if template is not None:
                    out[fn.qualname] = template
        return out

    def argument_templates(self, fn: "FunctionModel", param: str) -> list[str]:
        """Templates of the keys this module's own calls pass to ``fn``'s
        parameter ``param`` (``increment_attempt(ip_key)`` with ``ip_key`` built
        by a key function): what a key parameter holds, one call away."""
        positional = [p.name.value for p in (*fn.node.params.posonly_params, *fn.node.params.params)]
        if fn.cls is not None:
            if not positional or positional[0] not in ("self", "cls"):
                return []
            positional, spellings = positional[1:], {f"self.{fn.name}", f"cls.{fn.name}", f"{fn.cls.name}.{fn.name}"}
        elif fn.qualname == fn.name:
            spellings = {fn.name}
        else:
            return []
        position = positional.index(param) if param in positional else None
        found: list[str] = []
        for caller in self.module.functions:
            if caller is fn:
                continue
            for stmt, call in caller.calls():
                if dotted(call.func) not in spellings:
                    continue
                arg = _argument(call, param, position)
                template = self.key_template(arg, caller, stmt.ordinal) if arg is not None else None
                if template is not None and template not in found:
                    found.append(template)
        return found

    @cached_property
    def instances(self) -> dict[str, str]:
        """Module-level names bound to an instance of a project class: name -> qualified class."""
        prefix = f"{self.module.module_name}." if self.module.module_name else ""
        classes = {info.name for info in self.module.classes}
        out: dict[str, str] = {}
        for name, value in self.module.global_values.items():
            if isinstance(value, cst.Call) and isinstance(value.func, cst.Name):
                if value.func.value in classes:
                    out[name] = prefix + value.func.value
                else:
                    qn = self.module.qualified(value.func)
                    if qn is not None and self.module.project_import(qn) and value.func.value[:1].isupper():
                        out[name] = qn
        return out

    @cached_property
    def key_constants(self) -> dict[str, str]:
        """Module-level UPPER_CASE names bound to a key text."""
        out: dict[str, str] = {}
        for name, value in self.module.global_values.items():
            if not name.isupper():
                continue
            text = string_value(value) if not isinstance(value, cst.FormattedString) else None
            template = literal_template(text) if text is not None else self._reader(None, None, 1).template(value)
            if template is not None:
                out[name] = template
        return out

    def versions_in(self, key: cst.BaseExpression, fn: "FunctionModel", before: int) -> list[str]:
        """Templates of version keys this key embeds (``v = cache.get("p_version")``
        then ``f"p:{v}:{pid}"``): bumping one invalidates the whole family."""
        out: list[str] = []
        for node in self.entities.dataflow(fn, before, key):
            value = node.expression if isinstance(node, cst.Await) else node
            if not isinstance(value, cst.Call) or not isinstance(value.func, cst.Attribute):
                continue
            if value.func.attr.value not in ("get", "incr", "get_or_set"):
                continue
            receiver = value.func.value
            client = self.client_of(receiver, fn) or self.conventional(receiver, "delete", value, fn) or self._imported(
                receiver, "delete", value
            )
            key_arg = _key_arg(value, "get")
            if client is not None and key_arg is not None:
                template = self.key_template(key_arg, fn, before)
                if template is not None:
                    out.append(template)
        return out

    def function_ref(self, expr: cst.BaseExpression, fn: "FunctionModel | None") -> str | None:
        """The qualified name of the function an expression names (``get_user``,
        ``self.get_groups``, an imported function)."""
        prefix = f"{self.module.module_name}." if self.module.module_name else ""
        spelled = dotted(expr)
        if spelled is None:
            return None
        if spelled in self.module._defs:
            return prefix + spelled
        if spelled.startswith(("self.", "cls.")) and fn is not None and fn.cls is not None:
            return f"{prefix}{fn.cls.name}.{spelled.split('.', 1)[1]}"
        return self.module.qualified(expr)

    # -- memoizing decorators -----------------------------------------------------
    def memos(self, fn: "FunctionModel") -> list[Memo]:
        out: list[Memo] = []
        for dec in fn.node.decorators:
            expr = dec.decorator
            target = expr.func if isinstance(expr, cst.Call) else expr
            qn = self.module.qualified(target)
            if qn in catalog.IN_PROCESS_MEMOIZERS:
                out.append(Memo(fn, dec, qn, None, qn.rsplit(".", 1)[-1]))
                continue
            if qn in catalog.SHARED_MEMO_DECORATORS:
                library = catalog.SHARED_MEMO_DECORATORS[qn]
                out.append(Memo(fn, dec, None, CacheClient(library, dotted(target) or "", qn), "cached"))
                continue
            if isinstance(target, cst.Attribute):
                method = target.attr.value
                allowed = catalog.SHARED_MEMO_METHODS.get(method)
                if allowed is None:
                    continue
                client = self.client_of(target.value, None)
                if client is None and isinstance(expr, cst.Call):
                    client = self.conventional(target.value, method, expr, None)
                elif client is None and dotted(target.value) is not None:
                    client = self.conventional(target.value, method, cst.Call(func=target), None)
                if client is not None and client.library.name in allowed:
                    out.append(Memo(fn, dec, None, client, method))
        return out


def _small_statements_in_order(
    body: "Sequence[cst.BaseStatement]", *, into_scopes: bool = True
) -> Iterator[cst.BaseSmallStatement]:
    """The small statements under ``body`` in source order, the order ``walk``
    meets them in (with ``into_scopes=False``, not those of nested functions and
    classes): assignments and returns are never expressions, so visiting the
    statements alone finds them all, without walking every expression."""
    for stmt in body:
        if isinstance(stmt, cst.SimpleStatementLine):
            yield from stmt.body
            continue
        if not into_scopes and isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
            continue
        for suite in _suites(stmt):
            yield from _small_statements_in_order(_suite(suite), into_scopes=into_scopes)


def _suites(stmt: cst.BaseStatement) -> Iterator[cst.CSTNode]:
    """The blocks of a compound statement, in source order."""
    if isinstance(stmt, cst.Match):
        for case in stmt.cases:
            yield case.body
        return
    yield stmt.body  # type: ignore[attr-defined]
    for handler in getattr(stmt, "handlers", ()):
        yield handler.body
    orelse = getattr(stmt, "orelse", None)
    while isinstance(orelse, cst.If):  # elif chains
        yield orelse.body
        orelse = orelse.orelse
    if orelse is not None:
        yield orelse.body
    final = getattr(stmt, "finalbody", None)
    if final is not None:
        yield final.body


def _suite(suite: cst.CSTNode) -> "Sequence[cst.BaseStatement]":
    if isinstance(suite, cst.IndentedBlock):
        return suite.body
    if isinstance(suite, cst.SimpleStatementSuite):
        return [cst.SimpleStatementLine(body=suite.body)]
    return ()


def _library_by_name(spelled: str, fn: "FunctionModel | None") -> CacheLibrary:
    """A client known by name only: redis-py semantics when its name says redis."""
    if "redis" not in spelled.rsplit(".", 1)[-1].lower():
        return catalog.UNKNOWN_CACHE
    return catalog.REDIS_ASYNC if fn is not None and fn.is_async else catalog.REDIS


def glob_pattern(call: cst.Call) -> bool:
    """Whether the call's pattern (first positional or ``pattern=``) is a key
    glob: string text with ``*`` in it, literal, f-string or concatenation."""
    arg = next((a for a in call.args if a.keyword is None or a.keyword.value == "pattern"), None)
    if arg is None or arg.star:
        return False
    return any("*" in text for text in _string_pieces(arg.value))


def _string_pieces(expr: cst.BaseExpression) -> list[str]:
    """The literal text pieces of a string expression (``key + '*'``, ``f"{k}*"``;
    ``string_value`` reads literals, concatenations and f-strings)."""
    if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.Add):
        return _string_pieces(expr.left) + _string_pieces(expr.right)
    text = string_value(expr)
    return [text] if text is not None else []


def _factory_name(name: str) -> bool:
    """A function name that says it returns a cache client (``redis_instance``, ``get_redis``)."""
    words = set(dbops_words(name.rsplit(".", 1)[-1]))
    return bool(catalog.CONVENTIONAL_CACHE_FACTORY_WORDS & words) and words <= catalog.CONVENTIONAL_CACHE_FACTORY_FILLERS


def conventional_name(last: str) -> bool:
    lowered = last.lower().lstrip("_")
    return (
        lowered in catalog.CONVENTIONAL_CACHE_NAMES
        or last.startswith(catalog.CONVENTIONAL_CACHE_PREFIXES)
        or last.lower().endswith(catalog.CONVENTIONAL_CACHE_SUFFIXES)
    )


def _not_a_client(value: cst.BaseExpression, module: "ModuleModel") -> bool:
    if isinstance(value, _NOT_CLIENT_NODES):
        return True
    if isinstance(value, cst.Call):
        spelled = dotted(value.func) or ""
        if spelled.rsplit(".", 1)[-1] in _NOT_CLIENT_CALLS:
            return True
        qn = module.qualified(value.func)
        return qn is not None and not module.project_import(qn) and qn not in catalog.CACHE_CONSTRUCTORS
    return False


def _key_arg(call: cst.Call, method: str) -> cst.BaseExpression | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value in ("key", "name", "keys", "pattern", "f"):
            return arg.value
    positional = [a for a in call.args if a.keyword is None]
    if not positional or positional[0].star:
        return None
    return positional[0].value


def _argument(call: cst.Call, keyword: str, position: int | None) -> cst.BaseExpression | None:
    """The value a call passes for a parameter, by keyword or position."""
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == keyword:
            return arg.value
    positional = [a for a in call.args if a.keyword is None]
    if position is None or position >= len(positional) or any(a.star for a in positional[: position + 1]):
        return None
    return positional[position].value


def _subscript_text(expr: cst.Subscript) -> str:
    if len(expr.slice) == 1 and isinstance(expr.slice[0].slice, cst.Index):
        return string_value(expr.slice[0].slice.value) or ""
    return ""


class Stakes:
    """What the cache rules ask about clients and memoized functions beyond
    single calls: eviction, configured persistence, and whether a function
    queries the database or a remote service."""

    def __init__(self, cm: CacheModel) -> None:
        self.cm = cm
        self.module = cm.module

    @cached_property
    def _policy_clients(self) -> frozenset[str]:
        """Clients this module sets to an evicting ``maxmemory-policy``."""
        found = set()
        for node in walk(self.module.cst):
            if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "config_set":
                texts = [string_value(a.value) or "" for a in node.args]
                if len(texts) >= 2 and texts[0] == "maxmemory-policy" and texts[1] in catalog.EVICTING_POLICIES:
                    found.add(dotted(node.func.value) or "")
        return frozenset(found)

    def critical(self, client: CacheClient) -> bool:
        """Configured as a critical (no-eviction, intentionally persistent) store."""
        return bool(set(client.names()) & set(self.module.recognition.critical_caches))

    def eviction(self, client: CacheClient) -> str | None:
        """Why the client evicts under memory pressure (None: it does not, or unknown)."""
        if self.critical(client):
            return None
        if set(client.names()) & set(self.module.recognition.evicting_caches):
            return "configured as evicting"
        if client.spelled in self._policy_clients:
            return "set to an evicting maxmemory-policy in this module"
        if client.library is catalog.DJANGO_CACHE:
            return "Django's shared default cache" if client.alias in (None, "default") else None
        if client.library.evicting:
            return {"pymemcache": "memcached, an LRU cache", "flask_caching": "the shared Flask-Caching cache"}.get(
                client.library.name, "an evicting cache"
            )
        return None

    def self_key(self, memo: Memo) -> str | None:
        """How a process-wide memo on a method tells instances apart: "row" for
        a Django model (instances of one row are equal: they share entries),
        "instance" for other classes (each one kept alive by the cache); None
        for plain functions and caches each instance owns."""
        fn = memo.fn
        params = fn.node.params.params
        if fn.cls is None or memo.per_instance or not params or params[0].name.value != "self":
            return None
        models = {fact["c"]: fact.get("orm") for fact in self._models}
        return "row" if models.get(fn.cls.name) == "django" else "instance"

    @cached_property
    def _models(self) -> list[dict]:
        return model_facts(self.module)

    def query_in(self, fn: "FunctionModel") -> str | None:
        """A short description of the first database or remote call the
        function makes, itself or through functions and methods of this
        module one or two calls away."""
        found = self._query_in(fn, catalog.PROJECT_HELPER_DEPTH, {fn.qualname})
        if found is None:
            return None
        what, via = found
        return f"{what} (via {via}())" if via else what

    def _query_in(self, fn: "FunctionModel", depth: int, seen: set[str]) -> tuple[str, str | None] | None:
        """(what the first query or remote call is, the helper called first to reach it)."""
        all_reads = self.cm.entities.function_reads(fn)
        reads = [r for r in all_reads if not catalog.is_system_catalog(r.entity)]
        if reads:
            return f"reads {reads[0].entity}", None
        if all_reads:
            return None  # only the database's own catalogs (types, collations): they change with migrations
        for _, call in fn.calls():
            what = self._direct_query(fn, call)
            if what is not None:
                return what, None
            callee = self._callee(fn, call) if depth > 0 else None
            if callee is None or callee.qualname in seen:
                continue
            seen.add(callee.qualname)
            found = self._query_in(callee, depth - 1, seen)
            if found is not None:
                return found[0], dotted(call.func)
        return None

    def _direct_query(self, fn: "FunctionModel", call: cst.Call) -> str | None:
        """A call that queries the database or leaves the process: what it is."""
        func = call.func
        qn = self.module.qualified(func)
        if qn is not None and qn.startswith(catalog.REMOTE_CALL_PREFIXES):
            return f"calls {qn}()"
        if not isinstance(func, cst.Attribute):
            return None
        resource = fn.resource_of(func.value)
        if resource is not None and func.attr.value in catalog.QUERY_METHODS.get(resource.kind, ()):
            return f"runs {dotted(func) or func.attr.value}()"
        kind = io_client_kind(self.module, self._constructed(fn, func.value))
        if kind is not None and does_io(kind, func.attr.value):
            return f"calls {dotted(func) or func.attr.value}() on a remote {kind} client"
        return None

    def _constructed(self, fn: "FunctionModel", receiver: cst.BaseExpression) -> cst.BaseExpression:
        """What a call's receiver was built by: itself, or the value its name
        (local or module-level) or ``self`` attribute is bound to."""
        if isinstance(receiver, cst.Name):
            return self.cm.binding(fn, receiver.value) or receiver
        if isinstance(receiver, cst.Attribute):
            return self.cm._attr_binding(receiver, fn) or receiver
        return receiver

    def _callee(self, fn: "FunctionModel", call: cst.Call) -> "FunctionModel | None":
        """The function or method of this module a call runs (``helper()``, ``self.helper()``)."""
        spelled = dotted(call.func)
        if spelled is None:
            return None
        if spelled.startswith("self.") and fn.cls is not None:
            spelled = f"{fn.cls.name}.{spelled[5:]}"
        elif spelled not in self.module._defs:
            return None
        return next((f for f in self.module.functions if f.qualname == spelled), None)
