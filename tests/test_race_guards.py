"""SL202 guards that need configuration or project facts: named lock helpers
(``lock-helpers``) and unique constraints on the checked fields."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from helpers import lint
from scalelint.core.errors import ConfigError
from scalelint.engine.config import parse_table
from scalelint.model.module import Recognition

REDEEM = textwrap.dedent('''
    from app.locks import acquire
    from shop.models import Coupon

    def redeem(code, user):
        acquire(f"coupon:{code}")
        if Coupon.objects.filter(code=code).exists():
            raise ValueError("already redeemed")
        Coupon.objects.create(code=code, user=user)
''')


def test_configured_lock_helper_settles_the_race() -> None:
    for spelled in ("app.locks.acquire", "acquire"):
        assert lint(REDEEM, "SL202", recognition=Recognition(lock_helpers=(spelled,))) == []


def test_unconfigured_or_other_helper_does_not() -> None:
    assert [f.line for f in lint(REDEEM, "SL202")] == [9]
    other = Recognition(lock_helpers=("app.locks.release",))
    assert [f.line for f in lint(REDEEM, "SL202", recognition=other)] == [9]


def test_lock_helpers_key_is_validated() -> None:
    config = parse_table({"lock-helpers": ["app.locks.acquire"]}, Path("pyproject.toml"))
    assert config.recognition()["lock_helpers"] == ("app.locks.acquire",)
    with pytest.raises(ConfigError, match="lock-helpers"):
        parse_table({"lock-helpers": "app.locks.acquire"}, Path("pyproject.toml"))
