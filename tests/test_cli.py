"""The command-line contract of design.md: commands, options, formats, exit codes."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from helpers import NO_PRINT_RULE
from scalelint import __version__
from scalelint.cli import main

FLAGGED = textwrap.dedent('''\
    import sqlite3


    def names(path):
        conn = sqlite3.connect(path)
        rows = conn.execute("SELECT name FROM users").fetchall()
        conn.close()
        return rows
    ''')
UNFIXABLE = textwrap.dedent('''\
    import sqlite3


    def early(path):
        conn = sqlite3.connect(path)
        row = conn.execute("SELECT 1").fetchone()
        if row is None:
            return None
        conn.close()
        return row
    ''')
CLEAN = "def add(a, b):\n    return a + b\n"
JSON_KEYS = {"code", "name", "message", "path", "line", "column", "end_line", "end_column", "fix", "related", "confidence"}


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


def test_version() -> None:
    result = run("--version")
    assert result.exit_code == 0 and __version__ in result.output


def test_flagged_file_exits_1_with_caret_and_summary(project: Path) -> None:
    (project / "app.py").write_text(FLAGGED)
    result = run("check", "app.py", "--no-cache")
    assert result.exit_code == 1
    out = result.output
    assert "app.py:5:5: SL102 " in out
    assert "   5 |     conn = sqlite3.connect(path)" in out
    assert "^^^^" in out
    assert "fix available" in out
    assert "Found 1 finding in 1 file checked (SL102 x1)." in out
    assert "\x1b[" not in out  # no colour when not a terminal


def test_default_command_is_check(project: Path) -> None:
    (project / "app.py").write_text(FLAGGED)
    assert run("app.py", "--no-cache").exit_code == 1
    assert run("--no-cache").exit_code == 1  # no path: the current directory


def test_clean_exit_0_and_exit_zero(project: Path) -> None:
    (project / "ok.py").write_text(CLEAN)
    result = run("check", ".", "--no-cache")
    assert result.exit_code == 0 and "All clear" in result.output
    (project / "app.py").write_text(FLAGGED)
    assert run("check", ".", "--no-cache", "--exit-zero").exit_code == 0


def test_json_contract(project: Path) -> None:
    (project / "src").mkdir()
    (project / "src" / "app.py").write_text(FLAGGED)
    result = run("check", "src", "--no-cache", "--output-format", "json")
    data = json.loads(result.output)
    assert result.exit_code == 1
    assert len(data) == 1 and set(data[0]) == JSON_KEYS
    item = data[0]
    assert item["path"] == "src/app.py"
    assert (item["code"], item["name"]) == ("SL102", "unscoped-connection")
    assert (item["line"], item["column"], item["end_line"], item["end_column"]) == (5, 5, 5, 33)
    assert item["fix"] == {"applicability": "safe", "message": "scope it in a `with` block"}


def test_json_path_as_given_absolute(project: Path) -> None:
    (project / "app.py").write_text(FLAGGED)
    data = json.loads(run("check", str(project / "app.py"), "--no-cache", "--output-format", "json").output)
    assert data[0]["path"] == str(project / "app.py")


def test_sarif(project: Path) -> None:
    (project / "app.py").write_text(FLAGGED)
    sarif = json.loads(run("check", ".", "--no-cache", "--output-format", "sarif").output)
    assert sarif["version"] == "2.1.0"
    sarif_run = sarif["runs"][0]
    rules = {r["id"]: r for r in sarif_run["tool"]["driver"]["rules"]}
    assert rules["SL102"]["helpUri"].startswith("https://")
    assert rules["SL102"]["help"]["text"].startswith("## What it does")
    result = sarif_run["results"][0]
    assert result["ruleId"] == "SL102" and sarif_run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == "SL102"
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "app.py"
    assert location["region"]["startLine"] == 5


def test_github_annotations(project: Path) -> None:
    (project / "app.py").write_text(FLAGGED)
    out = run("check", ".", "--no-cache", "--output-format", "github").output
    assert out.startswith("::error file=app.py,line=5,col=5,endLine=5,endColumn=33,title=SL102 unscoped-connection::SL102 ")


def test_junit(project: Path) -> None:
    (project / "app.py").write_text(FLAGGED)
    root = ET.fromstring(run("check", ".", "--no-cache", "--output-format", "junit").output)
    assert root.tag == "testsuites" and root.get("failures") == "1"
    failure = root.find(".//failure")
    assert failure is not None and failure.get("type") == "SL102"


def test_statistics(project: Path) -> None:
    (project / "app.py").write_text(FLAGGED)
    out = run("check", ".", "--no-cache", "--statistics").output
    assert "    1  SL102  unscoped-connection [*]" in out


def test_quiet_prints_only_findings(project: Path) -> None:
    (project / "app.py").write_text(FLAGGED)
    out = run("check", ".", "--no-cache", "-q").output
    assert "SL102" in out and "Found" not in out
    (project / "app.py").write_text(CLEAN)
    assert run("check", ".", "--no-cache", "-q").output == ""


def test_fix_writes_file_and_exit_codes(project: Path) -> None:
    (project / "app.py").write_text(FLAGGED)
    result = run("check", "app.py", "--no-cache", "--fix")
    assert result.exit_code == 0, result.output
    fixed = (project / "app.py").read_text()
    assert "with closing(sqlite3.connect(path)) as conn:" in fixed
    assert "Fixed 1 finding." in result.output
    (project / "bad.py").write_text(UNFIXABLE)
    assert run("check", "bad.py", "--no-cache", "--fix").exit_code == 1  # findings remain


def test_stdin_runs_use_the_project_cache(project: Path) -> None:
    """Editor on save checks a buffer many times a minute: the rest of the
    project's facts come from the cache, and the buffer's result goes in it."""
    (project / "app.py").write_text(FLAGGED)
    run("check", ".")
    entries = lambda: sorted(p.name for p in (project / ".scalelint_cache").glob("*/*/*/*.json"))  # noqa: E731
    before = entries()
    edited = FLAGGED.replace("conn.close()", "conn.close()  # edited, not saved")
    result = run("check", "--stdin-filename", "app.py", "-", input=edited)
    assert result.exit_code == 1 and "app.py:5:5: SL102" in result.output
    after = entries()
    assert before and len(after) == len(before) + 1, "the buffer's result is cached in the project's bucket"
    assert run("check", "--stdin-filename", "app.py", "-", input=edited).output == result.output
    assert entries() == after


def test_diff_writes_nothing(project: Path) -> None:
    (project / "app.py").write_text(FLAGGED)
    result = run("check", "app.py", "--no-cache", "--diff")
    assert result.exit_code == 1
    assert "+    with closing(sqlite3.connect(path)) as conn:" in result.output
    assert (project / "app.py").read_text() == FLAGGED


def test_stdin_lint_and_fix(project: Path) -> None:
    result = run("check", "--stdin-filename", "pkg/app.py", "-", input=FLAGGED)
    assert result.exit_code == 1 and "pkg/app.py:5:5: SL102" in result.output
    proc = subprocess.run(
        [sys.executable, "-m", "scalelint", "check", "--fix", "--stdin-filename", "app.py", "-"],
        input=FLAGGED, capture_output=True, text=True, cwd=project,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("import sqlite3\nfrom contextlib import closing\n")  # where isort puts it
    assert "with closing(sqlite3.connect(path)) as conn:" in proc.stdout
    unchanged = subprocess.run(
        [sys.executable, "-m", "scalelint", "check", "--fix", "--stdin-filename", "app.py", "-"],
        input=UNFIXABLE, capture_output=True, text=True, cwd=project,
    )
    assert unchanged.returncode == 1 and unchanged.stdout == UNFIXABLE
    assert "SL102" in unchanged.stderr


def test_unknown_selector_is_an_error(project: Path) -> None:
    (project / "app.py").write_text(FLAGGED)
    result = run("check", ".", "--select", "SL999")
    assert result.exit_code == 2
    assert "unknown rule selector 'SL999'" in result.output


def test_select_by_prefix_name_and_ignore(project: Path) -> None:
    (project / "app.py").write_text(FLAGGED)
    assert run("check", ".", "--no-cache", "--select", "SL1").exit_code == 1
    assert run("check", ".", "--no-cache", "--select", "unscoped-connection").exit_code == 1
    assert run("check", ".", "--no-cache", "--ignore", "SL102").exit_code == 0
    assert run("check", ".", "--no-cache", "--select", "SL001", "--extend-select", "SL102").exit_code == 1


def test_missing_path_exits_2(project: Path) -> None:
    result = run("check", "nope.py")
    assert result.exit_code == 2 and "nope.py: no such file or directory" in result.output


def test_bad_option_exits_2(project: Path) -> None:
    assert run("check", "--output-format", "xml").exit_code == 2
    assert run("check", "--frobnicate").exit_code == 2


def test_config_errors_name_key_and_file(project: Path) -> None:
    (project / "pyproject.toml").write_text("[tool.scalelint]\nselct = ['SL1']\n")
    result = run("check", ".")
    assert result.exit_code == 2
    assert "pyproject.toml: unknown key 'selct' in [tool.scalelint] (did you mean 'select'?)" in result.output
    (project / "pyproject.toml").write_text("[tool.scalelint]\nselect = 'SL1'\n")
    result = run("check", ".")
    assert result.exit_code == 2 and "key 'select' must be a list of strings" in result.output
    (project / "pyproject.toml").write_text("[tool.scalelint]\nselect = ['SL9']\n")
    result = run("check", ".")
    assert result.exit_code == 2 and "unknown rule selector 'SL9'" in result.output and "pyproject.toml" in result.output
    (project / "pyproject.toml").write_text("[tool.scalelint\n")
    result = run("check", ".")
    assert result.exit_code == 2 and "invalid TOML" in result.output


def test_config_found_upward_and_explicit(project: Path) -> None:
    (project / "pyproject.toml").write_text("[tool.scalelint]\nignore = ['SL102']\n")
    (project / "pkg").mkdir()
    (project / "pkg" / "app.py").write_text(FLAGGED)
    assert run("check", "pkg", "--no-cache").exit_code == 0
    other = project / "strict.toml"
    other.write_text("select = ['SL102']\n")
    assert run("check", "pkg", "--no-cache", "--config", str(other)).exit_code == 1
    assert run("check", "pkg", "--config", "missing.toml").exit_code == 2


def test_per_file_ignores_and_excludes(project: Path) -> None:
    (project / "pyproject.toml").write_text(
        "[tool.scalelint]\nper-file-ignores = { 'scripts/*.py' = ['SL102'] }\nextend-exclude = ['legacy']\n"
    )
    for folder in ("scripts", "legacy", "app"):
        (project / folder).mkdir()
        (project / folder / "m.py").write_text(FLAGGED)
    data = json.loads(run("check", ".", "--no-cache", "--output-format", "json").output)
    assert [d["path"] for d in data] == ["app/m.py"]


def test_gitignore_is_honoured(project: Path) -> None:
    (project / ".gitignore").write_text("generated/\n*_pb2.py\n")
    (project / "generated").mkdir()
    (project / "generated" / "m.py").write_text(FLAGGED)
    (project / "api_pb2.py").write_text(FLAGGED)
    (project / "real.py").write_text(FLAGGED)
    data = json.loads(run("check", ".", "--no-cache", "--output-format", "json").output)
    assert [d["path"] for d in data] == ["real.py"]


def test_bad_inputs_are_reported_and_the_rest_is_checked(project: Path) -> None:
    (project / "broken.py").write_text("def f(:\n    pass\n")
    (project / "binary.py").write_bytes(b"\x00\x01\x02\x89PNG")
    (project / "latin.py").write_bytes("# -*- coding: latin-1 -*-\nNAME = 'caf\xe9'\n".encode("latin-1"))
    (project / "wrong.py").write_bytes(b"x = '\xff\xfe'\n")
    (project / "empty.py").write_text("")
    (project / "app.py").write_text(FLAGGED)
    (project / "notes.txt").write_text("conn = sqlite3.connect(x)")
    result = run_proc("check", ".", "--no-cache", "--output-format", "json", cwd=project)
    assert result.returncode == 1
    stderr = result.stderr
    assert "Traceback" not in stderr
    assert "scalelint: error: broken.py: syntax error at line 1" in stderr
    assert "scalelint: error: binary.py: looks like a binary file" in stderr
    assert "scalelint: error: wrong.py: cannot decode as utf-8 at line 1" in stderr
    assert "latin.py" not in stderr and "empty.py" not in stderr
    data = json.loads(result.stdout)
    assert [d["path"] for d in data] == ["app.py"]


def run_proc(*args: str, cwd: Path, input: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scalelint", *args], input=input, capture_output=True, text=True, cwd=cwd)


def test_new_syntax_is_accepted(project: Path) -> None:
    (project / "modern.py").write_text(textwrap.dedent('''\
        type Pair[T] = tuple[T, T]

        def first[T](p: Pair[T]) -> T:
            match p:
                case (a, _):
                    return a
        '''))
    result = run("check", ".", "--no-cache")
    assert result.exit_code == 0, result.output


def test_generated_files_are_skipped_unless_asked(project: Path) -> None:
    (project / "gen.py").write_text("# @" "generated by protoc\n" + FLAGGED)
    assert run("check", ".", "--no-cache").exit_code == 0
    assert run("check", ".", "--no-cache", "--include-generated").exit_code == 1


def test_suppressions(project: Path) -> None:
    suppressed = FLAGGED.replace("sqlite3.connect(path)", "sqlite3.connect(path)  # scalelint: ignore[SL102]")
    (project / "a.py").write_text(suppressed)
    (project / "b.py").write_text(FLAGGED.replace("sqlite3.connect(path)", "sqlite3.connect(path)  # noqa: SL102"))
    assert run("check", ".", "--no-cache").exit_code == 0
    (project / "c.py").write_text(FLAGGED.replace("sqlite3.connect(path)", "sqlite3.connect(path)  # scalelint: ignore"))
    (project / "d.py").write_text("X = 1  # noqa: SL102\nY = 2  # scalelint: ignore[SL777]\nZ = 3  # noqa: E501\n")
    data = json.loads(run("check", ".", "--no-cache", "--output-format", "json").output)
    found = sorted((d["path"], d["line"], d["code"]) for d in data)
    assert found == [("c.py", 5, "SL001"), ("d.py", 1, "SL002"), ("d.py", 2, "SL002")]
    # the suppressed finding is not fixed either
    run("check", "a.py", "--no-cache", "--fix")
    assert (project / "a.py").read_text() == suppressed


def test_suppression_on_first_line_of_multiline_statement(project: Path) -> None:
    source = FLAGGED.replace("conn = sqlite3.connect(path)", "conn = sqlite3.connect(  # noqa: SL102\n        path,\n    )")
    (project / "a.py").write_text(source)
    assert run("check", ".", "--no-cache").exit_code == 0


def test_baseline(project: Path) -> None:
    (project / "app.py").write_text(FLAGGED)
    baseline = project / "scalelint-baseline.json"
    assert run("check", ".", "--no-cache", "--baseline", str(baseline), "--write-baseline").exit_code == 0
    assert run("check", ".", "--no-cache", "--baseline", str(baseline)).exit_code == 0
    (project / "app.py").write_text("\n\n" + FLAGGED)  # moved lines keep the baseline valid
    assert run("check", ".", "--no-cache", "--baseline", str(baseline)).exit_code == 0
    (project / "new.py").write_text(FLAGGED)
    assert run("check", ".", "--no-cache", "--baseline", str(baseline)).exit_code == 1
    assert run("check", ".", "--baseline", "missing.json").exit_code == 2


def test_add_noqa(project: Path) -> None:
    (project / "app.py").write_text(FLAGGED)
    assert run("check", ".", "--no-cache", "--add-noqa").exit_code == 0
    assert "conn = sqlite3.connect(path)  # noqa: SL102" in (project / "app.py").read_text()
    assert run("check", ".", "--no-cache").exit_code == 0


def test_rules_and_explain() -> None:
    listing = run("rules").output
    assert "SL102" in listing and "unscoped-connection" in listing
    data = json.loads(run("rules", "--output-format", "json").output)
    assert {"code", "name", "summary", "fix", "origin"} <= set(data[0])
    doc = run("explain", "SL102").output
    for section in ("## What it does", "## Why it matters at scale", "## Example", "## Use instead", "## Fix safety", "## Configuration"):
        assert section in doc
    assert run("explain", "unscoped-connection").exit_code == 0
    bad = run("explain", "SL999")
    assert bad.exit_code == 2 and "unknown rule" in bad.output


def test_local_rules(project: Path) -> None:
    (project / "lint").mkdir()
    (project / "lint" / "house.py").write_text(NO_PRINT_RULE)
    (project / "pyproject.toml").write_text("[tool.scalelint]\nlocal-rules = ['lint/house.py']\n")
    (project / "app.py").write_text("print('hi')\n")
    result = run("check", "app.py", "--no-cache", "--output-format", "json", "--trust-local-rules")
    assert [d["code"] for d in json.loads(result.output)] == ["HX001"]
    (project / "lint" / "house.py").write_text("raise ImportError('boom')\n")
    broken = run("check", "app.py", "--no-cache", "--trust-local-rules")
    assert broken.exit_code == 2 and "failed to import" in broken.output


def test_parallel_and_serial_runs_agree(project: Path) -> None:
    for i in range(30):
        (project / f"m{i:02}.py").write_text(FLAGGED if i % 3 else CLEAN)
    serial = run("check", ".", "--no-cache", "--jobs", "1", "--output-format", "json").output
    parallel = run("check", ".", "--no-cache", "--jobs", "2", "--output-format", "json").output
    assert serial == parallel
    assert len(json.loads(serial)) == 20


def test_cache_is_used_and_invalidated(project: Path) -> None:
    (project / "app.py").write_text(FLAGGED)
    first = run("check", ".", "--output-format", "json").output
    cache = project / ".scalelint_cache"
    assert (cache / ".gitignore").read_text().strip().endswith("*")
    assert run("check", ".", "--output-format", "json").output == first
    (project / "app.py").write_text(CLEAN)
    assert run("check", ".").exit_code == 0


def test_python_dash_m_and_no_traceback_on_internal_errors(project: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "scalelint", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.strip() == f"scalelint {__version__}"


def test_a_crashing_rule_is_an_internal_error_not_a_green_run(project: Path) -> None:
    (project / "lint.py").write_text(textwrap.dedent('''\
        from scalelint.rule import Rule


        class Crashes(Rule):
            """
            ## What it does
            Crashes on purpose.
            """

            code = "HX900"
            name = "crashes"
            summary = "always raises"

            def check_module(self, module):
                raise KeyError("boom")
        '''))
    (project / "pyproject.toml").write_text("[tool.scalelint]\nlocal-rules = ['lint.py']\n")
    (project / "a.py").write_text(FLAGGED)
    result = run_proc("check", "a.py", "--no-cache", "--trust-local-rules", cwd=project)
    assert result.returncode == 2
    assert "a.py: internal error in HX900 (KeyError: 'boom')" in result.stderr
    assert "SL102" not in result.stdout  # the file could not be checked completely
    assert "Traceback" not in result.stderr


def test_startup_imports_only_what_the_command_needs(project: Path) -> None:
    (project / "a.py").write_text(FLAGGED)
    driver = (
        "import atexit, sys\n"
        "atexit.register(lambda: sys.stderr.write('\\n'.join(sorted(sys.modules))))\n"
        "from scalelint.cli import main\n"
        "main()\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", driver, "check", "a.py", "--no-cache"], capture_output=True, text=True, cwd=project
    )
    assert proc.returncode == 1, proc.stderr
    imported = set(proc.stderr.split())
    assert "scalelint.report.formats.text_format" in imported
    for heavy in ("scalelint.lsp", "pygls", "click.shell_completion", "scalelint.report.formats.sarif_format",
                  "concurrent.futures.process", "scalelint.report.baseline", "difflib"):
        assert heavy not in imported, heavy


def _modules_after(args: list[str], cwd: Path) -> tuple[subprocess.CompletedProcess, set[str]]:
    driver = (
        "import atexit, sys\n"
        "atexit.register(lambda: sys.stderr.write('\\nMODULES ' + ' '.join(sorted(sys.modules))))\n"
        "from scalelint.cli import main\n"
        "main()\n"
    )
    proc = subprocess.run([sys.executable, "-c", driver, *args], capture_output=True, text=True, cwd=cwd)
    modules = set(proc.stderr.rsplit("MODULES ", 1)[-1].split())
    return proc, modules


def test_warm_run_answers_from_cache_without_importing_libcst(project: Path) -> None:
    (project / "app.py").write_text(FLAGGED)
    (project / "other.py").write_text(CLEAN)
    cold, cold_modules = _modules_after(["check", ".", "--output-format", "sarif"], project)
    warm, warm_modules = _modules_after(["check", ".", "--output-format", "sarif"], project)
    assert "libcst" in cold_modules
    assert "libcst" not in warm_modules and "scalelint.rules" not in warm_modules
    assert warm.returncode == cold.returncode == 1
    assert warm.stdout == cold.stdout
    (project / "other.py").write_text(FLAGGED + "\nEDITED = True\n")  # new content is checked again
    edited, edited_modules = _modules_after(["check", ".", "--output-format", "json"], project)
    assert "libcst" in edited_modules
    assert sorted(d["path"] for d in json.loads(edited.stdout)) == ["app.py", "other.py"]


def test_a_one_file_run_imports_only_the_rule_families_its_text_can_match(project: Path) -> None:
    (project / "app.py").write_text(FLAGGED)
    (project / "orders.py").write_text("def total(order):\n    return order.created + 1\n")  # replica words only
    _modules_after(["check", "."], project)  # keeps the rule metadata in the cache
    (project / "orders.py").write_text("def total(order):\n    return order.created + 2\n")
    proc, modules = _modules_after(["check", "orders.py"], project)
    assert proc.returncode == 0, proc.stderr
    assert "scalelint.rules.replicas" in modules
    for unneeded in ("scalelint.rules.caches", "scalelint.rules.connections", "scalelint.model.caches.caching",
                     "importlib.metadata"):
        assert unneeded not in modules, unneeded


def test_the_command_exits_with_the_run_status_and_flushed_output(project: Path) -> None:
    (project / "app.py").write_text(FLAGGED)
    found = run_proc("check", "app.py", "--no-cache", "--output-format", "json", cwd=project)
    assert found.returncode == 1 and json.loads(found.stdout)[0]["code"] == "SL102"
    assert run_proc("check", "app.py", "--no-cache", "--exit-zero", "-q", cwd=project).returncode == 0
    missing = run_proc("check", "nowhere.py", cwd=project)
    assert missing.returncode == 2 and "nowhere.py: no such file or directory" in missing.stderr


@pytest.fixture
def baselined(project: Path) -> Path:
    """A project whose config names its baseline file, with one flagged file in a package."""
    (project / "pyproject.toml").write_text("[project]\nname = 'demo'\n[tool.scalelint]\nbaseline = 'base.json'\n")
    (project / "pkg").mkdir()
    (project / "pkg" / "app.py").write_text(FLAGGED)
    return project


def test_write_baseline_writes_the_configured_file_keyed_from_the_project_root(baselined: Path) -> None:
    assert run("check", ".", "--no-cache", "--write-baseline").exit_code == 0
    data = json.loads((baselined / "base.json").read_text())
    assert data["version"] == 2 and [k.split("::")[0] for k in data["findings"]] == ["pkg/app.py"]


@pytest.mark.parametrize("spelling", ["absolute", "dot-slash", "subdirectory", "parent"])
def test_baseline_matches_however_the_path_is_typed(baselined: Path, monkeypatch: pytest.MonkeyPatch, spelling: str) -> None:
    assert run("check", ".", "--no-cache", "--write-baseline").exit_code == 0
    if spelling == "absolute":
        args = [str(baselined / "pkg" / "app.py")]
    elif spelling == "dot-slash":
        args = ["./pkg/app.py"]
    elif spelling == "subdirectory":
        monkeypatch.chdir(baselined / "pkg")
        args = ["app.py"]
    else:
        monkeypatch.chdir(baselined / "pkg")
        args = [".."]
    result = run("check", *args, "--no-cache")
    assert result.exit_code == 0, result.output


def test_stale_baseline_entries_are_listed_by_statistics(baselined: Path) -> None:
    assert run("check", ".", "--no-cache", "--write-baseline").exit_code == 0
    (baselined / "pkg" / "app.py").write_text(CLEAN)
    plain = run("check", ".", "--no-cache")
    assert plain.exit_code == 0 and "stale" not in plain.output
    stats = run("check", ".", "--no-cache", "--statistics")
    assert "1 baseline entry no longer match" in stats.output and "pkg/app.py::SL102::" in stats.output


def test_stale_entries_count_only_files_the_run_checked(baselined: Path) -> None:
    assert run("check", ".", "--no-cache", "--write-baseline").exit_code == 0
    (baselined / "other.py").write_text(CLEAN)
    assert "stale" not in run("check", "other.py", "--no-cache", "--statistics").output


def test_a_version_1_baseline_is_read_from_the_project_root(baselined: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run("check", ".", "--no-cache", "--write-baseline").exit_code == 0
    key = next(iter(json.loads((baselined / "base.json").read_text())["findings"]))
    (baselined / "base.json").write_text(json.dumps({"version": 1, "tool": "scalelint", "findings": {"./" + key: 1}}))
    monkeypatch.chdir(baselined / "pkg")
    assert run("check", "app.py", "--no-cache").exit_code == 0


def test_write_baseline_without_a_file_is_a_usage_error(project: Path) -> None:
    result = run("check", ".", "--no-cache", "--write-baseline")
    assert result.exit_code == 2 and "--write-baseline needs --baseline FILE" in result.output
