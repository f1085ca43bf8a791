"""A language server: diagnostics on open/change/save and quick fixes as code
actions. The editor glue needs the ``lsp`` extra (pygls); the logic below it
(:class:`DocumentLinter`) is plain Python and tested on its own."""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scalelint.engine.config import Config, load_config, local_rules_to_load
from scalelint.core.errors import UsageError
from scalelint.core.findings import Finding, FixSafety
from scalelint.engine.registry import load_registry


TRUST_OPTION = "trustLocalRules"
TRUST_OPTION_HINT = f'set "{TRUST_OPTION}": true in the language server\'s initializationOptions'


def trusts_local_rules(initialization_options: Any) -> bool:
    """Whether the client's initializationOptions enable a project's local rules."""
    return isinstance(initialization_options, dict) and initialization_options.get(TRUST_OPTION) is True


@dataclass(frozen=True)
class Range:
    """LSP range: 0-based lines, UTF-16 code unit columns."""

    start_line: int
    start_char: int
    end_line: int
    end_char: int


def _utf16_col(line_text: str, col_chars: int) -> int:
    return len(line_text[:col_chars].encode("utf-16-le")) // 2


def offset_range(text: str, start: int, end: int) -> Range:
    def position(offset: int) -> tuple[int, int]:
        line = text.count("\n", 0, offset)
        line_start = text.rfind("\n", 0, offset) + 1
        line_end = text.find("\n", line_start)
        line_text = text[line_start : line_end if line_end != -1 else len(text)]
        return line, _utf16_col(line_text, offset - line_start)

    (a, b), (c, d) = position(start), position(end)
    return Range(a, b, c, d)


def finding_range(text: str, finding: Finding) -> Range:
    lines = text.split("\n")

    def col(line: int, column: int) -> int:
        return _utf16_col(lines[line - 1], column - 1) if 0 < line <= len(lines) else column - 1

    return Range(finding.line - 1, col(finding.line, finding.column), finding.end_line - 1, col(finding.end_line, finding.end_column))


@dataclass
class DocumentLinter:
    """Lints editor buffers as ``scalelint check --stdin-filename PATH -`` does:
    with the configuration of the project they are in, its suppressions and
    per-file ignores, and the project phase, the rest of the project coming
    from the cache (so cross-file findings show in the editor too)."""

    #: import projects' local rules: only when the client's initializationOptions
    #: say so (``{"trustLocalRules": true}``), never from the environment
    trust_local_rules: bool = False
    #: one-line notices for the user (local rules left out), shown once each
    notices: list[str] = field(default_factory=list)
    _projects: dict[Path, tuple[Config, list[Any], set[str]]] = field(default_factory=dict)

    def _project_for(self, path: Path) -> tuple[Config, list[Any], set[str]]:
        config = load_config(None, path.parent if path.parent.exists() else Path.cwd())
        key = config.path or config.root
        if key not in self._projects:
            local = local_rules_to_load(config, self.trust_local_rules, TRUST_OPTION_HINT)
            if local.notice:
                self.notices.append(local.notice)
            registry = load_registry(local.paths)
            rules = registry.select(config.select, config.ignore, config.extend_select, skip_unknown=bool(local.notice))
            self._projects[key] = (config, rules, set(registry.rules))
        return self._projects[key]

    def lint(self, path: str, text: str) -> list[Finding]:
        from scalelint.engine.runner import Runner, RunSettings

        config, rules, known = self._project_for(Path(path))
        settings = RunSettings(paths=["-"], stdin_text=text, stdin_filename=path, jobs=1)
        report = Runner(config, rules, settings, known).run()
        return [f for f in report.findings if f.path == path]

    def diagnostics(self, path: str, text: str) -> list[dict[str, Any]]:
        out = []
        for f in self.lint(path, text):
            r = finding_range(text, f)
            out.append({
                "range": _range_json(r),
                "severity": 2,
                "code": f.code,
                "source": "scalelint",
                "message": f"{f.message} [{f.name}]",
                "data": {"fixable": f.fix is not None},
                **_related_information(f),
            })
        return out

    def code_actions(self, uri: str, path: str, text: str, line: int, unsafe: bool = True) -> list[dict[str, Any]]:
        """Quick fixes for findings on a 0-based line."""
        actions = []
        for f in self.lint(path, text):
            if f.fix is None or not (f.line - 1 <= line <= f.end_line - 1):
                continue
            if f.fix.safety is FixSafety.UNSAFE and not unsafe:
                continue
            edits = [
                {"range": _range_json(offset_range(text, e.start, e.end)), "newText": e.text}
                for e in f.fix.edits
            ]
            title = f"{f.code}: {f.fix.message}" + (" (unsafe)" if f.fix.safety is FixSafety.UNSAFE else "")
            actions.append({
                "title": title,
                "kind": "quickfix",
                "isPreferred": f.fix.safety is FixSafety.SAFE,
                "edit": {"changes": {uri: edits}},
            })
        return actions


def _related_information(f: Finding) -> dict[str, Any]:
    """LSP ``relatedInformation`` for a finding's related places (none: no key).
    Columns are code points, which equal UTF-16 units outside the astral planes."""
    if not f.related:
        return {}
    items = []
    for r in f.related:
        position = {"line": r.line - 1, "character": r.column - 1}
        items.append({
            "location": {"uri": Path(r.path).resolve().as_uri(), "range": {"start": position, "end": position}},
            "message": r.message,
        })
    return {"relatedInformation": items}


def _range_json(r: Range) -> dict[str, Any]:
    return {"start": {"line": r.start_line, "character": r.start_char}, "end": {"line": r.end_line, "character": r.end_char}}


def _uri_to_path(uri: str) -> str:
    from urllib.parse import unquote, urlparse

    parsed = urlparse(uri)
    return unquote(parsed.path) if parsed.scheme == "file" else uri


def serve() -> None:  # pragma: no cover - exercised by the subprocess test
    try:
        from lsprotocol import types
        from lsprotocol.converters import get_converter
        from pygls.lsp.server import LanguageServer
    except ImportError:
        print("scalelint-lsp needs the lsp extra: pip install 'scalelint[lsp]'", file=sys.stderr)
        sys.exit(2)
    from scalelint import __version__

    server = LanguageServer("scalelint", __version__)
    linter = DocumentLinter()
    converter = get_converter()

    @server.feature(types.INITIALIZE)
    def initialize(params: types.InitializeParams) -> None:
        linter.trust_local_rules = trusts_local_rules(params.initialization_options)

    def publish(uri: str) -> None:
        document = server.workspace.get_text_document(uri)
        try:
            raw = linter.diagnostics(_uri_to_path(uri), document.source)
        except UsageError as exc:
            server.window_show_message(types.ShowMessageParams(types.MessageType.Error, f"scalelint: {exc}"))
            return
        while linter.notices:
            notice = linter.notices.pop(0)
            server.window_show_message(types.ShowMessageParams(types.MessageType.Info, f"scalelint: {notice}"))
        diagnostics = [converter.structure(d, types.Diagnostic) for d in raw]
        server.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics))

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(params: types.DidOpenTextDocumentParams) -> None:
        publish(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(params: types.DidChangeTextDocumentParams) -> None:
        publish(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(params: types.DidSaveTextDocumentParams) -> None:
        publish(params.text_document.uri)

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]),
    )
    def code_action(params: types.CodeActionParams):
        uri = params.text_document.uri
        document = server.workspace.get_text_document(uri)
        raw = linter.code_actions(uri, _uri_to_path(uri), document.source, params.range.start.line)
        return [converter.structure(a, types.CodeAction) for a in raw]

    server.start_io()


def main() -> None:  # pragma: no cover
    serve()
