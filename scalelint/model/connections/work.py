"""What a function does besides using a database handle (SL101, SL103).

Every call is classified as ``use`` (touches the held handle), ``cheap``
(literals, builtins, string/dict methods, logging), ``io`` (blocking I/O:
HTTP, cloud SDKs, mail, task queues, sleeps, subprocesses), ``business`` (a
function of the checked project) or ``unknown``. Calls into the module's
own functions are looked into up to two levels deep, so a local
``notify_partner()`` that wraps ``requests.post`` is I/O. Also here: the
function's explicit transaction scopes and which local names are handles.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, Iterable

import libcst as cst

from scalelint.core.lazyre import lazy_compile
from scalelint.model import catalog, dbops
from scalelint.model.catalog import Resource
from scalelint.model.ioclients import does_io, io_client_kind
from scalelint.model.listeners import in_transaction_listeners
from scalelint.core.walk import dotted, walk

if TYPE_CHECKING:
    from scalelint.model.function import FunctionModel, Stmt
    from scalelint.model.module import ModuleModel

_CONVERSION = lazy_compile(catalog.CONVERSION_NAME)


def _conversion(name: str) -> bool:
    """``version_to_tuple``, ``to_utc``, ``parse_date``: a pure conversion by its name."""
    return bool(_CONVERSION.match(name))


#: how deep calls into the module's own functions are followed
HELPER_DEPTH = catalog.PROJECT_HELPER_DEPTH
HANDLE_KINDS = frozenset({"connection", "cursor", "session"})
_IO_CATEGORY = {"http": "http", "cloud": "cloud", "smtp": "mail", "mail_message": "mail", "rq": "queue", "socket": "socket"}


@dataclass(frozen=True)
class CallInfo:
    """What one call is, for the question "does this hold a connection for nothing"."""

    kind: str  # use | cheap | io | business | unknown
    label: str  # "requests.post()"
    category: str = ""  # for io: http | cloud | mail | queue | sleep | subprocess | socket | configured
    via: tuple[str, ...] = ()  # the I/O reached through local helpers: ("requests.post()",)
    #: an enqueue on a task this module imports from the project (``app.tasks.send.delay``):
    #: a broker round trip unless the project's call graph shows its own dispatcher
    task: str = ""

    @property
    def is_work(self) -> bool:
        return self.kind in ("io", "business")

    def describe(self) -> str:
        return self.label if not self.via else f"{self.label} (calls {' -> '.join(self.via)})"


@dataclass(frozen=True)
class Transaction:
    """An explicit transaction scope: a ``with`` block or a decorated function."""

    node: cst.CSTNode = field(repr=False)  # the With statement, or the decorator
    label: str  # "transaction.atomic()"
    library: str
    first: int  # ordinals of the statements inside
    last: int
    #: how to get work out of it, for messages
    after: str = "move it after the block"

    def contains(self, stmt: "Stmt") -> bool:
        return self.first <= stmt.ordinal <= self.last


def call_label(call: cst.Call) -> str:
    """How a call is named in messages: ``requests.post()``, ``EmailMessage(...).send()``."""
    func = call.func
    spelled = dotted(func)
    if spelled is None and isinstance(func, cst.Attribute):
        inner = func.value.expression if isinstance(func.value, cst.Await) else func.value
        head = f"{call_label(inner)[:-2]}(...)" if isinstance(inner, cst.Call) else "…"
        spelled = f"{head}.{func.attr.value}"
    return f"{spelled or 'call'}()"


def _signed_task(receiver: cst.BaseExpression) -> cst.BaseExpression:
    """The task behind a signature (``send.s(x)`` / ``send.signature(...)``), else the receiver."""
    if (isinstance(receiver, cst.Call) and isinstance(receiver.func, cst.Attribute)
            and receiver.func.attr.value in catalog.TASK_SIGNATURE_METHODS):
        return receiver.func.value
    return receiver


def short_spelling(expr: cst.BaseExpression) -> str | None:
    """``db`` / ``db.session``: a name, or one attribute of a name, as spelled (else None)."""
    if isinstance(expr, cst.Name):
        return expr.value
    if isinstance(expr, cst.Attribute) and isinstance(expr.value, cst.Name):
        return f"{expr.value.value}.{expr.attr.value}"
    return None


def root_name(expr: cst.BaseExpression) -> str | None:
    """The name a chain like ``conn.cursor().execute`` starts from."""
    while True:
        if isinstance(expr, cst.Attribute):
            expr = expr.value
        elif isinstance(expr, cst.Call):
            expr = expr.func
        elif isinstance(expr, cst.Subscript):
            expr = expr.value
        elif isinstance(expr, cst.Await):
            expr = expr.expression
        else:
            break
    return expr.value if isinstance(expr, cst.Name) else None


def sdk_request(qualified: str | None) -> str:
    """The I/O category of a call into a remote API's SDK (``stripe.Customer.create``), else ""."""
    if not qualified or "." not in qualified:
        return ""
    root, _, rest = qualified.partition(".")
    known = catalog.IO_SDK_METHODS.get(root)
    if known is None or "." not in rest:
        return ""
    method = rest.rsplit(".", 1)[1]
    method = method[: -len("_async")] if method.endswith("_async") else method
    return known[0] if method in known[1] else ""


def mentions(node: cst.CSTNode, names: frozenset[str] | set[str]) -> bool:
    return any(isinstance(sub, cst.Name) and sub.value in names for sub in walk(node))


def descendants_end(fn: "FunctionModel", stmt: "Stmt") -> int:
    """The ordinal of the last statement nested inside ``stmt`` (itself if none)."""
    depth = len(stmt.context)
    last = stmt.ordinal
    for later in fn.stmts[stmt.ordinal + 1 :]:
        if len(later.context) <= depth:
            break
        last = later.ordinal
    return last


class ModuleWork:
    """Per-module facts for classifying work: I/O clients bound at module
    level, task functions, and summaries of the module's own functions."""

    def __init__(self, module: "ModuleModel") -> None:
        self.module = module
        self._summaries: dict[str, CallInfo] = {}
        self._in_progress: set[str] = set()
        self._attribute_clients: dict[int, dict[str, str]] = {}

    @cached_property
    def by_qualname(self) -> dict[str, "FunctionModel"]:
        return {fn.qualname: fn for fn in self.module.functions}

    @cached_property
    def global_clients(self) -> dict[str, str]:
        out = {}
        for name, value in self.module.global_values.items():
            kind = self.client_kind_of_value(value)
            if kind:
                out[name] = kind
        return out

    def client_kind_of_value(self, value: cst.BaseExpression) -> str | None:
        return io_client_kind(self.module, value)

    def attribute_clients(self, cls: cst.ClassDef) -> dict[str, str]:
        """``self.x = requests.Session()`` in a method of the class (its ``__init__``
        usually): attribute name -> client kind; an attribute bound to anything else too
        is left out."""
        key = id(cls)
        if key not in self._attribute_clients:
            found: dict[str, str | None] = {}
            for node in walk(cls):
                if not isinstance(node, cst.Assign) or len(node.targets) != 1:
                    continue
                target = node.targets[0].target
                if isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) \
                        and target.value.value == "self":
                    kind = self.client_kind_of_value(node.value)
                    name = target.attr.value
                    found[name] = kind if found.get(name, kind) == kind else None
            self._attribute_clients[key] = {name: kind for name, kind in found.items() if kind}
        return self._attribute_clients[key]

    @cached_property
    def imports_sqlalchemy(self) -> bool:
        return any(q.split(".")[0] in ("sqlalchemy", "sqlmodel") for q in self.module.imports.names.values())

    @cached_property
    def task_functions(self) -> frozenset[str]:
        """Module-level functions decorated as task-queue tasks."""
        out = set()
        for fn in self.module.functions:
            if fn.cls is not None or "." in fn.qualname:
                continue
            for dec in fn.node.decorators:
                target = dec.decorator.func if isinstance(dec.decorator, cst.Call) else dec.decorator
                qn = self.module.qualified(target)
                if qn in catalog.TASK_DECORATORS or (
                    isinstance(target, cst.Attribute) and target.attr.value in catalog.TASK_DECORATOR_ATTRS
                ):
                    out.add(fn.qualname)
        return frozenset(out)

    def annotated_handle(self, annotation: cst.BaseExpression) -> Resource | None:
        """The session or connection a type annotation names (``Session``,
        ``Annotated[Session, Depends(get_db)]``, a module-level alias of it)."""
        annotation = self._annotated_type(annotation)
        if not isinstance(annotation, (cst.Name, cst.Attribute)):
            return None
        qn = self.module.qualified(annotation)
        if qn is None:
            return None
        res = catalog.CALL_RESULTS.get(qn)
        if res is not None and res.kind in ("session", "connection"):
            return res
        name = qn.rsplit(".", 1)[-1]
        if (
            name.endswith(catalog.SESSION_TYPE_SUFFIX)
            and self.module.project_import(qn)
            and self.imports_sqlalchemy
        ):
            return Resource("session", "sqlalchemy")
        return None

    def imported_type(self, annotation: cst.BaseExpression) -> str | None:
        """The project name an annotation imports (``SessionDep`` from ``app.api.deps``),
        which another module's facts may show to be a session alias."""
        named = self._annotated_type(annotation)
        if not isinstance(named, (cst.Name, cst.Attribute)):
            return None
        qn = self.module.qualified(named)
        if qn is None or "." not in qn or not self.module.project_import(qn):
            return None
        return qn if any(word in qn.rsplit(".", 1)[1] for word in catalog.SESSION_ALIAS_WORDS) else None

    def _annotated_type(self, annotation: cst.BaseExpression, depth: int = 2) -> cst.BaseExpression:
        """The type an annotation names: ``Annotated[Session, Depends(get_db)]`` is
        ``Session``, and so is a module-level alias of it (``SessionDep``) or a
        ``NewType`` over it."""
        if isinstance(annotation, cst.Subscript) and annotation.slice:
            if self.module.qualified(annotation.value) in catalog.ANNOTATED_FORMS:
                first = annotation.slice[0].slice
                if isinstance(first, cst.Index):
                    return self._annotated_type(first.value, depth)
            return annotation
        if isinstance(annotation, cst.Name) and depth > 0 and not self.module.imports.imported(annotation.value):
            alias = self.module.global_values.get(annotation.value)
            if isinstance(alias, cst.Subscript):
                return self._annotated_type(alias, depth - 1)
            if isinstance(alias, cst.Call) and self.module.qualified(alias.func) in catalog.NEWTYPE_FORMS:
                args = [arg.value for arg in alias.args if arg.keyword is None]
                if len(args) == 2:  # ``AsyncSession = NewType("AsyncSession", _AsyncSession)``
                    return self._annotated_type(args[1], depth - 1)
        return annotation

    def summary(self, qualname: str, depth: int) -> CallInfo | None:
        """io / cheap / business for one of the module's functions (None: unknown)."""
        if depth <= 0 or qualname in self._in_progress:
            return None
        key = f"{qualname}@{depth}"
        if key in self._summaries:
            return self._summaries[key]
        fn = self.by_qualname.get(qualname)
        if fn is None:
            return None
        self._in_progress.add(qualname)
        result = CallInfo("cheap", "")
        for _, call in fn.calls():
            info = work_of(fn).classify(call, depth=depth - 1)
            if info.kind == "io":
                result = CallInfo("io", "", info.category, (info.label, *info.via), info.task)
                break
            if info.kind != "cheap":
                result = CallInfo("business", "")
        if result.kind == "business" and any(h.resource.kind in HANDLE_KINDS for h in fn.holds):
            result = CallInfo("unknown", "")  # database work on its own connection, not business logic
        self._in_progress.discard(qualname)
        self._summaries[key] = result
        return result


def module_work(module: "ModuleModel") -> ModuleWork:
    return module.derived("work", lambda: ModuleWork(module))


class FunctionWork:
    """Call classification, transaction scopes and database handles of one function."""

    def __init__(self, fn: "FunctionModel") -> None:
        self.fn = fn
        self.module = fn.module
        self.mw = module_work(fn.module)
        #: id(call) -> (call, its direct I/O): the call summaries and the session events ask of every call
        self._direct: dict[int, tuple[cst.Call, CallInfo | None]] = {}

    # -- task signatures -------------------------------------------------------------
    @cached_property
    def _signatures(self) -> dict[str, cst.BaseExpression]:
        """Locals bound once, by assignment, to a task's signature
        (``notify = send.signature((uid,), immutable=True)``): name -> the task."""
        bound: dict[str, list[cst.BaseExpression]] = {}
        for stmt in self.fn.stmts:
            if isinstance(stmt.node, cst.SimpleStatementLine):
                for small in stmt.node.body:
                    if isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(
                            small.targets[0].target, cst.Name):
                        bound.setdefault(small.targets[0].target.value, []).append(small.value)
        out: dict[str, cst.BaseExpression] = {}
        for name, values in bound.items():
            if len(values) == 1 and (task := _signed_task(values[0])) is not values[0]:
                out[name] = task
        return out

    def _task_of(self, receiver: cst.BaseExpression) -> cst.BaseExpression:
        """What ``.delay()``/``.apply_async()`` is called on, through a signature
        built in place or bound to a local first."""
        if isinstance(receiver, cst.Name) and receiver.value in self._signatures:
            return self._signatures[receiver.value]
        return _signed_task(receiver)

    # -- handles ------------------------------------------------------------------
    @cached_property
    def handles(self) -> dict[str, Resource]:
        """Local names bound to a connection, cursor or session: assignments,
        ``with`` targets (``with engine.begin() as conn``) and annotated parameters."""
        env = {k: v for k, v in self.fn.env.items() if v.kind in HANDLE_KINDS}
        for stmt in self.fn.stmts:
            if isinstance(stmt.node, cst.With):
                for item in stmt.node.items:
                    if item.asname is None or not isinstance(item.asname.name, cst.Name):
                        continue
                    yielded = self._transaction_yield(item.item)
                    if yielded is not None:
                        env.setdefault(item.asname.name.value, yielded)
        params = self.fn.node.params
        for param in (*params.posonly_params, *params.params, *params.kwonly_params):
            if param.annotation is not None and param.name.value not in env:
                res = self._annotated(param.annotation.annotation)
                if res is not None:
                    env[param.name.value] = res
        return env

    def _transaction_yield(self, expr: cst.BaseExpression) -> Resource | None:
        inner = expr.expression if isinstance(expr, cst.Await) else expr
        if not (isinstance(inner, cst.Call) and isinstance(inner.func, cst.Attribute)):
            return None
        res = self.fn.resource_of(inner)
        if res is None or res.kind != "transaction":
            return None
        source = self.fn.resource_of(inner.func.value)
        if source is None:
            return None
        kind = catalog.TRANSACTION_YIELDS.get((source.library, source.kind))
        return Resource(kind, source.library, is_async=source.is_async) if kind else None

    def _annotated(self, annotation: cst.BaseExpression) -> Resource | None:
        return self.mw.annotated_handle(annotation)

    def handle_of(self, expr: cst.BaseExpression) -> Resource | None:
        """The handle an expression evaluates to (None: not a recognised handle)."""
        if isinstance(expr, cst.Name) and expr.value in self.handles:
            return self.handles[expr.value]
        if isinstance(expr, cst.Attribute) and expr.attr.value == "session" and isinstance(expr.value, cst.Name):
            owner = expr.value.value
            if owner in catalog.CONVENTIONAL_SESSION_OWNERS and (
                self.module.imports.imported(owner) or owner in self.module.global_values
            ):
                return Resource("session", "flask_sqlalchemy")
        res = self.fn.resource_of(expr)
        return res if res is not None and res.kind in HANDLE_KINDS else None

    # -- transactions -----------------------------------------------------------------
    @cached_property
    def transactions(self) -> list[Transaction]:
        out: list[Transaction] = []
        last = len(self.fn.stmts) - 1
        for dec in self.fn.node.decorators:
            target = dec.decorator.func if isinstance(dec.decorator, cst.Call) else dec.decorator
            res = catalog.CALL_RESULTS.get(self.module.qualified(target) or "")
            if res is not None and res.kind == "transaction" and last >= 0 and not self._on_replica(dec.decorator):
                out.append(Transaction(dec, f"@{dotted(target)}", res.library, 0, last))
        listener = in_transaction_listeners(self.module).get(self.fn.qualname)
        if listener is not None and last >= 0:
            out.append(Transaction(listener.node, f"{listener.label}, which runs before the commit",
                                   "sqlalchemy", 0, last, after="do it from an after_commit listener"))
        for stmt in self.fn.stmts:
            if not isinstance(stmt.node, cst.With):
                continue
            for item in stmt.node.items:
                res = self.fn.resource_of(item.item) or self._session_begin(item.item)
                if res is None:
                    continue
                if res.kind == "transaction" and self._on_replica(item.item):
                    continue
                if res.kind == "transaction" or (res.kind == "connection" and res.with_is_transaction):
                    expr = item.item.expression if isinstance(item.item, cst.Await) else item.item
                    label = call_label(expr) if isinstance(expr, cst.Call) else f"`with {dotted(expr) or '…'}:`"
                    out.append(Transaction(stmt.node, label, res.library, stmt.ordinal + 1, descendants_end(self.fn, stmt)))
                    break
        return out

    def _on_replica(self, expr: cst.BaseExpression) -> bool:
        """``transaction.atomic(using=<a replica alias>)``: a read-only snapshot on the
        replica, where nothing is written or committed (not a transaction for SL103)."""
        return isinstance(expr, cst.Call) and any(
            arg.keyword is not None and arg.keyword.value == "using"
            and dbops.names_replica(arg.value, self.module.recognition) for arg in expr.args
        )

    def _session_begin(self, expr: cst.BaseExpression) -> Resource | None:
        """``session.begin()`` on a session this function did not open (a parameter,
        ``db.session``): a transaction like any other."""
        if isinstance(expr, cst.Await):
            expr = expr.expression
        if not (isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute)):
            return None
        if expr.func.attr.value not in catalog.SESSION_BEGIN_METHODS:
            return None
        handle = self.handle_of(expr.func.value)
        return Resource("transaction", handle.library) if handle is not None and handle.kind == "session" else None

    def transaction_of(self, stmt: "Stmt") -> Transaction | None:
        """The outermost explicit transaction the statement runs in."""
        for tx in self.transactions:
            if tx.contains(stmt):
                return tx
        return None

    # -- classifying calls ------------------------------------------------------------
    @cached_property
    def local_clients(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for stmt in self.fn.stmts:
            node = stmt.node
            pairs: list[tuple[cst.BaseExpression, cst.BaseExpression]] = []
            if isinstance(node, cst.SimpleStatementLine):
                for small in node.body:
                    if isinstance(small, cst.Assign) and len(small.targets) == 1:
                        pairs.append((small.targets[0].target, small.value))
                    elif isinstance(small, cst.AnnAssign) and small.value is not None:
                        pairs.append((small.target, small.value))
            elif isinstance(node, cst.With):
                pairs.extend((i.asname.name, i.item) for i in node.items if i.asname is not None)
            for target, value in pairs:
                if isinstance(target, cst.Name):
                    kind = self.mw.client_kind_of_value(value)
                    if kind:
                        out[target.value] = kind
        return out

    def _client_kind(self, receiver: cst.BaseExpression) -> str | None:
        if isinstance(receiver, cst.Name):
            return self.local_clients.get(receiver.value) or (
                None if receiver.value in self.local_clients else self.mw.global_clients.get(receiver.value)
            )
        if isinstance(receiver, (cst.Call, cst.Await)):
            return self.mw.client_kind_of_value(receiver)
        if isinstance(receiver, cst.Attribute) and isinstance(receiver.value, cst.Name) \
                and receiver.value.value == "self" and self.fn.cls is not None:
            return self.mw.attribute_clients(self.fn.cls.node).get(receiver.attr.value)
        return None

    def _hands_mail_messages(self, call: cst.Call) -> bool:
        """An argument is a mail message (``[message]``, ``messages``: a ``mail_message`` client)."""
        for arg in call.args:
            value = arg.value
            items = [el.value for el in value.elements] if isinstance(value, (cst.List, cst.Tuple)) else [value]
            if any(self._client_kind(item) == "mail_message" for item in items):
                return True
        return False

    def classify(self, call: cst.Call, held: Iterable[str] = (), *, depth: int = HELPER_DEPTH) -> CallInfo:
        label = call_label(call)
        held = frozenset(held)
        if held and (root_name(call.func) in held or any(mentions(a.value, held) for a in call.args)):
            return CallInfo("use", label)
        io = self._io(call, label, depth)
        if io is not None:
            return io
        if self._cheap(call):
            return CallInfo("cheap", label)
        if self.fn.resource_of(call) is not None:
            return CallInfo("unknown", label)  # acquiring another resource is not business logic
        local = self.local_target(call.func)
        if local is not None:
            summary = self.mw.summary(local, depth)
            if summary is not None and summary.kind in ("cheap", "unknown"):
                return CallInfo(summary.kind, label)
            return CallInfo("business", label)
        qn = self.module.qualified(call.func)
        if qn is not None and self.module.project_import(qn):
            return CallInfo("business", label)
        return CallInfo("unknown", label)

    def direct_io(self, call: cst.Call) -> CallInfo | None:
        """The blocking I/O the call itself does (helpers not looked into), if any.
        Depth 0 asks no helper's summary, so the answer depends on the call
        alone and is kept (CallInfo is frozen)."""
        known = self._direct.get(id(call))
        if known is not None and known[0] is call:
            return known[1]
        info = self._io(call, "", 0)
        found = None if info is None else replace(info, label=call_label(call))
        self._direct[id(call)] = (call, found)
        return found

    def _io(self, call: cst.Call, label: str, depth: int) -> CallInfo | None:
        func = call.func
        qn = self.module.qualified(func)
        if qn in catalog.IO_CALLS:
            return CallInfo("io", label, catalog.IO_CALLS[qn])
        sdk = sdk_request(qn)
        if sdk:
            return CallInfo("io", label, sdk)
        configured = self.module.recognition.io_functions
        if configured and (qn in configured or dotted(func) in configured):
            return CallInfo("io", label, "configured")
        if isinstance(func, cst.Attribute):
            method = func.attr.value
            kind = self._client_kind(func.value)
            if kind is not None:
                if does_io(kind, method):
                    return CallInfo("io", label, _IO_CATEGORY[kind])
            elif method in catalog.MAIL_BACKEND_SENDS and self._hands_mail_messages(call):
                return CallInfo("io", label, "mail")  # a backend of unknown class, given messages to send
            task = self._task_of(func.value)
            if method in catalog.TASK_ENQUEUE_METHODS and self._is_task(task):
                return CallInfo("io", label, "queue", task=self._project_task(task, method))
        local = self.local_target(func)
        if local is not None:
            summary = self.mw.summary(local, depth)
            if summary is not None and summary.kind == "io":
                return CallInfo("io", label, summary.category, summary.via, summary.task)
        return None

    def _is_task(self, receiver: cst.BaseExpression) -> bool:
        qn = self.module.qualified(receiver)
        if qn is not None and catalog.TASK_MODULE_PART in qn.split(".")[:-1]:
            return True
        return isinstance(receiver, cst.Name) and receiver.value in self.mw.task_functions

    def _project_task(self, receiver: cst.BaseExpression, method: str) -> str:
        """``app.tasks.send.delay`` for a task imported from the project's own code
        (its decorator, seen only by the call graph, says what enqueuing does); ""
        for one this module decorates itself."""
        qn = self.module.qualified(receiver)
        if qn is None or not self.module.project_import(qn) or "." not in qn:
            return ""
        return f"{qn}.{method}"

    def _cheap(self, call: cst.Call) -> bool:
        func = call.func
        if isinstance(func, cst.Name):
            name = func.value
            if self.module.imports.imported(name):  # a class is a constructor: cheap
                return name[:1].isupper() or _conversion(name) or self._cheap_qualified(self.module.qualified(func) or "")
            if name in catalog.CHEAP_BUILTINS or name in ("_", "gettext", "gettext_lazy"):
                return self.local_target(func) is None
            return name[:1].isupper() and self.local_target(func) is None  # a constructor
        if isinstance(func, cst.Attribute):
            qn = self.module.qualified(func)
            if qn is not None and self._cheap_qualified(qn):
                return True
            receiver = func.value
            spelled = dotted(receiver) or ""
            if spelled.rsplit(".", 1)[-1] in catalog.LOGGER_NAMES:
                return True
            if isinstance(receiver, (cst.SimpleString, cst.FormattedString, cst.ConcatenatedString)):
                return True
            return func.attr.value in catalog.CHEAP_METHODS or _conversion(func.attr.value)
        return False

    @staticmethod
    def _cheap_qualified(qn: str) -> bool:
        parts = qn.split(".")
        return any(".".join(parts[:n]) in catalog.CHEAP_MODULES for n in range(1, len(parts) + 1))

    def local_function(self, func: cst.BaseExpression) -> "FunctionModel | None":
        """The module function or same-class method a call targets, if any."""
        target = self.local_target(func)
        return self.mw.by_qualname.get(target) if target is not None else None

    def local_target(self, func: cst.BaseExpression) -> str | None:
        """The qualname of the module function or same-class method a call targets."""
        defs = self.mw.by_qualname
        if isinstance(func, cst.Name):
            nested = f"{self.fn.qualname}.<locals>.{func.value}"
            if nested in defs:
                return nested
            if func.value in defs and not self.module.imports.imported(func.value):
                return func.value
            return None
        if (
            isinstance(func, cst.Attribute)
            and isinstance(func.value, cst.Name)
            and func.value.value in ("self", "cls")
            and self.fn.cls is not None
        ):
            prefix = self.fn.qualname.rpartition(".")[0]
            method = f"{prefix}.{func.attr.value}"
            return method if method in defs else None
        return None


def work_of(fn: "FunctionModel") -> FunctionWork:
    """The call classification of ``fn``, built once per function."""
    return fn.derived("work", lambda: FunctionWork(fn))
