"""Per-function def-use dataflow over database values.

Every function is interpreted once, statement by statement, with an
environment mapping local names to *labels*: where a value may come from
(a read of some entity, a parameter, the result of a project call, a replica
handle). Labels flow through assignments, unpacking, attribute and subscript
reads, f-strings, arithmetic, containers and calls. The interpreter records:

- **origins**: reads (SQL SELECT, Django QuerySets, SQLAlchemy queries), with
  the entity, whether they lock, and which handle labels chose the database;
- **writes**: SQL INSERT/UPDATE/DELETE, ORM saves/creates/updates/deletes,
  each with the labels of the values written (*data*), of the instance
  written back (*subject*) and of the conditions deciding it (*control*:
  enclosing ``if``/``while``, early ``return``/``raise``/``continue`` guards,
  ``except DoesNotExist`` handlers);
- **call sites** of project functions, with the labels of their arguments;
- an ordered event list (reads, writes, calls) for read-after-write checks.

Everything is serialisable (:meth:`ModuleFlow.to_json`) so the project phase
can follow helpers across modules without re-parsing
(``scalelint.model.flowgraph``). Shapes tell a row from a value read out of
it, an identifier (``order.id``) or an existence test (``if order:``), so
that identity-only flows are not mistaken for stale state.
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Iterable, NamedTuple

import libcst as cst

from scalelint.model import catalog, dbops
from scalelint.model.dbops import Step, is_class_name, positional, unroll
from scalelint.model.entities import entity_name
from scalelint.model.spots import Spot, StatementLocator
from scalelint.walk import dotted, walk

if TYPE_CHECKING:
    from scalelint.context import FileContext
    from scalelint.model.function import FunctionModel
    from scalelint.model.module import ModuleModel

# -- labels ------------------------------------------------------------------------------
ORIGIN, PARAM, CALL, HANDLE, NEW = "o", "p", "c", "h", "n"
#: base shapes, in the order a shape map lists their images
SHAPES = "rviel"
ROW, VALUE, ID, EXISTS, LOCKED = SHAPES
#: shape maps: position i is what base shape SHAPES[i] becomes; a locked read stays locked
AS_IS = "rviel"
FIELD = "vvivl"  # an attribute read out of a row: a value (of an identifier: still one)
ID_FIELD = "iiiil"  # order.id, order.user_id
COMPUTE = "vviel"  # arithmetic, comparison, formatting
TEST = "eveel"  # truthiness / ``is None``: a row's existence
LENGTH = "eveel"  # len(rows): how many exist
REF = "iviel"  # a row used as a foreign-key reference: its identity
ALL_VALUE = "vvvvl"  # count(), aggregate()
ALL_EXISTS = "eeeel"  # exists()
ROWS = "rriel"  # a query through a fetched row's relation (``order.lines.all()``)
LOCK = "lllll"  # select_for_update(): read under a row lock
UNKNOWN = "?"  # guard parameter prefix for conditions no caller can decide


_COMPOSED: dict[tuple[str, str], str] = {}


def compose(first: str, then: str) -> str:
    """Apply shape map ``then`` after ``first``."""
    if then == AS_IS:
        return first
    found = _COMPOSED.get((first, then))
    if found is None:
        found = _COMPOSED[(first, then)] = "".join(then[SHAPES.index(c)] for c in first)
    return found


class Label(NamedTuple):
    """Where a value may come from (a tuple: labels are created by the million)."""

    kind: str  # ORIGIN | PARAM | CALL | HANDLE | NEW
    ref: str  # origin/site/handle key, parameter name, or model name (NEW)
    shape: str = AS_IS
    field: str | None = None  # the last attribute read (messages)
    replica: bool = False  # ORIGIN/HANDLE: through a read replica
    #: (parameter, truthiness) conditions under which the label holds
    guard: frozenset[tuple[str, bool]] = frozenset()
    #: ORIGIN: the handle label (a parameter, a call result) that decides replica or primary
    via: "Label | None" = None

    def effective(self, base: str) -> str:
        return self.shape[SHAPES.index(base)]

    def derived(self, shape: str, field: str | None, guard: frozenset[tuple[str, bool]]) -> "Label":
        """This label seen through another step (a faster ``_replace``)."""
        return Label(self.kind, self.ref, shape, field, self.replica, guard, self.via)


EMPTY: frozenset[Label] = frozenset()
#: the primary database, as a handle or alias (``db.primary``, ``"default"``)
PRIMARY_HANDLE = Label(HANDLE, "primary")


def reshape(labels: frozenset[Label], op: str, name: str | None = None) -> frozenset[Label]:
    """Labels of a value derived from one carrying ``labels``."""
    if not labels or op == AS_IS:
        return labels
    out = set()
    for label in labels:
        if label.kind == HANDLE:
            out.add(label)
        elif label.kind == NEW:
            if op == REF:
                out.add(label)
        else:
            out.add(label._replace(shape=compose(label.shape, op), field=name or label.field))
    return frozenset(out)


def field_op(name: str | None) -> str:
    return ID_FIELD if dbops.is_identity(name) else FIELD


def is_replica(labels: Iterable[Label], *, unguarded: bool = False) -> bool:
    return any(
        l.kind in (HANDLE, ORIGIN) and l.replica and (not unguarded or not l.guard) for l in labels
    )


def is_primary(labels: Iterable[Label]) -> bool:
    """Evidence of the primary: a primary handle, or a read not through a replica."""
    return any(l.kind in (HANDLE, ORIGIN) and not l.replica and l.via is None for l in labels)


def _choice(side: frozenset[Label], opposite: frozenset[Label]) -> bool:
    """One branch picks a replica where the other picks the primary."""
    return is_replica(side) and not is_replica(opposite) and is_primary(opposite)


# -- records -------------------------------------------------------------------------------

@dataclass(eq=False)
class Origin:
    """A read of an entity."""

    key: str
    entity: str | None  # normalised (``entity_name``)
    spelled: str  # table or model as written
    kind: str  # sql | django | sqlalchemy
    shape: str  # base shape of the value read
    locked: bool = False
    rechecks: bool = False  # the query's own filters test state (writes through it re-check)
    column: str | None = None
    keyed: bool = False  # looked up by primary key (finding it is not a uniqueness check)
    handle: str | None = None  # replica handle key (file phase, for the fix)
    node: cst.CSTNode | None = None
    spot: Spot | None = None
    anchor: cst.CSTNode | None = None  # the statement evaluating it (file phase)


@dataclass(eq=False)
class Write:
    """A write to the primary."""

    key: str
    verb: str  # insert | update | delete | save | upsert
    entity: str | None
    what: str  # ``UPDATE accounts``, ``Account.save()``
    rechecks: bool = False  # the write itself re-checks state in the database
    relative: bool = False  # the database computes the new value (F(), SET x = x - 1)
    upsert: bool = False
    unique_guarded: bool = False  # inside ``try ... except IntegrityError``
    data: frozenset[Label] = EMPTY
    subject: frozenset[Label] = EMPTY
    ctl: tuple[tuple[str, frozenset[Label]], ...] = ()
    needs_flush: bool = False
    node: cst.CSTNode | None = None
    spot: Spot | None = None
    anchor: cst.CSTNode | None = None

    @property
    def atomic(self) -> bool:
        return self.rechecks or self.relative or self.upsert or self.unique_guarded


@dataclass(eq=False)
class Cond:
    key: str
    ordering: bool  # compares with < <= > >=
    node: cst.CSTNode | None = None
    spot: Spot | None = None
    anchor: cst.CSTNode | None = None
    before: bool = False  # the node precedes its anchor (an ``except`` clause's type)


@dataclass(eq=False)
class Site:
    """A call of a project function."""

    key: str
    callee: str  # qualified name
    name: str  # as spelled, for messages
    args: tuple[frozenset[Label], ...] = ()
    kwargs: dict[str, frozenset[Label]] = field(default_factory=dict)
    consts: dict[str, bool] = field(default_factory=dict)  # literal arguments' truthiness
    star: bool = False
    ctl: tuple[tuple[str, frozenset[Label]], ...] = ()
    node: cst.CSTNode | None = None
    spot: Spot | None = None
    anchor: cst.CSTNode | None = None


#: (kind "r"|"w"|"c", record key, labels of a read, branch path)
Event = tuple[str, str, frozenset[Label], tuple[tuple[str, int], ...]]


@dataclass(eq=False)
class FunctionFlow:
    key: str  # qualified name
    name: str
    params: tuple[str, ...] = ()  # positional parameters as callers pass them (no self)
    defaults: dict[str, bool | None] = field(default_factory=dict)  # literal defaults' truthiness
    returns: frozenset[Label] = EMPTY
    writes: list[str] = field(default_factory=list)
    sites: list[str] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    locks: set[str] = field(default_factory=set)  # entities read with a row lock

    def default_truth(self, param: str) -> bool | None:
        return self.defaults.get(param)


@dataclass(eq=False)
class Handle:
    """A replica handle as spelled (file phase only: the fix swaps it)."""

    key: str
    spelled: str
    node: cst.CSTNode
    alias: bool  # a Django alias literal


class ModuleFlow:
    """The dataflow records of one module."""

    def __init__(self, path: str, module: str) -> None:
        self.path = path
        self.module = module
        self.functions: dict[str, FunctionFlow] = {}
        self.origins: dict[str, Origin] = {}
        self.writes: dict[str, Write] = {}
        self.sites: dict[str, Site] = {}
        self.conds: dict[str, Cond] = {}
        self.handles: dict[str, Handle] = {}
        #: module-level names bound to instances of a class (``member_service = MemberService()``)
        self.instances: dict[str, str] = {}
        self.ctx: "FileContext | None" = None
        self.locator: StatementLocator | None = None
        self._json: dict[str, Any] | None = None

    def key(self, prefix: str, n: int) -> str:
        return f"{self.path}#{prefix}{n}"

    def spot(self, record: Origin | Write | Cond | Site) -> Spot:
        if record.spot is None:
            assert self.ctx is not None and record.node is not None
            found = None
            if self.locator is not None and record.anchor is not None:
                found = self.locator.locate(record.node, record.anchor, before=getattr(record, "before", False))
            record.spot = found or self.ctx.location(record.node)
        return record.spot

    # -- facts --------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        if self._json is None:
            self._json = self._encode()
        return self._json

    def _encode(self) -> dict[str, Any]:
        enc = _Encoder(self.path)
        return {
            "module": self.module,
            "functions": {
                k: [f.name, list(f.params), f.defaults, enc.labels(f.returns), [enc.key(w) for w in f.writes],
                    [enc.key(s) for s in f.sites], [enc.event(e) for e in f.events], sorted(f.locks)]
                for k, f in self.functions.items()
            },
            "origins": {enc.key(k): [o.entity, o.spelled, o.kind, o.shape, int(o.locked), int(o.rechecks), o.column,
                                     list(self.spot(o)), int(o.keyed)] for k, o in self.origins.items()},
            "writes": {enc.key(k): [w.verb, w.entity, w.what, int(w.rechecks), int(w.relative), int(w.upsert),
                                    int(w.unique_guarded), enc.labels(w.data), enc.labels(w.subject),
                                    enc.ctl(w.ctl), list(self.spot(w))]
                       for k, w in self.writes.items()},
            "sites": {enc.key(k): [s.callee, s.name, [enc.labels(a) for a in s.args],
                                   {n: enc.labels(v) for n, v in s.kwargs.items()}, s.consts, int(s.star),
                                   enc.ctl(s.ctl), list(self.spot(s))] for k, s in self.sites.items()},
            "conds": {enc.key(k): [int(c.ordering), list(self.spot(c))] for k, c in self.conds.items()},
            "instances": self.instances,
        }

    @classmethod
    def from_json(cls, path: str, data: dict[str, Any]) -> "ModuleFlow":
        flow = cls(path, data["module"])
        dec = _Decoder(path)
        for k, (name, params, defaults, returns, writes, sites, events, locks) in data["functions"].items():
            flow.functions[k] = FunctionFlow(
                k, name, tuple(params), defaults, dec.labels(returns), [dec.key(w) for w in writes],
                [dec.key(s) for s in sites], [dec.event(e) for e in events], set(locks),
            )
        for k, (entity, spelled, kind, shape, locked, rechecks, column, spot, keyed) in data["origins"].items():
            flow.origins[dec.key(k)] = Origin(dec.key(k), entity, spelled, kind, shape, bool(locked), bool(rechecks),
                                              column, keyed=bool(keyed), spot=tuple(spot))  # type: ignore[arg-type]
        for k, (verb, entity, what, rechecks, relative, upsert, guarded, data_, subject, ctl,
                spot) in data["writes"].items():
            flow.writes[dec.key(k)] = Write(
                dec.key(k), verb, entity, what, bool(rechecks), bool(relative), bool(upsert), bool(guarded),
                dec.labels(data_), dec.labels(subject), dec.ctl(ctl), spot=tuple(spot),  # type: ignore[arg-type]
            )
        for k, (callee, name, args, kwargs, consts, star, ctl, spot) in data["sites"].items():
            flow.sites[dec.key(k)] = Site(
                dec.key(k), callee, name, tuple(dec.labels(a) for a in args),
                {n: dec.labels(v) for n, v in kwargs.items()}, consts, bool(star), dec.ctl(ctl),
                spot=tuple(spot),  # type: ignore[arg-type]
            )
        for k, (ordering, spot) in data["conds"].items():
            flow.conds[dec.key(k)] = Cond(dec.key(k), bool(ordering), spot=tuple(spot))  # type: ignore[arg-type]
        flow.instances = data.get("instances", {})
        return flow


class _Encoder:
    """Labels as compact strings (``kind|ref|shape|field|replica|guard|via``), keys
    relative to the file, so facts stay small and independent of the display path."""

    def __init__(self, path: str) -> None:
        self.prefix = path + "#"
        self._memo: dict[Label, str] = {}

    def key(self, key: str) -> str:
        return key[len(self.prefix):] if key.startswith(self.prefix) else key

    def label(self, l: Label, sep: str = "|") -> str:
        found = self._memo.get(l) if sep == "|" else None
        if found is None:
            ref = self.key(l.ref) if l.kind in (ORIGIN, CALL, HANDLE) else l.ref
            guard = ",".join(sorted(f"{self._guard_key(p)}={int(b)}" for p, b in l.guard))
            via = self.label(l.via, "^") if l.via is not None else ""
            found = sep.join((l.kind, ref, l.shape, l.field or "", str(int(l.replica)), guard, via))
            if sep == "|":
                self._memo[l] = found
        return found

    def _guard_key(self, param: str) -> str:
        return UNKNOWN + self.key(param[1:]) if param.startswith(UNKNOWN) else param

    def labels(self, labels: frozenset[Label]) -> list[str]:
        return [self.label(l) for l in labels if l.kind != HANDLE or l.replica]

    def ctl(self, ctl) -> list:
        return [[self.key(k), self.labels(v)] for k, v in ctl]

    def event(self, e: Event) -> list:
        return [e[0], self.key(e[1]), self.labels(e[2]), [[self.key(k), b] for k, b in e[3]]]


class _Decoder:
    def __init__(self, path: str) -> None:
        self.prefix = path + "#"
        self._memo: dict[str, Label] = {}

    def key(self, key: str) -> str:
        return self.prefix + key

    def label(self, text: str, sep: str = "|") -> Label:
        found = self._memo.get(text)
        if found is None:
            kind, ref, shape, name, replica, guard, via = text.split(sep)
            guards = frozenset(
                (self._guard_key(g.rpartition("=")[0]), g.endswith("=1")) for g in guard.split(",") if g
            )
            found = Label(kind, self.key(ref) if kind in (ORIGIN, CALL, HANDLE) else ref, shape, name or None,
                          replica == "1", guards, self.label(via, "^") if via else None)
            self._memo[text] = found
        return found

    def _guard_key(self, param: str) -> str:
        return UNKNOWN + self.key(param[1:]) if param.startswith(UNKNOWN) else param

    def labels(self, d: list) -> frozenset[Label]:
        return frozenset(self.label(x) for x in d)

    def ctl(self, d: list) -> tuple:
        return tuple((self.key(k), self.labels(v)) for k, v in d)

    def event(self, d: list) -> Event:
        return (d[0], self.key(d[1]), self.labels(d[2]), tuple((self.key(k), b) for k, b in d[3]))


# -- building ---------------------------------------------------------------------------
_FLOWS: "weakref.WeakKeyDictionary[ModuleModel, ModuleFlow]" = weakref.WeakKeyDictionary()


def module_flow(ctx: "FileContext") -> ModuleFlow:
    """The dataflow of the file being checked (built once, shared by every rule)."""
    model = ctx.model
    flow = _FLOWS.get(model)
    if flow is None:
        flow = _Builder(ctx).build()
        _FLOWS[model] = flow
    return flow


class _Builder:
    def __init__(self, ctx: "FileContext") -> None:
        self.ctx = ctx
        self.model: ModuleModel = ctx.model
        self.flow = ModuleFlow(ctx.path, self.model.module_name)
        self.flow.ctx = ctx
        self.flow.locator = StatementLocator(ctx.module, ctx.text)
        self.globals: dict[str, frozenset[Label]] = {}
        self.local_classes = {c.name for c in self.model.classes}
        self._ids: dict[tuple[str, int], str] = {}
        self._counter = 0

    def qualify(self, qualname: str) -> str:
        return f"{self.model.module_name}.{qualname}" if self.model.module_name else qualname

    def key_for(self, prefix: str, node: cst.CSTNode) -> tuple[str, bool]:
        """A stable key per node (loops visit a node twice); True when new."""
        found = self._ids.get((prefix, id(node)))
        if found is not None:
            return found, False
        self._counter += 1
        key = self.flow.key(prefix, self._counter)
        self._ids[(prefix, id(node))] = key
        return key, True

    def build(self) -> ModuleFlow:
        if dbops.offline_module(self.model):
            return self.flow
        self._module_level()
        for fn in self.model.functions:
            if not self._offline_receiver(fn.node):
                _Run(self, fn).run()
        return self.flow

    def _offline_receiver(self, node: cst.FunctionDef) -> bool:
        """``@receiver(post_migrate)``: runs while migrating, not under traffic."""
        for decorator in node.decorators:
            call = decorator.decorator
            if isinstance(call, cst.Call) and any(
                self.model.qualified(a.value) in catalog.OFFLINE_SIGNALS for a in call.args
            ):
                return True
        return False

    def _module_level(self) -> None:
        run = _Run(self, None)
        state = _State({})
        for stmt in self.model.cst.body:
            if not isinstance(stmt, cst.SimpleStatementLine):
                continue
            for small in stmt.body:
                if isinstance(small, (cst.Assign, cst.AnnAssign)) and small.value is not None:
                    targets = [t.target for t in small.targets] if isinstance(small, cst.Assign) else [small.target]
                    labels = run.eval(small.value, state)
                    for target in targets:
                        if isinstance(target, cst.Name):
                            self.globals[target.value] = labels
                            self._instance(target.value, small.value)

    def _instance(self, name: str, value: cst.BaseExpression) -> None:
        if isinstance(value, cst.Call) and is_class_name(dotted(value.func)):
            spelled = dotted(value.func) or ""
            if spelled in self.local_classes:
                self.flow.instances[name] = self.qualify(spelled)
            else:
                qn = self.model.qualified(value.func)
                if qn is not None and self.model._project_import(qn):
                    self.flow.instances[name] = qn


@dataclass
class _State:
    env: dict[str, frozenset[Label]]
    ctl: tuple[tuple[str, frozenset[Label]], ...] = ()
    guards: frozenset[tuple[str, bool]] = frozenset()
    branch: tuple[tuple[str, int], ...] = ()
    unique: bool = False
    exited: bool = False

    def fork(self, **changes: Any) -> "_State":
        new = replace(self, env=dict(self.env), exited=False)
        for name, value in changes.items():
            setattr(new, name, value)
        return new


def _merge_env(states: list[_State]) -> dict[str, frozenset[Label]]:
    out: dict[str, frozenset[Label]] = {}
    for st in states:
        for name, labels in st.env.items():
            out[name] = out.get(name, EMPTY) | labels
    return out


class _Run:
    """Interprets one function (or the module body, for globals)."""

    def __init__(self, builder: _Builder, fn: "FunctionModel | None") -> None:
        self.b = builder
        self.model = builder.model
        self.fn = fn
        self.strings: dict[str, cst.BaseExpression] = {}
        self.returns: list[tuple[frozenset[Label], frozenset[tuple[str, bool]]]] = []
        self.flushes = False
        self.produced: list[frozenset[Label]] = []  # origin labels, in order (for except DoesNotExist)
        self.params: set[str] = set()
        self.out: FunctionFlow | None = None
        self.anchor: cst.CSTNode | None = None  # the statement being evaluated

    # -- driver ---------------------------------------------------------------------
    def run(self) -> None:
        fn = self.fn
        assert fn is not None
        key = self.b.qualify(fn.qualname)
        self.out = FunctionFlow(key, fn.name)
        state = _State({})
        self._params(fn.node, state)
        if isinstance(fn.node.body, cst.IndentedBlock):
            self.block(fn.node.body.body, state)
        self._finish()
        self.b.flow.functions[key] = self.out

    def _params(self, node: cst.FunctionDef, st: _State) -> None:
        p = node.params
        ordered = [*p.posonly_params, *p.params]
        is_method = self.fn is not None and self.fn.cls is not None and not any(
            (dotted(d.decorator) or "") == "staticmethod" for d in node.decorators
        )
        if is_method and ordered:
            ordered = ordered[1:]
        assert self.out is not None
        self.out.params = tuple(x.name.value for x in ordered)
        everything = [*ordered, *p.kwonly_params]
        for param in everything:
            name = param.name.value
            self.params.add(name)
            labels = {Label(PARAM, name)}
            if param.default is not None:
                self.out.defaults[name] = dbops.literal_truth(param.default)
                # ``session = Depends(get_read_session)``: the default chooses the handle
                labels |= {l for l in self.eval(param.default, st) if l.kind == HANDLE}
            st.env[name] = frozenset(labels)
        for star in (p.star_arg, p.star_kwarg):
            if isinstance(star, cst.Param):
                st.env[star.name.value] = EMPTY

    def _finish(self) -> None:
        out = self.out
        assert out is not None
        mixed = any(is_replica(l) for l, _ in self.returns) and any(
            not is_replica(l) and is_primary(l) for l, _ in self.returns
        )
        result: set[Label] = set()
        for labels, guards in self.returns:
            unknown = frozenset(g for g in guards if g[0].startswith(UNKNOWN))
            for label in labels:
                if mixed and unknown and label.replica:
                    label = label._replace(guard=label.guard | unknown)
                result.add(label)
        out.returns = frozenset(result)
        if not self.flushes:
            dropped = {k for k in out.writes if self.b.flow.writes[k].needs_flush}
            out.writes = [k for k in out.writes if k not in dropped]
            out.events = [e for e in out.events if e[1] not in dropped]
            for k in dropped:
                del self.b.flow.writes[k]

    # -- statements -------------------------------------------------------------------
    def block(self, stmts, st: _State) -> _State:
        for stmt in stmts:
            if st.exited:
                break
            st = self.stmt(stmt, st)
        return st

    def stmt(self, node: cst.BaseStatement, st: _State) -> _State:
        self.anchor = node
        if isinstance(node, cst.SimpleStatementLine):
            for small in node.body:
                st = self.small(small, st)
                if st.exited:
                    break
            return st
        if isinstance(node, cst.If):
            return self._if(node, st)
        if isinstance(node, (cst.For, cst.While)):
            return self._loop(node, st)
        if isinstance(node, (cst.Try, cst.TryStar)):
            return self._try(node, st)
        if isinstance(node, cst.With):
            for item in node.items:
                labels = self.eval(item.item, st)
                if item.asname is not None:
                    self.bind(item.asname.name, labels, st)
            return self.block(_body(node.body), st)
        if isinstance(node, cst.Match):
            return self._match(node, st)
        return st

    def small(self, node: cst.BaseSmallStatement, st: _State) -> _State:
        self.anchor = node
        if isinstance(node, cst.Assign):
            labels = self.eval(node.value, st)
            for target in node.targets:
                self._remember_text(target.target, node.value)
                self.bind(target.target, labels, st)
        elif isinstance(node, cst.AnnAssign):
            if node.value is not None:
                self._remember_text(node.target, node.value)
                self.bind(node.target, self.eval(node.value, st), st)
        elif isinstance(node, cst.AugAssign):
            value = reshape(self.eval(node.value, st), COMPUTE)
            current = reshape(self.eval(node.target, st), COMPUTE)
            self.bind(node.target, value | current, st, augmented=True)
        elif isinstance(node, cst.Expr):
            self.eval(node.value, st)
        elif isinstance(node, cst.Return):
            labels = self.eval(node.value, st) if node.value is not None else EMPTY
            self.returns.append((labels, st.guards))
            st.exited = True
        elif isinstance(node, cst.Raise):
            if node.exc is not None:
                self.eval(node.exc, st)
            st.exited = True
        elif isinstance(node, (cst.Break, cst.Continue)):
            st.exited = True
        elif isinstance(node, cst.Assert):
            key, labels = self.condition(node.test, st)
            if labels:
                st.ctl = st.ctl + ((key, labels),)
        return st

    def _remember_text(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        if isinstance(target, cst.Name) and isinstance(
            value, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString, cst.Call, cst.BinaryOperation)
        ):
            self.strings[target.value] = value

    def _if(self, node: cst.If, st: _State) -> _State:
        self.anchor = node
        key, labels = self.condition(node.test, st)
        guard = self._test_guard(node.test, key)
        ctl = st.ctl + ((key, labels),) if labels else st.ctl
        branch_key, _ = self.b.key_for("b", node)
        then = self.block(_body(node.body), st.fork(ctl=ctl, guards=st.guards | {guard},
                                                     branch=st.branch + ((branch_key, 0),)))
        other = st.fork(ctl=ctl, guards=st.guards | {(guard[0], not guard[1])}, branch=st.branch + ((branch_key, 1),))
        if isinstance(node.orelse, cst.If):
            other = self._if(node.orelse, other)
        elif node.orelse is not None:
            other = self.block(_body(node.orelse.body), other)
        if then.exited and other.exited:
            st.env = _merge_env([then, other])
            st.exited = True
            return st
        if then.exited:
            return other
        if other.exited:
            return then
        st.env = self._merge_choice(then, other, st.env, guard)
        return st

    def _merge_choice(self, then: _State, other: _State, before: dict, guard: tuple[str, bool]) -> dict:
        """Union of both branches; where only one branch picks a replica for a name the
        other also binds, the replica labels hold only under the branch's condition."""
        out = _merge_env([then, other])
        for name in set(then.env) | set(other.env):
            a, b = then.env.get(name, EMPTY), other.env.get(name, EMPTY)
            if a == b:
                continue
            for side, opposite, truth in ((a, b, guard[1]), (b, a, not guard[1])):
                if _choice(side, opposite):
                    picked = frozenset(
                        l._replace(guard=l.guard | {(guard[0], truth)}) if l.replica else l for l in side
                    )
                    out[name] = picked | opposite
        return out

    def _test_guard(self, test: cst.BaseExpression, key: str) -> tuple[str, bool]:
        truth = True
        while isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
            truth, test = not truth, test.expression
        if isinstance(test, cst.Name) and test.value in self.params:
            return test.value, truth
        return f"{UNKNOWN}{key}", truth

    def _loop(self, node: cst.For | cst.While, st: _State) -> _State:
        body_st = st
        if isinstance(node, cst.While):
            key, labels = self.condition(node.test, st)
            if labels:
                body_st = st.fork(ctl=st.ctl + ((key, labels),))
        iterated = self.eval(node.iter, st) if isinstance(node, cst.For) else EMPTY
        for _ in range(2):
            inner = body_st.fork()
            if isinstance(node, cst.For):
                self.bind(node.target, iterated, inner)
            inner = self.block(_body(node.body), inner)
            for name, labels in inner.env.items():
                st.env[name] = st.env.get(name, EMPTY) | labels
            body_st = body_st.fork()
            body_st.env = dict(st.env)
        if node.orelse is not None:
            st = self.block(_body(node.orelse.body), st)
        return st

    def _try(self, node: cst.Try | cst.TryStar, st: _State) -> _State:
        unique = st.unique or any(
            name in catalog.UNIQUE_VIOLATIONS for h in node.handlers for name in dbops.caught_names(h)
        )
        mark = len(self.produced)
        body = self.block(_body(node.body), st.fork(unique=unique))
        read_in_body = frozenset().union(*self.produced[mark:]) if len(self.produced) > mark else EMPTY
        entry_env = _merge_env([st, body])
        ends: list[_State] = []
        if node.orelse is not None and not body.exited:
            body = self.block(_body(node.orelse.body), body)
        if not body.exited:
            ends.append(body)
        for handler in node.handlers:
            h_st = st.fork()
            h_st.env = dict(entry_env)
            if read_in_body and any(n.endswith(catalog.NOT_FOUND_ERRORS) for n in dbops.caught_names(handler)):
                key, _ = self.b.key_for("k", handler)
                if key not in self.b.flow.conds:
                    first = _body(handler.body)
                    anchor = (first[0].body[0] if isinstance(first[0], cst.SimpleStatementLine) and first[0].body
                              else first[0]) if first else None
                    self.b.flow.conds[key] = Cond(key, False, handler.type or handler, anchor=anchor, before=True)
                h_st.ctl = h_st.ctl + ((key, reshape(read_in_body, TEST)),)
            if isinstance(handler.name, cst.AsName) and isinstance(handler.name.name, cst.Name):
                h_st.env[handler.name.name.value] = EMPTY
            h_st = self.block(_body(handler.body), h_st)
            if not h_st.exited:
                ends.append(h_st)
        if not ends:
            st.env = entry_env
            st.exited = True
            result = st
        elif len(ends) == 1:
            result = ends[0]
        else:
            st.env = _merge_env(ends)
            result = st
        if node.finalbody is not None:
            exited = result.exited
            result.exited = False
            result = self.block(_body(node.finalbody.body), result)
            result.exited = result.exited or exited
        return result

    def _match(self, node: cst.Match, st: _State) -> _State:
        subject = reshape(self.eval(node.subject, st), COMPUTE)
        key, _ = self.b.key_for("k", node.subject)
        if subject and key not in self.b.flow.conds:
            self.b.flow.conds[key] = Cond(key, False, node.subject, anchor=node)
        ends = []
        branch_key, _ = self.b.key_for("b", node)
        for i, case in enumerate(node.cases):
            c_st = st.fork(ctl=st.ctl + ((key, subject),) if subject else st.ctl, branch=st.branch + ((branch_key, i),))
            c_st = self.block(_body(case.body), c_st)
            if not c_st.exited:
                ends.append(c_st)
        st.env = _merge_env([st, *ends])
        return st

    # -- binding ---------------------------------------------------------------------
    def bind(self, target: cst.BaseExpression, labels: frozenset[Label], st: _State, augmented: bool = False) -> None:
        if isinstance(target, cst.Name):
            st.env[target.value] = labels
        elif isinstance(target, (cst.Tuple, cst.List)):
            for el in target.elements:
                inner = el.value
                name = inner.value if isinstance(inner, cst.Name) else None
                # unpacking a row gives its columns, unpacking a tuple of rows gives rows:
                # only a name that says "identifier" is known to be one
                self.bind(inner, reshape(labels, ID_FIELD, name) if dbops.is_identity(name) else labels, st)
        elif isinstance(target, cst.StarredElement):
            self.bind(target.value, labels, st)
        elif isinstance(target, cst.Attribute):
            self._attribute_store(target, labels, st, augmented)
        elif isinstance(target, cst.Subscript):
            base = target.value
            if isinstance(base, cst.Name):
                st.env[base.value] = st.env.get(base.value, EMPTY) | labels

    def _attribute_store(self, target: cst.Attribute, labels: frozenset[Label], st: _State, augmented: bool) -> None:
        base = target.value
        if not isinstance(base, cst.Name):
            return
        owner = st.env.get(base.value, EMPTY)
        st.env[base.value] = owner | frozenset(l for l in reshape(labels, REF) if l.kind != NEW)
        for label in owner:
            origin = self.b.flow.origins.get(label.ref) if label.kind == ORIGIN else None
            if origin is not None and origin.kind == "sqlalchemy" and label.shape == AS_IS:
                what = f"{origin.spelled}.{target.attr.value} assignment"
                self.write(target, "update", origin.entity, what, st, data=labels, needs_flush=True)
                return

    # -- conditions ------------------------------------------------------------------
    def condition(self, test: cst.BaseExpression, st: _State) -> tuple[str, frozenset[Label]]:
        labels = self._cond_labels(test, st)
        key, new = self.b.key_for("k", test)
        if labels and key not in self.b.flow.conds:
            ordering = any(
                isinstance(sub, cst.ComparisonTarget)
                and isinstance(sub.operator, (cst.LessThan, cst.LessThanEqual, cst.GreaterThan, cst.GreaterThanEqual))
                for sub in walk(test, into_functions=False)
            )
            self.b.flow.conds[key] = Cond(key, ordering, test, anchor=self.anchor)
        return key, labels

    def _cond_labels(self, test: cst.BaseExpression, st: _State) -> frozenset[Label]:
        if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
            return self._cond_labels(test.expression, st)
        if isinstance(test, cst.BooleanOperation):
            return self._cond_labels(test.left, st) | self._cond_labels(test.right, st)
        if isinstance(test, cst.Comparison):
            if all(_none_test(t) for t in test.comparisons):
                return reshape(self.eval(test.left, st), TEST)
            return self.eval(test, st)
        labels = self.eval(test, st)
        return reshape(labels, TEST) if not isinstance(test, cst.BinaryOperation) else labels

    # -- expressions -----------------------------------------------------------------
    def eval(self, node: cst.BaseExpression | None, st: _State) -> frozenset[Label]:
        if node is None:
            return EMPTY
        if isinstance(node, cst.Name):
            return self._name(node, st)
        if isinstance(node, (cst.Call, cst.Attribute)) or isinstance(node, cst.Await):
            return self.chain(node, st)
        if isinstance(node, cst.Subscript):
            return self._subscript(node, st)
        if isinstance(node, cst.BinaryOperation):
            return reshape(self.eval(node.left, st) | self.eval(node.right, st), COMPUTE)
        if isinstance(node, cst.UnaryOperation):
            inner = self.eval(node.expression, st)
            return reshape(inner, TEST if isinstance(node.operator, cst.Not) else COMPUTE)
        if isinstance(node, cst.BooleanOperation):
            return self.eval(node.left, st) | self.eval(node.right, st)
        if isinstance(node, cst.Comparison):
            labels = self.eval(node.left, st)
            for target in node.comparisons:
                labels |= self.eval(target.comparator, st)
            return reshape(labels, COMPUTE)
        if isinstance(node, cst.IfExp):
            return self._ifexp(node, st)
        if isinstance(node, cst.FormattedString):
            out = EMPTY
            for part in node.parts:
                if isinstance(part, cst.FormattedStringExpression):
                    out |= self.eval(part.expression, st)
            return reshape(out, COMPUTE)
        if isinstance(node, cst.SimpleString):
            text = dbops.short_literal(node)
            if text is not None and dbops.replica_alias(text, self.model.recognition):
                return frozenset({self._handle(node, text, st, alias=True)})
            if text is not None and dbops.primary_name(text, self.model.recognition):
                return frozenset({PRIMARY_HANDLE})
            return EMPTY
        if isinstance(node, (cst.Tuple, cst.List, cst.Set)):
            out = EMPTY
            for el in node.elements:
                out |= self.eval(el.value, st)
            return out
        if isinstance(node, cst.Dict):
            out = EMPTY
            for el in node.elements:
                if isinstance(el, cst.DictElement):
                    out |= self.eval(el.key, st) | self.eval(el.value, st)
                else:
                    out |= self.eval(el.value, st)
            return out
        if isinstance(node, (cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp)):
            return self._comprehension(node, st)
        if isinstance(node, cst.NamedExpr):
            labels = self.eval(node.value, st)
            self.bind(node.target, labels, st)
            return labels
        if isinstance(node, (cst.Yield,)):
            value = node.value
            return self.eval(value, st) if isinstance(value, cst.BaseExpression) else EMPTY
        if isinstance(node, cst.StarredElement):
            return self.eval(node.value, st)
        return EMPTY

    def _name(self, node: cst.Name, st: _State) -> frozenset[Label]:
        name = node.value
        if name in ("True", "False", "None", "self", "cls"):
            return EMPTY
        labels = st.env.get(name)
        if labels is None:
            labels = self.b.globals.get(name, EMPTY)
        recognition = self.model.recognition
        if dbops.replica_name(name, recognition):
            labels = labels | {self._handle(node, name, st)}
        elif dbops.primary_name(name, recognition):
            labels = labels | {PRIMARY_HANDLE}
        return labels

    def _handle(self, node: cst.CSTNode, spelled: str, st: _State, alias: bool = False) -> Label:
        key, new = self.b.key_for("h", node)
        if new:
            self.b.flow.handles[key] = Handle(key, spelled, node, alias)
        guard = frozenset(g for g in st.guards if not g[0].startswith(UNKNOWN))
        return Label(HANDLE, key, replica=True, guard=guard)

    def _subscript(self, node: cst.Subscript, st: _State) -> frozenset[Label]:
        base = self.eval(node.value, st)
        key_expr = node.slice[0].slice if len(node.slice) == 1 else None
        out = base
        if isinstance(key_expr, cst.Index):
            index = key_expr.value
            text = dbops.short_literal(index)
            if text is not None:
                out = reshape(base, field_op(text), text)
                if dbops.replica_alias(text, self.model.recognition):
                    out = out | {self._handle(index, text, st, alias=True)}
            elif isinstance(index, cst.Name) or isinstance(index, cst.Attribute):
                key_labels = self.eval(index, st)
                out = reshape(base, FIELD) | frozenset(l for l in key_labels if l.kind == HANDLE)
        return out

    def _ifexp(self, node: cst.IfExp, st: _State) -> frozenset[Label]:
        test = reshape(self.eval(node.test, st), COMPUTE)
        key, _ = self.b.key_for("k", node.test)
        guard = self._test_guard(node.test, key)
        body = self.eval(node.body, st.fork(guards=st.guards | {guard}))
        orelse = self.eval(node.orelse, st.fork(guards=st.guards | {(guard[0], not guard[1])}))
        for side, opposite, truth in ((body, orelse, guard[1]), (orelse, body, not guard[1])):
            if _choice(side, opposite):
                side = frozenset(l._replace(guard=l.guard | {(guard[0], truth)}) if l.replica else l for l in side)
                return side | opposite | frozenset(l for l in test if l.kind != HANDLE)
        return body | orelse | frozenset(l for l in test if l.kind != HANDLE)

    def _comprehension(self, node, st: _State) -> frozenset[Label]:
        inner = st.fork()
        comp = node.for_in
        while comp is not None:
            self.bind(comp.target, self.eval(comp.iter, inner), inner)
            for cond in comp.ifs:
                self.eval(cond.test, inner)
            comp = comp.inner_for_in
        if isinstance(node, cst.DictComp):
            return self.eval(node.key, inner) | self.eval(node.value, inner)
        return self.eval(node.elt, inner)

    # -- calls and chains ---------------------------------------------------------------
    def chain(self, node: cst.BaseExpression, st: _State) -> frozenset[Label]:
        root, steps = unroll(node)
        if not steps:
            return self.plain_call(root, st) if isinstance(root, cst.Call) else self.eval(root, st)
        if _is_logging(root, steps):
            for step in steps:
                if step.call is not None:
                    for arg in step.call.args:
                        self.eval(arg.value, st)
            return EMPTY
        manager = dbops.django_manager_index(root, steps)
        if manager is not None:
            labels, i = self.django(root, steps, manager, st)
        else:
            flask = self._flask_query_index(root, steps)
            if flask is not None:
                entity = dotted(root) if flask == 0 else dbops.spelled_prefix(root, steps, flask)
                labels, i = self.sa_query(steps, flask + 1, (entity or "").rsplit(".", 1)[-1], EMPTY, node, st)
            else:
                labels = self.plain_call(root, st) if isinstance(root, cst.Call) else self.eval(root, st)
                i = 0
        while i < len(steps):
            step = steps[i]
            if step.call is None:
                labels = self._attribute(labels, root, steps, i, st)
                i += 1
            else:
                labels, i = self.method(labels, root, steps, i, st)
        return labels

    def _attribute(self, labels, root, steps: list[Step], i: int, st: _State) -> frozenset[Label]:
        name = steps[i].name
        out = reshape(labels, field_op(name), name)
        recognition = self.model.recognition
        if dbops.replica_name(name, recognition):
            spelled = dbops.spelled_prefix(root, steps, i + 1) or name
            out = out | {self._handle(steps[i].node, spelled, st)}
        elif dbops.primary_name(name, recognition):
            out = out | {PRIMARY_HANDLE}
        return out

    def _flask_query_index(self, root, steps: list[Step]) -> int | None:
        for i, step in enumerate(steps):
            if step.call is not None:
                return None
            if step.name == "query" and i + 1 < len(steps):
                prefix = dbops.spelled_prefix(root, steps, i)
                return i if is_class_name(prefix) and self._project_class(prefix) else None
        return None

    def _project_class(self, spelled: str | None) -> bool:
        if not spelled:
            return False
        head = spelled.split(".")[0]
        qn = self.model.imports.names.get(head)
        return qn is None or self.model._project_import(qn)

    def args_labels(self, call: cst.Call, st: _State, op: str = AS_IS) -> frozenset[Label]:
        out = EMPTY
        for arg in call.args:
            out |= self.eval(arg.value, st)
        return reshape(out, op)

    # -- plain function calls -------------------------------------------------------------
    def plain_call(self, call: cst.Call, st: _State) -> frozenset[Label]:
        func = call.func
        spelled = dotted(func) or ""
        qn = self.model.qualified(func) or spelled
        if qn in catalog.FLOW_SINKLESS:
            self.args_labels(call, st)
            return EMPTY
        if qn in catalog.SQL_READ_FUNCTIONS:
            return self._sql_function(call, qn, st)
        if qn in catalog.PASS_THROUGH_CALLS or spelled in catalog.PASS_THROUGH_CALLS:
            return self.args_labels(call, st)
        callee = self.callee_of(func)
        if callee is not None:
            return self.site(call, callee, spelled, st) | self._func_handles(func, st)
        if is_class_name(spelled) and self._model_class(spelled):
            return frozenset({Label(NEW, spelled.rsplit(".", 1)[-1])}) | self.args_labels(call, st, REF)
        if qn == "getattr" and len(call.args) >= 2:
            name = dbops.short_literal(call.args[1].value)
            return reshape(self.eval(call.args[0].value, st), field_op(name), name)
        if qn == "len":
            return self.args_labels(call, st, LENGTH)
        op = COMPUTE if qn in catalog.VALUE_FUNCTIONS or spelled in catalog.VALUE_FUNCTIONS else REF
        return self.args_labels(call, st, op) | self._func_handles(func, st)

    def _func_handles(self, func: cst.BaseExpression, st: _State) -> frozenset[Label]:
        if isinstance(func, (cst.Name, cst.Attribute)):
            return frozenset(l for l in self.eval(func, st) if l.kind == HANDLE)
        return EMPTY

    def _model_class(self, spelled: str) -> bool:
        last = spelled.rsplit(".", 1)[-1]
        if last.endswith(catalog.NOT_MODEL_SUFFIXES):
            return False
        return last in self.b.local_classes or (
            self.model.imports.imported(spelled.split(".")[0]) and self._project_class(spelled)
        )

    def _sql_function(self, call: cst.Call, qn: str, st: _State) -> frozenset[Label]:
        args = positional(call)
        kw = dbops.keywords(call)
        text = dbops.sql_text(args[0], self.model, self.strings) if args else None
        handle = kw.get(catalog.SQL_READ_FUNCTIONS[qn]) or (args[1] if len(args) > 1 else None)
        self.args_labels(call, st)
        if text is None or text.info.is_write:
            return EMPTY
        return self._sql_read(call, text, self.eval(handle, st), st)

    def callee_of(self, func: cst.BaseExpression) -> str | None:
        """The qualified name of a project function or method being called."""
        model = self.model
        if isinstance(func, cst.Name):
            name = func.value
            if self.fn is not None:
                nested = f"{self.fn.qualname}.<locals>.{name}"
                if nested in model._defs:
                    return self.b.qualify(nested)
            if name in model._defs:
                return self.b.qualify(name)
            qn = model.imports.names.get(name)
            if qn is not None and model._project_import(qn) and not is_class_name(qn):
                return qn
            return None
        if not isinstance(func, cst.Attribute):
            return None
        base = func.value
        method = func.attr.value
        if isinstance(base, cst.Name):
            if base.value in ("self", "cls") and self.fn is not None and self.fn.cls is not None:
                return self.b.qualify(f"{self.fn.cls.name}.{method}")
            if base.value in self.b.flow.instances:
                return f"{self.b.flow.instances[base.value]}.{method}"
            if base.value in self.b.local_classes:
                return self.b.qualify(f"{base.value}.{method}")
        qn = model.qualified(func)
        if qn is not None and model._project_import(qn):
            return qn
        return None

    def site(self, call: cst.Call, callee: str, spelled: str, st: _State) -> frozenset[Label]:
        key, new = self.b.key_for("c", call)
        args = tuple(self.eval(a.value, st) for a in call.args if a.keyword is None and not a.star)
        kwargs = {a.keyword.value: self.eval(a.value, st) for a in call.args if a.keyword is not None}
        for a in call.args:
            if a.star:
                self.eval(a.value, st)
        consts: dict[str, bool] = {}
        for i, a in enumerate(x for x in call.args if x.keyword is None and not x.star):
            truth = dbops.literal_truth(a.value)
            if truth is not None:
                consts[str(i)] = truth
        for a in call.args:
            if a.keyword is not None:
                truth = dbops.literal_truth(a.value)
                if truth is not None:
                    consts[a.keyword.value] = truth
        existing = self.b.flow.sites.get(key)
        if existing is None:
            self.b.flow.sites[key] = Site(key, callee, spelled or callee.rsplit(".", 1)[-1], args, kwargs, consts,
                                          dbops.has_star(call), st.ctl, call, anchor=self.anchor)
            self._record("c", key, EMPTY, st)
        else:
            existing.args = tuple(a | b for a, b in zip(existing.args, args))
            existing.kwargs = {k: existing.kwargs.get(k, EMPTY) | v for k, v in kwargs.items()}
        return frozenset({Label(CALL, key)})

    # -- method calls ---------------------------------------------------------------------
    def method(self, labels, root, steps: list[Step], i: int, st: _State) -> tuple[frozenset[Label], int]:
        step = steps[i]
        call = step.call
        assert call is not None
        name = step.name
        receiver = call.func.value  # type: ignore[attr-defined]
        args = positional(call)
        if name in catalog.SQL_CALL_METHODS and args:
            text = dbops.sql_text(args[0], self.model, self.strings)
            if text is not None:
                return self._sql_call(call, text, labels, receiver, st), i + 1
        if name == "query" and args and dbops.first_class(args[0]):
            return self.sa_query(steps, i + 1, dbops.first_class(args[0]) or "", labels, call, st, first=call)
        if name in ("get", "get_one", "aget") and len(args) >= 2 and is_class_name(dotted(args[0])):
            self.args_labels(call, st)
            model = dotted(args[0]) or ""
            return self.origin(call, model.rsplit(".", 1)[-1], "sqlalchemy", ROW, labels, st, keyed=True), i + 1
        if name in ("execute", "scalar", "scalars", "stream", "stream_scalars", "get_one") and args:
            stmt_expr = args[0]
            if isinstance(stmt_expr, cst.Name) and stmt_expr.value in self.strings:
                stmt_expr = self.strings[stmt_expr.value]
            statement = dbops.sa_statement(stmt_expr, self.model)
            if statement is not None:
                return self._sa_execute(call, statement, labels, st), i + 1
        sessionish = "session" in (dotted(receiver) or "").lower() or "session" in (dotted(receiver) or "")
        if sessionish and name in catalog.SA_FLUSH_METHODS:
            self.flushes = True
        arg_labels = [self.eval(a.value, st) for a in call.args]
        all_args = frozenset().union(*arg_labels) if arg_labels else EMPTY
        if sessionish and name in catalog.SA_INSTANCE_WRITES and args:
            entity = self._model_of(arg_labels[0])
            if entity is not None:
                verb = catalog.SA_INSTANCE_WRITES[name]
                if verb == "save" and _new_instance(arg_labels[0]):
                    verb = "insert"
                self.write(call, verb, entity_name(entity), f"session.{name}({entity})", st,
                           subject=arg_labels[0] if verb != "delete" else EMPTY, handles=labels)
                return EMPTY, i + 1
        if name in catalog.INSTANCE_SAVE_METHODS or name in catalog.INSTANCE_DELETE_METHODS:
            entity = self._model_of(labels, instance=True)
            param = isinstance(receiver, cst.Name) and any(
                l.kind == PARAM and l.ref == receiver.value for l in labels
            )
            if (entity is not None or param) and not self._saving_self(receiver):
                save = name in catalog.INSTANCE_SAVE_METHODS
                what = f"{entity or dotted(receiver)}.{name}()"
                verb = ("insert" if _new_instance(labels) else "save") if save else "delete"
                self.write(call, verb, entity_name(entity) if entity else None,
                           what, st, subject=labels if save else EMPTY,
                           data=self._kw(call, st, "update_fields") if save else EMPTY)
                return EMPTY, i + 1
        if name in catalog.DJANGO_WRITE_VERBS:
            origin = self._django_origin(labels)
            if origin is not None:
                self._django_write(call, name, origin.spelled, origin.rechecks, labels, st)
                return EMPTY, i + 1
        named = EMPTY
        if dbops.replica_name(name, self.model.recognition):
            named = frozenset({self._handle(call.func, dotted(call.func) or name, st)})
        callee = self.callee_of(call.func)
        if callee is not None:
            return self.site(call, callee, dotted(call.func) or name, st) | named, i + 1
        if name in ("append", "extend", "add", "insert", "update", "setdefault") and isinstance(receiver, cst.Name):
            st.env[receiver.value] = st.env.get(receiver.value, EMPTY) | all_args
        return self._generic_method(labels, name, call, all_args) | named, i + 1

    def _generic_method(self, labels, name: str, call: cst.Call, args: frozenset[Label]) -> frozenset[Label]:
        if name in catalog.ROW_LOCK_METHODS:
            if self.out is not None:
                self.out.locks.add("*")
            return reshape(labels, LOCK)
        if name in catalog.DJANGO_EXISTS_METHODS:
            return reshape(labels, ALL_EXISTS)
        if name in catalog.DJANGO_VALUE_METHODS or name in catalog.SA_VALUE_METHODS:
            return reshape(labels, ALL_VALUE)
        first = positional(call)[:1]
        text = dbops.short_literal(first[0]) if name == "get" and first else None
        if text is not None:
            return reshape(labels, field_op(text), text)
        if name in ("values_list", "values") and labels and positional(call) and all(
            dbops.is_identity(dbops.short_literal(a)) for a in positional(call)
        ):
            return reshape(labels, ID_FIELD)
        if name in catalog.DJANGO_ROW_METHODS:
            return reshape(labels, ROWS)  # a narrower query: its arguments are criteria, not data
        return labels | reshape(args, REF)

    def _kw(self, call: cst.Call, st: _State, skip: str) -> frozenset[Label]:
        out = EMPTY
        for a in call.args:
            if a.keyword is not None and a.keyword.value != skip:
                out |= self.eval(a.value, st)
        return out

    def _saving_self(self, receiver: cst.BaseExpression) -> bool:
        return isinstance(receiver, cst.Name) and receiver.value == "self"

    def _model_of(self, labels: frozenset[Label], instance: bool = False) -> str | None:
        """The model an instance value belongs to: ``Model(...)``, or a row fetched
        through the ORM (through Django's only, for ``instance.save()``)."""
        kinds = ("django",) if instance else ("django", "sqlalchemy")
        for label in labels:
            if label.kind == NEW and label.shape == AS_IS:
                return label.ref
            if label.kind == ORIGIN and label.shape == AS_IS:
                origin = self.b.flow.origins.get(label.ref)
                if origin is not None and origin.kind in kinds and origin.spelled != "model":
                    return origin.spelled
        return None

    def _django_origin(self, labels: frozenset[Label]) -> Origin | None:
        for label in labels:
            if label.kind == ORIGIN and label.shape == AS_IS:
                origin = self.b.flow.origins.get(label.ref)
                if origin is not None and origin.kind == "django":
                    return origin
        return None

    # -- SQL text -----------------------------------------------------------------------
    def _sql_call(self, call: cst.Call, text: dbops.SqlText, receiver_labels, receiver, st: _State) -> frozenset[Label]:
        info = text.info
        params = EMPTY
        for a in call.args[1:]:
            params |= self.eval(a.value, st)
        for hole in text.holes:
            params |= self.eval(hole, st)
        if info.is_write:
            upsert = info.upsert
            self.write(call, info.verb, entity_name(info.table), f"{info.verb.upper()} {info.table}", st,
                       data=reshape(params, COMPUTE), rechecks=dbops.sql_rechecks(info),
                       relative=dbops.sql_relative(info), upsert=upsert, handles=receiver_labels)
            return EMPTY
        labels = self._sql_read(call, text, receiver_labels, st)
        if isinstance(receiver, cst.Name) and receiver.value in st.env:
            st.env[receiver.value] = st.env[receiver.value] | labels
        return labels

    def _sql_read(self, call: cst.Call, text: dbops.SqlText, handle_labels, st: _State) -> frozenset[Label]:
        info = text.info
        columns = dbops.sql_columns(info)
        column = columns[0] if len(columns) == 1 and columns[0] not in ("*", "?") else None
        if columns and all(dbops.is_identity(c) for c in columns):
            column = columns[0]  # an identifier: what it holds is identity, not state
        return self.origin(call, info.table, "sql", ROW, handle_labels, st, locked=info.locks, column=column,
                           entity=entity_name(info.table), keyed=dbops.sql_keyed(info))

    # -- Django --------------------------------------------------------------------------
    def django(self, root, steps: list[Step], manager: int, st: _State) -> tuple[frozenset[Label], int]:
        model = (dbops.spelled_prefix(root, steps, manager) or "").rsplit(".", 1)[-1]
        if model.lower() == "model":
            model = "model"
        handles = EMPTY
        locked = rechecks = keyed = False
        i = manager + 1
        last_call: cst.Call | None = None
        shape_op = AS_IS
        while i < len(steps) and steps[i].call is not None:
            step = steps[i]
            call = step.call
            assert call is not None
            if step.name in catalog.DJANGO_WRITE_VERBS:
                self._django_write(call, step.name, model, rechecks, handles, st)
                return (self._created(call, model, st) if step.name in ("get_or_create", "update_or_create",
                                                                           "aget_or_create", "aupdate_or_create")
                        else EMPTY), i + 1
            labels = self.args_labels(call, st)
            if step.name in catalog.DJANGO_ALIAS_METHODS or step.name == "using":
                handles = frozenset(l for l in labels if l.kind in (HANDLE, PARAM, CALL))
            elif step.name in catalog.ROW_LOCK_METHODS:
                locked = True
            elif step.name in catalog.DJANGO_FILTER_METHODS:
                rechecks = rechecks or dbops.lookups_recheck(call)
                keyed = keyed or dbops.lookups_keyed(call)
            if step.name in catalog.DJANGO_VALUE_METHODS:
                shape_op = ALL_VALUE
            elif step.name in catalog.DJANGO_EXISTS_METHODS:
                shape_op = ALL_EXISTS
            elif step.name in ("values_list", "values") and positional(call) and all(
                dbops.is_identity(dbops.short_literal(a)) for a in positional(call)
            ):
                shape_op = ID_FIELD
            last_call = call
            i += 1
        node = last_call if last_call is not None else steps[manager].node
        labels = self.origin(node, model, "django", ROW, handles, st, locked=locked, rechecks=rechecks,
                             entity=entity_name(model) if model != "model" else None, keyed=keyed)
        return reshape(labels, shape_op), i

    def _django_write(self, call: cst.Call, method: str, model: str, rechecks: bool, handles, st: _State) -> None:
        verb = catalog.DJANGO_WRITE_VERBS[method]
        kw = dbops.keywords(call)
        data = EMPTY
        for name, value in kw.items():
            if name in ("defaults", "create_defaults") and isinstance(value, cst.Dict):
                data |= reshape(self.eval(value, st), REF)
            elif not (verb == "upsert" and name not in ("defaults", "create_defaults")):
                data |= reshape(self.eval(value, st), REF)
        subject = EMPTY
        args = positional(call)
        if method in catalog.DJANGO_INSTANCE_LIST_WRITES and args:
            subject = self.eval(args[0], st)
        elif args:
            data |= reshape(self.eval(args[0], st), REF)
        relative = any(dbops.uses_db_expression(v, self.model) for v in kw.values())
        if verb == "update" and method not in catalog.DJANGO_INSTANCE_LIST_WRITES:
            what = f"{model}.objects.update()"
        else:
            what = f"{model}.objects.{method}()"
        self.write(call, "upsert" if verb == "upsert" else verb, entity_name(model) if model != "model" else None,
                   what, st, data=data, subject=subject, rechecks=rechecks and verb in ("update", "delete"),
                   relative=relative, upsert=verb == "upsert", handles=handles)

    def _created(self, call: cst.Call, model: str, st: _State) -> frozenset[Label]:
        return self.origin(call, model, "django", ROW, EMPTY, st, entity=entity_name(model), record_event=False)

    # -- SQLAlchemy ----------------------------------------------------------------------
    def sa_query(self, steps: list[Step], start: int, model: str, handles, node, st: _State,
                 first: cst.Call | None = None) -> tuple[frozenset[Label], int]:
        if first is not None:
            self.args_labels(first, st)
        locked = rechecks = keyed = False
        shape_op = AS_IS
        i = start
        last: cst.BaseExpression = first if first is not None else node
        while i < len(steps) and steps[i].call is not None:
            step = steps[i]
            call = step.call
            assert call is not None
            if step.name in ("update", "delete"):
                data = self.args_labels(call, st)
                relative = any(dbops.mentions_class_attribute(a.value, model) for a in call.args)
                self.write(call, step.name, entity_name(model), f"{model} query.{step.name}()", st,
                           data=reshape(data, COMPUTE), rechecks=rechecks, relative=relative, handles=handles)
                return EMPTY, i + 1
            self.args_labels(call, st)
            if step.name in catalog.ROW_LOCK_METHODS:
                locked = True
            elif step.name in catalog.SA_FILTER_METHODS:
                rechecks = rechecks or dbops.sa_criteria_recheck(call)
                keyed = keyed or dbops.lookups_keyed(call)
            elif step.name in catalog.SA_VALUE_METHODS:
                shape_op = ALL_VALUE
            elif step.name in ("exists",):
                shape_op = ALL_EXISTS
            last = call
            i += 1
        labels = self.origin(last, model, "sqlalchemy", ROW, handles, st, locked=locked, rechecks=rechecks,
                             entity=entity_name(model), keyed=keyed)
        return reshape(labels, shape_op), i

    def _sa_execute(self, call: cst.Call, statement: dbops.SaStatement, handles, st: _State) -> frozenset[Label]:
        self.args_labels(call, st)
        model = statement.entity or "?"
        entity = entity_name(statement.entity) if statement.entity else None
        if statement.verb == "select":
            return self.origin(call, model, "sqlalchemy", ROW, handles, st, locked=statement.locked,
                               rechecks=statement.rechecks, entity=entity, column=statement.column,
                               keyed=statement.keyed)
        data = EMPTY
        for value in statement.values:
            data |= self.eval(value, st)
        self.write(call, statement.verb, entity, f"{statement.verb}({model})", st, data=reshape(data, COMPUTE),
                   rechecks=statement.rechecks and statement.verb != "insert", relative=statement.relative,
                   handles=handles)
        return EMPTY

    # -- records ------------------------------------------------------------------------
    def origin(self, node: cst.CSTNode, spelled: str, kind: str, shape: str, handle_labels, st: _State, *,
               locked: bool = False, rechecks: bool = False, column: str | None = None,
               entity: str | None = None, record_event: bool = True, keyed: bool = False) -> frozenset[Label]:
        key, new = self.b.key_for("o", node)
        if locked:
            shape = LOCKED
        replicas = [l for l in handle_labels if l.kind == HANDLE and l.replica]
        vias = [l for l in handle_labels if l.kind in (PARAM, CALL)][:2]
        out: set[Label] = set()
        for h in replicas:
            out.add(Label(ORIGIN, key, replica=True, guard=h.guard))
        unguarded = next((h for h in replicas if not h.guard), None)
        if unguarded is None:
            primary_guard: frozenset[tuple[str, bool]] = frozenset()
            if len(replicas) == 1 and len(replicas[0].guard) == 1:
                (p, b), = replicas[0].guard
                primary_guard = frozenset({(p, not b)})
            for via in vias:
                out.add(Label(ORIGIN, key, guard=primary_guard, via=via._replace(shape=AS_IS, field=None)))
            if not vias:
                out.add(Label(ORIGIN, key, guard=primary_guard))
        if new:
            self.b.flow.origins[key] = Origin(
                key, entity, spelled, kind, shape, locked, rechecks, column, keyed=keyed,
                handle=unguarded.ref if unguarded is not None else None, node=node, anchor=self.anchor,
            )
        if locked and entity and self.out is not None:
            self.out.locks.add(entity)
        labels = frozenset(out)
        self.produced.append(labels)
        if record_event:
            self._record("r", key, labels, st)
        return labels

    def write(self, node: cst.CSTNode, verb: str, entity: str | None, what: str, st: _State, *,
              data: frozenset[Label] = EMPTY, subject: frozenset[Label] = EMPTY, rechecks: bool = False,
              relative: bool = False, upsert: bool = False, handles: frozenset[Label] = EMPTY,
              needs_flush: bool = False) -> None:
        if self.out is None or is_replica(handles, unguarded=True):
            return  # not a write to the primary (or at import time)
        key, new = self.b.key_for("w", node)
        existing = self.b.flow.writes.get(key)
        if existing is not None:
            existing.data |= data
            existing.subject |= subject
            existing.ctl = tuple(dict.fromkeys(existing.ctl + st.ctl))
            return
        self.b.flow.writes[key] = Write(key, verb, entity, what, rechecks, relative, upsert, st.unique, data,
                                        subject, st.ctl, needs_flush, node, anchor=self.anchor)
        self.out.writes.append(key)
        self._record("w", key, EMPTY, st)

    def _record(self, kind: str, key: str, labels: frozenset[Label], st: _State) -> None:
        if self.out is None:
            return
        if not any(e[1] == key for e in self.out.events[-50:]):
            self.out.events.append((kind, key, labels, st.branch))
        if kind == "c" and self.out is not None and key not in self.out.sites:
            self.out.sites.append(key)


def _body(suite: cst.BaseSuite) -> list[cst.BaseStatement]:
    if isinstance(suite, cst.IndentedBlock):
        return list(suite.body)
    if isinstance(suite, cst.SimpleStatementSuite):
        return [cst.SimpleStatementLine(body=suite.body)]
    return []


def _new_instance(labels: frozenset[Label]) -> bool:
    """``Model(...)`` not yet saved (its save is an INSERT), not a fetched row."""
    return any(l.kind == NEW for l in labels) and not any(l.kind == ORIGIN and l.shape == AS_IS for l in labels)


def _none_test(target: cst.ComparisonTarget) -> bool:
    return (
        isinstance(target.operator, (cst.Is, cst.IsNot, cst.Equal, cst.NotEqual))
        and isinstance(target.comparator, cst.Name)
        and target.comparator.value == "None"
    )


def _is_logging(root: cst.BaseExpression, steps: list[Step]) -> bool:
    head = dotted(root) if isinstance(root, (cst.Name, cst.Attribute)) else None
    if head is None:
        return False
    if head in catalog.LOGGER_NAMES or head.endswith(("logger", "log")):
        return True
    return bool(steps) and steps[0].name in ("logger", "log") and head == "self"
