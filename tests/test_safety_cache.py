"""A hostile checkout must not make scalelint delete, write or run anything
outside what the user asked for (issue 11, items 1, 2, 10 and part of 13)."""
from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest

from helpers import NO_PRINT_RULE
from click.testing import CliRunner

from scalelint import __version__
from scalelint.engine.cache import TAG_NAME, TAG_SIGNATURE
from scalelint.cli import main
from scalelint.lsp import DocumentLinter, trusts_local_rules

FLAGGED = textwrap.dedent('''\
    import sqlite3


    def names(path):
        conn = sqlite3.connect(path)
        rows = conn.execute("SELECT name FROM users").fetchall()
        conn.close()
        return rows
    ''')
VERSION_DIR = f"v{__version__}"


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


def tree_of(directory: Path) -> list[str]:
    """Every path below a directory (symlinks listed, never followed)."""
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*"))


@pytest.fixture
def victims(tmp_path: Path) -> Path:
    """The user's other projects, next to the cloned repository."""
    folder = tmp_path / "projects"
    for n in range(12):
        (folder / f"work{n:02}").mkdir(parents=True)
        (folder / f"work{n:02}" / "notes.txt").write_text("precious\n")
    return folder


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "clone"
    folder.mkdir()
    (folder / "pyproject.toml").write_text("[project]\nname = 'demo'\n")
    (folder / "app.py").write_text(FLAGGED)
    monkeypatch.chdir(folder)
    return folder


def _edit_and_check(repo: Path, runs: int = 3) -> None:
    """Several runs, each with a changed file (so each writes and prunes)."""
    for n in range(runs):
        (repo / f"m{n}.py").write_text(FLAGGED.replace("names", f"names{n}"))
        result = run("check", ".", "--output-format", "json")
        assert result.exit_code == 1, result.output
        assert {d["path"] for d in json.loads(result.stdout)} >= {"app.py", f"m{n}.py"}


# -- item 1: the cache never reaches outside through a symlink ------------------------
def test_a_committed_symlink_as_version_folder_deletes_nothing(repo: Path, victims: Path) -> None:
    """The reported attack: `.scalelint_cache/v0.1.0 -> ../..` made pruning
    rmtree the user's other projects. The repository can forge the marker
    too, so the protection must be that no symlink is ever followed."""
    cache = repo / ".scalelint_cache"
    cache.mkdir()
    (cache / TAG_NAME).write_text(TAG_SIGNATURE + "\n")  # forged: the checkout carries it
    (cache / VERSION_DIR).symlink_to(victims, target_is_directory=True)
    before = tree_of(victims)
    _edit_and_check(repo)
    assert tree_of(victims) == before, "nothing outside the cache is listed, written or removed"


def test_a_symlinked_cache_root_is_refused(repo: Path, victims: Path) -> None:
    (repo / ".scalelint_cache").symlink_to(victims, target_is_directory=True)
    before = tree_of(victims)
    result = run("check", ".")
    assert result.exit_code == 1 and "app.py:5:5: SL102" in result.stdout
    assert "is a symlink" in result.stderr and "running without the cache" in result.stderr
    assert tree_of(victims) == before


def test_symlinks_inside_our_own_cache_are_never_followed(repo: Path, victims: Path) -> None:
    """Even in a cache scalelint created, a bucket or an entry folder swapped
    for a symlink is neither written through nor removed through."""
    run("check", ".")
    version = repo / ".scalelint_cache" / VERSION_DIR
    bucket = next(p for p in version.iterdir() if p.is_dir())
    for folder in [p for p in bucket.iterdir() if p.is_dir()]:
        os.rename(folder, str(folder) + ".moved")
        folder.symlink_to(victims, target_is_directory=True)
    (version / "ffffffffffffffff").symlink_to(victims, target_is_directory=True)  # a "bucket" to prune
    before = tree_of(victims)
    _edit_and_check(repo)
    assert tree_of(victims) == before


def test_a_new_cache_is_marked_as_scalelints_own(repo: Path) -> None:
    run("check", ".")
    cache = repo / ".scalelint_cache"
    assert (cache / TAG_NAME).read_text().startswith(TAG_SIGNATURE)
    assert (cache / ".gitignore").read_text().strip().endswith("*")


def test_a_directory_scalelint_did_not_create_is_never_used(repo: Path) -> None:
    """`cache-dir = "src"` (or a typo naming the user's own folder): nothing is
    written into it, nothing in it is pruned, and the run still works."""
    (repo / "src").mkdir()
    for n in range(10):
        (repo / "src" / f"pkg{n}").mkdir()
    (repo / "pyproject.toml").write_text("[tool.scalelint]\ncache-dir = 'src'\n")
    before = tree_of(repo / "src")
    result = run("check", "app.py")
    assert result.exit_code == 1 and "SL102" in result.stdout
    assert "was not created by scalelint" in result.stderr
    assert tree_of(repo / "src") == before


@pytest.mark.parametrize("setting", ["../elsewhere", "ABSOLUTE"])
def test_a_project_cache_dir_outside_the_project_is_refused(repo: Path, setting: str) -> None:
    elsewhere = repo.parent / "elsewhere"
    value = str(elsewhere) if setting == "ABSOLUTE" else setting
    (repo / "pyproject.toml").write_text(f"[tool.scalelint]\ncache-dir = {value!r}\n")
    result = run("check", ".")
    assert result.exit_code == 1 and "SL102" in result.stdout
    notice = [line for line in result.stderr.splitlines() if "cache-dir" in line]
    assert len(notice) == 1 and "pyproject.toml" in notice[0] and "outside the project" in notice[0]
    assert not elsewhere.exists()
    assert (repo / ".scalelint_cache" / TAG_NAME).is_file(), "the default cache is used instead"


def test_a_project_cache_dir_through_a_symlink_is_outside(repo: Path, victims: Path) -> None:
    (repo / "link").symlink_to(victims, target_is_directory=True)
    (repo / "pyproject.toml").write_text("[tool.scalelint]\ncache-dir = 'link/cache'\n")
    before = tree_of(victims)
    assert "outside the project" in run("check", ".").stderr
    assert tree_of(victims) == before


def test_the_user_may_put_the_cache_anywhere(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--cache-dir, $SCALELINT_CACHE_DIR and the user's own config are the
    user's choice, followed as given."""
    from_flag, from_env, from_user = (repo.parent / name for name in ("flag-cache", "env-cache", "user-cache"))
    assert run("check", ".", "--cache-dir", str(from_flag)).exit_code == 1
    assert (from_flag / TAG_NAME).is_file()
    monkeypatch.setenv("SCALELINT_CACHE_DIR", str(from_env))
    assert run("check", ".").exit_code == 1
    assert (from_env / TAG_NAME).is_file()
    monkeypatch.delenv("SCALELINT_CACHE_DIR")
    user_config = Path(os.environ["XDG_CONFIG_HOME"]) / "scalelint" / "config.toml"
    user_config.parent.mkdir(parents=True)
    user_config.write_text(f"cache-dir = {str(from_user)!r}\n")
    result = run("check", ".")
    assert result.exit_code == 1 and "notice" not in result.stderr
    assert (from_user / TAG_NAME).is_file()
    assert not (repo / ".scalelint_cache").exists()


def test_a_mistake_in_the_user_config_names_the_file_and_key(repo: Path) -> None:
    user_config = Path(os.environ["XDG_CONFIG_HOME"]) / "scalelint" / "config.toml"
    user_config.parent.mkdir(parents=True)
    user_config.write_text("cache-dirr = 'x'\n")
    result = run("check", ".")
    assert result.exit_code == 2
    assert f"{user_config}: unknown key 'cache-dirr'" in result.stderr


def test_without_a_project_root_the_cache_is_per_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A one-file run of a file no project holds writes nothing next to it."""
    lone = tmp_path / "lone"
    lone.mkdir()
    (lone / "x.py").write_text(FLAGGED)
    monkeypatch.chdir(lone)
    assert run("check", "x.py").exit_code == 1
    assert tree_of(lone) == ["x.py"]
    user_cache = Path(os.environ["XDG_CACHE_HOME"]) / "scalelint"
    assert [p.parent.name for p in user_cache.rglob(TAG_NAME)] and all(
        p.is_relative_to(user_cache) for p in user_cache.rglob(TAG_NAME)
    )


def test_language_server_buffer_outside_any_project_writes_nothing_next_to_it(tmp_path: Path) -> None:
    """didOpen of file:///etc/x.py must not create /etc/.scalelint_cache."""
    etc = tmp_path / "etc"
    etc.mkdir()
    findings = DocumentLinter().lint(str(etc / "x.py"), FLAGGED)
    assert [f.code for f in findings] == ["SL102"]
    assert tree_of(etc) == []
    assert list((Path(os.environ["XDG_CACHE_HOME"]) / "scalelint").rglob(TAG_NAME))


# -- item 10: a malformed cache file is a miss, and is repaired ------------------------
def _wrong_shapes(text: str) -> list[str]:
    """Valid JSON of the wrong shape: other top-level types, and each field of
    an object (or each item of an array) swapped for another type."""
    shapes = ["{}", "[]", "null", "7", '"x"']
    data = json.loads(text)
    if isinstance(data, dict):
        for key, value in data.items():
            shapes.append(json.dumps({**data, key: {"x": 1} if isinstance(value, list) else ["x", 1]}))
            if isinstance(value, list) and value:  # one level down: the items
                shapes.append(json.dumps({**data, key: [7, {"x": []}, None]}))
            if isinstance(value, dict) and value:
                shapes.append(json.dumps({**data, key: {k: 7 for k in value}}))
    elif isinstance(data, list):
        shapes.append(json.dumps([7, {"x": 1}, None]))
    return shapes


def test_wrong_shape_cache_files_are_misses_that_get_repaired(repo: Path) -> None:
    (repo / "clean.py").write_text("def add(a, b):\n    return a + b\n")
    (repo / "noqa.py").write_text(FLAGGED.replace("conn = sqlite3.connect(path)", "conn = sqlite3.connect(path)  # noqa: SL102"))
    expected = run("check", ".", "--output-format", "json")
    assert expected.exit_code == 1
    cache = repo / ".scalelint_cache"
    files = sorted(p for p in cache.rglob("*.json"))
    names = {p.name for p in files}
    assert {"stat-index.json", "empty.json"} <= names and any(n.startswith("rules-") for n in names)
    assert len(files) >= 5
    for path in files:
        good = path.read_text()
        for junk in _wrong_shapes(good):
            path.write_text(junk)
            if len(path.parent.name) == 2:  # a per-file entry: read when the results table lacks its row
                (path.parent.parent / "results.marshal").unlink(missing_ok=True)
            result = run("check", ".", "--output-format", "json")
            where = f"{path.relative_to(cache)} = {junk[:80]}"
            assert result.exit_code == 1, f"{where}: {result.output}"
            assert result.stdout == expected.stdout, where
            if path.exists():
                assert path.read_text() != junk, f"{where}: not repaired"
            path.write_text(good)


# -- item 2 (and 13): a project's local rules run only when the user trusts them -------
LOCAL_RULE = 'import pathlib\n\npathlib.Path(__file__).with_name("IMPORTED").write_text("ran")\n' + NO_PRINT_RULE


@pytest.fixture
def with_local_rules(repo: Path) -> Path:
    (repo / "lint").mkdir()
    (repo / "lint" / "house.py").write_text(LOCAL_RULE)
    (repo / "pyproject.toml").write_text(
        "[tool.scalelint]\nlocal-rules = ['lint/house.py']\nextend-select = ['HX001']\n"
        "extend-exclude = ['lint']\nper-file-ignores = { 'tests/*' = ['HX001'] }\n"
    )
    (repo / "app.py").write_text("print('hi')\n")
    return repo


def test_local_rules_are_not_run_unless_trusted(with_local_rules: Path) -> None:
    result = run("check", ".", "--output-format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == []
    assert not (with_local_rules / "lint" / "IMPORTED").exists(), "the project's code never ran"
    notices = [line for line in result.stderr.splitlines() if "local-rules" in line]
    assert len(notices) == 1
    assert "pyproject.toml" in notices[0] and "--trust-local-rules" in notices[0] and "SCALELINT_TRUST_LOCAL_RULES" in notices[0]


@pytest.mark.parametrize("how", ["flag", "env", "user-config"])
def test_trusted_local_rules_run(with_local_rules: Path, how: str, monkeypatch: pytest.MonkeyPatch) -> None:
    args = ["check", ".", "--output-format", "json", "--no-cache"]
    if how == "flag":
        args.append("--trust-local-rules")
    elif how == "env":
        monkeypatch.setenv("SCALELINT_TRUST_LOCAL_RULES", "1")
    else:
        user_config = Path(os.environ["XDG_CONFIG_HOME"]) / "scalelint" / "config.toml"
        user_config.parent.mkdir(parents=True)
        user_config.write_text(f"trusted-projects = [{str(with_local_rules)!r}]\n")
    result = run(*args)
    assert [d["code"] for d in json.loads(result.stdout)] == ["HX001"], result.output
    assert "local-rules" not in result.stderr


def test_another_projects_trust_does_not_count(with_local_rules: Path) -> None:
    user_config = Path(os.environ["XDG_CONFIG_HOME"]) / "scalelint" / "config.toml"
    user_config.parent.mkdir(parents=True)
    user_config.write_text(f"trusted-projects = [{str(with_local_rules.parent / 'other')!r}]\n")
    assert run("check", ".", "--no-cache").exit_code == 0
    assert not (with_local_rules / "lint" / "IMPORTED").exists()


def test_local_rules_outside_the_project_are_an_error_even_when_trusted(repo: Path) -> None:
    (repo.parent / "evil.py").write_text(LOCAL_RULE)
    (repo / "pyproject.toml").write_text("[tool.scalelint]\nlocal-rules = ['../evil.py']\n")
    result = run("check", ".", "--trust-local-rules")
    assert result.exit_code == 2
    assert "pyproject.toml" in result.stderr and "'local-rules'" in result.stderr and "outside the project" in result.stderr
    assert not (repo.parent / "IMPORTED").exists()


def test_rules_and_explain_follow_the_same_trust(with_local_rules: Path) -> None:
    listing = run("rules")
    assert listing.exit_code == 0 and "HX001" not in listing.stdout and "--trust-local-rules" in listing.stderr
    assert run("explain", "HX001").exit_code == 2
    assert not (with_local_rules / "lint" / "IMPORTED").exists()
    assert "HX001" in run("rules", "--trust-local-rules").stdout
    assert "Flags print()" in run("explain", "HX001", "--trust-local-rules").stdout


def test_language_server_runs_local_rules_only_when_the_client_enables_them(
    with_local_rules: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCALELINT_TRUST_LOCAL_RULES", "1")  # the shell's setting does not reach the editor's server
    path = str(with_local_rules / "app.py")
    untrusted = DocumentLinter(trust_local_rules=trusts_local_rules(None))
    assert untrusted.lint(path, "print('hi')\n") == []
    assert not (with_local_rules / "lint" / "IMPORTED").exists()
    assert len(untrusted.notices) == 1 and "initializationOptions" in untrusted.notices[0]
    trusted = DocumentLinter(trust_local_rules=trusts_local_rules({"trustLocalRules": True}))
    assert [f.code for f in trusted.lint(path, "print('hi')\n")] == ["HX001"]
    assert not trusts_local_rules({"trustLocalRules": "yes"})


@pytest.mark.parametrize("code", ["sys.exit(0)", "raise SystemExit", "sys.exit('bye')"])
def test_a_local_rules_file_that_exits_is_an_error_not_a_green_run(repo: Path, code: str) -> None:
    (repo / "lint.py").write_text(f"import sys\n{code}\n")
    (repo / "pyproject.toml").write_text("[tool.scalelint]\nlocal-rules = ['lint.py']\n")
    result = run("check", "app.py", "--no-cache", "--trust-local-rules")
    assert result.exit_code == 2
    assert "lint.py failed to import: SystemExit" in result.stderr
