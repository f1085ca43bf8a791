"""What each module's functions do, as project facts, and the project's call
graph built from them (SL101, SL103 across modules).

File phase: every module publishes one small fact record (``FACTS_KEY``): its
dotted name, the project names it imports, its module-level handles and
session type aliases (``SessionDep = Annotated[Session, Depends(get_db)]``),
its module-level instances of classes (``stripe = StripeService()``), its
classes with their bases, the project class each function is annotated to
return (``def notify_client() -> Notify``: a method called on a local bound to
its result is looked up there), its ``@abstractmethod`` methods (a call on the
base class runs one of the subclasses' overrides: the graph makes each a
function calling them all), and per function that makes calls its lines, the
first blocking I/O it does itself, the project callables it calls (resolved
through its imports) and whether it is an entry point. A request module also
records the project names it uses other than by a call (``refs``) and the
method names it calls on objects it cannot place (``dyn``): callers the graph
cannot see (scalelint.model.connections.callers).

Project phase: :class:`CallGraph` indexes those records by dotted name,
resolves every call (imports and re-exports, ``module.instance.method``,
``Class.method`` through the bases, constructors) and propagates "does
blocking I/O" to a fixed point over reverse edges, keeping for each function
the callee that led there, so a message can show the chain down to the I/O.
An enqueue on a task the project defines counts as I/O unless the task's
decorators are all the project's own and their ``delay``/``apply_async`` does
none (``enqueues_to_broker``); a call whose literal keyword arguments take the
callee's early return before its I/O does not lead there (``io_chain_for``,
scalelint.model.connections.guards).
"""
from __future__ import annotations

import ast
import marshal
import re
from collections import deque
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Mapping, Sequence

import libcst as cst

from scalelint.model import catalog, schedules, tasknames, textuses
from scalelint.model.connections import ambient, guards
from scalelint.model.connections.work import module_work, work_of
from scalelint.model.connections.writes import session_end, session_write
from scalelint.model.spots import statement_locator

if TYPE_CHECKING:
    from scalelint.model.function import FunctionModel, Stmt
    from scalelint.model.module import ModuleModel

#: the shared fact family (published by the checker for every rule that reads
#: it; modules never parsed publish what their text imports: scalelint.model.textuses)
FACTS_KEY = textuses.FACTS_KEY
#: the project's call graph (ProjectIndex.derived), built from the summaries
CALL_GRAPH = FACTS_KEY
#: words of a file that may do blocking I/O itself or schedule jobs (parsed for
#: its facts even when no rule's vocabulary matches it)
VOCABULARY = catalog.IO_VOCABULARY + catalog.SCHEDULE_VOCABULARY
#: how many imports and re-exports one name is followed through
MAX_HOPS = 8

#: ``Class.<super>.method``: ``super().method()`` called in ``Class``, looked up in its bases
SUPER = "<super>"
#: ``module.factory.<returned>.method``: a method called on what a project function returns
#: (``client = make_client(); client.send()``), looked up on the class it is annotated to return
RETURNED = "<returned>"

#: the line of a call of a statement, for the few facts that need one (0: unknown)
Locate = Callable[[cst.Call, "Stmt"], int]


# == file phase ======================================================================
def call_target(fn: "FunctionModel", call: cst.Call) -> str | None:
    """The dotted project name a call goes to, as far as this module can tell:
    its own function or method, an imported project callable, a method of an
    imported project object, of a module-level instance or of a new instance
    (``importer = Importer(); importer.run()``, ``Control(...).status()``), a constructor."""
    module = fn.module
    own = module.module_name
    work = work_of(fn)
    func = call.func
    local = work.local_target(func)
    if local is not None:
        return _join(own, local)
    if isinstance(func, cst.Name) and not module.imports.imported(func.value):
        if any(info.name == func.value for info in module.classes) and func.value not in fn.env:
            return _join(own, func.value)
        return None
    if isinstance(func, cst.Attribute) and _is_super(func.value) and fn.cls is not None:
        return _join(own, f"{fn.qualname.rpartition('.')[0]}.{SUPER}.{func.attr.value}")  # the graph looks in the bases
    if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
        owner = func.value.value
        if owner in ("self", "cls") and fn.cls is not None:
            return _join(own, f"{fn.qualname.rpartition('.')[0]}.{func.attr.value}")  # inherited: the graph looks up
        if owner in module_instances(module):
            return _join(own, f"{owner}.{func.attr.value}") if owner not in fn.env else None
        if (cls := local_instances(fn).get(owner)) is not None:
            return f"{cls}.{func.attr.value}"
    if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Call):
        if (cls := instance_class(module, func.value)) is not None:
            return f"{cls}.{func.attr.value}"
    qualified = module.qualified(func)
    if qualified is not None and "." in qualified and module.project_import(qualified):
        return qualified
    return None


def _is_super(expr: cst.BaseExpression) -> bool:
    """``super()`` (no arguments: the enclosing class)."""
    return isinstance(expr, cst.Call) and isinstance(expr.func, cst.Name) and expr.func.value == "super" and not expr.args


def module_facts(module: "ModuleModel", text: str, tree: ast.Module | None = None,
                 request: bool = True) -> dict[str, Any] | None:
    """The module's record for the call graph (None when it has no dotted name).
    ``tree`` is CPython's tree of ``text`` when the caller has one; a
    ``request`` module also records the names it uses other than by a call
    it resolves (scalelint.model.connections.callers), and every module the
    functions it schedules (``sched``: scalelint.model.schedules), the names
    its tasks are registered under (``tasknames``) and the tasks it enqueues by
    name (``byname``: scalelint.model.tasknames)."""
    name = module.module_name
    if not name:
        return None
    facts: dict[str, Any] = {"module": name}
    imports = {local: qn for local, qn in module.imports.names.items() if module.project_import(qn)}
    handles = _handles(module)
    instances = module_instances(module)
    classes = {info.name: [_base(module, b) for b in info.bases if b] for info in module.classes}
    if tree is None:
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError):
            tree = None
    locator = statement_locator(module, text, tree)
    # the call records and the session events place the same calls: each is located once
    spots: dict[int, tuple[cst.Call, tuple[int, int, int, int] | None]] = {}

    def spot(call: cst.Call, stmt: "Stmt") -> list[int] | None:
        known = spots.get(id(call))
        if known is None or known[0] is not call:
            known = spots[id(call)] = (call, locator.locate(call, stmt.node))
        return list(known[1]) if known[1] is not None else None

    def locate(call: cst.Call, stmt: "Stmt") -> int:
        found = spot(call, stmt)
        return found[0] if found is not None else 0

    dynamic: dict[str, None] = {}
    spans = function_spans(tree, text)
    functions = _functions(module, locate, spans, dynamic, spot)
    refs = _references(name, imports, tree, text) if request else []
    returns = _returns(module)
    abstract = _abstract_methods(module, locate_def=lambda fn: spans.get(fn.qualname, (0, 0))[0])
    scheduled = schedules.scheduled_names(module, text)
    for key, value in (("imports", imports), ("handles", handles), ("instances", instances),
                       ("classes", classes), ("functions", functions), ("refs", refs),
                       ("dyn", list(dynamic) if request else []), ("sched", scheduled),
                       ("tasknames", tasknames.registered_names(module)),
                       ("byname", textuses.enqueued_by_name(text)), ("returns", returns), ("abstract", abstract)):
        if value:
            facts[key] = value
    return facts if len(facts) > 1 else None  # nothing another module could call or import


#: decorators that neither register a function nor change who calls it
PLAIN_DECORATORS = frozenset({
    "staticmethod", "classmethod", "property", "setter", "getter", "deleter", "cached_property",
    "abstractmethod", "overload", "override", "wraps", "cache", "lru_cache", "contextmanager",
    "asynccontextmanager",
})


def _functions(module: "ModuleModel", locate: Locate, spans: dict[str, tuple[int, int]],
               dynamic: dict[str, None], spot: ambient.Spot) -> dict[str, list[Any]]:
    """qualname -> [def line, first direct I/O as [label, category, line] or None,
    targets, first direct write through a borrowed session not committed after
    it as [label, line] or None, last line, flags ("e": an entry point, "t": a
    task-queue task), enqueues, decorators, argument records, the request session's
    events and their ``if`` arms (scalelint.model.connections.ambient)];
    ``dynamic`` gathers the method names called on objects this module cannot place."""
    out: dict[str, list[Any]] = {}
    for fn in module.functions:
        if ".<locals>." in fn.qualname and fn.qualname.rpartition(".")[2] not in catalog.TASK_ENQUEUE_METHODS:
            continue  # nested: no caller names it (but a decorator's own ``delay`` is its dispatcher)
        work = work_of(fn)
        io: list[Any] | None = None
        write: list[Any] | None = None
        targets: dict[str, None] = {}
        enqueues: list[Any] = []
        records: dict[str, list[Any]] = {}  # target -> its calls' guards.call_record
        calls = False
        known: dict[int, str | None] = {}  # id(call) -> its target: the session events ask again (calls stay alive)

        def target_of(call: cst.Call, fn: "FunctionModel" = fn, known: dict[int, str | None] = known) -> str | None:
            key = id(call)
            if key not in known:
                known[key] = call_target(fn, call)
            return known[key]

        for stmt, call in fn.calls():
            calls = True
            info = work.direct_io(call)
            if info is not None and _enqueues(call) and (target := target_of(call)) is not None:
                targets.setdefault(target, None)  # ``task.delay``: who enqueues a job (callers)
            if info is not None and info.task:
                if len(enqueues) < 4:
                    enqueues.append([info.label, locate(call, stmt), info.task, stmt.ordinal])
            elif info is not None:
                if io is None:
                    io = [info.label, info.category, locate(call, stmt), stmt.ordinal]
            elif write is None and (label := session_write(fn, call)) is not None:
                write = [label, locate(call, stmt)]
            elif write is not None and session_end(fn, call):
                write = None  # committed (or rolled back) before returning: the caller holds no write
            elif (target := target_of(call)) is not None:
                targets.setdefault(target, None)
                if len(calls_of := records.setdefault(target, [])) < guards.MAX_CALLS:
                    calls_of.append(guards.call_record(fn, stmt, call))
            elif isinstance(call.func, cst.Attribute) and module.qualified(call.func) is None and not _is_super(
                    call.func.value):
                dynamic.setdefault(call.func.attr.value, None)
                if (returned := returned_target(fn, call)) is not None:
                    targets.setdefault(returned, None)  # resolved if the function is annotated with its class
        decorators = _decorators(fn)
        if calls or decorators:  # else nothing to report on its callers' behalf
            first, last = spans.get(fn.qualname, (0, 0))
            flags = ("e" if _entry_point(fn) else "") + ("t" if fn.qualname in work.mw.task_functions else "")
            stmts: list[Stmt] = []
            events = ambient.session_events(fn, spot, target_of, stmts)
            arms = ambient.event_arms(stmts) if events else []
            out[fn.qualname] = [first, io, list(targets), write, last, flags, enqueues, decorators,
                                _arguments(fn, records), *([events] if events else []), *([arms] if arms else [])]
    return out


def _enqueues(call: cst.Call) -> bool:
    """``task.delay(...)``, ``task.apply_async(...)``."""
    return isinstance(call.func, cst.Attribute) and call.func.attr.value in catalog.TASK_ENQUEUE_METHODS


def _arguments(fn: "FunctionModel", records: dict[str, list[Any]]) -> dict[str, Any]:
    """What the argument-sensitive questions need (empty for most functions): the
    function's guards, and its calls' records when a guard or an argument makes them matter."""
    found = guards.guards(fn)
    if not found and not any(guards.passes_anything(r) for calls in records.values() for r in calls):
        return {}
    return {"g": found, "t": records, "p": sorted(guards.keyword_names(fn.node))}


def _decorators(fn: "FunctionModel") -> list[str]:
    """The dotted names of a module-level function's decorators, other than the plain
    ones (``@task(queue=...)`` -> ``awx.main.dispatch.publish.task``): what its
    ``.delay()`` runs."""
    if fn.cls is not None or "." in fn.qualname:
        return []
    found = []
    for dec in fn.node.decorators:
        target = dec.decorator.func if isinstance(dec.decorator, cst.Call) else dec.decorator
        qualified = fn.module.qualified(target)
        if qualified is None:  # defined here, or on an object defined here (``@app.task``): "?" is not the project's
            qualified = _join(fn.module.module_name, target.value) if isinstance(target, cst.Name) else "?"
        if qualified.rpartition(".")[2] not in PLAIN_DECORATORS:
            found.append(qualified)
    return found


def _entry_point(fn: "FunctionModel") -> bool:
    """A view or task, or a function a decorator may register (a route, a receiver, a command)."""
    from scalelint.model.entrypoints import OTHER, entry_kind

    for dec in fn.node.decorators:
        target = dec.decorator.func if isinstance(dec.decorator, cst.Call) else dec.decorator
        last = target.attr.value if isinstance(target, cst.Attribute) else getattr(target, "value", "")
        if last not in PLAIN_DECORATORS:
            return True
    return entry_kind(fn) != OTHER


def function_spans(tree: ast.Module | None, text: str) -> dict[str, tuple[int, int]]:
    """qualname -> lines of each function's ``def`` and last statement: from
    CPython's tree when there is one, else read from the text."""
    return _def_spans(tree) if tree is not None else _text_spans(text)


def _def_spans(tree: ast.Module | None) -> dict[str, tuple[int, int]]:
    """qualname -> lines of its ``def`` and of its last statement (CPython's tree:
    no LibCST position pass)."""
    spans: dict[str, tuple[int, int]] = {}
    if tree is None:
        return spans

    def visit(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                spans.setdefault(f"{prefix}{node.name}", (node.lineno, node.end_lineno or node.lineno))
            elif isinstance(node, ast.ClassDef):
                visit(node.body, f"{prefix}{node.name}.")
            elif isinstance(node, (ast.If, ast.Try)):
                visit(node.body, prefix)
                visit(node.orelse, prefix)

    visit(tree.body, "")
    return spans


_DEF = re.compile(r"(?:async[ \t]+)?(def|class)[ \t]+(\w+)")


def _text_spans(text: str) -> dict[str, tuple[int, int]]:
    """_def_spans read from indentation, for a file CPython cannot parse (newer
    syntax). Only lines that start a statement count: a signature's closing
    ``) -> T:`` or a docstring's line indented less does not end its function."""
    spans: dict[str, tuple[int, int]] = {}
    open_: list[tuple[int, str, str, int]] = []  # indent, kind, qualname, first line
    last = 0
    for number, line, starts in _lines(text):
        stripped = line.lstrip()
        if not starts and stripped:
            last = number  # it extends the statement above
            continue
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(line) - len(stripped)
        while open_ and indent <= open_[-1][0]:
            _, kind, qualname, first = open_.pop()
            if kind == "def":
                spans.setdefault(qualname, (first, last))
        found = _DEF.match(stripped)
        if found is not None:
            outer = open_[-1] if open_ else None
            prefix = "" if outer is None else f"{outer[2]}." if outer[1] == "class" else f"{outer[2]}.<locals>."
            open_.append((indent, found.group(1), prefix + found.group(2), number))
        last = number
    for _, kind, qualname, first in open_:
        if kind == "def":
            spans.setdefault(qualname, (first, last))
    return spans


_OPENING, _CLOSING = "([{", ")]}"


def _lines(text: str) -> Iterator[tuple[int, str, bool]]:
    """(number, line, whether it starts a statement): a line inside brackets,
    inside a string or after a backslash continues the one above. The read is
    lexical: brackets in strings and comments do not count."""
    depth = 0
    quote = ""  # the string still open: its quotes (a one-quote string ends with its line)
    joined = False  # the previous line ended with a backslash
    for number, line in enumerate(text.splitlines(), 1):
        yield number, line, not (depth > 0 or quote or joined)
        i, joined = 0, False
        while i < len(line):
            char = line[i]
            if quote:
                if char == "\\":
                    i += 2
                    continue
                if line.startswith(quote, i):
                    i += len(quote)
                    quote = ""
                    continue
            elif char == "#":
                break
            elif char in "'\"":
                triple = char * 3
                quote = triple if line.startswith(triple, i) else char
                i += len(quote)
                continue
            elif char in _OPENING:
                depth += 1
            elif char in _CLOSING:
                depth = max(0, depth - 1)
            i += 1
        if quote in ("'", '"'):
            quote = ""  # an unterminated one-quote string ends with its line
        joined = line.endswith("\\") and not quote


def _references(own: str, imports: dict[str, str], tree: ast.Module | None, text: str) -> list[str]:
    """Dotted project names the module uses other than by calling them
    (``path("x/", views.export)``, ``signal.connect(handler)``, ``@helper``,
    ``__all__``): whoever calls them is not known here. Read from the text
    (mentions in strings and comments count too)."""
    defined = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))} \
        if tree is not None else set()
    found: dict[str, None] = {}
    for head, attribute, called in textuses.name_uses(textuses.without_imports(text), {*imports, *defined}):
        if not called:
            _note_reference(f"{head}.{attribute}" if attribute else head, own, imports, defined, found)
    for listed in _ALL.findall(text):
        for name in re.findall(r"[\"']([A-Za-z_]\w*)[\"']", listed):
            _note_reference(name, own, imports, defined, found)
    return list(found)


#: ``__all__ = [...]`` (or ``+=``, a tuple): the names it lists
_ALL = re.compile(r"__all__[ \t]*\+?=[ \t]*[\[(]([^\])]*)")


def _note_reference(dotted: str, own: str, imports: dict[str, str], defined: set[str],
                    found: dict[str, None]) -> None:
    head, _, rest = dotted.partition(".")
    if head in imports:
        found.setdefault(f"{imports[head]}.{rest}" if rest else imports[head], None)
    elif head in defined:
        found.setdefault(_join(own, dotted), None)


def _handles(module: "ModuleModel") -> dict[str, str]:
    """Module-level handles by kind, and session type aliases (``SessionDep``,
    ``AsyncSession = NewType("AsyncSession", ...)``)."""
    out = {name: res.kind for name, res in module.globals.items()}
    mw = module_work(module)
    for name, value in module.global_values.items():
        if isinstance(value, (cst.Subscript, cst.Call)) and name not in out:
            res = mw.annotated_handle(cst.Name(name))
            if res is not None and res.kind in ("session", "connection"):
                out[name] = f"{res.kind}-type"
    return out


def module_instances(module: "ModuleModel") -> dict[str, str]:
    """Module-level names bound to a new object of a project class (``stripe = StripeService()``)."""
    return module.derived("instances", lambda: _instances(module))


def _instances(module: "ModuleModel") -> dict[str, str]:
    local_classes = {info.name for info in module.classes}
    out: dict[str, str] = {}
    for name, value in module.global_values.items():
        if name in module.globals or not isinstance(value, cst.Call):
            continue
        func = value.func
        if isinstance(func, cst.Name) and func.value in local_classes:
            out[name] = _join(module.module_name, func.value)
            continue
        qualified = module.qualified(func)
        if qualified is not None and module.project_import(qualified) and qualified.rsplit(".", 1)[-1][:1].isupper():
            out[name] = qualified
    return out


def local_instances(fn: "FunctionModel") -> dict[str, str]:
    """Locals bound once to a new object of a project class (``repo = Repo(session)``,
    ``repo = Repo.from_session(session)``), by name -> the class's dotted name."""
    return fn.derived("local_instances", lambda: _local_instances(fn))


def _local_instances(fn: "FunctionModel") -> dict[str, str]:
    return _bound_once(fn, lambda value: instance_class(fn.module, value) if isinstance(value, cst.Call) else None)


def _bound_once(fn: "FunctionModel", what: Callable[[cst.BaseExpression], str | None]) -> dict[str, str]:
    """Locals every plain assignment (``name = value``, ``name = await value``) binds to
    the same answer of ``what(value)``, by name; a local bound to two answers, or to
    None once, is left out, and so are the function's parameters."""
    found: dict[str, str | None] = {}
    for stmt in fn.stmts:
        node = stmt.node
        if not isinstance(node, cst.SimpleStatementLine):
            continue
        for small in node.body:
            if isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name):
                name = small.targets[0].target.value
                value = small.value.expression if isinstance(small.value, cst.Await) else small.value
                made = what(value)
                found[name] = made if name not in found or found[name] == made else None
    return {name: made for name, made in found.items() if made is not None and name not in fn.env}


def returned_target(fn: "FunctionModel", call: cst.Call) -> str | None:
    """``module.factory.<returned>.method`` for ``client.method()`` where ``client`` is bound
    once to what a project function returns (``client = notify_client_factory()``):
    the graph resolves it on the class the function is annotated to return."""
    func = call.func
    if not (isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name)):
        return None
    made = local_results(fn).get(func.value.value)
    return f"{made}.{RETURNED}.{func.attr.value}" if made is not None else None


def local_results(fn: "FunctionModel") -> dict[str, str]:
    """Locals bound once to what a project function returns (``client = make_client()``,
    ``client = services.notify_client_factory()``), by name -> the function's dotted name
    (the graph looks up the class it is annotated to return)."""
    return fn.derived("local_results", lambda: _local_results(fn))


def _local_results(fn: "FunctionModel") -> dict[str, str]:
    module = fn.module
    work = work_of(fn)

    def function_called(value: cst.BaseExpression) -> str | None:
        if not isinstance(value, cst.Call) or instance_class(module, value) is not None:
            return None
        local = work.local_target(value.func)
        qualified = _join(module.module_name, local) if local is not None else module.qualified(value.func)
        if local is None and (qualified is None or "." not in qualified or not module.project_import(qualified)):
            return None
        if qualified is None or qualified.rsplit(".", 1)[-1][:1].isupper():
            return None  # a class would be an instance
        return qualified

    return _bound_once(fn, function_called)


def _returns(module: "ModuleModel") -> dict[str, str]:
    """qualname -> the project class a function is annotated to return (``-> Notify``)."""
    out: dict[str, str] = {}
    local_classes = {info.name for info in module.classes}
    for fn in module.functions:
        returns = fn.node.returns
        annotation = returns.annotation if returns is not None else None
        if isinstance(annotation, cst.Name) and annotation.value in local_classes:
            out[fn.qualname] = _join(module.module_name, annotation.value)
        elif isinstance(annotation, (cst.Name, cst.Attribute)):
            qualified = module.qualified(annotation)
            if qualified is not None and module.project_import(qualified) and qualified.rsplit(".", 1)[-1][:1].isupper():
                out[fn.qualname] = qualified
    return out


def _abstract_methods(module: "ModuleModel", locate_def: Callable[["FunctionModel"], int]) -> dict[str, int]:
    """qualname -> def line of the methods marked ``@abstractmethod``: a call on the base
    class runs one of its subclasses' overrides."""
    out: dict[str, int] = {}
    for fn in module.functions:
        if fn.cls is None or ".<locals>." in fn.qualname:
            continue
        for dec in fn.node.decorators:
            target = dec.decorator.func if isinstance(dec.decorator, cst.Call) else dec.decorator
            if (module.qualified(target) or "") in catalog.ABSTRACT_METHOD_DECORATORS:
                out[fn.qualname] = locate_def(fn)
    return out


def instance_class(module: "ModuleModel", call: cst.Call) -> str | None:
    """The project class a call builds an object of: ``Repo(...)`` or a ``from_*``
    factory classmethod (``Repo.from_session(session)``)."""
    func = call.func
    root = func
    if isinstance(func, cst.Attribute):
        if not func.attr.value.startswith("from_"):
            return None
        root = func.value
    if not isinstance(root, cst.Name):
        return None
    if any(info.name == root.value for info in module.classes):
        return _join(module.module_name, root.value)
    qualified = module.qualified(root)
    if qualified is None or not module.project_import(qualified) or not qualified.rsplit(".", 1)[-1][:1].isupper():
        return None
    return qualified


def _base(module: "ModuleModel", spelled: str) -> str:
    """A base class by its dotted name (a class of this module by spelling)."""
    if "." not in spelled and any(info.name == spelled for info in module.classes):
        return _join(module.module_name, spelled)
    return spelled


def _join(module_name: str, name: str) -> str:
    return f"{module_name}.{name}" if module_name else name


# == project phase ===================================================================
@dataclass(frozen=True)
class Step:
    """One place on the way from a call to the blocking I/O behind it."""

    path: str
    line: int
    label: str  # "app.utils.send_email()" or, at the end, "smtplib.SMTP().sendmail()"
    category: str = ""  # the I/O's category, on the last step


#: what most functions have: no enqueues, decorators or argument records (shared, never changed)
_NONE: tuple[Any, ...] = ()
_NO_ARGUMENTS: Mapping[str, Any] = MappingProxyType({})


class _Function:
    """One function of the call graph, built from its summary record. Held for
    the whole project phase for every function of the project, so it is kept
    small: slots, empty fields as shared empty values, and the request
    session's events and their ``if`` arms (most of a record's size, read by
    few rules) marshalled, decoded each time they are read."""

    __slots__ = ("path", "module", "qualname", "line", "io", "targets", "write", "last", "flags", "enqueues",
                 "decorators", "arguments", "_events", "_arms")

    def __init__(self, path: str, module: str, qualname: str, line: int, io: list[Any] | None, targets: list[str],
                 write: list[Any] | None = None, last: int = 0, flags: str = "", enqueues: list[Any] | None = None,
                 decorators: list[str] | None = None, arguments: dict[str, Any] | None = None,
                 events: list[Any] | None = None, arms: list[Any] | None = None) -> None:
        self.path, self.module, self.qualname, self.line = path, module, qualname, line
        self.io = io
        self.targets: Sequence[str] = targets or _NONE
        self.write = write  # [label, line]: writes through a session it was given
        self.last = last  # the line of its last statement
        self.flags = flags  # "e": an entry point (scalelint.model.connections.callers), "t": a task-queue task
        #: [label, line, task, ordinal]: enqueues of tasks the project defines (``app.tasks.send.delay``)
        self.enqueues: Sequence[Any] = enqueues or _NONE
        self.decorators: Sequence[str] = decorators or _NONE  # dotted names ("?": not resolvable)
        #: {"g": guards, "t": target -> call records, "p": keyword parameters} (scalelint.model.connections.guards)
        self.arguments: Mapping[str, Any] = arguments or _NO_ARGUMENTS
        self._events = marshal.dumps(events) if events else b""
        self._arms = marshal.dumps(arms) if arms else b""

    @property
    def events(self) -> list[Any]:
        """The request session's events in statement order (scalelint.model.connections.ambient)."""
        return marshal.loads(self._events) if self._events else []

    @property
    def arms(self) -> list[Any]:
        """The ``if`` arms of the events inside some (scalelint.model.connections.ambient.event_arms)."""
        return marshal.loads(self._arms) if self._arms else []


class CallGraph:
    """The project's functions, the calls between them, and which do blocking I/O."""

    def __init__(self, published: Iterable[tuple[str, dict[str, Any]]]) -> None:
        self.modules: dict[str, dict[str, Any]] = {}
        #: module name -> its file
        self.paths: dict[str, str] = {}
        self.functions: dict[str, _Function] = {}
        for path, facts in published:
            name = facts.get("module")
            if not isinstance(name, str) or name in self.modules:
                continue
            # the function records are kept as _Function only (the module's other facts are small)
            self.modules[name] = {key: value for key, value in facts.items() if key != "functions"}
            self.paths[name] = path
            for qualname, (line, io, targets, *rest) in facts.get("functions", {}).items():
                self.functions[f"{name}.{qualname}"] = _Function(path, name, qualname, line, io, targets, *rest)
        self._resolved: dict[str, str | None] = {}
        self._brokers: dict[str, bool] = {}
        #: abstract methods: run whichever subclass override the object has (their targets)
        self._abstract: frozenset[str] = frozenset()
        self._abstract = self._dispatch_abstract()
        #: callee -> the functions that call it (resolved, recursion left out)
        self.callers: dict[str, list[str]] = self._callers()
        callers = self.callers
        self._via: dict[str, str | None] = _propagate(callers, [k for k, fn in self.functions.items() if fn.io])
        if self._promote_enqueues():  # dispatchers were judged on the I/O known without them
            self._via = _propagate(callers, [k for k, fn in self.functions.items() if fn.io])
        pruned = self._without_unreached_calls()
        if pruned is not None:  # calls whose literal arguments take an early return before the I/O
            self._via = _propagate(pruned, [k for k, fn in self.functions.items() if fn.io])
        self._write_via: dict[str, str | None] = _propagate(
            callers, [k for k, fn in self.functions.items() if fn.write]
        )

    # -- questions ----------------------------------------------------------------------
    def io_chain(self, target: str) -> list[Step] | None:
        """The steps from a call of ``target`` down to blocking I/O (None: no I/O found);
        one step when the call itself enqueues a project task (``send_receipt.delay()``)."""
        enqueued = self._enqueued(target)
        if enqueued is not None:
            return [enqueued]
        return self._chain(target, self._via, lambda fn: Step(fn.path, fn.io[2], fn.io[0], fn.io[1]))

    def network_io(self, target: str) -> bool:
        """Whether a call of ``target`` waits on the network (HTTP, a cloud SDK,
        e-mail, a socket) somewhere down its calls; enqueueing a task does not."""
        if self._enqueued(target) is not None:
            return False
        steps = self.io_chain(target)
        return steps is not None and steps[-1].category in catalog.NETWORK_IO_CATEGORIES

    def _enqueued(self, target: str) -> Step | None:
        """``task.delay()`` / ``task.apply_async()`` of a task the project defines, at the task."""
        head, _, method = target.rpartition(".")
        if method not in catalog.TASK_ENQUEUE_METHODS or not head:
            return None
        key = self.resolve(head)
        fn = self.functions.get(key) if key is not None else None
        if fn is None or "t" not in fn.flags or not self.enqueues_to_broker(f"{key}.{method}"):
            return None  # not a task, or the project's own dispatcher without a broker
        return Step(fn.path, fn.line, f"{fn.module}.{fn.qualname}.{method}()", "queue")

    def write_chain(self, target: str) -> list[Step] | None:
        """The steps from a call of ``target`` down to a write through the session
        it is given (None: the callee writes nothing through one)."""
        return self._chain(target, self._write_via, lambda fn: Step(fn.path, fn.write[1], fn.write[0]))

    def _chain(self, target: str, via: dict[str, str | None], last: Callable[[_Function], Step]) -> list[Step] | None:
        key = self.resolve(target)
        if key is None or key not in via:
            return None
        steps: list[Step] = []
        while key is not None and len(steps) < 32:
            fn = self.functions[key]
            steps.append(Step(fn.path, fn.line, f"{fn.module}.{fn.qualname}()"))
            following = via[key]
            if following is None:
                steps.append(last(fn))
            key = following
        return steps

    def io_chain_for(self, target: str, literals: dict[str, bool]) -> list[Step] | None:
        """``io_chain`` for one call that passes these literal keyword arguments: None when
        they take an early return before every way to the I/O (``save(broadcast=False)``)."""
        steps = self.io_chain(target)
        if steps is None or not literals:
            return steps
        key = self.resolve(target)
        return steps if key is None or self._reaches_io(key, literals, frozenset({_visit(key, literals)})) else None

    def _reaches_io(self, key: str, literals: dict[str, bool], seen: frozenset[tuple[Any, ...]]) -> bool:
        """Whether the function, called with these literal keyword arguments, reaches blocking I/O
        (a call back into a function with the arguments already being asked about adds nothing)."""
        fn = self.functions[key]
        arguments = fn.arguments
        if not arguments:
            return key in self._via  # nothing depends on its arguments
        cut = min((ordinal for param, truth, ordinal in arguments["g"] if literals.get(param) is truth),
                  default=None)
        if fn.io is not None and (cut is None or len(fn.io) < 4 or fn.io[3] < cut):
            return True
        own = set(arguments["p"])
        for target, records in arguments["t"].items():
            callee = self.resolve(target)
            if callee is None or callee not in self._via:
                continue
            for ordinal, passed, forwards, through in records:
                if cut is not None and ordinal >= cut:
                    continue  # after the early return this call's literals take
                given = {**({k: v for k, v in literals.items() if k not in own} if forwards else {}),
                         **{name: literals[name] for name in through if name in literals}, **passed}
                visit = _visit(callee, given)
                if visit in seen:
                    continue
                if not given or len(seen) > 8 or self._reaches_io(callee, given, seen | {visit}):
                    return True
        return False

    def _without_unreached_calls(self) -> dict[str, list[str]] | None:
        """The reverse edges less the calls whose every call site passes literals that take an
        early return before the callee's I/O (None: no such call)."""
        dropped: set[tuple[str, str]] = set()
        kept: set[tuple[str, str]] = set()
        for key, fn in self.functions.items():
            for target, records in fn.arguments.get("t", {}).items() if fn.arguments else ():
                callee = self.resolve(target)
                if callee is None or callee == key or callee not in self._via:
                    continue
                if all(passed for _, passed, _, _ in records) and len(records) < guards.MAX_CALLS and not any(
                        self._reaches_io(callee, passed, frozenset({_visit(callee, passed)})) for _, passed, _, _ in records):
                    dropped.add((callee, key))
                else:
                    kept.add((callee, key))  # another spelling of the same call may still reach it
        dropped -= kept
        if not dropped:
            return None
        return {callee: [c for c in callers if (callee, c) not in dropped] for callee, callers in self.callers.items()}

    def _promote_enqueues(self) -> bool:
        """Functions whose first blocking I/O is an enqueue on a project task that goes to a broker."""
        promoted = False
        for fn in self.functions.values():
            if fn.io is None and fn.enqueues:
                found = next((e for e in fn.enqueues if self.enqueues_to_broker(e[2])), None)
                if found is not None:
                    fn.io = [found[0], "queue", found[1], *found[3:]]
                    promoted = True
        return promoted

    def enqueues_to_broker(self, task: str) -> bool:
        """Whether ``app.tasks.send.delay`` (an enqueue on a task the project defines) is
        a round trip to a broker: yes unless every decorator of ``send`` is the project's
        own and the project's ``delay`` behind it (a method of the decorator, or one
        defined inside it) does no blocking I/O, as AWX's dispatcher publishing with
        ``pg_notify`` on the request's own connection."""
        if task not in self._brokers:
            self._brokers[task] = True  # while deciding (a dispatcher enqueuing through itself)
            self._brokers[task] = self._broker(task)
        return self._brokers[task]

    def _broker(self, task: str) -> bool:
        receiver, _, method = task.rpartition(".")
        found = self._lookup(receiver, 0)
        if found is None or found[0] != "function":
            return True  # not known to the project: a Celery-style task
        decorators = self.functions[found[1]].decorators
        if not decorators:
            return True
        for decorator in decorators:
            target = self._lookup(decorator, 0) if decorator != "?" else None
            if target is None or target[0] not in ("class", "function"):
                return True  # a library's decorator (Celery's shared_task, app.task)
            own = [key for key in self._dispatchers(target[1], method)]
            if not own or any(self.io_chain(key) is not None for key in own):
                return True  # its dispatcher is not visible, or does blocking I/O
        return False

    def _dispatchers(self, owner: str, method: str) -> list[str]:
        """The project's ``method`` behind a decorator: its (inherited) method, or one
        defined inside it (a class ``__call__`` builds around the function)."""
        inherited = self._method(owner, method, 0)
        prefix, suffix = f"{owner}.", f".{method}"
        inside = [key for key in self.functions if key.startswith(prefix) and key.endswith(suffix)]
        return list(dict.fromkeys([*([inherited[1]] if inherited is not None else []), *inside]))

    def _dispatch_abstract(self) -> frozenset[str]:
        """Each ``@abstractmethod`` the project defines becomes a function calling the
        overrides of its subclasses (at any depth): what a call on the base class may run."""
        subclasses: dict[str, list[str]] = {}
        for module, facts in self.modules.items():
            for short, bases in facts.get("classes", {}).items():
                for base in bases:
                    found = self._lookup(base, 0)
                    if found is not None and found[0] == "class":
                        subclasses.setdefault(found[1], []).append(f"{module}.{short}")
        keys: set[str] = set()
        for module, facts in self.modules.items():
            for qualname, line in facts.get("abstract", {}).items():
                key = f"{module}.{qualname}"
                cls, _, method = key.rpartition(".")
                overrides: list[str] = []
                pending, seen = list(subclasses.get(cls, ())), {cls}
                while pending:
                    sub = pending.pop(0)
                    if sub in seen:
                        continue
                    seen.add(sub)
                    if f"{sub}.{method}" in self.functions:
                        overrides.append(f"{sub}.{method}")
                    pending.extend(subclasses.get(sub, ()))
                if overrides and key not in self.functions:
                    self.functions[key] = _Function(self.paths[module], module, qualname, line, None, overrides)
                    keys.add(key)
        return frozenset(keys)

    def handle_kind(self, dotted: str) -> str | None:
        """What a module-level name is ("session", "engine", "session-type"...), following imports."""
        found = self._lookup(dotted, 0)
        return found[1] if found is not None and found[0] == "handle" else None

    def resolve(self, dotted: str) -> str | None:
        """The function a dotted call target names, if the project defines it
        (calling a class runs its ``__init__``)."""
        if dotted not in self._resolved and f".{RETURNED}." in dotted:
            factory, _, method = dotted.rpartition(f".{RETURNED}.")
            self._resolved[dotted] = self._returned_method(factory, method)
        if dotted not in self._resolved:
            found = self._lookup(dotted, 0)
            if found is not None and found[0] == "class":
                found = self._method(found[1], "__init__", 0)
            self._resolved[dotted] = found[1] if found is not None and found[0] == "function" else None
        return self._resolved[dotted]

    def _returned_method(self, factory: str, method: str) -> str | None:
        """``method`` of the class the project function ``factory`` is annotated to return."""
        key = self.resolve(factory)
        fn = self.functions.get(key) if key is not None else None
        cls = self.modules.get(fn.module, {}).get("returns", {}).get(fn.qualname) if fn is not None else None
        found = self._lookup(cls, 0) if cls is not None else None
        if found is None or found[0] != "class":
            return None
        found = self._method(found[1], method, 0)
        return found[1] if found is not None and found[0] == "function" else None

    # -- name lookup ------------------------------------------------------------------------
    def _lookup(self, dotted: str, hops: int) -> tuple[str, str] | None:
        """("function", key) | ("class", dotted) | ("instance", class dotted) | ("handle", kind)."""
        if hops > MAX_HOPS:
            return None
        if dotted in self.functions:
            return "function", dotted
        parts = dotted.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            module = ".".join(parts[:cut])
            if module in self.modules:
                return self._in_module(module, parts[cut:], hops)
        return None

    def _in_module(self, module: str, rest: list[str], hops: int) -> tuple[str, str] | None:
        facts = self.modules[module]
        head, tail = rest[0], rest[1:]
        if head in facts.get("classes", {}):
            return self._member(f"{module}.{head}", tail, hops)
        if head in facts.get("instances", {}):
            found = self._lookup(facts["instances"][head], hops + 1)
            if found is None or found[0] != "class" or not tail:
                return None
            return self._method(found[1], tail[0], hops + 1) if len(tail) == 1 else None
        if head in facts.get("handles", {}):
            return ("handle", facts["handles"][head]) if not tail else None
        if head in facts.get("imports", {}):
            return self._lookup(".".join([facts["imports"][head], *tail]), hops + 1)
        return None

    def _member(self, cls: str, tail: list[str], hops: int) -> tuple[str, str] | None:
        if not tail:
            return "class", cls
        if len(tail) == 1:
            return self._method(cls, tail[0], hops)
        if len(tail) == 2 and tail[0] == SUPER:
            return self._inherited(cls, tail[1], hops, frozenset({cls}))
        return None

    def _method(self, cls: str, name: str, hops: int, seen: frozenset[str] = frozenset()) -> tuple[str, str] | None:
        """``name`` looked up on a class and then its bases (a constructor is its ``__init__``)."""
        if hops > MAX_HOPS or cls in seen:
            return None
        key = f"{cls}.{name}"
        if key in self.functions and not (seen and key in self._abstract):
            return "function", key  # (an abstract method reached from a subclass runs its own override)
        return self._inherited(cls, name, hops, seen | {cls})

    def _inherited(self, cls: str, name: str, hops: int, seen: frozenset[str]) -> tuple[str, str] | None:
        """``name`` looked up on the bases of a class, in order."""
        module, _, short = cls.rpartition(".")
        for base in self.modules.get(module, {}).get("classes", {}).get(short, []):
            found = self._lookup(base, hops + 1)
            if found is not None and found[0] == "class":
                inherited = self._method(found[1], name, hops + 1, seen)
                if inherited is not None:
                    return inherited
        return None

    # -- propagation ----------------------------------------------------------------------
    def _callers(self) -> dict[str, list[str]]:
        """callee -> the functions that call it (reverse edges of the call graph)."""
        callers: dict[str, list[str]] = {}
        for key, fn in self.functions.items():
            for target in fn.targets:
                callee = self.resolve(target)
                if callee is not None and callee != key:
                    callers.setdefault(callee, []).append(key)
        return callers


def _visit(key: str, literals: dict[str, bool]) -> tuple[Any, ...]:
    """A function asked about with these literal arguments (for cycles)."""
    return key, *sorted(literals.items())


def _propagate(callers: dict[str, list[str]], seeds: list[str]) -> dict[str, str | None]:
    """function -> the callee through which it reaches a seed (None: it is one), for
    every function that reaches a seed; one worklist pass over reverse edges."""
    via: dict[str, str | None] = {key: None for key in seeds}
    queue = deque(via)
    while queue:
        callee = queue.popleft()
        for caller in callers.get(callee, ()):
            if caller not in via:
                via[caller] = callee
                queue.append(caller)
    return via


def call_graph(index: Any) -> CallGraph:
    """The project's call graph, built once per project phase from the index's summaries."""
    return index.derived(CALL_GRAPH, lambda: CallGraph(index.facts(FACTS_KEY)))


def described(label: str, steps: list[Step]) -> str:
    """A call and what it reaches: ``notify() (calls requests.post())``; an enqueue is its label."""
    return f"{label} (calls {render_chain(steps[1:])})" if len(steps) > 1 else label


def render_chain(steps: list[Step]) -> str:
    """``app.utils.send_email() -> emails.message.Message(...).send()``."""
    return " -> ".join(step.label for step in steps)
