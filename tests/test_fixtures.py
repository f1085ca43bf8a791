"""Every fixture under tests/fixtures/<CODE>/ is a test case.

- ``<CODE>/*.py``: single files; each line marked ``# expect: CODE`` must be
  reported with that code, and nothing else of that code may be reported
  (files without markers are clean look-alikes). A line marked
  ``# expect-low: CODE`` is reported only at ``min-confidence = "low"``.
- ``<CODE>/<project>/``: a multi-file project checked as a whole (for
  project-wide rules), marked the same way.
- ``<CODE>/fixes/<name>.py`` with ``<name>.fixed.py``: the fix output must
  equal the expected file exactly, parse, compile and be idempotent. A first
  line ``# fix-mode: unsafe`` applies unsafe fixes too.
"""
from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest

from helpers import FIXTURES, expected_markers, fix, lint, lint_tree

CASES = sorted(
    p for p in FIXTURES.glob("*/*.py") if p.parent.name[:2].isalpha() and not p.name.startswith("_")
)
PROJECTS = sorted(p for p in FIXTURES.glob("*/*") if p.is_dir() and p.name not in ("fixes", "__pycache__"))
FIXES = sorted(p for p in FIXTURES.glob("*/fixes/*.py") if not p.name.endswith(".fixed.py"))


def _id(path: Path) -> str:
    return str(path.relative_to(FIXTURES))


@pytest.mark.parametrize("path", CASES, ids=_id)
def test_single_file_fixture(path: Path) -> None:
    code = path.parent.name
    source = path.read_text(encoding="utf-8")
    found = {(f.line, f.code) for f in lint(source, code, path=path.name)}
    assert found == {m for m in expected_markers(source) if m[1] == code}
    low = {(f.line, f.code) for f in lint(source, code, path=path.name, min_confidence="low")} - found
    assert low == {m for m in expected_markers(source, low=True) if m[1] == code}


@pytest.mark.parametrize("project", PROJECTS, ids=_id)
def test_project_fixture(project: Path) -> None:
    code = project.parent.name
    expected, expected_low = set(), set()
    for file in sorted(project.rglob("*.py")):
        rel, text = str(file), file.read_text(encoding="utf-8")
        expected |= {(rel, line, c) for line, c in expected_markers(text) if c == code}
        expected_low |= {(rel, line, c) for line, c in expected_markers(text, low=True) if c == code}
    found = {(f.path, f.line, f.code) for f in lint_tree(project, code)}
    assert found == expected
    low = {(f.path, f.line, f.code) for f in lint_tree(project, code, min_confidence="low")} - found
    assert low == expected_low


@pytest.mark.parametrize("path", FIXES, ids=_id)
def test_fix_fixture(path: Path) -> None:
    code = path.parent.parent.name
    source = path.read_text(encoding="utf-8")
    unsafe = source.startswith("# fix-mode: unsafe")
    expected_path = path.with_name(path.stem + ".fixed.py")
    expected = expected_path.read_text(encoding="utf-8")
    fixed = fix(source, code, unsafe=unsafe, path=path.name)
    assert fixed == expected
    cst.parse_module(fixed)
    compile(fixed, str(expected_path), "exec")
    assert fix(fixed, code, unsafe=unsafe, path=path.name) == fixed, "fixing fixed code must change nothing"
