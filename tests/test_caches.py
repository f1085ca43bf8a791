"""Cache rules beyond the fixtures: SL301's message shape, the incremental
project index, config knobs, and facts that survive the cache as JSON."""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

import scalelint.engine.checker as checker_module
from helpers import lint, lint_tree, rules_for
from scalelint.engine.checker import Checker
from scalelint.engine.config import Config
from scalelint.model.module import Recognition
from scalelint.engine.runner import Runner, RunSettings

VIEWS = '''\
    from django.core.cache import cache
    from django.db import connection


    def product_list(category_id):
        key = f"product_list:category:{category_id}"
        rows = cache.get(key)
        if rows is None:
            with connection.cursor() as cur:
                cur.execute("SELECT id, name FROM products WHERE category_id = %s", [category_id])
                rows = cur.fetchall()
            cache.set(key, rows, 300)
        return rows


    def product_detail(product_id):
        with connection.cursor() as cur:
            cur.execute("SELECT * FROM products WHERE id = %s", [product_id])
            row = cur.fetchone()
        cache.set("product:%s" % product_id, row, 300)
        return row
    '''
HOME = '''\
    from django.core.cache import cache
    from django.db import connection


    def featured():
        with connection.cursor() as cur:
            cur.execute("SELECT id FROM products WHERE featured")
            rows = cur.fetchall()
        cache.set("featured_products", rows, 600)
        return rows
    '''
SERVICES = '''\
    from django.core.cache import cache
    from django.db import connection


    def set_price(product_id, price):
        with connection.cursor() as cur:
            cur.execute("UPDATE products SET price = %s WHERE id = %s", [price, product_id])
        cache.delete(f"product:{product_id}")


    def count_view(product_id):
        with connection.cursor() as cur:
            cur.execute("UPDATE product_stats SET views = views + 1 WHERE product_id = %s", [product_id])
    '''


def _project(root: Path) -> Path:
    (root / "catalog").mkdir()
    (root / "catalog" / "__init__.py").write_text("")
    (root / "catalog" / "views.py").write_text(textwrap.dedent(VIEWS))
    (root / "home.py").write_text(textwrap.dedent(HOME))
    (root / "services.py").write_text(textwrap.dedent(SERVICES))
    (root / "pyproject.toml").write_text("[tool.scalelint]\n")
    return root


def test_stale_families_are_listed_with_where_each_is_written(tmp_path: Path) -> None:
    (finding,) = lint_tree(_project(tmp_path), "SL301")
    assert finding.path.endswith("services.py") and finding.line == 7
    assert finding.message == (
        'UPDATE products leaves 2 cached keys stale: "product_list:category:{}" (catalog/views.py:12), '
        '"featured_products" (home.py:9)'
    )
    assert finding.fix is not None and finding.fix.safety.value == "unsafe"


def test_checking_one_file_sees_every_key_of_the_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _project(tmp_path)
    monkeypatch.chdir(root)
    config = Config(root=root, root_is_project=True)
    Runner(config, rules_for("SL301"), RunSettings(paths=["."], jobs=1)).run()  # warms the cache
    parsed: list[str] = []
    original = Checker._run

    def counting(self, path, *args):
        parsed.append(path)
        return original(self, path, *args)

    monkeypatch.setattr(checker_module.Checker, "_run", counting)
    report = Runner(config, rules_for("SL301"), RunSettings(paths=["services.py"], jobs=1)).run()
    assert [(f.path, f.line) for f in report.findings] == [("services.py", 7)]
    assert parsed == [], "the other files' facts come from the cache, not a new parse"


def test_fix_adds_the_missing_deletes_only_with_unsafe_fixes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _project(tmp_path)
    monkeypatch.chdir(root)
    config = Config(root=root, root_is_project=True)
    Runner(config, rules_for("SL301"), RunSettings(paths=["."], fix=True, use_cache=False, jobs=1)).run()
    assert (root / "services.py").read_text() == textwrap.dedent(SERVICES)
    Runner(config, rules_for("SL301"), RunSettings(paths=["."], fix=True, unsafe_fixes=True, use_cache=False, jobs=1)).run()
    fixed = (root / "services.py").read_text()
    assert '        cache.delete("featured_products")\n' in fixed
    (left,) = lint_tree(root, "SL301")  # category_id is not in scope at the write: no delete for that key
    assert left.message.startswith('UPDATE products leaves 1 cached key stale: "product_list:category:{}"')


def test_facts_are_plain_json() -> None:
    checker = Checker(rules_for("SL301", "SL304"), Recognition())
    result = checker.check("views.py", textwrap.dedent(VIEWS), module_name="catalog.views")
    assert json.loads(json.dumps(result.facts)) == result.facts
    assert result.facts["SL301"]["families"]


INVALIDATING_CALLS = '''\
    import redis
    from django.db import connection

    from app.events import announce
    from app.upkeep import wipe

    store = redis.Redis()


    def summary(order_id):
        with connection.cursor() as cur:
            cur.execute("SELECT * FROM orders WHERE id = %s", [order_id])
            row = cur.fetchone()
        store.set(f"order:{order_id}", repr(row), ex=60)


    def cancel(order_id):
        with connection.cursor() as cur:
            cur.execute("UPDATE orders SET status = 'cancelled' WHERE id = %s", [order_id])
        {call}
    '''


@pytest.mark.parametrize(
    "call, recognition, flagged",
    [
        ("pass", Recognition(), True),
        ("wipe()", Recognition(), True),
        ("wipe()", Recognition(invalidation_helpers=("app.upkeep.wipe",)), False),
        ("announce(order_id)", Recognition(event_publishers=("announce",)), False),
        ("invalidate_order_cache(order_id)", Recognition(), False),
        ('store.publish("orders", order_id)', Recognition(), False),
    ],
)
def test_invalidation_by_helpers_and_events(call: str, recognition: Recognition, flagged: bool) -> None:
    source = textwrap.dedent(INVALIDATING_CALLS).replace("{call}", call)
    found = [f for f in lint(source, "SL301", recognition=recognition)]
    assert bool(found) is flagged, found


PERSISTENT = '''\
    import redis

    HOT = redis.Redis(host="hot")


    def remember(user_id, data):
        HOT.set(f"session:{user_id}", data)
    '''


def test_critical_caches_are_intentionally_persistent() -> None:
    source = textwrap.dedent(PERSISTENT)
    assert [f.code for f in lint(source, "SL302")] == ["SL302"]
    assert lint(source, "SL302", recognition=Recognition(critical_caches=("HOT",))) == []


def test_evicting_and_configured_clients() -> None:
    source = textwrap.dedent(PERSISTENT)
    assert lint(source, "SL303") == []  # a redis client's eviction policy is unknown
    assert [f.code for f in lint(source, "SL303", recognition=Recognition(evicting_caches=("HOT",)))] == ["SL303"]
    custom = "def remember(user_id, data):\n    HOT_STORE.setex(f'session:{user_id}', 60, data)\n"
    assert lint(custom, "SL303", recognition=Recognition(evicting_caches=("HOT_STORE",))) == []
    configured = Recognition(cache_clients=("HOT_STORE",), evicting_caches=("HOT_STORE",))
    assert [f.code for f in lint(custom, "SL303", recognition=configured)] == ["SL303"]


THROTTLE = '''\
from rest_framework.throttling import AnonRateThrottle


class BurstThrottle(AnonRateThrottle):
    scope = "burst"
'''


def test_throttle_in_a_default_cache_configured_critical() -> None:
    [finding] = lint(THROTTLE, "SL303", min_confidence="low")  # a burst quota, on no login path: low
    assert "BurstThrottle (AnonRateThrottle)" in finding.message and "the counts reset" in finding.message
    assert lint(THROTTLE, "SL303", recognition=Recognition(critical_caches=("default",)), min_confidence="low") == []


def test_login_failure_key_passed_by_callers_names_them() -> None:
    source = textwrap.dedent('''\
        from django.core.cache import cache


        def count(key):
            cache.add(key, 1, 60)


        def fail(ip):
            count(f"login:attempts:{ip}")
        ''')
    [finding] = lint(source, "SL303")
    assert finding.message.startswith('login-failure counter key ("login:attempts:{}" from callers)')
    assert "brute-force throttling resets" in finding.message
