"""What a file rule sees of the file being checked, and where its reports go."""
from __future__ import annotations

import ast
import bisect
from dataclasses import dataclass, field
from typing import Any, Sequence

import libcst as cst

from scalelint.core.findings import Edit, Finding, Fix, FixSafety, Related, RuleIdentity
from scalelint.core.edits import apply_edits
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
    ) -> None:
        line, col, end_line, end_col = self.location(node, end_node)
        self.findings.append(
            Finding(rule.code, rule.name, message, self.path, line, col, end_line, end_col, fix, tuple(related))
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
        when the result would not parse."""
        replacements = {old: new, **dict(extra)}
        edits = self._statement_edits(replacements)
        if edits is None:
            updated = self.module.visit(_Replacer(replacements))
            edits = (minimal_edit(self.text, updated.code),)
        new_text, applied = apply_edits(self.text, [Fix(message, safety, edits)])
        if not applied or not _parses(new_text):
            return None
        return Fix(message, safety, edits)

    def _statement_edits(self, replacements: dict[cst.CSTNode, Any]) -> tuple[Edit, ...] | None:
        """Edits that rewrite only the top-level statements holding the replaced
        nodes: the rest of the module is neither transformed nor regenerated.
        None when a node cannot be placed (then the whole module is rewritten)."""
        body = self.module.body
        if not body:
            return None
        positions = self.positions
        try:
            starts = [positions.full_span(stmt)[0] for stmt in body]
            spans = [positions.full_span(node) for node in replacements]
        except KeyError:
            return None
        touched = sorted({bisect.bisect_right(starts, start) - 1 for start, _ in spans})
        if touched[0] < 0:
            return None
        edits = []
        for index in touched:
            stmt = body[index]
            start, end = positions.full_span(stmt)
            result = stmt.visit(_Replacer(replacements))
            if isinstance(result, cst.FlattenSentinel):
                code = "".join(self.module.code_for_node(node) for node in result.nodes)
            elif isinstance(result, cst.RemovalSentinel):
                code = ""
            else:
                code = self.module.code_for_node(result)
            edit = minimal_edit(self.text[start:end], code)
            edits.append(Edit(edit.start + start, edit.end + start, edit.text))
        return tuple(edits)


def _parses(text: str) -> bool:
    """CPython's own parser (a fraction of LibCST's cost) as the syntax check;
    the fix loop parses the result with LibCST again before keeping it."""
    try:
        ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


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
