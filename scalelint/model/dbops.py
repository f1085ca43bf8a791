"""Database operations as syntax evidence: call chains, SQL text, ORM query
and write shapes, replica handle names. Pure functions over LibCST nodes and
the catalog; what a handle *is* at run time is the dataflow's business
(``scalelint.model.flow.dataflow``)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Iterator

import libcst as cst

from scalelint.core.lazyre import lazy_compile
from scalelint.model import catalog
from scalelint.model.sql import SqlInfo, parse_sql, takes_explicit_lock
from scalelint.core.walk import dotted, string_value, walk

if TYPE_CHECKING:
    from scalelint.model.module import ModuleModel, Recognition

# -- call chains ----------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One link of ``root.a.b(...).c(...)``: an attribute, called or not."""

    name: str
    call: cst.Call | None
    node: cst.BaseExpression  # the expression ending at this step


def unroll(expr: cst.BaseExpression) -> tuple[cst.BaseExpression, list[Step]]:
    """``Account.objects.using(a).get(pk=1)`` -> (Name Account, [objects, using(), get()])."""
    steps: list[Step] = []
    node = expr
    while True:  # exact types: isinstance() on LibCST's ABCs is a Python-level call
        kind = type(node)
        if kind is cst.Await:
            node = node.expression
        elif kind is cst.Call and type(node.func) is cst.Attribute:
            steps.append(Step(node.func.attr.value, node, node))
            node = node.func.value
        elif kind is cst.Attribute:
            steps.append(Step(node.attr.value, None, node))
            node = node.value
        else:
            steps.reverse()
            return node, steps


def spelled_prefix(root: cst.BaseExpression, steps: list[Step], upto: int) -> str | None:
    """The dotted spelling of ``root`` and the first ``upto`` steps (None if any is a call)."""
    base = dotted(root)
    if base is None or any(s.call is not None for s in steps[:upto]):
        return None
    return ".".join([base, *(s.name for s in steps[:upto])])


def is_class_name(spelled: str | None) -> bool:
    last = (spelled or "").rsplit(".", 1)[-1]
    return bool(last) and last[0].isupper() and not last.isupper()


def first_class(expr: cst.BaseExpression) -> str | None:
    """``Account`` for ``Account`` / ``Account.balance`` / ``models.Account``."""
    spelled = dotted(expr)
    if spelled is None:
        return None
    for part in reversed(spelled.split(".")):
        if part[:1].isupper() and not part.isupper():
            return part
    return None


def positional(call: cst.Call) -> list[cst.BaseExpression]:
    return [a.value for a in call.args if a.keyword is None and not a.star]


def keywords(call: cst.Call) -> dict[str, cst.BaseExpression]:
    return {a.keyword.value: a.value for a in call.args if a.keyword is not None}


def has_star(call: cst.Call) -> bool:
    return any(a.star for a in call.args)


# -- identity and replica names --------------------------------------------------------
_WORD_SPLIT = lazy_compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|(?<=[A-Za-z])(?=[0-9])")


@lru_cache(maxsize=8192)
def words(name: str) -> tuple[str, ...]:
    """``AsyncReadSession`` -> ("async", "read", "session"); ``ro_db2`` -> ("ro", "db", "2")."""
    return tuple(w.lower() for w in _WORD_SPLIT.split(name) if w)


def is_identity(name: str | None) -> bool:
    """A field that addresses a row (``id``, ``pk``, ``user_id``) rather than holding its state."""
    if not name:
        return False
    lowered = name.lower()
    return lowered in catalog.IDENTITY_FIELDS or lowered.endswith(catalog.IDENTITY_SUFFIXES)


@lru_cache(maxsize=8192)
def _replica_words(last: str) -> bool:
    ws = words(last)
    if not ws or any(w in catalog.NOT_HANDLE_WORDS for w in ws):
        return False
    if any(w in catalog.REPLICA_WORDS or w.rstrip("s") in catalog.REPLICA_WORDS for w in ws):
        return True
    if any(w in ("readreplica", "readonly", "readreplicas") for w in ws):
        return True
    for i, w in enumerate(ws):
        if w == "read" and i + 1 < len(ws) and ws[i + 1] == "only":
            return True
    has_db_word = any(w in catalog.DB_HANDLE_WORDS for w in ws)
    return has_db_word and ("read" in ws or "ro" in ws)


def replica_name(spelled: str, recognition: "Recognition") -> bool:
    """Whether a handle spelled like this is a read replica (by config, then by name)."""
    if spelled in recognition.primary_handles:
        return False
    if spelled in recognition.replica_handles or spelled.rsplit(".", 1)[-1] in recognition.replica_handles:
        return True
    return _replica_words(spelled.rsplit(".", 1)[-1])


_ALIAS = lazy_compile(r"^[A-Za-z][A-Za-z0-9_\-]{0,40}$")
_SHORT_LITERAL = lazy_compile(r"^[rRuU]?(['\"])([A-Za-z0-9_\-.]{0,60})\1$")


def short_literal(node: cst.BaseExpression) -> str | None:
    """The text of a short identifier-like string literal (``"replica"``, ``"balance"``),
    read without evaluating it; None for anything else."""
    if not isinstance(node, cst.SimpleString):
        return None
    match = _SHORT_LITERAL.match(node.value)
    return match.group(2) if match else None


_PRIMARY_WORDS = frozenset({"primary", "master", "writer", "leader"})


@lru_cache(maxsize=8192)
def _primary_words(last: str) -> bool:
    ws = words(last)
    if any(w in _PRIMARY_WORDS for w in ws):
        return True
    return any(w in catalog.DB_HANDLE_WORDS for w in ws) and any(w in ("default", "write", "rw") for w in ws)


def primary_name(spelled: str, recognition: "Recognition") -> bool:
    """Whether a handle, alias or setting spelled like this is the primary database."""
    last = spelled.rsplit(".", 1)[-1]
    if spelled in recognition.primary_handles or last in recognition.primary_handles:
        return True
    return last == catalog.DJANGO_DEFAULT_ALIAS or _primary_words(last)


def replica_alias(text: str, recognition: "Recognition") -> bool:
    """Whether a string literal names a replica database alias (``"replica"``)."""
    if text in recognition.replica_aliases:
        return True
    return bool(_ALIAS.match(text)) and text not in recognition.primary_handles and _replica_words(text)


def names_replica(expr: cst.BaseExpression, recognition: "Recognition") -> bool:
    """Whether an alias expression (``using=...``) names a read replica: a literal
    alias (``"replica"``) or a name or setting (``settings.DATABASE_REPLICA_NAME``)."""
    text = short_literal(expr)
    if text is not None:
        return replica_alias(text, recognition)
    spelled = dotted(expr) if isinstance(expr, (cst.Name, cst.Attribute)) else None
    return spelled is not None and replica_name(spelled, recognition)


_URL_HOST = lazy_compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://(?:[^@/]*@)?([^/:?#]+)")


def replica_url(text: str) -> bool:
    """Whether a database URL's host names a read replica (``postgresql://db-replica.internal/app``)."""
    match = _URL_HOST.match(text)
    return bool(match) and any(_replica_words(part) for part in match.group(1).split("."))


def constructs_handle(call: cst.Call, module: "ModuleModel") -> bool:
    """A catalogued constructor of a connection, pool, engine or session
    factory: its arguments (URL, ``bind=``), not its variable's name, say
    whether it reaches a replica."""
    resource = catalog.CALL_RESULTS.get(module.qualified(call.func) or "")
    return resource is not None and resource.kind in catalog.REPLICA_DECIDING_KINDS


def routing_sessions(module: "ModuleModel") -> frozenset[str]:
    """Classes of this module built on SQLAlchemy's routing-session recipe
    (a ``Session`` whose ``get_bind`` chooses by ``_flushing`` or the statement kind)."""
    return module.derived("routing-sessions", lambda: frozenset(_routing_sessions(module)))


def _routing_sessions(module: "ModuleModel") -> Iterator[str]:
    for info in module.classes:
        if not any(base in catalog.SA_SESSION_CLASSES for base in info.bases):
            continue
        for stmt in info.node.body.body:
            if isinstance(stmt, cst.FunctionDef) and stmt.name.value == catalog.ROUTING_BIND_METHOD and _routes_by_write(stmt):
                yield info.name


def _routes_by_write(method: cst.FunctionDef) -> bool:
    """``get_bind`` returns more than one engine, choosing by flush or write statement."""
    returns = sum(isinstance(node, cst.Return) for node in walk(method))
    marked = any(
        (isinstance(node, cst.Name) and node.value in catalog.ROUTING_WRITE_MARKERS)
        or (isinstance(node, cst.Attribute) and node.attr.value in catalog.ROUTING_WRITE_MARKERS)
        for node in walk(method)
    )
    return returns >= 2 and marked


def routing_session_call(call: cst.Call, module: "ModuleModel") -> bool:
    """A call that builds a routing session or a factory of them
    (``RoutingSession()``, ``sessionmaker(class_=RoutingSession)``)."""
    classes = routing_sessions(module)
    if not classes:
        return False
    if dotted(call.func) in classes:
        return True
    return any(
        arg.keyword is not None and arg.keyword.value == catalog.SESSION_CLASS_KEYWORD and dotted(arg.value) in classes
        for arg in call.args
    )


def primary_counterpart(spelled: str, module_text: str, recognition: "Recognition") -> str | None:
    """The primary handle matching a replica one, where the file (or config) names it."""
    if spelled in recognition.replica_handles and len(recognition.replica_handles) == len(recognition.primary_handles):
        return recognition.primary_handles[recognition.replica_handles.index(spelled)]
    head, dot, last = spelled.rpartition(".")
    for replica, primary in catalog.PRIMARY_COUNTERPARTS:
        candidate = _swap_word(last, replica, primary)
        if candidate is None:
            continue
        full = f"{head}{dot}{candidate}"
        if re.search(rf"(?<![\w.]){re.escape(full)}(?!\w)", module_text):
            return full
    return None


def _swap_word(name: str, old: str, new: str) -> str | None:
    """Replace the word ``old`` in ``name`` keeping its case style (REPLICA -> PRIMARY)."""
    pattern = re.compile(rf"(?:(?<=[^A-Za-z])|^){old}(?=[^a-z]|$)", re.I)
    match = pattern.search(name)
    if match is None:
        return None
    found = match.group(0)
    if found.isupper():
        repl = new.upper()
    elif found[0].isupper():
        repl = new.capitalize()
    else:
        repl = new
    return name[: match.start()] + repl + name[match.end():]


# -- SQL text --------------------------------------------------------------------------


@dataclass(frozen=True)
class SqlText:
    info: SqlInfo
    #: expressions interpolated into the text (f-string holes, ``%`` / ``.format`` arguments)
    holes: tuple[cst.BaseExpression, ...]


def sql_text(
    expr: cst.BaseExpression, module: "ModuleModel", local_strings: dict[str, cst.BaseExpression]
) -> SqlText | None:
    """The SQL an expression holds: a literal, f-string, ``text(...)``, ``%``/``.format``, or a
    name bound to one in this function or at module level."""
    found = _string_of(expr, module, local_strings)
    if found is None:
        return None
    info = parse_sql(found[0].strip())
    return SqlText(info, found[1]) if info is not None else None


def sql_takes_lock(
    expr: cst.BaseExpression, module: "ModuleModel", local_strings: dict[str, cst.BaseExpression]
) -> bool:
    """Whether executing this text takes a table or advisory lock (``LOCK TABLE``,
    ``pg_advisory_xact_lock``, MySQL ``GET_LOCK``)."""
    found = _string_of(expr, module, local_strings)
    return found is not None and takes_explicit_lock(found[0])


def _string_of(
    expr: cst.BaseExpression, module: "ModuleModel", local_strings: dict[str, cst.BaseExpression]
) -> tuple[str, tuple[cst.BaseExpression, ...]] | None:
    """The text an expression holds, and the expressions interpolated into it."""
    holes: list[cst.BaseExpression] = []
    node = expr
    for _ in range(4):
        if isinstance(node, cst.Name):
            bound = local_strings.get(node.value) or module.global_values.get(node.value)
            if bound is None:
                return None
            node = bound
            continue
        if isinstance(node, cst.Call):
            qn = module.qualified(node.func) or dotted(node.func) or ""
            if (qn in catalog.SQL_TEXT_WRAPPERS or qn.rsplit(".", 1)[-1] == "text") and node.args:
                node = node.args[0].value
                continue
            if isinstance(node.func, cst.Attribute) and node.func.attr.value == "format":
                holes.extend(a.value for a in node.args)
                node = node.func.value
                continue
            return None
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Modulo):
            holes.append(node.right)
            node = node.left
            continue
        break
    if isinstance(node, cst.FormattedString):
        holes.extend(p.expression for p in node.parts if isinstance(p, cst.FormattedStringExpression))
    text = string_value(node) if isinstance(node, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)) else None
    if text is None:
        return None
    return text, tuple(holes)


_PREDICATE = lazy_compile(
    r"(?:^|\bAND\b|\bOR\b|\(|\bNOT\b)\s*(?:[A-Za-z_][\w$]*\s*\.\s*)?[`\"\[]?([A-Za-z_][\w$]*)[`\"\]]?\s*"
    r"(?:=|<>|!=|<=|>=|<|>|\bIS\b|\bIN\b|\bLIKE\b|\bBETWEEN\b)",
    re.I,
)
_SET_RELATIVE = lazy_compile(r"\b([A-Za-z_]\w*)\s*=\s*(?:\w+\s*\.\s*)?\1\s*[-+*/]", re.I)
_SELECT_LIST = lazy_compile(r"^\s*SELECT\s+(?:DISTINCT\s+)?(.*?)\s+FROM\b", re.I | re.S)


def sql_rechecks(info: SqlInfo) -> bool:
    """A write whose WHERE tests a non-key column re-checks the state in the database
    (``WHERE id = %s AND balance >= %s``, ``WHERE version = %s``)."""
    where = info.where
    if not where.strip():
        return False
    return any(not is_identity(m.group(1)) for m in _PREDICATE.finditer(where))


def sql_relative(info: SqlInfo) -> bool:
    """``SET balance = balance - %s``: the new value is computed by the database."""
    return info.verb == "update" and bool(_SET_RELATIVE.search(info.text))


def sql_keyed(info: SqlInfo) -> bool:
    """A WHERE that tests the primary key: the read fetches a known row."""
    return any(m.group(1).lower() in catalog.PRIMARY_KEY_FIELDS for m in _PREDICATE.finditer(info.where))


def field_stem(name: str) -> str:
    """A field as lookups and constraints name it: ``user_id`` -> ``user``."""
    return name[:-3] if name.endswith("_id") and len(name) > 3 else name


def equality_fields(call: cst.Call) -> tuple[str, ...]:
    """The fields a filter call compares for equality: ``filter(code=c)``,
    ``code__exact=c``, ``filter_by(code=c)``, ``where(Coupon.code == c)`` (a
    ``user_id`` lookup names the ``user`` relation)."""
    out = []
    for name in keywords(call):
        field, _, op = name.partition("__")
        if op in ("", "exact"):
            out.append(field)
    for arg in positional(call):
        for sub in walk(arg):
            if (isinstance(sub, cst.Comparison) and isinstance(sub.left, cst.Attribute) and len(sub.comparisons) == 1
                    and isinstance(sub.comparisons[0].operator, cst.Equal)):
                out.append(sub.left.attr.value)
    return tuple(field_stem(f) for f in out)


#: marks a literal filter condition among a lookup's fields (``?deleted_at__isnull=True``)
CONDITION_MARK = "?"
#: marks the manager a Django lookup went through (``@objects``)
MANAGER_MARK = "@"


def literal_conditions(call: cst.Call) -> tuple[str, ...]:
    """The keyword filters of a call comparing with a literal ``True``/``False``/
    ``None``, spelled ``?field__op=value`` (``filter(deleted_at__isnull=True)``):
    the conditions a partial unique constraint or a manager's default filter names."""
    out = []
    for arg in call.args:
        if arg.keyword is not None and isinstance(arg.value, cst.Name) and arg.value.value in ("True", "False", "None"):
            out.append(f"{CONDITION_MARK}{arg.keyword.value}={arg.value.value}")
    return tuple(out)


def own_aggregate(call: cst.Call) -> bool:
    """``annotate(total=Sum("quantity"))``: an argument aggregates a field of the queried rows
    themselves (``Sum("lines__quantity")`` aggregates another table's rows)."""
    for arg in call.args:
        value = arg.value
        name = dotted(value.func) if isinstance(value, cst.Call) else None
        if name is None or name.rsplit(".", 1)[-1] not in catalog.ORM_AGGREGATE_FUNCTIONS:
            continue
        assert isinstance(value, cst.Call)
        first = positional(value)[:1]
        field = short_literal(first[0]) if first else None
        if field is not None and "__" not in field:
            return True
    return False


def sql_aggregates(info: SqlInfo) -> bool:
    """``SELECT COUNT(*) ...``, ``SELECT SUM(qty) ...``: a value computed over many rows."""
    return info.verb == "select" and catalog.SQL_AGGREGATE.search(info.text) is not None


def lookups_keyed(call: cst.Call) -> bool:
    """``get(pk=...)``, ``filter(id=...)``, ``filter_by(id=...)``: a known row."""
    return any(name.split("__")[0] in catalog.PRIMARY_KEY_FIELDS for name in keywords(call)) or any(
        isinstance(sub, cst.Comparison) and isinstance(sub.left, cst.Attribute)
        and sub.left.attr.value in catalog.PRIMARY_KEY_FIELDS
        for arg in positional(call) for sub in walk(arg)
    )


def sql_columns(info: SqlInfo) -> tuple[str, ...]:
    """The column names a SELECT returns (empty when not simple names)."""
    match = _SELECT_LIST.match(info.text)
    if match is None:
        return ()
    out = []
    for part in _split_top(match.group(1)):
        alias = re.search(r"\bAS\s+[`\"]?(\w+)[`\"]?\s*$", part, re.I)
        if alias:
            out.append(alias.group(1))
            continue
        name = re.match(r"^\s*(?:\w+\s*\.\s*)?[`\"]?(\w+|\*)[`\"]?\s*$", part)
        out.append(name.group(1) if name and not name.group(1).isdigit() else "?")
    return tuple(out)


def _split_top(text: str) -> Iterator[str]:
    depth, start = 0, 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            yield text[start:i]
            start = i + 1
    yield text[start:]


# -- ORM shapes ------------------------------------------------------------------------


def django_manager(root: cst.BaseExpression, steps: list[Step]) -> tuple[int, str] | None:
    """``Model.objects...``: the index of the manager step (the first step named like a
    Django manager, before any call) and the spelling of what owns it."""
    for i, step in enumerate(steps):
        if step.call is not None:
            return None
        if step.name in catalog.DJANGO_MANAGERS:
            owner = spelled_prefix(root, steps, i)
            return (i, owner) if owner is not None else None
    return None


def django_manager_index(root: cst.BaseExpression, steps: list[Step]) -> int | None:
    """Index of the manager step in ``Model.objects...`` (``self.model.objects`` too)."""
    found = django_manager(root, steps)
    if found is None:
        return None
    index, owner = found
    return index if is_class_name(owner) or owner.rsplit(".", 1)[-1].lower() == "model" else None


def constant_filter(call: cst.Call) -> bool:
    """Whether a filter call compares fields with constants only: ``filter(name="site")``,
    ``filter_by(is_system=False)``, ``where(Role.kind == Kind.ADMIN)``. A row found by
    such a lookup is the same for every caller (a singleton)."""
    if has_star(call) or not call.args:
        return False
    for arg in call.args:
        if arg.keyword is not None:
            field, _, op = arg.keyword.value.partition("__")
            if op not in ("", "exact") or not _constant(arg.value):
                return False
            continue
        value = arg.value
        if not (isinstance(value, cst.Comparison) and len(value.comparisons) == 1
                and isinstance(value.comparisons[0].operator, (cst.Equal, cst.Is))
                and isinstance(value.left, cst.Attribute) and _constant(value.comparisons[0].comparator)):
            return False
    return True


def _constant(node: cst.BaseExpression) -> bool:
    """A literal, or a name spelled as a constant (``SITE_ID``, ``Kind.ADMIN``)."""
    if isinstance(node, (cst.SimpleString, cst.Integer, cst.Float)):
        return True
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
        return isinstance(node.expression, (cst.Integer, cst.Float))
    if isinstance(node, cst.Name):
        return node.value in ("True", "False", "None") or (node.value.isupper() and len(node.value) > 1)
    if isinstance(node, cst.Attribute):
        name = dotted(node)
        return name is not None and node.attr.value.isupper() and len(node.attr.value) > 1
    return False


def lookups_recheck(call: cst.Call) -> bool:
    """Whether a filter()/filter_by() narrows by state, not only by key: a write through
    it re-checks in the database (``filter(stock__gte=n)``, ``filter(status="new")``)."""
    if positional(call) or has_star(call):
        return True  # Q objects, expressions, **kwargs: assume a re-check
    return any(not is_identity(name.split("__")[0]) for name in keywords(call))


def sa_criteria_recheck(call: cst.Call) -> bool:
    """SQLAlchemy ``where``/``filter`` criteria that test a non-key column."""
    found_any = False
    for arg in call.args:
        if arg.keyword is not None:
            found_any = True
            if not is_identity(arg.keyword.value):
                return True
            continue
        for sub in walk(arg.value):
            if isinstance(sub, cst.Comparison):
                found_any = True
                left = sub.left
                if isinstance(left, cst.Attribute) and not is_identity(left.attr.value):
                    return True
    return not found_any


def uses_db_expression(expr: cst.BaseExpression, module: "ModuleModel") -> bool:
    """``F("stock") - n`` and friends: the value is computed by the database."""
    for sub in walk(expr):
        if isinstance(sub, cst.Call):
            qn = module.qualified(sub.func)
            spelled = dotted(sub.func) or ""
            if qn in catalog.DB_SIDE_EXPRESSIONS or spelled in ("F", "models.F"):
                return True
    return False


def mentions_class_attribute(expr: cst.BaseExpression, cls: str) -> bool:
    """``Account.balance - x`` in a SQLAlchemy ``values()``: computed from the column."""
    for sub in walk(expr):
        if isinstance(sub, cst.Attribute) and dotted(sub.value) == cls:
            return True
    return False


@dataclass
class SaStatement:
    """A SQLAlchemy Core/ORM statement built from ``select()``/``update()``/..."""

    verb: str
    entity: str | None
    locked: bool = False
    rechecks: bool = False
    relative: bool = False
    upsert: bool = False  # ``insert(...).on_conflict_do_nothing()``
    values: list[cst.BaseExpression] = field(default_factory=list)
    column: str | None = None
    keyed: bool = False
    #: every filter compares with a constant (``where(Site.name == "main")``)
    constant: bool = False


def sa_statement(expr: cst.BaseExpression, module: "ModuleModel") -> SaStatement | None:
    root, steps = unroll(expr)
    if not isinstance(root, cst.Call):
        return None
    qn = module.qualified(root.func) or ""
    spelled = dotted(root.func) or ""
    verb = catalog.SQLALCHEMY_STATEMENTS.get(qn)
    if verb is None and spelled.split(".")[0] in catalog.CONVENTIONAL_SESSION_OWNERS and "." in spelled:
        last = spelled.rsplit(".", 1)[-1]
        verb = last if last in ("select", *catalog.SA_STATEMENT_VERBS) else None
    if verb is None:
        return None
    args = positional(root)
    entity = first_class(args[0]) if args else None
    column = None
    if args and isinstance(args[0], cst.Attribute) and len(args) == 1:
        column = args[0].attr.value
    stmt = SaStatement(verb, entity, column=column)
    constant: bool | None = None  # no filter yet
    for step in steps:
        call = step.call
        if call is None:
            continue
        if step.name in catalog.ROW_LOCK_METHODS:
            stmt.locked = True
        elif step.name in catalog.SA_UPSERT_METHODS:
            stmt.upsert = True
        elif step.name in catalog.SA_FILTER_METHODS:
            stmt.rechecks = stmt.rechecks or sa_criteria_recheck(call)
            stmt.keyed = stmt.keyed or lookups_keyed(call)
            constant = constant is not False and constant_filter(call)
        elif step.name == "select_from" and positional(call) and stmt.entity is None:
            stmt.entity = first_class(positional(call)[0])
        elif step.name == "values":
            for arg in call.args:
                value = arg.value
                stmt.values.append(value)
                if isinstance(value, cst.Dict):
                    stmt.values.extend(el.value for el in value.elements if isinstance(el, cst.DictElement))
                if entity and mentions_class_attribute(value, entity):
                    stmt.relative = True
    stmt.constant = bool(constant)
    return stmt


def is_lock_context(expr: cst.BaseExpression, module: "ModuleModel") -> bool:
    """A ``with`` item that takes a lock every process shares: a call named for a lock
    (``advisory_lock(key)``, ``cache.lock("k")``), not a thread lock of one process."""
    if not isinstance(expr, cst.Call):
        return False
    if is_lock_helper(expr, module):
        return True
    name = (dotted(expr.func) or "").rsplit(".", 1)[-1]
    if not catalog.LOCK_CONTEXT_WORDS.intersection(words(name)):
        return False
    return module.qualified(expr.func) not in catalog.PROCESS_LOCAL_LOCKS


def is_lock_helper(call: cst.Call, module: "ModuleModel") -> bool:
    """A call of a helper configured in ``lock-helpers`` (as spelled, qualified or
    by its last name)."""
    configured = module.recognition.lock_helpers
    if not configured:
        return False
    spelled = dotted(call.func) or ""
    if not spelled:
        return False
    return (spelled in configured or spelled.rsplit(".", 1)[-1] in configured
            or module.qualified(call.func) in configured)


def takes_shared_lock(call: cst.Call, module: "ModuleModel") -> bool:
    """A call that takes a lock every process shares, wherever it stands: a configured
    lock helper, or a lock client's ``lock()`` (``cache.lock(key)``,
    ``redis.lock(key).acquire()``); not ``threading.Lock()``."""
    if is_lock_helper(call, module):
        return True
    func = call.func
    return (
        isinstance(func, cst.Attribute) and func.attr.value in catalog.SHARED_LOCK_METHODS
        and module.qualified(func) not in catalog.PROCESS_LOCAL_LOCKS
    )


def caught_names(handler: cst.ExceptHandler) -> list[str]:
    """Exception names an ``except`` clause catches (last dotted part)."""
    kind = handler.type
    if kind is None:
        return []
    exprs = [el.value for el in kind.elements] if isinstance(kind, cst.Tuple) else [kind]
    return [(dotted(e) or "").rsplit(".", 1)[-1] for e in exprs]


def literal_truth(expr: cst.BaseExpression | None) -> bool | None:
    """Truthiness of a literal argument or default (None when not a literal)."""
    if isinstance(expr, cst.Name):
        return {"True": True, "False": False, "None": False}.get(expr.value)
    if isinstance(expr, (cst.Integer, cst.Float)):
        try:
            return bool(float(expr.value.replace("_", "")))
        except ValueError:
            return None
    if isinstance(expr, cst.SimpleString):
        value = string_value(expr)
        return bool(value) if value is not None else None
    return None
