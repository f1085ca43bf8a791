"""Per-function def-use dataflow over database values: the vocabulary.

Every function is interpreted once (``scalelint.model.flow.interpret``), statement
by statement, with an environment mapping local names to *labels*: where a
value may come from (a read of some entity, a parameter, the result of a
project call, a replica handle). Labels flow through assignments, unpacking,
attribute and subscript reads, f-strings, arithmetic, containers and calls.
The interpreter records, per module (:class:`ModuleFlow`):

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
(``scalelint.model.flow.flowgraph``). Shapes tell a row from a value read out of
it, an identifier (``order.id``) or an existence test (``if order:``), so
that identity-only flows are not mistaken for stale state.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, NamedTuple

import libcst as cst

from scalelint.model import dbops
from scalelint.model.spots import Spot, StatementLocator
from scalelint.core.walk import walk

if TYPE_CHECKING:
    from scalelint.model.source import SourceFile

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
DEFAULTED = "="  # guard parameter prefix: holds while the caller leaves the parameter out


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


def label_key(label: Label) -> str:
    """A total order on labels that is the same on every run. Label sets are
    unordered (their order changes with the hash seed), and ``repr`` of a
    label spells its guard set in that order too: wherever the model picks
    one member of a set, it picks the first by this key."""
    guard = ",".join(sorted(f"{param}={int(want)}" for param, want in label.guard))
    via = label_key(label.via) if label.via is not None else ""
    return "|".join((label.kind, label.ref, label.shape, label.field or "", str(int(label.replica)), guard,
                     f"({via})"))


_ORDERINGS = (cst.LessThan, cst.LessThanEqual, cst.GreaterThan, cst.GreaterThanEqual)
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
            out.add(label.derived(compose(label.shape, op), name or label.field, label.guard))
    return frozenset(out)


def field_op(name: str | None) -> str:
    return ID_FIELD if dbops.is_identity(name) else FIELD


def counted(label: Label) -> bool:
    """Whether the value was computed over the rows read (``count()``, ``aggregate()``):
    only that step turns an identifier into a value."""
    return label.effective(ID) == VALUE


def is_replica(labels: Iterable[Label], *, unguarded: bool = False) -> bool:
    return any(
        l.kind in (HANDLE, ORIGIN) and l.replica and (not unguarded or not l.guard) for l in labels
    )


def is_primary(labels: Iterable[Label]) -> bool:
    """Evidence of the primary: a primary handle, or a read not through a replica."""
    return any(l.kind in (HANDLE, ORIGIN) and not l.replica and l.via is None for l in labels)



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
    lookup: tuple[str, ...] = ()  # fields compared for equality by its filters (``filter(code=c)``)
    #: every filter compares with a constant (``filter(name="site")``): the same row for every caller
    constant: bool = False
    #: its values are totals over the rows read (``annotate(total=Sum("qty"))``, ``SELECT COUNT(*)``)
    aggregate: bool = False
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
    #: the fetched row it writes back, when known (``order.save()``): an origin key
    target: str | None = None

    @property
    def atomic(self) -> bool:
        return self.rechecks or self.relative or self.upsert or self.unique_guarded


@dataclass(eq=False)
class Cond:
    key: str
    #: compares with < <= > >= (None: not looked at yet, see :attr:`orders`)
    ordering: bool | None
    node: cst.CSTNode | None = None
    spot: Spot | None = None
    anchor: cst.CSTNode | None = None
    before: bool = False  # the node precedes its anchor (an ``except`` clause's type)
    #: every comparison is with 0 or 1 (None: not looked at yet, see :attr:`presence`)
    presence_only: bool | None = None

    @property
    def presence(self) -> bool:
        """Whether the condition only asks whether rows exist: each comparison it
        makes is with the literal 0 or 1 (``count() >= 1``, ``len(rows) == 0``),
        so a total compared in it is no capacity."""
        if self.presence_only is None:
            targets = [sub for sub in walk(self.node, into_functions=False)
                       if isinstance(sub, cst.ComparisonTarget)] if self.node is not None else []
            self.presence_only = bool(targets) and all(
                isinstance(t.comparator, cst.Integer) and t.comparator.value in ("0", "1") for t in targets)
        return self.presence_only

    @property
    def orders(self) -> bool:
        """Whether the condition compares with < <= > >= (few conditions are ever asked)."""
        if self.ordering is None:
            self.ordering = self.node is not None and any(
                isinstance(sub, cst.ComparisonTarget) and isinstance(sub.operator, _ORDERINGS)
                for sub in walk(self.node, into_functions=False)
            )
        return self.ordering


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
    unique_guarded: bool = False  # called inside ``try ... except IntegrityError``
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
    locks: set[str] = field(default_factory=set)  # entities read with a row lock ("*": any lock)
    role: str = ""  # what calls it: "view", "task" or "" (see scalelint.model.entrypoints)

    def default_truth(self, param: str) -> bool | None:
        return self.defaults.get(param)


@dataclass(eq=False)
class Handle:
    """A replica handle as spelled (file phase only: the fix swaps it)."""

    key: str
    spelled: str
    node: cst.CSTNode
    alias: bool  # a Django alias literal
    #: a routing session (SQLAlchemy's recipe): reads reach a replica, writes the primary
    routes_writes: bool = False


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
        self.ctx: "SourceFile | None" = None
        self.locator: StatementLocator | None = None
        self._json: dict[str, Any] | None = None

    def key(self, prefix: str, n: int) -> str:
        return f"{self.path}#{prefix}{n}"

    def site_callee(self, key: str) -> str | None:
        """Whom a call site calls (read from facts without decoding the site)."""
        if isinstance(self.sites, _Records):
            return self.sites.first_field(key)
        site = self.sites.get(key)
        return site.callee if site is not None else None

    def spot(self, record: Origin | Write | Cond | Site) -> Spot:
        if record.spot is None:
            assert self.ctx is not None and record.node is not None
            found = None
            if self.locator is not None and record.anchor is not None:
                found = self.locator.locate(record.node, record.anchor, before=getattr(record, "before", False))
            record.spot = found or self.ctx.location(record.node, within=record.anchor)
        return record.spot

    # -- facts --------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        if self._json is None:
            self._json = self._encode()
        return self._json

    def _encode(self) -> dict[str, Any]:
        enc = _Encoder(self.path)
        # module-level call sites are only resolved (through globals), never reported at
        in_functions = {k for f in self.functions.values() for k in f.sites}
        functions: dict[str, list] = {}
        empty: list[str] = []  # known to the project, with nothing to follow through them
        for k, f in self.functions.items():
            returns = enc.labels(f.returns)
            if returns or f.writes or f.sites or f.events or f.locks:
                functions[k] = [f.name, list(f.params), f.defaults, returns, [enc.key(w) for w in f.writes],
                                [enc.key(s) for s in f.sites], [enc.event(e) for e in f.events], sorted(f.locks),
                                f.role]
            else:
                empty.append(enc.function(k, self.module))
        return {
            "module": self.module,
            "functions": functions,
            "empty": empty,
            "origins": {enc.key(k): [o.entity, o.spelled, o.kind, o.shape, int(o.locked), int(o.rechecks), o.column,
                                     list(self.spot(o)), int(o.keyed), list(o.lookup), int(o.constant),
                                     int(o.aggregate)]
                        for k, o in self.origins.items()},
            "writes": {enc.key(k): [w.verb, w.entity, w.what, int(w.rechecks), int(w.relative), int(w.upsert),
                                    int(w.unique_guarded), enc.labels(w.data), enc.labels(w.subject),
                                    enc.ctl(w.ctl), list(self.spot(w)), enc.key(w.target) if w.target else None]
                       for k, w in self.writes.items()},
            "sites": {enc.key(k): [s.callee, s.name, [enc.labels(a) for a in s.args],
                                   {n: enc.labels(v) for n, v in s.kwargs.items()}, s.consts, int(s.star),
                                   enc.ctl(s.ctl), list(self.spot(s)) if k in in_functions else [],
                                   int(s.unique_guarded)]
                      for k, s in self.sites.items()},
            "conds": {enc.key(k): [int(c.orders), list(self.spot(c)), int(c.presence)]
                      for k, c in self._reportable_conds()},
            "instances": self.instances,
        }

    def _reportable_conds(self) -> list[tuple[str, Cond]]:
        """The conditions a finding can be reported at: those deciding a write or a
        call while testing a read or a call result (a condition on parameters
        alone never resolves to a read); no other condition is ever looked up."""
        found: dict[str, None] = {}
        for record in (*self.writes.values(), *self.sites.values()):
            for key, labels in record.ctl:
                if key in self.conds and any(l.kind == ORIGIN or l.kind == CALL for l in labels):
                    found[key] = None
        return [(k, c) for k, c in self.conds.items() if k in found]

    @classmethod
    def from_json(cls, path: str, data: dict[str, Any]) -> "ModuleFlow":
        flow = cls(path, data["module"])
        dec = _Decoder(path)
        for k, (name, params, defaults, returns, writes, sites, events, locks, role) in data["functions"].items():
            flow.functions[k] = FunctionFlow(
                k, name, tuple(params), defaults, dec.labels(returns), [dec.key(w) for w in writes],
                [dec.key(s) for s in sites], [dec.event(e) for e in events], set(locks), role,
            )
        for short in data.get("empty", ()):
            k = dec.function(short, flow.module)
            flow.functions[k] = FunctionFlow(k, k.rsplit(".", 1)[-1])
        # records are decoded when looked up: the project phase follows a few of them
        flow.origins = _Records(dec, data["origins"], _origin)  # type: ignore[assignment]
        flow.writes = _Records(dec, data["writes"], _write)  # type: ignore[assignment]
        flow.sites = _Records(dec, data["sites"], _site)  # type: ignore[assignment]
        flow.conds = _Records(dec, data["conds"], _cond)  # type: ignore[assignment]
        flow.instances = data.get("instances", {})
        return flow


def function_keys(data: Mapping[str, Any]) -> Iterator[str]:
    """The keys of a module's functions as ``ModuleFlow.from_json`` adds them,
    read from its facts without decoding the functions."""
    yield from data["functions"]
    module = data["module"]
    for short in data.get("empty", ()):
        yield _Decoder.function(short, module)


def _origin(dec: "_Decoder", k: str, raw: list) -> Origin:
    entity, spelled, kind, shape, locked, rechecks, column, spot, keyed, lookup, constant, aggregate = raw
    return Origin(k, entity, spelled, kind, shape, bool(locked), bool(rechecks), column, keyed=bool(keyed),
                  lookup=tuple(lookup), constant=bool(constant), aggregate=bool(aggregate),
                  spot=tuple(spot))  # type: ignore[arg-type]


def _write(dec: "_Decoder", k: str, raw: list) -> Write:
    verb, entity, what, rechecks, relative, upsert, guarded, data, subject, ctl, spot, target = raw
    return Write(k, verb, entity, what, bool(rechecks), bool(relative), bool(upsert), bool(guarded),
                 dec.labels(data), dec.labels(subject), dec.ctl(ctl), spot=tuple(spot),  # type: ignore[arg-type]
                 target=dec.key(target) if target else None)


def _site(dec: "_Decoder", k: str, raw: list) -> Site:
    callee, name, args, kwargs, consts, star, ctl, spot, guarded = raw
    return Site(k, callee, name, tuple(dec.labels(a) for a in args), {n: dec.labels(v) for n, v in kwargs.items()},
                consts, bool(star), dec.ctl(ctl), bool(guarded), spot=tuple(spot))  # type: ignore[arg-type]


def _cond(dec: "_Decoder", k: str, raw: list) -> Cond:
    ordering, spot, presence = raw
    return Cond(k, bool(ordering), spot=tuple(spot), presence_only=bool(presence))  # type: ignore[arg-type]


class _Records(Mapping):
    """Records of one kind read from facts, each decoded when first looked up."""

    def __init__(self, dec: "_Decoder", raw: dict[str, list], make: Callable[["_Decoder", str, list], Any]) -> None:
        self._dec, self._raw, self._make = dec, raw, make
        self._done: dict[str, Any] = {}

    def __getitem__(self, key: str) -> Any:
        found = self._done.get(key)
        if found is None:
            prefix = self._dec.prefix
            raw = self._raw.get(key[len(prefix):]) if key.startswith(prefix) else None
            if raw is None:
                raise KeyError(key)
            found = self._done[key] = self._make(self._dec, key, raw)
        return found

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def first_field(self, key: str) -> Any:
        """The first field of a record, without decoding it (a site's callee)."""
        prefix = self._dec.prefix
        raw = self._raw.get(key[len(prefix):]) if key.startswith(prefix) else None
        return raw[0] if raw is not None else None

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.startswith(self._dec.prefix) and key[len(self._dec.prefix):] in self._raw

    def __iter__(self) -> Iterator[str]:
        return (self._dec.key(k) for k in self._raw)

    def __len__(self) -> int:
        return len(self._raw)


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

    @staticmethod
    def function(key: str, module: str) -> str:
        """A function's key without its module's name (``.Class.method``)."""
        return key[len(module):] if module and key.startswith(module + ".") else key

    def labels(self, labels: frozenset[Label]) -> list[str]:
        return sorted(self.label(l) for l in labels if l.kind != HANDLE or l.replica)  # sets: same facts every run

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

    @staticmethod
    def function(short: str, module: str) -> str:
        return module + short if short.startswith(".") else short

    def labels(self, d: list) -> frozenset[Label]:
        return frozenset(self.label(x) for x in d)

    def ctl(self, d: list) -> tuple:
        return tuple((self.key(k), self.labels(v)) for k, v in d)

    def event(self, d: list) -> Event:
        return (d[0], self.key(d[1]), self.labels(d[2]), tuple((self.key(k), b) for k, b in d[3]))


@dataclass
class State:
    """What holds on one path through a function: the labels of each local, the
    conditions deciding the path (control), parameter conditions (guards), the
    if/else branches taken, and whether it is inside ``except IntegrityError``."""

    env: dict[str, frozenset[Label]]
    ctl: tuple[tuple[str, frozenset[Label]], ...] = ()
    guards: frozenset[tuple[str, bool]] = frozenset()
    branch: tuple[tuple[str, int], ...] = ()
    unique: bool = False
    exited: bool = False

    def fork(self, **changes: Any) -> "State":
        new = State(dict(self.env), self.ctl, self.guards, self.branch, self.unique)
        for name, value in changes.items():
            setattr(new, name, value)
        return new
