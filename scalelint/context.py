"""What a file rule sees of the file being checked, and where its reports go."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Sequence

import libcst as cst

from scalelint.core.findings import Confidence, Edit, Finding, Fix, FixSafety, Related, RuleIdentity
from scalelint.core.rewrite import StatementIndex, edit_within, parses, render
from scalelint.model.source import SourceFile


@dataclass
class FileContext(SourceFile):
    """The file being checked, and where a file rule's findings go."""

    findings: list[Finding] = field(default_factory=list)

    def report(
        self,
        rule: RuleIdentity,
        node: cst.CSTNode,
        message: str,
        *,
        fix: Fix | None = None,
        end_node: cst.CSTNode | None = None,
        related: Sequence[Related] = (),
        confidence: Confidence = Confidence.HIGH,
    ) -> None:
        line, col, end_line, end_col = self.location(node, end_node)
        self.findings.append(
            Finding(rule.code, rule.name, message, self.path, line, col, end_line, end_col, fix, tuple(related),
                    confidence)
        )

    def related(self, node: cst.CSTNode, message: str) -> Related:
        """Another place of this file that belongs to a finding (see ``report(related=...)``)."""
        line, col, _, _ = self.location(node)
        return Related(self.path, line, col, message)

    # -- building fixes -----------------------------------------------------------
    def replacement_fix(
        self, old: cst.CSTNode, new: cst.CSTNode, message: str, safety: FixSafety,
        extra: tuple[tuple[cst.CSTNode, cst.CSTNode], ...] = (),
    ) -> Fix | None:
        """A fix replacing ``old`` with ``new`` (and any ``extra`` pairs; a new
        node may be a Flatten- or RemovalSentinel), as minimal text edits. None
        when the result would not parse. Only the innermost statements holding
        the replaced nodes are regenerated and parsed, so a file's fixes cost
        what they touch, not the file each."""
        replacements = {old: new, **dict(extra)}
        regions = self._statements.regions(list(replacements))
        if regions is None:
            return self._module_fix(replacements, message, safety)
        edits = []
        for region in regions:
            code = render(self.module, region.node.visit(_Replacer(replacements)), region.indent)
            if not parses(code, region.indent):
                return None
            edits.append(edit_within(self.text, region, code))
        return Fix(message, safety, tuple(edits))

    def _module_fix(self, replacements: dict[cst.CSTNode, Any], message: str, safety: FixSafety) -> Fix | None:
        """The whole module rewritten: for nodes no statement holds."""
        new_text = self.module.visit(_Replacer(replacements)).code
        if not parses(new_text):
            return None
        return Fix(message, safety, (minimal_edit(self.text, new_text),))

    @cached_property
    def _statements(self) -> StatementIndex:
        return StatementIndex(self.module, self.positions)


class _Replacer(cst.CSTTransformer):
    def __init__(self, replacements: dict[cst.CSTNode, cst.CSTNode]) -> None:
        super().__init__()
        self.replacements = replacements

    def on_leave(self, original_node, updated_node):  # type: ignore[override]
        return self.replacements.get(original_node, updated_node)


def minimal_edit(old: str, new: str) -> Edit:
    """The smallest single edit turning ``old`` into ``new`` (common prefix/suffix trimmed)."""
    limit = min(len(old), len(new))
    start = 0
    while start < limit and old[start] == new[start]:
        start += 1
    end_old, end_new = len(old), len(new)
    while end_old > start and end_new > start and old[end_old - 1] == new[end_new - 1]:
        end_old -= 1
        end_new -= 1
    return Edit(start, end_old, new[start:end_new])
