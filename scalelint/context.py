"""What a rule sees of the file being checked, and where its reports go."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import libcst as cst

from scalelint.findings import Edit, Finding, Fix, FixSafety
from scalelint.positions import Positions

if TYPE_CHECKING:
    from scalelint.model.module import ModuleModel
    from scalelint.rule import Rule


@dataclass
class FileContext:
    path: str  # display path
    text: str
    module: cst.Module
    model: "ModuleModel"
    findings: list[Finding] = field(default_factory=list)

    @cached_property
    def positions(self) -> Positions:
        return Positions(self.module, self.text)

    def location(self, node: cst.CSTNode, end_node: cst.CSTNode | None = None) -> tuple[int, int, int, int]:
        start, end = self.positions.span(node)
        if end_node is not None:
            end = self.positions.span(end_node)[1]
        line, col = self.positions.line_col(start)
        end_line, end_col = self.positions.line_col(end)
        return line, col, end_line, end_col

    def line_of(self, node: cst.CSTNode) -> int:
        return self.positions.line_col(self.positions.span(node)[0])[0]

    def report(
        self,
        rule: "Rule",
        node: cst.CSTNode,
        message: str,
        *,
        fix: Fix | None = None,
        end_node: cst.CSTNode | None = None,
    ) -> None:
        line, col, end_line, end_col = self.location(node, end_node)
        self.findings.append(
            Finding(rule.code, rule.name, message, self.path, line, col, end_line, end_col, fix)
        )

    # -- building fixes -----------------------------------------------------------
    def replacement_fix(
        self, old: cst.CSTNode, new: cst.CSTNode, message: str, safety: FixSafety,
        extra: tuple[tuple[cst.CSTNode, cst.CSTNode], ...] = (),
    ) -> Fix | None:
        """A fix replacing ``old`` with ``new`` (and any ``extra`` pairs), as one
        minimal text edit. None when the result would not parse."""
        replacements = {old: new, **dict(extra)}
        updated = self.module.visit(_Replacer(replacements))
        new_text = updated.code
        try:
            cst.parse_module(new_text)
        except Exception:
            return None
        return Fix(message, safety, (minimal_edit(self.text, new_text),))


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
