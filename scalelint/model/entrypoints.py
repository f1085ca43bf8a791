"""What calls a function: a web request (a view), a task queue (a task), or
anything else. Rules word their advice by it ("concurrent requests" in a view,
"concurrent task runs" in a task); the library names are the catalog's.

And the functions and blocks of a file that are entry points of another code
context than the file's (scalelint.model.contexts): ``__main__`` blocks and
the functions they call, management command classes, click/typer/Flask CLI
commands, command-line mains (``argparse`` parsing in their own body, or
``main(argv=sys.argv)``), RunPython callables (and functions shaped like them,
see ``_migration_callable``), ``post_migrate`` receivers and the steps of an
application's own migration runner (``m001_add_index(conn)`` in
``db/migrations.py``: ``_own_migration_step``); and the loops of
start-up code, which run once per process (one-shot): ``AppConfig.ready()``, the
constructor of a long-lived worker/service/router class, an app factory
(``create_app``); and first-run set-up handlers, which (after guard clauses)
return when any user account, or any row of a model they create, exists
(``if User.query.has_rows(): return redirect(...)``, ``if
InstanceAdmin.objects.first(): return ...`` before ``InstanceAdmin.objects.create``)
and so do their work once per installation (one-shot)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

import libcst as cst

from scalelint.core.lazyre import lazy_compile
from scalelint.core.walk import dotted, small_statements, walk
from scalelint.model import catalog
from scalelint.model.dbops import words
from scalelint.model.contexts import (
    MIGRATION, ONE_SHOT, ONE_SHOT_FUNCTION_FIRST_WORDS, ONE_SHOT_FUNCTION_PREFIXES, Region, imports_any,
)

if TYPE_CHECKING:
    from scalelint.model.function import FunctionModel
    from scalelint.model.module import ModuleModel
    from scalelint.model.source import SourceFile

VIEW, TASK, OTHER = "view", "task", ""

_MIGRATION_NAME = lazy_compile(catalog.MIGRATION_FUNCTION_NAME)

#: the last word of a class constructed once per process (its ``__init__`` is start-up);
#: per-connection classes (consumers, handlers, sessions) are left out on purpose
STARTUP_CLASS_WORDS = frozenset({
    "worker", "router", "server", "service", "daemon", "receiver", "dispatcher", "scheduler", "supervisor",
})


def entry_kind(fn: "FunctionModel", by_signature: bool = True) -> str:
    """``view``, ``task`` or ``""`` (not known to be either). ``by_signature``:
    a plain function whose first parameter is ``request`` counts as a view
    (helpers taking the request look the same; without it only decorators and
    view classes say so)."""
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
    if by_signature and params and params[0].name.value == "request":
        return VIEW  # a Django function view
    return OTHER


def concurrent_runs(kind: str) -> str:
    """Who races in code of this kind, for messages."""
    return {VIEW: "concurrent requests", TASK: "concurrent task runs"}.get(kind, "concurrent callers")


# -- functions and blocks of another code context ------------------------------------
def regions(source: "SourceFile") -> list[Region]:
    """The functions and blocks of a file that run outside requests, by line."""
    found = list(region_nodes(source.model, source.text))
    if not found:
        return []
    positions = source.positions
    out = []
    for node, context in found:
        start, end = positions.span(node)
        out.append(Region(positions.line_col(start)[0], positions.line_col(end)[0], context))
    return out


def region_nodes(model: "ModuleModel", text: str) -> Iterator[tuple[cst.CSTNode, str]]:
    """(node, context) of each block, class or top-level function running
    outside requests; ``text`` is the module's source."""
    entry_names: set[str] = set()
    for stmt in model.cst.body:
        if _is_main_block(stmt):
            yield stmt, ONE_SHOT
            entry_names.update(_called_names(stmt))
    run_python = _run_python_callables(model, text)
    for info in model.classes:
        if _is_command_class(info.bases):
            yield info.node, ONE_SHOT
    helpers = "schema_editor" in text or catalog.MIGRATION_MODEL_LOOKUP in text
    migrating = any(root in text for root in catalog.MIGRATION_IMPORT_ROOTS)
    own_migrations = _migration_module(model)
    parses_argv = any(name in text for name in ("argv", "ArgumentParser", "OptionParser"))
    # a DDL call's qualified name ends in a name the text spells (in the call or in its import)
    ddl = any(name in text for name in _DDL_NAMES)
    for fn in model.functions:
        if helpers and _migration_callable(fn):
            yield fn.node, MIGRATION  # nested ones too: built by a helper, handed to RunPython
            continue
        if "<locals>" in fn.qualname:
            continue
        if fn.qualname in run_python or _migration_receiver(model, fn.node) or (
                migrating and _imports_migration_framework(model, fn.node)) or (
                own_migrations and _own_migration_step(fn)):
            yield fn.node, MIGRATION
        elif fn.qualname in entry_names or _cli_command(model, fn.node) or _one_off_name(fn.name) or (
            ddl and _maintains_schema(model, fn)
        ) or (parses_argv and _command_line_main(model, fn)):
            yield fn.node, ONE_SHOT
        elif _startup(fn):
            yield from ((loop, ONE_SHOT) for loop in _startup_loops(fn.node))
        elif _setup_gated(fn.node):
            yield fn.node, ONE_SHOT


def _imports_migration_framework(model: "ModuleModel", node: cst.FunctionDef) -> bool:
    """The function imports a migration framework in its own body (a task that
    waits for Django's migration plan, then backfills a table): migration code,
    though its module is not."""
    from scalelint.model.names import ImportTable

    table = ImportTable(model.imports.package)
    for small in small_statements(node.body.body):
        table.add_statement(small)
    return imports_any(table.names.values(), catalog.MIGRATION_IMPORT_ROOTS)


def _migration_module(model: "ModuleModel") -> bool:
    """A module of the application's own schema migrations by its name
    (``db/migrations.py``, ``migrate.py``, a module of a ``migrate`` package)."""
    parts = model.module_name.split(".") if model.module_name else []
    return not set(parts).isdisjoint(catalog.MIGRATION_MODULE_NAMES)


def _own_migration_step(fn: "FunctionModel") -> bool:
    """One step of the application's own migration runner: named like one
    (``m001_add_index``, ``migrate_users``, ``upgrade_v2``) and taking the
    database it migrates (``conn``, ``db``, ``cursor: Cursor``)."""
    if not _MIGRATION_NAME.match(fn.name):
        return False
    for param in (*fn.node.params.posonly_params, *fn.node.params.params, *fn.node.params.kwonly_params):
        if param.name.value in catalog.MIGRATION_HANDLE_PARAMS:
            return True
        annotation = param.annotation.annotation if param.annotation is not None else None
        spelled = (dotted(annotation) or "") if annotation is not None else ""
        if spelled.rsplit(".", 1)[-1] in catalog.MIGRATION_HANDLE_TYPES:
            return True
    return False


def _command_line_main(model: "ModuleModel", fn: "FunctionModel") -> bool:
    """A command-line main (a console script's entry point): a module-level function
    that parses the command line itself (``argparse.ArgumentParser(...)`` and
    ``.parse_args()`` in its own body) or takes the process's arguments
    (``def main(argv=sys.argv)``). A function only building a parser (``build_parser()``)
    is not one."""
    if fn.cls is not None or "." in fn.qualname:
        return False
    params = fn.node.params
    for param in (*params.posonly_params, *params.params, *params.kwonly_params):
        default = param.default
        if isinstance(default, cst.Subscript):
            default = default.value  # ``argv=sys.argv[1:]``
        if default is not None and model.qualified(default) == catalog.PROCESS_ARGV:
            return True
    builds = parses = False
    for _, call in fn.calls():
        if model.qualified(call.func) in catalog.ARGUMENT_PARSERS:
            builds = True
        elif isinstance(call.func, cst.Attribute) and call.func.attr.value in catalog.PARSE_ARGS_METHODS:
            parses = True
    return builds and parses


def _one_off_name(name: str) -> bool:
    """A one-off data job (``backfill_members``) or an installation step
    (``install_app``; not ``installation_status``), by its name."""
    return name.lstrip("_").startswith(ONE_SHOT_FUNCTION_PREFIXES) or words(name)[:1] in {
        (word,) for word in ONE_SHOT_FUNCTION_FIRST_WORDS
    }


#: the last parts of the DDL constructs' names, searched for in a module's text first
_DDL_NAMES = frozenset(qualified.rpartition(".")[2] for qualified in catalog.SCHEMA_DDL_CALLS)


def _maintains_schema(model: "ModuleModel", fn: "FunctionModel") -> bool:
    """The function drops or creates tables, schemas or constraints
    (``conn.execute(DropTable(table))``): schema maintenance, not request code
    (the caller searches the module's source for ``_DDL_NAMES`` first)."""
    return any(model.qualified(call.func) in catalog.SCHEMA_DDL_CALLS for _, call in fn.calls())


def _is_main_block(stmt: cst.BaseStatement) -> bool:
    """``if __name__ == "__main__":``"""
    if not isinstance(stmt, cst.If) or not isinstance(stmt.test, cst.Comparison):
        return False
    test = stmt.test
    sides = [test.left, *(c.comparator for c in test.comparisons)]
    names = any(isinstance(s, cst.Name) and s.value == "__name__" for s in sides)
    main = any(isinstance(s, cst.SimpleString) and s.evaluated_value == "__main__" for s in sides)
    return names and main and all(isinstance(c.operator, cst.Equal) for c in test.comparisons)


def _called_names(node: cst.CSTNode) -> set[str]:
    """Names of module functions called in a block (the script's entry points)."""
    return {n.func.value for n in walk(node) if isinstance(n, cst.Call) and isinstance(n.func, cst.Name)}


def _run_python_callables(model: "ModuleModel", text: str) -> set[str]:
    """Names passed to ``migrations.RunPython(forward, backward)`` (the
    source text is searched first: regenerating it from the tree costs a
    third of a parse)."""
    if "RunPython" not in text:
        return set()
    names: set[str] = set()
    for node in walk(model.cst):
        if isinstance(node, cst.Call) and model.qualified_or_spelled(node.func) in catalog.RUN_PYTHON_CALLS:
            names.update(a.value.value for a in node.args[:2] if isinstance(a.value, cst.Name))
    return names


def _migration_callable(fn: "FunctionModel") -> bool:
    """A data migration's function wherever it lives: it takes ``(apps,
    schema_editor)``, or looks models up with ``apps.get_model(...)`` on its
    ``apps`` parameter (the historical models only a migration has)."""
    params = fn.node.params.params
    names = tuple(p.name.value for p in params)
    if names[: len(catalog.RUN_PYTHON_PARAMS)] == catalog.RUN_PYTHON_PARAMS:
        return True
    apps = catalog.RUN_PYTHON_PARAMS[0]
    if apps not in names:
        return False
    return any(
        isinstance(call.func, cst.Attribute)
        and call.func.attr.value == catalog.MIGRATION_MODEL_LOOKUP
        and isinstance(call.func.value, cst.Name)
        and call.func.value.value == apps
        for _, call in fn.calls()
    )


def _is_command_class(bases: list[str]) -> bool:
    """A Django management command (``class Command(BaseCommand)``)."""
    return any(base in catalog.COMMAND_BASES for base in bases)


def _migration_receiver(model: "ModuleModel", node: cst.FunctionDef) -> bool:
    """``@receiver(post_migrate)``: runs while migrating, not under traffic."""
    for decorator in node.decorators:
        call = decorator.decorator
        if isinstance(call, cst.Call) and any(
            model.qualified(a.value) in catalog.MIGRATION_SIGNALS for a in call.args
        ):
            return True
    return False


def _cli_command(model: "ModuleModel", node: cst.FunctionDef) -> bool:
    """A click/typer/Flask CLI command: ``@click.command()``, ``@app.cli.command()``, ``@group.command``."""
    for decorator in node.decorators:
        target = decorator.decorator
        target = target.func if isinstance(target, cst.Call) else target
        if not isinstance(target, cst.Attribute) or target.attr.value not in catalog.CLI_DECORATOR_NAMES:
            continue
        spelled = model.qualified_or_spelled(target) or ""
        if ".cli." in f".{spelled}" or imports_any(model.imports.names.values(), catalog.CLI_LIBRARIES):
            return True
    return False


def runs_at_startup(fn: "FunctionModel") -> bool:
    """Whether the function runs once at process start-up (see ``_startup``)."""
    return _startup(fn)


def _startup(fn: "FunctionModel") -> bool:
    """Code that runs once at process start-up: a module-level start-up function
    (``create_app``, ``lifespan``: the catalog's names), ``AppConfig.ready()``, a
    Flask extension's ``init_app()``, the ``__init__`` of a long-lived
    worker/service/router class."""
    if fn.cls is None:
        return "." not in fn.qualname and fn.name in catalog.STARTUP_FUNCTIONS
    if fn.name == "init_app":
        return True  # a Flask extension's set-up
    if fn.name == "ready":
        return any(base.rsplit(".", 1)[-1] == "AppConfig" for base in fn.cls.bases)
    return fn.name == "__init__" and words(fn.cls.name)[-1:] in {(word,) for word in STARTUP_CLASS_WORDS}


def _startup_loops(node: cst.FunctionDef) -> Iterator[cst.CSTNode]:
    """The outermost loops of start-up code: they run once per process. Only loops,
    so that clients built there stay checked (their limits matter under load), and
    not inside nested functions or classes (a view defined in ``create_app`` still
    serves requests)."""
    pending: list[cst.CSTNode] = list(node.body.children)
    while pending:
        current = pending.pop(0)
        if isinstance(current, (cst.For, cst.While)):
            yield current
        elif not isinstance(current, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            pending.extend(current.children)


def _setup_gated(node: cst.FunctionDef) -> bool:
    """A first-run set-up handler: before its work (after a docstring, assignments
    and guard clauses) it returns when any row of a gate model exists, asked with
    literal filters only (``User.objects.exists()``,
    ``User.query.filter_by(is_system=False).has_rows()``,
    ``get_user_model().objects.count() > 0``, ``if InstanceAdmin.objects.first():``).
    The gate model is a user account model, or a model the handler itself creates
    (``InstanceAdmin.objects.create(...)``, ``db.session.add(Admin(...))``), asked
    with no filter at all (a row matching ``status="running"`` comes and goes: that
    is a lock, not a gate): once the first row is made it does nothing but that
    check. A check filtered by a
    value (``filter(email=email)``), or of another model (a maintenance flag, which
    comes and goes), is no gate, nor is a gate doing more than building its
    response (a call made for its effect)."""
    body = node.body.body if isinstance(node.body, cst.IndentedBlock) else ()
    created: frozenset[str] | None = None  # walked for only when a gate-shaped ``if`` asks
    for stmt in body:
        if _docstring(stmt) or _assignments_only(stmt):
            continue
        if not isinstance(stmt, cst.If) or stmt.orelse is not None or not _only_return(stmt.body):
            return False
        test = _existence_test(stmt.test)
        if test is None:
            continue
        if _any_row(test, catalog.SETUP_GATE_MODELS):
            return True
        if created is None:
            created = _created_models(node)
        if _any_row(test, created, filtered=False):
            return True
    return False


def _existence_test(test: cst.BaseExpression) -> cst.BaseExpression | None:
    """The call of ``if call:``, ``if call > 0:``, ``if call >= 1:`` or ``if call != 0:``
    (whether any row exists; ``count() >= LIMIT`` is a threshold, no gate)."""
    if not isinstance(test, cst.Comparison):
        return test
    if len(test.comparisons) != 1:
        return None
    target = test.comparisons[0]
    bound = target.comparator.value if isinstance(target.comparator, cst.Integer) else None
    if (isinstance(target.operator, (cst.GreaterThan, cst.NotEqual)) and bound == "0") or (
            isinstance(target.operator, cst.GreaterThanEqual) and bound == "1"):
        return test.left
    return None


def _assignments_only(stmt: cst.BaseStatement) -> bool:
    """``name = value`` statements only (a preamble that reads, no call for its effect)."""
    return isinstance(stmt, cst.SimpleStatementLine) and all(
        isinstance(small, (cst.Assign, cst.AnnAssign)) for small in stmt.body
    )


def _created_models(node: cst.FunctionDef) -> frozenset[str]:
    """The models a function inserts rows of, as spelled: ``Model.objects.create(...)``
    (and the other Django insert verbs), ``Model.create(...)``, a ``Model(...)``
    instance added to a session or saved."""
    out: set[str] = set()
    for sub in walk(node.body, into_functions=False):
        if not (isinstance(sub, cst.Call) and isinstance(sub.func, cst.Attribute)):
            continue
        method, owner = sub.func.attr.value, sub.func.value
        if catalog.DJANGO_WRITE_VERBS.get(method) == "insert" or method == "create":
            if isinstance(owner, cst.Attribute) and owner.attr.value == "objects":
                owner = owner.value
            if isinstance(owner, cst.Name):
                out.add(owner.value)
        elif method in catalog.SA_INSTANCE_WRITES and sub.args:
            made = sub.args[0].value
            if isinstance(made, cst.Call) and isinstance(made.func, cst.Name):
                out.add(made.func.value)
        elif method == "save" and isinstance(owner, cst.Call) and isinstance(owner.func, cst.Name):
            out.add(owner.func.value)
    return frozenset(out)


def _docstring(stmt: cst.BaseStatement) -> bool:
    return (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1
            and isinstance(stmt.body[0], cst.Expr) and isinstance(stmt.body[0].value, (cst.SimpleString, cst.ConcatenatedString)))


def _only_return(block: cst.BaseSuite) -> bool:
    """``return ...`` (or ``raise``), indented or on the ``if`` line, after
    assignments only (building the response: ``url = ...``)."""
    if isinstance(block, cst.IndentedBlock):
        if not block.body or not all(isinstance(stmt, cst.SimpleStatementLine) for stmt in block.body):
            return False
        small = [s for stmt in block.body for s in stmt.body]  # type: ignore[attr-defined]
    else:
        small = list(block.body)  # type: ignore[attr-defined]
    return (bool(small) and isinstance(small[-1], (cst.Return, cst.Raise))
            and all(isinstance(s, (cst.Assign, cst.AnnAssign)) for s in small[:-1]))


def _any_row(expr: cst.BaseExpression, models: frozenset[str], filtered: bool = True) -> bool:
    """An existence check on one of ``models`` whose every argument is a literal
    (with no argument at all unless ``filtered``)."""
    if not (isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute)
            and expr.func.attr.value in catalog.SETUP_GATE_CHECKS):
        return False
    current: cst.BaseExpression = expr
    while True:
        if isinstance(current, cst.Call):
            if not all(_literal(arg.value) for arg in current.args) or (current.args and not filtered):
                return False
            if isinstance(current.func, cst.Name):
                return current.func.value in catalog.SETUP_GATE_MODEL_GETTERS
            current = current.func
        elif isinstance(current, cst.Attribute):
            current = current.value
        elif isinstance(current, cst.Name):
            return current.value in models
        else:
            return False


def _literal(expr: cst.BaseExpression) -> bool:
    if isinstance(expr, (cst.SimpleString, cst.ConcatenatedString, cst.Integer, cst.Float)):
        return True
    return isinstance(expr, cst.Name) and expr.value in ("True", "False", "None")
