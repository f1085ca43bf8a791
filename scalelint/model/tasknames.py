"""Tasks known by a registered name, and the code that enqueues them by it.

A task queue may register a task under a name (``@actor(actor_name=
"org.prepare_members")``, ``@app.task(name="org.prepare_members")``) that
other code enqueues as text (``enqueue_job("org.prepare_members", ...)``,
``app.send_task("org.prepare_members")``). A module publishes the names its
tasks are registered under and the names it enqueues as text, with their
lines, so that the project phase can tell a task only one-shot code enqueues
(a one-off script that enqueues a data job per organization) from one request
code enqueues (scalelint.model.connections.callers). The enqueues are read
from the text (scalelint.model.textuses.enqueued_by_name): modules that are
never parsed (a script no rule checks) publish them too. The spellings are
the catalog's.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

from scalelint.model import catalog

if TYPE_CHECKING:
    from scalelint.model.module import ModuleModel

def registered_names(module: "ModuleModel") -> dict[str, str]:
    """qualname -> the name a task decorator registers the function under."""
    out: dict[str, str] = {}
    for fn in module.functions:
        for dec in fn.node.decorators:
            call = dec.decorator
            if not isinstance(call, cst.Call):
                continue
            func = call.func
            last = func.attr.value if isinstance(func, cst.Attribute) else getattr(func, "value", "")
            if last not in catalog.TASK_REGISTERING_DECORATORS:
                continue
            for arg in call.args:
                if (
                    arg.keyword is not None
                    and arg.keyword.value in catalog.TASK_NAME_KEYWORDS
                    and isinstance(arg.value, cst.SimpleString)
                    and isinstance(value := arg.value.evaluated_value, str)
                    and value
                ):
                    out[fn.qualname] = value
    return out
