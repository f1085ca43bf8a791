"""The pre-commit hooks, exercised with the real `pre-commit try-repo`
against a temporary git repository."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from test_cli import FLAGGED

REPO = Path(__file__).resolve().parent.parent
@pytest.fixture(scope="module")
def pre_commit() -> str:
    found = shutil.which("pre-commit")
    if found is None:
        pytest.skip("pre-commit is not installed (pip install -e '.[test]' installs it)")
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    return found


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def _snapshot(tmp_path: Path) -> Path:
    """A committed copy of this working tree (tracked and new files), so the
    test sees uncommitted work the way a release would ship it."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    snapshot = tmp_path / "scalelint-snapshot"
    for rel in listed:
        source = REPO / rel
        if source.is_file():
            target = snapshot / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    _git(snapshot, "init", "-q")
    _git(snapshot, "add", ".")
    _git(snapshot, "-c", "user.email=ci@example.com", "-c", "user.name=ci", "commit", "-qm", "snapshot")
    return snapshot


def test_hooks_via_try_repo(pre_commit: str, tmp_path: Path) -> None:
    hook_repo = _snapshot(tmp_path) if (REPO / ".git").exists() else REPO
    consumer = tmp_path / "consumer"
    consumer.mkdir()
    _git(consumer, "init", "-q")
    _git(consumer, "config", "user.email", "ci@example.com")
    _git(consumer, "config", "user.name", "ci")
    (consumer / "app.py").write_text(FLAGGED)
    (consumer / "ok.py").write_text("X = 1\n")
    _git(consumer, "add", ".")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")}

    def try_repo(hook: str, *files: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [pre_commit, "try-repo", str(hook_repo), hook, "--files", *files],
            cwd=consumer, env=env, capture_output=True, text=True, timeout=600,
        )

    clean = try_repo("scalelint", "ok.py")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    flagged = try_repo("scalelint", "app.py")
    assert flagged.returncode == 1, flagged.stdout + flagged.stderr
    assert "app.py:5:5: SL102" in flagged.stdout
    fixed = try_repo("scalelint-fix", "app.py")
    assert fixed.returncode == 1  # pre-commit fails a hook that modified files
    assert "with closing(sqlite3.connect(path)) as conn:" in (consumer / "app.py").read_text()


def test_the_readme_repo_local_snippet_runs(pre_commit: str, tmp_path: Path) -> None:
    """The README's `repo: local` configuration, as written, with the
    scalelint of this environment."""
    readme = (REPO / "README.md").read_text()
    block = next(b.split("```", 1)[0] for b in readme.split("```yaml\n")[1:] if "repo: local" in b)
    consumer = tmp_path / "consumer"
    consumer.mkdir()
    _git(consumer, "init", "-q")
    (consumer / ".pre-commit-config.yaml").write_text(block)
    (consumer / "app.py").write_text(FLAGGED)
    _git(consumer, "add", ".")
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "home"), "PATH": bin_dir + os.pathsep + os.environ["PATH"]}
    run = subprocess.run([pre_commit, "run", "--all-files"], cwd=consumer, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 1 and "app.py:5:5: SL102" in run.stdout, run.stdout + run.stderr
