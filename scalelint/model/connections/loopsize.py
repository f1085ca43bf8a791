"""What makes a loop's query not an N+1 (SL104): a loop whose size is fixed in
the code, and a query whose shape changes each round.

A loop over data the code itself fixes (literals, module constants, enum
members, configuration lists, the command line, schema objects such as
``metadata.sorted_tables``) runs a bounded number of rounds whatever the
traffic. A query whose model or filtered column changes each round (``for
model in models: session.query(model)``, ``getattr(Model, field) == value``)
reads a different table or column each time: there is no single query to
batch it into.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

from scalelint.core.walk import dotted, walk
from scalelint.model import catalog

if TYPE_CHECKING:
    from scalelint.model.function import FunctionModel

Values = dict[str, list[cst.BaseExpression]]
#: how many local names a fixed-size check follows (``names = ROLES; for r in names``)
_MAX_DEPTH = 4
_WRAPPERS = frozenset({"enumerate", "sorted", "reversed", "zip", "list", "tuple", "set", "frozenset", "iter"})
_MAPPING_VIEWS = frozenset({"items", "keys", "values"})


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
    if _configuration(iterable) or _schema_objects(iterable) or _command_line(iterable, fn, local):
        return True
    if isinstance(iterable, cst.Attribute):
        return iterable.attr.value.isupper() or iterable.attr.value == "__members__"  # a constant, an enum's members
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
    return bool(values) and all(fixed_size(v, fn, local, depth + 1) for v in values)


def _fixed_call(call: cst.Call, fn: "FunctionModel", local: Values, depth: int) -> bool:
    func = dotted(call.func)
    if func == "range":
        return all(isinstance(a.value, cst.Integer) and int(a.value.value, 0) <= catalog.SMALL_RANGE for a in call.args)
    if func in _WRAPPERS and call.args:
        return all(fixed_size(a.value, fn, local, depth + 1) for a in call.args if a.keyword is None)
    if isinstance(call.func, cst.Attribute) and call.func.attr.value in _MAPPING_VIEWS:
        return fixed_size(call.func.value, fn, local, depth + 1)
    return False


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
