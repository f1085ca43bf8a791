"""SL301 reads ``cls`` in a model's classmethods as the model (``cls.query``,
``db.select(cls)``, ``cls.objects``), and an instance fetched with
``session.execute(select(Model)...).scalar()`` as a row of the model."""
from __future__ import annotations

from pathlib import Path

import pytest

from helpers import lint_tree

EXTENSIONS = '''from flask_caching import Cache
from flask_sqlalchemy import SQLAlchemy

cache = Cache()
db = SQLAlchemy()
'''

MODELS = '''from app.extensions import cache, db


class Setting(db.Model):
    @classmethod
    def update(cls, key, value):
        setting = db.session.execute({select}.where(Setting.key == key)).scalar()
        setting.value = value
        db.session.add(setting)
        db.session.commit()
        cls.invalidate_cache()

    @classmethod
    @cache.cached(key_prefix="settings")
    def as_dict(cls):
        return {{s.key: s.value for s in {source}.all()}}

    @classmethod
    def invalidate_cache(cls):
        {invalidate}
'''


def _tree(root: Path, select: str, source: str, invalidate: str) -> Path:
    (root / "app").mkdir()
    (root / "app" / "__init__.py").write_text("", encoding="utf-8")
    (root / "app" / "extensions.py").write_text(EXTENSIONS, encoding="utf-8")
    (root / "app" / "models.py").write_text(
        MODELS.format(select=select, source=source, invalidate=invalidate), encoding="utf-8")
    return root


@pytest.mark.parametrize(("select", "source", "invalidate", "reported"), [
    # delete_memoized does not reach a @cache.cached function (keyed by its prefix alone)
    ("db.select(cls)", "cls.query", "cache.delete_memoized(cls.as_dict, cls)", True),
    ("db.select(Setting)", "cls.query", "cache.delete_memoized(cls.as_dict, cls)", True),
    ("db.select(cls)", "Setting.query", "cache.delete_memoized(cls.as_dict, cls)", True),
    # deleting the prefix key does
    ("db.select(cls)", "cls.query", 'cache.delete("settings")', False),
])
def test_classmethods_read_and_write_their_model(
    tmp_path: Path, select: str, source: str, invalidate: str, reported: bool
) -> None:
    found = lint_tree(_tree(tmp_path, select, source, invalidate), "SL301")
    assert bool(found) is reported, found
    if reported:
        assert "as_dict()" in found[0].message


USERS = '''from app.extensions import cache, db


class Group(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    admin = db.Column(db.Boolean)

    @classmethod
    def get_by_id(cls, group_id):
        return db.session.get(cls, group_id)


class User(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    primary_group = db.relationship("Group", lazy="joined")
    nickname = db.Column(db.String)

    @cache.memoize()
    def get_groups(self):
        return [{attr}]


def edit_group(group_id, admin):
    group = {fetch}
    group.admin = admin
    group.save()
'''


@pytest.mark.parametrize(("attr", "fetch", "reported"), [
    # a memoized method reading the model's relationship holds the related rows
    ("self.primary_group", "Group.get_by_id(group_id)", True),
    ("self.primary_group", "Group.query.get(group_id)", True),
    # a plain column of the user's own row is not a group
    ("self.nickname", "Group.get_by_id(group_id)", False),
    # not a fetcher: a helper named otherwise returns nothing the model knows
    ("self.primary_group", "Group.build_default(group_id)", False),
])
def test_memoized_methods_hold_rows_of_their_relationships(
    tmp_path: Path, attr: str, fetch: str, reported: bool
) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "__init__.py").write_text("", encoding="utf-8")
    (tmp_path / "app" / "extensions.py").write_text(EXTENSIONS, encoding="utf-8")
    (tmp_path / "app" / "models.py").write_text(USERS.format(attr=attr, fetch=fetch), encoding="utf-8")
    found = lint_tree(tmp_path, "SL301")
    assert bool(found) is reported, found
    if reported:
        assert "get_groups()" in found[0].message
