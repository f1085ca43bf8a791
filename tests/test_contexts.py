"""Code contexts: where code runs decides which rules check it
(scalelint.model.contexts; fixtures in tests/fixtures/SL10x/contexts)."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import FIXTURES, lint_tree
from scalelint.core.errors import ConfigError
from scalelint.engine.config import Config, parse_table
from scalelint.model.contexts import MIGRATION, ONE_SHOT, REQUEST, TEST, path_context

SL101_TREE = FIXTURES / "SL101" / "contexts"


@pytest.mark.parametrize("path, context", [
    ("app/tests/test_views.py", TEST),
    ("tests/unit/helpers.py", TEST),
    ("app/conftest.py", TEST),
    ("app/factories.py", TEST),
    ("app/test_models.py", TEST),
    ("app/models_test.py", TEST),
    ("shop/migrations/0001_initial.py", MIGRATION),
    ("backend/app/alembic/versions/3f2a_add.py", MIGRATION),
    ("shop/management/commands/resync.py", ONE_SHOT),
    ("scripts/backfill.py", ONE_SHOT),
    ("app/cli/db.py", ONE_SHOT),
    ("warehouse/cli/db/seed.py", ONE_SHOT),
    ("flaskbb/utils/populate.py", ONE_SHOT),
    ("manage.py", ONE_SHOT),
    ("plane/bgtasks/workspace_seed_task.py", ONE_SHOT),
    ("app/demo_seeds.py", ONE_SHOT),
    ("app/data/seeder.py", ONE_SHOT),
    # look-alikes stay request code
    ("app/contest.py", REQUEST),
    ("app/latest_migrations_view.py", REQUEST),
    ("app/attestations/issue.py", REQUEST),
    ("app/management/views.py", REQUEST),
    ("app/api/versions/v1.py", REQUEST),
    ("app/testimonials.py", REQUEST),
    ("app/views.py", REQUEST),
    ("app/seeded_cache.py", REQUEST),
    ("app/random_seeding.py", REQUEST),
    ("app/reseed_view.py", REQUEST),
    ("app/linseed_prices.py", REQUEST),
    ("app/seed_random.py", REQUEST),
    ("app/utils/rng_seed.py", REQUEST),
])
def test_path_context(path: str, context: str) -> None:
    assert path_context(path) == context


def _every_context_checked() -> Config:
    return Config(root=SL101_TREE, root_is_project=True,
                  contexts={"test": True, "migration": True, "one-shot": True})


def test_the_context_fixture_reports_everywhere_when_every_context_is_checked() -> None:
    """The fixture tree's unmarked functions are flagged code: only their context hides them."""
    found = {(Path(f.path).relative_to(SL101_TREE).as_posix(), f.line) for f in lint_tree(SL101_TREE, "SL101", config=_every_context_checked())}
    for hidden in ("app/tests/test_views.py", "app/conftest.py", "app/factories.py", "app/pytest_helpers.py",
                   "app/migrations/0002_backfill.py", "alembic/versions/3f2a_relabel.py",
                   "app/management/commands/relabel.py", "app/commands.py", "app/signals.py",
                   "scripts/relabel_all.py", "app/seed_orders.py"):
        assert any(path == hidden for path, _ in found), hidden
    assert len([f for f in found if f[0] == "app/scripts_inline.py"]) == 3  # serve, main, Command.handle


def test_context_paths_pin_a_file_to_a_context() -> None:
    config = Config(root=SL101_TREE, root_is_project=True,
                    context_paths={"scripts/**": "request", "app/views.py": "test"})
    paths = {Path(f.path).relative_to(SL101_TREE).as_posix() for f in lint_tree(SL101_TREE, "SL101", config=config)}
    assert "scripts/relabel_all.py" in paths
    assert "app/views.py" not in paths
    assert "app/contest.py" in paths


def test_a_pinned_request_file_is_not_refined_by_its_functions() -> None:
    config = Config(root=SL101_TREE, root_is_project=True, context_paths={"app/scripts_inline.py": "request"})
    lines = sorted(f.line for f in lint_tree(SL101_TREE, "SL101", config=config) if f.path.endswith("scripts_inline.py"))
    assert len(lines) == 3


def test_one_shot_list_names_the_rules_that_check_it() -> None:
    tree = FIXTURES / "SL102" / "contexts"
    config = Config(root=tree, root_is_project=True, contexts={"one-shot": ["SL101"]})
    paths = {Path(f.path).relative_to(tree).as_posix() for f in lint_tree(tree, "SL102", config=config)}
    assert paths == {"app/views.py"}


def test_runs_in_reads_declared_then_configured_contexts() -> None:
    declared = frozenset({REQUEST, ONE_SHOT})
    assert Config().runs_in("SL102", declared) == declared
    assert Config(contexts={"test": True, "one-shot": False}).runs_in("SL102", declared) == {REQUEST, TEST}
    assert Config(contexts={"migration": ["SL1"]}).runs_in("SL104", frozenset({REQUEST})) == {REQUEST, MIGRATION}


@pytest.mark.parametrize("table, message", [
    ({"contexts": {"tests": False}}, "key 'contexts': unknown context 'tests' (did you mean 'test'?)"),
    ({"contexts": {"test": "no"}}, "key 'contexts' must be a table of context = boolean or list of rule codes"),
    ({"context-paths": {"scripts/**": "oneshot"}}, "key 'context-paths': unknown context 'oneshot' (did you mean 'one-shot'?)"),
    ({"context-path": {}}, "unknown key 'context-path' in [tool.scalelint] (did you mean 'context-paths'?)"),
])
def test_context_config_errors_name_the_key(table: dict, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_table(table, Path("/p/pyproject.toml"))
    assert message in str(caught.value) and "\n" not in str(caught.value)


def _project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    shutil.copytree(SL101_TREE, root)
    (root / "pyproject.toml").write_text("[tool.scalelint]\n", encoding="utf-8")
    return root


def _scalelint(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scalelint", *args], cwd=root, capture_output=True, text=True)


def test_statistics_say_what_each_context_skipped_and_templates_are_not_errors(tmp_path: Path) -> None:
    root = _project(tmp_path)
    template = root / "{{cookiecutter.project}}"
    template.mkdir()
    (template / "models.py").write_text("class {{ cookiecutter.model }}:\n    pass\n", encoding="utf-8")
    for _ in range(2):  # the second run is answered from the cache, and says the same
        done = _scalelint(root, "check", ".", "--select", "SL101", "--statistics")
        assert done.returncode == 1, done.stderr
        assert "error" not in done.stderr
        assert "context test: 5 files, 5 skipped (no selected rule checks test code)" in done.stdout
        assert "context migration: 3 files, 3 skipped" in done.stdout
        assert "context one-shot: 4 files, 4 skipped" in done.stdout
        assert "templates: 1 path with '{{' in the name skipped" in done.stdout


def test_json_output_keeps_its_shape(tmp_path: Path) -> None:
    done = _scalelint(_project(tmp_path), "check", ".", "--select", "SL101", "--output-format", "json", "--no-cache")
    findings = json.loads(done.stdout)
    assert {Path(f["path"]).as_posix() for f in findings} == {
        "app/views.py", "app/contest.py", "app/latest_migrations_view.py", "app/attestations/issue.py",
        "app/scripts_inline.py", "app/commands.py",
    }
    assert set(findings[0]) == {"code", "name", "message", "path", "line", "column", "end_line", "end_column", "fix", "related", "confidence"}


def test_explain_says_where_a_rule_checks(tmp_path: Path) -> None:
    root = _project(tmp_path)
    assert "Checks code in: request, one-shot" in _scalelint(root, "explain", "SL102").stdout
    assert "Checks code in: request (contexts" in _scalelint(root, "explain", "SL101").stdout
    (root / "pyproject.toml").write_text("[tool.scalelint]\ncontexts = { test = true }\n", encoding="utf-8")
    assert "Checks code in: request, test (contexts" in _scalelint(root, "explain", "SL101").stdout


def test_an_unknown_code_in_contexts_is_a_config_error(tmp_path: Path) -> None:
    root = _project(tmp_path)
    (root / "pyproject.toml").write_text('[tool.scalelint]\ncontexts = { one-shot = ["SL999"] }\n', encoding="utf-8")
    done = _scalelint(root, "check", ".")
    assert done.returncode == 2 and "contexts.one-shot" in done.stderr and "SL999" in done.stderr


def test_run_python_callables_are_found_without_regenerating_the_source(monkeypatch: pytest.MonkeyPatch) -> None:
    """The RunPython search reads the file's text: regenerating it from the
    tree (``Module.code``) cost a third of a parse on every check."""
    import libcst

    from helpers import lint

    source = (
        "import sqlite3\n"
        "\n\n"
        "def forwards(apps, schema_editor):\n"
        "    conn = sqlite3.connect('x')\n"
        "    conn.close()\n\n\n"
        "def serve(path):\n"
        "    conn = sqlite3.connect(path)\n"
        "    conn.close()\n\n\n"
        "class Migration(migrations.Migration):\n"
        "    operations = [migrations.RunPython(forwards)]\n"
    )
    monkeypatch.setattr(libcst.Module, "code", property(lambda module: pytest.fail("the module's code was regenerated")))
    assert [f.line for f in lint(source, "SL102")] == [10]  # in serve, not in forwards


def test_only_what_a_module_imports_at_load_time_makes_it_migration_code() -> None:
    """A task that imports the migration executor inside a function (to wait
    for running migrations) is request code like the rest of its module."""
    from helpers import lint

    body = (
        "import sqlite3\n"
        "\n\n"
        "def wait_for_migrations():\n"
        "    from django.db.migrations.executor import MigrationExecutor\n"
        "    return MigrationExecutor\n"
        "\n\n"
        "def serve(path):\n"
        "    conn = sqlite3.connect(path)\n"
        "    conn.close()\n"
    )
    assert [f.line for f in lint(body, "SL102")] == [10]
    migrating = body.replace("    return MigrationExecutor\n", "    conn = sqlite3.connect('x')\n    conn.close()\n")
    assert [f.line for f in lint(migrating, "SL102")] == [11]  # the function that imports it is migration code
    guarded = "try:\n    from django.db.migrations import RunPython\nexcept ImportError:\n    pass\n"
    assert lint(guarded + body, "SL102") == []


#: a write that leaves a cached key stale (SL301's own fix fixture)
STALE_PRICE = (Path(__file__).parent / "fixtures" / "SL301" / "fixes" / "add_delete.py").read_text()


def test_stale_keys_are_request_and_scheduled_findings_not_one_shot_ones(tmp_path: Path) -> None:
    """SL301 is among the rules one-shot code does not keep (the precision issue's
    list): a management command's write is reported where requests write, not there."""
    from helpers import lint_tree

    for name in ("shop/prices.py", "shop/management/commands/reprice.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(STALE_PRICE)
    found = lint_tree(tmp_path, "SL301")
    assert [(Path(f.path).relative_to(tmp_path).as_posix(), f.code) for f in found] == [("shop/prices.py", "SL301")]
