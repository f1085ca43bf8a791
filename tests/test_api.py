"""The public Python API: scalelint.check_paths and scalelint.check_source."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import scalelint
from scalelint.api import CheckResult, UsageError
from scalelint.core.findings import FixSafety

from helpers import FLAGGED


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'demo'\n")
    (tmp_path / "app.py").write_text(FLAGGED)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_import_scalelint_stays_cheap() -> None:
    code = "import sys, scalelint; print(sorted(m for m in sys.modules if m.startswith(('scalelint.', 'libcst', 'click'))))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_check_source_returns_findings_with_fixes(project: Path) -> None:
    result = scalelint.check_source(FLAGGED, path="app.py", cache=False)
    assert isinstance(result, CheckResult) and result.files == 1
    [finding] = result.findings
    assert (finding.code, finding.path, finding.line) == ("SL102", "app.py", 5)
    assert finding.fix is not None and finding.fix.safety is FixSafety.SAFE and finding.fix.edits
    assert result.fixed_source is None


def test_check_source_fix_returns_the_fixed_text_and_writes_nothing(project: Path) -> None:
    result = scalelint.check_source(FLAGGED, path="app.py", fix=True, cache=False)
    assert result.fixed == 1 and "with closing(sqlite3.connect(path)) as conn:" in (result.fixed_source or "")
    assert result.findings == [] and (project / "app.py").read_text() == FLAGGED


def test_check_source_honours_selection(project: Path) -> None:
    assert scalelint.check_source(FLAGGED, path="app.py", ignore=["SL1"], cache=False).findings == []
    assert scalelint.check_source(FLAGGED, path="app.py", select=["unscoped-connection"], cache=False).findings


def test_check_paths_checks_files_and_directories(project: Path) -> None:
    (project / "clean.py").write_text("X = 1\n")
    result = scalelint.check_paths(["."], cache=False)
    assert result.files == 2 and [(f.path, f.code) for f in result.findings] == [("app.py", "SL102")]
    assert scalelint.check_paths([project / "clean.py"], cache=False).findings == []


def test_check_paths_fix_writes_the_files(project: Path) -> None:
    result = scalelint.check_paths(["app.py"], fix=True, cache=False)
    assert result.fixed == 1 and "closing" in (project / "app.py").read_text()


def test_check_paths_reads_the_given_config(project: Path) -> None:
    (project / "lint.toml").write_text("ignore = ['SL102']\n")
    assert scalelint.check_paths(["."], config=project / "lint.toml", cache=False).findings == []


@pytest.mark.parametrize("call", [
    lambda: scalelint.check_paths(["missing.py"], cache=False),
    lambda: scalelint.check_paths(["."], select=["SL999"], cache=False),
    lambda: scalelint.check_source("x = 1\n", config="nope.toml"),
])
def test_user_mistakes_raise_usage_error(project: Path, call) -> None:
    with pytest.raises(UsageError):
        call()


def test_the_package_is_typed() -> None:
    package = Path(scalelint.__file__).parent
    assert (package / "py.typed").is_file()
    stub = (package / "__init__.pyi").read_text()
    assert all(name in stub for name in ("check_paths", "check_source", "CheckResult", "__version__"))


def test_unknown_attributes_are_still_errors() -> None:
    with pytest.raises(AttributeError):
        scalelint.check_everything  # noqa: B018
