"""One run, end to end: discover, read, cache, check (in parallel, see
scalelint.engine.dispatch), project phase, suppressions, per-file ignores, fixes
written."""
from __future__ import annotations

import json
import os
import time
import dataclasses
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from scalelint.core.files import write_atomic_bytes
from scalelint.engine.cache import Cache, content_hash, locate_cache, salt_for
from scalelint.engine.config import Config, project_root
from scalelint.engine.discovery import Discovery, matches_glob
from scalelint.engine.dispatch import Batch, Job, tune_gc, worker_count
from scalelint.core.findings import Confidence, FileError, FileResult, Finding, FixSafety
from scalelint.core.edits import apply_edits
from scalelint.project import ProjectIndex, ProjectReporter
from scalelint.engine.manifest import loadable_anywhere, materialize
from scalelint.engine.memory import ProjectMemory
from scalelint.engine.prefilter import Prefilter
from scalelint.rule import Rule
from scalelint.engine.source import MAX_BYTES, SourceError, SourceText, decode, is_generated, syntax_error
from scalelint.model import contexts
from scalelint.report.suppressions import Suppression, parse_suppressions

if TYPE_CHECKING:
    from scalelint.engine.checker import Checker

BLANKET_CODE, UNUSED_CODE = "SL001", "SL002"


@dataclass
class RunSettings:
    paths: list[str]
    stdin_text: str | None = None  # an editor's buffer, already text
    stdin_data: bytes | None = None  # the bytes read from stdin (decoded as Python would)
    stdin_filename: str | None = None
    fix: bool = False
    unsafe_fixes: bool = False
    diff: bool = False
    use_cache: bool = True
    #: where the caller located the cache (scalelint.engine.cache.locate_cache); None: located here
    cache_dir: Path | None = None
    #: the code fingerprint of the configured local rules, when the caller has computed it
    #: (scalelint.engine.registry.Registry.fingerprint); None: computed here
    code_fingerprint: str | None = None
    jobs: int | None = None
    include_generated: bool = False
    #: exclusions apply to files named explicitly and to --stdin-filename too
    force_exclude: bool = False
    #: told (phase, files done, files in the run) as the run goes (a progress line)
    progress: Callable[[str, int, int], None] | None = None
    #: False: the file phase alone, no project phase (no project rules, no callers'
    #: contexts, no other file of the project read): a language server's first
    #: lint of a project whose facts are not known yet (the full run follows)
    project_phase: bool = True

    @property
    def stdin(self) -> bool:
        return self.stdin_text is not None or self.stdin_data is not None

    def stdin_source(self) -> tuple[bytes, SourceText]:
        """The buffer's bytes and text (SourceError when the bytes are not Python source)."""
        if self.stdin_data is not None:
            return self.stdin_data, decode(self.stdin_data)
        text = self.stdin_text or ""
        return text.encode("utf-8", "surrogatepass"), SourceText(text, "utf-8")


@dataclass
class FileState:
    """What the main process knows of one file of the run."""

    display: str
    real: Path | None  # None for stdin
    source: SourceText | None = None
    digest: str = ""
    result: FileResult | None = None
    module: str = ""  # the dotted module name it is checked as
    context: str = contexts.REQUEST  # its code context by path (scalelint.model.contexts)
    pinned: bool = False  # the context was set by ``context-paths``

    @property
    def cache_key(self) -> str:
        """What besides its bytes decides a file's results: its module, and
        its context when that is not the default."""
        if self.context == contexts.REQUEST and not self.pinned:
            return self.module
        return f"{self.module}\0{self.context}{'!' if self.pinned else ''}"


@dataclass
class RunReport:
    findings: list[Finding] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    files: int = 0
    checked: list[str] = field(default_factory=list)  # the display path of every file of the run
    fixed: int = 0
    fixed_codes: dict[str, list[str]] = field(default_factory=dict)  # display path -> codes of the findings fixed
    changed: list[FileState] = field(default_factory=list)
    stdin_output: str | None = None
    #: per code context: files in it, files no selected rule checked there, findings dropped there
    context_files: dict[str, int] = field(default_factory=dict)
    context_skipped: dict[str, int] = field(default_factory=dict)
    context_dropped: dict[str, int] = field(default_factory=dict)
    templated: int = 0  # template files (``{{`` in the path) left out by discovery
    stdin_encoding: str = "utf-8"  # of the buffer, to print it back as it came
    texts: dict[str, str] = field(default_factory=dict)  # final text of files with findings
    encodings: dict[str, str] = field(default_factory=dict)  # of files on disk with findings
    timings: dict[str, float] = field(default_factory=dict)  # seconds per phase of the run
    cache_hits: int = 0  # files of the run answered from the cache
    #: findings below ``min-confidence``: not reported, counted ("N more at low confidence")
    hidden: list[Finding] = field(default_factory=list)

    def stdin_bytes(self, buffer: bytes, text: str | None = None) -> bytes:
        """What to print for a buffer read from stdin: ``text`` (by default the
        fixed buffer) in the buffer's own encoding (its BOM and coding cookie
        kept), else the buffer exactly as it came."""
        text = self.stdin_output if text is None else text
        if text is None:
            return buffer
        try:
            return text.encode(self.stdin_encoding)
        except UnicodeEncodeError:
            return buffer


# -- main side --------------------------------------------------------------------
class Runner:
    def __init__(
        self,
        config: Config,
        rules: list[type[Rule]],
        settings: RunSettings,
        known_codes: set[str] | None = None,
        checker: "Checker | None" = None,
        memory: ProjectMemory | None = None,
    ) -> None:
        self.config = config
        #: what a long-lived caller keeps of the project between runs (scalelint.engine.memory)
        self.memory = memory
        if checker is not None:  # a long-lived caller (the language server) keeps one warm
            self.__dict__["checker"] = checker
        self.known_codes = known_codes if known_codes is not None else {r.code for r in rules}
        self.rules = rules
        self.settings = settings
        self.codes = [r.code for r in rules]
        self._file_rules = file_rules_of(rules)
        #: code -> the code contexts it checks here (declared, then configured)
        self._runs_in = runs_in_of(config, self._file_rules)
        self._checked_contexts = frozenset().union(*self._runs_in.values())
        #: code -> the contexts its findings are reported at low confidence in
        self._low_in = {r.code: r.low_confidence_contexts for r in self._file_rules if r.low_confidence_contexts}
        #: files doing I/O publish call summaries (and others what they import: the call graph)
        self._summaries = contexts.publishes_summaries(self._file_rules, self._runs_in)
        # one bucket for check and fix runs: a result is cached only when no fix
        # changed the file, and then it is the same in either mode
        self._notices: list[str] = []
        self._path_errors: list[FileError] = []  # given paths missing, directories unreadable
        self.cache = self._open_cache() if settings.use_cache else None
        self._packages: dict[str, str] = {}  # directory -> its dotted package ("" if none)
        #: path -> functions that take their callers' code context (found in the project phase)
        self._inherited: dict[str, list[contexts.Region]] = {}
        #: the same by qualname, in fixing runs: path -> qualname -> context
        self._inherited_functions: dict[str, dict[str, str]] = {}
        self._real_dirs: dict[str, str] = {}  # directory as given -> its real path

    def _open_cache(self) -> Cache:
        directory = self.settings.cache_dir
        if directory is None:
            location = locate_cache(self.config)
            directory = location.directory
            self._notices.extend([location.notice] if location.notice else [])
        return Cache(directory, salt_for(self.config.fingerprint(), self.codes, self._code_fingerprint()))

    def _code_fingerprint(self) -> str:
        if self.settings.code_fingerprint is not None:
            return self.settings.code_fingerprint  # a stat of every module of scalelint, done once per run
        from scalelint.engine.registry import code_fingerprint

        return code_fingerprint(self.config.root / p for p in self.config.local_rules)

    # -- the run --------------------------------------------------------------------
    def run(self) -> RunReport:
        tune_gc()
        report = RunReport()
        clock = _Clock(report.timings)
        states = self._discover()
        report.files = len(states)
        report.templated = self._templated
        report.errors.extend(self._path_errors)
        report.checked = [state.display for state in states]
        clock.lap("discover")
        self._read_and_check(states, report, self._progress_for(len(states)))
        clock.lap("read and check")
        for state in states:
            if state.result is not None and state.result.error is not None:
                report.errors.append(state.result.error)
        if self.settings.progress is not None and any(r.project_wide for r in self.rules):
            self.settings.progress("project phase", len(states), len(states))
        project_findings = self._project_phase(states)
        clock.lap("project phase")
        self._finish(states, project_findings, report)
        if self.cache is not None:
            self.cache.prune()
            self.cache.save_stats()
            if self.cache.refusal:
                self._notices.append(self.cache.refusal)
        clock.lap("suppressions, fixes and cache")
        report.warnings.extend(self._notices)
        return report

    def _progress_for(self, total: int) -> Callable[[str], None] | None:
        """A tick per file done, told to the settings' progress callback."""
        tell = self.settings.progress
        if tell is None:
            return None
        done = 0

        def tick(phase: str) -> None:
            nonlocal done
            done += 1
            tell(phase, done, total)

        return tick

    def _discover(self) -> list[FileState]:
        s = self.settings
        self._templated = 0
        discovery = Discovery(
            self.config.root,
            self.config.exclude + self.config.extend_exclude,
            self.config.respect_gitignore,
            force_exclude=s.force_exclude,
        )
        if s.stdin:
            if s.force_exclude and s.stdin_filename and discovery.excluded(Path(s.stdin_filename)):
                return []
            return [FileState(s.stdin_filename or "-", None)]
        states = [FileState(display, real) for display, real in discovery.files(s.paths)]
        self._templated = discovery.templated
        self._path_errors = [FileError(display, problem) for display, problem in discovery.problems]
        return states

    def _place(self, state: FileState, shown: str) -> None:
        """The file's code context by path: ``context-paths`` first (first
        matching glob wins), else what its path says."""
        rel = self._rel(shown)
        for pattern, context in self.config.context_paths.items():
            if matches_glob(rel, pattern):
                state.context, state.pinned = context, True
                return
        state.context, state.pinned = contexts.path_context(rel), False

    def _load(self, state: FileState, report: RunReport) -> None:
        """Read and decode; answer from the cache or the prefilter when possible."""
        stat = None
        if state.real is None:
            if self.settings.stdin_filename:
                state.module = self._module_name(Path(self.settings.stdin_filename))
                self._place(state, self.settings.stdin_filename)
            self._load_stdin(state, report)
            return
        else:
            state.module = self._module_name(state.real)
            self._place(state, state.display)
            try:
                stat = os.stat(state.real)
                if self._answer_unread(state, stat):
                    report.cache_hits += 1
                    return
                data = state.real.read_bytes()
            except OSError as exc:
                state.result = FileResult(state.display, error=FileError(state.display, f"cannot read: {exc.strerror}"))
                return
        if len(data) > MAX_BYTES:  # parse, model and fixes cost time and memory in proportion
            message = f"skipped: too large ({len(data) / 2**20:.1f} MiB, the limit for one file is {MAX_BYTES / 2**20:g} MiB)"
            state.result = FileResult(state.display, error=FileError(state.display, message))
            return
        try:
            state.source = decode(data)
        except SourceError as exc:
            state.result = FileResult(state.display, error=FileError(state.display, str(exc)))
            return
        self._answer_read(state, data, stat, report)

    def _load_stdin(self, state: FileState, report: RunReport) -> None:
        try:
            data, state.source = self.settings.stdin_source()
        except SourceError as exc:
            state.result = FileResult(state.display, error=FileError(state.display, str(exc)))
            return
        report.stdin_encoding = state.source.encoding
        self._answer_read(state, data, None, report)

    def _answer_read(self, state: FileState, data: bytes, stat: os.stat_result | None, report: RunReport) -> None:
        """Answer a decoded file from the cache or the prefilter when possible."""
        assert state.source is not None
        if not self.settings.include_generated and state.real is not None and is_generated(state.source.text):
            state.result = FileResult(state.display)
            return
        state.digest = content_hash(data, state.cache_key)
        if self.cache is not None:  # content-addressed: an editor buffer on stdin too
            if stat is not None and state.real is not None:
                self.cache.remember(state.real, stat, state.digest, state.cache_key)
            cached = self.cache.get(state.digest, state.display)
            if cached is not None and not (self._fixing and any(f.fix for f in cached.findings)):
                state.result = cached
                report.cache_hits += 1
                return
        text = state.source.text
        if state.context not in self._checked_contexts:  # e.g. a test file: never parsed
            state.result = FileResult(state.display)
            state.result.facts["__suppressions__"] = [s.to_json() for s in parse_suppressions(text)]
            state.result.facts["__context__"] = state.context
            if self._summaries:
                from scalelint.model import textuses

                textuses.note_text_uses(state.result, text, state.module, state.context)
            if self.cache is not None:
                self.cache.put(state.digest, state.result)
            return
        if not self._prefilter.any(text) and not (self._summaries and self._runs_elsewhere(text)):
            # no selected rule can match: answered here, never parsed
            error = syntax_error(text, state.display)
            state.result = FileResult(state.display, error=FileError(state.display, error) if error else None)
            if error is None:  # for SL001/SL002, as the checker would
                found = parse_suppressions(text, bare_noqa=self.config.bare_noqa)
                state.result.facts["__suppressions__"] = [s.to_json() for s in found]
                if self._summaries:
                    from scalelint.model import textuses

                    textuses.note_text_uses(state.result, text, state.module, state.context)
            if self.cache is not None:
                self.cache.put(state.digest, state.result)

    def _answer_unread(self, state: FileState, stat: os.stat_result) -> bool:
        """A file unchanged since the last run is answered from the cache
        without reading it (its text is read later only if it is reported)."""
        if self.cache is None or self._fixing or state.real is None:
            return False
        digest = self.cache.known_digest(state.real, stat, state.cache_key)
        cached = self.cache.get(digest, state.display) if digest else None
        if cached is None:
            return False
        state.digest, state.result = digest, cached
        return True

    def _read_source(self, state: FileState) -> None:
        """The text of a file answered from the cache, for reporting."""
        if state.source is None and state.real is not None:
            try:
                state.source = decode(state.real.read_bytes())
            except (OSError, SourceError):
                pass

    @cached_property
    def _prefilter(self) -> Prefilter:
        """Built on first need: a run answered from the cache never imports the catalog."""
        from scalelint.model import catalog

        vocabularies = [r.vocabulary for r in self._file_rules]
        if self._summaries:
            vocabularies.append(catalog.IO_VOCABULARY + catalog.SCHEDULE_VOCABULARY)  # summaries.VOCABULARY
        return Prefilter.for_rules(vocabularies, self.config.recognition())

    @staticmethod
    def _runs_elsewhere(text: str) -> bool:
        """A request file that may hold entry points of another context (parsed for
        its call summaries: scalelint.model.textuses.runs_elsewhere)."""
        from scalelint.model import textuses

        return textuses.runs_elsewhere(text)

    @cached_property
    def checker(self) -> "Checker":
        """Built on first need: importing the rules (and LibCST) is skipped
        when every file is answered from the cache."""
        return build_checker(self.config, self._file_rules, self._fixing, self.settings.unsafe_fixes)

    @property
    def _fixing(self) -> bool:
        return self.settings.fix or self.settings.diff

    def _read_and_check(self, states: list[FileState], report: RunReport, tick: Callable[[str], None] | None = None) -> None:
        """Load every file; check those the cache and the prefilter could not
        answer (workers start on the first while the rest are read)."""
        reading = True

        def done(state: FileState, result: FileResult) -> None:
            self._done(state, result)
            if tick is not None:
                tick("reading" if reading else "checking")

        batch: Batch[FileState] = Batch(lambda: self.checker, worker_count(len(states), self.settings.jobs), done)
        for state in states:
            self._load(state, report)
            if state.result is None and state.source is not None:
                batch.add(state, self._job(state))
                continue
            if state.result is not None:
                state.result.pack()
            if tick is not None:
                tick("reading")
        reading = False
        batch.finish()

    def _job(self, state: FileState) -> Job:
        assert state.source is not None
        return (state.display, state.source.text, state.module, self._ignored_codes(state.display), state.context, state.pinned)

    def _done(self, state: FileState, result: FileResult) -> None:
        state.result = result
        if self.cache is not None:
            self.cache.put(state.digest, result)
        result.pack()

    def _module_name(self, real: Path | str) -> str:
        """Dotted module name from the ``__init__.py`` files above the file."""
        path = os.path.abspath(real)
        directory, name = os.path.split(path)
        stem = name.rsplit(".", 1)[0]
        package = self._package(directory)
        if stem == "__init__":
            return package
        return f"{package}.{stem}" if package else stem

    def _package(self, directory: str) -> str:
        found = self._packages.get(directory)
        if found is None:
            found = ""
            if os.path.isfile(os.path.join(directory, "__init__.py")):
                parent, name = os.path.split(directory)
                outer = self._package(parent) if parent != directory else ""
                found = f"{outer}.{name}" if outer else name
            self._packages[directory] = found
        return found

    def _rel(self, display: str) -> str:
        """The file's path below the project root, symlinks resolved (as
        ``Path.resolve``), else its path as given."""
        real = self._real_path(display)
        root = self._real_root
        inside = root if root.endswith(os.sep) else root + os.sep
        if real == root:
            return "."
        if real.startswith(inside):
            return real[len(inside):].replace(os.sep, "/")
        return Path(display).as_posix()

    @cached_property
    def _real_root(self) -> str:
        return os.path.realpath(self.config.root)

    def _real_path(self, display: str) -> str:
        """``os.path.realpath(display)``, resolving each directory once: a run
        asks for every file, and a full resolve costs a ``stat`` per part."""
        directory, name = os.path.split(os.path.join(os.getcwd(), display))
        real_dir = self._real_dirs.get(directory)
        if real_dir is None:
            real_dir = self._real_dirs[directory] = os.path.realpath(directory)
        real = os.path.join(real_dir, name)
        return os.path.realpath(real) if not name or name in (".", "..") or os.path.islink(real) else real

    def _ignored_codes(self, display: str) -> frozenset[str]:
        if not self.config.per_file_ignores:
            return frozenset()
        rel = self._rel(display)
        ignored: set[str] = set()
        for pattern, codes in self.config.per_file_ignores.items():
            if matches_glob(rel, pattern) or matches_glob(Path(display).as_posix(), pattern):
                for code in codes:
                    ignored.update(c for c in self.codes if c.startswith(code.upper()))
        return frozenset(ignored)

    # -- project phase ------------------------------------------------------------
    def _project_phase(self, states: list[FileState]) -> list[Finding]:
        project_rules = [r for r in self.rules if r.project_wide]
        if not self.settings.project_phase or (not project_rules and not self._summaries):
            return []
        index = ProjectIndex()
        identities: dict[str, str] = {}  # display -> digest of the file's project facts
        unread: dict[str, str] = {}  # display -> content digest of files whose facts the cache holds
        outside, checked = self._files_outside_run(states)
        of_run = len(states)
        for number, state in enumerate([*states, *checked]):
            if state.result is None or state.display in identities:
                continue
            identities[state.display] = state.result.facts_digest
            if state.result.facts_deferred:
                unread[state.display] = state.digest
            else:  # a file of the run is told apart by its facts' values, the others by their digest
                index.add(state.display, state.result.facts, "" if number < of_run else state.result.facts_digest,
                          state.result.packed)
        for display, (digest, identity) in outside.items():
            if display not in identities:
                identities[display], unread[display] = identity, digest
        reported = {s.display for s in states}
        key = self._project_key(identities, project_rules)
        cached = self.cache.get_project(key) if self.cache is not None and not self._fixing else None
        if cached is not None and reported <= cached[0]:  # the facts of unread files are never even decoded
            self._inherited = cached[2]
            return [f for f in cached[1] if f.path in reported]
        self._add_unread_facts(index, unread, identities)
        registered = materialize(project_rules)
        order = self._lifetime_order(registered)
        ordered = [registered[at] for at in order]
        of_rule: list[list[Finding]] = [[] for _ in registered]
        for number, at in enumerate(order):
            of_rule[at] = self._project_rule(registered[at], index, reported)
            index.release(self._still_shared(ordered[number + 1:]))
        found = [finding for findings in of_rule for finding in findings]
        self._inherited = self._recall("__callers__", index, reported, lambda: self._caller_contexts(index))
        findings = self._in_checked_contexts(found, index, {s.display: s for s in states})
        if self.cache is not None and not self._fixing:
            covered, kept, _ = cached if cached is not None else (set(), [], {})
            # the same facts give the same findings per file: keep what other runs reported
            self.cache.put_project(key, covered | reported, [f for f in kept if f.path not in reported] + findings,
                                   self._inherited)
        return findings

    def _lifetime_order(self, rules: list) -> list[int]:
        """The positions of the project rules in the order they run: first those that read none
        of the structures kept to the end of the phase (the call graph, which
        the caller contexts read last), then the others, each group in its
        registered order. A structure only some rules read (the flow graph of
        SL201-SL203) is then built and dropped before the call graph is built,
        so the two never live together; the findings are gathered in the
        registered order, so the order the rules ran in changes nothing else."""
        lasting = self._still_shared([])
        return sorted(range(len(rules)), key=lambda at: bool(lasting & set(getattr(rules[at], "shared_structures", ()))))

    def _still_shared(self, later: list) -> set[str]:
        """The project structures that the ``later`` rules, or the caller
        contexts computed after them, read."""
        from scalelint.model.connections import summaries

        shared = {name for rule_cls in later for name in getattr(rule_cls, "shared_structures", ())}
        if self._summaries:
            shared.add(summaries.CALL_GRAPH)
        return shared

    def _project_rule(self, rule_cls: type[Rule], index: ProjectIndex, reported: set[str]) -> list[Finding]:
        """One project rule's findings in the reported files."""
        def run() -> list[Finding]:
            out = ProjectReporter(reported, options=self.config.rules)
            rule_cls().check_project(index, out)  # type: ignore[attr-defined]
            return out.findings

        return list(self._recall(rule_cls.code, index, reported, run))

    def _recall(self, name: str, index: ProjectIndex, reported: set[str], run: Callable[[], Any]) -> Any:
        """``run()``, or its last value when the project's memory says nothing it
        read has changed (only for a caller that keeps one, and not when fixing:
        a fixing run also needs what ``run`` leaves behind)."""
        if self.memory is None or self._fixing:
            return run()
        return self.memory.recall(name, index, [sorted(reported), self.config.rules], run)

    def _caller_contexts(self, index: ProjectIndex) -> dict[str, list[contexts.Region]]:
        """path -> its functions that take their callers' code context
        (scalelint.model.connections.callers), when the modules published
        their call summaries."""
        if not self._summaries:
            return {}
        from scalelint.model.connections import callers, summaries

        placements = callers.placements_of(index.reading(contexts.FACTS_KEY, "__context__"), contexts.FACTS_KEY)
        graph = summaries.call_graph(index)
        if self._fixing:  # fixes are re-made without the quieted functions (see _refix)
            self._inherited_functions = callers.inherited_functions(graph, placements)
        return callers.inherited_regions(graph, placements)

    def _in_caller_contexts(self, state: FileState, findings: list[Finding],
                            from_project: set[Finding] | None = None) -> list[Finding]:
        """The findings whose rule checks the context their function takes
        from its callers (file and project findings alike), at low confidence
        in a context the rule names in ``low_confidence_contexts`` (a lowered
        project finding stays one in ``from_project``); the others are counted
        as dropped for --statistics."""
        regions = self._inherited.get(state.display)
        if not regions:
            return findings
        kept = []
        for finding in findings:
            context = contexts.context_at(contexts.REQUEST, regions, finding.line)
            if context in self._runs_in.get(finding.code, frozenset({context})):
                if context in self._low_in.get(finding.code, ()) and finding.confidence is not Confidence.LOW:
                    lowered = dataclasses.replace(finding, confidence=Confidence.LOW)
                    if from_project is not None and finding in from_project:
                        from_project.add(lowered)
                    finding = lowered
                kept.append(finding)
            elif state.result is not None:
                dropped = state.result.facts.setdefault("__project_dropped__", {})
                dropped[context] = dropped.get(context, 0) + 1
        return kept

    def _in_checked_contexts(self, findings: list[Finding], index: ProjectIndex,
                             states: dict[str, FileState]) -> list[Finding]:
        """Project findings whose rule checks the context of their line (the
        file's, from its facts or its path); the others are counted as dropped
        in the facts of their file, for --statistics."""
        kept = []
        for finding in findings:
            placed = index.files.get(finding.path, {}).get(contexts.FACTS_KEY)
            if placed is not None:
                context = contexts.context_at(placed["file"], contexts.regions_from_json(placed["regions"]), finding.line)
            else:
                state = states.get(finding.path) or FileState(finding.path, None)
                if finding.path not in states:
                    self._place(state, finding.path)
                context = state.context
            if context in self._runs_in.get(finding.code, frozenset({context})):
                kept.append(finding)
                continue
            result = states[finding.path].result if finding.path in states else None
            if result is not None:
                dropped = result.facts.setdefault("__project_dropped__", {})
                dropped[context] = dropped.get(context, 0) + 1
        return kept

    def _project_key(self, identities: dict[str, str], rules: list) -> str:
        """What the project phase's result depends on: every file's project
        facts (by digest) at its path, and the rules' options. Which files are
        reported only filters it."""
        codes = sorted(r.code for r in rules)
        payload = json.dumps([codes, sorted(identities.items()), self.config.rules], sort_keys=True)
        return content_hash(payload.encode())

    def _files_outside_run(self, states: list[FileState]) -> tuple[dict[str, tuple[str, str]], list[FileState]]:
        """Project files this run does not check (pre-commit runs on a few
        staged files): {display: (content digest, facts digest)} of those
        unchanged since the cache saw them (their facts are decoded only if the
        project phase must run), and the others, checked now."""
        root = str(self.config.root.resolve())
        if not self.config.root_is_project:
            return {}, []
        if not self.settings.stdin and any(os.path.realpath(p) == root for p in self.settings.paths):
            return {}, []
        seen = {os.path.realpath(s.real) for s in states if s.real is not None}
        if self.settings.stdin_filename:  # the buffer stands for the file on disk
            seen.add(os.path.realpath(self.settings.stdin_filename))
        unread: dict[str, tuple[str, str]] = {}
        others: list[FileState] = []
        cwd = os.getcwd() + os.sep
        files = self._project_files(root)
        if self.memory is not None:
            self.memory.project_files(files)
        for path in files:
            if path in seen:
                continue
            display = path[len(cwd):] if path.startswith(cwd) else os.path.relpath(path)
            known = self._known_digest(path)
            if known is not None:
                unread[display] = known
                continue
            others.append(FileState(display, Path(path)))
        self._read_and_check(others, RunReport())
        return unread, others

    def _known_digest(self, path: str) -> tuple[str, str] | None:
        """(content digest, facts digest) of an unchanged file whose project
        facts the cache holds (in fix mode too: a file outside the run is never
        fixed, only read)."""
        if self.cache is None:
            return None
        try:
            stat = os.stat(path)
        except OSError:
            return None
        state = self._placed(path)
        digest = self.cache.known_digest(path, stat, state.cache_key)
        identity = self.cache.facts_digest_of(digest) if digest else None
        return None if digest is None or identity is None else (digest, identity)

    def _placed(self, path: str) -> FileState:
        """A project file outside the run, with its module and context (a
        caller's memory keeps them between runs)."""
        def place() -> tuple[str, str, bool]:
            state = FileState(path, None, module=self._module_name(path))
            self._place(state, path)
            return state.module, state.context, state.pinned

        module, context, pinned = place() if self.memory is None else self.memory.place(path, place)
        return FileState(path, None, module=module, context=context, pinned=pinned)

    def _add_unread_facts(self, index: ProjectIndex, unread: dict[str, str], identities: dict[str, str]) -> None:
        assert self.cache is not None or not unread
        missing: list[FileState] = []
        kept = self.memory.facts if self.memory is not None else {}
        for display, digest in unread.items():
            if display in index.files:
                continue
            facts = kept.get(digest)
            if facts is None:
                facts = self.cache.project_facts(digest) if self.cache is not None else None
                if facts is not None and self.memory is not None:
                    kept[digest] = facts
            if facts is not None:
                index.add(display, facts, identities.get(display, ""))
            else:  # dropped from the cache since (another run pruned it): check it now
                missing.append(FileState(display, Path(display)))
        self._read_and_check(missing, RunReport())
        for other in missing:
            if other.result is not None and not other.result.facts_deferred:
                index.add(other.display, other.result.facts, other.result.facts_digest, other.result.packed)
        if self.memory is not None:
            self.memory.keep_facts(set(unread.values()))
            index.kept = self.memory.kept

    def _project_files(self, root: str) -> list[str]:
        """Every file of the project, from the cached walk while it is current."""
        if self.cache is not None:
            files = self.cache.tree(root)
            if files is not None:
                return files
        discovery = Discovery(Path(root), self.config.exclude + self.config.extend_exclude, self.config.respect_gitignore)
        files = [str(real) for _, real in discovery.files([root])]
        if self.cache is not None:
            self.cache.put_tree(root, files, discovery.watched)
        return files

    # -- finishing ------------------------------------------------------------------
    def _finish(self, states: list[FileState], project_findings: list[Finding], report: RunReport) -> None:
        by_path: dict[str, list[Finding]] = {}
        for state in states:
            if state.result is not None:
                by_path.setdefault(state.display, []).extend(state.result.findings)
        for finding in project_findings:
            by_path.setdefault(finding.path, []).append(finding)
        from_project = set(project_findings)
        selected = set(self.codes)
        minimum = self.config.confidence
        for state in states:
            result = state.result
            if result is None:
                continue
            refixed = result.fixed_source is not None and state.display in self._inherited_functions
            if refixed:
                result = self._refix(state, result)
                by_path[state.display] = [*result.findings, *(f for f in by_path.get(state.display, [])
                                                               if f in from_project)]
            findings = self._in_caller_contexts(state, by_path.get(state.display, []), from_project)
            ignored = self._ignored_codes(state.display)
            findings = [f for f in findings if f.code not in ignored]
            # a line's own comment answers first; a file-level one covers the rest
            suppressions = sorted((Suppression.from_json(s) for s in result.facts.get("__suppressions__", [])),
                                  key=lambda s: s.style == "file")
            kept = []
            for finding in findings:
                hit = next((s for s in suppressions if s.covers(finding.line, finding.code)), None)
                if hit is not None:
                    hit.used.add(finding.code)  # used even when the finding is below min-confidence
                elif finding.confidence.shown_at(minimum):
                    kept.append(finding)
                else:
                    report.hidden.append(finding)
            kept.extend(
                f for f in self._suppression_findings(state.display, suppressions, selected, result)
                if f.code not in ignored
            )
            kept = self._apply_project_fixes(state, kept, from_project, refixed)
            report.findings.extend(kept)
            if kept:
                self._read_source(state)
            if kept and state.source is not None:
                report.texts[state.display] = result.fixed_source or state.source.text
                if state.real is not None:
                    report.encodings[state.display] = state.source.encoding
            report.fixed += result.fixed
            if result.fixed_codes and not self.settings.diff:
                report.fixed_codes[state.display] = list(result.fixed_codes)
            if result.fixed_source is not None:
                report.changed.append(state)
        report.findings.sort(key=Finding.sort_key)
        report.hidden.sort(key=Finding.sort_key)
        self._count_contexts(states, report)
        self._write_fixes(report)

    def _refix(self, state: FileState, result: FileResult) -> FileResult:
        """The file's fixes made again with the functions that take their callers'
        context placed there, so that no fix lands where no finding is reported;
        the file's facts stay those of its first check."""
        assert state.source is not None
        display, text, module, ignored, context, pinned = self._job(state)
        again = self.checker.check(display, text, module_name=module, ignored=ignored, context=context,
                                   pinned=pinned, inherited=self._inherited_functions[display])
        if again.error is not None:
            return result
        dropped = again.facts.get("__dropped__")  # now also what the quieted functions held
        again.facts = {**result.facts, **({"__dropped__": dropped} if dropped else {})}
        again.facts_digest, again.packed = result.facts_digest, result.packed
        state.result = again
        return again

    def _count_contexts(self, states: list[FileState], report: RunReport) -> None:
        """Per code context: its files, those no selected rule checks (never
        parsed, or parsed only to learn it), and the findings dropped there."""
        for state in states:
            if state.result is None:
                continue
            facts = state.result.facts
            context = facts.get("__context__", state.context)
            report.context_files[context] = report.context_files.get(context, 0) + 1
            if context not in self._checked_contexts:
                report.context_skipped[context] = report.context_skipped.get(context, 0) + 1
            for dropped in (facts.get("__dropped__", {}), facts.get("__project_dropped__", {})):
                for where, count in dropped.items():
                    report.context_dropped[where] = report.context_dropped.get(where, 0) + count

    def _apply_project_fixes(self, state: FileState, kept: list[Finding], from_project: set[Finding],
                             refixed: bool = False) -> list[Finding]:
        """Apply the fixes of project findings, in the same run as the file's own
        fixes (fixing fixed code then changes nothing). Their edits are offsets in
        the text whose facts the project phase read: the file's fixed text when
        its own fixes applied (the checker returns that text's facts). A file
        re-fixed for its callers' contexts has other text than those facts
        describe, so its project fixes wait for the next run. Returns the
        findings left to report."""
        result = state.result
        if not self._fixing or state.source is None or result is None or refixed:
            return kept
        fixable = [
            f for f in kept
            if f in from_project and f.fix is not None
            and (f.fix.safety is FixSafety.SAFE or self.settings.unsafe_fixes)
        ]
        if not fixable:
            return kept
        original = state.source.text
        text = result.fixed_source if result.fixed_source is not None else original
        new_text, applied = apply_edits(text, [f.fix for f in fixable if f.fix is not None])
        if applied != len(fixable) or new_text == text or syntax_error(new_text, state.display) is not None:
            return kept
        result.fixed_source, result.original_source = new_text, original
        result.fixed += applied
        result.fixed_codes.extend(f.code for f in fixable)
        return [f for f in kept if f not in fixable]

    def _suppression_findings(self, path: str, suppressions: list[Suppression], selected: set[str], result: FileResult) -> list[Finding]:
        """SL001 for blanket comments, SL002 for ones that hide nothing."""
        if result.error is not None:
            return []
        out: list[Finding] = []
        for s in suppressions:
            message = self._blanket_message(s) if BLANKET_CODE in selected else None
            if message is not None:
                out.append(Finding(BLANKET_CODE, "blanket-suppression", message, path, s.line, s.column, s.line, s.column + 1))
                continue
            message = self._unused_message(s, selected) if UNUSED_CODE in selected else None
            if message is not None:
                out.append(Finding(UNUSED_CODE, "unused-suppression", message, path, s.line, s.column, s.line, s.column + 1))
        return out

    def _blanket_message(self, s: Suppression) -> str | None:
        """Why a comment naming no code is reported (SL001), if it is."""
        if not s.bare:
            return None
        if s.style == "scalelint":
            return "`# scalelint: ignore` without codes hides every rule on this line; name them, e.g. `# scalelint: ignore[SL101]`"
        if s.style == "file":
            return "`# scalelint: ignore-file` without codes turns every rule off for this file; name them, e.g. `# scalelint: ignore-file[SL104]`"
        if s.style == "noqa" and s.used and self.config.bare_noqa == "report":
            hidden = ", ".join(sorted(s.used))
            return f"bare `# noqa` hides {hidden} on this line; name it, e.g. `# noqa: {min(s.used)}` (or set bare-noqa in the config)"
        return None

    def _unused_message(self, s: Suppression, selected: set[str]) -> str | None:
        """Why a suppression is useless (SL002), if it is."""
        if s.style == "file-late":
            return "`# scalelint: ignore-file` below the first statement has no effect; move it to the top of the file"
        if s.bare:
            return None
        unknown = [c for c in s.codes if c not in self.known_codes]
        if unknown:
            return f"suppression names unknown rule code{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}"
        unused = [c for c in s.codes if c in selected and c not in s.used and c != UNUSED_CODE]
        if unused:
            where = "in this file" if s.style == "file" else "on this line"
            return f"suppression of {', '.join(unused)} matches no finding {where}; remove it"
        return None

    def _write_fixes(self, report: RunReport) -> None:
        if self.settings.diff:
            return
        written: set[Path] = set()  # targets already rewritten (a file and a symlink to it)
        for state in report.changed:
            assert state.result is not None and state.result.fixed_source is not None
            assert state.source is not None
            try:
                data = state.source.encode(state.result.fixed_source)
            except UnicodeEncodeError:
                report.errors.append(FileError(state.display, f"fix not written: result cannot be encoded as {state.source.encoding}"))
                continue
            if state.real is None:
                report.stdin_output = state.result.fixed_source
                continue
            shown = Path(state.display)  # explicitly named files arrive resolved: see the link the user named
            path = shown if os.path.realpath(shown) == os.path.realpath(state.real) else state.real
            problem = write_checked(path, data, lambda now: content_hash(now, state.module) == state.digest, written)
            if problem is not None:
                report.errors.append(FileError(state.display, f"fix not written: {problem}"))
        if self.settings.stdin_text is not None and report.stdin_output is None:
            report.stdin_output = self.settings.stdin_text


class _Clock:
    """Seconds spent per phase, written into ``timings`` as each ends."""

    def __init__(self, timings: dict[str, float]) -> None:
        self.timings = timings
        self.started = time.perf_counter()

    def lap(self, phase: str) -> None:
        now = time.perf_counter()
        self.timings[phase] = self.timings.get(phase, 0.0) + now - self.started
        self.started = now


def build_checker(config: Config, file_rules: list, fix: bool = False, unsafe_fixes: bool = False) -> "Checker":
    """The checker of a run with these file rules (not SL001/SL002)."""
    from scalelint.engine.checker import CheckOptions, Checker
    from scalelint.model.module import Recognition

    return Checker(
        loadable_anywhere(file_rules),
        Recognition(**config.recognition()),
        CheckOptions(fix=fix, unsafe_fixes=unsafe_fixes, bare_noqa=config.bare_noqa,
                     min_confidence=config.confidence),
        runs_in_of(config, file_rules),
    )


def runs_in_of(config: Config, file_rules: list) -> dict[str, frozenset[str]]:
    """The code contexts each rule checks: declared, then configured."""
    return {r.code: config.runs_in(r.code, r.contexts) for r in file_rules}


def file_rules_of(rules: list) -> list:
    """The rules a checker runs: all but the suppression rules (SL001/SL002)."""
    return [r for r in rules if r.code not in (BLANKET_CODE, UNUSED_CODE)]


def write_checked(path: Path, data: bytes, unchanged: Callable[[bytes], bool], written: set[Path]) -> str | None:
    """Rewrite a checked file in place of what was checked, or say why not.

    A symlink is written through to its target when the target is inside the
    link's own project (a link out of it is left alone); the bytes on disk must still be
    the ones checked (an edit saved meanwhile wins); the write is atomic and
    keeps the file's mode, owner and group."""
    target = Path(os.path.realpath(path))
    if target in written:
        return None
    if target != Path(os.path.abspath(path)) and not _inside(target, project_root(Path(os.path.abspath(path)).parent)):
        return f"it is a symlink to {target}, outside the project"
    try:
        if not unchanged(target.read_bytes()):
            return "the file changed since it was checked; run again"
        write_atomic_bytes(target, data)
    except OSError as exc:
        return exc.strerror or str(exc)
    written.add(target)
    return None


def _inside(path: Path, root: Path) -> bool:
    return Path(os.path.realpath(root)) in path.parents
