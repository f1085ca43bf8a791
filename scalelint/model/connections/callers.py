"""A function's code context from its callers (project phase).

A helper in an ordinary module runs in ``request`` code unless the only code
that calls it runs elsewhere: an import run only by a CLI command, a status
check only by a management command. From the project's call graph
(scalelint.model.connections.summaries) every function that

- runs in ``request`` code by its own place (file, region),
- is not an entry point (a view, a task, a decorated function),
- is not used other than by a call some module resolves (referenced in a
  URLconf, ``__all__``, a callback; imported or method-called by a module
  that was never parsed; a method whose name is called on an object no
  module can place; public in a module some module imports whole: what is
  reached through the module object, a private ``_helper`` only by name),
- is not in a public API module (``api.py``),
- and is called only by functions of other contexts, directly or through
  such helpers,

takes its callers' context: ``scheduled`` if any caller chain starts in a
scheduled job, else ``one-shot`` if one starts in one-shot code, else
``test``, else ``migration``. Both passes are linear walks over the call
edges and stop at cycles.

A one-off task is a request task registered under a name (``@actor(actor_name=
"org.prepare_members")``) that only one-shot code enqueues by that name
(``enqueue_job("org.prepare_members", ...)`` in a script: ``byname``,
scalelint.model.tasknames), that no module but its own references and no
request code calls or enqueues. It runs in ``one-shot`` code itself.

A scheduled job is a request function some module schedules (``sched``:
scalelint.model.schedules) that nothing else places in request code: no
other module references it (its own module's mentions are taken for comments), and no request code calls or enqueues it
(``job.delay()``). It runs in ``scheduled`` code itself.
"""
from __future__ import annotations

from collections import deque
from typing import Any, Iterable

from scalelint.model import catalog
from scalelint.model.connections.summaries import CallGraph
from scalelint.model.contexts import (
    MIGRATION, ONE_SHOT, REQUEST, SCHEDULED, TEST, Region, context_at, regions_from_json,
)

#: module names (last part) whose functions are a public API: callers outside the project
PUBLIC_MODULES = frozenset({"api", "public"})
#: caller contexts in the order they win (scheduled first: it keeps the most rules)
INHERITED = (SCHEDULED, ONE_SHOT, TEST, MIGRATION)

Placement = tuple[str, list[Region]]  # a file's context and its regions


def inherited_regions(graph: CallGraph, placements: dict[str, Placement]) -> dict[str, list[Region]]:
    """path -> the functions of that file (as regions) that take their callers' context."""
    out: dict[str, list[Region]] = {}
    for key, context in _taken(graph, placements).items():
        fn = graph.functions[key]
        if fn.line and fn.last >= fn.line:
            out.setdefault(fn.path, []).append(Region(fn.line, fn.last, context))
    return out


def inherited_functions(graph: CallGraph, placements: dict[str, Placement]) -> dict[str, dict[str, str]]:
    """path -> qualname -> the context that function takes from its callers (by
    name, so that a fix that moves lines still finds them)."""
    out: dict[str, dict[str, str]] = {}
    for key, context in _taken(graph, placements).items():
        fn = graph.functions[key]
        out.setdefault(fn.path, {})[fn.qualname] = context
    return out


def _taken(graph: CallGraph, placements: dict[str, Placement]) -> dict[str, str]:
    """function key -> the context it takes from its callers."""
    own = {key: _own_context(graph, key, placements) for key in graph.functions}
    jobs = scheduled_jobs(graph, own)
    own.update(dict.fromkeys(jobs, SCHEDULED))
    one_off = one_shot_tasks(graph, own, placements) - jobs
    own.update(dict.fromkeys(one_off, ONE_SHOT))
    served = _request_reachable(graph, own)
    called = _reached_by(graph, jobs | one_off, served) if jobs or one_off else set()
    if called:  # also run by request code: request code after all
        own.update(dict.fromkeys(called, REQUEST))
        jobs -= called
        one_off -= called
        served = _request_reachable(graph, own)
    taken: dict[str, str] = {**dict.fromkeys(jobs, SCHEDULED), **dict.fromkeys(one_off, ONE_SHOT)}
    for context in INHERITED:
        sources = [key for key, where in own.items() if where == context]
        _spread(graph, sources, context, own, served, taken)
    return taken


def scheduled_jobs(graph: CallGraph, own: dict[str, str]) -> set[str]:
    """Request functions some module schedules and no module but those and
    their own references (the text's references count comments too)."""
    scheduling: dict[str, set[str]] = {}  # job -> the modules scheduling it
    for name, facts in graph.modules.items():
        for target in facts.get("sched", ()):
            key = graph.resolve(target)
            if key is not None and own.get(key) == REQUEST:  # its own module's mentions are its comments
                scheduling.setdefault(key, {graph.functions[key].module}).add(name)
    if not scheduling:
        return set()
    methods = _dynamic_methods(graph)
    for name, facts in graph.modules.items():
        for ref in facts.get("refs", ()):
            key = graph.resolve(ref) or ref
            if key in scheduling and name not in scheduling[key]:
                del scheduling[key]  # referenced elsewhere: a callback, a URL, a re-export
    return {
        key for key in scheduling
        if "." not in graph.functions[key].qualname or graph.functions[key].qualname.rsplit(".", 1)[-1] not in methods
    }


def one_shot_tasks(graph: CallGraph, own: dict[str, str], placements: dict[str, Placement]) -> set[str]:
    """Request tasks registered under a name (``tasknames``) that only one-shot
    code enqueues by that name (``byname``: a one-off script enqueueing a data job
    per organization), that no code enqueues by name in another context than
    one-shot or test, and that no module but their own references: one-off jobs."""
    registered: dict[str, str] = {}  # registered name -> function key
    for name, facts in graph.modules.items():
        for qualname, task in facts.get("tasknames", {}).items():
            key = f"{name}.{qualname}"
            if own.get(key) == REQUEST:
                registered[task] = key
    if not registered:
        return set()
    sites: dict[str, set[str]] = {}  # function key -> contexts of the code enqueueing it by name
    for name, facts in graph.modules.items():
        for task, line in facts.get("byname", ()):
            if task in registered:
                sites.setdefault(registered[task], set()).add(_context_of_line(graph, name, line, placements))
    found = {key for key, where in sites.items() if ONE_SHOT in where and where <= {ONE_SHOT, TEST}}
    for name, facts in graph.modules.items():
        for ref in facts.get("refs", ()):
            key = graph.resolve(ref) or ref
            if key in found and graph.functions[key].module != name:
                found.discard(key)  # referenced elsewhere: a callback, a re-export, another way in
    return found


def _context_of_line(graph: CallGraph, module: str, line: int, placements: dict[str, Placement]) -> str:
    named = graph.modules[module].get("context")
    if isinstance(named, str):
        return named
    file_context, regions = placements.get(graph.paths.get(module, ""), (REQUEST, []))
    return context_at(file_context, regions, line)


def _reached_by(graph: CallGraph, jobs: set[str], served: set[str]) -> set[str]:
    """The jobs request code calls or enqueues (``job.delay()``)."""
    out = {job for job in jobs if any(caller in served for caller in graph.callers.get(job, ()))}
    for key in served:
        for target in graph.functions[key].targets:
            head, _, method = target.rpartition(".")
            if method in catalog.TASK_ENQUEUE_METHODS and (job := graph.resolve(head)) in jobs:
                out.add(job)
    return out


def _own_context(graph: CallGraph, key: str, placements: dict[str, Placement]) -> str:
    """Where the function runs by its own place: its region, its file, or
    the context an unparsed module's record names."""
    fn = graph.functions[key]
    named = graph.modules[fn.module].get("context")
    if isinstance(named, str):
        return named
    file_context, regions = placements.get(fn.path, (REQUEST, []))
    return context_at(file_context, regions, fn.line)


def _request_reachable(graph: CallGraph, own: dict[str, str]) -> set[str]:
    """Request functions that request code reaches or may reach: the pinned
    ones (see the module doc) and every request function they call."""
    unplaced = _unplaced_uses(graph)
    methods = _dynamic_methods(graph)
    roots = [key for key, where in own.items() if where == REQUEST and _pinned(graph, key, unplaced, methods)]
    served = set(roots)
    queue = deque(roots)
    while queue:
        for callee in _callees(graph, queue.popleft()):
            if own.get(callee) == REQUEST and callee not in served:
                served.add(callee)
                queue.append(callee)
    return served


def never_called(graph: CallGraph, keys: Iterable[str]) -> set[str]:
    """The functions among ``keys`` nothing is seen to run: not an entry point, called by no
    function, not used other than by a call (referenced, reached through a module object,
    a method name called on an unplaced object), not in a public API module (dead code,
    or a helper no caller of this project uses)."""
    unplaced = _unplaced_uses(graph)
    methods = _dynamic_methods(graph)
    return {key for key in keys
            if key in graph.functions and key not in graph.callers and not _pinned(graph, key, unplaced, methods,
                                                                                   uncalled_pins=False)}


def _pinned(graph: CallGraph, key: str, unplaced: set[str], methods: set[str], uncalled_pins: bool = True) -> bool:
    fn = graph.functions[key]
    module_leaf = fn.module.rsplit(".", 1)[-1]
    is_method = "." in fn.qualname
    return (
        "e" in fn.flags
        or (uncalled_pins and key not in graph.callers)
        or key in unplaced
        or (fn.module in unplaced and not fn.qualname.startswith("_"))
        or module_leaf in PUBLIC_MODULES
        or (is_method and fn.qualname.rsplit(".", 1)[-1] in methods)
    )


def _unplaced_uses(graph: CallGraph) -> set[str]:
    """Functions (and modules) request modules use other than by a resolved call."""
    out: set[str] = set()
    for name, facts in graph.modules.items():
        for ref in facts.get("refs", ()):
            out.add(graph.resolve(ref) or ref)
    return out


def _dynamic_methods(graph: CallGraph) -> set[str]:
    """Method names request modules call on objects they cannot place."""
    out: set[str] = set()
    for facts in graph.modules.values():
        out.update(facts.get("dyn", ()))
    return out


def _callees(graph: CallGraph, key: str) -> Iterable[str]:
    for target in graph.functions[key].targets:
        callee = graph.resolve(target)
        if callee is not None and callee != key:
            yield callee


def _spread(graph: CallGraph, sources: list[str], context: str, own: dict[str, str],
            served: set[str], taken: dict[str, str]) -> None:
    """Give ``context`` to the request helpers these functions reach through
    helpers no request code reaches (first context wins)."""
    queue = deque(sources)
    while queue:
        for callee in _callees(graph, queue.popleft()):
            if own.get(callee) == REQUEST and callee not in served and callee not in taken:
                taken[callee] = context
                queue.append(callee)


def placements_of(files: dict[str, dict[str, Any]], key: str) -> dict[str, Placement]:
    """path -> (context, regions) from the files' context facts (``key``:
    scalelint.model.contexts.FACTS_KEY); files without one run in request code."""
    out: dict[str, Placement] = {}
    for path, facts in files.items():
        placed = facts.get(key)
        if placed is not None:
            out[path] = (placed["file"], regions_from_json(placed["regions"]))
        elif facts.get("__context__"):
            out[path] = (facts["__context__"], [])
    return out
