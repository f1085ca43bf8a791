"""SL309's fix, run: the same answers, and an empty result computed once instead of per call."""
from __future__ import annotations

import types

from helpers import fix, lint

SOURCE = '''\
from django.core.cache import cache


def open_orders(user_id):
    orders = cache.get(f"open:{user_id}")
    if not orders:
        orders = list(load(user_id))
        cache.set(f"open:{user_id}", orders, 300)
    return orders
'''


class DictCache:
    """Django's cache API over a dict (get returns the stored object, None on a miss)."""

    def __init__(self) -> None:
        self.data: dict[str, object] = {}

    def get(self, key, default=None):
        return self.data.get(key, default)

    def set(self, key, value, timeout=None):
        self.data[key] = value


def _run(source: str, calls: list[int]) -> tuple[list[object], int]:
    module = types.ModuleType("orders")
    loads = []

    def load(user_id):
        loads.append(user_id)
        return [] if user_id == 1 else [f"order-{user_id}"]

    code = source.replace("from django.core.cache import cache\n", "")
    module.__dict__.update(cache=DictCache(), load=load)
    exec(compile(code, "orders.py", "exec"), module.__dict__)
    return [module.open_orders(u) for u in calls], len(loads)


def test_is_none_fix_keeps_answers_and_caches_empty_results():
    assert [f.code for f in lint(SOURCE, "SL309")] == ["SL309"]
    fixed = fix(SOURCE, "SL309")
    assert "if orders is None:" in fixed and fix(fixed, "SL309") == fixed
    calls = [1, 2, 1, 2, 1, 1]
    before, loads_before = _run(SOURCE, calls)
    after, loads_after = _run(fixed, calls)
    assert before == after
    assert (loads_before, loads_after) == (5, 2)  # user 1's empty list was reloaded 4 times before
