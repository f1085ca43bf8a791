"""What each module's functions do, as project facts, and the project's call
graph built from them (SL101, SL103 across modules).

File phase: every module publishes one small fact record (``FACTS_KEY``): its
dotted name, the project names it imports, its module-level handles and
session type aliases (``SessionDep = Annotated[Session, Depends(get_db)]``),
its module-level instances of classes (``stripe = StripeService()``), its
classes with their bases, and per function that makes calls its lines, the
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
"""
from __future__ import annotations

import ast
import re
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable

import libcst as cst

from scalelint.model import catalog, textuses
from scalelint.model.connections.work import module_work, work_of
from scalelint.model.connections.writes import session_end, session_write
from scalelint.model.spots import statement_locator

if TYPE_CHECKING:
    from scalelint.model.function import FunctionModel, Stmt
    from scalelint.model.module import ModuleModel

#: the shared fact family (published by the checker for every rule that reads
#: it; modules never parsed publish what their text imports: scalelint.model.textuses)
FACTS_KEY = textuses.FACTS_KEY
#: words of a file that may do blocking I/O itself (parsed for its facts even
#: when no rule's vocabulary matches it)
VOCABULARY = catalog.IO_VOCABULARY
#: how many imports and re-exports one name is followed through
MAX_HOPS = 8

#: ``Class.<super>.method``: ``super().method()`` called in ``Class``, looked up in its bases
SUPER = "<super>"

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
    it resolves (scalelint.model.connections.callers)."""
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

    def locate(call: cst.Call, stmt: "Stmt") -> int:
        found = locator.locate(call, stmt.node)
        return found[0] if found is not None else 0

    dynamic: dict[str, None] = {}
    functions = _functions(module, locate, function_spans(tree, text), dynamic)
    refs = _references(name, imports, tree, text) if request else []
    for key, value in (("imports", imports), ("handles", handles), ("instances", instances),
                       ("classes", classes), ("functions", functions), ("refs", refs),
                       ("dyn", list(dynamic) if request else [])):
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
               dynamic: dict[str, None]) -> dict[str, list[Any]]:
    """qualname -> [def line, first direct I/O as [label, category, line] or None,
    targets, first direct write through a borrowed session not committed after
    it as [label, line] or None, last line, flags ("e": an entry point, "t": a
    task-queue task)];
    ``dynamic`` gathers the method names called on objects this module cannot place."""
    out: dict[str, list[Any]] = {}
    for fn in module.functions:
        if ".<locals>." in fn.qualname:
            continue
        work = work_of(fn)
        io: list[Any] | None = None
        write: list[Any] | None = None
        targets: dict[str, None] = {}
        calls = False
        for stmt, call in fn.calls():
            calls = True
            info = work.direct_io(call)
            if info is not None:
                if io is None:
                    io = [info.label, info.category, locate(call, stmt)]
            elif write is None and (label := session_write(fn, call)) is not None:
                write = [label, locate(call, stmt)]
            elif write is not None and session_end(fn, call):
                write = None  # committed (or rolled back) before returning: the caller holds no write
            elif (target := call_target(fn, call)) is not None:
                targets.setdefault(target, None)
            elif isinstance(call.func, cst.Attribute) and module.qualified(call.func) is None and not _is_super(
                    call.func.value):
                dynamic.setdefault(call.func.attr.value, None)
        if calls:  # a function without calls has nothing to report on its callers' behalf
            first, last = spans.get(fn.qualname, (0, 0))
            flags = ("e" if _entry_point(fn) else "") + ("t" if fn.qualname in work.mw.task_functions else "")
            out[fn.qualname] = [first, io, list(targets), write, last, flags]
    return out


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
    syntax): a line indented less inside a string ends its function early."""
    spans: dict[str, tuple[int, int]] = {}
    open_: list[tuple[int, str, str, int]] = []  # indent, kind, qualname, first line
    last = 0
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.lstrip()
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
    found: dict[str, str | None] = {}
    for stmt in fn.stmts:
        node = stmt.node
        if not isinstance(node, cst.SimpleStatementLine):
            continue
        for small in node.body:
            if isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name):
                name = small.targets[0].target.value
                value = small.value.expression if isinstance(small.value, cst.Await) else small.value
                cls = instance_class(fn.module, value) if isinstance(value, cst.Call) else None
                found[name] = cls if name not in found or found[name] == cls else None
    return {name: cls for name, cls in found.items() if cls is not None and name not in fn.env}


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


@dataclass
class _Function:
    path: str
    module: str
    qualname: str
    line: int
    io: list[Any] | None
    targets: list[str]
    write: list[Any] | None = None  # [label, line]: writes through a session it was given
    last: int = 0  # the line of its last statement
    flags: str = ""  # "e": an entry point (scalelint.model.connections.callers), "t": a task-queue task


class CallGraph:
    """The project's functions, the calls between them, and which do blocking I/O."""

    def __init__(self, published: Iterable[tuple[str, dict[str, Any]]]) -> None:
        self.modules: dict[str, dict[str, Any]] = {}
        self.functions: dict[str, _Function] = {}
        for path, facts in published:
            name = facts.get("module")
            if not isinstance(name, str) or name in self.modules:
                continue
            self.modules[name] = facts
            for qualname, (line, io, targets, *rest) in facts.get("functions", {}).items():
                self.functions[f"{name}.{qualname}"] = _Function(path, name, qualname, line, io, targets, *rest)
        self._resolved: dict[str, str | None] = {}
        #: callee -> the functions that call it (resolved, recursion left out)
        self.callers: dict[str, list[str]] = self._callers()
        callers = self.callers
        self._via: dict[str, str | None] = _propagate(callers, [k for k, fn in self.functions.items() if fn.io])
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

    def _enqueued(self, target: str) -> Step | None:
        """``task.delay()`` / ``task.apply_async()`` of a task the project defines, at the task."""
        head, _, method = target.rpartition(".")
        if method not in catalog.TASK_ENQUEUE_METHODS or not head:
            return None
        key = self.resolve(head)
        fn = self.functions.get(key) if key is not None else None
        if fn is None or "t" not in fn.flags:
            return None
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

    def handle_kind(self, dotted: str) -> str | None:
        """What a module-level name is ("session", "engine", "session-type"...), following imports."""
        found = self._lookup(dotted, 0)
        return found[1] if found is not None and found[0] == "handle" else None

    def resolve(self, dotted: str) -> str | None:
        """The function a dotted call target names, if the project defines it
        (calling a class runs its ``__init__``)."""
        if dotted not in self._resolved:
            found = self._lookup(dotted, 0)
            if found is not None and found[0] == "class":
                found = self._method(found[1], "__init__", 0)
            self._resolved[dotted] = found[1] if found is not None and found[0] == "function" else None
        return self._resolved[dotted]

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
        if key in self.functions:
            return "function", key
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
    return index.derived(FACTS_KEY, lambda: CallGraph(index.facts(FACTS_KEY)))


def described(label: str, steps: list[Step]) -> str:
    """A call and what it reaches: ``notify() (calls requests.post())``; an enqueue is its label."""
    return f"{label} (calls {render_chain(steps[1:])})" if len(steps) > 1 else label


def render_chain(steps: list[Step]) -> str:
    """``app.utils.send_email() -> emails.message.Message(...).send()``."""
    return " -> ".join(step.label for step in steps)
