"""The request session across functions (SL101, project phase): which
function's query checks out the request session's connection, and which
function then does blocking I/O while it is still checked out.

Each function's events (scalelint.model.connections.ambient) are run in order
from "not held" or "held": a query holds the session, a commit / rollback /
close / remove lets it go, and a call into the project does what its callee
does on its way out (a helper that queries leaves the session held; one that
commits leaves it free). Two ways a hold reaches a function that did not
begin it in its own statements:

- its caller began it (its own query, or a helper that queried) and then
  called it: the view loads the row, the service calls the remote API;
- a method of a base class calls ``self.a()`` and then ``self.b()`` (a
  handler whose ``_process_args`` loads and whose ``_process`` works): for
  each class that inherits that method, ``b`` as that class defines it runs
  with whatever ``a`` as that class defines it left held.

Only holds begun one call away are followed (the function that began it and
the function it calls while held); deeper I/O is shown through the chain of
the call that reaches it. A method called on an object nobody can place
(``plugins.get(name).revoke_certificate()``) runs one of the project's
implementations of it when most of the classes defining it derive from one
class (a plugin interface): blocking I/O in any of those counts.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

from scalelint.model import catalog
from scalelint.model.connections.summaries import CallGraph, Step, render_chain


@dataclass(frozen=True)
class Origin:
    """Where the request session was checked out."""

    path: str
    line: int
    label: str  # "service.get() (queries in lemur.database.get)"
    function: str  # the function whose statement it is
    covered: bool = False  # the function's own walk (scalelint.model.connections.sessions) reports it


@dataclass(frozen=True)
class HeldIo:
    """Blocking I/O done while the request session is held by an origin."""

    function: str
    path: str
    spot: list[int]
    text: str  # "mint() (line 509, calls ... -> requests.post())"
    origin: Origin
    site: Step | None = None  # where the I/O happens, when it is another place


@dataclass
class _Walk:
    """One run of a function's events."""

    held: Origin | None
    items: list[tuple[list[Any], Origin]] = field(default_factory=list)  # I/O events and the hold they ran in
    calls: list[tuple[list[Any], str, str | None, Origin]] = field(default_factory=list)  # event, callee, self class, hold


class SessionFlow:
    """The request session's holds across the project's functions."""

    def __init__(self, graph: CallGraph, elsewhere: frozenset[str] = frozenset()) -> None:
        """``elsewhere``: paths of files whose code is not request code (tests,
        commands, migrations): a hold they begin is not request traffic."""
        self.graph = graph
        self.elsewhere = elsewhere
        self.fns = {key: fn for key, fn in graph.functions.items() if fn.events}
        self._summaries: dict[tuple[str, str | None], tuple[bool, bool]] = {}
        self._io: dict[str, list[Step] | None] = {}
        self._children: dict[str, list[str]] | None = None
        self._implementations: dict[str, list[str]] | None = None
        self._dispatch: dict[str, list[Step] | None] = {}

    # -- the answer ------------------------------------------------------------------------
    def held_io(self) -> Iterator[HeldIo]:
        """Blocking I/O while a hold begun in the function itself or one call away is held."""
        seen: set[tuple[str, int]] = set()
        entered = self._entries()
        for key, entries in sorted(entered.items()):
            for self_cls, origin in entries:
                yield from self._report(key, self_cls, origin, seen)
        for key in sorted(self.fns):
            if key not in entered:  # held on entry: its own queries begin nothing
                yield from self._report(key, self._own_class(key), None, seen)

    def _report(self, key: str, self_cls: str | None, entry: Origin | None,
                seen: set[tuple[str, int]]) -> Iterator[HeldIo]:
        fn = self.fns[key]
        walk = self._run(key, self_cls, entry, 0)
        for event, origin in walk.items:
            if entry is None and (origin.covered or origin.function != key or self._hands_over(key, event)):
                continue  # its own walk reports it, or a hold it inherited, or the callee reports it
            if entry is not None and origin != entry:
                continue  # a hold begun here: reported by the walk from "not held"
            spot = event[2]
            if (fn.path, spot[0]) in seen:
                continue
            found = self._io_of(event, self_cls)
            if found is None:
                continue
            label, steps = found
            seen.add((fn.path, spot[0]))
            via = f", calls {render_chain(steps)}" if steps else ""
            site = steps[-1] if steps else None
            yield HeldIo(key, fn.path, spot, f"{label} (line {spot[0]}{via})", origin, site)

    def _hands_over(self, key: str, event: list[Any]) -> bool:
        """Whether a call made while this function's own hold is held is reported in the
        callee: ``self.method()`` (which one runs depends on the class) and calls into
        another module (the service the view calls); a helper of the same module is
        reported at its call."""
        if event[0] == "s":
            return True
        if event[0] != "c":
            return False
        callee = self.graph.resolve(event[1])
        return callee is not None and callee in self.fns and self.fns[callee].module != self.fns[key].module

    # -- what other walks of the events ask (scalelint.model.connections.ambientwrites) ----------
    def own_class(self, key: str) -> str | None:
        """The class a method is defined in (None: a module-level function)."""
        return self._own_class(key)

    def callee(self, event: list[Any], self_cls: str | None) -> tuple[str | None, str | None]:
        """The function a ``c`` / ``s`` event runs and the class of its ``self``."""
        return self._callee(event, self_cls)

    def reaches(self, key: str) -> list[Step] | None:
        """Steps from a call of ``key`` to blocking I/O (through plugin interfaces too)."""
        return self._reaches(key)

    def dispatched(self, method: str) -> list[Step] | None:
        """Steps to blocking I/O behind ``x.method()`` on an object nobody can place."""
        return self._dispatched(method)

    def ends_session(self, key: str, self_cls: str | None) -> bool:
        """Whether a call of ``key`` made while the session is held leaves it free (it commits,
        rolls back or closes it, itself or through a callee)."""
        return self._summary(key, self_cls, 0)[1]

    # -- running events -----------------------------------------------------------------------
    def _run(self, key: str, self_cls: str | None, held: Origin | None, depth: int) -> _Walk:
        fn = self.fns[key]
        walk = _Walk(held)
        for event in fn.events:
            kind = event[0]
            if kind == "q":
                if walk.held is None:
                    walk.held = Origin(fn.path, event[1][0], "a query", key, bool(event[2]))
            elif kind == "e":
                walk.held = None
            elif kind == "i" or kind == "d":
                if walk.held is not None:
                    walk.items.append((event, walk.held))
            elif kind in ("c", "s"):
                callee, callee_cls = self._callee(event, self_cls)
                if callee is None:
                    if walk.held is None and self._model_get(event[1]):
                        walk.held = Origin(fn.path, event[2][0], event[3], key)
                    continue
                if walk.held is not None:
                    walk.items.append((event, walk.held))
                    walk.calls.append((event, callee, callee_cls, walk.held))
                opens, closes = self._summary(callee, callee_cls, depth)
                if walk.held is not None and closes:
                    walk.held = None
                elif walk.held is None and opens:
                    walk.held = Origin(fn.path, event[2][0], f"{event[3]} (queries in {callee})", key)
        return walk

    def _summary(self, key: str, self_cls: str | None, depth: int) -> tuple[bool, bool]:
        """(leaves the session held when called free, frees it when called held)."""
        memo = (key, self_cls)
        if memo not in self._summaries:
            if key not in self.fns or depth > 12:
                return False, False
            self._summaries[memo] = (False, False)  # while deciding (recursion)
            opens = self._run(key, self_cls, None, depth + 1).held is not None
            marker = Origin("", 0, "", "")
            closes = self._run(key, self_cls, marker, depth + 1).held is None
            self._summaries[memo] = (opens, closes)
        return self._summaries[memo]

    def _callee(self, event: list[Any], self_cls: str | None) -> tuple[str | None, str | None]:
        """The function a call event runs and the class of its ``self``."""
        if event[0] == "s" and self_cls is not None:
            found = self.graph._method(self_cls, event[1], 0)
            if found is not None and found[0] == "function":
                return found[1], self_cls
        target = event[4] if event[0] == "s" else event[1]
        key = self.graph.resolve(target)
        return key, (self._own_class(key) if key is not None else None)

    def _own_class(self, key: str) -> str | None:
        fn = self.graph.functions[key]
        cls, dot, _ = fn.qualname.rpartition(".")
        return f"{fn.module}.{cls}" if dot and "<" not in cls else None

    def _model_get(self, target: str) -> bool:
        """``User.get(id)``: a query classmethod of a Flask-SQLAlchemy model the
        graph cannot follow (its base is ``db.Model``)."""
        head, _, method = target.rpartition(".")
        if method not in catalog.SQLALCHEMY_QUERY_TERMINALS:
            return False
        if method.endswith("_or_404") and head.rpartition(".")[2][:1].isupper():
            return True  # Flask-SQLAlchemy's own spelling (the model's module may not be read)
        found = self.graph._lookup(head, 0)
        return found is not None and found[0] == "class" and self._is_model(found[1], 0)

    def _is_model(self, cls: str, depth: int) -> bool:
        if depth > 8:
            return False
        module, _, short = cls.rpartition(".")
        for base in self.graph.modules.get(module, {}).get("classes", {}).get(short, []):
            if base.rpartition(".")[2] == "Model":
                return True
            found = self.graph._lookup(base, 0)
            if found is not None and found[0] == "class" and self._is_model(found[1], depth + 1):
                return True
        return False

    # -- who enters held --------------------------------------------------------------------------
    def _entries(self) -> dict[str, list[tuple[str | None, Origin]]]:
        """function -> (self class, hold) for each call made to it while its caller holds a
        session the caller began (itself, or through a helper it called)."""
        entries: dict[str, list[tuple[str | None, Origin]]] = {}
        for key in self.fns:
            own = self._own_class(key)
            classes = [own]
            if own is not None and any(e[0] == "s" for e in self.fns[key].events):
                classes = [own, *self._subclasses(own)]
            for cls in classes:
                walk = self._run(key, cls, None, 0)
                for event, callee, callee_cls, origin in walk.calls:
                    if callee not in self.fns or origin.function != key or not self._hands_over(key, event) \
                            or origin.path in self.elsewhere:
                        continue  # begun deeper (followed one call only), or reported here
                    if origin.covered and self.graph.io_chain(callee) is not None:
                        continue  # the caller's own walk reports the call (sessions.py)
                    found = entries.setdefault(callee, [])
                    if len(found) < 4 and (callee_cls, origin) not in found:
                        found.append((callee_cls, origin))
        return entries

    def _subclasses(self, cls: str) -> list[str]:
        if self._children is None:
            children: dict[str, list[str]] = {}
            for module, facts in self.graph.modules.items():
                for name, bases in facts.get("classes", {}).items():
                    for base in bases:
                        found = self.graph._lookup(base, 0)
                        if found is not None and found[0] == "class":
                            children.setdefault(found[1], []).append(f"{module}.{name}")
            self._children = children
        out: list[str] = []
        queue = [cls]
        while queue and len(out) < 2000:
            for child in self._children.get(queue.pop(), ()):
                if child not in out and child != cls:
                    out.append(child)
                    queue.append(child)
        return out

    # -- what reaches blocking I/O ---------------------------------------------------------------
    def _io_of(self, event: list[Any], self_cls: str | None) -> tuple[str, list[Step]] | None:
        """(label, steps to the I/O) for an event that does or reaches blocking I/O."""
        kind = event[0]
        if kind == "i":
            return event[1], []
        if kind == "d":
            steps = self._dispatched(event[1])
            return (event[3], steps) if steps is not None else None
        callee, _ = self._callee(event, self_cls)
        steps = self._reaches(callee) if callee is not None else None
        if steps is None or steps[-1].category == "queue":
            return None  # a broker publish is a short round trip: not followed across functions
        return event[3], steps[1:]

    def _reaches(self, key: str, depth: int = 0) -> list[Step] | None:
        """Steps from a call of ``key`` to blocking I/O: the call graph's, or through a
        plugin interface method one of its events calls."""
        if key in self._io:
            return self._io[key]
        self._io[key] = None  # while deciding
        found = self.graph.io_chain(key)
        fn = self.graph.functions.get(key)
        if found is None and fn is not None and depth < 6:
            head = Step(fn.path, fn.line, f"{fn.module}.{fn.qualname}()")
            for event in fn.events:
                if event[0] == "d" and (steps := self._dispatched(event[1])) is not None:
                    found = [head, *steps]
                elif event[0] in ("c", "s") and (callee := self._callee(event, None)[0]) is not None \
                        and callee != key and (steps := self._reaches(callee, depth + 1)) is not None:
                    found = [head, *steps]
                if found is not None:
                    break
        self._io[key] = found
        return found

    def _dispatched(self, method: str) -> list[Step] | None:
        """Steps to blocking I/O behind ``x.method()`` on an unplaced object: through the
        project's implementations of an interface method (more than half of the classes
        defining it, two or more, derive from one class)."""
        if method not in self._dispatch:
            self._dispatch[method] = self._through_interface(method)
        return self._dispatch[method]

    def _through_interface(self, method: str) -> list[Step] | None:
        if "_" not in method.strip("_") or method.startswith("_"):
            return None  # a short common name (``get``, ``send``) says nothing about the receiver
        implementations = self._implementers().get(method, [])
        if len(implementations) < 2:
            return None
        classes = {self._own_class(key): key for key in implementations}
        if None in classes:
            return None
        counts: dict[str, int] = {}
        lineages = {cls: {cls, *self._ancestors(cls)} for cls in classes if cls is not None}
        for lineage in lineages.values():
            for ancestor in lineage:
                counts[ancestor] = counts.get(ancestor, 0) + 1
        interface, members = max(sorted(counts.items()), key=lambda item: item[1])
        if members < 2 or members * 2 <= len(classes):
            return None  # no class most of them derive from: the receiver could be anything
        for cls, key in sorted(classes.items(), key=lambda item: item[0] or ""):
            if cls is None or interface not in lineages[cls]:
                continue
            steps = self.graph.io_chain(key)
            if steps is not None:
                short = interface.rpartition(".")[2]
                return [Step(steps[0].path, steps[0].line, f"{method}() of a {short} ({cls})"), *steps[1:]]
        return None

    def _implementers(self) -> dict[str, list[str]]:
        if self._implementations is None:
            found: dict[str, list[str]] = {}
            for key, fn in self.graph.functions.items():
                cls, dot, name = fn.qualname.rpartition(".")
                if dot and "." not in cls and "<" not in cls:
                    found.setdefault(name, []).append(key)
            self._implementations = found
        return self._implementations

    def _ancestors(self, cls: str, depth: int = 0) -> set[str]:
        out: set[str] = set()
        if depth > 8:
            return out
        module, _, short = cls.rpartition(".")
        for base in self.graph.modules.get(module, {}).get("classes", {}).get(short, []):
            found = self.graph._lookup(base, 0)
            if found is not None and found[0] == "class":
                out.add(found[1])
                out |= self._ancestors(found[1], depth + 1)
            else:
                out.add(base)  # defined in a module the project phase knows only by its imports
        return out
