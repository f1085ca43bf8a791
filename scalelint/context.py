"""What a rule sees of the file being checked, and where its reports go."""
from __future__ import annotations

import ast
import bisect
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import libcst as cst

from scalelint.findings import Edit, Finding, Fix, FixSafety
from scalelint.fixes import apply_edits
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

    def location(
        self, node: cst.CSTNode, end_node: cst.CSTNode | None = None, within: cst.CSTNode | None = None
    ) -> tuple[int, int, int, int]:
        start, end = self.span(node, within)
        if end_node is not None:
            end = self.span(end_node)[1]
        return (*self._line_col(start), *self._line_col(end))

    def span(self, node: cst.CSTNode, within: cst.CSTNode | None = None) -> tuple[int, int]:
        """Syntactic span of a node. An unparenthesized call whose source text
        occurs once in the file (or once in ``within``, an enclosing node whose
        own text occurs once) is found by text search, which spares files that
        report a few calls the whole-module position pass."""
        if "positions" not in self.__dict__ and isinstance(node, cst.Call) and not node.lpar:
            code = self.module.code_for_node(node)
            found = _locate(self.text, code, 0, len(self.text))
            if found is None and within is not None:
                outer = _locate(self.text, self.module.code_for_node(within), 0, len(self.text))
                found = None if outer is None else _locate(self.text, code, *outer)
            if found is not None:
                return found
        return self.positions.span(node)

    def _line_col(self, offset: int) -> tuple[int, int]:
        if "positions" in self.__dict__:
            return self.positions.line_col(offset)
        return self.text.count("\n", 0, offset) + 1, offset - (self.text.rfind("\n", 0, offset) + 1) + 1

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


def _unique(text: str, part: str, start: int, end: int) -> int | None:
    """Offset of the only occurrence of ``part`` in ``text[start:end]``."""
    first = text.find(part, start, end)
    if first < 0 or text.find(part, first + 1, end) >= 0:
        return None
    return first


def _locate(text: str, code: str, start: int, end: int) -> tuple[int, int] | None:
    """Span of a node's generated ``code`` in ``text[start:end]`` when it occurs
    once. Code generated out of context lacks the block indentation of its
    continuation lines, so a multi-line node is found by its first line and
    checked with that line's indentation restored."""
    first_line, newline, _ = code.partition("\n")
    found = _unique(text, first_line if newline else code, start, end)
    if found is None or not newline:
        return None if found is None else (found, found + len(code))
    line_start = text.rfind("\n", 0, found) + 1
    indent = text[line_start:found][: len(text[line_start:found]) - len(text[line_start:found].lstrip())]
    expected = code.replace("\n", "\n" + indent)
    return (found, found + len(expected)) if text.startswith(expected, found) else None


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
