"""Which files a run checks: paths from the command line, walked, minus
default and configured excludes and whatever .gitignore files ignore."""
from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from scalelint.core.errors import UsageError

DEFAULT_EXCLUDES = (
    ".git", ".hg", ".svn", ".bzr", ".tox", ".nox", ".venv", "venv", ".eggs",
    "__pypackages__", "__pycache__", "node_modules", "site-packages", "build",
    "dist", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".scalelint_cache",
)
PYTHON_SUFFIXES = (".py", ".pyi")
#: marks of a template (cookiecutter, Jinja, copier) in a file or directory name:
#: what is below is rendered into Python, not Python yet
TEMPLATE_MARKS = ("{{", "{%")


def templated(name: str) -> bool:
    """A path whose name holds a template expression (``{{cookiecutter.app}}``)."""
    return any(mark in name for mark in TEMPLATE_MARKS)


@dataclass
class GitIgnore:
    """One .gitignore file's rules, relative to its directory."""

    base: Path
    rules: list[tuple[re.Pattern[str], bool, bool]] = field(default_factory=list)

    @property
    def _base_prefix(self) -> str:
        return self.base.as_posix().rstrip("/") + "/"

    @classmethod
    def read(cls, path: Path) -> "GitIgnore":
        ignore = cls(path.parent)
        try:
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return ignore
        for raw in lines:
            line = raw.rstrip()
            if not line or line.startswith("#"):
                continue
            negate = line.startswith("!")
            if negate:
                line = line[1:]
            dir_only = line.endswith("/")
            line = line.strip("/") if dir_only else line
            anchored = "/" in line.lstrip("/") or line.startswith("/")
            pattern = _glob_to_regex(line.lstrip("/"), anchored)
            ignore.rules.append((pattern, negate, dir_only))
        return ignore

    def verdict(self, path: str, is_dir: bool) -> bool | None:
        """True ignored, False re-included, None no rule applies (``path``
        absolute, with forward slashes)."""
        base = self._base_prefix
        if not path.startswith(base):
            return None
        rel = path[len(base):]
        result = None
        for pattern, negate, dir_only in self.rules:
            if dir_only and not is_dir:
                continue
            if pattern.fullmatch(rel):
                result = not negate
        return result


def _glob_to_regex(glob: str, anchored: bool) -> re.Pattern[str]:
    out = []
    i = 0
    while i < len(glob):
        if glob.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif glob.startswith("/**", i) and i + 3 == len(glob):
            out.append("/.*")
            i += 3
        elif glob[i] == "*":
            out.append("[^/]*")
            i += 1
        elif glob[i] == "?":
            out.append("[^/]")
            i += 1
        elif glob[i] == "[":
            end = glob.find("]", i)
            if end == -1:
                out.append(re.escape(glob[i]))
                i += 1
            else:
                out.append(glob[i : end + 1])
                i = end + 1
        else:
            out.append(re.escape(glob[i]))
            i += 1
    body = "".join(out)
    return re.compile(body if anchored else f"(?:.*/)?{body}")


@dataclass
class Discovery:
    root: Path
    exclude: list[str]
    respect_gitignore: bool = True
    #: directories walked and ignore files read: while none of them changes,
    #: the same walk finds the same files (a cached file list stays valid)
    watched: list[str] = field(default_factory=list)
    #: template files and directories left out (reported by --statistics, not as errors)
    templated: int = 0
    #: (display path, problem) of given paths missing and directories unreadable:
    #: each is that path's error, and the rest is checked
    problems: list[tuple[str, str]] = field(default_factory=list)

    def files(self, paths: list[str]) -> list[tuple[str, Path]]:
        """(display path, real path) for every file to check, sorted. Raises
        UsageError only when no given path exists (nothing to check)."""
        found: dict[str, Path] = {}
        missing = [given for given in paths if not Path(given).exists()]
        if missing and len(missing) == len(paths):
            raise UsageError("; ".join(f"{given}: no such file or directory" for given in missing))
        self.problems.extend((given, "no such file or directory") for given in missing)
        for given in paths:
            real = Path(given)
            if given in missing:
                continue
            if real.is_file():
                # explicitly named files are checked even if excluded by a walk rule
                # (pre-commit passes staged files one by one), but never non-Python
                if real.suffix in PYTHON_SUFFIXES or given.endswith(PYTHON_SUFFIXES):
                    if templated(given):
                        self.templated += 1
                        continue
                    resolved = real.resolve()
                    if not self._excluded_by_config(str(resolved)):
                        found[os.path.normpath(given)] = resolved
                continue
            ignores = self._ignores_above(real) if self.respect_gitignore else []
            for display, path in self._walk(given, real, ignores):
                found[display] = path
        return sorted(found.items())

    def _walk(self, given: str, top: Path, ignores: list[GitIgnore]):
        top_real = str(top.resolve())
        stack = [(top_real, ignores)]
        while stack:
            directory, active = stack.pop()
            self.watched.append(directory)
            if self.respect_gitignore and os.path.isfile(os.path.join(directory, ".gitignore")):
                self.watched.append(os.path.join(directory, ".gitignore"))
                active = active + [GitIgnore.read(Path(directory) / ".gitignore")]
            try:
                entries = sorted(os.scandir(directory), key=lambda e: e.name)
            except OSError as exc:
                shown = os.path.normpath(os.path.join(given, directory[len(top_real) + 1:]))
                self.problems.append((shown, f"cannot read directory: {exc.strerror or exc}"))
                continue
            subdirs = []
            for entry in entries:
                path = entry.path
                if entry.is_dir(follow_symlinks=False):
                    if entry.name in DEFAULT_EXCLUDES or entry.name.startswith("."):
                        continue
                    if templated(entry.name):
                        self.templated += 1
                        continue
                    if self._ignored(path, True, active) or self._excluded_by_config(path):
                        continue
                    subdirs.append((path, active))
                elif entry.name.endswith(PYTHON_SUFFIXES) and entry.is_file():
                    if self._ignored(path, False, active) or self._excluded_by_config(path):
                        continue
                    if templated(entry.name):
                        self.templated += 1
                        continue
                    rel = path[len(top_real) + 1:]
                    yield os.path.normpath(os.path.join(given, rel)), Path(path)
            stack.extend(reversed(subdirs))

    @staticmethod
    def _ignored(path: str, is_dir: bool, active: list[GitIgnore]) -> bool:
        if not active:
            return False
        posix = path.replace(os.sep, "/")
        result = False
        for ignore in active:
            verdict = ignore.verdict(posix, is_dir)
            if verdict is not None:
                result = verdict
        return result

    def _ignores_above(self, directory: Path) -> list[GitIgnore]:
        """.gitignore files in the parents of a walked directory, up to the repo root."""
        found = []
        inside: list[str] = []  # parents up to the repo root, where a new ignore file would count
        current = directory.resolve()
        for parent in current.parents:
            inside.append(str(parent))
            if (parent / ".gitignore").is_file():
                self.watched.append(str(parent / ".gitignore"))
                found.append(GitIgnore.read(parent / ".gitignore"))
            if (parent / ".git").exists():
                self.watched.extend(inside)
                break
        found.reverse()
        return found

    def _excluded_by_config(self, path: str) -> bool:
        """``path`` is absolute (resolved); globs are relative to the config root."""
        if not self.exclude:
            return False
        root = self._root_prefix
        posix = path.replace(os.sep, "/")
        rel = posix[len(root):] if posix.startswith(root) else posix
        parts = rel.split("/")
        for pattern in self.exclude:
            if matches_glob(rel, pattern) or any(fnmatch.fnmatchcase(p, pattern) for p in parts):
                return True
        return False

    @property
    def _root_prefix(self) -> str:
        cached = self.__dict__.get("_root_cache")
        if cached is None:
            cached = self.root.resolve().as_posix().rstrip("/") + "/"
            self.__dict__["_root_cache"] = cached
        return cached


def glob_problem(pattern: str) -> str | None:
    """Why a configured glob cannot be used (a bad ``[...]`` range), or None."""
    try:
        _glob_to_regex(pattern.strip("/"), anchored=True)
        re.compile(fnmatch.translate(pattern))
    except re.error as exc:
        return str(exc)
    return None


def matches_glob(rel_posix: str, pattern: str) -> bool:
    """Glob match on a root-relative posix path; ``**`` spans directories."""
    regex = _glob_to_regex(pattern.strip("/"), anchored=True)
    if regex.fullmatch(rel_posix):
        return True
    # a directory pattern matches everything below it
    return any(regex.fullmatch("/".join(rel_posix.split("/")[:i])) for i in range(1, rel_posix.count("/") + 1))
