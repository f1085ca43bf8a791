"""What database calls do, for the interpreter (:mod:`scalelint.model.flow.interpret`):
SQL text on a handle, Django manager chains, SQLAlchemy queries, statements
and session writes, instance saves; each recorded as an origin (a read) or a
write, with the handle labels that decide replica or primary."""
from __future__ import annotations

import libcst as cst

from scalelint.model import catalog, dbops
from scalelint.model.flow.dataflow import (
    ALL_EXISTS, ALL_VALUE, AS_IS, CALL, COMPUTE, EMPTY, HANDLE, ID_FIELD, LOCK, LOCKED, NEW, ORIGIN, PARAM, REF,
    ROW, ROWS, VALUE, Label, Origin, State, Write, field_op, is_replica, label_key, reshape,
)
from scalelint.model.dbops import Step, is_class_name, positional
from scalelint.model.entities import entity_name
from scalelint.core.walk import dotted


class DbCalls:
    """Database-call handling mixed into the interpreter (it relies on the
    interpreter's ``eval``, ``args_labels``, ``callee_of``, ``site`` and state)."""

    # -- method calls ---------------------------------------------------------------------
    def method(self, labels, root, steps: list[Step], i: int, st: State) -> tuple[frozenset[Label], int]:
        step = steps[i]
        call = step.call
        assert call is not None
        name = step.name
        receiver = call.func.value  # type: ignore[attr-defined]
        args = positional(call)
        if name in catalog.SQL_CALL_METHODS and args:
            if self.out is not None and dbops.sql_takes_lock(args[0], self.model, self.strings):
                self.out.locks.add("*")
            text = dbops.sql_text(args[0], self.model, self.strings)
            if text is not None:
                return self._sql_call(call, text, labels, receiver, st), i + 1
        if name == catalog.SA_QUERY_ATTRIBUTE and args and dbops.first_class(args[0]):
            return self.sa_query(steps, i + 1, dbops.first_class(args[0]) or "", labels, call, st, first=call)
        if name in catalog.SA_GET_METHODS and len(args) >= 2 and is_class_name(dotted(args[0])):
            self.args_labels(call, st)
            model = dotted(args[0]) or ""
            model = model.rsplit(".", 1)[-1]
            return self.origin(call, model, "sqlalchemy", ROW, labels, st, keyed=True,
                               entity=entity_name(model)), i + 1
        if name in catalog.SA_EXECUTE_METHODS and args:
            stmt_expr = args[0]
            if isinstance(stmt_expr, cst.Name) and stmt_expr.value in self.strings:
                stmt_expr = self.strings[stmt_expr.value]
            statement = dbops.sa_statement(stmt_expr, self.model)
            if statement is not None:
                return self._sa_execute(call, statement, labels, st), i + 1
        sessionish = (name in catalog.SA_FLUSH_METHODS or name in catalog.SA_INSTANCE_WRITES) and self._session(receiver)
        if sessionish and name in catalog.SA_FLUSH_METHODS:
            self.flushes = True
            self.pending.flush(st.unique, st.branch)
        arg_labels = [self.eval(a.value, st) for a in call.args]
        all_args = frozenset().union(*arg_labels) if arg_labels else EMPTY
        if sessionish and name in catalog.SA_INSTANCE_WRITES and args:
            entity = self._model_of(arg_labels[0])
            if entity is not None:
                verb = catalog.SA_INSTANCE_WRITES[name]
                if verb == "save" and _new_instance(arg_labels[0]):
                    verb = "insert"
                self.write(call, verb, entity_name(entity), f"session.{name}({entity})", st,
                           subject=arg_labels[0] if verb != "delete" else EMPTY, handles=labels,
                           pending=verb != "delete")
                return EMPTY, i + 1
        if name in catalog.INSTANCE_SAVE_METHODS or name in catalog.INSTANCE_DELETE_METHODS:
            entity = self._model_of(labels, instance=True)
            param = isinstance(receiver, cst.Name) and any(
                l.kind == PARAM and l.ref == receiver.value for l in labels
            )
            if (entity is not None or param) and not self._saving_self(receiver):
                save = name in catalog.INSTANCE_SAVE_METHODS
                what = f"{entity or dotted(receiver)}.{name}()"
                verb = ("insert" if _new_instance(labels) else "save") if save else "delete"
                fetched = self._django_origin(labels)
                self.write(call, verb, entity_name(entity) if entity else None,
                           what, st, subject=labels if save else EMPTY,
                           data=self._kw(call, st, "update_fields") if save else EMPTY,
                           target=fetched.key if fetched is not None else None)
                return EMPTY, i + 1
        if name in catalog.DJANGO_WRITE_VERBS:
            origin = self._django_origin(labels)
            if origin is not None:
                self._django_write(call, name, origin.spelled, origin.rechecks, labels, st)
                return EMPTY, i + 1
        named = EMPTY
        if self.name_role(name) == "replica":
            named = frozenset({self._handle(call.func, dotted(call.func) or name, st)})
        callee = self.callee_of(call.func)
        if callee is not None:
            return self.site(call, callee, dotted(call.func) or name, st) | named, i + 1
        if name in catalog.CONTAINER_MUTATORS and isinstance(receiver, cst.Name):
            st.env[receiver.value] = st.env.get(receiver.value, EMPTY) | all_args
        return self._generic_method(labels, name, call, all_args) | named, i + 1

    def _session(self, receiver: cst.BaseExpression) -> bool:
        """An ORM session: named so (``db.session``), or one the catalog recognises."""
        if "session" in (dotted(receiver) or "").lower():
            return True
        resource = self.fn.resource_of(receiver) if self.fn is not None else None
        if resource is None and isinstance(receiver, cst.Name):
            if receiver.value in self.session_params:
                return True
            resource = catalog.CALL_RESULTS.get(self.annotations.get(receiver.value, ""))
        return resource is not None and resource.kind == "session"

    def _generic_method(self, labels, name: str, call: cst.Call, args: frozenset[Label]) -> frozenset[Label]:
        if name in catalog.ROW_LOCK_METHODS:
            if self.out is not None:
                self.out.locks.add("*")
            return reshape(labels, LOCK)
        if name in catalog.DJANGO_EXISTS_METHODS:
            return reshape(labels, ALL_EXISTS)
        if name in catalog.DJANGO_VALUE_METHODS or name in catalog.SA_VALUE_METHODS:
            return reshape(labels, ALL_VALUE)
        first = positional(call)[:1]
        text = dbops.short_literal(first[0]) if name == "get" and first else None
        if text is not None:
            return reshape(labels, field_op(text), text)
        if name in catalog.DJANGO_VALUES_METHODS and labels and positional(call) and all(
            dbops.is_identity(dbops.short_literal(a)) for a in positional(call)
        ):
            return reshape(labels, ID_FIELD)
        if name in catalog.DJANGO_ROW_METHODS:
            return reshape(labels, ROWS)  # a narrower query: its arguments are criteria, not data
        return labels | reshape(args, REF)

    def _kw(self, call: cst.Call, st: State, skip: str) -> frozenset[Label]:
        out = EMPTY
        for a in call.args:
            if a.keyword is not None and a.keyword.value != skip:
                out |= self.eval(a.value, st)
        return out

    def _saving_self(self, receiver: cst.BaseExpression) -> bool:
        return isinstance(receiver, cst.Name) and receiver.value == "self"

    def _model_of(self, labels: frozenset[Label], instance: bool = False) -> str | None:
        """The model an instance value belongs to: ``Model(...)``, or a row fetched
        through the ORM (through Django's only, for ``instance.save()``). A value
        that may be one of several rows is the latest read (the same on every run:
        label sets are unordered)."""
        kinds = ("django",) if instance else ("django", "sqlalchemy")
        for label in sorted(labels, key=_label_order):
            if label.kind == NEW and label.shape == AS_IS:
                return label.ref
            if label.kind == ORIGIN and label.shape == AS_IS:
                origin = self.b.flow.origins.get(label.ref)
                if origin is not None and origin.kind in kinds and origin.spelled != "model":
                    return origin.spelled
        return None

    def _django_origin(self, labels: frozenset[Label]) -> Origin | None:
        """The Django row a value is (the latest read, as in :meth:`_model_of`)."""
        for label in sorted(labels, key=_label_order):
            if label.kind == ORIGIN and label.shape == AS_IS:
                origin = self.b.flow.origins.get(label.ref)
                if origin is not None and origin.kind == "django":
                    return origin
        return None

    # -- SQL text -----------------------------------------------------------------------
    def _sql_call(self, call: cst.Call, text: dbops.SqlText, receiver_labels, receiver, st: State) -> frozenset[Label]:
        info = text.info
        params = EMPTY
        for a in call.args[1:]:
            params |= self.eval(a.value, st)
        for hole in text.holes:
            params |= self.eval(hole, st)
        if info.is_write:
            upsert = info.upsert
            self.write(call, info.verb, entity_name(info.table), f"{info.verb.upper()} {info.table}", st,
                       data=reshape(params, COMPUTE), rechecks=dbops.sql_rechecks(info),
                       relative=dbops.sql_relative(info), upsert=upsert, handles=receiver_labels)
            return EMPTY
        labels = self._sql_read(call, text, receiver_labels, st)
        if isinstance(receiver, cst.Name) and receiver.value in st.env:
            st.env[receiver.value] = st.env[receiver.value] | labels
        return labels

    def _sql_read(self, call: cst.Call, text: dbops.SqlText, handle_labels, st: State) -> frozenset[Label]:
        info = text.info
        columns = dbops.sql_columns(info)
        column = columns[0] if len(columns) == 1 and columns[0] not in ("*", "?") else None
        if columns and all(dbops.is_identity(c) for c in columns):
            column = columns[0]  # an identifier: what it holds is identity, not state
        return self.origin(call, info.table, "sql", _column_shape(column), handle_labels, st, locked=info.locks,
                           column=column,
                           entity=entity_name(info.table), keyed=dbops.sql_keyed(info),
                           aggregate=dbops.sql_aggregates(info))

    # -- Django --------------------------------------------------------------------------
    def django(self, root, steps: list[Step], manager: int, st: State) -> tuple[frozenset[Label], int]:
        model = (dbops.spelled_prefix(root, steps, manager) or "").rsplit(".", 1)[-1]
        if model.lower() == "model":
            model = "model"
        handles = EMPTY
        locked = rechecks = keyed = aggregate = False
        lookup: tuple[str, ...] = ()
        constant: bool | None = None  # no filter yet
        i = manager + 1
        last_call: cst.Call | None = None
        shape_op = AS_IS
        while i < len(steps) and steps[i].call is not None:
            step = steps[i]
            call = step.call
            assert call is not None
            if step.name in catalog.DJANGO_WRITE_VERBS:
                self._django_write(call, step.name, model, rechecks, handles, st)
                upsert = catalog.DJANGO_WRITE_VERBS[step.name] == "upsert"
                return (self._created(call, model, st) if upsert else EMPTY), i + 1
            labels = self.args_labels(call, st)
            if step.name in catalog.DJANGO_ALIAS_METHODS:
                handles = frozenset(l for l in labels if l.kind in (HANDLE, PARAM, CALL))
            elif step.name in catalog.ROW_LOCK_METHODS:
                locked = True
            elif step.name in catalog.DJANGO_FILTER_METHODS:
                rechecks = rechecks or dbops.lookups_recheck(call)
                keyed = keyed or dbops.lookups_keyed(call)
                lookup += dbops.equality_fields(call) + dbops.literal_conditions(call)
                constant = constant is not False and dbops.constant_filter(call)
            elif step.name in catalog.DJANGO_ANNOTATE_METHODS:
                aggregate = aggregate or dbops.own_aggregate(call)
            if step.name in catalog.DJANGO_VALUE_METHODS:
                shape_op = ALL_VALUE
            elif step.name in catalog.DJANGO_EXISTS_METHODS:
                shape_op = ALL_EXISTS
            elif step.name in catalog.DJANGO_VALUES_METHODS and positional(call) and all(
                dbops.is_identity(dbops.short_literal(a)) for a in positional(call)
            ):
                shape_op = ID_FIELD
            last_call = call
            i += 1
        node = last_call if last_call is not None else steps[manager].node
        if lookup:
            lookup += (f"{dbops.MANAGER_MARK}{steps[manager].name}",)
        labels = self.origin(node, model, "django", ROW, handles, st, locked=locked, rechecks=rechecks,
                             entity=entity_name(model) if model != "model" else None, keyed=keyed,
                             lookup=lookup, constant=bool(constant), aggregate=aggregate)
        return reshape(labels, shape_op), i

    def _django_write(self, call: cst.Call, method: str, model: str, rechecks: bool, handles, st: State) -> None:
        verb = catalog.DJANGO_WRITE_VERBS[method]
        kw = dbops.keywords(call)
        data = EMPTY
        for name, value in kw.items():
            if name in catalog.DJANGO_UPSERT_DEFAULTS and isinstance(value, cst.Dict):
                data |= reshape(self.eval(value, st), REF)
            elif not (verb == "upsert" and name not in catalog.DJANGO_UPSERT_DEFAULTS):
                data |= reshape(self.eval(value, st), REF)
        subject = EMPTY
        args = positional(call)
        if method in catalog.DJANGO_INSTANCE_LIST_WRITES and args:
            subject = self.eval(args[0], st)
        elif args:
            data |= reshape(self.eval(args[0], st), REF)
        relative = any(dbops.uses_db_expression(v, self.model) for v in kw.values())
        if verb == "update" and method not in catalog.DJANGO_INSTANCE_LIST_WRITES:
            what = f"{model}.objects.update()"
        else:
            what = f"{model}.objects.{method}()"
        upsert = verb == "upsert" or any(
            dbops.literal_truth(kw.get(name)) for name in catalog.DJANGO_CONFLICT_KEYWORDS
        )  # ``bulk_create(..., update_conflicts=True)``
        self.write(call, "upsert" if verb == "upsert" else verb, entity_name(model) if model != "model" else None,
                   what, st, data=data, subject=subject, rechecks=rechecks and verb in ("update", "delete"),
                   relative=relative, upsert=upsert, handles=handles)

    def _created(self, call: cst.Call, model: str, st: State) -> frozenset[Label]:
        return self.origin(call, model, "django", ROW, EMPTY, st, entity=entity_name(model), record_event=False)

    # -- SQLAlchemy ----------------------------------------------------------------------
    def sa_query(self, steps: list[Step], start: int, model: str, handles, node, st: State,
                 first: cst.Call | None = None) -> tuple[frozenset[Label], int]:
        if first is not None:
            self.args_labels(first, st)
        locked = rechecks = keyed = False
        lookup: tuple[str, ...] = ()
        constant: bool | None = None  # no filter yet
        shape_op = AS_IS
        i = start
        last: cst.BaseExpression = first if first is not None else node
        while i < len(steps) and steps[i].call is not None:
            step = steps[i]
            call = step.call
            assert call is not None
            if step.name in catalog.SA_QUERY_WRITES:
                data = self.args_labels(call, st)
                relative = any(dbops.mentions_class_attribute(a.value, model) for a in call.args)
                self.write(call, step.name, entity_name(model), f"{model} query.{step.name}()", st,
                           data=reshape(data, COMPUTE), rechecks=rechecks, relative=relative, handles=handles)
                return EMPTY, i + 1
            self.args_labels(call, st)
            if step.name in catalog.ROW_LOCK_METHODS:
                locked = True
            elif step.name in catalog.SA_FILTER_METHODS:
                rechecks = rechecks or dbops.sa_criteria_recheck(call)
                keyed = keyed or dbops.lookups_keyed(call)
                lookup += dbops.equality_fields(call)
                constant = constant is not False and dbops.constant_filter(call)
            elif step.name in catalog.SA_VALUE_METHODS:
                shape_op = ALL_VALUE
            elif step.name in catalog.SA_EXISTS_METHODS:
                shape_op = ALL_EXISTS
            last = call
            i += 1
        labels = self.origin(last, model, "sqlalchemy", ROW, handles, st, locked=locked, rechecks=rechecks,
                             entity=entity_name(model), keyed=keyed, lookup=lookup, constant=bool(constant))
        return reshape(labels, shape_op), i

    def _sa_execute(self, call: cst.Call, statement: dbops.SaStatement, handles, st: State) -> frozenset[Label]:
        self.args_labels(call, st)
        model = statement.entity or "?"
        entity = entity_name(statement.entity) if statement.entity else None
        if statement.verb == "select":
            return self.origin(call, model, "sqlalchemy", _column_shape(statement.column), handles, st,
                               locked=statement.locked,
                               rechecks=statement.rechecks, entity=entity, column=statement.column,
                               keyed=statement.keyed, constant=statement.constant)
        data = EMPTY
        for value in statement.values:
            data |= self.eval(value, st)
        self.write(call, statement.verb, entity, f"{statement.verb}({model})", st, data=reshape(data, COMPUTE),
                   rechecks=statement.rechecks and statement.verb != "insert", relative=statement.relative,
                   upsert=statement.upsert, handles=handles)
        return EMPTY

    # -- records ------------------------------------------------------------------------
    def origin(self, node: cst.CSTNode, spelled: str, kind: str, shape: str, handle_labels, st: State, *,
               locked: bool = False, rechecks: bool = False, column: str | None = None,
               entity: str | None = None, record_event: bool = True, keyed: bool = False,
               lookup: tuple[str, ...] = (), constant: bool = False,
               aggregate: bool = False) -> frozenset[Label]:
        key, new = self.b.key_for("o", node)
        if locked:
            shape = LOCKED
        # label sets are unordered: sort so the handle a fix swaps (and the vias kept)
        # do not depend on the interpreter's hash seed
        ordered = sorted(handle_labels, key=_label_order)
        replicas = [l for l in ordered if l.kind == HANDLE and l.replica]
        vias = [l for l in ordered if l.kind in (PARAM, CALL)][:2]
        out: set[Label] = set()
        for h in replicas:
            out.add(Label(ORIGIN, key, replica=True, guard=h.guard))
        unguarded = next((h for h in replicas if not h.guard), None)
        if unguarded is None:
            primary_guard: frozenset[tuple[str, bool]] = frozenset()
            if len(replicas) == 1 and len(replicas[0].guard) == 1:
                (p, b), = replicas[0].guard
                primary_guard = frozenset({(p, not b)})
            for via in vias:
                out.add(Label(ORIGIN, key, guard=primary_guard, via=via._replace(shape=AS_IS, field=None)))
            if not vias:
                out.add(Label(ORIGIN, key, guard=primary_guard))
        if new:
            self.b.flow.origins[key] = Origin(
                key, entity, spelled, kind, shape, locked, rechecks, column, keyed=keyed,
                lookup=tuple(sorted(set(lookup))), constant=constant, aggregate=aggregate,
                handle=unguarded.ref if unguarded is not None else None, node=node, anchor=self.anchor,
            )
        if locked and entity and self.out is not None:
            self.out.locks.add(entity)
        labels = frozenset(out)
        self.produced.append(labels)
        if record_event:
            self._record("r", key, labels, st)
        return labels

    def write(self, node: cst.CSTNode, verb: str, entity: str | None, what: str, st: State, *,
              data: frozenset[Label] = EMPTY, subject: frozenset[Label] = EMPTY, rechecks: bool = False,
              relative: bool = False, upsert: bool = False, handles: frozenset[Label] = EMPTY,
              needs_flush: bool = False, target: str | None = None, pending: bool = False) -> None:
        """Record a write; ``pending``: a session insert that runs at the next flush."""
        if self.out is None or is_replica(self._write_handles(handles), unguarded=True):
            return  # not a write to the primary (or at import time)
        key, new = self.b.key_for("w", node)
        existing = self.b.flow.writes.get(key)
        if existing is not None:
            existing.data |= data
            existing.subject |= subject
            existing.ctl = tuple(dict.fromkeys(existing.ctl + st.ctl))
            return
        self.b.flow.writes[key] = Write(key, verb, entity, what, rechecks, relative, upsert, st.unique, data,
                                        subject, st.ctl, needs_flush, node, anchor=self.anchor, target=target)
        self.out.writes.append(key)
        if pending:
            self.pending.add(key, st.branch)
        else:
            self.pending.may_flush(st.unique)  # a statement sent now autoflushes the session
        self._record("w", key, EMPTY, st)

    def _write_handles(self, handles: frozenset[Label]) -> frozenset[Label]:
        """The handles a write goes through, less routing sessions (they send writes to the primary)."""
        routing = self.b.flow.handles
        return frozenset(
            l for l in handles if not (l.kind == HANDLE and l.ref in routing and routing[l.ref].routes_writes)
        )

    def _record(self, kind: str, key: str, labels: frozenset[Label], st: State) -> None:
        if self.out is None:
            return
        if kind != "w":
            self.pending.may_flush(st.unique)  # a query autoflushes; a call may commit
        if not any(e[1] == key for e in self.out.events[-50:]):
            self.out.events.append((kind, key, labels, st.branch))
        if kind == "c" and self.out is not None and key not in self.out.sites:
            self.out.sites.append(key)


def _column_shape(column: str | None) -> str:
    """A read of one non-key column yields that value; anything else yields rows."""
    return VALUE if column is not None and column not in ("*", "?") and not dbops.is_identity(column) else ROW


def _new_instance(labels: frozenset[Label]) -> bool:
    """``Model(...)`` not yet saved (its save is an INSERT), not a fetched row."""
    return any(l.kind == NEW for l in labels) and not any(l.kind == ORIGIN and l.shape == AS_IS for l in labels)


def _label_order(label: Label) -> tuple[int, str]:
    """Latest-created first (the handle nearest the read), then by name."""
    number = label.ref.rpartition("#")[2].lstrip("abcdefghijklmnopqrstuvwxyz")
    return (-int(number) if number.isdigit() else 0, label_key(label))
