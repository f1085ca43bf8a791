"""SL301: a key read only while the database is down (in an ``except
OperationalError:`` handler, or a function called only from one) is an outage
fallback, not a cache readers see; writes of its entity do not leave it stale."""
from __future__ import annotations

import pytest

from helpers import lint

SOURCE = '''from django.core import serializers
from django.core.cache import cache
from django.db import InterfaceError, OperationalError

from shop.models import Channel

FALLBACK_KEY = "channels_db_fallback"


def refresh_fallback():
    cache.set(FALLBACK_KEY, serializers.serialize("json", Channel.objects.all()), timeout=None)


def from_fallback(token):
    for obj in serializers.deserialize("json", cache.get(FALLBACK_KEY)):
        if obj.object.token == token:
            return obj.object
    return None


def channel(token):
    try:
        return Channel.objects.get(token=token)
    except {caught}:
        {handler}
    {after}


def rename(channel_id, name):
    channel = Channel.objects.get(pk=channel_id)
    channel.name = name
    channel.save()
'''


@pytest.mark.parametrize(("caught", "handler", "after", "reported"), [
    ("OperationalError", "return from_fallback(token)", "", False),
    ("(OperationalError, InterfaceError)", "return from_fallback(token)", "", False),
    # the handler also runs for an error the database being up can raise
    ("(OperationalError, ValueError)", "return from_fallback(token)", "", True),
    # the fallback helper also serves readers when the database is up
    ("OperationalError", "return from_fallback(token)", "return from_fallback(token)", True),
    # a handler of another error is an ordinary read path
    ("ValueError", "return from_fallback(token)", "", True),
    ("Channel.DoesNotExist", "return from_fallback(token)", "", True),
])
def test_a_key_read_only_during_database_outages_is_not_stale(caught: str, handler: str, after: str, reported: bool) -> None:
    found = lint(SOURCE.format(caught=caught, handler=handler, after=after), "SL301")
    assert bool(found) is reported, found
    if reported:
        assert '"channels_db_fallback"' in found[0].message


def test_an_ordinary_read_elsewhere_keeps_the_key_reported() -> None:
    source = SOURCE.format(caught="OperationalError", handler="return from_fallback(token)", after="") + '''

def listing():
    return cache.get(FALLBACK_KEY)
'''
    assert len(lint(source, "SL301")) == 1


def test_a_get_or_set_elsewhere_is_an_ordinary_read() -> None:
    source = SOURCE.format(caught="OperationalError", handler="return from_fallback(token)", after="") + """

def listing():
    return cache.get_or_set(FALLBACK_KEY, lambda: serializers.serialize("json", Channel.objects.all()), None)
"""
    assert len(lint(source, "SL301")) == 1
