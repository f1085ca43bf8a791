"""SL103 for the request session (``db.session``) written by one helper and held
across another helper's blocking I/O, before anything commits."""
from __future__ import annotations

from pathlib import Path

from helpers import FIXTURES, lint_tree

TREE = FIXTURES / "SL103" / "request_session_writes"


def test_io_after_a_helper_wrote_through_the_request_session() -> None:
    found = {(Path(f.path).name, f.line) for f in lint_tree(TREE, "SL103")}
    assert found == {
        ("controllers.py", 11),  # the INSERT was flushed one call down
        ("controllers.py", 17),  # an object added one call down, pending in the transaction
        ("controllers.py", 22),  # written two calls down, the I/O in the function itself
        ("controllers.py", 85),  # the arm that wrote falls through to the call
        ("controllers.py", 92),  # its own write: once, by the function's own walk of the session
        ("controllers.py", 97),  # a helper that writes on every path
    }


def test_message_names_the_write_and_the_io_behind_the_call() -> None:
    finding = next(f for f in lint_tree(TREE, "SL103") if f.line == 11)
    assert finding.message.startswith("notify_new_editable() (calls requests.put()) waits on the network")
    assert ("inside the request session's transaction that wrote at line 10 (create_editable(), calls "
            "app.operations.create_editable() -> db.session.add())") in finding.message
    assert [Path(r.path).name for r in finding.related] == ["service.py"]



def test_the_write_named_is_one_every_call_makes() -> None:
    finding = next(f for f in lint_tree(TREE, "SL103") if f.line == 97)
    assert "(delete_editable(), calls app.operations.delete_editable() -> db.session.flush())" in finding.message
