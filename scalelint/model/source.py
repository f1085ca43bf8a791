"""The file being analysed, as the model and the rules see it: its display
path, text, LibCST module and module model, and source positions of its nodes
(computed lazily)."""
from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import libcst as cst

from scalelint.core.lines import LineIndex
from scalelint.core.positions import Positions

if TYPE_CHECKING:
    from scalelint.model.module import ModuleModel


@dataclass
class SourceFile:
    path: str  # display path
    text: str
    module: cst.Module
    model: "ModuleModel"
    #: CPython's tree of ``text`` when the caller already has it (None: built on need)
    python_tree: ast.Module | None = None

    @cached_property
    def positions(self) -> Positions:
        return Positions(self.module, self.text, self._lines)

    @cached_property
    def _lines(self) -> LineIndex:
        return LineIndex(self.text)

    @cached_property
    def _parts(self) -> dict[int, Positions | None]:
        """Positions of single statements placed alone (``Positions.of_part``), by node id."""
        return {}

    def location(
        self, node: cst.CSTNode, end_node: cst.CSTNode | None = None, within: cst.CSTNode | None = None
    ) -> tuple[int, int, int, int]:
        start, end = self.span(node, within)
        if end_node is not None:
            end = self.span(end_node)[1]
        return (*self._line_col(start), *self._line_col(end))

    def span(self, node: cst.CSTNode, within: cst.CSTNode | None = None) -> tuple[int, int]:
        """Syntactic span of a node, sparing the whole-module position pass
        when a cheaper way is exact: an unparenthesized call whose source text
        occurs once in the file; else a node of ``within`` (an enclosing
        statement), from that statement's positions alone, placed where
        CPython's tree starts it (``_part``); else an unparenthesized call
        whose text occurs once in ``within``'s text, itself occurring once."""
        if "positions" not in self.__dict__ and isinstance(node, cst.Call) and not node.lpar:
            found = _locate(self.text, self.module.code_for_node(node), 0, len(self.text))
            if found is not None:
                return found
        if "positions" not in self.__dict__ and within is not None:
            part = self._part(within)
            if part is not None and part.has(node):
                return part.span(node)
            if isinstance(node, cst.Call) and not node.lpar:
                outer = _locate(self.text, self.module.code_for_node(within), 0, len(self.text))
                found = None if outer is None else _locate(self.text, self.module.code_for_node(node), *outer)
                if found is not None:
                    return found
        return self.positions.span(node)

    def _part(self, within: cst.CSTNode) -> Positions | None:
        """Positions of the statement ``within`` alone, when its code can be
        placed exactly: where CPython's tree starts it (repeated statements
        too), or else where it occurs once, at the indentation of its line
        (none for a small statement that follows ``;`` or a colon)."""
        key = id(within)
        if key not in self._parts:
            from scalelint.model.spots import statement_locator

            start = statement_locator(self.model, self.text, self.python_tree).start(within) if self.model is not None else None
            indent = self.text[self.text.rfind("\n", 0, start) + 1:start] if start is not None else None
            if indent is not None and indent.strip(" \t") and isinstance(within, cst.BaseSmallStatement):
                indent = ""  # after ``;`` or a colon: a small statement generates no indentation
            placed = None
            if indent is not None and not indent.strip(" \t"):
                placed = Positions.of_part(self.module, self.text, within, indent, self._lines, at=start)
            self._parts[key] = placed
        return self._parts[key]

    def _line_col(self, offset: int) -> tuple[int, int]:
        return self._lines.line_col(offset)

    def line_of(self, node: cst.CSTNode, within: cst.CSTNode | None = None) -> int:
        """Line where ``node`` starts; ``within``, an enclosing statement,
        lets a node that is not itself a statement be placed without the
        whole-module position pass (see ``span``)."""
        if "positions" not in self.__dict__ and self.model is not None:
            from scalelint.model.spots import statement_locator

            start = statement_locator(self.model, self.text, self.python_tree).start(node)
            if start is not None:  # a statement: where CPython's tree starts it
                return self._lines.line_col(start)[0]
            if within is not None:
                return self._lines.line_col(self.span(node, within)[0])[0]
        return self.positions.line_col(self.positions.span(node)[0])[0]


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
