"""Work that must grow linearly: counted (parses, visits, comparisons), never
timed. Inputs are generated here, sized so a quadratic cost shows as a
multiple of the linear bound."""
from __future__ import annotations

import ast

import libcst as cst

import scalelint.context
from scalelint.engine.checker import Checker
from tests.helpers import rules_for

METHOD = '''
    def report_{i}(self, path):
        conn = sqlite3.connect(path)
        rows = conn.execute("SELECT id FROM orders_{i}").fetchall()
        conn.close()
        return rows
'''


def _class_with_findings(count: int) -> str:
    """One class of ``count`` methods, each with an SL102 finding and its fix."""
    return "import sqlite3\n\n\nclass Reports:\n" + "".join(METHOD.format(i=i) for i in range(count))


class _Count(cst.CSTTransformer):
    def __init__(self) -> None:
        super().__init__()
        self.visits = 0

    def on_leave(self, original_node, updated_node):  # type: ignore[override]
        self.visits += 1
        return updated_node


def test_fixes_of_one_file_cost_what_they_touch_not_the_file_each(monkeypatch):
    text = _class_with_findings(60)
    whole = _Count()
    cst.parse_module(text).visit(whole)
    parsed: list[int] = []
    visits = [0]
    real_parse, real_leave = ast.parse, scalelint.context._Replacer.on_leave

    def counting_parse(source, *args, **kwargs):
        parsed.append(len(source))
        return real_parse(source, *args, **kwargs)

    def counting_leave(self, original_node, updated_node):
        visits[0] += 1
        return real_leave(self, original_node, updated_node)

    monkeypatch.setattr(ast, "parse", counting_parse)
    monkeypatch.setattr(scalelint.context._Replacer, "on_leave", counting_leave)
    result = Checker(rules_for("SL102")).check("reports.py", text)

    assert [f.code for f in result.findings] == ["SL102"] * 60
    assert all(f.fix is not None for f in result.findings)
    # each fix regenerates and re-parses its own method (plus the import line),
    # so all of them together stay within a few times the file
    assert sum(parsed) <= 4 * len(text)
    assert visits[0] <= 3 * whole.visits
