"""--diff-base REF (--changed-since): only files changed since a git ref,
only findings on changed lines (unless --changed-files-only), and the
project rules still see the unchanged files."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from helpers import FLAGGED
from scalelint.cli import main
from test_engine import PROJECT_RULE

GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, env={**os.environ, **GIT_ENV})


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'demo'\n")
    (tmp_path / "old.py").write_text(FLAGGED)
    (tmp_path / "edited.py").write_text("X = 1\n")
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "start")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def found(*args: str) -> list[tuple[str, int, str]]:
    result = CliRunner().invoke(main, ["check", "--no-cache", "--output-format", "json", *args], catch_exceptions=False)
    assert result.exit_code in (0, 1), result.output
    return sorted((d["path"], d["line"], d["code"]) for d in json.loads(result.stdout))


def test_only_changed_lines_of_changed_and_untracked_files(repo: Path) -> None:
    (repo / "old.py").write_text(FLAGGED + "\n\nTIMEOUT = 3\n")  # changed, but not where its finding is
    (repo / "edited.py").write_text("X = 1\n" + FLAGGED)
    (repo / "new.py").write_text(FLAGGED)  # untracked
    assert found("--diff-base", "HEAD") == [("edited.py", 6, "SL102"), ("new.py", 5, "SL102")]
    assert found("--changed-since", "HEAD") == found("--diff-base", "HEAD")
    assert found("--diff-base", "HEAD", "--changed-files-only") == [
        ("edited.py", 6, "SL102"), ("new.py", 5, "SL102"), ("old.py", 5, "SL102"),
    ]


def test_a_finding_spanning_a_changed_line_is_reported(repo: Path) -> None:
    (repo / "old.py").write_text(FLAGGED.replace("sqlite3.connect(path)", "sqlite3.connect(path)  "))
    assert found("--diff-base", "HEAD") == [("old.py", 5, "SL102")]


def test_the_ref_is_compared_from_its_merge_base(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "feature")
    (repo / "edited.py").write_text("X = 1\n" + FLAGGED)
    git(repo, "commit", "-q", "-am", "feature work")
    git(repo, "checkout", "-q", "main")
    (repo / "other.py").write_text("Y = 2\n")
    git(repo, "add", "other.py")
    git(repo, "commit", "-q", "-m", "main moves on")
    git(repo, "checkout", "-q", "feature")
    assert found("--diff-base", "main") == [("edited.py", 6, "SL102")]


def test_paths_narrow_the_changed_files(repo: Path) -> None:
    (repo / "pkg").mkdir()
    (repo / "pkg" / "a.py").write_text(FLAGGED)
    (repo / "b.py").write_text(FLAGGED)
    assert found("--diff-base", "HEAD", "pkg") == [("pkg/a.py", 5, "SL102")]


def test_nothing_changed_is_a_clean_run(repo: Path) -> None:
    result = CliRunner().invoke(main, ["check", "--no-cache", "--diff-base", "HEAD"])
    assert result.exit_code == 0 and "no Python file under . changed since HEAD" in result.stderr


def test_project_rules_see_the_unchanged_files(repo: Path) -> None:
    (repo / "lint_rules.py").write_text(PROJECT_RULE)
    (repo / "pyproject.toml").write_text("[tool.scalelint]\nlocal-rules = ['lint_rules.py']\nextend-exclude = ['lint_rules.py']\n")
    (repo / "a.py").write_text("def shared():\n    return 1\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "rules")
    (repo / "b.py").write_text("def shared():\n    return 2\n")
    args = ["--diff-base", "HEAD", "--select", "HX100", "--trust-local-rules"]
    result = CliRunner().invoke(main, ["check", "--no-cache", "--output-format", "json", *args])
    assert [(d["path"], d["message"]) for d in json.loads(result.stdout)] == [("b.py", "shared also defined in a.py")]


def test_outside_a_git_repository_is_a_one_line_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    result = CliRunner().invoke(main, ["check", "--diff-base", "main", "."])
    assert result.exit_code == 2 and "is not inside a git repository" in result.stderr
    assert result.stderr.count("\n") == 1


def test_an_unknown_ref_is_a_one_line_error(repo: Path) -> None:
    result = CliRunner().invoke(main, ["check", "--diff-base", "no-such-branch"])
    assert result.exit_code == 2 and "--diff-base no-such-branch: not a commit, branch or tag" in result.stderr


def test_changed_files_only_needs_a_ref(repo: Path) -> None:
    result = CliRunner().invoke(main, ["check", "--changed-files-only"])
    assert result.exit_code == 2 and "--changed-files-only needs --diff-base" in result.stderr
