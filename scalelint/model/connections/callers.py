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
  module can place),
- is not in a public API module (``api.py``),
- and is called only by functions of other contexts, directly or through
  such helpers,

takes its callers' context: ``one-shot`` if any caller chain starts in
one-shot code, else ``test``, else ``migration``. Both passes are linear
walks over the call edges and stop at cycles.
"""
from __future__ import annotations

from collections import deque
from typing import Any, Iterable

from scalelint.model.connections.summaries import CallGraph
from scalelint.model.contexts import MIGRATION, ONE_SHOT, REQUEST, TEST, Region, context_at, regions_from_json

#: module names (last part) whose functions are a public API: callers outside the project
PUBLIC_MODULES = frozenset({"api", "public"})
#: caller contexts in the order they win
INHERITED = (ONE_SHOT, TEST, MIGRATION)

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
    served = _request_reachable(graph, own)
    taken: dict[str, str] = {}
    for context in INHERITED:
        sources = [key for key, where in own.items() if where == context]
        _spread(graph, sources, context, own, served, taken)
    return taken


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


def _pinned(graph: CallGraph, key: str, unplaced: set[str], methods: set[str]) -> bool:
    fn = graph.functions[key]
    module_leaf = fn.module.rsplit(".", 1)[-1]
    is_method = "." in fn.qualname
    return (
        "e" in fn.flags
        or key not in graph.callers
        or key in unplaced
        or fn.module in unplaced
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
