"""``[tool.scalelint]`` in pyproject.toml: found, read, validated.

Every key is declared once in ``KEYS`` with its type; unknown keys and values
of the wrong type are errors that name the key and the file.

Besides the project's table, the user's own config
(``$XDG_CONFIG_HOME/scalelint/config.toml``) holds what only the user may
decide: which projects' local rules to trust, and where to put the cache.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping

from scalelint.core.errors import ConfigError
from scalelint.core.findings import Confidence
from scalelint.model.contexts import CONTEXTS
from scalelint.engine.discovery import glob_problem

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib


@dataclass
class Config:
    """The effective configuration of a run (file values, then CLI overrides)."""

    path: Path | None = None  # the pyproject.toml it came from
    root: Path = field(default_factory=Path.cwd)  # where relative globs start
    root_is_project: bool = False  # root found by a pyproject.toml or .git marker
    select: list[str] | None = None
    ignore: list[str] = field(default_factory=list)
    extend_select: list[str] = field(default_factory=list)
    per_file_ignores: dict[str, list[str]] = field(default_factory=dict)
    exclude: list[str] = field(default_factory=list)
    extend_exclude: list[str] = field(default_factory=list)
    respect_gitignore: bool = True
    include_generated: bool = False
    force_exclude: bool = False  # excludes apply to explicitly named files and --stdin-filename too
    local_rules: list[str] = field(default_factory=list)
    cache_dir: str = ".scalelint_cache"
    baseline: str | None = None
    #: per code context: true (every rule checks it), false (none does) or the
    #: rule codes/prefixes that do; contexts not named keep the rules' defaults
    contexts: dict[str, bool | list[str]] = field(default_factory=dict)
    #: glob -> code context, overriding what the path says (first match wins)
    context_paths: dict[str, str] = field(default_factory=dict)
    bare_noqa: str = "report"  # what a bare `# noqa` means: report | suppress | ignore
    #: the least confidence a reported finding has: "high" (strong evidence only) or "low" (all)
    min_confidence: str = "high"
    #: ``[tool.scalelint.rules.<CODE>]``: rule code -> option -> number (each rule
    #: declares its options and defaults; scalelint.api.select_rules checks the names)
    rules: dict[str, dict[str, float]] = field(default_factory=dict)
    # recognition knobs (rules.md "How database, replica and cache are recognised")
    connection_factories: list[str] = field(default_factory=list)
    replica_handles: list[str] = field(default_factory=list)
    replica_aliases: list[str] = field(default_factory=list)
    primary_handles: list[str] = field(default_factory=list)
    cache_clients: list[str] = field(default_factory=list)
    critical_caches: list[str] = field(default_factory=list)
    evicting_caches: list[str] = field(default_factory=list)
    invalidation_helpers: list[str] = field(default_factory=list)
    event_publishers: list[str] = field(default_factory=list)
    io_functions: list[str] = field(default_factory=list)
    lock_helpers: list[str] = field(default_factory=list)

    def fingerprint(self) -> str:
        """A hash of everything that can change a file's results."""
        data = {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name not in ("path", "root", "root_is_project", "cache_dir", "baseline", "force_exclude")
        }
        return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]

    @property
    def confidence(self) -> Confidence:
        """``min-confidence`` as a Confidence."""
        return Confidence(self.min_confidence)

    def runs_in(self, code: str, declared: frozenset[str]) -> frozenset[str]:
        """The code contexts rule ``code`` checks: its declared defaults, as
        ``contexts`` overrides them."""
        out = set()
        for context in CONTEXTS:
            setting = self.contexts.get(context)
            if setting is None:
                checked = context in declared
            elif isinstance(setting, bool):
                checked = setting
            else:
                checked = any(code.startswith(selector.upper()) for selector in setting)
            if checked:
                out.add(context)
        return frozenset(out)

    def recognition(self) -> dict[str, tuple[str, ...]]:
        """The recognition knobs, handed to the semantic model."""
        return {name: tuple(getattr(self, name)) for name in RECOGNITION_KEYS}


RECOGNITION_KEYS = (
    "connection_factories",
    "replica_handles",
    "replica_aliases",
    "primary_handles",
    "cache_clients",
    "critical_caches",
    "evicting_caches",
    "invalidation_helpers",
    "event_publishers",
    "io_functions",
    "lock_helpers",
)

_STR_LIST = "list of strings"
KEYS: dict[str, str] = {
    "select": _STR_LIST,
    "ignore": _STR_LIST,
    "extend-select": _STR_LIST,
    "per-file-ignores": "table of glob = list of strings",
    "exclude": _STR_LIST,
    "extend-exclude": _STR_LIST,
    "respect-gitignore": "boolean",
    "include-generated": "boolean",
    "force-exclude": "boolean",
    "local-rules": _STR_LIST,
    "cache-dir": "string",
    "baseline": "string",
    "contexts": "table of context = boolean or list of rule codes",
    "context-paths": "table of glob = context",
    "bare-noqa": "one of 'report', 'suppress', 'ignore'",
    "min-confidence": "one of 'high', 'low'",
    "rules": "table of rule code = table of option = number",
    **{k.replace("_", "-"): _STR_LIST for k in RECOGNITION_KEYS},
}


def find_pyproject(start: Path) -> Path | None:
    """The nearest pyproject.toml with a [tool.scalelint] table, searching upward."""
    start = start.resolve()
    for directory in [start, *start.parents] if start.is_dir() else start.parents:
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            try:
                data = _read_toml(candidate)
            except ConfigError:
                raise
            if "scalelint" in _tool_table(data, candidate):
                return candidate
    return None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None


def load_config(explicit: Path | None, search_from: Path) -> Config:
    """Read ``--config`` if given, else the nearest pyproject.toml with our table."""
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(f"{explicit}: config file not found")
        path: Path | None = explicit
    else:
        path = find_pyproject(search_from)
    if path is None:
        return Config(**_project_root(search_from))
    data = _read_toml(path)
    if path.name == "pyproject.toml" or "tool" in data:
        table = _tool_table(data, path).get("scalelint", {})
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: [tool.scalelint] must be a table, got {type(table).__name__} {table!r}")
    else:  # a dedicated scalelint.toml: keys at the top level
        table = data
    return parse_table(table, path)


def _tool_table(data: dict[str, Any], path: Path) -> dict[str, Any]:
    tool = data.get("tool", {})
    if not isinstance(tool, dict):
        raise ConfigError(f"{path}: key 'tool' must be a table, got {type(tool).__name__} {tool!r}")
    return tool


def project_root(search_from: Path) -> Path:
    """The directory of the project ``search_from`` is in (see _project_root)."""
    return _project_root(search_from)["root"]


def _project_root(search_from: Path) -> dict[str, Any]:
    """Without a config, the project is the nearest directory holding a
    pyproject.toml or .git; failing that, where the search started."""
    start = search_from.resolve()
    start = start if start.is_dir() else start.parent
    for directory in [start, *start.parents]:
        if (directory / "pyproject.toml").is_file() or (directory / ".git").exists():
            return {"root": directory, "root_is_project": True}
    return {"root": start, "root_is_project": False}


def parse_table(table: dict[str, Any], path: Path) -> Config:
    config = Config(path=path, root=path.resolve().parent, root_is_project=True)
    for key, value in table.items():
        expected = KEYS.get(key)
        if expected is None:
            hint = _closest(key)
            raise ConfigError(
                f"{path}: unknown key {key!r} in [tool.scalelint]"
                + (f" (did you mean {hint!r}?)" if hint else "")
            )
        _set_checked(config, key, value, expected, path)
    return config


def _set_checked(config: Any, key: str, value: Any, expected: str, path: Path) -> None:
    """Validate one key's value (type, context names, globs), then set it."""
    _check_type(key, value, expected, path)
    if key in ("contexts", "context-paths"):
        _check_contexts(key, value, path)
    _check_globs(key, value, path)
    setattr(config, key.replace("-", "_"), value)


def _check_contexts(key: str, table: dict[str, Any], path: Path) -> None:
    """Context names must be known: ``contexts`` keys, ``context-paths`` values."""
    names = table.keys() if key == "contexts" else table.values()
    for name in names:
        if name not in CONTEXTS:
            import difflib

            hint = difflib.get_close_matches(name, CONTEXTS, n=1)
            raise ConfigError(
                f"{path}: key {key!r}: unknown context {name!r}"
                + (f" (did you mean {hint[0]!r}?)" if hint else "")
                + f"; contexts are {', '.join(CONTEXTS)}"
            )


def _check_globs(key: str, value: Any, path: Path) -> None:
    """The globs of ``exclude``, ``extend-exclude`` and ``per-file-ignores`` compile."""
    if key not in ("exclude", "extend-exclude", "per-file-ignores"):
        return
    for pattern in value:
        problem = glob_problem(pattern)
        if problem is not None:
            raise ConfigError(f"{path}: key {key!r}: invalid glob {pattern!r}: {problem}")


def _check_type(key: str, value: Any, expected: str, path: Path) -> None:
    ok: bool
    if expected == _STR_LIST:
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
    elif expected == "boolean":
        ok = isinstance(value, bool)
    elif expected == "string":
        ok = isinstance(value, str)
    elif key == "contexts":
        ok = isinstance(value, dict) and all(
            isinstance(v, bool) or (isinstance(v, list) and all(isinstance(c, str) for c in v)) for v in value.values()
        )
    elif key == "context-paths":
        ok = isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
    elif key == "rules":
        ok = isinstance(value, dict) and all(
            isinstance(v, dict) and all(_number(n) for n in v.values()) for v in value.values()
        )
    elif expected.startswith("one of "):
        ok = isinstance(value, str) and f"'{value}'" in expected[len("one of "):].split(", ")
    else:  # per-file-ignores
        ok = isinstance(value, dict) and all(
            isinstance(v, list) and all(isinstance(c, str) for c in v) for v in value.values()
        )
    if not ok:
        raise ConfigError(
            f"{path}: key {key!r} must be {expected if expected.startswith('one of ') else 'a ' + expected}, got {type(value).__name__} {value!r}"
        )


def _number(value: Any) -> bool:
    """A non-negative int or float (not a bool, which TOML keeps apart)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0


def _closest(key: str) -> str | None:
    import difflib

    matches = difflib.get_close_matches(key, list(KEYS), n=1)
    return matches[0] if matches else None


# -- the user's own config, and trust in a project's local rules -----------------
#: an environment variable that trusts every project's local rules (1, true, yes)
TRUST_ENV = "SCALELINT_TRUST_LOCAL_RULES"
USER_KEYS: dict[str, str] = {"cache-dir": "string", "trusted-projects": _STR_LIST}


@dataclass
class UserConfig:
    """The user's settings, which no project can make for them."""

    path: Path | None = None
    cache_dir: str | None = None
    trusted_projects: list[str] = field(default_factory=list)


def user_config_path(environ: Mapping[str, str] = os.environ) -> Path:
    base = environ.get("XDG_CONFIG_HOME", "")
    return (Path(base) if os.path.isabs(base) else Path.home() / ".config") / "scalelint" / "config.toml"


def load_user_config(environ: Mapping[str, str] = os.environ) -> UserConfig:
    """The user's config file if there is one; its mistakes name the file and key."""
    path = user_config_path(environ)
    if not path.is_file():
        return UserConfig()
    config = UserConfig(path=path)
    for key, value in _read_toml(path).items():
        expected = USER_KEYS.get(key)
        if expected is None:
            raise ConfigError(f"{path}: unknown key {key!r} (known: {', '.join(USER_KEYS)})")
        _set_checked(config, key, value, expected, path)
    return config


def inside_root(path: Path, root: Path) -> bool:
    """Whether ``path`` stays inside ``root`` once symlinks are resolved."""
    return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(root))


def trusts_local_rules(config: Config, flag: bool, environ: Mapping[str, str] = os.environ) -> bool:
    """Whether the user trusts this project's code: ``--trust-local-rules``,
    $SCALELINT_TRUST_LOCAL_RULES, or the project root in ``trusted-projects``
    of the user's config."""
    if flag or environ.get(TRUST_ENV, "").strip().lower() in ("1", "true", "yes"):
        return True
    if not config.local_rules:
        return False  # nothing to trust: the user's config need not be read
    root = os.path.realpath(config.root)
    listed = load_user_config(environ).trusted_projects
    return any(os.path.realpath(os.path.expanduser(entry)) == root for entry in listed)


@dataclass(frozen=True)
class LocalRules:
    """The local rule files a run imports, and a notice when a project's were
    left out because the user does not trust them (yet)."""

    paths: list[Path]
    notice: str | None = None


def local_rules_to_load(config: Config, trusted: bool, how_to_trust: str = "") -> LocalRules:
    """The project's ``local-rules`` to import: none unless trusted, and
    never a file outside the project root (a config error naming the key)."""
    if not config.local_rules:
        return LocalRules([])
    where = config.path or config.root
    if not trusted:
        how = how_to_trust or (
            f"pass --trust-local-rules, set {TRUST_ENV}=1, or add {config.root} to "
            f"trusted-projects in {user_config_path()}"
        )
        return LocalRules([], f"{where}: local-rules not loaded, scalelint runs a project's code only when you trust it ({how})")
    paths = []
    for entry in config.local_rules:
        path = config.root / entry
        if not inside_root(path, config.root):
            raise ConfigError(f"{where}: key 'local-rules': {entry!r} is outside the project root {config.root}")
        paths.append(path)
    return LocalRules(paths)
