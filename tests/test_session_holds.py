"""SL101 on sessions the function did not open: what the message says and
that no fix is offered (the function does not own the session's scope)."""
from __future__ import annotations

import textwrap

from helpers import lint

BORROWED = textwrap.dedent(
    """
    import requests
    from sqlalchemy.orm import Session

    def pay(session: Session, invoice_id):
        invoice = session.get(Invoice, invoice_id)
        requests.post("https://psp.example/charge", json={"id": invoice.id}, timeout=5)
    """
)

AMBIENT = textwrap.dedent(
    """
    import requests
    from app.extensions import db

    def pay(invoice_id):
        invoice = db.session.get(Invoice, invoice_id)
        requests.post("https://psp.example/charge", json={"id": invoice.id}, timeout=5)
        db.session.commit()
    """
)


def test_borrowed_session_hold_belongs_to_the_caller() -> None:
    [finding] = lint(BORROWED, "SL101")
    assert finding.line == 6
    assert "requests.post() (line 7)" in finding.message
    assert "the hold belongs to the caller's scope" in finding.message
    assert finding.fix is None


def test_request_session_hold_names_the_end_of_the_request() -> None:
    [finding] = lint(AMBIENT, "SL101")
    assert finding.line == 6
    assert "'db.session'" in finding.message and "end of the request" in finding.message
    assert finding.fix is None


def test_borrowed_session_is_never_unscoped() -> None:
    assert lint(BORROWED, "SL102") == []
