"""Finding confidence: ``min-confidence`` decides which findings a run reports,
fixes and counts; every output format carries it."""
from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from scalelint.cli import main
from scalelint.core.findings import Confidence, Finding

#: HX001 reports print() with high confidence and input() with low confidence;
#: the low one offers a safe fix (input() -> "")
RULE = '''from scalelint.core.findings import Confidence, FixSafety
from scalelint.rule import Rule


class Calls(Rule):
    """
    ## What it does
    Flags print() (high confidence) and input() (low confidence).
    """

    code = "HX001"
    name = "calls"
    summary = "print() and input()"
    vocabulary = ("print", "input")

    def check_module(self, module):
        import libcst as cst
        from scalelint.core.walk import walk

        for node in walk(module.cst):
            if isinstance(node, cst.Call) and isinstance(node.func, cst.Name):
                if node.func.value == "print":
                    self.report(node, "print() call")
                elif node.func.value == "input":
                    fix = self._ctx.replacement_fix(node, cst.SimpleString('""'), "drop input()", FixSafety.SAFE)
                    self.report(node, "input() call", fix=fix, confidence=Confidence.LOW)
'''


def _setup(project: Path, source: str, config: str = "") -> None:
    (project / "lint").mkdir()
    (project / "lint" / "house.py").write_text(RULE)
    (project / "pyproject.toml").write_text(f"[tool.scalelint]\nlocal-rules = ['lint/house.py']\n{config}")
    (project / "app.py").write_text(source)


def _run(*args: str):
    return CliRunner().invoke(main, ["check", "app.py", "--trust-local-rules", *args], catch_exceptions=False)


def test_low_confidence_is_counted_not_reported_by_default(project: Path) -> None:
    _setup(project, "print('hi')\nname = input()\n")
    result = _run("--no-cache")
    assert result.exit_code == 1
    assert "app.py:1:1: HX001 print() call" in result.output
    assert "input() call" not in result.output
    assert "1 more at low confidence (--min-confidence low shows them)." in result.output
    statistics = _run("--no-cache", "--statistics").output
    assert "    1  HX001  calls (+1 at low confidence)" in statistics


def test_min_confidence_low_reports_all_with_their_confidence(project: Path) -> None:
    _setup(project, "print('hi')\nname = input()\n")
    data = json.loads(_run("--no-cache", "--output-format", "json", "--min-confidence", "low").output)
    assert [(d["line"], d["confidence"]) for d in data] == [(1, "high"), (2, "low")]
    sarif = json.loads(_run("--no-cache", "--output-format", "sarif", "--min-confidence", "low").output)
    results = sarif["runs"][0]["results"]
    assert [(r["level"], r["properties"]["confidence"]) for r in results] == [("warning", "high"), ("note", "low")]
    github = _run("--no-cache", "--output-format", "github", "--min-confidence", "low").output.splitlines()
    assert github[0].startswith("::error ") and github[1].startswith("::warning ")


def test_config_key_and_cli_override(project: Path) -> None:
    _setup(project, "name = input()\n", 'min-confidence = "low"\n')
    assert _run("--no-cache").exit_code == 1
    assert _run("--no-cache", "--min-confidence", "high").exit_code == 0


def test_bad_config_value_is_a_one_line_error(project: Path) -> None:
    _setup(project, "name = input()\n", 'min-confidence = "medium"\n')
    result = _run("--no-cache")
    assert result.exit_code == 2
    assert "min-confidence" in result.output and "'high', 'low'" in result.output


def test_a_hidden_finding_is_not_fixed(project: Path) -> None:
    _setup(project, "name = input()\n")
    _run("--no-cache", "--fix")
    assert (project / "app.py").read_text() == "name = input()\n"
    _run("--no-cache", "--fix", "--min-confidence", "low")
    assert (project / "app.py").read_text() == 'name = ""\n'


def test_noqa_of_a_hidden_finding_is_used(project: Path) -> None:
    _setup(project, "name = input()  # noqa: HX001\n")
    result = _run("--no-cache", "--output-format", "json")
    assert json.loads(result.output) == []  # no SL002: the comment matches a finding


def test_baseline_entry_of_a_hidden_finding_is_not_stale(project: Path) -> None:
    _setup(project, "print('hi')\nname = input()\n")
    assert _run("--no-cache", "--baseline", "base.json", "--write-baseline", "--min-confidence", "low").exit_code == 0
    result = _run("--no-cache", "--baseline", "base.json", "--statistics")
    assert result.exit_code == 0
    assert "stale" not in result.output and "more at low confidence" not in result.output


def test_confidence_survives_the_cache(project: Path) -> None:
    _setup(project, "print('hi')\nname = input()\n")
    first = _run("--output-format", "json", "--min-confidence", "low").output
    again = _run("--output-format", "json", "--min-confidence", "low").output
    assert first == again
    assert [d["confidence"] for d in json.loads(again)] == ["high", "low"]
    finding = Finding("HX001", "calls", "m", "a.py", 1, 1, 1, 2, confidence=Confidence.LOW)
    assert Finding.from_cache(finding.to_cache(), "a.py") == finding


def test_shown_at() -> None:
    assert Confidence.HIGH.shown_at(Confidence.HIGH) and Confidence.HIGH.shown_at(Confidence.LOW)
    assert Confidence.LOW.shown_at(Confidence.LOW) and not Confidence.LOW.shown_at(Confidence.HIGH)
