"""``--fix`` never costs the user an edit or a file: it writes only what it
checked, atomically, through symlinks that stay symlinks, keeping the file's
mode, owner and group."""
from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from scalelint.cli import main
from scalelint.engine.runner import Runner

FLAGGED = (
    "import sqlite3\n\n\n"
    "def names(path):\n"
    "    conn = sqlite3.connect(path)\n"
    "    rows = conn.execute('SELECT name FROM users').fetchall()\n"
    "    conn.close()\n"
    "    return rows\n"
)


def fix(*paths: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["check", "--no-cache", "--fix", "--select", "SL102", *paths])
    return result.exit_code, result.stderr


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "pyproject.toml").write_text("[tool.scalelint]\n")
    monkeypatch.chdir(root)
    return root


def test_an_edit_saved_after_the_check_is_kept(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = project / "app.py"
    target.write_text(FLAGGED)
    edited = FLAGGED + "# saved by the editor meanwhile\n"
    original = Runner._write_fixes

    def edit_then_write(self, report):
        target.write_text(edited)
        original(self, report)

    monkeypatch.setattr(Runner, "_write_fixes", edit_then_write)
    code, err = fix("app.py")
    assert target.read_text() == edited
    assert code == 1
    assert "app.py: fix not written: the file changed since it was checked" in err
    assert len([line for line in err.splitlines() if "fix not written" in line]) == 1


def test_symlink_inside_the_project_is_written_through(project: Path) -> None:
    (project / "real.py").write_text(FLAGGED)
    (project / "link.py").symlink_to("real.py")
    code, err = fix(".")
    assert (project / "link.py").is_symlink()
    assert "with closing(" in (project / "real.py").read_text()
    assert "fix not written" not in err
    code, err = fix("link.py")  # named on the command line: the link survives too
    assert (project / "link.py").is_symlink()


def test_symlink_out_of_the_project_is_skipped(project: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.py"
    outside.write_text(FLAGGED)
    (project / "link.py").symlink_to(outside)
    for given in (".", "link.py"):
        code, err = fix(given)
        assert (project / "link.py").is_symlink()
        assert outside.read_text() == FLAGGED
        assert code == 1
        assert f"link.py: fix not written: it is a symlink to {outside}, outside the project" in err


def test_mode_owner_and_group_are_kept(project: Path) -> None:
    target = project / "app.py"
    target.write_text(FLAGGED)
    os.chmod(target, 0o640)
    if os.geteuid() == 0:
        os.chown(target, 65534, 65534)
    before = os.stat(target)
    code, _ = fix("app.py")
    after = os.stat(target)
    assert "with closing(" in target.read_text()
    assert stat.S_IMODE(after.st_mode) == 0o640
    assert (after.st_uid, after.st_gid) == (before.st_uid, before.st_gid)
    assert after.st_ino != before.st_ino  # replaced atomically, not rewritten in place
    assert not [p for p in project.iterdir() if p.name.endswith(".tmp")]


def test_add_noqa_keeps_a_symlink(project: Path) -> None:
    (project / "real.py").write_text(FLAGGED)
    (project / "link.py").symlink_to("real.py")
    result = CliRunner().invoke(main, ["check", "--no-cache", "--add-noqa", "--select", "SL102", "link.py"])
    assert result.exit_code == 0, result.output
    assert (project / "link.py").is_symlink()
    assert "# noqa: SL102" in (project / "real.py").read_text()


# -- stdin mode (item 5): an editor replaces its buffer with what is printed ------------------
def stdin_run(buffer: bytes, *options: str) -> tuple[int, bytes, str]:
    result = CliRunner().invoke(main, ["check", "--no-cache", "--select", "SL102", *options, "--stdin-filename", "app.py", "-"], input=buffer)
    return result.exit_code, result.stdout_bytes, result.stderr


def test_add_noqa_on_stdin_prints_the_buffer_with_the_comments(project: Path) -> None:
    code, out, err = stdin_run(FLAGGED.encode(), "--add-noqa")
    assert code == 0, err
    assert out.decode() == FLAGGED.replace("sqlite3.connect(path)\n", "sqlite3.connect(path)  # noqa: SL102\n")
    assert not (project / "app.py").exists()
    clean = b"x = 1\n"
    assert stdin_run(clean, "--add-noqa")[1] == clean


def test_write_baseline_refuses_stdin(project: Path) -> None:
    code, out, err = stdin_run(FLAGGED.encode(), "--write-baseline", "--baseline", "base.json")
    assert code == 2 and "--write-baseline" in err and "stdin" in err
    assert not (project / "base.json").exists()


def test_a_fix_on_stdin_keeps_the_bom(project: Path) -> None:
    code, out, err = stdin_run(b"\xef\xbb\xbf" + FLAGGED.encode(), "--fix")
    assert code == 0, err
    assert out.startswith(b"\xef\xbb\xbffrom contextlib import closing\n")


def test_a_latin1_buffer_with_its_cookie_is_fixed_in_latin1(project: Path) -> None:
    buffer = b"# -*- coding: latin-1 -*-\nGREETING = '\xe9t\xe9'\n" + FLAGGED.encode()
    code, out, err = stdin_run(buffer, "--fix")
    assert code == 0, err
    assert b"GREETING = '\xe9t\xe9'\n" in out and b"with closing(sqlite3.connect(path)) as conn:" in out
    code, out, err = stdin_run(buffer)
    assert code == 1 and b"app.py:7:5: SL102" in out and "internal error" not in err


def test_undecodable_bytes_on_stdin_are_that_buffers_error_and_printed_back(project: Path) -> None:
    buffer = b"GREETING = '\xff'\n" + FLAGGED.encode()
    code, out, err = stdin_run(buffer, "--fix")
    assert code == 1 and out == buffer
    assert "app.py: cannot decode as utf-8 at line 1" in err and "internal error" not in err
