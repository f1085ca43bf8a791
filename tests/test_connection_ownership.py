"""SL102 reports a never-released connection only when the code owns it."""
from __future__ import annotations

import textwrap

from helpers import lint
from scalelint.model.module import Recognition

SOURCE = textwrap.dedent(
    """
    from app.db import get_db

    def count_users():
        db = get_db()
        return db.execute("SELECT count(*) FROM users").fetchone()[0]
    """
)


def test_conventional_helper_is_not_owned() -> None:
    assert lint(SOURCE, "SL102") == []


def test_configured_factory_returns_a_fresh_connection() -> None:
    found = lint(SOURCE, "SL102", recognition=Recognition(connection_factories=("app.db.get_db",)))
    assert [(f.line, f.code) for f in found] == [(5, "SL102")]
    assert "never released" in found[0].message


def test_connection_factory_never_closed_is_reported() -> None:
    source = textwrap.dedent(
        """
        from app.db import get_db_connection

        def count_users():
            conn = get_db_connection()
            return conn.execute("SELECT count(*) FROM users").fetchone()[0]
        """
    )
    assert [(f.line, f.code) for f in lint(source, "SL102")] == [(5, "SL102")]
