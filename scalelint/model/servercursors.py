"""Django's server-side cursors as a project spells them (SL108).

On PostgreSQL, ``QuerySet.iterator()`` declares a cursor that lives on the
server connection until it is exhausted; behind PgBouncer in transaction mode
the next fetch may land on another server connection. The setting
``DISABLE_SERVER_SIDE_CURSORS`` turns them off. Three facts per module:

- ``unguarded_entries``: ``DATABASES = {...}`` entries for PostgreSQL (an
  ``ENGINE`` naming ``postgresql``, or a database-URL parser such as
  ``dj_database_url.config(...)``) that do not set the flag themselves;
- ``sets_flag``: the module sets the flag anywhere — a dict key
  (``cfg = {"DISABLE_SERVER_SIDE_CURSORS": True}``), an assigned subscript
  (``DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True``, the usual
  shape under an ``if USE_PGBOUNCER:``), ``setdefault`` or the parser's
  keyword; settings split over modules make this a project question;
- ``cursor_uses``: calls that open a server-side cursor (``.iterator()``):
  without one the setting changes nothing.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

import libcst as cst

from scalelint.core.walk import string_value
from scalelint.model import catalog

if TYPE_CHECKING:
    from scalelint.model.module import ModuleModel


def unguarded_entries(module: "ModuleModel", assign: cst.Assign) -> Iterator[cst.BaseExpression]:
    """The PostgreSQL entries of ``DATABASES = {...}`` that keep server-side cursors on."""
    if not any(isinstance(t.target, cst.Name) and t.target.value == "DATABASES" for t in assign.targets):
        return
    if not isinstance(assign.value, cst.Dict):
        return
    for element in assign.value.elements:
        entry = getattr(element, "value", None)
        if isinstance(entry, cst.Dict):
            keys = {string_value(e.key): e.value for e in entry.elements if isinstance(e, cst.DictElement)}
            engine = keys.get("ENGINE")
            if engine is not None and "postgresql" in (string_value(engine) or "") \
                    and catalog.DJANGO_SERVER_CURSOR_FLAG not in keys:
                yield entry
        elif isinstance(entry, cst.Call):
            keyword = catalog.DATABASE_URL_PARSERS.get(module.qualified(entry.func) or "")
            if keyword is not None and not any(a.keyword is not None and a.keyword.value == keyword for a in entry.args):
                yield entry


def sets_flag(module: "ModuleModel") -> bool:
    """Whether the module sets ``DISABLE_SERVER_SIDE_CURSORS`` anywhere."""
    flag = catalog.DJANGO_SERVER_CURSOR_FLAG
    keywords = {flag, *catalog.DATABASE_URL_PARSERS.values()}
    for node in module.nodes_of(cst.DictElement, cst.Assign, cst.Call):
        if isinstance(node, cst.DictElement):
            if string_value(node.key) == flag:
                return True
        elif isinstance(node, cst.Assign):
            if any(_subscripted_with(t.target, flag) for t in node.targets):
                return True
        else:
            if any(a.keyword is not None and a.keyword.value in keywords for a in node.args):
                return True
            func = node.func
            if isinstance(func, cst.Attribute) and func.attr.value == "setdefault" and node.args \
                    and string_value(node.args[0].value) == flag:
                return True
    return False


def cursor_uses(module: "ModuleModel") -> list[cst.Call]:
    """Calls that open a server-side cursor (``qs.iterator()``, ``.iterator(chunk_size=...)``)."""
    return [
        call for call in module.nodes_of(cst.Call)
        if isinstance(call.func, cst.Attribute) and call.func.attr.value in catalog.SERVER_SIDE_CURSOR_METHODS
        and all(a.keyword is not None or isinstance(a.value, cst.Integer) for a in call.args)
    ]


def _subscripted_with(target: cst.BaseExpression, key: str) -> bool:
    if not isinstance(target, cst.Subscript) or len(target.slice) != 1:
        return False
    index = target.slice[0].slice
    return isinstance(index, cst.Index) and string_value(index.value) == key
