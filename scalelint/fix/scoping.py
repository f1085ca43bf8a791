"""The scoped-``with`` rewrite shared by the connection rules: turn a hold
(acquire ... release, or acquire ... last use) into a ``with`` block around
exactly the statements that need it, spelled the way each library's context
manager actually releases (``contextlib.closing`` where ``with`` does not)."""
from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from typing import Sequence

import libcst as cst
from libcst.helpers import get_full_name_for_node

from scalelint.context import FileContext
from scalelint.fix.imports import is_docstring, is_future_import, merged_name
from scalelint.core.findings import Fix, FixSafety
from scalelint.model import catalog
from scalelint.model.function import FunctionModel, Hold, Stmt
from scalelint.model.connections.timeline import following, reach_of
from scalelint.core.walk import dotted, walk


@dataclass(frozen=True)
class Spelling:
    """How the ``with`` item is written for a hold."""

    item: cst.BaseExpression
    is_async: bool
    needs_closing: bool  # item must be wrapped in contextlib.closing(...)


def spelling_for(hold: Hold) -> Spelling | None:
    """The library-correct ``with`` item for this hold, or None when no
    context manager releases it the same way the code does."""
    res = hold.resource
    value = hold.value
    awaited = isinstance(value, cst.Await)
    inner = value.expression if isinstance(value, cst.Await) else value
    if res.release_by_source:
        if not res.scoped_source_method or not isinstance(inner, cst.Call) or inner.args:
            return None
        assert isinstance(inner.func, cst.Attribute)
        item = cst.Call(func=inner.func.with_changes(attr=cst.Name(res.scoped_source_method)))
        return Spelling(item, res.is_async, False)
    if awaited:
        return None  # awaited acquisitions have library-specific async context managers
    if res.is_async:
        return Spelling(inner, True, False) if res.with_closes and not res.no_context_manager else None
    if res.with_closes and not res.no_context_manager:
        return Spelling(inner, False, False)
    if "close" in res.release_methods:
        return Spelling(inner, False, True)
    return None


def commits_on_exit(hold: Hold, spelling: Spelling) -> bool:
    """The new ``with`` block commits at its end where the code's own release
    did not (psycopg 3 connection blocks and psycopg_pool's ``connection()``
    commit; ``close()`` and ``putconn()`` roll back what was left open)."""
    return (
        not hold.via_with
        and not spelling.needs_closing
        and hold.resource.library in catalog.COMMIT_ON_EXIT_LIBRARIES
    )


def release_matches(hold: Hold, stmt: Stmt) -> bool:
    """The release statement is exactly ``var.close()`` / ``pool.putconn(var)``."""
    node = stmt.node
    if not isinstance(node, cst.SimpleStatementLine) or len(node.body) != 1:
        return False
    small = node.body[0]
    if not isinstance(small, cst.Expr):
        return False
    call = small.value.expression if isinstance(small.value, cst.Await) else small.value
    if not isinstance(call, cst.Call) or not isinstance(call.func, cst.Attribute):
        return False
    method = call.func.attr.value
    if method in hold.resource.release_methods:
        return isinstance(call.func.value, cst.Name) and call.func.value.value == hold.var and not call.args
    if method in hold.resource.release_by_source:
        source = hold.source
        return (
            source is not None
            and dotted(call.func.value) == dotted(source)
            and len(call.args) == 1
            and isinstance(call.args[0].value, cst.Name)
            and call.args[0].value.value == hold.var
        )
    return False


def exits_region(stmts: Sequence[cst.BaseStatement], allow_return: bool) -> bool:
    """Whether control can leave the region other than by falling through
    or raising (return, or break/continue of a loop outside it)."""
    for stmt in stmts:
        for node, loop_depth in _walk_with_loops(stmt):
            if isinstance(node, cst.Return) and not allow_return:
                return True
            if isinstance(node, (cst.Break, cst.Continue)) and loop_depth == 0:
                return True
    return False


def _walk_with_loops(root: cst.CSTNode):
    stack = [(root, 0)]
    from scalelint.core.walk import children

    while stack:
        node, depth = stack.pop()
        yield node, depth
        if isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            continue
        inner = depth + 1 if isinstance(node, (cst.For, cst.While)) else depth
        for child in children(node):
            # the else-branch of a loop is outside the loop for break/continue
            stack.append((child, depth if isinstance(node, (cst.For, cst.While)) and child is node.orelse else inner))


def siblings(fn: FunctionModel, stmt: Stmt) -> list[Stmt]:
    """The Stmt records of the block holding ``stmt``, in order."""
    return [s for s in fn.stmts if s.block is stmt.block]


def top_level_in(fn: FunctionModel, block_stmt: Stmt, nested: Stmt) -> Stmt | None:
    """The statement of ``block_stmt``'s block that contains ``nested``."""
    candidates = [s for s in siblings(fn, block_stmt) if s.ordinal <= nested.ordinal]
    return candidates[-1] if candidates else None


@dataclass
class ClosingImport:
    """How ``closing`` is spelled in this module, and the import to add if
    any: before ``add_before`` (then a blank line when it opens the standard
    library section) or after ``add_after``, or merged into ``merge_into``
    (an existing ``from contextlib import ...``), where isort and Ruff's
    import sorting would put it."""

    func: cst.BaseExpression
    add_before: cst.BaseStatement | None
    new_import: cst.SimpleStatementLine | None
    add_after: cst.BaseStatement | None = None
    separate: int = 0  # blank lines between the new import and add_before
    merge_into: cst.SimpleStatementLine | None = None


def closing_import(ctx: FileContext) -> ClosingImport | None:
    model = ctx.model
    target = model.imports.names.get("closing")
    if target == "contextlib.closing":
        return ClosingImport(cst.Name("closing"), None, None)
    for local, qualified in model.imports.names.items():
        if qualified == "contextlib":
            return ClosingImport(cst.Attribute(cst.Name(local), cst.Name("closing")), None, None)
    if "closing" in _all_names(ctx):
        return None  # the name means something else here; do not shadow it
    body = ctx.module.body
    anchor_index = 0
    for index, stmt in enumerate(body):
        if index == 0 and is_docstring(stmt):
            anchor_index = 1
            continue
        if is_future_import(stmt):
            anchor_index = index + 1
            continue
        break
    if anchor_index >= len(body):
        return None
    new_import = cst.parse_statement("from contextlib import closing\n")
    assert isinstance(new_import, cst.SimpleStatementLine)
    return _placed(ClosingImport(cst.Name("closing"), body[anchor_index], new_import), body[anchor_index:])


def _placed(found: ClosingImport, rest: Sequence[cst.BaseStatement]) -> ClosingImport:
    """Where isort (default profile) and Ruff's I001 put ``from contextlib
    import closing`` in the leading import block: the standard library
    section, straight imports first, then from-imports by module name."""
    block = []
    for stmt in rest:
        if not (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(stmt.body[0], (cst.Import, cst.ImportFrom))):
            break
        block.append(stmt)
    stdlib = [(stmt, _stdlib_module(stmt.body[0])) for stmt in block]
    stdlib = [(stmt, module) for stmt, module in stdlib if module is not None]
    froms = [(stmt, module) for stmt, module in stdlib if isinstance(stmt.body[0], cst.ImportFrom)]
    for stmt, module in froms:
        if module == "contextlib" and _mergeable(stmt.body[0]):
            return replace(found, add_before=None, merge_into=stmt)
    later = [stmt for stmt, module in froms if module.lower() > "contextlib"]
    if later:
        return replace(found, add_before=later[0])
    if stdlib:
        return replace(found, add_before=None, add_after=(froms or stdlib)[-1][0])
    if block:
        return replace(found, separate=1)
    return replace(found, separate=2 if isinstance(found.add_before, (cst.FunctionDef, cst.ClassDef)) else 1)


def _stdlib_module(node: cst.Import | cst.ImportFrom) -> str | None:
    """The module a standard-library import names (None for any other)."""
    if isinstance(node, cst.ImportFrom):
        if node.relative or node.module is None:
            return None
        module = get_full_name_for_node(node.module) or ""
    else:
        module = get_full_name_for_node(node.names[0].name) or ""
    return module if module.split(".")[0] in sys.stdlib_module_names else None


def _mergeable(node: cst.ImportFrom) -> bool:
    return not isinstance(node.names, cst.ImportStar) and node.lpar is None


def merged_closing(stmt: cst.SimpleStatementLine) -> cst.SimpleStatementLine:
    """``from contextlib import suppress`` with ``closing`` among its names, in order."""
    node = stmt.body[0]
    assert isinstance(node, cst.ImportFrom)
    return stmt.with_changes(body=[merged_name(node, "closing")])


def _all_names(ctx: FileContext) -> set[str]:
    cached = getattr(ctx, "_names_cache", None)
    if cached is None:
        cached = {n.value for n in walk(ctx.module) if isinstance(n, cst.Name)}
        ctx._names_cache = cached  # type: ignore[attr-defined]
    return cached


def build_with(
    ctx: FileContext,
    hold: Hold,
    spelling: Spelling,
    body: Sequence[cst.BaseStatement],
    *,
    leading_from: cst.BaseStatement,
    trailing_from: cst.BaseStatement | None,
    item: cst.BaseExpression | None = None,
) -> tuple[cst.With, list[tuple[cst.CSTNode, cst.CSTNode]]] | None:
    """A ``with`` statement holding ``body``, and any import edits it needs."""
    extra: list[tuple[cst.CSTNode, cst.CSTNode]] = []
    expr = item if item is not None else spelling.item
    if spelling.needs_closing:
        closing = closing_import(ctx)
        if closing is None:
            return None
        expr = cst.Call(func=closing.func, args=[cst.Arg(expr)])
        extra.extend(_import_edits(closing))
    header = cst.TrailingWhitespace()
    if isinstance(leading_from, cst.SimpleStatementLine):
        header = leading_from.trailing_whitespace
    footer: list[cst.EmptyLine] = []
    if trailing_from is not None:
        footer = [line for line in trailing_from.leading_lines if line.comment is not None]
        if isinstance(trailing_from, cst.SimpleStatementLine) and trailing_from.trailing_whitespace.comment is not None:
            footer.append(cst.EmptyLine(comment=trailing_from.trailing_whitespace.comment))
    statements = list(body)
    if not statements:
        statements = [cst.SimpleStatementLine(body=[cst.Pass()])]
    with_node = cst.With(
        items=[cst.WithItem(item=expr, asname=cst.AsName(name=cst.Name(hold.var)))],
        body=cst.IndentedBlock(body=statements, header=header, footer=footer),
        asynchronous=cst.Asynchronous() if spelling.is_async else None,
        leading_lines=leading_from.leading_lines,
    )
    return with_node, extra


def _import_edits(closing: ClosingImport) -> list[tuple[cst.CSTNode, cst.CSTNode]]:
    """The edits that add ``from contextlib import closing`` where ``closing_import`` placed it."""
    if closing.merge_into is not None:
        return [(closing.merge_into, merged_closing(closing.merge_into))]
    if closing.new_import is None:
        return []
    if closing.add_after is not None:
        return [(closing.add_after, cst.FlattenSentinel([closing.add_after, closing.new_import]))]
    if closing.add_before is None:
        return []
    anchor = closing.add_before
    moved = closing.new_import.with_changes(leading_lines=anchor.leading_lines)
    gap = [cst.EmptyLine()] * closing.separate
    return [(anchor, cst.FlattenSentinel([moved, anchor.with_changes(leading_lines=gap)]))]


def scope_hold_fix(
    ctx: FileContext, fn: FunctionModel, hold: Hold, message: str, safety: FixSafety
) -> Fix | None:
    """Rewrite ``v = acquire() ... v.close()`` (or a never-released hold) into
    ``with acquire() as v:`` around the same statements."""
    if hold.via_with or hold.escapes or hold.rebound:
        return None
    spelling = spelling_for(hold)
    if spelling is None:
        return None
    acquired = hold.acquired
    releases = hold.releases
    block = acquired.block
    if releases:
        if len(releases) != 1:
            return None
        release = releases[0]
        if release.block is not block or release.index <= acquired.index or not release_matches(hold, release):
            return None
        if any(r.stmt.ordinal > release.ordinal for r in hold.refs):
            return None
        region = list(block[acquired.index + 1 : release.index])
        if exits_region(region, allow_return=False):
            return None
        trailing = release.node
        removed = [release.node]
    else:
        reach = reach_of(fn, hold, following(fn, hold))
        if not reach.uses or reach.escape is not None:
            return None  # the block must also cover every cursor, result or iterator made from it
        last = top_level_in(fn, acquired, reach.uses[-1])
        if last is None or last.block is not block:
            return None
        region = list(block[acquired.index + 1 : last.index + 1])
        if exits_region(region, allow_return=True):
            return None
        trailing = None
        removed = []
    if commits_on_exit(hold, spelling):
        safety = FixSafety.UNSAFE  # uncommitted writes would now be committed
    built = build_with(ctx, hold, spelling, region, leading_from=acquired.node, trailing_from=trailing)
    if built is None:
        return None
    with_node, extra = built
    pairs: list[tuple[cst.CSTNode, cst.CSTNode]] = list(extra)
    for stmt in region + removed:
        pairs.append((stmt, cst.RemovalSentinel.REMOVE))
    return ctx.replacement_fix(acquired.node, with_node, message, safety, extra=tuple(pairs))


def close_with_transaction_fix(ctx: FileContext, item: cst.WithItem, message: str) -> Fix | None:
    """``with psycopg2.connect(...) as conn:`` -> ``with closing(psycopg2.connect(...)) as conn, conn:``:
    the connection is closed at the end and the block keeps its transaction scope
    (psycopg2 and sqlite3 connections' own ``with`` commits or rolls back, and
    nothing more)."""
    closing = closing_import(ctx)
    if closing is None or item.asname is None:
        return None
    var = item.asname.name
    closed = item.with_changes(item=cst.Call(func=closing.func, args=[cst.Arg(item.item)]),
                               comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
    transaction = cst.WithItem(item=var.deep_clone(), comma=item.comma)
    return ctx.replacement_fix(item, cst.FlattenSentinel([closed, transaction]), message, FixSafety.SAFE,
                               extra=tuple(_import_edits(closing)))


def try_finally_fix(
    ctx: FileContext, fn: FunctionModel, hold: Hold, message: str, safety: FixSafety
) -> Fix | None:
    """For connections with no context manager that releases them (psycopg2
    pools' ``getconn``/``putconn``, ``asyncpg.connect``): the statements after
    the acquisition go into ``try:`` and the release into ``finally:``. A hold
    never released gets the library's release after its last use."""
    if hold.via_with or hold.escapes or hold.rebound or spelling_for(hold) is not None:
        return None
    acquired = hold.acquired
    block = acquired.block
    if hold.releases:
        region, release = _released_region(hold)
        if region is None or release is None:
            return None
        final: cst.BaseStatement = release.node
        removed = [release.node]
    else:
        region = _used_region(fn, hold)
        built = _release_statement(hold)
        if region is None or built is None:
            return None
        final, removed = built, []
    if not region or exits_region(region, allow_return=not hold.releases):
        return None
    first = region[0]
    try_node = cst.Try(
        body=cst.IndentedBlock(body=[first.with_changes(leading_lines=[]), *region[1:]]),
        finalbody=cst.Finally(body=cst.IndentedBlock(body=[final.with_changes(leading_lines=[])])),
        leading_lines=first.leading_lines,
    )
    pairs = tuple((stmt, cst.RemovalSentinel.REMOVE) for stmt in [*region[1:], *removed])
    return ctx.replacement_fix(first, try_node, message, safety, extra=pairs)


def _released_region(hold: Hold) -> tuple[list[cst.BaseStatement] | None, Stmt | None]:
    """The statements between the acquisition and its one release, in one block."""
    acquired = hold.acquired
    if len(hold.releases) != 1:
        return None, None
    release = hold.releases[0]
    if release.block is not acquired.block or release.index <= acquired.index or not release_matches(hold, release):
        return None, None
    if any(r.stmt.ordinal > release.ordinal for r in hold.refs):
        return None, None
    return list(acquired.block[acquired.index + 1 : release.index]), release


def _used_region(fn: FunctionModel, hold: Hold) -> list[cst.BaseStatement] | None:
    """The statements from the acquisition to the last use of what it made."""
    reach = reach_of(fn, hold, following(fn, hold))
    if not reach.uses or reach.escape is not None:
        return None
    last = top_level_in(fn, hold.acquired, reach.uses[-1])
    if last is None or last.block is not hold.acquired.block:
        return None
    return list(hold.acquired.block[hold.acquired.index + 1 : last.index + 1])


def _release_statement(hold: Hold) -> cst.SimpleStatementLine | None:
    """``pool.putconn(conn)`` / ``await conn.close()`` for a hold released by nobody."""
    res = hold.resource
    var = cst.Name(hold.var)
    if res.release_by_source and hold.source is not None:
        method = res.release_by_source[0]
        call = cst.Call(func=cst.Attribute(value=hold.source.deep_clone(), attr=cst.Name(method)), args=[cst.Arg(var)])
    elif "close" in res.release_methods:
        call = cst.Call(func=cst.Attribute(value=var, attr=cst.Name("close")))
    else:
        return None
    expr: cst.BaseExpression = cst.Await(expression=call) if res.is_async else call
    return cst.SimpleStatementLine(body=[cst.Expr(value=expr)])
