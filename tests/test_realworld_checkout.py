"""The real-code bench's checkout writer: pinned paths from a (possibly partial) mirror."""
from __future__ import annotations

import importlib.util
import shutil
import subprocess
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench" / "realworld"

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


@pytest.fixture(scope="module")
def checkout():
    spec = importlib.util.spec_from_file_location("realworld_checkout", BENCH / "checkout.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture()
def mirror(tmp_path: Path) -> tuple[Path, str]:
    repo = tmp_path / "src"
    (repo / "server" / "app").mkdir(parents=True)
    (repo / "server" / "app" / "views.py").write_text("def view():\n    return 1\n")
    (repo / "server" / "app" / "big.bin").write_text("payload that the mirror lost\n")
    (repo / "docs").mkdir()
    (repo / "docs" / "index.md").write_text("# docs\n")
    git(repo, "init", "-q")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "add", ".")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "c")
    commit = git(repo, "rev-parse", "HEAD")
    lost = git(repo, "rev-parse", "HEAD:server/app/big.bin")
    (repo / ".git" / "objects" / lost[:2] / lost[2:]).unlink()
    return repo / ".git", commit


def test_writes_only_the_checked_paths_inside_the_subdir(checkout, mirror, tmp_path: Path) -> None:
    git_dir, commit = mirror
    app = checkout.App(name="shop", repo="o/shop", commit=commit, framework="django", paths=("app",))
    destination = tmp_path / "corpora" / "shop"
    missing = checkout.write_checkout(app, "server", git_dir, destination)
    assert (destination / "app" / "views.py").read_text() == "def view():\n    return 1\n"
    assert not (destination / "docs").exists()
    assert missing == ["server/app/big.bin"]
    assert not (destination / "app" / "big.bin").exists()


def test_a_rewrite_replaces_what_was_there(checkout, mirror, tmp_path: Path) -> None:
    git_dir, commit = mirror
    app = checkout.App(name="shop", repo="o/shop", commit=commit, framework="django", paths=("server",))
    destination = tmp_path / "shop"
    (destination / "stale").mkdir(parents=True)
    checkout.write_checkout(app, None, git_dir, destination)
    assert not (destination / "stale").exists()
    assert (destination / "server" / "app" / "views.py").is_file()


def test_mirrors_are_found_in_the_fetch_layout(checkout, tmp_path: Path) -> None:
    fetched = tmp_path / "owner+shop" / "repo"
    fetched.mkdir(parents=True)
    (fetched / "HEAD").write_text("ref: refs/heads/main\n")
    assert checkout.find_git_dir(tmp_path, "owner/shop") == fetched
    assert checkout.find_git_dir(tmp_path, "owner/other") is None
    (tmp_path / "other" / ".git").mkdir(parents=True)
    (tmp_path / "other" / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    assert checkout.find_git_dir(tmp_path, "owner/other") == tmp_path / "other" / ".git"


def test_holdout_apps_are_checked_out_like_the_others(checkout, tmp_path: Path, capsys) -> None:
    held = [app for app in checkout.load_manifest(BENCH / "manifest.toml") if app.holdout]
    assert held, "the manifest has no holdout app"
    code = checkout.main(["--mirrors", str(tmp_path / "mirrors"), "--corpora", str(tmp_path / "corpora"),
                          "--app", held[0].name])
    assert code == 1
    assert f"{held[0].name}: no mirror of {held[0].repo}" in capsys.readouterr().err
