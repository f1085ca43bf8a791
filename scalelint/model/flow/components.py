"""The project's dataflow split into parts that never call one another.

The project flow graph (``scalelint.model.flow.flowgraph.Graph``) follows a
function into the functions its call sites resolve to, and nowhere else. So
the modules fall into groups, the connected components of "a call site of
this module resolves to a function of that one": a question about a function
reads only the records of its own group, and a graph of one group at a time
answers every question as the graph of the whole project does, while only
one group's records are decoded at once.

A group is found from each module's names alone (function keys, module-level
instances, the callee of each call site), read from the facts without
decoding the records. It is closed under everything the graph reads when it
resolves a name: the module whose instances a lookup consults is in the
callee's group, and modules that define the same function key or share a
module name are in one group (the whole-project graph keeps the first such
function and the last such module, which a group's graph then does too,
its modules in the order they were published).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from scalelint.model.flow.dataflow import function_keys
from scalelint.model.flow.flowgraph import lookup_name


@dataclass(frozen=True)
class Component:
    """One group of modules: their paths in the order their facts were
    published, and each one's position in that order among every module."""

    paths: tuple[str, ...]
    positions: tuple[int, ...]


class _Groups:
    """Union-find over module positions."""

    def __init__(self, size: int) -> None:
        self.parent = list(range(size))

    def find(self, at: int) -> int:
        parent = self.parent
        while parent[at] != at:
            parent[at] = parent[parent[at]]
            at = parent[at]
        return at

    def join(self, a: int, b: int) -> None:
        a, b = self.find(a), self.find(b)
        if a != b:
            self.parent[max(a, b)] = min(a, b)


def components(published: Iterable[tuple[str, Mapping[str, Any]]]) -> list[Component]:
    """The groups of the modules whose dataflow facts ``published`` yields as
    (path, facts), in the order of each group's first module."""
    paths: list[str] = []
    callees: list[set[str]] = []
    defined: dict[str, int] = {}  # function key -> the first module defining it
    modules: dict[str, int] = {}  # module name -> the last module of that name
    instances: dict[int, Mapping[str, str]] = {}
    joins: list[tuple[int, int]] = []
    for path, data in published:
        at = len(paths)
        paths.append(path)
        module = data["module"]
        for key in function_keys(data):
            first = defined.setdefault(key, at)
            if first != at:
                joins.append((first, at))
        if module:
            before = modules.get(module)
            if before is not None:
                joins.append((before, at))
            modules[module] = at  # the graph keeps the last module of a name
        instances[at] = data.get("instances", {})
        callees.append({raw[0] for raw in data["sites"].values()})
    groups = _Groups(len(paths))
    for a, b in joins:
        groups.join(a, b)
    for at, names in enumerate(callees):
        for name in names:
            consulted: list[int] = []

            def module_instances(name: str) -> Mapping[str, str] | None:
                found = modules.get(name)
                if found is None:
                    return None
                consulted.append(found)
                return instances[found]

            callee = lookup_name(name, defined, module_instances)
            for other in consulted if callee is None else (*consulted, callee):
                groups.join(at, other)
    members: dict[int, list[int]] = {}
    for at in range(len(paths)):
        members.setdefault(groups.find(at), []).append(at)
    return [Component(tuple(paths[at] for at in group), tuple(group)) for group in members.values()]
