"""How a function uses a client it builds, for how much churn building it per
call costs (SL106's evidence):

- once per background job: the function is a task (a queue worker runs it
  once per enqueued job), or a helper every call of which in its module comes
  from a task, outside any loop there. One client per job run is one
  connection per job, not per request or per item;
- only to probe connectivity: the client's one use is a ``ping()`` (a health
  check or heartbeat), whose point is to open a connection.

A client built in a view, a message or event handler, a helper called per
item, or any function whose callers are unknown answers neither.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

from scalelint.core.walk import dotted, walk
from scalelint.model import catalog
from scalelint.model.entrypoints import TASK, entry_kind

if TYPE_CHECKING:
    from scalelint.model.function import FunctionModel


def built_once_per_job(fn: "FunctionModel") -> bool:
    """The function runs once per background job: a task, or a helper only
    this module's tasks call, each call outside a loop."""
    if entry_kind(fn, by_signature=False) == TASK:
        return True
    sites = [(caller, stmt) for caller in fn.module.functions if caller is not fn
             for stmt, call in caller.calls() if _calls(call, fn, caller)]
    return bool(sites) and all(
        entry_kind(caller, by_signature=False) == TASK and not stmt.in_loop for caller, stmt in sites
    )


def _calls(call: cst.Call, fn: "FunctionModel", caller: "FunctionModel") -> bool:
    """``helper(...)`` of a module function, ``self.helper(...)`` of a method of the caller's class."""
    func = call.func
    if fn.cls is None:
        return isinstance(func, cst.Name) and func.value == fn.name
    return (isinstance(func, cst.Attribute) and func.attr.value == fn.name and dotted(func.value) == "self"
            and caller.cls is not None and caller.cls.name == fn.cls.name)


def only_probes(fn: "FunctionModel", call: cst.Call, names: set[str]) -> bool:
    """The client built by ``call`` (bound to ``names``) is only used for a
    connectivity check (``Redis.from_url(url).ping()``)."""
    probes = 0
    for node in walk(fn.node.body):
        if type(node) is cst.Call and isinstance(node.func, cst.Attribute):
            receiver = node.func.value
            if receiver is call or (isinstance(receiver, cst.Name) and receiver.value in names):
                if node.func.attr.value not in catalog.CONNECTIVITY_CHECKS:
                    return False
                probes += 1
        elif type(node) is cst.Name and node.value in names and not _receiver_or_target(fn, node):
            return False  # passed on, returned, kept: used for more than a probe
    return probes > 0


def _receiver_or_target(fn: "FunctionModel", name: cst.Name) -> bool:
    """The name is the receiver of a method call or the target it is bound to."""
    for node in walk(fn.node.body):
        if type(node) is cst.Attribute and node.value is name:
            return True
        if type(node) is cst.AssignTarget and node.target is name:
            return True
    return False
