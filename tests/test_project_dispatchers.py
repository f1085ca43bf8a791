"""SL103 judges an enqueue on a project task by the project's own dispatcher (issue 13)."""
from __future__ import annotations

from pathlib import Path

from helpers import FIXTURES, lint_tree

DISPATCHERS = FIXTURES / "dispatchers"


def test_enqueue_through_the_projects_own_dispatcher_is_judged_by_its_body() -> None:
    found = {(Path(f.path).name, f.line) for f in lint_tree(DISPATCHERS, "SL103")}
    assert found == {
        ("views.py", 16),  # a Celery shared_task: a broker round trip
        ("views.py", 22),  # the project's dispatcher posts over HTTP
        ("views.py", 35),  # a local helper enqueuing a Celery task
    }


def test_a_celery_task_of_the_project_keeps_its_on_commit_fix() -> None:
    finding = next(f for f in lint_tree(DISPATCHERS, "SL103") if f.line == 16)
    assert finding.fix is not None and "on_commit" in finding.fix.message
