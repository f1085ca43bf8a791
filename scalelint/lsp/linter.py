"""What the language server knows without an editor: a project's rules and
configuration per workspace, buffers linted the way ``scalelint check
--stdin-filename PATH -`` lints them, and the LSP shapes (diagnostics, code
actions, hover) built from the findings. Plain Python, tested on its own."""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scalelint.core.findings import FileError, Finding, FixSafety
from scalelint.core.lines import LineIndex, split_lines
from scalelint.engine.config import Config, load_config, local_rules_to_load
from scalelint.engine.guard import checkpoint
from scalelint.engine.memory import ProjectMemory
from scalelint.engine.registry import Registry, load_registry, load_registry_cached
from scalelint.lsp.debounce import Limits

TRUST_OPTION = "trustLocalRules"
TRUST_OPTION_HINT = f'set "{TRUST_OPTION}": true in the language server\'s initializationOptions'
SOURCE = "scalelint"
FIX_ALL_KIND = "source.fixAll.scalelint"
QUICKFIX_KIND = "quickfix"
_ERROR_AT = re.compile(r"line (\d+), column (\d+)")


def trusts_local_rules(initialization_options: Any) -> bool:
    """Whether the client's initializationOptions enable a project's local rules."""
    return isinstance(initialization_options, dict) and initialization_options.get(TRUST_OPTION) is True


# -- settings from the client ------------------------------------------------------
@dataclass(frozen=True)
class Settings:
    """What the client may set (initializationOptions, didChangeConfiguration):
    ``select``/``ignore`` (like the CLI's), ``unsafeFixes`` (offer unsafe
    fixes as quick fixes), ``configPath`` (absolute, or relative to each
    workspace folder), ``trustLocalRules``, ``debounceMs`` and
    ``debounceMaxMs`` (the floor and ceiling of the debounce window, which
    follows the rhythm of the edits: scalelint.lsp.debounce)."""

    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] = ()
    unsafe_fixes: bool = True
    config_path: str | None = None
    trust_local_rules: bool = False
    debounce_ms: int = 50
    debounce_max_ms: int = 300

    @property
    def debounce(self) -> Limits:
        return Limits(self.debounce_ms / 1000, self.debounce_max_ms / 1000)


_OPTION_TYPES: dict[str, tuple[str, type, str]] = {
    # client key: (field, type, what a user should put there)
    "select": ("select", list, "a list of rule codes"),
    "ignore": ("ignore", list, "a list of rule codes"),
    "unsafeFixes": ("unsafe_fixes", bool, "true or false"),
    "configPath": ("config_path", str, "a path"),
    TRUST_OPTION: ("trust_local_rules", bool, "true or false"),
    "debounceMs": ("debounce_ms", int, "a number of milliseconds"),
    "debounceMaxMs": ("debounce_max_ms", int, "a number of milliseconds"),
}


def read_settings(options: Any, base: Settings = Settings()) -> tuple[Settings, list[str]]:
    """Settings from a client's options (``{"scalelint": {...}}`` or the table
    itself), and one-line problems for the user (the key is then ignored)."""
    if isinstance(options, dict) and isinstance(options.get("scalelint"), dict):
        options = options["scalelint"]
    if not isinstance(options, dict):
        return base, []
    values: dict[str, Any] = dict(base.__dict__)
    problems = []
    for key, value in options.items():
        if key not in _OPTION_TYPES:
            continue
        name, kind, wanted = _OPTION_TYPES[key]
        valid = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
        if kind is list:
            valid = valid and all(isinstance(v, str) for v in value)
            value = tuple(value) if valid else value
        if not valid:
            problems.append(f"setting {key!r} must be {wanted}; ignored")
            continue
        values[name] = value
    return Settings(**values), problems


# -- positions ---------------------------------------------------------------------
@dataclass(frozen=True)
class Range:
    """LSP range: 0-based lines, UTF-16 code unit columns."""

    start_line: int
    start_char: int
    end_line: int
    end_char: int

    def to_json(self) -> dict[str, Any]:
        return {"start": {"line": self.start_line, "character": self.start_char},
                "end": {"line": self.end_line, "character": self.end_char}}

    def intersects(self, other: "Range") -> bool:
        """Overlapping or touching (an empty range at a cursor inside counts)."""
        return (self.start_line, self.start_char) <= (other.end_line, other.end_char) and \
            (other.start_line, other.start_char) <= (self.end_line, self.end_char)


def range_from_json(data: dict[str, Any]) -> Range:
    return Range(data["start"]["line"], data["start"]["character"], data["end"]["line"], data["end"]["character"])


def _utf16_col(line_text: str, col_chars: int) -> int:
    return len(line_text[:col_chars].encode("utf-16-le")) // 2


def offset_range(text: str, start: int, end: int, index: LineIndex | None = None) -> Range:
    """Offsets as an LSP range (``index``: the text's LineIndex, when the caller has one)."""
    lines = LineIndex(text) if index is None else index  # lines end only at \n, \r\n and \r, as CPython's tokenizer says

    def position(offset: int) -> tuple[int, int]:
        line, column = lines.line_col(offset)
        return line - 1, _utf16_col(lines.line_text(line), column - 1)

    (a, b), (c, d) = position(start), position(end)
    return Range(a, b, c, d)


def line_col_range(text: str, line: int, column: int, end_line: int, end_column: int,
                   lines: list[str] | None = None) -> Range:
    """1-based lines and columns (in characters) as an LSP range (``lines``:
    the text's split_lines, when the caller has them)."""
    lines = split_lines(text) if lines is None else lines

    def col(number: int, column: int) -> int:
        return _utf16_col(lines[number - 1], column - 1) if 0 < number <= len(lines) else max(column - 1, 0)

    return Range(line - 1, col(line, column), end_line - 1, col(end_line, end_column))


def finding_range(text: str, finding: Finding, lines: list[str] | None = None) -> Range:
    return line_col_range(text, finding.line, finding.column, finding.end_line, finding.end_column, lines)


# -- projects ----------------------------------------------------------------------
@dataclass
class Project:
    """One configuration's rules, and the checkers kept warm between edits."""

    config: Config
    rules: list[Any]
    registry: Registry
    #: the project phase has run once (the project's facts are in the cache):
    #: until then an edit gets the file phase at once and the rest later
    warm: bool = False
    #: one run at a time per warm checker (the project phase's and the file phase's)
    locks: dict[bool, threading.Lock] = field(default_factory=lambda: {True: threading.Lock(), False: threading.Lock()})
    _checkers: dict[bool, Any] = field(default_factory=dict)
    #: the project's facts and the project rules' last results, kept between edits
    #: (an edit re-runs only the project rules whose facts it changed)
    memory: ProjectMemory = field(default_factory=ProjectMemory)

    @property
    def needs_project_phase(self) -> bool:
        """Whether the project's other files count: a project rule is selected,
        or a file rule skips a code context a helper may take from its callers."""
        from scalelint.engine.runner import file_rules_of, runs_in_of
        from scalelint.model.contexts import publishes_summaries

        if not self.config.root_is_project:
            return False
        file_rules = file_rules_of(self.rules)
        return any(r.project_wide for r in self.rules) or publishes_summaries(file_rules, runs_in_of(self.config, file_rules))

    def rules_for(self, project_phase: bool) -> list[Any]:
        return self.rules if project_phase else [r for r in self.rules if not r.project_wide]

    def checker(self, project_phase: bool) -> Any:
        """The checker for this rule set, built once (its rules stay imported)."""
        from scalelint.engine.runner import build_checker, file_rules_of

        if project_phase not in self._checkers:
            self._checkers[project_phase] = build_checker(self.config, file_rules_of(self.rules_for(project_phase)))
        return self._checkers[project_phase]


@dataclass
class LintResult:
    findings: list[Finding]
    errors: list[FileError]
    #: the project phase ran (cross-file findings included)
    complete: bool = True


@dataclass
class DocumentLinter:
    """Lints editor buffers as ``scalelint check --stdin-filename PATH -`` does:
    with the configuration of the project they are in, its suppressions and
    per-file ignores, and the project phase, the rest of the project coming
    from the cache (so cross-file findings show in the editor too)."""

    #: import projects' local rules: only when the client's initializationOptions
    #: say so (``{"trustLocalRules": true}``), never from the environment
    trust_local_rules: bool = False
    settings: Settings = field(default_factory=Settings)
    #: the workspace folders (a relative ``configPath`` is looked up in each)
    folders: list[Path] = field(default_factory=list)
    #: one-line notices for the user (local rules left out), shown once each
    notices: list[str] = field(default_factory=list)
    _projects: dict[Any, Project] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def configure(self, settings: Settings) -> None:
        self.settings = settings
        self.trust_local_rules = settings.trust_local_rules
        self.invalidate()

    def invalidate(self) -> None:
        """Forget every project's configuration and rules (read again on next use)."""
        with self._lock:
            self._projects.clear()

    def warm_up(self) -> None:
        """Import LibCST, the built-in rules and the model they use, so the
        first buffer is checked without paying for the imports."""
        self.warm_core()
        self.warm_rules()

    @staticmethod
    def warm_core() -> None:
        """Import what every lint needs: LibCST and the checker (the model's core)."""
        import libcst

        from scalelint.engine import checker  # noqa: F401  (imports the model)

        libcst.parse_module("import os\n")

    @staticmethod
    def warm_rules() -> None:
        """Import every built-in rule family (a lint imports only those its file needs)."""
        from scalelint.engine.manifest import materialize

        materialize(load_registry().sorted())

    # -- projects ----------------------------------------------------------------
    def _explicit_config(self, path: Path) -> Path | None:
        if not self.settings.config_path:
            return None
        configured = Path(self.settings.config_path).expanduser()
        if configured.is_absolute():
            return configured
        folder = next((f for f in sorted(self.folders, key=lambda f: -len(f.parts)) if f in path.parents), None)
        return (folder or Path.cwd()) / configured

    def project_for(self, path: Path) -> Project:
        config = load_config(self._explicit_config(path), path.parent if path.parent.exists() else Path.cwd())
        key = config.path or config.root
        with self._lock:
            if key not in self._projects:
                self._projects[key] = self._new_project(config)
            return self._projects[key]

    def _new_project(self, config: Config) -> Project:
        from scalelint.api import Selection, select_rules

        local = local_rules_to_load(config, self.trust_local_rules, TRUST_OPTION_HINT)
        if local.notice:
            self.notices.append(local.notice)
        registry = load_registry_cached(local.paths, _cache_dir(config))
        selection = Selection(self.settings.select, self.settings.ignore, origin="the language server's settings")
        rules = select_rules(registry, config, selection, skip_unknown=bool(local.notice))  # as the CLI selects
        project = Project(config, rules, registry)
        project.warm = not project.needs_project_phase
        return project

    # -- linting -----------------------------------------------------------------
    def check(self, path: str, text: str, project_phase: bool = True) -> LintResult:
        """The buffer's findings and errors; without the project phase, the
        file rules only, on the buffer alone (the cross-file rules and the
        callers' contexts wait for the project's facts)."""
        from scalelint.engine.runner import Runner

        project = self.project_for(Path(path))
        complete = project_phase or not project.needs_project_phase
        project_phase = project_phase and project.needs_project_phase
        # the file phase alone (a cold project) leaves the cache to the full run, and
        # reads no other file: the callers' contexts come with the project phase
        settings = _run_settings(project.config, path, text, use_cache=complete, project_phase=complete)
        with project.locks[project_phase]:  # one run at a time per warm checker
            checkpoint()  # a newer text arrived while this one waited for the checker
            runner = Runner(project.config, project.rules_for(project_phase), settings, set(project.registry.rules),
                            checker=project.checker(project_phase), memory=project.memory if project_phase else None)
            report = runner.run()
        if project_phase:
            project.warm = True
        findings = [f for f in report.findings if f.path == path]
        config = project.config
        if config.baseline:  # applied as the CLI applies it
            from scalelint.report.baseline import filtered

            findings = filtered(findings, config.root, config.baseline, {path: text}, [path]).findings
        return LintResult(findings, [e for e in report.errors if e.path == path], complete)

    def lint(self, path: str, text: str) -> list[Finding]:
        return self.check(path, text).findings

    def rule(self, path: str, code: str) -> Any:
        return self.project_for(Path(path)).registry.rules.get(code)

    # -- LSP shapes ----------------------------------------------------------------
    def diagnostic(self, path: str, text: str, finding: Finding, lines: list[str] | None = None,
                   rules: dict[str, Any] | None = None) -> dict[str, Any]:
        """One finding as a diagnostic (``lines``: the text's split_lines,
        ``rules``: the project's rules by code, when the caller has them)."""
        out: dict[str, Any] = {
            "range": finding_range(text, finding, lines).to_json(),
            "severity": 2,
            "code": finding.code,
            "source": SOURCE,
            "message": f"{finding.message} [{finding.name}]",
            "data": {"fixable": finding.fix is not None},
        }
        rule = self.rule(path, finding.code) if rules is None else rules.get(finding.code)
        if rule is not None:
            out["codeDescription"] = {"href": rule.help_uri()}
        related = related_information(finding)
        if related:
            out["relatedInformation"] = related
        return out

    def diagnostics(self, path: str, text: str) -> list[dict[str, Any]]:
        return self.diagnostics_of(path, text, self.lint(path, text))

    def diagnostics_of(self, path: str, text: str, findings: list[Finding]) -> list[dict[str, Any]]:
        """The findings as diagnostics: the text split into lines and the
        project's rules looked up once, not once per finding (its config read
        from disk each time)."""
        lines, rules = split_lines(text), self.project_for(Path(path)).registry.rules
        return [self.diagnostic(path, text, f, lines, rules) for f in findings]

    def code_actions(self, uri: str, path: str, text: str, line: int, unsafe: bool = True) -> list[dict[str, Any]]:
        """Quick fixes for findings on a 0-based line."""
        request = ActionRequest(Range(line, 0, line, 10**6), unsafe=unsafe)
        return actions_for(uri, text, self.lint(path, text), request)


def _run_settings(config: Config, path: str, text: str, use_cache: bool, fix: bool = False,
                  project_phase: bool = True) -> Any:
    """A buffer's run, as ``scalelint check --stdin-filename PATH -`` runs it
    with this configuration (its exclusions apply with ``force-exclude``);
    without ``project_phase``, its file phase alone."""
    from scalelint.engine.runner import RunSettings

    return RunSettings(paths=["-"], stdin_text=text, stdin_filename=path, jobs=1, fix=fix, use_cache=use_cache,
                       include_generated=config.include_generated, force_exclude=config.force_exclude,
                       project_phase=project_phase)


def _cache_dir(config: Config) -> Path | None:
    """Where the CLI keeps this project's cache (the rules' metadata is read
    from there, so a lint imports only the rule families its file needs)."""
    from scalelint.engine.cache import locate_cache

    return locate_cache(config).directory


# -- code actions ------------------------------------------------------------------
@dataclass
class ActionRequest:
    """What a textDocument/codeAction asks: a range, the diagnostics the
    client means (``context.diagnostics``) and the kinds it wants (``context.only``)."""

    range: Range
    diagnostics: list[dict[str, Any]] = field(default_factory=list)
    only: list[str] | None = None
    unsafe: bool = True

    def wants(self, kind: str) -> bool:
        if self.only is None:
            return True
        return any(kind == k or kind.startswith(k + ".") for k in self.only)

    def concerns(self, text: str, finding: Finding, lines: list[str] | None = None) -> bool:
        """The finding is one the client asks about."""
        where = finding_range(text, finding, lines)
        ours = [d for d in self.diagnostics if d.get("source") == SOURCE]
        if ours:
            return any(d.get("code") == finding.code and range_from_json(d["range"]) == where for d in ours)
        return where.intersects(self.range)


def fix_action(uri: str, text: str, finding: Finding, index: LineIndex | None = None) -> dict[str, Any]:
    """The finding's fix as a quick fix (``index``: the text's LineIndex, when known)."""
    assert finding.fix is not None
    unsafe = finding.fix.safety is FixSafety.UNSAFE
    index = LineIndex(text) if index is None else index
    edits = [{"range": offset_range(text, e.start, e.end, index).to_json(), "newText": e.text} for e in finding.fix.edits]
    return {
        "title": f"{finding.code}: {finding.fix.message}" + (" (unsafe)" if unsafe else ""),
        "kind": QUICKFIX_KIND,
        "isPreferred": not unsafe,
        "edit": {"changes": {uri: edits}},
    }


def disable_action(uri: str, text: str, finding: Finding, ends: dict[int, int] | None = None,
                   lines: list[str] | None = None) -> dict[str, Any] | None:
    """"Disable SLxxx for this line": adds or extends the ``# noqa`` (or the
    ``# scalelint: ignore[...]``) of the statement's last line, as
    ``--add-noqa`` does: an edit of that line alone (``ends``: the text's
    scalelint.report.noqa.statement_ends, ``lines``: its split_lines, when known)."""
    from scalelint.report.noqa import codes_by_line, statement_ends, with_codes

    ends = statement_ends(text) if ends is None else ends
    lines = split_lines(text) if lines is None else lines
    [(number, codes)] = codes_by_line([finding], ends).items()
    if not 0 < number <= len(lines):
        return None
    body = lines[number - 1]
    new = with_codes(body, codes)
    if new is None:
        return None
    where = Range(number - 1, 0, number - 1, _utf16_col(body, len(body)))
    return {
        "title": f"Disable {finding.code} for this line",
        "kind": QUICKFIX_KIND,
        "edit": {"changes": {uri: [{"range": where.to_json(), "newText": new}]}},
    }


def fixed_text(path: str, text: str, findings: list[Finding]) -> str | None:
    """The text with the safe fixes of its last lint's findings applied (the
    findings of this very text: no lint runs for it), or None when none
    applies or the result would not compile. One pass, as a CLI ``--fix`` run
    makes its first: fixes a fix makes possible come with the next lint."""
    from scalelint.core.edits import apply_edits
    from scalelint.engine.guard import compiles

    safe = [f.fix for f in findings if f.fix is not None and f.fix.safety is FixSafety.SAFE]
    if not safe:
        return None
    fixed, applied = apply_edits(text, safe)
    if not applied or fixed == text or not compiles(fixed, path):
        return None
    return fixed


def fix_all_action(uri: str, text: str, fixed: str) -> dict[str, Any]:
    return {
        "title": "scalelint: fix all safely fixable problems",
        "kind": FIX_ALL_KIND,
        "edit": {"changes": {uri: [whole_document_edit(text, fixed)]}},
    }


def actions_for(uri: str, text: str, findings: list[Finding], request: ActionRequest) -> list[dict[str, Any]]:
    """Quick fixes and "disable" actions for each finding the request concerns
    (the text is split into lines and statements once per request, not once
    per finding)."""
    from scalelint.report.noqa import statement_ends

    actions: list[dict[str, Any]] = []
    if not request.wants(QUICKFIX_KIND):
        return actions
    lines = split_lines(text)
    concerned = [f for f in findings if request.concerns(text, f, lines)]
    if not concerned:
        return actions
    ends, index = statement_ends(text), LineIndex(text)
    for finding in concerned:
        if finding.fix is not None and (finding.fix.safety is FixSafety.SAFE or request.unsafe):
            actions.append(fix_action(uri, text, finding, index))
        disable = disable_action(uri, text, finding, ends, lines)
        if disable is not None:
            actions.append(disable)
    return actions


def whole_document_edit(old: str, new: str) -> dict[str, Any]:
    return {"range": offset_range(old, 0, len(old)).to_json(), "newText": new}


# -- other shapes ------------------------------------------------------------------
def related_information(finding: Finding) -> list[dict[str, Any]]:
    """A finding's related places as LSP ``relatedInformation`` (a point each:
    the core records where a related place starts)."""
    out = []
    for place in finding.related:
        point = Range(place.line - 1, place.column - 1, place.line - 1, place.column - 1)
        out.append({"location": {"uri": Path(place.path).resolve().as_uri(), "range": point.to_json()},
                    "message": place.message})
    return out


def error_diagnostic(text: str, error: FileError) -> dict[str, Any]:
    """One diagnostic for a file the linter could not check (a syntax error
    mid-typing), at the place the message names, else the first line."""
    match = _ERROR_AT.search(error.message)
    line, column = (int(match.group(1)), int(match.group(2))) if match else (1, 1)
    where = line_col_range(text, line, column, line, column + 1)
    return {"range": where.to_json(), "severity": 1, "source": SOURCE, "message": error.message}


def hover_markdown(findings: list[Finding], rules: dict[str, Any]) -> str:
    """The docs of the rules of the findings under the cursor."""
    parts = []
    for code in dict.fromkeys(f.code for f in findings):
        rule = rules.get(code)
        if rule is None:
            continue
        parts.append(f"**{code}** `{rule.name}`\n\n{rule.docs()}\n\n[{code} documentation]({rule.help_uri()})")
    return "\n\n---\n\n".join(parts)


def findings_at(text: str, findings: list[Finding], line: int, character: int) -> list[Finding]:
    cursor, lines = Range(line, character, line, character), split_lines(text)
    return [f for f in findings if finding_range(text, f, lines).intersects(cursor)]


def uri_to_path(uri: str) -> str:
    from urllib.parse import unquote, urlparse

    parsed = urlparse(uri)
    return unquote(parsed.path) if parsed.scheme == "file" else uri
