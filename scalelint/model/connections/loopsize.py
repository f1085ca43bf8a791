"""What makes a loop's query not an N+1 (SL104): a loop whose size is fixed in
the code, and a query whose shape changes each round.

A loop over data the code itself fixes (literals, module constants, enum
members, configuration lists, the command line, schema objects such as
``metadata.sorted_tables``, the fields a form or serializer declares, what a
model field class was declared with) runs a bounded number of rounds whatever the
traffic. A query whose model or filtered column changes each round (``for
model in models: session.query(model)``, ``getattr(Model, field) == value``)
reads a different table or column each time (so does ``filter(**lookups)``
when the loop adds a lookup in some rounds only): there is no single query to
batch it into. And a query that runs at most once however many rounds the loop
makes (in a branch that leaves the loop), that locks each row in a
transaction of its own round (per-row locking on purpose), or that runs in a
loop whose every round records a form error, or after a statement that logs a
failure at error level (the error path), or in a loop
whose body pages through each round's rows in batches (item by item on
purpose), is no N+1 either.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

import libcst as cst

from scalelint.core.walk import dotted, small_statements, walk
from scalelint.model import catalog
from scalelint.model.connections.work import work_of

if TYPE_CHECKING:
    from scalelint.model.function import FunctionModel, Stmt

Values = dict[str, list[cst.BaseExpression]]
#: how many local names a fixed-size check follows (``names = ROLES; for r in names``)
_MAX_DEPTH = 4
_WRAPPERS = frozenset({"enumerate", "sorted", "reversed", "zip", "list", "tuple", "set", "frozenset", "iter"})
_MAPPING_VIEWS = frozenset({"items", "keys", "values"})
#: growing methods that add a whole collection (the others add one item)
_WHOLE_COLLECTION_MUTATORS = frozenset({"extend", "update"})


def fixed_size(iterable: cst.BaseExpression, fn: "FunctionModel", local: Values, depth: int = 0) -> bool:
    """Whether the code itself fixes how many items ``iterable`` has."""
    if depth > _MAX_DEPTH:
        return False
    if isinstance(iterable, (cst.List, cst.Tuple, cst.Set, cst.Dict)):  # written out by hand, unless unpacked
        return not any(isinstance(e, (cst.StarredElement, cst.StarredDictElement)) for e in iterable.elements)
    if isinstance(iterable, (cst.SimpleString, cst.ConcatenatedString)):
        return True
    if isinstance(iterable, (cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp)):
        return fixed_size(iterable.for_in.iter, fn, local, depth + 1)  # filtered or mapped: no bigger
    if isinstance(iterable, cst.Name):
        return _fixed_name(iterable.value, fn, local, depth)
    if isinstance(iterable, cst.IfExp):  # ``x if type(x) is list else [x]``
        return all(fixed_size(branch, fn, local, depth + 1) for branch in (iterable.body, iterable.orelse))
    if _configuration(iterable) or _schema_objects(iterable) or _command_line(iterable, fn, local):
        return True
    if isinstance(iterable, cst.Attribute):
        if iterable.attr.value.isupper() or iterable.attr.value == "__members__":
            return True  # a constant, an enum's members
        return _fixed_instance_attribute(iterable, fn, depth) or _fixed_property(iterable.attr.value, fn, depth)
    if isinstance(iterable, cst.Subscript):
        return isinstance(iterable.value, cst.Name) and iterable.value.value == "sys" or _configuration(iterable.value)
    if isinstance(iterable, cst.Call):
        return _fixed_call(iterable, fn, local, depth)
    return False


def _fixed_name(name: str, fn: "FunctionModel", local: Values, depth: int) -> bool:
    if (name.isupper() and len(name) > 1) or (name[:1].isupper() and name not in local):
        return True  # a module constant, or an Enum class
    if name.lower() in catalog.CONFIG_NAMES:
        return True
    values = local.get(name)
    if values is None:
        if name in param_names(fn):
            return False
        value = fn.module.global_values.get(name)
        values = [value] if value is not None else []
    elif not _growth_bounded(name, fn, local, depth):
        return False  # ``names = []`` filled by ``names.append(row.name)`` in a loop over rows
    return bool(values) and all(fixed_size(v, fn, local, depth + 1) for v in values)


def _growth_bounded(name: str, fn: "FunctionModel", local: Values, depth: int) -> bool:
    """Every place the function grows the local collection ``name``
    (``name.append(x)``, ``name.extend(xs)``, ``name[key] = x``) adds a bounded
    number of items: one item (or a fixed-size ``extend``/``update``) outside
    loops, in loops over fixed-size collections, or only for items whose key is
    one of a fixed set (``if data["name"] in TEMPLATE_FIELDS: found.append(data)``:
    one item per known key)."""
    for stmt, added in growths(fn).get(name, ()):
        if added is not None and not fixed_size(added, fn, local, depth + 1):
            return False
        for at, (kind, node) in enumerate(stmt.context):
            if kind != "loop" or (isinstance(node, cst.For) and fixed_size(node.iter, fn, local, depth + 1)):
                continue
            if not _keyed_by_fixed_set(stmt, stmt.context[at + 1 :], fn, local, depth):
                return False
    return True


def _keyed_by_fixed_set(
    stmt: "Stmt", inner: tuple[tuple[str, cst.CSTNode], ...], fn: "FunctionModel", local: Values, depth: int
) -> bool:
    """``stmt`` sits in the body (not the ``else``) of an ``if`` that tests
    membership in a fixed-size collection (``if key in KNOWN:``, also as one
    operand of ``and``)."""
    return any(
        kind == "if"
        and isinstance(node, cst.If)
        and _tests_fixed_membership(node.test, fn, local, depth)
        and any(sub is stmt.node for sub in walk(node.body))
        for kind, node in inner
    )


def _tests_fixed_membership(test: cst.BaseExpression, fn: "FunctionModel", local: Values, depth: int) -> bool:
    if isinstance(test, cst.BooleanOperation) and isinstance(test.operator, cst.And):
        return any(_tests_fixed_membership(side, fn, local, depth) for side in (test.left, test.right))
    return isinstance(test, cst.Comparison) and any(
        isinstance(c.operator, cst.In) and fixed_size(c.comparator, fn, local, depth + 1) for c in test.comparisons
    )


def growths(fn: "FunctionModel") -> dict[str, list[tuple["Stmt", cst.BaseExpression | None]]]:
    """name -> (statement, what it adds when a whole collection, else None) for each
    statement growing a local collection in place."""

    def build() -> dict[str, list[tuple["Stmt", cst.BaseExpression | None]]]:
        out: dict[str, list[tuple["Stmt", cst.BaseExpression | None]]] = {}
        for stmt in fn.stmts:
            if not isinstance(stmt.node, cst.SimpleStatementLine):
                continue
            for small in stmt.node.body:
                for name, added in _grown(small):
                    out.setdefault(name, []).append((stmt, added))
        return out

    return fn.module.derived(f"loop-growths:{id(fn.node)}", build)


def _grown(small: cst.BaseSmallStatement) -> Iterator[tuple[str, cst.BaseExpression | None]]:
    if isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
        func = small.value.func
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and (
            func.attr.value in catalog.CONTAINER_MUTATORS
        ):
            args = small.value.args
            whole = func.attr.value in _WHOLE_COLLECTION_MUTATORS
            yield func.value.value, (args[0].value if whole and args and args[0].keyword is None else None)
    elif isinstance(small, (cst.Assign, cst.AnnAssign)):
        targets = [t.target for t in small.targets] if isinstance(small, cst.Assign) else [small.target]
        for target in targets:
            if isinstance(target, cst.Subscript) and isinstance(target.value, cst.Name):
                yield target.value.value, None


def _fixed_instance_attribute(attribute: cst.Attribute, fn: "FunctionModel", depth: int) -> bool:
    """``self.personal_items`` where the class only ever assigns it fixed-size
    values (``self.personal_items = ('title', 'email')``), or, on a model field
    class, what its constructor was given (``self.parent_role = parent_role``):
    a field is built where a model declares it, so that is written in the model code."""
    if not (isinstance(attribute.value, cst.Name) and attribute.value.value == "self" and fn.cls is not None):
        return False
    values = instance_values(fn).get(attribute.attr.value)
    declared = _constructor_params(fn.cls.node) if _model_field_class(fn.cls.bases) else set()
    return bool(values) and all(
        (isinstance(v, cst.Name) and v.value in declared) or fixed_size(v, fn, {}, depth + 1) for v in values
    )


def _fixed_property(name: str, fn: "FunctionModel", depth: int) -> bool:
    """``item.reads`` where the module's classes define ``reads`` only as a property
    whose every ``return`` gives a fixed-size value (``return [ReadThrough(start,
    end)]``, ``return []``): what it builds from one object's fields, whatever object
    it is read on. A class of the module that binds ``reads`` otherwise (a field, a
    relation, an assignment) leaves it unknown."""
    found = _module_properties(fn).get(name)
    if not found:
        return False
    for prop in found:
        if prop is None:
            return False
        returns = [node.value for node in walk(prop.node.body, into_functions=False) if isinstance(node, cst.Return)]
        local = local_values(prop)
        if not returns or not all(value is not None and fixed_size(value, prop, local, depth + 1) for value in returns):
            return False
    return True


def _module_properties(fn: "FunctionModel") -> dict[str, list["FunctionModel | None"]]:
    """Attribute name -> the module's properties of that name (None for a class
    that binds the name some other way: a class attribute, a plain method)."""

    def build() -> dict[str, list["FunctionModel | None"]]:
        out: dict[str, list["FunctionModel | None"]] = {}
        for other in fn.module.functions:
            if other.cls is None or not any(line is other.node for line in other.cls.node.body.body):
                continue
            is_property = any(
                (dotted(d.decorator) or "").rsplit(".", 1)[-1] in catalog.PROPERTY_DECORATORS
                for d in other.node.decorators
            )
            out.setdefault(other.name, []).append(other if is_property else None)
        for cls in fn.module.classes:
            for line in cls.node.body.body:
                for small in line.body if isinstance(line, cst.SimpleStatementLine) else ():
                    for target, _ in _bindings(small):
                        if isinstance(target, cst.Name) and target.value in out:
                            out[target.value].append(None)
        return out

    return fn.module.derived("loop-properties", build)


def _model_field_class(bases: list[str]) -> bool:
    """A subclass of a model field class (``models.ForeignKey``, ``models.Field``)."""
    return any(
        base.startswith(tuple(f"{root}." for root in catalog.MODEL_FIELD_ROOTS))
        and base.rsplit(".", 1)[-1].endswith(catalog.MODEL_FIELD_SUFFIXES)
        for base in bases
    )


def _constructor_params(cls: cst.ClassDef) -> set[str]:
    """The named parameters of the class's own ``__init__`` (not ``*args``/``**kwargs``)."""
    for line in cls.body.body:
        if isinstance(line, cst.FunctionDef) and line.name.value == "__init__":
            params = line.params
            return {p.name.value for p in (*params.posonly_params, *params.params, *params.kwonly_params)} - {"self"}
    return set()


def instance_values(fn: "FunctionModel") -> Values:
    """Every value the enclosing class assigns to each ``self.<name>`` (and to each
    name of its body); a name bound any other way (``+=``, a loop target) gets a
    placeholder that is never fixed-size."""
    info = fn.cls
    assert info is not None

    def build() -> Values:
        out: Values = {}
        for line in info.node.body.body:  # class attributes, read through ``self``
            for small in line.body if isinstance(line, cst.SimpleStatementLine) else ():
                for target, value in _bindings(small):
                    if isinstance(target, cst.Name):
                        out.setdefault(target.value, []).append(value)
        for small in small_statements(info.node.body.body):
            for target, value in _bindings(small):
                if _self_attribute(target):
                    out.setdefault(_self_attribute(target), []).append(value)
        return out

    return fn.module.derived(f"instance-values:{id(info.node)}", build)


def _bindings(small: cst.BaseSmallStatement) -> list[tuple[cst.BaseExpression, cst.BaseExpression]]:
    """(target, value) of an assignment; a value that cannot be read is a placeholder."""
    unknown = cst.Call(cst.Name("unknown"))
    if isinstance(small, cst.Assign):
        return [(t.target, small.value) for t in small.targets]
    if isinstance(small, cst.AnnAssign):
        return [(small.target, small.value if small.value is not None else unknown)]
    if isinstance(small, cst.AugAssign):
        return [(small.target, unknown)]
    return []


def _self_attribute(target: cst.BaseExpression) -> str:
    if isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) and target.value.value == "self":
        return target.attr.value
    return ""


def _fixed_call(call: cst.Call, fn: "FunctionModel", local: Values, depth: int) -> bool:
    func = dotted(call.func)
    if func == "range":
        return all(isinstance(a.value, cst.Integer) and int(a.value.value, 0) <= catalog.SMALL_RANGE for a in call.args)
    if func in _WRAPPERS and call.args:
        return all(fixed_size(a.value, fn, local, depth + 1) for a in call.args if a.keyword is None)
    if isinstance(call.func, cst.Attribute) and call.func.attr.value in _MAPPING_VIEWS:
        return _declared_fields(call.func.value) or fixed_size(call.func.value, fn, local, depth + 1)
    return False


def _declared_fields(expr: cst.BaseExpression) -> bool:
    """``serializer.validated_data`` / ``form.cleaned_data`` (or a name so called): one key
    per field the class declares. Only through a mapping view: iterated directly,
    ``validated_data`` of a ``many=True`` serializer is a list of request rows."""
    if isinstance(expr, cst.Attribute):
        return expr.attr.value in catalog.DECLARED_FIELD_MAPPINGS
    return isinstance(expr, cst.Name) and expr.value in catalog.DECLARED_FIELD_MAPPINGS


def _configuration(expr: cst.BaseExpression) -> bool:
    """``settings.PLUGINS``, ``current_app.config["BACKENDS"]``, ``config.get("hosts")``."""
    while isinstance(expr, (cst.Call, cst.Subscript)):
        expr = expr.func if isinstance(expr, cst.Call) else expr.value
    spelled = dotted(expr)
    return spelled is not None and any(part.lower() in catalog.CONFIG_NAMES for part in spelled.split("."))


def _schema_objects(expr: cst.BaseExpression) -> bool:
    """``metadata.sorted_tables``, ``Model._meta.fields``, ``apps.get_models()``, ``table.c``."""
    if isinstance(expr, cst.Call):
        func = expr.func
        return isinstance(func, cst.Attribute) and func.attr.value in catalog.SCHEMA_ITERABLE_METHODS
    if not isinstance(expr, cst.Attribute):
        return False
    owner = expr.value.attr.value if isinstance(expr.value, cst.Attribute) else getattr(expr.value, "value", None)
    attr = expr.attr.value
    return attr in catalog.SCHEMA_ITERABLE_ATTRS or (owner, attr) in catalog.SCHEMA_ITERABLE_OWNED_ATTRS


def _command_line(expr: cst.BaseExpression, fn: "FunctionModel", local: Values) -> bool:
    """``sys.argv[1:]``, or what ``parser.parse_args()`` returned (``args.ids``)."""
    while isinstance(expr, (cst.Subscript, cst.Attribute)):
        if dotted(expr) in catalog.CLI_ITERABLES:
            return True
        expr = expr.value
    if not isinstance(expr, cst.Name):
        return False
    values = local.get(expr.value, [])
    return bool(values) and all(
        isinstance(v, cst.Call) and isinstance(v.func, cst.Attribute) and v.func.attr.value in catalog.CLI_PARSE_METHODS
        for v in values
    )


def param_names(fn: "FunctionModel") -> set[str]:
    params = fn.node.params
    every = (*params.posonly_params, *params.params, *params.kwonly_params)
    star = [p for p in (params.star_arg, params.star_kwarg) if isinstance(p, cst.Param)]
    return {p.name.value for p in (*every, *star)}


# -- local names ---------------------------------------------------------------------------
def local_values(fn: FunctionModel) -> dict[str, list[cst.BaseExpression]]:
    """Every value assigned to each simple local name (a name bound any other
    way, such as a loop target, gets a Name placeholder that is not literal)."""
    out: dict[str, list[cst.BaseExpression]] = {}
    for stmt in fn.stmts:
        node = stmt.node
        if isinstance(node, cst.SimpleStatementLine):
            for small in node.body:
                if isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name):
                    out.setdefault(small.targets[0].target.value, []).append(small.value)
                    continue
                for name in assigned_names(cst.SimpleStatementLine(body=[small])):
                    out.setdefault(name, []).append(cst.Call(cst.Name("unknown")))
        elif isinstance(node, (cst.For, cst.With)):
            for name in assigned_names(node):
                out.setdefault(name, []).append(cst.Call(cst.Name("unknown")))
    return out


def target_names(target: cst.BaseExpression) -> Iterator[str]:
    for node in walk(target):
        if isinstance(node, cst.Name):
            yield node.value


def assigned_names(node: cst.BaseStatement) -> set[str]:
    out: set[str] = set()
    if isinstance(node, cst.SimpleStatementLine):
        for small in node.body:
            targets: list[cst.BaseExpression] = []
            if isinstance(small, cst.Assign):
                targets = [t.target for t in small.targets]
            elif isinstance(small, (cst.AnnAssign, cst.AugAssign)):
                targets = [small.target]
            for target in targets:
                if isinstance(target, (cst.Name, cst.Tuple, cst.List)):
                    out |= set(target_names(target))
    elif isinstance(node, cst.For):
        out |= set(target_names(node.target))
    elif isinstance(node, cst.With):
        for item in node.items:
            if item.asname is not None:
                out |= set(target_names(item.asname.name))
    for sub in walk(node, into_functions=False) if isinstance(node, cst.SimpleStatementLine) else ():
        if isinstance(sub, cst.NamedExpr):
            out |= set(target_names(sub.target))
    return out


# -- a query whose shape changes each round ----------------------------------------------
def shape_varies(query: cst.CSTNode, varying: frozenset[str]) -> bool:
    """The query reads another table or filters another column each round:
    ``session.query(model)``, ``select(model)``, ``getattr(Model, field)``,
    ``column.any(...)`` or ``column == value`` with ``column`` a loop value,
    ``filter(**{f"{field}__in": ids})``."""
    for node in walk(query, into_functions=False):
        if isinstance(node, cst.Call):
            if _varying_model(node, varying) or _varying_getattr(node, varying) or _varying_column_operator(node, varying):
                return True
            if any(_varying_keywords(arg, varying) for arg in node.args):
                return True
        elif isinstance(node, cst.Comparison) and _bare(node.left, varying):
            return True
    return False


def _bare(expr: cst.BaseExpression, varying: frozenset[str]) -> bool:
    return isinstance(expr, cst.Name) and expr.value in varying


def _varying_model(call: cst.Call, varying: frozenset[str]) -> bool:
    """``session.query(model)``, ``select(model)``, ``session.get(model_cls, pk)``:
    the first argument is a loop value named like a model or table."""
    func = call.func
    name = func.attr.value if isinstance(func, cst.Attribute) else getattr(func, "value", None)
    if name not in catalog.MODEL_TAKING_CALLS or not call.args or call.args[0].keyword is not None:
        return False
    first = call.args[0].value
    return _bare(first, varying) and _model_named(first.value)  # type: ignore[attr-defined]


def _model_named(name: str) -> bool:
    lowered = name.lower()
    return lowered in catalog.MODEL_VARIABLE_NAMES or lowered.endswith(catalog.MODEL_VARIABLE_SUFFIXES)


def _varying_getattr(call: cst.Call, varying: frozenset[str]) -> bool:
    """``getattr(Model, field)`` / ``getattr(model, "id")`` with a loop value."""
    return (
        isinstance(call.func, cst.Name)
        and call.func.value == "getattr"
        and any(_bare(a.value, varying) for a in call.args[:2])
    )


def _varying_column_operator(call: cst.Call, varying: frozenset[str]) -> bool:
    """``attr.any(...)``, ``column.in_(ids)`` with the column a loop value."""
    func = call.func
    return isinstance(func, cst.Attribute) and func.attr.value in catalog.SA_COLUMN_OPERATORS and _bare(func.value, varying)


def _varying_keywords(arg: cst.Arg, varying: frozenset[str]) -> bool:
    """``**{field: value}`` / ``**{f"{field}__in": ids}``: the lookup's field is a loop value."""
    if arg.star != "**" or not isinstance(arg.value, cst.Dict):
        return False
    for element in arg.value.elements:
        key = getattr(element, "key", None)
        if key is not None and any(isinstance(n, cst.Name) and n.value in varying for n in walk(key)):
            return True
    return False


def filters_differ(query: cst.CSTNode, loop: cst.CSTNode) -> bool:
    """The query's keyword filters (``filter(**lookups)``) come from a dict the
    loop body fills with a key only in some rounds (``if cut_off:
    lookups["created_at__gte"] = cut_off``): rounds filter different columns,
    so there is no single ``__in`` query to batch them into."""
    if not isinstance(loop, (cst.For, cst.While)):
        return False
    spread = {
        arg.value.value
        for node in walk(query, into_functions=False) if isinstance(node, cst.Call)
        for arg in node.args if arg.star == "**" and isinstance(arg.value, cst.Name)
    }
    return bool(spread) and any(_keys_set_conditionally(branch, spread) for branch in _branches(loop.body))


def _branches(body: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """The ``if`` statements of a loop body (not inside nested functions)."""
    for node in walk(body, into_functions=False):
        if isinstance(node, cst.If):
            yield node


def _keys_set_conditionally(branch: cst.CSTNode, names: set[str]) -> bool:
    """``names[<key>] = ...`` inside the branch."""
    for node in walk(branch, into_functions=False):
        if isinstance(node, (cst.Assign, cst.AnnAssign)):
            targets = [t.target for t in node.targets] if isinstance(node, cst.Assign) else [node.target]
            if any(
                isinstance(t, cst.Subscript) and isinstance(t.value, cst.Name) and t.value.value in names
                for t in targets
            ):
                return True
    return False


# -- a query that runs once, or once per row on purpose -----------------------------------
def runs_once(stmt: "Stmt", loop: cst.CSTNode, holders: dict[int, "Stmt"]) -> bool:
    """The query's statement sits in a block of ``loop``'s body that ends by leaving
    the loop (``return``, ``raise``, or a ``break`` of this loop) with no ``continue``
    on the way and no ``try`` around it: the query runs in one round at most
    (``for p in plugins: if p.id == wanted: ...query...; return``).
    ``holders``: :func:`statements_holding`."""
    context = stmt.context
    start = next((i for i, (kind, node) in enumerate(context) if kind == "loop" and node is loop), None)
    if start is None:
        return False
    inner = context[start + 1 :]
    for depth, (kind, node) in enumerate(inner):
        if kind == "try" and not _handlers_leave(node, not any(k == "loop" for k, _ in inner[:depth])):
            return False  # the query may raise into a handler that lets the loop go on
    members = [holders.get(id(node)) for _, node in inner] + [stmt]
    for depth, member in enumerate(members):
        if member is None:
            continue
        breaks_this_loop = not any(kind == "loop" for kind, _ in inner[:depth])
        if _block_leaves(member.block, member.index, breaks_this_loop):
            return True
    return False


def _handlers_leave(node: cst.CSTNode, breaks_this_loop: bool) -> bool:
    """Every handler of the ``try`` leaves the loop too (``except DoesNotExist: break``)
    and its ``finally`` does not go on: a query raising in its body ends the loop all the same."""
    handlers = getattr(node, "handlers", ())
    final = getattr(node, "finalbody", None)
    if not handlers or (final is not None and any(_continues(n) for n in final.body.body)):
        return False
    return all(_block_leaves(list(h.body.body), 0, breaks_this_loop) for h in handlers)


def handles_failure(stmt: "Stmt", loop: cst.CSTNode, holders: dict[int, "Stmt"]) -> bool:
    """The query's statement comes after a call that logs a failure at error level
    (``logger.error("worker %s is gone", w.pid)``) in its own block or in a block
    enclosing it inside ``loop``'s body: it runs only in rounds that handle a
    failure (a dead worker, a broken item), the error path, not traffic.
    ``holders``: :func:`statements_holding`."""
    context = stmt.context
    start = next((i for i, (kind, node) in enumerate(context) if kind == "loop" and node is loop), None)
    if start is None:
        return False
    members = [holders.get(id(node)) for _, node in context[start + 1 :]] + [stmt]
    return any(
        member is not None and any(_logs_failure(line) for line in member.block[: member.index])
        for member in members
    )


def _logs_failure(line: cst.BaseStatement) -> bool:
    """``logger.error(...)`` / ``log.exception(...)`` as a statement of its own."""
    if not isinstance(line, cst.SimpleStatementLine):
        return False
    for small in line.body:
        call = small.value if isinstance(small, cst.Expr) else None
        if not (isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute)):
            continue
        receiver = dotted(call.func.value) or ""
        head = receiver.rsplit(".", 1)[-1]
        if call.func.attr.value in catalog.ERROR_LOG_METHODS and (
            head in catalog.LOGGER_NAMES or head.lower().endswith(("logger", "log"))
        ):
            return True
    return False


def reports_error_each_round(loop: cst.CSTNode) -> bool:
    """Every round of the ``for`` loop records a form error (``self.add_error(...)``
    directly in its body, no ``continue``): it runs only for an invalid
    submission, once per error shown to its user (the error path, not traffic)."""
    if not isinstance(loop, cst.For) or any(_continues(node) for node in loop.body.body):
        return False
    return any(
        isinstance(small, cst.Expr)
        and isinstance(small.value, cst.Call)
        and isinstance(small.value.func, cst.Attribute)
        and small.value.func.attr.value in catalog.FORM_ERROR_METHODS
        for line in loop.body.body
        if isinstance(line, cst.SimpleStatementLine)
        for small in line.body
    )


def pages_each_round(loop: cst.CSTNode) -> bool:
    """The loop's body pages through each round's rows in batches: an inner loop
    slices by a batch size (``while True: ids = qs[:batch_size] ...``). Each
    round's work is big enough to be batched on its own, so the loop goes item
    by item on purpose (one item's rows per transaction), and its few per-item
    queries are not what costs."""
    if not isinstance(loop, (cst.For, cst.While)):
        return False
    for node in walk(loop.body, into_functions=False):
        if isinstance(node, (cst.For, cst.While)) and _slices_by_batch(node):
            return True
    return False


def _slices_by_batch(inner: cst.CSTNode) -> bool:
    for node in walk(inner, into_functions=False):
        if isinstance(node, cst.Slice):
            for bound in (node.lower, node.upper):
                if bound is not None and any(
                    isinstance(n, cst.Name) and any(f in n.value.lower() for f in catalog.BATCH_NAME_FRAGMENTS)
                    for n in walk(bound)
                ):
                    return True
    return False


def statements_holding(fn: "FunctionModel") -> dict[int, "Stmt"]:
    """Each statement by its node, and each ``except`` handler or ``case`` by the
    statement it belongs to."""
    out: dict[int, "Stmt"] = {}
    for stmt in fn.stmts:
        out[id(stmt.node)] = stmt
        for part in (*getattr(stmt.node, "handlers", ()), *getattr(stmt.node, "cases", ())):
            out[id(part)] = stmt
    return out


def _block_leaves(block, index: int, breaks_this_loop: bool) -> bool:
    """The block ends with a statement that leaves the loop, and nothing from
    ``index`` on continues it."""
    if not block:
        return False
    last = block[-1]
    exits = (cst.Return, cst.Raise, cst.Break) if breaks_this_loop else (cst.Return, cst.Raise)
    if not isinstance(last, cst.SimpleStatementLine) or not any(isinstance(s, exits) for s in last.body):
        return False
    return not any(_continues(node) for node in block[index:])


def _continues(node: cst.CSTNode) -> bool:
    """A ``continue`` of the enclosing loop inside ``node`` (not of a loop nested in it)."""
    if isinstance(node, cst.Continue):
        return True
    if isinstance(node, (cst.For, cst.While)):
        return node.orelse is not None and _continues(node.orelse)
    if isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
        return False
    return any(_continues(child) for child in node.children)


def locks_each_row(fn: "FunctionModel", stmt: "Stmt", loop_stmt: "Stmt", query: cst.CSTNode) -> bool:
    """The query takes a row lock (``select_for_update()``, ``with_for_update()``)
    inside a transaction opened in the loop body: each round locks and commits its
    own row, on purpose (short locks instead of one long one)."""
    if not any(
        isinstance(node, cst.Attribute) and node.attr.value in catalog.ROW_LOCK_METHODS
        for node in walk(query, into_functions=False)
    ):
        return False
    return any(tx.contains(stmt) and tx.first > loop_stmt.ordinal for tx in work_of(fn).transactions)


def serves_unbounded_loop(fn: "FunctionModel", stmt: "Stmt", names: set[str]) -> bool:
    """A value bound outside any loop at ``stmt`` to ``names`` is used (itself or
    through a name bound from it, ``bucket = s3.Bucket(...)``) by a later ``for``
    loop over a collection the code does not bound, or by a ``while`` loop (a
    polling or service loop): a batch job or long-lived loop that builds it once
    per run, for all its rounds."""
    if stmt.in_loop or not names:
        return False
    used = set(names)
    local: Values | None = None
    for later in fn.stmts[stmt.ordinal + 1 :]:
        node = later.node
        if isinstance(node, cst.SimpleStatementLine):
            for small in node.body:
                if isinstance(small, cst.Assign) and _mentions(small.value, used):
                    used |= {t.target.value for t in small.targets if isinstance(t.target, cst.Name)}
        elif isinstance(node, cst.While) and _mentions(node, used):
            return True
        elif isinstance(node, cst.For) and _mentions(node, used):
            local = local if local is not None else local_values(fn)
            if not fixed_size(node.iter, fn, local):
                return True
    return False


def _mentions(node: cst.CSTNode, names: set[str]) -> bool:
    return any(isinstance(sub, cst.Name) and sub.value in names for sub in walk(node, into_functions=False))
