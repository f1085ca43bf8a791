"""SQLAlchemy event listeners of a module that run inside the open transaction.

A mapper listener (``@event.listens_for(Order, "after_insert")``) or a flush /
``before_commit`` session listener runs during ``session.flush()`` or the
commit, on the transaction's connection: whatever it does happens before the
commit. Listeners are registered with the decorator or with
``event.listen(target, "after_insert", handler)`` anywhere in the module;
the events are the catalog's (``SA_IN_TRANSACTION_EVENTS``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import libcst as cst

from scalelint.core.walk import dotted, string_value
from scalelint.model import catalog

if TYPE_CHECKING:
    from scalelint.model.module import ModuleModel


@dataclass(frozen=True)
class Listener:
    """One registration of a function for an in-transaction event."""

    event: str  # "after_insert"
    target: str  # "TaskRun", as spelled
    node: cst.CSTNode = field(repr=False)  # the decorator, or the event.listen(...) call

    @property
    def label(self) -> str:
        return f"the {self.target} {self.event} listener" if self.target else f"the {self.event} listener"


def in_transaction_listeners(module: "ModuleModel") -> dict[str, Listener]:
    """Qualified names of the module's functions -> their first in-transaction registration."""
    return module.derived("sa_listeners", lambda: _collect(module))


def _collect(module: "ModuleModel") -> dict[str, Listener]:
    if not any(_may_register(q) for q in module.imports.names.values()):
        return {}  # no import through which a call resolves to listen/listens_for: no walk
    out: dict[str, Listener] = {}
    for fn in module.functions:
        for dec in fn.node.decorators:
            if isinstance(dec.decorator, cst.Call):
                found = _registration(module, dec.decorator, dec, decorator=True)
                if found is not None:
                    out.setdefault(fn.qualname, found)
                    break
    defined = {fn.qualname for fn in module.functions}
    for node in module.nodes_of(cst.Call):
        if isinstance(node, cst.Call) and len(node.args) >= 3:
            found = _registration(module, node, node, decorator=False)
            handler = dotted(node.args[2].value) if found is not None else None
            if handler in defined:
                out.setdefault(handler, found)
    return out


def _may_register(imported: str) -> bool:
    """Whether a name imported as ``imported`` can head a call that resolves to
    ``sqlalchemy.event.listen``/``listens_for`` (a resolved name is the import's
    qualified name, then the rest of the chain)."""
    return any(name == imported or name.startswith(imported + ".") for name in catalog.SA_LISTENS_FOR)


def _registration(module: "ModuleModel", call: cst.Call, node: cst.CSTNode, decorator: bool) -> Listener | None:
    """``@listens_for(T, "after_insert")`` (a decorator) or ``listen(T, "after_insert", fn)``."""
    qualified = module.qualified(call.func)
    if qualified not in catalog.SA_LISTENS_FOR or qualified.endswith(".listens_for") != decorator:
        return None
    event = string_value(call.args[1].value) if len(call.args) >= 2 else None
    if event not in catalog.SA_IN_TRANSACTION_EVENTS:
        return None
    return Listener(event, dotted(call.args[0].value) or "", node)
