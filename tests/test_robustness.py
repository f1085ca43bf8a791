"""One file's failure is that file's error, never the run's: pathological
inputs (generated here, never committed) are reported per file and the run
goes on with exit code 1."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from scalelint.core.findings import FileResult
from scalelint.engine.checker import CheckOptions, Checker
from scalelint.engine.dispatch import Batch
from scalelint.engine.guard import Limits
from scalelint.model.module import Recognition
from helpers import rules_for

FLAGGED = textwrap.dedent('''\
    import sqlite3


    def names(path):
        conn = sqlite3.connect(path)
        rows = conn.execute("SELECT name FROM users").fetchall()
        conn.close()
        return rows
    ''')


def _released_by_hand(expression: str) -> str:
    """A flagged function whose query is ``expression`` (valid but deep)."""
    return f'import sqlite3\n\n\ndef f(path):\n    conn = sqlite3.connect(path)\n    conn.execute({expression})\n    conn.close()\n'


def _cli(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess:
    """scalelint in a child process: a crash of the interpreter fails the test, not the suite."""
    return subprocess.run([sys.executable, "-m", "scalelint", *args], cwd=cwd, input=stdin,
                          capture_output=True, text=True, timeout=240)


def _json_run(tmp_path: Path, files: dict[str, str]) -> tuple[int, list[dict], str]:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    proc = _cli("check", "--no-cache", "--output-format", "json", *files, cwd=tmp_path)
    return proc.returncode, json.loads(proc.stdout or "null"), proc.stderr


# -- item 7: deep nesting kills LibCST's native parser -------------------------------------
def test_deeply_nested_brackets_are_that_files_syntax_error(tmp_path: Path) -> None:
    nested = "import sqlite3\nconn = sqlite3.connect('x')\nx = " + "[" * 2000 + "]" * 2000 + "\n"
    code, findings, stderr = _json_run(tmp_path, {"nested.py": nested, "app.py": FLAGGED})
    assert code == 1, stderr
    assert "nested.py: syntax error at line 3" in stderr and "too many nested parentheses" in stderr
    assert [f["path"] for f in findings] == ["app.py"]


def test_nested_brackets_in_a_file_no_rule_can_flag(tmp_path: Path) -> None:
    code, findings, stderr = _json_run(tmp_path, {"nested.py": "x = " + "(" * 3000 + ")" * 3000 + "\n", "app.py": FLAGGED})
    assert code == 1 and "nested.py: syntax error" in stderr
    assert [f["path"] for f in findings] == ["app.py"]


def test_language_server_linter_survives_deep_nesting(tmp_path: Path) -> None:
    script = textwrap.dedent(f'''\
        from scalelint.lsp import DocumentLinter
        text = "import sqlite3\\nconn = sqlite3.connect('x')\\nx = " + "[" * 2000 + "]" * 2000 + "\\n"
        print(DocumentLinter().diagnostics({str(tmp_path / "app.py")!r}, text))
        ''')
    proc = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_libcst_works_on_its_own_large_stack() -> None:
    """Nesting CPython accepts still overflows a small stack in LibCST's native
    parser: with the main thread's stack cut to 256 KiB, the check survives."""
    import resource

    text = _released_by_hand("[" * 150 + "]" * 150)
    script = textwrap.dedent(f'''\
        from scalelint.engine.checker import Checker
        from scalelint.engine.registry import load_registry
        text = {text!r}
        result = Checker(load_registry().select(None)).check("nested.py", text)
        print(result.error, [f.code for f in result.findings])
        ''')

    def small_stack() -> None:
        resource.setrlimit(resource.RLIMIT_STACK, (256 * 1024, resource.getrlimit(resource.RLIMIT_STACK)[1]))

    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, preexec_fn=small_stack)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "None ['SL102']"


# -- item 8: valid code that recurses too deep in LibCST or the model -----------------------
@pytest.mark.parametrize("expression", [
    "conn" + ".strip()" * 200,
    "\n        ".join(f'"select {i} "' for i in range(400)),
    " + ".join(f'"s{i}"' for i in range(400)),
], ids=["200-chained-calls", "400-part-string", "400-term-sum"])
def test_deep_but_valid_code_is_checked(expression: str) -> None:
    checker = Checker(rules_for(), Recognition(), CheckOptions(fix=True))
    result = checker.check("deep.py", _released_by_hand(expression))
    assert result.error is None
    assert result.fixed == 1 and result.findings == []  # SL102 found and fixed
    assert result.fixed_source is not None and "with closing(sqlite3.connect(path)) as conn:" in result.fixed_source


def test_too_deep_code_is_that_files_error_and_the_run_goes_on(tmp_path: Path) -> None:
    code, findings, stderr = _json_run(tmp_path, {"deep.py": _released_by_hand("conn" + ".strip()" * 3000), "app.py": FLAGGED})
    assert code == 1, stderr
    assert "deep.py: skipped: too complex (nested more than 1000 levels deep)" in stderr
    assert [f["path"] for f in findings] == ["app.py"]


def test_time_budget_makes_a_slow_file_that_files_error() -> None:
    text = "import sqlite3\n\n" + "".join(
        f"def f{i}(path):\n    conn = sqlite3.connect(path)\n    conn.execute('select 1')\n    conn.close()\n\n"
        for i in range(400)
    )
    checker = Checker(rules_for(), Recognition(), CheckOptions(limits=Limits(time_budget_s=0.05)))
    result = checker.check("slow.py", text)
    assert result.error is not None and result.error.message == "skipped: too complex (not done after 0.05 s)"
    assert not result.error.internal
    assert checker.check("fast.py", FLAGGED).error is None  # the checker is still usable


# -- item 9: huge files ---------------------------------------------------------------------
def test_a_file_over_the_size_budget_is_reported_and_exits_1(tmp_path: Path) -> None:
    from scalelint.engine.source import MAX_BYTES

    huge = "import sqlite3\nconn = sqlite3.connect('x')\n" + "".join(
        f"def f{i}(a):\n    return a + {i}\n\n" for i in range(MAX_BYTES // 30)
    )
    assert len(huge) > MAX_BYTES
    code, findings, stderr = _json_run(tmp_path, {"huge.py": huge, "app.py": FLAGGED})
    assert code == 1, stderr
    assert "huge.py: skipped: too large (" in stderr and "the limit for one file is 1 MiB)" in stderr
    assert [f["path"] for f in findings] == ["app.py"]


def test_the_budget_wins_over_what_the_interruption_became() -> None:
    """The budget's interruption can land inside CPython's AST constructor,
    which reports it as a SystemError: still that file's "too complex"."""
    from scalelint.engine.guard import OverBudget, TooComplex, run_guarded

    def compile_forever() -> None:
        try:
            while True:
                compile("x = 1", "x.py", "exec")
        except OverBudget:
            raise SystemError("AST constructor recursion depth mismatch (before=24, after=44)") from None

    with pytest.raises(TooComplex, match=r"not done after 0.05 s"):
        run_guarded(compile_forever, 0.05)


# -- a worker that dies -------------------------------------------------------------------
class _KillsItsProcess:
    """A checker whose process dies (as by the OOM killer) on one file."""

    def check(self, path: str, text: str, *, module_name: str = "", ignored: frozenset[str] = frozenset(),
              context: str = "request", pinned: bool = False) -> FileResult:
        if path == "boom.py":
            os.kill(os.getpid(), signal.SIGKILL)
        return FileResult(path)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
def test_a_worker_that_dies_is_replaced_and_its_file_reported() -> None:
    names = [f"f{i}.py" for i in range(20)]
    names.insert(9, "boom.py")
    results: dict[str, FileResult] = {}
    batch: Batch[str] = Batch(_KillsItsProcess, 2, lambda key, result: results.__setitem__(key, result))
    for name in names:
        batch.add(name, (name, "x = 1\n", "", frozenset(), "request", False))
    batch.finish()
    assert sorted(results) == sorted(names)
    assert [name for name, r in results.items() if r.error is not None] == ["boom.py"]
    error = results["boom.py"].error
    assert error is not None and not error.internal
    assert error.message.startswith("skipped: the process checking it died")


# -- item 13: what CPython refuses is never fixed; what it accepts is no syntax error --------
@pytest.mark.parametrize("refused", ["def g(a, a):\n    return a\n", "break\n", "nonlocal conn\n"],
                         ids=["repeated-parameter", "break-outside-a-loop", "module-nonlocal"])
def test_no_fix_is_applied_to_a_file_cpython_refuses(refused: str) -> None:
    text = FLAGGED + "\n\n" + refused
    with pytest.raises(SyntaxError):
        compile(text, "refused.py", "exec")
    checker = Checker(rules_for("SL102"), Recognition(), CheckOptions(fix=True, unsafe_fixes=True))
    result = checker.check("refused.py", text)
    assert result.fixed == 0 and result.fixed_source is None
    assert checker.check("accepted.py", FLAGGED).fixed == 1  # the same finding is fixed where CPython compiles the file


def test_a_backslash_continuation_is_no_syntax_error(tmp_path: Path) -> None:
    text = "import sqlite3\n\nTOTAL = 1 + \\\n    2\n\n" + FLAGGED.split("\n\n\n", 1)[1].replace("SELECT name", "SELECT \\\nname")
    compile(text, "cont.py", "exec")
    code, findings, stderr = _json_run(tmp_path, {"cont.py": text})
    assert code == 1 and "error" not in stderr, stderr
    assert [f["code"] for f in findings] == ["SL102"]


def test_a_file_over_the_memory_budget_is_that_files_error() -> None:
    """Item 9: a worker's address space is capped; what outgrows it is the file's
    error and the worker goes on (run in a child process: the cap is per process)."""
    code = textwrap.dedent('''\
        from scalelint.engine.guard import TooComplex, apply_memory_budget, run_guarded
        apply_memory_budget(2 * 1024 * 1024 * 1024)  # room for two 512 MiB check-thread stacks
        try:
            run_guarded(lambda: bytearray(3 * 1024 * 1024 * 1024))
        except TooComplex as exc:
            print(exc)
        print(len(run_guarded(lambda: bytearray(1024))))
    ''')
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.splitlines() == ["skipped: too complex (over the memory budget of a worker)", "1024"], done.stderr
