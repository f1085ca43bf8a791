"""Cheap source positions for facts.

Project facts must carry the line and column of everything the project
phase may report or name in a message, for many records per file. The
whole-module LibCST position pass costs more than the parse; instead, the
statements of CPython's ``ast`` (a fraction of the cost) give each statement's
start, and a node is found as the first occurrence of its own source text
from the start of the statement that evaluates it.
"""
from __future__ import annotations

import ast
import bisect
import gc
import re
from functools import cached_property
from typing import TYPE_CHECKING, Sequence

import libcst as cst

if TYPE_CHECKING:
    from scalelint.model.module import ModuleModel

Spot = tuple[int, int, int, int]
#: a carriage return that does not start a CRLF
_LONE_CR = re.compile(r"\r(?!\n)")
#: statements with statements inside
_COMPOUND = frozenset({cst.If, cst.For, cst.While, cst.Try, cst.TryStar, cst.With, cst.FunctionDef, cst.ClassDef,
                       cst.Match})


class StatementLocator:
    def __init__(self, module: cst.Module, text: str, tree: ast.Module | None = None) -> None:
        self.module = module
        self.text = text
        self._tree = tree  # CPython's tree of the text, when the checker has one already
        self._starts: dict[int, int] | None = None

    @cached_property
    def _line_starts(self) -> list[int]:
        starts = [0]
        at = self.text.find("\n")
        while at >= 0:
            starts.append(at + 1)
            at = self.text.find("\n", at + 1)
        return starts

    def locate(self, node: cst.CSTNode, anchor: cst.CSTNode, *, before: bool = False) -> Spot | None:
        """Where ``node`` is, searching from the start of statement ``anchor``
        (backwards from it with ``before``). None when it cannot tell."""
        start = self._statement_starts().get(id(anchor))
        if start is None:
            return None
        if getattr(node, "lpar", None):  # a node's span leaves its parentheses out, as LibCST's does
            node = node.with_changes(lpar=[], rpar=[])
        if isinstance(node, cst.Call) and not node.lpar and isinstance(node.func, (cst.Name, cst.Attribute)):
            found = self._locate_call(node, start, before)
            if found is not None:
                return found
            # the callee's text occurs first as something else (``receiver = receiver()``,
            # a string key): find the call by its own text instead
        code = self.module.code_for_node(node).strip()
        if not code:
            return None
        # a multi-line node is generated without its source indentation: match its first
        # line, then find its last line where the source has it
        lines = code.split("\n")
        found = self.text.rfind(lines[0], 0, start) if before else self.text.find(lines[0], start)
        if found < 0:
            return None
        line, col = self._line_col(found)
        if len(lines) == 1:
            return line, col, line, col + len(code)
        end_line = line + len(lines) - 1
        if end_line > len(self._line_starts):
            return None
        begin = self._line_starts[end_line - 1]
        stop = self._line_starts[end_line] if end_line < len(self._line_starts) else len(self.text)
        tail = lines[-1].strip()
        at = self.text.find(tail, begin, stop)
        end_col = (at - begin if at >= 0 else stop - begin - 1) + len(tail) + 1
        return line, col, end_line, end_col

    def start(self, stmt: cst.CSTNode) -> int | None:
        """Offset where statement ``stmt`` starts (None when the trees did not pair)."""
        return self._statement_starts().get(id(stmt))

    def _locate_call(self, node: cst.Call, start: int, before: bool) -> Spot | None:
        """A call found by its callee's text and its parentheses, without generating
        the code of its arguments."""
        head = _plain_chain(node.func) or self.module.code_for_node(node.func)
        if "\n" in head:
            return None
        found = self.text.rfind(head, 0, start) if before else self.text.find(head, start)
        if found < 0:
            return None
        end = _closing_paren(self.text, found + len(head))
        if end is None:
            return None
        return (*self._line_col(found), *self._line_col(end))

    def _line_col(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self._line_starts, offset) - 1
        return line + 1, offset - self._line_starts[line] + 1

    def _statement_starts(self) -> dict[int, int]:
        if self._starts is None:
            self._starts = {}
            if "\r" in self.text and _LONE_CR.search(self.text):
                return self._starts  # CPython counts a lone CR as a line break, the line table does not
            # the ast is acyclic and dropped right here: collecting garbage while it is
            # built would only traverse the (large) live CST again and again
            enabled = gc.isenabled()
            gc.disable()
            try:
                tree, self._tree = self._tree, None
                if tree is None:
                    try:
                        tree = ast.parse(self.text)
                    except (SyntaxError, ValueError, RecursionError):
                        return self._starts
                self._pair(self.module.body, tree.body)
                del tree
            finally:
                if enabled:
                    gc.enable()
        return self._starts

    def _offset(self, stmt: ast.stmt) -> int:
        line_start = self._line_starts[stmt.lineno - 1]
        prefix = self.text[line_start:line_start + stmt.col_offset]
        if not prefix.isascii():  # col_offset counts UTF-8 bytes
            prefix = self.text[line_start:].encode("utf-8")[: stmt.col_offset].decode("utf-8", "replace")
        return line_start + len(prefix)

    def _pair(self, body: Sequence[cst.BaseStatement], stmts: list[ast.stmt]) -> None:
        flat: list[cst.CSTNode] = []
        for stmt in body:
            if type(stmt) is cst.SimpleStatementLine:
                flat.extend(stmt.body)
            else:
                flat.append(stmt)
        if len(flat) != len(stmts):
            return
        for node, a in zip(flat, stmts):
            self._starts[id(node)] = self._offset(a)  # type: ignore[union-attr]
            self._pair_inner(node, a)
        for stmt in body:  # a statement line starts where its first small statement does
            if type(stmt) is cst.SimpleStatementLine and stmt.body:
                self._starts[id(stmt)] = self._starts[id(stmt.body[0])]

    def _pair_inner(self, node: cst.CSTNode, a: ast.stmt) -> None:
        kind = type(node)  # exact types: isinstance() on LibCST's ABCs is a Python-level call
        if kind not in _COMPOUND:
            return
        if kind is cst.If and isinstance(a, ast.If):
            self._pair(_body(node.body), a.body)
            if isinstance(node.orelse, cst.If):
                self._pair([node.orelse], a.orelse)
            elif node.orelse is not None:
                self._pair(_body(node.orelse.body), a.orelse)
        elif isinstance(node, (cst.For, cst.While)) and isinstance(a, (ast.For, ast.AsyncFor, ast.While)):
            self._pair(_body(node.body), a.body)
            if node.orelse is not None:
                self._pair(_body(node.orelse.body), a.orelse)
        elif isinstance(node, (cst.Try, cst.TryStar)) and hasattr(a, "handlers"):
            self._pair(_body(node.body), a.body)  # type: ignore[attr-defined]
            for handler, h in zip(node.handlers, a.handlers):  # type: ignore[attr-defined]
                self._pair(_body(handler.body), h.body)
            if node.orelse is not None:
                self._pair(_body(node.orelse.body), a.orelse)  # type: ignore[attr-defined]
            if node.finalbody is not None:
                self._pair(_body(node.finalbody.body), a.finalbody)  # type: ignore[attr-defined]
        elif isinstance(node, cst.With) and isinstance(a, (ast.With, ast.AsyncWith)):
            self._pair(_body(node.body), a.body)
        elif isinstance(node, (cst.FunctionDef, cst.ClassDef)) and hasattr(a, "body"):
            self._pair(_body(node.body), a.body)  # type: ignore[attr-defined]
        elif isinstance(node, cst.Match) and hasattr(a, "cases"):
            for case, c in zip(node.cases, a.cases):  # type: ignore[attr-defined]
                self._pair(_body(case.body), c.body)


def _plain_chain(func: cst.BaseExpression) -> str | None:
    """The source text of a ``a.b.c`` callee written without spaces,
    parentheses or comments (what ``code_for_node`` would generate), without
    generating code; None for any other spelling."""
    parts: list[str] = []
    while type(func) is cst.Attribute:
        dot = func.dot  # type: ignore[attr-defined]
        if (func.lpar or func.attr.lpar or type(dot) is not cst.Dot  # type: ignore[attr-defined]
                or type(dot.whitespace_before) is not cst.SimpleWhitespace or dot.whitespace_before.value
                or type(dot.whitespace_after) is not cst.SimpleWhitespace or dot.whitespace_after.value):
            return None
        parts.append(func.attr.value)  # type: ignore[attr-defined]
        func = func.value  # type: ignore[attr-defined]
    if type(func) is not cst.Name or func.lpar:  # type: ignore[attr-defined]
        return None
    parts.append(func.value)  # type: ignore[attr-defined]
    return ".".join(reversed(parts))


#: what the scan for a closing parenthesis stops at outside strings
_PAREN_STOPS = re.compile(r"[\"'#()\[\]{}]")
#: inside a string: an escape, or the string's closing quote
_QUOTE_STOPS = {q: re.compile(r"\\|" + re.escape(q)) for q in ('"', "'", '"""', "'''")}


def _closing_paren(text: str, at: int) -> int | None:
    """Offset just past the parenthesis matching the ``(`` at or after ``at``
    (strings and comments skipped; the scan jumps from one bracket, quote or
    ``#`` to the next)."""
    while at < len(text) and text[at] in " \t":
        at += 1
    if at >= len(text) or text[at] != "(":
        return None
    depth, i = 0, at
    search = _PAREN_STOPS.search
    while True:
        stop = search(text, i)
        if stop is None:
            return None
        i = stop.start()
        ch = text[i]
        if ch == '"' or ch == "'":
            quote = ch * 3 if text.startswith(ch * 3, i) else ch
            inside = _QUOTE_STOPS[quote].search
            i += len(quote)
            while True:
                end = inside(text, i)
                if end is None:
                    return None
                if text[end.start()] == "\\":
                    i = end.start() + 2
                    continue
                i = end.end()
                break
            continue
        if ch == "#":
            newline = text.find("\n", i)
            if newline < 0:
                return None
            i = newline
            continue
        if ch in "([{":
            depth += 1
        else:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1


def _body(suite: cst.BaseSuite) -> Sequence[cst.BaseStatement]:
    if isinstance(suite, cst.IndentedBlock):
        return suite.body
    if isinstance(suite, cst.SimpleStatementSuite):
        return [cst.SimpleStatementLine(body=suite.body)]
    return []


def statement_locator(model: "ModuleModel", text: str, tree: ast.Module | None = None) -> StatementLocator:
    """The file's locator, built once per module model and shared by the facts that need spots."""
    return model.derived("statement_locator", lambda: StatementLocator(model.cst, text, tree))
