"""ORM model classes and their relationships, as small project facts.

A file publishes its model classes (Django ``Model``, SQLAlchemy declarative
classes, Flask-SQLAlchemy ``db.Model``) with each relationship field: its
name, target model, kind and loading strategy. The project phase merges them
into a :class:`ModelIndex` that resolves inheritance, reverse relations
(Django ``related_name`` and ``<model>_set``, SQLAlchemy ``backref``) and
answers "what does ``obj.<attr>`` load on a ``Model`` instance".
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Iterable, Iterator

import libcst as cst

from scalelint.model import catalog
from scalelint.model.dbops import CONDITION_MARK, field_stem, literal_conditions
from scalelint.model.entities import entity_name
from scalelint.model.module import ModuleModel
from scalelint.core.walk import dotted, string_value

_ORM_ROOTS = ("django.db.", "django.contrib.", "sqlalchemy.", "sqlmodel.", "mptt.", "modelcluster.")
#: Django kinds that load one object on access; the others are related managers
SINGLE_KINDS = frozenset({"fk", "o2o", "gfk", "ro2o"})
_REVERSE = {"fk": "rfk", "o2o": "ro2o", "m2m": "rm2m"}


# -- file phase ------------------------------------------------------------------
def model_facts(module: ModuleModel) -> list[dict[str, Any]]:
    """The module's top-level classes that are (or may be, through a project
    base) ORM models, with their relationship fields (read once per module:
    several rules publish them; callers do not change them)."""
    return module.derived("orm-model-facts", lambda: _model_facts(module))


def _model_facts(module: ModuleModel) -> list[dict[str, Any]]:
    top = {id(node) for node in module.cst.body if isinstance(node, cst.ClassDef)}
    out: list[dict[str, Any]] = []
    for info in module.classes:
        if id(info.node) not in top:
            continue
        reader = _ClassReader(module, info.node)
        orm = reader.orm
        rels = reader.relations()
        bases = reader.project_bases
        if not (orm or rels or (bases and (reader.declares_columns or reader.overrides_save))):
            continue
        fact: dict[str, Any] = {"c": info.name, "q": reader.qual, "b": bases}
        if orm:
            fact["orm"] = orm
        if rels:
            fact["r"] = rels
        if reader.managers:
            fact["mg"] = reader.managers
        if reader.uniques:
            fact["u"] = reader.uniques
        if reader.overrides_save:
            fact["s"] = 1
        out.append(fact)
    return out


def qualify(module: ModuleModel, expr: cst.BaseExpression) -> str:
    """The qualified name of a class reference: a class of this module, an
    import, or as spelled."""
    spelled = dotted(expr) or ""
    if isinstance(expr, cst.Name) and not module.imports.imported(expr.value):
        if any(c.name == expr.value for c in module.classes):
            return _join(module.module_name, expr.value)
    return module.qualified(expr) or spelled


def project_bases(module: ModuleModel, node: cst.ClassDef) -> list[str]:
    """The qualified names of a class's bases that are the project's own classes."""
    return _ClassReader(module, node).project_bases


def qualify_spelled(module: ModuleModel, spelled: str) -> str:
    """The qualified name of a class named in text (a forward reference such as
    ``"Customer"`` or ``"models.Customer"``), resolved like :func:`qualify`."""
    head, dot, rest = spelled.partition(".")
    imported = module.imports.names.get(head)
    if imported is not None:
        return imported + dot + rest
    if not dot and any(c.name == spelled for c in module.classes):
        return _join(module.module_name, spelled)
    return spelled


def _join(module_name: str, name: str) -> str:
    return f"{module_name}.{name}" if module_name else name


@dataclass
class _ClassReader:
    module: ModuleModel
    node: cst.ClassDef

    @cached_property
    def qual(self) -> str:
        return _join(self.module.module_name, self.node.name.value)

    @cached_property
    def bases(self) -> list[str]:
        return [qualify(self.module, b.value) for b in self.node.bases if b.keyword is None]

    @cached_property
    def project_bases(self) -> list[str]:
        """The bases that are the project's own classes."""
        return [b for b in self.bases if b and self.module.project_import(b)]

    @cached_property
    def orm(self) -> str:
        for base, arg in zip(self.bases, (b for b in self.node.bases if b.keyword is None)):
            if base in catalog.DJANGO_MODEL_BASES:
                return "django"
            if base in catalog.SA_MODEL_BASES or self._sa_base(arg.value):
                return "sqlalchemy"
        kinds = {r.get("orm") for r in self.fields}
        return next(iter(kinds)) if len(kinds) == 1 else ""

    def _sa_base(self, expr: cst.BaseExpression) -> bool:
        """``Base`` bound to ``declarative_base()``, or Flask-SQLAlchemy's ``db.Model``."""
        owner = expr.value if isinstance(expr, cst.Attribute) and expr.attr.value == "Model" else expr
        if isinstance(owner, cst.Name):
            value = self.module.global_values.get(owner.value)
            if isinstance(value, cst.Call) and self.module.qualified(value.func) in catalog.SA_BASE_FACTORIES:
                return True
            return owner is not expr and owner.value in catalog.CONVENTIONAL_SESSION_OWNERS
        return False

    @cached_property
    def declares_columns(self) -> bool:
        """The body reads like a model's: fields built by an ORM (``models.CharField()``,
        ``Column()``, ``db.Column()``) or a ``__tablename__`` (an inner ``Meta`` is no
        evidence: forms, serializers and GraphQL types have one too)."""
        for _, call, _ in self._assignments():
            qn = self.module.qualified(call.func) or ""
            if qn.startswith(_ORM_ROOTS) or self._conventional(call.func, frozenset({"Column"})):
                return True
        return any(
            isinstance(small, cst.Assign) and any(dotted(t.target) == "__tablename__" for t in small.targets)
            for stmt in self.node.body.body if isinstance(stmt, cst.SimpleStatementLine)
            for small in stmt.body
        )

    def relations(self) -> list[dict[str, Any]]:
        return [{k: v for k, v in r.items() if k != "orm" and v not in ("", None)} for r in self.fields]

    @cached_property
    def fields(self) -> list[dict[str, Any]]:
        """Relationship fields declared in the class body."""
        return [r for r in (self._field(*a) for a in self._assignments()) if r is not None]

    def _assignments(self) -> Iterator[tuple[str, cst.Call, cst.Annotation | None]]:
        for stmt in self.node.body.body:
            if not isinstance(stmt, cst.SimpleStatementLine):
                continue
            for small in stmt.body:
                if isinstance(small, cst.Assign) and len(small.targets) == 1:
                    target, value, note = small.targets[0].target, small.value, None
                elif isinstance(small, cst.AnnAssign) and small.value is not None:
                    target, value, note = small.target, small.value, small.annotation
                else:
                    continue
                if isinstance(target, cst.Name) and isinstance(value, cst.Call):
                    yield target.value, value, note

    @cached_property
    def uniques(self) -> list[list[str]]:
        """The field sets a unique constraint covers (each sorted): fields declared
        ``unique=True`` or ``primary_key=True``, Django ``OneToOneField``s (unique by
        definition), Django ``Meta.unique_together`` and ``Meta.constraints``,
        SQLAlchemy ``__table_args__`` (partial constraints with a ``condition=`` do
        not count)."""
        found: list[list[str]] = []
        for name, call, _ in self._assignments():
            if any(_true(_arg(call, None, kw)) for kw in ("unique", "primary_key")) or self._one_to_one(call):
                found.append([name])
        for stmt in self._class_level_values():
            found.extend(self._declared_constraints(*stmt))
        return [list(f) for f in sorted({tuple(sorted({n if n.startswith(CONDITION_MARK) else field_stem(n) for n in f}))
                                         for f in found if f})]

    @property
    def overrides_save(self) -> bool:
        """The class body defines ``save()``: saving a row runs project code beyond
        the INSERT/UPDATE (a broadcast, a notification, derived rows)."""
        return any(isinstance(stmt, cst.FunctionDef) and stmt.name.value == "save" for stmt in self.node.body.body)

    def _one_to_one(self, call: cst.Call) -> bool:
        """A Django ``OneToOneField``: a foreign key with a unique constraint."""
        return catalog.DJANGO_RELATION_FIELDS.get(self.module.qualified(call.func) or "") == "o2o"

    def _class_level_values(self) -> Iterator[tuple[str, cst.BaseExpression]]:
        """``name = value`` statements of the class body and of its inner ``Meta``."""
        bodies = [self.node.body.body]
        bodies += [s.body.body for s in self.node.body.body if isinstance(s, cst.ClassDef) and s.name.value == "Meta"]
        for body in bodies:
            for stmt in body:
                if isinstance(stmt, cst.SimpleStatementLine):
                    for small in stmt.body:
                        if isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name):
                            yield small.targets[0].target.value, small.value

    def _declared_constraints(self, name: str, value: cst.BaseExpression) -> list[list[str]]:
        if name == "unique_together":
            return _literal_strings_nested(value)
        if name in ("constraints", "__table_args__"):
            out: list[list[str]] = []
            elements = value.elements if isinstance(value, (cst.List, cst.Tuple)) else []
            for el in elements:
                if isinstance(el.value, cst.Call):
                    out.extend(_constraint_fields(el.value))
            return out
        return []

    @cached_property
    def managers(self) -> list[list[str]]:
        """Django managers declared in the class body, in order (the first is the
        default manager): [attribute, manager class as spelled, its qualified name];
        the class is "" for managers built from a queryset (``as_manager()``)."""
        out = []
        for name, call, _ in self._assignments():
            spelled = dotted(call.func) or ""
            if spelled.endswith("Manager"):
                out.append([name, spelled.rsplit(".", 1)[-1], qualify(self.module, call.func)])
            elif spelled.endswith(".as_manager") or (isinstance(call.func, cst.Call) and (dotted(call.func.func) or "").endswith(".from_queryset")):
                out.append([name, "", ""])
        return out

    def _field(self, name: str, call: cst.Call, note: cst.Annotation | None) -> dict[str, Any] | None:
        qn = self.module.qualified(call.func)
        kind = catalog.DJANGO_RELATION_FIELDS.get(qn or "")
        if kind is not None:
            return self._django(name, kind, call)
        if qn in catalog.SA_RELATIONSHIP_CALLS or self._conventional(call.func, catalog.SA_RELATIONSHIP_ATTRS):
            return self._sqlalchemy(name, call, note)
        return None

    def _conventional(self, func: cst.BaseExpression, attrs: frozenset[str]) -> bool:
        """``db.relationship`` on Flask-SQLAlchemy's conventional ``db`` object."""
        return (
            isinstance(func, cst.Attribute)
            and func.attr.value in attrs
            and isinstance(func.value, cst.Name)
            and func.value.value in catalog.CONVENTIONAL_SESSION_OWNERS
            and (self.module.qualified(func) is None or self.module.project_import(self.module.qualified(func) or ""))
        )

    def _target(self, expr: cst.BaseExpression | None) -> tuple[str, str]:
        """(class name, qualified name when known) of a relation's target."""
        if expr is None:
            return "", ""
        text = string_value(expr)
        if text is not None:
            if text == "self":
                return self.node.name.value, self.qual
            return text, ""  # "Model" or "app_label.Model"
        spelled = dotted(expr)
        if spelled is None:
            return "", ""
        return spelled.rsplit(".", 1)[-1], qualify(self.module, expr)

    def _django(self, name: str, kind: str, call: cst.Call) -> dict[str, Any]:
        target = _arg(call, 0, "to")
        t, tq = self._target(target) if kind != "gfk" else ("", "")
        related = _arg(call, None, "related_name")
        rn = string_value(related) if related is not None else None
        return {"n": name, "k": kind, "t": t, "tq": tq, "rn": rn if related is None or rn is not None else "+", "orm": "django"}

    def _sqlalchemy(self, name: str, call: cst.Call, note: cst.Annotation | None) -> dict[str, Any]:
        t, tq = self._target(_arg(call, 0, "argument"))
        many = _uselist(call)
        annotated = _mapped_target(note.annotation) if note is not None else None
        if annotated is not None:
            if not t:
                t = annotated[0]
            if many is None:
                many = annotated[1]
        fact = {"n": name, "k": "sa", "t": t, "tq": tq, "lazy": _lazy(call), "many": many, "orm": "sqlalchemy"}
        backref = _arg(call, None, "backref")
        if backref is not None:
            fact.update(self._backref(backref))
        return fact

    def _backref(self, expr: cst.BaseExpression) -> dict[str, Any]:
        text = string_value(expr)
        if text is not None:
            return {"rn": text, "rl": "select"}
        if isinstance(expr, cst.Call) and (
            self.module.qualified(expr.func) in catalog.SA_BACKREF_CALLS
            or self._conventional(expr.func, frozenset({"backref"}))
        ):
            first = _arg(expr, 0, "name")
            name = string_value(first) if first is not None else None
            if name:
                return {"rn": name, "rl": _lazy(expr)}
        return {}


def _arg(call: cst.Call, position: int | None, keyword: str) -> cst.BaseExpression | None:
    positional = [a for a in call.args if a.keyword is None and not a.star]
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == keyword:
            return arg.value
    if position is not None and len(positional) > position:
        return positional[position].value
    return None


def _true(expr: cst.BaseExpression | None) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "True"


def _constraint_fields(call: cst.Call) -> list[list[str]]:
    """The fields of a ``UniqueConstraint(fields=[...])`` (Django, without a
    ``condition=``), ``UniqueConstraint("a", "b")`` or ``Index(..., unique=True)``
    (SQLAlchemy)."""
    last = (dotted(call.func) or "").rsplit(".", 1)[-1]
    if last == "UniqueConstraint":
        condition = _arg(call, None, "condition")
        marks: list[str] = []
        if condition is not None:
            # a partial constraint covers only lookups carrying its condition (a soft
            # delete's ``Q(deleted_at__isnull=True)``); one not spelled with literals never does
            if not (isinstance(condition, cst.Call) and (dotted(condition.func) or "").rsplit(".", 1)[-1] == "Q"):
                return []
            marks = list(literal_conditions(condition))
            if not marks or len(marks) != len(condition.args):
                return []
        listed = _arg(call, None, "fields")
        if listed is not None:
            return [_strings(listed) + marks]
        if marks:
            return []
        return [[s for s in (_column_name(a.value) for a in call.args if a.keyword is None) if s]]
    if last == "Index" and _true(_arg(call, None, "unique")):
        return [[s for s in (_column_name(a.value) for a in call.args[1:] if a.keyword is None) if s]]
    return []


def _column_name(expr: cst.BaseExpression) -> str | None:
    """``"code"`` or ``Coupon.code`` / ``code`` naming a column."""
    text = string_value(expr)
    if text is not None:
        return text
    spelled = dotted(expr)
    return spelled.rsplit(".", 1)[-1] if spelled else None


def _strings(expr: cst.BaseExpression) -> list[str]:
    elements = expr.elements if isinstance(expr, (cst.List, cst.Tuple)) else []
    return [s for s in (string_value(el.value) for el in elements) if s is not None]


def _literal_strings_nested(expr: cst.BaseExpression) -> list[list[str]]:
    """``unique_together``: one tuple of names, or a sequence of them."""
    elements = expr.elements if isinstance(expr, (cst.List, cst.Tuple)) else []
    if elements and all(isinstance(el.value, (cst.List, cst.Tuple)) for el in elements):
        return [_strings(el.value) for el in elements]
    return [_strings(expr)]


def _lazy(call: cst.Call) -> str:
    """A relationship's ``lazy=`` strategy ("?" when not a literal)."""
    value = _arg(call, None, "lazy")
    if value is None:
        kwargs = _arg(call, None, "sa_relationship_kwargs")  # SQLModel
        if isinstance(kwargs, cst.Dict):
            for el in kwargs.elements:
                if isinstance(el, cst.DictElement) and string_value(el.key) == "lazy":
                    value = el.value
    if value is None:
        return "select"
    text = string_value(value)
    if text is not None:
        return text
    if isinstance(value, cst.Name) and value.value in ("True", "False", "None"):
        return value.value
    return "?"


def _uselist(call: cst.Call) -> bool | None:
    value = _arg(call, None, "uselist")
    if isinstance(value, cst.Name) and value.value in ("True", "False"):
        return value.value == "True"
    return None


_COLLECTIONS = frozenset({"list", "List", "set", "Set", "WriteOnlyMapped", "DynamicMapped"})


def _mapped_target(expr: cst.BaseExpression) -> tuple[str, bool] | None:
    """``Mapped["Customer"]`` -> ("Customer", False); ``Mapped[list["Item"]]`` -> ("Item", True)."""
    if not isinstance(expr, cst.Subscript) or (dotted(expr.value) or "").rsplit(".", 1)[-1] != "Mapped":
        return None
    inner = _subscript_value(expr)
    many = False
    while isinstance(inner, cst.Subscript):
        head = (dotted(inner.value) or "").rsplit(".", 1)[-1]
        if head in _COLLECTIONS:
            many = True
        elif head != "Optional":
            return None
        inner = _subscript_value(inner)
    spelled = string_value(inner) if inner is not None else None
    spelled = spelled if spelled is not None else (dotted(inner) if inner is not None else None)
    if not spelled or not spelled.rsplit(".", 1)[-1][:1].isupper():
        return None
    return spelled.rsplit(".", 1)[-1], many


def _subscript_value(expr: cst.Subscript) -> cst.BaseExpression | None:
    if len(expr.slice) != 1 or not isinstance(expr.slice[0].slice, cst.Index):
        return None
    return expr.slice[0].slice.value


# -- project phase -----------------------------------------------------------------
@dataclass(frozen=True)
class Relation:
    name: str
    kind: str  # fk | o2o | m2m | gfk | rfk | ro2o | rm2m (Django), sa (SQLAlchemy)
    target: str  # qualified name of the target class ("" when unknown)
    lazy: str = ""  # SQLAlchemy loading strategy
    many: bool | None = None  # SQLAlchemy: a collection

    @property
    def single(self) -> bool:
        """Loads one object on access (so the chain may continue on its target)."""
        return self.kind in SINGLE_KINDS or (self.kind == "sa" and self.many is False)


@dataclass
class ModelClass:
    name: str
    qual: str
    bases: list[str]
    orm: str
    own: list[dict[str, Any]]
    managers: list[list[str]] = field(default_factory=list)  # [attribute, class, qualified class]
    uniques: list[list[str]] = field(default_factory=list)  # field sets under a unique constraint
    saves: bool = False  # the class body overrides save()


@dataclass
class ManagerClass:
    """A Django manager class of the project and what its ``get_queryset()`` loads."""

    name: str
    qual: str
    bases: list[str]
    eager: list[str]
    eager_all: bool
    #: literal filters every row of its ``get_queryset()`` passes (``?deleted_at__isnull=True``)
    conditions: list[str] = field(default_factory=list)


#: what a plain manager loads with its rows
NOTHING_EAGER: tuple[frozenset[str], bool] = (frozenset(), False)


class ModelIndex:
    """Every published model class of the project, with inheritance and reverse
    relations, and the project's manager classes."""

    def __init__(self, facts: Iterable[dict[str, Any]], managers: Iterable[dict[str, Any]] = ()) -> None:
        self.classes: dict[str, ModelClass] = {}
        self.by_name: dict[str, list[ModelClass]] = {}
        for fact in facts:
            cls = ModelClass(fact["c"], fact["q"], fact.get("b", []), fact.get("orm", ""), fact.get("r", []),
                             fact.get("mg", []), fact.get("u", []), bool(fact.get("s")))
            if cls.qual in self.classes:
                continue
            self.classes[cls.qual] = cls
            self.by_name.setdefault(cls.name, []).append(cls)
        self.managers: dict[str, ManagerClass] = {}
        self.managers_by_name: dict[str, list[ManagerClass]] = {}
        for fact in managers:
            manager = ManagerClass(fact["c"], fact["q"], fact.get("b", []), fact.get("e", []), bool(fact.get("all")),
                                   fact.get("f", []))
            if manager.qual not in self.managers:
                self.managers[manager.qual] = manager
                self.managers_by_name.setdefault(manager.name, []).append(manager)
        self._reverse: dict[str, dict[str, Relation]] = {}
        self._relations: dict[str, dict[str, Relation]] = {}
        self._build_reverse()

    def resolve(self, name: str, qual: str = "", within: str = "") -> ModelClass | None:
        """A class by qualified name, else by simple name when that is unambiguous
        (among models; ``app.Model`` names keep those of that app, else those of
        the referring module's package are preferred)."""
        found = self.classes.get(qual) if qual else None
        if found is not None:
            return found
        app, _, name = name.rpartition(".")
        candidates = [c for c in self.by_name.get(name, []) if self.orm_of(c)]
        if app:
            candidates = [c for c in candidates if f".{app}." in f".{c.qual}"]
        elif len(candidates) > 1 and within:
            package = within.rsplit(".", 1)[0]
            candidates = [c for c in candidates if c.qual.startswith(package + ".")] or candidates
        return candidates[0] if len(candidates) == 1 else None

    def unique_fields(self, entity: str) -> list[frozenset[str]]:
        """The field sets under a unique constraint of the models read as ``entity``
        (``entity_name`` of the class), inherited ones included; none when the
        entity names several models that disagree."""
        found = [self._uniques(c) for c in self.classes.values() if entity_name(c.name) == entity]
        return found[0] if found and all(f == found[0] for f in found) else []

    def manager_conditions(self, entity: str, attribute: str) -> frozenset[str]:
        """The literal filters ``Model.<attribute>`` applies to every query by itself
        (a soft-delete manager's ``deleted_at__isnull=True``), for the models read as
        ``entity``; empty when unknown or when those models disagree."""
        found = []
        for cls in (c for c in self.classes.values() if entity_name(c.name) == entity):
            declared = self._declared_managers(cls)
            name = declared[0][0] if attribute == "_default_manager" and declared else attribute
            entry = next((m for m in declared if m[0] == name), None)
            found.append(self._manager_class_conditions(entry[1], entry[2], frozenset()) if entry else frozenset())
        return found[0] if found and all(f == found[0] for f in found) else frozenset()

    def _manager_class_conditions(self, name: str, qual: str, seen: frozenset[str]) -> frozenset[str]:
        manager = _lookup(self.managers, self.managers_by_name, qual, name)
        if manager is None or manager.qual in seen:
            return frozenset()
        if manager.conditions:
            return frozenset(manager.conditions)
        for base in manager.bases:  # a manager that inherits its get_queryset()
            found = self._manager_class_conditions(base.rsplit(".", 1)[-1], base, seen | {manager.qual})
            if found:
                return found
        return frozenset()

    def save_runs_code(self, entity: str) -> bool:
        """Whether the model read as ``entity`` overrides ``save()`` in its own body:
        inserting its row then does what that model alone does (a broadcast, derived
        rows). A ``save()`` inherited from a project base every model shares (audit
        fields, timestamps) says nothing about this row. False when the entity names
        several models that disagree."""
        found = [c.saves for c in self.classes.values() if entity_name(c.name) == entity]
        return bool(found) and all(found)

    def _uniques(self, cls: ModelClass, seen: frozenset[str] = frozenset()) -> list[frozenset[str]]:
        out = [frozenset(f) for f in cls.uniques]
        if cls.qual not in seen:
            for base in self._bases(cls):
                out.extend(self._uniques(base, seen | {cls.qual}))
        return sorted(set(out), key=sorted)

    def orm_of(self, cls: ModelClass, seen: frozenset[str] = frozenset()) -> str:
        if cls.orm or cls.qual in seen:
            return cls.orm
        for base in self._bases(cls):
            orm = self.orm_of(base, seen | {cls.qual})
            if orm:
                return orm
        return ""

    def _bases(self, cls: ModelClass) -> Iterator[ModelClass]:
        for base in cls.bases:
            found = _lookup(self.classes, self.by_name, base, base.rsplit(".", 1)[-1])
            if found is not None and found is not cls:
                yield found

    def relations(self, cls: ModelClass) -> dict[str, Relation]:
        """Every relationship attribute of a model: inherited, its own, reverse."""
        known = self._relations.get(cls.qual)
        if known is not None:
            return known
        out: dict[str, Relation] = {}
        self._relations[cls.qual] = out  # a cycle of bases ends here
        for base in reversed(list(self._bases(cls))):
            out.update(self.relations(base))
        for raw in cls.own:
            target = self._target_of(raw, cls)
            out[raw["n"]] = Relation(raw["n"], raw["k"], target.qual if target else "", raw.get("lazy", ""), raw.get("many"))
        out.update(self._reverse.get(cls.qual, {}))
        return out

    def manager_eager(self, cls: ModelClass, attribute: str) -> tuple[frozenset[str], bool] | None:
        """What ``Model.<attribute>`` loads with every row by itself (the lookups of
        its manager's ``get_queryset()``, and whether it is ``select_related()``
        of every relation); None when the attribute is not a manager of the model."""
        declared = self._declared_managers(cls)
        if attribute == "_base_manager":
            return NOTHING_EAGER
        if attribute == "_default_manager":
            if not declared:
                return NOTHING_EAGER
            attribute = declared[0][0]
        entry = next((m for m in declared if m[0] == attribute), None)
        if entry is None:
            return NOTHING_EAGER if attribute == "objects" else None
        return self._manager_class_eager(entry[1], entry[2], frozenset())

    def _declared_managers(self, cls: ModelClass, seen: frozenset[str] = frozenset()) -> list[list[str]]:
        """Managers declared on the model, then those it inherits."""
        if cls.qual in seen:
            return []
        out = list(cls.managers)
        for base in self._bases(cls):
            out += [m for m in self._declared_managers(base, seen | {cls.qual}) if all(m[0] != o[0] for o in out)]
        return out

    def _manager_class_eager(self, name: str, qual: str, seen: frozenset[str]) -> tuple[frozenset[str], bool]:
        manager = _lookup(self.managers, self.managers_by_name, qual, name)
        if manager is None or manager.qual in seen:
            return NOTHING_EAGER
        if manager.eager or manager.eager_all:
            return frozenset(manager.eager), manager.eager_all
        for base in manager.bases:  # a manager that inherits its get_queryset()
            found = self._manager_class_eager(base.rsplit(".", 1)[-1], base, seen | {manager.qual})
            if found != NOTHING_EAGER:
                return found
        return NOTHING_EAGER

    def _target_of(self, raw: dict[str, Any], owner: ModelClass) -> ModelClass | None:
        if not raw.get("t"):
            return None
        return self.resolve(raw["t"], raw.get("tq", ""), owner.qual)

    def _build_reverse(self) -> None:
        for cls in self.classes.values():
            for raw in cls.own:
                target = self._target_of(raw, cls)
                if target is None:
                    continue
                if raw["k"] == "sa":
                    if raw.get("rn"):
                        relation = Relation(raw["rn"], "sa", cls.qual, raw.get("rl", "select"), None)
                        self._reverse.setdefault(target.qual, {})[raw["rn"]] = relation
                    continue
                kind = _REVERSE.get(raw["k"])
                name = _reverse_name(raw, cls.name, kind)
                if kind is not None and name:
                    self._reverse.setdefault(target.qual, {})[name] = Relation(name, kind, cls.qual)


def _lookup(by_qual: dict[str, Any], by_name: dict[str, list[Any]], qual: str, name: str) -> Any:
    """A class by qualified name, else by simple name when that is unambiguous."""
    found = by_qual.get(qual)
    if found is None:
        named = by_name.get(name, [])
        found = named[0] if len(named) == 1 else None
    return found


def _reverse_name(raw: dict[str, Any], owner: str, kind: str | None) -> str | None:
    """Django's reverse accessor: ``related_name`` (``%(class)s`` filled in), else
    ``<model>_set`` (``<model>`` for one-to-one); None when hidden (``+``)."""
    related = raw.get("rn")
    if related is None:
        return owner.lower() if kind == "ro2o" else f"{owner.lower()}_set"
    if related.endswith("+") or "%(app_label)" in related:
        return None
    return related.replace("%(class)s", owner.lower())
