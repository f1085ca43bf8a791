"""The release artefacts: `python -m build` makes an sdist and a wheel, and
the wheel installs and runs in a fresh venv. It needs the package index (for
the build backend and the dependencies), so it runs when
SCALELINT_PACKAGING=1 is set, as .ci/run does."""
from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest

from test_cli import FLAGGED

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [
    pytest.mark.packaging,
    pytest.mark.skipif(os.environ.get("SCALELINT_PACKAGING") != "1", reason="set SCALELINT_PACKAGING=1 (needs the package index)"),
]


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)], check=True, capture_output=True)
    return out


def test_the_wheel_carries_the_types_the_rules_and_the_metadata(dist: Path) -> None:
    [wheel] = dist.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {"scalelint/py.typed", "scalelint/__init__.pyi", "scalelint/rules/__init__.py"} <= set(names)
    assert not any(name.startswith("rules/") for name in names)  # never a top-level `rules` module
    assert any(name.endswith(".dist-info/licenses/LICENSE") or name.endswith(".dist-info/LICENSE") for name in names)
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "Project-URL: Repository, https://github.com/scalelint/scalelint" in metadata
    assert "License: MIT" in metadata or "License-Expression: MIT" in metadata


def test_the_sdist_carries_license_and_changelog(dist: Path) -> None:
    [sdist] = dist.glob("*.tar.gz")
    names = {name.split("/", 1)[1] for name in tarfile.open(sdist).getnames() if "/" in name}
    assert {"LICENSE", "CHANGELOG.md", "README.md", "rules/__init__.py", "scalelint/py.typed"} <= names


def test_the_wheel_installs_and_runs_in_a_fresh_venv(dist: Path, tmp_path: Path) -> None:
    [wheel] = dist.glob("*.whl")
    env = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env)
    bin_dir = env / ("Scripts" if os.name == "nt" else "bin")
    subprocess.run([str(bin_dir / "python"), "-m", "pip", "install", "-q", str(wheel)], check=True, capture_output=True)
    (tmp_path / "app.py").write_text(FLAGGED)
    run = subprocess.run([str(bin_dir / "scalelint"), "check", "--no-cache", "app.py"], cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode == 1 and "app.py:5:5: SL102" in run.stdout, run.stderr
    api = "import scalelint; print([f.code for f in scalelint.check_paths(['app.py'], cache=False).findings])"
    out = subprocess.run([str(bin_dir / "python"), "-c", api], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['SL102']"
