"""Rewriting a few nodes of a module in place, at a cost that follows the
statements touched rather than the file.

A fix replaces some nodes. Instead of transforming and regenerating the whole
module (or a whole top-level class) per fix, we find the innermost statement
holding the replaced nodes, regenerate only that statement with its block's
indentation, check that the new statement parses, and express the change as
the same minimal edit a whole-statement diff would give.
"""
from __future__ import annotations

import ast
import bisect
from dataclasses import dataclass
from typing import Any

import libcst as cst
from libcst._nodes.internal import CodegenState

from scalelint.core.findings import Edit
from scalelint.core.positions import Positions
from scalelint.core.walk import children

#: the wrapper that lets an indented statement parse on its own
_BLOCK_HEADER = "if 1:\n"


@dataclass(frozen=True)
class Region:
    """One statement (``node``) of the module, its character span in the
    file, the indentation of its block, and the top-level statement holding it."""

    node: cst.BaseStatement
    start: int
    end: int
    indent: str
    top_start: int
    top_end: int


class _Level:
    """The statements directly under one node, with their spans and indentation."""

    def __init__(self, entries: list[tuple[cst.BaseStatement, str]], positions: Positions) -> None:
        self.entries = entries
        self.spans = [positions.full_span(stmt) for stmt, _ in entries]
        self.starts = [start for start, _ in self.spans]

    def holding(self, lo: int, hi: int) -> int | None:
        """Index of the statement whose span holds [lo, hi), if any."""
        index = bisect.bisect_right(self.starts, lo) - 1
        if index >= 0 and self.spans[index][1] >= hi:
            return index
        return None


class StatementIndex:
    """Where each statement of one module sits; levels are built on demand
    and kept, so many fixes in one file share them."""

    def __init__(self, module: cst.Module, positions: Positions) -> None:
        self.module = module
        self.positions = positions
        self._levels: dict[int, _Level] = {}

    def _level(self, node: cst.CSTNode, indent: str) -> _Level:
        level = self._levels.get(id(node))
        if level is None:
            level = _Level(_statements_under(node, indent, self.module.default_indent), self.positions)
            self._levels[id(node)] = level
        return level

    def regions(self, nodes: list[cst.CSTNode]) -> list[Region] | None:
        """The innermost statements holding ``nodes``, one per top-level
        statement touched. None when a node cannot be placed."""
        try:
            spans = [self.positions.full_span(node) for node in nodes]
        except KeyError:
            return None
        top = self._level(self.module, "")
        groups: dict[int, list[tuple[int, int]]] = {}
        for span in spans:
            index = bisect.bisect_right(top.starts, span[0]) - 1
            if index < 0:
                return None
            groups.setdefault(index, []).append(span)
        return [self._innermost(top, index, group) for index, group in sorted(groups.items())]

    def _innermost(self, top: _Level, index: int, spans: list[tuple[int, int]]) -> Region:
        lo, hi = min(s for s, _ in spans), max(e for _, e in spans)
        node, indent = top.entries[index]
        top_start, top_end = top.spans[index]
        start, end = top_start, top_end
        while True:
            level = self._level(node, indent)
            inner = level.holding(lo, hi)
            if inner is None:
                return Region(node, start, end, indent, top_start, top_end)
            node, indent = level.entries[inner]
            start, end = level.spans[inner]


def _statements_under(node: cst.CSTNode, indent: str, default_indent: str) -> list[tuple[cst.BaseStatement, str]]:
    """The statements one level below ``node`` (its body, else and except
    clauses...), each with the indentation it is generated at."""
    out: list[tuple[cst.BaseStatement, str]] = []
    if isinstance(node, cst.SimpleStatementLine):
        return out  # small statements and expressions hold no statements
    stack: list[tuple[cst.CSTNode, str]] = [(child, indent) for child in reversed(list(children(node)))]
    while stack:
        current, current_indent = stack.pop()
        if isinstance(current, cst.BaseStatement):
            out.append((current, current_indent))
            continue
        if isinstance(current, cst.IndentedBlock):
            current_indent += default_indent if current.indent is None else current.indent
        stack.extend((child, current_indent) for child in reversed(list(children(current))))
    return out


def render(module: cst.Module, result: Any, indent: str) -> str:
    """Code for a transformed statement (or a Flatten-/RemovalSentinel of
    statements) generated at the indentation of its block."""
    if isinstance(result, cst.RemovalSentinel):
        return ""
    state = CodegenState(default_indent=module.default_indent, default_newline=module.default_newline)
    if indent:
        state.indent_tokens.append(indent)
    for node in result.nodes if isinstance(result, cst.FlattenSentinel) else (result,):
        node._codegen(state)
    return "".join(state.tokens)


def parses(code: str, indent: str = "") -> bool:
    """Whether statements generated at ``indent`` are valid Python. CPython's
    parser is purely syntactic (``return`` or ``await`` out of place are the
    compiler's errors), so a statement parses in its file exactly when it
    parses under a plain block at its own indentation."""
    try:
        ast.parse(_BLOCK_HEADER + code if indent and code.strip() else code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def edit_within(text: str, region: Region, new: str) -> Edit:
    """The edit ``minimal_edit`` would find between the top-level statement
    holding ``region`` and that statement with the region's text replaced by
    ``new``, computed without building either text: the parts outside the
    region are equal, so only the characters next to it are compared."""
    lo, start, end, hi = region.top_start, region.start, region.end, region.top_end
    len_old, len_new = hi - lo, (start - lo) + len(new) + (hi - end)

    def new_char(k: int) -> str:  # k-th character of the new statement
        if k < start - lo:
            return text[lo + k]
        k -= start - lo
        return new[k] if k < len(new) else text[end + k - len(new)]

    limit = min(len_old, len_new)
    first = start - lo
    while first < limit and text[lo + first] == new_char(first):
        first += 1
    end_old, end_new = len_old, len_new
    same_tail = min(hi - end, end_old - first, end_new - first)
    end_old, end_new = end_old - same_tail, end_new - same_tail
    while end_old > first and end_new > first and text[lo + end_old - 1] == new_char(end_new - 1):
        end_old -= 1
        end_new -= 1
    return Edit(lo + first, lo + end_old, "".join(new_char(k) for k in range(first, end_new)))
