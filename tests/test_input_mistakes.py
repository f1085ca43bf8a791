"""Config and path mistakes (issue 11 item 11): one line naming the file and
the key or path, exit 2 only when the run cannot proceed; the rest is checked.
Files CPython refuses are refused too."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from scalelint.cli import main

FLAGGED = "import sqlite3\n\n\ndef f(path):\n    conn = sqlite3.connect(path)\n    conn.execute('select 1')\n"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "app.py").write_text(FLAGGED)
    return tmp_path


def run(*args: str):
    return CliRunner().invoke(main, ["check", "--no-cache", "--select", "SL102", *args])


@pytest.mark.parametrize("toml, problem", [
    ("tool = 5\n", "key 'tool' must be a table, got int 5"),
    ("[tool]\nscalelint = 5\n", "[tool.scalelint] must be a table, got int 5"),
    ("[tool.scalelint]\nexclude = ['legacy/[z-a]']\n", "key 'exclude': invalid glob 'legacy/[z-a]': bad character range"),
    ("[tool.scalelint]\nextend-exclude = ['[z-a]']\n", "key 'extend-exclude': invalid glob '[z-a]'"),
    ("[tool.scalelint.per-file-ignores]\n'x[z-a].py' = ['SL102']\n", "key 'per-file-ignores': invalid glob 'x[z-a].py'"),
], ids=["tool-not-a-table", "scalelint-not-a-table", "exclude", "extend-exclude", "per-file-ignores"])
def test_config_mistakes_name_the_file_and_key(project: Path, toml: str, problem: str) -> None:
    (project / "pyproject.toml").write_text(toml)
    result = run("app.py")
    assert result.exit_code == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"scalelint: error: {project / 'pyproject.toml'}: {problem}"), line
    assert "internal error" not in result.stderr


def test_a_missing_path_among_several_is_reported_and_the_rest_checked(project: Path) -> None:
    (project / "other.py").write_text(FLAGGED)
    result = run("--output-format", "json", "app.py", "gone.py", "other.py")
    assert result.exit_code == 1
    assert "scalelint: error: gone.py: no such file or directory" in result.stderr
    assert result.stdout.count('"SL102"') == 2


def test_only_missing_paths_cannot_proceed(project: Path) -> None:
    result = run("gone.py", "lost/")
    assert result.exit_code == 2
    assert "gone.py: no such file or directory" in result.stderr and "lost/: no such file or directory" in result.stderr


def test_an_unreadable_directory_is_reported(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (project / "pkg" / "locked").mkdir(parents=True)
    (project / "pkg" / "locked" / "inner.py").write_text(FLAGGED)
    (project / "pkg" / "open.py").write_text(FLAGGED)
    real_scandir = os.scandir

    def scandir(path):  # chmod 000 does not stop root: refuse the directory here instead
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    result = run("--output-format", "json", "pkg")
    assert result.exit_code == 1
    assert f"scalelint: error: {os.path.join('pkg', 'locked')}: cannot read directory: Permission denied" in result.stderr
    assert '"pkg/open.py"' in result.stdout and "inner.py" not in result.stdout


def test_a_nul_byte_after_8_kib_is_refused_as_cpython_does(project: Path) -> None:
    data = FLAGGED.encode() + b"#" + b"x" * 9000 + b"\ny = 1\x00\n"
    (project / "nul.py").write_bytes(data)
    with pytest.raises(SyntaxError):
        compile(data, "nul.py", "exec")
    result = run("nul.py")
    assert result.exit_code == 1 and "SL102" not in result.stdout
    assert "scalelint: error: nul.py: cannot be Python source: a NUL byte at line 8" in result.stderr


def test_a_bom_with_a_conflicting_cookie_is_refused_as_cpython_does(project: Path) -> None:
    data = b"\xef\xbb\xbf# -*- coding: latin-1 -*-\n" + FLAGGED.encode()
    (project / "bom.py").write_bytes(data)
    with pytest.raises(SyntaxError):
        compile(data, "bom.py", "exec")
    result = run("bom.py")
    assert result.exit_code == 1 and "SL102" not in result.stdout
    assert "scalelint: error: bom.py: a UTF-8 BOM and a coding cookie that names another encoding" in result.stderr
    (project / "bom.py").write_bytes(b"\xef\xbb\xbf# -*- coding: utf-8 -*-\n" + FLAGGED.encode())
    agreeing = run("bom.py")
    assert agreeing.exit_code == 1 and "bom.py:6:5: SL102" in agreeing.stdout
