"""How a function uses a client it builds, for how much churn building it per
call costs (SL106's evidence):

- once per background job: the function is a task (a queue worker runs it
  once per enqueued job), or a helper every call of which in its module comes
  from a task, outside any loop there. One client per job run is one
  connection per job, not per request or per item;
- only to probe connectivity: the client's one use is a ``ping()`` (a health
  check or heartbeat), whose point is to open a connection;
- once per process (:func:`runs_once_per_process`): start-up code (an app
  factory, ``AppConfig.ready()``, a lifespan or start-up hook, a memoized
  factory) and the helpers only such code, or the module's import, calls.

A client built in a view, a message or event handler, a helper called per
item, or any function whose callers are unknown answers neither.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

from scalelint.core.walk import dotted, string_value, walk
from scalelint.model import catalog
from scalelint.model.entrypoints import TASK, entry_kind, runs_at_startup

if TYPE_CHECKING:
    from scalelint.model.function import FunctionModel


#: prefixes of functions that set an application up (run once at start-up)
_STARTUP_PREFIXES = ("init_", "setup_", "configure_", "bootstrap", "startup", "create_app")


def runs_once_per_process(fn: "FunctionModel") -> bool:
    """The function runs once per process, so a client it builds is configuration,
    not churn: start-up code (by name, start-up decorator or hook registration),
    a memoized factory, an ``__init__``, or a helper every call of which in its
    module comes from the module's import or from start-up code."""
    return _memoized(fn) or fn.qualname in fn.module.derived("clientuse.startup", lambda: _startup_only(fn.module))


def _memoized(fn: "FunctionModel") -> bool:
    """``functools.cache`` / ``lru_cache`` / ``cached_property``: once per argument set."""
    for decorator in fn.node.decorators:
        target = decorator.decorator.func if isinstance(decorator.decorator, cst.Call) else decorator.decorator
        if fn.module.qualified(target) in catalog.ONCE_DECORATORS:
            return True
        if isinstance(target, cst.Name) and target.value in ("cache", "lru_cache", "cached_property"):
            return True
    return False


def _startup_root(fn: "FunctionModel", hooked: set[str]) -> bool:
    """Start-up code by itself: a start-up name or decorator, a function handed to a
    framework as its start-up hook (``FastAPI(lifespan=...)``), an ``__init__``."""
    name = fn.name
    if name in catalog.STARTUP_FUNCTIONS or name.startswith(_STARTUP_PREFIXES) or runs_at_startup(fn):
        return True
    if name in ("__init__", "__post_init__"):
        return True
    if fn.cls is None and "." not in fn.qualname and name in hooked:
        return True
    for decorator in fn.node.decorators:
        target = decorator.decorator.func if isinstance(decorator.decorator, cst.Call) else decorator.decorator
        if isinstance(target, cst.Attribute) and target.attr.value in catalog.STARTUP_DECORATOR_ATTRS:
            return True
    return False


def _startup_only(module) -> frozenset[str]:
    """Qualnames of the module's functions that run once per process: start-up roots,
    and (to a fixed point) helpers whose every call in the module is made at import
    time or from start-up code. An ``__init__`` passes this on only when its class is
    instantiated at import time (a module-level singleton): a per-request object's
    constructor runs per request."""
    at_import = _import_time_calls(module)
    hooked = {name for call in at_import for name in _hooked_names(call)}
    singletons = {dotted(call.func) or "" for call in at_import}
    functions = module.functions
    once = {fn.qualname for fn in functions if _startup_root(fn, hooked)}
    passes_on = {fn.qualname for fn in functions if fn.qualname in once and not (
        fn.name in ("__init__", "__post_init__") and fn.cls is not None and fn.cls.name not in singletons
        and not runs_at_startup(fn))}
    sites: dict[str, list[str | None]] = {}  # callee qualname -> caller qualnames (None: import time)
    for fn in functions:
        for call in at_import:
            if _calls(call, fn, None):
                sites.setdefault(fn.qualname, []).append(None)
        for caller in functions:
            if caller is not fn and any(_calls(call, fn, caller) for _, call in caller.calls()):
                sites.setdefault(fn.qualname, []).append(caller.qualname)
    changed = True
    while changed:
        changed = False
        for fn in functions:
            callers = sites.get(fn.qualname)
            if fn.qualname in passes_on or not callers:
                continue
            if all(caller is None or caller in passes_on for caller in callers):
                once.add(fn.qualname)
                passes_on.add(fn.qualname)
                changed = True
    return frozenset(once)


def _import_time_calls(module) -> list[cst.Call]:
    """Calls the module makes when imported: its top-level statements, outside
    function and class definitions."""
    out: list[cst.Call] = []
    for stmt in module.cst.body:
        if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
            continue
        out.extend(node for node in walk(stmt) if type(node) is cst.Call)
    return out


def _hooked_names(call: cst.Call) -> list[str]:
    """Functions a call registers as start-up hooks: ``FastAPI(lifespan=setup)``,
    ``Starlette(on_startup=[connect])``, ``app.add_event_handler("startup", connect)``."""
    names: list[str] = []
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value in catalog.STARTUP_HOOK_KEYWORDS:
            values = [el.value for el in arg.value.elements] if isinstance(arg.value, (cst.List, cst.Tuple)) else [arg.value]
            names.extend(v.value for v in values if isinstance(v, cst.Name))
    func = call.func
    if (isinstance(func, cst.Attribute) and func.attr.value == "add_event_handler" and len(call.args) == 2
            and string_value(call.args[0].value) == "startup" and isinstance(call.args[1].value, cst.Name)):
        names.append(call.args[1].value.value)
    return names


def built_once_per_job(fn: "FunctionModel") -> bool:
    """The function runs once per background job: a task, or a helper only
    this module's tasks call, each call outside a loop."""
    if entry_kind(fn, by_signature=False) == TASK:
        return True
    sites = [(caller, stmt) for caller in fn.module.functions if caller is not fn
             for stmt, call in caller.calls() if _calls(call, fn, caller)]
    return bool(sites) and all(
        entry_kind(caller, by_signature=False) == TASK and not stmt.in_loop for caller, stmt in sites
    )


def _calls(call: cst.Call, fn: "FunctionModel", caller: "FunctionModel | None") -> bool:
    """``helper(...)`` of a module function, ``self.helper(...)`` of a method of the
    caller's class (``caller`` None: a call made at import time)."""
    func = call.func
    if fn.cls is None:
        return isinstance(func, cst.Name) and func.value == fn.name
    return (caller is not None and isinstance(func, cst.Attribute) and func.attr.value == fn.name
            and dotted(func.value) == "self" and caller.cls is not None and caller.cls.name == fn.cls.name)


def only_probes(fn: "FunctionModel", call: cst.Call, names: set[str]) -> bool:
    """The client built by ``call`` (bound to ``names``) is only used for a
    connectivity check (``Redis.from_url(url).ping()``)."""
    probes = 0
    for node in walk(fn.node.body):
        if type(node) is cst.Call and isinstance(node.func, cst.Attribute):
            receiver = node.func.value
            if receiver is call or (isinstance(receiver, cst.Name) and receiver.value in names):
                if node.func.attr.value not in catalog.CONNECTIVITY_CHECKS:
                    return False
                probes += 1
        elif type(node) is cst.Name and node.value in names and not _receiver_or_target(fn, node):
            return False  # passed on, returned, kept: used for more than a probe
    return probes > 0


def _receiver_or_target(fn: "FunctionModel", name: cst.Name) -> bool:
    """The name is the receiver of a method call or the target it is bound to."""
    for node in walk(fn.node.body):
        if type(node) is cst.Attribute and node.value is name:
            return True
        if type(node) is cst.AssignTarget and node.target is name:
            return True
    return False


def used_and_dropped(fn: "FunctionModel", call: cst.Call) -> bool:
    """The client ``call`` builds is only used by this function, through its methods
    (``Redis(...).ping()``, ``r = Redis(...); r.get(k)``, ``with Redis(...) as r``),
    and is gone when the function returns: nothing stores, returns or passes it on."""
    names: set[str] = set()
    used = False
    for node in walk(fn.node.body):
        kind = type(node)
        if kind is cst.Attribute and node.value is call:
            used = True
        elif kind is cst.Assign and node.value is call:
            if not all(type(t.target) is cst.Name for t in node.targets):
                return False
            names.update(t.target.value for t in node.targets)
        elif kind is cst.WithItem and node.item is call:
            if node.asname is None or type(node.asname.name) is not cst.Name:
                return False
            names.add(node.asname.name.value)
        elif kind is cst.Arg and node.value is call or kind is cst.Return and node.value is call:
            return False
    if not names:
        return used
    for node in walk(fn.node.body):
        if type(node) is cst.Name and node.value in names and not _receiver_or_target(fn, node):
            if not _with_alias(fn, node):
                return False
    return True


def _with_alias(fn: "FunctionModel", name: cst.Name) -> bool:
    """The name is the alias a ``with`` statement binds (``with Redis() as r``)."""
    return any(type(node) is cst.AsName and node.name is name for node in walk(fn.node.body))
