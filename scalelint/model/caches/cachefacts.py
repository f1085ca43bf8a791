"""File phase of the cache-key index (SL301): one module's cache key families,
invalidations, entity writes, model hooks and call edges, as small JSON facts
that carry the positions (and fix anchors) the project phase reports with.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Callable, Iterator

import libcst as cst

from scalelint.core.lazyre import lazy_compile
from scalelint.model import catalog
from scalelint.model.caches.cachekeys import literal_template
from scalelint.model.caches.caching import CacheModel, CacheOp, cache_model, conventional_name
from scalelint.model.caches.lifetimes import Lifetimes, class_bases, published
from scalelint.model.dbops import caught_names
from scalelint.model.entrypoints import OTHER, entry_kind
from scalelint.model.ormmodels import model_facts
from scalelint.model.ioclients import does_io, io_client_kind, remote_api_class
from scalelint.model.entities import Read, bindings, entity_name, known_columns, param_names, params_of
from scalelint.core.walk import children, dotted, names_in, string_value, walk

if TYPE_CHECKING:
    from scalelint.model.source import SourceFile
    from scalelint.model.function import FunctionModel, Stmt
    from scalelint.model.module import ModuleModel

_HELPER = lazy_compile(catalog.INVALIDATION_HELPER_NAME)
_PUBLISH = lazy_compile(catalog.EVENT_PUBLISH_NAME)
#: method names too common to mean a project call when the receiver is unknown
_COMMON_METHODS = frozenset({
    "append", "extend", "get", "items", "keys", "values", "pop", "update", "add", "join", "split",
    "strip", "format", "startswith", "endswith", "lower", "upper", "replace", "encode", "decode",
    "copy", "setdefault", "remove", "insert", "sort", "count", "index", "all", "filter", "first",
    "exclude", "order_by", "values_list", "exists", "annotate", "select_related", "prefetch_related",
    "only", "defer", "using", "distinct", "none", "iterator", "info", "debug", "warning", "error",
    "exception", "execute", "fetchone", "fetchall", "commit", "rollback", "close", "flush", "refresh",
    "read", "write", "send", "post", "put", "patch", "json", "isoformat", "strftime", "label", "desc",
    "asc", "where", "group_by", "scalars", "scalar", "one", "limit", "offset", "subquery", "alias",
})
_NON_UPDATING_WRITES = frozenset({"add", "setnx", "get_or_set"})
#: methods that run a task: the call reaches the task's body
_ENQUEUES = frozenset({"delay", "apply_async", "send", "s"}) | catalog.ON_COMMIT_HOOKS - {"on_commit"}
_IDENTITY_ATTRS = frozenset({"id", "pk", "uuid"})
_REST_OF_LINE = lazy_compile(r"[ \t]*(?:#[^\n]*)?\r?$")


@dataclass
class Sources:
    """What a value derives from: entities read (the first is the value's own),
    project functions called, and parameters it passes through."""

    entities: set[str] = field(default_factory=set)
    calls: list[str] = field(default_factory=list)
    params: set[str] = field(default_factory=set)
    primary: Read | None = None
    producer: str | None = None  # the project function whose result the value is
    reads: list[Read] = field(default_factory=list)
    #: project client classes whose method results the value passes through, and
    #: the sources left when those results are a remote API's (decided per project)
    remote: "tuple[list[str], Sources] | None" = None
    #: part of the value is known to come from elsewhere (a remote API's response)
    elsewhere: bool = False

    def facts(self) -> dict[str, Any]:
        out: dict[str, Any] = {"elsewhere": True} if self.elsewhere else {}
        for name, items in (("entities", self.entities), ("calls", self.calls), ("params", self.params)):
            if items:
                out[name] = sorted(items)
        out.update(self.primary_facts())
        out.update(self.column_facts())
        return out

    def column_facts(self) -> dict[str, Any]:
        columns = known_columns(self.reads)
        return {"cols": columns} if columns else {}

    def primary_facts(self) -> dict[str, Any]:
        if self.producer is not None:
            return {"primary_call": self.producer}
        if self.primary is not None:
            read = self.primary
            return {"primary": [read.entity, read.single, read.aggregate]} if read.plain else {}
        return {"primary_call": self.calls[0]} if self.calls else {}


class FileFacts:
    """Builds the SL301 facts of one module."""

    def __init__(self, module: "ModuleModel", ctx: "SourceFile") -> None:
        self.module = module
        self.ctx = ctx
        self.cm: CacheModel = cache_model(module)
        self.prefix = f"{module.module_name}." if module.module_name else ""
        self.recognition = module.recognition
        self.lifetimes = Lifetimes(self.cm)

    def qual(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def build(self) -> dict[str, Any] | None:
        facts: dict[str, Any] = {
            "consts": {self.qual(k): v for k, v in self.cm.key_constants.items()},
            "keyfns": {self.qual(k): v for k, v in self.cm.key_functions.items()},
            "instances": {self.qual(k): v for k, v in self.cm.instances.items()},
            "tables": self._tables(),
            "families": [],
            "functions": {},
            "writes": [],
            "hooks": self._connected_receivers(),
            "stores": [],
            "loads": [],
            "numbers": published(self.cm),
            "bases": class_bases(self.cm),
            "remote_classes": [self.qual(c.name) for c in self.module.classes if remote_api_class(c.bases)],
        }
        for fn in self.module.functions:
            self._function(fn, facts)
        if facts["writes"]:
            facts["clients"] = self._client_names()
        facts["defs"] = [self.qual(name) for name, value in self.module.global_values.items()
                         if self.cm.client_of(value) is not None]
        return {k: v for k, v in facts.items() if v}

    # -- per function ------------------------------------------------------------
    def _function(self, fn: "FunctionModel", facts: dict[str, Any]) -> None:
        qual = self.qual(fn.qualname)
        effects: dict[str, Any] = {}
        ops = self.cm.ops(fn)
        deletes = any(op.method in catalog.CACHE_DELETES for op in ops)
        for op in ops:
            self._op(fn, op, effects, facts, deletes)
        calls = sorted(set(self._calls(fn, effects)) | set(self._on_commit(fn, effects, facts, deletes)))
        if calls:
            effects["calls"] = calls
            fallback = self._outage_only_calls(fn)
            if fallback:
                effects["outage_calls"] = fallback
        read_list = self.cm.entities.function_reads(fn)
        reads = sorted({r.entity for r in read_list})
        if reads:
            effects["reads"] = reads
            columns = known_columns(read_list)
            if columns:
                effects["cols"] = columns
        returned = self._returned(fn, bool(reads)) if reads or calls else None
        if returned is not None:
            effects.update(returned.primary_facts())
        for memo in self.cm.memos(fn):
            if memo.client is not None:
                facts["families"].append(self._memo_family(fn, memo, reads, calls, returned))
        for hook in self._decorator_hooks(fn):
            facts["hooks"].append(hook)
        if fn.cls is not None and fn.name in ("save", "delete", "asave", "adelete"):
            facts["hooks"].append({"fn": qual, "entities": [entity_name(fn.cls.name)],
                                   "on": "save" if "save" in fn.name else "override_delete"})
        for write in self.cm.entities.of(fn).writes:
            facts["writes"].append(self._write(fn, write))
        if effects and entry_kind(fn, by_signature=False) != OTHER:
            effects["entry"] = True  # a view or task: reached on its own, not only through its callers
        if effects:
            facts["functions"][qual] = {k: sorted(v) if isinstance(v, set) else v for k, v in effects.items()}

    def _op(self, fn: "FunctionModel", op: CacheOp, effects: dict[str, Any], facts: dict[str, Any], deletes: bool) -> None:
        method = op.method
        if method in catalog.CACHE_CLEARS and not op.call.args:
            effects["clear"] = True
        elif method in catalog.EVENT_PUBLISH_METHODS:
            effects["publish"] = True
        elif method in ("delete_memoized", "delete_memoized_verhash") and op.call.args:
            target = self.cm.function_ref(op.call.args[0].value, fn)
            if target:
                effects.setdefault("memo", set()).add(target)
        elif method in catalog.CACHE_DELETES:
            templates = list(self.cm.deleted_templates(op, fn))
            effects.setdefault("keys", set()).update(t for t in templates if t)
            if None in templates:
                effects["opaque"] = True  # deletes keys we cannot read: trusted to cover
        elif method in catalog.CACHE_EXPIRES:
            if op.template:  # the key expires: changed as a delete changes it
                effects.setdefault("keys", set()).add(op.template)
        elif method in catalog.CACHE_PATTERN_DELETES or (method in catalog.CACHE_SCANS and deletes):
            pattern = self._pattern(op)
            if pattern:
                effects.setdefault("patterns", set()).add(pattern)
        elif method in catalog.CACHE_READS:
            if op.template:
                facts["loads"].append([op.template, self.qual(fn.qualname), _in_outage_handler(op.stmt)])
        elif method in catalog.CACHE_WRITES:
            if method in catalog.CACHE_READING_WRITES and op.template:
                facts["loads"].append([op.template, self.qual(fn.qualname), _in_outage_handler(op.stmt)])
            ttl = self.lifetimes.of(op, fn)
            for key_expr, template, value in self._written(op, fn):
                if method not in _NON_UPDATING_WRITES:
                    effects.setdefault("keys", set()).add(template)
                facts["stores"].append([template, ttl])
                family = self._family(fn, op, key_expr, template, value)
                if family is not None:
                    facts["families"].append(family)

    def _written(self, op: CacheOp, fn: "FunctionModel") -> Iterator[tuple[cst.BaseExpression, str, cst.BaseExpression | None]]:
        """(key, template, value) for each key the call writes."""
        if op.method in catalog.CACHE_MAPPING_WRITES:
            mapping = op.call.args[0].value if op.call.args else None
            if isinstance(mapping, cst.Dict):
                for el in mapping.elements:
                    if isinstance(el, cst.DictElement):
                        template = self.cm.key_template(el.key, fn, op.stmt.ordinal)
                        if template:
                            yield el.key, template, el.value
            return
        if op.key is not None and op.template:
            yield op.key, op.template, op.value

    def _pattern(self, op: CacheOp) -> str | None:
        for arg in op.call.args:
            if arg.keyword is None or arg.keyword.value in ("pattern", "match"):
                text = string_value(arg.value)
                if text is None and op.template:
                    text = op.template
                return text
        return None

    # -- key families -------------------------------------------------------------
    def _family(
        self, fn: "FunctionModel", op: CacheOp, key: cst.BaseExpression, template: str, value: cst.BaseExpression | None
    ) -> dict[str, Any] | None:
        if value is None or self._identity(fn, op, value):
            return None
        sources = self._sources(fn, op.stmt, value)
        if not sources.entities and not sources.calls and not (sources.params and not sources.elsewhere) \
                and sources.remote is None:
            return None
        line, col, _, _ = self.ctx.location(op.call, within=fn.node)
        family: dict[str, Any] = {
            "key": template, "fn": self.qual(fn.qualname), "line": line, "col": col,
            "client": self._client_ref(op), "async": op.client.library.is_async,
        }
        if op.client.imported:
            family["via"] = op.client.qualified
        family.update(sources.facts())
        if sources.remote is not None:
            clients, rest = sources.remote
            family["remote"] = {"clients": clients, **rest.facts()}
        versions = self.cm.versions_in(key, fn, op.stmt.ordinal)
        if versions:
            family["versions"] = versions
        rebuild = self._rebuildable(self._spelled_key(fn, op, key))
        if rebuild is not None:
            family["expr"], family["names"] = rebuild
        return family

    def _identity(self, fn: "FunctionModel", op: CacheOp, value: cst.BaseExpression) -> bool:
        """The value is a row's identity (``user.id``): updates never change it."""
        if isinstance(value, cst.Name):
            bound = self.cm.binding(fn, value.value, op.stmt.ordinal)
            value = bound if bound is not None else value
        return isinstance(value, cst.Attribute) and value.attr.value in _IDENTITY_ATTRS

    def _memo_family(
        self, fn: "FunctionModel", memo, reads: list[str], calls: list[str], returned: "Sources | None"
    ) -> dict[str, Any]:
        line, col, _, _ = self.ctx.location(memo.decorator, within=fn.node)
        family: dict[str, Any] = {
            "key": f"@{self.qual(fn.qualname)}", "fn": self.qual(fn.qualname), "line": line, "col": col,
            "label": f"{fn.name}() (@{memo.client.spelled}.{memo.method})" if memo.client.spelled else f"{fn.name}()",
        }
        related = self._related_reads(fn)
        if reads or related:
            family["entities"] = sorted(set(reads) | related)
        if calls:
            family["calls"] = calls
        if returned is not None:
            family.update(returned.primary_facts())
        prefix = memo.keyword("key_prefix")
        text = string_value(prefix) if prefix is not None else None
        if text and "%" not in text:
            family["alias"] = literal_template(text)
        if memo.client is not None and memo.client.library.name in catalog.PREFIX_CACHED_DECORATORS.get(memo.method, ()):
            family["prefixed"] = True  # keyed by its prefix alone: ``delete_memoized`` does not reach it
        return family

    def _related_reads(self, fn: "FunctionModel") -> set[str]:
        """Entities a model's method loads through its own relationships
        (``self.primary_group`` on a model whose ``primary_group`` relates to ``Group``)."""
        if fn.cls is None:
            return set()
        relations = {
            rel["n"]: rel["t"] for fact in model_facts(self.module) if fact["c"] == fn.cls.name
            for rel in fact.get("r", ()) if rel.get("t")
        }
        if not relations:
            return set()
        return {
            entity_name(relations[sub.attr.value]) for sub in walk(fn.node.body, into_functions=False)
            if isinstance(sub, cst.Attribute) and _is_name(sub.value, "self") and sub.attr.value in relations
        }

    def _producer(self, fn: "FunctionModel", stmt: "Stmt", value: cst.BaseExpression) -> str | None:
        """The project function whose result the value is (``data = build(x)``):
        what that function returns, not its arguments, says what the value holds."""
        for _ in range(4):
            if isinstance(value, cst.Await):
                value = value.expression
            if not isinstance(value, cst.Name):
                break
            bound = self.cm.binding(fn, value.value, stmt.ordinal)
            if bound is None:
                return None
            value = bound
        if isinstance(value, cst.Call):
            target = self._callee(value.func, fn)
            return target if target and not target.startswith("?") else None
        return None

    def _returned(self, fn: "FunctionModel", reads: bool) -> "Sources | None":
        """Where the function's (last) returned value comes from: traced through
        the function when it reads entities itself, else only the project
        function whose result it returns."""
        last = None
        for stmt in fn.stmts:
            node = stmt.node
            if isinstance(node, cst.SimpleStatementLine) and isinstance(node.body[0], cst.Return) and node.body[0].value:
                last = (stmt, node.body[0].value)
        if last is None:
            return None
        if reads:
            return self._sources(fn, *last)
        producer = self._producer(fn, *last)
        return Sources(producer=producer) if producer else None

    def _sources(self, fn: "FunctionModel", stmt: "Stmt", value: cst.BaseExpression) -> "Sources":
        """Entities, project calls and parameters the value derives from. A
        remote API's response is where a value comes from elsewhere: the rows
        the client or the call was given are not what the value holds."""
        clients: set[str] = set()

        def known_remote(bound: cst.BaseExpression) -> bool:
            client = self._remote_client(fn, bound)
            if client:
                clients.add(client)
            return client == ""

        out = self._traced(fn, stmt, value, known_remote)
        if clients:
            rest = self._traced(fn, stmt, value, lambda bound: self._remote_client(fn, bound) is not None)
            if rest.facts() != out.facts():
                out.remote = (sorted(clients), rest)
        return out

    def _remote_client(self, fn: "FunctionModel", bound: cst.BaseExpression) -> str | None:
        """``""`` when ``bound`` is a known remote call's result (an HTTP call, a
        method of a catalogued API client or of a class of this module deriving
        from one); the qualified project class when it is a method result of an
        instance of a class defined elsewhere in the project (the project phase
        knows its bases); None otherwise."""
        if isinstance(bound, cst.Await):
            bound = bound.expression
        if not isinstance(bound, cst.Call):
            return None
        func = bound.func
        qn = self.module.qualified(func)
        if qn is not None and (qn in catalog.IO_CALLS or qn.startswith(catalog.REMOTE_CALL_PREFIXES)):
            return ""
        if not isinstance(func, cst.Attribute) or func.attr.value.startswith("_"):
            return None
        receiver = func.value
        if isinstance(receiver, cst.Call) and self._remote_client(fn, receiver) == "":
            return ""  # ``requests.get(url).json()``
        if isinstance(receiver, cst.Name):
            receiver = self.cm.binding(fn, receiver.value) or receiver
        elif isinstance(receiver, cst.Attribute):
            receiver = self.cm._attr_binding(receiver, fn) or receiver
        kind = io_client_kind(self.module, receiver)
        if kind is not None:
            return "" if does_io(kind, func.attr.value) else None
        if not isinstance(receiver, cst.Call):
            return None
        cls = self.module.qualified(receiver.func)
        spelled = dotted(receiver.func)
        local = next((c for c in self.module.classes if c.name == spelled), None)
        if local is not None:
            return "" if remote_api_class(local.bases) else None
        if cls is None or cls in catalog.REMOTE_API_CLIENTS:
            return "" if cls is not None else None
        last = cls.rsplit(".", 1)[-1]
        return cls if self.module.project_import(cls) and last[:1].isupper() else None

    def _traced(
        self, fn: "FunctionModel", stmt: "Stmt", value: cst.BaseExpression,
        opaque: "Callable[[cst.BaseExpression], bool]",
    ) -> "Sources":
        reader = self.cm.entities
        out = Sources()
        if opaque(value):
            out.elsewhere = True
            return out

        def cut(bound: cst.BaseExpression) -> bool:
            found = opaque(bound)
            out.elsewhere = out.elsewhere or found
            return found

        names: set[str] = set()
        fetch_one = False
        flow = reader.dataflow(fn, stmt.ordinal, value, cut)
        bound_to = self._bound_names(fn, stmt.ordinal)
        for node in flow:
            subs = list(walk(node, into_functions=False))
            reads = reader.read_list(subs)
            name = bound_to.get(id(node))
            if name is not None:
                reads = self._narrowed(fn, name, reads, [n for n in flow if n is not node])
            out.reads.extend(reads)
            out.entities.update(r.entity for r in reads)
            if out.primary is None and reads:
                out.primary = reads[0]
            for target in self._project_calls(node, fn):
                if target not in out.calls:
                    out.calls.append(target)
            names.update(names_in(node))
            fetch_one = fetch_one or any(
                isinstance(c, cst.Call) and isinstance(c.func, cst.Attribute) and c.func.attr.value == "fetchone"
                for c in subs
            )
        if out.primary is not None and fetch_one:
            out.primary = replace(out.primary, single=True)
        out.producer = self._producer(fn, stmt, value)
        params = out.params
        for param in params_of(fn.node):
            if param.name.value in names and param.name.value not in ("self", "cls"):
                params.add(entity_name(param.name.value))
                if param.annotation is not None:
                    spelled = dotted(param.annotation.annotation)
                    if spelled:
                        params.add(entity_name(spelled))
        return out

    @staticmethod
    def _bound_names(fn: "FunctionModel", before: int) -> dict[int, str]:
        """id of each expression bound to a plain local name before ``before`` -> that name."""
        return {id(bound): name for s in fn.stmts if s.ordinal < before for name, bound in bindings(s.node)}

    def _narrowed(self, fn: "FunctionModel", name: str, reads: list[Read], uses: list[cst.CSTNode]) -> list[Read]:
        """One row bound to ``name`` and used only through its fields (``os.stat(p.image_path)``,
        ``_title(p)`` where ``_title`` reads ``p.name``): the value depends on those columns alone."""
        if not reads or any(not r.single or r.columns is not None for r in reads):
            return reads
        fields: set[str] = set()
        for node in uses:
            found = self._fields_of(name, node, fn, 0)
            if found is None:
                return reads
            fields |= found
        if not fields:
            return reads
        return [replace(r, columns=frozenset(fields)) for r in reads]

    def _fields_of(self, name: str, node: cst.CSTNode, fn: "FunctionModel | None", depth: int) -> set[str] | None:
        """The fields of ``name`` that ``node`` reads, following it into module
        functions it is passed to; None when the whole object escapes (passed
        elsewhere, a method called on it, used bare)."""
        fields: set[str] = set()
        heads: set[int] = set()
        for sub in walk(node, into_functions=False):
            if isinstance(sub, cst.Call) and isinstance(sub.func, cst.Attribute) and _is_name(sub.func.value, name):
                return None  # a method of the row: what it reads is unknown
            if isinstance(sub, cst.Attribute) and _is_name(sub.value, name):
                fields.add(sub.attr.value)
                heads.add(id(sub.value))
            elif isinstance(sub, cst.Call):
                picked = self._picked_fields(sub, name)
                if picked is not None:
                    fields |= picked
                    heads.update(id(a.value) for a in sub.args if _is_name(a.value, name))
                    continue
                for index, arg in enumerate(sub.args):
                    if _is_name(arg.value, name):
                        inner = self._helper_fields(sub, index, arg, depth)
                        if inner is None:
                            return None
                        fields |= inner
                        heads.add(id(arg.value))
        bare = any(isinstance(sub, cst.Name) and sub.value == name and id(sub) not in heads for sub in walk(node, into_functions=False))
        return None if bare else fields

    def _picked_fields(self, call: cst.Call, name: str) -> set[str] | None:
        """``model_to_dict(row, fields=["name", "email"])``: a library call copying
        the listed fields of the row passed first (None: not such a call)."""
        keyword = catalog.FIELD_PICKERS.get(self.module.qualified(call.func) or "")
        if keyword is None or not call.args or call.args[0].keyword is not None or not _is_name(call.args[0].value, name):
            return None
        listed = next((a.value for a in call.args if a.keyword is not None and a.keyword.value == keyword), None)
        if not isinstance(listed, (cst.List, cst.Tuple)) or not listed.elements:
            return None
        names = [string_value(el.value) for el in listed.elements]
        return None if None in names else set(names)  # type: ignore[arg-type]

    def _helper_fields(self, call: cst.Call, index: int, arg: cst.Arg, depth: int) -> set[str] | None:
        """The fields a module function reads of the parameter ``arg`` is passed as."""
        spelled = dotted(call.func)
        helper = self.module._defs.get(spelled) if spelled and depth < 2 else None
        if helper is None or arg.keyword is not None or arg.star:
            return None
        params = [p.name.value for p in helper.params.params]
        if index >= len(params):
            return None
        return self._fields_of(params[index], helper.body, None, depth + 1)

    def _spelled_key(self, fn: "FunctionModel", op: CacheOp, key: cst.BaseExpression) -> cst.BaseExpression:
        """``key`` itself, or what a local ``key = f"..."`` bound it to."""
        if isinstance(key, cst.Name) and not self.cm.is_global(fn, key):
            bound = self.cm.binding(fn, key.value, op.stmt.ordinal)
            if bound is not None:
                return bound
        return key

    def _rebuildable(self, key: cst.BaseExpression) -> tuple[str, list[str]] | None:
        """The key's source and the names it reads, when it calls nothing but
        ``str()`` and ``.format()`` (so it can be rebuilt where those names exist)."""
        for sub in walk(key):
            if isinstance(sub, cst.Call) and dotted(sub.func) != "str" and not (
                isinstance(sub.func, cst.Attribute) and sub.func.attr.value == "format"
            ):
                return None
        heads = {name for name in _head_names(key) if name != "str"}
        return self.module.cst.code_for_node(key), sorted(heads)

    def _client_ref(self, op: CacheOp) -> str | None:
        client = op.client
        if client.qualified:
            return client.qualified
        if client.spelled in self.module.global_values:
            return self.qual(client.spelled)
        return None

    # -- calls and hooks ------------------------------------------------------------
    def _calls(self, fn: "FunctionModel", effects: dict[str, Any]) -> Iterator[str]:
        configured_helpers = set(self.recognition.invalidation_helpers)
        publishers = set(self.recognition.event_publishers)
        handled = {id(w.call) for w in self.cm.entities.of(fn).writes} | {id(op.call) for op in self.cm.ops(fn)}
        for _, call in fn.calls():
            if id(call) in handled:
                continue
            func = call.func
            if isinstance(func, cst.Attribute) and func.attr.value in _ENQUEUES:
                func = func.value  # a task enqueued (now or on commit) is the task called
            spelled = dotted(func) or ""
            qn = self.module.qualified(func) if spelled and (configured_helpers or publishers) else None
            last = spelled.rsplit(".", 1)[-1]
            if spelled in configured_helpers or (qn and qn in configured_helpers) or last in configured_helpers:
                effects.setdefault("helpers", set()).add("*")
            if spelled in publishers or (qn and qn in publishers) or last in publishers or _PUBLISH.match(last):
                effects["publish"] = True  # subscribers elsewhere are trusted to invalidate
            if isinstance(func, cst.Attribute) and func.attr.value in catalog.MEMO_INVALIDATORS:
                target = self.cm.function_ref(func.value, fn)
                if target:
                    effects.setdefault("memo", set()).add(target)
            target = self._callee(func, fn)
            match = _HELPER.match(last)
            if match:  # trusted by its name unless the project shows what it does
                what = match.group("what") or match.group("what2")
                effects.setdefault("named", []).append([target or "", entity_name(what) if what else "*"])
            if target:
                yield target

    def _outage_only_calls(self, fn: "FunctionModel") -> list[str]:
        """Project functions the function calls only from handlers of a
        database outage (``except OperationalError:``)."""
        inside: set[str] = set()
        outside: set[str] = set()
        for stmt, call in fn.calls():
            target = self._callee(call.func, fn)
            if target:
                (inside if _in_outage_handler(stmt) else outside).add(target)
        return sorted(inside - outside)

    def _on_commit(self, fn: "FunctionModel", effects: dict[str, Any], facts: dict[str, Any], deletes: bool) -> Iterator[str]:
        """Work handed to ``on_commit`` runs once the write commits, so it
        invalidates as if done here: the cache calls of a lambda or a
        ``partial``, and the project function handed over (its callees)."""
        for stmt, call in fn.calls():
            if not isinstance(call.func, (cst.Name, cst.Attribute)) or (dotted(call.func) or "").rsplit(".", 1)[-1] != "on_commit":
                continue
            for arg in call.args:
                if arg.keyword is None or arg.keyword.value == "func":
                    yield from self._deferred(fn, stmt, arg.value, effects, facts, deletes)

    def _deferred(
        self, fn: "FunctionModel", stmt: "Stmt", handed: cst.BaseExpression, effects: dict[str, Any],
        facts: dict[str, Any], deletes: bool,
    ) -> Iterator[str]:
        """Record the invalidations of one callable handed to a commit hook; yield the project functions it calls."""
        if isinstance(handed, cst.Lambda):
            for sub in walk(handed.body):
                if isinstance(sub, cst.Call):
                    yield from self._deferred_call(fn, stmt, sub, effects, facts, deletes)
        elif isinstance(handed, cst.Call) and handed.args and self.module.qualified(handed.func) == "functools.partial":
            bound = cst.Call(func=handed.args[0].value, args=handed.args[1:])  # what the partial calls on commit
            yield from self._deferred_call(fn, stmt, bound, effects, facts, deletes)
        else:
            target = self._callee(handed, fn)
            if target:
                yield target

    def _deferred_call(
        self, fn: "FunctionModel", stmt: "Stmt", call: cst.Call, effects: dict[str, Any], facts: dict[str, Any], deletes: bool,
    ) -> Iterator[str]:
        op = self.cm.op_of(fn, stmt, call)
        if op is not None and op.method in catalog.CACHE_DELETES | catalog.CACHE_PATTERN_DELETES:
            self._op(fn, op, effects, facts, deletes)
            return
        func = call.func
        if isinstance(func, cst.Attribute) and func.attr.value in _ENQUEUES:
            func = func.value
        target = self._callee(func, fn) if op is None else None
        if target:
            yield target

    def _callee(self, func: cst.BaseExpression, fn: "FunctionModel") -> str | None:
        if isinstance(func, cst.Name):
            nested = f"{fn.qualname}.<locals>.{func.value}"
            if nested in self.module._defs:
                return self.qual(nested)
            if func.value in self.module._defs:
                return self.qual(func.value)
            qn = self.module.qualified(func)
            return qn if qn is not None and self.module.project_import(qn) else None
        if isinstance(func, cst.Attribute):
            receiver = dotted(func.value)
            if receiver in ("self", "cls") and fn.cls is not None:
                return self.qual(f"{fn.cls.name}.{func.attr.value}")
            qn = self.module.qualified(func)
            if qn is not None:
                internal = self.module.project_import(qn) and not catalog.DJANGO_MANAGERS & set(qn.split("."))
                return qn if internal else None
            if receiver is not None and func.attr.value not in _COMMON_METHODS and not func.attr.value.startswith("__"):
                # a method of an object we cannot type: a project method of that name
                # on a class the receiver's name names (``chal_class.delete`` -> ``BaseChallenge.delete``)
                return f"?{receiver.rsplit('.', 1)[-1]}.{func.attr.value}"
        return None

    def _project_calls(self, expr: cst.CSTNode, fn: "FunctionModel") -> Iterator[str]:
        for sub in walk(expr, into_functions=False):
            if isinstance(sub, cst.Call):
                target = self._callee(sub.func, fn)
                if target and not target.startswith("?"):
                    yield target

    def _decorator_hooks(self, fn: "FunctionModel") -> Iterator[dict[str, Any]]:
        for dec in fn.node.decorators:
            call = dec.decorator
            if not isinstance(call, cst.Call):
                continue
            qn = self.module.qualified(call.func)
            if qn in catalog.DJANGO_RECEIVER and call.args:
                on = self._signal_kind(call.args[0].value)
                sender = next((a.value for a in call.args if a.keyword is not None and a.keyword.value == "sender"), None)
                if on:
                    yield {"fn": self.qual(fn.qualname), "entities": [self._sender(sender)], "on": on}
            elif qn in catalog.SA_LISTENS_FOR and len(call.args) >= 2:
                hook = self._sa_hook(self.qual(fn.qualname), call.args[0].value, call.args[1].value)
                if hook:
                    yield hook

    def _connected_receivers(self) -> list[dict[str, Any]]:
        """``post_save.connect(handler, sender=Model)`` and ``event.listen(Model, "after_update", handler)``."""
        out: list[dict[str, Any]] = []
        if ".connect(" not in self.ctx.text and "listen(" not in self.ctx.text:
            return out
        for node in walk(self.module.cst):
            if not isinstance(node, cst.Call) or not node.args:
                continue
            func = node.func
            if isinstance(func, cst.Attribute) and func.attr.value == "connect":
                on = self._signal_kind(func.value)
                if on:
                    sender = next((a.value for a in node.args if a.keyword is not None and a.keyword.value == "sender"), None)
                    target = self._handler_ref(node.args[0].value)
                    if target:
                        out.append({"fn": target, "entities": [self._sender(sender)], "on": on})
            elif self.module.qualified(func) in catalog.SA_LISTENS_FOR and len(node.args) >= 3:
                target = self._handler_ref(node.args[2].value)
                hook = self._sa_hook(target, node.args[0].value, node.args[1].value) if target else None
                if hook:
                    out.append(hook)
        return out

    def _sa_hook(self, target: str, sender: cst.BaseExpression, event: cst.BaseExpression) -> dict[str, Any] | None:
        """A SQLAlchemy listener as a hook: mapper events fire for their model's
        rows; ``after_commit`` fires for every session commit, whatever it wrote."""
        on = _sa_event_kind(string_value(event))
        if on is None:
            return None
        entities = ["*"] if on == "commit" else [self._sender(sender)]
        return {"fn": target, "entities": entities, "on": on}

    def _handler_ref(self, expr: cst.BaseExpression) -> str | None:
        spelled = dotted(expr)
        if spelled is None:
            return None
        if spelled in self.module._defs:
            return self.qual(spelled)
        return self.module.qualified(expr)

    def _signal_kind(self, expr: cst.BaseExpression) -> str | None:
        exprs = [el.value for el in expr.elements] if isinstance(expr, (cst.List, cst.Tuple)) else [expr]
        kinds = set()
        for item in exprs:
            qn = self.module.qualified(item) if isinstance(item, (cst.Name, cst.Attribute)) else None
            if qn in catalog.DJANGO_SAVE_SIGNALS:
                kinds.add("save")
            elif qn in catalog.DJANGO_DELETE_SIGNALS:
                kinds.add("delete")
        return "+".join(sorted(kinds)) or None

    @staticmethod
    def _sender(expr: cst.BaseExpression | None) -> str:
        if expr is None:
            return "*"
        text = string_value(expr) or dotted(expr)
        return entity_name(text) if text else "*"

    # -- models, writes, clients -------------------------------------------------------
    def _tables(self) -> dict[str, str]:
        """Declared table names of the module's classes (``__tablename__``, ``Meta.db_table``)."""
        out: dict[str, str] = {}
        for info in self.module.classes:
            for stmt in info.node.body.body:
                for name, value in bindings(stmt):
                    if name == "__tablename__" and string_value(value):
                        out[entity_name(string_value(value))] = entity_name(info.name)  # type: ignore[union-attr]
                if isinstance(stmt, cst.ClassDef) and stmt.name.value == "Meta":
                    for inner in stmt.body.body:
                        for name, value in bindings(inner):
                            if name == "db_table" and string_value(value):
                                out[entity_name(string_value(value))] = entity_name(info.name)  # type: ignore[union-attr]
        return out

    def _write(self, fn: "FunctionModel", write) -> dict[str, Any]:
        line, col, end_line, end_col = self.ctx.location(write.call, within=fn.node)
        out: dict[str, Any] = {
            "entity": write.entity, "kind": write.kind, "desc": write.describe(),
            "fn": self.qual(fn.qualname), "loc": [line, col, end_line, end_col],
        }
        if write.insert:
            out["insert"] = True
        if write.columns is not None:
            out["columns"] = sorted(write.columns)
        anchor = self._anchor(fn, write.stmt, write.call)
        if anchor is not None:
            out["fix"] = anchor
        return out

    def _anchor(self, fn: "FunctionModel", stmt: "Stmt", call: cst.Call) -> dict[str, Any] | None:
        """Where a delete can go after the write (the start of the next line,
        at the statement's indentation), and the names in scope there."""
        node = stmt.node
        if not isinstance(node, cst.SimpleStatementLine) or len(node.body) != 1:
            return None
        small = node.body[0]
        value = small.value if isinstance(small, (cst.Expr, cst.Assign, cst.AnnAssign)) else None
        if isinstance(value, cst.Await):
            value = value.expression
        if value is not call:
            return None
        text = self.ctx.text
        start, end = self.ctx.span(call, fn.node)
        newline = text.find("\n", end)
        if newline < 0 or not _REST_OF_LINE.match(text, end, newline):
            return None
        line_start = text.rfind("\n", 0, start) + 1
        line = text[line_start:newline]
        indent = line[: len(line) - len(line.lstrip())]
        if not line.lstrip().startswith(self.module.cst.code_for_node(small)[:12]):
            return None  # the statement starts on an earlier line
        scope = set(param_names(fn.node))
        for s in fn.stmts:
            if s.ordinal <= stmt.ordinal:
                scope.update(name for name, _ in bindings(s.node))
        eol = "\r\n" if text[newline - 1 : newline] == "\r" else "\n"
        return {"offset": newline + 1, "indent": indent, "eol": eol, "scope": sorted(scope), "async": fn.is_async}

    def _client_names(self) -> dict[str, str]:
        """Qualified cache clients reachable by a module-level name here: qualified -> local."""
        used = {op.client.spelled for fn in self.module.functions for op in self.cm.ops(fn)}
        out: dict[str, str] = {}
        for local, qualified in self.module.imports.names.items():
            if "." not in local and (qualified in catalog.CACHE_OBJECTS or conventional_name(local) or local in used):
                out[qualified] = local
        for name, value in self.module.global_values.items():
            if self.cm.client_of(value) is not None:
                out[self.qual(name)] = name
        return out


def _sa_event_kind(name: str | None) -> str | None:
    if name in catalog.SA_SAVE_EVENTS:
        return "save"
    if name in catalog.SA_DELETE_EVENTS:
        return "delete"
    if name in catalog.SA_COMMIT_EVENTS:
        return "commit"
    return None


def _in_outage_handler(stmt: "Stmt") -> bool:
    """The statement runs in an ``except`` clause catching a database outage."""
    return any(
        kind == "except" and isinstance(node, cst.ExceptHandler)
        and _all_outages(caught_names(node))
        for kind, node in stmt.context
    )


def _all_outages(names: list[str]) -> bool:
    return bool(names) and all(name in catalog.DB_OUTAGE_ERRORS for name in names)


def _is_name(node: cst.CSTNode, name: str) -> bool:
    return isinstance(node, cst.Name) and node.value == name


def _head_names(expr: cst.BaseExpression) -> Iterator[str]:
    """Names read at the head of each reference (``product`` in ``product.id``)."""
    stack: list[cst.CSTNode] = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Name):
            yield node.value
        elif isinstance(node, cst.Attribute):
            stack.append(node.value)
        elif isinstance(node, cst.Call):
            stack.append(node.func)
            stack.extend(a.value for a in node.args)
        else:
            stack.extend(children(node))
