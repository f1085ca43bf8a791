"""Per-function facts: the statements in order with their block structure,
and every *hold* (a connection, cursor or session kept in a local variable)
with where it is acquired, used, released, and whether it escapes."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence, TypeVar

import libcst as cst

from scalelint.model.catalog import CLOSING_WRAPPERS, HANDLE_RESULT_METHODS, Resource
from scalelint.core.statements import single_assignment
from scalelint.core.walk import children, preorder, walk

if TYPE_CHECKING:
    from scalelint.model.module import ModuleModel

HOLD_KINDS = frozenset({"connection", "cursor", "session"})

T = TypeVar("T")


@dataclass
class ClassInfo:
    node: cst.ClassDef
    name: str
    bases: list[str]  # qualified where resolvable, else as spelled
    #: ``self.x = <resource>`` anywhere in the class's methods; see ModuleModel.class_attributes
    attributes: dict[str, Resource] | None = None


@dataclass(eq=False)
class Stmt:
    """One statement of a function body, in source order."""

    node: cst.BaseStatement
    block: Sequence[cst.BaseStatement]  # the statement list holding it
    index: int  # its position in that list
    ordinal: int  # its position in the whole function, in source order
    #: enclosing constructs, outermost first: ("try"|"finally"|"except"|"loop"|"if"|"with"|"match", node)
    context: tuple[tuple[str, cst.CSTNode], ...]

    def header_parts(self) -> list[cst.CSTNode]:
        """The expressions evaluated by this statement itself (not its body)."""
        node = self.node
        if isinstance(node, cst.SimpleStatementLine):
            return list(node.body)
        if isinstance(node, (cst.If, cst.While)):
            return [node.test]
        if isinstance(node, cst.For):
            return [node.target, node.iter]
        if isinstance(node, cst.With):
            return list(node.items)
        if isinstance(node, cst.Match):
            return [node.subject]
        if isinstance(node, (cst.FunctionDef, cst.ClassDef)):
            return [node]
        return []

    @property
    def in_loop(self) -> bool:
        return any(kind == "loop" for kind, _ in self.context)

    def inside(self, kind: str) -> bool:
        return any(k == kind for k, _ in self.context)


@dataclass(eq=False)
class Ref:
    """One mention of a hold's variable, and what the code does with it."""

    stmt: Stmt
    role: str  # receiver | release | passed | escape | rebind | captured | other
    node: cst.Name


@dataclass(eq=False)
class Hold:
    """A connection, cursor or session bound to a local name."""

    var: str
    resource: Resource
    acquired: Stmt
    value: cst.BaseExpression  # the acquiring expression (``await`` included)
    via_with: bool
    refs: list[Ref] = field(default_factory=list)
    #: the next statement is ``with var:`` (closing on exit) or ``with closing(var):``
    closed_by_next_with: bool = False

    @property
    def releases(self) -> list[Stmt]:
        return [r.stmt for r in self.refs if r.role == "release"]

    @property
    def uses(self) -> list[Stmt]:
        seen: list[Stmt] = []
        for ref in self.refs:
            if not seen or seen[-1] is not ref.stmt:
                seen.append(ref.stmt)
        return seen

    @property
    def escapes(self) -> str | None:
        """Why the resource outlives this function's control, or None."""
        for ref in self.refs:
            if ref.role in ("escape", "captured"):
                return ref.role
        return None

    @property
    def passed(self) -> bool:
        return any(r.role == "passed" for r in self.refs)

    @property
    def rebound(self) -> bool:
        return any(r.role == "rebind" for r in self.refs)

    @property
    def scoped(self) -> bool:
        """Released by a ``with`` (also one opened on the very next statement:
        ``s = Session()`` then ``with s:`` or ``with closing(s):``) or on the
        exception path by hand."""
        if self.via_with or self.closed_by_next_with:
            return True
        return any(s.inside("finally") or s.inside("except") for s in self.releases)

    @property
    def borrowed(self) -> bool:
        """Runs on a connection someone else checked out (``Session(bind=conn)``)."""
        return self.resource.borrowed

    @property
    def source(self) -> cst.BaseExpression | None:
        """For ``pool.getconn()``-style acquisitions, the pool expression."""
        value = self.value.expression if isinstance(self.value, cst.Await) else self.value
        if isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute):
            return value.func.value
        return None

    def describe(self) -> str:
        what = {"connection": "connection", "cursor": "cursor", "session": "session"}[self.resource.kind]
        return f"{self.resource.library} {what} '{self.var}'" if self.resource.library != "in-house" else f"{what} '{self.var}'"


class FunctionModel:
    """One function's statements and holds, built lazily on first use."""

    def __init__(self, module: "ModuleModel", node: cst.FunctionDef, qualname: str, cls: ClassInfo | None) -> None:
        self.module = module
        self.node = node
        self.qualname = qualname
        self.cls = cls
        self.name = node.name.value
        self.is_async = node.asynchronous is not None
        self._derived: dict[str, Any] = {}

    @cached_property
    def stmts(self) -> list[Stmt]:
        out: list[Stmt] = []
        if isinstance(self.node.body, cst.IndentedBlock):
            _flatten(self.node.body.body, (), out)
        return out

    @cached_property
    def is_generator(self) -> bool:
        """Its body yields: calling it runs nothing until the result is iterated."""
        return any(type(node) is cst.Yield for node in walk(self.node.body, into_functions=False))

    @cached_property
    def env(self) -> dict[str, Resource]:
        """Local names bound to a recognised resource (first binding wins)."""
        env: dict[str, Resource] = {}
        for stmt in self.stmts:
            node = stmt.node
            if isinstance(node, cst.SimpleStatementLine):
                for small in node.body:
                    if isinstance(small, (cst.Assign, cst.AnnAssign)):
                        target = small.targets[0].target if isinstance(small, cst.Assign) else small.target
                        if isinstance(target, cst.Name) and target.value not in env:
                            res = self.module.resource_of(small.value, env, self.cls)
                            if res is not None:
                                env[target.value] = res
            elif isinstance(node, cst.With):
                for item in node.items:
                    if item.asname is not None and isinstance(item.asname.name, cst.Name):
                        res = self.module.resource_of(item.item, env, self.cls)
                        if res is not None:
                            env.setdefault(item.asname.name.value, res)
        return env

    def resource_of(self, expr: cst.BaseExpression | None) -> Resource | None:
        return self.module.resource_of(expr, self.env, self.cls)

    @cached_property
    def holds(self) -> list[Hold]:
        """Every acquisition of a connection, cursor or session into a local."""
        holds: list[Hold] = []
        for stmt in self.stmts:
            node = stmt.node
            assigned = single_assignment(node)
            if assigned is not None:
                target, value = assigned
                if isinstance(target, cst.Name):
                    res = self.resource_of(value)
                    if res is not None and res.kind in HOLD_KINDS:
                        closed = self._with_follows(stmt, target.value, res)
                        holds.append(Hold(target.value, res, stmt, value, via_with=False, closed_by_next_with=closed))
            elif isinstance(node, cst.With):
                for item in node.items:
                    if item.asname is not None and isinstance(item.asname.name, cst.Name):
                        res = self.resource_of(item.item)
                        if res is not None and res.kind in HOLD_KINDS:
                            holds.append(Hold(item.asname.name.value, res, stmt, item.item, via_with=True))
        for hold in holds:
            self._attach_refs(hold, holds)
        return holds

    def _with_follows(self, stmt: Stmt, var: str, resource: Resource) -> bool:
        """The statement after ``stmt`` is ``with var:`` on a handle whose context
        manager closes it, or ``with closing(var):``."""
        following = stmt.block[stmt.index + 1] if stmt.index + 1 < len(stmt.block) else None
        if not isinstance(following, cst.With):
            return False
        for item in following.items:
            value = item.item
            if isinstance(value, cst.Name) and value.value == var:
                return resource.with_closes and not resource.no_context_manager
            if (
                isinstance(value, cst.Call)
                and self.module.qualified(value.func) in CLOSING_WRAPPERS
                and len(value.args) == 1
                and isinstance(value.args[0].value, cst.Name)
                and value.args[0].value.value == var
            ):
                return True
        return False

    def _attach_refs(self, hold: Hold, holds: list[Hold]) -> None:
        # a later acquisition into the same name ends this hold only when it
        # follows in the same block (not in a sibling branch or a nested one)
        later = [
            h.acquired.ordinal
            for h in holds
            if h.var == hold.var
            and h.acquired.ordinal > hold.acquired.ordinal
            and h.acquired.block is hold.acquired.block
        ]
        stop = min(later) if later else None
        declared_global = self._declared_global(hold.var)
        for stmt in self.stmts:
            if stmt.ordinal < hold.acquired.ordinal or (stop is not None and stmt.ordinal >= stop):
                continue
            for part in stmt.header_parts():
                rebinds = isinstance(stmt.node, cst.For) and part is stmt.node.target
                for name, role in _roles(part, hold.var, hold.resource):
                    if rebinds:
                        role = "rebind"
                    if stmt is hold.acquired and role == "rebind":
                        continue
                    hold.refs.append(Ref(stmt, role, name))
            if stmt is not hold.acquired and _returns_derived(stmt.node, hold.var):
                hold.refs.append(Ref(stmt, "escape", cst.Name(hold.var)))
        if declared_global:
            hold.refs.append(Ref(hold.acquired, "escape", cst.Name(hold.var)))

    def _declared_global(self, var: str) -> bool:
        for stmt in self.stmts:
            if isinstance(stmt.node, cst.SimpleStatementLine):
                for small in stmt.node.body:
                    if isinstance(small, (cst.Global, cst.Nonlocal)) and any(
                        n.name.value == var for n in small.names
                    ):
                        return True
        return False

    def derived(self, name: str, build: Callable[[], T]) -> T:
        """What a model family derives from this function (the connections
        family's call classification...), built on first use and kept with it."""
        found = self._derived.get(name)
        if found is None:
            found = self._derived[name] = build()
        return found

    def calls(self) -> Iterator[tuple[Stmt, cst.Call]]:
        """Every call evaluated by the function's own statements (not nested defs)."""
        return iter(self._calls)

    @cached_property
    def _calls(self) -> list[tuple[Stmt, cst.Call]]:
        return [(stmt, node) for stmt, node in self.nodes if type(node) is cst.Call]  # exact: isinstance() is slow here

    @cached_property
    def nodes(self) -> list[tuple[Stmt, cst.CSTNode]]:
        """Every node evaluated by the function's own statements (not inside nested
        defs), outermost first, with its statement: one walk that several readers share."""
        found = []
        for stmt in self.stmts:
            for part in stmt.header_parts():
                if type(part) is cst.FunctionDef or type(part) is cst.ClassDef:
                    continue
                found.extend([(stmt, sub) for sub in preorder(part, into_functions=False)])
        return found


def _flatten(body: Sequence[cst.BaseStatement], context: tuple, out: list[Stmt]) -> None:
    for index, stmt in enumerate(body):
        out.append(Stmt(stmt, body, index, len(out), context))
        if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
            continue
        for kind, inner, block in _inner_blocks(stmt):
            _flatten(block, context + ((kind, inner),), out)


def _inner_blocks(stmt: cst.BaseStatement):
    if isinstance(stmt, cst.SimpleStatementLine):
        return
    if isinstance(stmt, (cst.For, cst.While)):
        yield "loop", stmt, _body(stmt.body)
        if stmt.orelse is not None:
            yield "else", stmt, _body(stmt.orelse.body)
    elif isinstance(stmt, cst.If):
        yield "if", stmt, _body(stmt.body)
        orelse = stmt.orelse
        if isinstance(orelse, cst.If):
            _ = orelse
            yield "if", stmt, [orelse]
        elif orelse is not None:
            yield "if", stmt, _body(orelse.body)
    elif isinstance(stmt, (cst.Try, cst.TryStar)):
        yield "try", stmt, _body(stmt.body)
        for handler in stmt.handlers:
            yield "except", handler, _body(handler.body)
        if stmt.orelse is not None:
            yield "try", stmt, _body(stmt.orelse.body)
        if stmt.finalbody is not None:
            yield "finally", stmt, _body(stmt.finalbody.body)
    elif isinstance(stmt, cst.With):
        yield "with", stmt, _body(stmt.body)
    elif isinstance(stmt, cst.Match):
        for case in stmt.cases:
            yield "match", case, _body(case.body)


def _body(suite: cst.BaseSuite) -> Sequence[cst.BaseStatement]:
    if isinstance(suite, cst.IndentedBlock):
        return suite.body
    return [cst.SimpleStatementLine(body=suite.body)] if isinstance(suite, cst.SimpleStatementSuite) else []


def _returns_derived(node: cst.CSTNode, var: str) -> bool:
    """``return conn.cursor()``: a handle bound to the connection leaves with it."""
    if not isinstance(node, cst.SimpleStatementLine):
        return False
    for small in node.body:
        value = small.value if isinstance(small, cst.Return) else None
        if isinstance(value, cst.Await):
            value = value.expression
        if (
            isinstance(value, cst.Call)
            and isinstance(value.func, cst.Attribute)
            and value.func.attr.value in HANDLE_RESULT_METHODS
            and isinstance(value.func.value, cst.Name)
            and value.func.value.value == var
        ):
            return True
    return False


_HARMLESS_PARENTS = (
    cst.Comparison, cst.ComparisonTarget, cst.UnaryOperation, cst.BooleanOperation,
    cst.If, cst.While, cst.IfExp, cst.Del, cst.Assert,
)
_ESCAPE_PARENTS = (
    cst.Return, cst.Yield, cst.Element, cst.DictElement, cst.StarredElement,
    cst.StarredDictElement, cst.Assign, cst.AnnAssign, cst.AugAssign, cst.NamedExpr,
)


def _roles(root: cst.CSTNode, var: str, resource: Resource) -> Iterator[tuple[cst.Name, str]]:
    """(name node, role) for each mention of ``var`` under ``root``."""
    if isinstance(root, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
        for sub in walk(root):
            if isinstance(sub, cst.Name) and sub.value == var:
                yield sub, "captured"
                return
        return
    stack: list[tuple[cst.CSTNode, cst.CSTNode | None, cst.CSTNode | None]] = [(root, None, None)]
    while stack:
        node, parent, grand = stack.pop()
        if isinstance(node, cst.Lambda) or isinstance(node, (cst.FunctionDef, cst.ClassDef)):
            if any(isinstance(s, cst.Name) and s.value == var for s in walk(node)):
                yield cst.Name(var), "captured"
            continue
        if isinstance(node, cst.Name) and node.value == var:
            yield node, _role(node, parent, grand, resource)
            continue
        for child in children(node):
            stack.append((child, node, parent))


def _role(node: cst.Name, parent, grand, resource: Resource) -> str:
    if isinstance(parent, cst.Attribute):
        if parent.value is node:
            if (
                isinstance(grand, cst.Call)
                and grand.func is parent
                and parent.attr.value in resource.release_methods
            ):
                return "release"
            return "receiver"
        return "other"
    if isinstance(parent, cst.Arg):
        call = grand
        if (
            isinstance(call, cst.Call)
            and isinstance(call.func, cst.Attribute)
            and call.func.attr.value in resource.release_by_source
        ):
            return "release"
        return "passed"
    if isinstance(parent, (cst.AssignTarget, cst.For, cst.AsName, cst.CompFor)):
        return "rebind"
    if isinstance(parent, cst.WithItem):
        return "receiver"  # `with conn:` (a transaction on the same connection)
    if isinstance(parent, _HARMLESS_PARENTS):
        return "receiver"
    if parent is None:
        return "receiver"  # the whole header expression: `if conn:`, `for row in cur:`
    if isinstance(parent, _ESCAPE_PARENTS):
        return "escape"
    if isinstance(parent, (cst.Subscript, cst.SubscriptElement, cst.Index)):
        return "receiver"
    return "other"
