"""Which functions a module schedules: jobs a scheduler runs at a fixed interval.

A module schedules a function by naming it in a periodic schedule (Celery
beat's ``beat_schedule`` / ``CELERY_BEAT_SCHEDULE`` dicts and AWX's
``DISPATCHER_SCHEDULE``, whose entries say ``"task": "dotted.path"``), by
registering it (``app.add_periodic_task(crontab(...), fn.s())``, Pyramid's
``config.add_periodic_task(crontab(...), fn)``, APScheduler's
``scheduler.add_job(fn, "interval", ...)``), or by decorating it
(``@periodic_task``, ``@scheduler.scheduled_job``, an actor given a
``cron_trigger``). The schedule often lives far from the task (in settings),
so the module publishes the dotted names it schedules with its call-graph
facts and the project phase places them
(scalelint.model.connections.callers). The spellings are the catalog's.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

import libcst as cst

from scalelint.core.walk import walk
from scalelint.model import catalog

if TYPE_CHECKING:
    from scalelint.model.module import ModuleModel

#: signature builders on a task (``fn.s()``, ``fn.si()``, ``fn.signature()``): the job is ``fn``
SIGNATURE_METHODS = frozenset({"s", "si", "signature"})


def scheduled_names(model: "ModuleModel", text: str) -> list[str]:
    """Dotted names of the functions this module schedules (``text``, its
    source, is searched first: most modules schedule nothing)."""
    if not model.module_name or not any(word in text for word in catalog.SCHEDULE_VOCABULARY):
        return []
    found: dict[str, None] = {}
    for name in _decorated(model):
        found.setdefault(name, None)
    for node in walk(model.cst):
        for name in _named_by(model, node):
            found.setdefault(name, None)
    return list(found)


def _decorated(model: "ModuleModel") -> Iterator[str]:
    """Functions decorated as periodic jobs."""
    for fn in model.functions:
        if "<locals>" in fn.qualname:
            continue
        for dec in fn.node.decorators:
            target = dec.decorator.func if isinstance(dec.decorator, cst.Call) else dec.decorator
            if _last(target) in catalog.SCHEDULE_DECORATORS or (
                isinstance(dec.decorator, cst.Call) and any(
                    arg.keyword is not None and arg.keyword.value in catalog.SCHEDULE_DECORATOR_KEYWORDS
                    for arg in dec.decorator.args
                )
            ):
                yield f"{model.module_name}.{fn.qualname}"
                break


def _named_by(model: "ModuleModel", node: cst.CSTNode) -> Iterator[str]:
    """The jobs one node schedules: a schedule assigned or updated, or a registering call."""
    if isinstance(node, cst.Assign) and any(_schedule_target(t.target) for t in node.targets):
        yield from _tasks_in(node.value)
    elif isinstance(node, cst.AnnAssign) and node.value is not None and _schedule_target(node.target):
        yield from _tasks_in(node.value)
    elif isinstance(node, cst.DictElement) and _is_schedule_name(_string(node.key)):
        yield from _tasks_in(node.value)
    elif isinstance(node, cst.Call):
        yield from _call_jobs(model, node)


def _call_jobs(model: "ModuleModel", call: cst.Call) -> Iterator[str]:
    for arg in call.args:  # app.conf.update(beat_schedule={...})
        if arg.keyword is not None and _is_schedule_name(arg.keyword.value):
            yield from _tasks_in(arg.value)
    func = call.func
    if not isinstance(func, cst.Attribute):
        return
    method = func.attr.value
    if method == "update" and _is_schedule_name(_last(func.value)):  # CELERY_BEAT_SCHEDULE.update({...})
        for arg in call.args:
            yield from _tasks_in(arg.value)
    elif method in catalog.SCHEDULE_CALLS:
        job = _argument(call, catalog.SCHEDULE_CALLS[method], "sig")
        name = _job_name(model, job) if job is not None else None
        if name:
            yield name
    elif method in catalog.SCHEDULE_JOB_CALLS and _periodic_trigger(call):
        job = _argument(call, 0, "func")
        name = _job_name(model, job) if job is not None else None
        if name:
            yield name


def _periodic_trigger(call: cst.Call) -> bool:
    """APScheduler's ``add_job(fn, "interval", ...)``, ``trigger="cron"`` or a trigger object."""
    trigger = _argument(call, 1, "trigger")
    if trigger is None:
        return False
    if _string(trigger) in catalog.PERIODIC_TRIGGERS:
        return True
    return isinstance(trigger, cst.Call) and _last(trigger.func) in catalog.PERIODIC_TRIGGER_CLASSES


def _argument(call: cst.Call, position: int, keyword: str) -> cst.BaseExpression | None:
    positional = [arg.value for arg in call.args if arg.keyword is None and not arg.star]
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == keyword:
            return arg.value
    return positional[position] if len(positional) > position else None


def _job_name(model: "ModuleModel", job: cst.BaseExpression) -> str | None:
    """The dotted name of a scheduled callable: ``fn``, ``tasks.fn``, ``fn.s(...)``,
    ``"pkg.mod:fn"`` (APScheduler's text reference)."""
    if isinstance(job, cst.Call) and isinstance(job.func, cst.Attribute) and job.func.attr.value in SIGNATURE_METHODS:
        job = job.func.value
    text = _string(job)
    if text is not None:
        return text.replace(":", ".") or None
    if isinstance(job, cst.Name) and not model.imports.imported(job.value):
        defined = any(fn.qualname == job.value for fn in model.functions)
        return f"{model.module_name}.{job.value}" if defined else None
    if isinstance(job, (cst.Name, cst.Attribute)):
        return model.qualified(job)
    return None


def _tasks_in(value: cst.BaseExpression) -> Iterator[str]:
    """The ``"task": "dotted.path"`` entries of a schedule."""
    for node in walk(value):
        if isinstance(node, cst.DictElement) and _string(node.key) == catalog.SCHEDULE_TASK_KEY:
            task = _string(node.value)
            if task:
                yield task


def _schedule_target(target: cst.BaseExpression) -> bool:
    """``CELERY_BEAT_SCHEDULE = ``, ``app.conf.beat_schedule = ``, ``BEAT_SCHEDULE["x"] = ``."""
    if isinstance(target, cst.Subscript):
        target = target.value
    return _is_schedule_name(_last(target))


def _is_schedule_name(name: str | None) -> bool:
    return name is not None and name.lower() in catalog.SCHEDULE_SETTINGS


def _last(expr: cst.BaseExpression) -> str | None:
    if isinstance(expr, cst.Name):
        return expr.value
    if isinstance(expr, cst.Attribute):
        return expr.attr.value
    return None


def _string(expr: cst.BaseExpression | None) -> str | None:
    if isinstance(expr, cst.SimpleString):
        value = expr.evaluated_value
        return value if isinstance(value, str) else None
    return None
