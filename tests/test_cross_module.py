"""Blocking I/O found through the project's call graph (SL101 across modules),
in whole-project, one-file and incremental runs."""
from __future__ import annotations

import shutil
from pathlib import Path

from helpers import FIXTURES, rules_for

from scalelint.engine.config import Config
from scalelint.engine.runner import Runner, RunSettings
from scalelint.model.connections.summaries import CallGraph

FASTAPI = FIXTURES / "SL101" / "fastapi_deps"


def _run(root: Path, *paths: str, cache: bool = True) -> set[tuple[str, int]]:
    settings = RunSettings(paths=list(paths), use_cache=cache, jobs=1)
    report = Runner(Config(root=root, root_is_project=True), rules_for("SL101"), settings).run()
    assert not report.errors, report.errors
    return {(Path(f.path).as_posix(), f.line) for f in report.findings}


def test_one_file_run_sees_the_helpers_of_other_files(project: Path) -> None:
    shutil.copytree(FASTAPI / "app", project / "app")
    login = "app/api/routes/login.py"
    assert _run(project, login, cache=False) == {(login, 14), (login, 22)}
    _run(project, ".")  # fills the cache
    assert _run(project, login) == {(login, 14), (login, 22)}  # the others' facts come from the cache


def test_editing_a_helper_rechecks_its_callers(project: Path) -> None:
    shutil.copytree(FASTAPI / "app", project / "app")
    login = "app/api/routes/login.py"
    assert _run(project, ".") == {(login, 14), (login, 22)}
    utils = project / "app" / "utils.py"
    utils.write_text(utils.read_text().replace(
        "    message.send(to=email_to, smtp={\"host\": settings.SMTP_HOST})\n", "    return None\n"
    ))
    assert _run(project, "app/utils.py") == set()  # login.py is not reported in this run
    assert _run(project, login) == set()  # nor has anything left to report


def _facts(module: str, functions: dict, **more) -> tuple[str, dict]:
    return f"{module.replace('.', '/')}.py", {"module": module, "functions": functions, **more}


def test_call_graph_follows_cycles_instances_and_bases_to_the_io() -> None:
    graph = CallGraph([
        _facts("app.a", {"ping": [1, None, ["app.b.pong"], None]}),
        _facts("app.b", {"pong": [1, None, ["app.a.ping", "app.c.client.fetch"], None]}),
        _facts("app.c", {"Base.fetch": [3, ["requests.get()", "http", 4], [], None]},
               classes={"Base": [], "Client": ["app.c.Base"]}, instances={"client": "app.c.Client"}),
        _facts("app.d", {"loop": [1, None, ["app.d.loop"], None]}),
    ])
    steps = graph.io_chain("app.a.ping")
    assert steps is not None
    assert [s.label for s in steps] == ["app.a.ping()", "app.b.pong()", "app.c.Base.fetch()", "requests.get()"]
    assert steps[-1].line == 4 and steps[-1].category == "http"
    assert graph.io_chain("app.d.loop") is None  # a cycle without I/O
    assert graph.io_chain("app.missing.f") is None


def test_call_graph_resolves_re_exports_and_aliases() -> None:
    graph = CallGraph([
        _facts("app.deps", {}, handles={"SessionDep": "session-type", "engine": "engine"}),
        _facts("app", {}, imports={"SessionDep": "app.deps.SessionDep"}),
        _facts("app.mail", {"send": [1, ["smtplib.SMTP().sendmail()", "mail", 2], [], None]}),
        _facts("app.api", {}, imports={"send": "app.mail.send"}),
    ])
    assert graph.handle_kind("app.SessionDep") == "session-type"
    assert graph.handle_kind("app.deps.engine") == "engine"
    assert graph.resolve("app.api.send") == "app.mail.send"
