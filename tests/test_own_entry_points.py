"""Entry points of other contexts that no framework declares: an application's
own migration runner (``db/migrations.py`` with ``m001_...(conn)`` steps) and
command-line mains (``argparse`` or ``main(argv=sys.argv)``), including in
files with no database code of their own, which are parsed for that."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import libcst as cst
import pytest

from helpers import FIXTURES
from scalelint.model.contexts import MIGRATION, ONE_SHOT
from scalelint.model.entrypoints import region_nodes
from scalelint.model.module import ModuleModel
from scalelint.model.textuses import runs_elsewhere


def _placed(text: str, module_name: str) -> dict[str, str]:
    """function name -> the context its own place gives it (functions only)."""
    model = ModuleModel(cst.parse_module(text), path=module_name.replace(".", "/") + ".py", module_name=module_name)
    return {node.name.value: context for node, context in region_nodes(model, text) if isinstance(node, cst.FunctionDef)}


STEPS = '''
from sqlalchemy.engine import Connection


def m001_initial(conn):
    conn.execute("CREATE TABLE t (id int)")


def m12(db):
    db.execute("ALTER TABLE t ADD x int")


def migrate_users(connection: Connection):
    pass


def upgrade_v2(cursor):
    cursor.execute("UPDATE t SET x = 0")


def _m003_private(session):
    session.execute("SELECT 1")


def migrate_account(user_id):
    return user_id


def m004_no_handle():
    pass


def mark_done(conn):
    conn.execute("INSERT INTO applied VALUES (1)")


def run_migrations(conn):
    m001_initial(conn)
'''


@pytest.mark.parametrize("module_name", ["app.db.migrations", "migrate", "app.migrate.steps", "app.migration"])
def test_steps_of_an_own_migration_module_are_migration_code(module_name: str) -> None:
    assert _placed(STEPS, module_name) == dict.fromkeys(
        ["m001_initial", "m12", "migrate_users", "upgrade_v2", "_m003_private"], MIGRATION
    )


@pytest.mark.parametrize("module_name", ["app.views", "app.migrations_admin", "app.user_migrate_view"])
def test_steps_named_like_migrations_elsewhere_are_request_code(module_name: str) -> None:
    assert _placed(STEPS, module_name) == {}


MAINS = '''
import argparse
import sys
from optparse import OptionParser


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("path")
    args = parser.parse_args()
    return args


def run(argv=sys.argv):
    return argv


def run_tail(argv=sys.argv[1:]):
    return argv


def old_style():
    options, args = OptionParser().parse_args()
    return options


def build_parser():
    parser = argparse.ArgumentParser()
    parser.add_argument("path")
    return parser


def parse(parser, line):
    return parser.parse_args(line.split())


def first_argument(argv):
    return argv[0]


class Tool:
    def main(self):
        return argparse.ArgumentParser().parse_args()
'''


def test_command_line_mains_are_one_shot_and_parser_builders_are_not() -> None:
    assert _placed(MAINS, "app.tool") == dict.fromkeys(["main", "run", "run_tail", "old_style"], ONE_SHOT)


@pytest.mark.parametrize("text, expected", [
    ("@click.command()\ndef go():\n    pass\n", True),
    ("@app.cli.command('seed')\ndef seed():\n    pass\n", True),
    ("@cli.group\ndef tools():\n    pass\n", True),
    ("parser = argparse.ArgumentParser()\n", True),
    ("def main(argv=sys.argv):\n    pass\n", True),
    ("if __name__ == '__main__':\n    main()\n", True),
    ("@app.route('/command')\ndef command():\n    pass\n", False),
    ("def run_command(command):\n    return command.argv\n", False),
    ("sys_argv = os_argv.split()\n", False),
])
def test_files_that_may_hold_other_entry_points_are_parsed(text: str, expected: bool) -> None:
    assert runs_elsewhere(text) is expected


def _scalelint(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scalelint", *args], cwd=root, capture_output=True, text=True)


def test_statistics_count_what_own_migration_steps_dropped(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    shutil.copytree(FIXTURES / "SL104" / "own_migrations", root)
    (root / "pyproject.toml").write_text("[tool.scalelint]\n", encoding="utf-8")
    done = _scalelint(root, "check", ".", "--select", "SL104", "--statistics", "--no-cache")
    assert "context migration: 0 files, 4 findings dropped" in done.stdout, done.stdout
    # two loops walk one user's rows (filter_by(id=user_id)): low confidence, shown with min-confidence low
    (root / "pyproject.toml").write_text(
        '[tool.scalelint]\ncontexts = { migration = true }\nmin-confidence = "low"\n', encoding="utf-8")
    done = _scalelint(root, "check", ".", "--select", "SL104", "--statistics", "--no-cache")
    assert "Found 7 findings" in done.stdout, done.stdout  # configured to check migrations: all reported


def test_a_command_left_unparsed_still_places_the_methods_it_calls(tmp_path: Path) -> None:
    """A management command in which no selected rule's vocabulary appears is
    read from its text: ``process = Refresher(); process.run()`` reaches the
    method, so the loop it holds takes the command's one-shot context whatever
    rules are selected (only SL104 here; every rule parses the command anyway)."""
    from helpers import lint_tree

    app = tmp_path / "app"
    (app / "management" / "commands").mkdir(parents=True)
    for init in (app / "__init__.py", app / "management" / "__init__.py", app / "management" / "commands" / "__init__.py"):
        init.write_text("")
    (app / "refresh.py").write_text(
        "from django.db import models\n\n\nclass Customer(models.Model):\n    name = models.TextField()\n\n\n"
        "class Order(models.Model):\n    customer = models.ForeignKey(Customer, on_delete=models.CASCADE)\n"
        "    kind = models.TextField()\n\n\nclass Refresher:\n    def run(self, kinds):\n"
        "        for order in Order.objects.filter(kind__in=kinds):\n"
        "            Customer.objects.get(id=order.customer_id)\n"
    )
    (app / "management" / "commands" / "refresh_bugs.py").write_text(
        "from app.refresh import Refresher\n\n\ndef handle():\n    process = Refresher()\n    process.run([])\n"
    )
    assert [f.code for f in lint_tree(tmp_path, "SL104")] == []
    (app / "views.py").write_text("from app.refresh import Refresher\n\n\ndef view(request):\n    Refresher().run([])\n")
    assert [(Path(f.path).name, f.code) for f in lint_tree(tmp_path, "SL104")] == [("refresh.py", "SL104")]


def test_text_records_pair_only_built_instances_with_their_methods() -> None:
    from scalelint.model.textuses import MODULE_CODE, text_uses

    text = (
        "from app.refresh import Refresher, Other\n\n\ndef handle(rows):\n    process = Refresher()\n"
        "    process.run()\n    Other(1).close()\n    rows.save()\n"
    )
    calls = text_uses(text, "app.management.commands.go", False, "one-shot")["functions"][MODULE_CODE][2]
    assert "app.refresh.Refresher.run" in calls and "app.refresh.Other.close" in calls
    assert "app.refresh.Refresher.save" not in calls and "app.refresh.Other.run" not in calls
    in_test = text_uses(text, "app.tests.test_go", False, "test")["functions"][MODULE_CODE][2]
    assert not any(call.endswith((".run", ".close")) for call in in_test)
