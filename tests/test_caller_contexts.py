"""A function's code context from its callers: a helper that only one-shot
code calls is checked as one-shot code, in whole-project and one-file runs."""
from __future__ import annotations

import ast
from pathlib import Path

from helpers import rules_for

from scalelint.engine.checker import Checker
from scalelint.engine.config import Config
from scalelint.engine.runner import Runner, RunSettings
from scalelint.model.connections.callers import inherited_regions
from scalelint.model.connections.summaries import CallGraph, _def_spans, _text_spans
from scalelint.model.contexts import ONE_SHOT, TEST, Region

_MODELS = '''
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()


class User(db.Model):
    id = db.Column(db.Integer, primary_key=True)
'''

EXPORT = _MODELS + '''

def import_users(rows):
    return [User.query.filter_by(name=row).first() for row in rows]


def shared_owners(rows):
    return [User.query.filter_by(name=row).first() for row in rows]


def url_owners(rows):
    return [User.query.filter_by(name=row).first() for row in rows]


class Importer:
    def run(self, rows):
        return self._load(rows)

    def _load(self, rows):
        return [User.query.filter_by(name=row).first() for row in rows]
'''

COMMAND = '''
from django.core.management.base import BaseCommand

from django.db import connection

from app.export import Importer, import_users, shared_owners, url_owners


class Command(BaseCommand):
    def handle(self, *args, **options):
        import_users(options["rows"])
        shared_owners(options["rows"])
        url_owners(options["rows"])
        importer = Importer()
        importer.run(options["rows"])
        connection.close()
'''

VIEWS = '''
from app.export import shared_owners


def owners(request):
    return shared_owners(request.GET.getlist("id"))
'''

URLS = '''
from app import export

urlpatterns = [("owners/", export.url_owners)]
'''

#: line of each helper's query in EXPORT
IMPORT_USERS, SHARED, URL_OWNERS, LOAD = 11, 15, 19, 27


def _write(root: Path) -> None:
    files = {
        "app/__init__.py": "", "app/export.py": EXPORT, "app/views.py": VIEWS,
        "app/urls.py": URLS, "app/management/__init__.py": "", "app/management/commands/__init__.py": "",
        "app/management/commands/load.py": COMMAND,
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text.lstrip("\n"))


def _run(root: Path, *paths: str, cache: bool = True, select: tuple[str, ...] = ()) -> set[int]:
    settings = RunSettings(paths=list(paths), use_cache=cache, jobs=1)
    # the helpers loop over parameters (weak evidence: low confidence); the contexts are the question here
    report = Runner(Config(root=root, root_is_project=True, min_confidence="low"), rules_for(*select), settings).run()
    assert not report.errors, report.errors
    return {f.line for f in report.findings if f.path.endswith("export.py") and f.code == "SL104"}


def test_helpers_only_a_command_calls_are_one_shot(project: Path) -> None:
    _write(project)
    assert _run(project, ".", cache=False) == {SHARED, URL_OWNERS}


def test_the_callers_context_does_not_depend_on_the_rules_selected(project: Path) -> None:
    _write(project)
    found = _run(project, ".", cache=False, select=("SL104",))
    assert IMPORT_USERS not in found and {SHARED, URL_OWNERS} <= found
    # with no selected rule checking one-shot code, the command is read for its
    # imports only (never parsed), so Importer._load is resolved as in the test below


def test_a_command_never_parsed_calls_what_it_imports(project: Path) -> None:
    _write(project)
    command = project / "app/management/commands/load.py"
    command.write_text("from app.export import import_users\n\nimport_users([])\n")
    assert _run(project, ".", cache=False) == {SHARED, URL_OWNERS, LOAD}


def test_a_one_file_run_answers_the_same_from_cached_facts(project: Path) -> None:
    _write(project)
    _run(project, ".")  # fills the cache
    assert _run(project, "app/export.py") == {SHARED, URL_OWNERS}
    assert _run(project, "app/export.py") == {SHARED, URL_OWNERS}  # the project phase from its cache


def test_without_the_command_the_helpers_are_request_code(project: Path) -> None:
    _write(project)
    (project / "app/management/commands/load.py").unlink()
    assert _run(project, ".", cache=False) == {IMPORT_USERS, SHARED, URL_OWNERS, LOAD}


def _facts(module: str, functions: dict, **more) -> tuple[str, dict]:
    return f"{module.replace('.', '/')}.py", {"module": module, "functions": functions, **more}


def test_callers_contexts_spread_through_helpers_and_stop_at_cycles() -> None:
    graph = CallGraph([
        _facts("app.cmd", {"main": [1, None, ["app.lib.a"], None, 3, ""]}),
        _facts("app.tests", {"test_b": [1, None, ["app.lib.b"], None, 2, ""]}),
        _facts("app.lib", {
            "a": [1, None, ["app.lib.b", "app.lib.c"], None, 2, ""],
            "b": [3, None, ["app.lib.b"], None, 4, ""],
            "c": [5, None, ["app.lib.d"], None, 6, ""],
            "d": [7, None, ["app.lib.c"], None, 8, ""],
            "view": [9, None, ["app.lib.e"], None, 10, "e"],
            "e": [11, None, [], None, 12, ""],
            "lonely": [13, None, [], None, 14, ""],
        }),
        _facts("app.other", {"f": [1, None, ["app.lib.e"], None, 2, ""]}, refs=["app.lib.c"]),
    ])
    placed = {"app/cmd.py": (ONE_SHOT, []), "app/tests.py": (TEST, [])}
    found = inherited_regions(graph, placed)
    # b: called by the command's helper and by a test -> one-shot; c is used by
    # reference, so c and d stay request; e has a view caller; lonely has none
    assert found == {"app/lib.py": [Region(1, 2, ONE_SHOT), Region(3, 4, ONE_SHOT)]}


def test_spans_read_from_indentation_match_cpythons() -> None:
    text = (
        "import x\n\n\nclass A:\n    def run(self):\n        def inner():\n            return 1\n"
        "        return inner()\n\n    async def go(self):\n        await x.y()\n\n\n"
        "@x.deco\ndef top(a,\n        b):\n    return (a +\n  b)\n"
    )
    assert _text_spans(text) == {**_def_spans(ast.parse(text)), "A.run.<locals>.inner": (6, 7)}


def test_spans_read_from_indentation_skip_lines_that_continue_a_statement() -> None:
    # a signature closed at column 0, a docstring line indented less, brackets
    # and quotes inside strings and comments, a backslash continuation
    text = (
        "async def reconcile(\n    session,\n) -> tuple[int, int]:\n"
        '    """Check.\n\nMore ( text.\n    """\n'
        "    sql = (\n\"SELECT ')' \"\n\"FROM t\"\n)  # ) ]\n"
        "    total = 1 + \\\n2\n    return total\n\n\ndef after():\n    return '['\n"
    )
    spans = _text_spans(text)
    assert spans == _def_spans(ast.parse(text))
    assert spans["reconcile"] == (1, 14)


SUPER = '''
from lib import Thing


class Base:
    def run(self):
        return Thing.query.all()


class Child(Base):
    def run(self):
        return super().run()


class Other(Thing):
    def run(self):
        return super().run()
'''


def test_super_calls_are_not_calls_on_unplaced_objects() -> None:
    result = Checker(rules_for("SL101")).check("app/child.py", SUPER, module_name="app.child")
    published = result.facts["summaries"]
    assert "run" not in published.get("dyn", [])  # a base's method, not dynamic dispatch


SHIPPING = '''
from app.db import get_db_connection
from business import create_label


def ship(order_id):
    conn = get_db_connection()
    order = conn.query("SELECT * FROM orders WHERE id = %s", order_id)
    label = create_label(order)
    conn.execute("UPDATE orders SET label = %s WHERE id = %s", label, order_id)
    conn.close()
    return label


def relabel(order_id):
    conn = get_db_connection()
    order = conn.query("SELECT * FROM orders WHERE id = %s", order_id)
    label = create_label(order)
    conn.execute("UPDATE orders SET label = %s WHERE id = %s", label, order_id)
    conn.close()
    return label
'''

RELABEL_COMMAND = '''
from django.core.management.base import BaseCommand

from app.shipping import relabel


class Command(BaseCommand):
    def handle(self, *args, **options):
        relabel(options["order"])
'''

SHIP_VIEW = '''
from app.shipping import ship


def ship_view(request):
    return ship(request.POST["order"])
'''


def test_fix_leaves_functions_that_take_a_quiet_context_from_their_callers(project: Path) -> None:
    files = {
        "app/__init__.py": "", "app/shipping.py": SHIPPING, "app/views.py": SHIP_VIEW,
        "app/management/__init__.py": "", "app/management/commands/__init__.py": "",
        "app/management/commands/relabel.py": RELABEL_COMMAND,
    }
    for name, text in files.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(text.lstrip("\n"))
    settings = RunSettings(paths=["."], use_cache=False, jobs=1, fix=True)
    report = Runner(Config(root=project, root_is_project=True), rules_for("SL101"), settings).run()
    assert not report.errors, report.errors
    assert not [f for f in report.findings if f.path.endswith("shipping.py")]
    fixed = (project / "app/shipping.py").read_text()
    ship, relabel = fixed.split("def relabel")
    assert "with closing(get_db_connection()) as conn:" in ship  # request code: fixed
    assert relabel == SHIPPING.split("def relabel")[1]  # only a command calls it: left as written
    assert report.fixed == 1
