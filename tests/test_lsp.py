"""The language server: the document linter on its own, then the real
server over stdio (JSON-RPC) when pygls is installed."""
from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import textwrap
from pathlib import Path

import pytest

from scalelint.lsp import DocumentLinter, offset_range

SOURCE = textwrap.dedent('''\
    import sqlite3


    def names(path):
        conn = sqlite3.connect(path)  # café
        rows = conn.execute("SELECT name FROM users").fetchall()
        conn.close()
        return rows
    ''')


def test_diagnostics_and_quick_fix(tmp_path: Path) -> None:
    path = tmp_path / "app.py"
    linter = DocumentLinter()
    diagnostics = linter.diagnostics(str(path), SOURCE)
    assert [d["code"] for d in diagnostics] == ["SL102"]
    assert diagnostics[0]["range"]["start"] == {"line": 4, "character": 4}
    actions = linter.code_actions(path.as_uri(), str(path), SOURCE, line=4)
    assert [a["title"] for a in actions] == ["SL102: scope it in a `with` block", "Disable SL102 for this line"]
    assert actions[0]["isPreferred"]
    edits = actions[0]["edit"]["changes"][path.as_uri()]
    lines = SOURCE.split("\n")

    def offset(p: dict) -> int:
        return sum(len(line) + 1 for line in lines[: p["line"]]) + p["character"]

    fixed = SOURCE
    for edit in sorted(edits, key=lambda e: offset(e["range"]["start"]), reverse=True):
        start, end = offset(edit["range"]["start"]), offset(edit["range"]["end"])
        fixed = fixed[:start] + edit["newText"] + fixed[end:]
    assert "with closing(sqlite3.connect(path)) as conn:  # café" in fixed
    assert linter.diagnostics(str(path), fixed) == []


def test_buffer_sees_the_rest_of_the_project(tmp_path: Path) -> None:
    """Cross-file findings show in the editor: the loop is in the buffer, the
    model whose relation it loads lazily is in another file of the project."""
    import shutil

    project = tmp_path / "proj"
    shutil.copytree(Path(__file__).parent / "fixtures" / "SL104" / "lazy_shop", project)
    (project / "pyproject.toml").write_text("[tool.scalelint]\nselect = ['SL104']\n")
    views = project / "shop" / "views.py"
    text = views.read_text()
    linter = DocumentLinter()
    expected = [i + 1 for i, line in enumerate(text.splitlines()) if "# expect: SL104" in line]
    found = sorted({f.line for f in linter.lint(str(views), text)})
    assert found == expected and len(expected) >= 2
    unsaved = text.replace('select_related("product__created_by")', "all()")
    assert len({f.line for f in linter.lint(str(views), unsaved)}) > len(expected), "the buffer, not the file on disk"


def test_utf16_columns() -> None:
    text = "x = '😀'; y = 1\n"
    r = offset_range(text, text.index("y"), text.index("y") + 1)
    assert (r.start_line, r.start_char) == (0, 10)  # the emoji is two UTF-16 units


UNSAFE = textwrap.dedent('''\
    import sqlite3


    def count(path):
        conn = sqlite3.connect(path)
        total = conn.execute("SELECT count(*) FROM t").fetchone()[0]
        print(total)
        return total
    ''')


def apply_edits(text: str, edits: list[dict]) -> str:
    """A client applying LSP text edits (ASCII text: columns are characters)."""
    lines = text.split("\n")

    def offset(p: dict) -> int:
        return sum(len(line) + 1 for line in lines[: p["line"]]) + p["character"]

    for edit in sorted(edits, key=lambda e: offset(e["range"]["start"]), reverse=True):
        text = text[: offset(edit["range"]["start"])] + edit["newText"] + text[offset(edit["range"]["end"]):]
    return text


def test_a_project_imports_no_rule_family_until_a_file_needs_one(tmp_path: Path) -> None:
    """The first didOpen pays only for the rule families its file can match:
    a project's rules come from the metadata the CLI keeps in the cache."""
    (tmp_path / "pyproject.toml").write_text("[tool.scalelint]\n")
    (tmp_path / "plain.py").write_text("x = 1\n")
    probe = textwrap.dedent(f'''
        import sys
        from pathlib import Path
        from scalelint.lsp import DocumentLinter
        linter = DocumentLinter()
        project = linter.project_for(Path({str(tmp_path / "plain.py")!r}))
        assert project.rules, "no rules selected"
        linter.check({str(tmp_path / "plain.py")!r}, "x = 1\\n", project_phase=False)
        print(sorted(m for m in sys.modules if m.startswith("scalelint.rules.")))
        ''')
    run = lambda: subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path, check=True)
    run()  # the first run keeps the rules' metadata
    assert run().stdout.strip() == "[]"


#: a helper keeping a counter with cache get-then-set that only a management
#: command reaches: request code for the file alone, one-shot code once the
#: project's callers are known (SL310, a file rule, checks request code only)
ONE_SHOT_HELPER = textwrap.dedent('''\
    from django.core.cache import cache


    def import_users(rows):
        seen = cache.get("imported") or 0
        cache.set("imported", seen + len(rows), timeout=None)
        return rows
    ''')
ONE_SHOT_LINE = 6  # the write-back
ONE_SHOT_COMMAND = textwrap.dedent('''\
    from django.core.management.base import BaseCommand

    from app.export import import_users


    class Command(BaseCommand):
        def handle(self, *args, **options):
            import_users(options["rows"])
    ''')


def _one_shot_project(root: Path) -> Path:
    """A project whose app/export.py helper only a command calls; its path."""
    (root / "pyproject.toml").write_text("[tool.scalelint]\nselect = ['SL310']\n")
    files = {"app/__init__.py": "", "app/export.py": ONE_SHOT_HELPER, "app/management/__init__.py": "",
             "app/management/commands/__init__.py": "", "app/management/commands/load.py": ONE_SHOT_COMMAND}
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root / "app" / "export.py"


def test_the_file_phase_reads_no_other_file_and_the_project_phase_refines_it(tmp_path: Path, monkeypatch) -> None:
    """The first lint of a cold project (the file phase) checks the buffer
    alone: no other file of the project is read, so it cannot know its
    callers' contexts; the full run then quiets the helper only a command calls."""
    from scalelint.engine.runner import Runner

    export = _one_shot_project(tmp_path)
    read: list[str] = []
    original = Runner._read_and_check

    def recording(self, states, *args, **kwargs):
        read.extend(s.display for s in states)
        return original(self, states, *args, **kwargs)

    monkeypatch.setattr(Runner, "_read_and_check", recording)
    linter = DocumentLinter()
    first = linter.check(str(export), ONE_SHOT_HELPER, project_phase=False)
    assert not first.complete and read == [str(export)]
    assert [(f.code, f.line) for f in first.findings] == [("SL310", ONE_SHOT_LINE)]
    refined = linter.check(str(export), ONE_SHOT_HELPER, project_phase=True)
    assert refined.complete and refined.findings == [] and len(set(read)) > 1


# -- the scheduler: debounce and stale lints, without a server ------------------------
def test_a_lint_of_an_old_version_is_never_delivered() -> None:
    from scalelint.lsp.scheduler import LintScheduler

    started, release, delivered = threading.Event(), threading.Event(), []
    linted: list[int] = []

    def work(job):
        linted.append(job.version)
        if job.version == 1:
            started.set()
            release.wait(30)
        return job.version

    scheduler = LintScheduler(work, lambda job, result: delivered.append(result))
    try:
        scheduler.submit("file:///a.py", 1, "v1")
        assert started.wait(30)
        scheduler.submit("file:///a.py", 2, "v2")  # arrives while version 1 is being linted
        release.set()
        done = threading.Event()
        scheduler._deliver = lambda job, result: (delivered.append(result), done.set())
        assert done.wait(30)
        assert delivered == [2] and linted == [1, 2]
    finally:
        scheduler.stop()


def _wait_until_interrupted(started: threading.Event) -> None:
    """A guarded check that never ends by itself (only an interruption stops it)."""
    import time

    from scalelint.engine.guard import run_guarded

    def forever() -> None:
        started.set()
        while True:
            time.sleep(0.01)

    run_guarded(forever)


def test_an_interruption_stops_the_guarded_check_in_flight_and_the_next() -> None:
    from scalelint.engine.guard import Interrupted, Interruption, checkpoint, run_guarded

    interruption, started, raised = Interruption(), threading.Event(), []

    def caller() -> None:
        with interruption.applied():
            for step in (lambda: _wait_until_interrupted(started), lambda: run_guarded(lambda: 1), checkpoint):
                try:
                    step()
                except Interrupted:
                    raised.append(True)
        raised.append(run_guarded(lambda: "outside"))  # not applied any more: runs

    thread = threading.Thread(target=caller)
    thread.start()
    assert started.wait(30)
    interruption.stop()
    thread.join(30)
    assert raised == [True, True, True, "outside"]
    checkpoint()  # nothing applied on this thread: a no-op


def test_a_newer_version_stops_the_lint_in_flight() -> None:
    from scalelint.lsp.scheduler import LintScheduler

    started, done, linted, delivered = threading.Event(), threading.Event(), [], []

    def work(job):
        linted.append(job.version)
        if job.version == 1:
            _wait_until_interrupted(started)
        return job.version

    scheduler = LintScheduler(work, lambda job, result: (delivered.append(result), done.set()))
    try:
        scheduler.submit("file:///a.py", 1, "v1")
        assert started.wait(30)
        scheduler.submit("file:///a.py", 2, "v2")
        assert done.wait(30)
        assert linted == [1, 2] and delivered == [2]
    finally:
        scheduler.stop()


def test_only_the_latest_of_queued_versions_is_linted() -> None:
    """The first change after a pause starts at once; the ones that follow
    it wait for the debounce, and only the latest of them is linted."""
    from scalelint.lsp.debounce import Limits
    from scalelint.lsp.scheduler import LintScheduler

    done, linted, delivered = threading.Event(), [], []
    release = threading.Event()
    clock = FakeClock()

    def work(job):
        linted.append(job.version)
        release.wait(30)  # version 1 holds the worker until the burst is queued

    scheduler = LintScheduler(work, lambda job, result: (delivered.append(job.version), done.set()), clock)
    try:
        for version in range(1, 22):  # a burst, each change resetting the debounce
            scheduler.submit("file:///a.py", version, f"v{version}", Limits(5.0, 5.0))
            clock.now += 0.01
        clock.now += 5.0
        release.set()
        assert done.wait(30)
        assert linted in ([1, 21], [21]) and delivered == [21]
        scheduler.forget("file:///a.py")
        assert not scheduler.is_current("file:///a.py", 21)
    finally:
        scheduler.stop()


class FakeClock:
    """A clock the test moves (the scheduler re-reads it at least every
    window it waits, so moving it past a due time releases the job)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# gaps between the edits of a 20 ms burst as this busy 2-core machine's server read
# them (ms): a fixed 50 ms debounce would take each gap over 50 ms for a pause
JITTERED_GAPS_MS = [54, 101, 62, 0.3, 148, 77, 80, 55, 0.2, 0.4, 160, 66, 71, 93, 58, 101, 88, 64, 70]


def test_the_debounce_window_follows_the_rhythm_of_the_edits() -> None:
    from scalelint.lsp.debounce import Limits, Rhythm

    limits, rhythm, now, waits = Limits(0.05, 0.3), Rhythm(), 0.0, []
    waits.append(rhythm.change("a", now, limits))
    for gap in JITTERED_GAPS_MS:
        now += gap / 1000
        waits.append(rhythm.change("a", now, limits))
    assert waits[0] == 0.0  # after a pause (here: the first edit): at once
    # every edit within the burst waits longer than the gap to the next one,
    # so no lint starts before the burst ends
    assert all(wait > gap / 1000 for wait, gap in zip(waits[1:], JITTERED_GAPS_MS[1:]))
    assert all(0.05 <= wait <= 0.3 for wait in waits[1:])
    assert rhythm.change("a", now + 0.31, limits) == 0.0  # a pause over the ceiling: at once again
    assert rhythm.change("b", 5.0, limits) == 0.0  # each document has its own rhythm

    fast = Rhythm()  # a steady fast rhythm shortens the window down to the floor
    waits = [fast.change("a", i * 0.01, limits) for i in range(10)]
    assert waits[1] == 0.3 and waits[-1] == 0.05
    steady = Rhythm()
    waits = [steady.change("a", i * 0.1, limits) for i in range(10)]
    assert waits[-1] == pytest.approx(0.2)  # twice the widest recent gap, within the bounds


def test_a_jittered_burst_starts_at_most_two_lints() -> None:
    """The scheduler with the clock injected: 20 edits with the machine's
    jittered gaps start at most 2 lints (the first edit's, stopped, and the
    last's), and only the last version is delivered."""
    from scalelint.lsp.debounce import Limits
    from scalelint.lsp.scheduler import LintScheduler

    clock, started, delivered, done = FakeClock(), [], [], threading.Event()

    def deliver(job, result):
        delivered.append(job.version)
        if job.version == 20:
            done.set()

    scheduler = LintScheduler(lambda job: started.append(job.version), deliver, clock)
    try:
        scheduler.submit("file:///a.py", 1, "v1", Limits(0.05, 0.3))
        for version, gap in enumerate(JITTERED_GAPS_MS, start=2):
            clock.now += gap / 1000
            scheduler.submit("file:///a.py", version, f"v{version}", Limits(0.05, 0.3))
        clock.now += 0.3
        assert done.wait(30)
        assert started in ([1, 20], [20]) and delivered in ([1, 20], [20])
    finally:
        scheduler.stop()


def test_a_change_after_a_pause_is_linted_without_waiting_for_the_debounce() -> None:
    from scalelint.lsp.debounce import Limits
    from scalelint.lsp.scheduler import LintScheduler

    done = threading.Event()
    scheduler = LintScheduler(lambda job: job.version, lambda job, result: done.set(), FakeClock())
    try:
        scheduler.submit("file:///a.py", 1, "v1", Limits(3600.0, 3600.0))  # nothing came before it
        assert done.wait(30)  # the clock never moves: delivered only if it did not wait
    finally:
        scheduler.stop()


def test_a_lint_no_edit_asked_for_does_not_start_mid_burst() -> None:
    """The warm-up done or a configuration change asks to lint the open
    documents again: while a document is in a burst of edits, that lint waits
    for the window of the burst's last edit, as the edit's own lint does."""
    from scalelint.lsp.debounce import Limits
    from scalelint.lsp.scheduler import LintScheduler

    clock, started, first, last = FakeClock(), [], threading.Event(), threading.Event()
    limits = Limits(0.05, 0.3)

    def deliver(job, result):
        (first if job.version == 1 else last).set()

    scheduler = LintScheduler(lambda job: started.append(job.version), deliver, clock)
    try:
        scheduler.submit("file:///a.py", 1, "v1", limits)  # after a pause: at once
        assert first.wait(30)
        clock.now += 0.02
        scheduler.submit("file:///a.py", 2, "v2", limits)  # mid-burst: waits for its window
        clock.now += 0.02
        scheduler.submit("file:///a.py", 2, "v2", settle=limits)  # the warm-up is done: lint again
        assert not last.wait(0.5)  # the fake clock stands still mid-burst: nothing more starts
        assert started == [1]
        clock.now += 0.3  # the burst's window has passed
        assert last.wait(30)
        assert started == [1, 2]
    finally:
        scheduler.stop()


def test_a_lint_no_edit_asked_for_after_a_pause_starts_at_once() -> None:
    from scalelint.lsp.debounce import Limits
    from scalelint.lsp.scheduler import LintScheduler

    clock, delivered = FakeClock(), threading.Event()
    scheduler = LintScheduler(lambda job: job.version, lambda job, result: delivered.set(), clock)
    try:
        scheduler.submit("file:///a.py", 1, "v1", Limits(0.05, 0.3))
        clock.now += 1.0  # a pause
        delivered.clear()
        scheduler.submit("file:///a.py", 1, "v1", settle=Limits(0.05, 0.3))
        assert delivered.wait(30)  # the clock stands still: delivered only if it did not wait
    finally:
        scheduler.stop()


def test_a_thread_giving_way_waits_before_each_guarded_check() -> None:
    from scalelint.engine.guard import checkpoint, giving_way, run_guarded

    events = []

    class Ready:
        def wait(self, timeout=None):
            events.append("waited")
            return True

    with giving_way(Ready()):
        run_guarded(lambda: events.append("checked"))
        checkpoint()
    run_guarded(lambda: events.append("outside"))  # not giving way any more
    assert events == ["waited", "checked", "waited", "outside"]


def test_the_scheduler_is_idle_only_when_no_lint_is_queued_or_running() -> None:
    """What the project warm-up waits for between files (giving_way)."""
    from scalelint.lsp.debounce import Limits
    from scalelint.lsp.scheduler import LintScheduler

    clock, running, release, done, seen = FakeClock(), threading.Event(), threading.Event(), threading.Event(), []

    def work(job):
        running.set()
        release.wait(30)

    scheduler = LintScheduler(work, lambda job, result: done.set(), clock)
    try:
        assert scheduler.idle.is_set()
        scheduler.submit("file:///a.py", 1, "v1")
        assert running.wait(30)
        seen.append(scheduler.idle.is_set())  # running
        scheduler.submit("file:///b.py", 1, "v1", Limits(60.0, 60.0))
        scheduler.submit("file:///b.py", 2, "v2", Limits(60.0, 60.0))  # queued, waiting for its debounce
        release.set()
        assert done.wait(30)
        seen.append(scheduler.idle.is_set())
        scheduler.forget("file:///b.py")
        assert scheduler.idle.wait(30) and seen == [False, False]
    finally:
        scheduler.stop()


def test_a_crashing_lint_leaves_the_worker_alive() -> None:
    from scalelint.lsp.scheduler import LintScheduler

    results, done = [], threading.Event()

    def work(job):
        if job.version == 1:
            raise ValueError("boom")
        return "ok"

    scheduler = LintScheduler(work, lambda job, result: (results.append(result), job.version == 2 and done.set()))
    try:
        scheduler.submit("file:///a.py", 1, "")
        scheduler.submit("file:///b.py", 2, "")
        assert done.wait(30)
        assert isinstance(results[0], ValueError) and results[-1] == "ok"
    finally:
        scheduler.stop()


def test_an_in_process_batch_leaves_the_workers_checker_alone(tmp_path: Path) -> None:
    """Two runs in two threads of one process (the server's worker and its
    project warm-up) must each use their own checker."""
    from scalelint.engine import dispatch

    sentinel = object()
    dispatch._CHECKER = sentinel  # type: ignore[assignment]
    try:
        DocumentLinter().lint(str(tmp_path / "app.py"), SOURCE)
        assert dispatch._CHECKER is sentinel
    finally:
        dispatch._CHECKER = None


# -- settings, actions, shapes ---------------------------------------------------------------
def test_settings_from_the_client_are_checked() -> None:
    from scalelint.lsp.linter import Settings, read_settings

    settings, problems = read_settings({"scalelint": {"select": ["SL1"], "unsafeFixes": False, "debounceMs": "x"}})
    assert settings == Settings(select=("SL1",), unsafe_fixes=False)
    assert problems == ["setting 'debounceMs' must be a number of milliseconds; ignored"]
    assert read_settings(None) == (Settings(), [])


def test_disable_extends_an_existing_noqa(tmp_path: Path) -> None:
    path = tmp_path / "app.py"
    text = SOURCE.replace("# café", "# noqa: E501")
    actions = DocumentLinter().code_actions(path.as_uri(), str(path), text, line=4)
    disable = next(a for a in actions if a["title"] == "Disable SL102 for this line")
    fixed = apply_edits(text, disable["edit"]["changes"][path.as_uri()])
    assert "conn = sqlite3.connect(path)  # noqa: E501, SL102\n" in fixed
    assert DocumentLinter().lint(str(path), fixed) == []


def test_disable_extends_the_lines_own_scalelint_ignore(tmp_path: Path) -> None:
    """The suppression parser reads a comment's ``# scalelint: ignore[...]``
    before a ``# noqa`` after it: the code goes into the brackets."""
    path = tmp_path / "app.py"
    text = SOURCE.replace("# café", "# scalelint: ignore[SL104]  # café")
    actions = DocumentLinter().code_actions(path.as_uri(), str(path), text, line=4)
    disable = next(a for a in actions if a["title"] == "Disable SL102 for this line")
    fixed = apply_edits(text, disable["edit"]["changes"][path.as_uri()])
    assert "conn = sqlite3.connect(path)  # scalelint: ignore[SL102, SL104]  # café\n" in fixed
    assert DocumentLinter().lint(str(path), fixed) == []
    # a look-alike: a whole-file comment is not the line's own
    whole = "# scalelint: ignore-file[SL104]\n" + SOURCE
    actions = DocumentLinter().code_actions(path.as_uri(), str(path), whole, line=5)
    disable = next(a for a in actions if a["title"] == "Disable SL102 for this line")
    assert "# café  # noqa: SL102\n" in apply_edits(whole, disable["edit"]["changes"][path.as_uri()])


def test_each_disable_action_makes_the_change_add_noqa_makes(tmp_path: Path) -> None:
    """The action edits one line, computed from that line alone: the same text
    as ``--add-noqa`` for that finding (statements over several lines, an
    existing noqa, a line's own scalelint ignore, CRLF line ends)."""
    from scalelint.lsp.linter import ActionRequest, Range, actions_for
    from scalelint.report.noqa import add_noqa

    body = SOURCE.split("\n\n\n", 1)[1]
    text = "import sqlite3\n\n\n" + body + "\n\n" + body.replace("def names", "def more").replace(
        "connect(path)", "connect(\n        path,\n    )") + "\n\n" + body.replace("def names", "def again").replace(
        "# café", "# noqa: E501") + "\n\n" + body.replace("def names", "def last").replace("# café", "# scalelint: ignore[SL104]")
    for eol in ("\n", "\r\n"):
        source = text.replace("\n", eol)
        path = tmp_path / "app.py"
        findings = DocumentLinter().lint(str(path), source)
        assert [f.code for f in findings] == ["SL102"] * 4
        actions = actions_for(path.as_uri(), source, findings, ActionRequest(Range(0, 0, 10**6, 0)))
        disables = [a for a in actions if a["title"] == "Disable SL102 for this line"]
        assert len(disables) == 4
        for action, finding in zip(disables, findings):
            [edit] = action["edit"]["changes"][path.as_uri()]
            assert apply_edits(source, [edit]).replace("\r\n", "\n") == add_noqa(source, [finding])[0].replace("\r\n", "\n")


def test_disable_edits_one_line_of_a_file_with_cr_line_ends(tmp_path: Path) -> None:
    """LSP counts a lone CR as a line end: the edit is on the finding's line,
    not on "line 0" spanning the whole file (a client would duplicate it)."""
    path = tmp_path / "app.py"
    text = SOURCE.replace("\n", "\r")
    actions = DocumentLinter().code_actions(path.as_uri(), str(path), text, line=4)
    disable = next(a for a in actions if a["title"] == "Disable SL102 for this line")
    [edit] = disable["edit"]["changes"][path.as_uri()]
    assert edit["range"] == {"start": {"line": 4, "character": 0}, "end": {"line": 4, "character": 40}}
    assert edit["newText"] == "    conn = sqlite3.connect(path)  # café  # noqa: SL102"


def test_fix_all_applies_the_safe_fixes_of_the_last_lint_without_linting_again(tmp_path: Path, monkeypatch) -> None:
    from scalelint.engine.runner import Runner
    from scalelint.lsp.linter import fixed_text

    path = str(tmp_path / "app.py")
    text = SOURCE + "\n\n" + UNSAFE.split("\n\n\n", 1)[1]
    findings = DocumentLinter().lint(path, text)
    assert [f.fix.safety.name for f in findings if f.fix] == ["SAFE", "UNSAFE"]

    def no_lint(self: Runner) -> None:
        raise AssertionError("fix-all ran a lint")

    monkeypatch.setattr(Runner, "run", no_lint)
    fixed = fixed_text(path, text, findings)
    assert fixed is not None and "with closing(sqlite3.connect(path)) as conn:  # café" in fixed
    assert fixed.count("conn = sqlite3.connect(path)") == 1  # the unsafe fix is a quick fix only
    assert fixed_text(path, text, [f for f in findings if f.fix.safety.name == "UNSAFE"]) is None
    assert fixed_text(path, text, []) is None


def test_diagnostics_read_the_config_once_per_lint_not_once_per_finding(tmp_path: Path, monkeypatch) -> None:
    import scalelint.lsp.linter as linter_module

    path = str(tmp_path / "app.py")
    text = SOURCE + "".join(SOURCE.split("\n\n\n", 1)[1].replace("def names", f"def names_{i}") for i in range(5))
    linter = DocumentLinter()
    findings = linter.lint(path, text)
    assert [f.code for f in findings] == ["SL102"] * 6
    one_by_one = [linter.diagnostic(path, text, f) for f in findings]
    reads = []
    real = linter_module.load_config
    monkeypatch.setattr(linter_module, "load_config", lambda *args: reads.append(args) or real(*args))
    assert linter.diagnostics_of(path, text, findings) == one_by_one
    assert len(reads) == 1


def test_related_locations_become_related_information() -> None:
    from scalelint.core.findings import Finding, Related
    from scalelint.lsp.linter import related_information

    finding = Finding("SL202", "x", "m", "/p/a.py", 3, 1, 3, 5, related=(Related("/p/b.py", 7, 5, "the write"),))
    [info] = related_information(finding)
    assert info == {"location": {"uri": "file:///p/b.py", "range": {"start": {"line": 6, "character": 4},
                                                                   "end": {"line": 6, "character": 4}}},
                    "message": "the write"}
    assert related_information(Finding("SL102", "x", "m", "a.py", 1, 1, 1, 2)) == []


def test_version_and_help_answer_and_exit() -> None:
    for flag, expected in (("--version", "scalelint-lsp "), ("--help", "usage: scalelint-lsp")):
        proc = subprocess.run([sys.executable, "-c", "from scalelint.lsp import main; main()", flag],
                              capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        assert proc.returncode == 0 and proc.stdout.startswith(expected), proc.stderr
    proc = subprocess.run([sys.executable, "-c", "from scalelint.lsp import main; main()", "--bogus"],
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "--bogus" in proc.stderr


# -- end to end over stdio -------------------------------------------------------------------
@pytest.fixture
def start_server(tmp_path: Path):
    pytest.importorskip("pygls", reason="the lsp extra (pygls) is not installed")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
    from lsp_client import LspClient

    clients = []

    def start(options: dict | None = None, folders: list[Path] | None = None, capabilities: dict | None = None):
        client = LspClient([sys.executable, "-c", "from scalelint.lsp import main; main()"], cwd=tmp_path)
        clients.append(client)
        client.init_result = client.initialize(tmp_path, options, folders, capabilities)
        return client

    yield start
    for client in clients:
        client.close()
    sys.path.remove(str(Path(__file__).resolve().parent.parent / "bench"))


def _codes(params: dict) -> list:
    return [d.get("code") for d in params["diagnostics"]]


def test_diagnostics_carry_version_docs_link_and_clear_on_close(tmp_path: Path, start_server) -> None:
    client = start_server()
    capabilities = client.init_result["capabilities"]
    assert capabilities["hoverProvider"] and "source.fixAll.scalelint" in capabilities["codeActionProvider"]["codeActionKinds"]
    uri = (tmp_path / "app.py").as_uri()
    client.open(uri, SOURCE, version=3)
    published = client.diagnostics(uri)
    assert published["version"] == 3 and _codes(published) == ["SL102"]
    assert published["diagnostics"][0]["codeDescription"]["href"].endswith("SL102.md")
    mark = client.mark()
    client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    assert client.diagnostics(uri, start=mark)["diagnostics"] == []



def test_a_race_carries_its_check_as_related_information_over_stdio(tmp_path: Path, start_server) -> None:
    """SL202's diagnostic at the write names the read it checked (a location
    in the same file): what the editor shows under "related"."""
    (tmp_path / "pyproject.toml").write_text("[tool.scalelint]\n")
    path = tmp_path / "app.py"
    text = textwrap.dedent('''\
        from shop.models import Wallet


        def pay(wallet_id, amount):
            wallet = Wallet.objects.get(pk=wallet_id)
            if wallet.balance < amount:
                raise ValueError("insufficient funds")
            Wallet.objects.filter(pk=wallet_id).update(balance=wallet.balance - amount)
        ''')
    path.write_text(text)
    client = start_server()
    client.open(path.as_uri(), text)
    published = client.wait_for(lambda m: m.get("method") == "textDocument/publishDiagnostics"
                                and "SL202" in _codes(m["params"]), 120)
    [race] = [d for d in published["params"]["diagnostics"] if d["code"] == "SL202"]
    assert race["range"]["start"]["line"] == 7
    related = race["relatedInformation"]
    assert related and all(r["location"]["uri"] == path.resolve().as_uri() for r in related)
    assert 4 in [r["location"]["range"]["start"]["line"] for r in related]  # the read the check rests on


def test_an_opened_file_is_published_from_its_file_phase_then_refined(tmp_path: Path, start_server) -> None:
    """didOpen of a file of a project whose facts are not known: its file
    phase is published at once (the helper's counter as request code), then,
    once the project phase ran, the same version again with the callers'
    contexts (only a command calls the helper: nothing to report)."""
    export = _one_shot_project(tmp_path)
    client = start_server()
    uri, mark = export.as_uri(), client.mark()
    client.open(uri, ONE_SHOT_HELPER, version=1)
    client.wait_for(lambda m: m.get("method") == "window/logMessage" and m["params"]["message"].startswith(
        f"scalelint: linted {uri} v1 ") and "pending" not in m["params"]["message"], 120, mark)
    refined = client.diagnostics(uri, version=1, start=client.mark() - 1)
    published = client.messages("textDocument/publishDiagnostics", mark)
    assert [p["params"]["version"] for p in published] == [1, 1]
    first_lines = [(d["code"], d["range"]["start"]["line"] + 1) for d in published[0]["params"]["diagnostics"]]
    assert first_lines == [("SL310", ONE_SHOT_LINE)]
    assert published[1]["params"] == refined and refined["diagnostics"] == []
    logs = [m["params"]["message"] for m in client.messages("window/logMessage", mark)]
    linted = [m for m in logs if m.startswith(f"scalelint: linted {uri} ")]
    assert len(linted) == 2 and linted[0].endswith("(file rules; project phase pending)")


def test_code_actions_follow_range_diagnostics_and_only(tmp_path: Path, start_server) -> None:
    client = start_server()
    uri = (tmp_path / "app.py").as_uri()
    text = SOURCE + "\n\n" + UNSAFE.split("\n\n\n", 1)[1]
    client.open(uri, text)
    diagnostics = client.diagnostics(uri)["diagnostics"]
    assert [d["range"]["start"]["line"] for d in diagnostics] == [4, 11]

    def actions(range_: dict, diags: list, only: list | None = None) -> list[str]:
        context: dict = {"diagnostics": diags}
        if only is not None:
            context["only"] = only
        result = client.request("textDocument/codeAction", {"textDocument": {"uri": uri}, "range": range_, "context": context})
        return [a["title"] for a in result]

    everything = {"start": {"line": 0, "character": 0}, "end": {"line": 20, "character": 0}}
    assert actions(everything, []) == [
        "SL102: scope it in a `with` block", "Disable SL102 for this line",
        "SL102: close it after its last use with a `with` block (unsafe)", "Disable SL102 for this line",
        "scalelint: fix all safely fixable problems",
    ]
    # the client names one diagnostic: actions for that one only, wherever the range is
    assert actions(everything, [diagnostics[1]], ["quickfix"]) == [
        "SL102: close it after its last use with a `with` block (unsafe)", "Disable SL102 for this line"]
    # a range on the second function's line, no diagnostics named
    line_11 = {"start": {"line": 11, "character": 6}, "end": {"line": 11, "character": 6}}
    assert actions(line_11, [], ["quickfix"])[0].endswith("(unsafe)")
    # fix-all alone, as on save (safe fixes only: the unsafe finding stays)
    [fix_all] = client.request("textDocument/codeAction", {"textDocument": {"uri": uri}, "range": line_11,
                                                           "context": {"diagnostics": [], "only": ["source.fixAll"]}})
    fixed = apply_edits(text, fix_all["edit"]["changes"][uri])
    assert "with closing(sqlite3.connect(path)) as conn:  # café" in fixed
    assert fixed.count("conn = sqlite3.connect(path)") == 1  # the unsafe one is left
    assert actions(everything, [], ["source.organizeImports"]) == []


def test_unsafe_fixes_can_be_turned_off(tmp_path: Path, start_server) -> None:
    client = start_server({"unsafeFixes": False})
    uri = (tmp_path / "app.py").as_uri()
    client.open(uri, UNSAFE)
    [diagnostic] = client.diagnostics(uri)["diagnostics"]
    result = client.request("textDocument/codeAction", {"textDocument": {"uri": uri}, "range": diagnostic["range"],
                                                        "context": {"diagnostics": [diagnostic]}})
    assert [a["title"] for a in result] == ["Disable SL102 for this line"]


def test_hover_shows_the_rule_docs(tmp_path: Path, start_server) -> None:
    client = start_server()
    uri = (tmp_path / "app.py").as_uri()
    client.open(uri, SOURCE)
    client.diagnostics(uri)
    hover = client.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": {"line": 4, "character": 10}})
    assert hover["contents"]["kind"] == "markdown"
    assert "**SL102**" in hover["contents"]["value"] and "## Why it matters at scale" in hover["contents"]["value"]
    assert client.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": {"line": 0, "character": 0}}) is None


def test_a_syntax_error_keeps_the_last_good_diagnostics(tmp_path: Path, start_server) -> None:
    client = start_server()
    uri = (tmp_path / "app.py").as_uri()
    client.open(uri, SOURCE)
    good = client.diagnostics(uri, version=1)["diagnostics"]
    client.notify(*client.change(uri, SOURCE + "def broken(:\n", 2))
    broken = client.diagnostics(uri, version=2)["diagnostics"]
    assert broken[:-1] == good and len(broken) == len(good) + 1
    assert broken[-1]["severity"] == 1 and broken[-1]["message"].startswith("syntax error")
    assert broken[-1]["range"]["start"]["line"] == SOURCE.count("\n")
    client.notify(*client.change(uri, SOURCE.replace("# café", "# tea"), 3))
    assert _codes(client.diagnostics(uri, version=3)) == ["SL102"]


def _published(client, uri: str, codes: list, start: int) -> dict:
    """The first diagnostics for ``uri`` from ``start`` on with these codes
    (a lint queued before a change may publish in between)."""
    return client.wait_for(lambda m: m.get("method") == "textDocument/publishDiagnostics"
                           and m["params"]["uri"] == uri and _codes(m["params"]) == codes, 60, start)


def test_config_changes_are_picked_up(tmp_path: Path, start_server) -> None:
    client = start_server()
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text("[tool.scalelint]\n")
    uri = (tmp_path / "app.py").as_uri()
    client.open(uri, SOURCE)
    assert _codes(client.diagnostics(uri)) == ["SL102"]
    # a watched file changed on disk
    pyproject.write_text("[tool.scalelint]\nignore = ['SL102']\n")
    mark = client.mark()
    client.notify("workspace/didChangeWatchedFiles", {"changes": [{"uri": pyproject.as_uri(), "type": 2}]})
    _published(client, uri, [], mark)
    # the pyproject saved in the editor
    pyproject.write_text("[tool.scalelint]\n")
    mark = client.mark()
    client.notify("textDocument/didSave", {"textDocument": {"uri": pyproject.as_uri()}})
    _published(client, uri, ["SL102"], mark)
    # the client's settings
    mark = client.mark()
    client.notify("workspace/didChangeConfiguration", {"settings": {"scalelint": {"ignore": ["SL102"]}}})
    _published(client, uri, [], mark)


def test_the_configs_baseline_applies_in_the_editor_as_on_the_command_line(tmp_path: Path, start_server) -> None:
    """A finding the project's baseline records (written by the CLI) is not
    published; a new finding in the same buffer is; without the baseline
    the recorded one shows again."""
    from click.testing import CliRunner

    from scalelint.cli import main as cli

    (tmp_path / "pyproject.toml").write_text("[tool.scalelint]\nbaseline = 'scalelint-baseline.json'\n")
    app = tmp_path / "app.py"
    app.write_text(SOURCE)
    recorded = CliRunner().invoke(cli, ["check", str(app), "--no-cache", "--write-baseline"])
    assert recorded.exit_code == 0, recorded.output
    client = start_server()
    uri = app.as_uri()
    client.open(uri, SOURCE)
    assert _codes(client.diagnostics(uri, version=1)) == []
    mark = client.mark()
    newer = SOURCE + "\n\ndef more(path):\n    db = sqlite3.connect(path)\n    return db.execute('SELECT 1').fetchall()\n"
    client.notify(*client.change(uri, newer, 2))
    published = client.diagnostics(uri, version=2, start=mark)
    assert _codes(published) == ["SL102"] and published["diagnostics"][0]["range"]["start"]["line"] > 8
    (tmp_path / "pyproject.toml").write_text("[tool.scalelint]\n")
    mark = client.mark()
    client.notify("workspace/didChangeWatchedFiles",
                  {"changes": [{"uri": (tmp_path / "pyproject.toml").as_uri(), "type": 2}]})
    _published(client, uri, ["SL102", "SL102"], mark)


def test_initialization_options_select_and_config_path(tmp_path: Path, start_server) -> None:
    (tmp_path / "lint.toml").write_text("ignore = ['SL102']\n")
    uri = (tmp_path / "app.py").as_uri()
    ignoring = start_server({"configPath": "lint.toml"}, folders=[tmp_path])
    ignoring.open(uri, SOURCE)
    assert _codes(ignoring.diagnostics(uri)) == []
    other = start_server({"select": ["SL3"]})
    other.open(uri, SOURCE)
    assert _codes(other.diagnostics(uri)) == []
    wrong = start_server({"select": "SL102"})
    wrong.open(uri, SOURCE)
    assert _codes(wrong.diagnostics(uri)) == ["SL102"]
    shown = wrong.wait_for(lambda m: m.get("method") == "window/showMessage")
    assert "setting 'select' must be a list of rule codes" in shown["params"]["message"]


def test_each_workspace_folder_has_its_own_config(tmp_path: Path, start_server) -> None:
    strict, lenient = tmp_path / "strict", tmp_path / "lenient"
    for folder, table in ((strict, ""), (lenient, "ignore = ['SL102']\n")):
        folder.mkdir()
        (folder / "pyproject.toml").write_text(f"[tool.scalelint]\n{table}")
    client = start_server(folders=[strict, lenient])
    for folder, expected in ((strict, ["SL102"]), (lenient, [])):
        uri = (folder / "app.py").as_uri()
        client.open(uri, SOURCE)
        assert _codes(client.diagnostics(uri)) == expected


def test_a_burst_of_edits_is_linted_once_and_only_the_last_published(tmp_path: Path, start_server) -> None:
    client = start_server({"debounceMs": 500})
    uri = (tmp_path / "app.py").as_uri()
    client.open(uri, SOURCE)
    client.diagnostics(uri, version=1)
    mark = client.mark()
    versions = range(2, 22)
    client.notify_many([client.change(uri, SOURCE + f"\nx = {v}\n", v) for v in versions])
    assert _codes(client.diagnostics(uri, version=21, start=mark)) == ["SL102"]
    published = [m["params"]["version"] for m in client.messages("textDocument/publishDiagnostics", mark)]
    # the first change after a pause is linted at once: published only if it
    # was done before the server read the next change; none in between
    assert published in ([21], [2, 21])
    logs = [m["params"]["message"] for m in client.messages("window/logMessage", mark)]
    started = [m for m in logs if m.startswith(f"scalelint: linting {uri} ")]
    assert len(started) <= 2 and [m for m in logs if "linted" in m][-1].startswith(f"scalelint: linted {uri} v21 ")


def test_the_debounce_follows_the_rhythm_of_the_edits_over_stdio(tmp_path: Path, start_server) -> None:
    """With no floor (a fixed debounce of 0 would lint every edit) the edits
    of a burst still wait for each other: the first after a pause is linted
    at once, the next ones wait for the window their rhythm gives (here the
    ceiling, until 3 gaps are known, then twice the widest gap), so 4 edits
    whatever their gaps start at most 2 lints, and the last is published."""
    import time

    client = start_server({"debounceMs": 0, "debounceMaxMs": 600000})
    uri = (tmp_path / "app.py").as_uri()
    client.open(uri, SOURCE)
    client.diagnostics(uri, version=1)
    mark = client.mark()
    for version in range(2, 6):
        client.notify(*client.change(uri, SOURCE + f"\nx = {version}\n", version))
        time.sleep(0.03)
    assert _codes(client.diagnostics(uri, version=5, start=mark)) == ["SL102"]
    logs = [m["params"]["message"] for m in client.messages("window/logMessage", mark)]
    started = [m for m in logs if m.startswith(f"scalelint: linting {uri} ")]
    assert len(started) <= 2 and started[-1].endswith(" v5")


SLOW_RULE = textwrap.dedent('''\
    """A rule for the tests: a stand-in for a long lint."""
    import time

    from scalelint.rule import Rule


    class SlowOnPurpose(Rule):
        """
        ## What it does
        On a file that says SLOW, waits until the lint is interrupted; on one
        that says FAST, reports its first statement.
        """

        code = "HX900"
        name = "slow-on-purpose"
        summary = "waits on SLOW files, reports FAST ones"
        vocabulary = ("SLOW", "FAST")

        def check_module(self, module):
            while "SLOW" in self._ctx.text:
                time.sleep(0.01)
            self.report(self._ctx.module.body[0], "fast")
    ''')


def _server_with_slow_rule(root: Path, start_server):
    """A server on a project whose only rule is SLOW_RULE, changes not debounced."""
    (root / "slow_rule.py").write_text(SLOW_RULE)
    (root / "pyproject.toml").write_text(
        "[tool.scalelint]\nselect = ['HX900']\nlocal-rules = ['slow_rule.py']\nextend-exclude = ['slow_rule.py']\n")
    return start_server({"trustLocalRules": True, "debounceMs": 0})


def test_a_newer_version_cancels_the_lint_in_flight(tmp_path: Path, start_server) -> None:
    """Over stdio, with a lint that never ends by itself: each newer version
    stops the lint in flight, which publishes nothing; only the last version
    is linted to the end and published."""
    client = _server_with_slow_rule(tmp_path, start_server)
    uri = (tmp_path / "app.py").as_uri()
    mark = client.mark()
    client.open(uri, "x = 'SLOW'\n")
    client.wait_for(lambda m: m.get("method") == "window/logMessage" and f"linting {uri} v1" in m["params"]["message"],
                    60, mark)
    client.notify_many([client.change(uri, f"x = 'SLOW {v}'\n", v) for v in range(2, 21)] +
                       [client.change(uri, "x = 'FAST'\n", 21)])
    published = client.diagnostics(uri, start=mark, timeout=60)
    assert published["version"] == 21 and _codes(published) == ["HX900"]
    assert [m["params"]["version"] for m in client.messages("textDocument/publishDiagnostics", mark)] == [21]
    logs = [m["params"]["message"] for m in client.messages("window/logMessage", mark)]
    started = [int(re.search(r" v(\d+)$", m).group(1)) for m in logs if m.startswith(f"scalelint: linting {uri} ")]
    cancelled = [int(re.search(r" v(\d+) after", m).group(1)) for m in logs if m.startswith(f"scalelint: cancelled {uri} ")]
    completed = [m for m in logs if m.startswith(f"scalelint: linted {uri} ")]
    assert started[0] == 1 and started[-1] == 21 and cancelled == started[:-1]
    assert len(completed) == 1 and completed[0].startswith(f"scalelint: linted {uri} v21 ")


def test_a_code_action_waits_for_the_worker_and_leaves_the_message_loop_free(tmp_path: Path, start_server) -> None:
    """A request about a text not linted yet is answered from the worker's
    lint of it: the message loop never lints, so the edit that cancels a
    long lint still gets through, and the request gets that edit's findings."""
    client = _server_with_slow_rule(tmp_path, start_server)
    uri = (tmp_path / "app.py").as_uri()
    client.open(uri, "x = 'FAST'\n")
    client.diagnostics(uri, version=1)
    mark = client.mark()
    client.notify(*client.change(uri, "x = 'SLOW'\n", 2))
    client.wait_for(lambda m: m.get("method") == "window/logMessage" and f"linting {uri} v2" in m["params"]["message"],
                    60, mark)
    everything = {"start": {"line": 0, "character": 0}, "end": {"line": 1, "character": 0}}
    ident = client.send_request("textDocument/codeAction", {"textDocument": {"uri": uri}, "range": everything,
                                                            "context": {"diagnostics": []}})
    client.notify(*client.change(uri, "y = 'FAST'\n", 3))
    assert _codes(client.diagnostics(uri, version=3, start=mark, timeout=60)) == ["HX900"]
    reply = client.wait_for(lambda m: m.get("id") == ident and "method" not in m, 60, mark)
    assert [a["title"] for a in reply["result"]] == ["Disable HX900 for this line"]


SELECTION_SOURCE = textwrap.dedent('''\
    import sqlite3

    import redis

    r = redis.Redis()


    def names(path):
        conn = sqlite3.connect(path)
        rows = conn.execute("SELECT name FROM users").fetchall()
        conn.close()
        return rows


    def remember(user_id, data):
        r.set(f"profile:{user_id}", data)
    ''')
SELECTION_CONFIG = textwrap.dedent("""\
    [tool.scalelint]
    select = ["SL1"]
    extend-select = ["SL302"]
    ignore = ["SL107"]
    per-file-ignores = { "legacy/*.py" = ["SL302"] }
    contexts = { one-shot = ["SL3"] }
    extend-exclude = ["vendored"]
    force-exclude = true

    [tool.scalelint.context-paths]
    "tools/**" = "one-shot"
    """)
SELECTION_FILES = ("app.py", "legacy/old.py", "tools/job.py", "vendored/lib.py")


def _cli_findings(root: Path, *flags: str) -> dict:
    proc = subprocess.run([sys.executable, "-m", "scalelint", "check", "--output-format", "json", "--exit-zero", *flags,
                           *SELECTION_FILES], cwd=root, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    found: dict = {name: [] for name in SELECTION_FILES}
    for f in json.loads(proc.stdout):
        found[f["path"]].append((f["code"], f["line"], f["column"]))
    return {name: sorted(codes) for name, codes in found.items()}


def _server_findings(client, root: Path) -> dict:
    found = {}
    for name in SELECTION_FILES:
        uri = (root / name).as_uri()
        client.open(uri, (root / name).read_text())
        diagnostics = client.diagnostics(uri)["diagnostics"]
        found[name] = sorted((d["code"], d["range"]["start"]["line"] + 1, d["range"]["start"]["character"] + 1)
                             for d in diagnostics)
    return found


def test_the_server_selects_rules_as_the_cli_does(tmp_path: Path, start_server) -> None:
    """select, extend-select, ignore, per-file-ignores, contexts, context-paths
    and force-exclude from pyproject, and select/ignore from the client's
    settings against the same flags: the same findings in the editor."""
    (tmp_path / "pyproject.toml").write_text(SELECTION_CONFIG)
    for name in SELECTION_FILES:
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(SELECTION_SOURCE)
    cli = _cli_findings(tmp_path)
    assert {name: [code for code, *_ in found] for name, found in cli.items()} == {
        "app.py": ["SL102", "SL302"], "legacy/old.py": ["SL102"], "tools/job.py": ["SL302"], "vendored/lib.py": []}
    assert _server_findings(start_server(), tmp_path) == cli
    flagged = _cli_findings(tmp_path, "--select", "SL3,SL107", "--ignore", "SL302")
    assert _server_findings(start_server({"select": ["SL3", "SL107"], "ignore": ["SL302"]}), tmp_path) == flagged
    assert flagged["app.py"] and not flagged["tools/job.py"]


def test_an_unknown_selector_is_the_same_error_as_on_the_command_line(tmp_path: Path, start_server) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.scalelint]\nper-file-ignores = { \"legacy/*.py\" = [\"SL999\"] }\n")
    (tmp_path / "app.py").write_text(SOURCE)
    proc = subprocess.run([sys.executable, "-m", "scalelint", "check", "app.py"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2 and "unknown rule selector 'SL999'" in proc.stderr
    client = start_server()
    uri = (tmp_path / "app.py").as_uri()
    client.open(uri, SOURCE)
    shown = client.wait_for(lambda m: m.get("method") == "window/showMessage")["params"]
    assert shown["type"] == 1 and "unknown rule selector 'SL999' (in per-file-ignores in" in shown["message"]
    wrong = start_server({"ignore": ["SL9999"]})
    wrong.open(uri, SOURCE)
    shown = wrong.wait_for(lambda m: m.get("method") == "window/showMessage")["params"]
    assert "unknown rule selector 'SL9999' (in the language server's settings)" in shown["message"]
    assert not client.messages("textDocument/publishDiagnostics") + wrong.messages("textDocument/publishDiagnostics")


def test_watchers_are_registered_when_the_client_can(tmp_path: Path, start_server) -> None:
    client = start_server(capabilities={"workspace": {"didChangeWatchedFiles": {"dynamicRegistration": True}}})
    request = client.wait_for(lambda m: m.get("method") == "client/registerCapability")
    [registration] = request["params"]["registrations"]
    assert registration["method"] == "workspace/didChangeWatchedFiles"
    assert {w["globPattern"] for w in registration["registerOptions"]["watchers"]} == {"**/pyproject.toml", "**/scalelint.toml"}


def _message(payload: dict) -> bytes:
    body = json.dumps(payload).encode()
    return f"Content-Length: {len(body)}\r\n\r\n".encode() + body


def _read(stream) -> dict:
    length = 0
    while True:
        line = stream.readline()
        if not line.strip():
            break
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return json.loads(stream.read(length))


@pytest.mark.parametrize("header", [b"", b"Content-Type: application/json\r\n", b"Content-Length: many\r\n", b"Content-Length: -3\r\n"],
                         ids=["no-headers", "no-content-length", "non-numeric", "negative"])
def test_language_server_survives_a_bad_content_length(tmp_path: Path, header: bytes) -> None:
    """A malformed message is dropped and the server answers the next ones (issue 11 item 12)."""
    pytest.importorskip("pygls", reason="the lsp extra (pygls) is not installed")
    proc = subprocess.Popen([sys.executable, "-c", "from scalelint.lsp import main; main()"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=tmp_path)
    watchdog = threading.Timer(60, proc.kill)
    watchdog.start()
    try:
        assert proc.stdin and proc.stdout
        bad = json.dumps({"jsonrpc": "2.0", "id": 7, "method": "initialize", "params": {}}).encode()
        proc.stdin.write(header + b"\r\n" + bad)
        for request_id in (1, 2):
            proc.stdin.write(_message({"jsonrpc": "2.0", "id": request_id, "method": "initialize",
                                       "params": {"processId": None, "rootUri": tmp_path.as_uri(), "capabilities": {}}}))
        proc.stdin.flush()
        replies = [_read(proc.stdout), _read(proc.stdout)]
        assert [r.get("id") for r in replies][-1] == 2
        assert "codeActionProvider" in replies[-1]["result"]["capabilities"]
        proc.stdin.write(_message({"jsonrpc": "2.0", "id": 3, "method": "shutdown"}))
        proc.stdin.write(_message({"jsonrpc": "2.0", "method": "exit"}))
        proc.stdin.flush()
        proc.wait(timeout=10)
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
