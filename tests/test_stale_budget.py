"""SL301's stale budget: a key family every write of which expires within
``stale-budget`` seconds is a deliberate short-term cache, not a stale key."""
from __future__ import annotations

from pathlib import Path

import pytest

from scalelint.engine.config import Config

from helpers import lint, lint_tree

SHOP = '''from datetime import timedelta

from django.conf import settings
from django.core.cache import cache

from shop.models import Channel

TTL = {ttl}


class ChannelMixin:
    KEY = "channel_short_term"
    SHORT_TIMEOUT = 5

    def channel(self, token):
        key = self.KEY + "_" + token
        data = cache.get(key)
        if data is None:
            data = Channel.objects.get(token=token)
            cache.set(key, data, {expr})
        return data


def rename(channel_id, name):
    channel = Channel.objects.get(pk=channel_id)
    channel.name = name
    channel.save()
'''


@pytest.mark.parametrize(("ttl", "expr", "reported"), [
    ("0", "300", True),
    ("0", "timeout=None", True),
    ("0", "self.ttl()", True),
    ("0", "settings.CHANNEL_TTL", True),  # no settings module in the project: unknown
    ("0", "self.LONG_TIMEOUT", True),  # not defined anywhere: unknown
    ("0", "5", False),
    ("0", "timeout=5", False),
    ("0", "self.SHORT_TIMEOUT", False),
    ("0", "ChannelMixin.SHORT_TIMEOUT", False),
    ("8", "TTL", False),
    ("0", "timedelta(seconds=10).total_seconds()", False),
    ("11", "TTL", True),
])
def test_short_ttls_within_the_budget_are_not_stale(ttl: str, expr: str, reported: bool) -> None:
    found = lint(SHOP.format(ttl=ttl, expr=expr), "SL301")
    assert bool(found) is reported, found
    if reported:
        assert '"channel_short_term_{}"' in found[0].message


def test_one_long_write_keeps_the_family_reported() -> None:
    source = SHOP.format(ttl="0", expr="5") + '''

def warm(token):
    cache.set("channel_short_term_" + token, Channel.objects.get(token=token), 300)
'''
    assert len(lint(source, "SL301")) == 1


def test_a_forever_write_of_the_same_key_keeps_the_family_reported() -> None:
    source = SHOP.format(ttl="0", expr="5") + '''

def warm(token, data):
    cache.set("channel_short_term_" + token, data, timeout=None)
'''
    assert len(lint(source, "SL301")) == 1


def _project(root: Path, timeout_module: str, expr: str, table: str = "") -> Path:
    (root / "shop").mkdir()
    (root / "shop" / "__init__.py").write_text("", encoding="utf-8")
    (root / "shop" / "models.py").write_text("class Channel:\n    pass\n", encoding="utf-8")
    (root / "shop" / "base.py").write_text(timeout_module, encoding="utf-8")
    (root / "shop" / "views.py").write_text(
        SHOP.format(ttl="0", expr=expr).replace("class ChannelMixin:", "from shop.base import Base, LIFETIME\n\n\nclass ChannelMixin(Base):"),
        encoding="utf-8")
    if table:
        (root / "pyproject.toml").write_text(f"[tool.scalelint]\n{table}\n", encoding="utf-8")
    return root


@pytest.mark.parametrize(("expr", "reported"), [
    ("self.INHERITED_TIMEOUT", False), ("LIFETIME", False), ("self.LONG_TIMEOUT", True),
])
def test_ttls_defined_in_another_module_are_resolved(tmp_path: Path, expr: str, reported: bool) -> None:
    base = "# cache lifetimes\nLIFETIME = 4\n\n\nclass Base:\n    INHERITED_TIMEOUT = 3\n    LONG_TIMEOUT = 3600\n"
    root = _project(tmp_path, base, expr)
    assert bool(lint_tree(root, "SL301")) is reported


def test_a_ttl_from_settings_is_the_longest_any_settings_module_gives(tmp_path: Path) -> None:
    root = _project(tmp_path, "# cache\nLIFETIME = 4\n\n\nclass Base:\n    pass\n", "settings.CHANNEL_CACHE_TTL")
    (root / "config").mkdir()
    (root / "config" / "settings.py").write_text("# cache settings\nCHANNEL_CACHE_TTL = 5\n", encoding="utf-8")
    assert lint_tree(root, "SL301") == []
    (root / "config" / "settings_prod.py").write_text("# cache settings\nCHANNEL_CACHE_TTL = 60\n", encoding="utf-8")
    assert len(lint_tree(root, "SL301")) == 1


def test_the_stale_budget_is_configurable(tmp_path: Path) -> None:
    root = _project(tmp_path, "# cache\nLIFETIME = 30\n\n\nclass Base:\n    pass\n", "LIFETIME")
    assert len(lint_tree(root, "SL301")) == 1
    config = Config(root=root, root_is_project=True, rules={"SL301": {"stale-budget": 60}})
    assert lint_tree(root, "SL301", config=config) == []
    config = Config(root=root, root_is_project=True, rules={"SL301": {"stale-budget": 0}})
    assert len(lint_tree(root, "SL301", config=config)) == 1
