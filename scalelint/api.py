"""The public Python API: findings (with their fixes) for paths or for one
source text, without the command line.

    >>> import scalelint
    >>> result = scalelint.check_source(text, path="app/orders.py")
    >>> [(f.code, f.line, f.fix is not None) for f in result.findings]

``import scalelint`` stays cheap: this module (and LibCST, and the rules) is
imported on first use of ``scalelint.check_paths`` or ``scalelint.check_source``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Sequence

from scalelint.core.errors import UsageError
from scalelint.core.findings import FileError, Finding, Fix, FixSafety

if TYPE_CHECKING:
    from scalelint.engine.config import Config
    from scalelint.engine.registry import Registry
    from scalelint.rule import Rule

__all__ = ["CheckResult", "FileError", "Finding", "Fix", "FixSafety", "UsageError", "check_paths", "check_source"]


@dataclass
class CheckResult:
    """What a check found: findings (sorted, each with its ``fix`` or None),
    files that could not be checked, and how many files were checked."""

    findings: list[Finding] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)
    files: int = 0
    fixed: int = 0  # fixes applied (``fix=True``)
    #: check_source with ``fix=True``: the text with the fixes applied (the input if none applied)
    fixed_source: str | None = None


@dataclass(frozen=True)
class Selection:
    """Rule selectors on top of the configuration (codes, prefixes or names)."""

    select: Sequence[str] | None = None  # replaces the configured selection
    ignore: Sequence[str] = ()
    extend_select: Sequence[str] = ()
    #: where these selectors come from, as an error about one names it
    origin: str = "command line"


def select_rules(registry: "Registry", config: "Config", selection: Selection, skip_unknown: bool = False) -> list[type["Rule"]]:
    """The rules a run uses: the configured selection, or ``select`` in its
    place, minus ``ignore``, plus ``extend_select``; unknown selectors are
    UsageErrors naming where they came from. The one place every face (the
    CLI, this API, the language server) selects rules."""
    where = str(config.path) if config.path else ""
    ignore, extend = list(selection.ignore), list(selection.extend_select)
    if selection.select is not None:
        rules = registry.select(list(selection.select), ignore, extend, selection.origin)
    else:
        registry.select([], ignore, extend, selection.origin)  # validate the caller's selectors
        rules = registry.select(config.select, config.ignore + ignore, config.extend_select + extend, where, skip_unknown)
    for codes in config.per_file_ignores.values():
        for code in codes:
            registry.select([code], where=f"per-file-ignores in {where}", skip_unknown=skip_unknown)
    for context, listed in config.contexts.items():
        for code in listed if isinstance(listed, list) else ():
            registry.select([code], where=f"contexts.{context} in {where}", skip_unknown=skip_unknown)
    _check_rule_options(registry, config, where, skip_unknown)
    return rules


def _check_rule_options(registry: "Registry", config: "Config", where: str, skip_unknown: bool) -> None:
    """Every ``[tool.scalelint.rules.<CODE>]`` names a rule and options it declares."""
    for code, options in config.rules.items():
        rule = registry.lookup(code)
        if rule is None:
            registry.select([code], where=f"rules in {where}", skip_unknown=skip_unknown)
            continue
        for name in options:
            if name not in rule.options:
                known = ", ".join(sorted(rule.options)) or "none"
                raise UsageError(f"{where}: unknown option {name!r} in [tool.scalelint.rules.{code}] (known: {known})")


def check_paths(
    paths: Iterable[str | os.PathLike[str]],
    *,
    config: str | os.PathLike[str] | None = None,
    select: Sequence[str] | None = None,
    ignore: Sequence[str] = (),
    extend_select: Sequence[str] = (),
    fix: bool = False,
    unsafe_fixes: bool = False,
    cache: bool = True,
    jobs: int | None = None,
    trust_local_rules: bool = False,
) -> CheckResult:
    """Check files and directories as ``scalelint check`` does.

    ``config`` is a config file (default: the nearest ``pyproject.toml`` with a
    ``[tool.scalelint]`` table above the first path). ``fix=True`` writes the
    fixes into the files, as ``--fix`` does. Raises UsageError for a missing
    path, a bad config or an unknown rule selector."""
    given = [os.fspath(p) for p in paths] or ["."]
    return _run(given, None, None, config, Selection(select, ignore, extend_select), fix, unsafe_fixes, cache, jobs, trust_local_rules)


def check_source(
    text: str,
    path: str | os.PathLike[str] = "<source>.py",
    *,
    config: str | os.PathLike[str] | None = None,
    select: Sequence[str] | None = None,
    ignore: Sequence[str] = (),
    extend_select: Sequence[str] = (),
    fix: bool = False,
    unsafe_fixes: bool = False,
    cache: bool = True,
    trust_local_rules: bool = False,
) -> CheckResult:
    """Check one source text as if it were the file at ``path`` (an editor
    buffer): the project's config applies, and project-wide rules see the
    project's other files (from the cache). Nothing is written but the cache;
    with ``fix=True`` the fixed text is ``result.fixed_source``."""
    name = os.fspath(path)
    return _run([], text, name, config, Selection(select, ignore, extend_select), fix, unsafe_fixes, cache, 1, trust_local_rules)


def _run(
    paths: list[str], text: str | None, name: str | None, config_path: str | os.PathLike[str] | None,
    selection: Selection, fix: bool, unsafe_fixes: bool, cache: bool, jobs: int | None, trust: bool,
) -> CheckResult:
    from scalelint.engine.cache import locate_cache
    from scalelint.engine.config import load_config, local_rules_to_load, trusts_local_rules
    from scalelint.engine.registry import load_registry
    from scalelint.engine.runner import Runner, RunSettings

    anchor = Path(name).parent if name is not None else Path(paths[0])
    config = load_config(Path(config_path) if config_path is not None else None, anchor if anchor.exists() else Path("."))
    local = local_rules_to_load(config, trusts_local_rules(config, trust))
    registry = load_registry(local.paths)
    rules = select_rules(registry, config, selection, skip_unknown=local.notice is not None)
    cache_dir = locate_cache(config).directory if cache else None
    settings = RunSettings(
        paths=paths, stdin_text=text, stdin_filename=name, fix=fix, unsafe_fixes=unsafe_fixes,
        use_cache=cache, cache_dir=cache_dir, jobs=jobs, include_generated=config.include_generated,
        force_exclude=config.force_exclude,
    )
    report = Runner(config, rules, settings, set(registry.rules)).run()
    fixed_source = (report.stdin_output if report.stdin_output is not None else text) if text is not None and fix else None
    return CheckResult(report.findings, report.errors, report.files, report.fixed, fixed_source)
