"""What each module's functions do, as project facts, and the project's call
graph built from them (SL101, SL103 across modules).

File phase: every module publishes one small fact record (``FACTS_KEY``): its
dotted name, the project names it imports, its module-level handles and
session type aliases (``SessionDep = Annotated[Session, Depends(get_db)]``),
its module-level instances of classes (``stripe = StripeService()``), its
classes with their bases, and per function the first blocking I/O it does
itself and the project callables it calls, resolved through its imports.

Project phase: :class:`CallGraph` indexes those records by dotted name,
resolves every call (imports and re-exports, ``module.instance.method``,
``Class.method`` through the bases, constructors) and propagates "does
blocking I/O" to a fixed point over reverse edges, keeping for each function
the callee that led there, so a message can show the chain down to the I/O.
"""
from __future__ import annotations

import ast
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable

import libcst as cst

from scalelint.model import catalog
from scalelint.model.connections.work import module_work, work_of
from scalelint.model.spots import statement_locator

if TYPE_CHECKING:
    from scalelint.model.function import FunctionModel, Stmt
    from scalelint.model.module import ModuleModel

#: the shared fact family (published by the checker for every rule that reads it)
FACTS_KEY = "summaries"
#: words of a file that may do blocking I/O itself (parsed for its facts even
#: when no rule's vocabulary matches it)
VOCABULARY = catalog.IO_VOCABULARY
#: how many imports and re-exports one name is followed through
MAX_HOPS = 8

#: the line of a call of a statement, for the few facts that need one (0: unknown)
Locate = Callable[[cst.Call, "Stmt"], int]


# == file phase ======================================================================
def call_target(fn: "FunctionModel", call: cst.Call) -> str | None:
    """The dotted project name a call goes to, as far as this module can tell:
    its own function or method, an imported project callable, a method of an
    imported project object or of a module-level instance, a constructor."""
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
    if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
        owner = func.value.value
        if owner in ("self", "cls") and fn.cls is not None:
            return _join(own, f"{fn.qualname.rpartition('.')[0]}.{func.attr.value}")  # inherited: the graph looks up
        if owner in module_instances(module):
            return _join(own, f"{owner}.{func.attr.value}") if owner not in fn.env else None
    qualified = module.qualified(func)
    if qualified is not None and "." in qualified and module.project_import(qualified):
        return qualified
    return None


def module_facts(module: "ModuleModel", text: str, tree: ast.Module | None = None) -> dict[str, Any] | None:
    """The module's record for the call graph (None when it has no dotted name).
    ``tree`` is CPython's tree of ``text`` when the caller has one."""
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

    functions = _functions(module, locate, _def_lines(tree))
    for key, value in (("imports", imports), ("handles", handles), ("instances", instances),
                       ("classes", classes), ("functions", functions)):
        if value:
            facts[key] = value
    return facts if len(facts) > 1 else None  # nothing another module could call or import


def _functions(module: "ModuleModel", locate: Locate, def_lines: dict[str, int]) -> dict[str, list[Any]]:
    """qualname -> [def line, first direct I/O as [label, category, line] or None, targets]."""
    out: dict[str, list[Any]] = {}
    for fn in module.functions:
        if ".<locals>." in fn.qualname:
            continue
        work = work_of(fn)
        io: list[Any] | None = None
        targets: dict[str, None] = {}
        for stmt, call in fn.calls():
            info = work.direct_io(call)
            if info is not None:
                if io is None:
                    io = [info.label, info.category, locate(call, stmt)]
            elif (target := call_target(fn, call)) is not None:
                targets.setdefault(target, None)
        if io is not None or targets:
            out[fn.qualname] = [def_lines.get(fn.qualname, 0), io, list(targets)]
    return out


def _def_lines(tree: ast.Module | None) -> dict[str, int]:
    """qualname -> line of its ``def`` (CPython's tree: no LibCST position pass)."""
    lines: dict[str, int] = {}
    if tree is None:
        return lines

    def visit(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines.setdefault(f"{prefix}{node.name}", node.lineno)
            elif isinstance(node, ast.ClassDef):
                visit(node.body, f"{prefix}{node.name}.")
            elif isinstance(node, (ast.If, ast.Try)):
                visit(node.body, prefix)
                visit(node.orelse, prefix)

    visit(tree.body, "")
    return lines


def _handles(module: "ModuleModel") -> dict[str, str]:
    """Module-level handles by kind, and session type aliases (``SessionDep``)."""
    out = {name: res.kind for name, res in module.globals.items()}
    mw = module_work(module)
    for name, value in module.global_values.items():
        if isinstance(value, cst.Subscript):
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
            for qualname, (line, io, targets) in facts.get("functions", {}).items():
                self.functions[f"{name}.{qualname}"] = _Function(path, name, qualname, line, io, targets)
        self._resolved: dict[str, str | None] = {}
        self._via: dict[str, str | None] = self._propagate()

    # -- questions ----------------------------------------------------------------------
    def io_chain(self, target: str) -> list[Step] | None:
        """The steps from a call of ``target`` down to blocking I/O (None: no I/O found)."""
        key = self.resolve(target)
        if key is None or key not in self._via:
            return None
        steps: list[Step] = []
        while key is not None and len(steps) < 32:
            fn = self.functions[key]
            steps.append(Step(fn.path, fn.line, f"{fn.module}.{fn.qualname}()"))
            following = self._via[key]
            if following is None:
                label, category, line = fn.io  # type: ignore[misc]
                steps.append(Step(fn.path, line, label, category))
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
        return None

    def _method(self, cls: str, name: str, hops: int, seen: frozenset[str] = frozenset()) -> tuple[str, str] | None:
        """``name`` looked up on a class and then its bases (a constructor is its ``__init__``)."""
        if hops > MAX_HOPS or cls in seen:
            return None
        key = f"{cls}.{name}"
        if key in self.functions:
            return "function", key
        module, _, short = cls.rpartition(".")
        for base in self.modules.get(module, {}).get("classes", {}).get(short, []):
            found = self._lookup(base, hops + 1)
            if found is not None and found[0] == "class":
                inherited = self._method(found[1], name, hops + 1, seen | {cls})
                if inherited is not None:
                    return inherited
        return None

    # -- propagation ----------------------------------------------------------------------
    def _propagate(self) -> dict[str, str | None]:
        """function -> the callee through which it reaches I/O (None: it does I/O itself),
        for every function that reaches I/O; one worklist pass over reverse edges."""
        callers: dict[str, list[str]] = {}
        for key, fn in self.functions.items():
            for target in fn.targets:
                callee = self.resolve(target)
                if callee is not None and callee != key:
                    callers.setdefault(callee, []).append(key)
        via: dict[str, str | None] = {key: None for key, fn in self.functions.items() if fn.io is not None}
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


def render_chain(steps: list[Step]) -> str:
    """``app.utils.send_email() -> emails.message.Message(...).send()``."""
    return " -> ".join(step.label for step in steps)
