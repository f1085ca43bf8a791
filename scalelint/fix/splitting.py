"""The SL101 fix: split one hold into scoped ``with`` blocks around its uses.

``conn = acquire(); use; work; use; conn.close()`` (or the same inside one
``with`` block) becomes ``with acquire() as conn: use`` / ``work`` /
``with acquire() as conn: use``: the acquisition moves down to the first
use, each block ends after its last use, and statements that do not touch
the connection run outside. Spelled per library through
:mod:`scalelint.fix.scoping`. Safe when no block leaves a write, a row lock or
an unknown change open for a later block; unsafe otherwise.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import libcst as cst

from scalelint.context import FileContext
from scalelint.core.findings import Fix, FixSafety
from scalelint.model import catalog
from scalelint.model.function import FunctionModel, Stmt
from scalelint.model.sql import parse_sql
from scalelint.model.connections.timeline import Timeline
from scalelint.model.connections.work import mentions, root_name
from scalelint.fix.scoping import Spelling, build_with, commits_on_exit, exits_region, release_matches, spelling_for
from scalelint.core.walk import string_value, walk


@dataclass
class _Layout:
    """Where the hold lives in the source and what the rewrite replaces."""

    anchor: cst.BaseStatement  # replaced by the new statements
    region: list[cst.BaseStatement]  # the statements run while it is held
    removed: list[cst.BaseStatement]  # also removed (region, release, try)
    leading: cst.SimpleStatementLine  # leading lines and header comment of the first block
    trailing: cst.BaseStatement | None  # comments to keep at the end of the last block


def split_hold_fix(ctx: FileContext, fn: FunctionModel, line: Timeline) -> Fix | None:
    """A fix holding the connection only around its uses, or None when unclear."""
    hold = line.hold
    if hold.resource.kind != "connection" or hold.passed or hold.rebound or hold.escapes:
        return None
    spelling = spelling_for(hold)
    layout = _layout(fn, line)
    if spelling is None or layout is None or exits_region(layout.region, allow_return=False):
        return None
    if not _repeatable(spelling.item, layout.region):
        return None
    stmts = {id(s.node): s for s in fn.stmts}
    region = [stmts[id(node)] for node in layout.region]
    uses = [i for i, s in enumerate(region) if mentions(s.node, line.names)]
    tops = [_top(region, w.stmt) for w in line.work]
    work_stmts = {id(t.node) for t in tops if t is not None}
    groups = _groups(region, uses, work_stmts)
    moved_out = {id(s.node) for s in region} - {id(s.node) for g in groups for s in g}
    if not uses or not (work_stmts & moved_out):
        return None  # the work sits inside a statement that also uses the connection
    recreated = _recreated_cursors(line, region, groups)
    if recreated is None:
        return None
    safety = FixSafety.SAFE if _safe_splits(fn, line, groups, commits_on_exit(line.hold, spelling)) else FixSafety.UNSAFE
    built = _build(ctx, line, spelling, layout, region, groups, recreated)
    if built is None:
        return None
    new_stmts, extra = built
    pairs = list(extra) + [(node, cst.RemovalSentinel.REMOVE) for node in layout.removed]
    message = f"hold the connection only around its uses ({len(groups)} `with` block{'s' if len(groups) > 1 else ''})"
    return ctx.replacement_fix(layout.anchor, cst.FlattenSentinel(new_stmts), message, safety, extra=tuple(pairs))


def _layout(fn: FunctionModel, line: Timeline) -> _Layout | None:
    hold = line.hold
    node = hold.acquired.node
    if hold.via_with:
        if not isinstance(node, cst.With) or len(node.items) != 1 or not isinstance(node.body, cst.IndentedBlock):
            return None
        leading = cst.SimpleStatementLine(body=[cst.Pass()], leading_lines=node.leading_lines, trailing_whitespace=node.body.header)
        return _Layout(node, list(node.body.body), [], leading, None)
    assert isinstance(node, cst.SimpleStatementLine)
    releases = hold.releases
    if len(releases) != 1:
        return None
    release, block, start = releases[0], hold.acquired.block, hold.acquired.index
    if release.block is block and release.index > start and release_matches(hold, release):
        if any(r.stmt.ordinal > release.ordinal for r in hold.refs):
            return None
        region = list(block[start + 1 : release.index])
        return _Layout(node, region, region + [release.node], node, release.node)
    following = block[start + 1] if start + 1 < len(block) else None
    if (
        isinstance(following, cst.Try)
        and not following.handlers
        and following.orelse is None
        and following.finalbody is not None
        and len(following.finalbody.body.body) == 1
        and following.finalbody.body.body[0] is release.node
        and release_matches(hold, release)
        and isinstance(following.body, cst.IndentedBlock)
        and not any(r.stmt.ordinal > release.ordinal for r in hold.refs)
    ):
        return _Layout(node, list(following.body.body), [following], node, None)
    return None


def _top(region: list[Stmt], stmt: Stmt) -> Stmt | None:
    """The region statement containing ``stmt``."""
    found = None
    for top in region:
        if top.ordinal <= stmt.ordinal:
            found = top
    return found


def _groups(region: list[Stmt], uses: list[int], work: set[int]) -> list[list[Stmt]]:
    """Runs of statements from a use to a later use with no work in between."""
    groups: list[list[Stmt]] = []
    if not uses:
        return groups
    current = [uses[0]]
    for prev, nxt in zip(uses, uses[1:]):
        if any(id(region[i].node) in work for i in range(prev + 1, nxt)):
            groups.append(current)
            current = [nxt]
        else:
            current.append(nxt)
    groups.append(current)
    return [list(region[g[0] : g[-1] + 1]) for g in groups]


def _repeatable(item: cst.BaseExpression, region: Sequence[cst.BaseStatement]) -> bool:
    """Evaluating the acquisition again later gives the same connection source:
    its arguments are plain names, attributes and literals none of the moved
    statements rebind."""
    calls = [n for n in walk(item) if isinstance(n, cst.Call)]
    for call in calls:
        for arg in call.args:
            if any(isinstance(n, (cst.Call, cst.Await, cst.NamedExpr, cst.Lambda)) for n in walk(arg.value)) and not (
                isinstance(arg.value, cst.Call) and arg.value in calls
            ):
                return False
    read = {n.value for n in walk(item) if isinstance(n, cst.Name)}
    return not (read & _bound_names(region))


def _bound_names(stmts: Sequence[cst.BaseStatement]) -> set[str]:
    bound: set[str] = set()
    for stmt in stmts:
        for node in walk(stmt):
            targets: list[cst.CSTNode] = []
            if isinstance(node, cst.AssignTarget):
                targets.append(node.target)
            elif isinstance(node, (cst.AnnAssign, cst.AugAssign)):
                targets.append(node.target)
            elif isinstance(node, (cst.For, cst.CompFor)):
                targets.append(node.target)
            elif isinstance(node, cst.AsName):
                targets.append(node.name)
            elif isinstance(node, cst.NamedExpr):
                targets.append(node.target)
            elif isinstance(node, (cst.Del, cst.Global, cst.Nonlocal, cst.Import, cst.ImportFrom)):
                targets.append(node)
            for target in targets:
                bound |= {n.value for n in walk(target) if isinstance(n, cst.Name)}
    return bound


def _recreated_cursors(line: Timeline, region: list[Stmt], groups: list[list[Stmt]]) -> dict[int, list[cst.BaseStatement]] | None:
    """Cursor statements to repeat at the start of later blocks (by group index),
    or None when a handle bound to the connection would cross a split."""
    out: dict[int, list[cst.BaseStatement]] = {}
    group_of = {id(s.node): i for i, g in enumerate(groups) for s in g}
    for name, defining in line.derived.items():
        top = _top(region, defining)
        if top is None:
            return None
        home = group_of.get(id(top.node))
        for index, group in enumerate(groups):
            if home is None or index <= home or not any(mentions(s.node, {name}) for s in group):
                continue
            if top is not defining or not _plain_cursor(defining.node, line.hold.var):
                return None
            if not _defines_first(group, name):
                out.setdefault(index, []).append(defining.node.with_changes(leading_lines=()))
    return out


def _plain_cursor(node: cst.BaseStatement, var: str) -> bool:
    """``cur = conn.cursor()`` with literal arguments, nothing else on the line."""
    if not isinstance(node, cst.SimpleStatementLine) or len(node.body) != 1:
        return False
    small = node.body[0]
    if not isinstance(small, cst.Assign) or len(small.targets) != 1:
        return False
    value = small.value
    return (
        isinstance(value, cst.Call)
        and isinstance(value.func, cst.Attribute)
        and value.func.attr.value == "cursor"
        and isinstance(value.func.value, cst.Name)
        and value.func.value.value == var
        and all(not any(isinstance(n, (cst.Call, cst.Name)) for n in walk(a.value)) or _is_constant(a.value) for a in value.args)
    )


def _is_constant(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, cst.Name) and expr.value in ("True", "False", "None")


def _defines_first(group: list[Stmt], name: str) -> bool:
    for stmt in group:
        node = stmt.node
        if isinstance(node, cst.SimpleStatementLine) and any(
            isinstance(s, cst.Assign) and any(isinstance(t.target, cst.Name) and t.target.value == name for t in s.targets)
            for s in node.body
        ):
            return True
        if mentions(node, {name}):
            return False
    return False


# -- safety ---------------------------------------------------------------------------
def _safe_splits(fn: FunctionModel, line: Timeline, groups: list[list[Stmt]], commits_on_exit: bool) -> bool:
    """No block leaves a write, a lock or an unknown change open for the next
    one (nor, when the new blocks commit on exit, at the end)."""
    for group in groups if commits_on_exit else groups[:-1]:
        dirty = False
        for stmt in group:
            effect = _effect(fn, line, stmt)
            if effect == "unknown":
                return False
            if effect != "clean":
                dirty = effect == "dirty"
        if dirty:
            return False
    return True


def _effect(fn: FunctionModel, line: Timeline, stmt: Stmt) -> str:
    """clean | dirty | end | unknown: what the statement leaves open on the connection."""
    names = line.names
    node = stmt.node
    effects: set[str] = set()
    for sub in walk(node, into_functions=False):
        if isinstance(sub, (cst.AssignTarget, cst.AugAssign)):
            if not isinstance(sub.target, cst.Name) and mentions(sub.target, names):
                return "unknown"  # conn.autocommit = True
            continue
        if not isinstance(sub, cst.Call):
            continue
        func = sub.func
        if isinstance(func, cst.Attribute) and root_name(func.value) in names:
            effects.add(_method_effect(fn, func.attr.value, sub))
        elif any(mentions(a.value, names) for a in sub.args):
            builtin = isinstance(func, cst.Name) and func.value in catalog.CHEAP_BUILTINS
            effects.add("clean" if builtin else "unknown")
    if isinstance(node, cst.With) and line.hold.resource.with_is_transaction and any(
        isinstance(i.item, cst.Name) and i.item.value == line.hold.var for i in node.items
    ):
        effects.add("end")  # `with conn:` commits at its end
    for effect in ("unknown", "end", "dirty"):
        if effect in effects:
            return effect
    return "clean"


def _method_effect(fn: FunctionModel, method: str, call: cst.Call) -> str:
    if method in catalog.TRANSACTION_END_METHODS:
        return "end"
    if method in catalog.SPLIT_QUERY_METHODS:
        verb, locks = _statement_of(fn, call)
        if verb is None:
            return "unknown"
        return "dirty" if verb != "select" or locks else "clean"
    return "clean" if method in catalog.HANDLE_NEUTRAL_METHODS else "unknown"


def _statement_of(fn: FunctionModel, call: cst.Call) -> tuple[str | None, bool]:
    """The SQL verb and lock flag of a query call's statement (None: cannot tell)."""
    if not call.args:
        return None, False
    arg = call.args[0].value
    text = string_value(arg)
    if text is None and isinstance(arg, cst.Call):
        methods: list[str] = []
        base = arg
        while isinstance(base.func, cst.Attribute) and isinstance(base.func.value, cst.Call):
            methods.append(base.func.attr.value)
            base = base.func.value
        qn = fn.module.qualified(base.func) or ""
        if qn in catalog.SQLALCHEMY_STATEMENTS:
            return catalog.SQLALCHEMY_STATEMENTS[qn], "with_for_update" in methods
        if qn in catalog.SQL_TEXT_WRAPPERS and base is arg and arg.args:
            text = string_value(arg.args[0].value)
    info = parse_sql(text) if text is not None else None
    return (info.verb, info.locks) if info is not None else (None, False)


# -- building -------------------------------------------------------------------------
def _build(
    ctx: FileContext,
    line: Timeline,
    spelling: Spelling,
    layout: _Layout,
    region: list[Stmt],
    groups: list[list[Stmt]],
    recreated: dict[int, list[cst.BaseStatement]],
) -> tuple[list[cst.BaseStatement], list[tuple[cst.CSTNode, cst.CSTNode]]] | None:
    out: list[cst.BaseStatement] = []
    extra: dict[int, tuple[cst.CSTNode, cst.CSTNode]] = {}
    in_group = {id(s.node): (i, g) for i, g in enumerate(groups) for s in g}
    index = 0
    while index < len(region):
        node = region[index].node
        placed = in_group.get(id(node))
        if placed is None:
            out.append(node)
            index += 1
            continue
        number, group = placed
        body = [s.node for s in group]
        if number == 0:
            leading_from: cst.BaseStatement = layout.leading
        else:
            leading_from = cst.SimpleStatementLine(body=[cst.Pass()], leading_lines=body[0].leading_lines)
            body[0] = body[0].with_changes(leading_lines=())
        body = recreated.get(number, []) + body
        trailing = layout.trailing if number == len(groups) - 1 else None
        built = build_with(ctx, line.hold, spelling, body, leading_from=leading_from, trailing_from=trailing)
        if built is None:
            return None
        with_node, edits = built
        out.append(with_node)
        for old, new in edits:
            extra[id(old)] = (old, new)
        index += len(group)
    return out, list(extra.values())
