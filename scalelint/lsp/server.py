"""The editor glue (pygls, the ``lsp`` extra): LSP messages in, the
linter's work scheduled off the message loop, diagnostics and actions out."""
from __future__ import annotations

import asyncio
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scalelint.core.errors import UsageError
from scalelint.core.findings import Finding
from scalelint.engine.guard import Interrupted, giving_way
from scalelint.lsp.linter import (
    FIX_ALL_KIND, QUICKFIX_KIND, ActionRequest, DocumentLinter, LintResult, Project, actions_for,
    error_diagnostic, findings_at, fix_all_action, fixed_text, hover_markdown, range_from_json, read_settings, uri_to_path,
)
from scalelint.lsp.scheduler import Job, LintScheduler

#: files whose change may change a project's configuration
CONFIG_NAMES = ("pyproject.toml", "scalelint.toml")
WATCHED_GLOBS = ("**/pyproject.toml", "**/scalelint.toml")
#: how long the warm-up waits for a first lint before importing every rule family
FIRST_LINT_GRACE_S = 2.0


@dataclass
class Outcome:
    """What one lint of one version produced (computed on the worker)."""

    result: LintResult
    diagnostics: list[dict[str, Any]]
    seconds: float
    generation: int  # of the configuration it was linted with


@dataclass
class Published:
    """The last diagnostics sent for a document, and the findings behind them."""

    version: int
    text: str
    findings: list[Finding] = field(default_factory=list)
    good: list[dict[str, Any]] = field(default_factory=list)  # the last diagnostics of a text that parsed
    checked: bool = True  # False: the text had a syntax error; findings belong to an older text


class Session:
    """One editor session: documents, their lints and what was published."""

    def __init__(self, server: Any, types: Any, converter: Any) -> None:
        self.server, self.types, self.converter = server, types, converter
        self.linter = DocumentLinter()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.published: dict[str, Published] = {}
        #: requests (code actions, hover) waiting for the findings of a document's current text
        self.waiting: dict[str, list[asyncio.Future[Any]]] = {}
        self.warming: set[int] = set()
        #: set once the first diagnostics went out: the warm-up imports the
        #: remaining rule families only then (not competing with the first lint)
        self.first_published = threading.Event()
        #: bumped when the configuration or settings change: older lints are not published
        self.generation = 0
        self.scheduler = LintScheduler(self._lint, self._deliver)

    # -- lifecycle -------------------------------------------------------------------
    def initialize(self, params: Any) -> None:
        self.loop = asyncio.get_running_loop() if _loop_running() else asyncio.get_event_loop()
        settings, problems = read_settings(params.initialization_options)
        self.linter.configure(settings)
        self.linter.folders = _folders(params)
        for problem in problems:
            self.linter.notices.append(problem)

    def start_warm_up(self) -> None:
        """Import LibCST and the checker in the background from ``initialize``
        on (the client's first didOpen follows at once), then, once the first
        file is linted (it imports only the rule families it needs), the rest."""
        threading.Thread(target=self._warm_up, name="scalelint-warm-up", daemon=True).start()

    def _warm_up(self) -> None:
        try:
            self.linter.warm_core()
            self.first_published.wait(FIRST_LINT_GRACE_S)
            self.linter.warm_rules()
        except Exception as exc:  # the first lint then pays for the imports, and says what failed
            self._call_soon(self._log, f"warm-up failed: {type(exc).__name__}: {exc}")

    def register_watchers(self, capabilities: Any) -> None:
        """Ask the client to tell us when configuration files change."""
        t = self.types
        watched = getattr(getattr(getattr(capabilities, "workspace", None), "did_change_watched_files", None),
                          "dynamic_registration", False)
        if not watched:
            return
        options = t.DidChangeWatchedFilesRegistrationOptions(watchers=[t.FileSystemWatcher(glob_pattern=g) for g in WATCHED_GLOBS])
        registration = t.Registration(id="scalelint-config", method=t.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                                      register_options=options)
        self.server.client_register_capability(t.RegistrationParams(registrations=[registration]))

    # -- documents ---------------------------------------------------------------------
    def submit(self, uri: str, edit: bool = False) -> None:
        document = self.server.workspace.get_text_document(uri)
        limits = self.linter.settings.debounce
        self.scheduler.submit(uri, document.version or 0, document.source, limits if edit else None,
                              settle=None if edit else limits)

    def changed(self, uri: str) -> None:
        self.submit(uri, edit=True)

    def closed(self, uri: str) -> None:
        self.scheduler.forget(uri)
        self.published.pop(uri, None)
        self._answer(uri, None, [])
        self._send_diagnostics(uri, None, [])

    def saved(self, uri: str) -> None:
        if uri_to_path(uri).endswith(CONFIG_NAMES):
            self.configuration_changed()
        else:  # the other open files' cross-file findings read this file from disk
            self.relint_all()

    def configuration_changed(self, settings: Any = None) -> None:
        self.generation += 1
        if settings is not None:
            new, problems = read_settings(settings, self.linter.settings)
            self.linter.configure(new)
            self._notify(problems)
        else:
            self.linter.invalidate()
        self.relint_all()

    def relint_all(self) -> None:
        for uri in self.scheduler.open_documents():
            if self.server.workspace.text_documents.get(uri) is not None:
                self.submit(uri)

    # -- the worker --------------------------------------------------------------------
    def _lint(self, job: Job) -> Outcome:
        """On the worker: lint one version, and its diagnostics. A newer text
        stops it (Interrupted, logged: the scheduler drops the job)."""
        started, generation = time.perf_counter(), self.generation
        self._call_soon(self._log, f"linting {job.uri} v{job.version}")
        try:
            path = uri_to_path(job.uri)
            project = self.linter.project_for(Path(path))
            result = self.linter.check(path, job.text, project_phase=project.warm)
            job.interruption.check()
            diagnostics = self.linter.diagnostics_of(path, job.text, result.findings)
        except Interrupted:
            self._call_soon(self._log, f"cancelled {job.uri} v{job.version} after "
                                       f"{(time.perf_counter() - started) * 1000:.0f} ms")
            raise
        return Outcome(result, diagnostics, time.perf_counter() - started, generation)

    def _warm_project(self, project: Project, path: str, text: str) -> None:
        """Run the project phase once in the background (it reads every file of
        the project the cache does not know), giving way to the edits' lints
        between files, then lint the open files again."""
        if id(project) in self.warming:
            return
        self.warming.add(id(project))

        def warm() -> None:
            try:  # between files, it waits while an edit's lint is queued or running
                with giving_way(self.scheduler.idle):
                    self.linter.check(path, text, project_phase=True)
            except Exception as exc:
                self._call_soon(self._log, f"project phase failed: {type(exc).__name__}: {exc}")
            finally:
                self.warming.discard(id(project))
            self._call_soon(self.relint_all)

        threading.Thread(target=warm, name="scalelint-project", daemon=True).start()

    def _deliver(self, job: Job, outcome: Any) -> None:
        self._call_soon(self._publish, job, outcome)

    # -- back on the message loop ----------------------------------------------------
    def _publish(self, job: Job, outcome: Any) -> None:
        document = self.server.workspace.text_documents.get(job.uri)
        if document is None or not self.scheduler.is_current(job.uri, job.version) or (document.version or 0) != job.version:
            return  # closed or edited since: a newer lint is on its way
        if isinstance(outcome, Exception):
            self._answer(job.uri, job.text, [])
            message = str(outcome) if isinstance(outcome, UsageError) else f"internal error: {type(outcome).__name__}: {outcome}"
            self._show(self.types.MessageType.Error, f"scalelint: {message}")
            return
        if outcome.generation != self.generation:
            return  # linted with a configuration since changed: the new lint is queued
        self._notify(self.linter.notices)
        self.linter.notices.clear()
        self._log(f"linted {job.uri} v{job.version} in {outcome.seconds * 1000:.0f} ms"
                  + ("" if outcome.result.complete else " (file rules; project phase pending)"))
        previous = self.published.get(job.uri)
        if outcome.result.errors:
            good = previous.good if previous else []
            diagnostics = good + [error_diagnostic(job.text, outcome.result.errors[0])]
            self.published[job.uri] = Published(job.version, job.text, [], good, checked=False)
        else:
            diagnostics = outcome.diagnostics
            self.published[job.uri] = Published(job.version, job.text, outcome.result.findings, diagnostics)
        self._send_diagnostics(job.uri, job.version, diagnostics)
        self._answer(job.uri, job.text, [] if outcome.result.errors else outcome.result.findings)
        self.first_published.set()
        if not outcome.result.complete:  # the project phase follows the first publish
            self._warm_project(self.linter.project_for(Path(uri_to_path(job.uri))), uri_to_path(job.uri), job.text)

    def _send_diagnostics(self, uri: str, version: int | None, diagnostics: list[dict[str, Any]]) -> None:
        t = self.types
        structured = [self.converter.structure(d, t.Diagnostic) for d in diagnostics]
        self.server.text_document_publish_diagnostics(t.PublishDiagnosticsParams(uri=uri, diagnostics=structured, version=version))

    def _call_soon(self, fn: Any, *args: Any) -> None:
        if self.loop is not None:
            self.loop.call_soon_threadsafe(fn, *args)

    def _log(self, message: str) -> None:
        t = self.types
        self.server.window_log_message(t.LogMessageParams(type=t.MessageType.Log, message=f"scalelint: {message}"))

    def _show(self, kind: Any, message: str) -> None:
        self.server.window_show_message(self.types.ShowMessageParams(type=kind, message=message))

    def _notify(self, notices: list[str]) -> None:
        for notice in notices:
            self._show(self.types.MessageType.Info, f"scalelint: {notice}")

    # -- requests ----------------------------------------------------------------------
    async def current_findings(self, uri: str) -> tuple[str, list[Finding]]:
        """The document's text and findings: the last lint's when it is of this
        text, else those of the worker's lint of it, awaited (the message loop
        never lints: it stays free for the edits that would cancel it)."""
        text = self.server.workspace.get_text_document(uri).source
        while True:
            known = self.published.get(uri)
            if known is not None and known.text == text:
                return text, known.findings if known.checked else []
            if uri not in self.scheduler.open_documents():
                return text, []  # not open: nothing of it is linted
            answered, findings = await self._next_answer(uri)
            if answered is None:  # closed meanwhile
                return text, []
            text = self.server.workspace.get_text_document(uri).source
            if answered == text:
                return text, findings

    def _next_answer(self, uri: str) -> "asyncio.Future[tuple[str | None, list[Finding]]]":
        assert self.loop is not None
        future = self.loop.create_future()
        self.waiting.setdefault(uri, []).append(future)
        return future

    def _answer(self, uri: str, text: str | None, findings: list[Finding]) -> None:
        """Wake the requests waiting for the findings of ``uri``."""
        for future in self.waiting.pop(uri, []):
            if not future.done():
                future.set_result((text, findings))

    async def code_actions(self, params: Any) -> list[dict[str, Any]]:
        uri = params.text_document.uri
        text, findings = await self.current_findings(uri)
        context = params.context
        raw_diagnostics = [self.converter.unstructure(d) for d in (context.diagnostics or [])]
        only = [str(getattr(k, "value", k)) for k in context.only] if context.only else None
        request = ActionRequest(range_from_json(self.converter.unstructure(params.range)), raw_diagnostics, only,
                                unsafe=self.linter.settings.unsafe_fixes)
        # off the loop: a whole-document request tokenizes the text (the statements' ends)
        actions = await asyncio.to_thread(actions_for, uri, text, findings, request)
        if request.wants(FIX_ALL_KIND):  # the safe fixes of this text's last lint: no lint of its own
            # off the loop: the fixed text is compiled (a large file's compile is tens of ms)
            fixed = await asyncio.to_thread(fixed_text, uri_to_path(uri), text, findings)
            if fixed is not None:
                actions.append(fix_all_action(uri, text, fixed))
        return actions

    async def hover(self, params: Any) -> str:
        uri = params.text_document.uri
        text, findings = await self.current_findings(uri)
        here = findings_at(text, findings, params.position.line, params.position.character)
        if not here:
            return ""
        return hover_markdown(here, self.linter.project_for(Path(uri_to_path(uri))).registry.rules)


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _folders(params: Any) -> list[Path]:
    folders = [Path(uri_to_path(f.uri)) for f in (params.workspace_folders or [])]
    if not folders and params.root_uri:
        folders = [Path(uri_to_path(params.root_uri))]
    return folders


class ResyncingInput:
    """The client's byte stream, as pygls reads it (header lines, then a body),
    made to survive a malformed message. pygls skips a message whose
    ``Content-Length`` is missing or not a number, but then reads its body as
    a header line that runs into the next message's header, and never finds a
    header again. Here such a line starts at that header: the bad message is
    dropped and the next one is read."""

    HEADER = b"Content-Length:"

    def __init__(self, stream: Any) -> None:
        self.stream = stream

    def readline(self) -> bytes:
        line = self.stream.readline()
        at = line.find(self.HEADER)
        if at > 0:
            print(f"scalelint-lsp: dropped a malformed message ({at} bytes)", file=sys.stderr)
            return line[at:]
        return line

    def read(self, size: int = -1) -> bytes:
        return self.stream.read(size)

    def close(self) -> None:
        self.stream.close()


def serve() -> None:  # pragma: no cover - exercised over stdio by the tests
    import sys

    try:
        from lsprotocol import types
        from lsprotocol.converters import get_converter
        from pygls.lsp.server import LanguageServer
    except ImportError:
        print("scalelint-lsp needs the lsp extra: pip install 'scalelint[lsp]'", file=sys.stderr)
        sys.exit(2)
    from scalelint import __version__

    server = LanguageServer("scalelint", __version__)
    session = Session(server, types, get_converter())

    @server.feature(types.INITIALIZE)
    def initialize(params: types.InitializeParams) -> None:
        session.initialize(params)
        session.start_warm_up()

    @server.feature(types.INITIALIZED)
    def initialized(params: types.InitializedParams) -> None:
        session.register_watchers(server.client_capabilities)

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(params: types.DidOpenTextDocumentParams) -> None:
        session.submit(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(params: types.DidChangeTextDocumentParams) -> None:
        session.changed(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(params: types.DidSaveTextDocumentParams) -> None:
        session.saved(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(params: types.DidCloseTextDocumentParams) -> None:
        session.closed(params.text_document.uri)

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def did_change_watched_files(params: types.DidChangeWatchedFilesParams) -> None:
        session.configuration_changed()

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    def did_change_configuration(params: types.DidChangeConfigurationParams) -> None:
        session.configuration_changed(params.settings if isinstance(params.settings, dict) else None)

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix, FIX_ALL_KIND]),
    )
    async def code_action(params: types.CodeActionParams):
        return [session.converter.structure(a, types.CodeAction) for a in await session.code_actions(params)]

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    async def hover(params: types.HoverParams):
        markdown = await session.hover(params)
        if not markdown:
            return None
        return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=markdown))

    @server.feature(types.SHUTDOWN)
    def shutdown(params: Any) -> None:
        session.scheduler.stop()

    server.start_io(ResyncingInput(sys.stdin.buffer))
