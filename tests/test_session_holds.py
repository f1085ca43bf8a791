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


CLIENT_ATTRIBUTE = textwrap.dedent(
    """
    import requests
    from app.extensions import db

    class Issuer:
        def __init__(self):
            self.http = requests.Session()
            self.cache = {}

        def revoke(self, certificate_id):
            certificate = db.session.get(Certificate, certificate_id)
            self.cache.get(certificate_id)
            self.http.post("https://ca.example/revoke", json={"id": certificate.id}, timeout=5)
            db.session.commit()
    """
)


def test_http_session_kept_on_the_instance_is_network_io() -> None:
    [finding] = lint(CLIENT_ATTRIBUTE, "SL101")
    assert finding.line == 11
    assert "self.http.post() (line 13)" in finding.message


def test_hold_begun_by_the_caller_is_reported_at_the_io_and_belongs_to_the_caller(project) -> None:
    import shutil

    from helpers import FIXTURES, lint_tree

    shutil.copytree(FIXTURES / "SL101" / "request_session_flow" / "app", project / "app")
    [revoke] = [f for f in lint_tree(project, "SL101") if f.path.endswith("service.py") and f.line == 17]
    assert "revoke_view() checked it out at service.get()" in revoke.message
    assert "the hold belongs to that caller's scope" in revoke.message
    assert revoke.fix is None
    assert [r.message for r in revoke.related][:1] == ["the request session checks out its connection here"]
