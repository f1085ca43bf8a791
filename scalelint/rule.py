"""The base class every rule derives from, built-in or third-party.

A rule is declared, not wired: class attributes say what it is (code, name,
vocabulary for the prefilter, fix safety) and its methods ask the semantic
model questions and call :meth:`Rule.report`.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, ClassVar, Iterable, Sequence

from scalelint.core.findings import Confidence, FixSafety
from scalelint.core.lazyre import lazy_compile

if TYPE_CHECKING:
    import libcst as cst

    from scalelint.context import FileContext
    from scalelint.core.findings import Fix, Related
    from scalelint.model.function import FunctionModel
    from scalelint.model.module import ModuleModel
    from scalelint.project import ProjectIndex, ProjectReporter

_CODE = lazy_compile(r"^[A-Z]{1,4}[0-9]{3}$")
_NAME = lazy_compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


class Rule:
    """A rule checked per file. Subclasses set the class attributes and
    override :meth:`check_module` and/or :meth:`check_function`.

    The class docstring is the rule's documentation, in the sections
    What it does / Why it matters at scale / Example / Use instead /
    Fix safety / Configuration.
    """

    code: ClassVar[str]
    name: ClassVar[str]
    summary: ClassVar[str]
    #: Substrings of which a file must contain at least one for the rule to run
    #: (names configured in the project are added; see scalelint.engine.prefilter).
    #: Empty means "every file" (use sparingly: it defeats the prefilter).
    vocabulary: ClassVar[tuple[str, ...]] = ()
    #: ``None`` when the rule never offers a fix, else the safety of its best fix.
    fix_safety: ClassVar[FixSafety | None] = None
    #: True for rules that publish facts or read the project index.
    project_wide: ClassVar[bool] = False
    #: Where the docs live online (SARIF helpUri); filled from the code by default.
    docs_url: ClassVar[str | None] = None
    #: The code contexts (scalelint.model.contexts) the rule checks by default;
    #: a finding in a file or function of another context is not reported.
    #: Scaling rules check request code and scheduled jobs; ``[tool.scalelint] contexts`` overrides.
    contexts: ClassVar[frozenset[str]] = frozenset({"request", "scheduled"})
    #: Checked contexts whose findings the rule reports at low confidence: the
    #: context itself says the harm is small (SL104 in ``scheduled`` jobs, one
    #: run at a time off any request). Its docs' Configuration section says so.
    low_confidence_contexts: ClassVar[frozenset[str]] = frozenset()
    #: Numeric options and their defaults, set in ``[tool.scalelint.rules.<CODE>]``
    #: (``lag-budget = 5``); a project rule reads them with ``ProjectReporter.option``.
    options: ClassVar[dict[str, float]] = {}
    #: Shared fact families the rule reads in its project phase (for example
    #: ``"summaries"``, what every module's functions call and do): the checker
    #: publishes them for every request-code file while such a rule is selected.
    shared_facts: ClassVar[tuple[str, ...]] = ()

    _ctx: "FileContext"

    # -- declared API ---------------------------------------------------
    def check_module(self, module: "ModuleModel") -> None:
        """Called once per file with the module's semantic model."""

    def check_function(self, fn: "FunctionModel") -> None:
        """Called once per function (and method, and nested function)."""

    def report(
        self,
        node: "cst.CSTNode",
        message: str,
        *,
        fix: "Fix | None" = None,
        end_node: "cst.CSTNode | None" = None,
        related: "Sequence[Related]" = (),
        confidence: Confidence = Confidence.HIGH,
    ) -> None:
        """Report a finding at ``node`` (``confidence`` LOW when the code shows
        the shape but not that it matters; see scalelint.core.findings.Confidence)."""
        self._ctx.report(self, node, message, fix=fix, end_node=end_node, related=related, confidence=confidence)

    def related(self, node: "cst.CSTNode", message: str) -> "Related":
        """Another place of the file being checked that belongs to a finding."""
        return self._ctx.related(node, message)

    # -- metadata ---------------------------------------------------------
    @classmethod
    def validate_declaration(cls) -> list[str]:
        """Problems with how the rule class is declared (empty when fine)."""
        problems = []
        for attr in ("code", "name", "summary"):
            if not isinstance(getattr(cls, attr, None), str):
                problems.append(f"missing class attribute {attr!r}")
        if problems:
            return problems
        if not _CODE.match(cls.code):
            problems.append(f"code {cls.code!r} is not like 'SL101'")
        if not _NAME.match(cls.name):
            problems.append(f"name {cls.name!r} is not kebab-case")
        if not (cls.__doc__ or "").strip():
            problems.append("has no docs (class docstring)")
        return problems

    @classmethod
    def docs(cls) -> str:
        import inspect

        return inspect.cleandoc(cls.__doc__ or "")

    @classmethod
    def doc_section(cls, title: str) -> str:
        """The text of one ``## Title`` section of the docs ('' if absent)."""
        return doc_section_in(cls.docs(), title)

    @classmethod
    def doc_examples(cls, title: str) -> list[str]:
        """The fenced python code blocks of one docs section."""
        return doc_examples_in(cls.docs(), title)

    @classmethod
    def help_uri(cls) -> str:
        return cls.docs_url or (
            "https://github.com/scalelint/scalelint/blob/main/docs/rules/"
            f"{cls.code}.md"
        )


def doc_section_in(docs: str, title: str) -> str:
    match = re.search(rf"^##\s+{re.escape(title)}\s*$(.*?)(?=^##\s|\Z)", docs, re.M | re.S)
    return match.group(1).strip() if match else ""


def doc_examples_in(docs: str, title: str) -> list[str]:
    return [m.group(1) for m in re.finditer(r"```python\n(.*?)```", doc_section_in(docs, title), re.S)]


class ProjectRule(Rule):
    """A rule that needs the whole project: it publishes per-file facts in the
    file phase and reports from the merged index in the project phase,
    without re-parsing any file."""

    project_wide: ClassVar[bool] = True
    #: Where this rule's facts are kept in the project index. Rules that publish
    #: the same facts (one dataflow read by several rules) share a key, so the
    #: facts are built, stored and cached once; defaults to the rule's code.
    facts_key: ClassVar[str | None] = None
    #: The project structures this rule reads (scalelint.project.ProjectIndex.derived
    #: names): the runner keeps each one until its last reader has run. A structure
    #: not declared is only built again when read (the same value, more time).
    shared_structures: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def facts_name(cls) -> str:
        return cls.facts_key or cls.code

    def collect_facts(self, module: "ModuleModel") -> Any:
        """Small JSON-serialisable facts about this file (None for none)."""
        return None

    def check_project(self, index: "ProjectIndex", out: "ProjectReporter") -> None:
        """Report findings from the merged facts of every file."""


def rule_classes_in(namespace: Iterable[Any]) -> list[type[Rule]]:
    """Concrete Rule subclasses among the given objects (for plugin modules)."""
    found = []
    for obj in namespace:
        if (
            isinstance(obj, type)
            and issubclass(obj, Rule)
            and obj not in (Rule, ProjectRule)
            and isinstance(getattr(obj, "code", None), str)
        ):
            found.append(obj)
    return found
