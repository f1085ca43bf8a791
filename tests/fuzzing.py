"""The fuzz suite's harness: run the real ``scalelint check`` command on one
generated or mutated file, in check and in ``--fix --unsafe-fixes`` mode, and
assert what must hold for any input whatsoever: no internal error, one-line
per-file errors naming the file, deterministic findings, fixes that compile
and are idempotent.

The sample is bounded for CI (a fixed, derandomised one); set
``SCALELINT_FUZZ_EXAMPLES=5000`` for a long, random run.
"""
from __future__ import annotations

import ast
import io
import json
import keyword
import os
import random
import re
import tokenize
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from click.testing import CliRunner
from hypothesis import HealthCheck, currently_in_test_context, event, settings
from hypothesis import strategies as st

from scalelint.cli import main

FIXTURES = Path(__file__).parent / "fixtures"
SAMPLE_NAME = "sample.py"
EXAMPLES_ENV = "SCALELINT_FUZZ_EXAMPLES"

#: identifiers a renamed program is built from: enough of the rules' vocabulary
#: (connections, cursors, sessions, caches, replicas, queries) to reach the model
DB_WORDS = (
    "conn", "cursor", "session", "Session", "cache", "redis", "db", "replica", "reader", "connection",
    "sqlite3", "psycopg2", "connect", "execute", "commit", "close", "fetchall", "fetchone", "query",
    "objects", "get", "set", "delete", "save", "update", "using", "atomic", "transaction", "getconn",
    "putconn", "begin", "rollback", "filter", "all", "first", "lru_cache", "memoize", "requests",
    "sleep", "pool", "engine", "add", "merge", "select_related", "keys", "scalar", "refresh",
)
#: imports that make a renamed program's names resolve to database and cache libraries
PRELUDE = (
    "import sqlite3\nimport psycopg2\nimport redis\nimport requests\n"
    "from django.db import connection, transaction\nfrom django.core.cache import cache\n"
)
#: what mutations insert: brackets and keywords that unbalance code, literal
#: openers, and the characters that split lines differently for different readers
INSERTED_TOKENS = (
    "(", ")", "[", "]", "{", "}", ":", ",", ";", "\\", "'", '"', '"""', "#", "@", "*", "**", "=", ".",
    "lambda", "else", "def", "class", "async", "await", "yield", "return", "with", "for", "in", "if",
    "match", "case", "try:", "finally:", "global conn", "nonlocal conn", "conn", ".execute(", ".close()",
    "with conn:", "for row in rows:", "\t", "    ", "\x0c", "\r", "\r\n", "\x1c", "\x1e", "\u2028", "\u2029",
    "\x85", "\x0b", "\u00a0", "\ufeff", "é", "名前", "😀", "\x00", "# noqa", "# scalelint: ignore[SL102]",
    "# -*- coding: latin-1 -*-", "\udcff",
)
MUTATIONS = ("delete", "duplicate", "swap", "insert", "indent", "dedent", "tabify", "truncate", "join")


# -- the command --------------------------------------------------------------------
@dataclass(frozen=True)
class Run:
    """One ``scalelint check`` of the sample file: its exit code, the findings
    it printed (JSON) and what it wrote to stderr."""

    exit_code: int
    findings: tuple[str, ...]  # each finding as sorted JSON, so runs compare exactly
    stderr: str


def run_check(path: Path, *options: str) -> Run:
    """``scalelint check --no-cache --output-format json PATH OPTIONS``; an
    exception escaping the command (SCALELINT_DEBUG re-raises internal errors)
    fails the test with its traceback."""
    args = ["check", str(path), "--no-cache", "--output-format", "json", *options]
    result = CliRunner(env={"SCALELINT_DEBUG": "1"}).invoke(main, args, catch_exceptions=False)
    assert result.exit_code in (0, 1), f"exit {result.exit_code}: {result.stderr}"
    assert "internal error" not in result.stderr, result.stderr
    printed = json.loads(result.stdout)
    findings = tuple(sorted(json.dumps(f, sort_keys=True) for f in printed))
    return Run(result.exit_code, findings, result.stderr)


def compiles(data: bytes) -> bool:
    """Whether CPython compiles the file (bytes, so BOMs and coding cookies
    count; to bytecode, so `return` outside a function counts too)."""
    try:
        compile(data, SAMPLE_NAME, "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def encode(text: str) -> bytes:
    """The bytes of a generated text; lone surrogates stay (as invalid UTF-8)."""
    return text.encode("utf-8", "surrogatepass")


# -- the properties ----------------------------------------------------------------------
def assert_errors_name_the_file(run: Run, path: Path) -> None:
    """Every error is one line naming the file; exit 1 without findings has one."""
    errors = [line for line in run.stderr.splitlines() if line.startswith("scalelint: error:")]
    for line in errors:
        assert str(path) in line, line
    if run.exit_code == 1 and not run.findings:
        assert errors, f"exit 1 with neither findings nor an error: {run.stderr!r}"


def note(what: str) -> None:
    """Count a kind of input for ``--hypothesis-show-statistics`` (inside a
    hypothesis test; the regression tests call the same properties directly)."""
    if currently_in_test_context():
        event(what)


def describe(run: Run, valid: bool) -> str:
    """What kind of input this was, for ``--hypothesis-show-statistics``."""
    outcome = "findings" if run.findings else "per-file error" if "scalelint: error:" in run.stderr else "clean"
    return f"{'valid' if valid else 'invalid'} Python, {outcome}"


def assert_survives(data: bytes, workspace: Path) -> None:
    """The properties every input must keep, checked on a file in ``workspace``:
    check twice (same findings), then fix twice (the fix compiles when the input
    did, and fixing again changes nothing)."""
    path = workspace / SAMPLE_NAME
    path.write_bytes(data)
    first = run_check(path)
    assert_errors_name_the_file(first, path)
    note(describe(first, compiles(data)))
    assert run_check(path) == first, "findings differ between two runs on the same file"

    fixing = run_check(path, "--fix", "--unsafe-fixes")
    assert_errors_name_the_file(fixing, path)
    fixed = path.read_bytes()
    if fixed == data:
        return
    note("fixed")
    if compiles(data):
        assert compiles(fixed), "the fix stopped the file compiling:\n" + fixed.decode("utf-8", "replace")
    recheck = run_check(path)
    assert (recheck.exit_code, recheck.findings) == (fixing.exit_code, fixing.findings), (
        "a check of the fixed file reports other findings than the fix run did"
    )
    run_check(path, "--fix", "--unsafe-fixes")
    assert path.read_bytes() == fixed, "fixing the fixed file changed it again"


# -- hypothesis settings ------------------------------------------------------------
def fuzz_settings(examples: int) -> settings:
    """A small, derandomised sample by default (the same one in every CI run);
    ``SCALELINT_FUZZ_EXAMPLES=N`` asks for N random examples per test instead."""
    wanted = os.environ.get(EXAMPLES_ENV, "").strip()
    long_run = wanted.isdigit() and int(wanted) > 0
    return settings(
        max_examples=int(wanted) if long_run else examples,
        derandomize=not long_run,
        deadline=None,
        database=None,  # nothing written into the checkout
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )


# -- generated programs -----------------------------------------------------------------
def rename_to_db_words(source: str, rng: random.Random) -> str:
    """The same program with each identifier consistently renamed to a word of
    the rules' vocabulary; unchanged if it does not tokenize."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return source
    names: dict[str, str] = {}
    lines = source.splitlines(keepends=True)
    for tok in reversed(tokens):  # right to left: earlier columns stay valid
        if tok.type != tokenize.NAME or keyword.iskeyword(tok.string) or keyword.issoftkeyword(tok.string):
            continue
        row, col = tok.start
        if tok.end[0] != row or row > len(lines) or lines[row - 1][col:tok.end[1]] != tok.string:
            return source  # a line split tokenize and str.splitlines disagree on
        new = names.setdefault(tok.string, rng.choice(DB_WORDS))
        lines[row - 1] = lines[row - 1][:col] + new + lines[row - 1][tok.end[1]:]
    return "".join(lines)


def with_prelude(source: str) -> str:
    """The program after the database imports (before them if it has a
    ``__future__`` import, which must come first)."""
    if "__future__" in source:
        return source + ("" if source.endswith("\n") else "\n") + PRELUDE
    return PRELUDE + source


# -- real files and their mutations -----------------------------------------------------
@cache
def fixture_files() -> tuple[Path, ...]:
    """The fixtures this Python can parse (some use newer syntax, ``class Repo[M]:``)."""
    return tuple(path for path in sorted(FIXTURES.rglob("*.py")) if _parses(path))


def _parses(path: Path) -> bool:
    try:
        ast.parse(path.read_text(encoding="utf-8"))
    except SyntaxError:
        return False
    return True


@cache
def block_starts(path: Path) -> tuple[tuple[int, str], ...]:
    """(line index, indentation) of each statement that begins a function
    body on its own line: where a generated block can be spliced in."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    starts = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            first = node.body[0]
            indent = lines[first.lineno - 1][: first.col_offset]
            if not indent.strip():
                starts.append((first.lineno - 1, indent))
    return tuple(starts)


def splice(path: Path, block: str, choice: int) -> str:
    """The file with ``block`` inserted, indented, at the start of one of its
    function bodies (at the top of the file if it has none)."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    starts = block_starts(path)
    index, indent = starts[choice % len(starts)] if starts else (0, "")
    block_lines = re.split(r"(?<=\n)", block)  # "\n" only: a form feed or CR inside a literal stays there
    body = "".join(indent + line if line.strip() else line for line in block_lines)
    if not body.endswith("\n"):
        body += "\n"
    return "".join(lines[:index]) + body + "".join(lines[index:])


@dataclass(frozen=True)
class Mutation:
    """One structure-aware edit of a file's lines (positions are taken modulo
    the file's size, so any drawn integers make a valid mutation)."""

    kind: str
    at: int
    other: int
    token: str

    def apply(self, text: str) -> str:
        lines = text.splitlines(keepends=True) or [""]
        i, j = self.at % len(lines), self.other % len(lines)
        line = lines[i]
        if self.kind == "delete":
            del lines[i]
        elif self.kind == "duplicate":
            lines.insert(i, line)
        elif self.kind == "swap":
            lines[i], lines[j] = lines[j], lines[i]
        elif self.kind == "insert":
            column = self.other % (len(line) + 1)
            lines[i] = line[:column] + self.token + line[column:]
        elif self.kind == "indent":
            lines[i] = " " * (1 + self.other % 8) + line
        elif self.kind == "dedent":
            lines[i] = line.lstrip(" \t")
        elif self.kind == "tabify":
            lines[i] = line.replace("    ", "\t", 1 + self.other % 2)
        elif self.kind == "join":
            lines[i] = line.rstrip("\r\n")
        elif self.kind == "truncate":
            return "".join(lines)[: self.at % (len(text) + 1)]
        return "".join(lines)


mutations = st.builds(
    Mutation,
    kind=st.sampled_from(MUTATIONS),
    at=st.integers(0, 10_000),
    other=st.integers(0, 10_000),
    token=st.sampled_from(INSERTED_TOKENS),
)
