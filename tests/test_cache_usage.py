"""The cache-usage fixes, run before and after: SL309 keeps the answers and caches
empty results; SL306 keeps the write and leaves no stale key behind a concurrent miss."""
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

    def delete(self, key):
        self.data.pop(key, None)


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


SL306_SOURCE = '''\
import sqlite3

from django.core.cache import cache

con = sqlite3.connect(DB)


def ship(order_id):
    with con:
        con.execute("UPDATE orders SET status = 'shipped' WHERE id = ?", (order_id,))
        cache.delete(f"order:{order_id}")
        concurrent_request(order_id)
    return order_id
'''


def _ship(source: str, db: str) -> tuple[object, dict[str, object], list[tuple]]:
    """Run ship() with a concurrent cache-aside reader on a second sqlite3 connection."""
    import sqlite3

    cache = DictCache()
    cache.set("order:1", "new")

    def concurrent_request(order_id):
        key = f"order:{order_id}"
        if cache.get(key) is None:
            other = sqlite3.connect(db)
            (status,) = other.execute("SELECT status FROM orders WHERE id = ?", (order_id,)).fetchone()
            other.close()
            cache.set(key, status)

    namespace = {"DB": db, "cache": cache, "concurrent_request": concurrent_request}
    exec(compile(source.replace("from django.core.cache import cache\n", ""), "shop.py", "exec"), namespace)
    result = namespace["ship"](1)
    namespace["con"].close()
    check = sqlite3.connect(db)
    rows = check.execute("SELECT id, status FROM orders").fetchall()
    check.close()
    return result, cache.data, rows


def _orders_db(path) -> str:
    import sqlite3

    con = sqlite3.connect(path)
    con.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, status TEXT)")
    con.execute("INSERT INTO orders VALUES (1, 'new')")
    con.commit()
    con.close()
    return str(path)


def test_sl306_move_after_block_keeps_the_write_and_leaves_no_stale_key(tmp_path):
    assert [f.code for f in lint(SL306_SOURCE, "SL306")] == ["SL306"]
    fixed = fix(SL306_SOURCE, "SL306", unsafe=True)
    assert fix(fixed, "SL306", unsafe=True) == fixed
    assert lint(fixed, "SL306") == []
    before = _ship(SL306_SOURCE, _orders_db(tmp_path / "before.db"))
    after = _ship(fixed, _orders_db(tmp_path / "after.db"))
    assert before[0] == after[0] == 1 and before[2] == after[2] == [(1, "shipped")]
    assert before[1] == {"order:1": "new"}  # the concurrent miss re-cached the old row
    assert after[1] == {}  # deleted after the commit: the next read sees "shipped"


def test_sl307_and_sl310_on_one_module_each_get_their_own_wrapper_record():
    """SL307 asks the module's cache wrappers which ones read; SL310 which ones count.
    The shared record must not answer SL310 with SL307's question (the counter is lost)."""
    from pathlib import Path

    source = (Path(__file__).parent / "fixtures" / "SL310" / "flagged_wrappers.py").read_text()
    alone = {(f.code, f.line) for f in lint(source, "SL310")}
    together = {(f.code, f.line) for f in lint(source, "SL307", "SL310") if f.code == "SL310"}
    assert alone == together == {("SL310", 37)}
