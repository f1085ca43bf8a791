"""Project phase of the cache-key index (SL301): the key families of every
file tied to the entities they hold, every invalidation reachable from each
function, and for each write of a cached entity the families it leaves stale.
Works from the facts of :mod:`scalelint.model.caches.cachefacts` only.
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Iterable, Iterator

from scalelint.core.findings import Edit, Fix, FixSafety
from scalelint.core.lazyre import lazy_compile
from scalelint.model import catalog
from scalelint.model.caches.cachekeys import HOLE, glob_matches, key_prefix, key_words, substitute, templates_match
from scalelint.model.caches.keyindex import GlobIndex, TemplateIndex
from scalelint.model.caches.lifetimes import resolved, settings_values
from scalelint.model.entities import entity_name

MAX_DEPTH = 4
#: the facts of a family saying what its value derives from
_SOURCE_FACTS = frozenset({"entities", "calls", "params", "primary", "primary_call", "cols", "remote", "elsewhere"})


@dataclass(frozen=True)
class Family:
    key: str  # resolved template, or ``@module.function`` for a memoized function
    path: str
    line: int
    col: int
    fn: str
    entities: frozenset[str]
    label: str
    alias: str | None = None
    versions: tuple[str, ...] = ()
    client: str | None = None
    is_async: bool = False
    expr: str | None = None
    names: tuple[str, ...] = ()
    #: the entity the value is a copy of, whether it is one row of it, and
    #: whether it is statistics over its rows
    primary: tuple[str, bool, bool] | None = None
    #: entity -> the only columns of it the value depends on (absent: whole rows)
    columns: dict[str, frozenset[str]] = field(default_factory=dict)
    #: ``@cache.cached``: keyed by its prefix, so deleting the function's memoized results misses it
    prefixed: bool = False

    @property
    def memo(self) -> bool:
        return self.key.startswith("@")


@dataclass
class Effects:
    """What calling a function invalidates, its callees included."""

    keys: set[str] = field(default_factory=set)
    patterns: set[str] = field(default_factory=set)
    memo: set[str] = field(default_factory=set)
    helpers: set[str] = field(default_factory=set)
    #: clear(), a published change event, a delete of keys we cannot read
    everything: bool = False

    def merge(self, other: "Effects") -> None:
        self.keys |= other.keys
        self.patterns |= other.patterns
        self.memo |= other.memo
        self.helpers |= other.helpers
        self.everything = self.everything or other.everything

    def covers(self, family: Family) -> bool:
        if self.everything or "*" in self.helpers:
            return True
        if self.helpers and (self.helpers & family.entities or self.helpers & set(key_words(family.key))):
            return True
        if family.memo:
            if family.key[1:] in self.memo and not family.prefixed:
                return True
            if family.alias is None:
                return False
        key = family.alias if family.memo else family.key
        if any(templates_match(k, key) for k in self.keys):  # type: ignore[arg-type]
            return True
        if any(glob_matches(p, key) for p in self.patterns):  # type: ignore[arg-type]
            return True
        return any(templates_match(k, v) for k in self.keys for v in family.versions)


@dataclass(frozen=True)
class Write:
    path: str
    entity: str
    kind: str
    desc: str
    fn: str
    loc: tuple[int, int, int, int]
    anchor: dict[str, Any] | None
    clients: dict[str, str]
    insert: bool = False
    columns: frozenset[str] | None = None


@dataclass(frozen=True)
class StaleWrite:
    write: Write
    families: tuple[Family, ...]
    note: str
    fix: Fix | None


class CacheKeyIndex:
    def __init__(self, files: Iterable[tuple[str, dict[str, Any]]], stale_budget: float | None = None) -> None:
        self.files = list(files)
        #: families whose every write expires within this many seconds are self-invalidating
        self.stale_budget = stale_budget
        self.numbers: dict[str, float] = {}
        self.bases: dict[str, list[str]] = {}
        #: project classes deriving from a remote API client (their method results are its responses)
        self.remote_classes: set[str] = set()
        self.consts: dict[str, str] = {}
        self.instances: dict[str, str] = {}
        self.tables: dict[str, str] = {}
        self.functions: dict[str, dict[str, Any]] = {}
        self.hooks: list[dict[str, Any]] = []
        self.client_defs: set[str] = set()
        for _, facts in self.files:
            self.client_defs.update(facts.get("defs", ()))
            self.consts.update(facts.get("consts", {}))
            self.consts.update(facts.get("keyfns", {}))
            self.instances.update(facts.get("instances", {}))
            self.tables.update(facts.get("tables", {}))
            self.functions.update(facts.get("functions", {}))
            self.hooks.extend(facts.get("hooks", []))
            self.numbers.update(facts.get("numbers", {}))
            self.bases.update(facts.get("bases", {}))
            self.remote_classes.update(facts.get("remote_classes", ()))
        self._effects: dict[str, Effects] = {}
        self._read_columns: dict[str, dict[str, frozenset[str] | None]] = {}
        self._reads: dict[str, set[str]] = {}
        # answers per family (keyed by its id: the families live as long as
        # the index), so each write meets a family at a constant cost
        self._expiry_of: dict[int, bool] = {}
        self._short_of: dict[int, bool] = {}
        self._fallback_of: dict[int, bool] = {}
        self._covers_memo: dict[tuple[str, int], bool] = {}
        self._hook_memo: dict[tuple[str, str, int], bool] = {}
        by_name: dict[str, list[str]] = {}
        for qual in self.functions:
            by_name.setdefault(qual.rsplit(".", 1)[-1], []).append(qual)
        self._by_name = by_name

    # -- resolution ---------------------------------------------------------------
    def resolve(self, template: str) -> str | None:
        return substitute(template, lambda qn: self._lookup(qn, 0))

    def _lookup(self, qualified: str, depth: int) -> str | None:
        found = self.consts.get(qualified)
        if found is None:  # a key method called on a module-level instance (``mapper.key(x)``)
            head, _, method = qualified.rpartition(".")
            if head in self.instances:
                found = self.consts.get(f"{self.instances[head]}.{method}")
        if found is None or depth > 3:
            return found
        return substitute(found, lambda qn: self._lookup(qn, depth + 1))

    def entity(self, name: str) -> str:
        return self.tables.get(name, name)

    def _targets(self, name: str) -> list[str]:
        """The project functions a call may reach (by method name when the receiver was unknown)."""
        if name.startswith("?"):
            receiver, _, method = name[1:].rpartition(".")
            return [q for q in self._by_name.get(method, []) if _names_class(receiver, q)]
        return [name] if name in self.functions else []

    def reads(self, qual: str, depth: int = 0) -> set[str]:
        """Entities a function reads, its project callees included."""
        if qual in self._reads:
            return self._reads[qual]
        self._reads[qual] = set()
        facts = self.functions.get(qual, {})
        out = {self.entity(e) for e in facts.get("reads", ())}
        if depth < MAX_DEPTH:
            for callee in facts.get("calls", ()):
                if not callee.startswith("?"):
                    for target in self._targets(callee):
                        out |= self.reads(target, depth + 1)
        self._reads[qual] = out
        return out

    def effects(self, qual: str, depth: int = 0) -> Effects:
        if qual in self._effects:
            return self._effects[qual]
        self._effects[qual] = Effects()
        facts = self.functions.get(qual, {})
        out = self._explicit(facts)
        out.helpers = set(facts.get("helpers", ())) | {
            hint for target, hint in facts.get("named", ()) if not (target and self._targets(target))
        }
        out.everything = bool(facts.get("clear") or facts.get("publish") or facts.get("opaque"))
        if depth < MAX_DEPTH:
            for callee in facts.get("calls", ()):
                for target in self._targets(callee):
                    out.merge(self.effects(target, depth + 1))
        self._effects[qual] = out
        return out

    @cached_property
    def callers(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for qual, facts in self.functions.items():
            for callee in facts.get("calls", ()):
                for target in self._targets(callee) if callee.startswith("?") else [callee]:
                    out.setdefault(target, []).append(qual)
        return out

    # -- families -------------------------------------------------------------------
    @cached_property
    def families(self) -> dict[str, list[Family]]:
        """Entity -> the key families holding it."""
        out: dict[str, list[Family]] = {}
        for path, facts in self.files:
            for raw in facts.get("families", []):
                family = self._family(path, raw)
                if family is None:
                    continue
                for entity in family.entities:
                    out.setdefault(entity, []).append(family)
        return out

    def _family(self, path: str, raw: dict[str, Any]) -> Family | None:
        if raw.get("via") and raw["via"] not in self.client_defs:
            return None  # an imported name used like a client, but no module defines it as one
        key = raw["key"] if raw["key"].startswith("@") else self.resolve(raw["key"])
        if key is None:
            return None
        remote = raw.get("remote")
        if remote is not None and all(self._remote_class(c, 0) for c in remote["clients"]):
            # the value passes through a remote API's response: what it holds is
            # what is left when the rows the client was given are not followed
            raw = {k: v for k, v in raw.items() if k not in _SOURCE_FACTS} | remote
        entities = {self.entity(e) for e in raw.get("entities", ())}
        for callee in raw.get("calls", ()):
            for target in self._targets(callee):
                entities |= self.reads(target)
        if not entities and not key.startswith("@") and not raw.get("elsewhere"):
            # the key's prefix and arguments, only when the value's provenance is unknown
            entities = _prefix_entity(key, set(raw.get("params", ())))
        if not entities:
            return None
        versions = tuple(v for v in (self.resolve(t) for t in raw.get("versions", ())) if v)
        label = raw.get("label") or f'"{key}"'
        primary = self._primary(raw, 0)
        if primary is None and not raw.get("entities") and not raw.get("calls"):
            primary = (next(iter(entities)), True, False)  # the prefix fallback: the one row passed in
        return Family(
            key, path, raw["line"], raw["col"], raw["fn"], frozenset(entities), label, raw.get("alias"),
            versions, raw.get("client"), bool(raw.get("async")), raw.get("expr"), tuple(raw.get("names", ())),
            primary, self._family_columns(raw), bool(raw.get("prefixed")),
        )

    def _remote_class(self, qual: str, depth: int) -> bool:
        if qual in self.remote_classes:
            return True
        return depth < MAX_DEPTH and any(self._remote_class(b, depth + 1) for b in self.bases.get(qual, ()))

    def _family_columns(self, raw: dict[str, Any]) -> dict[str, frozenset[str]]:
        maps = [self._own_columns(raw)]
        for callee in raw.get("calls", ()):
            for target in self._targets(callee):
                maps.append(self.read_columns(target))
        return {e: c for e, c in _combine(maps).items() if c is not None}

    def _own_columns(self, facts: dict[str, Any]) -> dict[str, frozenset[str] | None]:
        known = {self.entity(e): frozenset(c) for e, c in facts.get("cols", {}).items()}
        return {self.entity(e): known.get(self.entity(e)) for e in facts.get("entities", facts.get("reads", ()))}

    def read_columns(self, qual: str, depth: int = 0) -> dict[str, frozenset[str] | None]:
        """Entity -> columns a function reads (None: whole rows), its callees included."""
        if qual in self._read_columns:
            return self._read_columns[qual]
        self._read_columns[qual] = {}
        facts = self.functions.get(qual, {})
        maps = [self._own_columns(facts)]
        if depth < MAX_DEPTH:
            for callee in facts.get("calls", ()):
                if not callee.startswith("?"):
                    for target in self._targets(callee):
                        maps.append(self.read_columns(target, depth + 1))
        merged = _combine(maps)
        self._read_columns[qual] = merged
        return merged

    def _primary(self, facts: dict[str, Any], depth: int) -> tuple[str, bool, bool] | None:
        """The entity a value is a copy of, following the function that returned it."""
        if "primary" in facts:
            entity, single, aggregate = facts["primary"]
            return self.entity(entity), bool(single), bool(aggregate)
        callee = facts.get("primary_call")
        if callee is None or depth > MAX_DEPTH or callee not in self.functions:
            return None
        return self._primary(self.functions[callee], depth + 1)

    # -- writes ---------------------------------------------------------------------
    def writes(self, paths: "set[str] | None" = None) -> Iterator[Write]:
        for path, facts in self.files:
            if paths is not None and path not in paths:
                continue
            clients = facts.get("clients", {})
            for raw in facts.get("writes", []):
                yield Write(path, self.entity(raw["entity"]), raw["kind"], raw["desc"], raw["fn"],
                            tuple(raw["loc"]), raw.get("fix"), clients, bool(raw.get("insert")),  # type: ignore[arg-type]
                            frozenset(raw["columns"]) if "columns" in raw else None)

    def stale_writes(self, paths: "set[str] | None" = None) -> Iterator[StaleWrite]:
        """The writes leaving families stale (only those in ``paths``, when given:
        the files this run reports on)."""
        seen: set[tuple[str, str, str]] = set()
        for write in self.writes(paths):
            families = self.families.get(write.entity)
            if not families or (write.path, write.fn, write.entity) in seen:
                continue
            stale = [
                f for f in families
                if self._staled_by(write, f) and not self._by_expiry(f) and not self._short_lived(f)
                and not self._outage_fallback(f)
                and not self._covered(write, f)
            ]
            if not stale:
                continue
            seen.add((write.path, write.fn, write.entity))
            stale = _unique(stale)
            hooked = [f for f in stale if self._hook_covers(write.entity, "save", f) or self._hook_covers(write.entity, "delete", f)]
            note = catalog.WRITE_KINDS[write.kind].note if hooked else ""
            yield StaleWrite(write, tuple(stale), note, self._fix(write, stale))

    def _staled_by(self, write: Write, family: Family) -> bool:
        """Updates and deletes stale every family reading the entity; a new row
        stales only lists of it (not one-row entries, not joins through it)."""
        columns = family.columns.get(write.entity)
        if write.columns is not None and columns is not None and not write.columns & columns:
            return False  # the write changes none of the columns the value depends on
        if not write.insert:
            return True
        return family.primary is not None and family.primary[0] == write.entity and not family.primary[1]

    def _by_expiry(self, family: Family) -> bool:
        """Statistics (counts, leaderboards) that no code ever invalidates are
        kept fresh by their expiry, by design; once some code invalidates them,
        every write path is expected to."""
        if family.primary is None or not family.primary[2]:
            return False
        found = self._expiry_of.get(id(family))
        if found is None:
            found = self._expiry_of[id(family)] = self._nothing_invalidates(family)
        return found

    def _short_lived(self, family: Family) -> bool:
        """Every write of the family sets a TTL within the stale budget: a
        deliberate short-term cache, stale no longer than the budget allows."""
        if self.stale_budget is None or family.memo:
            return False
        found = self._short_of.get(id(family))
        if found is None:
            budget = self.stale_budget
            ttls = [ttl for key, ttl in self._stores if templates_match(key, family.key)]
            found = self._short_of[id(family)] = bool(ttls) and all(t is not None and t <= budget for t in ttls)
        return found

    def _outage_fallback(self, family: Family) -> bool:
        """Every read of the family's key runs only while the database is down
        (in an ``except OperationalError:`` handler, or in a function called
        only from one): a fallback copy for outages, not a cache readers see."""
        if family.memo:
            return False
        found = self._fallback_of.get(id(family))
        if found is None:
            loads = [(fn, guarded) for key, fn, guarded in self._loads if templates_match(key, family.key)]
            found = self._fallback_of[id(family)] = bool(loads) and all(
                guarded or self._called_in_outages_only(fn) for fn, guarded in loads
            )
        return found

    def _called_in_outages_only(self, qual: str) -> bool:
        callers = self.callers.get(qual, [])
        return bool(callers) and all(
            any(t == qual or (t.startswith("?") and qual in self._targets(t))
                for t in self.functions.get(c, {}).get("outage_calls", ()))
            for c in callers
        )

    @cached_property
    def _loads(self) -> list[tuple[str, str, bool]]:
        """(resolved key template, reading function, whether it reads in an outage
        handler) of every cache read whose key spells a word."""
        out = []
        for _, facts in self.files:
            for template, fn, guarded in facts.get("loads", ()):
                key = self.resolve(template)
                if key is not None and any(c.isalnum() for c in key.replace(HOLE, "")):
                    out.append((key, fn, bool(guarded)))
        return out

    @cached_property
    def _stores(self) -> list[tuple[str, float | None]]:
        """(resolved key template, TTL in seconds or None) of every cache write
        in the project whose key spells a word (``"{}_{}"`` names no family)."""
        settings = settings_values(self.numbers.items())
        out = []
        for _, facts in self.files:
            for template, ttl in facts.get("stores", ()):
                key = self.resolve(template)
                if key is not None and any(c.isalnum() for c in key.replace(HOLE, "")):
                    out.append((key, resolved(ttl, self.numbers, self.bases, settings)))
        return out

    def _nothing_invalidates(self, family: Family) -> bool:
        return not any(
            effects.covers(family) for qual, effects in self._explicit_invalidations.meeting(family) if qual != family.fn
        )

    @cached_property
    def _explicit_invalidations(self) -> "_Invalidations":
        """Each function's own explicit invalidations (not its callees', not clear())."""
        out = []
        for qual, facts in self.functions.items():
            effects = self._explicit(facts)
            if effects.keys or effects.patterns or effects.memo:
                out.append((qual, effects))
        return _Invalidations(out)

    def _explicit(self, facts: dict[str, Any]) -> Effects:
        """The keys, patterns and memoized functions a function names itself."""
        return Effects(
            keys={k for k in (self.resolve(t) for t in facts.get("keys", ())) if k},
            patterns=set(facts.get("patterns", ())),
            memo=set(facts.get("memo", ())),
        )

    def _covers(self, qual: str, family: Family) -> bool:
        """Whether calling ``qual`` invalidates the family (once per pair)."""
        key = (qual, id(family))
        found = self._covers_memo.get(key)
        if found is None:
            found = self._covers_memo[key] = self.effects(qual).covers(family)
        return found

    def _covered(self, write: Write, family: Family) -> bool:
        if self._covers(write.fn, family):
            return True
        kind = catalog.WRITE_KINDS[write.kind]
        if kind.save_hooks and self._hook_covers(write.entity, "save", family):
            return True
        if kind.delete_hooks and self._hook_covers(write.entity, "delete", family):
            return True
        if kind.delete_override and self._hook_covers(write.entity, "override_delete", family):
            return True
        if kind.session_commit and self._hook_covers(write.entity, "commit", family):
            return True
        if self.functions.get(write.fn, {}).get("entry"):
            return False  # a view or task is reached on its own: a caller that invalidates covers one path only
        return self._callers_cover(write.fn, family, 0, set())

    def _hook_covers(self, entity: str, on: str, family: Family) -> bool:
        key = (entity, on, id(family))
        found = self._hook_memo.get(key)
        if found is None:
            found = self._hook_memo[key] = any(self._covers(fn, family) for fn in self._hook_functions(on, entity))
        return found

    def _hook_functions(self, on: str, entity: str) -> list[str]:
        """The functions of the hooks ``on`` fires for ``entity``, in hook order."""
        listed = {**dict(self._hooks_on.get((on, entity), ())), **dict(self._hooks_on.get((on, "*"), ()))}
        return [listed[index] for index in sorted(listed)]

    @cached_property
    def _hooks_on(self) -> dict[tuple[str, str], list[tuple[int, str]]]:
        """(event, sender entity or ``*``) -> (hook number, its function)."""
        out: dict[tuple[str, str], list[tuple[int, str]]] = {}
        for index, hook in enumerate(self.hooks):
            for event in set(hook["on"].split("+")):
                for sender in {self.entity(e) for e in hook["entities"]}:
                    out.setdefault((event, sender), []).append((index, hook["fn"]))
        return out

    def _callers_cover(self, qual: str, family: Family, depth: int, seen: set[str]) -> bool:
        if depth >= 2:
            return False
        for caller in self.callers.get(qual, ()):
            if caller in seen:
                continue
            seen.add(caller)
            if self._covers(caller, family) or self._callers_cover(caller, family, depth + 1, seen):
                return True
        return False

    # -- the unsafe fix -------------------------------------------------------------
    def _fix(self, write: Write, stale: list[Family]) -> Fix | None:
        anchor = write.anchor
        if anchor is None:
            return None
        scope = set(anchor["scope"])
        lines: list[str] = []
        for family in stale:
            local = write.clients.get(family.client or "")
            if family.memo or family.expr is None or local is None or not set(family.names) <= scope:
                continue
            if family.is_async and not anchor["async"]:
                continue
            awaited = "await " if family.is_async else ""
            lines.append(f"{awaited}{local}.delete({family.expr})")
        if not lines:
            return None
        text = "".join(f"{anchor['indent']}{line}{anchor['eol']}" for line in lines)
        offset = anchor["offset"]
        return Fix(f"add `{'`, `'.join(lines)}` after the write", FixSafety.UNSAFE, (Edit(offset, offset, text),))


class _Invalidations:
    """Functions' explicit invalidations, indexed by the keys, globs and
    memoized functions they name: a family meets only those that may cover it."""

    def __init__(self, entries: list[tuple[str, Effects]]) -> None:
        self.entries = entries
        self._keys = TemplateIndex((key, i) for i, (_, e) in enumerate(entries) for key in e.keys)
        self._globs = GlobIndex((pattern, i) for i, (_, e) in enumerate(entries) for pattern in e.patterns)
        self._memo: dict[str, list[int]] = {}
        for i, (_, effects) in enumerate(entries):
            for name in effects.memo:
                self._memo.setdefault(name, []).append(i)

    def __bool__(self) -> bool:
        return bool(self.entries)

    def meeting(self, family: Family) -> list[tuple[str, Effects]]:
        """The entries whose ``covers(family)`` can be true, in their order."""
        found: set[int] = set()
        if family.memo:
            found.update(self._memo.get(family.key[1:], ()))
        key = family.alias if family.memo else family.key
        if key is not None:
            found |= self._keys.candidates(key) | self._globs.candidates(key)
            for version in family.versions:
                found |= self._keys.candidates(version)
        return [self.entries[i] for i in sorted(found)]


_CAMEL_OR_SNAKE = lazy_compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
#: name parts that say nothing about which class an object is
_GENERIC = frozenset({"base", "class", "cls", "obj", "object", "instance", "item", "mixin", "abstract", "the", "new", "old"})


def _words(name: str) -> set[str]:
    return {w.lower() for w in _CAMEL_OR_SNAKE.findall(name) if len(w) >= 3} - _GENERIC


def _names_class(receiver: str, qualname: str) -> bool:
    """The receiver's name names the method's class: a shared word, or one
    the prefix of the other (``chal_class`` / ``BaseChallenge``, ``repo`` / ``ProductRepository``)."""
    parts = qualname.split(".")
    if len(parts) < 2 or not parts[-2][:1].isupper():
        return False
    return any(
        a == b or (min(len(a), len(b)) >= 4 and (a.startswith(b) or b.startswith(a)))
        for a in _words(receiver)
        for b in _words(parts[-2])
    )


def _combine(maps: list[dict[str, frozenset[str] | None]]) -> dict[str, frozenset[str] | None]:
    """Entity -> union of the columns read of it; None once any read takes whole rows."""
    merged: dict[str, frozenset[str] | None] = {}
    for mapping in maps:
        for entity, columns in mapping.items():
            if entity in merged and merged[entity] is None:
                continue
            merged[entity] = None if columns is None else (merged.get(entity) or frozenset()) | columns
    return merged


def _prefix_entity(key: str, params: set[str]) -> set[str]:
    """The fallback: a value passed in as ``product`` under a key starting
    ``product`` (``product:{}``, ``product_card:{}``) holds a product."""
    prefix = key_prefix(key)
    if not prefix:
        return set()
    for candidate in (prefix, prefix.split("_")[0]):
        if entity_name(candidate) in params:
            return {entity_name(candidate)}
    return set()


def _unique(families: list[Family]) -> list[Family]:
    seen: set[tuple[str, str]] = set()
    out = []
    for family in sorted(families, key=lambda f: (f.path, f.line, f.col)):
        if (family.key, family.path) not in seen:
            seen.add((family.key, family.path))
            out.append(family)
    return out


def display_root(paths: Iterable[str]) -> str:
    """The common directory of the indexed files (messages show paths below it)."""
    dirs = [os.path.dirname(os.path.abspath(p)) for p in paths]
    return os.path.commonpath(dirs) if dirs else ""


def shown(path: str, root: str) -> str:
    """``path`` below ``root``, as messages show it."""
    return _shown(path, root, os.getcwd()) if root else path


@functools.lru_cache(maxsize=4096)
def _shown(path: str, root: str, cwd: str) -> str:
    """(Relative paths depend on the working directory: it is part of the key.)"""
    return os.path.relpath(os.path.join(cwd, path), root).replace(os.sep, "/")
