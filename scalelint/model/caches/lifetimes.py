"""How long a cache write keeps its entry (SL301's stale budget): the TTL in
seconds where the code spells it, resolved in the file phase from literals,
arithmetic, module constants, ``timedelta`` and attributes of the project's
classes (``self.X`` / ``cls.X`` / ``Class.X``); a name defined in another
module (an imported constant, an inherited class attribute, ``settings.X``) is
kept as references that the project phase looks up in the numeric constants
every file publishes (:func:`published`, :func:`resolved`).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable

import libcst as cst

from scalelint.core.walk import dotted
from scalelint.model.caches.caching import CacheModel, CacheOp, seconds_of
from scalelint.model.entities import bindings

if TYPE_CHECKING:
    from scalelint.model.function import FunctionModel

#: the prefix of a reference to a setting (any settings module's constant of that name)
SETTING = "settings:"
_SETTINGS_OBJECTS = frozenset({"django.conf.settings"})


class Lifetimes:
    """The TTL of each cache write of one module, as a fact: seconds, a list
    of references to resolve in the project phase, or None (no TTL, or one
    the code does not spell)."""

    def __init__(self, cm: CacheModel) -> None:
        self.cm = cm
        self.module = cm.module

    def of(self, op: CacheOp, fn: "FunctionModel") -> float | list[str] | None:
        if op.expiry() != "ttl":
            return None
        seconds = op.lifetime(self.module)
        if seconds is not None:
            return seconds
        expr, scale = _ttl_expr(op)
        if expr is None or scale != 1.0:
            return None
        return self._attribute(expr, fn)

    def _attribute(self, expr: cst.BaseExpression, fn: "FunctionModel") -> float | list[str] | None:
        """``self.X`` / ``cls.X`` / ``Class.X``, an imported constant or ``settings.X``."""
        if isinstance(expr, cst.Name):
            qn = self.module.qualified(expr)
            return [qn] if qn is not None and self.module.project_import(qn) else None
        if not isinstance(expr, cst.Attribute):
            return None
        attr = expr.attr.value
        owner = dotted(expr.value)
        if owner in ("self", "cls") and fn.cls is not None:
            return self._class_attr(fn.cls.name, attr)
        if owner is not None and owner in {c.name for c in self.module.classes}:
            return self._class_attr(owner, attr)
        qn = self.module.qualified(expr.value)
        if qn in _SETTINGS_OBJECTS or (owner == "settings" and qn is None):
            return [SETTING + attr]
        return [f"{qn}.{attr}"] if qn is not None and self.module.project_import(qn) else None

    def _class_attr(self, cls: str, attr: str) -> float | list[str] | None:
        bound = self.cm.class_binding(cls, attr)
        if bound is not None:
            return seconds_of(bound, self.module)
        info = next((c for c in self.module.classes if c.name == cls), None)
        refs = []
        for base in info.bases if info is not None else ():
            local = next((c for c in self.module.classes if c.name == base), None)
            if local is not None:
                found = self._class_attr(local.name, attr)
                if found is not None:
                    return found
            elif "." in base:
                refs.append(f"{base}.{attr}")
        return refs or None


def _ttl_expr(op: CacheOp) -> tuple[cst.BaseExpression | None, float]:
    """The expression spelling the TTL, and its unit in seconds."""
    if op.method in ("setex", "psetex"):
        arg = op.arg(1, ("time",))
        return (arg.value if arg is not None else None), (0.001 if op.method == "psetex" else 1.0)
    spec = op.client.library.ttl_arg(op.method)
    arg = op.arg(spec[1], spec[0]) if spec is not None else None
    if arg is None:
        return None, 1.0
    keyword = arg.keyword.value if arg.keyword is not None else None
    if keyword in ("exat", "pxat", "keepttl"):
        return None, 1.0
    return arg.value, 0.001 if keyword == "px" else 1.0


def published(cm: CacheModel) -> dict[str, float]:
    """The module's numeric UPPER_CASE constants and class attributes, by
    qualified name, with the project bases of its classes (``Class.__bases__``)
    for inherited attributes."""
    module = cm.module
    prefix = f"{module.module_name}." if module.module_name else ""
    out: dict[str, Any] = {}
    for name, value in module.global_values.items():
        if name.isupper():
            seconds = seconds_of(value, module)
            if seconds is not None:
                out[prefix + name] = seconds
    for info in module.classes:
        for stmt in info.node.body.body:
            for name, value in bindings(stmt):
                if name.isupper():
                    seconds = seconds_of(value, module)
                    if seconds is not None:
                        out[f"{prefix}{info.name}.{name}"] = seconds
    return out


def class_bases(cm: CacheModel) -> dict[str, list[str]]:
    """Qualified class -> the qualified project classes it derives from."""
    module = cm.module
    prefix = f"{module.module_name}." if module.module_name else ""
    local = {c.name for c in module.classes}
    out: dict[str, list[str]] = {}
    for info in module.classes:
        bases = [prefix + b if b in local else b for b in info.bases if b in local or module.project_import(b)]
        if bases:
            out[prefix + info.name] = bases
    return out


def resolved(ttl: Any, numbers: dict[str, float], bases: dict[str, list[str]], settings: dict[str, list[float]]) -> float | None:
    """A published TTL in seconds: the number, else the first reference that
    resolves (a setting: the longest any settings module gives it)."""
    if isinstance(ttl, (int, float)):
        return float(ttl)
    for ref in ttl or ():
        if ref.startswith(SETTING):
            values = settings.get(ref[len(SETTING):])
            if values:
                return max(values)
            continue
        found = _lookup(ref, numbers, bases, 0)
        if found is not None:
            return found
    return None


def _lookup(ref: str, numbers: dict[str, float], bases: dict[str, list[str]], depth: int) -> float | None:
    if ref in numbers:
        return numbers[ref]
    owner, _, attr = ref.rpartition(".")
    if depth > 4 or owner not in bases:
        return None
    for base in bases[owner]:
        found = _lookup(f"{base}.{attr}", numbers, bases, depth + 1)
        if found is not None:
            return found
    return None


def settings_values(numbers: Iterable[tuple[str, float]]) -> dict[str, list[float]]:
    """Setting name -> the values settings modules (a ``settings`` package or module) give it."""
    out: dict[str, list[float]] = {}
    for qualified, seconds in numbers:
        parts = qualified.split(".")
        if len(parts) >= 2 and any("settings" in p for p in parts[:-1]) and parts[-2][:1].islower():
            out.setdefault(parts[-1], []).append(seconds)
    return out
