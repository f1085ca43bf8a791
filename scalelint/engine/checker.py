"""Checking one file's text: prefilter, one parse, the semantic model, the
file rules, fixes applied and re-checked. Runs in worker processes; built
once per process, then reused for every file."""
from __future__ import annotations

import ast
from dataclasses import asdict, dataclass, field
from typing import Any

import libcst as cst

from scalelint.context import FileContext
from scalelint.core.findings import Confidence, FileError, FileResult, Finding, Fix, FixSafety, facts_digest
from scalelint.core.edits import apply_edits, choose_fixes
from scalelint.engine.guard import Limits, TooComplex, compiles, cpython_tree, run_guarded
from scalelint.engine.manifest import LazyRule
from scalelint.model import contexts, entrypoints, textuses
from scalelint.model.module import ModuleModel, Recognition
from scalelint.model.connections import summaries
from scalelint.engine.parsing import parse_module
from scalelint.engine.prefilter import Prefilter
from scalelint.rule import ProjectRule, Rule
from scalelint.engine.source import final_syntax_error, syntax_error_message
from scalelint.report.suppressions import Suppression, parse_suppressions

MAX_FIX_ROUNDS = 8


class RuleCrash(Exception):
    """A rule raised while checking a file."""


@dataclass(frozen=True)
class CheckOptions:
    fix: bool = False
    unsafe_fixes: bool = False
    bare_noqa: str = "report"  # what a bare `# noqa` means (scalelint.report.suppressions.BARE_NOQA)
    #: findings below it are not reported, so not fixed either
    min_confidence: Confidence = Confidence.HIGH
    limits: Limits = field(default_factory=Limits)


class _Dispatch:
    """One rule of the checker. Its class is imported on first use, when a
    file's text first matches its vocabulary (a run imports only the rule
    and model modules its files need); then, once: which hooks it overrides."""

    def __init__(self, source: Any, runs_in: frozenset[str] | None = None) -> None:
        self.source = source  # a rule class, or a LazyRule naming its module
        self.vocabulary: tuple[str, ...] = source.vocabulary
        #: the code contexts it checks (its declared ones unless configured)
        self.contexts: frozenset[str] = source.contexts if runs_in is None else runs_in
        self.rule: Rule | None = None  # the instance, once imported
        self.module_hook = self.function_hook = self.facts_hook = False
        self.facts_name = ""

    def ready(self) -> "_Dispatch":
        if self.rule is None:
            rule_cls = self.source.load() if isinstance(self.source, LazyRule) else self.source
            self.module_hook = rule_cls.check_module is not Rule.check_module
            self.function_hook = rule_cls.check_function is not Rule.check_function
            project = issubclass(rule_cls, ProjectRule)
            self.facts_hook = project and rule_cls.collect_facts is not ProjectRule.collect_facts
            self.facts_name = rule_cls.facts_name() if project else ""
            self.rule = rule_cls()
        return self


@dataclass
class Checker:
    rules: list[Any]  # rule classes, or LazyRules that import them on first use
    recognition: Recognition = field(default_factory=Recognition)
    options: CheckOptions = field(default_factory=CheckOptions)
    #: code -> the contexts it checks, as configured (Config.runs_in); rules
    #: not named here check the contexts they declare
    runs_in: dict[str, frozenset[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._dispatch = [_Dispatch(rule, self.runs_in.get(rule.code)) for rule in self.rules]
        self._prefilter = Prefilter.for_rules((d.vocabulary for d in self._dispatch), asdict(self.recognition))
        #: whether the modules publish their call summaries (for request code): a selected
        #: rule reads them, or one skips a context that functions take from their callers
        self._summaries = contexts.publishes_summaries(self.rules, {d.source.code: d.contexts for d in self._dispatch})

    def active_for(self, text: str, context: str = contexts.REQUEST) -> list[_Dispatch]:
        """Rules that can possibly match this text (by declared vocabulary) and check its context."""
        return [
            self._dispatch[i].ready() for i in self._prefilter.matching(text)
            if context in self._dispatch[i].contexts
        ]

    # -- checking -----------------------------------------------------------------
    def check(
        self, path: str, text: str, *, module_name: str = "", ignored: frozenset[str] = frozenset(),
        context: str = contexts.REQUEST, pinned: bool = False, inherited: dict[str, str] | None = None,
    ) -> FileResult:
        """Check one file. ``context`` is the file's code context by its path
        (the runner reads it: scalelint.model.contexts.path_context); ``pinned``
        when configuration set it, so that neither its imports nor its
        functions refine it; ``inherited``: qualname -> the context that
        function takes from its callers, when a project phase has found them."""
        result = FileResult(path)
        suppressions = parse_suppressions(text, bare_noqa=self.options.bare_noqa)
        result.facts["__suppressions__"] = [s.to_json() for s in suppressions]
        where = Where(context, pinned, inherited=dict(inherited or {}))
        active = self.active_for(text, where.context)
        where.summaries = self._summaries
        if not active and not (where.summaries and (
                any(word in text for word in summaries.VOCABULARY) or textuses.runs_elsewhere(text))):
            if where.context != contexts.REQUEST:
                result.facts["__context__"] = where.context
            if where.summaries:
                textuses.note_text_uses(result, text, module_name, where.context)
            return result
        try:
            return run_guarded(lambda: self._check_guarded(result, text, module_name, ignored, suppressions, active, where),
                               self.options.limits.time_budget_s)
        except (TooComplex, RecursionError) as exc:
            reason = str(exc) if isinstance(exc, TooComplex) else "skipped: too complex (nested too deep for the analysis)"
            result.error = FileError(path, reason)
            return result

    def _check_guarded(self, result: FileResult, text: str, module_name: str, ignored: frozenset[str],
                       suppressions: list[Suppression], active: list[_Dispatch], where: "Where") -> FileResult:
        """The check proper, run by check() under the guard (scalelint.engine.guard)."""
        path = result.path
        refused, final, tree = self._cpython_refusal(text, path)
        if final:
            result.error = FileError(path, refused)
            return result
        try:
            findings, facts = self._run(path, text, module_name, active, where, tree)
        except cst.ParserSyntaxError as exc:
            result.error = FileError(path, refused or f"syntax error at line {exc.raw_line}, column {exc.raw_column + 1}: {exc.message}")
            return result
        except RuleCrash as crash:
            result.error = FileError(path, str(crash), internal=True)
            return result
        result.facts.update(facts)
        result.facts_digest = facts_digest(result.facts)
        if self.options.fix and not refused and compiles(text, path):  # never fix what CPython refuses
            fixed_text, findings, result.fixed_codes, fixed_facts = self._fix_loop(
                path, text, module_name, findings, suppressions, ignored, where
            )
            result.fixed = len(result.fixed_codes)
            if fixed_text != text:
                result.fixed_source = fixed_text
                result.original_source = text
                # the project phase judges the text written, not the text read (a replica read
                # swapped to the primary can show a race the replica finding stood for)
                result.facts.update(fixed_facts)
                result.facts_digest = facts_digest(result.facts)
        result.findings = findings
        return result

    def _cpython_refusal(self, text: str, path: str) -> tuple[str, bool, ast.Module | None]:
        """CPython's syntax error for the file ("" if none), whether it is
        final, and CPython's tree when it parsed (the model reuses it); raises
        TooComplex when the file is beyond the limits. Other refusals may be
        newer syntax than this interpreter's: LibCST decides, and the message
        is reported only if it refuses the file too."""
        try:
            tree = cpython_tree(text, path, self.options.limits)
        except SyntaxError as exc:
            return syntax_error_message(exc), final_syntax_error(exc), None
        return "", False, tree

    def _run(self, path: str, text: str, module_name: str, active: list[_Dispatch], where: "Where",
             tree: ast.Module | None = None) -> tuple[list[Finding], dict[str, Any]]:
        module = parse_module(text)
        model = ModuleModel(module, path=path, module_name=module_name, recognition=self.recognition)
        ctx = FileContext(path, text, module, model, tree)
        try:
            placed = where.refined(ctx)
            if placed.context != where.context:
                active = [d for d in active if placed.context in d.contexts]
            findings, facts = self._run_rules(ctx, active)
            if where.summaries:
                published = summaries.module_facts(model, text, tree, request=placed.context == contexts.REQUEST)
                if published:
                    facts[summaries.FACTS_KEY] = published
            return placed.keep(findings, facts, {d.rule.code: d.contexts for d in active})
        finally:
            model.release()
            for d in active:
                d.rule._ctx = None  # type: ignore[assignment]  # the tree goes with the file

    def _run_rules(self, ctx: FileContext, active: list[_Dispatch]) -> tuple[list[Finding], dict[str, Any]]:
        model = ctx.model
        facts: dict[str, Any] = {}
        for d in active:
            d.rule._ctx = ctx
            try:
                if d.module_hook:
                    d.rule.check_module(model)
                if d.function_hook:
                    for fn in model.functions:
                        d.rule.check_function(fn)
                if d.facts_hook and d.facts_name not in facts:
                    value = d.rule.collect_facts(model)  # type: ignore[attr-defined]
                    if value:
                        facts[d.facts_name] = value
            except RecursionError:
                raise  # the file is too deep, not the rule wrong: check() reports it
            except Exception as exc:  # a rule bug must not end the run, nor pass silently
                raise RuleCrash(f"internal error in {d.rule.code} ({type(exc).__name__}: {exc}); please report it") from exc
        return ctx.findings, facts

    def _fixable(self, finding: Finding, suppressions: list[Suppression], ignored: frozenset[str]) -> Fix | None:
        fix = finding.fix
        if fix is None or finding.code in ignored or not finding.confidence.shown_at(self.options.min_confidence):
            return None
        if fix.safety is FixSafety.UNSAFE and not self.options.unsafe_fixes:
            return None
        if any(s.covers(finding.line, finding.code) for s in suppressions):
            return None
        return fix

    def _fix_loop(self, path, text, module_name, findings, suppressions, ignored, where):
        """Apply fixes round by round while they apply, compile and re-check;
        returns the text, its findings, the codes of the findings fixed and the
        facts of the fixed text (its call summaries included)."""
        fixed_codes: list[str] = []
        facts: dict = {}
        for _ in range(MAX_FIX_ROUNDS):
            offered = [(x.code, f) for x in findings if (f := self._fixable(x, suppressions, ignored))]
            chosen = {id(fix) for fix in choose_fixes([fix for _, fix in offered])}
            if not chosen:
                break
            new_text, applied = apply_edits(text, [fix for _, fix in offered if id(fix) in chosen])
            if not applied or new_text == text or not compiles(new_text, path):
                break
            try:
                # the fixed text's own call summaries: the project phase places related
                # locations (the blocking call a helper reaches) in the text written
                new_findings, new_facts = self._run(path, new_text, module_name,
                                                    self.active_for(new_text, where.context), where)
            except (cst.ParserSyntaxError, RuleCrash):
                break  # never keep a fix whose result does not parse or check
            text, findings, facts = new_text, new_findings, new_facts
            fixed_codes.extend(code for code, fix in offered if id(fix) in chosen)
            suppressions = parse_suppressions(text, bare_noqa=self.options.bare_noqa)
        return text, findings, fixed_codes, facts


@dataclass
class Where:
    """A file's code context by path, whether configuration pinned it, and
    whether the file publishes its call summaries."""

    context: str
    pinned: bool = False
    summaries: bool = False
    #: qualname -> the context that function takes from its callers (known after a
    #: project phase: scalelint.model.connections.callers.inherited_functions)
    inherited: dict[str, str] = field(default_factory=dict)

    def refined(self, source: FileContext) -> "Placed":
        """The file's context once parsed (its imports), and the functions and
        blocks that run in another (both left alone when pinned)."""
        if self.pinned:
            return Placed(self.context)
        context = contexts.module_context(source.model, self.context)
        if context != contexts.REQUEST:
            return Placed(context, [])
        regions = entrypoints.regions(source)
        if self.inherited:
            spans = summaries.function_spans(source.python_tree, source.text)
            regions += [contexts.Region(*spans[name], taken) for name, taken in self.inherited.items() if name in spans]
        return Placed(context, regions)


@dataclass(frozen=True)
class Placed:
    """Where each line of a parsed file runs."""

    context: str
    regions: list[contexts.Region] = field(default_factory=list)

    def keep(self, findings: list[Finding], facts: dict[str, Any],
             runs_in: dict[str, frozenset[str]]) -> tuple[list[Finding], dict[str, Any]]:
        """The findings whose rule checks the context of their line; the
        others are counted per context in ``__dropped__``. Facts record the
        file's context and regions for the project phase and --statistics."""
        kept: list[Finding] = []
        dropped: dict[str, int] = {}
        for finding in findings:
            context = contexts.context_at(self.context, self.regions, finding.line)
            if context in runs_in.get(finding.code, frozenset({context})):
                kept.append(finding)
            else:
                dropped[context] = dropped.get(context, 0) + 1
        if self.context != contexts.REQUEST:
            facts["__context__"] = self.context
        if dropped:
            facts["__dropped__"] = dropped
        if self.context != contexts.REQUEST or self.regions:
            facts[contexts.FACTS_KEY] = {"file": self.context, "regions": [r.to_json() for r in self.regions]}
        return kept, facts
