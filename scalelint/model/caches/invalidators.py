"""Cache invalidation as the project's own helpers do it: the keys a function
deletes itself (client deletes, ``delete_memoized(f)``, ``delete_cached("x")``)
and the words that relate a key to the entity it caches. The rules join this
with the call graph (rules/invalidation_paths.py).
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Iterator

import libcst as cst

from scalelint.core.walk import dotted, string_value
from scalelint.model import catalog
from scalelint.model.caches.cachekeys import key_words
from scalelint.model.caches.caching import CacheClient, CacheModel, conventional_name

if TYPE_CHECKING:
    from scalelint.model.function import FunctionModel


def helper_deletes(cm: CacheModel, fn: "FunctionModel") -> Iterator[tuple[cst.Call, list[dict[str, str]]]]:
    """``delete_memoized(f, ...)`` and ``delete_cached("prefix")`` calls (functions of
    the project or methods of a cache client): the families they delete."""
    for _, call in fn.calls():
        name = (dotted(call.func) or "").rsplit(".", 1)[-1]
        first = call.args[0].value if call.args and call.args[0].keyword is None else None
        if first is None:
            continue
        if name in catalog.MEMO_DELETES:
            target = cm.function_ref(first, fn)
            if target:
                yield call, [{"memo": target}]
        elif name in catalog.PREFIX_DELETES and string_value(first):
            yield call, [{"key": string_value(first)}]


def _named_a_cache(client: CacheClient) -> bool:
    """A client this module knows, or an imported one whose name says cache (an imported
    ``tinybird_client`` or ``search_index`` with a ``delete`` method is no cache)."""
    if not client.imported:
        return True
    return conventional_name(client.spelled) or conventional_name((client.qualified or "").rsplit(".", 1)[-1])


def words(text: str) -> set[str]:
    """The meaningful words of a key, a function or a receiver, singular and lower case
    (``"front_page_featured_projects"`` -> front, page, featured, project)."""
    out = set()
    for word in re.split(r"[^a-z0-9]+", text.lower()):
        word = word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word
        if len(word) >= 3 and word not in catalog.GENERIC_KEY_WORDS:
            out.add(word)
    return out


def deleted_keys(cm: CacheModel, fn: "FunctionModel") -> tuple[str, set[str]] | None:
    """(first delete as spelled, words of every key it deletes) when the function's own
    statements delete cache keys (client deletes, ``delete_memoized``, ``delete_cached``)."""
    found: list[tuple[cst.Call, str]] = []
    for op in cm.ops(fn):
        if op.method in catalog.CACHE_DELETES and op.template and not op.method.startswith("delete_memoized") \
                and _named_a_cache(op.client):
            found.append((op.call, " ".join(key_words(op.template))))
    for call, keys in helper_deletes(cm, fn):
        for key in keys:
            found.append((call, key["memo"].rsplit(".", 1)[-1] if "memo" in key else key["key"]))
    if not found:
        return None
    first = found[0][0]
    return f"{dotted(first.func) or 'delete'}()", set().union(*(words(text) for _, text in found))
