"""Shared test helpers: lint or fix a source string through the real engine."""
from __future__ import annotations

import re
from pathlib import Path

from scalelint.engine.checker import CheckOptions, Checker
from scalelint.engine.config import Config
from scalelint.core.findings import Confidence, Finding
from scalelint.model.module import Recognition
from scalelint.project import ProjectIndex, ProjectReporter
from scalelint.engine.registry import load_registry
from scalelint.rule import ProjectRule
from scalelint.engine.runner import Runner, RunSettings

FIXTURES = Path(__file__).parent / "fixtures"
EXPECT = re.compile(r"#\s*expect:\s*(?P<codes>[A-Z]+[0-9]+(?:\s*,\s*[A-Z]+[0-9]+)*)")
#: ``# expect-low: CODE``: reported only at ``min-confidence = "low"``
EXPECT_LOW = re.compile(r"#\s*expect-low:\s*(?P<codes>[A-Z]+[0-9]+(?:\s*,\s*[A-Z]+[0-9]+)*)")

_REGISTRY = load_registry()


def rules_for(*selectors: str):
    return _REGISTRY.select(list(selectors) if selectors else None)


def lint(source: str, *selectors: str, path: str = "example.py", recognition: Recognition | None = None,
         min_confidence: str = "high") -> list[Finding]:
    """Findings of the selected rules on one source text (project rules see
    this file as the whole project), as a run at ``min_confidence`` reports them."""
    rules = rules_for(*selectors)
    checker = Checker(rules, recognition or Recognition())
    result = checker.check(path, source)
    assert result.error is None, result.error
    findings = list(result.findings)
    project_rules = [r for r in rules if issubclass(r, ProjectRule)]
    if project_rules:
        index = ProjectIndex()
        index.add(path, result.facts)
        out = ProjectReporter({path})
        for rule in project_rules:
            rule().check_project(index, out)
        findings.extend(out.findings)
    minimum = Confidence(min_confidence)
    return sorted((f for f in findings if f.confidence.shown_at(minimum)), key=Finding.sort_key)


def fix(source: str, *selectors: str, unsafe: bool = False, path: str = "example.py") -> str:
    rules = rules_for(*selectors)
    if any(issubclass(r, ProjectRule) for r in rules):  # project fixes are applied by the Runner
        settings = RunSettings(paths=[], stdin_text=source, stdin_filename=path, fix=True,
                               unsafe_fixes=unsafe, use_cache=False, jobs=1)
        report = Runner(Config(), rules, settings).run()
        assert not report.errors, report.errors
        return report.stdin_output if report.stdin_output is not None else source
    checker = Checker(rules, Recognition(), CheckOptions(fix=True, unsafe_fixes=unsafe))
    result = checker.check(path, source)
    assert result.error is None, result.error
    return result.fixed_source if result.fixed_source is not None else source


def lint_tree(root: Path, *selectors: str, config: Config | None = None, min_confidence: str | None = None) -> list[Finding]:
    """Findings of a whole directory run through the Runner (project rules included)."""
    config = config or Config(root=root, root_is_project=True)
    if min_confidence is not None:
        config.min_confidence = min_confidence
    settings = RunSettings(paths=[str(root)], use_cache=False, jobs=1)
    report = Runner(config, rules_for(*selectors), settings).run()
    assert not report.errors, report.errors
    return report.findings


def expected_markers(source: str, low: bool = False) -> set[tuple[int, str]]:
    """(line, code) pairs marked with ``# expect: CODE`` comments (with ``low``:
    ``# expect-low: CODE``, the findings reported only at low confidence)."""
    out = set()
    for number, line in enumerate(source.splitlines(), start=1):
        match = (EXPECT_LOW if low else EXPECT).search(line)
        if match:
            for code in re.split(r"\s*,\s*", match.group("codes")):
                out.add((number, code))
    return out


#: a connection never closed on an exception path (SL102), as the CLI tests check it
FLAGGED = '''import sqlite3


def names(path):
    conn = sqlite3.connect(path)
    rows = conn.execute("SELECT name FROM users").fetchall()
    conn.close()
    return rows
'''


#: a local rules file: one rule (HX001) that flags print() calls
NO_PRINT_RULE = '''from scalelint.rule import Rule


class NoPrint(Rule):
    """
    ## What it does
    Flags print().
    """

    code = "HX001"
    name = "no-print"
    summary = "print() in application code"
    vocabulary = ("print",)

    def check_module(self, module):
        import libcst as cst
        from scalelint.core.walk import walk

        for node in walk(module.cst):
            if isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == "print":
                self.report(node, "print() call")
'''
