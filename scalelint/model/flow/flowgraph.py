"""Following labels across functions and modules.

A :class:`Graph` joins the :class:`~scalelint.model.flow.dataflow.ModuleFlow` of
one file (file phase) or of every file of the project (project phase, from
facts). It resolves call results through callee summaries (substituting
arguments for parameters, deciding parameter conditions such as
``consistent=True``), collects the writes a function performs itself or
through its callees, and answers the two questions the replica rules ask:
which reads reach which writes (:meth:`Graph.reaches`), and which replica
reads follow a write of the same entity (:meth:`Graph.reads_after_writes`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Mapping, TypeVar

from scalelint.model.flow.dataflow import (
    CALL, DEFAULTED, EMPTY, HANDLE, LOCKED, ORIGIN, PARAM, SHAPES, UNKNOWN, Cond, FunctionFlow, Label, ModuleFlow, Origin, Site,
    Spot, Write, compose, label_key,
)

T = TypeVar("T")

MAX_DEPTH = 4  # call levels followed from the reporting function
MAX_WRITES = 200  # effective writes kept per function


@dataclass(frozen=True)
class EffectiveWrite:
    """A write a function performs, itself or through the calls it makes."""

    write: Write
    data: frozenset[Label]
    subject: frozenset[Label]
    #: (key of the condition or call site to report at, own condition?, labels)
    ctl: tuple[tuple[str, bool, frozenset[Label]], ...]
    sites: tuple[Site, ...]  # call chain from the function down to the write


@dataclass(frozen=True)
class Reach:
    """A read's value meets a write."""

    fn: FunctionFlow
    origin: Origin
    label: Label
    shape: str  # effective shape of the value at the write
    role: str  # data | subject | ctl
    write: Write
    at: str  # key of the record to report at (condition, call site, write)
    cond: Cond | None  # for control through an own condition
    sites: tuple[Site, ...]

    def order(self) -> tuple[str, ...]:
        """A total order on the reaches of one function, the same on every run:
        reaches come from label sets, whose order changes with the hash seed, so
        a rule picking one of several (the read a message names) breaks ties by this."""
        return (self.origin.key, self.write.key, self.at, self.role, self.shape, label_key(self.label),
                *(site.key for site in self.sites))


@dataclass(frozen=True)
class ReadAfterWrite:
    fn: FunctionFlow
    origin: Origin
    write: Write
    at: str  # key of the read or of the call site reaching it
    site: Site | None


class Graph:
    def __init__(self, flows: Iterable[ModuleFlow]) -> None:
        self.flows: dict[str, ModuleFlow] = {}
        self.modules: dict[str, ModuleFlow] = {}
        self.functions: dict[str, FunctionFlow] = {}
        self.owner: dict[str, ModuleFlow] = {}
        for flow in flows:
            self.flows[flow.path] = flow
            if flow.module:
                self.modules[flow.module] = flow
            for key, fn in flow.functions.items():
                self.functions.setdefault(key, fn)
                self.owner.setdefault(key, flow)
        self._returns: dict[str, frozenset[Label]] = {}
        self._site_results: dict[str, frozenset[Label]] = {}
        self._reaches: dict[str, list[Reach]] = {}
        self._crosses: dict[str, bool] = {}
        self._callers: dict[str, list[FunctionFlow]] | None = None
        self._under_lock: dict[str, bool] = {}
        self._writes: dict[str, list[EffectiveWrite]] = {}
        self._events: dict[str, list] = {}
        self._busy: dict[str, set[str]] = {"r": set(), "w": set(), "e": set(), "s": set()}

    # -- records by key ---------------------------------------------------------------
    def flow_of(self, key: str) -> ModuleFlow:
        return self.flows[key.split("#", 1)[0]]

    def origin(self, key: str) -> Origin | None:
        flow = self.flows.get(key.split("#", 1)[0])
        return flow.origins.get(key) if flow else None

    def site(self, key: str) -> Site | None:
        flow = self.flows.get(key.split("#", 1)[0])
        return flow.sites.get(key) if flow else None

    def cond(self, key: str) -> Cond | None:
        flow = self.flows.get(key.split("#", 1)[0])
        return flow.conds.get(key) if flow else None

    def write(self, key: str) -> Write | None:
        flow = self.flows.get(key.split("#", 1)[0])
        return flow.writes.get(key) if flow else None

    def spot(self, key: str) -> Spot:
        flow = self.flow_of(key)
        record = flow.origins.get(key) or flow.writes.get(key) or flow.sites.get(key) or flow.conds.get(key)
        assert record is not None, key
        return flow.spot(record)

    def path_of(self, fn: FunctionFlow) -> str:
        return self.owner[fn.key].path

    def lookup(self, callee: str) -> FunctionFlow | None:
        return lookup_name(callee, self.functions, self._instances)

    def _instances(self, module: str) -> Mapping[str, str] | None:
        flow = self.modules.get(module)
        return flow.instances if flow is not None else None

    # -- resolving labels ------------------------------------------------------------------
    def resolve(self, labels: frozenset[Label], stack: tuple[str, ...] = ()) -> frozenset[Label]:
        """The labels with call results replaced by what the callees return."""
        out: set[Label] = set()
        calls: list[Label] = []
        for label in labels:
            if label.kind == CALL or (label.kind == ORIGIN and label.via is not None and label.via.kind == CALL):
                calls.append(label)
            else:
                out.add(label)
        # callees are followed in one order on every run: a cycle guard answers "nothing" to
        # the function already being followed, so the order decides which partial answer is cached
        for label in sorted(calls, key=label_key) if len(calls) > 1 else calls:
            if label.kind == CALL:
                out |= self._call_result(label, stack)
            else:
                out |= _apply_via(label, self._call_result(label.via, stack), keep_primary=True)  # type: ignore[arg-type]
        return frozenset(out)

    def _call_result(self, label: Label, stack: tuple[str, ...]) -> frozenset[Label]:
        base = self._site_results.get(label.ref)
        if base is None:
            base = self._site_result(label.ref, stack)
            if not stack:
                self._site_results[label.ref] = base
        if label.shape == SHAPES and label.field is None and not label.guard:
            return base
        return frozenset(
            r.derived(compose(r.shape, label.shape), label.field or r.field, r.guard | label.guard) for r in base
        )

    def _site_result(self, key: str, stack: tuple[str, ...]) -> frozenset[Label]:
        """What a call site evaluates to, in the caller's terms."""
        site = self.site(key)
        callee = self.lookup(site.callee) if site is not None else None
        busy = self._busy["s"]
        if site is None or callee is None or callee.key in stack or len(stack) >= MAX_DEPTH or key in busy:
            return EMPTY
        # a site whose argument is its own result (``conn = wrap(conn)`` in a loop) is
        # re-entered through its arguments without the stack growing: answer nothing there
        busy.add(key)
        try:
            returned = self.returns(callee, stack + (callee.key,))
            if not returned:
                return EMPTY
            substituted = self.substitute(returned, site, callee, intrinsic=True, stack=stack)
            return self.resolve(substituted, stack + (callee.key,))
        finally:
            busy.discard(key)

    def returns(self, fn: FunctionFlow, stack: tuple[str, ...] = ()) -> frozenset[Label]:
        """What a function returns, in terms of its own parameters."""
        cached = self._returns.get(fn.key)
        if cached is not None:
            return cached
        busy = self._busy["r"]
        if fn.key in busy:
            return EMPTY
        busy.add(fn.key)
        result = self.resolve(fn.returns, stack + (fn.key,))
        busy.discard(fn.key)
        self._returns[fn.key] = result
        return result

    def substitute(self, labels: frozenset[Label], site: Site, callee: FunctionFlow, *, intrinsic: bool,
                   stack: tuple[str, ...] = ()) -> frozenset[Label]:
        """Callee-side labels in the caller's terms. Without ``intrinsic``, only what the
        caller contributes survives (its arguments, or a condition its arguments decide)."""
        out: set[Label] = set()
        # labels read through a handle passed in follow the argument's callees: in one order (see resolve)
        for label in sorted(labels, key=label_key) if any(l.via is not None for l in labels) else labels:
            decided = self._guard(label.guard, site, callee)
            if decided is None:
                continue
            guard, involved = decided
            if label.kind == PARAM:
                for arg in self._argument(site, callee, label.ref):
                    out.add(arg.derived(compose(arg.shape, label.shape), label.field or arg.field, arg.guard | guard))
            elif label.kind == ORIGIN and label.via is not None and label.via.kind == PARAM:
                handles = self.resolve(self._argument(site, callee, label.via.ref), stack)
                out |= _apply_via(label._replace(guard=guard), handles, keep_primary=intrinsic)
            elif intrinsic or involved:
                out.add(label if guard == label.guard else label.derived(label.shape, label.field, guard))
        return frozenset(out)

    def _passed(self, site: Site, callee: FunctionFlow, param: str) -> bool:
        index = callee.params.index(param) if param in callee.params else None
        return param in site.kwargs or (index is not None and index < len(site.args)) or site.star

    def _argument(self, site: Site, callee: FunctionFlow, param: str) -> frozenset[Label]:
        if param in site.kwargs:
            return site.kwargs[param]
        if param in callee.params:
            index = callee.params.index(param)
            if index < len(site.args):
                return site.args[index]
        return EMPTY

    def _guard(self, guard: frozenset[tuple[str, bool]], site: Site, callee: FunctionFlow):
        """Decide a callee-side condition at a call: None when it cannot hold, else the
        remaining condition in caller terms and whether the caller's argument decided it."""
        out: set[tuple[str, bool]] = set()
        involved = False
        for param, want in guard:
            if param.startswith(UNKNOWN):
                out.add((param, want))
                continue
            if param.startswith(DEFAULTED):
                if self._passed(site, callee, param[1:]):
                    return None  # the caller chose the handle itself
                continue
            index = callee.params.index(param) if param in callee.params else None
            passed = param in site.kwargs or (index is not None and index < len(site.args))
            const = site.consts.get(param, site.consts.get(str(index)) if index is not None else None)
            if passed and const is not None:
                if const != want:
                    return None
                involved = involved or callee.default_truth(param) != want
            elif passed:
                arg = self._argument(site, callee, param)
                bare = [l for l in arg if l.kind == PARAM]
                if len(arg) == 1 and bare and bare[0].shape == SHAPES:
                    out.add((bare[0].ref, want))
                else:
                    out.add((UNKNOWN + site.key, want))
            elif site.star or callee.default_truth(param) is None:
                out.add((UNKNOWN + site.key, want))
            elif callee.default_truth(param) != want:
                return None
        return frozenset(out), involved

    def calls_elsewhere(self, fn: FunctionFlow) -> bool:
        """Whether ``fn`` calls project functions outside its own module (or unknown ones)."""
        path = self.path_of(fn)
        for key in fn.sites:
            site = self.site(key)
            callee = self.lookup(site.callee) if site is not None else None
            if callee is None or self.path_of(callee) != path:
                return True
        return False

    def takes_locks(self, fn: FunctionFlow) -> bool:
        """Whether ``fn`` reads rows under a lock, itself or through a helper
        (``stock_qs_select_for_update()``)."""
        if fn.locks:
            return True
        for key in fn.sites:
            if self._locking_helper(key):
                return True
            for label in self._call_result(Label(CALL, key), ()):
                origin = self.origin(label.ref) if label.kind == ORIGIN else None
                if origin is not None and label.effective(origin.shape) == LOCKED:
                    return True
        return False

    def _locking_helper(self, site_key: str) -> bool:
        """Whether the call at ``site_key`` runs a project function that takes a lock
        (``acquire(key)`` whose body takes ``cache.lock()`` or ``select_for_update()``)."""
        flow = self.flows.get(site_key.split("#", 1)[0])
        name = flow.site_callee(site_key) if flow is not None else None
        callee = self.lookup(name) if name is not None else None
        return callee is not None and bool(callee.locks)

    def called_under_lock(self, fn: FunctionFlow, depth: int = 0) -> bool:
        """Whether every known caller of ``fn`` holds row locks when calling it (or is
        itself only called under locks, a few levels up)."""
        cached = self._under_lock.get(fn.key)
        if cached is not None:
            return cached
        if depth > 3:
            return False
        self._under_lock[fn.key] = False  # cycle guard
        callers = self.callers().get(fn.key, [])
        found = bool(callers) and all(
            self.takes_locks(c) or self.called_under_lock(c, depth + 1) for c in callers
        )
        self._under_lock[fn.key] = found
        return found

    def callers(self) -> dict[str, list[FunctionFlow]]:
        """Function key -> the functions calling it (built once)."""
        if self._callers is None:
            self._callers = {}
            for caller in self.functions.values():
                for key in caller.sites:
                    flow = self.flows.get(key.split("#", 1)[0])
                    name = flow.site_callee(key) if flow is not None else None
                    callee = self.lookup(name) if name is not None else None
                    if callee is not None:
                        self._callers.setdefault(callee.key, []).append(caller)
        return self._callers

    def crosses(self, fn: FunctionFlow, depth: int = 0) -> bool:
        """Whether ``fn`` reaches a function of another module that reads, writes
        or returns database values (only those can have project findings)."""
        cached = self._crosses.get(fn.key)
        if cached is not None:
            return cached
        if depth > MAX_DEPTH:
            return False
        self._crosses[fn.key] = False  # cycle guard
        path = self.path_of(fn)
        found = False
        for key in fn.sites:
            site = self.site(key)
            callee = self.lookup(site.callee) if site is not None else None
            if callee is None:
                continue
            if self.path_of(callee) != path:
                found = self._contributes(callee)
            else:
                found = self.crosses(callee, depth + 1)
            if found:
                break
        self._crosses[fn.key] = found
        return found

    def _contributes(self, fn: FunctionFlow) -> bool:
        return (
            any(l.kind in (ORIGIN, HANDLE) for l in self.returns(fn))
            or bool(self.effective_writes(fn))
            or any(e[0] == "r" for e in self.events(fn))
        )

    # -- writes --------------------------------------------------------------------------
    def effective_writes(self, fn: FunctionFlow, depth: int = 0) -> list[EffectiveWrite]:
        cached = self._writes.get(fn.key)
        if cached is not None:
            return cached
        busy = self._busy["w"]
        if fn.key in busy or depth > MAX_DEPTH:
            return []
        busy.add(fn.key)
        out: list[EffectiveWrite] = []
        for key in fn.writes:
            w = self.write(key)
            if w is not None:
                out.append(EffectiveWrite(w, w.data, w.subject, tuple((k, True, v) for k, v in w.ctl), ()))
        for key in fn.sites:
            site = self.site(key)
            callee = self.lookup(site.callee) if site is not None else None
            if site is None or callee is None or callee.key == fn.key:
                continue
            for e in self.effective_writes(callee, depth + 1):
                data = self.substitute(e.data, site, callee, intrinsic=False)
                subject = self.substitute(e.subject, site, callee, intrinsic=False)
                ctl = tuple((site.key, False, self.substitute(v, site, callee, intrinsic=False)) for _, _, v in e.ctl)
                ctl = tuple(c for c in ctl if c[2]) + tuple((k, True, v) for k, v in site.ctl)
                out.append(EffectiveWrite(e.write, data, subject, ctl, (site, *e.sites)))
                if len(out) >= MAX_WRITES:
                    break
        busy.discard(fn.key)
        self._writes[fn.key] = out
        return out

    def reaches(self, fn: FunctionFlow) -> list[Reach]:
        """Every read whose value is written by, or decides, a write of ``fn``."""
        cached = self._reaches.get(fn.key)
        if cached is None:
            cached = self._reaches[fn.key] = self._reaches_of(fn)
        return cached

    def _reaches_of(self, fn: FunctionFlow) -> list[Reach]:
        out: list[Reach] = []
        for e in self.effective_writes(fn):
            at_write = e.sites[0].key if e.sites else e.write.key
            parts = [("data", at_write, None, e.data), ("subject", at_write, None, e.subject)]
            parts += [("ctl", key, self.cond(key) if own else None, labels) for key, own, labels in e.ctl]
            for role, at, cond, labels in parts:
                for label in sorted(self.resolve(labels), key=label_key):  # reaches in one order every run
                    if label.kind != ORIGIN:
                        continue
                    origin = self.origin(label.ref)
                    if origin is None:
                        continue
                    out.append(Reach(fn, origin, label, label.effective(origin.shape), role, e.write, at, cond, e.sites))
        return out

    # -- read after write ----------------------------------------------------------------
    def events(self, fn: FunctionFlow, depth: int = 0) -> list[tuple[str, object, tuple, str, Site | None]]:
        """Writes and replica reads of ``fn`` in order, calls expanded:
        (kind, Write | (Origin, Label), branch path, key to report at, site)."""
        cached = self._events.get(fn.key)
        if cached is not None:
            return cached
        busy = self._busy["e"]
        if fn.key in busy or depth > 2:
            return []
        busy.add(fn.key)
        out: list = []
        for kind, key, labels, branch in fn.events:
            if kind == "w":
                w = self.write(key)
                if w is not None:
                    out.append(("w", w, branch, key, None))
            elif kind == "r":
                for label in sorted(self.resolve(labels), key=label_key):  # the first read after a write is named
                    origin = self.origin(label.ref) if label.kind == ORIGIN else None
                    if origin is not None and label.replica:
                        out.append(("r", (origin, label), branch, key, None))
            else:
                site = self.site(key)
                callee = self.lookup(site.callee) if site is not None else None
                if site is None or callee is None or callee.key == fn.key:
                    continue
                for kind2, item, branch2, _, _ in self.events(callee, depth + 1):
                    if kind2 == "r":
                        origin, label = item  # type: ignore[misc]
                        for sub in sorted(self.substitute(frozenset({label}), site, callee, intrinsic=True),
                                          key=label_key):
                            if sub.replica:
                                out.append(("r", (origin, sub), branch + branch2, key, site))
                    else:
                        out.append((kind2, item, branch + branch2, key, site))
        busy.discard(fn.key)
        self._events[fn.key] = out
        return out

    def reads_after_writes(self, fn: FunctionFlow) -> list[ReadAfterWrite]:
        """Replica reads of an entity after a write of it, in ``fn`` or its callees.
        A read and a write reached through two calls of one function that reads
        the entity before it writes it are not a pair: each call reads the row
        it was given before writing it (``refresh(a); refresh(b)``), not the
        one the earlier call wrote."""
        found: list[ReadAfterWrite] = []
        written: list[tuple[Write, tuple, str, str | None]] = []
        for kind, item, branch, at, site in self.events(fn):
            if kind == "w":
                written.append((item, branch, at, site.callee if site is not None else None))  # type: ignore[arg-type]
                continue
            origin, label = item  # type: ignore[misc]
            if origin.entity is None or not holds_by_default(label, fn):
                continue
            for w, w_branch, w_at, w_callee in written:
                if site is not None and w_at == at:
                    continue  # both inside one callee: that function's own finding
                if site is not None and w_callee == site.callee and self._reads_then_writes(site.callee, w.entity):
                    continue  # two calls of one function that reads its row before writing it
                if w.entity == origin.entity and _compatible(branch, w_branch):
                    found.append(ReadAfterWrite(fn, origin, w, at, site))
                    break
        return found

    def _reads_then_writes(self, callee_name: str, entity: str | None) -> bool:
        """Whether the function reads ``entity`` from a replica and later writes it
        on a path where both run."""
        callee = self.lookup(callee_name)
        if callee is None or entity is None:
            return False
        reads: list[tuple] = []
        for kind, item, branch, _, _ in self.events(callee):
            if kind == "r" and item[0].entity == entity:  # type: ignore[index]
                reads.append(branch)
            elif kind == "w" and item.entity == entity and any(_compatible(b, branch) for b in reads):  # type: ignore[attr-defined]
                return True
        return False


def lookup_name(callee: str, functions: Mapping[str, T], instances: Callable[[str], Mapping[str, str] | None],
                depth: int = 0) -> T | None:
    """The function a qualified name calls: a function key, else a method reached
    through a module-level instance (``module.service.run`` with ``service =
    Service()``), a few levels deep. ``instances`` gives a module's instance
    names, None for a module the graph does not know."""
    found = functions.get(callee)
    if found is not None or depth > 2:
        return found
    parts = callee.split(".")
    for i in range(len(parts) - 1, 0, -1):
        known = instances(".".join(parts[:i]))
        if known is None:
            continue
        cls = known.get(parts[i])
        if cls is not None:
            return lookup_name(".".join([cls, *parts[i + 1:]]), functions, instances, depth + 1)
        return None
    return None


def local_graph(flow: ModuleFlow) -> Graph:
    """The graph of one module alone (file phase), shared by every rule."""
    assert flow.ctx is not None, "a file-phase flow"
    return flow.ctx.model.derived("local-graph", lambda: Graph([flow]))


def holds_by_default(label: Label, fn: FunctionFlow) -> bool:
    """Whether a label's parameter conditions hold when the function is called
    with its defaults (never when a condition is unknown)."""
    for param, want in label.guard:
        if param.startswith(DEFAULTED):
            continue
        if param.startswith(UNKNOWN) or fn.default_truth(param) != want:
            return False
    return True


def _apply_via(label: Label, handles: frozenset[Label], keep_primary: bool) -> set[Label]:
    """An origin read through a handle passed in (a parameter, a call result)."""
    out: set[Label] = set()
    replicas = [h for h in handles if h.kind == HANDLE and h.replica]
    for h in replicas:
        out.add(label._replace(replica=True, via=None, guard=label.guard | h.guard))
    if keep_primary and not any(not h.guard for h in replicas):
        params = sorted((h for h in handles if h.kind == PARAM), key=label_key)[:2]
        for p in params:
            out.add(label._replace(via=p._replace(shape=SHAPES, field=None)))
        if not params:
            out.add(label._replace(via=None))
    return out


def _compatible(a: tuple, b: tuple) -> bool:
    """Two events on branch paths that can both run (no if/else split between them)."""
    taken = dict(a)
    return all(taken.get(key, branch) == branch for key, branch in b)
