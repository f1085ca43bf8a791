"""``--diff-base REF``: which Python files changed since a git ref (its merge
base with HEAD, to the working tree, plus untracked files), and which of
their lines."""
from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from scalelint.core.errors import UsageError
from scalelint.engine.discovery import PYTHON_SUFFIXES

_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")


@dataclass
class ChangeSet:
    """Changed files (real paths) and their changed lines (None: every line)."""

    ref: str
    lines: dict[str, set[int] | None] = field(default_factory=dict)

    def files_under(self, paths: list[str]) -> list[str]:
        """The changed files inside any of ``paths``, as paths from the working directory."""
        tops = [os.path.realpath(p) for p in paths]
        chosen = [f for f in sorted(self.lines) if any(f == top or f.startswith(top.rstrip(os.sep) + os.sep) for top in tops)]
        return [os.path.relpath(f) for f in chosen]

    def touches(self, path: str, first: int, last: int) -> bool:
        """Whether lines ``first``..``last`` of ``path`` include a changed one."""
        changed = self.lines.get(os.path.realpath(path), set())
        return changed is None or any(line in changed for line in range(first, last + 1))


def _git(args: list[str], cwd: Path) -> str:
    try:
        done = subprocess.run(["git", "-c", "core.quotepath=off", *args], cwd=cwd, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise UsageError("--diff-base needs git, which is not installed") from None
    if done.returncode != 0:
        raise _GitFailed(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"git {args[0]} failed")
    return done.stdout


class _GitFailed(Exception):
    pass


def changed_since(ref: str, cwd: Path) -> ChangeSet:
    """The Python files changed since ``ref`` in the repository holding ``cwd``."""
    try:
        top = Path(_git(["rev-parse", "--show-toplevel"], cwd).strip())
    except _GitFailed:
        raise UsageError(f"--diff-base {ref}: {os.path.abspath(cwd)} is not inside a git repository") from None
    try:
        _git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], top)
        base = _git(["merge-base", ref, "HEAD"], top).strip()
    except _GitFailed:
        raise UsageError(f"--diff-base {ref}: not a commit, branch or tag of the repository at {top}") from None
    changes = ChangeSet(ref)
    diff = _git(["diff", "--no-color", "--no-ext-diff", "-U0", "--diff-filter=d", base, "--", "*.py", "*.pyi"], top)
    current: set[int] | None = None
    for line in diff.splitlines():
        if line.startswith("+++ "):
            name = line[4:]
            current = set() if name.startswith("b/") else None
            if current is not None:
                changes.lines[os.path.realpath(top / name[2:])] = current
        elif current is not None and (match := _HUNK.match(line)):
            start, count = int(match.group(1)), int(match.group(2) or 1)
            current.update(range(start, start + count))
    untracked = _git(["ls-files", "--others", "--exclude-standard", "-z", "--", "*.py", "*.pyi"], top)
    for name in filter(None, untracked.split("\0")):
        changes.lines[os.path.realpath(top / name)] = None
    changes.lines = {p: lines for p, lines in changes.lines.items() if p.endswith(PYTHON_SUFFIXES)}
    return changes
