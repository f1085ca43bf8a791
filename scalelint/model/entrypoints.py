"""What calls a function: a web request (a view), a task queue (a task), or
anything else. Rules word their advice by it ("concurrent requests" in a view,
"concurrent task runs" in a task); the library names are the catalog's."""
from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

from scalelint.model import catalog

if TYPE_CHECKING:
    from scalelint.model.function import FunctionModel

VIEW, TASK, OTHER = "view", "task", ""


def entry_kind(fn: "FunctionModel") -> str:
    """``view``, ``task`` or ``""`` (not known to be either)."""
    for dec in fn.node.decorators:
        target = dec.decorator.func if isinstance(dec.decorator, cst.Call) else dec.decorator
        qualified = fn.module.qualified(target) or ""
        last = target.attr.value if isinstance(target, cst.Attribute) else None
        if qualified in catalog.TASK_DECORATORS or last in catalog.TASK_DECORATOR_ATTRS:
            return TASK
        if qualified in catalog.VIEW_DECORATORS or last in catalog.VIEW_DECORATOR_ATTRS:
            return VIEW
    if fn.cls is not None:
        if fn.name in catalog.VIEW_METHODS and any(
            base.rsplit(".", 1)[-1].endswith(catalog.VIEW_CLASS_SUFFIXES) for base in fn.cls.bases
        ):
            return VIEW
        return OTHER
    params = fn.node.params.params
    if params and params[0].name.value == "request":
        return VIEW  # a Django function view
    return OTHER


def concurrent_runs(kind: str) -> str:
    """Who races in code of this kind, for messages."""
    return {VIEW: "concurrent requests", TASK: "concurrent task runs"}.get(kind, "concurrent callers")
