import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import pytest

#: fixtures are code scalelint checks, never tests to run (some are named like tests on purpose)
collect_ignore = ["fixtures"]


@pytest.fixture(autouse=True)
def _user_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own per-user cache and config directories (and no
    trust or cache setting from the environment), so none reads or writes the
    real ones."""
    home = tmp_path_factory.mktemp("user")
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    for name in ("SCALELINT_CACHE_DIR", "SCALELINT_TRUST_LOCAL_RULES"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A one-folder project (a pyproject.toml marks its root) as the working directory."""
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'demo'\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path
