"""The interpreter behind :mod:`scalelint.model.flow.dataflow`: statements in
order with their block structure (branches merged, loops run twice, early
exits turned into control for the rest of the block, ``except DoesNotExist``
handlers controlled by the reads of their ``try``), expressions evaluated to
labels, call chains unrolled, and project calls recorded as call sites."""
from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any

import libcst as cst

from scalelint.model import catalog, dbops
from scalelint.model.flow.pending import PendingInserts
from scalelint.model.flow.dataflow import (
    AS_IS, CALL, COMPUTE, DEFAULTED, EMPTY, FIELD, HANDLE, ID_FIELD, LENGTH, NEW, ORIGIN, PARAM, PRIMARY_HANDLE, REF,
    TEST, UNKNOWN, Cond, FunctionFlow, Handle, Label, ModuleFlow, Site, State, field_op, is_primary, is_replica, reshape,
)
from scalelint.model.flow.dbcalls import DbCalls
from scalelint.model.dbops import Step, is_class_name, positional, unroll
from scalelint.model.entrypoints import entry_kind
from scalelint.model.spots import StatementLocator
from scalelint.core.walk import dotted, string_value, walk

if TYPE_CHECKING:
    from scalelint.model.source import SourceFile
    from scalelint.model.function import FunctionModel
    from scalelint.model.module import ModuleModel


_BUILTINS = frozenset(dir(builtins))
_CHAINS = frozenset({cst.Call, cst.Attribute, cst.Await})
_SEQUENCES = frozenset({cst.Tuple, cst.List, cst.Set})
_COMPREHENSIONS = frozenset({cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp})


def module_flow(ctx: "SourceFile") -> ModuleFlow:
    """The dataflow of the file being checked, built once and shared by every rule:
    every function of the file interpreted."""
    return ctx.model.derived("dataflow", lambda: _Builder(ctx).build())


class _Builder:
    """Interprets every function of one module into its :class:`ModuleFlow`."""

    def __init__(self, ctx: "SourceFile") -> None:
        self.ctx = ctx
        self.model: ModuleModel = ctx.model
        self.flow = ModuleFlow(ctx.path, self.model.module_name)
        self.flow.ctx = ctx
        self.flow.locator = StatementLocator(ctx.module, ctx.text, ctx.python_tree)
        self.globals: dict[str, frozenset[Label]] = {}
        self.local_classes = {c.name for c in self.model.classes}
        self._ids: dict[tuple[str, int], str] = {}
        self._counter = 0
        #: bare name -> "replica" | "primary" | "" (what a handle of that name is)
        self.name_roles: dict[str, str] = {}

    def qualify(self, qualname: str) -> str:
        return f"{self.model.module_name}.{qualname}" if self.model.module_name else qualname

    def key_for(self, prefix: str, node: cst.CSTNode) -> tuple[str, bool]:
        """A stable key per node (loops visit a node twice); True when new."""
        found = self._ids.get((prefix, id(node)))
        if found is not None:
            return found, False
        self._counter += 1
        key = self.flow.key(prefix, self._counter)
        self._ids[(prefix, id(node))] = key
        return key, True

    def build(self) -> ModuleFlow:
        self._module_level()
        for fn in self.model.functions:
            _Run(self, fn).run()
        return self.flow

    def _module_level(self) -> None:
        run = _Run(self, None)
        state = State({})
        for stmt in self.model.cst.body:
            if not isinstance(stmt, cst.SimpleStatementLine):
                continue
            for small in stmt.body:
                if isinstance(small, (cst.Assign, cst.AnnAssign)) and small.value is not None:
                    targets = [t.target for t in small.targets] if isinstance(small, cst.Assign) else [small.target]
                    labels = run.eval(small.value, state)
                    for target in targets:
                        if isinstance(target, cst.Name):
                            self.globals[target.value] = labels
                            self._instance(target.value, small.value)
                            self._constructed_role(target.value, small.value, labels)

    def _constructed_role(self, name: str, value: cst.BaseExpression, labels: frozenset[Label]) -> None:
        """A module-level handle built by a catalogued constructor is a replica
        by what it was built from (its labels), never by its name alone."""
        if isinstance(value, cst.Await):
            value = value.expression
        if isinstance(value, cst.Call) and dbops.constructs_handle(value, self.model):
            named = _name_role(name, self.model.recognition)
            self.name_roles[name] = "primary" if named == "primary" and not is_replica(labels) else ""

    def _instance(self, name: str, value: cst.BaseExpression) -> None:
        if isinstance(value, cst.Call) and is_class_name(dotted(value.func)):
            spelled = dotted(value.func) or ""
            if spelled in self.local_classes:
                self.flow.instances[name] = self.qualify(spelled)
            else:
                qn = self.model.qualified(value.func)
                if qn is not None and self.model.project_import(qn):
                    self.flow.instances[name] = qn


def _merge_env(states: list[State]) -> dict[str, frozenset[Label]]:
    out: dict[str, frozenset[Label]] = {}
    for st in states:
        for name, labels in st.env.items():
            out[name] = out.get(name, EMPTY) | labels
    return out


class _Run(DbCalls):
    """Interprets one function (or the module body, for globals); what database
    calls do is :class:`~scalelint.model.flow.dbcalls.DbCalls`' business."""

    def __init__(self, builder: _Builder, fn: "FunctionModel | None") -> None:
        self.b = builder
        self.model = builder.model
        self.fn = fn
        self.strings: dict[str, cst.BaseExpression] = {}
        self.returns: list[tuple[frozenset[Label], frozenset[tuple[str, bool]]]] = []
        self.flushes = False
        self.pending = PendingInserts()  # session inserts waiting for a flush
        self.produced: list[frozenset[Label]] = []  # origin labels, in order (for except DoesNotExist)
        self.params: set[str] = set()
        self.annotations: dict[str, str] = {}  # parameter -> qualified annotation
        self.session_params: set[str] = set()  # parameters injected as ORM sessions
        self.out: FunctionFlow | None = None
        self.anchor: cst.CSTNode | None = None  # the statement being evaluated

    # -- driver ---------------------------------------------------------------------
    def run(self) -> None:
        fn = self.fn
        assert fn is not None
        key = self.b.qualify(fn.qualname)
        self.out = FunctionFlow(key, fn.name, role=entry_kind(fn))
        state = State({})
        self._params(fn.node, state)
        if isinstance(fn.node.body, cst.IndentedBlock):
            self.block(fn.node.body.body, state)
        self._finish()
        self.b.flow.functions[key] = self.out

    def _params(self, node: cst.FunctionDef, st: State) -> None:
        p = node.params
        ordered = [*p.posonly_params, *p.params]
        is_method = self.fn is not None and self.fn.cls is not None and not any(
            (dotted(d.decorator) or "") == "staticmethod" for d in node.decorators
        )
        if is_method and ordered:
            ordered = ordered[1:]
        assert self.out is not None
        self.out.params = tuple(x.name.value for x in ordered)
        everything = [*ordered, *p.kwonly_params]
        for param in everything:
            name = param.name.value
            self.params.add(name)
            if param.annotation is not None:
                self.annotations[name] = self.model.qualified(param.annotation.annotation) or ""
            labels = {Label(PARAM, name)}
            if param.default is not None:
                self.out.defaults[name] = dbops.literal_truth(param.default)
                if any("session" in dbops.words(n.value) for n in walk(param.default) if isinstance(n, cst.Name)):
                    self.session_params.add(name)  # ``Depends(get_db_session)``
                # ``session = Depends(get_read_session)``, ``using="replica"``: the default
                # chooses the handle, as long as the caller passes none
                defaulted = frozenset({(DEFAULTED + name, True)})
                labels |= {
                    l.derived(l.shape, l.field, l.guard | defaulted)
                    for l in self.eval(param.default, st) if l.kind == HANDLE and l.replica
                }
            st.env[name] = frozenset(labels)
        for star in (p.star_arg, p.star_kwarg):
            if isinstance(star, cst.Param):
                st.env[star.name.value] = EMPTY

    def _finish(self) -> None:
        out = self.out
        assert out is not None
        mixed = any(is_replica(l) for l, _ in self.returns) and any(
            not is_replica(l) and is_primary(l) for l, _ in self.returns
        )
        result: set[Label] = set()
        for labels, guards in self.returns:
            unknown = frozenset(g for g in guards if g[0].startswith(UNKNOWN))
            for label in labels:
                if mixed and unknown and label.replica:
                    label = label._replace(guard=label.guard | unknown)
                result.add(label)
        out.returns = frozenset(result)
        for key in self.pending.settled():
            self.b.flow.writes[key].unique_guarded = True  # its INSERT runs inside an IntegrityError handler
        if not self.flushes:
            dropped = {k for k in out.writes if self.b.flow.writes[k].needs_flush}
            out.writes = [k for k in out.writes if k not in dropped]
            out.events = [e for e in out.events if e[1] not in dropped]
            for k in dropped:
                del self.b.flow.writes[k]

    # -- statements -------------------------------------------------------------------
    def block(self, stmts, st: State) -> State:
        for stmt in stmts:
            if st.exited:
                break
            st = self.stmt(stmt, st)
        return st

    def stmt(self, node: cst.BaseStatement, st: State) -> State:
        self.anchor = node
        kind = type(node)
        if kind is cst.SimpleStatementLine:
            for small in node.body:
                st = self.small(small, st)
                if st.exited:
                    break
            return st
        if kind is cst.If:
            return self._if(node, st)
        if kind is cst.For or kind is cst.While:
            return self._loop(node, st)
        if kind is cst.Try or kind is cst.TryStar:
            return self._try(node, st)
        if kind is cst.With:
            for item in node.items:
                if self.out is not None and dbops.is_lock_context(item.item, self.model):
                    self.out.locks.add("*")  # ``with advisory_lock(...)``: the block runs serialised
                labels = self.eval(item.item, st)
                if item.asname is not None:
                    self.bind(item.asname.name, labels, st)
            return self.block(_body(node.body), st)
        if kind is cst.Match:
            return self._match(node, st)
        return st

    def small(self, node: cst.BaseSmallStatement, st: State) -> State:
        self.anchor = node
        kind = type(node)
        if kind is cst.Assign:
            labels = self.eval(node.value, st)
            for target in node.targets:
                self._remember_text(target.target, node.value)
                self.bind(target.target, labels, st)
        elif kind is cst.AnnAssign:
            if node.value is not None:
                self._remember_text(node.target, node.value)
                self.bind(node.target, self.eval(node.value, st), st)
        elif kind is cst.AugAssign:
            value = reshape(self.eval(node.value, st), COMPUTE)
            current = reshape(self.eval(node.target, st), COMPUTE)
            self.bind(node.target, value | current, st)
        elif kind is cst.Expr:
            self.eval(node.value, st)
        elif kind is cst.Return:
            labels = self.eval(node.value, st) if node.value is not None else EMPTY
            self.returns.append((labels, st.guards))
            self.pending.leave()
            st.exited = True
        elif kind is cst.Raise:
            if node.exc is not None:
                self.eval(node.exc, st)
            self.pending.leave()
            st.exited = True
        elif kind is cst.Break or kind is cst.Continue:
            st.exited = True
        elif kind is cst.Assert:
            key, labels = self.condition(node.test, st)
            if labels:
                st.ctl = st.ctl + ((key, labels),)
        return st

    def _remember_text(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        if isinstance(target, cst.Name) and isinstance(
            value, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString, cst.Call, cst.BinaryOperation)
        ):
            self.strings[target.value] = value

    def _if(self, node: cst.If, st: State) -> State:
        self.anchor = node
        key, labels = self.condition(node.test, st)
        guard = self._test_guard(node.test, key)
        ctl = st.ctl + ((key, labels),) if labels else st.ctl
        branch_key, _ = self.b.key_for("b", node)
        then = self.block(_body(node.body), st.fork(ctl=ctl, guards=st.guards | {guard},
                                                     branch=st.branch + ((branch_key, 0),)))
        other = st.fork(ctl=ctl, guards=st.guards | {(guard[0], not guard[1])}, branch=st.branch + ((branch_key, 1),))
        if isinstance(node.orelse, cst.If):
            other = self._if(node.orelse, other)
        elif node.orelse is not None:
            other = self.block(_body(node.orelse.body), other)
        if then.exited and other.exited:
            st.env = _merge_env([then, other])
            st.exited = True
            return st
        if then.exited:
            return other
        if other.exited:
            return then
        st.env = self._merge_choice(then, other, guard)
        return st

    def _merge_choice(self, then: State, other: State, guard: tuple[str, bool]) -> dict:
        """Union of both branches; where only one branch picks a replica for a name the
        other also binds, the replica labels hold only under the branch's condition."""
        out = _merge_env([then, other])
        for name in set(then.env) | set(other.env):
            a, b = then.env.get(name, EMPTY), other.env.get(name, EMPTY)
            if a == b:
                continue
            for side, opposite, truth in ((a, b, guard[1]), (b, a, not guard[1])):
                if _choice(side, opposite):
                    picked = frozenset(
                        l._replace(guard=l.guard | {(guard[0], truth)}) if l.replica else l for l in side
                    )
                    out[name] = picked | opposite
        return out

    def _test_guard(self, test: cst.BaseExpression, key: str) -> tuple[str, bool]:
        truth = True
        while isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
            truth, test = not truth, test.expression
        if isinstance(test, cst.Name) and test.value in self.params:
            return test.value, truth
        return f"{UNKNOWN}{key}", truth

    def _loop(self, node: cst.For | cst.While, st: State) -> State:
        body_st = st
        if isinstance(node, cst.While):
            key, labels = self.condition(node.test, st)
            if labels:
                body_st = st.fork(ctl=st.ctl + ((key, labels),))
        iterated = self.eval(node.iter, st) if isinstance(node, cst.For) else EMPTY
        for _ in range(2):
            inner = body_st.fork()
            if isinstance(node, cst.For):
                self.bind(node.target, iterated, inner)
            inner = self.block(_body(node.body), inner)
            for name, labels in inner.env.items():
                st.env[name] = st.env.get(name, EMPTY) | labels
            body_st = body_st.fork()
            body_st.env = dict(st.env)
        if node.orelse is not None:
            st = self.block(_body(node.orelse.body), st)
        return st

    def _try(self, node: cst.Try | cst.TryStar, st: State) -> State:
        unique = st.unique or any(
            name in catalog.UNIQUE_VIOLATIONS for h in node.handlers for name in dbops.caught_names(h)
        )
        mark = len(self.produced)
        body = self.block(_body(node.body), st.fork(unique=unique))
        read_in_body = frozenset().union(*self.produced[mark:]) if len(self.produced) > mark else EMPTY
        entry_env = _merge_env([st, body])
        ends: list[State] = []
        if node.orelse is not None and not body.exited:
            body = self.block(_body(node.orelse.body), body)
        if not body.exited:
            ends.append(body)
        for handler in node.handlers:
            h_st = st.fork()
            h_st.env = dict(entry_env)
            if read_in_body and any(n.endswith(catalog.NOT_FOUND_ERRORS) for n in dbops.caught_names(handler)):
                key, _ = self.b.key_for("k", handler)
                if key not in self.b.flow.conds:
                    first = _body(handler.body)
                    anchor = (first[0].body[0] if isinstance(first[0], cst.SimpleStatementLine) and first[0].body
                              else first[0]) if first else None
                    self.b.flow.conds[key] = Cond(key, False, handler.type or handler, anchor=anchor, before=True)
                h_st.ctl = h_st.ctl + ((key, reshape(read_in_body, TEST)),)
            if isinstance(handler.name, cst.AsName) and isinstance(handler.name.name, cst.Name):
                h_st.env[handler.name.name.value] = EMPTY
            h_st = self.block(_body(handler.body), h_st)
            if not h_st.exited:
                ends.append(h_st)
        if not ends:
            st.env = entry_env
            st.exited = True
            result = st
        elif len(ends) == 1:
            result = ends[0]
        else:
            st.env = _merge_env(ends)
            result = st
        if node.finalbody is not None:
            exited = result.exited
            result.exited = False
            result = self.block(_body(node.finalbody.body), result)
            result.exited = result.exited or exited
        return result

    def _match(self, node: cst.Match, st: State) -> State:
        subject = reshape(self.eval(node.subject, st), COMPUTE)
        key, _ = self.b.key_for("k", node.subject)
        if subject and key not in self.b.flow.conds:
            self.b.flow.conds[key] = Cond(key, False, node.subject, anchor=node)
        ends = []
        branch_key, _ = self.b.key_for("b", node)
        for i, case in enumerate(node.cases):
            c_st = st.fork(ctl=st.ctl + ((key, subject),) if subject else st.ctl, branch=st.branch + ((branch_key, i),))
            c_st = self.block(_body(case.body), c_st)
            if not c_st.exited:
                ends.append(c_st)
        st.env = _merge_env([st, *ends])
        return st

    # -- binding ---------------------------------------------------------------------
    def bind(self, target: cst.BaseExpression, labels: frozenset[Label], st: State) -> None:
        if isinstance(target, cst.Name):
            st.env[target.value] = labels
        elif isinstance(target, (cst.Tuple, cst.List)):
            for el in target.elements:
                inner = el.value
                name = inner.value if isinstance(inner, cst.Name) else None
                # unpacking a row gives its columns, unpacking a tuple of rows gives rows:
                # only a name that says "identifier" is known to be one
                self.bind(inner, reshape(labels, ID_FIELD, name) if dbops.is_identity(name) else labels, st)
        elif isinstance(target, cst.StarredElement):
            self.bind(target.value, labels, st)
        elif isinstance(target, cst.Attribute):
            self._attribute_store(target, labels, st)
        elif isinstance(target, cst.Subscript):
            base = target.value
            if isinstance(base, cst.Name):
                st.env[base.value] = st.env.get(base.value, EMPTY) | labels

    def _attribute_store(self, target: cst.Attribute, labels: frozenset[Label], st: State) -> None:
        base = target.value
        if not isinstance(base, cst.Name):
            return
        owner = st.env.get(base.value, EMPTY)
        st.env[base.value] = owner | frozenset(l for l in reshape(labels, REF) if l.kind != NEW)
        for label in owner:
            origin = self.b.flow.origins.get(label.ref) if label.kind == ORIGIN else None
            if origin is not None and origin.kind == "sqlalchemy" and label.shape == AS_IS:
                what = f"{origin.spelled}.{target.attr.value} assignment"
                self.write(target, "update", origin.entity, what, st, data=labels, needs_flush=True,
                           target=origin.key)
                return

    # -- conditions ------------------------------------------------------------------
    def condition(self, test: cst.BaseExpression, st: State) -> tuple[str, frozenset[Label]]:
        labels = self._cond_labels(test, st)
        key, new = self.b.key_for("k", test)
        if labels and key not in self.b.flow.conds:
            self.b.flow.conds[key] = Cond(key, None, test, anchor=self.anchor)  # ordering: when asked
        return key, labels

    def _cond_labels(self, test: cst.BaseExpression, st: State) -> frozenset[Label]:
        if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
            return self._cond_labels(test.expression, st)
        if isinstance(test, cst.BooleanOperation):
            return self._cond_labels(test.left, st) | self._cond_labels(test.right, st)
        if isinstance(test, cst.Comparison):
            if all(_none_test(t) for t in test.comparisons):
                return reshape(self.eval(test.left, st), TEST)
            return self.eval(test, st)
        labels = self.eval(test, st)
        return reshape(labels, TEST) if not isinstance(test, cst.BinaryOperation) else labels

    # -- expressions -----------------------------------------------------------------
    def eval(self, node: cst.BaseExpression | None, st: State) -> frozenset[Label]:
        # exact types, not isinstance(): LibCST's node classes are ABCs, whose
        # isinstance() costs a Python-level call, and this runs for every expression
        if node is None:
            return EMPTY
        kind = type(node)
        if kind is cst.Name:
            return self._name(node, st)
        if kind in _CHAINS:
            return self.chain(node, st)
        if kind is cst.Subscript:
            return self._subscript(node, st)
        if kind is cst.BinaryOperation:
            return reshape(self.eval(node.left, st) | self.eval(node.right, st), COMPUTE)
        if kind is cst.UnaryOperation:
            inner = self.eval(node.expression, st)
            return reshape(inner, TEST if type(node.operator) is cst.Not else COMPUTE)
        if kind is cst.BooleanOperation:
            return self.eval(node.left, st) | self.eval(node.right, st)
        if kind is cst.Comparison:
            labels = self.eval(node.left, st)
            for target in node.comparisons:
                labels |= self.eval(target.comparator, st)
            return reshape(labels, COMPUTE)
        if kind is cst.IfExp:
            return self._ifexp(node, st)
        if kind is cst.FormattedString:
            out = EMPTY
            for part in node.parts:
                if type(part) is cst.FormattedStringExpression:
                    out |= self.eval(part.expression, st)
            return reshape(out, COMPUTE)
        if kind is cst.SimpleString:
            text = dbops.short_literal(node)
            if text is not None and dbops.replica_alias(text, self.model.recognition):
                return frozenset({self._handle(node, text, st, alias=True)})
            if text is not None and dbops.primary_name(text, self.model.recognition):
                return frozenset({PRIMARY_HANDLE})
            return EMPTY
        if kind in _SEQUENCES:
            out = EMPTY
            for el in node.elements:
                out |= self.eval(el.value, st)
            return out
        if kind is cst.Dict:
            out = EMPTY
            for el in node.elements:
                if type(el) is cst.DictElement:
                    out |= self.eval(el.key, st) | self.eval(el.value, st)
                else:
                    out |= self.eval(el.value, st)
            return out
        if kind in _COMPREHENSIONS:
            return self._comprehension(node, st)
        if kind is cst.NamedExpr:
            labels = self.eval(node.value, st)
            self.bind(node.target, labels, st)
            return labels
        if kind is cst.Yield:
            value = node.value
            return self.eval(value, st) if isinstance(value, cst.BaseExpression) else EMPTY
        if kind is cst.StarredElement:
            return self.eval(node.value, st)
        return EMPTY

    def _name(self, node: cst.Name, st: State) -> frozenset[Label]:
        name = node.value
        if name in ("True", "False", "None", "self", "cls"):
            return EMPTY
        labels = st.env.get(name)
        if labels is None:
            labels = self.b.globals.get(name, EMPTY)
        role = self.name_role(name)
        if role == "replica":
            labels = labels | {self._handle(node, name, st)}
        elif role == "primary":
            labels = labels | {PRIMARY_HANDLE}
        return labels

    def name_role(self, name: str) -> str:
        """What a handle of this (last) name is: "replica", "primary" or ""."""
        role = self.b.name_roles.get(name)
        if role is None:
            role = self.b.name_roles[name] = _name_role(name, self.model.recognition)
        return role

    def _handle(self, node: cst.CSTNode, spelled: str, st: State, alias: bool = False) -> Label:
        key, new = self.b.key_for("h", node)
        if new:
            self.b.flow.handles[key] = Handle(key, spelled, node, alias)
        guard = frozenset(g for g in st.guards if not g[0].startswith(UNKNOWN))
        return Label(HANDLE, key, replica=True, guard=guard)

    def _subscript(self, node: cst.Subscript, st: State) -> frozenset[Label]:
        base = self.eval(node.value, st)
        key_expr = node.slice[0].slice if len(node.slice) == 1 else None
        out = base
        if isinstance(key_expr, cst.Index):
            index = key_expr.value
            text = dbops.short_literal(index)
            if text is not None:
                out = reshape(base, field_op(text), text)
                if dbops.replica_alias(text, self.model.recognition):
                    out = out | {self._handle(index, text, st, alias=True)}
            elif isinstance(index, cst.Name) or isinstance(index, cst.Attribute):
                key_labels = self.eval(index, st)
                out = reshape(base, FIELD) | frozenset(l for l in key_labels if l.kind == HANDLE)
        return out

    def _ifexp(self, node: cst.IfExp, st: State) -> frozenset[Label]:
        test = reshape(self.eval(node.test, st), COMPUTE)
        key, _ = self.b.key_for("k", node.test)
        guard = self._test_guard(node.test, key)
        body = self.eval(node.body, st.fork(guards=st.guards | {guard}))
        orelse = self.eval(node.orelse, st.fork(guards=st.guards | {(guard[0], not guard[1])}))
        for side, opposite, truth in ((body, orelse, guard[1]), (orelse, body, not guard[1])):
            if _choice(side, opposite):
                side = frozenset(l._replace(guard=l.guard | {(guard[0], truth)}) if l.replica else l for l in side)
                return side | opposite | frozenset(l for l in test if l.kind != HANDLE)
        return body | orelse | frozenset(l for l in test if l.kind != HANDLE)

    def _comprehension(self, node, st: State) -> frozenset[Label]:
        inner = st.fork()
        comp = node.for_in
        while comp is not None:
            self.bind(comp.target, self.eval(comp.iter, inner), inner)
            for cond in comp.ifs:
                self.eval(cond.test, inner)
            comp = comp.inner_for_in
        if isinstance(node, cst.DictComp):
            return self.eval(node.key, inner) | self.eval(node.value, inner)
        return self.eval(node.elt, inner)

    # -- calls and chains ---------------------------------------------------------------
    def chain(self, node: cst.BaseExpression, st: State) -> frozenset[Label]:
        root, steps = unroll(node)
        if self.out is not None and self._takes_shared_lock(root, steps):
            self.out.locks.add("*")  # ``acquire_lock(key)``, ``cache.lock(key).acquire()``
        if not steps:
            return self.plain_call(root, st) if isinstance(root, cst.Call) else self.eval(root, st)
        if _is_logging(root, steps):
            for step in steps:
                if step.call is not None:
                    for arg in step.call.args:
                        self.eval(arg.value, st)
            return EMPTY
        manager = dbops.django_manager_index(root, steps)
        if manager is not None:
            labels, i = self.django(root, steps, manager, st)
        else:
            flask = self._flask_query_index(root, steps)
            if flask is not None:
                entity = dotted(root) if flask == 0 else dbops.spelled_prefix(root, steps, flask)
                labels, i = self.sa_query(steps, flask + 1, (entity or "").rsplit(".", 1)[-1], EMPTY, node, st)
            else:
                labels = self.plain_call(root, st) if isinstance(root, cst.Call) else self.eval(root, st)
                i = 0
        while i < len(steps):
            step = steps[i]
            if step.call is None:
                labels = self._attribute(labels, root, steps, i, st)
                i += 1
            else:
                labels, i = self.method(labels, root, steps, i, st)
        return labels

    def _takes_shared_lock(self, root: cst.BaseExpression, steps: list[Step]) -> bool:
        calls = [step.call for step in steps if step.call is not None]
        if type(root) is cst.Call:
            calls.append(root)
        return any(dbops.takes_shared_lock(call, self.model) for call in calls)

    def _attribute(self, labels, root, steps: list[Step], i: int, st: State) -> frozenset[Label]:
        name = steps[i].name
        out = reshape(labels, field_op(name), name)
        role = self.name_role(name)
        if role == "replica":
            spelled = dbops.spelled_prefix(root, steps, i + 1) or name
            out = out | {self._handle(steps[i].node, spelled, st)}
        elif role == "primary":
            out = out | {PRIMARY_HANDLE}
        return out

    def _flask_query_index(self, root, steps: list[Step]) -> int | None:
        for i, step in enumerate(steps):
            if step.call is not None:
                return None
            if step.name == catalog.SA_QUERY_ATTRIBUTE and i + 1 < len(steps):
                prefix = dbops.spelled_prefix(root, steps, i)
                return i if is_class_name(prefix) and self._project_class(prefix) else None
        return None

    def _project_class(self, spelled: str | None) -> bool:
        if not spelled:
            return False
        head = spelled.split(".")[0]
        qn = self.model.imports.names.get(head)
        return qn is None or self.model.project_import(qn)

    def args_labels(self, call: cst.Call, st: State, op: str = AS_IS) -> frozenset[Label]:
        out = EMPTY
        for arg in call.args:
            out |= self.eval(arg.value, st)
        return reshape(out, op)

    # -- plain function calls -------------------------------------------------------------
    def plain_call(self, call: cst.Call, st: State) -> frozenset[Label]:
        func = call.func
        spelled = dotted(func) or ""
        qn = self.model.qualified(func) or spelled
        if qn in catalog.FLOW_SINKLESS:
            self.args_labels(call, st)
            return EMPTY
        if qn in catalog.SQL_READ_FUNCTIONS:
            return self._sql_function(call, qn, st)
        if qn in catalog.PASS_THROUGH_CALLS or spelled in catalog.PASS_THROUGH_CALLS:
            return self.args_labels(call, st)
        if dbops.routing_session_call(call, self.model):
            return self.args_labels(call, st, REF) | {self._routing_handle(call, st)}
        if dbops.constructs_handle(call, self.model):
            return self.args_labels(call, st, REF) | self._replica_url(call, st)
        callee = self.callee_of(func)
        if callee is not None:
            return self.site(call, callee, spelled, st) | self._func_handles(func, st)
        if is_class_name(spelled) and self._model_class(spelled):
            # an unsaved instance given as a field (``Note(message=message)``) is referenced, not
            # built: the value is one model's instance, as with ``note.message = message``
            fields = frozenset(l for l in self.args_labels(call, st, REF) if l.kind != NEW)
            return frozenset({Label(NEW, spelled.rsplit(".", 1)[-1])}) | fields
        if qn == "getattr" and len(call.args) >= 2:
            name = dbops.short_literal(call.args[1].value)
            return reshape(self.eval(call.args[0].value, st), field_op(name), name)
        if qn == "len":
            return self.args_labels(call, st, LENGTH)
        op = COMPUTE if qn in catalog.VALUE_FUNCTIONS or spelled in catalog.VALUE_FUNCTIONS else REF
        return self.args_labels(call, st, op) | self._func_handles(func, st)

    def _routing_handle(self, call: cst.Call, st: State) -> Label:
        """A routing session's handle: a replica for its reads, never for its writes."""
        label = self._handle(call, dotted(call.func) or "Session", st)
        self.b.flow.handles[label.ref].routes_writes = True
        return label

    def _replica_url(self, call: cst.Call, st: State) -> frozenset[Label]:
        """A replica handle for a constructor given a literal URL whose host names a replica."""
        for arg in call.args[:1]:
            text = string_value(arg.value)
            if text is not None and dbops.replica_url(text):
                return frozenset({self._handle(arg.value, dotted(call.func) or "engine", st)})
        return EMPTY

    def _func_handles(self, func: cst.BaseExpression, st: State) -> frozenset[Label]:
        if isinstance(func, (cst.Name, cst.Attribute)):
            return frozenset(l for l in self.eval(func, st) if l.kind == HANDLE)
        return EMPTY

    def _model_class(self, spelled: str) -> bool:
        last = spelled.rsplit(".", 1)[-1]
        if last.endswith(catalog.NOT_MODEL_SUFFIXES):
            return False
        head = spelled.split(".")[0]
        if last in self.b.local_classes:
            return True
        if self.model.imports.imported(head):
            return self._project_class(spelled)
        # a name bound nowhere in this file (a snippet's model, a star import): not a builtin
        return head not in self.model.global_values and head not in _BUILTINS and "." not in spelled

    def _sql_function(self, call: cst.Call, qn: str, st: State) -> frozenset[Label]:
        args = positional(call)
        kw = dbops.keywords(call)
        text = dbops.sql_text(args[0], self.model, self.strings) if args else None
        handle = kw.get(catalog.SQL_READ_FUNCTIONS[qn]) or (args[1] if len(args) > 1 else None)
        self.args_labels(call, st)
        if text is None or text.info.is_write:
            return EMPTY
        return self._sql_read(call, text, self.eval(handle, st), st)

    def callee_of(self, func: cst.BaseExpression) -> str | None:
        """The qualified name of a project function or method being called."""
        model = self.model
        if isinstance(func, cst.Name):
            name = func.value
            if self.fn is not None:
                nested = f"{self.fn.qualname}.<locals>.{name}"
                if nested in model._defs:
                    return self.b.qualify(nested)
            if name in model._defs:
                return self.b.qualify(name)
            qn = model.imports.names.get(name)
            if qn is not None and model.project_import(qn) and not is_class_name(qn):
                return qn
            return None
        if not isinstance(func, cst.Attribute):
            return None
        base = func.value
        method = func.attr.value
        if isinstance(base, cst.Name):
            if base.value in ("self", "cls") and self.fn is not None and self.fn.cls is not None:
                return self.b.qualify(f"{self.fn.cls.name}.{method}")
            if base.value in self.b.flow.instances:
                return f"{self.b.flow.instances[base.value]}.{method}"
            if base.value in self.b.local_classes:
                return self.b.qualify(f"{base.value}.{method}")
        qn = model.qualified(func)
        if qn is not None and model.project_import(qn):
            return qn
        return None

    def site(self, call: cst.Call, callee: str, spelled: str, st: State) -> frozenset[Label]:
        key, new = self.b.key_for("c", call)
        args = tuple(self.eval(a.value, st) for a in call.args if a.keyword is None and not a.star)
        kwargs = {a.keyword.value: self.eval(a.value, st) for a in call.args if a.keyword is not None}
        for a in call.args:
            if a.star:
                self.eval(a.value, st)
        consts: dict[str, bool] = {}
        for i, a in enumerate(x for x in call.args if x.keyword is None and not x.star):
            truth = dbops.literal_truth(a.value)
            if truth is not None:
                consts[str(i)] = truth
        for a in call.args:
            if a.keyword is not None:
                truth = dbops.literal_truth(a.value)
                if truth is not None:
                    consts[a.keyword.value] = truth
        existing = self.b.flow.sites.get(key)
        if existing is None:
            self.b.flow.sites[key] = Site(key, callee, spelled or callee.rsplit(".", 1)[-1], args, kwargs, consts,
                                          dbops.has_star(call), st.ctl, st.unique, call, anchor=self.anchor)
            self._record("c", key, EMPTY, st)
        else:
            existing.args = tuple(a | b for a, b in zip(existing.args, args))
            existing.kwargs = {k: existing.kwargs.get(k, EMPTY) | v for k, v in kwargs.items()}
        return frozenset({Label(CALL, key)})


def _name_role(name: str, recognition) -> str:
    if dbops.replica_name(name, recognition):
        return "replica"
    return "primary" if dbops.primary_name(name, recognition) else ""


def _choice(side: frozenset[Label], opposite: frozenset[Label]) -> bool:
    """One branch picks a replica where the other picks the primary."""
    return is_replica(side) and not is_replica(opposite) and is_primary(opposite)


def _body(suite: cst.BaseSuite) -> list[cst.BaseStatement]:
    if isinstance(suite, cst.IndentedBlock):
        return list(suite.body)
    if isinstance(suite, cst.SimpleStatementSuite):
        return [cst.SimpleStatementLine(body=suite.body)]
    return []


def _none_test(target: cst.ComparisonTarget) -> bool:
    return (
        isinstance(target.operator, (cst.Is, cst.IsNot, cst.Equal, cst.NotEqual))
        and isinstance(target.comparator, cst.Name)
        and target.comparator.value == "None"
    )


def _is_logging(root: cst.BaseExpression, steps: list[Step]) -> bool:
    head = dotted(root) if isinstance(root, (cst.Name, cst.Attribute)) else None
    if head is None:
        return False
    if head in catalog.LOGGER_NAMES or head.endswith(("logger", "log")):
        return True
    return bool(steps) and steps[0].name in ("logger", "log") and head == "self"
