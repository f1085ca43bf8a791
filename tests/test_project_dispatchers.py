"""SL103 judges an enqueue on a project task by the project's own dispatcher (issue 13);
the fixture tests/fixtures/SL103/project_dispatchers holds the flagged and clean cases."""
from __future__ import annotations


from helpers import FIXTURES, lint_tree

DISPATCHERS = FIXTURES / "SL103" / "project_dispatchers"


def test_a_celery_task_of_the_project_keeps_its_on_commit_fix() -> None:
    finding = next(f for f in lint_tree(DISPATCHERS, "SL103") if f.line == 16)
    assert finding.fix is not None and "on_commit" in finding.fix.message
