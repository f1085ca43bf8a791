"""Lines and columns agree with CPython's tokenizer (issue 11 item 6): only
``\\n``, ``\\r\\n`` and ``\\r`` end a line, never a form feed, ``\\x1c``-``\\x1e``,
``\\x85`` or U+2028/2029 (Python allows those inside a line and a string)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest
from click.testing import CliRunner

from scalelint.cli import main
from scalelint.core.lines import LineIndex, split_lines
from scalelint.lsp import offset_range

ODD = ["\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029", "\x0b"]
NEWLINES = {"lf": "\n", "crlf": "\r\n", "cr": "\r"}


def _flagged(newline: str) -> str:
    """A flagged connection on line 5, after a line whose string holds every odd character."""
    lines = ["import sqlite3", "", "def f(p):", f"    q = 'select{''.join(ODD)} 1'", "    conn = sqlite3.connect(p)", "    conn.execute(q)", ""]
    return newline.join(lines)


@pytest.mark.parametrize("newline", NEWLINES.values(), ids=NEWLINES.keys())
def test_lines_are_cpythons(newline: str) -> None:
    text = _flagged(newline)
    assigned = [node.targets[0].id for node in ast.walk(ast.parse(text)) if isinstance(node, ast.Assign)]
    where = {node.targets[0].id: node.lineno for node in ast.walk(ast.parse(text)) if isinstance(node, ast.Assign)}
    lines = split_lines(text)
    assert len(lines) == 6 and assigned == ["q", "conn"]
    assert lines[where["conn"] - 1] == "    conn = sqlite3.connect(p)"
    index = LineIndex(text)
    assert index.line_col(text.index("conn =")) == (5, 5)
    assert index.line_text(4).endswith("1'")
    assert "".join(split_lines(text, keepends=True)) == text


@pytest.mark.parametrize("newline", NEWLINES.values(), ids=NEWLINES.keys())
def test_findings_and_noqa_land_on_the_statements_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, newline: str) -> None:
    monkeypatch.chdir(tmp_path)
    text = _flagged(newline)
    Path("app.py").write_bytes(text.encode())
    checked = CliRunner().invoke(main, ["check", "--no-cache", "--select", "SL102", "app.py"])
    assert "app.py:5:5: SL102" in checked.stdout
    assert "   5 |     conn = sqlite3.connect(p)" in checked.stdout  # the code frame shows that line
    CliRunner().invoke(main, ["check", "--no-cache", "--select", "SL102", "--add-noqa", "app.py"])
    after = Path("app.py").read_bytes().decode()
    assert after == text.replace("connect(p)", "connect(p)  # noqa: SL102")
    strings = [n.value for n in ast.walk(ast.parse(after)) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
    assert f"select{''.join(ODD)} 1" in strings  # the program's data is unchanged


def test_language_server_ranges_count_cr_lines() -> None:
    text = _flagged("\r")
    at = text.index("conn =")
    r = offset_range(text, at, at + 4)
    assert (r.start_line, r.start_char, r.end_line, r.end_char) == (4, 4, 4, 8)
