"""Data a cache must not lose (SL303): sessions, locks, tokens, rate-limit and
login-failure counters, replay markers, OAuth codes. Known by the words of a
key (its first word, word pairs among its first words, the key variable's
name), by the keys a module's own calls pass to a key parameter, and by the
throttle classes of the libraries the catalog knows.

Each also says whether it sits on an authentication path (its key, the key
variable, the function or class writing it, a throttle's class names or
scope name login, password, OTP...): sessions, tokens, login counters and
replay markers are strong evidence anywhere; locks, quotas and de-dup
markers only there.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator, Sequence

import libcst as cst

from scalelint.model import catalog
from scalelint.model.caches.cachekeys import key_words
from scalelint.model.caches.caching import CacheClient, CacheModel, CacheOp
from scalelint.model.dbops import words
from scalelint.model.entities import param_names
from scalelint.core.walk import dotted, string_value

if TYPE_CHECKING:
    from scalelint.model.function import ClassInfo, FunctionModel


@dataclass(frozen=True)
class CriticalWrite:
    """A cache write holding data that must not vanish."""

    kind: str  # a key of catalog.CRITICAL_DATA
    key: str  # the key as a finding names it
    auth_path: bool = False  # written on an authentication path (names_auth_path)

    @property
    def data(self) -> catalog.CriticalData:
        return catalog.CRITICAL_DATA[self.kind]

    @property
    def strong(self) -> bool:
        """Losing it lets someone in or out: access data, or any critical data
        on an authentication path (a lock or quota elsewhere sheds load)."""
        return self.data.guards_access or self.auth_path


@dataclass(frozen=True)
class Throttle:
    """A library throttle class the module defines, and the cache it counts in."""

    info: "ClassInfo"
    client: CacheClient
    library: str  # the catalogued base it derives from
    auth_path: bool = False  # its class names or scope name an authentication path


def kind_of_words(words: Sequence[str]) -> str | None:
    """The critical kind a key's words name: its first word alone, or a pair
    of words among its first few (``login:fail:ip``)."""
    if not words:
        return None
    for part in (words[0], *words[0].split("_")):
        if part in catalog.CRITICAL_KEY_WORDS:
            return catalog.CRITICAL_KEY_WORDS[part]
    head = [part for word in words[: catalog.CRITICAL_PHRASE_SPAN] for part in (word, *word.split("_"))]
    for firsts, seconds, kind in catalog.CRITICAL_KEY_PHRASES:
        for i, part in enumerate(head):
            if part in firsts and any(other in seconds for other in head[i + 1:]):
                return kind
    return None


def names_auth_path(*texts: str | None) -> bool:
    """Whether a key, a variable, function or class name, or a throttle scope
    names an authentication path (catalog.AUTH_PATH_WORDS), by a word or two
    joined words (``sign_in``, ``TwoFactor``)."""
    for text in texts:
        ws = words(text) if text else ()
        if any(w in catalog.AUTH_PATH_WORDS for w in ws):
            return True
        if any(a + b in catalog.AUTH_PATH_WORDS for a, b in zip(ws, ws[1:])):
            return True
    return False


def kind_of_name(name: str) -> str | None:
    """The critical kind a key variable's name says (``lock_key``, ``session_id``)."""
    word = name.rsplit(".", 1)[-1].lower()
    return kind_of_words([word])


class CriticalReader:
    """Which cache writes and throttle classes of a module hold critical data."""

    def __init__(self, cm: CacheModel) -> None:
        self.cm = cm
        self.module = cm.module

    def copies_rows(self, fn: "FunctionModel", op: CacheOp) -> bool:
        """The value written is built from a database read (a query, or the row
        ``get_or_create`` returns): rebuilt on a miss, so losing it costs a
        query, not data."""
        value = op.value
        if value is None:
            return False
        reader = self.cm.entities
        return any(reader.reads_in(node) or self._fetched_row(node) for node in reader.dataflow(fn, op.stmt.ordinal, value))

    def _fetched_row(self, node: cst.CSTNode) -> bool:
        """``Model.objects.get_or_create(...)[0]``: a row, though the call may insert it."""
        if isinstance(node, cst.Subscript):
            node = node.value
        if not isinstance(node, cst.Call) or not isinstance(node.func, cst.Attribute):
            return False
        return node.func.attr.value in catalog.ROW_FETCHING_WRITES and self.cm.entities.django_root(node) is not None

    def write(self, fn: "FunctionModel", op: CacheOp) -> CriticalWrite | None:
        """The critical data a cache write holds, if its key says so."""
        found = self._kind(fn, op)
        if found is None:
            return None
        kind, key, template = found
        spelled = dotted(op.key.func) if isinstance(op.key, cst.Call) else dotted(op.key) if op.key is not None else None
        auth = names_auth_path(op.template, template, spelled, fn.name, fn.cls.name if fn.cls is not None else None)
        return CriticalWrite(kind, key, auth)

    def _kind(self, fn: "FunctionModel", op: CacheOp) -> tuple[str, str, str | None] | None:
        """(kind, key as named, a callers' template) of a critical write."""
        key = f'"{op.template}"' if op.template else dotted(op.key) or "key"
        if op.template:
            kind = kind_of_words(key_words(op.template))
            if kind is not None:
                return kind, key, None
        spelled = dotted(op.key.func) if isinstance(op.key, cst.Call) else dotted(op.key) if op.key is not None else None
        if spelled:
            kind = kind_of_name(spelled)
            if kind is not None:
                return kind, key, None
        if op.template is None and isinstance(op.key, cst.Name) and op.key.value in param_names(fn.node):
            return self._passed(fn, op.key.value)
        return None

    def _passed(self, fn: "FunctionModel", param: str) -> tuple[str, str, str | None] | None:
        """A key parameter: critical when a key its callers pass is."""
        for template in self.cm.argument_templates(fn, param):
            kind = kind_of_words(key_words(template))
            if kind is not None:
                return kind, f'{param} ("{template}" from callers)', template
        return None

    def throttles(self) -> Iterator[Throttle]:
        """Classes deriving (here or through classes of this module) from a
        catalogued throttle, with the cache their ``cache`` attribute names
        (the library's default when no class in the chain sets one)."""
        classes = {info.name: info for info in self.module.classes}
        for info in self.module.classes:
            chain = _chain(info, classes)
            library = next((b for c in chain for b in c.bases if b in catalog.DRF_THROTTLE_CLASSES), None)
            if library is None or _throttle_ancestor(chain[1:]):
                continue  # not a throttle, or its throttle ancestor here is where a cache is set
            client = self._throttle_cache(chain)
            if client is not None:
                family = chain + _descendants(info, classes)
                yield Throttle(info, client, library, names_auth_path(*(c.name for c in family), *_scopes(family)))

    def _throttle_cache(self, chain: list["ClassInfo"]) -> CacheClient | None:
        for value in _class_values(chain, catalog.DRF_THROTTLE_CACHE_ATTR):
            return self.cm.client_of(value)
        return CacheClient(catalog.DJANGO_CACHE, "the default cache", "django.core.cache.cache", "default")


def _scopes(chain: list["ClassInfo"]) -> Iterator[str]:
    """The string ``scope`` attributes of a throttle's classes (DRF's rate-setting name)."""
    for value in _class_values(chain, catalog.DRF_THROTTLE_SCOPE_ATTR):
        text = string_value(value)
        if text:
            yield text


def _class_values(chain: list["ClassInfo"], attr: str) -> Iterator[cst.BaseExpression]:
    """The values assigned to class attribute ``attr`` in these classes' bodies, in order."""
    for info in chain:
        for stmt in info.node.body.body:
            if not isinstance(stmt, cst.SimpleStatementLine):
                continue
            for small in stmt.body:
                if isinstance(small, cst.Assign) and any(dotted(t.target) == attr for t in small.targets):
                    yield small.value


def _descendants(info: "ClassInfo", classes: dict[str, "ClassInfo"]) -> list["ClassInfo"]:
    """The classes of the module deriving from ``info`` (a reported base counts for them too)."""
    return [other for other in classes.values()
            if other is not info and any(c is info for c in _chain(other, classes)[1:])]


def _throttle_ancestor(ancestors: list["ClassInfo"]) -> bool:
    return any(b in catalog.DRF_THROTTLE_CLASSES for c in ancestors for b in c.bases)


def _chain(info: "ClassInfo", classes: dict[str, "ClassInfo"]) -> list["ClassInfo"]:
    """The class and its ancestors defined in the same module, nearest first."""
    chain, todo = [], [info]
    while todo:
        current = todo.pop(0)
        if any(seen is current for seen in chain):
            continue
        chain.append(current)
        todo.extend(classes[b] for b in current.bases if b in classes and classes[b] is not current)
    return chain
