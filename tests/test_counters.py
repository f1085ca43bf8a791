"""SL310's read-modify-write model: the message names the arithmetic as written,
through views of the read dict, and a project factory's client is a client."""
from __future__ import annotations

from helpers import lint

NESTED = '''\
from django.core.cache import cache


def notify(user, counter=1):
    key = f"notified:{user.org_id}"
    notified: dict = cache.get(key, {})
    notified.setdefault(
        user.id,
        {"name": user.name, "org": user.org_id, "slug": user.org.slug, "counter": 0},
    )["counter"] += counter
    cache.set(key, notified, timeout=3600)
'''

FACTORY = '''\
import json

from myapp.redis import redis_instance


def send(email):
    ri = redis_instance()
    data = json.loads(ri.get(email))
    attempt = data["attempt"] + 1
    ri.set(email, json.dumps({"attempt": attempt}), ex=600)
'''


def test_nested_counter_names_the_change_on_one_line():
    [finding] = lint(NESTED, "SL310", path="app/views.py")
    assert finding.line == 11
    assert '`…["counter"] += counter`' in finding.message
    assert "cache.add(key, 0, timeout) then cache.incr(key)" in finding.message


def test_factory_client_counter_names_the_arithmetic():
    [finding] = lint(FACTORY, "SL310", path="app/views.py")
    assert finding.line == 10
    assert '`data["attempt"] + 1`' in finding.message
    assert "ri.incr()" in finding.message


def test_factory_name_with_other_words_is_not_a_client():
    source = FACTORY.replace("redis_instance", "redis_health_report")
    assert lint(source, "SL310", path="app/views.py") == []
