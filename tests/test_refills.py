"""SL204: the lag budget option, its config errors, and what counts as the TTL."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from scalelint.cli import main
from scalelint.engine.config import Config

from helpers import lint, lint_tree

BUILDER = '''from django.core.cache import cache

from shop.models import Product

TTL = {ttl}


def product_detail(product_id):
    key = f"product:{{product_id}}"
    data = cache.get(key)
    if data is None:
        data = Product.objects.using("replica").get(pk=product_id)
        cache.set(key, data, TTL)
    return data


def rename(product_id, name):
    Product.objects.filter(pk=product_id).update(name=name)
    cache.delete(f"product:{{product_id}}")
'''


@pytest.mark.parametrize(("ttl", "reported"), [
    ("3600", True), ("5", False), ("2.5", False), ("60 * 10", True), ("timedelta(seconds=4).total_seconds()", False),
    ("timedelta(hours=1).total_seconds()", True), ("settings.PRODUCT_TTL", True),
])
def test_ttls_under_the_default_lag_budget_are_left_alone(ttl: str, reported: bool) -> None:
    source = "from datetime import timedelta\nfrom django.conf import settings\n" + BUILDER.format(ttl=ttl)
    assert bool(lint(source, "SL204")) is reported


def test_the_message_names_the_delete_the_write_and_the_ttl() -> None:
    (finding,) = lint(BUILDER.format(ttl="3600"), "SL204")
    assert finding.line == 12
    assert "example.py:19 deletes it after Product QuerySet.update()" in finding.message
    assert "3600 s" in finding.message
    assert [(r.line, r.column) for r in finding.related] == [(19, 5)]


def _project(tmp_path: Path, table: str) -> Path:
    (tmp_path / "pyproject.toml").write_text(f"[tool.scalelint]\n{table}\n", encoding="utf-8")
    (tmp_path / "views.py").write_text(BUILDER.format(ttl="30"), encoding="utf-8")
    return tmp_path


def test_the_lag_budget_is_configurable(tmp_path: Path) -> None:
    root = _project(tmp_path, "")
    assert len(lint_tree(root, "SL204")) == 1
    config = Config(root=root, root_is_project=True, rules={"SL204": {"lag-budget": 60}})
    assert lint_tree(root, "SL204", config=config) == []


def test_the_lag_budget_from_pyproject_reaches_the_rule(tmp_path: Path) -> None:
    root = _project(tmp_path, "[tool.scalelint.rules.SL204]\nlag-budget = 60")
    result = CliRunner().invoke(main, ["check", "--no-cache", "--select", "SL204", str(root)])
    assert result.exit_code == 0, result.output
    root = _project(tmp_path, "[tool.scalelint.rules.SL204]\nlag-budget = 10")
    result = CliRunner().invoke(main, ["check", "--no-cache", "--select", "SL204", str(root)])
    assert result.exit_code == 1, result.output


@pytest.mark.parametrize(("table", "error"), [
    ("[tool.scalelint.rules.SL204]\nlag-budgt = 60", "unknown option 'lag-budgt' in [tool.scalelint.rules.SL204] (known: lag-budget)"),
    ("[tool.scalelint.rules.SL204]\nlag-budget = \"soon\"", "key 'rules' must be a table of rule code = table of option = number"),
    ("[tool.scalelint.rules.SL999]\nlag-budget = 1", "SL999"),
    ("[tool.scalelint.rules.SL101]\nlag-budget = 1", "unknown option 'lag-budget' in [tool.scalelint.rules.SL101] (known: none)"),
])
def test_bad_rule_options_are_one_line_errors(tmp_path: Path, table: str, error: str) -> None:
    root = _project(tmp_path, table)
    result = CliRunner().invoke(main, ["check", "--no-cache", str(root)])
    assert result.exit_code == 2
    assert error in result.output
    assert "pyproject.toml" in result.output and "Traceback" not in result.output


def test_rule_options_work_when_the_rules_come_from_kept_metadata(tmp_path: Path) -> None:
    """The second run reads the rules' metadata from the cache (lazy rules):
    their options must be known there too, for checking and for defaults."""
    (tmp_path / "p").mkdir()
    root = _project(tmp_path / "p", "[tool.scalelint.rules.SL204]\nlag-budget = 60")
    cache = ["--cache-dir", str(tmp_path / "cache")]
    for _ in range(2):
        result = CliRunner().invoke(main, ["check", *cache, "--select", "SL204", str(root)])
        assert result.exit_code == 0, result.output
    _project(root, "[tool.scalelint.rules.SL204]\nlag-budgt = 60")
    result = CliRunner().invoke(main, ["check", *cache, str(root)])
    assert result.exit_code == 2 and "unknown option 'lag-budgt'" in result.output, result.output
