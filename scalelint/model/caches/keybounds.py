"""Whether a cache key can grow: a key family takes only a handful of values when
every variable part is a literal, a constant, configuration, or the identity of
the host or process writing it (``f"stats_{socket.gethostname()}"``,
``PREFIX + "_instance_" + self.instance_name``). Such keys are rewritten in place;
they do not accumulate with traffic the way per-user or per-id keys do."""
from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

from scalelint.core.walk import dotted, string_value, walk
from scalelint.model.dbops import words

if TYPE_CHECKING:
    from scalelint.model.caches.caching import CacheModel
    from scalelint.model.function import FunctionModel

#: words naming the deployment's own identity or configuration: one value per
#: host, process or configured namespace, never one per user or request
IDENTITY_WORDS = frozenset({
    "host", "hostname", "node", "instance", "pid", "process", "worker", "server", "machine", "cluster",
    "namespace", "prefix",
})
#: words naming one node of the deployment: a loop over these, or a key scan
#: whose wildcard stands for one, walks a handful of keys (``pid`` is left
#: out: in a loop it is as often a product id)
HOST_WORDS = frozenset({"host", "hostname", "node", "instance", "worker", "server", "machine"})
#: calls returning the writer's own host or process identity
IDENTITY_CALLS = frozenset({
    "os.getpid", "socket.gethostname", "platform.node", "socket.getfqdn", "getpid", "gethostname",
})
#: roots of configuration objects: ``settings.X``, ``app.config["X"]``
CONFIG_ROOTS = frozenset({"settings", "config", "conf"})
_MAX_DEPTH = 4


def bounded_key(cm: "CacheModel", key: cst.BaseExpression, fn: "FunctionModel", before: int) -> bool:
    """Whether every variable part of the key is fixed or names the writer's host/process."""
    return _Bounds(cm, fn, before).key(key, 0)


def per_host_pattern(cm: "CacheModel", pattern: cst.BaseExpression, fn: "FunctionModel", before: int) -> bool:
    """A key glob whose fixed parts are bounded and whose wildcard stands for
    a host or process (``PREFIX + "_instance_*"``, ``f"stats_{ns}_worker_*"``):
    it matches one key per node of the deployment, a handful."""
    last = _last_literal(pattern)
    if last is None or not last.endswith("*") or not bounded_key(cm, pattern, fn, before):
        return False
    head = words(last.rstrip("*"))
    return bool(head) and head[-1] in HOST_WORDS


def names_host(name: str) -> bool:
    """A loop variable naming one node of the deployment (``instance``, ``hostname``)."""
    found = words(name)
    return bool(found) and found[-1] in HOST_WORDS


def _last_literal(expr: cst.BaseExpression) -> str | None:
    """The text of the last literal piece of a key expression."""
    if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.Add):
        return _last_literal(expr.right)
    if isinstance(expr, cst.FormattedString) and expr.parts and isinstance(expr.parts[-1], cst.FormattedStringText):
        return expr.parts[-1].value
    if isinstance(expr, (cst.SimpleString, cst.ConcatenatedString)):
        return string_value(expr)
    return None


class _Bounds:
    def __init__(self, cm: "CacheModel", fn: "FunctionModel", before: int) -> None:
        self.cm, self.fn, self.before = cm, fn, before

    def key(self, expr: cst.BaseExpression, depth: int) -> bool:
        """A key expression: strings and the ways keys are put together."""
        if isinstance(expr, cst.FormattedString):
            return all(self.part(p.expression, depth) for p in expr.parts
                       if isinstance(p, cst.FormattedStringExpression))
        if isinstance(expr, (cst.SimpleString, cst.ConcatenatedString)):
            return string_value(expr) is not None
        if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.Add):
            return self.part(expr.left, depth) and self.part(expr.right, depth)
        if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.Modulo):
            args = expr.right.elements if isinstance(expr.right, cst.Tuple) else None
            values = [e.value for e in args] if args is not None else [expr.right]
            return self.key(expr.left, depth) and all(self.part(v, depth) for v in values)
        if (isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute)
                and expr.func.attr.value == "format"):
            return self.key(expr.func.value, depth) and all(self.part(a.value, depth) for a in expr.args)
        return self.part(expr, depth)

    def part(self, expr: cst.BaseExpression, depth: int) -> bool:
        """One value spliced into a key."""
        if depth > _MAX_DEPTH:
            return False
        if isinstance(expr, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString, cst.BinaryOperation)):
            return self.key(expr, depth + 1)
        if isinstance(expr, cst.Integer):
            return True
        if isinstance(expr, cst.Call):
            if dotted(expr.func) == "str" and len(expr.args) == 1:
                return self.part(expr.args[0].value, depth + 1)
            return (self.cm.module.qualified(expr.func) or dotted(expr.func) or "") in IDENTITY_CALLS
        if isinstance(expr, cst.Name):
            return self._name(expr, depth)
        if isinstance(expr, cst.Attribute):
            return self._attribute(expr, depth)
        if isinstance(expr, cst.Subscript):
            return self._subscript(expr)
        return False

    def _name(self, expr: cst.Name, depth: int) -> bool:
        if _constant(expr.value) or _identity(expr.value):
            return True
        value = self.cm.binding(self.fn, expr.value, self.before)
        return value is not None and self.part(value, depth + 1)

    def _attribute(self, expr: cst.Attribute, depth: int) -> bool:
        attr = expr.attr.value
        if _constant(attr) or _identity(attr) or (dotted(expr.value) or "").split(".")[0] in CONFIG_ROOTS:
            return True
        if dotted(expr.value) in ("self", "cls") and self.fn.cls is not None:
            value = self.cm.class_binding(self.fn.cls.name, attr)
            return value is not None and self.part(value, depth + 1)
        return False

    def _subscript(self, expr: cst.Subscript) -> bool:
        """``message["instance"]``, ``app.config["CACHE_PREFIX"]``."""
        if len(expr.slice) != 1 or not isinstance(expr.slice[0].slice, cst.Index):
            return False
        field = string_value(expr.slice[0].slice.value)
        if field is None:
            return False
        root = (dotted(expr.value) or "").rsplit(".", 1)[-1]
        return _identity(field) or (root in CONFIG_ROOTS and _constant(field))


def _constant(name: str) -> bool:
    """An UPPER_CASE name: a constant or a setting."""
    return name.isupper()


def _identity(name: str) -> bool:
    return any(w.lower() in IDENTITY_WORDS for w in words(name))


#: base classes whose members are a fixed set of values (an enum, Django choices)
FIXED_SET_BASES = frozenset({
    "Enum", "IntEnum", "StrEnum", "Flag", "IntFlag", "TextChoices", "IntegerChoices", "Choices",
})


def fixed_arguments(fn: "FunctionModel") -> bool:
    """Whether every argument of a memoized function takes one of a fixed, small set
    of values, so the memo holds at most that many entries: each parameter
    (``self``/``cls`` aside) is annotated ``bool``, ``Literal[...]`` or with an enum
    (a class of the module deriving from ``Enum`` / Django choices), or is the key
    of a module-level constant table or settings mapping the function reads
    (``TABLE[kind]``, ``settings.PLANS[plan]``: any other key raises, and a raising
    call is not memoized). A function without parameters is left to the caller."""
    params = [p for p in fn.node.params.params if p.name.value not in ("self", "cls")]
    if not params or isinstance(fn.node.params.star_arg, cst.Param) or fn.node.params.star_kwarg is not None:
        return False
    if fn.node.params.kwonly_params:
        params += list(fn.node.params.kwonly_params)
    return all(_fixed_annotation(fn, p) or _table_key(fn, p.name.value) for p in params)


def _fixed_annotation(fn: "FunctionModel", param: cst.Param) -> bool:
    note = param.annotation.annotation if param.annotation is not None else None
    if note is None:
        return False
    if isinstance(note, cst.Subscript):
        return (dotted(note.value) or "").rsplit(".", 1)[-1] == "Literal"
    spelled = dotted(note)
    if spelled is None:
        return False
    if spelled == "bool":
        return True
    for info in fn.module.classes:
        if info.name == spelled:
            return any(base.rsplit(".", 1)[-1] in FIXED_SET_BASES for base in info.bases)
    return False


def _table_key(fn: "FunctionModel", name: str) -> bool:
    """Every use of the parameter in the function is the key of a subscript of a
    module-level literal mapping or a settings attribute, before anything else
    reads it."""
    uses = 0
    for node in walk(fn.node.body):
        if type(node) is not cst.Subscript:
            continue
        table = node.value
        keys = [el.slice.value for el in node.slice if isinstance(el.slice, cst.Index)]
        if len(keys) != 1 or not (isinstance(keys[0], cst.Name) and keys[0].value == name):
            continue
        if not (_constant_table(fn, table) or (dotted(table) or "").split(".", 1)[0] in CONFIG_ROOTS):
            return False
        uses += 1
    names = sum(1 for node in walk(fn.node.body) if type(node) is cst.Name and node.value == name)
    return uses > 0 and uses == names


def _constant_table(fn: "FunctionModel", table: cst.BaseExpression) -> bool:
    """A module-level name bound to a literal dict, set, list or tuple, to a settings
    value (``BACKENDS = settings.BACKENDS``), or to a comprehension over either: its
    keys are fixed when the module is imported."""
    if not isinstance(table, cst.Name) or _mutated(fn.module, table.value):
        return False
    value = fn.module.global_values.get(table.value)
    if isinstance(value, (cst.DictComp, cst.SetComp, cst.ListComp)):
        value = value.for_in.iter
        if isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute):
            value = value.func.value  # ``settings.PLANS.items()``
        if isinstance(value, cst.Name):
            return _constant_table(fn, value)
    if isinstance(value, (cst.Dict, cst.Set, cst.List, cst.Tuple)):
        return len(value.elements) > 0
    return value is not None and _settings_value(value)


#: methods that add keys to a dict, set or list
_GROWING_METHODS = frozenset({"update", "setdefault", "add", "append", "extend", "insert", "__setitem__"})


def _mutated(module, name: str) -> bool:
    """The module adds to the table somewhere (``TABLE[k] = v``, ``TABLE.update(...)``):
    its keys grow at run time."""
    for node in module.nodes_of(cst.AssignTarget, cst.Call):
        if type(node) is cst.AssignTarget:
            target = node.target
            if isinstance(target, cst.Subscript) and isinstance(target.value, cst.Name) and target.value.value == name:
                return True
        elif (isinstance(node.func, cst.Attribute) and node.func.attr.value in _GROWING_METHODS
              and isinstance(node.func.value, cst.Name) and node.func.value.value == name):
            return True
    return False


def _settings_value(expr: cst.BaseExpression) -> bool:
    """``settings.X`` / ``app.config["X"]`` / ``getattr(settings, "X", {})``."""
    if isinstance(expr, cst.Call) and dotted(expr.func) == "getattr" and expr.args:
        expr = expr.args[0].value
    while isinstance(expr, cst.Subscript):
        expr = expr.value
    spelled = dotted(expr) or ""
    return spelled.split(".", 1)[0] in CONFIG_ROOTS
