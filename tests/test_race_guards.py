"""SL202 guards that need configuration or project facts: named lock helpers
(``lock-helpers``) and unique constraints on the checked fields."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from helpers import FIXTURES, lint, lint_tree
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
        assert lint(REDEEM, "SL202", recognition=Recognition(lock_helpers=(spelled,)), min_confidence="low") == []


def test_unconfigured_or_other_helper_does_not() -> None:
    assert [f.line for f in lint(REDEEM, "SL202", min_confidence="low")] == [9]
    other = Recognition(lock_helpers=("app.locks.release",))
    assert [f.line for f in lint(REDEEM, "SL202", recognition=other, min_confidence="low")] == [9]


def test_lock_helpers_key_is_validated() -> None:
    config = parse_table({"lock-helpers": ["app.locks.acquire"]}, Path("pyproject.toml"))
    assert config.recognition()["lock_helpers"] == ("app.locks.acquire",)
    with pytest.raises(ConfigError, match="lock-helpers"):
        parse_table({"lock-helpers": "app.locks.acquire"}, Path("pyproject.toml"))


TRANSFER = textwrap.dedent('''
    from shop.models import Account

    def transfer(src_id, dst_id, amount):
        dst = Account.objects.get(pk=dst_id)
        src = Account.objects.get(pk=src_id)
        if src.balance >= amount and dst.balance < 1000:
            src.balance = src.balance - amount
            src.save()
            dst.balance = dst.balance + amount
            dst.save()
''')


def test_message_names_the_read_of_the_write_reported_at() -> None:
    """One check decides two writes; the finding is at the first (``src.save()``),
    so the read it names is ``src``'s (line 6), not ``dst``'s (line 5), whose
    write is the other one."""
    [finding] = lint(TRANSFER, "SL202")
    assert finding.line == 9
    assert "read (example.py:6)" in finding.message
    assert [r.line for r in finding.related] == [7, 6]


def test_unique_constraint_covering_the_lookup_says_to_catch_integrity_error() -> None:
    """A constraint covering the fields checked (unique field, unique_together,
    UniqueConstraint, one-to-one field, SQLAlchemy ``__table_args__``) in another
    module: the message says the insert fails with IntegrityError; one over other
    fields, needing a field the lookup lacks, or partial while the lookup does not
    carry its condition (in its filters or its manager's default filter), gets the
    lock advice."""
    found = {f.line: f.message for f in lint_tree(FIXTURES / "SL202" / "uniques", "SL202", min_confidence="low")}
    source = (FIXTURES / "SL202" / "uniques" / "club" / "views.py").read_text(encoding="utf-8").splitlines()
    by_function = {}
    for line, message in found.items():
        name = next(text for text in reversed(source[:line]) if text.startswith("def "))
        by_function[name.split("(")[0][4:]] = message
    caught = {name for name, message in by_function.items() if "fails the second insert with IntegrityError" in message}
    assert caught == {"redeem", "book", "vote", "settings_for", "join", "cast_counted", "add_label", "add_label_explicit"}
    assert set(by_function) - caught == {"label", "book_by_note", "book_any", "cast", "join_by_handle", "add_label_any"}
    assert "(user)" in by_function["settings_for"] and "(event, number)" in by_function["book"]
