"""Adding ``from <module> import <name>`` to a module where isort (default
profile) and Ruff's import sorting would put it, as a text edit.

Sections: standard library, third party, then the file's own package
(first party, by the module's top-level package name) and relative imports.
Within a section straight imports come first, then from-imports by module.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass

import libcst as cst
from libcst.helpers import get_full_name_for_node

from scalelint.core.findings import Edit
from scalelint.model.source import SourceFile
from scalelint.core.walk import walk

_STDLIB, _THIRD, _FIRST = 0, 1, 2


@dataclass(frozen=True)
class ImportPlan:
    """How the name is spelled in the module, and the edit adding its import (None when present)."""

    spelled: str
    edit: Edit | None = None


@dataclass(frozen=True)
class _Line:
    stmt: cst.SimpleStatementLine
    node: cst.Import | cst.ImportFrom
    module: str
    section: int


def from_import(ctx: SourceFile, module: str, name: str, package: str = "") -> ImportPlan | None:
    """The plan for using ``module.name`` in this file; None when the name is
    taken by something else (adding the import would shadow it). ``package``
    is the file's top-level package (its imports are first party)."""
    wanted = f"{module}.{name}"
    names = ctx.model.imports.names
    for local, qualified in names.items():
        if qualified == wanted:
            return ImportPlan(local)
    for local, qualified in names.items():
        if qualified == module and "." not in local:
            return ImportPlan(f"{local}.{name}")
    if any(isinstance(n, cst.Name) and n.value == name for n in walk(ctx.module)):
        return None
    block = _leading_imports(ctx.module, package)
    merge = next((line for line in block if isinstance(line.node, cst.ImportFrom) and line.module == module
                  and _mergeable(line.node)), None)
    if merge is not None:
        start, end = ctx.span(merge.node)
        return ImportPlan(name, Edit(start, end, cst.Module([]).code_for_node(merged_name(merge.node, name))))
    return ImportPlan(name, _new_line(ctx, block, module, name))


def merged_name(node: cst.ImportFrom, name: str) -> cst.ImportFrom:
    """``from m import a, c`` with ``name`` among its names, in sorted order."""
    assert not isinstance(node.names, cst.ImportStar)
    names = list(node.names)
    key = isort_name_key(name)
    position = next((i for i, alias in enumerate(names) if isort_name_key(get_full_name_for_node(alias.name) or "") > key), len(names))
    comma = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
    if position == len(names):
        names[-1] = names[-1].with_changes(comma=comma)
        names.append(cst.ImportAlias(cst.Name(name)))
    else:
        names.insert(position, cst.ImportAlias(cst.Name(name), comma=comma))
    return node.with_changes(names=names)


def isort_name_key(name: str) -> tuple[int, str]:
    """isort's default order of imported names (``order_by_type``): CONSTANTS,
    then Classes, then the rest, each case-insensitively."""
    if name.isupper() and len(name) > 1:
        return 0, name.lower()
    return (1 if name[:1].isupper() else 2), name.lower()


def _mergeable(node: cst.ImportFrom) -> bool:
    return not isinstance(node.names, cst.ImportStar) and node.lpar is None and not node.relative


def _leading_imports(module: cst.Module, package: str) -> list[_Line]:
    """The module's top-level import statements before its first other statement
    (a docstring and ``__future__`` imports aside)."""
    out: list[_Line] = []
    for index, stmt in enumerate(module.body):
        if index == 0 and is_docstring(stmt):
            continue
        if not (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1
                and isinstance(stmt.body[0], (cst.Import, cst.ImportFrom))):
            break
        node = stmt.body[0]
        name = _module_of(node)
        if name == "__future__":
            continue
        out.append(_Line(stmt, node, name, _section(node, name, package)))
    return out


def _module_of(node: cst.Import | cst.ImportFrom) -> str:
    if isinstance(node, cst.ImportFrom):
        return ("." * len(node.relative)) + (get_full_name_for_node(node.module) or "" if node.module else "")
    return get_full_name_for_node(node.names[0].name) or ""


def _section(node: cst.Import | cst.ImportFrom, module: str, package: str) -> int:
    top = module.split(".")[0]
    if isinstance(node, cst.ImportFrom) and node.relative:
        return _FIRST
    if top in sys.stdlib_module_names:
        return _STDLIB
    return _FIRST if package and top == package else _THIRD


def _new_line(ctx: SourceFile, block: list[_Line], module: str, name: str) -> Edit:
    """A new ``from module import name`` line among the third-party imports."""
    text = f"from {module} import {name}"
    third = [line for line in block if line.section == _THIRD]
    if third:
        later = [line for line in third if isinstance(line.node, cst.ImportFrom) and line.module.lower() > module.lower()]
        if later:
            return _before(ctx, later[0].stmt, text, blank=False)
        return _after(ctx, third[-1].stmt, text, blank=False)
    first = [line for line in block if line.section == _FIRST]
    if first:
        return _before(ctx, first[0].stmt, text, blank=True)
    if block:
        return _after(ctx, block[-1].stmt, text, blank=True)
    body = [stmt for i, stmt in enumerate(ctx.module.body) if not (i == 0 and is_docstring(stmt)) and not is_future_import(stmt)]
    return _before(ctx, body[0], text, blank=True) if body else Edit(len(ctx.text), len(ctx.text), f"\n{text}\n")


def _line_start(ctx: SourceFile, stmt: cst.CSTNode) -> int:
    start, _ = ctx.span(stmt)
    return ctx.text.rfind("\n", 0, start) + 1


def _eol(ctx: SourceFile) -> str:
    return "\r\n" if "\r\n" in ctx.text else "\n"


def _before(ctx: SourceFile, stmt: cst.CSTNode, text: str, *, blank: bool) -> Edit:
    at = _line_start(ctx, stmt)
    eol = _eol(ctx)
    return Edit(at, at, text + eol + (eol if blank else ""))


def _after(ctx: SourceFile, stmt: cst.CSTNode, text: str, *, blank: bool) -> Edit:
    _, end = ctx.span(stmt)
    newline = ctx.text.find("\n", end)
    at = len(ctx.text) if newline < 0 else newline + 1
    eol = _eol(ctx)
    prefix = eol if newline < 0 else ""
    return Edit(at, at, prefix + (eol if blank else "") + text + eol)


def is_docstring(stmt: cst.BaseStatement) -> bool:
    return (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Expr)
            and isinstance(stmt.body[0].value, (cst.SimpleString, cst.ConcatenatedString)))


def is_future_import(stmt: cst.BaseStatement) -> bool:
    return isinstance(stmt, cst.SimpleStatementLine) and any(
        isinstance(s, cst.ImportFrom) and isinstance(s.module, cst.Name) and s.module.value == "__future__" for s in stmt.body
    )
