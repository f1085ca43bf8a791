"""Fast read-only traversal of LibCST trees.

``CSTNode.visit`` rebuilds every node it passes and LibCST looks visitor
methods up per node; for analysis we only need to read, so we iterate the
dataclass fields directly, skipping whitespace-only fields, with the field
list computed once per node type.
"""
from __future__ import annotations

import ast
import dataclasses
from typing import Iterator

import libcst as cst

_SKIP_FIELD_PARTS = ("whitespace", "lpar", "rpar", "leading_lines", "lines_after", "semicolon",
                     "comma", "newline", "header", "footer", "colon", "indent", "equal",
                     "dot", "star", "asynchronous", "prefix", "quote", "lbracket", "rbracket",
                     "lbrace", "rbrace", "arrow")
_FIELDS: dict[type, tuple[str, ...]] = {}


def _fields_of(node_type: type) -> tuple[str, ...]:
    names = _FIELDS.get(node_type)
    if names is None:
        names = tuple(
            f.name
            for f in dataclasses.fields(node_type)
            if not any(part in f.name for part in _SKIP_FIELD_PARTS)
        )
        _FIELDS[node_type] = names
    return names


#: per value type: 1 a node, 2 a sequence (of nodes, maybe), 0 anything else.
#: ``isinstance(v, CSTNode)`` is an ABC check; a dict lookup by type is not.
_KIND: dict[type, int] = {}


def _kind(value_type: type) -> int:
    kind = 1 if issubclass(value_type, cst.CSTNode) else 2 if issubclass(value_type, (tuple, list)) else 0
    _KIND[value_type] = kind
    return kind


def _child_list(node: cst.CSTNode) -> list[cst.CSTNode]:
    out: list[cst.CSTNode] = []
    kinds = _KIND
    for name in _FIELDS.get(type(node)) or _fields_of(type(node)):
        value = getattr(node, name)
        value_type = type(value)
        kind = kinds.get(value_type)
        if kind is None:
            kind = _kind(value_type)
        if kind == 1:
            out.append(value)
        elif kind == 2:
            for item in value:
                item_kind = kinds.get(type(item))
                if item_kind is None:
                    item_kind = _kind(type(item))
                if item_kind == 1:
                    out.append(item)
    return out


def children(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    return iter(_child_list(node))


_SCOPES = (cst.FunctionDef, cst.Lambda, cst.ClassDef)
# LibCST nodes are ABCs, so isinstance() on them runs Python code; on the hot
# paths an exact type test does (these node classes have no subclasses)
_SCOPE_TYPES = frozenset(_SCOPES)


#: id(node) -> (node, its children in reverse order), for walks over the same
#: nodes (every family walks the file's functions); the node is held, so its id
#: cannot be reused while the entry lives. Dropped by ``forget_walks()`` (when a
#: file is done) or when it grows past ``_REMEMBERED``.
_WALKED: dict[int, tuple[cst.CSTNode, tuple[cst.CSTNode, ...]]] = {}
_REMEMBERED = 100_000


def forget_walks() -> None:
    """Drop the remembered child lists (their nodes' file is done)."""
    _WALKED.clear()


def walk(node: cst.CSTNode, *, into_functions: bool = True) -> Iterator[cst.CSTNode]:
    """Pre-order traversal. With ``into_functions=False`` nested function,
    lambda and class bodies are not entered (the nodes themselves are yielded)."""
    stack = [node]
    pop, extend = stack.pop, stack.extend
    walked = _WALKED
    if len(walked) > _REMEMBERED:
        walked.clear()
    while stack:
        current = pop()
        yield current
        if not into_functions and current is not node and type(current) in _SCOPE_TYPES:
            continue
        known = walked.get(id(current))
        if known is not None and known[0] is current:
            kids = known[1]
        else:
            listed = _child_list(current)
            listed.reverse()
            kids = tuple(listed)
            walked[id(current)] = (current, kids)
        if kids:
            extend(kids)


def preorder(node: cst.CSTNode, *, into_functions: bool = True) -> list[cst.CSTNode]:
    """``list(walk(node, into_functions=...))``, built without a generator's
    resumption per node (the same order, the same remembered child lists)."""
    out: list[cst.CSTNode] = []
    stack = [node]
    pop, extend, append = stack.pop, stack.extend, out.append
    walked = _WALKED
    if len(walked) > _REMEMBERED:
        walked.clear()
    scopes = _SCOPE_TYPES
    while stack:
        current = pop()
        append(current)
        if not into_functions and current is not node and type(current) in scopes:
            continue
        known = walked.get(id(current))
        if known is not None and known[0] is current:
            kids = known[1]
        else:
            listed = _child_list(current)
            listed.reverse()
            kids = tuple(listed)
            walked[id(current)] = (current, kids)
        if kids:
            extend(kids)
    return out


def names_in(node: cst.CSTNode) -> Iterator[str]:
    """Every bare Name read or written anywhere under ``node``."""
    for sub in walk(node):
        if type(sub) is cst.Name:
            yield sub.value


def dotted(expr: cst.BaseExpression) -> str | None:
    """``a.b.c`` for a Name/Attribute chain, else None (no resolution)."""
    parts = []
    while type(expr) is cst.Attribute:
        parts.append(expr.attr.value)  # type: ignore[attr-defined]
        expr = expr.value  # type: ignore[attr-defined]
    if type(expr) is cst.Name:
        parts.append(expr.value)  # type: ignore[attr-defined]
        return ".".join(reversed(parts))
    return None


def string_value(expr: cst.BaseExpression) -> str | None:
    """The text of a string literal (concatenations joined; f-string holes as ``{}``)."""
    if isinstance(expr, cst.SimpleString):
        return _simple_string_value(expr.value)
    if isinstance(expr, cst.ConcatenatedString):
        left, right = string_value(expr.left), string_value(expr.right)
        return None if left is None or right is None else left + right
    if isinstance(expr, cst.FormattedString):
        out = []
        for part in expr.parts:
            if isinstance(part, cst.FormattedStringText):
                out.append(part.value)
            else:
                out.append("{}")
        return "".join(out)
    return None


def _simple_string_value(literal: str) -> str | None:
    """The value of a string literal; None for bytes. Most literals have nothing
    to unescape, and then the value is the text between the quotes; the others
    go through ``ast.literal_eval`` (a compile per literal, as LibCST's
    ``evaluated_value`` does for every one)."""
    start = 0
    while start < len(literal) and literal[start] not in "'\"":
        start += 1
    prefix = literal[:start].lower()
    if "b" in prefix:
        return None
    quote = literal[start:start + 3] if literal[start:start + 3] in ('"""', "'''") else literal[start:start + 1]
    body = literal[start + len(quote):len(literal) - len(quote)]
    if "\r" not in body and ("r" in prefix or "\\" not in body):
        return body
    try:
        value = ast.literal_eval(literal)
    except (SyntaxError, ValueError):  # pragma: no cover - the parser accepted it
        return None
    return value if isinstance(value, str) else None


def small_statements(body) -> Iterator[cst.BaseSmallStatement]:
    """Every small statement (assignment, import, expression...) in a
    statement list, at any depth, including function and class bodies,
    without visiting expressions: much cheaper than a full walk."""
    stack = list(reversed(body))
    while stack:
        stmt = stack.pop()
        if isinstance(stmt, cst.SimpleStatementLine):
            yield from stmt.body
            continue
        inner = []
        for name in ("body", "orelse", "finalbody"):
            part = getattr(stmt, name, None)
            if part is None:
                continue
            if isinstance(part, cst.BaseSuite):
                if isinstance(part, cst.IndentedBlock):
                    inner.extend(part.body)
                else:
                    yield from part.body
            elif isinstance(part, (cst.If, cst.Else, cst.Finally)):
                inner.append(part)
        for handler in getattr(stmt, "handlers", ()) or ():
            inner.append(handler)
        for case in getattr(stmt, "cases", ()) or ():
            inner.append(case)
        stack.extend(reversed(inner))
