"""Bare `# noqa` (the `bare-noqa` choice) and file-level
`# scalelint: ignore-file[...]` comments, and what SL001/SL002 say of them."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from scalelint.cli import main
from scalelint.report.suppressions import parse_suppressions

from helpers import FLAGGED

def findings(*args: str) -> list[tuple[str, int, str]]:
    result = CliRunner().invoke(main, ["check", "--no-cache", "--output-format", "json", *args], catch_exceptions=False)
    assert result.exit_code in (0, 1), result.output
    return sorted((d["path"], d["line"], d["code"]) for d in json.loads(result.output))


def configure(project: Path, table: str) -> None:
    (project / "pyproject.toml").write_text(f"[project]\nname = 'demo'\n[tool.scalelint]\n{table}\n")


def bare_noqa_file(project: Path) -> None:
    (project / "a.py").write_text(FLAGGED.replace("sqlite3.connect(path)", "sqlite3.connect(path)  # noqa"))
    (project / "b.py").write_text("import os  # noqa\n")  # another tool's: hides nothing of ours


def test_a_bare_noqa_hiding_a_finding_is_reported_by_default(project: Path) -> None:
    bare_noqa_file(project)
    assert findings(".") == [("a.py", 5, "SL001")]


def test_bare_noqa_suppress_hides_silently(project: Path) -> None:
    configure(project, 'bare-noqa = "suppress"')
    bare_noqa_file(project)
    assert findings(".") == []


def test_bare_noqa_ignore_means_nothing_to_scalelint(project: Path) -> None:
    configure(project, 'bare-noqa = "ignore"')
    bare_noqa_file(project)
    assert findings(".") == [("a.py", 5, "SL102")]


def test_add_noqa_beside_a_bare_noqa_uses_a_comment_the_parser_reads(project: Path) -> None:
    configure(project, 'bare-noqa = "ignore"')
    bare_noqa_file(project)
    result = CliRunner().invoke(main, ["check", "--no-cache", "--add-noqa", "."], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    line = (project / "a.py").read_text().splitlines()[4]
    assert line.endswith("sqlite3.connect(path)  # noqa  # scalelint: ignore[SL102]")  # the other tools' noqa kept
    assert findings(".") == []
    again = CliRunner().invoke(main, ["check", "--no-cache", "--add-noqa", "."], catch_exceptions=False)
    assert "added noqa comments to 0 lines" in again.output
    assert (project / "a.py").read_text().splitlines()[4] == line


def test_bare_noqa_takes_only_its_three_values(project: Path) -> None:
    configure(project, 'bare-noqa = "sometimes"')
    result = CliRunner().invoke(main, ["check", "--no-cache", "."])
    assert result.exit_code == 2
    assert "'bare-noqa' must be one of 'report', 'suppress', 'ignore'" in result.output


def test_ignore_file_at_the_top_hides_the_named_rule_in_the_whole_file(project: Path) -> None:
    (project / "a.py").write_text('#!/usr/bin/env python\n"""Docs."""\n# scalelint: ignore-file[SL102]\n' + FLAGGED)
    assert findings(".") == []


def test_ignore_file_names_only_its_codes(project: Path) -> None:
    (project / "a.py").write_text("# scalelint: ignore-file[SL104]\n" + FLAGGED)
    assert findings(".") == [("a.py", 1, "SL002"), ("a.py", 6, "SL102")]


def test_ignore_file_below_the_first_statement_has_no_effect(project: Path) -> None:
    (project / "a.py").write_text(FLAGGED.replace("import sqlite3\n", "import sqlite3\n# scalelint: ignore-file[SL102]\n"))
    assert findings(".") == [("a.py", 2, "SL002"), ("a.py", 6, "SL102")]


def test_a_bare_ignore_file_is_a_blanket_suppression(project: Path) -> None:
    (project / "a.py").write_text("# scalelint: ignore-file\n" + FLAGGED)
    assert findings(".") == [("a.py", 1, "SL001")]


def test_a_line_comment_answers_before_the_file_comment(project: Path) -> None:
    source = "# scalelint: ignore-file[SL102]\n" + FLAGGED.replace("sqlite3.connect(path)", "sqlite3.connect(path)  # noqa: SL102")
    (project / "a.py").write_text(source)
    assert findings(".") == [("a.py", 1, "SL002")]


def test_ignore_file_is_not_read_as_a_bare_line_ignore() -> None:
    [found] = parse_suppressions("# scalelint: ignore-file[SL104]\nx = 1\n")
    assert (found.style, found.codes, found.first_line) == ("file", ("SL104",), 1)
    assert found.covers(500, "SL104") and not found.covers(500, "SL102")


TRICKY_TEXTS = [
    "import os  # noqa: F401\nx = 1  # NOQA:E501\n",
    'x = "# noqa: F401"  # noqa: SL101\n',
    'x = "# noqa"\ny = 2  # noqa: E501\n',
    "call(a,  # noqa\n     b)\n",
    "x = 1  # scalelint: ignore[SL104]\n",
    "# scalelint: ignore-file[SL104]\nx = 1\n",
    "x = 1  # see noqa\r# noqa\ry = 2\n",
    "x = 1  # one\x0c# noqa\n",
    "s = '''\n# noqa\n'''\n",
    "x = 1  # İİ noqa: SL101\n",
    "x = 1  # noqa: F401, SL104\n",
    "x = 1  # type: ignore  # noqa\n",
    "x = (  # nothing\n  1)  # noqa:SL101\n",
]


@pytest.mark.parametrize("text", TRICKY_TEXTS)
@pytest.mark.parametrize("bare_noqa", ["report", "ignore"])
def test_skipping_the_tokenizer_finds_what_tokenizing_finds(text: str, bare_noqa: str) -> None:
    from scalelint.report.suppressions import _scan_tokens

    expected = [s.to_json() for s in _scan_tokens(text, "SL", bare_noqa)]
    assert [s.to_json() for s in parse_suppressions(text, bare_noqa=bare_noqa)] == expected


def test_a_file_silencing_only_other_tools_has_no_suppressions() -> None:
    assert parse_suppressions("import os  # noqa: F401\nx = '# noqa: E501'\n") == []


def test_other_tools_codes_that_start_with_our_letters_are_not_ours() -> None:
    # Ruff's SLF001 (private member access) and flake8-slots' SLOT002 share our prefix
    text = "x = obj._private  # noqa: SLF001\nclass A(str):  # noqa: SLOT000\n    pass\ny = 1  # noqa: SLF001, SL104\n"
    [found] = parse_suppressions(text)
    assert (found.line, found.codes) == (4, ("SL104",))


def test_other_tools_codes_are_never_reported_as_unknown_codes(tmp_path, monkeypatch) -> None:
    from helpers import lint_tree

    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.py").write_text("x = obj._private  # noqa: SLF001, SLOT000\ny = 1  # noqa: SL999\n")
    assert [(f.code, f.line) for f in lint_tree(tmp_path)] == [("SL002", 2)]
