"""The options spelled as Ruff spells them: --show-fixes, --output-file/-o,
--force-exclude, NO_COLOR/FORCE_COLOR, --output-format concise, --watch,
--progress and -v."""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from scalelint.cli import main
from scalelint.terminal import ProgressLine, timing_lines, use_color, watch

from helpers import FLAGGED

def run(*args: str, input: str | None = None, env: dict[str, str] | None = None):
    return CliRunner().invoke(main, list(args), input=input, env=env, catch_exceptions=False)


def test_show_fixes_lists_what_fix_changed(project: Path) -> None:
    (project / "app.py").write_text(FLAGGED)
    shown = run("check", "--no-cache", "--fix", "--show-fixes", ".")
    assert "Fixes applied:\n- app.py:\n    1 x SL102 (unscoped-connection)" in shown.stdout
    (project / "app.py").write_text(FLAGGED)
    assert "Fixes applied" not in run("check", "--no-cache", "--fix", ".").stdout


def test_output_file_takes_the_report(project: Path) -> None:
    (project / "app.py").write_text(FLAGGED)
    result = run("check", "--no-cache", "--output-format", "json", "-o", "out/report.json", ".")
    assert result.exit_code == 1 and result.stdout == ""
    assert [d["code"] for d in json.loads((project / "out" / "report.json").read_text())] == ["SL102"]


def test_output_file_with_stdin_fix_leaves_only_the_code_on_stdout(project: Path) -> None:
    result = run("check", "--no-cache", "--fix", "--stdin-filename", "app.py", "--output-file", "r.txt", "-", input=FLAGGED)
    assert "with closing(sqlite3.connect(path)) as conn:" in result.stdout
    assert "Found" not in result.stdout and "Fixed 1 finding" in (project / "r.txt").read_text()


def test_an_unwritable_output_file_is_a_one_line_error(project: Path) -> None:
    (project / "app.py").write_text(FLAGGED)
    (project / "taken").write_text("")
    result = run("check", "--no-cache", "-o", "taken/report.txt", ".")
    assert result.exit_code == 2 and "cannot write the report" in result.stderr


def test_force_exclude_applies_excludes_to_stdin_and_named_files(project: Path) -> None:
    (project / "pyproject.toml").write_text("[project]\nname = 'demo'\n[tool.scalelint]\nexclude = ['legacy/**']\n")
    (project / ".git").mkdir()
    (project / ".gitignore").write_text("generated/\n")
    for directory in ("legacy", "generated"):
        (project / directory).mkdir()
        (project / directory / "a.py").write_text(FLAGGED)
    stdin = ("--stdin-filename", "legacy/a.py", "-")
    assert run("check", "--no-cache", *stdin, input=FLAGGED).exit_code == 1
    assert run("check", "--no-cache", "--force-exclude", *stdin, input=FLAGGED).exit_code == 0
    fixed = run("check", "--no-cache", "--force-exclude", "--fix", *stdin, input=FLAGGED)
    assert fixed.exit_code == 0 and fixed.stdout == FLAGGED  # the buffer comes back untouched
    assert run("check", "--no-cache", "generated/a.py").exit_code == 1
    assert run("check", "--no-cache", "--force-exclude", "generated/a.py").exit_code == 0


def test_force_exclude_from_the_config(project: Path) -> None:
    (project / "pyproject.toml").write_text(
        "[project]\nname = 'demo'\n[tool.scalelint]\nexclude = ['legacy/**']\nforce-exclude = true\n"
    )
    assert run("check", "--no-cache", "--stdin-filename", "legacy/a.py", "-", input=FLAGGED).exit_code == 0


class _Stream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_colour_follows_the_flag_then_no_color_then_force_color_then_the_terminal() -> None:
    assert use_color(None, _Stream(True), {}) and not use_color(None, _Stream(False), {})
    assert not use_color(None, _Stream(True), {"NO_COLOR": "1"})
    assert use_color(None, _Stream(False), {"FORCE_COLOR": "1"})
    assert not use_color(None, _Stream(False), {"FORCE_COLOR": ""})  # set but empty: not set
    assert use_color(True, _Stream(False), {"NO_COLOR": "1"}) and not use_color(False, _Stream(True), {"FORCE_COLOR": "1"})


def test_force_color_colours_piped_output(project: Path) -> None:
    (project / "app.py").write_text(FLAGGED)
    assert "\x1b[" in run("check", "--no-cache", ".", env={"FORCE_COLOR": "1"}).stdout
    assert "\x1b[" not in run("check", "--no-cache", ".", env={"FORCE_COLOR": "1", "NO_COLOR": "1"}).stdout


def test_concise_is_one_line_per_finding_and_the_summary(project: Path) -> None:
    (project / "app.py").write_text(FLAGGED)
    lines = run("check", "--no-cache", "--output-format", "concise", ".").stdout.splitlines()
    assert lines[0].startswith("app.py:5:5: SL102 ") and lines[1].startswith("Found 1 finding")
    quiet = run("check", "--no-cache", "--output-format", "concise", "-q", ".").stdout
    assert quiet.count("\n") == 1 and quiet.startswith("app.py:5:5: SL102")


def test_watch_checks_again_on_each_change() -> None:
    views = iter([{"a": (1, 1)}, {"a": (1, 1)}, {"a": (1, 1)}, {"a": (2, 1)}, {"a": (2, 1)}])
    checks, sleeps = [], []
    watch(lambda: checks.append(1), lambda: next(views), sleeps.append, rounds=2)
    assert len(checks) == 2 and len(sleeps) == 2


def test_watch_ends_quietly_on_ctrl_c() -> None:
    def interrupted(_seconds: float) -> None:
        raise KeyboardInterrupt

    checks: list[int] = []
    watch(lambda: checks.append(1), lambda: {}, interrupted)
    assert checks == [1]


def test_watch_refuses_stdin(project: Path) -> None:
    result = run("check", "--watch", "-", input="x = 1\n")
    assert result.exit_code == 2 and "--watch cannot read stdin" in result.stderr


def test_progress_is_off_when_stderr_is_not_a_terminal_unless_forced(project: Path) -> None:
    (project / "app.py").write_text(FLAGGED)
    assert "files" not in run("check", "--no-cache", ".").stderr
    forced = run("check", "--no-cache", "--progress", ".").stderr
    assert "scalelint: reading 1/1 files" in forced or "scalelint: checking 1/1 files" in forced
    assert "scalelint: project phase 1/1 files" in forced


def test_progress_line_redraws_a_terminal_line_with_phase_and_rate() -> None:
    now = iter([0.0, 0.05, 2.0, 4.0])
    stream = _Stream(True)
    line = ProgressLine(stream, redraw=True, clock=lambda: next(now))
    line("reading", 1, 100)
    line("reading", 2, 100)  # within a tenth of a second: not redrawn
    line("checking", 50, 100)
    line("checking", 100, 100)
    line.close()
    drawn = stream.getvalue().split("\r\x1b[K")
    assert drawn[1:] == ["scalelint: reading 1/100 files", "scalelint: checking 50/100 files (25 files/s)",
                         "scalelint: checking 100/100 files (25 files/s)", ""]


def test_verbose_prints_timings_by_phase_and_the_cache_hit_rate(project: Path) -> None:
    (project / "app.py").write_text(FLAGGED)
    first = run("check", "-v", ".").stderr
    assert "scalelint: timing: read and check:" in first and "scalelint: timing: project phase:" in first
    assert "scalelint: cache: 0/1 files answered from the cache (0%)" in first
    assert "scalelint: cache: 1/1 files answered from the cache (100%)" in run("check", "-v", ".").stderr
    assert "scalelint: cache: off" in run("check", "-v", "--no-cache", ".").stderr


def test_timing_lines_total() -> None:
    lines = timing_lines({"discover": 0.5, "read and check": 1.5}, 4, 1, True)
    assert "scalelint: timing: total: 2.000 s for 4 files" in lines and lines[-1].endswith("(25%)")
