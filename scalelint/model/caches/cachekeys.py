"""Cache keys as templates: every spelling of a key family (literal, f-string,
``%``, ``.format``, concatenation, ``":".join``, a constant, a key-building
function) normalised to one text with ``{}`` holes, so that a write and a
delete of the same family compare equal wherever each is written.

A name imported from another module of the project cannot be resolved in the
file phase; it is kept as a reference (``\\x00qualified.name\\x00``) that the
project phase substitutes from the constants and key functions every file
publishes.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import libcst as cst

from scalelint.core.lazyre import lazy_compile
from scalelint.core.walk import dotted, string_value

HOLE = "{}"
REF = "\x00"
_PERCENT = lazy_compile(r"%(?:\([^)]*\))?[#0\- +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?[diouxXeEfFgGcrsa%]")
_FORMAT_FIELD = lazy_compile(r"\{\{|\}\}|\{[^{}]*\}")
_HOLES = lazy_compile(r"(?:\{\})+")
_REF_PART = lazy_compile(r"\x00([^\x00]+)\x00")

#: resolves a bare name to a template (or None); supplied by the caller's scope
NameResolver = Callable[[cst.Name], "str | None"]
#: resolves a called function to a template (or None)
CallResolver = Callable[[cst.Call], "str | None"]
#: resolves an attribute (``self.KEY_PREFIX``) to a template (or None)
AttrResolver = Callable[[cst.Attribute], "str | None"]


def normalise_percent(text: str) -> str:
    return _PERCENT.sub(lambda m: "%" if m.group(0) == "%%" else HOLE, text)


def normalise_format(text: str) -> str:
    def repl(m: re.Match[str]) -> str:
        return {"{{": "{", "}}": "}"}.get(m.group(0), HOLE)

    return _FORMAT_FIELD.sub(repl, text)


def literal_template(text: str) -> str:
    """A constant's text as a template (format fields and %-specs become holes)."""
    return _HOLES.sub(HOLE, normalise_format(normalise_percent(text)))


@dataclass(frozen=True)
class KeyReader:
    """Turns key expressions into templates within one scope."""

    resolve_name: NameResolver
    resolve_call: CallResolver
    resolve_attr: "AttrResolver | None" = None

    def template(self, expr: cst.BaseExpression) -> str | None:
        """The key's template; None when it has no literal part to go on."""
        raw = self._raw(expr)
        if raw is None:
            return None
        raw = _HOLES.sub(HOLE, raw)
        return None if raw.replace(HOLE, "") == "" else raw

    def _raw(self, expr: cst.BaseExpression) -> str | None:
        if isinstance(expr, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)):
            return string_value(expr)
        if isinstance(expr, cst.Name):
            return self.resolve_name(expr)
        if isinstance(expr, cst.Attribute) and self.resolve_attr is not None:
            return self.resolve_attr(expr)
        if isinstance(expr, cst.BinaryOperation):
            if isinstance(expr.operator, cst.Modulo):
                left = self._raw(expr.left)
                return None if left is None else normalise_percent(left)
            if isinstance(expr.operator, cst.Add):
                left, right = self._part(expr.left), self._part(expr.right)
                return None if left == right == HOLE else left + right
            return None
        if isinstance(expr, cst.Call):
            return self._call(expr)
        return None

    def _part(self, expr: cst.BaseExpression) -> str:
        """An operand of a concatenation: its template, or a hole."""
        raw = self._raw(expr)
        return HOLE if raw is None else raw

    def _call(self, call: cst.Call) -> str | None:
        func = call.func
        if isinstance(func, cst.Attribute):
            method = func.attr.value
            if method == "format":
                base = self._raw(func.value)
                return None if base is None else normalise_format(base)
            if method == "join" and len(call.args) == 1:
                sep = self._raw(func.value)
                items = call.args[0].value
                if sep is not None and isinstance(items, (cst.List, cst.Tuple)):
                    return sep.join(self._part(el.value) for el in items.elements)
                return None
        if dotted(func) == "str" and len(call.args) == 1:
            return self._raw(call.args[0].value)
        return self.resolve_call(call)


def reference(qualified: str) -> str:
    return f"{REF}{qualified}{REF}"


def substitute(template: str, lookup: Callable[[str], str | None]) -> str | None:
    """Replace project references; None when one cannot be resolved."""
    missing = False

    def repl(m: re.Match[str]) -> str:
        nonlocal missing
        found = lookup(m.group(1))
        if found is None:
            missing = True
            return ""
        return found

    out = _REF_PART.sub(repl, template)
    if missing:
        return None
    out = _HOLES.sub(HOLE, out)
    return None if out.replace(HOLE, "") == "" else out


# -- matching --------------------------------------------------------------------
_MARK = "\x01"


def _regex(template: str, hole: str) -> re.Pattern[str]:
    parts = template.split(HOLE)
    return re.compile(hole.join(re.escape(p) for p in parts) + r"\Z", re.S)


@lru_cache(maxsize=1 << 16)
def templates_match(a: str, b: str) -> bool:
    """Two key families overlap: a hole matches any text without a ``:``."""
    if a == b:
        return True
    # each pattern is anchored at its literal prefix, which text without a hole there
    # must spell: families whose prefixes differ before either one's first hole never meet
    head_a, head_b = a.split(HOLE, 1)[0], b.split(HOLE, 1)[0]
    if not (head_a.startswith(head_b) or head_b.startswith(head_a)) and _MARK not in a + b:
        return False
    hole = r"[^:]+"
    return bool(_regex(a, hole).match(b.replace(HOLE, _MARK)) or _regex(b, hole).match(a.replace(HOLE, _MARK)))


@lru_cache(maxsize=1 << 14)
def glob_matches(pattern: str, template: str) -> bool:
    """A Redis glob (``product:*``) covers the family."""
    parts = re.split(r"(\*|\?|\{\})", pattern)
    regex = "".join(
        ".*" if p in ("*", HOLE) else "." if p == "?" else re.escape(p) for p in parts
    )
    return bool(re.compile(regex + r"\Z", re.S).match(template.replace(HOLE, _MARK)))


def key_words(template: str) -> list[str]:
    """The literal words of a key, lower case (``"Session:{}:data"`` -> session, data)."""
    return [w for w in re.split(r"[^A-Za-z0-9_]+", template.replace(HOLE, " ").lower()) if w]


def key_prefix(template: str) -> str:
    """The leading word of a key (``"product:{}"`` -> ``product``), or ''."""
    match = re.match(r"[A-Za-z][A-Za-z0-9_]*", template)
    return match.group(0).lower() if match else ""
