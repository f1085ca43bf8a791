"""Request-scoped transactions a framework opens around every view (SL103).

Django's ``ATOMIC_REQUESTS`` is read by the rule from the settings; this module
knows Pyramid's ``pyramid_tm``: once an app's configuration includes it
(``config.include("pyramid_tm")``), each request runs in one transaction that
the transaction manager commits after the view returns, and the request's
SQLAlchemy session (``request.dbsession``, ``request.db``, joined to it with
``zope.sqlalchemy``) keeps its connection and the rows it wrote until then.
``transaction.commit()`` / ``request.tm.commit()`` in the view ends it early.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

import libcst as cst

from scalelint.core.walk import dotted, string_value
from scalelint.model import catalog

if TYPE_CHECKING:
    from scalelint.model.function import FunctionModel
    from scalelint.model.module import ModuleModel


def pyramid_tm_includes(module: "ModuleModel", text: str) -> Iterator[cst.Call]:
    """``config.include("pyramid_tm")`` calls of a module that imports Pyramid
    (a file that never spells the package's name is not walked)."""
    if catalog.PYRAMID_TM_PACKAGE not in text or not _imports_pyramid(module):
        return
    for node in module.nodes_of(cst.Call):
        if (isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "include"
                and node.args and string_value(node.args[0].value) == catalog.PYRAMID_TM_PACKAGE):
            yield node


def pyramid_view(fn: "FunctionModel") -> bool:
    """A function or method decorated ``@view_config`` in a module that imports Pyramid
    (a helper taking ``request`` is not a view there)."""
    return _imports_pyramid(fn.module) and any(
        (dotted(dec.decorator.func if isinstance(dec.decorator, cst.Call) else dec.decorator) or "").rsplit(".", 1)[-1]
        == catalog.PYRAMID_VIEW_DECORATOR for dec in fn.node.decorators)


def request_session(receiver: cst.BaseExpression) -> bool:
    """``request.dbsession`` / ``self.request.db``: the request's ORM session."""
    parts = (dotted(receiver) or "").split(".")
    return len(parts) >= 2 and parts[-2] == "request" and parts[-1] in catalog.PYRAMID_REQUEST_SESSIONS


def ends_request_transaction(fn: "FunctionModel", call: cst.Call) -> bool:
    """``transaction.commit()`` / ``abort()`` or ``request.tm.commit()``: the request's
    transaction ends here (what the view wrote before is committed and unlocked)."""
    func = call.func
    if fn.module.qualified(func) in catalog.TRANSACTION_MANAGER_ENDS:
        return True
    if not isinstance(func, cst.Attribute) or func.attr.value not in catalog.TRANSACTION_MANAGER_END_METHODS:
        return False
    parts = (dotted(func.value) or "").split(".")
    return len(parts) >= 2 and parts[-2:] == ["request", "tm"]


def _imports_pyramid(module: "ModuleModel") -> bool:
    return any(q.split(".")[0] == "pyramid" for q in module.imports.names.values())
