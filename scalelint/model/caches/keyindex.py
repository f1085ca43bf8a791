"""Inverted indexes over key templates, so the project phase meets each key
family with only the invalidations that can match it instead of all of them.

Both matchers of :mod:`scalelint.model.caches.cachekeys` are anchored at the
start of the key: :func:`templates_match` needs one template's literal head
(the text before its first hole) to begin the other's, and
:func:`glob_matches` needs the glob's literal head (before its first ``*``,
``?`` or hole) to begin the template. Indexing templates and globs by that
head gives, for any key, a small superset of the entries that can match it;
the caller then runs the exact matcher on those alone.
"""
from __future__ import annotations

import bisect
import re
from typing import Generic, Hashable, Iterable, TypeVar

from scalelint.model.caches.cachekeys import HOLE

T = TypeVar("T", bound=Hashable)
_MARK = "\x01"  # as cachekeys: a hole, when a template is matched as text
_GLOB_SPECIAL = re.compile(r"\*|\?|\{\}")


def template_head(template: str) -> str:
    return template.split(HOLE, 1)[0]


def glob_head(pattern: str) -> str:
    return _GLOB_SPECIAL.split(pattern, 1)[0]


class TemplateIndex(Generic[T]):
    """Owners of key templates, found by the templates that may match a key."""

    def __init__(self, entries: Iterable[tuple[str, T]]) -> None:
        self._by_head: dict[str, list[T]] = {}
        self._always: list[T] = []  # templates holding the match mark: compared with every key
        for template, owner in entries:
            if _MARK in template:
                self._always.append(owner)
            else:
                self._by_head.setdefault(template_head(template), []).append(owner)
        self._heads = sorted(self._by_head)

    def candidates(self, key: str) -> set[T]:
        """Owners of every template whose head begins the key's head or is begun by it."""
        if _MARK in key:
            return {owner for owners in self._by_head.values() for owner in owners} | set(self._always)
        head = template_head(key)
        out = set(self._always)
        for end in range(len(head) + 1):
            out.update(self._by_head.get(head[:end], ()))
        first = bisect.bisect_left(self._heads, head)
        for index in range(first, len(self._heads)):
            longer = self._heads[index]
            if not longer.startswith(head):
                break
            out.update(self._by_head[longer])
        return out


class GlobIndex(Generic[T]):
    """Owners of Redis globs, found by the globs that may match a key."""

    def __init__(self, entries: Iterable[tuple[str, T]]) -> None:
        self._by_head: dict[str, list[T]] = {}
        for pattern, owner in entries:
            self._by_head.setdefault(glob_head(pattern), []).append(owner)

    def candidates(self, key: str) -> set[T]:
        text = key.replace(HOLE, _MARK)
        out: set[T] = set()
        for end in range(len(text) + 1):
            out.update(self._by_head.get(text[:end], ()))
        return out
