"""SL103 for sessions that wrote before blocking I/O, and SL101 left to the plain holds."""
from __future__ import annotations

import shutil
from pathlib import Path

from helpers import FIXTURES, lint, lint_tree, rules_for

from scalelint.engine.config import Config
from scalelint.engine.runner import Runner, RunSettings
from scalelint.model.connections.summaries import CallGraph

WRITES = FIXTURES / "SL103" / "session_writes"
SERVICE = "app/service.py"


def _facts(module: str, functions: dict) -> tuple[str, dict]:
    return f"{module.replace('.', '/')}.py", {"module": module, "functions": functions}


def test_writes_propagate_through_the_call_graph_and_its_cycles() -> None:
    graph = CallGraph([
        _facts("app.a", {"confirm": [1, None, ["app.b.save"], None]}),
        _facts("app.b", {"save": [1, None, ["app.a.confirm", "app.c.store"], None]}),
        _facts("app.c", {"store": [5, None, [], ["self.session.add()", 7]], "read": [9, None, ["app.c.read"], None]}),
    ])
    steps = graph.write_chain("app.a.confirm")
    assert steps is not None
    assert [s.label for s in steps] == ["app.a.confirm()", "app.b.save()", "app.c.store()", "self.session.add()"]
    assert steps[-1].line == 7
    assert graph.write_chain("app.c.read") is None  # a cycle without a write
    assert graph.io_chain("app.a.confirm") is None  # a write is not I/O


def test_a_hold_that_wrote_before_the_call_is_sl103_not_sl101() -> None:
    found = {(Path(f.path).name, f.line, f.code) for f in lint_tree(WRITES, "SL101", "SL103")}
    assert found == {
        ("service.py", 15, "SL103"), ("service.py", 20, "SL103"), ("service.py", 25, "SL103"),
        ("service.py", 33, "SL101"),  # the Stripe call comes before the write
        ("service.py", 51, "SL101"),  # the repository method only reads
        ("service.py", 58, "SL101"),  # the write is in a branch that returned
        ("service.py", 67, "SL103"),  # a helper writes through a repository it builds
        ("service.py", 72, "SL101"),  # the helper committed its write: a plain hold
        ("events.py", 10, "SL101"),  # the write and the Stripe call run for different event kinds
        ("events.py", 17, "SL103"), ("events.py", 29, "SL103"),
        # helpers handed the session after the write do their Stripe call inside its transaction
        ("confirmations.py", 13, "SL103"), ("confirmations.py", 15, "SL103"),
    }


def test_message_names_the_write_and_its_line() -> None:
    finding = next(f for f in lint_tree(WRITES, "SL103") if f.line == 15 and f.path.endswith("service.py"))
    assert "inside the transaction that wrote at line 14 (repository.update(), calls " in finding.message
    assert "RepositoryBase.update() -> self.session.add())" in finding.message  # through super()
    assert "caller that owns the session" in finding.message


def test_a_write_to_an_http_session_is_not_a_database_write() -> None:
    source = (
        "import requests\n"
        "from sqlalchemy.orm import Session\n\n\n"
        "def purge(session: requests.Session, db_session: Session, url):\n"
        "    db_session.execute('SELECT 1')\n"
        "    session.delete(url)\n"
        "    requests.post(url)\n"
    )
    assert [f.code for f in lint(source, "SL101", "SL103")] == ["SL101"]


def test_a_direct_write_then_io_in_one_file_is_sl103() -> None:
    source = (
        "import requests\n"
        "from sqlalchemy.orm import Session\n\n\n"
        "def ship(session: Session, order):\n"
        "    session.get(type(order), order.id)\n"
        "    session.add(order)\n"
        "    session.flush()\n"
        "    requests.post('https://carrier.example', json={'id': order.id})\n"
        "    session.commit()\n"
    )
    assert [(f.line, f.code) for f in lint(source, "SL101", "SL103")] == [(9, "SL103")]


def test_editing_the_repository_rechecks_the_service(project: Path) -> None:
    shutil.copytree(WRITES / "app", project / "app")

    def run(*paths: str) -> set[tuple[str, int]]:
        settings = RunSettings(paths=list(paths), use_cache=True, jobs=1)
        report = Runner(Config(root=project, root_is_project=True), rules_for("SL103"), settings).run()
        assert not report.errors, report.errors
        return {(Path(f.path).as_posix(), f.line) for f in report.findings}

    assert (SERVICE, 15) in run(".")
    repository = project / "app" / "repository.py"
    text = repository.read_text()
    write = "        self.session.add(object)\n        if flush:\n            await self.session.flush()\n"
    assert write in text
    repository.write_text(text.replace(write, ""))
    run("app/repository.py")
    assert (SERVICE, 15) not in run(SERVICE)
