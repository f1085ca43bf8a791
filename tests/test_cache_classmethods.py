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
